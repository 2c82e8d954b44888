//! Context reader tests: tar forms, bounds, traversal, source matching.

use super::*;
use std::io::Write;

/// A ustar header + data for one entry (`kind` b'0' file, b'5' dir, b'2' symlink, …).
pub(crate) fn entry(name: &str, kind: u8, data: &[u8]) -> Vec<u8> {
    let mut h = [0u8; 512];
    let n = name.as_bytes();
    h[..n.len().min(100)].copy_from_slice(&n[..n.len().min(100)]);
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(format!("{:011o}\0", data.len()).as_bytes());
    h[136..148].copy_from_slice(b"00000000000\0");
    h[156] = kind;
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut out = h.to_vec();
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

/// A tar of regular files.
pub(crate) fn tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, data) in files {
        out.extend(entry(name, b'0', data));
    }
    out.extend([0u8; 1024]);
    out
}

#[test]
fn reads_files_dirs_and_skips_links() {
    let mut bytes = entry("./app/", b'5', b"");
    bytes.extend(entry("./app/index.html", b'0', b"<h1>hi</h1>\n"));
    bytes.extend(entry("Dockerfile", b'0', b"FROM nginx\n"));
    bytes.extend(entry("link", b'2', b""));
    bytes.extend([0u8; 1024]);
    let ctx = read_tar(&bytes, &ContextLimits::default()).unwrap();
    assert_eq!(
        ctx.files.keys().collect::<Vec<_>>(),
        ["Dockerfile", "app/index.html"]
    );
    assert_eq!(ctx.files["app/index.html"], b"<h1>hi</h1>\n");
    assert_eq!(ctx.skipped_entries, 1);
}

#[test]
fn long_names_gnu_and_pax() {
    let long = format!("{}/file.txt", "d".repeat(120));
    let mut bytes = entry("././@LongLink", b'L', format!("{long}\0").as_bytes());
    bytes.extend(entry("truncated", b'0', b"gnu"));
    let record = format!("path=p/{long}\n");
    let len = record.len() + 4; // "NNN " prefix, three digits
    bytes.extend(entry(
        "PaxHeaders/x",
        b'x',
        format!("{len} {record}").as_bytes(),
    ));
    bytes.extend(entry("truncated2", b'0', b"pax"));
    bytes.extend([0u8; 1024]);
    let ctx = read_tar(&bytes, &ContextLimits::default()).unwrap();
    assert_eq!(ctx.files[&long], b"gnu");
    assert_eq!(ctx.files[&format!("p/{long}")], b"pax");
}

#[test]
fn gzip_is_recognised() {
    let plain = tar(&[("a.txt", b"A")]);
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&plain).unwrap();
    let gz = enc.finish().unwrap();
    let ctx = read_context(&gz, &ContextLimits::default()).unwrap();
    assert_eq!(ctx.files["a.txt"], b"A");
    assert!(matches!(
        read_context(&[0x1f, 0x8b, 1, 2, 3], &ContextLimits::default()),
        Err(ContextError::Malformed(_))
    ));
}

#[test]
fn traversal_and_absolute_paths_are_refused() {
    let err = read_tar(&tar(&[("../etc/passwd", b"x")]), &ContextLimits::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Forbidden path outside the build context: ../etc/passwd"
    );
    let err = read_tar(&tar(&[("a/../../b", b"x")]), &ContextLimits::default()).unwrap_err();
    assert!(matches!(err, ContextError::Traversal(_)));
    let err = read_tar(&tar(&[("/etc/passwd", b"x")]), &ContextLimits::default()).unwrap_err();
    assert!(matches!(err, ContextError::Absolute(_)));
}

#[test]
fn bounds() {
    let limits = ContextLimits {
        max_total_bytes: 10,
        max_entries: 3,
        max_path_bytes: 4096,
    };
    let err = read_tar(&tar(&[("a", b"123456"), ("b", b"123456")]), &limits).unwrap_err();
    assert_eq!(err, ContextError::TooLarge { limit_bytes: 10 });
    let many: Vec<(String, Vec<u8>)> = (0..4).map(|i| (format!("f{i}"), vec![])).collect();
    let refs: Vec<(&str, &[u8])> = many
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    let err = read_tar(&tar(&refs), &limits).unwrap_err();
    assert_eq!(err, ContextError::TooManyEntries { limit: 3 });
    // A gzip bomb stops at the cap instead of filling memory.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(&vec![0u8; 4 << 20]).unwrap();
    let gz = enc.finish().unwrap();
    let small = ContextLimits {
        max_total_bytes: 1024,
        ..limits
    };
    assert!(matches!(
        read_context(&gz, &small),
        Err(ContextError::TooLarge { .. })
    ));
}

#[test]
fn malformed_streams() {
    let mut bytes = tar(&[("a", b"x")]);
    bytes[0] = b'b'; // the checksum no longer matches
    assert!(matches!(
        read_tar(&bytes, &ContextLimits::default()),
        Err(ContextError::Malformed(_))
    ));
    let truncated = &tar(&[("a", &[7u8; 1000])])[..700];
    assert!(matches!(
        read_tar(truncated, &ContextLimits::default()),
        Err(ContextError::Malformed(_))
    ));
    // Short garbage is no entries at all (an empty context).
    assert!(
        read_tar(b"hello", &ContextLimits::default())
            .unwrap()
            .files
            .is_empty()
    );
}

#[test]
fn source_matching() {
    let mut files = ContextFiles::new();
    for p in [
        "Dockerfile",
        "a.txt",
        "b.txt",
        "src/main.rs",
        "src/lib/x.rs",
        "bin/tool",
    ] {
        files.insert(p.to_owned(), p.as_bytes().to_vec());
    }
    let m = match_sources(&files, "*.txt").unwrap();
    assert_eq!(
        m.iter().map(|m| m.root.as_str()).collect::<Vec<_>>(),
        ["a.txt", "b.txt"]
    );
    let m = match_sources(&files, "./src").unwrap();
    assert!(m[0].is_dir);
    assert_eq!(
        m[0].files,
        [
            ("src/lib/x.rs".to_owned(), "lib/x.rs".to_owned()),
            ("src/main.rs".to_owned(), "main.rs".to_owned())
        ]
    );
    assert_eq!(match_sources(&files, ".").unwrap()[0].files.len(), 6);
    assert_eq!(
        match_sources(&files, "s?c/*.rs").unwrap()[0].root,
        "src/main.rs"
    );
    assert_eq!(match_sources(&files, "[ab].txt").unwrap().len(), 2);
    assert!(match_sources(&files, "nope*").unwrap().is_empty());
    assert!(match_sources(&files, "missing").unwrap().is_empty());
    assert!(matches!(
        match_sources(&files, "../x"),
        Err(ContextError::Traversal(_))
    ));
    assert_eq!(match_sources(&files, "/a.txt").unwrap()[0].root, "a.txt");
}

proptest::proptest! {
    #[test]
    fn the_reader_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..3000)) {
        let _ = read_context(&bytes, &ContextLimits::default());
    }

    #[test]
    fn a_corrupted_tar_never_panics(pos in 0usize..1536, byte in proptest::prelude::any::<u8>()) {
        let mut bytes = tar(&[("dir/a.txt", b"hello"), ("b", &[1u8; 600])]);
        if let Some(b) = bytes.get_mut(pos) {
            *b = byte;
        }
        let _ = read_tar(&bytes, &ContextLimits::default());
    }
}

#[test]
fn globs_match_as_filepath_match_and_long_patterns_stay_cheap() {
    for (pattern, path, want) in [
        ("*.txt", "a.txt", true),
        ("*.txt", "a.rs", false),
        ("a*b*c", "axxbyyc", true),
        ("a*b*c", "axxbyy", false),
        ("[^a]x", "bx", true),
        ("[^a]x", "ax", false),
        ("[a-c]?", "bz", true),
        ("\\*", "*", true),
        ("\\*", "a", false),
        ("[ab", "a", false),
        ("*", "", true),
        ("s?c/*.rs", "src/main.rs", true),
    ] {
        assert_eq!(path_matches(pattern, path), want, "{pattern} ~ {path}");
    }
    // Thousands of stars against a long name that does not match: no recursion, no blow-up.
    let pattern = format!("{}b", "*a".repeat(5_000));
    let name = "a".repeat(10_000);
    assert!(!path_matches(&pattern, &name));
}
