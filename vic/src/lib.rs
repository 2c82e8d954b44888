//! `vic`: the vSphere Integrated Containers control path, talking SOAP to a vCenter (the
//! built-in `vcsim` emulator in the testbed) exactly as VIC does.
//!
//! Core modules:
//! - [`vsphere`]: a small SOAP client (login, finder, property collector, task wait);
//! - [`tls`]: VIC's certificate handling (generated CA/server/client, custom certificates);
//! - [`convention`]: the containerVM name convention (`--container-name-convention`);
//! - [`dch`]: the Docker engine of `vmware/dch-photon` containers (an emulated dockerd 1.13);
//! - [`distribution`]: the OCI Distribution v2 client the engines pull and push with;
//! - [`firewall`]: container-network trust levels as rule sets and a flow evaluator;
//! - [`guestinfo`]: VIC's extraConfig (guestinfo) key encoding;
//! - [`guestnet`]: the containers' network services and the VCH's port forwarding to them;
//! - [`images`]: the image catalogue a VCH pulls from;
//! - [`image_transfer`]: pull and push between an engine and a testbed registry;
//! - [`registry_hosts`]: the registries the testbed runs, by host name (no DNS);
//! - [`image_content`]: the bytes of an image (config JSON, layer tars and gzip blobs);
//! - [`workload`]: what a container's process does to the contention model.
//!
//! Shared underneath (crate-private): `http1`, the HTTP/1.1 client layer of the SOAP and
//! Docker clients, and `tlsverify`, the server-certificate verifier of every TLS client.

pub mod appliance;
pub mod build;
pub mod convention;
pub mod dch;
pub mod distribution;
pub mod engine;
pub mod firewall;
pub mod guestinfo;
pub mod guestnet;
mod http1;
pub mod image_content;
pub mod image_transfer;
pub mod images;
pub mod interaction;
pub mod machine;
pub mod process;
pub mod registry_hosts;
pub mod tls;
mod tlsverify;
pub mod vsphere;
pub mod workload;

/// The VIC guest agents registered on an emulator, for callers that inspect them (the
/// firewall conformance suite reads the rules the tether applied).
#[derive(Clone)]
pub struct Agents {
    /// The containerVM tether.
    pub tether: std::sync::Arc<tether::TetherAgent>,
    /// The VCH appliance.
    pub appliance: std::sync::Arc<appliance::ApplianceAgent>,
}

/// Registers the VIC guest agents on an emulator: the VCH appliance
/// ([`appliance::ApplianceAgent`], serving each VCH's Docker endpoint on its client address)
/// and the containerVM tether ([`tether::TetherAgent`]).
pub fn install_agents(emu: &mut vcsim::Emulator) -> Agents {
    install_agents_with_images(emu, images::Catalogue::builtin())
}

/// [`install_agents`] with the image catalogue the VCH endpoints pull from (built-ins plus
/// images an inventory file declares: [`images::Catalogue::with_declared`]).
pub fn install_agents_with_images(emu: &mut vcsim::Emulator, images: images::Catalogue) -> Agents {
    let tether = tether::TetherAgent::new();
    let hub = tether.hub();
    let services = tether.services();
    let agents = Agents {
        tether: std::sync::Arc::new(tether),
        appliance: std::sync::Arc::new(
            appliance::ApplianceAgent::new(appliance::engine_launcher())
                .with_images(images)
                .with_interaction(hub)
                .with_services(services),
        ),
    };
    emu.add_agent(agents.tether.clone());
    emu.add_agent(agents.appliance.clone());
    agents
}
pub mod portlayer;
pub mod tether;
