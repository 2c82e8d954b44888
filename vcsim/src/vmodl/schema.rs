//! Facts about the vim25 API types — every data object (faults and events included), managed
//! object and enum type, with its base type and own fields — read from the table generated from
//! pyvmomi's type registry (`data/vim25_schema.tsv`, see `data/gen_vim25_schema.py`).
//!
//! pyvmomi's deserializer rejects any type, field or enum value the WSDL lacks, so these facts
//! decide what the emulator may emit ([`check_value`]) and which property paths exist
//! ([`path_type`]).

use super::path::{PathSegment, PropertyPath};
use super::value::Value;
use std::collections::HashMap;
use std::sync::OnceLock;

/// The generated table (one line per type; format described in the generator).
const TABLE: &str = include_str!("../../data/vim25_schema.tsv");

/// Bound on base-type chains (the deepest vim25 chain is about ten types).
const MAX_DEPTH: usize = 64;

/// The WSDL type name of a managed object reference field.
pub const MOREF_TYPE: &str = "ManagedObjectReference";

/// XML Schema and vmodl built-in types that fields may have besides the table's types.
const PRIMITIVES: &[&str] = &[
    "anyType",
    "boolean",
    "byte",
    "short",
    "int",
    "long",
    "float",
    "double",
    "string",
    "dateTime",
    "base64Binary",
    "anyURI",
    "TypeName",
    "MethodName",
    "PropertyPath",
];

/// Whether a type is a data object type or a managed object type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypeKind {
    /// A data object type (`VirtualMachineRuntimeInfo`, `InvalidArgument`, `VmPoweredOnEvent`).
    Data,
    /// A managed object type (`VirtualMachine`, `PropertyCollector`).
    Managed,
}

/// One field of a data object type, or one property of a managed object type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldInfo {
    /// The field name.
    pub name: &'static str,
    /// The WSDL type name of the field (of each item, for arrays): `string`, `dateTime`,
    /// `anyType`, a data object or enum type name, or [`MOREF_TYPE`].
    pub ty: &'static str,
    /// For a [`MOREF_TYPE`] field, the managed object type it refers to.
    pub target: Option<&'static str>,
    /// True when the field is an array of `ty`.
    pub array: bool,
    /// True when the field may be unset.
    pub optional: bool,
}

impl FieldInfo {
    /// The type a value (each item, for arrays) is checked against: the target managed type
    /// for references, `ty` otherwise.
    pub fn item_type(&self) -> &'static str {
        self.target.unwrap_or(self.ty)
    }
}

/// A data object or managed object type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeInfo {
    /// The WSDL type name.
    pub name: &'static str,
    /// Data or managed.
    pub kind: TypeKind,
    /// The WSDL base type (`None` for the roots `DataObject` and `ManagedObject`).
    pub base: Option<&'static str>,
    /// The type's own fields in WSDL order (inherited ones are on the base types).
    pub fields: Vec<FieldInfo>,
}

/// A data object type.
pub type DataTypeInfo = TypeInfo;
/// A managed object type (its fields are its properties).
pub type ManagedTypeInfo = TypeInfo;

/// Whether a property path exists for a managed object type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathCheck {
    /// Every segment names a field (or item) of the type reached so far.
    Valid,
    /// The segment at this index names nothing.
    Invalid {
        /// Index into [`PropertyPath::segments`].
        segment: usize,
    },
    /// The managed object type is not in the schema.
    UnknownType,
}

struct Schema {
    types: HashMap<&'static str, TypeInfo>,
    enums: HashMap<&'static str, Vec<&'static str>>,
    /// Field name → the types declaring a field of that name (for polymorphic lookups).
    declared_in: HashMap<&'static str, Vec<(&'static str, usize)>>,
}

fn schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| parse(TABLE).0)
}

/// Parses the table. Malformed lines are skipped and described in the second result.
fn parse(text: &'static str) -> (Schema, Vec<String>) {
    let mut s = Schema {
        types: HashMap::new(),
        enums: HashMap::new(),
        declared_in: HashMap::new(),
    };
    let mut errors = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut cols = line.split('\t');
        let (Some(kind), Some(name), Some(base)) = (cols.next(), cols.next(), cols.next()) else {
            errors.push(format!("line {}: fewer than three columns", n + 1));
            continue;
        };
        if name.is_empty() || s.types.contains_key(name) || s.enums.contains_key(name) {
            errors.push(format!(
                "line {}: empty or duplicate type name `{name}`",
                n + 1
            ));
            continue;
        }
        let base = (base != "-").then_some(base);
        let kind = match kind {
            "E" => {
                s.enums.insert(name, cols.collect());
                continue;
            }
            "D" => TypeKind::Data,
            "M" => TypeKind::Managed,
            other => {
                errors.push(format!("line {}: unknown kind `{other}`", n + 1));
                continue;
            }
        };
        let mut fields = Vec::new();
        for col in cols {
            match parse_field(col) {
                Some(f) => fields.push(f),
                None => errors.push(format!("line {}: malformed field `{col}`", n + 1)),
            }
        }
        for (i, f) in fields.iter().enumerate() {
            s.declared_in.entry(f.name).or_default().push((name, i));
        }
        s.types.insert(
            name,
            TypeInfo {
                name,
                kind,
                base,
                fields,
            },
        );
    }
    (s, errors)
}

/// `name[?]:[@]type[[]]`.
fn parse_field(col: &'static str) -> Option<FieldInfo> {
    let (name, ty) = col.split_once(':')?;
    let (name, optional) = match name.strip_suffix('?') {
        Some(n) => (n, true),
        None => (name, false),
    };
    let (ty, array) = match ty.strip_suffix("[]") {
        Some(t) => (t, true),
        None => (ty, false),
    };
    let (ty, target) = match ty.strip_prefix('@') {
        Some(t) => (MOREF_TYPE, Some(t)),
        None => (ty, None),
    };
    if name.is_empty() || ty.is_empty() || target == Some("") {
        return None;
    }
    Some(FieldInfo {
        name,
        ty,
        target,
        array,
        optional,
    })
}

/// A data object type by WSDL name.
pub fn data_type(name: &str) -> Option<&'static DataTypeInfo> {
    schema()
        .types
        .get(name)
        .filter(|t| t.kind == TypeKind::Data)
}

/// A managed object type by WSDL name.
pub fn managed_type(name: &str) -> Option<&'static ManagedTypeInfo> {
    schema()
        .types
        .get(name)
        .filter(|t| t.kind == TypeKind::Managed)
}

/// The values of an enum type.
pub fn enum_values(name: &str) -> Option<&'static [&'static str]> {
    schema().enums.get(name).map(Vec::as_slice)
}

/// True for the XML Schema and vmodl built-in types (`string`, `int`, `anyType`, …).
pub fn is_primitive(name: &str) -> bool {
    PRIMITIVES.contains(&name)
}

/// `ty` and its base types, nearest first.
fn ancestors(ty: &str) -> impl Iterator<Item = &'static TypeInfo> {
    let types = &schema().types;
    let mut cur = types.get(ty);
    std::iter::from_fn(move || {
        let t = cur?;
        cur = t.base.and_then(|b| types.get(b));
        Some(t)
    })
    .take(MAX_DEPTH)
}

/// A field of a data object type or a property of a managed object type, looked up on the
/// type and its base types.
pub fn field(type_name: &str, field_name: &str) -> Option<&'static FieldInfo> {
    ancestors(type_name).find_map(|t| t.fields.iter().find(|f| f.name == field_name))
}

/// True when `ty` is `base` or derives from it (data and managed types).
pub fn is_subtype(ty: &str, base: &str) -> bool {
    ty == base || ancestors(ty).any(|t| t.name == base)
}

/// The fields named `field_name` that a value of declared type `ty` may carry: the one on
/// `ty` or its bases, else those declared on any of its subtypes (a `backing.fileName` of a
/// `VirtualDeviceBackingInfo` is on the subtype `VirtualDeviceFileBackingInfo`).
fn fields_of_any_subtype(ty: &str, field_name: &str) -> Vec<&'static FieldInfo> {
    if let Some(f) = field(ty, field_name) {
        return vec![f];
    }
    let s = schema();
    s.declared_in
        .get(field_name)
        .into_iter()
        .flatten()
        .filter(|(decl, _)| is_subtype(decl, ty))
        .filter_map(|(decl, i)| s.types.get(decl)?.fields.get(*i))
        .collect()
}

/// Whether `path` names a property (or a part of one) of managed type `managed_type`.
///
/// A keyed segment (`device[4000]`) selects an item of an array field; a field segment must
/// name a field of the data type reached so far or of one of its subtypes; anything under an
/// `anyType` field is accepted.
pub fn path_type(managed_type: &str, path: &PropertyPath) -> PathCheck {
    if self::managed_type(managed_type).is_none() {
        return PathCheck::UnknownType;
    }
    let Some(PathSegment::Field(head)) = path.segments.first() else {
        return PathCheck::Invalid { segment: 0 };
    };
    let Some(prop) = field(managed_type, head) else {
        return PathCheck::Invalid { segment: 0 };
    };
    match walk(prop, prop.array, &path.segments, 1) {
        Ok(()) => PathCheck::Valid,
        Err(segment) => PathCheck::Invalid { segment },
    }
}

/// Checks `segments[i..]` below a position of field `f` (`array`: not yet indexed).
/// Errors with the index of the deepest segment that named nothing.
fn walk(
    f: &'static FieldInfo,
    array: bool,
    segments: &[PathSegment],
    i: usize,
) -> Result<(), usize> {
    let Some(seg) = segments.get(i) else {
        return Ok(());
    };
    if f.ty == "anyType" {
        return Ok(());
    }
    match seg {
        PathSegment::Key(_) if array => walk(f, false, segments, i + 1),
        PathSegment::Field(name) if !array && data_type(f.ty).is_some() => {
            let mut err = i;
            for next in fields_of_any_subtype(f.ty, name) {
                match walk(next, next.array, segments, i + 1) {
                    Ok(()) => return Ok(()),
                    Err(e) => err = err.max(e),
                }
            }
            Err(err)
        }
        _ => Err(i),
    }
}

/// Problems that would make pyvmomi reject `v` (or mis-read it), as readable sentences.
///
/// `declared_type` is the WSDL type of the position holding `v` (the item type, for arrays;
/// a managed type name or [`MOREF_TYPE`] for references); `None` or `anyType` means the value
/// states its own type. Checked recursively: every data object's type (its `ty`, else the
/// declared type) is a known data type deriving from the declared one, every field exists on
/// it or its bases and holds a value of the field's type (an array field an array, or lone
/// items repeated as decoded requests keep them; any other field at most once), every enum
/// value is
/// one of its enum's values, every reference names a managed type deriving from the declared
/// one, and values at `anyType` fields carry a type (`Value::Any` or a typed data object).
pub fn check_value(declared_type: Option<&str>, v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    check(declared_type, v, &mut String::new(), &mut out);
    out
}

/// Like [`check_value`] for the value of field (or managed object property) `f`, including
/// whether it is an array exactly when the field is (a property value is written at an
/// `anyType` position, `DynamicProperty.val`, where a lone item is not an array).
pub fn check_field(f: &FieldInfo, v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    check_field_value(f, v, false, &mut String::new(), &mut out);
    out
}

fn problem(out: &mut Vec<String>, at: &str, msg: String) {
    if at.is_empty() {
        out.push(msg);
    } else {
        out.push(format!("{at}: {msg}"));
    }
}

/// `nested`: the field is inside a data object, where a lone item of an array field is
/// written exactly like a one-item array (decoded requests keep arrays as repeated fields).
fn check_field_value(
    f: &FieldInfo,
    v: &Value,
    nested: bool,
    at: &mut String,
    out: &mut Vec<String>,
) {
    if f.ty == "anyType" {
        let typed = match v {
            Value::Any(_) => true,
            Value::Data(d) => d.ty.is_some(),
            _ => false,
        };
        if !typed {
            problem(
                out,
                at,
                "value at an anyType field is written without xsi:type (wrap it in Value::Any)"
                    .into(),
            );
        }
        check(None, v, at, out);
        return;
    }
    let is_array = matches!(unwrap_any(v), Value::Array(_));
    if f.array && !is_array && !nested {
        problem(out, at, format!("`{}` is an array field", f.name));
    } else if !f.array && is_array {
        problem(out, at, format!("`{}` is not an array field", f.name));
    }
    check(Some(f.item_type()), v, at, out);
}

fn unwrap_any(v: &Value) -> &Value {
    match v {
        Value::Any(inner) => unwrap_any(inner),
        other => other,
    }
}

fn check(declared: Option<&str>, v: &Value, at: &mut String, out: &mut Vec<String>) {
    let declared = declared.filter(|d| *d != "anyType");
    match v {
        Value::Any(inner) => check(declared, inner, at, out),
        Value::Array(a) => {
            let own = a.item.strip_prefix("xsd:").unwrap_or(&a.item);
            if declared.is_none() && !is_known(own) && own != MOREF_TYPE {
                problem(out, at, format!("array of unknown type `{own}`"));
            }
            let item = declared.unwrap_or(own);
            let len = at.len();
            for (i, x) in a.items.iter().enumerate() {
                at.push_str(&format!("[{i}]"));
                check(Some(item), x, at, out);
                at.truncate(len);
            }
        }
        Value::Data(d) => {
            let Some(ty) = d.ty.as_deref().or(declared) else {
                problem(out, at, "data object without a type".into());
                return;
            };
            if data_type(ty).is_none() {
                problem(out, at, format!("unknown data type `{ty}`"));
                return;
            }
            if let Some(decl) = declared.filter(|d| !is_subtype(ty, d)) {
                problem(out, at, format!("`{ty}` where `{decl}` is declared"));
            }
            let len = at.len();
            for (name, fv) in &d.fields {
                if !at.is_empty() {
                    at.push('.');
                }
                at.push_str(name);
                match field(ty, name) {
                    Some(f)
                        if !f.array && d.fields.iter().filter(|(n, _)| n == name).count() > 1 =>
                    {
                        problem(out, at, format!("non-array field `{name}` is repeated"))
                    }
                    Some(f) => check_field_value(f, fv, true, at, out),
                    None => problem(out, at, format!("`{ty}` has no field `{name}`")),
                }
                at.truncate(len);
            }
        }
        Value::MoRef(m) => {
            if managed_type(&m.ty).is_none() {
                problem(
                    out,
                    at,
                    format!("reference to unknown managed type `{}`", m.ty),
                );
            }
            if let Some(decl) = declared.filter(|d| {
                *d != MOREF_TYPE && !(managed_type(d).is_some() && is_subtype(&m.ty, d))
            }) {
                problem(
                    out,
                    at,
                    format!("reference to `{}` where `{decl}` is declared", m.ty),
                );
            }
        }
        Value::Enum(ty, e) => {
            match enum_values(ty) {
                None => problem(out, at, format!("unknown enum type `{ty}`")),
                Some(values) if !values.contains(&e.as_ref()) => {
                    problem(out, at, format!("`{e}` is not a value of enum `{ty}`"))
                }
                Some(_) => {}
            }
            if let Some(decl) = declared.filter(|d| *d != ty && !is_stringlike(d)) {
                problem(out, at, format!("enum `{ty}` where `{decl}` is declared"));
            }
        }
        primitive => {
            let Some(decl) = declared else {
                return;
            };
            if let Some(values) = enum_values(decl) {
                match primitive {
                    Value::Str(s) | Value::Text(s) if values.contains(&s.as_str()) => {}
                    Value::Str(s) | Value::Text(s) => {
                        problem(out, at, format!("`{s}` is not a value of enum `{decl}`"))
                    }
                    other => problem(
                        out,
                        at,
                        format!("{} where enum `{decl}` is declared", other.xsi_type()),
                    ),
                }
            } else if !is_primitive(decl) {
                let what = if is_known(decl) {
                    "declared"
                } else {
                    "declared (unknown type)"
                };
                problem(
                    out,
                    at,
                    format!("{} where `{decl}` is {what}", primitive.xsi_type()),
                );
            } else if !primitive_fits(decl, primitive) {
                problem(
                    out,
                    at,
                    format!("{} where `{decl}` is declared", primitive.xsi_type()),
                );
            }
        }
    }
}

/// A data, managed, enum or primitive type name.
fn is_known(name: &str) -> bool {
    is_primitive(name) || schema().types.contains_key(name) || schema().enums.contains_key(name)
}

fn is_stringlike(ty: &str) -> bool {
    matches!(
        ty,
        "string" | "anyURI" | "TypeName" | "MethodName" | "PropertyPath"
    )
}

/// Whether a primitive value is written in a form the declared primitive type reads.
fn primitive_fits(declared: &str, v: &Value) -> bool {
    match v {
        // Text whose type the client did not state is echoed as given.
        Value::Text(_) => true,
        Value::Bool(_) => declared == "boolean",
        Value::Byte(_) | Value::Short(_) | Value::Int(_) | Value::Long(_) => matches!(
            declared,
            "byte" | "short" | "int" | "long" | "float" | "double"
        ),
        Value::Float(_) | Value::Double(_) => matches!(declared, "float" | "double"),
        Value::Str(_) => is_stringlike(declared),
        Value::DateTime(_) => declared == "dateTime",
        Value::Base64(_) => declared == "base64Binary",
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vmodl::DataObject;

    /// Parses the bundled table strictly and checks that it is closed: every base and field
    /// type is defined.
    #[test]
    fn bundled_table_parses_fully_and_is_closed() {
        let (s, errors) = parse(TABLE);
        assert!(errors.is_empty(), "{errors:?}");
        assert!(s.types.len() > 3000, "{} types", s.types.len());
        assert!(s.enums.len() > 400, "{} enums", s.enums.len());
        let mut problems = Vec::new();
        for t in s.types.values() {
            match t.base.map(|b| s.types.get(b)) {
                Some(Some(b)) if b.kind != t.kind => {
                    problems.push(format!("{}: base {} of another kind", t.name, b.name))
                }
                Some(None) => problems.push(format!("{}: unknown base", t.name)),
                _ => {}
            }
            for f in &t.fields {
                let ok = match f.target {
                    Some(m) => s.types.get(m).is_some_and(|m| m.kind == TypeKind::Managed),
                    None => {
                        is_primitive(f.ty)
                            || s.enums.contains_key(f.ty)
                            || s.types.get(f.ty).is_some_and(|d| d.kind == TypeKind::Data)
                    }
                };
                if !ok {
                    problems.push(format!("{}.{}: unknown type {}", t.name, f.name, f.ty));
                }
            }
        }
        assert!(problems.is_empty(), "{problems:?}");
        for (root, kind) in [
            ("DataObject", TypeKind::Data),
            ("ManagedObject", TypeKind::Managed),
        ] {
            assert_eq!(s.types[root].base, None);
            assert_eq!(s.types[root].kind, kind);
        }
    }

    #[test]
    fn lookups_walk_base_types() {
        let rt = data_type("VirtualMachineRuntimeInfo").unwrap();
        assert_eq!(rt.base, Some("DynamicData"));
        let host = field("VirtualMachineRuntimeInfo", "host").unwrap();
        assert_eq!(
            (host.ty, host.target, host.array),
            (MOREF_TYPE, Some("HostSystem"), false)
        );
        let dev = field("VirtualMachineRuntimeInfo", "device").unwrap();
        assert_eq!(
            (dev.ty, dev.array),
            ("VirtualMachineDeviceRuntimeInfo", true)
        );
        assert!(field("VirtualMachineRuntimeInfo", "dynamicType").is_some());
        assert!(field("VirtualMachineRuntimeInfo", "nope").is_none());
        // Managed properties are inherited too.
        assert_eq!(field("VirtualMachine", "name").unwrap().ty, "string");
        assert_eq!(
            managed_type("ClusterComputeResource").unwrap().base,
            Some("ComputeResource")
        );
        assert!(managed_type("VirtualMachineRuntimeInfo").is_none());
        assert!(data_type("VirtualMachine").is_none());
        assert!(is_subtype("ClusterComputeResource", "ManagedEntity"));
        assert!(is_subtype("VirtualDisk", "VirtualDevice"));
        assert!(is_subtype("InvalidArgument", "MethodFault"));
        assert!(is_subtype("VmPoweredOnEvent", "Event"));
        assert!(!is_subtype("HostSystem", "ComputeResource"));
        assert_eq!(
            enum_values("VirtualMachinePowerState"),
            Some(&["poweredOff", "poweredOn", "suspended"][..])
        );
        assert!(enum_values("VirtualMachine").is_none());
        assert_eq!(field("OptionValue", "value").unwrap().ty, "anyType");
    }

    fn check_path(ty: &str, p: &str) -> PathCheck {
        path_type(ty, &PropertyPath::parse(p).unwrap())
    }

    #[test]
    fn property_paths() {
        use PathCheck::*;
        assert_eq!(check_path("VirtualMachine", "name"), Valid);
        assert_eq!(check_path("VirtualMachine", "runtime.powerState"), Valid);
        assert_eq!(
            check_path("VirtualMachine", "config.hardware.device"),
            Valid
        );
        assert_eq!(
            check_path("VirtualMachine", "config.hardware.device[4000]"),
            Valid
        );
        assert_eq!(
            check_path(
                "VirtualMachine",
                "config.hardware.device[4000].backing.fileName"
            ),
            Valid
        );
        // `capacityInKB` is on the subtype VirtualDisk of VirtualDevice.
        assert_eq!(
            check_path(
                "VirtualMachine",
                "config.hardware.device[2000].capacityInKB"
            ),
            Valid
        );
        assert_eq!(
            check_path(
                "VirtualMachine",
                "config.extraConfig[\"guestinfo.ip\"].value"
            ),
            Valid
        );
        // Anything under an anyType field.
        assert_eq!(
            check_path("VirtualMachine", "config.extraConfig[\"a\"].value.x"),
            Valid
        );
        assert_eq!(
            check_path("HostSystem", "summary.quickStats.overallCpuUsage"),
            Valid
        );
        assert_eq!(check_path("VirtualMachine", "nope"), Invalid { segment: 0 });
        assert_eq!(
            check_path("VirtualMachine", "runtime.nope"),
            Invalid { segment: 1 }
        );
        // A primitive has no fields, an unkeyed array no fields, a non-array no keys.
        assert_eq!(
            check_path("VirtualMachine", "name.x"),
            Invalid { segment: 1 }
        );
        assert_eq!(
            check_path("VirtualMachine", "config.hardware.device.key"),
            Invalid { segment: 3 }
        );
        assert_eq!(
            check_path("VirtualMachine", "runtime[1]"),
            Invalid { segment: 1 }
        );
        assert_eq!(
            check_path("VirtualMachine", "runtime.host.name"),
            Invalid { segment: 2 }
        );
        // Properties of a subtype are not properties of the base type.
        assert_eq!(check_path("ComputeResource", "configurationEx"), Valid);
        assert_eq!(
            check_path("ManagedEntity", "runtime"),
            Invalid { segment: 0 }
        );
        assert_eq!(check_path("NoSuchType", "name"), UnknownType);
    }

    #[test]
    fn values_are_checked_against_their_types() {
        let good = DataObject::new("VirtualMachineRuntimeInfo")
            .with(
                "powerState",
                Value::enumv("VirtualMachinePowerState", "poweredOn"),
            )
            .with("connectionState", Value::str("connected"))
            .with(
                "host",
                Value::moref(&crate::vmodl::MoRef::new("HostSystem", "host-1")),
            )
            .with("bootTime", Value::DateTime(0))
            .with(
                "device",
                Value::array("VirtualMachineDeviceRuntimeInfo", vec![]),
            )
            .into_value();
        assert_eq!(check_value(None, &good), Vec::<String>::new());
        let ov = DataObject::new("OptionValue")
            .with("key", "k".into())
            .with("value", Value::any(Value::Long(1)))
            .into_value();
        assert_eq!(check_value(Some("OptionValue"), &ov), Vec::<String>::new());

        let bad = DataObject::new("VirtualMachineRuntimeInfo")
            .with("powerState", Value::enumv("VirtualMachinePowerState", "on"))
            .with("connectionState", Value::str("nope"))
            .with(
                "host",
                Value::moref(&crate::vmodl::MoRef::new("Folder", "f")),
            )
            .with("bootTime", Value::str("yesterday"))
            .with("device", Value::Int(1))
            .with("bogus", Value::Int(1))
            .into_value();
        let problems = check_value(None, &bad);
        assert_eq!(problems.len(), 6, "{problems:#?}");
        assert!(
            problems.iter().any(|p| p.starts_with("bogus: ")),
            "{problems:#?}"
        );

        // Array-ness: strict for a property value, lone items allowed inside data objects.
        let device = field("VirtualMachineRuntimeInfo", "device").unwrap();
        let item = DataObject::new("VirtualMachineDeviceRuntimeInfo")
            .with("key", Value::Int(1))
            .with(
                "runtimeState",
                DataObject::new("VirtualMachineDeviceRuntimeInfoDeviceRuntimeState").into_value(),
            )
            .into_value();
        assert_eq!(check_field(device, &item).len(), 1);
        let repeated = DataObject {
            ty: Some("VirtualMachineRuntimeInfo".into()),
            fields: vec![
                ("device".into(), item.clone()),
                ("device".into(), item),
                ("paused".into(), Value::Bool(true)),
                ("paused".into(), Value::Bool(false)),
            ],
        };
        let problems = check_value(None, &repeated.into_value());
        assert_eq!(problems.len(), 2, "{problems:#?}");
        assert!(
            problems.iter().all(|p| p.contains("`paused` is repeated")),
            "{problems:#?}"
        );

        let untyped_any = DataObject::new("OptionValue")
            .with("key", "k".into())
            .with("value", Value::Long(1))
            .into_value();
        assert_eq!(check_value(None, &untyped_any).len(), 1);
        // A data object must derive from the declared type; nested types are checked.
        let disk = DataObject::new("VirtualDisk")
            .with("key", Value::Int(2000))
            .with(
                "backing",
                DataObject::new("VirtualDiskFlatVer2BackingInfo")
                    .with("fileName", "[ds] a.vmdk".into())
                    .with("diskMode", "persistent".into())
                    .into_value(),
            )
            .into_value();
        assert_eq!(
            check_value(Some("VirtualDevice"), &disk),
            Vec::<String>::new()
        );
        assert_eq!(check_value(Some("OptionValue"), &disk).len(), 1);
        assert_eq!(
            check_value(None, &DataObject::new("NoSuchType").into_value()),
            vec!["unknown data type `NoSuchType`".to_owned()]
        );
    }

    /// Every problem in what the emulator holds: each property of each inventory object must
    /// be a property of the object's managed type with a value of that property's type; each
    /// posted event must be a valid `Event`.
    fn emitted_problems(emu: &crate::Emulator) -> Vec<String> {
        let mut problems = Vec::new();
        for obj in emu.inv.iter() {
            let ty = obj.moref.ty.as_ref();
            if managed_type(ty).is_none() {
                problems.push(format!("{}: unknown managed type", obj.moref));
                continue;
            }
            for (name, v) in &obj.props {
                match field(ty, name) {
                    None => {
                        problems.push(format!("{}: `{ty}` has no property `{name}`", obj.moref))
                    }
                    Some(f) => problems.extend(
                        check_field(f, v)
                            .into_iter()
                            .map(|p| format!("{}.{name}: {p}", obj.moref)),
                    ),
                }
            }
        }
        for e in emu.events.iter() {
            problems.extend(
                check_value(Some("Event"), &e.value)
                    .into_iter()
                    .map(|p| format!("event {} ({}): {p}", e.key, e.ty)),
            );
        }
        problems
    }

    #[test]
    fn emulator_inventory_matches_the_schema() {
        for flavor in [crate::Flavor::VirtualCenter, crate::Flavor::HostAgent] {
            let config = crate::Config {
                flavor,
                ..crate::Config::default()
            };
            let mut emu = crate::Emulator::new(config).unwrap();
            emu.advance(60_000);
            let problems = emitted_problems(&emu);
            assert!(
                problems.is_empty(),
                "{flavor:?}: {} problems:\n{}",
                problems.len(),
                problems.join("\n")
            );
        }
    }
}
