//! Per-request bounds checked on the parsed call *before* the emulator's lock is taken, so an
//! oversized request costs only its own parse and never stalls other clients' calls; and the
//! per-VM bounds a request must respect (checked again against the VM under the lock).
//!
//! vCenter refuses such specs with `InvalidArgument` naming the property; so do we, rather
//! than storing part of a spec and reporting success.

use crate::soap::{Call, Element};
use crate::vmodl::{Fault, Value};

/// Most extraConfig entries a VM holds, and a request may carry (vSphere stores them in the
/// `.vmx` file; the bound is our assumption, far above what VIC's guestinfo needs).
pub const EXTRA_CONFIG_MAX: usize = 8192;

/// Most bytes of extraConfig keys and values a VM holds, and a request may carry: 1 MiB,
/// the size ESXi allows a guest's guestinfo by default (`tools.setInfo.sizeLimit`).
pub const EXTRA_CONFIG_MAX_BYTES: usize = 1 << 20;

/// Most `deviceChange` entries in one spec (and devices a VM holds).
pub const DEVICE_CHANGES_MAX: usize = 1024;

/// `InvalidArgument` on `property`, with the bound in the message.
pub fn over_limit(property: &str, what: String) -> Fault {
    Fault::new(
        "InvalidArgument",
        format!("A specified parameter was not correct: {property} ({what})"),
    )
    .with("invalidProperty", Value::str(property))
}

/// Checks every bounded list in a call's arguments, wherever a spec nests it
/// (`spec.extraConfig`, `config.extraConfig`, `spec.config.deviceChange`, …).
pub fn check_request(call: &Call) -> Result<(), Fault> {
    let mut path = Vec::new();
    for arg in call.args.children.iter().filter(|c| c.name != "_this") {
        walk(arg, &mut path)?;
    }
    Ok(())
}

/// Depth is bounded by the parser's `MAX_DEPTH`.
fn walk<'a>(el: &'a Element, path: &mut Vec<&'a str>) -> Result<(), Fault> {
    path.push(&el.name);
    let mut entries = 0usize;
    let mut bytes = 0usize;
    let mut devices = 0usize;
    for c in &el.children {
        match c.name.as_str() {
            "extraConfig" => {
                entries += 1;
                bytes += option_bytes(c);
            }
            "deviceChange" => devices += 1,
            _ => {}
        }
    }
    let at = |field: &str| format!("{}.{field}", path.join("."));
    if entries > EXTRA_CONFIG_MAX {
        return Err(over_limit(
            &at("extraConfig"),
            format!("{entries} entries; at most {EXTRA_CONFIG_MAX} per virtual machine"),
        ));
    }
    if bytes > EXTRA_CONFIG_MAX_BYTES {
        return Err(over_limit(
            &at("extraConfig"),
            format!(
                "{bytes} bytes of keys and values; at most {EXTRA_CONFIG_MAX_BYTES} per virtual machine"
            ),
        ));
    }
    if devices > DEVICE_CHANGES_MAX {
        return Err(over_limit(
            &at("deviceChange"),
            format!("{devices} changes; at most {DEVICE_CHANGES_MAX}"),
        ));
    }
    for c in &el.children {
        // Only elements with children can hold a nested list.
        if !c.children.is_empty() && c.name != "extraConfig" {
            walk(c, path)?;
        }
    }
    path.pop();
    Ok(())
}

/// Bytes an `OptionValue` element stores: its key and its value's text.
fn option_bytes(ov: &Element) -> usize {
    let key = ov.child("key").map_or(0, |k| k.text.len());
    let value = ov.child("value").map_or(0, text_len);
    key + value
}

fn text_len(el: &Element) -> usize {
    el.text.len() + el.children.iter().map(text_len).sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reconfig(entries: usize, value: &str) -> Call {
        let mut ec = String::new();
        for i in 0..entries {
            ec.push_str(&format!(
                "<extraConfig><key>guestinfo.k{i}</key><value xsi:type=\"xsd:string\">{value}</value></extraConfig>"
            ));
        }
        let body = format!(
            r#"<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><ReconfigVM_Task xmlns="urn:vim25"><_this type="VirtualMachine">vm-1</_this><spec>{ec}</spec></ReconfigVM_Task></soapenv:Body></soapenv:Envelope>"#
        );
        crate::soap::read_call(&body).expect("parses")
    }

    #[test]
    fn counts_and_bytes_are_bounded() {
        assert!(check_request(&reconfig(EXTRA_CONFIG_MAX, "v")).is_ok());
        let f = check_request(&reconfig(EXTRA_CONFIG_MAX + 1, "v")).unwrap_err();
        assert_eq!(f.ty, "InvalidArgument");
        assert!(f.msg.contains("spec.extraConfig"), "{}", f.msg);
        let big = "x".repeat(EXTRA_CONFIG_MAX_BYTES / 4);
        let f = check_request(&reconfig(5, &big)).unwrap_err();
        assert!(f.msg.contains("bytes"), "{}", f.msg);
    }
}
