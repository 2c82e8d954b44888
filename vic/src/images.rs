//! The image catalogue a VCH "pulls" from: a built-in set (busybox, nginx, progrium/stress,
//! vmware/dch-photon, …) with the configuration Docker Hub publishes for them, plus images a
//! scenario or inventory declares (`registry.corp.local/justait/nginx:patched`).
//!
//! There is no registry traffic in the testbed; an image is its configuration (Cmd,
//! Entrypoint, ExposedPorts, Env) and a deterministic id, which is all the control path and
//! the workload mapping need.

use std::collections::BTreeMap;

/// Transport protocol of an exposed port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Proto {
    /// TCP
    Tcp,
    /// UDP
    Udp,
}

impl Proto {
    /// `tcp` or `udp`, as Docker writes it in `80/tcp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

/// What an image runs, as its config declares it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageConfig {
    /// Repository without registry for Docker Hub (`progrium/stress`, `library/busybox`
    /// is written `busybox`), with registry otherwise.
    pub repository: String,
    /// Tag.
    pub tag: String,
    /// `sha256:<64 hex>`.
    pub id: String,
    /// Entrypoint.
    pub entrypoint: Vec<String>,
    /// Default command.
    pub cmd: Vec<String>,
    /// Environment.
    pub env: Vec<String>,
    /// Exposed ports.
    pub exposed_ports: Vec<(u16, Proto)>,
    /// Working directory.
    pub working_dir: String,
    /// Uncompressed size in bytes (reported by `docker images`).
    pub size_bytes: u64,
    /// Creation time as Docker reports it (RFC 3339).
    pub created: String,
    /// A workload the image declares for the testbed (`cpu=<MHz>[,mem=<MB>]`), overriding
    /// the mapping from its command; used by declared images.
    pub workload: Option<String>,
    /// Mount points the image declares (`VOLUME` in its Dockerfile, `Config.Volumes`): a
    /// container gets an anonymous volume at each.
    pub volumes: Vec<String>,
    /// `Config.Labels` (`LABEL` in its Dockerfile).
    pub labels: BTreeMap<String, String>,
    /// `Config.User` (`USER`; empty: root).
    pub user: String,
}

/// Docker's default `PATH`, which VIC also applies when an image sets none (vic.md §7.3).
pub const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A deterministic 64-hex digest for an image reference (no registry here, so the id only
/// has to be stable and distinct).
pub fn digest_of(text: &str) -> String {
    let mut out = String::with_capacity(64);
    let mut state: u64 = 0xcbf2_9ce4_8422_2325;
    for round in 0u64..4 {
        for b in text.bytes().chain(round.to_le_bytes()) {
            state ^= u64::from(b);
            state = state.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // A final avalanche so that similar names give unrelated digests.
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        out.push_str(&format!("{:016x}", z ^ (z >> 31)));
    }
    out
}

/// A parsed image reference: registry (None for Docker Hub), repository, tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// Registry host, when not Docker Hub.
    pub registry: Option<String>,
    /// Repository path (`progrium/stress`, `busybox`).
    pub repository: String,
    /// Tag (`latest` when absent).
    pub tag: String,
}

impl Reference {
    /// Parses `[registry/]repo[:tag]`; `None` for an empty or malformed reference.
    pub fn parse(text: &str) -> Option<Reference> {
        let text = text.trim();
        if text.is_empty() || text.contains(char::is_whitespace) || text.contains('@') {
            return None;
        }
        let (name, tag) = match text.rfind(':') {
            Some(i) if !text[i + 1..].contains('/') => (&text[..i], &text[i + 1..]),
            _ => (text, "latest"),
        };
        if tag.is_empty() || name.is_empty() {
            return None;
        }
        let (registry, repository) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (Some(first.to_owned()), rest.to_owned())
            }
            _ => (None, name.to_owned()),
        };
        // Docker Hub is the default registry, and its official images live in `library/`.
        let registry = registry.filter(|r| r != "docker.io" && r != "index.docker.io");
        let repository = match (&registry, repository.strip_prefix("library/")) {
            (None, Some(short)) => short.to_owned(),
            _ => repository,
        };
        let valid = repository.split('/').all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
        });
        valid.then(|| Reference {
            registry,
            repository,
            tag: tag.to_owned(),
        })
    }

    /// `repo:tag` with the registry when there is one.
    pub fn canonical(&self) -> String {
        match &self.registry {
            Some(r) => format!("{r}/{}:{}", self.repository, self.tag),
            None => format!("{}:{}", self.repository, self.tag),
        }
    }

    /// The repository as `docker images` shows it.
    pub fn repo_name(&self) -> String {
        match &self.registry {
            Some(r) => format!("{r}/{}", self.repository),
            None => self.repository.clone(),
        }
    }
}

/// Images a VCH can pull, by canonical reference.
#[derive(Clone, Debug, Default)]
pub struct Catalogue {
    images: BTreeMap<String, ImageConfig>,
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn image(
    repository: &str,
    tag: &str,
    entrypoint: &[&str],
    cmd: &[&str],
    ports: &[u16],
    size_mb: u64,
    created: &str,
) -> ImageConfig {
    ImageConfig {
        repository: repository.to_owned(),
        tag: tag.to_owned(),
        id: format!("sha256:{}", digest_of(&format!("{repository}:{tag}"))),
        entrypoint: strings(entrypoint),
        cmd: strings(cmd),
        env: vec![DEFAULT_PATH.to_owned()],
        exposed_ports: ports.iter().map(|p| (*p, Proto::Tcp)).collect(),
        working_dir: String::new(),
        size_bytes: size_mb * 1024 * 1024,
        created: created.to_owned(),
        workload: None,
        volumes: Vec::new(),
        labels: Default::default(),
        user: String::new(),
    }
}

impl Catalogue {
    /// The built-in images, with the Cmd/Entrypoint/ExposedPorts their Docker Hub configs
    /// have (the VIC 1.2 blog posts use busybox, nginx, progrium/stress, vmware/dch-photon).
    pub fn builtin() -> Catalogue {
        let mut c = Catalogue::default();
        for img in [
            image(
                "busybox",
                "latest",
                &[],
                &["sh"],
                &[],
                1,
                "2017-09-13T21:06:48Z",
            ),
            image(
                "alpine",
                "latest",
                &[],
                &["/bin/sh"],
                &[],
                4,
                "2017-09-13T19:07:00Z",
            ),
            image(
                "ubuntu",
                "latest",
                &[],
                &["/bin/bash"],
                &[],
                122,
                "2017-09-13T17:42:00Z",
            ),
            image(
                "nginx",
                "latest",
                &[],
                &["nginx", "-g", "daemon off;"],
                &[80],
                108,
                "2017-09-26T00:31:00Z",
            ),
            // The official redis image declares `VOLUME /data`.
            ImageConfig {
                volumes: vec!["/data".to_owned()],
                ..image(
                    "redis",
                    "latest",
                    &["docker-entrypoint.sh"],
                    &["redis-server"],
                    &[6379],
                    107,
                    "2017-09-26T00:00:00Z",
                )
            },
            image(
                "progrium/stress",
                "latest",
                &["/usr/bin/stress", "--verbose"],
                &[],
                &[],
                282,
                "2014-07-30T19:10:37Z",
            ),
            image(
                "vmware/dch-photon",
                "1.13",
                &["dch-entrypoint.sh"],
                &["-H", "tcp://0.0.0.0:2375"],
                &[2375],
                183,
                "2017-09-01T00:00:00Z",
            ),
            image(
                "vmware/dch-photon",
                "17.06",
                &["dch-entrypoint.sh"],
                &["-H", "tcp://0.0.0.0:2375"],
                &[2375],
                190,
                "2017-09-01T00:00:00Z",
            ),
        ] {
            c.add(img);
        }
        c
    }

    /// The built-in images plus those an inventory file declares; a declared image with a
    /// built-in's reference replaces it.
    pub fn with_declared(declared: &[vcsim::inventory::ImageSpec]) -> Result<Catalogue, String> {
        let mut c = Catalogue::builtin();
        for d in declared {
            let r = Reference::parse(&d.name)
                .ok_or_else(|| format!("image {:?}: not a valid image reference", d.name))?;
            let mut env = d.env.clone();
            if !env.iter().any(|e| e.starts_with("PATH=")) {
                env.push(DEFAULT_PATH.to_owned());
            }
            c.add(ImageConfig {
                repository: r.repo_name(),
                tag: r.tag.clone(),
                id: format!("sha256:{}", digest_of(&r.canonical())),
                entrypoint: d.entrypoint.clone(),
                cmd: d.cmd.clone(),
                env,
                exposed_ports: d.exposed_ports.iter().map(|p| (*p, Proto::Tcp)).collect(),
                working_dir: String::new(),
                size_bytes: 64 * 1024 * 1024,
                created: "2017-10-02T00:00:00Z".to_owned(),
                workload: d.workload.clone(),
                volumes: d.volumes.clone(),
                labels: Default::default(),
                user: String::new(),
            });
        }
        Ok(c)
    }

    /// Adds (or replaces) an image.
    pub fn add(&mut self, img: ImageConfig) {
        let key = match Reference::parse(&format!("{}:{}", img.repository, img.tag)) {
            Some(r) => r.canonical(),
            None => format!("{}:{}", img.repository, img.tag),
        };
        self.images.insert(key, img);
    }

    /// The image a reference names, if the catalogue has it.
    pub fn resolve(&self, reference: &str) -> Option<&ImageConfig> {
        let r = Reference::parse(reference)?;
        self.images.get(&r.canonical())
    }

    /// All images in reference order.
    pub fn iter(&self) -> impl Iterator<Item = &ImageConfig> {
        self.images.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_normalise_like_docker() {
        let r = Reference::parse("busybox").unwrap();
        assert_eq!(r.canonical(), "busybox:latest");
        assert_eq!(
            Reference::parse("docker.io/library/busybox:latest").unwrap(),
            r
        );
        let r = Reference::parse("registry.corp.local/justait/nginx:patched").unwrap();
        assert_eq!(r.registry.as_deref(), Some("registry.corp.local"));
        assert_eq!(r.repo_name(), "registry.corp.local/justait/nginx");
        let r = Reference::parse("localhost:5000/app").unwrap();
        assert_eq!(r.registry.as_deref(), Some("localhost:5000"));
        assert_eq!(r.tag, "latest");
        for bad in ["", "Upper/Case", "a b", "x:", "a//b", "img@sha256:00"] {
            assert!(Reference::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn declared_images_join_the_catalogue() {
        let decl = vcsim::inventory::ImageSpec {
            name: "registry.corp.local/justait/nginx:patched".into(),
            entrypoint: vec![],
            cmd: vec!["nginx".into(), "-g".into(), "daemon off;".into()],
            env: vec![],
            exposed_ports: vec![80],
            workload: Some("cpu=50,mem=64".into()),
            volumes: vec!["/var/cache/nginx".into()],
        };
        let c = Catalogue::with_declared(std::slice::from_ref(&decl)).unwrap();
        let img = c
            .resolve("registry.corp.local/justait/nginx:patched")
            .unwrap();
        assert_eq!(img.workload.as_deref(), Some("cpu=50,mem=64"));
        assert_eq!(img.exposed_ports, vec![(80, Proto::Tcp)]);
        assert_eq!(img.volumes, ["/var/cache/nginx"]);
        assert!(img.env.iter().any(|e| e.starts_with("PATH=")));
        assert!(c.resolve("busybox").is_some(), "built-ins stay");
        let bad = vcsim::inventory::ImageSpec {
            name: "Bad Name".into(),
            ..decl
        };
        assert!(Catalogue::with_declared(&[bad]).is_err());
    }

    #[test]
    fn builtin_images_resolve_with_stable_ids() {
        let c = Catalogue::builtin();
        let stress = c.resolve("progrium/stress").unwrap();
        assert_eq!(stress.entrypoint, vec!["/usr/bin/stress", "--verbose"]);
        assert!(
            c.resolve("nginx:latest")
                .unwrap()
                .exposed_ports
                .contains(&(80, Proto::Tcp))
        );
        assert!(c.resolve("vmware/dch-photon:1.13").is_some());
        assert!(c.resolve("nope/nothing").is_none());
        assert_eq!(
            stress.id,
            Catalogue::builtin().resolve("progrium/stress").unwrap().id
        );
        assert_ne!(stress.id, c.resolve("busybox").unwrap().id);
        assert_eq!(stress.id.len(), "sha256:".len() + 64);
    }
}
