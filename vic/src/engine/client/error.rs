//! The client's two error types: [`CliError`] for a command line it cannot run (found while
//! parsing, before any connection), [`ClientError`] for everything after that. Messages
//! follow the docker CLI's wording where it has an equivalent.

/// A docker command line the client cannot run. Each message is the first line the docker
/// CLI prints for the same mistake, where it has one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CliError {
    /// A long flag the command does not know (`unknown flag: --foo`).
    #[error("unknown flag: {0}")]
    UnknownFlag(String),
    /// A short flag the command does not know (`unknown shorthand flag: 'z' in -z`).
    #[error("unknown shorthand flag: '{flag}' in -{group}")]
    UnknownShorthand {
        /// The letter.
        flag: char,
        /// The `-…` word it came in, without the dash.
        group: String,
    },
    /// A flag that takes a value came last (`flag needs an argument: --name`, or
    /// `flag needs an argument: 'm' in -m`).
    #[error("flag needs an argument: {0}")]
    MissingValue(String),
    /// A flag value that does not parse.
    #[error("invalid argument \"{value}\" for \"{flag}\" flag: {reason}")]
    InvalidValue {
        /// The flag as the CLI names it (`-m, --memory`).
        flag: String,
        /// The value given.
        value: String,
        /// Why it does not parse.
        reason: String,
    },
    /// Too few or too many positional arguments (`'docker stop' requires at least 1
    /// argument`).
    #[error("'docker {command}' {requirement}")]
    Arguments {
        /// The command (`stop`, `container ls`).
        command: String,
        /// `requires at least 1 argument`, `requires 2 arguments`, `accepts no arguments`.
        requirement: String,
    },
    /// No command, or one docker does not have (`unknown command: docker foo`).
    #[error("unknown command: docker {0}")]
    UnknownCommand(String),
    /// A docker command or flag this client does not implement.
    #[error("docker {what} is not supported by the testbed's docker client: {why}")]
    Unsupported {
        /// The command or flag (`exec`, `ps --format`).
        what: String,
        /// Why, or what to do instead.
        why: String,
    },
    /// `docker run -i` without `-d`, or `docker start -a`: attaches this client does not
    /// make (it attaches stdout and stderr for a foreground `run` and a plain `exec`, and
    /// sends no stdin).
    #[error("docker {what} needs an attach this client does not make; {advice}")]
    NeedsAttach {
        /// `run -i without -d`, `start -a`.
        what: &'static str,
        /// `drop -i, or add -d`.
        advice: &'static str,
    },
    /// An empty command line.
    #[error("no docker command given")]
    NoCommand,
    /// A value or combination the CLI rejects before sending anything, in its words
    /// (`conflicting options: cannot specify both --restart and --rm`).
    #[error("{0}")]
    Rejected(String),
    /// The connection options are unusable (`-H`, the TLS files, the environment line).
    #[error("{0}")]
    Connection(String),
    /// A command line with an unterminated quote or a trailing backslash.
    #[error("cannot split the command line: {0}")]
    Quoting(String),
}

impl CliError {
    /// The exit code the docker CLI gives the same mistake: 125 for flag errors (and, here,
    /// the attach and unsupported refusals), 1 for argument counts and unknown commands.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Arguments { .. }
            | CliError::UnknownCommand(_)
            | CliError::NoCommand
            | CliError::Connection(_)
            | CliError::Quoting(_) => 1,
            _ => 125,
        }
    }
}

/// Why a command against the endpoint failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The TCP connection failed (refused, unreachable, timed out).
    #[error("Cannot connect to the Docker daemon at {url}. Is the docker daemon running?")]
    Connect {
        /// `tcp://host:port`.
        url: String,
        /// The operating system's reason.
        reason: String,
    },
    /// The TLS handshake failed, or the server ended the session with a TLS alert (a
    /// missing or untrusted client certificate shows up as one under TLS 1.3).
    #[error("error during connect: TLS with {url} failed: {reason}")]
    Tls {
        /// `tcp://host:port`.
        url: String,
        /// rustls' reason (`invalid peer certificate: UnknownIssuer`, `received fatal alert:
        /// CertificateRequired`).
        reason: String,
    },
    /// The TLS files could not be read or used (a missing CA file, a key that does not
    /// match its certificate).
    #[error("unable to load the TLS configuration: {0}")]
    TlsConfig(String),
    /// The HTTP exchange failed: the server closed the connection, answered with something
    /// that is not HTTP, or sent more than the body limit.
    #[error("error during connect: {method} {url}{path}: {reason}")]
    Http {
        /// The request method.
        method: String,
        /// `tcp://host:port`.
        url: String,
        /// The request path.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// Connecting or the exchange took longer than its limit.
    #[error("{what} {url} timed out after {after_ms} ms")]
    Timeout {
        /// `connecting to`, `GET /v1.25/containers/json on`.
        what: String,
        /// `tcp://host:port`.
        url: String,
        /// The limit.
        after_ms: u64,
    },
    /// The daemon refused the request: an HTTP error status with its `message`.
    #[error("Error response from daemon: {message}")]
    Daemon {
        /// The HTTP status.
        status: u16,
        /// The daemon's message (the body's `message`, or the body text).
        message: String,
    },
    /// An error inside a streamed answer (a pull's `{"error": …}` line). The docker CLI
    /// prints these without the `Error response from daemon:` prefix.
    #[error("{0}")]
    Stream(String),
    /// A successful answer the client could not read (not the JSON expected).
    #[error("unexpected answer from the daemon to {what}: {reason}")]
    Decode {
        /// The request.
        what: String,
        /// What was wrong with it.
        reason: String,
    },
    /// The command line itself.
    #[error(transparent)]
    Usage(#[from] CliError),
}

impl ClientError {
    /// Whether this is the daemon's refusal with `status`.
    pub fn is_daemon(&self, status: u16) -> bool {
        matches!(self, ClientError::Daemon { status: s, .. } if *s == status)
    }
}
