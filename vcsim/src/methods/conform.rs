//! Client-sent data objects made storable: a decoded request value ([`decode::value`]) keeps
//! what the client wrote, so an empty struct (`<globalIPSettings></globalIPSettings>`, which
//! govmomi writes for a required field with nothing set) arrives as empty text. Before such a
//! value is kept and later written back (a customization spec, a posted event, an IP pool),
//! [`conform`] turns those into empty data objects of the declared type and [`checked`]
//! rejects anything the vim25 schema does not allow, so what the emulator stores is what
//! strict clients (pyvmomi) can read back.

use crate::soap::{Element, decode};
use crate::vmodl::{Fault, Value, check_value, data_type, enum_values, field};

/// Bound on nesting walked (requests are already depth-limited by the parser; this keeps the
/// walk itself bounded whatever the caller hands in).
const DEPTH_MAX: usize = 64;

/// `v` with empty text at data-object-typed fields replaced by empty data objects, walking
/// the fields the schema knows below `declared`.
pub(super) fn conform(v: Value, declared: &str) -> Value {
    conform_at(v, declared, 0)
}

fn conform_at(v: Value, declared: &str, depth: usize) -> Value {
    if depth > DEPTH_MAX {
        return v;
    }
    match v {
        Value::Text(t) if t.trim().is_empty() && is_data(declared) => {
            Value::Data(Default::default())
        }
        Value::Data(mut d) => {
            let ty = d.ty.as_deref().unwrap_or(declared).to_owned();
            for (name, fv) in std::sync::Arc::make_mut(&mut d).fields.iter_mut() {
                if let Some(f) = field(&ty, name)
                    && f.ty != "anyType"
                {
                    let taken = std::mem::replace(fv, Value::Bool(false));
                    *fv = conform_at(taken, f.item_type(), depth + 1);
                }
            }
            Value::Data(d)
        }
        Value::Array(mut a) => {
            for item in a.items.iter_mut() {
                let taken = std::mem::replace(item, Value::Bool(false));
                *item = conform_at(taken, declared, depth + 1);
            }
            Value::Array(a)
        }
        other => other,
    }
}

fn is_data(ty: &str) -> bool {
    data_type(ty).is_some() && enum_values(ty).is_none()
}

/// The request element `el` as a storable value of type `declared` (its own `xsi:type` when
/// it has one, which must derive from `declared`), or `fault` naming the first problem.
pub(super) fn checked(
    el: &Element,
    declared: &str,
    fault: impl Fn(String) -> Fault,
) -> Result<Value, Fault> {
    let mut v = conform(decode::value(el), declared);
    if let Value::Data(d) = &mut v
        && d.ty.is_none()
    {
        std::sync::Arc::make_mut(d).ty =
            data_type(declared).map(|t| std::borrow::Cow::Borrowed(t.name));
    }
    if !matches!(v, Value::Data(_)) {
        return Err(fault(format!("{} is not a {declared}", el.name)));
    }
    match check_value(Some(declared), &v).into_iter().next() {
        Some(problem) => Err(fault(problem)),
        None => Ok(v),
    }
}

/// A text field of a data object (`None` when absent; empty text counts as present).
pub(super) fn text<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v.field(name).and_then(Value::as_str)
}

/// The WSDL type of a data object value (its own, which a client states for polymorphic
/// fields).
pub(super) fn type_of(v: &Value) -> Option<&str> {
    match v {
        Value::Data(d) => d.ty.as_deref(),
        Value::Any(inner) => type_of(inner),
        _ => None,
    }
}

/// Every value of a field that may repeat: decoded requests keep an array as repeated
/// fields; values the emulator builds hold an array.
pub(super) fn all<'a>(v: &'a Value, name: &str) -> Vec<&'a Value> {
    let Some(d) = v.as_data() else {
        return Vec::new();
    };
    d.fields
        .iter()
        .filter(|(n, _)| n == name)
        .flat_map(|(_, fv)| match fv {
            Value::Array(a) => a.items.iter().collect::<Vec<_>>(),
            other => vec![other],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soap::parse_document;

    fn el(xml: &str) -> Element {
        parse_document(&format!(
            r#"<r xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">{xml}</r>"#
        ))
        .unwrap()
        .children
        .remove(0)
    }

    fn bad(p: String) -> Fault {
        Fault::invalid_argument(&p)
    }

    #[test]
    fn empty_required_structs_become_data_objects() {
        let e = el(
            r#"<spec><identity xsi:type="CustomizationLinuxPrep"><hostName xsi:type="CustomizationFixedName"><name>web</name></hostName><domain>example.com</domain></identity><globalIPSettings></globalIPSettings></spec>"#,
        );
        let v = checked(&e, "CustomizationSpec", bad).unwrap();
        assert!(matches!(v.field("globalIPSettings"), Some(Value::Data(_))));
        assert_eq!(
            type_of(v.field("identity").unwrap()),
            Some("CustomizationLinuxPrep")
        );
    }

    #[test]
    fn unknown_fields_and_wrong_types_are_refused() {
        let e = el(r#"<spec><bogus>1</bogus></spec>"#);
        assert_eq!(
            checked(&e, "CustomizationSpec", bad).unwrap_err().ty,
            "InvalidArgument"
        );
        let e = el(r#"<e xsi:type="VirtualMachineConfigSpec"/>"#);
        assert!(checked(&e, "Event", bad).is_err());
    }

    #[test]
    fn repeated_fields_read_as_lists() {
        let e = el(r#"<g><dnsSuffixList>a</dnsSuffixList><dnsSuffixList>b</dnsSuffixList></g>"#);
        let v = checked(&e, "CustomizationGlobalIPSettings", bad).unwrap();
        let got: Vec<_> = all(&v, "dnsSuffixList")
            .into_iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(got, ["a", "b"]);
    }
}
