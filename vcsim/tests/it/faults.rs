//! Faults as vSphere sends them, and bad input.

use crate::support::{Sim, envelope, first};

#[tokio::test]
async fn unauthenticated_calls_are_refused() {
    let sim = Sim::new();
    let r = sim
        .call(r#"<RetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><specSet><propSet><type>Folder</type><pathSet>name</pathSet></propSet><objectSet><obj type="Folder">group-d1</obj></objectSet></specSet><options/></RetrievePropertiesEx>"#)
        .await;
    assert_eq!(r.status.as_u16(), 500);
    assert!(
        r.body
            .contains(r#"<NotAuthenticatedFault xmlns="urn:vim25" xsi:type="NotAuthenticated">"#),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn unknown_method_is_method_not_found() {
    let sim = Sim::logged_in().await;
    let r = sim.call(r#"<FlyToTheMoon xmlns="urn:vim25"><_this type="Folder">group-d1</_this></FlyToTheMoon>"#).await;
    assert_eq!(r.status.as_u16(), 500);
    assert!(
        r.body.contains(r#"xsi:type="MethodNotFound""#),
        "{}",
        r.body
    );
    assert_eq!(first(&r.body, "method"), Some("FlyToTheMoon"));
}

#[tokio::test]
async fn malformed_bodies_get_soap_faults() {
    let sim = Sim::new();
    for body in ["<notxml", "", "<a/>", &envelope(""), &envelope("<Login/>")] {
        let r = sim.request("POST", "/sdk", body.to_owned()).await;
        assert_eq!(r.status.as_u16(), 500, "{body}");
        assert!(r.body.contains("<soapenv:Fault>"), "{body}: {}", r.body);
    }
}

#[tokio::test]
async fn oversized_bodies_get_413_and_get_is_405() {
    let sim = Sim::new();
    let big = "x".repeat(vcsim::server::MAX_SOAP_BODY_BYTES + 1);
    assert_eq!(sim.request("POST", "/sdk", big).await.status.as_u16(), 413);
    assert_eq!(
        sim.request("GET", "/sdk", String::new())
            .await
            .status
            .as_u16(),
        405
    );
}

#[tokio::test]
async fn missing_objects_are_managed_object_not_found() {
    let sim = Sim::logged_in().await;
    let r = sim.call(r#"<PowerOnVM_Task xmlns="urn:vim25"><_this type="VirtualMachine">vm-999999</_this></PowerOnVM_Task>"#).await;
    assert!(
        r.body.contains(r#"xsi:type="ManagedObjectNotFound""#),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains(r#"<obj type="VirtualMachine">vm-999999</obj>"#),
        "{}",
        r.body
    );
}

mod parser_never_panics {
    use proptest::prelude::*;

    const VALID: &str = r#"<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><RetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><specSet><propSet><type>VirtualMachine</type><pathSet>config.extraConfig["a"]</pathSet></propSet><objectSet><obj type="Folder">group-d1</obj><selectSet xsi:type="TraversalSpec"><name>f</name><type>Folder</type><path>childEntity</path><selectSet><name>f</name></selectSet></selectSet></objectSet></specSet></RetrievePropertiesEx></soapenv:Body></soapenv:Envelope>"#;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_text(s in "\\PC*") {
            let _ = vcsim::soap::read_call(&s);
        }

        #[test]
        fn mutated_envelopes(cut in 0usize..VALID.len(), insert in "[<>&/\"'a-z:=\\[\\]]{0,8}") {
            let mut s = VALID.to_owned();
            if s.is_char_boundary(cut) {
                s.insert_str(cut, &insert);
            }
            if let Ok(call) = vcsim::soap::read_call(&s) {
                // Whatever parses must dispatch to a result or a fault, never a panic.
                let mut emu = vcsim::Emulator::new(vcsim::Config::default()).unwrap();
                let mut ctx = vcsim::methods::CallContext::default();
                let _ = vcsim::methods::dispatch(&mut emu, &mut ctx, &call);
            }
        }
    }
}

#[tokio::test]
async fn unknown_request_types_are_refused() {
    let sim = Sim::logged_in().await;
    let r = sim
        .call(r#"<ReconfigVM_Task xmlns="urn:vim25"><_this type="VirtualMachine">vm-18</_this><spec><deviceChange><operation>add</operation><device xsi:type="VirtualVmxnet3"><key>-1</key><slotInfo xsi:type="VirtualDevicePCIBusSlotInfo"><pciSlotNumber>192</pciSlotNumber></slotInfo></device></deviceChange></spec></ReconfigVM_Task>"#)
        .await;
    assert_eq!(r.status.as_u16(), 500, "{}", r.body);
    assert!(
        r.body
            .contains("Unable to resolve WSDL type name VirtualDevicePCIBusSlotInfo"),
        "{}",
        r.body
    );
    let ok = sim
        .call(r#"<ReconfigVM_Task xmlns="urn:vim25"><_this type="VirtualMachine">vm-18</_this><spec><extraConfig><key>k</key><value xsi:type="xsd:string">v</value></extraConfig><deviceChange><operation>add</operation><device xsi:type="VirtualVmxnet3"><key>-1</key><slotInfo xsi:type="VirtualDevicePciBusSlotInfo"><pciSlotNumber>192</pciSlotNumber></slotInfo></device></deviceChange></spec></ReconfigVM_Task>"#)
        .await;
    assert_eq!(ok.status.as_u16(), 200, "{}", ok.body);
}
