//! A VCH's Docker endpoint as a scenario step sees it: the docker CLI's global options that
//! vic-machine printed (`-H 127.0.1.2:2376 --tlsverify --tlscacert=…`) plus the step's command
//! line, run by `vic::engine::client` as the docker CLI would.

use vic::engine::client::{DockerClient, GlobalOptions};

use crate::testbed::VchHandle;

/// One VCH endpoint.
pub struct Endpoint {
    global: Vec<String>,
    client: DockerClient,
}

impl Endpoint {
    /// A client with the VCH's connection options.
    pub fn connect(h: &VchHandle) -> Result<Endpoint, String> {
        let global = GlobalOptions::from_args(&h.docker_args).map_err(|e| e.to_string())?;
        let client = DockerClient::new(&global).map_err(|e| e.to_string())?;
        Ok(Endpoint {
            global: h.docker_args.clone(),
            client,
        })
    }

    /// Runs `argv` (without `docker`): the CLI's output, or its error text.
    pub async fn execute(&mut self, argv: &[String]) -> Result<String, String> {
        let mut words = self.global.clone();
        words.extend(argv.iter().cloned());
        let invocation = vic::engine::client::parse(&words).map_err(|e| e.to_string())?;
        let out = self.client.execute_cli(&invocation.command).await;
        if out.exit_code == 0 {
            Ok(out.stdout.trim().to_owned())
        } else {
            // The failure itself (`Error response from daemon: …`), not the pull progress
            // the CLI prints before it.
            let why = out
                .error
                .as_ref()
                .map_or_else(|| out.stderr.trim().to_owned(), |e| e.to_string());
            Err(format!("exit {}: {why}", out.exit_code))
        }
    }
}
