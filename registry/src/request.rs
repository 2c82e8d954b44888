//! The HTTP edge, parsed: method, path and query become a [`RegistryRequest`] (or the
//! error the client gets for an unparseable one), before any state is touched.

use crate::digest::Digest;
use crate::error::RegistryError;
use crate::name::{Reference, RepoName};
use crate::state::PageRequest;

/// Every request the registry answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegistryRequest {
    /// `GET /v2/`.
    ApiVersion,
    /// `GET /v2/_catalog`.
    Catalog(PageRequest),
    /// `GET /v2/<name>/tags/list`.
    Tags {
        /// The repository.
        name: RepoName,
        /// Which page.
        page: PageRequest,
    },
    /// `GET`/`HEAD /v2/<name>/manifests/<reference>`.
    GetManifest {
        /// The repository.
        name: RepoName,
        /// Tag or digest.
        reference: Reference,
        /// `HEAD`: headers only.
        head: bool,
    },
    /// `PUT /v2/<name>/manifests/<reference>`.
    PutManifest {
        /// The repository.
        name: RepoName,
        /// Tag or digest.
        reference: Reference,
    },
    /// `DELETE /v2/<name>/manifests/<reference>`.
    DeleteManifest {
        /// The repository.
        name: RepoName,
        /// Tag or digest.
        reference: Reference,
    },
    /// `GET`/`HEAD /v2/<name>/blobs/<digest>`.
    GetBlob {
        /// The repository.
        name: RepoName,
        /// The blob.
        digest: Digest,
        /// `HEAD`: headers only.
        head: bool,
    },
    /// `DELETE /v2/<name>/blobs/<digest>`.
    DeleteBlob {
        /// The repository.
        name: RepoName,
        /// The blob.
        digest: Digest,
    },
    /// `POST /v2/<name>/blobs/uploads/` (`?digest=`: monolithic; `?mount=&from=`: mount).
    StartUpload {
        /// The repository.
        name: RepoName,
        /// Mount this blob from `from`.
        mount: Option<(Digest, RepoName)>,
        /// The whole blob is in this request, with this digest (unparsed: a bad one is
        /// `DIGEST_INVALID` after the body, as for `PUT`).
        digest: Option<String>,
    },
    /// `GET /v2/<name>/blobs/uploads/<id>`.
    UploadStatus {
        /// The repository.
        name: RepoName,
        /// The session.
        id: String,
    },
    /// `PATCH /v2/<name>/blobs/uploads/<id>`.
    UploadChunk {
        /// The repository.
        name: RepoName,
        /// The session.
        id: String,
    },
    /// `PUT /v2/<name>/blobs/uploads/<id>?digest=`.
    FinishUpload {
        /// The repository.
        name: RepoName,
        /// The session.
        id: String,
        /// The digest the content must have.
        digest: String,
    },
    /// `DELETE /v2/<name>/blobs/uploads/<id>`.
    CancelUpload {
        /// The repository.
        name: RepoName,
        /// The session.
        id: String,
    },
    /// `GET /service/token?service=&scope=`.
    Token {
        /// The requested scopes (unparsed).
        scopes: Vec<String>,
    },
}

impl RegistryRequest {
    /// The repository a request is about, if any.
    pub fn repo(&self) -> Option<&RepoName> {
        use RegistryRequest::*;
        match self {
            ApiVersion | Catalog(_) | Token { .. } => None,
            Tags { name, .. }
            | GetManifest { name, .. }
            | PutManifest { name, .. }
            | DeleteManifest { name, .. }
            | GetBlob { name, .. }
            | DeleteBlob { name, .. }
            | StartUpload { name, .. }
            | UploadStatus { name, .. }
            | UploadChunk { name, .. }
            | FinishUpload { name, .. }
            | CancelUpload { name, .. } => Some(name),
        }
    }

    /// The action the request needs on its repository.
    pub fn action(&self) -> &'static str {
        use RegistryRequest::*;
        match self {
            DeleteManifest { .. } | DeleteBlob { .. } => "delete",
            PutManifest { .. }
            | StartUpload { .. }
            | UploadStatus { .. }
            | UploadChunk { .. }
            | FinishUpload { .. }
            | CancelUpload { .. } => "push",
            _ => "pull",
        }
    }
}

/// Splits a query string into decoded pairs.
pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// Decodes `%XX` and `+` (a malformed escape stays as it is).
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn first<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn page(pairs: &[(String, String)]) -> Result<PageRequest, RegistryError> {
    let n = match first(pairs, "n") {
        None | Some("") => None,
        Some(n) => Some(n.parse::<usize>().map_err(|_| {
            RegistryError::Unsupported(format!("pagination number {n:?} is not a number"))
        })?),
    };
    let last = first(pairs, "last")
        .filter(|l| !l.is_empty())
        .map(str::to_owned);
    Ok(PageRequest { n, last })
}

fn name(text: &str) -> Result<RepoName, RegistryError> {
    RepoName::parse(text).map_err(|e| RegistryError::NameInvalid(e.to_string()))
}

fn reference(text: &str) -> Result<Reference, RegistryError> {
    Reference::parse(text).map_err(|e| RegistryError::NameInvalid(e.to_string()))
}

fn digest(text: &str) -> Result<Digest, RegistryError> {
    Digest::parse(text).map_err(|_| RegistryError::DigestInvalid {
        expected: text.to_owned(),
        actual: None,
    })
}

/// Parses a request line. `Ok(None)`: not a registry path (answered `404`).
pub fn parse(
    method: &str,
    path: &str,
    query: Option<&str>,
) -> Result<Option<RegistryRequest>, RegistryError> {
    use RegistryRequest::*;
    let pairs = query_pairs(query);
    let unsupported = || RegistryError::Unsupported(format!("{method} {path}"));
    if path == "/service/token" {
        return match method {
            "GET" => Ok(Some(Token {
                scopes: pairs
                    .iter()
                    .filter(|(k, _)| k == "scope")
                    .flat_map(|(_, v)| v.split(' ').map(str::to_owned).collect::<Vec<_>>())
                    .filter(|s| !s.is_empty())
                    .collect(),
            })),
            _ => Err(unsupported()),
        };
    }
    let Some(rest) = path.strip_prefix("/v2") else {
        return Ok(None);
    };
    if rest.is_empty() || rest == "/" {
        return match method {
            "GET" | "HEAD" => Ok(Some(ApiVersion)),
            _ => Err(unsupported()),
        };
    }
    let Some(rest) = rest.strip_prefix('/') else {
        return Ok(None);
    };
    if rest == "_catalog" {
        return match method {
            "GET" => Ok(Some(Catalog(page(&pairs)?))),
            _ => Err(unsupported()),
        };
    }
    if let Some(n) = rest.strip_suffix("/tags/list") {
        return match method {
            "GET" => Ok(Some(Tags {
                name: name(n)?,
                page: page(&pairs)?,
            })),
            _ => Err(unsupported()),
        };
    }
    // Upload paths first: `/blobs/uploads/` also contains `/blobs/`.
    if let Some(i) = rest.rfind("/blobs/uploads") {
        let (n, tail) = (&rest[..i], &rest[i + "/blobs/uploads".len()..]);
        let n = name(n)?;
        let id = tail.trim_start_matches('/');
        if id.is_empty() {
            if method != "POST" {
                return Err(unsupported());
            }
            let mount = match (first(&pairs, "mount"), first(&pairs, "from")) {
                (Some(d), Some(f)) => Some((digest(d)?, name(f)?)),
                _ => None,
            };
            return Ok(Some(StartUpload {
                name: n,
                mount,
                digest: first(&pairs, "digest").map(str::to_owned),
            }));
        }
        if id.contains('/') {
            return Ok(None);
        }
        let id = id.to_owned();
        return match method {
            "GET" => Ok(Some(UploadStatus { name: n, id })),
            "PATCH" => Ok(Some(UploadChunk { name: n, id })),
            "PUT" => match first(&pairs, "digest") {
                Some(d) => Ok(Some(FinishUpload {
                    name: n,
                    id,
                    digest: d.to_owned(),
                })),
                None => Err(RegistryError::DigestInvalid {
                    expected: String::new(),
                    actual: None,
                }),
            },
            "DELETE" => Ok(Some(CancelUpload { name: n, id })),
            _ => Err(unsupported()),
        };
    }
    if let Some(i) = rest.rfind("/manifests/") {
        let n = name(&rest[..i])?;
        let r = reference(&rest[i + "/manifests/".len()..])?;
        return match method {
            "GET" | "HEAD" => Ok(Some(GetManifest {
                name: n,
                reference: r,
                head: method == "HEAD",
            })),
            "PUT" => Ok(Some(PutManifest {
                name: n,
                reference: r,
            })),
            "DELETE" => Ok(Some(DeleteManifest {
                name: n,
                reference: r,
            })),
            _ => Err(unsupported()),
        };
    }
    if let Some(i) = rest.rfind("/blobs/") {
        let n = name(&rest[..i])?;
        let d = digest(&rest[i + "/blobs/".len()..])?;
        return match method {
            "GET" | "HEAD" => Ok(Some(GetBlob {
                name: n,
                digest: d,
                head: method == "HEAD",
            })),
            "DELETE" => Ok(Some(DeleteBlob { name: n, digest: d })),
            _ => Err(unsupported()),
        };
    }
    Ok(None)
}

/// Parses a `Content-Range` of an upload chunk: `<first>-<last>` (docker's form) or
/// `bytes <first>-<last>[/total]`.
pub fn content_range(text: &str) -> Option<(u64, u64)> {
    let t = text.trim();
    let t = t.strip_prefix("bytes ").unwrap_or(t).trim();
    let t = t.split('/').next()?;
    let (a, b) = t.split_once('-')?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}

/// Parses a single `Range: bytes=<first>-[<last>]` against a blob of `len` bytes:
/// `Some(Ok((first, last)))` to serve, `Some(Err(()))` unsatisfiable, `None` whole blob.
#[allow(clippy::result_unit_err)]
pub fn byte_range(text: &str, len: u64) -> Option<Result<(u64, u64), ()>> {
    let spec = text.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    let range = if a.is_empty() {
        // A suffix: the last b bytes.
        let n: u64 = b.parse().ok()?;
        if n == 0 || len == 0 {
            return Some(Err(()));
        }
        (len.saturating_sub(n), len - 1)
    } else {
        let first: u64 = a.parse().ok()?;
        let last = if b.is_empty() {
            len.saturating_sub(1)
        } else {
            b.parse::<u64>().ok()?.min(len.saturating_sub(1))
        };
        if first >= len || last < first {
            return Some(Err(()));
        }
        (first, last)
    };
    Some(Ok(range))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(method: &str, path: &str, q: Option<&str>) -> RegistryRequest {
        parse(method, path, q)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
            .unwrap_or_else(|| panic!("{method} {path}: not a registry path"))
    }

    #[test]
    fn routes_parse_into_requests() {
        let d = Digest::of(b"x");
        let n = RepoName::parse("library/a/blobs").expect("valid");
        assert_eq!(p("GET", "/v2/", None), RegistryRequest::ApiVersion);
        assert_eq!(
            p("GET", "/v2/_catalog", Some("n=2&last=a%2Fb")),
            RegistryRequest::Catalog(PageRequest {
                n: Some(2),
                last: Some("a/b".into())
            })
        );
        assert_eq!(
            p("HEAD", &format!("/v2/library/a/blobs/blobs/{d}"), None),
            RegistryRequest::GetBlob {
                name: n.clone(),
                digest: d.clone(),
                head: true
            }
        );
        assert_eq!(
            p(
                "POST",
                "/v2/library/a/blobs/blobs/uploads/",
                Some(&format!("mount={d}&from=library/b"))
            ),
            RegistryRequest::StartUpload {
                name: n.clone(),
                mount: Some((d.clone(), RepoName::parse("library/b").expect("valid"))),
                digest: None
            }
        );
        assert_eq!(
            p(
                "PUT",
                "/v2/library/a/blobs/blobs/uploads/abc",
                Some("digest=sha256%3Aff")
            ),
            RegistryRequest::FinishUpload {
                name: n.clone(),
                id: "abc".into(),
                digest: "sha256:ff".into()
            }
        );
        assert_eq!(
            p("DELETE", "/v2/library/a/blobs/manifests/v1", None),
            RegistryRequest::DeleteManifest {
                name: n,
                reference: Reference::Tag("v1".into())
            }
        );
        assert_eq!(
            p(
                "GET",
                "/service/token",
                Some("service=harbor-registry&scope=repository:a/b:pull&scope=registry:catalog:*")
            ),
            RegistryRequest::Token {
                scopes: vec!["repository:a/b:pull".into(), "registry:catalog:*".into()]
            }
        );
    }

    #[test]
    fn bad_routes_are_errors_not_panics() {
        assert!(parse("GET", "/other", None).expect("ok").is_none());
        let code = |m: &str, path: &str, q: Option<&str>| parse(m, path, q).expect_err(path).code();
        assert_eq!(code("GET", "/v2/hello/tags/list", None), "NAME_INVALID");
        assert_eq!(code("GET", "/v2/A/b/manifests/v1", None), "NAME_INVALID");
        assert_eq!(
            code("GET", "/v2/a/b/blobs/sha256:zz", None),
            "DIGEST_INVALID"
        );
        assert_eq!(
            code("PUT", "/v2/a/b/blobs/uploads/x", None),
            "DIGEST_INVALID"
        );
        assert_eq!(code("POST", "/v2/a/b/manifests/v1", None), "UNSUPPORTED");
        assert_eq!(code("GET", "/v2/a/b/tags/list", Some("n=x")), "UNSUPPORTED");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }

    #[test]
    fn ranges() {
        assert_eq!(content_range("0-99"), Some((0, 99)));
        assert_eq!(content_range("bytes 10-19/100"), Some((10, 19)));
        assert_eq!(content_range("x"), None);
        assert_eq!(byte_range("bytes=0-9", 100), Some(Ok((0, 9))));
        assert_eq!(byte_range("bytes=90-", 100), Some(Ok((90, 99))));
        assert_eq!(byte_range("bytes=-10", 100), Some(Ok((90, 99))));
        assert_eq!(byte_range("bytes=100-", 100), Some(Err(())));
        assert_eq!(byte_range("bytes=5-200", 100), Some(Ok((5, 99))));
        assert_eq!(byte_range("items=0-1", 100), None);
    }
}
