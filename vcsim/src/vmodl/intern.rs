//! Interning of data objects: equal data objects in many trees become one shared object.
//!
//! An estate's VMs are built alike: most of a VM's devices (IDE and PCI controllers, the
//! keyboard, the video card), its capability, its default settings and tools information are
//! equal from one VM to the next, and as separate trees they were most of the ~34 KB of
//! property trees a VM cost. [`Interner::intern`] walks a tree bottom-up and replaces each
//! data object by the first equal one it has seen, so equal objects are held once
//! ([`Value::Data`] is shared). A later write to one VM's object copies it first
//! ([`Value::as_data_mut`]), so interning never changes what anyone reads.
//!
//! Children are interned before their parent, so two equal parents have children that are
//! the same objects: a parent's hash and comparison take its children by address, which
//! keeps interning linear in the tree's size. The interner keeps every object it has seen
//! alive, so it is for building an inventory, and dropped afterwards.

use super::value::{DataObject, Value};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::Arc;

/// A fast multiply-rotate hasher (the interner hashes every node of every tree it is given,
/// and its keys come from our own builders, not from a client, so SipHash's flood resistance
/// buys nothing here).
#[derive(Clone, Copy, Debug, Default)]
struct FastHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FastHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The data objects seen so far, by the hash of their shallow contents (already a hash:
/// the map takes it as it is).
#[derive(Debug, Default)]
pub struct Interner {
    seen: HashMap<u64, Vec<Arc<DataObject>>, BuildHasherDefault<FastHasher>>,
}

impl Interner {
    /// Replaces every data object in `v` by an equal one seen before, if any; the others are
    /// remembered for the next trees.
    pub fn intern(&mut self, v: &mut Value) {
        match v {
            Value::Data(d) => {
                // The interner holds a reference to each object it keeps, so an object
                // nobody else holds is new to it (most are: no hash needed to know).
                if Arc::strong_count(d) > 1 && self.holds(d) {
                    // Already the shared one (and so are its children).
                    return;
                }
                // A tree cloned from another shares its objects with it: interning copies
                // the object first, and the copy joins the shared ones.
                for (_, f) in &mut Arc::make_mut(d).fields {
                    self.intern(f);
                }
                let bucket = self.seen.entry(hash_of(d)).or_default();
                match bucket.iter().find(|c| shallow_eq_data(c, d)) {
                    Some(found) => *d = Arc::clone(found),
                    None => {
                        // Kept: give back the slack its building left (an equal one is
                        // dropped instead, which makes shrinking it first wasted work).
                        shrink_own(Arc::make_mut(d));
                        bucket.push(Arc::clone(d));
                    }
                }
            }
            Value::Array(a) => {
                for item in &mut a.items {
                    self.intern(item);
                }
            }
            Value::Any(inner) => self.intern(inner),
            _ => {}
        }
    }

    /// Interns `v` and releases the spare capacity of what it keeps: [`Value::shrink`] and
    /// [`Interner::intern`] in one walk, where shrinking first would also reallocate every
    /// object that interning then drops for an equal one.
    pub fn intern_shrunk(&mut self, v: &mut Value) {
        self.intern(v);
        if !matches!(v, Value::Data(_)) {
            // A top-level array or primitive is nobody's field: shrink it here.
            v.shrink();
        }
    }

    /// Whether `d` itself is one of the remembered objects.
    fn holds(&self, d: &Arc<DataObject>) -> bool {
        self.seen
            .get(&hash_of(d))
            .is_some_and(|bucket| bucket.iter().any(|c| Arc::ptr_eq(c, d)))
    }

    /// Number of distinct data objects remembered.
    pub fn len(&self) -> usize {
        self.seen.values().map(Vec::len).sum()
    }

    /// Whether nothing has been interned.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

/// Releases the spare capacity of `d`'s own field list and of the arrays and text among its
/// fields (its data objects are interned, so shrunk, on their own).
fn shrink_own(d: &mut DataObject) {
    d.fields.shrink_to_fit();
    for (_, v) in &mut d.fields {
        shrink_unshared(v);
    }
}

fn shrink_unshared(v: &mut Value) {
    match v {
        Value::Array(a) => {
            a.items.shrink_to_fit();
            for item in &mut a.items {
                shrink_unshared(item);
            }
        }
        Value::Any(inner) => shrink_unshared(inner),
        Value::Str(s) | Value::Text(s) | Value::Base64(s) => s.shrink_to_fit(),
        _ => {}
    }
}

fn hash_of(d: &DataObject) -> u64 {
    let mut h = FastHasher::default();
    hash_data(d, &mut h);
    h.finish()
}

fn hash_data(d: &DataObject, h: &mut FastHasher) {
    d.ty.as_deref().hash(h);
    d.fields.len().hash(h);
    for (name, v) in &d.fields {
        name.as_ref().hash(h);
        hash_value(v, h);
    }
}

/// A value's hash with data objects taken by address (they are interned first).
fn hash_value(v: &Value, h: &mut FastHasher) {
    std::mem::discriminant(v).hash(h);
    match v {
        Value::Bool(b) => b.hash(h),
        Value::Byte(x) => x.hash(h),
        Value::Short(x) => x.hash(h),
        Value::Int(x) => x.hash(h),
        Value::Long(x) | Value::DateTime(x) => x.hash(h),
        Value::Float(x) => x.to_bits().hash(h),
        Value::Double(x) => x.to_bits().hash(h),
        Value::Str(s) | Value::Base64(s) | Value::Text(s) => s.hash(h),
        Value::Enum(t, x) => {
            t.as_ref().hash(h);
            x.as_ref().hash(h);
        }
        Value::MoRef(m) => {
            m.ty.as_ref().hash(h);
            m.value.hash(h);
        }
        Value::Data(d) => (Arc::as_ptr(d) as usize).hash(h),
        Value::Array(a) => {
            a.item.as_ref().hash(h);
            a.items.len().hash(h);
            for item in &a.items {
                hash_value(item, h);
            }
        }
        Value::Any(inner) => hash_value(inner, h),
    }
}

fn shallow_eq_data(a: &DataObject, b: &DataObject) -> bool {
    a.ty == b.ty
        && a.fields.len() == b.fields.len()
        && a.fields
            .iter()
            .zip(&b.fields)
            .all(|((na, va), (nb, vb))| na == nb && shallow_eq(va, vb))
}

/// Equality with data objects compared by address; anything else as `==` compares it.
fn shallow_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Data(x), Value::Data(y)) => Arc::ptr_eq(x, y),
        (Value::Array(x), Value::Array(y)) => {
            x.item == y.item
                && x.items.len() == y.items.len()
                && x.items.iter().zip(&y.items).all(|(p, q)| shallow_eq(p, q))
        }
        (Value::Any(x), Value::Any(y)) => shallow_eq(x, y),
        // Bit equality for floats, as the hash takes them.
        (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
        (Value::Double(x), Value::Double(y)) => x.to_bits() == y.to_bits(),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vmodl::{Array, MoRef};

    fn device(key: i32, mac: Option<&str>) -> Value {
        let mut d = DataObject::new("VirtualDevice")
            .with("key", Value::Int(key))
            .with(
                "deviceInfo",
                DataObject::new("Description")
                    .with("label", Value::str(format!("device {key}")))
                    .into_value(),
            );
        if let Some(mac) = mac {
            d = d.with("macAddress", Value::str(mac));
        }
        d.into_value()
    }

    fn vm_tree(mac: &str) -> Value {
        DataObject::new("VirtualMachineConfigInfo")
            .with("name", Value::str("same"))
            .with("ratio", Value::Double(0.5))
            .with("host", Value::moref(&MoRef::new("HostSystem", "host-1")))
            .with(
                "device",
                Value::Array(Array {
                    item: "VirtualDevice".into(),
                    items: vec![
                        device(100, None),
                        device(200, None),
                        device(4000, Some(mac)),
                    ],
                }),
            )
            .into_value()
    }

    fn devices(v: &Value) -> Vec<Arc<DataObject>> {
        match v.field("device") {
            Some(Value::Array(a)) => a
                .items
                .iter()
                .map(|i| match i {
                    Value::Data(d) => Arc::clone(d),
                    _ => panic!("a device is a data object"),
                })
                .collect(),
            _ => panic!("devices"),
        }
    }

    #[test]
    fn equal_objects_are_shared_and_unequal_ones_kept_apart() {
        let mut i = Interner::default();
        let mut a = vm_tree("00:50:56:00:00:01");
        let mut b = vm_tree("00:50:56:00:00:02");
        let (a0, b0) = (a.clone(), b.clone());
        i.intern(&mut a);
        i.intern(&mut b);
        // Nothing reads differently.
        assert_eq!(a, a0);
        assert_eq!(b, b0);
        let (da, db) = (devices(&a), devices(&b));
        assert!(Arc::ptr_eq(&da[0], &db[0]));
        assert!(Arc::ptr_eq(&da[1], &db[1]));
        assert!(!Arc::ptr_eq(&da[2], &db[2]), "the NICs differ by MAC");
        // Their equal descriptions are one object even under unequal parents.
        assert!(Arc::ptr_eq(
            match (da[2].get("deviceInfo"), db[2].get("deviceInfo")) {
                (Some(Value::Data(x)), Some(_)) => x,
                _ => panic!("deviceInfo"),
            },
            match db[2].get("deviceInfo") {
                Some(Value::Data(y)) => y,
                _ => panic!("deviceInfo"),
            }
        ));
        // An identical tree is one object at the root.
        let mut c = vm_tree("00:50:56:00:00:01");
        i.intern(&mut c);
        match (&a, &c) {
            (Value::Data(x), Value::Data(y)) => assert!(Arc::ptr_eq(x, y)),
            _ => panic!("trees are data objects"),
        }
    }

    #[test]
    fn a_write_to_a_shared_object_copies_it() {
        let mut i = Interner::default();
        let mut a = vm_tree("m");
        let mut b = vm_tree("m");
        i.intern(&mut a);
        i.intern(&mut b);
        b.as_data_mut()
            .expect("data")
            .set("name", Value::str("changed"));
        assert_eq!(a.field("name"), Some(&Value::str("same")));
        assert_eq!(b.field("name"), Some(&Value::str("changed")));
        // The devices below are still shared.
        assert!(Arc::ptr_eq(&devices(&a)[0], &devices(&b)[0]));
    }

    #[test]
    fn floats_compare_by_bits() {
        let mut i = Interner::default();
        let mk = |x: f64| {
            DataObject::new("T")
                .with("x", Value::Double(x))
                .into_value()
        };
        let (mut zero, mut negative_zero, mut nan1, mut nan2) =
            (mk(0.0), mk(-0.0), mk(f64::NAN), mk(f64::NAN));
        for v in [&mut zero, &mut negative_zero, &mut nan1, &mut nan2] {
            i.intern(v);
        }
        let ptr = |v: &Value| match v {
            Value::Data(d) => Arc::as_ptr(d),
            _ => std::ptr::null(),
        };
        assert_ne!(ptr(&zero), ptr(&negative_zero));
        assert_eq!(ptr(&nan1), ptr(&nan2));
        assert_eq!(i.len(), 3);
    }
}
