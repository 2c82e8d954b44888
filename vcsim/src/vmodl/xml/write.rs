//! Writing vmodl values as SOAP XML, with `xsi:type` wherever a reader needs it.
//!
//! Rules (research/vcsim.md §5.4): an `anyType` position always carries `xsi:type`, with the
//! literal `xsd:` prefix for primitives (govmomi matches those strings exactly); data objects
//! always name their type, which is how subclasses in typed positions (a `VirtualDisk` in a
//! `VirtualDevice[]`) are told apart; arrays at an `anyType` position are `ArrayOfX` wrappers
//! whose items are named after the item type; elsewhere an array is the element repeated.

use crate::vmodl::{Value, format_datetime};

/// What the writer puts in place of a character XML 1.0 cannot carry (a C0 control other
/// than tab, newline and carriage return, U+FFFE, U+FFFF): not even a character reference
/// may stand for one, and a single one makes the whole response unreadable to a strict
/// parser (pyvmomi's expat), so the writer can never emit one, whatever a value holds.
pub const REPLACEMENT: char = '\u{FFFD}';

fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
}

/// Appends `text` with XML escaping for element content.
pub fn escape_text(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            c if !is_xml_char(c) => out.push(REPLACEMENT),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

/// Appends `text` with XML escaping for an attribute value in double quotes.
pub fn escape_attr(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            c if !is_xml_char(c) => out.push(REPLACEMENT),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
}

/// Writes `value` as element `tag`. `typed` marks an `anyType` position.
pub fn write_value(out: &mut String, tag: &str, value: &Value, typed: bool) {
    match value {
        Value::Any(inner) => write_value(out, tag, inner, true),
        Value::Array(arr) if typed => {
            open(out, tag, Some(&value.xsi_type()), None);
            let item_tag = arr.item.strip_prefix("xsd:").unwrap_or(&arr.item);
            for item in &arr.items {
                // Items of primitive arrays are typed by the wrapper; data items still name
                // their own (possibly derived) type.
                write_value(out, item_tag, item, false);
            }
            close(out, tag);
        }
        Value::Array(arr) => {
            for item in &arr.items {
                write_value(out, tag, item, false);
            }
        }
        Value::Data(d) => {
            open(out, tag, d.ty.as_deref(), None);
            for (name, field) in &d.fields {
                write_value(out, name, field, false);
            }
            close(out, tag);
        }
        Value::MoRef(m) => {
            let xsi = typed.then_some("ManagedObjectReference");
            open(out, tag, xsi, Some(&m.ty));
            escape_text(out, &m.value);
            close(out, tag);
        }
        other => {
            let ty = other.xsi_type();
            open(out, tag, typed.then_some(ty.as_ref()), None);
            write_primitive(out, other);
            close(out, tag);
        }
    }
}

fn write_primitive(out: &mut String, v: &Value) {
    use std::fmt::Write as _;
    match v {
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Byte(x) => {
            let _ = write!(out, "{x}");
        }
        Value::Short(x) => {
            let _ = write!(out, "{x}");
        }
        Value::Int(x) => {
            let _ = write!(out, "{x}");
        }
        Value::Long(x) => {
            let _ = write!(out, "{x}");
        }
        Value::Float(x) => {
            let _ = write!(out, "{x}");
        }
        Value::Double(x) => {
            let _ = write!(out, "{x}");
        }
        Value::Str(s) | Value::Text(s) | Value::Base64(s) => escape_text(out, s),
        Value::DateTime(ms) => out.push_str(&format_datetime(*ms)),
        Value::Enum(_, e) => escape_text(out, e),
        // Composite values are handled by `write_value`.
        Value::MoRef(_) | Value::Data(_) | Value::Array(_) | Value::Any(_) => {}
    }
}

fn open(out: &mut String, tag: &str, xsi_type: Option<&str>, moref_type: Option<&str>) {
    out.push('<');
    out.push_str(tag);
    if let Some(t) = moref_type {
        out.push_str(" type=\"");
        escape_attr(out, t);
        out.push('"');
    }
    if let Some(t) = xsi_type {
        out.push_str(" xsi:type=\"");
        escape_attr(out, t);
        out.push('"');
    }
    out.push('>');
}

fn close(out: &mut String, tag: &str) {
    out.push_str("</");
    out.push_str(tag);
    out.push('>');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vmodl::{DataObject, MoRef};

    fn render(tag: &str, v: &Value, typed: bool) -> String {
        let mut s = String::new();
        write_value(&mut s, tag, v, typed);
        s
    }

    #[test]
    fn primitives_carry_xsd_prefix_only_when_typed() {
        assert_eq!(
            render("val", &Value::Int(3), true),
            r#"<val xsi:type="xsd:int">3</val>"#
        );
        assert_eq!(
            render("numCPU", &Value::Int(3), false),
            "<numCPU>3</numCPU>"
        );
        assert_eq!(
            render("val", &Value::str("a<b&c"), true),
            r#"<val xsi:type="xsd:string">a&lt;b&amp;c</val>"#
        );
    }

    #[test]
    fn characters_xml_cannot_carry_never_reach_the_wire() {
        let v = Value::str("a\u{1}b\u{0}c\u{FFFF}\td");
        assert_eq!(
            render("val", &v, false),
            "<val>a\u{FFFD}b\u{FFFD}c\u{FFFD}\td</val>"
        );
        let m = MoRef::new("Folder", "x\u{8}");
        assert_eq!(
            render("obj", &Value::moref(&m), false),
            "<obj type=\"Folder\">x\u{FFFD}</obj>"
        );
        // What was written parses back.
        let doc = format!("<r>{}</r>", render("val", &v, false));
        assert!(crate::vmodl::xml::parse_document(&doc).is_ok());
    }

    #[test]
    fn morefs_and_arrays() {
        let m = MoRef::new("Folder", "group-d1");
        assert_eq!(
            render("val", &Value::moref(&m), true),
            r#"<val type="Folder" xsi:type="ManagedObjectReference">group-d1</val>"#
        );
        let arr = Value::morefs([&m]);
        assert_eq!(
            render("val", &arr, true),
            r#"<val xsi:type="ArrayOfManagedObjectReference"><ManagedObjectReference type="Folder">group-d1</ManagedObjectReference></val>"#
        );
        assert_eq!(
            render("childEntity", &arr, false),
            r#"<childEntity type="Folder">group-d1</childEntity>"#
        );
        assert_eq!(
            render("val", &Value::strings(["a"]), true),
            r#"<val xsi:type="ArrayOfString"><string>a</string></val>"#
        );
    }

    #[test]
    fn data_objects_name_their_type_and_any_fields() {
        let ov = DataObject::new("OptionValue")
            .with("key", "k".into())
            .with("value", Value::any(Value::Long(5)))
            .into_value();
        assert_eq!(
            render("extraConfig", &ov, false),
            r#"<extraConfig xsi:type="OptionValue"><key>k</key><value xsi:type="xsd:long">5</value></extraConfig>"#
        );
    }
}
