//! The HTTP edge: one axum fallback handler parses each request into a
//! [`RegistryRequest`](crate::request::RegistryRequest), authorizes it, runs it on the
//! [`Registry`] and answers with the spec's status, headers (`Location`,
//! `Docker-Content-Digest`, `Range`, `Docker-Upload-UUID`) and error bodies. Request bodies
//! are streamed into the state machine, never buffered beyond the manifest limit.

use crate::auth::{Credentials, Grant, Identity, Scope, allowed_actions, challenge, rfc3339};
use crate::body::FileBody;
use crate::error::RegistryError;
use crate::name::RepoName;
use crate::request::{self, RegistryRequest};
use crate::state::{Page, Registry};
use crate::storage::BlobRead;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use std::time::Instant;

/// Who a request comes from, after its credentials were checked.
enum Who {
    Anonymous,
    User(String),
    Token(Grant),
}

/// The router serving `registry`; `scheme` (`https`/`http`) goes into the token realm.
pub fn router(registry: Registry, scheme: &'static str) -> axum::Router {
    axum::Router::new().fallback(move |req: Request<Body>| {
        let registry = registry.clone();
        async move { handle(&registry, scheme, req).await }
    })
}

async fn handle(registry: &Registry, scheme: &'static str, req: Request<Body>) -> Response<Body> {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let result = dispatch(registry, scheme, req).await;
    let mut resp = result.unwrap_or_else(|e| {
        if e.status() >= 500 {
            tracing::warn!(%method, %path, error = %e, "registry request failed");
        }
        error_response(&e)
    });
    tracing::debug!(%method, %path, status = resp.status().as_u16(), "registry");
    resp.headers_mut().insert(
        "Docker-Distribution-API-Version",
        HeaderValue::from_static("registry/2.0"),
    );
    resp
}

fn error_response(e: &RegistryError) -> Response<Body> {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut r = json(status, &e.body());
    if let RegistryError::Unauthorized { challenge } = e
        && let Ok(v) = HeaderValue::from_str(challenge)
    {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r
}

fn json(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    let mut r = Response::new(Body::from(value.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

fn empty(status: StatusCode, headers: &[(&'static str, String)]) -> Response<Body> {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = status;
    for (k, v) in headers {
        if let Ok(v) = HeaderValue::from_str(v) {
            r.headers_mut().insert(*k, v);
        }
    }
    r.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    r
}

fn header_str(h: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

fn content_length(h: &HeaderMap) -> Option<u64> {
    header_str(h, header::CONTENT_LENGTH).and_then(|v| v.trim().parse().ok())
}

/// The `Range` header of upload answers: the bytes received, inclusive (`0-0` for none).
fn upload_range(offset_bytes: u64) -> String {
    format!("0-{}", offset_bytes.saturating_sub(1))
}

fn upload_headers(name: &RepoName, id: &str, offset_bytes: u64) -> Vec<(&'static str, String)> {
    vec![
        ("Location", format!("/v2/{name}/blobs/uploads/{id}")),
        ("Range", upload_range(offset_bytes)),
        ("Docker-Upload-UUID", id.to_owned()),
    ]
}

fn blob_created(name: &RepoName, digest: &crate::Digest) -> Response<Body> {
    empty(
        StatusCode::CREATED,
        &[
            ("Location", format!("/v2/{name}/blobs/{digest}")),
            ("Docker-Content-Digest", digest.to_string()),
        ],
    )
}

/// The scope a challenge asks for, by action.
fn challenge_scope(name: &RepoName, action: &str) -> String {
    let actions = match action {
        "push" => "pull,push",
        other => other,
    };
    format!("repository:{name}:{actions}")
}

fn realm(scheme: &str, headers: &HeaderMap) -> String {
    let host = header_str(headers, header::HOST).unwrap_or("localhost");
    format!("{scheme}://{host}/service/token")
}

/// Checks the credentials themselves (not yet what they allow).
fn authenticate(
    registry: &Registry,
    headers: &HeaderMap,
    realm: &str,
) -> Result<Who, RegistryError> {
    let unauthorized = || RegistryError::Unauthorized {
        challenge: challenge(realm, None),
    };
    match Credentials::parse(header_str(headers, header::AUTHORIZATION)) {
        Credentials::None => Ok(Who::Anonymous),
        Credentials::Basic(user, password) => {
            if registry.auth().check_password(&user, &password) {
                Ok(Who::User(user))
            } else {
                Err(unauthorized())
            }
        }
        Credentials::Bearer(token) => registry
            .auth()
            .grant(&token, Instant::now())
            .map(Who::Token)
            .ok_or_else(unauthorized),
        Credentials::Malformed => Err(unauthorized()),
    }
}

/// Whether `who` may take `action` on `name`.
fn permits(registry: &Registry, who: &Who, name: &RepoName, action: &str) -> bool {
    let enabled = registry.auth().enabled();
    let project = registry.project(name.project());
    match who {
        Who::Anonymous => allowed_actions(enabled, &Identity::Anonymous, project).contains(&action),
        Who::User(u) => {
            allowed_actions(enabled, &Identity::User(u.clone()), project).contains(&action)
        }
        Who::Token(g) => {
            !enabled
                || g.scopes
                    .iter()
                    .any(|s| s.allows("repository", name.as_str(), action))
        }
    }
}

fn require(
    registry: &Registry,
    who: &Who,
    name: &RepoName,
    action: &str,
    realm: &str,
) -> Result<(), RegistryError> {
    if permits(registry, who, name, action) {
        return Ok(());
    }
    match who {
        Who::User(u) => Err(RegistryError::Denied(format!(
            "user {u} may not {action} {name}"
        ))),
        _ => Err(RegistryError::Unauthorized {
            challenge: challenge(realm, Some(&challenge_scope(name, action))),
        }),
    }
}

async fn dispatch(
    registry: &Registry,
    scheme: &'static str,
    req: Request<Body>,
) -> Result<Response<Body>, RegistryError> {
    let (parts, body) = req.into_parts();
    let parsed = request::parse(parts.method.as_str(), parts.uri.path(), parts.uri.query())?;
    let Some(parsed) = parsed else {
        return Ok(json(
            StatusCode::NOT_FOUND,
            &serde_json::json!({"errors": [{"code": "NOT_FOUND", "message": "not found"}]}),
        ));
    };
    let headers = &parts.headers;
    let realm = realm(scheme, headers);
    let who = authenticate(registry, headers, &realm)?;
    if let Some(name) = parsed.repo() {
        require(registry, &who, name, parsed.action(), &realm)?;
    }
    use RegistryRequest::*;
    match parsed {
        Token { scopes } => token(registry, &who, &scopes),
        ApiVersion => {
            if registry.auth().enabled() && matches!(who, Who::Anonymous) {
                return Err(RegistryError::Unauthorized {
                    challenge: challenge(&realm, None),
                });
            }
            Ok(json(StatusCode::OK, &serde_json::json!({})))
        }
        Catalog(page) => {
            let allowed = match &who {
                Who::Anonymous => !registry.auth().enabled(),
                Who::User(_) => true,
                Who::Token(g) => g
                    .scopes
                    .iter()
                    .any(|s| s.allows("registry", "catalog", "*")),
            };
            if !allowed {
                return Err(RegistryError::Unauthorized {
                    challenge: challenge(&realm, Some("registry:catalog:*")),
                });
            }
            let p = registry.catalog(&page);
            let link = p.more.then(|| next_link("/v2/_catalog", &p, page.n));
            Ok(with_link(
                json(
                    StatusCode::OK,
                    &serde_json::json!({ "repositories": p.entries }),
                ),
                link,
            ))
        }
        Tags { name, page } => {
            let p = registry.tags(&name, &page)?;
            let link = p
                .more
                .then(|| next_link(&format!("/v2/{name}/tags/list"), &p, page.n));
            Ok(with_link(
                json(
                    StatusCode::OK,
                    &serde_json::json!({ "name": name.as_str(), "tags": p.entries }),
                ),
                link,
            ))
        }
        GetManifest {
            name,
            reference,
            head,
        } => {
            let m = registry.get_manifest(&name, &reference).await?;
            let len = m.bytes.len();
            let mut r = Response::new(if head {
                Body::empty()
            } else {
                Body::from(m.bytes)
            });
            let h = r.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&m.media_type) {
                h.insert(header::CONTENT_TYPE, v);
            }
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
            if let Ok(v) = HeaderValue::from_str(&m.digest.to_string()) {
                h.insert("Docker-Content-Digest", v);
            }
            Ok(r)
        }
        PutManifest { name, reference } => {
            let max = registry.limits().max_manifest_bytes;
            if content_length(headers).is_some_and(|l| l > max) {
                return Err(RegistryError::TooLarge {
                    what: "manifest",
                    limit_bytes: max,
                });
            }
            let ct = header_str(headers, header::CONTENT_TYPE);
            let digest = registry.put_manifest(&name, &reference, ct, body).await?;
            Ok(empty(
                StatusCode::CREATED,
                &[
                    ("Location", format!("/v2/{name}/manifests/{digest}")),
                    ("Docker-Content-Digest", digest.to_string()),
                ],
            ))
        }
        DeleteManifest { name, reference } => {
            registry.delete_manifest(&name, &reference).await?;
            Ok(empty(StatusCode::ACCEPTED, &[]))
        }
        GetBlob { name, digest, head } => {
            let size = registry.stat_blob(&name, &digest)?;
            let range =
                header_str(headers, header::RANGE).and_then(|r| request::byte_range(r, size));
            let (first, last) = match range {
                Some(Err(())) => {
                    return Ok(empty(
                        StatusCode::RANGE_NOT_SATISFIABLE,
                        &[("Content-Range", format!("bytes */{size}"))],
                    ));
                }
                Some(Ok(r)) => r,
                None => (0, size.saturating_sub(1)),
            };
            let len = if size == 0 { 0 } else { last - first + 1 };
            let body = if head {
                Body::empty()
            } else {
                match registry.open_blob(&name, &digest).await? {
                    BlobRead::Memory(b) => {
                        let (a, z) = (first as usize, (first + len) as usize);
                        Body::from(b.slice(a.min(b.len())..z.min(b.len())))
                    }
                    BlobRead::File(mut f, _) => {
                        use tokio::io::AsyncSeekExt as _;
                        f.seek(std::io::SeekFrom::Start(first)).await?;
                        Body::new(FileBody::new(f, len))
                    }
                }
            };
            let mut r = Response::new(body);
            if range.is_some() {
                *r.status_mut() = StatusCode::PARTIAL_CONTENT;
                if let Ok(v) = HeaderValue::from_str(&format!("bytes {first}-{last}/{size}")) {
                    r.headers_mut().insert(header::CONTENT_RANGE, v);
                }
            }
            let h = r.headers_mut();
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
            if let Ok(v) = HeaderValue::from_str(&digest.to_string()) {
                h.insert("Docker-Content-Digest", v);
            }
            Ok(r)
        }
        DeleteBlob { name, digest } => {
            registry.delete_blob(&name, &digest).await?;
            Ok(empty(StatusCode::ACCEPTED, &[]))
        }
        StartUpload {
            name,
            mount,
            digest,
        } => {
            if let Some((d, from)) = &mount
                && permits(registry, &who, from, "pull")
                && registry.mount(&name, from, d)?
            {
                return Ok(blob_created(&name, d));
            }
            let max = registry.limits().max_blob_bytes;
            if content_length(headers).is_some_and(|l| l > max) {
                return Err(RegistryError::TooLarge {
                    what: "blob",
                    limit_bytes: max,
                });
            }
            if let Some(d) = digest {
                let digest = registry.push_blob(&name, &d, body).await?;
                return Ok(blob_created(&name, &digest));
            }
            let id = registry.start_upload(&name).await?;
            Ok(empty(StatusCode::ACCEPTED, &upload_headers(&name, &id, 0)))
        }
        UploadStatus { name, id } => {
            let offset = registry.upload_offset(&name, &id)?;
            Ok(empty(
                StatusCode::NO_CONTENT,
                &upload_headers(&name, &id, offset),
            ))
        }
        UploadChunk { name, id } => {
            let range = chunk_range(headers)?;
            let offset = registry.upload_chunk(&name, &id, range, body).await?;
            Ok(empty(
                StatusCode::ACCEPTED,
                &upload_headers(&name, &id, offset),
            ))
        }
        FinishUpload { name, id, digest } => {
            let range = chunk_range(headers)?;
            let digest = registry
                .finish_upload(&name, &id, &digest, range, body)
                .await?;
            Ok(blob_created(&name, &digest))
        }
        CancelUpload { name, id } => {
            registry.cancel_upload(&name, &id)?;
            Ok(empty(StatusCode::NO_CONTENT, &[]))
        }
    }
}

/// A chunk's `Content-Range`, checked against its `Content-Length` when both are given.
fn chunk_range(headers: &HeaderMap) -> Result<Option<(u64, u64)>, RegistryError> {
    let Some(text) = header_str(headers, header::CONTENT_RANGE) else {
        return Ok(None);
    };
    let Some((first, last)) = request::content_range(text) else {
        return Err(RegistryError::RangeInvalid { offset_bytes: 0 });
    };
    // A whole u64 range (`0-18446744073709551615`) has no length that fits: refused too.
    let len = if last < first {
        None
    } else {
        (last - first).checked_add(1)
    };
    if len.is_none() || content_length(headers).is_some_and(|l| Some(l) != len) {
        return Err(RegistryError::RangeInvalid { offset_bytes: 0 });
    }
    Ok(Some((first, last)))
}

fn next_link(path: &str, page: &Page, n: Option<usize>) -> String {
    let last = page.entries.last().map(String::as_str).unwrap_or_default();
    match n {
        Some(n) => format!("<{path}?last={last}&n={n}>; rel=\"next\""),
        None => format!("<{path}?last={last}>; rel=\"next\""),
    }
}

fn with_link(mut r: Response<Body>, link: Option<String>) -> Response<Body> {
    if let Some(l) = link.and_then(|l| HeaderValue::from_str(&l).ok()) {
        r.headers_mut().insert(header::LINK, l);
    }
    r
}

/// Most distinct scopes one token request may ask for.
const MAX_SCOPES_PER_TOKEN: usize = 32;

/// `GET /service/token`: grants what the caller may have of what it asked for.
fn token(
    registry: &Registry,
    who: &Who,
    requested: &[String],
) -> Result<Response<Body>, RegistryError> {
    let identity = match who {
        Who::Anonymous => Identity::Anonymous,
        Who::User(u) => Identity::User(u.clone()),
        Who::Token(g) => g.who.clone(),
    };
    // Clients ask for one to three scopes; a token's size (and the table's memory) stays
    // bounded by refusing a request for more distinct ones.
    let mut requested: Vec<&String> = requested.iter().collect();
    requested.sort();
    requested.dedup();
    if requested.len() > MAX_SCOPES_PER_TOKEN {
        return Err(RegistryError::Denied(format!(
            "at most {MAX_SCOPES_PER_TOKEN} scopes per token"
        )));
    }
    let enabled = registry.auth().enabled();
    let mut granted = Vec::new();
    for text in requested {
        let Some(scope) = Scope::parse(text) else {
            continue;
        };
        let allowed: &[&str] = match scope.kind.as_str() {
            "repository" => match RepoName::parse(&scope.name) {
                Ok(name) => allowed_actions(enabled, &identity, registry.project(name.project())),
                Err(_) => &[],
            },
            "registry" if scope.name == "catalog" => {
                if !enabled || matches!(identity, Identity::User(_)) {
                    &["*"]
                } else {
                    &[]
                }
            }
            _ => &[],
        };
        let actions: Vec<String> = scope
            .actions
            .iter()
            .filter(|a| allowed.contains(&a.as_str()))
            .cloned()
            .collect();
        if !actions.is_empty() {
            granted.push(Scope { actions, ..scope });
        }
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (token, ttl) = registry
        .auth()
        .issue(identity, granted.clone(), Instant::now())?;
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({
            "token": token,
            "access_token": token,
            "expires_in": ttl.as_secs(),
            "issued_at": rfc3339(now),
            "access": granted,
        }),
    ))
}
