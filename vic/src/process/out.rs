//! The virtual clock and output of one emulated process (or one interactive shell step):
//! chunks stamped with the clock, the 1 MiB output bound and the work bound.
//!
//! Bounds exist because the interpreter is fed by users: `seq` and `printf` widths can ask for
//! huge outputs and `sh FILE` can recurse, so a [`Halt`] ends the process with status 1 and a
//! final stderr line saying which bound was hit.

use super::{Chunk, Stream};

/// Most bytes one run or one shell step may write (stdout and stderr together).
pub(super) const OUTPUT_BOUND_BYTES: usize = 1 << 20;
/// Most simple commands one run or one shell step may execute.
pub(super) const COMMAND_BOUND: u64 = 100_000;
/// Most bytes a single expanded word may hold.
pub(super) const WORD_BOUND_BYTES: usize = 1 << 20;

/// A bound was reached: the process ends with status 1 (the notice is already written).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Halt;

/// Output and clock of a process.
#[derive(Debug, Default)]
pub(super) struct Output {
    chunks: Vec<Chunk>,
    now_ms: u64,
    written_bytes: usize,
    commands: u64,
    halted: bool,
    /// A terminal is attached: `\n` becomes `\r\n` and everything goes to the one stream.
    onlcr: bool,
}

impl Output {
    /// Output of a process with (`onlcr`) or without a terminal.
    pub fn new(onlcr: bool) -> Output {
        Output {
            onlcr,
            ..Output::default()
        }
    }

    /// Virtual ms since the process started.
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// Advances the clock (a sleep), saturating.
    pub fn sleep_ms(&mut self, ms: u64) {
        self.now_ms = self.now_ms.saturating_add(ms);
    }

    /// Writes process output; past the output bound, writes the notice and halts.
    pub fn write(&mut self, stream: Stream, bytes: &[u8]) -> Result<(), Halt> {
        if self.halted {
            return Err(Halt);
        }
        let room = OUTPUT_BOUND_BYTES - self.written_bytes;
        if bytes.len() > room {
            self.push_process(stream, &bytes[..room]);
            self.written_bytes = OUTPUT_BOUND_BYTES;
            return Err(self.halt("vicbed: output bounded at 1 MiB"));
        }
        self.written_bytes += bytes.len();
        self.push_process(stream, bytes);
        Ok(())
    }

    /// Writes text to stdout.
    pub fn out(&mut self, text: &str) -> Result<(), Halt> {
        self.write(Stream::Stdout, text.as_bytes())
    }

    /// Writes one line (a `\n` is added) to stderr.
    pub fn err_line(&mut self, text: &str) -> Result<(), Halt> {
        let mut line = String::with_capacity(text.len() + 1);
        line.push_str(text);
        line.push('\n');
        self.write(Stream::Stderr, line.as_bytes())
    }

    /// Counts one executed command against the work bound.
    pub fn tick(&mut self) -> Result<(), Halt> {
        if self.halted {
            return Err(Halt);
        }
        self.commands += 1;
        if self.commands > COMMAND_BOUND {
            return Err(self.halt("vicbed: commands bounded at 100000"));
        }
        Ok(())
    }

    /// Halts with a final stderr notice (for bounds found by the caller, such as word size).
    pub fn halt(&mut self, notice: &str) -> Halt {
        if !self.halted {
            self.halted = true;
            let mut line = notice.as_bytes().to_vec();
            line.push(b'\n');
            self.push_process(Stream::Stderr, &line);
        }
        Halt
    }

    /// Terminal bytes (input echo, prompts' line discipline): written as they are, not counted.
    pub fn terminal(&mut self, bytes: &[u8]) {
        self.push(Stream::Stdout, bytes);
    }

    /// Takes the chunks written so far and starts a new bound period (a shell step).
    pub fn take_step(&mut self) -> Vec<Chunk> {
        self.written_bytes = 0;
        self.commands = 0;
        self.halted = false;
        std::mem::take(&mut self.chunks)
    }

    fn push_process(&mut self, stream: Stream, bytes: &[u8]) {
        if !self.onlcr {
            self.push(stream, bytes);
            return;
        }
        let mut converted = Vec::with_capacity(bytes.len() + 8);
        for &b in bytes {
            if b == b'\n' {
                converted.push(b'\r');
            }
            converted.push(b);
        }
        self.push(Stream::Stdout, &converted);
    }

    /// Appends, merging with the previous chunk when it has the same time and stream (callers
    /// log chunks; one write per line would only multiply entries).
    fn push(&mut self, stream: Stream, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if let Some(last) = self.chunks.last_mut()
            && last.at_ms == self.now_ms
            && last.stream == stream
        {
            last.bytes.extend_from_slice(bytes);
            return;
        }
        self.chunks.push(Chunk {
            at_ms: self.now_ms,
            stream,
            bytes: bytes.to_vec(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_same_time_and_stream_and_stamps_after_sleep() {
        let mut o = Output::new(false);
        o.out("a\n").unwrap();
        o.out("b\n").unwrap();
        o.err_line("e").unwrap();
        o.sleep_ms(5);
        o.out("c\n").unwrap();
        let c = o.take_step();
        assert_eq!(c.len(), 3);
        assert_eq!(c[0].bytes, b"a\nb\n");
        assert_eq!((c[1].stream, c[1].at_ms), (Stream::Stderr, 0));
        assert_eq!((c[2].at_ms, c[2].bytes.as_slice()), (5, &b"c\n"[..]));
    }

    #[test]
    fn bound_cuts_and_halts_sticky() {
        let mut o = Output::new(false);
        let big = vec![b'x'; OUTPUT_BOUND_BYTES - 1];
        o.write(Stream::Stdout, &big).unwrap();
        assert_eq!(o.out("yz"), Err(Halt));
        assert_eq!(o.out("more"), Err(Halt));
        let c = o.take_step();
        assert_eq!(c[0].bytes.len(), OUTPUT_BOUND_BYTES);
        assert_eq!(c[1].bytes, b"vicbed: output bounded at 1 MiB\n");
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn onlcr_converts_and_uses_one_stream() {
        let mut o = Output::new(true);
        o.out("a\nb\n").unwrap();
        o.err_line("e").unwrap();
        o.terminal(b"\r\n");
        let c = o.take_step();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].bytes, b"a\r\nb\r\ne\r\n\r\n");
    }
}
