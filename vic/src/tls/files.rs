//! Generated certificate files between selection and disk: [`PendingFiles`] holds what
//! selection decided to write, [`PendingFiles::commit`] writes it (directory 0700, keys 0600,
//! certificates 0644) and returns [`WrittenFiles`], which can take exactly those files and
//! the directories it created back off the disk when a later step fails.
//!
//! VIC writes certificates during parameter processing and leaves them behind when create
//! fails later (vic.md §4.2 "Files survive failure"). Here nothing is written until every
//! check has passed, and a failed create removes what it wrote, so a retry starts clean.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use super::error::TlsError;
use super::generate;

/// One file to write.
#[derive(Clone)]
struct PendingFile {
    path: PathBuf,
    contents: String,
    mode: u32,
}

/// Files selection generated but has not written yet. The contents include private keys:
/// `Debug` prints only the paths.
#[derive(Clone, Default)]
pub struct PendingFiles {
    dir: Option<PathBuf>,
    files: Vec<PendingFile>,
}

impl fmt::Debug for PendingFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingFiles")
            .field("dir", &self.dir)
            .field(
                "files",
                &self.files.iter().map(|p| &p.path).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl PendingFiles {
    /// Nothing yet, to be written into `dir`.
    pub(crate) fn new(dir: &Path) -> PendingFiles {
        PendingFiles {
            dir: Some(dir.to_path_buf()),
            files: Vec::new(),
        }
    }

    /// Queues `contents` for `path` with `mode`.
    pub(crate) fn push(&mut self, path: &Path, contents: &str, mode: u32) {
        self.files.push(PendingFile {
            path: path.to_path_buf(),
            contents: contents.to_owned(),
            mode,
        });
    }

    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The files that [`PendingFiles::commit`] would write, in order.
    pub fn paths(&self) -> Vec<&Path> {
        self.files.iter().map(|f| f.path.as_path()).collect()
    }

    /// Creates the directory (`mkdir -p`, 0700) and writes every file as a new file. On an
    /// error, what this call wrote is removed again before the error is returned.
    pub fn commit(&self) -> Result<WrittenFiles, TlsError> {
        let mut written = WrittenFiles::default();
        let Some(dir) = self.dir.as_deref().filter(|_| !self.files.is_empty()) else {
            return Ok(written);
        };
        // The directories `mkdir -p` is about to create, deepest first: only those are
        // removed on rollback, never one that was there before.
        let mut missing = Vec::new();
        let mut cur = Some(dir);
        while let Some(d) = cur.filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
            missing.push(d.to_path_buf());
            cur = d.parent();
        }
        generate::create_dir(dir)?;
        written.dirs = missing;
        for f in &self.files {
            if let Err(e) = generate::write_new(&f.path, &f.contents, f.mode) {
                let _ = written.remove();
                return Err(e);
            }
            written.files.push(f.path.clone());
        }
        Ok(written)
    }
}

/// What [`PendingFiles::commit`] put on disk.
#[derive(Clone, Debug, Default)]
pub struct WrittenFiles {
    files: Vec<PathBuf>,
    /// Created directories, deepest first.
    dirs: Vec<PathBuf>,
}

impl WrittenFiles {
    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.dirs.is_empty()
    }

    /// The files written.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// The directories created (deepest first).
    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// Removes the written files, then the created directories if they are empty (a file
    /// someone else put there keeps its directory). Returns what could not be removed.
    pub fn remove(&self) -> Vec<(PathBuf, io::Error)> {
        let mut failed = Vec::new();
        for f in &self.files {
            match std::fs::remove_file(f) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => failed.push((f.clone(), e)),
            }
        }
        for d in &self.dirs {
            match std::fs::remove_dir(d) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => failed.push((d.clone(), e)),
            }
        }
        failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_creates_missing_parents_and_remove_takes_back_only_those() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("a/b/certs");
        let mut p = PendingFiles::new(&dir);
        p.push(&dir.join("x.pem"), "x", 0o644);
        p.push(&dir.join("k.pem"), "k", 0o600);
        let w = p.commit().expect("commit");
        assert_eq!(w.files().len(), 2);
        assert_eq!(
            w.dirs(),
            [dir.clone(), tmp.path().join("a/b"), tmp.path().join("a")]
        );
        assert!(w.remove().is_empty());
        assert!(!tmp.path().join("a").exists());
        assert!(tmp.path().exists());
    }

    #[test]
    fn an_existing_directory_and_foreign_files_stay() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut p = PendingFiles::new(tmp.path());
        p.push(&tmp.path().join("ca.pem"), "c", 0o644);
        let w = p.commit().expect("commit");
        assert!(w.dirs().is_empty());
        std::fs::write(tmp.path().join("other"), "o").expect("write");
        assert!(w.remove().is_empty());
        assert!(!tmp.path().join("ca.pem").exists() && tmp.path().join("other").exists());
    }

    #[test]
    fn a_failed_write_takes_back_what_this_commit_wrote() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("certs");
        std::fs::create_dir(&dir).expect("mkdir");
        std::fs::write(dir.join("taken.pem"), "old").expect("write");
        let mut p = PendingFiles::new(&dir);
        p.push(&dir.join("first.pem"), "1", 0o644);
        p.push(&dir.join("taken.pem"), "2", 0o644);
        assert!(p.commit().is_err());
        assert!(!dir.join("first.pem").exists());
        assert_eq!(
            std::fs::read_to_string(dir.join("taken.pem")).expect("read"),
            "old"
        );
    }

    #[test]
    fn plan_writes_nothing_until_commit() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut req = crate::tls::TlsRequest::new("vch", time::OffsetDateTime::now_utc());
        req.cert_path = Some(tmp.path().join("certs"));
        req.resolve_cname_sans = false;
        req.cname = Some("10.0.0.1".into());
        req.no_tlsverify = true; // one key is enough here
        let (m, pending) = crate::tls::plan_logged(&req, &mut Vec::new()).expect("plan");
        let dir = tmp.path().join("certs");
        assert!(m.generated && !dir.exists());
        assert_eq!(
            pending.paths(),
            [
                dir.join(crate::tls::SERVER_CERT_FILE),
                dir.join(crate::tls::SERVER_KEY_FILE)
            ]
        );
        let written = pending.commit().expect("commit");
        assert_eq!(
            std::fs::read_to_string(dir.join(crate::tls::SERVER_KEY_FILE)).expect("key"),
            m.server_key_pem
        );
        assert!(written.remove().is_empty());
        assert!(!dir.exists());
    }
}
