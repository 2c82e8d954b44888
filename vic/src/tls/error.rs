//! Errors of [`crate::tls`], with VIC's exact messages where vic.md §4 gives them.

use std::io;
use std::path::PathBuf;

/// Why certificate processing or TLS configuration failed.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Only one of `--tls-server-cert`/`--tls-server-key` was given.
    #[error("key and cert should be specified at the same time")]
    ServerPairIncomplete,

    /// Two TLS flags that contradict each other (`--no-tls` with any certificate flag,
    /// `--tls-ca` with `--no-tlsverify`). vic.md has no text for this: VIC accepts such
    /// combinations and silently ignores one side, so the message is ours, in VIC's style.
    #[error("{flag} cannot be used with {with}: {why}")]
    FlagConflict {
        /// The flag that is ignored by the other.
        flag: &'static str,
        /// The flag that overrides it.
        with: &'static str,
        /// What the combination would mean.
        why: &'static str,
    },

    /// A `--tls-ca` file (or the cert path's `ca.pem`) could not be read.
    #[error("Failed to load authority from file {}: {source}", path.display())]
    CaFileRead {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },

    /// A server certificate or key file could not be read. (VIC surfaces Go's `open` error;
    /// vic.md gives no text, so this names the file and the OS error.)
    #[error("Failed to read {what} {}: {source}", path.display())]
    FileRead {
        /// `server certificate` or `server key`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },

    /// The certificate/key pair does not load; the text is Go's `tls.X509KeyPair` error,
    /// which VIC shows verbatim (vic.md §4.2 step 5.2).
    #[error("{0}")]
    KeyPair(String),

    /// The server certificate is outside its validity window. (Not in vic.md: VIC serves an
    /// expired certificate and every client then fails; refusing up front is kinder.)
    #[error(
        "server certificate {} is not valid at {now}: valid from {not_before} until {not_after}",
        path.display()
    )]
    ServerCertNotValid {
        /// The certificate file.
        path: PathBuf,
        /// The time checked.
        now: time::OffsetDateTime,
        /// Its NotBefore.
        not_before: time::OffsetDateTime,
        /// Its NotAfter.
        not_after: time::OffsetDateTime,
    },

    /// The existing server certificate's CN is not the requested cname (VIC issue #3399).
    #[error(
        "cname option doesn't match existing server certificate in certificate path {}",
        cert_path.display()
    )]
    CnameMismatch {
        /// The cert path.
        cert_path: PathBuf,
    },

    /// Generation needs an empty (or missing) cert path.
    #[error(
        "Specified directory to store certificates is not empty. Specify a new path in which to \
         store generated certificates using --tls-cert-path or remove the contents of \"{}\" and \
         run vic-machine again.",
        path.display()
    )]
    CertDirNotEmpty {
        /// The cert path.
        path: PathBuf,
    },

    /// tlsverify generation without a cname (the default DHCP create; must-get-right #1).
    #[error("provide Common Name for server certificate")]
    MissingCname,

    /// tlsverify is on but no CA was loaded or generated.
    #[error("Failed to load or generate certificate authority")]
    NoCertificateAuthority,

    /// No server certificate was loaded or generated.
    #[error("Failed to load or generate server certificates")]
    NoServerCertificate,

    /// The validator's check: CAs without a server certificate.
    #[error("Certificate authority specified, but no TLS certificate provided")]
    CaWithoutServerCert,

    /// A CA bundle holds no parseable certificate (e.g. a key file passed as `--tls-ca`).
    #[error("Unable to load certificate authority data")]
    CaData,

    /// `--certificate-key-size` other than 2048, 3072 or 4096 (the sizes the RSA generator
    /// supports; VIC accepts any size Go's generator does).
    #[error("unsupported --certificate-key-size {0}: use 2048, 3072 or 4096")]
    UnsupportedKeySize(u32),

    /// More than two subject organizations (the certificate builder holds at most two `O`
    /// attributes).
    #[error("at most 2 --organization values are supported, got {0}")]
    TooManyOrganizations(usize),

    /// A file-system operation on the cert path failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, with the path.
        context: String,
        /// Why.
        source: io::Error,
    },

    /// The certificate generator failed (e.g. a cname that is not a valid DNS name).
    #[error("unable to generate certificates: {0}")]
    Generate(String),

    /// [`crate::tls::server_config`] was asked for a `--no-tls` endpoint.
    #[error("no TLS configuration: the endpoint runs without TLS (--no-tls)")]
    NoTls,

    /// rustls refused the configuration.
    #[error("TLS configuration failed: {0}")]
    Config(String),
}

impl TlsError {
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}
