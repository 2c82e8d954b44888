//! Writing files so that a failure leaves no half-written file behind: each file is written
//! to `<name>.tmp` beside it and then renamed over the final name.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::ReportError;

/// Creates `dir` and its parents.
pub(crate) fn create_dir(dir: &Path) -> Result<(), ReportError> {
    fs::create_dir_all(dir).map_err(|source| ReportError::Io {
        path: dir.to_path_buf(),
        source,
    })
}

/// Writes `bytes` to `path` via `path.tmp` and a rename; on failure the temporary file is
/// removed (best effort) and `path` is untouched.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let tmp = tmp_path(path);
    let result = write_then_rename(&tmp, path, bytes);
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn write_then_rename(tmp: &Path, path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| ReportError::Io { path: p, source }
    };
    let mut f = fs::File::create(tmp).map_err(io(tmp))?;
    f.write_all(bytes).map_err(io(tmp))?;
    drop(f);
    fs::rename(tmp, path).map_err(io(path))
}

/// `path` with `.tmp` appended to its file name.
fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".tmp");
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_replaces() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("a.txt");
        write_atomic(&p, b"one").expect("write");
        write_atomic(&p, b"two").expect("rewrite");
        assert_eq!(fs::read(&p).expect("read"), b"two");
        assert!(!dir.path().join("a.txt.tmp").exists());
    }

    #[test]
    fn failure_names_the_path_and_leaves_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("missing").join("a.txt");
        let err = write_atomic(&p, b"x").expect_err("no parent directory");
        assert!(err.to_string().contains("a.txt.tmp"), "{err}");
        assert!(!p.exists());
    }
}
