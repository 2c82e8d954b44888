//! The build context: the tar stream `POST /build` receives (uncompressed, or gzip as the
//! CLI's `--compress` sends it), read into a map of regular files by path, within bounds.
//!
//! Paths are normalised (`./a//b` → `a/b`); an absolute path or one that climbs out with
//! `..` is refused rather than cleaned, since a well-formed context never has one.
//! Directories are implied by their files; symlinks, hard links and devices are skipped and
//! counted (COPY of a symlink is not emulated). `.dockerignore` is applied by the client
//! before it sends the context, so nothing here reads it.
//!
//! Source matching for COPY/ADD ([`match_sources`]) follows Go's `filepath.Match`: `*` and
//! `?` within one path element, no `**`.

use std::collections::BTreeMap;
use std::io::Read;

use thiserror::Error;

/// A context's files: normalised relative path → content.
pub type ContextFiles = BTreeMap<String, Vec<u8>>;

/// Bounds on what a context may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContextLimits {
    /// Total bytes of file content (after decompression).
    pub max_total_bytes: u64,
    /// Tar entries of any kind.
    pub max_entries: usize,
    /// Bytes of one path.
    pub max_path_bytes: usize,
}

impl Default for ContextLimits {
    /// 256 MiB, 20 000 entries, 4 KiB paths: beyond what the testbed's builds need, small
    /// enough for an emulator's memory.
    fn default() -> Self {
        ContextLimits {
            max_total_bytes: 256 * 1024 * 1024,
            max_entries: 20_000,
            max_path_bytes: 4096,
        }
    }
}

/// A context that cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ContextError {
    /// Content past [`ContextLimits::max_total_bytes`].
    #[error("build context larger than {limit_bytes} bytes")]
    TooLarge {
        /// The limit.
        limit_bytes: u64,
    },
    /// More entries than [`ContextLimits::max_entries`].
    #[error("build context has more than {limit} entries")]
    TooManyEntries {
        /// The limit.
        limit: usize,
    },
    /// A path with `..` climbing out of the context.
    #[error("Forbidden path outside the build context: {0}")]
    Traversal(String),
    /// An absolute path.
    #[error("build context entry with an absolute path: {0}")]
    Absolute(String),
    /// A path past [`ContextLimits::max_path_bytes`] or not UTF-8.
    #[error("build context entry with an invalid path: {0}")]
    BadPath(String),
    /// Not a tar stream.
    #[error("Error processing tar file: {0}")]
    Malformed(String),
}

/// What reading a context found besides files.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Context {
    /// Regular files.
    pub files: ContextFiles,
    /// Symlinks, hard links and special files skipped.
    pub skipped_entries: usize,
}

/// Normalises a context path (`./a//b/` → `a/b`, `.` → the empty root); refuses absolute
/// paths and `..` elements.
pub fn normalise(path: &str) -> Result<String, ContextError> {
    if path.starts_with('/') {
        return Err(ContextError::Absolute(path.to_owned()));
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(ContextError::Traversal(path.to_owned())),
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

fn octal(field: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(field).ok()?;
    let text = text.trim_matches(|c: char| c == '\0' || c == ' ');
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(text, 8).ok()
}

fn cstr(field: &[u8]) -> &[u8] {
    let end = field.iter().position(|b| *b == 0).unwrap_or(field.len());
    &field[..end]
}

/// The `path=` record of a PAX extended header.
fn pax_path(data: &[u8]) -> Option<String> {
    let mut rest = data;
    while !rest.is_empty() {
        let space = rest.iter().position(|b| *b == b' ')?;
        let len: usize = std::str::from_utf8(&rest[..space]).ok()?.parse().ok()?;
        if len <= space || len > rest.len() {
            return None;
        }
        let record = &rest[space + 1..len];
        let record = record.strip_suffix(b"\n").unwrap_or(record);
        if let Some(v) = record.strip_prefix(b"path=") {
            return String::from_utf8(v.to_vec()).ok();
        }
        rest = &rest[len..];
    }
    None
}

/// Reads a context: gzip is recognised by its magic bytes, anything else is taken as tar.
pub fn read_context(bytes: &[u8], limits: &ContextLimits) -> Result<Context, ContextError> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        // One tar block more than the content limit leaves room for headers; past it the
        // stream is too large whatever it holds.
        let cap = limits
            .max_total_bytes
            .saturating_mul(2)
            .saturating_add(1 << 20);
        flate2::read::GzDecoder::new(bytes)
            .take(cap.saturating_add(1))
            .read_to_end(&mut out)
            .map_err(|e| ContextError::Malformed(format!("gzip: {e}")))?;
        if out.len() as u64 > cap {
            return Err(ContextError::TooLarge {
                limit_bytes: limits.max_total_bytes,
            });
        }
        return read_tar(&out, limits);
    }
    read_tar(bytes, limits)
}

/// Reads an uncompressed tar stream (ustar, GNU long names, PAX paths).
pub fn read_tar(bytes: &[u8], limits: &ContextLimits) -> Result<Context, ContextError> {
    let mut ctx = Context::default();
    let mut total: u64 = 0;
    let mut entries = 0usize;
    let mut pos = 0usize;
    let mut long_name: Option<String> = None;
    while pos + 512 <= bytes.len() {
        let header = &bytes[pos..pos + 512];
        if header.iter().all(|b| *b == 0) {
            break;
        }
        entries += 1;
        if entries > limits.max_entries {
            return Err(ContextError::TooManyEntries {
                limit: limits.max_entries,
            });
        }
        let want = octal(&header[148..156])
            .ok_or_else(|| ContextError::Malformed("bad header checksum field".into()))?;
        let sum: u64 = header
            .iter()
            .enumerate()
            .map(|(i, b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    u64::from(*b)
                }
            })
            .sum();
        if sum != want {
            return Err(ContextError::Malformed(
                "archive/tar: invalid tar header".into(),
            ));
        }
        let size = octal(&header[124..136])
            .ok_or_else(|| ContextError::Malformed("bad size field".into()))?;
        let kind = header[156];
        let data_start = pos + 512;
        let size_usize =
            usize::try_from(size).map_err(|_| ContextError::Malformed("entry too large".into()))?;
        let data_end = data_start
            .checked_add(size_usize)
            .filter(|e| *e <= bytes.len())
            .ok_or_else(|| ContextError::Malformed("unexpected EOF".into()))?;
        let data = &bytes[data_start..data_end];
        pos = data_start + size_usize.div_ceil(512) * 512;
        match kind {
            b'L' => {
                long_name = Some(String::from_utf8_lossy(cstr(data)).into_owned());
                continue;
            }
            b'x' => {
                long_name = pax_path(data);
                continue;
            }
            b'g' => continue,
            _ => {}
        }
        let name = match long_name.take() {
            Some(n) => n,
            None => {
                let name = cstr(&header[0..100]);
                let prefix = if &header[257..262] == b"ustar" {
                    cstr(&header[345..500])
                } else {
                    &[]
                };
                let mut full = Vec::new();
                if !prefix.is_empty() {
                    full.extend_from_slice(prefix);
                    full.push(b'/');
                }
                full.extend_from_slice(name);
                String::from_utf8(full).map_err(|e| {
                    ContextError::BadPath(String::from_utf8_lossy(e.as_bytes()).into())
                })?
            }
        };
        if name.len() > limits.max_path_bytes {
            return Err(ContextError::BadPath(format!(
                "{}…",
                name.chars().take(64).collect::<String>()
            )));
        }
        let path = normalise(&name)?;
        match kind {
            b'0' | 0 | b'7' => {
                total = total.saturating_add(size);
                if total > limits.max_total_bytes {
                    return Err(ContextError::TooLarge {
                        limit_bytes: limits.max_total_bytes,
                    });
                }
                if !path.is_empty() {
                    ctx.files.insert(path, data.to_vec());
                }
            }
            b'5' => {}
            _ => ctx.skipped_entries += 1,
        }
    }
    Ok(ctx)
}

/// Go's `filepath.Match` for one element: `*`, `?`, `[…]` classes, `\` escapes. Iterative,
/// backtracking only to the last `*` (O(pattern × name), no recursion: a Dockerfile's
/// pattern may be long).
fn match_element(pattern: &[char], name: &[char]) -> bool {
    let (mut pi, mut ni) = (0, 0);
    // Where to resume after the last `*`: (pattern index after it, name index it covers to).
    let mut star: Option<(usize, usize)> = None;
    loop {
        if pi < pattern.len() && pattern[pi] == '*' {
            star = Some((pi + 1, ni));
            pi += 1;
            continue;
        }
        if pi < pattern.len() && ni < name.len() {
            if let Some(next) = match_one(pattern, pi, name[ni]) {
                pi = next;
                ni += 1;
                continue;
            }
        } else if pi == pattern.len() && ni == name.len() {
            return true;
        }
        // Mismatch: let the last `*` take one more character, if there is one.
        match star {
            Some((after, covered)) if covered < name.len() => {
                star = Some((after, covered + 1));
                pi = after;
                ni = covered + 1;
            }
            _ => return false,
        }
    }
}

/// Whether the single pattern item at `pattern[pi]` (`?`, a class, an escape or a literal)
/// matches `c`: the index after the item, or None.
fn match_one(pattern: &[char], pi: usize, c: char) -> Option<usize> {
    match pattern[pi] {
        '?' => Some(pi + 1),
        '[' => {
            let rest = &pattern[pi + 1..];
            let close = rest.iter().position(|x| *x == ']')?;
            let (negate, class) = match rest[..close].split_first() {
                Some(('^', cls)) => (true, cls),
                _ => (false, &rest[..close]),
            };
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == '-' {
                    hit |= class[i] <= c && c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == c;
                    i += 1;
                }
            }
            (hit != negate).then_some(pi + close + 2)
        }
        '\\' => (pattern.get(pi + 1) == Some(&c)).then_some(pi + 2),
        p => (p == c).then_some(pi + 1),
    }
}

/// Whether a normalised path matches a normalised pattern, element by element.
pub fn path_matches(pattern: &str, path: &str) -> bool {
    let pe: Vec<&str> = pattern.split('/').collect();
    let ne: Vec<&str> = path.split('/').collect();
    pe.len() == ne.len()
        && pe.iter().zip(&ne).all(|(p, n)| {
            let p: Vec<char> = p.chars().collect();
            let n: Vec<char> = n.chars().collect();
            match_element(&p, &n)
        })
}

/// One source of a COPY and the files it brings: (path in the context, path relative to
/// the source root — the basename for a file, the path under it for a directory).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceMatch {
    /// What matched: a file or a directory.
    pub root: String,
    /// Whether `root` is a directory.
    pub is_dir: bool,
    /// (context path, relative path to place under the destination).
    pub files: Vec<(String, String)>,
}

/// Resolves one COPY/ADD source (already substituted) against the context: a file, a
/// directory (its contents), `.` (everything) or a glob. An empty result means nothing
/// matched.
pub fn match_sources(files: &ContextFiles, source: &str) -> Result<Vec<SourceMatch>, ContextError> {
    // Docker resolves sources relative to the context root even when they start with `/`.
    let src = normalise(source.trim_start_matches('/'))
        .map_err(|_| ContextError::Traversal(source.to_owned()))?;
    let has_glob = src.contains(['*', '?', '[']);
    let mut roots: Vec<String> = Vec::new();
    if has_glob {
        let depth = src.split('/').count();
        for path in files.keys() {
            let parts: Vec<&str> = path.split('/').collect();
            if parts.len() >= depth {
                let candidate = parts[..depth].join("/");
                if path_matches(&src, &candidate) && !roots.contains(&candidate) {
                    roots.push(candidate);
                }
            }
        }
    } else {
        roots.push(src);
    }
    let mut out = Vec::new();
    for root in roots {
        if root.is_empty() {
            out.push(SourceMatch {
                root,
                is_dir: true,
                files: files.keys().map(|k| (k.clone(), k.clone())).collect(),
            });
        } else if files.contains_key(&root) {
            let base = root.rsplit('/').next().unwrap_or(&root).to_owned();
            out.push(SourceMatch {
                files: vec![(root.clone(), base)],
                root,
                is_dir: false,
            });
        } else {
            let prefix = format!("{root}/");
            let under: Vec<(String, String)> = files
                .range(prefix.clone()..)
                .take_while(|(k, _)| k.starts_with(&prefix))
                .map(|(k, _)| (k.clone(), k[prefix.len()..].to_owned()))
                .collect();
            if !under.is_empty() {
                out.push(SourceMatch {
                    root,
                    is_dir: true,
                    files: under,
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
#[path = "context_tests.rs"]
mod tests;
