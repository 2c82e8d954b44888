//! `printf FORMAT [ARG]…` as BusyBox's applet and ash builtin: flags, width, precision,
//! `%d %i %o %u %x %X %c %s %b %f %e %g %%`, backslash escapes, the format reused while
//! arguments remain, and BusyBox's quirks (a missing numeric argument is an invalid number '').
//!
//! Like the real one, stdout is buffered and errors are written as they happen, so error lines
//! come before the output they interrupt.

use super::Stream;
use super::commands::usage;
use super::escape::{Escape, escape, unescape};
use super::out::{Halt, OUTPUT_BOUND_BYTES, Output};

/// Flush the stdout buffer past this size, as stdio would.
const FLUSH_BYTES: usize = 64 * 1024;

/// A conversion specification.
#[derive(Default)]
struct Spec {
    left: bool,
    plus: bool,
    space: bool,
    alt: bool,
    zero: bool,
    width: usize,
    precision: Option<usize>,
}

/// Runs printf. `builtin_of` is the shell's name when run as its builtin (messages then start
/// with `sh:` and a missing format is status 2), None for the applet.
pub(super) fn run(
    builtin_of: Option<&str>,
    args: &[String],
    out: &mut Output,
) -> Result<i32, Halt> {
    let prefix = builtin_of.unwrap_or("printf");
    let Some(format) = args.first() else {
        return match builtin_of {
            Some(sh) => {
                out.err_line(&format!("{sh}: usage: printf FORMAT [ARGUMENT...]"))?;
                Ok(2)
            }
            None => usage(out, "printf"),
        };
    };
    let format: Vec<char> = format.chars().collect();
    let mut p = Printer {
        prefix,
        args: &args[1..],
        next: 0,
        buf: Vec::new(),
        status: 0,
        out,
    };
    loop {
        let before = p.next;
        match p.format_once(&format)? {
            Some(Escape::Stop) => break,
            Some(Escape::Go) => {}
            None => {
                p.flush()?;
                return Ok(1);
            }
        }
        if p.next >= p.args.len() || p.next == before {
            break;
        }
    }
    p.flush()?;
    Ok(p.status)
}

struct Printer<'a> {
    prefix: &'a str,
    args: &'a [String],
    next: usize,
    buf: Vec<u8>,
    status: i32,
    out: &'a mut Output,
}

impl Printer<'_> {
    fn flush(&mut self) -> Result<(), Halt> {
        let buf = std::mem::take(&mut self.buf);
        self.out.write(Stream::Stdout, &buf)
    }

    fn arg(&mut self) -> Option<&str> {
        let a = self.args.get(self.next)?;
        self.next += 1;
        Some(a)
    }

    fn invalid_number(&mut self, text: &str) -> Result<(), Halt> {
        self.status = 1;
        self.out
            .err_line(&format!("{}: invalid number '{text}'", self.prefix))
    }

    /// One pass over the format. None: an invalid conversion ended printf.
    fn format_once(&mut self, f: &[char]) -> Result<Option<Escape>, Halt> {
        let mut i = 0;
        while i < f.len() {
            if self.buf.len() > FLUSH_BYTES {
                self.flush()?;
            }
            match f[i] {
                '\\' => {
                    i += 1;
                    if let Escape::Stop = escape(f, &mut i, &mut self.buf, false) {
                        return Ok(Some(Escape::Stop));
                    }
                }
                '%' if f.get(i + 1) == Some(&'%') => {
                    self.buf.push(b'%');
                    i += 2;
                }
                '%' => {
                    let start = i;
                    i += 1;
                    let spec = self.spec(f, &mut i)?;
                    // Size modifiers are dropped (BusyBox removes them from the format, so its
                    // messages show the format without them).
                    let modifiers = i;
                    while f.get(i).is_some_and(|c| "hlLz".contains(*c)) {
                        i += 1;
                    }
                    let conv = f.get(i).copied();
                    if !conv.is_some_and(|c| "diouxXcsbfFeEgG".contains(c)) {
                        let shown: Vec<char> =
                            f[start..modifiers].iter().chain(&f[i..]).copied().collect();
                        return self.invalid_format(&shown);
                    }
                    let conv = conv.unwrap_or('s');
                    i += 1;
                    if let Some(Escape::Stop) = self.convert(conv, &spec)? {
                        return Ok(Some(Escape::Stop));
                    }
                }
                c => {
                    let mut tmp = [0u8; 4];
                    self.buf
                        .extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
                    i += 1;
                }
            }
        }
        Ok(Some(Escape::Go))
    }

    fn invalid_format(&mut self, rest: &[char]) -> Result<Option<Escape>, Halt> {
        self.flush()?;
        let rest: String = rest.iter().collect();
        self.out
            .err_line(&format!("{}: {rest}: invalid format", self.prefix))?;
        Ok(None)
    }

    /// Flags, width and precision (`*` takes them from the arguments).
    fn spec(&mut self, f: &[char], i: &mut usize) -> Result<Spec, Halt> {
        let mut s = Spec::default();
        while let Some(&c) = f.get(*i) {
            match c {
                '-' => s.left = true,
                '+' => s.plus = true,
                ' ' => s.space = true,
                '#' => s.alt = true,
                '0' => s.zero = true,
                _ => break,
            }
            *i += 1;
        }
        if f.get(*i) == Some(&'*') {
            *i += 1;
            let w = self.int_arg(true)?.0;
            s.left |= w < 0;
            s.width = clamp(w.unsigned_abs());
        } else {
            s.width = clamp(digits(f, i));
        }
        if f.get(*i) == Some(&'.') {
            *i += 1;
            if f.get(*i) == Some(&'*') {
                *i += 1;
                let p = self.int_arg(true)?.0;
                s.precision = (p >= 0).then(|| clamp(p.unsigned_abs()));
            } else {
                s.precision = Some(clamp(digits(f, i)));
            }
        }
        Ok(s)
    }

    /// The next argument as a signed number and as unsigned bits (`%u %x %o`); `signed`
    /// conversions refuse values beyond i64 as strtoll does.
    fn int_arg(&mut self, signed: bool) -> Result<(i64, u64), Halt> {
        let text = self.arg().unwrap_or_default().to_string();
        match parse_int(&text) {
            Ok((Some(v), bits)) => Ok((v, bits)),
            Ok((None, bits)) if !signed => Ok((0, bits)),
            Ok((None, _)) => {
                self.invalid_number(&text)?;
                Ok((0, 0))
            }
            Err(shown) => {
                self.invalid_number(&shown)?;
                Ok((0, 0))
            }
        }
    }

    fn convert(&mut self, conv: char, s: &Spec) -> Result<Option<Escape>, Halt> {
        let body: Vec<u8> = match conv {
            'd' | 'i' => {
                let v = self.int_arg(true)?.0;
                int_body(v < 0, &v.unsigned_abs().to_string(), s, "", true)
            }
            'o' | 'u' | 'x' | 'X' => {
                let v = self.int_arg(false)?.1;
                let (digits, alt) = match conv {
                    'o' => (format!("{v:o}"), if s.alt { "0" } else { "" }),
                    'u' => (v.to_string(), ""),
                    'x' => (format!("{v:x}"), if s.alt && v != 0 { "0x" } else { "" }),
                    _ => (format!("{v:X}"), if s.alt && v != 0 { "0X" } else { "" }),
                };
                let alt = if alt == "0" && digits.starts_with('0') {
                    ""
                } else {
                    alt
                };
                int_body(false, &digits, s, alt, false)
            }
            'c' => {
                let byte = self.arg().and_then(|a| a.bytes().next()).unwrap_or(0);
                pad(vec![byte], s)
            }
            's' => {
                let mut text = self.arg().unwrap_or_default().as_bytes().to_vec();
                if let Some(p) = s.precision {
                    text.truncate(p);
                }
                pad(text, s)
            }
            'b' => {
                let chars: Vec<char> = self.arg().unwrap_or_default().chars().collect();
                let mut text = Vec::new();
                let stop = unescape(&chars, &mut text, true);
                if let Some(p) = s.precision {
                    text.truncate(p);
                }
                self.buf.extend_from_slice(&pad(text, s));
                return Ok(stop.then_some(Escape::Stop));
            }
            'f' | 'F' | 'e' | 'E' | 'g' | 'G' => {
                let text = self.arg().unwrap_or_default().to_string();
                let v = match parse_float(&text) {
                    Some(v) => v,
                    None => {
                        self.invalid_number(&text)?;
                        0.0
                    }
                };
                float_body(v, conv, s)
            }
            _ => return Ok(None),
        };
        self.buf.extend_from_slice(&body);
        Ok(None)
    }
}

/// Widths and precisions past the output bound cannot be printed anyway.
fn clamp(n: u64) -> usize {
    usize::try_from(n)
        .unwrap_or(usize::MAX)
        .min(OUTPUT_BOUND_BYTES + 1)
}

fn digits(f: &[char], i: &mut usize) -> u64 {
    let mut n: u64 = 0;
    while let Some(d) = f.get(*i).and_then(|c| c.to_digit(10)) {
        n = n.saturating_mul(10).saturating_add(u64::from(d));
        *i += 1;
    }
    n
}

/// A C integer constant (decimal, `0x` hex, `0` octal, `'c` a character code); leading blanks
/// are allowed, trailing text is not. The signed value is None beyond i64; Err carries the
/// text BusyBox shows.
fn parse_int(text: &str) -> Result<(Option<i64>, u64), String> {
    let t = text.trim_start();
    if let Some(rest) = t.strip_prefix(['\'', '"']) {
        let b = rest.bytes().next().ok_or_else(|| rest.to_string())?;
        return Ok((Some(i64::from(b)), u64::from(b)));
    }
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (radix, digits) = if let Some(h) = body.strip_prefix("0x").or(body.strip_prefix("0X")) {
        (16, h)
    } else if body.len() > 1 && body.starts_with('0') {
        (8, &body[1..])
    } else {
        (10, body)
    };
    let mag = u64::from_str_radix(digits, radix)
        .ok()
        .filter(|_| !digits.starts_with(['+', '-']))
        .ok_or_else(|| text.to_string())?;
    let signed = if neg {
        0i64.checked_sub_unsigned(mag)
    } else {
        i64::try_from(mag).ok()
    };
    let bits = if neg { mag.wrapping_neg() } else { mag };
    Ok((signed, bits))
}

fn parse_float(text: &str) -> Option<f64> {
    let t = text.trim_start();
    if let Some(rest) = t.strip_prefix(['\'', '"']) {
        return rest.bytes().next().map(f64::from);
    }
    t.parse().ok()
}

/// Sign, prefix, zero-extended digits and padding of an integer.
fn int_body(neg: bool, digits: &str, s: &Spec, alt: &str, signed: bool) -> Vec<u8> {
    let mut digits = digits.to_string();
    if let Some(p) = s.precision {
        if p == 0 && digits == "0" {
            digits.clear();
        }
        if digits.len() < p {
            digits = format!("{}{digits}", "0".repeat(p - digits.len()));
        }
    }
    let sign = match (neg, signed && s.plus, signed && s.space) {
        (true, _, _) => "-",
        (_, true, _) => "+",
        (_, _, true) => " ",
        _ => "",
    };
    let head = format!("{sign}{alt}");
    zero_or_space_pad(&head, &digits, s, s.precision.is_none())
}

fn zero_or_space_pad(head: &str, body: &str, s: &Spec, zero_allowed: bool) -> Vec<u8> {
    let len = head.len() + body.len();
    if s.zero && !s.left && zero_allowed && len < s.width {
        return format!("{head}{}{body}", "0".repeat(s.width - len)).into_bytes();
    }
    pad(format!("{head}{body}").into_bytes(), s)
}

/// Spaces to the width, left or right.
fn pad(mut text: Vec<u8>, s: &Spec) -> Vec<u8> {
    if text.len() >= s.width {
        return text;
    }
    let fill = vec![b' '; s.width - text.len()];
    if s.left {
        text.extend_from_slice(&fill);
        text
    } else {
        [fill, text].concat()
    }
}

fn float_body(v: f64, conv: char, s: &Spec) -> Vec<u8> {
    let sign = if v.is_sign_negative() {
        "-"
    } else if s.plus {
        "+"
    } else if s.space {
        " "
    } else {
        ""
    };
    let a = v.abs();
    let p = s.precision.unwrap_or(6);
    let body = match conv.to_ascii_lowercase() {
        _ if a.is_nan() => "nan".to_string(),
        _ if a.is_infinite() => "inf".to_string(),
        'f' => format!("{a:.p$}"),
        'e' => exp_form(a, p),
        _ => general_form(a, p, s.alt),
    };
    let body = if conv.is_ascii_uppercase() {
        body.to_uppercase()
    } else {
        body
    };
    zero_or_space_pad(sign, &body, s, a.is_finite())
}

/// `1.500000e+00`: C's exponent has a sign and at least two digits.
fn exp_form(a: f64, p: usize) -> String {
    let s = format!("{a:.p$e}");
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exp.abs())
}

/// `%g`: `%e` or `%f` by the exponent, trailing zeros removed unless `#`.
fn general_form(a: f64, p: usize, alt: bool) -> String {
    let p = p.max(1);
    let exp = if a == 0.0 {
        0
    } else {
        let s = format!("{a:.prec$e}", prec = p - 1);
        s.split_once('e')
            .and_then(|(_, e)| e.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let mut text = if exp < -4 || exp >= p as i64 {
        exp_form(a, p - 1)
    } else {
        let prec = usize::try_from(p as i64 - 1 - exp).unwrap_or(0);
        format!("{a:.prec$}")
    };
    if !alt {
        let (mantissa, tail) = match text.find('e') {
            Some(at) => text.split_at(at),
            None => (text.as_str(), ""),
        };
        if mantissa.contains('.') {
            let trimmed = mantissa.trim_end_matches('0').trim_end_matches('.');
            text = format!("{trimmed}{tail}");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (stdout, stderr, status) of the applet.
    fn printf(args: &[&str]) -> (String, String, i32) {
        let mut out = Output::new(false);
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let status = run(None, &args, &mut out).unwrap();
        let (mut o, mut e) = (String::new(), String::new());
        for c in out.take_step() {
            let text = String::from_utf8_lossy(&c.bytes).into_owned();
            match c.stream {
                Stream::Stdout => o.push_str(&text),
                Stream::Stderr => e.push_str(&text),
            }
        }
        (o, e, status)
    }

    fn ok(args: &[&str]) -> String {
        let (o, e, status) = printf(args);
        assert_eq!((e.as_str(), status), ("", 0), "{args:?}");
        o
    }

    #[test]
    fn conversions_as_busybox_prints_them() {
        assert_eq!(
            ok(&["%d %x %o %c %%\\n", "255", "255", "8", "hello"]),
            "255 ff 10 h %\n"
        );
        assert_eq!(ok(&["a\\tb\\\\c\\n"]), "a\tb\\c\n");
        assert_eq!(ok(&["%s-%s\\n", "a", "b", "c"]), "a-b\nc-\n");
        assert_eq!(
            ok(&[
                "[%5d][%-5s][%05.1f][%+d][%#x][%3c]",
                "42",
                "ab",
                "3.14159",
                "7",
                "255",
                "z"
            ]),
            "[   42][ab   ][003.1][+7][0xff][  z]"
        );
        assert_eq!(
            ok(&["%d|", "-5", "0x10", "010", "'a", " 4"]),
            "-5|16|8|97|4|"
        );
        assert_eq!(
            ok(&["%x %o %u", "-1", "-1", "-1"]),
            "ffffffffffffffff 1777777777777777777777 18446744073709551615"
        );
        assert_eq!(
            ok(&[
                "%5.2s|%.3d|%-4x|%e|%g|%g|%g|%E|%G|%f",
                "abc",
                "7",
                "10",
                "1.5",
                "0.0001",
                "1234567",
                "100",
                "12345.678",
                "0.00001234",
                "2"
            ]),
            "   ab|007|a   |1.500000e+00|0.0001|1.23457e+06|100|1.234568E+04|1.234E-05|2.000000"
        );
        assert_eq!(ok(&["%*d|%-*d|", "4", "1", "3", "2"]), "   1|2  |");
        assert_eq!(ok(&["%c|", ""]), "\0|");
        assert_eq!(ok(&["x\\0041\\101\\x41\\e\\q"]), "x\u{4}1AA\u{1b}\\q");
        assert_eq!(ok(&["%b|%b\\n", "a\\cb", "c"]), "a");
        assert_eq!(ok(&["%s %s\\n", "a"]), "a \n");
        assert_eq!(ok(&["a%sb\\n"]), "ab\n");
        assert_eq!(ok(&["%b", "\\0101\\101"]), "AA");
    }

    #[test]
    fn invalid_numbers_print_zero_and_fail() {
        assert_eq!(
            printf(&["%d\\n", "x"]),
            ("0\n".into(), "printf: invalid number 'x'\n".into(), 1)
        );
        assert_eq!(printf(&["%d", "3x"]).1, "printf: invalid number '3x'\n");
        assert_eq!(printf(&["%d", "5 "]).1, "printf: invalid number '5 '\n");
        assert_eq!(printf(&["%d", "99999999999999999999"]).2, 1);
        // BusyBox reports a missing numeric argument as an empty invalid number.
        assert_eq!(
            printf(&["%i %d\\n", "1", "2", "3"]),
            ("1 2\n3 0\n".into(), "printf: invalid number ''\n".into(), 1)
        );
    }

    #[test]
    fn usage_and_invalid_formats() {
        let (o, e, status) = printf(&[]);
        assert!(o.is_empty() && e.contains("Usage: printf FORMAT [ARG]...") && status == 1);
        assert_eq!(
            printf(&["a%qb\\n"]),
            ("a".into(), "printf: %qb\\n: invalid format\n".into(), 1)
        );
        let mut out = Output::new(false);
        assert_eq!(run(Some("sh"), &[], &mut out), Ok(2));
        assert_eq!(
            out.take_step()[0].bytes,
            b"sh: usage: printf FORMAT [ARGUMENT...]\n"
        );
        let mut out = Output::new(false);
        run(Some("sh"), &["%d".into(), "x".into()], &mut out).unwrap();
        assert_eq!(out.take_step()[0].bytes, b"sh: invalid number 'x'\n");
    }
}
