//! Where blob (and manifest) bytes live: in memory, or on disk under `data_dir` as
//! `blobs/sha256/<first two hex>/<hex>`. Uploads grow in an [`UploadBuffer`] (a `Vec`, or a
//! temp file under `data_dir/uploads/`) that is renamed into place only once its digest is
//! verified, so nothing half-written is ever visible under a digest.

use crate::digest::Digest;
use bytes::Bytes;
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tokio::io::AsyncWriteExt as _;

/// The content-addressed store.
#[derive(Debug)]
pub(crate) enum Store {
    /// Bytes in memory, by digest.
    Memory(Mutex<HashMap<Digest, Bytes>>),
    /// Files under a directory.
    Disk {
        /// The data directory.
        root: PathBuf,
    },
}

/// A stored blob opened for reading.
#[derive(Debug)]
pub enum BlobRead {
    /// In memory.
    Memory(Bytes),
    /// An open file and its length.
    File(tokio::fs::File, u64),
}

/// The bytes of an upload in progress.
#[derive(Debug)]
pub(crate) enum UploadBuffer {
    /// In memory.
    Memory(Vec<u8>),
    /// A temp file, removed when the buffer is dropped uncommitted.
    File {
        file: tokio::fs::File,
        path: PathBuf,
        committed: bool,
    },
}

impl Drop for UploadBuffer {
    fn drop(&mut self) {
        if let UploadBuffer::File {
            path,
            committed: false,
            ..
        } = self
        {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl UploadBuffer {
    /// Appends bytes.
    pub(crate) async fn append(&mut self, data: &[u8]) -> io::Result<()> {
        match self {
            UploadBuffer::Memory(v) => {
                v.extend_from_slice(data);
                Ok(())
            }
            UploadBuffer::File { file, .. } => file.write_all(data).await,
        }
    }

    /// Cuts the buffer back to `len_bytes` (a chunk that failed half-way).
    pub(crate) async fn truncate(&mut self, len_bytes: u64) -> io::Result<()> {
        match self {
            UploadBuffer::Memory(v) => {
                v.truncate(usize::try_from(len_bytes).unwrap_or(usize::MAX));
                Ok(())
            }
            UploadBuffer::File { file, .. } => {
                file.flush().await?;
                file.set_len(len_bytes).await?;
                // The cursor stays where it was; put it back at the new end.
                use tokio::io::AsyncSeekExt as _;
                file.seek(io::SeekFrom::Start(len_bytes)).await.map(|_| ())
            }
        }
    }
}

impl Store {
    /// A memory store.
    pub(crate) fn memory() -> Store {
        Store::Memory(Mutex::new(HashMap::new()))
    }

    /// A disk store under `root` (directories created).
    pub(crate) fn disk(root: &Path) -> io::Result<Store> {
        std::fs::create_dir_all(root.join("blobs/sha256"))?;
        let uploads = root.join("uploads");
        // Leftovers of a process that died mid-upload are never resumable: drop them.
        let _ = std::fs::remove_dir_all(&uploads);
        std::fs::create_dir_all(&uploads)?;
        Ok(Store::Disk {
            root: root.to_owned(),
        })
    }

    fn blob_path(root: &Path, d: &Digest) -> PathBuf {
        let hex = d.hex();
        root.join("blobs/sha256").join(&hex[..2]).join(hex)
    }

    /// A new, empty upload buffer.
    pub(crate) async fn new_buffer(&self, id: &str) -> io::Result<UploadBuffer> {
        match self {
            Store::Memory(_) => Ok(UploadBuffer::Memory(Vec::new())),
            Store::Disk { root } => {
                let path = root.join("uploads").join(id);
                let file = tokio::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&path)
                    .await?;
                Ok(UploadBuffer::File {
                    file,
                    path,
                    committed: false,
                })
            }
        }
    }

    /// Makes a verified upload visible under `digest`.
    pub(crate) async fn commit(&self, digest: &Digest, buffer: UploadBuffer) -> io::Result<()> {
        let mut buffer = buffer;
        match (self, &mut buffer) {
            (Store::Memory(map), UploadBuffer::Memory(v)) => {
                let bytes = Bytes::from(std::mem::take(v));
                lock(map).entry(digest.clone()).or_insert(bytes);
                Ok(())
            }
            (
                Store::Disk { root },
                UploadBuffer::File {
                    file,
                    path,
                    committed,
                },
            ) => {
                file.flush().await?;
                file.sync_all().await?;
                let target = Store::blob_path(root, digest);
                if let Some(dir) = target.parent() {
                    tokio::fs::create_dir_all(dir).await?;
                }
                // Same content under the same name: a rename over it is harmless.
                tokio::fs::rename(&path, &target).await?;
                *committed = true;
                Ok(())
            }
            _ => Err(io::Error::other(
                "upload buffer does not belong to this store",
            )),
        }
    }

    /// Stores small content (a manifest) under its digest.
    pub(crate) async fn put(&self, digest: &Digest, data: Bytes) -> io::Result<()> {
        let id = format!("put-{}", crate::upload::random_id()?);
        let mut buffer = self.new_buffer(&id).await?;
        match &mut buffer {
            UploadBuffer::Memory(v) => *v = data.to_vec(),
            UploadBuffer::File { .. } => buffer.append(&data).await?,
        }
        self.commit(digest, buffer).await
    }

    /// Opens a stored blob.
    pub(crate) async fn open(&self, digest: &Digest) -> io::Result<Option<BlobRead>> {
        match self {
            Store::Memory(map) => Ok(lock(map).get(digest).cloned().map(BlobRead::Memory)),
            Store::Disk { root } => {
                match tokio::fs::File::open(Store::blob_path(root, digest)).await {
                    Ok(f) => {
                        let len = f.metadata().await?.len();
                        Ok(Some(BlobRead::File(f, len)))
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// Reads small stored content (a manifest) whole.
    pub(crate) async fn read_small(&self, digest: &Digest) -> io::Result<Option<Bytes>> {
        match self {
            Store::Memory(map) => Ok(lock(map).get(digest).cloned()),
            Store::Disk { root } => match tokio::fs::read(Store::blob_path(root, digest)).await {
                Ok(v) => Ok(Some(Bytes::from(v))),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
            },
        }
    }

    /// Removes stored content (nothing references it any more).
    pub(crate) async fn remove(&self, digest: &Digest) -> io::Result<()> {
        match self {
            Store::Memory(map) => {
                lock(map).remove(digest);
                Ok(())
            }
            Store::Disk { root } => {
                match tokio::fs::remove_file(Store::blob_path(root, digest)).await {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                    _ => Ok(()),
                }
            }
        }
    }

    /// The metadata file of a disk store.
    pub(crate) fn meta_path(&self) -> Option<PathBuf> {
        match self {
            Store::Memory(_) => None,
            Store::Disk { root } => Some(root.join("repositories.json")),
        }
    }
}

/// Writes `data` to `path` through a temp file and a rename (readers see old or new).
pub(crate) fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, data)?;
    std::fs::rename(&tmp, path)
}

/// Locks a std mutex, recovering from poisoning (a panicked holder left valid data: every
/// update is a single insert or remove).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn disk_uploads_appear_only_when_committed_and_vanish_when_dropped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::disk(dir.path()).expect("store");
        let d = Digest::of(b"hello");
        let mut buf = store.new_buffer("u1").await.expect("buffer");
        buf.append(b"hel").await.expect("append");
        assert!(store.open(&d).await.expect("open").is_none());
        buf.append(b"lo!!").await.expect("append");
        buf.truncate(5).await.expect("truncate");
        store.commit(&d, buf).await.expect("commit");
        let path = dir
            .path()
            .join("blobs/sha256")
            .join(&d.hex()[..2])
            .join(d.hex());
        assert_eq!(std::fs::read(path).expect("blob"), b"hello");
        assert_eq!(
            store.read_small(&d).await.expect("read").as_deref(),
            Some(&b"hello"[..])
        );

        let abandoned = store.new_buffer("u2").await.expect("buffer");
        assert!(dir.path().join("uploads/u2").exists());
        drop(abandoned);
        assert!(!dir.path().join("uploads/u2").exists());
        store.remove(&d).await.expect("remove");
        assert!(store.open(&d).await.expect("open").is_none());
    }
}
