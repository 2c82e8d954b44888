//! The built-in registry (`vicbed serve --registry`) driven by skopeo: copy a tiny OCI
//! image layout in, inspect it (same digest), list its tags, fail on an unknown project
//! with Harbor's message and on a wrong CA with an x509 error, and delete it.
//!
//! Needs `skopeo` on PATH (`apt-get install -y skopeo`); without it the test fails (it
//! never skips).

use crate::support::Server;
use registry::Digest;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// How long one skopeo command may run.
const SKOPEO_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs skopeo with `args`, killed after [`SKOPEO_TIMEOUT`].
fn skopeo(args: &[&str]) -> Output {
    let mut child = Command::new("skopeo")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run skopeo (apt-get install -y skopeo): {e}"));
    let deadline = Instant::now() + SKOPEO_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                break;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("waiting for skopeo: {e}"),
        }
    }
    child.wait_with_output().expect("skopeo output")
}

fn text(o: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// CRC-32 (IEEE), for the gzip trailer.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// `data` as a gzip member of stored (uncompressed) deflate blocks.
fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let chunks: Vec<&[u8]> = data.chunks(65_535).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        out.push(u8::from(i + 1 == chunks.len()));
        let len = chunk.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

fn write_blob(layout: &Path, data: &[u8]) -> Digest {
    let d = Digest::of(data);
    let dir = layout.join("blobs/sha256");
    std::fs::create_dir_all(&dir).expect("blobs dir");
    std::fs::write(dir.join(d.hex()), data).expect("blob");
    d
}

/// An OCI image layout with one image tagged `v1`: an empty tar layer (gzip) and its
/// config. Returns the manifest's digest.
fn oci_layout(layout: &Path) -> Digest {
    let tar = vec![0u8; 1024];
    let layer = gzip_stored(&tar);
    let layer_digest = write_blob(layout, &layer);
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": [Digest::of(&tar).to_string()]},
    })
    .to_string();
    let config_digest = write_blob(layout, config.as_bytes());
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config_digest.to_string(), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": layer_digest.to_string(), "size": layer.len()}],
    })
    .to_string();
    let manifest_digest = write_blob(layout, manifest.as_bytes());
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "digest": manifest_digest.to_string(), "size": manifest.len(),
                       "annotations": {"org.opencontainers.image.ref.name": "v1"}}],
    })
    .to_string();
    std::fs::write(layout.join("index.json"), index).expect("index.json");
    std::fs::write(
        layout.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .expect("oci-layout");
    manifest_digest
}

fn random_password() -> String {
    let mut b = [0u8; 12];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut b))
        .expect("/dev/urandom");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn skopeo_copies_inspects_lists_and_deletes() {
    let work = tempfile::tempdir().expect("tempdir");
    let layout = work.path().join("layout");
    let pushed = oci_layout(&layout);
    let certs = work.path().join("certs");
    let password = random_password();
    let creds = format!("admin:{password}");
    // Every log level on, so "the password is never logged" below looks at all the logs.
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_vicbed"));
    cmd.args(["serve", "--listen", "127.0.0.1:0"])
        .args([
            "--registry",
            "registry.corp.local@127.0.0.1:0",
            "--registry-user",
            &creds,
            "--registry-cert-dir",
            certs.to_str().expect("utf-8 path"),
        ])
        .env("VICBED_LOG", "debug");
    let server = Server::spawn(cmd);
    let addr = server.exports["VICBED_REGISTRY"].clone();
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    assert_eq!(
        server.exports["VICBED_REGISTRY_URL"],
        format!("https://{addr}")
    );
    assert_eq!(
        server.exports["VICBED_REGISTRY_NAME"],
        "registry.corp.local"
    );
    assert_eq!(
        Path::new(&server.exports["VICBED_REGISTRY_CA"]),
        certs.join("ca.crt")
    );
    assert!(
        !server.stderr().contains(&password),
        "the password is never logged"
    );
    let cert_dir = certs.to_str().expect("utf-8 path");
    let src = format!("oci:{}:v1", layout.display());
    let image = format!("docker://{addr}/library/hello:v1");

    let out = skopeo(&[
        "copy",
        "--insecure-policy",
        "--dest-cert-dir",
        cert_dir,
        "--dest-creds",
        &creds,
        &src,
        &image,
    ]);
    assert!(out.status.success(), "copy: {}", text(&out));

    let out = skopeo(&["inspect", "--cert-dir", cert_dir, "--creds", &creds, &image]);
    assert!(out.status.success(), "inspect: {}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("inspect json");
    assert_eq!(v["Digest"], pushed.to_string(), "{v}");

    let out = skopeo(&[
        "list-tags",
        "--cert-dir",
        cert_dir,
        "--creds",
        &creds,
        &format!("docker://{addr}/library/hello"),
    ]);
    assert!(out.status.success(), "list-tags: {}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("tags json");
    assert_eq!(v["Tags"], serde_json::json!(["v1"]), "{v}");

    let out = skopeo(&[
        "copy",
        "--insecure-policy",
        "--dest-cert-dir",
        cert_dir,
        "--dest-creds",
        &creds,
        &src,
        &format!("docker://{addr}/nope/hello:v1"),
    ]);
    assert!(
        !out.status.success(),
        "copy to an unknown project: {}",
        text(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("project nope not found"),
        "{}",
        text(&out)
    );

    // A CA that did not sign the registry's certificate.
    let wrong = work.path().join("wrong");
    let other = registry::tls::generate("registry.corp.local", &[]).expect("other CA");
    registry::tls::write_ca(&wrong, &other.ca_pem).expect("write other CA");
    let out = skopeo(&[
        "inspect",
        "--cert-dir",
        wrong.to_str().expect("utf-8 path"),
        "--creds",
        &creds,
        &image,
    ]);
    assert!(
        !out.status.success(),
        "inspect with a wrong CA: {}",
        text(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("x509"),
        "{}",
        text(&out)
    );

    let out = skopeo(&["delete", "--cert-dir", cert_dir, "--creds", &creds, &image]);
    assert!(out.status.success(), "delete: {}", text(&out));
    let out = skopeo(&["inspect", "--cert-dir", cert_dir, "--creds", &creds, &image]);
    assert!(
        !out.status.success(),
        "inspect after delete: {}",
        text(&out)
    );

    assert!(
        !server.stderr().contains(&password),
        "the password is never logged"
    );
    server.stop();
}
