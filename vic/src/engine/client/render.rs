//! What the docker CLI prints: the `docker ps` and `docker images` tables, progress streams
//! (pull, push, build; non-terminal form), `docker inspect`'s indented JSON, demultiplexed
//! logs, and short `info` / `version` texts.

use super::types::{ContainerSummary, ImageSummary};
use crate::engine::util::human_duration;
use serde::Serialize as _;
use serde_json::Value as Json;

/// Docker's `TruncateID` length.
pub const SHORT_ID_LEN: usize = 12;
/// Longest `COMMAND` cell before the ellipsis.
const COMMAND_WIDTH: usize = 20;
/// The CLI's table: minimum cell width, padding.
const MIN_CELL: usize = 10;
const PADDING: usize = 3;

/// The id as `docker ps` shows it (12 characters, `sha256:` dropped).
pub fn short_id(id: &str) -> String {
    let id = id.strip_prefix("sha256:").unwrap_or(id);
    id.chars().take(SHORT_ID_LEN).collect()
}

/// Go's `strconv.Quote`, for the printable text docker commands are.
fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Docker's `Ellipsis`: at most `width` characters, the last one `…` when cut.
fn ellipsis(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Lays out rows as Go's tabwriter does for the CLI (minimum width 10, padding 3; the last
/// column unpadded).
fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|cell| cell.chars().count() + PADDING)
                .max()
                .unwrap_or(0)
                .max(MIN_CELL)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        for (c, cell) in row.iter().enumerate() {
            out.push_str(cell);
            if c + 1 < row.len() {
                let pad = widths[c].saturating_sub(cell.chars().count());
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push('\n');
    }
    out
}

/// The `docker ps` table; `now_s` is the endpoint's clock (for `CREATED`).
pub fn ps_table(rows: &[ContainerSummary], now_s: i64, no_trunc: bool) -> String {
    let mut cells = vec![
        [
            "CONTAINER ID",
            "IMAGE",
            "COMMAND",
            "CREATED",
            "STATUS",
            "PORTS",
            "NAMES",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    for c in rows {
        // As the CLI: cut first, then quote.
        let command = if no_trunc {
            quote(&c.command)
        } else {
            quote(&ellipsis(&c.command, COMMAND_WIDTH))
        };
        cells.push(vec![
            if no_trunc {
                c.id.clone()
            } else {
                short_id(&c.id)
            },
            c.image.clone(),
            command,
            format!("{} ago", human_duration(now_s - c.created_s)),
            c.status.clone(),
            c.ports
                .iter()
                .map(|p| p.display())
                .collect::<Vec<_>>()
                .join(", "),
            c.names.join(","),
        ]);
    }
    table(&cells)
}

/// A progress stream (pull, push, build) as the CLI prints it without a terminal
/// (`ID: status` lines, no progress bars; a build's `stream` text verbatim; `aux` messages,
/// which the CLI hands to a callback, not shown). Returns the text and the stream's error,
/// if it ended with one.
pub fn pull_progress(body: &[u8]) -> (String, Option<String>) {
    let mut out = String::new();
    for line in body.split(|b| *b == b'\n') {
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        let Ok(m) = serde_json::from_slice::<Json>(line) else {
            continue;
        };
        let error = m
            .pointer("/errorDetail/message")
            .or_else(|| m.get("error"))
            .and_then(Json::as_str);
        if let Some(e) = error {
            return (out, Some(e.to_owned()));
        }
        if m.get("aux").is_some() {
            continue;
        }
        if let Some(id) = m.get("id").and_then(Json::as_str) {
            out.push_str(&format!("{id}: "));
        }
        if let Some(s) = m.get("stream").and_then(Json::as_str) {
            out.push_str(s);
        } else {
            out.push_str(m.get("status").and_then(Json::as_str).unwrap_or(""));
            out.push('\n');
        }
    }
    (out, None)
}

/// JSON indented with four spaces, as `docker inspect` prints it.
pub fn indented(v: &Json) -> String {
    let mut buf = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(
        &mut buf,
        serde_json::ser::PrettyFormatter::with_indent(b"    "),
    );
    if v.serialize(&mut ser).is_err() {
        return v.to_string();
    }
    String::from_utf8(buf).unwrap_or_default()
}

/// Splits a logs body in docker's stdcopy framing (stream byte, three zeros, big-endian
/// length, payload) into (stdout, stderr). A body that is not framed (a TTY container's)
/// goes to stdout whole.
pub fn demux_logs(body: &[u8], tty: bool) -> (String, String) {
    if tty {
        return (String::from_utf8_lossy(body).into_owned(), String::new());
    }
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut rest = body;
    while !rest.is_empty() {
        let framed = rest.len() >= 8 && rest[0] <= 3 && rest[1..4] == [0, 0, 0];
        if !framed {
            out.extend_from_slice(rest);
            break;
        }
        let len = u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]) as usize;
        let end = 8usize.saturating_add(len).min(rest.len());
        match rest[0] {
            2 | 3 => err.extend_from_slice(&rest[8..end]),
            _ => out.extend_from_slice(&rest[8..end]),
        }
        rest = &rest[end..];
    }
    (
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
    )
}

/// go-units' `BytesSize`: binary units, four significant digits (`500MiB`).
pub fn bytes_size(bytes: f64) -> String {
    const UNITS: [&str; 9] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];
    let mut n = bytes.max(0.0);
    let mut i = 0;
    while n >= 1024.0 && i + 1 < UNITS.len() {
        n /= 1024.0;
        i += 1;
    }
    let decimals = match n {
        n if n >= 1000.0 => 0,
        n if n >= 100.0 => 1,
        n if n >= 10.0 => 2,
        _ => 3,
    };
    let mut s = format!("{n:.decimals$}");
    if s.contains('.') {
        s = s.trim_end_matches('0').trim_end_matches('.').to_owned();
    }
    format!("{s}{}", UNITS[i])
}

/// Go's `%.{precision}g` for a finite number: `precision` significant digits, trailing
/// zeros dropped, an exponent when it is below -4 or not below `precision`.
pub(crate) fn go_g(n: f64, precision: usize) -> String {
    let precision = precision.max(1);
    if n == 0.0 || !n.is_finite() {
        return if n == 0.0 { "0".into() } else { n.to_string() };
    }
    let trim = |s: &str| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            s.to_owned()
        }
    };
    // Rounding to `precision` digits first decides the exponent (999.7 → 1.00e3).
    let sci = format!("{n:.*e}", precision - 1);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= precision as i32 {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{}e{sign}{:02}", trim(mantissa), exp.abs());
    }
    let decimals = usize::try_from(precision as i32 - 1 - exp).unwrap_or(0);
    trim(&format!("{n:.decimals$}"))
}

/// go-units' `HumanSizeWithPrecision`: decimal units, `precision` significant digits
/// (`docker images`' `187MB` with 3, the build context's `2.048kB` with 4).
pub fn human_size(bytes: f64, precision: usize) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut n = bytes;
    let mut i = 0;
    while n >= 1000.0 && i + 1 < UNITS.len() {
        n /= 1000.0;
        i += 1;
    }
    format!("{}{}", go_g(n, precision), UNITS[i])
}

/// The rows `docker images` shows: one per reference (repository, tag, image), a dangling
/// image as `<none>` `<none>`, in the daemon's order.
pub fn image_rows(images: &[ImageSummary]) -> Vec<(String, String, &ImageSummary)> {
    let mut rows = Vec::new();
    for img in images {
        if img.repo_tags.is_empty() {
            rows.push(("<none>".to_owned(), "<none>".to_owned(), img));
        }
        for t in &img.repo_tags {
            // The tag follows the last `:` after the last `/` (a registry port is no tag).
            let (repo, tag) = match t.rsplit_once(':') {
                Some((repo, tag)) if !tag.contains('/') => (repo, tag),
                _ => (t.as_str(), "<none>"),
            };
            rows.push((repo.to_owned(), tag.to_owned(), img));
        }
    }
    rows
}

/// An image id as the CLI shows it: 12 hex digits, or the whole `sha256:…` with
/// `--no-trunc`.
pub fn image_id(id: &str, no_trunc: bool) -> String {
    if no_trunc {
        id.to_owned()
    } else {
        short_id(id)
    }
}

/// The `docker images` table; `now_s` is the endpoint's clock (for `CREATED`).
pub fn images_table(images: &[ImageSummary], now_s: i64, no_trunc: bool) -> String {
    let mut cells = vec![
        ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"]
            .map(str::to_owned)
            .to_vec(),
    ];
    for (repo, tag, img) in image_rows(images) {
        cells.push(vec![
            repo,
            tag,
            image_id(&img.id, no_trunc),
            format!("{} ago", human_duration(now_s - img.created_s)),
            human_size(img.size_bytes as f64, 3),
        ]);
    }
    table(&cells)
}

/// What `docker images` prints: the table (`now_s`, the endpoint's clock, for `CREATED`),
/// or a line a row: the id (`quiet`) or the `--format` filled (fields `.Repository`,
/// `.Tag`, `.ID`).
pub fn images_text(
    images: &[ImageSummary],
    quiet: bool,
    format: Option<&str>,
    no_trunc: bool,
    now_s: i64,
) -> String {
    if !quiet && format.is_none() {
        return images_table(images, now_s, no_trunc);
    }
    let mut out = String::new();
    for (repo, tag, img) in image_rows(images) {
        let id = image_id(&img.id, no_trunc);
        let line = match format {
            Some(f) if !quiet => fill_template(f, |field| match field {
                ".Repository" => Some(repo.clone()),
                ".Tag" => Some(tag.clone()),
                ".ID" => Some(id.clone()),
                _ => None,
            })
            .unwrap_or_default(),
            _ => id,
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Fills a `--format` template whose only actions are fields (`{{.Tag}}`, spaces allowed
/// inside the braces), after the CLI's own preparation (outer spaces trimmed, `\t` and
/// `\n` made a tab and a newline). `Err` names the first field `value` does not know.
pub fn fill_template(
    format: &str,
    value: impl Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let format = format.trim().replace("\\t", "\t").replace("\\n", "\n");
    let mut out = String::new();
    let mut rest = format.as_str();
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            return Err(after.to_owned());
        };
        let name = after[..close].trim();
        out.push_str(&value(name).ok_or_else(|| name.to_owned())?);
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn field(v: &Json, key: &str) -> String {
    match v.get(key) {
        Some(Json::String(s)) => s.clone(),
        Some(Json::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn names(v: &Json, pointer: &str) -> String {
    v.pointer(pointer)
        .and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Json::as_str)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// `docker info`: a line for this client, then the server's answer laid out as the CLI
/// does (`SystemStatus` pairs printed as sent, VIC's leading spaces included).
pub fn info_text(v: &Json) -> String {
    let mut out = String::from("Client:\n Version:    vicbed (vic::engine::client)\n\nServer:\n");
    let line = |out: &mut String, label: &str, value: String| {
        out.push_str(&format!(" {label}: {value}\n"));
    };
    line(&mut out, "Containers", field(v, "Containers"));
    for (label, key) in [
        ("Running", "ContainersRunning"),
        ("Paused", "ContainersPaused"),
        ("Stopped", "ContainersStopped"),
    ] {
        out.push_str(&format!("  {label}: {}\n", field(v, key)));
    }
    line(&mut out, "Images", field(v, "Images"));
    line(&mut out, "Server Version", field(v, "ServerVersion"));
    line(&mut out, "Storage Driver", field(v, "Driver"));
    for pair in v
        .get("SystemStatus")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        if let Some([k, val]) = pair.as_array().map(Vec::as_slice) {
            line(
                &mut out,
                k.as_str().unwrap_or(""),
                val.as_str().unwrap_or("").to_owned(),
            );
        }
    }
    line(&mut out, "Logging Driver", field(v, "LoggingDriver"));
    line(&mut out, "Cgroup Driver", field(v, "CgroupDriver"));
    out.push_str(" Plugins:\n");
    for (label, key) in [
        ("Volume", "/Plugins/Volume"),
        ("Network", "/Plugins/Network"),
        ("Log", "/Plugins/Log"),
    ] {
        out.push_str(&format!("  {label}: {}\n", names(v, key)));
    }
    let swarm = v
        .pointer("/Swarm/LocalNodeState")
        .and_then(Json::as_str)
        .unwrap_or("inactive");
    line(&mut out, "Swarm", swarm.to_owned());
    let kernel = field(v, "KernelVersion");
    if !kernel.is_empty() {
        line(&mut out, "Kernel Version", kernel);
    }
    line(&mut out, "Operating System", field(v, "OperatingSystem"));
    line(&mut out, "OSType", field(v, "OSType"));
    line(&mut out, "Architecture", field(v, "Architecture"));
    line(&mut out, "CPUs", field(v, "NCPU"));
    let mem = v.get("MemTotal").and_then(Json::as_f64).unwrap_or(0.0);
    line(&mut out, "Total Memory", bytes_size(mem));
    line(&mut out, "Name", field(v, "Name"));
    line(&mut out, "ID", field(v, "ID"));
    line(&mut out, "Docker Root Dir", field(v, "DockerRootDir"));
    line(&mut out, "Debug Mode", field(v, "Debug"));
    line(&mut out, "Experimental", field(v, "ExperimentalBuild"));
    line(
        &mut out,
        "Live Restore Enabled",
        field(v, "LiveRestoreEnabled"),
    );
    out.push('\n');
    out
}

/// `docker version`: this client, then the server's answer.
pub fn version_text(v: &Json, api_version: &str) -> String {
    let mut out = format!(
        "Client:\n Version:           vicbed (vic::engine::client)\n API version:       {api_version}\n\nServer:\n Engine:\n"
    );
    let min = field(v, "MinAPIVersion");
    let rows = [
        ("Version:", field(v, "Version")),
        (
            "API version:",
            if min.is_empty() {
                field(v, "ApiVersion")
            } else {
                format!("{} (minimum version {min})", field(v, "ApiVersion"))
            },
        ),
        ("Go version:", field(v, "GoVersion")),
        ("Git commit:", field(v, "GitCommit")),
        ("Built:", field(v, "BuildTime")),
        (
            "OS/Arch:",
            format!("{}/{}", field(v, "Os"), field(v, "Arch")),
        ),
        ("Experimental:", field(v, "Experimental")),
    ];
    for (label, value) in rows {
        out.push_str(&format!("  {label:<17} {value}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::client::types::PortSummary;
    use serde_json::json;

    #[test]
    fn ps_table_as_the_cli() {
        let t = ps_table(&[], 0, false);
        assert_eq!(
            t,
            "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n"
        );
        let row = ContainerSummary {
            id: "0123456789abcdef0123".into(),
            names: vec!["web".into()],
            image: "progrium/stress".into(),
            command: "/usr/bin/stress --verbose --cpu 1".into(),
            created_s: 100,
            state: "running".into(),
            status: "Up 5 minutes".into(),
            ports: vec![PortSummary {
                ip: Some("0.0.0.0".into()),
                private_port: 80,
                public_port: Some(8080),
                protocol: "tcp".into(),
            }],
        };
        let t = ps_table(std::slice::from_ref(&row), 400, false);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(
            lines[1],
            "0123456789ab   progrium/stress   \"/usr/bin/stress --v…\"   5 minutes ago   Up 5 minutes   0.0.0.0:8080->80/tcp   web"
        );
        assert!(lines[0].starts_with("CONTAINER ID   IMAGE             COMMAND"));
        let t = ps_table(&[row], 400, true);
        assert!(
            t.contains("0123456789abcdef0123")
                && t.contains("\"/usr/bin/stress --verbose --cpu 1\"")
        );
    }

    #[test]
    fn pull_progress_as_the_cli_without_a_terminal() {
        let body = b"{\"status\":\"Pulling from library/nginx\",\"id\":\"latest\"}\r\n{\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"abc\"}\r\n{\"status\":\"Digest: sha256:00\"}\r\n{\"status\":\"Status: Downloaded newer image for nginx:latest\"}\r\n";
        let (text, err) = pull_progress(body);
        assert_eq!(
            text,
            "latest: Pulling from library/nginx\nabc: Pulling fs layer\nDigest: sha256:00\nStatus: Downloaded newer image for nginx:latest\n"
        );
        assert_eq!(err, None);
        let (_, err) = pull_progress(b"{\"errorDetail\":{\"message\":\"repository x not found\"},\"error\":\"repository x not found\"}\r\n");
        assert_eq!(err.as_deref(), Some("repository x not found"));
        assert_eq!(pull_progress(b"junk\n").0, "");
    }

    #[test]
    fn aux_messages_are_not_shown() {
        let body = b"{\"stream\":\"Step 1/1 : FROM busybox\\n\"}\r\n{\"aux\":{\"ID\":\"sha256:00\"}}\r\n{\"progressDetail\":{},\"aux\":{\"Tag\":\"1\"}}\r\n{\"stream\":\"Successfully built 0123456789ab\\n\"}\r\n";
        assert_eq!(
            pull_progress(body),
            (
                "Step 1/1 : FROM busybox\nSuccessfully built 0123456789ab\n".to_owned(),
                None
            )
        );
    }

    #[test]
    fn images_as_the_cli() {
        assert_eq!(human_size(187_000_000.0, 3), "187MB");
        assert_eq!(human_size(1_109_000.0, 3), "1.11MB");
        assert_eq!(human_size(2048.0, 4), "2.048kB");
        assert_eq!(human_size(512.0, 4), "512B");
        assert_eq!(human_size(0.0, 3), "0B");
        assert_eq!(human_size(999_700.0, 3), "1e+03kB", "as Go's %.3g");
        let images = [
            ImageSummary {
                id: "sha256:0123456789abcdef".into(),
                repo_tags: vec!["nginx:latest".into(), "localhost:5000/x/nginx:1".into()],
                created_s: 100,
                size_bytes: 108_000_000,
            },
            ImageSummary {
                id: "sha256:fedcba9876543210".into(),
                repo_tags: vec![],
                created_s: 400,
                size_bytes: 1_200,
            },
        ];
        let t = images_table(&images, 400, false);
        assert_eq!(
            t,
            "REPOSITORY               TAG       IMAGE ID       CREATED                  SIZE\n\
             nginx                    latest    0123456789ab   5 minutes ago            108MB\n\
             localhost:5000/x/nginx   1         0123456789ab   5 minutes ago            108MB\n\
             <none>                   <none>    fedcba987654   Less than a second ago   1.2kB\n"
        );
        assert_eq!(
            images_text(&images, true, None, false, 0),
            "0123456789ab\n0123456789ab\nfedcba987654\n"
        );
        assert_eq!(
            images_text(
                &images,
                false,
                Some(" {{.Repository}}:{{ .Tag }}\\t{{.ID}} "),
                true,
                0
            ),
            "nginx:latest\tsha256:0123456789abcdef\nlocalhost:5000/x/nginx:1\tsha256:0123456789abcdef\n<none>:<none>\tsha256:fedcba9876543210\n"
        );
        assert_eq!(
            fill_template("{{.Size}}", |_| None),
            Err(".Size".to_owned())
        );
        assert_eq!(fill_template("{{.ID", |_| None), Err(".ID".to_owned()));
    }

    #[test]
    fn logs_demux() {
        let mut body = vec![1, 0, 0, 0, 0, 0, 0, 3];
        body.extend_from_slice(b"out");
        body.extend_from_slice(&[2, 0, 0, 0, 0, 0, 0, 4]);
        body.extend_from_slice(b"err\n");
        assert_eq!(demux_logs(&body, false), ("out".into(), "err\n".into()));
        assert_eq!(
            demux_logs(b"plain text", false),
            ("plain text".into(), String::new())
        );
        assert_eq!(
            demux_logs(&body[..9], false).0,
            "o",
            "a short frame keeps what is there"
        );
        assert_eq!(demux_logs(b"raw", true).0, "raw");
    }

    #[test]
    fn sizes_ids_and_texts() {
        assert_eq!(bytes_size(524_288_000.0), "500MiB");
        assert_eq!(bytes_size(1536.0), "1.5KiB");
        assert_eq!(bytes_size(12.0), "12B");
        assert_eq!(bytes_size(4_294_967_296.0), "4GiB");
        assert_eq!(short_id("sha256:0123456789abcdef"), "0123456789ab");
        assert_eq!(quote("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
        assert_eq!(
            indented(&json!([{"a": 1}])),
            "[\n    {\n        \"a\": 1\n    }\n]"
        );
        let info = info_text(
            &json!({"Containers": 2, "ContainersRunning": 1, "Name": "vch1",
            "SystemStatus": [[" VCH CPU limit", "500 MHz"]], "MemTotal": 524288000_i64}),
        );
        assert!(info.contains(" Name: vch1\n"), "{info}");
        assert!(info.contains("  VCH CPU limit: 500 MHz\n"), "{info}");
        assert!(info.contains(" Total Memory: 500MiB\n"), "{info}");
        let v = version_text(
            &json!({"Version": "1.2.1", "ApiVersion": "1.25", "MinAPIVersion": "1.19"}),
            "1.25",
        );
        assert!(
            v.contains("  API version:      1.25 (minimum version 1.19)\n"),
            "{v}"
        );
    }
}
