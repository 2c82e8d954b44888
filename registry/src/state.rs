//! The registry's state machine: projects, repositories (their blob links, manifests and
//! tags) and the operations of the distribution API on them. HTTP knows nothing here: each
//! operation takes parsed names and a request body (any `http_body::Body`) and answers a
//! value or a [`RegistryError`]. Metadata sits behind one lock, persisted to
//! `repositories.json` (temp file, rename) when the registry has a data directory.

use crate::config::{DEFAULT_PROJECT, Project, RegistryConfig, RegistryLimits};
use crate::digest::{Digest, Hasher};
use crate::error::RegistryError;
use crate::manifest;
use crate::name::{Reference, RepoName};
use crate::storage::{BlobRead, Store, lock, write_atomic};
use crate::upload::{Session, Uploads, random_id};
use bytes::Bytes;
use http_body_util::BodyExt as _;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A repository's contents.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
struct Repo {
    /// Blobs linked into the repository, with their sizes.
    blobs: BTreeMap<Digest, u64>,
    /// Manifests by digest.
    manifests: BTreeMap<Digest, ManifestEntry>,
    /// Tags.
    tags: BTreeMap<String, Digest>,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct ManifestEntry {
    media_type: String,
    size_bytes: u64,
}

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Meta {
    repos: BTreeMap<RepoName, Repo>,
}

impl Meta {
    /// Whether any repository still references `d` (as a blob or a manifest).
    fn referenced(&self, d: &Digest) -> bool {
        self.repos
            .values()
            .any(|r| r.blobs.contains_key(d) || r.manifests.contains_key(d))
    }
}

/// A manifest as stored.
#[derive(Clone, Debug)]
pub struct StoredManifest {
    /// Its digest.
    pub digest: Digest,
    /// Its media type (the `Content-Type` to answer with).
    pub media_type: String,
    /// Its bytes.
    pub bytes: Bytes,
}

/// Which page of a list (`?n=&last=`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageRequest {
    /// At most this many entries.
    pub n: Option<usize>,
    /// Entries after this one.
    pub last: Option<String>,
}

/// One page of a sorted list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    /// The entries, sorted.
    pub entries: Vec<String>,
    /// Whether entries follow (the answer then carries a `Link` header).
    pub more: bool,
}

/// Cuts a page out of sorted entries.
pub fn paginate<'a>(
    sorted: impl Iterator<Item = &'a str>,
    req: &PageRequest,
    max_entries: usize,
) -> Page {
    let n = req.n.unwrap_or(max_entries).min(max_entries);
    let mut entries = Vec::new();
    let mut more = false;
    for e in sorted.filter(|e| req.last.as_deref().is_none_or(|l| *e > l)) {
        if entries.len() == n {
            more = true;
            break;
        }
        entries.push(e.to_owned());
    }
    Page { entries, more }
}

/// The registry: cheap to clone, shared by every connection.
#[derive(Clone)]
pub struct Registry {
    inner: Arc<Inner>,
}

struct Inner {
    limits: RegistryLimits,
    projects: HashMap<String, Project>,
    meta: Mutex<Meta>,
    store: Store,
    uploads: Uploads,
    pub(crate) auth: crate::auth::Auth,
}

impl Registry {
    /// A registry as configured: storage opened (metadata loaded from a data directory).
    pub fn new(config: &RegistryConfig) -> Result<Registry, RegistryError> {
        let mut projects: HashMap<String, Project> = HashMap::new();
        projects.insert(
            DEFAULT_PROJECT.to_owned(),
            Project {
                name: DEFAULT_PROJECT.to_owned(),
                public: true,
            },
        );
        for p in &config.projects {
            projects.insert(p.name.clone(), p.clone());
        }
        let (store, meta) = match &config.data_dir {
            None => (Store::memory(), Meta::default()),
            Some(dir) => {
                let store = Store::disk(dir)?;
                let meta = match store.meta_path().map(std::fs::read) {
                    Some(Ok(bytes)) => serde_json::from_slice(&bytes).map_err(|e| {
                        RegistryError::Storage(std::io::Error::other(format!(
                            "repositories.json: {e}"
                        )))
                    })?,
                    _ => Meta::default(),
                };
                (store, meta)
            }
        };
        let limits = config.limits;
        Ok(Registry {
            inner: Arc::new(Inner {
                limits,
                projects,
                meta: Mutex::new(meta),
                store,
                uploads: Uploads::new(limits.max_upload_sessions, limits.upload_idle_timeout),
                auth: crate::auth::Auth::new(&config.users, limits.max_tokens, limits.token_ttl),
            }),
        })
    }

    pub(crate) fn auth(&self) -> &crate::auth::Auth {
        &self.inner.auth
    }

    /// The bounds in force.
    pub fn limits(&self) -> RegistryLimits {
        self.inner.limits
    }

    /// The project named `name`.
    pub fn project(&self, name: &str) -> Option<&Project> {
        self.inner.projects.get(name)
    }

    fn require_project(&self, repo: &RepoName) -> Result<(), RegistryError> {
        match self.project(repo.project()) {
            Some(_) => Ok(()),
            None => Err(RegistryError::ProjectNotFound(repo.project().to_owned())),
        }
    }

    fn save(&self, meta: &Meta) -> Result<(), RegistryError> {
        if let Some(path) = self.inner.store.meta_path() {
            let bytes = serde_json::to_vec(meta).map_err(std::io::Error::other)?;
            write_atomic(&path, &bytes)?;
        }
        Ok(())
    }

    // ---- uploads -------------------------------------------------------------------------

    /// Opens an upload session in `repo`; returns its id.
    pub async fn start_upload(&self, repo: &RepoName) -> Result<String, RegistryError> {
        self.require_project(repo)?;
        let now = Instant::now();
        self.inner.uploads.check_room(now)?;
        let id = random_id()?;
        let buffer = self.inner.store.new_buffer(&id).await?;
        let session = Session {
            repo: repo.clone(),
            buffer,
            hasher: Hasher::new(),
            offset_bytes: 0,
        };
        drop(self.inner.uploads.insert(id.clone(), session, now)?);
        Ok(id)
    }

    /// Bytes an upload has received.
    pub fn upload_offset(&self, repo: &RepoName, id: &str) -> Result<u64, RegistryError> {
        let guard = self.inner.uploads.take(id, repo, Instant::now())?;
        Ok(guard.offset_bytes)
    }

    /// Appends a chunk; `range` (`Content-Range`, inclusive) must start at the current
    /// offset and match the bytes sent. A chunk that fails half-way (client gone, limit
    /// hit) is rolled back whole, so the session can be resumed. Returns the new offset.
    pub async fn upload_chunk<B>(
        &self,
        repo: &RepoName,
        id: &str,
        range: Option<(u64, u64)>,
        body: B,
    ) -> Result<u64, RegistryError>
    where
        B: http_body::Body<Data = Bytes> + Unpin,
        B::Error: std::fmt::Display,
    {
        let mut guard = self.inner.uploads.take(id, repo, Instant::now())?;
        let result = self.write_chunk(&mut guard, range, body).await;
        drop(guard);
        self.inner.uploads.touch(id, Instant::now());
        result
    }

    async fn write_chunk<B>(
        &self,
        s: &mut Session,
        range: Option<(u64, u64)>,
        mut body: B,
    ) -> Result<u64, RegistryError>
    where
        B: http_body::Body<Data = Bytes> + Unpin,
        B::Error: std::fmt::Display,
    {
        let start = s.offset_bytes;
        if let Some((first, last)) = range
            && (first != start || last < first)
        {
            return Err(RegistryError::RangeInvalid {
                offset_bytes: start,
            });
        }
        let saved = s.hasher.clone();
        let max = self.inner.limits.max_blob_bytes;
        let outcome: Result<(), RegistryError> = async {
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| {
                    RegistryError::BlobUploadInvalid(format!("request body ended early: {e}"))
                })?;
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                let len = data.len() as u64;
                if s.offset_bytes.saturating_add(len) > max {
                    return Err(RegistryError::TooLarge {
                        what: "blob",
                        limit_bytes: max,
                    });
                }
                s.buffer.append(&data).await?;
                s.hasher.update(&data);
                s.offset_bytes += len;
            }
            // `last - first + 1` overflows for a range ending at u64::MAX: no chunk is that
            // long, so such a range is simply wrong.
            if let Some((first, last)) = range
                && (last - first).checked_add(1) != Some(s.offset_bytes - start)
            {
                return Err(RegistryError::RangeInvalid {
                    offset_bytes: start,
                });
            }
            Ok(())
        }
        .await;
        if let Err(e) = outcome {
            s.buffer.truncate(start).await?;
            s.offset_bytes = start;
            s.hasher = saved;
            return Err(e);
        }
        Ok(s.offset_bytes)
    }

    /// Finishes an upload with an optional last chunk: the content must hash to `digest`
    /// (else `DIGEST_INVALID` and the upload is dropped, nothing stored).
    pub async fn finish_upload<B>(
        &self,
        repo: &RepoName,
        id: &str,
        digest: &str,
        range: Option<(u64, u64)>,
        body: B,
    ) -> Result<Digest, RegistryError>
    where
        B: http_body::Body<Data = Bytes> + Unpin,
        B::Error: std::fmt::Display,
    {
        let mut guard = self.inner.uploads.take(id, repo, Instant::now())?;
        let written = self.write_chunk(&mut guard, range, body).await;
        if let Err(e) = written {
            drop(guard);
            self.inner.uploads.touch(id, Instant::now());
            return Err(e);
        }
        // From here the session ends whatever happens.
        self.inner.uploads.remove(id);
        let expected = Digest::parse(digest).map_err(|_| RegistryError::DigestInvalid {
            expected: digest.to_owned(),
            actual: None,
        })?;
        let actual = guard.hasher.clone().finish();
        if actual != expected {
            return Err(RegistryError::DigestInvalid {
                expected: digest.to_owned(),
                actual: Some(actual),
            });
        }
        let size = guard.offset_bytes;
        let buffer = std::mem::replace(
            &mut guard.buffer,
            crate::storage::UploadBuffer::Memory(Vec::new()),
        );
        self.inner.store.commit(&actual, buffer).await?;
        let mut meta = lock(&self.inner.meta);
        meta.repos
            .entry(repo.clone())
            .or_default()
            .blobs
            .insert(actual.clone(), size);
        self.save(&meta)?;
        Ok(actual)
    }

    /// A monolithic upload: `POST …/blobs/uploads/?digest=` with the whole blob.
    pub async fn push_blob<B>(
        &self,
        repo: &RepoName,
        digest: &str,
        body: B,
    ) -> Result<Digest, RegistryError>
    where
        B: http_body::Body<Data = Bytes> + Unpin,
        B::Error: std::fmt::Display,
    {
        let id = self.start_upload(repo).await?;
        let result = self.finish_upload(repo, &id, digest, None, body).await;
        self.inner.uploads.remove(&id);
        result
    }

    /// Cancels an upload.
    pub fn cancel_upload(&self, repo: &RepoName, id: &str) -> Result<(), RegistryError> {
        drop(self.inner.uploads.take(id, repo, Instant::now())?);
        self.inner.uploads.remove(id);
        Ok(())
    }

    /// Upload sessions open now.
    pub fn upload_sessions(&self) -> usize {
        self.inner.uploads.len()
    }

    /// Drops upload sessions idle past the timeout.
    pub fn sweep_uploads(&self) {
        self.inner.uploads.sweep(Instant::now());
    }

    /// Links `digest` from `from` into `repo` (cross-repository mount). `Ok(false)`: `from`
    /// lacks the blob, and the client should upload it instead.
    pub fn mount(
        &self,
        repo: &RepoName,
        from: &RepoName,
        digest: &Digest,
    ) -> Result<bool, RegistryError> {
        self.require_project(repo)?;
        let mut meta = lock(&self.inner.meta);
        let Some(size) = meta
            .repos
            .get(from)
            .and_then(|r| r.blobs.get(digest))
            .copied()
        else {
            return Ok(false);
        };
        meta.repos
            .entry(repo.clone())
            .or_default()
            .blobs
            .insert(digest.clone(), size);
        self.save(&meta)?;
        Ok(true)
    }

    // ---- blobs ---------------------------------------------------------------------------

    /// The size of a blob linked in `repo`.
    pub fn stat_blob(&self, repo: &RepoName, digest: &Digest) -> Result<u64, RegistryError> {
        self.require_project(repo)?;
        lock(&self.inner.meta)
            .repos
            .get(repo)
            .and_then(|r| r.blobs.get(digest))
            .copied()
            .ok_or_else(|| RegistryError::BlobUnknown(digest.clone()))
    }

    /// Opens a blob linked in `repo`.
    pub async fn open_blob(
        &self,
        repo: &RepoName,
        digest: &Digest,
    ) -> Result<BlobRead, RegistryError> {
        self.stat_blob(repo, digest)?;
        self.inner
            .store
            .open(digest)
            .await?
            .ok_or_else(|| RegistryError::BlobUnknown(digest.clone()))
    }

    /// Unlinks a blob from `repo`; its bytes go once nothing references them.
    pub async fn delete_blob(&self, repo: &RepoName, digest: &Digest) -> Result<(), RegistryError> {
        self.require_project(repo)?;
        let orphan = {
            let mut meta = lock(&self.inner.meta);
            let removed = meta
                .repos
                .get_mut(repo)
                .and_then(|r| r.blobs.remove(digest));
            if removed.is_none() {
                return Err(RegistryError::BlobUnknown(digest.clone()));
            }
            self.save(&meta)?;
            !meta.referenced(digest)
        };
        if orphan {
            self.inner.store.remove(digest).await?;
        }
        Ok(())
    }

    // ---- manifests -----------------------------------------------------------------------

    /// Stores a manifest under a tag or its digest, after checking it references only
    /// content the repository has. The body is read up to `max_manifest_bytes`.
    pub async fn put_manifest<B>(
        &self,
        repo: &RepoName,
        reference: &Reference,
        content_type: Option<&str>,
        body: B,
    ) -> Result<Digest, RegistryError>
    where
        B: http_body::Body<Data = Bytes> + Unpin,
        B::Error: std::fmt::Display,
    {
        self.require_project(repo)?;
        let max = self.inner.limits.max_manifest_bytes;
        let bytes = read_limited(body, max).await?;
        let parsed = manifest::parse(content_type, &bytes)?;
        let digest = Digest::of(&bytes);
        if let Reference::Digest(claimed) = reference
            && *claimed != digest
        {
            return Err(RegistryError::DigestInvalid {
                expected: claimed.to_string(),
                actual: Some(digest),
            });
        }
        {
            let meta = lock(&self.inner.meta);
            let empty = Repo::default();
            let r = meta.repos.get(repo).unwrap_or(&empty);
            if let Some(missing) = parsed.blobs.iter().find(|d| !r.blobs.contains_key(d)) {
                return Err(RegistryError::ManifestBlobUnknown(missing.clone()));
            }
            if let Some(missing) = parsed
                .manifests
                .iter()
                .find(|d| !r.manifests.contains_key(d))
            {
                return Err(RegistryError::ManifestBlobUnknown(missing.clone()));
            }
        }
        let size_bytes = bytes.len() as u64;
        self.inner.store.put(&digest, bytes).await?;
        let mut meta = lock(&self.inner.meta);
        let r = meta.repos.entry(repo.clone()).or_default();
        r.manifests.insert(
            digest.clone(),
            ManifestEntry {
                media_type: parsed.media_type,
                size_bytes,
            },
        );
        if let Reference::Tag(tag) = reference {
            r.tags.insert(tag.clone(), digest.clone());
        }
        self.save(&meta)?;
        Ok(digest)
    }

    fn resolve(&self, repo: &RepoName, reference: &Reference) -> Result<Digest, RegistryError> {
        self.require_project(repo)?;
        let meta = lock(&self.inner.meta);
        let unknown = || RegistryError::ManifestUnknown(reference.to_string());
        let r = meta.repos.get(repo).ok_or_else(unknown)?;
        let digest = match reference {
            Reference::Tag(t) => r.tags.get(t).cloned().ok_or_else(unknown)?,
            Reference::Digest(d) => d.clone(),
        };
        if r.manifests.contains_key(&digest) {
            Ok(digest)
        } else {
            Err(unknown())
        }
    }

    /// A manifest by tag or digest.
    pub async fn get_manifest(
        &self,
        repo: &RepoName,
        reference: &Reference,
    ) -> Result<StoredManifest, RegistryError> {
        let digest = self.resolve(repo, reference)?;
        let media_type = lock(&self.inner.meta)
            .repos
            .get(repo)
            .and_then(|r| r.manifests.get(&digest))
            .map(|m| m.media_type.clone())
            .ok_or_else(|| RegistryError::ManifestUnknown(reference.to_string()))?;
        let bytes = self
            .inner
            .store
            .read_small(&digest)
            .await?
            .ok_or_else(|| RegistryError::ManifestUnknown(reference.to_string()))?;
        Ok(StoredManifest {
            digest,
            media_type,
            bytes,
        })
    }

    /// Deletes a tag (by tag), or a manifest and every tag on it (by digest).
    pub async fn delete_manifest(
        &self,
        repo: &RepoName,
        reference: &Reference,
    ) -> Result<(), RegistryError> {
        let digest = self.resolve(repo, reference)?;
        let orphan = {
            let mut meta = lock(&self.inner.meta);
            let r = meta
                .repos
                .get_mut(repo)
                .ok_or_else(|| RegistryError::ManifestUnknown(reference.to_string()))?;
            match reference {
                Reference::Tag(t) => {
                    r.tags.remove(t);
                }
                Reference::Digest(_) => {
                    r.manifests.remove(&digest);
                    r.tags.retain(|_, d| *d != digest);
                }
            }
            self.save(&meta)?;
            !meta.referenced(&digest)
        };
        if orphan {
            self.inner.store.remove(&digest).await?;
        }
        Ok(())
    }

    // ---- listings ------------------------------------------------------------------------

    /// A page of `repo`'s tags, sorted.
    pub fn tags(&self, repo: &RepoName, page: &PageRequest) -> Result<Page, RegistryError> {
        self.require_project(repo)?;
        let meta = lock(&self.inner.meta);
        let r = meta
            .repos
            .get(repo)
            .filter(|r| !r.manifests.is_empty())
            .ok_or_else(|| RegistryError::NameUnknown(repo.to_string()))?;
        Ok(paginate(
            r.tags.keys().map(String::as_str),
            page,
            self.inner.limits.max_page_entries,
        ))
    }

    /// A page of the repositories holding a manifest, sorted.
    pub fn catalog(&self, page: &PageRequest) -> Page {
        let meta = lock(&self.inner.meta);
        let names = meta
            .repos
            .iter()
            .filter(|(_, r)| !r.manifests.is_empty())
            .map(|(n, _)| n.as_str());
        paginate(names, page, self.inner.limits.max_page_entries)
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;

/// Reads a whole body of at most `max_bytes` (`413` beyond).
pub(crate) async fn read_limited<B>(mut body: B, max_bytes: u64) -> Result<Bytes, RegistryError>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            RegistryError::ManifestInvalid(format!("request body ended early: {e}"))
        })?;
        if let Ok(data) = frame.into_data() {
            if (out.len() + data.len()) as u64 > max_bytes {
                return Err(RegistryError::TooLarge {
                    what: "manifest",
                    limit_bytes: max_bytes,
                });
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(out))
}
