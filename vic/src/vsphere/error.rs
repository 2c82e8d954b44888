//! The client's errors, and vSphere method faults as the client receives them.
//!
//! Messages follow govmomi where VIC shows them to users: a SOAP fault prints as
//! `ServerFaultCode: <faultstring>`, a task error as its `localizedMessage`, a thumbprint
//! mismatch as `Host "<host:port>" thumbprint does not match "<given>"`, and the Finder's
//! lookups as `datacenter 'X' not found`, `path 'X' resolves to multiple resource pools`,
//! `default datacenter resolves to multiple instances, please specify`.

use std::time::Duration;
use vcsim::vmodl::{MoRef, Value, is_subtype};

/// A vSphere method fault: from a SOAP `<Fault>` or from a task's `info.error`
/// (`LocalizedMethodFault`).
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    /// The SOAP `faultcode` (`ServerFaultCode`); `None` for a task error.
    pub code: Option<String>,
    /// The fault type: the detail's `xsi:type`, else its element name minus `Fault`
    /// (`InvalidLogin`); `RuntimeFault` when the server sent no detail.
    pub ty: String,
    /// `faultstring`, or the task error's `localizedMessage`.
    pub msg: String,
    /// The fault's own fields (`existingState`, `obj`, `invalidProperty`, …), decoded with
    /// the vim25 schema.
    pub fields: Vec<(String, Value)>,
}

impl Fault {
    /// True when the fault is of type `ty` or derives from it (`InvalidPowerState` is an
    /// `InvalidState`).
    pub fn is(&self, ty: &str) -> bool {
        self.ty == ty || is_subtype(&self.ty, ty)
    }

    /// A field of the fault by name.
    pub fn field(&self, name: &str) -> Option<&Value> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let msg = if self.msg.is_empty() {
            self.ty.as_str()
        } else {
            self.msg.as_str()
        };
        match &self.code {
            Some(code) => write!(f, "{code}: {msg}"),
            None => f.write_str(msg),
        }
    }
}

impl std::error::Error for Fault {}

/// Everything that can go wrong talking to vSphere.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The target URL could not be read.
    #[error("invalid target URL {url:?}: {reason}")]
    Url {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An option is malformed (e.g. a thumbprint that is not a SHA-1 fingerprint).
    #[error("{0}")]
    Config(String),
    /// The TCP connection failed.
    #[error("connecting to {addr}: {source}")]
    Connect {
        /// `host:port`.
        addr: String,
        /// The socket error.
        source: std::io::Error,
    },
    /// The server's certificate matched neither the trusted roots nor a given thumbprint.
    /// VIC logs this as `Failed to verify certificate for target=<host> (thumbprint=<sha1>)`.
    #[error("Failed to verify certificate for target={host} (thumbprint={thumbprint}): {reason}")]
    Untrusted {
        /// The host name as given.
        host: String,
        /// The server certificate's SHA-1 thumbprint, to pass as `--thumbprint` after
        /// checking it out of band.
        thumbprint: String,
        /// Why normal verification failed.
        reason: String,
    },
    /// The certificate's thumbprint differs from the one given.
    #[error("Host \"{addr}\" thumbprint does not match \"{expected}\"")]
    ThumbprintMismatch {
        /// `host:port`.
        addr: String,
        /// The thumbprint given (normalised).
        expected: String,
        /// The server's actual thumbprint.
        actual: String,
    },
    /// The TLS handshake failed for another reason.
    #[error("TLS handshake with {addr}: {reason}")]
    Tls {
        /// `host:port`.
        addr: String,
        /// The handshake error.
        reason: String,
    },
    /// Reading or writing the connection failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The socket error.
        source: std::io::Error,
    },
    /// A request, wait or probe ran out of time.
    #[error("{what} timed out after {after:?}")]
    Timeout {
        /// What timed out (`RetrieveProperties`, `waiting for task-42`).
        what: String,
        /// The limit.
        after: Duration,
    },
    /// The server answered with an HTTP status other than 200, or a 500 without a SOAP fault.
    #[error("HTTP {status} from {url}: {excerpt}")]
    Http {
        /// The status code.
        status: u16,
        /// The URL requested.
        url: String,
        /// The start of the body, for diagnosis.
        excerpt: String,
    },
    /// The response was larger than the configured limit.
    #[error("the response exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The response was not valid HTTP or not a SOAP answer to the call.
    #[error("malformed response: {0}")]
    Protocol(String),
    /// The method raised a fault (SOAP fault, or a task that ended in error).
    #[error(transparent)]
    Fault(Fault),
    /// A Finder path matched nothing.
    #[error("{kind} '{path}' not found")]
    NotFound {
        /// `datacenter`, `resource pool`, …
        kind: &'static str,
        /// The path as given.
        path: String,
    },
    /// A Finder path matched more than one object where one was asked for.
    #[error("path '{path}' resolves to multiple {kind}s")]
    MultipleFound {
        /// `datacenter`, `resource pool`, …
        kind: &'static str,
        /// The path as given.
        path: String,
    },
    /// No default object exists.
    #[error("no default {kind} found")]
    DefaultNotFound {
        /// `datacenter`, `resource pool`, …
        kind: &'static str,
    },
    /// Several candidates exist, so there is no default.
    #[error("default {kind} resolves to multiple instances, please specify")]
    DefaultMultiple {
        /// `datacenter`, `resource pool`, …
        kind: &'static str,
    },
    /// A Finder lookup relative to the datacenter was made before one was chosen.
    #[error("please specify a datacenter")]
    NoDatacenter,
    /// The object waited on was deleted.
    #[error("{0} was deleted while waiting for it")]
    Deleted(MoRef),
}

impl Error {
    /// The fault, when this error is one.
    pub fn fault(&self) -> Option<&Fault> {
        match self {
            Error::Fault(f) => Some(f),
            _ => None,
        }
    }

    /// True when this is a fault of type `ty` (or a subtype).
    pub fn is_fault(&self, ty: &str) -> bool {
        self.fault().is_some_and(|f| f.is(ty))
    }
}

impl From<Fault> for Error {
    fn from(f: Fault) -> Error {
        Error::Fault(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_print_like_govmomi() {
        let soap = Fault {
            code: Some("ServerFaultCode".into()),
            ty: "InvalidLogin".into(),
            msg: "Cannot complete login due to an incorrect user name or password.".into(),
            fields: vec![],
        };
        assert_eq!(
            soap.to_string(),
            "ServerFaultCode: Cannot complete login due to an incorrect user name or password."
        );
        let task = Fault {
            code: None,
            ty: "InvalidPowerState".into(),
            msg: String::new(),
            fields: vec![],
        };
        assert_eq!(task.to_string(), "InvalidPowerState");
        assert!(task.is("InvalidState"));
        assert!(!task.is("InvalidLogin"));
    }

    #[test]
    fn finder_errors_print_like_govmomi() {
        let e = Error::MultipleFound {
            kind: "resource pool",
            path: "*/Resources".into(),
        };
        assert_eq!(
            e.to_string(),
            "path '*/Resources' resolves to multiple resource pools"
        );
        let e = Error::ThumbprintMismatch {
            addr: "vc:443".into(),
            expected: "AA".into(),
            actual: "BB".into(),
        };
        assert_eq!(
            e.to_string(),
            "Host \"vc:443\" thumbprint does not match \"AA\""
        );
    }
}
