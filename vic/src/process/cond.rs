//! `test EXPR` and `[ EXPR ]` (ash builtins and BusyBox applets): `!`, `-a`, `-o`, `( … )`,
//! string tests (`-n -z = == != < >`), integer comparisons (`-eq -ne -lt -le -gt -ge`) and
//! file tests. The file system is what the image declares: a path exists when it is a declared
//! file, a directory above one, the working directory or one of the `busybox` image's
//! top-level directories; every existing path is readable, writable and executable (we are
//! root), and links, devices, pipes, sockets and set-id bits never exist.

use super::Context;
use super::commands::resolve_path;

/// Directories of the `busybox` image.
const IMAGE_DIRS: [&str; 11] = [
    "/", "/bin", "/dev", "/etc", "/home", "/proc", "/root", "/sys", "/tmp", "/usr", "/var",
];

/// Evaluates `args` (without the `]` of the bracket form). Ok(status 0/1), or Err(message
/// after the prefix) for status 2.
pub(super) fn evaluate(args: &[String], ctx: &Context, pwd: &str) -> Result<i32, String> {
    if args.is_empty() {
        return Ok(1);
    }
    let mut t = Test {
        args,
        pos: 0,
        ctx,
        pwd,
    };
    let value = t.or()?;
    if let Some(extra) = args.get(t.pos) {
        return Err(format!("{extra}: unknown operand"));
    }
    Ok(i32::from(!value))
}

/// The bracket form: the last argument must be `]`.
pub(super) fn bracket(args: &[String], ctx: &Context, pwd: &str) -> Result<i32, String> {
    match args.split_last() {
        Some((last, inner)) if last == "]" => evaluate(inner, ctx, pwd),
        _ => Err("missing ]".into()),
    }
}

struct Test<'a> {
    args: &'a [String],
    pos: usize,
    ctx: &'a Context,
    pwd: &'a str,
}

fn is_unary(op: &str) -> bool {
    matches!(
        op,
        "-n" | "-z"
            | "-e"
            | "-f"
            | "-d"
            | "-r"
            | "-w"
            | "-x"
            | "-s"
            | "-L"
            | "-h"
            | "-b"
            | "-c"
            | "-p"
            | "-S"
            | "-t"
            | "-g"
            | "-u"
            | "-k"
            | "-O"
            | "-G"
    )
}

fn is_binary(op: &str) -> bool {
    matches!(
        op,
        "=" | "=="
            | "!="
            | "<"
            | ">"
            | "-eq"
            | "-ne"
            | "-lt"
            | "-le"
            | "-gt"
            | "-ge"
            | "-nt"
            | "-ot"
            | "-ef"
    )
}

impl<'a> Test<'a> {
    fn peek(&self) -> Option<&'a str> {
        self.args.get(self.pos).map(String::as_str)
    }

    fn or(&mut self) -> Result<bool, String> {
        let mut v = self.and()?;
        while self.peek() == Some("-o") {
            self.pos += 1;
            let rhs = self.and()?;
            v = v || rhs;
        }
        Ok(v)
    }

    fn and(&mut self) -> Result<bool, String> {
        let mut v = self.not()?;
        while self.peek() == Some("-a") {
            self.pos += 1;
            let rhs = self.not()?;
            v = v && rhs;
        }
        Ok(v)
    }

    fn not(&mut self) -> Result<bool, String> {
        // `!` alone is a non-empty string, as is `!` followed by a binary operator.
        let operand = self.args.get(self.pos + 1).map(String::as_str);
        if self.peek() == Some("!") && operand.is_some_and(|o| !is_binary(o)) {
            self.pos += 1;
            return Ok(!self.not()?);
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<bool, String> {
        let Some(a) = self.peek() else {
            let last = self.args.last().map_or("", String::as_str);
            return Err(format!("{last}: argument expected"));
        };
        self.pos += 1;
        let next = self.peek();
        // A binary operator wins over grouping: `[ ( = ( ]` compares two strings.
        if let Some(op) = next.filter(|n| is_binary(n)) {
            self.pos += 1;
            let Some(b) = self.peek() else {
                return Err(format!("{op}: argument expected"));
            };
            self.pos += 1;
            return binary(a, op, b);
        }
        if a == "(" && next.is_some() {
            let v = self.or()?;
            if self.peek() != Some(")") {
                return Err("')' expected".into());
            }
            self.pos += 1;
            return Ok(v);
        }
        if is_unary(a)
            && let Some(b) = next
        {
            self.pos += 1;
            return Ok(self.unary(a, b));
        }
        Ok(!a.is_empty())
    }

    fn unary(&self, op: &str, arg: &str) -> bool {
        let path = resolve_path(self.pwd, arg);
        let file = self.ctx.files.get(&path);
        let dir = file.is_none() && self.is_dir(&path);
        match op {
            "-n" => !arg.is_empty(),
            "-z" => arg.is_empty(),
            "-f" => file.is_some(),
            "-d" => dir,
            "-s" => file.is_some_and(|c| !c.is_empty()) || dir,
            "-e" | "-r" | "-w" | "-x" | "-O" | "-G" => file.is_some() || dir,
            _ => false,
        }
    }

    fn is_dir(&self, path: &str) -> bool {
        let workdir = resolve_path("/", &self.ctx.workdir);
        if IMAGE_DIRS.contains(&path) || path == workdir || workdir.starts_with(&format!("{path}/"))
        {
            return true;
        }
        let prefix = format!("{path}/");
        self.ctx.files.keys().any(|k| k.starts_with(&prefix))
    }
}

fn binary(a: &str, op: &str, b: &str) -> Result<bool, String> {
    let number = |s: &str| {
        s.trim()
            .parse::<i64>()
            .map_err(|_| format!("{s}: bad number"))
    };
    Ok(match op {
        "=" | "==" => a == b,
        "!=" => a != b,
        "<" => a < b,
        ">" => a > b,
        // File times are unknown: no file is newer, older or the same as another.
        "-nt" | "-ot" | "-ef" => false,
        _ => {
            let (x, y) = (number(a)?, number(b)?);
            match op {
                "-eq" => x == y,
                "-ne" => x != y,
                "-lt" => x < y,
                "-le" => x <= y,
                "-gt" => x > y,
                _ => x >= y,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(words: &str) -> Result<i32, String> {
        let mut ctx = Context::default();
        ctx.files.insert("/etc/motd".into(), b"hi".to_vec());
        ctx.files.insert("/app/empty".into(), Vec::new());
        ctx.workdir = "/srv/www".into();
        let args: Vec<String> = if words.is_empty() {
            Vec::new()
        } else {
            words.split(' ').map(|s| s.replace('_', " ")).collect()
        };
        evaluate(&args, &ctx, "/etc")
    }

    #[test]
    fn strings_numbers_and_logic() {
        assert_eq!(t(""), Ok(1));
        assert_eq!(t("a"), Ok(0));
        assert_eq!(t("-n"), Ok(0));
        assert_eq!(t("!"), Ok(0));
        assert_eq!(t("! a"), Ok(1));
        assert_eq!(t("-z "), Ok(0));
        assert_eq!(t("a = a -a 1 -lt 2"), Ok(0));
        assert_eq!(t("a != a -o _3 -ge 3"), Ok(0));
        assert_eq!(t("( a = b ) -o ! x"), Ok(1));
        assert_eq!(t("-10 -lt 2"), Ok(0));
        assert_eq!(t("= = ="), Ok(0));
        assert_eq!(t("( = ("), Ok(0));
        assert_eq!(t("1 -eq x"), Err("x: bad number".into()));
        assert_eq!(t("a b"), Err("b: unknown operand".into()));
        assert_eq!(t("1 -gt"), Err("-gt: argument expected".into()));
    }

    #[test]
    fn files_are_the_declared_ones() {
        assert_eq!(t("-f /etc/motd"), Ok(0));
        assert_eq!(t("-f motd"), Ok(0));
        assert_eq!(t("-s /app/empty"), Ok(1));
        assert_eq!(t("-d /app"), Ok(0));
        assert_eq!(t("-d /srv"), Ok(0));
        assert_eq!(t("-d /tmp"), Ok(0));
        assert_eq!(t("-e /nope"), Ok(1));
        assert_eq!(t("-L /etc/motd"), Ok(1));
        let ctx = Context::default();
        assert_eq!(bracket(&["a".into()], &ctx, "/"), Err("missing ]".into()));
        assert_eq!(bracket(&["a".into(), "]".into()], &ctx, "/"), Ok(0));
    }
}
