//! Pushing an image as docker does: each layer looked up with `HEAD
//! /v2/<repo>/blobs/<digest>` (present: "Layer already exists"), else uploaded in one
//! piece — `POST /v2/<repo>/blobs/uploads/`, then `PUT <Location>?digest=<digest>` with
//! the whole blob; then the config the same way (docker shows no line for it); then `PUT
//! /v2/<repo>/manifests/<tag>` of the schema 2 manifest ([`manifest_for`]). Refusals are
//! shown as the registry words them (`unauthorized: authentication required`, `denied:
//! requested access to the resource is denied`): dockerd does not translate push errors.

use super::auth::{push_scope, split_url};
use super::client::{Client, Request};
use super::error::{DistributionError, refusal};
use super::{
    DOCKER_MANIFEST, PushEvent, PushImage, Pushed, check_repository, is_sha256_digest,
    manifest_for, sha256_digest,
};
use bytes::Bytes;

impl Client {
    /// Pushes `image` to `repository` under `tag`, reporting each layer's progress to
    /// `progress`; returns the manifest's digest and size.
    pub async fn push(
        &self,
        repository: &str,
        tag: &str,
        image: &PushImage,
        progress: &mut (dyn FnMut(PushEvent) + Send),
    ) -> Result<Pushed, DistributionError> {
        check_repository(repository)?;
        if !super::is_tag(tag) {
            return Err(DistributionError::InvalidReference {
                text: "invalid reference format".into(),
            });
        }
        let scope = push_scope(repository);
        for layer in &image.layers {
            let digest = sha256_digest(layer);
            progress(PushEvent::Preparing {
                digest: digest.clone(),
            });
            if self.blob_exists(repository, &scope, &digest).await? {
                progress(PushEvent::Exists { digest });
                continue;
            }
            progress(PushEvent::Pushing {
                digest: digest.clone(),
                bytes: layer.len() as u64,
            });
            self.upload(repository, &scope, &digest, layer).await?;
            progress(PushEvent::Pushed { digest });
        }
        let config_digest = sha256_digest(&image.config);
        if !self.blob_exists(repository, &scope, &config_digest).await? {
            self.upload(repository, &scope, &config_digest, &image.config)
                .await?;
        }
        let (manifest, digest) = manifest_for(image);
        let size = manifest.len() as u64;
        let mut req = Request::new("PUT", format!("/v2/{repository}/manifests/{tag}"));
        req.headers
            .push(("Content-Type", DOCKER_MANIFEST.to_owned()));
        req.body = manifest;
        let resp = self.send(&req, Some(&scope)).await?;
        if resp.status != 201 {
            return Err(refusal(&resp).into_error());
        }
        if let Some(stored) = resp.header_values("docker-content-digest").next()
            && is_sha256_digest(stored)
            && stored != digest
        {
            return Err(DistributionError::Protocol {
                text: format!(
                    "the registry stored the manifest as {stored}, but its digest is {digest}"
                ),
            });
        }
        Ok(Pushed { digest, size })
    }

    /// Whether `repository` has the blob `digest` (`HEAD`: `200` yes, `404` no).
    async fn blob_exists(
        &self,
        repository: &str,
        scope: &str,
        digest: &str,
    ) -> Result<bool, DistributionError> {
        let mut req = Request::new("HEAD", format!("/v2/{repository}/blobs/{digest}"));
        // A HEAD answer has no body, but its `Content-Length` is the blob's size, which the
        // body bound would refuse.
        req.max_body_bytes = usize::MAX;
        let resp = self.send(&req, Some(scope)).await?;
        match resp.status {
            200 => Ok(true),
            404 => Ok(false),
            _ => Err(refusal(&resp).into_error()),
        }
    }

    /// Uploads `data` as `digest` in one piece: a session, then the `PUT` closing it.
    async fn upload(
        &self,
        repository: &str,
        scope: &str,
        digest: &str,
        data: &Bytes,
    ) -> Result<(), DistributionError> {
        let start = Request::new("POST", format!("/v2/{repository}/blobs/uploads/"));
        let resp = self.send(&start, Some(scope)).await?;
        if resp.status != 202 {
            return Err(refusal(&resp).into_error());
        }
        let location =
            resp.header_values("location")
                .next()
                .ok_or_else(|| DistributionError::Protocol {
                    text: format!(
                        "Post {}: the upload session has no Location",
                        self.url(&start.target)
                    ),
                })?;
        let target = self.location_target(location)?;
        let sep = if target.contains('?') { '&' } else { '?' };
        let mut put = Request::new("PUT", format!("{target}{sep}digest={digest}"));
        put.headers
            .push(("Content-Type", "application/octet-stream".to_owned()));
        put.body = data.clone();
        let resp = self.send(&put, Some(scope)).await?;
        if resp.status != 201 {
            return Err(refusal(&resp).into_error());
        }
        Ok(())
    }

    /// The path and query of an upload `Location`: relative to the registry, or absolute
    /// on the registry's own host.
    fn location_target(&self, location: &str) -> Result<String, DistributionError> {
        if location.starts_with('/') && !location.starts_with("//") {
            return Ok(location.to_owned());
        }
        match split_url(location) {
            Some((_, authority, target))
                if authority.eq_ignore_ascii_case(&self.endpoint().host) =>
            {
                Ok(target)
            }
            _ => Err(DistributionError::Protocol {
                text: format!("the upload Location {location:?} is not on the registry"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distribution::{Endpoint, Transport};

    #[test]
    fn upload_locations() {
        let client = Client::new(
            Endpoint {
                host: "registry.corp.local:5000".into(),
                addr: "127.0.0.1:5000".parse().expect("addr"),
                transport: Transport::Plain,
            },
            None,
        );
        assert_eq!(
            client.location_target("/v2/a/blobs/uploads/x?s=1").ok(),
            Some("/v2/a/blobs/uploads/x?s=1".to_owned())
        );
        assert_eq!(
            client
                .location_target("https://REGISTRY.corp.local:5000/v2/a/blobs/uploads/x")
                .ok(),
            Some("/v2/a/blobs/uploads/x".to_owned())
        );
        for bad in ["//evil/x", "https://evil/v2/", "relative/x", ""] {
            assert!(client.location_target(bad).is_err(), "{bad}");
        }
    }
}
