//! Backslash escapes of `printf` formats, `printf %b` and `echo -e`: `\\ \a \b \c \e \f \n
//! \r \t \v`, octal `\NNN` (and `\0NNN` for echo and `%b`), hex `\xHH`; others stay as written.

/// What processing a backslash escape produced.
pub(super) enum Escape {
    Go,
    /// `\c`: no more output at all.
    Stop,
}

/// Expands backslash escapes of a whole text (echo -e, `%b`); true when `\c` stopped it.
pub(super) fn unescape(chars: &[char], out: &mut Vec<u8>, zero_takes_three: bool) -> bool {
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\\' && i + 1 < chars.len() {
            i += 1;
            if let Escape::Stop = escape(chars, &mut i, out, zero_takes_three) {
                return true;
            }
        } else {
            let mut tmp = [0u8; 4];
            out.extend_from_slice(chars[i].encode_utf8(&mut tmp).as_bytes());
            i += 1;
        }
    }
    false
}

/// One escape, `i` just after the backslash. Octal is `\NNN`; with `zero_takes_three`
/// (echo, `%b`) `\0` may be followed by three more digits.
pub(super) fn escape(
    f: &[char],
    i: &mut usize,
    out: &mut Vec<u8>,
    zero_takes_three: bool,
) -> Escape {
    let Some(&c) = f.get(*i) else {
        out.push(b'\\');
        return Escape::Go;
    };
    *i += 1;
    let byte = match c {
        '\\' => b'\\',
        'a' => 7,
        'b' => 8,
        'e' => 27,
        'f' => 12,
        'n' => b'\n',
        'r' => b'\r',
        't' => b'\t',
        'v' => 11,
        'c' => return Escape::Stop,
        '0'..='7' => {
            let max = if c == '0' && zero_takes_three { 3 } else { 2 };
            let mut v = c as u32 - '0' as u32;
            if c == '0' && zero_takes_three {
                v = 0;
            }
            let mut taken = 0;
            while taken < max && f.get(*i).is_some_and(|d| ('0'..='7').contains(d)) {
                v = v * 8 + (f[*i] as u32 - '0' as u32);
                *i += 1;
                taken += 1;
            }
            (v & 0xff) as u8
        }
        'x' if f.get(*i).is_some_and(char::is_ascii_hexdigit) => {
            let mut v = 0u32;
            let mut taken = 0;
            while taken < 2 && f.get(*i).is_some_and(char::is_ascii_hexdigit) {
                v = v * 16 + f[*i].to_digit(16).unwrap_or(0);
                *i += 1;
                taken += 1;
            }
            v as u8
        }
        other => {
            out.push(b'\\');
            let mut tmp = [0u8; 4];
            out.extend_from_slice(other.encode_utf8(&mut tmp).as_bytes());
            return Escape::Go;
        }
    };
    out.push(byte);
    Escape::Go
}

#[cfg(test)]
mod tests {
    use super::*;

    fn un(s: &str, zero_takes_three: bool) -> (Vec<u8>, bool) {
        let chars: Vec<char> = s.chars().collect();
        let mut out = Vec::new();
        let stopped = unescape(&chars, &mut out, zero_takes_three);
        (out, stopped)
    }

    #[test]
    fn escapes_as_busybox_echo_e() {
        // `busybox echo -e '\101|\0101|\x41|\e|\1|\8|\q|\c|x'`
        assert_eq!(
            un(r"\101|\0101|\x41|\e|\1|\8|\q|\c|x", true),
            (b"A|A|A|\x1b|\x01|\\8|\\q|".to_vec(), true)
        );
        // In a printf format `\0` takes at most two more digits.
        assert_eq!(un(r"\0041\t\\", false), (b"\x041\t\\".to_vec(), false));
        assert_eq!(un(r"a\", false), (b"a\\".to_vec(), false));
    }
}
