//! `docker build`'s context as the CLI prepares it from a directory: the regular files
//! below it (symlinks, special files and empty directories left out), less what
//! `.dockerignore` excludes, as one deterministic tar
//! ([`crate::image_content::layer_tar`]), bounded in size before anything is sent.
//!
//! `.dockerignore` as the CLI reads it: one pattern a line (`#` comments, blank lines
//! skipped), cleaned and without a leading `/`; `filepath.Match` per path element (`*`,
//! `?`, `[…]`; `**` is not understood); `!` makes an exception; the last rule matching a
//! path, or one of its parent directories, decides. The Dockerfile and `.dockerignore`
//! are always sent (the CLI adds them back). `-f` names the Dockerfile relative to the
//! current directory; one outside the context is sent in it as `.dockerfile.<hash>`.

use crate::build::context::{normalise, path_matches};
use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::Path;

/// A build context ready to send.
#[derive(Debug)]
pub(super) struct Context {
    /// The tar stream.
    pub tar: Vec<u8>,
    /// The Dockerfile's path in the context when not the default `Dockerfile`.
    pub dockerfile: Option<String>,
}

/// `.dockerignore`: (exception, normalised pattern) in order.
#[derive(Debug, Default)]
struct Ignore {
    rules: Vec<(bool, String)>,
}

impl Ignore {
    fn parse(text: &str) -> Ignore {
        let mut rules = Vec::new();
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (exception, pattern) = match line.strip_prefix('!') {
                Some(p) => (true, p.trim()),
                None => (false, line),
            };
            // A pattern that climbs out (`..`) can match nothing in the context.
            if let Ok(p) = normalise(pattern.trim_start_matches('/'))
                && !p.is_empty()
            {
                rules.push((exception, p));
            }
        }
        Ignore { rules }
    }

    /// Whether `path` is left out.
    fn excludes(&self, path: &str) -> bool {
        let elements: Vec<&str> = path.split('/').collect();
        let mut excluded = false;
        for (exception, pattern) in &self.rules {
            let depth = pattern.split('/').count();
            let hit = path_matches(pattern, path)
                || (depth < elements.len() && path_matches(pattern, &elements[..depth].join("/")));
            if hit {
                excluded = !exception;
            }
        }
        excluded
    }

    fn has_exceptions(&self) -> bool {
        self.rules.iter().any(|(e, _)| *e)
    }
}

/// `path` relative to `root` with `/` separators; `Err` for a name that is not UTF-8.
fn relative(root: &Path, path: &Path) -> Result<String, String> {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    parts
        .map(|p| p.join("/"))
        .ok_or_else(|| format!("the file name {} is not UTF-8", path.display()))
}

/// The files of a context being read, within `max_bytes` of content.
struct Files {
    by_path: BTreeMap<String, Vec<u8>>,
    total_bytes: u64,
    max_bytes: u64,
}

impl Files {
    /// Reads `path` into the context as `name`; bounded as read, since a file may grow
    /// after it was listed.
    fn add(&mut self, name: String, path: &Path) -> Result<(), String> {
        let mut data = Vec::new();
        let left = self.max_bytes.saturating_sub(self.total_bytes);
        std::fs::File::open(path)
            .and_then(|f| f.take(left + 1).read_to_end(&mut data))
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        self.total_bytes += data.len() as u64;
        if self.total_bytes > self.max_bytes {
            return Err(format!(
                "the build context is larger than {}, this client's limit (leave files out with .dockerignore)",
                super::render::bytes_size(self.max_bytes as f64)
            ));
        }
        self.by_path.insert(name, data);
        Ok(())
    }
}

/// Reads the context directory `dir` (relative to the current directory, or absolute)
/// with `dockerfile` (`-f`) into a tar, refusing more than `max_bytes` of file content.
/// `Err` is the reason, for `unable to prepare context: …`.
pub(super) fn read_context(
    dir: &Path,
    dockerfile: Option<&Path>,
    max_bytes: u64,
) -> Result<Context, String> {
    let meta = std::fs::metadata(dir).map_err(|_| format!("path {:?} not found", dir.display()))?;
    if !meta.is_dir() {
        return Err(format!("context must be a directory: {}", dir.display()));
    }
    let root = dir
        .canonicalize()
        .map_err(|e| format!("path {:?}: {e}", dir.display()))?;
    // The Dockerfile's name in the context, and its path when it lies outside.
    let (dockerfile_rel, outside) = match dockerfile {
        None => ("Dockerfile".to_owned(), None),
        Some(f) => {
            let found = f
                .canonicalize()
                .map_err(|e| format!("cannot locate the Dockerfile {}: {e}", f.display()))?;
            if found.starts_with(&root) {
                (relative(&root, &found)?, None)
            } else {
                let content = std::fs::read(&found)
                    .map_err(|e| format!("cannot read {}: {e}", found.display()))?;
                let hex = crate::build::sha256_hex(&content);
                (format!(".dockerfile.{}", &hex[..20]), Some(found))
            }
        }
    };
    let ignore = std::fs::read_to_string(root.join(".dockerignore"))
        .map(|text| Ignore::parse(&text))
        .unwrap_or_default();
    let kept = |rel: &str| rel == ".dockerignore" || rel == dockerfile_rel;
    let mut files = Files {
        by_path: BTreeMap::new(),
        total_bytes: 0,
        max_bytes,
    };
    let mut dirs = vec![root.clone()];
    while let Some(d) = dirs.pop() {
        let unreadable = |e: std::io::Error| format!("cannot read {}: {e}", d.display());
        for entry in std::fs::read_dir(&d).map_err(unreadable)? {
            let entry = entry.map_err(unreadable)?;
            let path = entry.path();
            let rel = relative(&root, &path)?;
            // Not followed: symlinks are left out.
            let kind = entry.file_type().map_err(unreadable)?;
            if kind.is_dir() {
                // An excluded directory is walked only when an exception or the
                // Dockerfile may bring something below it back.
                let pruned = ignore.excludes(&rel)
                    && !ignore.has_exceptions()
                    && !dockerfile_rel.starts_with(&format!("{rel}/"));
                if !pruned {
                    dirs.push(path);
                }
            } else if kind.is_file() && (kept(&rel) || !ignore.excludes(&rel)) {
                files.add(rel, &path)?;
            }
        }
    }
    if let Some(found) = &outside {
        files.add(dockerfile_rel.clone(), found)?;
    }
    let tar = crate::image_content::layer_tar(
        files
            .by_path
            .iter()
            .map(|(name, data)| (name.as_str(), data.as_slice())),
    );
    Ok(Context {
        tar,
        dockerfile: (dockerfile_rel != "Dockerfile").then_some(dockerfile_rel),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::context::{ContextLimits, read_tar};

    fn write(root: &Path, rel: &str, content: &str) {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    /// The files of a context tar, as the DCH's reader sees them.
    fn entries(tar: &[u8]) -> BTreeMap<String, String> {
        read_tar(tar, &ContextLimits::default())
            .unwrap()
            .files
            .into_iter()
            .map(|(k, v)| (k, String::from_utf8(v).unwrap()))
            .collect()
    }

    #[test]
    fn nested_files_become_tar_entries() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(d, "Dockerfile", "FROM busybox\n");
        write(d, "app/index.html", "<h1>hi</h1>\n");
        write(d, "app/deep/er/x.txt", "x");
        std::fs::create_dir(d.join("empty")).unwrap();
        std::os::unix::fs::symlink(d.join("app/index.html"), d.join("link")).unwrap();
        let ctx = read_context(d, None, 1024).unwrap();
        assert_eq!(ctx.dockerfile, None);
        let files = entries(&ctx.tar);
        assert_eq!(
            files.keys().collect::<Vec<_>>(),
            ["Dockerfile", "app/deep/er/x.txt", "app/index.html"]
        );
        assert_eq!(files["app/index.html"], "<h1>hi</h1>\n");
        // Deterministic: the same directory gives the same bytes.
        assert_eq!(read_context(d, None, 1024).unwrap().tar, ctx.tar);
    }

    #[test]
    fn dockerignore_leaves_files_out() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(d, "Dockerfile", "FROM busybox\n");
        write(
            d,
            ".dockerignore",
            "# build output\n*.log\n/node_modules\ndocs\n!docs/keep.md\nDockerfile\n",
        );
        for f in ["a.log", "sub/b.log", "node_modules/m/i.js", "docs/x.md"] {
            write(d, f, "x");
        }
        write(d, "docs/keep.md", "kept");
        let files = entries(&read_context(d, None, 1024).unwrap().tar);
        assert_eq!(
            files.keys().collect::<Vec<_>>(),
            [".dockerignore", "Dockerfile", "docs/keep.md", "sub/b.log"],
            "`*.log` matches one element; the Dockerfile is always sent"
        );
        let ignore = Ignore::parse("build\n!build/keep\n../out\n");
        assert!(ignore.excludes("build/a/b") && !ignore.excludes("build/keep"));
        assert_eq!(ignore.rules.len(), 2);
    }

    #[test]
    fn dockerfiles_named_with_f_and_refusals() {
        let dir = tempfile::tempdir().unwrap();
        let ctx_dir = dir.path().join("ctx");
        write(&ctx_dir, "build/Dockerfile.prod", "FROM nginx\n");
        write(&ctx_dir, ".dockerignore", "build\n");
        write(dir.path(), "Dockerfile.out", "FROM busybox\n");
        let inside = ctx_dir.join("build/Dockerfile.prod");
        let ctx = read_context(&ctx_dir, Some(&inside), 1024).unwrap();
        assert_eq!(ctx.dockerfile.as_deref(), Some("build/Dockerfile.prod"));
        assert!(entries(&ctx.tar).contains_key("build/Dockerfile.prod"));
        let outside = dir.path().join("Dockerfile.out");
        let ctx = read_context(&ctx_dir, Some(&outside), 1024).unwrap();
        let name = ctx.dockerfile.unwrap();
        assert!(name.starts_with(".dockerfile."), "{name}");
        assert_eq!(entries(&ctx.tar)[&name], "FROM busybox\n");
        // Bounds and missing paths.
        write(&ctx_dir, "big", &"x".repeat(2048));
        assert!(read_context(&ctx_dir, None, 4096).is_ok());
        let e = read_context(&ctx_dir, None, 1024).unwrap_err();
        assert!(e.contains("larger than 1KiB"), "{e}");
        let e = read_context(&dir.path().join("nope"), None, 1024).unwrap_err();
        assert!(
            e.starts_with("path \"") && e.ends_with("\" not found"),
            "{e}"
        );
        let e = read_context(&outside, None, 1024).unwrap_err();
        assert!(e.starts_with("context must be a directory"), "{e}");
    }
}
