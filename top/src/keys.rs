//! esxtop's interactive keys as a pure state machine: [`Screen`] holds what the user chose
//! (view, sort per view, delay, help, the `s` prompt) and [`Screen::on_key`] turns one
//! [`Key`] into an [`Action`] for the event loop. The terminal layer converts crossterm's
//! events into [`Key`]s, so all of this is tested without a terminal.
//!
//! Keys (esxtop's, from VMware's esxtop/resxtop documentation): `c` CPU panel, `m` memory
//! panel; in the CPU panel `U` sorts by `%USED`, `R` by `%RDY`, `N` by GID (here the MoRef);
//! in the memory panel `M` sorts by `MEMSZ`, `B` by `MCTLSZ` (esxtop: group memctl), `N` by
//! GID; `s` then a number and Enter sets the delay; space or Enter refreshes now; `h` or `?`
//! shows help; `q` quits (ctrl-c too, since raw mode turns it into a key).

use crate::table::{SortKey, View};
use std::time::Duration;

/// Shortest delay accepted (esxtop's is 2 s; the emulator's clock often runs faster than
/// wall time, so 1 s is useful and still cheap for a vCenter).
pub const MIN_DELAY: Duration = Duration::from_secs(1);
/// Longest delay accepted.
pub const MAX_DELAY: Duration = Duration::from_secs(3600);
/// Longest text the `s` prompt keeps.
const MAX_PROMPT_CHARS: usize = 12;

/// A key press, as far as `top` cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    /// A printable character.
    Char(char),
    /// Enter.
    Enter,
    /// Escape.
    Esc,
    /// Backspace.
    Backspace,
    /// ctrl-c.
    Interrupt,
}

/// What the event loop should do after a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Nothing changed.
    None,
    /// Only the screen changed: redraw.
    Redraw,
    /// Read now (and redraw).
    RefreshNow,
    /// The delay changed: tell the reader (and redraw).
    SetDelay(Duration),
    /// Quit (exit 0).
    Quit,
}

/// The user's choices.
#[derive(Clone, Debug, PartialEq)]
pub struct Screen {
    /// The panel shown.
    pub view: View,
    /// The CPU panel's sort.
    pub cpu_sort: SortKey,
    /// The memory panel's sort.
    pub mem_sort: SortKey,
    /// Wall time between refreshes.
    pub delay: Duration,
    /// Whether the help is shown (any key closes it).
    pub help: bool,
    /// The `s` prompt's text while it is open.
    pub prompt: Option<String>,
    /// A one-line notice (a refused delay), cleared by the next key.
    pub notice: Option<String>,
}

impl Screen {
    /// The start: CPU panel sorted by `%RDY`, memory panel by `MEMSZ`.
    pub fn new(delay: Duration) -> Screen {
        Screen {
            view: View::Cpu,
            cpu_sort: View::Cpu.default_sort(),
            mem_sort: View::Mem.default_sort(),
            delay,
            help: false,
            prompt: None,
            notice: None,
        }
    }

    /// The sort of the panel shown.
    pub fn sort(&self) -> SortKey {
        match self.view {
            View::Cpu => self.cpu_sort,
            View::Mem => self.mem_sort,
        }
    }

    /// Handles one key.
    pub fn on_key(&mut self, key: Key) -> Action {
        if key == Key::Interrupt {
            return Action::Quit;
        }
        if let Some(text) = self.prompt.as_mut() {
            return match key {
                Key::Char(c) if (c.is_ascii_digit() || c == '.') => {
                    if text.chars().count() < MAX_PROMPT_CHARS {
                        text.push(c);
                    }
                    Action::Redraw
                }
                Key::Backspace => {
                    text.pop();
                    Action::Redraw
                }
                Key::Esc => {
                    self.prompt = None;
                    Action::Redraw
                }
                Key::Enter => {
                    let text = self.prompt.take().unwrap_or_default();
                    match parse_delay(&text) {
                        Ok(d) => {
                            self.delay = d;
                            Action::SetDelay(d)
                        }
                        Err(e) => {
                            self.notice = Some(e);
                            Action::Redraw
                        }
                    }
                }
                _ => Action::None,
            };
        }
        let had_notice = self.notice.take().is_some();
        if self.help {
            self.help = false;
            return match key {
                Key::Char('q') => Action::Quit,
                _ => Action::Redraw,
            };
        }
        let action = match (key, self.view) {
            (Key::Char('q'), _) => Action::Quit,
            (Key::Char('h' | '?'), _) => {
                self.help = true;
                Action::Redraw
            }
            (Key::Char('c'), _) => self.switch(View::Cpu),
            (Key::Char('m'), _) => self.switch(View::Mem),
            (Key::Char('s'), _) => {
                self.prompt = Some(String::new());
                Action::Redraw
            }
            (Key::Char(' ') | Key::Enter, _) => Action::RefreshNow,
            (Key::Char('U'), View::Cpu) => self.set_sort(SortKey::Used),
            (Key::Char('R'), View::Cpu) => self.set_sort(SortKey::Rdy),
            (Key::Char('M'), View::Mem) => self.set_sort(SortKey::MemSz),
            (Key::Char('B'), View::Mem) => self.set_sort(SortKey::MctlSz),
            (Key::Char('N'), _) => self.set_sort(SortKey::Id),
            _ => Action::None,
        };
        if had_notice && action == Action::None {
            Action::Redraw
        } else {
            action
        }
    }

    fn switch(&mut self, view: View) -> Action {
        if self.view == view {
            return Action::None;
        }
        self.view = view;
        Action::Redraw
    }

    fn set_sort(&mut self, key: SortKey) -> Action {
        let slot = match self.view {
            View::Cpu => &mut self.cpu_sort,
            View::Mem => &mut self.mem_sort,
        };
        if *slot == key {
            return Action::None;
        }
        *slot = key;
        Action::Redraw
    }
}

/// A delay in seconds (`2`, `0.5`, `10.25`) within [`MIN_DELAY`]..=[`MAX_DELAY`].
pub fn parse_delay(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("delay {text:?}: expected seconds, e.g. 2 or 0.5"))?;
    if !secs.is_finite() {
        return Err(format!("delay {text:?}: expected seconds"));
    }
    let d =
        Duration::try_from_secs_f64(secs).map_err(|_| format!("delay {text:?}: out of range"))?;
    if d < MIN_DELAY || d > MAX_DELAY {
        return Err(format!(
            "delay {text:?}: must be between {} and {} seconds",
            MIN_DELAY.as_secs(),
            MAX_DELAY.as_secs()
        ));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &mut Screen, text: &str) -> Vec<Action> {
        text.chars().map(|c| s.on_key(Key::Char(c))).collect()
    }

    #[test]
    fn starts_in_the_cpu_panel_sorted_by_ready() {
        let s = Screen::new(Duration::from_secs(5));
        assert_eq!((s.view, s.sort()), (View::Cpu, SortKey::Rdy));
    }

    #[test]
    fn panel_and_sort_keys_follow_esxtop() {
        let mut s = Screen::new(Duration::from_secs(5));
        assert_eq!(s.on_key(Key::Char('U')), Action::Redraw);
        assert_eq!(s.sort(), SortKey::Used);
        assert_eq!(s.on_key(Key::Char('U')), Action::None);
        // Memory sort keys do nothing in the CPU panel.
        assert_eq!(s.on_key(Key::Char('M')), Action::None);
        assert_eq!(s.on_key(Key::Char('m')), Action::Redraw);
        assert_eq!((s.view, s.sort()), (View::Mem, SortKey::MemSz));
        assert_eq!(s.on_key(Key::Char('B')), Action::Redraw);
        assert_eq!(s.sort(), SortKey::MctlSz);
        assert_eq!(s.on_key(Key::Char('R')), Action::None);
        // Each panel keeps its own sort.
        s.on_key(Key::Char('c'));
        assert_eq!(s.sort(), SortKey::Used);
        s.on_key(Key::Char('N'));
        assert_eq!(s.sort(), SortKey::Id);
        assert_eq!(s.on_key(Key::Char(' ')), Action::RefreshNow);
        assert_eq!(s.on_key(Key::Char('q')), Action::Quit);
        assert_eq!(s.on_key(Key::Interrupt), Action::Quit);
    }

    #[test]
    fn s_prompts_for_the_delay() {
        let mut s = Screen::new(Duration::from_secs(5));
        s.on_key(Key::Char('s'));
        assert_eq!(s.prompt.as_deref(), Some(""));
        // Letters are ignored in the prompt (q does not quit there).
        assert_eq!(chars(&mut s, "2q"), [Action::Redraw, Action::None]);
        assert_eq!(
            s.on_key(Key::Enter),
            Action::SetDelay(Duration::from_secs(2))
        );
        assert_eq!((s.delay, s.prompt.clone()), (Duration::from_secs(2), None));
        // A refused value leaves the delay and says why until the next key.
        s.on_key(Key::Char('s'));
        chars(&mut s, "0.5");
        assert_eq!(s.on_key(Key::Enter), Action::Redraw);
        assert_eq!(s.delay, Duration::from_secs(2));
        assert!(
            s.notice
                .as_deref()
                .unwrap_or("")
                .contains("between 1 and 3600")
        );
        assert_eq!(s.on_key(Key::Char('x')), Action::Redraw);
        assert_eq!(s.notice, None);
        // Esc cancels, Backspace edits.
        s.on_key(Key::Char('s'));
        chars(&mut s, "34");
        s.on_key(Key::Backspace);
        assert_eq!(s.prompt.as_deref(), Some("3"));
        s.on_key(Key::Esc);
        assert_eq!((s.prompt.clone(), s.delay), (None, Duration::from_secs(2)));
    }

    #[test]
    fn help_closes_on_any_key() {
        let mut s = Screen::new(Duration::from_secs(5));
        assert_eq!(s.on_key(Key::Char('?')), Action::Redraw);
        assert!(s.help);
        assert_eq!(s.on_key(Key::Char('m')), Action::Redraw);
        assert!(!s.help);
        assert_eq!(s.view, View::Cpu);
        s.on_key(Key::Char('h'));
        assert_eq!(s.on_key(Key::Char('q')), Action::Quit);
    }

    #[test]
    fn delays_are_checked() {
        assert_eq!(parse_delay("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_delay(" 1.5 "), Ok(Duration::from_millis(1500)));
        for bad in ["", "abc", "0", "0.5", "3601", "1e400", "NaN", "-3", "inf"] {
            assert!(parse_delay(bad).is_err(), "{bad}");
        }
    }
}
