//! The registry's errors and their wire form: the distribution spec's error codes
//! (`BLOB_UNKNOWN`, `DIGEST_INVALID`, `NAME_UNKNOWN`, …), each with its HTTP status, answered
//! as `{"errors":[{"code","message","detail"}]}`.

use crate::digest::Digest;

/// Everything the registry can refuse, with enough to build the spec's error body.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The blob is not in the repository.
    #[error("blob unknown to registry")]
    BlobUnknown(Digest),
    /// No such upload session (never started, finished, cancelled or expired).
    #[error("blob upload unknown to registry")]
    BlobUploadUnknown,
    /// The upload request is malformed or the session is busy.
    #[error("blob upload invalid: {0}")]
    BlobUploadInvalid(String),
    /// A chunk does not start where the upload stands (`416`).
    #[error("requested range not satisfiable: the upload is at byte {offset_bytes}")]
    RangeInvalid {
        /// Bytes received so far.
        offset_bytes: u64,
    },
    /// The content does not hash to the digest given, or the digest is malformed.
    #[error("provided digest did not match uploaded content")]
    DigestInvalid {
        /// What the client claimed.
        expected: String,
        /// What the content hashes to, when it was computed.
        actual: Option<Digest>,
    },
    /// A manifest references a blob (or manifest) the repository lacks.
    #[error("blob unknown to registry")]
    ManifestBlobUnknown(Digest),
    /// A manifest that is not valid JSON of a supported type.
    #[error("manifest invalid: {0}")]
    ManifestInvalid(String),
    /// No manifest under that tag or digest.
    #[error("manifest unknown")]
    ManifestUnknown(String),
    /// A repository name or reference the grammar refuses.
    #[error("invalid repository name: {0}")]
    NameInvalid(String),
    /// The repository is not known (nothing pushed to it).
    #[error("repository name not known to registry")]
    NameUnknown(String),
    /// The name's project does not exist (Harbor's message).
    #[error("project {0} not found")]
    ProjectNotFound(String),
    /// A body beyond a limit (`413`).
    #[error("{what} exceeds the limit of {limit_bytes} bytes")]
    TooLarge {
        /// A blob or a manifest.
        what: &'static str,
        /// The limit.
        limit_bytes: u64,
    },
    /// No (valid) credentials; carries the `WWW-Authenticate` challenge.
    #[error("authentication required")]
    Unauthorized {
        /// The challenge header value.
        challenge: String,
    },
    /// Authenticated, but not allowed.
    #[error("requested access to the resource is denied")]
    Denied(String),
    /// A method or operation the registry does not offer.
    #[error("the operation is unsupported: {0}")]
    Unsupported(String),
    /// Too many upload sessions at once (`429`).
    #[error("too many requests: at most {max} upload sessions at once")]
    TooManyUploads {
        /// The bound.
        max: usize,
    },
    /// The storage failed.
    #[error("storage: {0}")]
    Storage(#[from] std::io::Error),
}

impl RegistryError {
    /// The spec's error code.
    pub fn code(&self) -> &'static str {
        use RegistryError::*;
        match self {
            BlobUnknown(_) => "BLOB_UNKNOWN",
            BlobUploadUnknown => "BLOB_UPLOAD_UNKNOWN",
            BlobUploadInvalid(_) | RangeInvalid { .. } => "BLOB_UPLOAD_INVALID",
            DigestInvalid { .. } => "DIGEST_INVALID",
            ManifestBlobUnknown(_) => "MANIFEST_BLOB_UNKNOWN",
            ManifestInvalid(_) => "MANIFEST_INVALID",
            ManifestUnknown(_) => "MANIFEST_UNKNOWN",
            NameInvalid(_) => "NAME_INVALID",
            NameUnknown(_) | ProjectNotFound(_) => "NAME_UNKNOWN",
            TooLarge { .. } => "SIZE_INVALID",
            Unauthorized { .. } => "UNAUTHORIZED",
            Denied(_) => "DENIED",
            Unsupported(_) => "UNSUPPORTED",
            TooManyUploads { .. } => "TOOMANYREQUESTS",
            Storage(_) => "UNKNOWN",
        }
    }

    /// The HTTP status the spec gives the error.
    pub fn status(&self) -> u16 {
        use RegistryError::*;
        match self {
            BlobUnknown(_) | BlobUploadUnknown | ManifestUnknown(_) | NameUnknown(_)
            | ProjectNotFound(_) => 404,
            RangeInvalid { .. } => 416,
            TooLarge { .. } => 413,
            Unauthorized { .. } => 401,
            Denied(_) => 403,
            Unsupported(_) => 405,
            TooManyUploads { .. } => 429,
            Storage(_) => 500,
            BlobUploadInvalid(_)
            | DigestInvalid { .. }
            | ManifestBlobUnknown(_)
            | ManifestInvalid(_)
            | NameInvalid(_) => 400,
        }
    }

    /// The `detail` member: what the client needs to act on the error.
    pub fn detail(&self) -> serde_json::Value {
        use RegistryError::*;
        use serde_json::json;
        match self {
            BlobUnknown(d) | ManifestBlobUnknown(d) => json!({ "digest": d.to_string() }),
            RangeInvalid { offset_bytes } => json!({ "offset": offset_bytes }),
            DigestInvalid { expected, actual } => json!({
                "expected": expected,
                "actual": actual.as_ref().map(|a| a.to_string()),
            }),
            ManifestUnknown(r) => json!({ "reference": r }),
            NameUnknown(n) => json!({ "name": n }),
            ProjectNotFound(p) => json!(format!("project {p} not found")),
            TooLarge { limit_bytes, .. } => json!({ "limit": limit_bytes }),
            BlobUploadInvalid(s) | ManifestInvalid(s) | NameInvalid(s) | Denied(s)
            | Unsupported(s) => json!(s),
            TooManyUploads { max } => json!({ "max_upload_sessions": max }),
            BlobUploadUnknown | Unauthorized { .. } | Storage(_) => serde_json::Value::Null,
        }
    }

    /// The spec's error body.
    pub fn body(&self) -> serde_json::Value {
        // Storage details (paths) stay in the log, not on the wire.
        let message = match self {
            RegistryError::Storage(_) => "internal storage error".to_owned(),
            other => other.to_string(),
        };
        serde_json::json!({
            "errors": [{ "code": self.code(), "message": message, "detail": self.detail() }]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_not_found_is_name_unknown_with_harbors_message() {
        let e = RegistryError::ProjectNotFound("nope".into());
        assert_eq!((e.status(), e.code()), (404, "NAME_UNKNOWN"));
        let body = e.body();
        assert_eq!(body["errors"][0]["message"], "project nope not found");
        assert_eq!(body["errors"][0]["detail"], "project nope not found");
    }

    #[test]
    fn statuses_follow_the_spec() {
        let d = Digest::of(b"");
        assert_eq!(
            RegistryError::RangeInvalid { offset_bytes: 3 }.status(),
            416
        );
        assert_eq!(RegistryError::ManifestBlobUnknown(d.clone()).status(), 400);
        assert_eq!(RegistryError::BlobUnknown(d).status(), 404);
        assert_eq!(
            RegistryError::TooManyUploads { max: 1 }.code(),
            "TOOMANYREQUESTS"
        );
        let storage = RegistryError::Storage(std::io::Error::other("/secret/path"));
        assert!(!storage.body().to_string().contains("/secret"));
    }
}
