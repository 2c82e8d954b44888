//! The event loop: a reader thread (its own tokio runtime) refreshes every delay and sends
//! [`Snapshot`]s; the main thread draws them (crossterm + ratatui, alternate screen, raw
//! mode) and handles keys, or in batch mode prints them as CSV. The terminal is restored on
//! every way out: return, error, and panic (ratatui's `init` installs a panic hook that
//! restores it; [`Restore`] covers the rest).

use crate::args::{Settings, TopArgs};
use crate::keys::{Action, Key, Screen};
use crate::reader::{Link, Reader, Snapshot};
use crate::table::{Column, SortKey, sorted};
use crate::ui;
use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use std::io::Write;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::time::{Duration, Instant};

/// Exit status: quit with `q`, or after `-n` refreshes.
pub const EXIT_OK: u8 = 0;
/// Exit status: the terminal failed, or the reader died.
pub const EXIT_ERROR: u8 = 1;
/// Exit status: bad arguments.
pub const EXIT_USAGE: u8 = 2;
/// Exit status: no connection or login at the start.
pub const EXIT_CONNECT: u8 = 3;

/// How long quitting waits for the reader's Logout.
const LOGOUT_WAIT: Duration = Duration::from_secs(2);
/// How often the screen loop looks for keys and new snapshots.
const POLL: Duration = Duration::from_millis(100);

/// What the screen tells the reader thread.
enum Command {
    Delay(Duration),
    Now,
    Quit,
}

/// Runs `vicbed top` and returns its exit status ([`EXIT_OK`] …).
pub fn run(args: &TopArgs) -> u8 {
    let settings = match args.settings() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("vicbed top: {e}");
            return EXIT_USAGE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("vicbed top: starting the async runtime: {e}");
            return EXIT_ERROR;
        }
    };
    let reader = match runtime.block_on(Reader::start(settings.clone())) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("vicbed top: {e}");
            return EXIT_CONNECT;
        }
    };
    let (snap_tx, snap_rx) = mpsc::channel();
    let (cmd_tx, cmd_rx) = mpsc::channel();
    let delay = settings.delay;
    let worker = std::thread::Builder::new()
        .name("top-reader".into())
        .spawn(move || reader_loop(runtime, reader, delay, &snap_tx, &cmd_rx));
    if let Err(e) = worker {
        eprintln!("vicbed top: starting the reader: {e}");
        return EXIT_ERROR;
    }
    let code = if settings.batch {
        batch(&settings, &snap_rx)
    } else {
        match interactive(&settings, &snap_rx, &cmd_tx) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("vicbed top: terminal: {e}");
                EXIT_ERROR
            }
        }
    };
    let _ = cmd_tx.send(Command::Quit);
    // The reader logs out and drops its sender; a refresh stuck on a dead server is not
    // waited for beyond LOGOUT_WAIT.
    let deadline = Instant::now() + LOGOUT_WAIT;
    while let Ok(_) | Err(RecvTimeoutError::Timeout) =
        snap_rx.recv_timeout(deadline.saturating_duration_since(Instant::now()))
    {
        if Instant::now() >= deadline {
            break;
        }
    }
    code
}

fn reader_loop(
    runtime: tokio::runtime::Runtime,
    mut reader: Reader,
    mut delay: Duration,
    snaps: &Sender<Snapshot>,
    commands: &Receiver<Command>,
) {
    loop {
        let started = Instant::now();
        let snap = runtime.block_on(reader.refresh());
        if snaps.send(snap).is_err() {
            break;
        }
        loop {
            let left = (started + delay).saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match commands.recv_timeout(left) {
                Ok(Command::Delay(d)) => delay = d,
                Ok(Command::Now) | Err(RecvTimeoutError::Timeout) => break,
                Ok(Command::Quit) | Err(RecvTimeoutError::Disconnected) => {
                    let _ = runtime.block_on(async {
                        tokio::time::timeout(LOGOUT_WAIT / 2, reader.logout()).await
                    });
                    return;
                }
            }
        }
    }
}

/// Restores the terminal when dropped.
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

/// crossterm's key as ours; `None` for keys `top` ignores.
fn key_of(k: &event::KeyEvent) -> Option<Key> {
    match k.code {
        KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => Some(Key::Interrupt),
        KeyCode::Char(c) => Some(Key::Char(c)),
        KeyCode::Enter => Some(Key::Enter),
        KeyCode::Esc => Some(Key::Esc),
        KeyCode::Backspace => Some(Key::Backspace),
        _ => None,
    }
}

fn interactive(
    settings: &Settings,
    snaps: &Receiver<Snapshot>,
    commands: &Sender<Command>,
) -> std::io::Result<u8> {
    let mut terminal = ratatui::try_init()?;
    let _restore = Restore;
    let mut screen = Screen::new(settings.delay);
    let mut snap: Option<Snapshot> = None;
    let mut seen: u64 = 0;
    let mut dirty = true;
    loop {
        loop {
            match snaps.try_recv() {
                Ok(s) => {
                    snap = Some(s);
                    seen += 1;
                    dirty = true;
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return Ok(EXIT_ERROR),
            }
        }
        if dirty {
            terminal.draw(|f| ui::draw(f, &screen, snap.as_ref(), &settings.url))?;
            dirty = false;
        }
        if settings.iterations.is_some_and(|n| seen >= n) {
            return Ok(EXIT_OK);
        }
        if !event::poll(POLL)? {
            continue;
        }
        match event::read()? {
            Event::Key(k) if k.kind != KeyEventKind::Release => {
                let Some(key) = key_of(&k) else { continue };
                match screen.on_key(key) {
                    Action::Quit => return Ok(EXIT_OK),
                    Action::None => {}
                    Action::Redraw => dirty = true,
                    Action::RefreshNow => {
                        let _ = commands.send(Command::Now);
                        dirty = true;
                    }
                    Action::SetDelay(d) => {
                        let _ = commands.send(Command::Delay(d));
                        dirty = true;
                    }
                }
            }
            Event::Resize(..) => dirty = true,
            _ => {}
        }
    }
}

/// Every column of both views, once, in CSV order.
const CSV_COLUMNS: &[Column] = &[
    Column::Id,
    Column::Name,
    Column::Nvcpu,
    Column::Used,
    Column::Run,
    Column::Wait,
    Column::Rdy,
    Column::Cstp,
    Column::Mlmtd,
    Column::MemSz,
    Column::Grant,
    Column::MctlSz,
    Column::SwCur,
    Column::Zip,
    Column::CacheUsd,
];

/// The CSV header line.
pub fn csv_header() -> String {
    let mut fields = vec!["refresh", "sample"];
    fields.extend(CSV_COLUMNS.iter().map(|c| c.csv_header()));
    fields.join(",")
}

/// One CSV line per VM of `snap`, sorted by `%RDY`; a missing value is an empty field.
pub fn csv_lines(snap: &Snapshot) -> Vec<String> {
    let time = snap
        .sample_ms
        .map(|ms| vcsim::vmodl::format_rfc3339_seconds(ms.div_euclid(1000)))
        .unwrap_or_default();
    sorted(&snap.rows, SortKey::Rdy)
        .iter()
        .map(|r| {
            let mut fields = vec![snap.refresh.to_string(), time.clone()];
            fields.extend(CSV_COLUMNS.iter().map(|c| {
                let cell = c.cell(r);
                if cell == "-" && !matches!(c, Column::Id | Column::Name) {
                    String::new()
                } else {
                    csv_quote(&cell)
                }
            }));
            fields.join(",")
        })
        .collect()
}

/// A CSV field, quoted when it holds a comma, quote or line break.
fn csv_quote(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

fn batch(settings: &Settings, snaps: &Receiver<Snapshot>) -> u8 {
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{}", csv_header()).is_err() {
        return EXIT_OK;
    }
    let mut seen: u64 = 0;
    while let Ok(snap) = snaps.recv() {
        seen += 1;
        // The state goes to stderr: stdout stays plain CSV for scripts.
        match &snap.link {
            Link::Connected => {}
            Link::Reconnected => eprintln!("vicbed top: reconnected to {}", snap.url),
            Link::Reconnecting { attempt, reason } => eprintln!(
                "vicbed top: reconnecting to {} (attempt {attempt}): {reason}",
                snap.url
            ),
        }
        if !snap.stale {
            for line in csv_lines(&snap) {
                if writeln!(out, "{line}").is_err() {
                    // A closed pipe (`| head`) ends the run quietly.
                    return EXIT_OK;
                }
            }
            let _ = out.flush();
        }
        if settings.iterations.is_some_and(|n| seen >= n) {
            return EXIT_OK;
        }
    }
    EXIT_ERROR
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{READY, Row, VmSample};

    #[test]
    fn csv_has_every_column_and_blank_missing_values() {
        let row = Row::from_sample(&VmSample {
            id: "vm-7".into(),
            name: "web, \"front\"".into(),
            vcpus: Some(2),
            memory_mb: None,
            interval_s: Some(20),
            values: [(READY.to_owned(), 2000)].into_iter().collect(),
        });
        let snap = Snapshot {
            refresh: 4,
            url: "u".into(),
            server: String::new(),
            link: Link::Connected,
            reconnects: 0,
            sample_ms: Some(1_506_931_220_000),
            vms_total: 1,
            rows: vec![row],
            stale: false,
            warning: None,
            missing_counters: vec![],
        };
        assert_eq!(
            csv_header(),
            "refresh,sample,ID,NAME,NVCPU,%USED,%RUN,%WAIT,%RDY,%CSTP,%MLMTD,MEMSZ,GRANT,MCTLSZ,SWCUR,ZIP,CACHEUSD"
        );
        assert_eq!(
            csv_lines(&snap),
            ["4,2017-10-02T08:00:20Z,vm-7,\"web, \"\"front\"\"\",2,,,,10.00,,,,,,,,"]
        );
    }

    #[test]
    fn keys_convert() {
        let k = |code, modifiers| key_of(&event::KeyEvent::new(code, modifiers));
        assert_eq!(
            k(KeyCode::Char('c'), KeyModifiers::CONTROL),
            Some(Key::Interrupt)
        );
        assert_eq!(
            k(KeyCode::Char('R'), KeyModifiers::SHIFT),
            Some(Key::Char('R'))
        );
        assert_eq!(k(KeyCode::Enter, KeyModifiers::NONE), Some(Key::Enter));
        assert_eq!(k(KeyCode::F(1), KeyModifiers::NONE), None);
    }
}
