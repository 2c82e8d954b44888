//! `vic-machine`'s command line (vic.md §1.2, §1.5): flag names, short flags, aliases,
//! environment variables and defaults as VIC's `create -x` prints them.
//!
//! Only *syntax* is checked here (numbers are numbers, durations are durations, shares are a
//! level or an integer). Everything VIC checks in `ProcessParams` — with its exact messages
//! and in its order — is in [`super::params`].
//!
//! Exit codes: a flag parse error is a usage error and exits **2** (clap's convention). VIC
//! exits 0 on flag parse errors because `main` ignores the error `app.Run` returns (urfave/cli
//! v1, vic.md "Exit codes"); that makes scripts carry on after a typo, so we do not copy it.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use super::duration::parse_go_duration;

/// The default `--name`.
pub const DEFAULT_NAME: &str = "virtual-container-host";
/// The default `--public-network`.
pub const DEFAULT_PUBLIC_NETWORK: &str = "VM Network";
/// The default `--bridge-network-range`.
pub const DEFAULT_BRIDGE_RANGE: &str = "172.16.0.0/12";
/// The default `--bridge-network-width`.
pub const DEFAULT_BRIDGE_WIDTH: &str = "16";

/// `vic-machine` as a standalone program (`vic-machine create …`); the root `vicbed` CLI
/// embeds [`VicMachine`] as its `vic-machine` subcommand.
#[derive(Parser, Debug)]
#[command(
    name = "vic-machine",
    about = "Create and manage Virtual Container Hosts"
)]
pub struct Cli {
    /// The command.
    #[command(flatten)]
    pub machine: VicMachine,
}

/// The `vic-machine` subcommands.
#[derive(Args, Debug)]
pub struct VicMachine {
    /// The command to run.
    #[command(subcommand)]
    pub command: MachineCommand,
}

/// `create`, `delete`, `ls`, `inspect`, `version`.
#[derive(Subcommand, Debug)]
pub enum MachineCommand {
    /// Deploy a VCH.
    Create(Box<CreateOpts>),
    /// Delete a VCH and its containers.
    Delete(DeleteOpts),
    /// List VCHs.
    Ls(LsOpts),
    /// Show a VCH's connection information.
    Inspect(InspectOpts),
    /// Show the installer version.
    Version,
}

/// The options every command that talks to vSphere takes (vic.md §1.5).
#[derive(Args, Debug, Clone)]
pub struct TargetOpts {
    /// ESXi or vCenter connection URL, `[scheme://][user[:pass]@]host[/datacenter]`.
    #[arg(long, short = 't', env = "VIC_MACHINE_TARGET")]
    pub target: Option<String>,
    /// ESX or vCenter user.
    #[arg(long, short = 'u', env = "VIC_MACHINE_USER")]
    pub user: Option<String>,
    /// ESX or vCenter password.
    #[arg(
        long,
        short = 'p',
        env = "VIC_MACHINE_PASSWORD",
        hide_env_values = true
    )]
    pub password: Option<String>,
    /// ESX or vCenter host certificate thumbprint (SHA-1, `AA:BB:…`).
    #[arg(long, env = "VIC_MACHINE_THUMBPRINT")]
    pub thumbprint: Option<String>,
    /// Time to wait for the operation (Go duration: `3m0s`, `90s`, `1h`).
    #[arg(long, default_value = "3m0s", value_parser = parse_go_duration)]
    pub timeout: Duration,
}

/// VCH selection: `--id`, or `--name` with `--compute-resource` (vic.md §1.5).
#[derive(Args, Debug, Clone)]
pub struct SelectOpts {
    /// The VCH's VM moref value (`vm-220`). VIC takes `--id` and ignores `--name` and
    /// `--compute-resource` given with it; they may name another VCH, so they are refused.
    #[arg(long, conflicts_with_all = ["name", "compute_resource"])]
    pub id: Option<String>,
    /// The VCH name.
    #[arg(long, short = 'n', default_value = DEFAULT_NAME)]
    pub name: String,
    /// Compute resource path, e.g. `myCluster`.
    #[arg(long = "compute-resource", short = 'r')]
    pub compute_resource: Option<String>,
}

/// `vic-machine create` (vic.md §1.2). Hidden options are VIC's `-x`-only ones.
#[derive(Args, Debug, Clone)]
pub struct CreateOpts {
    /// vSphere connection.
    #[command(flatten)]
    pub target: TargetOpts,

    /// Force the install, removing existing if present (accepts an unverified target
    /// certificate; ignores certificate load errors).
    #[arg(long, short = 'f')]
    pub force: bool,

    /// The name of the Virtual Container Host.
    #[arg(long, short = 'n', default_value = DEFAULT_NAME)]
    pub name: String,

    /// Compute resource path, e.g. `myCluster` or `myCluster/Resources/pool`.
    #[arg(long = "compute-resource", short = 'r')]
    pub compute_resource: Option<String>,

    /// Operations user (defaults to --user).
    #[arg(long = "ops-user", hide = true)]
    pub ops_user: Option<String>,
    /// Operations password.
    #[arg(long = "ops-password", hide = true)]
    pub ops_password: Option<String>,

    /// Image datastore path, `datastore[/path]` or `ds://datastore/path`.
    #[arg(long = "image-store", short = 'i')]
    pub image_store: Option<String>,

    /// Container VM display-name convention, with `{id}` and/or `{name}`.
    #[arg(long = "container-name-convention", visible_alias = "cnc", hide = true)]
    pub container_name_convention: Option<String>,

    /// The bridge network port group (defaults to --name).
    #[arg(long = "bridge-network", short = 'b')]
    pub bridge_network: Option<String>,
    /// The IP range from which bridge networks are allocated.
    #[arg(long = "bridge-network-range", visible_alias = "bnr", hide = true, default_value = DEFAULT_BRIDGE_RANGE)]
    pub bridge_network_range: String,
    /// Prefix length of each bridge network.
    #[arg(long = "bridge-network-width", visible_alias = "bnw", hide = true, default_value = DEFAULT_BRIDGE_WIDTH)]
    pub bridge_network_width: String,

    /// The client network port group (defaults to the public network's).
    #[arg(long = "client-network", visible_alias = "cln")]
    pub client_network: Option<String>,
    /// Static client network address, `ip/mask` (the testbed: a loopback address such as
    /// `127.0.1.5/8`).
    #[arg(long = "client-network-ip", hide = true)]
    pub client_network_ip: Option<String>,
    /// The public network port group.
    #[arg(long = "public-network", visible_alias = "pn", default_value = DEFAULT_PUBLIC_NETWORK)]
    pub public_network: String,
    /// The management network port group (defaults to the client network's).
    #[arg(long = "management-network", visible_alias = "mn")]
    pub management_network: Option<String>,
    /// DNS server for the client, public and management networks (repeatable).
    #[arg(long = "dns-server", hide = true)]
    pub dns_server: Vec<String>,

    /// Container network, `PG[:alias]` (repeatable).
    #[arg(long = "container-network", visible_alias = "cn")]
    pub container_network: Vec<String>,
    /// Container network gateway, `PG:gw/mask` (repeatable).
    #[arg(long = "container-network-gateway", visible_alias = "cng", hide = true)]
    pub container_network_gateway: Vec<String>,
    /// Container network IP range, `PG:cidr`, `PG:a.b.c.d-e.f.g.h` or `PG:a.b.c.d-N`.
    #[arg(
        long = "container-network-ip-range",
        visible_alias = "cnr",
        hide = true
    )]
    pub container_network_ip_range: Vec<String>,
    /// Container network DNS server, `PG:ip` (repeatable).
    #[arg(long = "container-network-dns", visible_alias = "cnd", hide = true)]
    pub container_network_dns: Vec<String>,
    /// Container network trust level, `PG:closed|outbound|published|peers|open`.
    #[arg(
        long = "container-network-firewall",
        visible_alias = "cnf",
        hide = true
    )]
    pub container_network_firewall: Vec<String>,

    /// VCH resource pool memory limit in MB (0: unlimited).
    #[arg(long, visible_alias = "mem")]
    pub memory: Option<i64>,
    /// VCH resource pool memory reservation in MB.
    #[arg(long = "memory-reservation", visible_alias = "memr", hide = true)]
    pub memory_reservation: Option<i64>,
    /// VCH resource pool memory shares: `low`, `normal`, `high` or a number.
    #[arg(long = "memory-shares", visible_alias = "mems", hide = true, value_parser = parse_shares)]
    pub memory_shares: Option<Shares>,
    /// Appliance VM memory in MB.
    #[arg(long = "endpoint-memory", hide = true, default_value_t = 2048, value_parser = clap::value_parser!(i64).range(1..))]
    pub endpoint_memory: i64,
    /// VCH resource pool CPU limit in MHz (0: unlimited).
    #[arg(long)]
    pub cpu: Option<i64>,
    /// VCH resource pool CPU reservation in MHz.
    #[arg(long = "cpu-reservation", visible_alias = "cpur", hide = true)]
    pub cpu_reservation: Option<i64>,
    /// VCH resource pool CPU shares: `low`, `normal`, `high` or a number.
    #[arg(long = "cpu-shares", visible_alias = "cpus", hide = true, value_parser = parse_shares)]
    pub cpu_shares: Option<Shares>,
    /// Appliance VM vCPUs.
    #[arg(long = "endpoint-cpu", hide = true, default_value_t = 1, value_parser = clap::value_parser!(i32).range(1..))]
    pub endpoint_cpu: i32,

    /// Maximum number of containers (0: unlimited).
    #[arg(long)]
    pub containers: Option<u32>,

    /// Server certificate key file.
    #[arg(long = "tls-server-key")]
    pub tls_server_key: Option<PathBuf>,
    /// Server certificate file.
    #[arg(long = "tls-server-cert")]
    pub tls_server_cert: Option<PathBuf>,
    /// Common Name for the generated server certificate.
    #[arg(long = "tls-cname")]
    pub tls_cname: Option<String>,
    /// Where certificates are read from or generated into (default `./<name>`).
    #[arg(long = "tls-cert-path")]
    pub tls_cert_path: Option<PathBuf>,
    /// Disable client certificate authentication (server TLS only).
    #[arg(long = "no-tlsverify", visible_alias = "kv")]
    pub no_tlsverify: bool,
    /// Organization for generated certificates (repeatable).
    #[arg(long, hide = true)]
    pub organization: Vec<String>,
    /// RSA key size of generated keys (default 2048).
    #[arg(long = "certificate-key-size", visible_alias = "ksz", hide = true)]
    pub certificate_key_size: Option<u32>,
    /// CA bundle for client certificate verification (repeatable).
    #[arg(long = "tls-ca", visible_alias = "ca", hide = true)]
    pub tls_ca: Vec<PathBuf>,
    /// Plain HTTP on 2375: no TLS at all.
    #[arg(long = "no-tls", short = 'k', hide = true)]
    pub no_tls: bool,

    /// Debug level (1 or more enables debug logging in the VCH).
    #[arg(long, short = 'v', hide = true, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=9))]
    pub debug: u8,

    /// Extra positional arguments: VIC rejects them after processing the flags
    /// (`Unknown argument: X`, vic.md §1.1 step 4), so they are collected, not refused by clap.
    #[arg(hide = true)]
    pub args: Vec<String>,
}

/// `vic-machine delete`.
#[derive(Args, Debug, Clone)]
pub struct DeleteOpts {
    /// vSphere connection.
    #[command(flatten)]
    pub target: TargetOpts,
    /// VCH selection.
    #[command(flatten)]
    pub select: SelectOpts,
    /// Delete even if versions differ, powered-on containers and volume stores.
    #[arg(long, short = 'f')]
    pub force: bool,
}

/// `vic-machine ls`.
#[derive(Args, Debug, Clone)]
pub struct LsOpts {
    /// vSphere connection.
    #[command(flatten)]
    pub target: TargetOpts,
    /// Compute resource path to search.
    #[arg(long = "compute-resource", short = 'r')]
    pub compute_resource: Option<String>,
}

/// `vic-machine inspect`.
#[derive(Args, Debug, Clone)]
pub struct InspectOpts {
    /// vSphere connection.
    #[command(flatten)]
    pub target: TargetOpts,
    /// VCH selection.
    #[command(flatten)]
    pub select: SelectOpts,
    /// Where client certificates are searched (default `./<name>`, `.`, `~/.docker`).
    #[arg(long = "tls-cert-path")]
    pub tls_cert_path: Option<PathBuf>,
}

/// Resource-pool shares: a level or a custom number (vic.md §5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shares {
    /// `low`.
    Low,
    /// `normal`.
    Normal,
    /// `high`.
    High,
    /// `{level: custom, shares: n}`.
    Custom(i32),
}

impl Shares {
    /// The `SharesLevel` name.
    pub fn level(self) -> &'static str {
        match self {
            Shares::Low => "low",
            Shares::Normal => "normal",
            Shares::High => "high",
            Shares::Custom(_) => "custom",
        }
    }
}

/// `low`/`normal`/`high` or an integer; anything else is a flag parse error, as VIC's
/// `strconv.Atoi` makes it.
pub fn parse_shares(s: &str) -> Result<Shares, String> {
    match s.to_ascii_lowercase().as_str() {
        "low" => Ok(Shares::Low),
        "normal" => Ok(Shares::Normal),
        "high" => Ok(Shares::High),
        _ => s
            .parse::<i32>()
            .ok()
            .filter(|n| *n >= 0)
            .map(Shares::Custom)
            .ok_or_else(|| {
                format!("invalid shares value {s:?}: use low, normal, high or a number")
            }),
    }
}
