//! The container registries the testbed runs, by the host name image references use
//! (`registry.corp.local`): the engines (the VCH endpoint and the DCH's dockerd) resolve a
//! reference's registry here, with no DNS, to the loopback address it really listens on.
//!
//! Core type: [`RegistryHosts`], shared (`Arc`) by the tether (for DCHs) and the
//! appliance (for VCH endpoints) through [`crate::guestnet::Services::registries`]; `vicbed
//! serve --registry` and `vicbed run` fill it when they start a registry.
//!
//! Trust is not decided here: a VCH trusts a registry's CA only when `vic-machine create
//! --registry-ca` gave it (VIC's semantics); a DCH trusts the CAs of the testbed's
//! registries, as the seed post's environment had Harbor's CA installed in the DCH.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::RwLock;

/// Most registries one testbed names (each is a host name and an address).
pub const MAX_REGISTRIES: usize = 64;

/// One registry the testbed runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryHost {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its CA certificate (PEM) when it serves TLS; `None` for plain HTTP.
    pub ca_pem: Option<String>,
}

impl From<&registry::RegistryHandle> for RegistryHost {
    /// A registry running in this process: its address and, over TLS, its CA.
    fn from(h: &registry::RegistryHandle) -> RegistryHost {
        RegistryHost {
            addr: h.addr(),
            ca_pem: h.ca_pem().map(str::to_owned),
        }
    }
}

/// Registries by host name (`registry.corp.local`, or `name:port` when a reference names
/// a port).
#[derive(Debug, Default)]
pub struct RegistryHosts {
    by_name: RwLock<BTreeMap<String, RegistryHost>>,
}

impl RegistryHosts {
    /// Names `host` as `name` (lower-cased); `false` when [`MAX_REGISTRIES`] other names are
    /// taken.
    pub fn insert(&self, name: &str, host: RegistryHost) -> bool {
        let mut map = self.by_name.write().unwrap_or_else(|p| p.into_inner());
        let name = name.to_ascii_lowercase();
        if !map.contains_key(&name) && map.len() >= MAX_REGISTRIES {
            return false;
        }
        map.insert(name, host);
        true
    }

    /// Forgets `name`.
    pub fn remove(&self, name: &str) {
        self.by_name
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&name.to_ascii_lowercase());
    }

    /// The registry a reference's registry part names: exactly, or by its host without
    /// the port.
    pub fn get(&self, name: &str) -> Option<RegistryHost> {
        let map = self.by_name.read().unwrap_or_else(|p| p.into_inner());
        let name = name.to_ascii_lowercase();
        map.get(&name).cloned().or_else(|| {
            let host = name.rsplit_once(':').map_or(name.as_str(), |(h, _)| h);
            map.get(host).cloned()
        })
    }

    /// Every CA (PEM) of the registries that serve TLS.
    pub fn ca_pems(&self) -> Vec<String> {
        self.by_name
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter_map(|h| h.ca_pem.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_case_blind_and_without_the_port() {
        let hosts = RegistryHosts::default();
        let h = RegistryHost {
            addr: "127.0.0.1:5000".parse().expect("addr"),
            ca_pem: Some("pem".to_owned()),
        };
        assert!(hosts.insert("Registry.Corp.Local", h.clone()));
        assert_eq!(hosts.get("registry.corp.local"), Some(h.clone()));
        assert_eq!(hosts.get("registry.corp.local:443"), Some(h));
        assert_eq!(hosts.get("other.local"), None);
        assert_eq!(hosts.ca_pems(), ["pem"]);
        hosts.remove("registry.corp.local");
        assert_eq!(hosts.get("registry.corp.local"), None);
    }
}
