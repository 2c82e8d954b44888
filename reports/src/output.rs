//! Writing a report directory so that nobody ever sees it half-written: everything goes into
//! a temporary sibling directory (`.<name>.tmp-<pid>-<n>` beside `out_dir`, so on the same
//! file system), which replaces `out_dir` only once complete — the old report is renamed away
//! (`.<name>.old-<pid>-<n>`), the new one renamed in, the old one removed.
//!
//! An error, or a [`Staging`] dropped before [`Staging::commit`], removes the temporary
//! directory and leaves the old report as it was. A process killed mid-way leaves `out_dir`
//! either the old complete report or the new complete one (killed between the two renames:
//! no `out_dir`, the old report beside it), and possibly its temporary directory.
//!
//! An existing `out_dir` is replaced only when it holds nothing but what a report holds, so a
//! mistyped `--out` never deletes someone's files.

use std::fs;
use std::path::{Path, PathBuf};

use crate::ReportError;

/// The entries a report directory holds; an existing `out_dir` with anything else is not
/// replaced. (`*.tmp` files are what earlier versions left when interrupted.)
const REPORT_ENTRIES: &[&str] = &[
    "report.html",
    "report.md",
    "metrics.csv",
    "metrics.parquet",
    "summary.json",
    "junit.xml",
    "charts",
];

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ReportError + '_ {
    move |source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A report being written: a temporary directory that becomes `out_dir` on
/// [`Staging::commit`], and is removed if dropped before.
#[derive(Debug)]
pub struct Staging {
    /// Where the finished report goes (symlinks and `..` resolved).
    target: PathBuf,
    /// The temporary sibling being written.
    dir: PathBuf,
    committed: bool,
}

impl Staging {
    /// Checks that `out_dir` may be replaced and creates the temporary sibling directory
    /// (and `out_dir`'s parents).
    pub fn new(out_dir: &Path) -> Result<Staging, ReportError> {
        let target = resolve(out_dir)?;
        check_replaceable(&target)?;
        let (parent, name) = split(&target)?;
        remove_stale(&parent, &name);
        let pid = std::process::id();
        for n in 0u32..1000 {
            let dir = parent.join(format!(".{name}.tmp-{pid}-{n}"));
            match fs::create_dir(&dir) {
                Ok(()) => {
                    return Ok(Staging {
                        target,
                        dir,
                        committed: false,
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io(&dir)(e)),
            }
        }
        Err(io(&parent)(std::io::Error::other(
            "no free name for a temporary report directory",
        )))
    }

    /// The temporary directory to write into.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Puts the finished report in place of `out_dir` (replacing an old report).
    pub fn commit(mut self) -> Result<(), ReportError> {
        let (parent, name) = split(&self.target)?;
        // Checked again: something may have appeared there while the report was written.
        check_replaceable(&self.target)?;
        let old = match fs::symlink_metadata(&self.target) {
            Ok(_) => {
                let pid = std::process::id();
                let mut old = None;
                for n in 0u32..1000 {
                    let candidate = parent.join(format!(".{name}.old-{pid}-{n}"));
                    if fs::symlink_metadata(&candidate).is_err() {
                        old = Some(candidate);
                        break;
                    }
                }
                let old = old.ok_or_else(|| {
                    io(&parent)(std::io::Error::other(
                        "no free name to move the old report aside",
                    ))
                })?;
                fs::rename(&self.target, &old).map_err(io(&self.target))?;
                Some(old)
            }
            Err(_) => None,
        };
        if let Err(e) = fs::rename(&self.dir, &self.target) {
            // Put the old report back, so the failure changes nothing.
            if let Some(old) = &old {
                let _ = fs::rename(old, &self.target);
            }
            return Err(io(&self.target)(e));
        }
        self.committed = true;
        if let Some(old) = old {
            // The new report is in place; an old copy that cannot be removed only costs space.
            let _ = fs::remove_dir_all(&old);
        }
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// Runs `write` on a fresh temporary directory and, if it succeeds, puts that directory in
/// place of `out_dir`; if it fails, removes the temporary directory and leaves `out_dir` as
/// it was.
pub fn replace_dir<T>(
    out_dir: &Path,
    write: impl FnOnce(&Path) -> Result<T, ReportError>,
) -> Result<T, ReportError> {
    let staging = Staging::new(out_dir)?;
    let value = write(staging.path())?;
    staging.commit()?;
    Ok(value)
}

/// Removes the temporary directories that killed runs (whose process is gone) left beside
/// `name`. Only where process ids can be checked (`/proc`); the `.old-` copies are kept, as
/// one may be the only complete report left (killed between the two renames).
fn remove_stale(parent: &Path, name: &str) {
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return;
    }
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    let prefix = format!(".{name}.tmp-");
    for e in entries.flatten() {
        let file = e.file_name();
        let Some(pid) = file
            .to_str()
            .and_then(|f| f.strip_prefix(&prefix))
            .and_then(|rest| rest.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !proc.join(pid.to_string()).exists() {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

/// `out_dir` with symlinks and `..` resolved, its parents created: an existing directory is
/// canonicalized; a new one is its canonical parent joined with its name.
fn resolve(out_dir: &Path) -> Result<PathBuf, ReportError> {
    if fs::symlink_metadata(out_dir).is_ok() {
        return fs::canonicalize(out_dir).map_err(io(out_dir));
    }
    let name = out_dir.file_name().ok_or_else(|| {
        io(out_dir)(std::io::Error::other(
            "the report directory needs a name (not `..` or `/`)",
        ))
    })?;
    let parent = match out_dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    create_dir(&parent)?;
    Ok(fs::canonicalize(&parent).map_err(io(&parent))?.join(name))
}

/// The parent directory and file name of a resolved target.
fn split(target: &Path) -> Result<(PathBuf, String), ReportError> {
    match (target.parent(), target.file_name()) {
        (Some(p), Some(n)) => Ok((p.to_path_buf(), n.to_string_lossy().into_owned())),
        _ => Err(io(target)(std::io::Error::other(
            "the root directory cannot be a report directory",
        ))),
    }
}

/// Refuses a `target` that exists and is not a directory holding only report entries.
fn check_replaceable(target: &Path) -> Result<(), ReportError> {
    let meta = match fs::symlink_metadata(target) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io(target)(e)),
    };
    if !meta.is_dir() {
        return Err(io(target)(std::io::Error::other(
            "exists and is not a directory; choose another --out",
        )));
    }
    for entry in fs::read_dir(target).map_err(io(target))? {
        let name = entry.map_err(io(target))?.file_name();
        let name = name.to_string_lossy();
        if !REPORT_ENTRIES.contains(&name.as_ref()) && !name.ends_with(".tmp") {
            return Err(io(target)(std::io::Error::other(format!(
                "holds {name:?}, which is not part of a vicbed report; not replacing it \
                 (choose another --out, or remove the directory)"
            ))));
        }
    }
    Ok(())
}

/// Creates `dir` and its parents.
pub(crate) fn create_dir(dir: &Path) -> Result<(), ReportError> {
    fs::create_dir_all(dir).map_err(io(dir))
}

/// Writes `bytes` to `path` (inside a staging directory, which nobody else reads).
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    fs::write(path, bytes).map_err(io(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn siblings(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn replaces_an_old_report_whole() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("rep");
        fs::create_dir_all(out.join("charts")).expect("mkdir");
        fs::write(out.join("summary.json"), "old").expect("write");
        fs::write(out.join("charts/gone.svg"), "old").expect("write");
        replace_dir(&out, |d| write_file(&d.join("summary.json"), b"new")).expect("replace");
        assert_eq!(fs::read(out.join("summary.json")).expect("read"), b"new");
        assert!(
            !out.join("charts").exists(),
            "stale files of the old report go"
        );
        assert_eq!(siblings(tmp.path()), ["rep"]);
    }

    #[test]
    fn an_error_midway_leaves_the_old_report_and_no_temporary_directory() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("rep");
        fs::create_dir(&out).expect("mkdir");
        fs::write(out.join("summary.json"), "old").expect("write");
        let err = replace_dir(&out, |d| {
            write_file(&d.join("summary.json"), b"new")?;
            write_file(&d.join("missing").join("report.html"), b"x")
        })
        .expect_err("the second write fails");
        assert!(err.to_string().contains("report.html"), "{err}");
        assert_eq!(fs::read(out.join("summary.json")).expect("read"), b"old");
        assert_eq!(siblings(tmp.path()), ["rep"]);
    }

    #[test]
    fn a_directory_with_other_files_is_not_replaced() {
        let tmp = tempfile::tempdir().expect("tempdir");
        fs::write(tmp.path().join("thesis.tex"), "precious").expect("write");
        let err = replace_dir(tmp.path(), |_| Ok(())).expect_err("refused");
        assert!(err.to_string().contains("thesis.tex"), "{err}");
        assert_eq!(siblings(tmp.path()), ["thesis.tex"]);
        let file = tmp.path().join("thesis.tex");
        let err = replace_dir(&file, |_| Ok(())).expect_err("a file is not replaced");
        assert!(err.to_string().contains("not a directory"), "{err}");
    }

    #[test]
    fn temporary_directories_of_dead_runs_are_removed() {
        let tmp = tempfile::tempdir().expect("tempdir");
        // Beyond the largest pid Linux hands out (2^22), so surely not running.
        let dead = tmp.path().join(".rep.tmp-4194305-0");
        let aside = tmp.path().join(".rep.old-4194305-0");
        let other = tmp.path().join(".other.tmp-4194305-0");
        for d in [&dead, &aside, &other] {
            fs::create_dir(d).expect("mkdir");
        }
        replace_dir(&tmp.path().join("rep"), |_| Ok(())).expect("write");
        let left = siblings(tmp.path());
        let expected = if Path::new("/proc/self").exists() {
            vec![".other.tmp-4194305-0", ".rep.old-4194305-0", "rep"]
        } else {
            vec![
                ".other.tmp-4194305-0",
                ".rep.old-4194305-0",
                ".rep.tmp-4194305-0",
                "rep",
            ]
        };
        assert_eq!(left, expected);
    }

    #[test]
    fn a_new_directory_and_its_parents_are_created() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("a/b/rep");
        replace_dir(&out, |d| write_file(&d.join("junit.xml"), b"<x/>")).expect("write");
        assert!(out.join("junit.xml").is_file());
        assert_eq!(siblings(&tmp.path().join("a/b")), ["rep"]);
    }
}
