//! The vmodl data model shared by the emulator and the `vic` SOAP client: values, managed
//! object references, data objects, type facts, property paths and `xsd:dateTime`.

mod fault;
mod intern;
mod path;
mod schema;
mod time;
mod types;
mod value;
pub mod xml;

pub use fault::Fault;
pub use intern::Interner;
pub use path::{PathSegment, PropertyPath};
pub use schema::{
    DataTypeInfo, FieldInfo, MOREF_TYPE, ManagedTypeInfo, PathCheck, TypeInfo, TypeKind,
    check_field, check_value, data_type, enum_values, field, is_primitive, is_subtype,
    managed_type, path_type,
};
pub use time::{
    civil_from_days, days_from_civil, format_datetime, format_rfc3339_seconds, parse_datetime,
};
pub use types::{MANAGED_TYPES, is_a, managed_base};
pub use value::{Array, DataObject, MoRef, Name, Value, array_type_name};
