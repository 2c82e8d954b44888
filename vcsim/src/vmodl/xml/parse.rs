//! Namespace-aware parsing of a SOAP request into an [`Element`] tree.
//!
//! Clients differ: pyvmomi prefixes the envelope with `soapenv:` and puts the body in the
//! default `urn:vim25` namespace with a `versionId` on every parameter; govmomi uses other
//! prefixes. We resolve namespaces, keep local names, read `xsi:type` by its namespace (so
//! any prefix works) and strip the prefix of its value.

use quick_xml::NsReader;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;

/// The XML Schema instance namespace, where `xsi:type` lives.
pub const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";
/// The XML Schema namespace, where the primitive types (`xsd:int`) live.
pub const XSD_NS: &str = "http://www.w3.org/2001/XMLSchema";
/// The SOAP 1.1 envelope namespace.
pub const SOAPENV_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";

/// Nesting deeper than this is refused: no vim25 request comes close, and the bound keeps a
/// hostile body from costing unbounded stack or memory.
pub const MAX_DEPTH: usize = 64;

/// One XML element with its local name, its resolved `xsi:type`, other attributes and
/// children. Text is kept only for leaf elements.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Element {
    /// Local name (`RetrievePropertiesEx`, `_this`, `propSet`).
    pub name: String,
    /// The namespace URI of the element, when it has one.
    pub ns: Option<String>,
    /// `xsi:type` with its prefix removed (`VirtualDisk`, `string`).
    pub xsi_type: Option<String>,
    /// Whether the `xsi:type` value named an XML Schema primitive (`xsd:int`).
    pub xsi_primitive: bool,
    /// Other attributes by local name (`type` of a MoRef, `versionId`).
    pub attrs: Vec<(String, String)>,
    /// Child elements in document order.
    pub children: Vec<Element>,
    /// Concatenated, unescaped text content.
    pub text: String,
}

/// Why a body could not be read as XML.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// The XML itself is malformed.
    #[error("malformed XML: {0}")]
    Xml(String),
    /// Nesting beyond [`MAX_DEPTH`].
    #[error("XML nesting deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// No root element.
    #[error("empty document")]
    Empty,
}

impl Element {
    /// The value of attribute `name` (local name).
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// All children named `name`.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// Trimmed text of the first child named `name`.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.trim())
    }

    /// Texts of all children named `name`.
    pub fn child_texts<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.children_named(name).map(|c| c.text.trim())
    }
}

/// Parses a whole document and returns its root element.
pub fn parse_document(body: &str) -> Result<Element, ParseError> {
    let mut reader = NsReader::from_str(body);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let (resolved, event) = reader
            .read_resolved_event()
            .map_err(|e| ParseError::Xml(e.to_string()))?;
        let ns = match resolved {
            ResolveResult::Bound(ns) => Some(ns.as_ref().to_owned()),
            _ => None,
        };
        match event {
            Event::Start(start) | Event::Empty(start) if root.is_some() => {
                let _ = start;
                return Err(ParseError::Xml("content after the root element".into()));
            }
            Event::Start(ref start) | Event::Empty(ref start) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(ParseError::TooDeep);
                }
                let mut el = Element {
                    name: start.local_name().as_ref().to_owned(),
                    ns,
                    ..Element::default()
                };
                for attr in start.attributes() {
                    let attr = attr.map_err(|e| ParseError::Xml(e.to_string()))?;
                    let (attr_ns, local) = reader.resolver().resolve_attribute(attr.key);
                    let key = attr.key.as_ref();
                    if key == "xmlns" || key.starts_with("xmlns:") {
                        continue;
                    }
                    let value = attr
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(|e| ParseError::Xml(e.to_string()))?
                        .into_owned();
                    let is_xsi =
                        matches!(&attr_ns, ResolveResult::Bound(n) if n.as_ref() == XSI_NS);
                    if is_xsi && local.as_ref() == "type" {
                        let (prefix, bare) = match value.split_once(':') {
                            Some((p, b)) => (Some(p), b),
                            None => (None, value.as_str()),
                        };
                        el.xsi_primitive = prefix.is_some_and(|p| {
                            let probe = format!("{p}:x");
                            let (ns, _) = reader
                                .resolver()
                                .resolve_element(quick_xml::name::QName(&probe));
                            matches!(ns, ResolveResult::Bound(n) if n.as_ref() == XSD_NS)
                        });
                        el.xsi_type = Some(bare.to_owned());
                    } else if !is_xsi {
                        el.attrs.push((local.as_ref().to_owned(), value));
                    }
                }
                if matches!(event, Event::Empty(_)) {
                    attach(&mut stack, &mut root, el);
                } else {
                    stack.push(el);
                }
            }
            Event::End(_) => {
                let el = stack
                    .pop()
                    .ok_or_else(|| ParseError::Xml("unbalanced end tag".into()))?;
                attach(&mut stack, &mut root, el);
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::CData(c) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&c.into_inner());
                }
            }
            Event::GeneralRef(r) => {
                let ch = match r.resolve_char_ref() {
                    Ok(Some(ch)) => Some(ch),
                    Ok(None) => match r.xml10_content().as_ref() {
                        "amp" => Some('&'),
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "quot" => Some('"'),
                        "apos" => Some('\''),
                        other => {
                            return Err(ParseError::Xml(format!("unknown entity &{other};")));
                        }
                    },
                    Err(e) => return Err(ParseError::Xml(e.to_string())),
                };
                if let (Some(top), Some(ch)) = (stack.last_mut(), ch) {
                    top.text.push(ch);
                }
            }
            Event::Eof => break,
            // Declarations, comments, processing instructions and DTDs carry nothing for us.
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(ParseError::Xml("unexpected end of document".into()));
    }
    root.ok_or(ParseError::Empty)
}

fn attach(stack: &mut [Element], root: &mut Option<Element>, el: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(el),
        None => *root = Some(el),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_prefixes_and_xsi_type() {
        let doc = r#"<?xml version="1.0"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">
<soapenv:Body><Fetch xmlns="urn:vim25"><_this versionId="6.5" type="VirtualMachine">vm-1</_this>
<prop>a &amp; b&#x41;</prop><v xsi:type="xsd:int">3</v><d xmlns:q="http://www.w3.org/2001/XMLSchema-instance" q:type="VirtualDisk"/></Fetch></soapenv:Body></soapenv:Envelope>"#;
        let root = parse_document(doc).unwrap();
        assert_eq!(root.name, "Envelope");
        assert_eq!(root.ns.as_deref(), Some(SOAPENV_NS));
        let fetch = &root.child("Body").unwrap().children[0];
        assert_eq!(fetch.ns.as_deref(), Some("urn:vim25"));
        let this = fetch.child("_this").unwrap();
        assert_eq!(this.attr("type"), Some("VirtualMachine"));
        assert_eq!(this.text, "vm-1");
        assert_eq!(fetch.child_text("prop"), Some("a & bA"));
        let v = fetch.child("v").unwrap();
        assert_eq!(v.xsi_type.as_deref(), Some("int"));
        assert!(v.xsi_primitive);
        let d = fetch.child("d").unwrap();
        assert_eq!(d.xsi_type.as_deref(), Some("VirtualDisk"));
        assert!(!d.xsi_primitive);
    }

    #[test]
    fn rejects_malformed_and_deep_documents() {
        assert!(parse_document("<a><b></a>").is_err());
        assert!(parse_document("").is_err());
        assert!(parse_document("<a/><b/>").is_err());
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert!(matches!(parse_document(&deep), Err(ParseError::TooDeep)));
        assert!(parse_document("<a>&bogus;</a>").is_err());
    }
}
