//! Drawing with ratatui: three header lines (server, sample time and VM count; the
//! connection state; view, sort, delay or the `s` prompt), the column header, and one line
//! per running VM, as many as fit. The text of the header is built by plain functions
//! ([`summary_line`], [`link_line`], [`mode_line`]) so tests read it without a terminal; [`draw`] is tested
//! on ratatui's `TestBackend`.

use crate::keys::Screen;
use crate::reader::{Link, Snapshot};
use crate::table::{Column, sorted};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row as TableRow, Table, Wrap};

/// The first header line: the server, the newest sample's time and the VM count.
pub fn summary_line(snap: Option<&Snapshot>) -> String {
    let Some(s) = snap else {
        return "vicbed top".to_owned();
    };
    let time = s
        .sample_ms
        .map(|ms| vcsim::vmodl::format_rfc3339_seconds(ms.div_euclid(1000)))
        .unwrap_or_else(|| "-".into());
    format!(
        "vicbed top  {}  sample {time}  VMs: {} running of {}",
        if s.server.is_empty() { "-" } else { &s.server },
        s.rows.len(),
        s.vms_total
    )
}

/// The second header line: the connection state (its own line, so a long reason is not
/// cut off by the rest).
pub fn link_line(snap: Option<&Snapshot>, url: &str) -> String {
    let Some(s) = snap else {
        return format!("connecting to {url}");
    };
    match &s.link {
        Link::Connected if s.reconnects > 0 => {
            format!("connected to {} (reconnects: {})", s.url, s.reconnects)
        }
        Link::Connected => format!("connected to {}", s.url),
        Link::Reconnected => format!("reconnected to {} (reconnects: {})", s.url, s.reconnects),
        Link::Reconnecting { attempt, reason } => {
            format!("reconnecting to {} (attempt {attempt}): {reason}", s.url)
        }
    }
}

/// The third header line: the `s` prompt, a notice or warning, or the view and settings.
pub fn mode_line(screen: &Screen, snap: Option<&Snapshot>) -> String {
    if let Some(text) = &screen.prompt {
        return format!("Delay between updates in seconds (Enter sets, Esc cancels): {text}_");
    }
    if let Some(n) = &screen.notice {
        return n.clone();
    }
    let mut line = format!(
        "{} view  sorted by {}  delay {}s  refresh {}  (h: help, q: quit)",
        screen.view.title(),
        screen.sort().column().header(),
        trim_secs(screen.delay.as_secs_f64()),
        snap.map_or(0, |s| s.refresh)
    );
    if let Some(s) = snap {
        if s.stale {
            line.push_str("  [stale rows]");
        }
        if let Some(w) = &s.warning {
            line.push_str("  ");
            line.push_str(w);
        }
    }
    line
}

/// `5` for 5.0, `1.5` for 1.5.
fn trim_secs(secs: f64) -> String {
    let text = format!("{secs:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// The help screen's lines.
pub const HELP: &[&str] = &[
    "vicbed top: esxtop's keys",
    "",
    "  c      CPU view (%USED %RUN %WAIT %RDY %CSTP %MLMTD)",
    "  m      memory view (MEMSZ GRANT MCTLSZ SWCUR ZIP CACHEUSD, MB)",
    "  U      CPU view: sort by %USED",
    "  R      CPU view: sort by %RDY (the start)",
    "  M      memory view: sort by MEMSZ (the start)",
    "  B      memory view: sort by MCTLSZ",
    "  N      sort by ID (esxtop's GID)",
    "  s      set the delay between updates (seconds, then Enter)",
    "  space  update now",
    "  h ?    this help",
    "  q      quit",
    "",
    "Values are the latest 20 s realtime sample of each powered-on VM ('-': the server",
    "does not have that counter). Any key closes this help.",
];

/// Draws the whole screen.
pub fn draw(frame: &mut Frame, screen: &Screen, snap: Option<&Snapshot>, url: &str) {
    let [head, body] =
        Layout::vertical([Constraint::Length(4), Constraint::Min(0)]).areas(frame.area());
    let reconnecting = matches!(snap.map(|s| &s.link), Some(Link::Reconnecting { .. }));
    let status_style = if reconnecting {
        Style::default().add_modifier(Modifier::BOLD | Modifier::REVERSED)
    } else {
        Style::default()
    };
    frame.render_widget(
        Paragraph::new(vec![
            Line::from(Span::styled(
                summary_line(snap),
                Style::default().add_modifier(Modifier::BOLD),
            )),
            Line::from(Span::styled(link_line(snap, url), status_style)),
            Line::from(mode_line(screen, snap)),
        ]),
        head,
    );
    if screen.help {
        frame.render_widget(
            Paragraph::new(HELP.iter().map(|l| Line::from(*l)).collect::<Vec<_>>())
                .wrap(Wrap { trim: false }),
            body,
        );
        return;
    }
    let columns = screen.view.columns();
    let sort_col = screen.sort().column();
    let header = TableRow::new(columns.iter().map(|c| {
        let style = if *c == sort_col {
            Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        } else {
            Style::default().add_modifier(Modifier::REVERSED)
        };
        ratatui::widgets::Cell::from(align(*c, c.header())).style(style)
    }));
    let row_style = if snap.is_some_and(|s| s.stale) {
        Style::default().add_modifier(Modifier::DIM)
    } else {
        Style::default()
    };
    let rows = snap
        .map(|s| sorted(&s.rows, screen.sort()))
        .unwrap_or_default()
        .into_iter()
        .take(usize::from(body.height))
        .map(|r| TableRow::new(columns.iter().map(|c| align(*c, &c.cell(&r)))).style(row_style));
    let widths: Vec<Constraint> = columns
        .iter()
        .map(|c| Constraint::Length(c.width()))
        .collect();
    frame.render_widget(Table::new(rows, widths).header(header), body);
}

/// Numbers right-aligned in their column width, text left-aligned (cut to the width).
fn align(c: Column, text: &str) -> String {
    let w = usize::from(c.width());
    match c {
        Column::Id | Column::Name => text.chars().take(w).collect(),
        _ => format!("{text:>w$}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{READY, Row, VmSample};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use std::time::Duration;

    fn snap(link: Link) -> Snapshot {
        let row = |id: &str, name: &str, ready: i64| {
            Row::from_sample(&VmSample {
                id: id.into(),
                name: name.into(),
                vcpus: Some(1),
                memory_mb: Some(1024),
                interval_s: Some(20),
                values: [(READY.to_owned(), ready)].into_iter().collect(),
            })
        };
        Snapshot {
            refresh: 3,
            url: "http://127.0.0.1:8989/sdk".into(),
            server: "VMware vCenter Server 8.0.3".into(),
            link,
            reconnects: 0,
            sample_ms: Some(1_506_931_220_000),
            vms_total: 3,
            rows: vec![row("vm-1", "idle", 20), row("vm-2", "stress", 15_456)],
            stale: false,
            warning: None,
            missing_counters: vec![],
        }
    }

    fn render(screen: &Screen, s: Option<&Snapshot>) -> Vec<String> {
        let mut term = Terminal::new(TestBackend::new(100, 12)).expect("backend");
        term.draw(|f| draw(f, screen, s, "http://127.0.0.1:8989/sdk"))
            .expect("draw");
        let buf = term.backend().buffer().clone();
        (0..buf.area.height)
            .map(|y| {
                (0..buf.area.width)
                    .map(|x| buf[(x, y)].symbol().to_owned())
                    .collect::<String>()
            })
            .collect()
    }

    #[test]
    fn the_header_says_server_time_count_and_link() {
        let s = snap(Link::Connected);
        let line = summary_line(Some(&s));
        assert!(line.contains("VMware vCenter Server 8.0.3"), "{line}");
        assert!(line.contains("sample 2017-10-02T08:00:20Z"), "{line}");
        assert!(line.ends_with("VMs: 2 running of 3"), "{line}");
        assert_eq!(
            link_line(Some(&s), ""),
            "connected to http://127.0.0.1:8989/sdk"
        );
        let lost = snap(Link::Reconnecting {
            attempt: 2,
            reason: "connection refused".into(),
        });
        assert_eq!(
            link_line(Some(&lost), ""),
            "reconnecting to http://127.0.0.1:8989/sdk (attempt 2): connection refused"
        );
        let mut back = snap(Link::Reconnected);
        back.reconnects = 1;
        assert!(link_line(Some(&back), "").contains("reconnected to http"));
        assert!(link_line(Some(&back), "").ends_with("(reconnects: 1)"));
        assert_eq!(link_line(None, "u"), "connecting to u");
        assert_eq!(summary_line(None), "vicbed top");
    }

    #[test]
    fn the_screen_lists_vms_sorted_by_ready() {
        let screen = Screen::new(Duration::from_secs(1));
        let lines = render(&screen, Some(&snap(Link::Connected)));
        assert!(
            lines[2].contains("CPU view  sorted by %RDY  delay 1s"),
            "{lines:#?}"
        );
        let header = lines
            .iter()
            .position(|l| l.contains("NAME") && l.contains("%RDY"))
            .expect("header");
        let first: Vec<&str> = lines[header + 1].split_whitespace().collect();
        assert_eq!(&first[..2], ["vm-2", "stress"], "{lines:#?}");
        // %RDY is the 7th column: ID NAME NVCPU %USED %RUN %WAIT %RDY.
        assert_eq!(first[6], "77.28");
        assert!(lines[header + 2].contains("idle"));
    }

    #[test]
    fn memory_view_and_help_render() {
        let mut screen = Screen::new(Duration::from_millis(1500));
        screen.on_key(crate::keys::Key::Char('m'));
        let lines = render(&screen, Some(&snap(Link::Connected)));
        assert!(
            lines
                .iter()
                .any(|l| l.contains("MCTLSZ") && l.contains("CACHEUSD"))
        );
        assert!(lines[2].contains("MEMORY view  sorted by MEMSZ  delay 1.5s"));
        screen.on_key(crate::keys::Key::Char('h'));
        let lines = render(&screen, None);
        assert!(lines.iter().any(|l| l.contains("esxtop's keys")));
        screen.on_key(crate::keys::Key::Char('x'));
        screen.on_key(crate::keys::Key::Char('s'));
        screen.on_key(crate::keys::Key::Char('3'));
        assert!(mode_line(&screen, None).contains("seconds (Enter sets, Esc cancels): 3_"));
    }
}
