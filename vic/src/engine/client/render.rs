//! What the docker CLI prints: the `docker ps` table, pull progress (non-terminal form),
//! `docker inspect`'s indented JSON, demultiplexed logs, and short `info` / `version` texts.

use super::types::ContainerSummary;
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

/// A pull's progress stream as the CLI prints it without a terminal (`ID: status` lines, no
/// progress bars). Returns the text and the stream's error, if it ended with one.
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
