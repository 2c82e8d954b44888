//! `vic::distribution` against the workspace's real registry, served in-process on
//! 127.0.0.1 (TLS with its generated CA, and plain HTTP): push, pull by tag and by
//! digest, pushes of layers that already exist, token and Basic authentication, and the
//! failures in the words of the docker CLI (unauthorized, not found, x509, connection
//! refused, plain/TLS mismatches); plus a small fake registry for content that does not
//! match its digest.

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use registry::{Project, RegistryConfig, RegistryHandle, TlsMode, User};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use sha2::{Digest as _, Sha256};
use std::io::Write as _;
use std::net::SocketAddr;
use vic::distribution::{
    Client, Credentials, DistributionError, Endpoint, PushEvent, PushImage, Pushed, Transport,
    manifest_for,
};

const HOST: &str = "registry.corp.local";
const USER: &str = "admin";
const PASSWORD: &str = "it-distribution-pw";

async fn start(tls: bool) -> RegistryHandle {
    let config = RegistryConfig {
        host_name: HOST.into(),
        users: vec![User {
            name: USER.into(),
            password: PASSWORD.into(),
        }],
        projects: vec![Project {
            name: "private".into(),
            public: false,
        }],
        tls: if tls {
            TlsMode::Generate { cert_dir: None }
        } else {
            TlsMode::Insecure
        },
        ..RegistryConfig::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    registry::serve(config, listener, std::future::pending())
        .await
        .expect("serve")
}

fn roots(pem: &str) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .expect("PEM")
}

fn tls_of(handle: &RegistryHandle) -> Transport {
    Transport::Tls {
        roots: roots(handle.ca_pem().expect("a TLS registry has a CA")),
    }
}

fn endpoint(addr: SocketAddr, transport: Transport) -> Endpoint {
    Endpoint {
        host: HOST.into(),
        addr,
        transport,
    }
}

fn login(password: &str) -> Option<Credentials> {
    Some(Credentials {
        username: USER.into(),
        password: password.into(),
    })
}

/// A one-file ustar archive (mtime 0, so the bytes never change).
fn tar_with(name: &str, content: &[u8]) -> Vec<u8> {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..107].copy_from_slice(b"0000644");
    h[108..115].copy_from_slice(b"0000000");
    h[116..123].copy_from_slice(b"0000000");
    h[124..135].copy_from_slice(format!("{:011o}", content.len()).as_bytes());
    h[136..147].copy_from_slice(b"00000000000");
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut out = h.to_vec();
    out.extend_from_slice(content);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out.extend_from_slice(&[0u8; 1024]);
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip")
}

fn sha256(data: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(data))
}

/// Two small gzip'd tar layers and a config naming their diff IDs.
fn image() -> PushImage {
    let tars = [
        tar_with("etc/motd", b"hello from the base layer\n"),
        tar_with("app/run.sh", b"#!/bin/sh\necho hello\n"),
    ];
    let diff_ids: Vec<String> = tars.iter().map(|t| sha256(t)).collect();
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Cmd": ["/app/run.sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    });
    PushImage {
        config: Bytes::from(config.to_string()),
        layers: tars.iter().map(|t| Bytes::from(gzip(t))).collect(),
    }
}

async fn push(
    client: &Client,
    repo: &str,
    tag: &str,
    image: &PushImage,
) -> (Result<Pushed, DistributionError>, Vec<PushEvent>) {
    let mut events = Vec::new();
    let r = client.push(repo, tag, image, &mut |e| events.push(e)).await;
    (r, events)
}

#[tokio::test]
async fn push_then_pull_by_tag_and_by_digest_over_tls() {
    let reg = start(true).await;
    let client = Client::new(endpoint(reg.addr(), tls_of(&reg)), login(PASSWORD));
    client.ping().await.expect("login");
    let image = image();
    let (pushed, events) = push(&client, "library/hello", "v1", &image).await;
    let (manifest, digest) = manifest_for(&image);
    assert_eq!(
        pushed.expect("push"),
        Pushed {
            digest: digest.clone(),
            size: manifest.len() as u64
        }
    );
    let mut expected = Vec::new();
    for layer in &image.layers {
        let d = sha256(layer);
        expected.push(PushEvent::Preparing { digest: d.clone() });
        expected.push(PushEvent::Pushing {
            digest: d.clone(),
            bytes: layer.len() as u64,
        });
        expected.push(PushEvent::Pushed { digest: d });
    }
    assert_eq!(events, expected);

    let by_tag = client.pull("library/hello", "v1").await.expect("pull");
    assert_eq!(by_tag.manifest_digest, digest);
    assert_eq!(by_tag.manifest, manifest);
    assert_eq!(by_tag.config, image.config);
    assert_eq!(by_tag.layers.len(), 2);
    for ((desc, data), layer) in by_tag.layers.iter().zip(&image.layers) {
        assert_eq!(data, layer);
        assert_eq!(desc.digest, sha256(layer));
        assert_eq!(desc.size, layer.len() as u64);
        assert_eq!(
            desc.media_type,
            "application/vnd.docker.image.rootfs.diff.tar.gzip"
        );
    }
    let by_digest = client.pull("library/hello", &digest).await.expect("pull");
    assert_eq!(by_digest, by_tag);

    // Again: every layer is there already; the manifest is the same.
    let (again, events) = push(&client, "library/hello", "v1", &image).await;
    assert_eq!(again.expect("push again").digest, digest);
    let exists: Vec<PushEvent> = image
        .layers
        .iter()
        .flat_map(|l| {
            let digest = sha256(l);
            [
                PushEvent::Preparing {
                    digest: digest.clone(),
                },
                PushEvent::Exists { digest },
            ]
        })
        .collect();
    assert_eq!(events, exists);

    // Anyone may pull from the public `library` project (an anonymous token).
    let anonymous = Client::new(endpoint(reg.addr(), tls_of(&reg)), None);
    let pulled = anonymous.pull("library/hello", "v1").await.expect("pull");
    assert_eq!(pulled.layers, by_tag.layers);

    // A layer beyond the client's bound is refused before it is read.
    let mut small = Client::new(endpoint(reg.addr(), tls_of(&reg)), login(PASSWORD));
    small.max_layer_bytes = 8;
    let e = small.pull("library/hello", "v1").await.expect_err("bound");
    assert!(
        matches!(e, DistributionError::TooLarge { limit_bytes: 8, .. }),
        "{e:?}"
    );
    reg.stop().await.expect("stop");
}

#[tokio::test]
async fn refusals_in_the_docker_clis_words() {
    let reg = start(true).await;
    let admin = Client::new(endpoint(reg.addr(), tls_of(&reg)), login(PASSWORD));
    let anonymous = Client::new(endpoint(reg.addr(), tls_of(&reg)), None);
    let image = image();

    let (r, _) = push(&anonymous, "library/hello", "v1", &image).await;
    let e = r.expect_err("no login");
    assert!(matches!(e, DistributionError::Unauthorized { .. }), "{e:?}");
    assert_eq!(e.to_string(), "unauthorized: authentication required");

    let wrong = Client::new(endpoint(reg.addr(), tls_of(&reg)), login("wrong"));
    let e = wrong.ping().await.expect_err("wrong password");
    assert!(matches!(e, DistributionError::Unauthorized { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "Get https://registry.corp.local/v2/: unauthorized: authentication required"
    );

    let e = admin.pull("library/hello", "nope").await.expect_err("none");
    assert!(matches!(e, DistributionError::NotFound { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "manifest for registry.corp.local/library/hello:nope not found"
    );
    let e = admin
        .pull("nope/hello", "v1")
        .await
        .expect_err("no project");
    assert!(matches!(e, DistributionError::NotFound { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "repository registry.corp.local/nope/hello not found: does not exist or no pull access"
    );

    // A private project: only users may pull.
    let (r, _) = push(&admin, "private/app", "v1", &image).await;
    r.expect("push");
    let e = anonymous
        .pull("private/app", "v1")
        .await
        .expect_err("private");
    assert!(matches!(e, DistributionError::Unauthorized { .. }), "{e:?}");
    assert_eq!(e.to_string(), "unauthorized: authentication required");
    admin.pull("private/app", "v1").await.expect("a user may");

    let e = admin
        .pull("Library/hello", "v1")
        .await
        .expect_err("upper case");
    assert!(
        matches!(e, DistributionError::InvalidReference { .. }),
        "{e:?}"
    );
    reg.stop().await.expect("stop");
}

#[tokio::test]
async fn tls_failures_in_gos_words() {
    let reg = start(true).await;
    let other_ca = registry::tls::generate("other.corp.local", &[]).expect("CA");
    let untrusted = Transport::Tls {
        roots: roots(&other_ca.ca_pem),
    };
    let e = Client::new(endpoint(reg.addr(), untrusted), None)
        .ping()
        .await
        .expect_err("unknown CA");
    assert!(matches!(e, DistributionError::Tls { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "Get https://registry.corp.local/v2/: x509: certificate signed by unknown authority"
    );

    let wrong_name = Endpoint {
        host: "other.corp.local".into(),
        ..endpoint(reg.addr(), tls_of(&reg))
    };
    let e = Client::new(wrong_name, None)
        .ping()
        .await
        .expect_err("name");
    assert!(matches!(e, DistributionError::Tls { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "Get https://other.corp.local/v2/: x509: certificate is valid for \
         registry.corp.local, localhost, not other.corp.local"
    );

    // Plain HTTP to the TLS port.
    let e = Client::new(endpoint(reg.addr(), Transport::Plain), None)
        .ping()
        .await
        .expect_err("plain to TLS");
    assert!(matches!(e, DistributionError::Protocol { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "Get http://registry.corp.local/v2/: net/http: HTTP/1.x transport connection broken: \
         malformed HTTP response \"\\x15\\x03\\x01\\x00\\x02\\x02\""
    );
    reg.stop().await.expect("stop");

    // TLS to a plain-HTTP registry.
    let plain = start(false).await;
    let tls = Transport::Tls {
        roots: roots(&other_ca.ca_pem),
    };
    let e = Client::new(endpoint(plain.addr(), tls), None)
        .ping()
        .await
        .expect_err("TLS to plain");
    assert!(matches!(e, DistributionError::Tls { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "Get https://registry.corp.local/v2/: http: server gave HTTP response to HTTPS client"
    );
    plain.stop().await.expect("stop");
}

#[tokio::test]
async fn plain_http_for_insecure_registries() {
    let reg = start(false).await;
    let client = Client::new(endpoint(reg.addr(), Transport::Plain), login(PASSWORD));
    let image = image();
    let (pushed, _) = push(&client, "library/plain", "latest", &image).await;
    let pushed = pushed.expect("push");
    let pulled = client.pull("library/plain", "latest").await.expect("pull");
    assert_eq!(pulled.manifest_digest, pushed.digest);
    assert_eq!(pulled.config, image.config);
    reg.stop().await.expect("stop");
}

#[tokio::test]
async fn connection_refused() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let e = Client::new(endpoint(addr, Transport::Tls { roots: vec![] }), None)
        .ping()
        .await
        .expect_err("nobody listens");
    assert!(matches!(e, DistributionError::Connect { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!(
            "Get https://registry.corp.local/v2/: dial tcp {addr}: getsockopt: connection refused"
        )
    );
}

/// A registry without authentication that serves `manifest` for every reference and
/// `blobs` by digest.
async fn fake_registry(manifest: Bytes, blobs: Vec<(String, Bytes)>) -> SocketAddr {
    use axum::body::Body;
    use axum::http::{Request, Response, StatusCode};
    let app = axum::Router::new().fallback(move |req: Request<Body>| {
        let manifest = manifest.clone();
        let blobs = blobs.clone();
        async move {
            let path = req.uri().path().to_owned();
            let (status, body, content_type) = if path.contains("/manifests/") {
                (
                    StatusCode::OK,
                    manifest,
                    "application/vnd.docker.distribution.manifest.v2+json",
                )
            } else if let Some((_, b)) = blobs.iter().find(|(d, _)| path.ends_with(d.as_str())) {
                (StatusCode::OK, b.clone(), "application/octet-stream")
            } else {
                (StatusCode::NOT_FOUND, Bytes::new(), "text/plain")
            };
            Response::builder()
                .status(status)
                .header("content-type", content_type)
                .body(Body::from(body))
                .expect("response")
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

#[tokio::test]
async fn content_that_does_not_match_its_digest_is_refused() {
    let image = image();
    let (manifest, digest) = manifest_for(&image);
    let layer_digest = sha256(&image.layers[0]);
    let tampered = Bytes::from(vec![b'x'; image.layers[0].len()]);
    let blobs = vec![
        (sha256(&image.config), image.config.clone()),
        (layer_digest.clone(), tampered),
    ];
    let addr = fake_registry(manifest, blobs).await;
    let client = Client::new(endpoint(addr, Transport::Plain), None);
    let e = client
        .pull("library/bad", "v1")
        .await
        .expect_err("tampered");
    assert!(
        matches!(&e, DistributionError::Verification { digest, .. } if *digest == layer_digest),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        format!("filesystem layer verification failed for digest {layer_digest}")
    );

    // By digest: the manifest served must hash to it.
    let other = sha256(b"another manifest");
    let e = client
        .pull("library/bad", &other)
        .await
        .expect_err("digest");
    assert_eq!(
        e.to_string(),
        format!("manifest verification failed for digest {other}")
    );
    assert_ne!(other, digest);
}
