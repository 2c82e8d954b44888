//! The runner's steps and the conformance suites act as `docker` against a VCH through
//! [`vic::engine::client`], with the global options vic-machine printed: docker CLI words in,
//! the CLI's output or the refusal out. Only the engine speaks Docker JSON/HTTP.

use vic::engine::client::{CliOutput, ClientError, DockerClient, GlobalOptions, parse_command};

/// A VCH's Docker endpoint.
#[derive(Debug)]
pub(crate) struct Docker {
    /// The typed client, for queries.
    pub client: DockerClient,
}

/// A refusal as the case texts quote it: the daemon's own `message`, or the CLI's words.
pub(crate) fn refusal(e: &ClientError) -> String {
    match e {
        ClientError::Daemon { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

impl Docker {
    /// The endpoint vic-machine's `Connect to docker:` options name.
    pub fn from_args(args: &[String]) -> Result<Docker, String> {
        let global = GlobalOptions::from_args(args).map_err(|e| format!("docker {args:?}: {e}"))?;
        let client = DockerClient::new(&global).map_err(|e| format!("docker {args:?}: {e}"))?;
        Ok(Docker { client })
    }

    /// `docker WORDS…`: `Ok(Ok(output))`; `Ok(Err(refusal))` when the command line (as the CLI
    /// checks it, [`ClientError::Usage`]) or the daemon refused; `Err` when the endpoint could
    /// not be reached.
    pub async fn try_run<S: AsRef<str>>(
        &self,
        words: &[S],
    ) -> Result<Result<CliOutput, ClientError>, String> {
        let argv: Vec<String> = words.iter().map(|w| w.as_ref().to_owned()).collect();
        let cmd = match parse_command(&argv) {
            Ok(cmd) => cmd,
            Err(e) => return Ok(Err(ClientError::Usage(e))),
        };
        let out = self
            .client
            .execute(&cmd)
            .await
            .map_err(|e| format!("docker {}: {e}", argv.join(" ")))?;
        Ok(match out.error {
            Some(e) => Err(e),
            None if out.exit_code != 0 => Err(ClientError::Stream(out.stderr.trim().to_owned())),
            None => Ok(out),
        })
    }

    /// `docker WORDS…` expected to succeed.
    pub async fn run<S: AsRef<str>>(&self, words: &[S]) -> Result<CliOutput, String> {
        let argv: Vec<&str> = words.iter().map(AsRef::as_ref).collect();
        let line = argv.join(" ");
        (self.try_run(&argv).await?).map_err(|e| format!("docker {line}: {e}"))
    }
}
