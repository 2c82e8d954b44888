//! The vmodl value tree: what a property, a method argument or a result holds.
//!
//! A `Value` knows its vSphere type well enough to be written with the right `xsi:type`
//! (`xsd:int`, `VirtualMachinePowerState`, `ArrayOfManagedObjectReference`, …) wherever the
//! WSDL declares `anyType`. Positions that are `anyType` in a data object are wrapped in
//! [`Value::Any`] so the writer knows to type them.

use std::borrow::Cow;
use std::sync::Arc;

/// A type or field name: static for the names we write ourselves, owned for names that came
/// from a client's request.
pub type Name = Cow<'static, str>;

/// A managed object reference: `<obj type="VirtualMachine">vm-42</obj>`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MoRef {
    /// The managed object type, e.g. `VirtualMachine`.
    pub ty: Name,
    /// The reference value, e.g. `vm-42`.
    pub value: String,
}

impl MoRef {
    /// A reference to an object of type `ty` with value `value`.
    pub fn new(ty: impl Into<Name>, value: impl Into<String>) -> MoRef {
        MoRef {
            ty: ty.into(),
            value: value.into(),
        }
    }
}

impl std::fmt::Display for MoRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.ty, self.value)
    }
}

/// A data object: a WSDL complex type with named fields in a stable order.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct DataObject {
    /// The WSDL type name (`VirtualMachineRuntimeInfo`); `None` when a client sent a nested
    /// object without `xsi:type`, whose static type the position already implies.
    pub ty: Option<Name>,
    /// Fields in insertion order. Unset optional fields are simply absent.
    pub fields: Vec<(Name, Value)>,
}

/// An array with the WSDL name of its item type (`string`, `ManagedObjectReference`,
/// `OptionValue`, …), which names the `ArrayOfX` wrapper where one is needed.
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    /// Item type as the WSDL names it.
    pub item: Name,
    /// The items.
    pub items: Vec<Value>,
}

/// A vmodl value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `xsd:boolean`
    Bool(bool),
    /// `xsd:byte`
    Byte(i8),
    /// `xsd:short`
    Short(i16),
    /// `xsd:int`
    Int(i32),
    /// `xsd:long`
    Long(i64),
    /// `xsd:float`
    Float(f32),
    /// `xsd:double`
    Double(f64),
    /// `xsd:string`
    Str(String),
    /// `xsd:dateTime`, as milliseconds since the Unix epoch (from the virtual clock).
    DateTime(i64),
    /// `xsd:base64Binary`, kept as its base64 text.
    Base64(String),
    /// An enum value with its enum type name (`VirtualMachinePowerState`).
    Enum(Name, Name),
    /// A managed object reference.
    MoRef(MoRef),
    /// A data object. Shared: a clone of a tree shares its data objects, and the
    /// inventory's builder interns equal ones (see `vmodl::intern`), so the many VMs whose
    /// devices, capabilities or settings are equal hold them once. Writing through
    /// [`Value::as_data_mut`] copies a shared object first.
    Data(Arc<DataObject>),
    /// An array.
    Array(Array),
    /// A value at an `anyType` position: always written with `xsi:type`.
    Any(Box<Value>),
    /// Text whose type a client's request did not state (a nested primitive without
    /// `xsi:type`); written back as plain text in typed positions.
    Text(String),
}

impl Value {
    /// A string value.
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(s.into())
    }

    /// An enum value.
    pub fn enumv(ty: &'static str, v: impl Into<Name>) -> Value {
        Value::Enum(Cow::Borrowed(ty), v.into())
    }

    /// A MoRef value.
    pub fn moref(m: &MoRef) -> Value {
        Value::MoRef(m.clone())
    }

    /// An array of MoRefs.
    pub fn morefs<'a>(refs: impl IntoIterator<Item = &'a MoRef>) -> Value {
        Value::Array(Array {
            item: Cow::Borrowed("ManagedObjectReference"),
            items: refs.into_iter().map(Value::moref).collect(),
        })
    }

    /// An array of strings.
    pub fn strings<S: Into<String>>(items: impl IntoIterator<Item = S>) -> Value {
        Value::Array(Array {
            item: Cow::Borrowed("string"),
            items: items.into_iter().map(|s| Value::Str(s.into())).collect(),
        })
    }

    /// An array of data objects of (base) type `item`.
    pub fn array(item: &'static str, items: Vec<Value>) -> Value {
        Value::Array(Array {
            item: Cow::Borrowed(item),
            items,
        })
    }

    /// Wraps a value for an `anyType` position (once: an `Any` stays as it is).
    pub fn any(v: Value) -> Value {
        match v {
            Value::Any(_) => v,
            other => Value::Any(Box::new(other)),
        }
    }

    /// The WSDL type name written in `xsi:type` for this value.
    pub fn xsi_type(&self) -> Cow<'_, str> {
        match self {
            Value::Bool(_) => "xsd:boolean".into(),
            Value::Byte(_) => "xsd:byte".into(),
            Value::Short(_) => "xsd:short".into(),
            Value::Int(_) => "xsd:int".into(),
            Value::Long(_) => "xsd:long".into(),
            Value::Float(_) => "xsd:float".into(),
            Value::Double(_) => "xsd:double".into(),
            Value::Str(_) | Value::Text(_) => "xsd:string".into(),
            Value::DateTime(_) => "xsd:dateTime".into(),
            Value::Base64(_) => "xsd:base64Binary".into(),
            Value::Enum(t, _) => Cow::Borrowed(t.as_ref()),
            Value::MoRef(_) => "ManagedObjectReference".into(),
            Value::Data(d) => Cow::Borrowed(d.ty.as_deref().unwrap_or("DynamicData")),
            Value::Array(a) => Cow::Owned(array_type_name(&a.item)),
            Value::Any(v) => v.xsi_type(),
        }
    }

    /// The data object inside, if this is one (looking through `Any`).
    pub fn as_data(&self) -> Option<&DataObject> {
        match self {
            Value::Data(d) => Some(d),
            Value::Any(v) => v.as_data(),
            _ => None,
        }
    }

    /// Mutable access to the data object inside (copied first if shared).
    pub fn as_data_mut(&mut self) -> Option<&mut DataObject> {
        match self {
            Value::Data(d) => Some(Arc::make_mut(d)),
            Value::Any(v) => v.as_data_mut(),
            _ => None,
        }
    }

    /// The text of a primitive value, if it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) | Value::Text(s) | Value::Base64(s) => Some(s),
            Value::Enum(_, v) => Some(v),
            Value::Any(v) => v.as_str(),
            _ => None,
        }
    }

    /// An integer reading of the value (ints, longs and numeric text).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Byte(v) => Some(i64::from(*v)),
            Value::Short(v) => Some(i64::from(*v)),
            Value::Int(v) => Some(i64::from(*v)),
            Value::Long(v) => Some(*v),
            Value::Text(s) | Value::Str(s) => s.trim().parse().ok(),
            Value::Any(v) => v.as_i64(),
            _ => None,
        }
    }

    /// A boolean reading of the value (booleans and `true`/`false`/`1`/`0` text).
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Text(s) | Value::Str(s) => match s.trim() {
                "true" | "1" => Some(true),
                "false" | "0" => Some(false),
                _ => None,
            },
            Value::Any(v) => v.as_bool(),
            _ => None,
        }
    }

    /// The MoRef inside, if this is one.
    pub fn as_moref(&self) -> Option<&MoRef> {
        match self {
            Value::MoRef(m) => Some(m),
            Value::Any(v) => v.as_moref(),
            _ => None,
        }
    }

    /// The references a property names: itself when it is one, the references among its
    /// items when it is an array (what a traversal spec follows).
    pub fn referenced(&self) -> impl Iterator<Item = &MoRef> {
        self.as_moref()
            .into_iter()
            .chain(self.items().iter().filter_map(Value::as_moref))
    }

    /// The items of an array (an empty slice for anything else).
    pub fn items(&self) -> &[Value] {
        match self {
            Value::Array(a) => &a.items,
            Value::Any(v) => v.items(),
            _ => &[],
        }
    }

    /// Mutable items of an array.
    pub fn items_mut(&mut self) -> Option<&mut Vec<Value>> {
        match self {
            Value::Array(a) => Some(&mut a.items),
            Value::Any(v) => v.items_mut(),
            _ => None,
        }
    }

    /// Releases spare capacity in this value and everything below it. Trees are built by
    /// appending fields, which leaves vectors up to twice their length; inventories hold
    /// tens of thousands of trees, so the slack is worth returning once a tree is stored.
    pub fn shrink(&mut self) {
        match self {
            Value::Data(d) => {
                // A shared object was shrunk by whoever stored it first.
                if let Some(d) = Arc::get_mut(d) {
                    d.fields.shrink_to_fit();
                    for (_, v) in &mut d.fields {
                        v.shrink();
                    }
                }
            }
            Value::Array(a) => {
                a.items.shrink_to_fit();
                for v in &mut a.items {
                    v.shrink();
                }
            }
            Value::Any(v) => v.shrink(),
            Value::Str(s) | Value::Text(s) | Value::Base64(s) => s.shrink_to_fit(),
            _ => {}
        }
    }

    /// Looks up a field of a data object.
    pub fn field(&self, name: &str) -> Option<&Value> {
        self.as_data().and_then(|d| d.get(name))
    }
}

/// The `ArrayOfX` wrapper name for an item type: `string` → `ArrayOfString`.
pub fn array_type_name(item: &str) -> String {
    let bare = item.strip_prefix("xsd:").unwrap_or(item);
    let mut out = String::with_capacity(bare.len() + 7);
    out.push_str("ArrayOf");
    let mut chars = bare.chars();
    if let Some(first) = chars.next() {
        out.extend(first.to_uppercase());
        out.push_str(chars.as_str());
    }
    out
}

impl DataObject {
    /// An empty data object of type `ty`.
    pub fn new(ty: &'static str) -> DataObject {
        DataObject {
            ty: Some(Cow::Borrowed(ty)),
            fields: Vec::new(),
        }
    }

    /// Builder-style field setter.
    pub fn with(mut self, name: &'static str, v: Value) -> DataObject {
        self.set(name, v);
        self
    }

    /// Builder-style setter that skips `None`.
    pub fn with_opt(self, name: &'static str, v: Option<Value>) -> DataObject {
        match v {
            Some(v) => self.with(name, v),
            None => self,
        }
    }

    /// Sets (replaces or appends) a field.
    pub fn set(&mut self, name: &str, v: Value) {
        if let Some(slot) = self.fields.iter_mut().find(|(n, _)| n == name) {
            slot.1 = v;
        } else {
            self.fields.push((Cow::Owned(name.to_owned()), v));
        }
    }

    /// Removes a field, returning it.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        let i = self.fields.iter().position(|(n, _)| n == name)?;
        Some(self.fields.remove(i).1)
    }

    /// A field by name.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// A mutable field by name.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Value> {
        self.fields
            .iter_mut()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }

    /// Wraps into a [`Value`].
    pub fn into_value(self) -> Value {
        Value::Data(Arc::new(self))
    }
}

impl From<DataObject> for Value {
    fn from(d: DataObject) -> Value {
        d.into_value()
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<i32> for Value {
    fn from(v: i32) -> Value {
        Value::Int(v)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Long(v)
    }
}

impl From<MoRef> for Value {
    fn from(m: MoRef) -> Value {
        Value::MoRef(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_names_follow_the_wsdl() {
        assert_eq!(array_type_name("string"), "ArrayOfString");
        assert_eq!(array_type_name("xsd:int"), "ArrayOfInt");
        assert_eq!(
            array_type_name("ManagedObjectReference"),
            "ArrayOfManagedObjectReference"
        );
        assert_eq!(array_type_name("OptionValue"), "ArrayOfOptionValue");
    }

    #[test]
    fn set_replaces_in_place() {
        let mut d = DataObject::new("OptionValue")
            .with("key", "a".into())
            .with("value", Value::any("b".into()));
        d.set("key", "c".into());
        assert_eq!(d.fields.len(), 2);
        assert_eq!(d.get("key").and_then(Value::as_str), Some("c"));
        assert_eq!(d.get("value").unwrap().xsi_type(), "xsd:string");
    }
}
