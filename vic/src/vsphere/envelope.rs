//! SOAP 1.1 envelopes on the client side: writing a vim25 call, reading its answer or fault.
//!
//! Requests look like pyvmomi's (research/vcsim.md §5.2): a `soapenv:` envelope declaring
//! `xsi`/`xsd`, the method element in the default `urn:vim25` namespace, `_this` first, then
//! the parameters in the order given, written by [`write_value`] (data objects name their
//! type, `anyType` positions carry `xsi:type` with the `xsd:` prefix for primitives).
//!
//! Answers are read namespace-aware: the body's first element is either `<soapenv:Fault>`
//! (type from the detail's `xsi:type`, else its element name minus `Fault`, as pyvmomi and
//! govmomi do) or `<XResponse>` holding zero, one or several `<returnval>`.

use super::decode::typed;
use super::{Error, Fault};
use vcsim::vmodl::xml::{
    Element, SOAPENV_NS, escape_attr, escape_text, parse_document, write_value,
};
use vcsim::vmodl::{MoRef, Value};

const HEAD: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8"?>"#,
    r#"<soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">"#,
    "<soapenv:Body>"
);
const TAIL: &str = "</soapenv:Body></soapenv:Envelope>";

/// True for a name usable as an XML element name here (WSDL method and parameter names).
fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The request envelope for `method` on `this` with `args` in order.
pub fn request(method: &str, this: &MoRef, args: &[(&str, Value)]) -> Result<String, Error> {
    if !is_name(method) {
        return Err(Error::Config(format!("{method:?} is not a method name")));
    }
    let mut out = String::with_capacity(512);
    out.push_str(HEAD);
    out.push('<');
    out.push_str(method);
    out.push_str(r#" xmlns="urn:vim25"><_this type=""#);
    escape_attr(&mut out, &this.ty);
    out.push_str("\">");
    escape_text(&mut out, &this.value);
    out.push_str("</_this>");
    for (name, v) in args {
        if !is_name(name) {
            return Err(Error::Config(format!("{name:?} is not a parameter name")));
        }
        write_value(&mut out, name, v, false);
    }
    out.push_str("</");
    out.push_str(method);
    out.push('>');
    out.push_str(TAIL);
    Ok(out)
}

/// What a well-formed SOAP answer held.
#[derive(Debug)]
pub enum Answer {
    /// The `returnval` elements, decoded.
    Returns(Vec<Value>),
    /// A SOAP fault.
    Fault(Fault),
}

/// Reads an answer. `returns` is the WSDL type of `returnval` when known (its items' type
/// for array results), which lets untyped data objects decode by the schema.
pub fn read_answer(body: &str, returns: Option<&str>) -> Result<Answer, Error> {
    let root = parse_document(body).map_err(|e| Error::Protocol(e.to_string()))?;
    if root.name != "Envelope" || root.ns.as_deref() != Some(SOAPENV_NS) {
        return Err(Error::Protocol(
            "the answer is not a SOAP 1.1 envelope".into(),
        ));
    }
    let body = root
        .children
        .iter()
        .find(|c| c.name == "Body" && c.ns.as_deref() == Some(SOAPENV_NS))
        .ok_or_else(|| Error::Protocol("the SOAP envelope has no Body".into()))?;
    let first = body
        .children
        .first()
        .ok_or_else(|| Error::Protocol("the SOAP Body is empty".into()))?;
    if first.name == "Fault" && first.ns.as_deref() == Some(SOAPENV_NS) {
        return Ok(Answer::Fault(soap_fault(first)));
    }
    if !first.name.ends_with("Response") {
        return Err(Error::Protocol(format!(
            "expected a response element, got <{}>",
            first.name
        )));
    }
    Ok(Answer::Returns(
        first
            .children_named("returnval")
            .map(|r| typed(r, returns))
            .collect(),
    ))
}

fn soap_fault(el: &Element) -> Fault {
    let code = el.child_text("faultcode").unwrap_or("").to_owned();
    let msg = el.child_text("faultstring").unwrap_or("").to_owned();
    let detail = el.child("detail").and_then(|d| d.children.first());
    let Some(detail) = detail else {
        return Fault {
            code: Some(code),
            ty: "RuntimeFault".into(),
            msg,
            fields: Vec::new(),
        };
    };
    let ty = detail.xsi_type.clone().unwrap_or_else(|| {
        detail
            .name
            .strip_suffix("Fault")
            .filter(|t| !t.is_empty())
            .unwrap_or(&detail.name)
            .to_owned()
    });
    Fault {
        code: Some(code),
        fields: fields_of(&typed(detail, Some(&ty))),
        ty,
        msg,
    }
}

fn fields_of(v: &Value) -> Vec<(String, Value)> {
    v.as_data()
        .map(|d| {
            d.fields
                .iter()
                .map(|(n, v)| (n.to_string(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// A task error (`LocalizedMethodFault { fault, localizedMessage }`) as a [`Fault`].
pub fn localized_fault(v: &Value) -> Fault {
    let fault = v.field("fault");
    let ty = fault
        .and_then(Value::as_data)
        .and_then(|d| d.ty.as_deref())
        .unwrap_or("RuntimeFault")
        .to_owned();
    Fault {
        code: None,
        ty,
        msg: v
            .field("localizedMessage")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        fields: fault.map(fields_of).unwrap_or_default(),
    }
}

/// The WSDL type of `returnval` for the methods whose result is a data object or primitive
/// (results that are references decode without help).
pub fn return_type(method: &str) -> Option<&'static str> {
    Some(match method {
        "RetrieveServiceContent" => "ServiceContent",
        "Login" | "LoginByToken" | "LoginExtensionByCertificate" | "CloneSession" => "UserSession",
        "RetrieveProperties" => "ObjectContent",
        "RetrievePropertiesEx" | "ContinueRetrievePropertiesEx" => "RetrieveResult",
        "WaitForUpdates" | "WaitForUpdatesEx" | "CheckForUpdates" => "UpdateSet",
        "CurrentTime" => "dateTime",
        "SessionIsActive" => "boolean",
        "QueryOptions" => "OptionValue",
        "QueryEvents" | "ReadNextEvents" | "ReadPreviousEvents" => "Event",
        "QueryPerfCounter" | "QueryPerfCounterByLevel" => "PerfCounterInfo",
        "QueryAvailablePerfMetric" => "PerfMetricId",
        "QueryPerfProviderSummary" => "PerfProviderSummary",
        "QueryPerf" => "PerfEntityMetricBase",
        "HasPrivilegeOnEntities" => "EntityPrivilege",
        "ListProcessesInGuest" => "GuestProcessInfo",
        "StartProgramInGuest" => "long",
        "Fetch" => "anyType",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use vcsim::vmodl::DataObject;

    #[test]
    fn writes_a_call_with_typed_parameters() {
        let spec = DataObject::new("VirtualMachineConfigSpec")
            .with("name", "a<b".into())
            .with(
                "extraConfig",
                Value::array(
                    "OptionValue",
                    vec![
                        DataObject::new("OptionValue")
                            .with("key", "k".into())
                            .with("value", Value::any(Value::Int(3)))
                            .into(),
                    ],
                ),
            )
            .into_value();
        let this = MoRef::new("Folder", "group-v3");
        let xml = request("CreateVM_Task", &this, &[("config", spec)]).unwrap();
        assert!(xml.contains(r#"<CreateVM_Task xmlns="urn:vim25"><_this type="Folder">group-v3</_this><config xsi:type="VirtualMachineConfigSpec"><name>a&lt;b</name>"#), "{xml}");
        assert!(xml.contains(r#"<extraConfig xsi:type="OptionValue"><key>k</key><value xsi:type="xsd:int">3</value></extraConfig>"#), "{xml}");
        // The envelope is what the emulator's parser reads.
        let root = parse_document(&xml).unwrap();
        assert_eq!(root.name, "Envelope");
        assert!(request("Bad Method", &this, &[]).is_err());
        assert!(request("M", &this, &[("a b", Value::Int(1))]).is_err());
    }

    #[test]
    fn reads_faults_like_pyvmomi_and_govmomi() {
        let body = r#"<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>The object has already been deleted</faultstring><detail><ManagedObjectNotFoundFault xmlns="urn:vim25"><obj type="VirtualMachine">vm-9</obj></ManagedObjectNotFoundFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"#;
        let Answer::Fault(f) = read_answer(body, None).unwrap() else {
            panic!("fault expected")
        };
        assert_eq!(f.ty, "ManagedObjectNotFound");
        assert_eq!(
            f.field("obj"),
            Some(&Value::MoRef(MoRef::new("VirtualMachine", "vm-9")))
        );
        assert_eq!(
            f.to_string(),
            "ServerFaultCode: The object has already been deleted"
        );
    }

    #[test]
    fn reads_one_or_several_returnvals_and_rejects_non_soap() {
        let body = r#"<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><FindAllByUuidResponse xmlns="urn:vim25"><returnval type="VirtualMachine">vm-1</returnval><returnval type="VirtualMachine">vm-2</returnval></FindAllByUuidResponse></e:Body></e:Envelope>"#;
        let Answer::Returns(v) = read_answer(body, None).unwrap() else {
            panic!("returns expected")
        };
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].as_moref().map(|m| m.value.as_str()), Some("vm-2"));
        assert!(read_answer("<html>oops</html>", None).is_err());
        assert!(read_answer("not xml <", None).is_err());
    }
}
