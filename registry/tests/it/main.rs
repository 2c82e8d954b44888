//! End-to-end tests of the registry over TLS with a real HTTP client (reqwest, trusting
//! only the registry's own CA): a full push (blobs + manifest), pull, tags list, catalog,
//! token auth, and the refusals (push without login, digest mismatch, oversized manifest,
//! manifest with a missing blob, unknown project).

use registry::{Digest, RegistryConfig, RegistryHandle, TlsMode, User};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;

const PASSWORD: &str = "it-secret-pw";

struct Setup {
    handle: RegistryHandle,
    client: Client,
    base: String,
    _certs: tempfile::TempDir,
}

async fn start() -> Setup {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let certs = tempfile::tempdir().expect("tempdir");
    let config = RegistryConfig {
        users: vec![User {
            name: "admin".into(),
            password: PASSWORD.into(),
        }],
        tls: TlsMode::Generate {
            cert_dir: Some(certs.path().to_owned()),
        },
        ..RegistryConfig::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let handle = registry::serve(config, listener, std::future::pending())
        .await
        .expect("serve");
    let ca = std::fs::read(certs.path().join("ca.crt")).expect("ca.crt written");
    assert_eq!(Some(String::from_utf8_lossy(&ca).as_ref()), handle.ca_pem());
    let client = client_trusting(&ca);
    let base = handle.url();
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");
    Setup {
        handle,
        client,
        base,
        _certs: certs,
    }
}

fn client_trusting(ca_pem: &[u8]) -> Client {
    let mut roots = rustls::RootCertStore::empty();
    let text = String::from_utf8_lossy(ca_pem);
    let b64: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    use base64::Engine as _;
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("pem");
    roots
        .add(rustls_pki_types::CertificateDer::from(der))
        .expect("root");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Client::builder()
        .tls_backend_preconfigured(tls)
        .build()
        .expect("client")
}

async fn send(
    s: &Setup,
    method: Method,
    path: &str,
    auth: Option<&str>,
    body: Option<Vec<u8>>,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let url = if path.starts_with("http") {
        path.to_owned()
    } else {
        format!("{}{}", s.base, path)
    };
    let mut rb = s.client.request(method, url);
    if let Some(a) = auth {
        rb = rb.header("Authorization", a);
    }
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    if let Some(b) = body {
        rb = rb.body(b);
    }
    rb.send().await.expect("request")
}

async fn error_code(r: reqwest::Response) -> (StatusCode, String, Value) {
    let status = r.status();
    let v = json_of(r).await.expect("json error body");
    let code = v["errors"][0]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (status, code, v)
}

async fn json_of(r: reqwest::Response) -> Option<Value> {
    let bytes = r.bytes().await.ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

async fn token(s: &Setup, scope: &str, creds: Option<&str>) -> (StatusCode, Value) {
    let path = format!("/service/token?service=harbor-registry&scope={scope}");
    let r = send(s, Method::GET, &path, creds, None, &[]).await;
    let status = r.status();
    (status, json_of(r).await.unwrap_or(Value::Null))
}

async fn bearer_for(s: &Setup, scope: &str, creds: Option<&str>) -> String {
    let (status, v) = token(s, scope, creds).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    format!("Bearer {}", v["token"].as_str().expect("token"))
}

/// Pushes a blob in two chunks through a session; returns its digest.
async fn push_chunked(s: &Setup, repo: &str, auth: &str, data: &[u8]) -> Digest {
    let r = send(
        s,
        Method::POST,
        &format!("/v2/{repo}/blobs/uploads/"),
        Some(auth),
        None,
        &[],
    )
    .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(header(&r, "Range"), "0-0");
    assert!(!header(&r, "Docker-Upload-UUID").is_empty());
    let location = header(&r, "Location");
    assert!(
        location.starts_with(&format!("/v2/{repo}/blobs/uploads/")),
        "{location}"
    );
    let half = data.len() / 2;
    let range = format!("0-{}", half - 1);
    let r = send(
        s,
        Method::PATCH,
        &location,
        Some(auth),
        Some(data[..half].to_vec()),
        &[
            ("Content-Range", &range),
            ("Content-Type", "application/octet-stream"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(header(&r, "Range"), range);
    let location = header(&r, "Location");
    let digest = Digest::of(data);
    let sep = if location.contains('?') { '&' } else { '?' };
    let r = send(
        s,
        Method::PUT,
        &format!("{location}{sep}digest={digest}"),
        Some(auth),
        Some(data[half..].to_vec()),
        &[],
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(header(&r, "Docker-Content-Digest"), digest.to_string());
    assert_eq!(header(&r, "Location"), format!("/v2/{repo}/blobs/{digest}"));
    digest
}

async fn push_monolithic(s: &Setup, repo: &str, auth: &str, data: &[u8]) -> Digest {
    let digest = Digest::of(data);
    let r = send(
        s,
        Method::POST,
        &format!("/v2/{repo}/blobs/uploads/?digest={digest}"),
        Some(auth),
        Some(data.to_vec()),
        &[],
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    digest
}

fn manifest(config: &Digest, config_len: usize, layer: &Digest, layer_len: usize) -> Vec<u8> {
    json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                   "size": config_len, "digest": config.to_string()},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": layer_len, "digest": layer.to_string()}],
    })
    .to_string()
    .into_bytes()
}

const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

#[tokio::test]
async fn push_pull_tags_and_catalog_with_token_auth() {
    let s = start().await;
    // The base endpoint challenges anonymous clients, Harbor-style.
    let r = send(&s, Method::GET, "/v2/", None, None, &[]).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        header(&r, "Docker-Distribution-API-Version"),
        "registry/2.0"
    );
    let challenge = header(&r, "WWW-Authenticate");
    assert!(
        challenge.starts_with(&format!(r#"Bearer realm="{}/service/token""#, s.base))
            && challenge.contains(r#"service="harbor-registry""#),
        "{challenge}"
    );

    // A token for push, with the user's credentials.
    let creds = basic("admin", PASSWORD);
    let scope = "repository:library/hello:pull,push";
    let (status, v) = token(&s, scope, Some(&creds)).await;
    assert_eq!(status, StatusCode::OK);
    for field in ["token", "access_token", "issued_at"] {
        assert!(v[field].is_string(), "{field}: {v}");
    }
    assert!(v["expires_in"].as_u64().is_some_and(|e| e > 0), "{v}");
    let push = format!("Bearer {}", v["token"].as_str().expect("token"));
    let r = send(&s, Method::GET, "/v2/", Some(&push), None, &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        header(&r, "Docker-Distribution-API-Version"),
        "registry/2.0"
    );

    let config = br#"{"architecture":"amd64","os":"linux"}"#.to_vec();
    let layer: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let config_digest = push_monolithic(&s, "library/hello", &push, &config).await;
    let layer_digest = push_chunked(&s, "library/hello", &push, &layer).await;
    let m = manifest(&config_digest, config.len(), &layer_digest, layer.len());
    let r = send(
        &s,
        Method::PUT,
        "/v2/library/hello/manifests/v1",
        Some(&push),
        Some(m.clone()),
        &[("Content-Type", DOCKER_MANIFEST)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let manifest_digest = Digest::of(&m);
    assert_eq!(
        header(&r, "Docker-Content-Digest"),
        manifest_digest.to_string()
    );
    assert_eq!(
        header(&r, "Location"),
        format!("/v2/library/hello/manifests/{manifest_digest}")
    );

    // Pull anonymously: library is public, so an anonymous token gets pull (not push).
    let (status, v) = token(&s, scope, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["access"][0]["actions"], json!(["pull"]), "{v}");
    let pull = format!("Bearer {}", v["token"].as_str().expect("token"));
    let r = send(
        &s,
        Method::GET,
        "/v2/library/hello/manifests/v1",
        Some(&pull),
        None,
        &[],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "Content-Type"), DOCKER_MANIFEST);
    assert_eq!(
        header(&r, "Docker-Content-Digest"),
        manifest_digest.to_string()
    );
    assert_eq!(r.bytes().await.expect("body").to_vec(), m);
    let r = send(
        &s,
        Method::HEAD,
        &format!("/v2/library/hello/manifests/{manifest_digest}"),
        Some(&pull),
        None,
        &[],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "Content-Length"), m.len().to_string());
    let blob_path = format!("/v2/library/hello/blobs/{layer_digest}");
    let r = send(&s, Method::GET, &blob_path, Some(&pull), None, &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        header(&r, "Docker-Content-Digest"),
        layer_digest.to_string()
    );
    assert_eq!(r.bytes().await.expect("blob").to_vec(), layer);
    let r = send(
        &s,
        Method::GET,
        &blob_path,
        Some(&pull),
        None,
        &[("Range", "bytes=10-19")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        r.bytes().await.expect("range").to_vec(),
        layer[10..20].to_vec()
    );
    // The pull token does not push.
    let r = send(
        &s,
        Method::POST,
        "/v2/library/hello/blobs/uploads/",
        Some(&pull),
        None,
        &[],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        header(&r, "WWW-Authenticate").contains(r#"scope="repository:library/hello:pull,push""#)
    );

    // Tags, paginated, and the catalog (users only).
    for tag in ["v2", "v3"] {
        let r = send(
            &s,
            Method::PUT,
            &format!("/v2/library/hello/manifests/{tag}"),
            Some(&push),
            Some(m.clone()),
            &[("Content-Type", DOCKER_MANIFEST)],
        )
        .await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let r = send(
        &s,
        Method::GET,
        "/v2/library/hello/tags/list?n=2",
        Some(&pull),
        None,
        &[],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        header(&r, "Link"),
        r#"</v2/library/hello/tags/list?last=v2&n=2>; rel="next""#
    );
    let v = json_of(r).await.expect("tags");
    assert_eq!(v, json!({"name": "library/hello", "tags": ["v1", "v2"]}));
    let r = send(&s, Method::GET, "/v2/_catalog", None, None, &[]).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let catalog = bearer_for(&s, "registry:catalog:*", Some(&creds)).await;
    let r = send(&s, Method::GET, "/v2/_catalog", Some(&catalog), None, &[]).await;
    let v = json_of(r).await.expect("catalog");
    assert_eq!(v, json!({"repositories": ["library/hello"]}));

    // Delete by digest: the tags go with it.
    let r = send(
        &s,
        Method::DELETE,
        &format!("/v2/library/hello/manifests/{manifest_digest}"),
        Some(&basic("admin", PASSWORD)),
        None,
        &[],
    )
    .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let r = send(
        &s,
        Method::GET,
        "/v2/library/hello/manifests/v1",
        Some(&pull),
        None,
        &[],
    )
    .await;
    assert_eq!(error_code(r).await.1, "MANIFEST_UNKNOWN");
    s.handle.stop().await.expect("stop");
}

#[tokio::test]
async fn bad_inputs_are_refused_with_the_specs_errors() {
    let s = start().await;
    // Push without login.
    let r = send(
        &s,
        Method::POST,
        "/v2/library/x/blobs/uploads/",
        None,
        None,
        &[],
    )
    .await;
    let challenge = header(&r, "WWW-Authenticate");
    let (status, code, _) = error_code(r).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNAUTHORIZED, "UNAUTHORIZED")
    );
    assert!(
        challenge.contains(r#"scope="repository:library/x:pull,push""#),
        "{challenge}"
    );
    // A wrong password gets no token, and Basic with it is refused.
    let wrong = basic("admin", "nope");
    let (status, _) = token(&s, "repository:library/x:push", Some(&wrong)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let r = send(
        &s,
        Method::GET,
        "/v2/library/x/tags/list",
        Some(&wrong),
        None,
        &[],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let auth = basic("admin", PASSWORD);
    // A token request for more distinct scopes than any client asks for is refused.
    let many: Vec<String> = (0..33)
        .map(|i| format!("repository:library/r{i}:pull"))
        .collect();
    let (status, v) = token(&s, &many.join("%20"), Some(&auth)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    // Digest mismatch: nothing stored.
    let claimed = Digest::of(b"other");
    let r = send(
        &s,
        Method::POST,
        &format!("/v2/library/x/blobs/uploads/?digest={claimed}"),
        Some(&auth),
        Some(b"data".to_vec()),
        &[],
    )
    .await;
    let (status, code, _) = error_code(r).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "DIGEST_INVALID")
    );
    for d in [claimed, Digest::of(b"data")] {
        let r = send(
            &s,
            Method::HEAD,
            &format!("/v2/library/x/blobs/{d}"),
            Some(&auth),
            None,
            &[],
        )
        .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }
    // A manifest whose blobs are missing.
    let missing = Digest::of(b"missing");
    let m = manifest(&missing, 7, &missing, 7);
    let r = send(
        &s,
        Method::PUT,
        "/v2/library/x/manifests/v1",
        Some(&auth),
        Some(m),
        &[("Content-Type", DOCKER_MANIFEST)],
    )
    .await;
    let (status, code, v) = error_code(r).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN")
    );
    assert_eq!(v["errors"][0]["detail"]["digest"], missing.to_string());
    // An oversized manifest.
    let big = vec![b' '; (4 << 20) + 1];
    let r = send(
        &s,
        Method::PUT,
        "/v2/library/x/manifests/big",
        Some(&auth),
        Some(big),
        &[("Content-Type", DOCKER_MANIFEST)],
    )
    .await;
    let (status, code, _) = error_code(r).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "SIZE_INVALID")
    );
    // An unknown project.
    let r = send(
        &s,
        Method::POST,
        "/v2/nope/x/blobs/uploads/",
        Some(&auth),
        None,
        &[],
    )
    .await;
    let (status, code, v) = error_code(r).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::NOT_FOUND, "NAME_UNKNOWN")
    );
    assert_eq!(v["errors"][0]["message"], "project nope not found");
    // A chunk out of order.
    let r = send(
        &s,
        Method::POST,
        "/v2/library/x/blobs/uploads/",
        Some(&auth),
        None,
        &[],
    )
    .await;
    let location = header(&r, "Location");
    let r = send(
        &s,
        Method::PATCH,
        &location,
        Some(&auth),
        Some(b"abc".to_vec()),
        &[("Content-Range", "5-7")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    // Names without a project.
    let r = send(
        &s,
        Method::GET,
        "/v2/hello/tags/list",
        Some(&auth),
        None,
        &[],
    )
    .await;
    assert_eq!(error_code(r).await.1, "NAME_INVALID");
    s.handle.stop().await.expect("stop");
}
