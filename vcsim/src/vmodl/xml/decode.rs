//! Turning request elements into vmodl values and typed arguments.

use super::parse::Element;
use crate::vmodl::{Array, DataObject, MoRef, Value, parse_datetime};
use std::borrow::Cow;

/// Reads an element as a MoRef (`<obj type="VirtualMachine">vm-1</obj>`).
pub fn moref(el: &Element) -> Option<MoRef> {
    let ty = el.attr("type")?;
    let value = el.text.trim();
    (!ty.is_empty() && !value.is_empty()).then(|| MoRef::new(ty.to_owned(), value.to_owned()))
}

/// Converts an element to a value, keeping what the client said: its `xsi:type`, its
/// fields (repeated children stay repeated, so arrays round-trip), MoRefs, primitives.
pub fn value(el: &Element) -> Value {
    // A client types a primitive, a reference or an array explicitly where the WSDL says
    // `anyType` (`OptionValue.value`): keep that fact, so the value is written back typed.
    match el.xsi_type.as_deref() {
        Some(ty) => match typed(el, ty) {
            v @ Value::Data(_) => v,
            v => Value::Any(Box::new(v)),
        },
        None => untyped(el),
    }
}

fn typed(el: &Element, ty: &str) -> Value {
    {
        if el.xsi_primitive {
            return primitive(ty, el.text.trim());
        }
        if ty == "ManagedObjectReference" {
            return moref(el)
                .map(Value::MoRef)
                .unwrap_or(Value::Text(el.text.clone()));
        }
        if let Some(item) = ty.strip_prefix("ArrayOf") {
            let item = lower_primitive(item);
            let items = el
                .children
                .iter()
                .map(|c| {
                    if is_primitive(&item) && c.xsi_type.is_none() {
                        primitive(&item, c.text.trim())
                    } else if item == "ManagedObjectReference" {
                        moref(c)
                            .map(Value::MoRef)
                            .unwrap_or(Value::Text(c.text.clone()))
                    } else {
                        value(c)
                    }
                })
                .collect();
            return Value::Array(Array {
                item: Cow::Owned(item),
                items,
            });
        }
        if el.children.is_empty() && !el.text.trim().is_empty() {
            // An enum value (`<x xsi:type="SharesLevel">normal</x>`).
            return Value::Enum(
                Cow::Owned(ty.to_owned()),
                Cow::Owned(el.text.trim().to_owned()),
            );
        }
        data(el, Some(ty))
    }
}

fn untyped(el: &Element) -> Value {
    if el.attr("type").is_some()
        && el.children.is_empty()
        && let Some(m) = moref(el)
    {
        return Value::MoRef(m);
    }
    if el.children.is_empty() {
        return Value::Text(el.text.trim().to_owned());
    }
    data(el, None)
}

fn data(el: &Element, ty: Option<&str>) -> Value {
    let fields = el
        .children
        .iter()
        .map(|c| (Cow::Owned(c.name.clone()), value(c)))
        .collect();
    Value::Data(std::sync::Arc::new(DataObject {
        ty: ty.map(|t| Cow::Owned(t.to_owned())),
        fields,
    }))
}

fn lower_primitive(item: &str) -> String {
    match item {
        "String" | "Int" | "Long" | "Short" | "Byte" | "Boolean" | "Float" | "Double"
        | "DateTime" => {
            let mut s = item.to_owned();
            s[..1].make_ascii_lowercase();
            s
        }
        other => other.to_owned(),
    }
}

fn is_primitive(ty: &str) -> bool {
    matches!(
        ty,
        "string"
            | "int"
            | "long"
            | "short"
            | "byte"
            | "boolean"
            | "float"
            | "double"
            | "dateTime"
            | "base64Binary"
            | "anyURI"
    )
}

/// Parses primitive text by its XML Schema type; unparseable text stays text.
pub fn primitive(ty: &str, text: &str) -> Value {
    let parsed = match ty {
        "boolean" => match text {
            "true" | "1" => Some(Value::Bool(true)),
            "false" | "0" => Some(Value::Bool(false)),
            _ => None,
        },
        "byte" => text.parse().ok().map(Value::Byte),
        "short" => text.parse().ok().map(Value::Short),
        "int" => text.parse().ok().map(Value::Int),
        "long" => text.parse().ok().map(Value::Long),
        "float" => text.parse().ok().map(Value::Float),
        "double" => text.parse().ok().map(Value::Double),
        "dateTime" => parse_datetime(text).map(Value::DateTime),
        "base64Binary" => Some(Value::Base64(text.to_owned())),
        _ => Some(Value::Str(text.to_owned())),
    };
    parsed.unwrap_or_else(|| Value::Text(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vmodl::xml::parse_document;

    #[test]
    fn converts_typed_and_untyped_content() {
        let doc = r#"<spec xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">
          <numCPUs>2</numCPUs>
          <extraConfig><key>a</key><value xsi:type="xsd:string">b</value></extraConfig>
          <extraConfig><key>n</key><value xsi:type="xsd:int">7</value></extraConfig>
          <pool type="ResourcePool">resgroup-9</pool>
          <dev xsi:type="VirtualDisk"><key>-1</key><backing xsi:type="VirtualDiskFlatVer2BackingInfo"><fileName></fileName></backing></dev>
          <list xsi:type="ArrayOfString"><string>x</string><string>y</string></list>
        </spec>"#;
        let el = parse_document(doc).unwrap();
        let v = value(&el);
        let d = v.as_data().unwrap();
        assert_eq!(d.get("numCPUs").and_then(Value::as_i64), Some(2));
        let ecs: Vec<_> = d
            .fields
            .iter()
            .filter(|(n, _)| n == "extraConfig")
            .collect();
        assert_eq!(ecs.len(), 2);
        assert_eq!(ecs[1].1.field("value"), Some(&Value::any(Value::Int(7))));
        assert_eq!(
            d.get("pool")
                .and_then(Value::as_moref)
                .map(|m| m.value.as_str()),
            Some("resgroup-9")
        );
        assert_eq!(d.get("dev").unwrap().xsi_type(), "VirtualDisk");
        assert_eq!(d.get("list").unwrap().items().len(), 2);
        assert_eq!(d.get("list").unwrap().xsi_type(), "ArrayOfString");
    }
}
