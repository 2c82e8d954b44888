//! SOAP 1.1 envelopes: reading a vim25 call out of a request, writing a response or a fault.

use crate::vmodl::xml::{
    Element, ParseError, SOAPENV_NS, escape_attr, escape_text, parse_document, write_value,
};

use crate::vmodl::{Fault, MoRef, Value};

/// A vim25 call as it arrived: method name, target object and the argument elements.
#[derive(Clone, Debug)]
pub struct Call {
    /// The method's WSDL name (`RetrievePropertiesEx`, `PowerOnVM_Task`).
    pub method: String,
    /// The `_this` object.
    pub this: MoRef,
    /// The method element itself; arguments are its children other than `_this`.
    pub args: Element,
}

/// Why a request could not be turned into a [`Call`]; each becomes a SOAP fault.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    /// Not XML.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// XML, but not a SOAP envelope with one call in its body.
    #[error("{0}")]
    Shape(String),
}

/// Where [`read_call`] keeps the `ID` of a SAML assertion found in the request's
/// `wsse:Security` header (LoginByToken's token): an attribute of the method element under a
/// name no well-formed request carries (the lenient parser could still pass one through as
/// the local part of `p:wsse:Security/Assertion@ID`, so [`read_call`] drops any first).
const SECURITY_TOKEN_ATTR: &str = "wsse:Security/Assertion@ID";

impl Call {
    /// The `ID` of the SAML assertion in the request's `wsse:Security` header, if any.
    pub fn security_token_id(&self) -> Option<&str> {
        self.args
            .attrs
            .iter()
            .find(|(k, _)| k == SECURITY_TOKEN_ATTR)
            .map(|(_, v)| v.as_str())
    }
}

/// The `ID` of the `Assertion` inside the envelope's `Header/Security`, if there is one.
fn security_token_id(root: &Element) -> Option<String> {
    root.children
        .iter()
        .find(|c| c.name == "Header" && c.ns.as_deref() == Some(SOAPENV_NS))?
        .children
        .iter()
        .find(|c| c.name == "Security")?
        .children
        .iter()
        .find(|c| c.name == "Assertion")?
        .attrs
        .iter()
        .find(|(k, _)| k == "ID")
        .map(|(_, v)| v.clone())
}

const HEAD: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8"?>"#,
    "\n",
    r#"<soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">"#,
    "\n<soapenv:Body>"
);
const TAIL: &str = "</soapenv:Body>\n</soapenv:Envelope>";

/// Reads the call out of a request body.
pub fn read_call(body: &str) -> Result<Call, EnvelopeError> {
    let root = parse_document(body)?;
    if root.name != "Envelope" || root.ns.as_deref() != Some(SOAPENV_NS) {
        return Err(EnvelopeError::Shape(
            "the root element is not a SOAP 1.1 Envelope".into(),
        ));
    }
    let token_id = security_token_id(&root);
    let body = root
        .children
        .into_iter()
        .find(|c| c.name == "Body" && c.ns.as_deref() == Some(SOAPENV_NS))
        .ok_or_else(|| EnvelopeError::Shape("the envelope has no Body".into()))?;
    let mut calls = body.children.into_iter();
    let mut args = calls
        .next()
        .ok_or_else(|| EnvelopeError::Shape("the Body holds no method call".into()))?;
    if calls.next().is_some() {
        return Err(EnvelopeError::Shape(
            "the Body holds more than one element".into(),
        ));
    }
    let this = args
        .child("_this")
        .and_then(super::decode::moref)
        .ok_or_else(|| EnvelopeError::Shape(format!("{} has no _this", args.name)))?;
    args.attrs.retain(|(k, _)| k != SECURITY_TOKEN_ATTR);
    if let Some(id) = token_id {
        args.attrs.push((SECURITY_TOKEN_ATTR.to_owned(), id));
    }
    Ok(Call {
        method: args.name.clone(),
        this,
        args,
    })
}

/// The vim25 namespace of results and fault details.
const VIM25_NS: &str = "urn:vim25";

/// A vim25 method's result: nothing (void), one value, or an array written as repeated
/// `<returnval>` elements.
pub fn response(method: &str, result: Option<&Value>) -> String {
    response_in(VIM25_NS, method, result)
}

/// A result envelope of a service in namespace `ns` (vim25, or a side service's: lookup,
/// pbm, vsan): `<{method}Response xmlns="{ns}">` holding `returnval`.
pub fn response_in(ns: &str, method: &str, result: Option<&Value>) -> String {
    let mut out = String::with_capacity(512);
    out.push_str(HEAD);
    out.push('<');
    out.push_str(method);
    out.push_str("Response xmlns=\"");
    escape_attr(&mut out, ns);
    out.push_str("\">");
    if let Some(v) = result {
        write_value(&mut out, "returnval", v, false);
    }
    out.push_str("</");
    out.push_str(method);
    out.push_str("Response>");
    out.push_str(TAIL);
    out
}

/// A vim25 SOAP fault: `faultstring` is the message, `<detail>` holds
/// `<TypeFault xsi:type="Type">` (pyvmomi takes the type from the element name minus
/// `Fault`; govmomi from `xsi:type`).
pub fn fault(f: &Fault) -> String {
    fault_in(VIM25_NS, f)
}

/// A fault envelope whose `<detail>` element is in namespace `ns`.
pub fn fault_in(ns: &str, f: &Fault) -> String {
    let mut out = String::with_capacity(512);
    out.push_str(HEAD);
    out.push_str("<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>");
    escape_text(&mut out, &f.msg);
    out.push_str("</faultstring><detail>");
    let tag = format!("{}Fault", f.ty);
    out.push('<');
    out.push_str(&tag);
    out.push_str(" xmlns=\"");
    escape_attr(&mut out, ns);
    out.push_str("\" xsi:type=\"");
    out.push_str(f.ty);
    out.push_str("\">");
    for (name, v) in &f.fields {
        write_value(&mut out, name, v, false);
    }
    out.push_str("</");
    out.push_str(&tag);
    out.push_str("></detail></soapenv:Fault>");
    out.push_str(TAIL);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_pyvmomi_style_call() {
        let body = r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<soapenv:Body><RetrieveServiceContent xmlns="urn:vim25"><_this type="ServiceInstance">ServiceInstance</_this></RetrieveServiceContent></soapenv:Body></soapenv:Envelope>"#;
        let call = read_call(body).unwrap();
        assert_eq!(call.method, "RetrieveServiceContent");
        assert_eq!(call.this, MoRef::new("ServiceInstance", "ServiceInstance"));
    }

    #[test]
    fn keeps_the_security_header_token_id() {
        let body = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Header><wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><saml2:Assertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" ID="_abc" Version="2.0"></saml2:Assertion></wsse:Security></soapenv:Header><soapenv:Body><LoginByToken xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this></LoginByToken></soapenv:Body></soapenv:Envelope>"#;
        assert_eq!(read_call(body).unwrap().security_token_id(), Some("_abc"));
        let plain = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><LoginByToken xmlns="urn:vim25" ID="_abc"><_this type="SessionManager">SessionManager</_this></LoginByToken></soapenv:Body></soapenv:Envelope>"#;
        assert_eq!(read_call(plain).unwrap().security_token_id(), None);
        // The reserved name smuggled in as an attribute's local part is not a token.
        let smuggled = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><LoginByToken xmlns="urn:vim25" xmlns:p="urn:p" p:wsse:Security/Assertion@ID="_abc"><_this type="SessionManager">SessionManager</_this></LoginByToken></soapenv:Body></soapenv:Envelope>"#;
        let call = read_call(smuggled).expect("the lenient parser takes it");
        assert_eq!(call.security_token_id(), None);
    }

    #[test]
    fn rejects_non_envelopes() {
        assert!(read_call("<a/>").is_err());
        assert!(read_call("not xml <").is_err());
        let no_this = r#"<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><Login/></e:Body></e:Envelope>"#;
        assert!(read_call(no_this).is_err());
    }

    #[test]
    fn fault_detail_is_named_type_fault() {
        let xml = fault(&Fault::invalid_login());
        assert!(xml.contains(
            r#"<InvalidLoginFault xmlns="urn:vim25" xsi:type="InvalidLogin"></InvalidLoginFault>"#
        ));
        assert!(xml.contains("<faultcode>ServerFaultCode</faultcode>"));
    }
}
