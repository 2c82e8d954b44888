//! guestinfo/ExtraConfig encoding (vic.md §6.4): the examples verbatim, the key tables, and
//! round trips.

use std::net::IpAddr;

use proptest::prelude::*;
use vic::guestinfo::{
    self, CLIENT_ASSIGNED_IP, Keys, MoRef, STARTED_OK, container, container_started_key, decode_ip,
    encode_ip, entry, ro_key, rw_key, session_started_key, vch,
};

/// Asserts each (computed, expected) pair of a key table.
fn check_table(table: &[(String, &str)]) {
    for (got, want) in table {
        assert_eq!(got, want);
    }
}

#[test]
fn examples_from_the_notes() {
    check_table(&[
        (
            encode_ip("10.10.10.1".parse().unwrap()),
            "AAAAAAAAAAAAAP//CgoKAQ==",
        ),
        (ro_key("init/common/id"), "guestinfo.vice./init/common/id"),
        (
            rw_key("init.sessions|docker-personality.started"),
            "guestinfo.vice..init.sessions|docker-personality.started",
        ),
        (
            CLIENT_ASSIGNED_IP.to_owned(),
            "guestinfo.vice..init.networks|client.assigned.IP",
        ),
        (
            vch::network_assigned_ip_key(vch::ROLE_CLIENT),
            CLIENT_ASSIGNED_IP,
        ),
        (
            session_started_key("port-layer"),
            "guestinfo.vice..init.sessions|port-layer.started",
        ),
        (
            container_started_key("abc"),
            "guestinfo.vice..sessions|abc.started",
        ),
        (
            MoRef::new("VirtualMachine", "vm-42").to_string(),
            "VirtualMachine:vm-42",
        ),
    ]);
}

#[test]
fn vch_key_table() {
    check_table(&[
        (
            vch::network_key("bridge", "Common/id"),
            "guestinfo.vice./init/networks|bridge/Common/id",
        ),
        (
            vch::session_key("vicadmin", "cmd/Args~"),
            "guestinfo.vice./init/sessions|vicadmin/cmd/Args~",
        ),
        (
            vch::session_status_key("vicadmin"),
            "guestinfo.vice..init.sessions|vicadmin.status",
        ),
        (
            vch::version_key("BuildNumber"),
            "guestinfo.vice./init/version/BuildNumber",
        ),
        (
            vch::image_store_key(0, "Host"),
            "guestinfo.vice./storage/image_stores|0/Host",
        ),
        (
            vch::volume_location_key("default", "Path"),
            "guestinfo.vice./storage/VolumeLocations|default/Path",
        ),
        (
            vch::container_network_key("routable", "TrustLevel"),
            "guestinfo.vice./network/container_networks|routable/TrustLevel",
        ),
        (
            vch::compute_resource_key(0, "Type"),
            "guestinfo.vice./container/ComputeResources|0/Type",
        ),
        (
            vch::CONNECT_TOKEN.to_owned(),
            "guestinfo.vice./connect/token@secret",
        ),
        (
            vch::HOST_CERTIFICATE_KEY.to_owned(),
            "guestinfo.vice./cert/HostCertificate/Key@secret",
        ),
        (
            vch::CONTAINER_NAME_CONVENTION.to_owned(),
            "guestinfo.vice./container/ContainerNameConvention",
        ),
    ]);
}

#[test]
fn container_key_table() {
    check_table(&[
        (
            container::session_key("abc", "cmd/Path"),
            "guestinfo.vice./sessions|abc/cmd/Path",
        ),
        (
            container::session_state_key("abc", "detail.stoptime"),
            "guestinfo.vice..sessions|abc.detail.stoptime",
        ),
        (
            container::endpoint_key("bridge", "network/TrustLevel"),
            "guestinfo.vice./networks|bridge/network/TrustLevel",
        ),
        (
            container::endpoint_assigned_key("bridge", "IP"),
            "guestinfo.vice..networks|bridge.assigned.IP",
        ),
        (
            container::endpoint_network_assigned_key("bridge", "gateway.IP"),
            "guestinfo.vice..networks|bridge.network.assigned.gateway.IP",
        ),
        (
            container::mount_key("/data", "mode"),
            "guestinfo.vice./mounts|/data/mode",
        ),
        (
            container::annotation_key("com.example"),
            "annotations|com.example",
        ),
        (container::NAME.to_owned(), "common/name"),
        (
            container::EXECS.to_owned(),
            "guestinfo.vice./execs@non-persistent",
        ),
    ]);
}

/// A VCH appliance's config as vic-machine would write it, decoded back.
#[test]
fn vch_config_round_trip() {
    let nets = ["public", "client"];
    let keys = Keys::new()
        .ro("init/common/id", MoRef::new("VirtualMachine", "vm-42"))
        .hidden("init/common/name", "vch-1")
        .map_keys(&ro_key("init/networks"), &nets)
        .put(
            vch::network_key("client", "ip/IP"),
            "10.10.10.1".parse::<IpAddr>().unwrap(),
        )
        .put(vch::network_key("client", "static"), true)
        .strings(
            &vch::session_key(vch::DOCKER_PERSONALITY, "cmd/Args"),
            &["-port=2376", "-port-layer-port=2377"],
        )
        .slice_len(&ro_key("storage/image_stores"), 1)
        .put(vch::STORAGE_QUOTA, 0_u64)
        .put(vch::container_network_key("routable", "TrustLevel"), 5_u8)
        .rw(
            "init.networks|client.assigned.IP",
            "10.10.10.1".parse::<IpAddr>().unwrap(),
        )
        .put(session_started_key(vch::PORT_LAYER), STARTED_OK);

    assert_eq!(keys.get(vch::ID), Some("VirtualMachine:vm-42"));
    assert_eq!(
        keys.get_moref(vch::ID).unwrap(),
        Some(MoRef::new("VirtualMachine", "vm-42"))
    );
    assert_eq!(keys.get(vch::NAME), Some("vch-1"));
    assert_eq!(
        keys.get("guestinfo.vice./init/networks"),
        Some("public|client")
    );
    assert_eq!(
        keys.get_map_keys("guestinfo.vice./init/networks"),
        Some(nets.to_vec())
    );
    assert_eq!(
        keys.get(&vch::network_key("client", "ip/IP")),
        Some("AAAAAAAAAAAAAP//CgoKAQ==")
    );
    assert_eq!(
        keys.get_bool(&vch::network_key("client", "static")),
        Ok(Some(true))
    );
    assert_eq!(
        keys.get("guestinfo.vice./init/sessions|docker-personality/cmd/Args~"),
        Some("-port=2376|-port-layer-port=2377")
    );
    assert_eq!(
        keys.get("guestinfo.vice./init/sessions|docker-personality/cmd/Args"),
        Some("1")
    );
    assert_eq!(
        keys.get_strings("guestinfo.vice./init/sessions|docker-personality/cmd/Args~")
            .unwrap(),
        Some(vec!["-port=2376", "-port-layer-port=2377"])
    );
    assert_eq!(keys.get("guestinfo.vice./storage/image_stores"), Some("0"));
    assert_eq!(keys.get_int(vch::STORAGE_QUOTA), Ok(Some(0)));
    assert_eq!(
        keys.get_ip(CLIENT_ASSIGNED_IP).unwrap(),
        Some("10.10.10.1".parse().unwrap())
    );
    assert_eq!(
        keys.get_rw("init.sessions|port-layer.started"),
        Some("true")
    );

    // Through raw pairs and back, as over ExtraConfig.
    let reloaded = Keys::from_pairs(keys.clone().into_pairs());
    assert_eq!(reloaded, keys);
}

#[test]
fn entries_and_slices() {
    assert_eq!(
        entry("guestinfo.vice./network/container_networks", "routable"),
        "guestinfo.vice./network/container_networks|routable"
    );
    let keys = Keys::new().strings(vch::INSECURE_REGISTRIES, &[]);
    assert_eq!(
        keys.get("guestinfo.vice./registry/insecure_registries"),
        Some("-1")
    );
    assert_eq!(
        keys.get_strings(vch::INSECURE_REGISTRIES).unwrap(),
        Some(Vec::new())
    );
    let one_empty = Keys::new().strings(vch::INSECURE_REGISTRIES, &[""]);
    assert_eq!(
        one_empty.get_strings(vch::INSECURE_REGISTRIES).unwrap(),
        Some(vec![""])
    );
    let inconsistent = Keys::from_pairs([
        ("guestinfo.vice./registry/insecure_registries", "2"),
        ("guestinfo.vice./registry/insecure_registries~", "a|b"),
    ]);
    assert!(inconsistent.get_strings(vch::INSECURE_REGISTRIES).is_err());
    assert_eq!(
        Keys::new().get_strings(vch::INSECURE_REGISTRIES).unwrap(),
        None
    );
}

#[test]
fn non_persistent_and_hidden() {
    let keys = Keys::new()
        .non_persistent("execs", "x")
        .hidden("annotations|k", "v");
    assert_eq!(keys.get(container::EXECS), Some("x"));
    assert_eq!(keys.get(&container::annotation_key("k")), Some("v"));
    let info = guestinfo::parse_key(container::EXECS).unwrap();
    assert!(info.non_persistent);
}

proptest! {
    #[test]
    fn ipv4_round_trip(octets in any::<[u8; 4]>()) {
        let ip = IpAddr::from(octets);
        let encoded = encode_ip(ip);
        prop_assert_eq!(guestinfo::decode_bytes(&encoded).unwrap().len(), 16);
        prop_assert_eq!(decode_ip(&encoded).unwrap(), ip);
    }

    #[test]
    fn ipv6_round_trip(octets in any::<[u8; 16]>()) {
        let ip = IpAddr::from(octets);
        // Go's net.IP does not tell ::ffff:a.b.c.d from a.b.c.d, so neither do we.
        prop_assert_eq!(decode_ip(&encode_ip(ip)).unwrap(), ip.to_canonical());
    }

    #[test]
    fn bytes_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        prop_assert_eq!(guestinfo::decode_bytes(&guestinfo::encode_bytes(&bytes)).unwrap(), bytes);
    }

    #[test]
    fn string_slices_round_trip(values in proptest::collection::vec("[a-z0-9=./-]{0,12}", 0..6)) {
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        let keys = Keys::new().strings("guestinfo.vice./x/args", &refs);
        prop_assert_eq!(keys.get_strings("guestinfo.vice./x/args").unwrap(), Some(refs));
    }
}
