//! What RUN costs and prints for programs outside the emulated BusyBox set: package managers
//! (apt-get, tdnf, yum, apk) get a short deterministic transcript and a CPU cost per
//! operation and package; file utilities (`rm`, `mkdir`, `cp`, …) are near-free and silent;
//! anything else succeeds silently at a default cost, with a note for the caller's log.
//!
//! # Cost assumptions (ours; MHz·s of containerVM CPU, i.e. a 2 GHz vCPU does 2000 a second)
//! - `apt-get update`: [`APT_UPDATE_CPU_MHZ_S`] (fetching and parsing ~10 MB of Debian
//!   stretch Packages lists ≈ 1.5 s of one 2 GHz core);
//! - `apt-get upgrade -y`: [`APT_RESOLVE_CPU_MHZ_S`] + [`APT_PACKAGE_CPU_MHZ_S`] per upgraded
//!   package (download, unpack, configure ≈ 0.2 s each). On a Debian base after `update`
//!   we assume the [`DEBIAN_UPGRADES`] (7 packages): 500 + 7 × 400 = **3300 MHz·s**; without
//!   a fresh `update` nothing is upgradable (official images delete their lists);
//! - `apt-get install -y P…`: resolve + 800 per named package (its dependencies included);
//!   without lists, `E: Unable to locate package P` (status 100), as on a real image;
//! - `tdnf update -y`/`install -y`, `yum update -y`/`install -y`, `apk update`/`add`: see the
//!   constants; tdnf and yum refresh their metadata themselves, `apk add` needs `apk update`
//!   (or `--no-cache`) first;
//! - a package manager the base does not have (`apt-get` on busybox or alpine) is
//!   `/bin/sh: apt-get: not found`, status 127;
//! - file utilities: [`UTILITY_CPU_MHZ_S`]; unknown programs: [`UNKNOWN_PROGRAM_CPU_MHZ_S`].

/// `apt-get update`.
pub const APT_UPDATE_CPU_MHZ_S: u64 = 3000;
/// Dependency resolution of one apt/tdnf/yum run.
pub const APT_RESOLVE_CPU_MHZ_S: u64 = 500;
/// One package upgraded by apt/tdnf/yum.
pub const APT_PACKAGE_CPU_MHZ_S: u64 = 400;
/// One package installed by apt/tdnf/yum (with its dependencies).
pub const INSTALL_PACKAGE_CPU_MHZ_S: u64 = 800;
/// `tdnf`/`yum` metadata refresh.
pub const RPM_METADATA_CPU_MHZ_S: u64 = 2000;
/// `apk update`.
pub const APK_UPDATE_CPU_MHZ_S: u64 = 300;
/// One package `apk add` installs.
pub const APK_PACKAGE_CPU_MHZ_S: u64 = 150;
/// `rm`, `mkdir`, `cp`, `chmod`, … .
pub const UTILITY_CPU_MHZ_S: u64 = 1;
/// A program the model does not know.
pub const UNKNOWN_PROGRAM_CPU_MHZ_S: u64 = 500;
/// Bytes one installed or upgraded package adds to the layer (our assumption).
pub const PACKAGE_BYTES: u64 = 2 * 1024 * 1024;
/// Bytes `apt-get update` leaves in `/var/lib/apt/lists`.
pub const APT_LISTS_BYTES: u64 = 10 * 1024 * 1024;

/// Packages an `apt-get upgrade` on a Debian stretch base of 2017-09 upgrades (our
/// assumption): (name, installed version, new version, download kB).
pub const DEBIAN_UPGRADES: [(&str, &str, &str, u32); 7] = [
    ("libc-bin", "2.24-11+deb9u1", "2.24-11+deb9u3", 779),
    ("libc6", "2.24-11+deb9u1", "2.24-11+deb9u3", 2694),
    ("libgcrypt20", "1.7.6-2+deb9u1", "1.7.6-2+deb9u2", 416),
    ("libssl1.1", "1.1.0f-3", "1.1.0f-3+deb9u1", 1347),
    ("libsystemd0", "232-25+deb9u1", "232-25+deb9u2", 282),
    ("libudev1", "232-25+deb9u1", "232-25+deb9u2", 126),
    ("tzdata", "2017b-1", "2017c-0+deb9u1", 262),
];

/// Which distribution a base image is, by its repository name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// Debian stretch (nginx, redis, debian, node, python, httpd, …): apt.
    Debian,
    /// Ubuntu: apt.
    Ubuntu,
    /// Alpine: apk.
    Alpine,
    /// VMware Photon OS: tdnf.
    Photon,
    /// CentOS / Fedora: yum.
    Centos,
    /// BusyBox or `scratch`: no package manager.
    Bare,
    /// A declared image we cannot place: every package manager is taken to exist.
    Unknown,
}

impl Family {
    /// The family of `repository:tag`.
    pub fn of(repository: &str, tag: &str) -> Family {
        let name = repository.rsplit('/').next().unwrap_or(repository);
        if tag.contains("alpine") || name == "alpine" {
            return Family::Alpine;
        }
        match name {
            "ubuntu" => Family::Ubuntu,
            "photon" | "dch-photon" | "admiral" | "harbor" => Family::Photon,
            "centos" | "fedora" | "amazonlinux" | "oraclelinux" => Family::Centos,
            "busybox" | "scratch" | "stress" => Family::Bare,
            "debian" | "nginx" | "redis" | "node" | "python" | "httpd" | "golang" | "php"
            | "postgres" | "mysql" | "openjdk" | "ruby" | "memcached" | "wordpress" => {
                Family::Debian
            }
            _ => Family::Unknown,
        }
    }

    fn has(self, manager: &str) -> bool {
        match self {
            Family::Unknown => true,
            Family::Debian | Family::Ubuntu => manager == "apt-get" || manager == "apt",
            Family::Alpine => manager == "apk",
            Family::Photon => manager == "tdnf",
            Family::Centos => manager == "yum" || manager == "dnf",
            Family::Bare => false,
        }
    }
}

/// What package managers have done so far in a stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PkgState {
    /// The base's family.
    pub family: Family,
    apt_lists: bool,
    apt_upgraded: bool,
    apk_index: bool,
    rpm_upgraded: bool,
}

impl PkgState {
    /// A fresh stage on a base of `family`.
    pub fn new(family: Family) -> PkgState {
        PkgState {
            family,
            apt_lists: false,
            apt_upgraded: false,
            apk_index: false,
            rpm_upgraded: false,
        }
    }
}

/// One line a modelled program writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    /// To stdout.
    Out(String),
    /// To stderr.
    Err(String),
}

/// What a modelled program did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Its output.
    pub lines: Vec<Line>,
    /// Exit status.
    pub code: i32,
    /// CPU work.
    pub cpu_mhz_s: u64,
    /// Bytes it adds to the layer.
    pub added_bytes: u64,
    /// A note for the caller's log (unknown programs).
    pub note: Option<String>,
}

impl Outcome {
    fn ok(lines: Vec<Line>, cpu_mhz_s: u64, added_bytes: u64) -> Outcome {
        Outcome {
            lines,
            code: 0,
            cpu_mhz_s,
            added_bytes,
            note: None,
        }
    }
}

fn out(lines: &[&str]) -> Vec<Line> {
    lines.iter().map(|l| Line::Out((*l).to_owned())).collect()
}

/// Models `argv` (after the shell's expansion) on the state.
pub fn simulate(argv: &[String], state: &mut PkgState) -> Outcome {
    let program = argv
        .first()
        .map(|p| p.rsplit('/').next().unwrap_or(p))
        .unwrap_or("");
    let args: Vec<&str> = argv.iter().skip(1).map(String::as_str).collect();
    let managers = ["apt-get", "apt", "tdnf", "yum", "dnf", "apk"];
    if managers.contains(&program) && !state.family.has(program) {
        return Outcome {
            lines: vec![Line::Err(format!("/bin/sh: {program}: not found"))],
            code: 127,
            cpu_mhz_s: 0,
            added_bytes: 0,
            note: None,
        };
    }
    match program {
        "apt-get" | "apt" => apt(&args, state),
        "tdnf" | "yum" | "dnf" => rpm(program, &args, state),
        "apk" => apk(&args, state),
        "rm"
        | "mkdir"
        | "cp"
        | "mv"
        | "ln"
        | "chmod"
        | "chown"
        | "touch"
        | "sed"
        | "useradd"
        | "groupadd"
        | "adduser"
        | "addgroup"
        | "update-ca-certificates"
        | "ldconfig"
        | "rmdir"
        | "install" => {
            if program == "rm" && args.iter().any(|a| a.starts_with("/var/lib/apt/lists")) {
                state.apt_lists = false;
            }
            if program == "rm" && args.iter().any(|a| a.starts_with("/var/cache/apk")) {
                state.apk_index = false;
            }
            Outcome::ok(Vec::new(), UTILITY_CPU_MHZ_S, 0)
        }
        _ => Outcome {
            note: Some(format!(
                "vicbed: `{program}` is not emulated: assumed to succeed silently with {UNKNOWN_PROGRAM_CPU_MHZ_S} MHz·s of CPU"
            )),
            ..Outcome::ok(Vec::new(), UNKNOWN_PROGRAM_CPU_MHZ_S, 0)
        },
    }
}

fn yes(args: &[&str]) -> bool {
    args.iter()
        .any(|a| matches!(*a, "-y" | "--yes" | "--assume-yes" | "-qy" | "-yq"))
}

fn operands<'a>(args: &[&'a str]) -> Vec<&'a str> {
    args.iter()
        .copied()
        .filter(|a| !a.starts_with('-'))
        .collect()
}

fn apt_mirror(state: &PkgState) -> (&'static str, &'static str) {
    match state.family {
        Family::Ubuntu => ("http://archive.ubuntu.com/ubuntu", "xenial"),
        _ => ("http://cdn-fastly.deb.debian.org/debian", "stretch"),
    }
}

const APT_READING: [&str; 3] = [
    "Reading package lists...",
    "Building dependency tree...",
    "Reading state information...",
];

fn apt(args: &[&str], state: &mut PkgState) -> Outcome {
    let ops = operands(args);
    let (mirror, suite) = apt_mirror(state);
    match ops.first().copied() {
        Some("update") => {
            state.apt_lists = true;
            let lines = vec![
                format!("Get:1 http://security.debian.org {suite}/updates InRelease [62.9 kB]"),
                format!("Ign:2 {mirror} {suite} InRelease"),
                format!("Get:3 {mirror} {suite}-updates InRelease [91.0 kB]"),
                format!("Get:4 {mirror} {suite} Release [118 kB]"),
                format!("Get:5 {mirror} {suite} Release.gpg [2373 B]"),
                format!(
                    "Get:6 http://security.debian.org {suite}/updates/main amd64 Packages [228 kB]"
                ),
                format!("Get:7 {mirror} {suite}-updates/main amd64 Packages [5553 B]"),
                format!("Get:8 {mirror} {suite}/main amd64 Packages [9500 kB]"),
                "Fetched 10.0 MB in 2s (4214 kB/s)".to_owned(),
                "Reading package lists...".to_owned(),
            ];
            Outcome::ok(
                lines.into_iter().map(Line::Out).collect(),
                APT_UPDATE_CPU_MHZ_S,
                APT_LISTS_BYTES,
            )
        }
        Some("upgrade") | Some("dist-upgrade") => {
            let mut lines = out(&APT_READING);
            lines.push(Line::Out("Calculating upgrade...".into()));
            let pending = state.apt_lists && !state.apt_upgraded;
            if !pending {
                lines.push(Line::Out(
                    "0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.".into(),
                ));
                return Outcome::ok(lines, APT_RESOLVE_CPU_MHZ_S, 0);
            }
            let names: Vec<&str> = DEBIAN_UPGRADES.iter().map(|p| p.0).collect();
            let kb: u32 = DEBIAN_UPGRADES.iter().map(|p| p.3).sum();
            lines.push(Line::Out("The following packages will be upgraded:".into()));
            lines.push(Line::Out(format!("  {}", names.join(" "))));
            let n = DEBIAN_UPGRADES.len();
            lines.push(Line::Out(format!(
                "{n} upgraded, 0 newly installed, 0 to remove and 0 not upgraded."
            )));
            lines.push(Line::Out(format!("Need to get {kb} kB of archives.")));
            lines.push(Line::Out(
                "After this operation, 14.3 kB of additional disk space will be used.".into(),
            ));
            if !yes(args) {
                lines.push(Line::Out("Do you want to continue? [Y/n] Abort.".into()));
                return Outcome {
                    code: 1,
                    ..Outcome::ok(lines, APT_RESOLVE_CPU_MHZ_S, 0)
                };
            }
            for (i, (name, _, new, size)) in DEBIAN_UPGRADES.iter().enumerate() {
                lines.push(Line::Out(format!(
                    "Get:{} http://security.debian.org {suite}/updates/main amd64 {name} amd64 {new} [{size} kB]",
                    i + 1
                )));
            }
            lines.push(Line::Err(
                "debconf: delaying package configuration, since apt-utils is not installed".into(),
            ));
            lines.push(Line::Out(format!("Fetched {kb} kB in 1s (5120 kB/s)")));
            lines.push(Line::Out(
                "(Reading database ... 7027 files and directories currently installed.)".into(),
            ));
            for (name, old, new, _) in DEBIAN_UPGRADES {
                lines.push(Line::Out(format!(
                    "Preparing to unpack .../{name}_{new}_amd64.deb ..."
                )));
                lines.push(Line::Out(format!(
                    "Unpacking {name}:amd64 ({new}) over ({old}) ..."
                )));
            }
            for (name, _, new, _) in DEBIAN_UPGRADES {
                lines.push(Line::Out(format!("Setting up {name}:amd64 ({new}) ...")));
            }
            lines.push(Line::Out(
                "Processing triggers for libc-bin (2.24-11+deb9u3) ...".into(),
            ));
            state.apt_upgraded = true;
            Outcome::ok(
                lines,
                APT_RESOLVE_CPU_MHZ_S + APT_PACKAGE_CPU_MHZ_S * n as u64,
                PACKAGE_BYTES * n as u64,
            )
        }
        Some("install") => {
            let pkgs = &ops[1..];
            let mut lines = out(&APT_READING);
            if !state.apt_lists
                && let Some(first) = pkgs.first()
            {
                lines.push(Line::Err(format!("E: Unable to locate package {first}")));
                return Outcome {
                    code: 100,
                    ..Outcome::ok(lines, APT_RESOLVE_CPU_MHZ_S, 0)
                };
            }
            let n = pkgs.len() as u64;
            if n == 0 {
                lines.push(Line::Out(
                    "0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.".into(),
                ));
                return Outcome::ok(lines, APT_RESOLVE_CPU_MHZ_S, 0);
            }
            lines.push(Line::Out(
                "The following NEW packages will be installed:".into(),
            ));
            lines.push(Line::Out(format!("  {}", pkgs.join(" "))));
            lines.push(Line::Out(format!(
                "0 upgraded, {n} newly installed, 0 to remove and 0 not upgraded."
            )));
            if !yes(args) {
                lines.push(Line::Out("Do you want to continue? [Y/n] Abort.".into()));
                return Outcome {
                    code: 1,
                    ..Outcome::ok(lines, APT_RESOLVE_CPU_MHZ_S, 0)
                };
            }
            for (i, p) in pkgs.iter().enumerate() {
                lines.push(Line::Out(format!(
                    "Get:{} {mirror} {suite}/main amd64 {p} amd64",
                    i + 1
                )));
            }
            lines.push(Line::Err(
                "debconf: delaying package configuration, since apt-utils is not installed".into(),
            ));
            for p in pkgs {
                lines.push(Line::Out(format!(
                    "Selecting previously unselected package {p}."
                )));
                lines.push(Line::Out(format!("Unpacking {p} ...")));
            }
            for p in pkgs {
                lines.push(Line::Out(format!("Setting up {p} ...")));
            }
            Outcome::ok(
                lines,
                APT_RESOLVE_CPU_MHZ_S + INSTALL_PACKAGE_CPU_MHZ_S * n,
                PACKAGE_BYTES * n,
            )
        }
        Some("clean") | Some("autoclean") => Outcome::ok(Vec::new(), UTILITY_CPU_MHZ_S, 0),
        Some("autoremove") | Some("purge") | Some("remove") => {
            let mut lines = out(&APT_READING);
            lines.push(Line::Out(
                "0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.".into(),
            ));
            Outcome::ok(lines, APT_RESOLVE_CPU_MHZ_S, 0)
        }
        other => Outcome {
            lines: vec![Line::Err(format!(
                "E: Invalid operation {}",
                other.unwrap_or("")
            ))],
            code: 100,
            cpu_mhz_s: 0,
            added_bytes: 0,
            note: None,
        },
    }
}

fn rpm(program: &str, args: &[&str], state: &mut PkgState) -> Outcome {
    let ops = operands(args);
    let repo = if program == "tdnf" {
        "VMware Photon Linux 2.0(x86_64)"
    } else {
        "CentOS-7 - Base"
    };
    let mut lines = vec![Line::Out(format!("Refreshing metadata for: '{repo}'"))];
    let (pkgs, installing): (Vec<&str>, bool) = match ops.first().copied() {
        Some("update") | Some("upgrade") | Some("distro-sync") => {
            if state.rpm_upgraded {
                lines.push(Line::Out("Nothing to do.".into()));
                return Outcome::ok(lines, RPM_METADATA_CPU_MHZ_S, 0);
            }
            (vec!["openssl", "curl-libs", "systemd", "tzdata"], false)
        }
        Some("install") => (ops[1..].to_vec(), true),
        Some("clean") | Some("makecache") => {
            return Outcome::ok(Vec::new(), UTILITY_CPU_MHZ_S, 0);
        }
        _ => {
            lines.push(Line::Err("Error(1011) : Unknown command".into()));
            return Outcome {
                code: 1,
                ..Outcome::ok(lines, 0, 0)
            };
        }
    };
    let n = pkgs.len() as u64;
    lines.push(Line::Out(
        if installing {
            "Installing:"
        } else {
            "Upgrading:"
        }
        .into(),
    ));
    for p in &pkgs {
        lines.push(Line::Out(format!("{p:<24} x86_64")));
    }
    if !yes(args) {
        lines.push(Line::Out("Is this ok [y/N]:".into()));
        lines.push(Line::Err("Error(1032) : Operation aborted.".into()));
        return Outcome {
            code: 1,
            ..Outcome::ok(lines, RPM_METADATA_CPU_MHZ_S, 0)
        };
    }
    lines.push(Line::Out(String::new()));
    lines.push(Line::Out("Testing transaction".into()));
    lines.push(Line::Out("Running transaction".into()));
    lines.push(Line::Out(String::new()));
    lines.push(Line::Out("Complete!".into()));
    if !installing {
        state.rpm_upgraded = true;
    }
    let per = if installing {
        INSTALL_PACKAGE_CPU_MHZ_S
    } else {
        APT_PACKAGE_CPU_MHZ_S
    };
    Outcome::ok(
        lines,
        RPM_METADATA_CPU_MHZ_S + APT_RESOLVE_CPU_MHZ_S + per * n,
        PACKAGE_BYTES * n,
    )
}

fn apk(args: &[&str], state: &mut PkgState) -> Outcome {
    let ops = operands(args);
    let no_cache = args.contains(&"--no-cache");
    let fetch = [
        "fetch http://dl-cdn.alpinelinux.org/alpine/v3.6/main/x86_64/APKINDEX.tar.gz",
        "fetch http://dl-cdn.alpinelinux.org/alpine/v3.6/community/x86_64/APKINDEX.tar.gz",
    ];
    match ops.first().copied() {
        Some("update") => {
            state.apk_index = true;
            let mut lines = out(&fetch);
            lines.push(Line::Out(
                "v3.6.2-248-g3f8eeb3ea1 [http://dl-cdn.alpinelinux.org/alpine/v3.6/main]".into(),
            ));
            lines.push(Line::Out("OK: 8442 distinct packages available".into()));
            Outcome::ok(lines, APK_UPDATE_CPU_MHZ_S, 1024 * 1024)
        }
        Some("add") | Some("upgrade") => {
            let pkgs = &ops[1..];
            let mut lines = if no_cache { out(&fetch) } else { Vec::new() };
            let mut cpu = if no_cache { APK_UPDATE_CPU_MHZ_S } else { 0 };
            if !no_cache && !state.apk_index && !pkgs.is_empty() {
                lines.push(Line::Err(
                    "WARNING: Ignoring APKINDEX.84815163.tar.gz: No such file or directory".into(),
                ));
                lines.push(Line::Err("ERROR: unsatisfiable constraints:".into()));
                for p in pkgs {
                    lines.push(Line::Err(format!("  {p} (missing):")));
                    lines.push(Line::Err(format!("    required by: world[{p}]")));
                }
                return Outcome {
                    code: pkgs.len().min(255) as i32,
                    ..Outcome::ok(lines, 0, 0)
                };
            }
            let n = pkgs.len();
            for (i, p) in pkgs.iter().enumerate() {
                lines.push(Line::Out(format!("({}/{n}) Installing {p}", i + 1)));
            }
            lines.push(Line::Out("Executing busybox-1.26.2-r5.trigger".into()));
            lines.push(Line::Out(format!(
                "OK: {} MiB in {} packages",
                4 + 2 * n,
                11 + n
            )));
            cpu += APK_PACKAGE_CPU_MHZ_S * n as u64;
            Outcome::ok(lines, cpu, PACKAGE_BYTES * n as u64)
        }
        _ => Outcome::ok(Vec::new(), UTILITY_CPU_MHZ_S, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn apt_upgrade_needs_fresh_lists_and_costs_per_package() {
        let mut st = PkgState::new(Family::of("nginx", "latest"));
        let before = simulate(&argv("apt-get upgrade -y"), &mut st);
        assert_eq!(before.code, 0);
        assert_eq!(before.cpu_mhz_s, APT_RESOLVE_CPU_MHZ_S);
        let update = simulate(&argv("apt-get update"), &mut st);
        assert_eq!(update.cpu_mhz_s, 3000);
        let up = simulate(&argv("apt-get upgrade -y"), &mut st);
        assert_eq!(up.cpu_mhz_s, 3300);
        assert!(up.lines.contains(&Line::Out(
            "7 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.".into()
        )));
        let again = simulate(&argv("apt-get upgrade -y"), &mut st);
        assert_eq!(again.cpu_mhz_s, APT_RESOLVE_CPU_MHZ_S, "nothing left");
    }

    #[test]
    fn apt_install_without_update_fails_like_debian() {
        let mut st = PkgState::new(Family::Debian);
        let o = simulate(&argv("apt-get install -y curl"), &mut st);
        assert_eq!(o.code, 100);
        assert!(
            o.lines
                .contains(&Line::Err("E: Unable to locate package curl".into()))
        );
        simulate(&argv("apt-get update"), &mut st);
        let o = simulate(&argv("apt-get install -y curl vim"), &mut st);
        assert_eq!((o.code, o.cpu_mhz_s), (0, 500 + 1600));
        let o = simulate(&argv("apt-get install vim"), &mut st);
        assert_eq!(o.code, 1, "no -y: apt aborts without a terminal");
        simulate(&argv("rm -rf /var/lib/apt/lists/*"), &mut st);
        assert_eq!(
            simulate(&argv("apt-get install -y curl"), &mut st).code,
            100
        );
    }

    #[test]
    fn missing_managers_and_other_families() {
        let mut bb = PkgState::new(Family::of("busybox", "latest"));
        let o = simulate(&argv("apt-get update"), &mut bb);
        assert_eq!(o.code, 127);
        assert_eq!(o.lines, [Line::Err("/bin/sh: apt-get: not found".into())]);
        let mut alpine = PkgState::new(Family::of("nginx", "alpine"));
        assert_eq!(simulate(&argv("apk add curl"), &mut alpine).code, 1);
        assert_eq!(
            simulate(&argv("apk add --no-cache curl"), &mut alpine).code,
            0
        );
        let mut photon = PkgState::new(Family::of("vmware/photon", "2.0"));
        let o = simulate(&argv("tdnf install -y git"), &mut photon);
        assert_eq!((o.code, o.cpu_mhz_s), (0, 2000 + 500 + 800));
        let mut centos = PkgState::new(Family::of("centos", "7"));
        assert_eq!(simulate(&argv("yum update -y"), &mut centos).code, 0);
    }

    #[test]
    fn unknown_programs_get_a_note() {
        let mut st = PkgState::new(Family::Debian);
        let o = simulate(&argv("make -j4"), &mut st);
        assert_eq!((o.code, o.cpu_mhz_s), (0, UNKNOWN_PROGRAM_CPU_MHZ_S));
        assert!(o.note.unwrap().contains("`make` is not emulated"));
        assert_eq!(simulate(&argv("mkdir -p /x"), &mut st).cpu_mhz_s, 1);
    }
}
