//! Decoding response elements with the vim25 schema.
//!
//! A real vCenter writes `xsi:type` only where the WSDL says `anyType` or a subtype stands in
//! a base-typed position; a data object in a statically typed position (`ObjectContent` in
//! `RetrievePropertiesResponse`, `TaskInfo.state`) comes bare, and an array field is just the
//! element repeated. [`typed`] uses the declared type of each position (from
//! [`vcsim::vmodl::field`]) so that the same response decodes to the same [`Value`] whether or
//! not the server typed it: arrays become [`Value::Array`], enums [`Value::Enum`], numbers
//! their primitive variants, `anyType` positions [`Value::Any`]. Whatever the schema does
//! not know is decoded generically ([`decode::value`]).

use std::borrow::Cow;
use vcsim::vmodl::xml::{Element, decode};
use vcsim::vmodl::{Array, DataObject, MOREF_TYPE, Value, data_type, enum_values, field};

/// Decodes `el`, whose position declares type `declared` (a WSDL type name; `None` or
/// `anyType` when unknown). The element's own `xsi:type` wins over the declared type.
pub fn typed(el: &Element, declared: Option<&str>) -> Value {
    let dynamic = el.xsi_type.as_deref();
    if el.xsi_primitive {
        return decode::primitive(dynamic.unwrap_or("string"), el.text.trim());
    }
    let Some(ty) = dynamic.or(declared).filter(|t| *t != "anyType") else {
        return decode::value(el);
    };
    if ty == MOREF_TYPE {
        return decode::moref(el)
            .map(Value::MoRef)
            .unwrap_or_else(|| Value::Text(el.text.trim().to_owned()));
    }
    if let Some(item) = ty.strip_prefix("ArrayOf") {
        let item = array_item(item);
        let items = el.children.iter().map(|c| typed(c, Some(&item))).collect();
        return Value::Array(Array {
            item: Cow::Owned(item),
            items,
        });
    }
    if let Some(prim) = primitive_name(ty) {
        return decode::primitive(prim, el.text.trim());
    }
    if enum_values(ty).is_some() {
        return Value::Enum(
            Cow::Owned(ty.to_owned()),
            Cow::Owned(el.text.trim().to_owned()),
        );
    }
    if data_type(ty).is_some() {
        return data(el, ty);
    }
    // A type this schema does not know (newer than it): keep what the element says.
    decode::value(el)
}

/// Decodes the fields of a data object of type `ty`.
fn data(el: &Element, ty: &str) -> Value {
    let mut fields: Vec<(Cow<'static, str>, Value)> = Vec::with_capacity(el.children.len());
    for c in &el.children {
        let Some(fi) = field(ty, &c.name) else {
            // A field of a subtype the element did not name, or one newer than the schema.
            fields.push((Cow::Owned(c.name.clone()), decode::value(c)));
            continue;
        };
        let mut v = typed(c, Some(fi.ty));
        if fi.ty == "anyType" && !matches!(v, Value::Any(_)) {
            v = Value::Any(Box::new(v));
        }
        if fi.array {
            if let Some((_, Value::Array(a))) = fields.iter_mut().find(|(n, _)| *n == c.name) {
                a.items.push(v);
            } else {
                fields.push((
                    Cow::Owned(c.name.clone()),
                    Value::Array(Array {
                        item: Cow::Borrowed(fi.ty),
                        items: vec![v],
                    }),
                ));
            }
        } else {
            fields.push((Cow::Owned(c.name.clone()), v));
        }
    }
    Value::Data(std::sync::Arc::new(DataObject {
        ty: Some(Cow::Owned(ty.to_owned())),
        fields,
    }))
}

/// The item type of `ArrayOfX`: `String` → `string`, `ManagedObjectReference` as is.
fn array_item(item: &str) -> String {
    match item {
        "String" | "Int" | "Long" | "Short" | "Byte" | "Boolean" | "Float" | "Double"
        | "DateTime" | "AnyType" | "AnyURI" => {
            let mut s = item.to_owned();
            s[..1].make_ascii_lowercase();
            s
        }
        other => other.to_owned(),
    }
}

/// The XML Schema primitive a WSDL type name stands for.
fn primitive_name(ty: &str) -> Option<&'static str> {
    Some(match ty {
        "boolean" => "boolean",
        "byte" => "byte",
        "short" => "short",
        "int" => "int",
        "long" => "long",
        "float" => "float",
        "double" => "double",
        "dateTime" => "dateTime",
        "base64Binary" => "base64Binary",
        "string" | "anyURI" | "TypeName" | "MethodName" | "PropertyPath" => "string",
        _ => return None,
    })
}

/// Removes an [`Value::Any`] wrapper (an `anyType` position's value is its inner value).
pub fn unwrap_any(v: Value) -> Value {
    match v {
        Value::Any(inner) => unwrap_any(*inner),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vcsim::vmodl::xml::parse_document;

    const NS: &str = r#"xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema""#;

    #[test]
    fn untyped_object_content_decodes_by_schema() {
        // What a real vCenter sends: no xsi:type on ObjectContent, repeated propSet.
        let doc = format!(
            r#"<returnval {NS}><obj type="VirtualMachine">vm-1</obj>
              <propSet><name>name</name><val xsi:type="xsd:string">a</val></propSet>
              <propSet><name>config.extraConfig</name><val xsi:type="ArrayOfOptionValue">
                <OptionValue><key>k</key><value xsi:type="xsd:int">3</value></OptionValue></val></propSet>
            </returnval>"#
        );
        let v = typed(&parse_document(&doc).unwrap(), Some("ObjectContent"));
        let props = v.field("propSet").unwrap();
        assert_eq!(props.items().len(), 2);
        let ec = props.items()[1].field("val").unwrap();
        let ov = &ec.items()[0];
        assert_eq!(
            ov.field("value"),
            Some(&Value::Any(Box::new(Value::Int(3))))
        );
        assert_eq!(
            v.field("obj")
                .and_then(Value::as_moref)
                .map(|m| m.value.as_str()),
            Some("vm-1")
        );
    }

    #[test]
    fn enums_numbers_and_faults_in_typed_positions() {
        let doc = format!(
            r#"<val {NS} xsi:type="TaskInfo"><key>task-1</key><state>error</state><progress>40</progress>
              <error><fault xsi:type="InvalidPowerState"><existingState>poweredOn</existingState></fault>
              <localizedMessage>bad</localizedMessage></error></val>"#
        );
        let v = typed(&parse_document(&doc).unwrap(), None);
        assert_eq!(
            v.field("state"),
            Some(&Value::Enum("TaskInfoState".into(), "error".into()))
        );
        assert_eq!(v.field("progress"), Some(&Value::Int(40)));
        let fault = v.field("error").and_then(|e| e.field("fault")).unwrap();
        assert_eq!(fault.xsi_type(), "InvalidPowerState");
        assert_eq!(
            fault.field("existingState").and_then(Value::as_str),
            Some("poweredOn")
        );
    }

    #[test]
    fn unknown_types_fall_back_to_generic_decoding() {
        let doc = format!(r#"<val {NS} xsi:type="FutureThing"><a>1</a></val>"#);
        let v = typed(&parse_document(&doc).unwrap(), None);
        assert_eq!(v.field("a").and_then(Value::as_i64), Some(1));
    }
}
