//! The emulated BusyBox applets (`printf` and `date` have their own modules): their options,
//! output texts and exit statuses, as BusyBox 1.35/1.36 prints them.

use super::cond;
use super::date;
use super::escape;
use super::out::{Halt, Output};
use super::printf;
use super::script::Io;
use super::seq;

/// The applets that run as programs, sorted.
const APPLETS: [&str; 17] = [
    "[", "cat", "date", "echo", "env", "false", "hostname", "id", "printenv", "printf", "pwd",
    "seq", "sleep", "test", "true", "uname", "whoami",
];

/// The banner BusyBox prints above usage texts. The real one ends with the build date in
/// parentheses; we leave the date out rather than invent one.
const BANNER: &str = "BusyBox v1.36.1 multi-call binary.";

/// Kernel release `uname -r` reports: our assumption for the Photon OS kernel of a VIC 1.2
/// containerVM.
pub(super) const KERNEL_RELEASE: &str = "4.4.41";
/// Kernel version `uname -v` reports (assumed, like the release).
const KERNEL_VERSION: &str = "#1-photon SMP";

/// How an applet ended.
#[derive(Debug)]
pub(super) enum Outcome {
    /// Exited with this status.
    Status(i32),
    /// `env … PROG ARGS`: the process becomes PROG with this environment.
    Exec {
        argv: Vec<String>,
        env: Vec<(String, String)>,
    },
}

/// Whether `name` (a basename) is an emulated applet.
pub(super) fn is_applet(name: &str) -> bool {
    APPLETS.binary_search(&name).is_ok()
}

/// Runs applet `name` with `args` (after the program name).
pub(super) fn run(
    name: &str,
    args: &[String],
    env: &[(String, String)],
    pwd: &str,
    io: &mut Io<'_>,
) -> Result<Outcome, Halt> {
    let status = match name {
        "cat" => cat(args, pwd, io)?,
        "date" => date::run(args, io)?,
        "echo" => echo(args, io.out)?,
        "env" => return env_applet(args, env, io.out),
        "false" => 1,
        "hostname" => hostname(args, io)?,
        "id" => id(args, io.out)?,
        "printenv" => printenv(args, env, io.out)?,
        "printf" if args.is_empty() => usage(io.out, "printf")?,
        "printf" => printf::run(None, args, io.out)?,
        "pwd" => {
            io.out.out(&format!("{pwd}\n"))?;
            0
        }
        "seq" => seq::run(args, io.out)?,
        "[" | "test" => {
            let result = if name == "[" {
                cond::bracket(args, io.ctx, pwd)
            } else {
                cond::evaluate(args, io.ctx, pwd)
            };
            match result {
                Ok(status) => status,
                Err(msg) => {
                    io.out.err_line(&format!("{name}: {msg}"))?;
                    2
                }
            }
        }
        "sleep" => sleep(args, io.out)?,
        "uname" => uname(args, io)?,
        "whoami" if !args.is_empty() => usage(io.out, "whoami")?,
        "whoami" => {
            io.out.out("root\n")?;
            0
        }
        _ => 0,
    };
    Ok(Outcome::Status(status))
}

/// Writes BusyBox's usage text (banner and first lines) to stderr; status 1.
pub(super) fn usage(out: &mut Output, applet: &str) -> Result<i32, Halt> {
    let (synopsis, what) = match applet {
        "cat" => ("cat [-nbvteA] [FILE]...", "Print FILEs to stdout"),
        "date" => (
            "date [OPTIONS] [+FMT] [[-s] TIME]",
            "Display time (using +FMT), or set time",
        ),
        "env" => (
            "env [-i] [-u NAME]... [-] [NAME=VALUE]... [PROG ARGS]",
            "Print current environment or run PROG after setting up environment",
        ),
        "hostname" => (
            "hostname [-sidf] [HOSTNAME | -F FILE]",
            "Show hostname or DNS domain name",
        ),
        "id" => (
            "id [-ugGnr] [USER]",
            "Print information about USER or the current user",
        ),
        "printf" => (
            "printf FORMAT [ARG]...",
            "Format and print ARG(s) according to FORMAT (a-la C printf)",
        ),
        "seq" => (
            "seq [-w] [-s SEP] [FIRST [INC]] LAST",
            "Print numbers from FIRST to LAST, in steps of INC.\nFIRST, INC default to 1.",
        ),
        "sleep" => (
            "sleep [N]...",
            "Pause for a time equal to the total of the args given, where each arg can\n\
             have an optional suffix of (s)econds, (m)inutes, (h)ours, or (d)ays",
        ),
        "uname" => ("uname [-amnrspvio]", "Print system information"),
        _ => (
            "whoami",
            "Print the user name associated with the current effective user id",
        ),
    };
    out.write(
        super::Stream::Stderr,
        format!("{BANNER}\n\nUsage: {synopsis}\n\n{what}\n").as_bytes(),
    )?;
    Ok(1)
}

/// `APPLET: invalid option -- 'x'` and the usage text.
pub(super) fn bad_option(out: &mut Output, applet: &str, flag: char) -> Result<i32, Halt> {
    out.err_line(&format!("{applet}: invalid option -- '{flag}'"))?;
    usage(out, applet)
}

/// `echo [-neE] ARG…`, as BusyBox's: options only while every letter is one of `neE`; like
/// BusyBox 1.35, `-E` does not undo an earlier `-e`.
pub(super) fn echo(args: &[String], out: &mut Output) -> Result<i32, Halt> {
    let (mut newline, mut escapes) = (true, false);
    let mut i = 0;
    while let Some(a) = args.get(i) {
        let flags = a.strip_prefix('-').filter(|f| !f.is_empty());
        let Some(flags) = flags.filter(|f| f.chars().all(|c| matches!(c, 'n' | 'e' | 'E'))) else {
            break;
        };
        for c in flags.chars() {
            match c {
                'n' => newline = false,
                'e' => escapes = true,
                _ => {}
            }
        }
        i += 1;
    }
    let text = args[i..].join(" ");
    let mut bytes = Vec::with_capacity(text.len() + 1);
    if escapes {
        let chars: Vec<char> = text.chars().collect();
        if escape::unescape(&chars, &mut bytes, true) {
            out.write(super::Stream::Stdout, &bytes)?;
            return Ok(0);
        }
    } else {
        bytes.extend_from_slice(text.as_bytes());
    }
    if newline {
        bytes.push(b'\n');
    }
    out.write(super::Stream::Stdout, &bytes)?;
    Ok(0)
}

/// Sets `name` in an environment list, in place or at the end.
pub(super) fn set_env(env: &mut Vec<(String, String)>, name: &str, value: String) {
    match env.iter_mut().find(|(k, _)| k == name) {
        Some(entry) => entry.1 = value,
        None => env.push((name.into(), value)),
    }
}

fn print_env(env: &[(String, String)], out: &mut Output) -> Result<i32, Halt> {
    let text: String = env.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    out.out(&text)?;
    Ok(0)
}

/// `env [-i] [-u NAME]… [-] [NAME=VALUE]… [PROG ARGS]`.
fn env_applet(
    args: &[String],
    env: &[(String, String)],
    out: &mut Output,
) -> Result<Outcome, Halt> {
    let mut env = env.to_vec();
    let mut i = 0;
    while let Some(a) = args.get(i) {
        match a.as_str() {
            "-" | "-i" | "--ignore-environment" => env.clear(),
            "--" => {
                i += 1;
                break;
            }
            "-u" => {
                i += 1;
                let Some(name) = args.get(i) else {
                    out.err_line("env: option requires an argument -- 'u'")?;
                    return usage(out, "env").map(Outcome::Status);
                };
                env.retain(|(k, _)| k != name);
            }
            u if u.starts_with("-u") => env.retain(|(k, _)| k != &u[2..]),
            flag if flag.starts_with('-') && flag.len() > 1 => {
                let bad = flag.chars().nth(1).unwrap_or('-');
                return bad_option(out, "env", bad).map(Outcome::Status);
            }
            _ => break,
        }
        i += 1;
    }
    while let Some((name, value)) = args.get(i).and_then(|a| a.split_once('=')) {
        set_env(&mut env, name, value.into());
        i += 1;
    }
    if i >= args.len() {
        return print_env(&env, out).map(Outcome::Status);
    }
    Ok(Outcome::Exec {
        argv: args[i..].to_vec(),
        env,
    })
}

/// `printenv [NAME…]`: status 1 when a name is unset.
fn printenv(args: &[String], env: &[(String, String)], out: &mut Output) -> Result<i32, Halt> {
    if args.is_empty() {
        return print_env(env, out);
    }
    let mut status = 0;
    let mut text = String::new();
    for name in args {
        match env.iter().rev().find(|(k, _)| k == name) {
            Some((_, v)) => {
                text.push_str(v);
                text.push('\n');
            }
            None => status = 1,
        }
    }
    out.out(&text)?;
    Ok(status)
}

/// `hostname [-s|-f|-d]`. Setting the name, `-i` and `-F` are not emulated (usage, status 1).
fn hostname(args: &[String], io: &mut Io<'_>) -> Result<i32, Halt> {
    let name = io.ctx.hostname.as_str();
    let bad = args.iter().find_map(|a| {
        let flags = a.strip_prefix('-')?;
        flags.chars().find(|c| !"sidfF".contains(*c))
    });
    if let Some(flag) = bad {
        return bad_option(io.out, "hostname", flag);
    }
    let text = match args {
        [] => name,
        [flag] if flag == "-f" => name,
        [flag] if flag == "-s" => name.split('.').next().unwrap_or(name),
        [flag] if flag == "-d" => name.split_once('.').map_or("", |(_, d)| d),
        _ => return usage(io.out, "hostname"),
    };
    io.out.out(&format!("{text}\n"))?;
    Ok(0)
}

/// The path `p` names from `pwd`, with `.` and `..` resolved logically.
pub(super) fn resolve_path(pwd: &str, p: &str) -> String {
    let joined = if p.starts_with('/') {
        p.to_string()
    } else {
        format!("{pwd}/{p}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for seg in joined.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    format!("/{}", parts.join("/"))
}

/// `cat [-n] [FILE…]`: files are those the image declares; stdin is empty.
fn cat(args: &[String], pwd: &str, io: &mut Io<'_>) -> Result<i32, Halt> {
    let mut number = false;
    let mut files = Vec::new();
    for a in args {
        match a.strip_prefix('-').filter(|f| !f.is_empty()) {
            Some(flags) => {
                for c in flags.chars() {
                    match c {
                        'n' => number = true,
                        'u' => {}
                        other => return bad_option(io.out, "cat", other),
                    }
                }
            }
            None => files.push(a.as_str()),
        }
    }
    let mut status = 0;
    let mut line_no = 0u64;
    let mut at_line_start = true;
    for f in files {
        if f == "-" {
            continue;
        }
        let path = resolve_path(pwd, f);
        let Some(content) = io.ctx.files.get(&path) else {
            let dir = format!("{}/", path.trim_end_matches('/'));
            let is_dir = io.ctx.files.keys().any(|k| k.starts_with(&dir));
            let msg = if is_dir {
                "cat: read error: Is a directory".to_string()
            } else {
                format!("cat: can't open '{f}': No such file or directory")
            };
            io.out.err_line(&msg)?;
            status = 1;
            continue;
        };
        if !number {
            io.out.write(super::Stream::Stdout, content)?;
            continue;
        }
        let mut numbered = Vec::with_capacity(content.len() + content.len() / 8);
        for &b in content {
            if at_line_start {
                line_no += 1;
                numbered.extend_from_slice(format!("{line_no:6}\t").as_bytes());
            }
            numbered.push(b);
            at_line_start = b == b'\n';
        }
        io.out.write(super::Stream::Stdout, &numbered)?;
    }
    Ok(status)
}

/// `id [-u|-g|-G] [-n] [USER]`. VIC's tether starts a process of an image without `User` with its
/// own credentials (root, no supplementary groups), so BusyBox prints no `groups=` part.
fn id(args: &[String], out: &mut Output) -> Result<i32, Halt> {
    let (mut what, mut names) = (' ', false);
    for a in args {
        match a.strip_prefix('-').filter(|f| !f.is_empty()) {
            Some(flags) => {
                for c in flags.chars() {
                    match c {
                        'u' | 'g' | 'G' => what = c,
                        'n' => names = true,
                        'r' => {}
                        other => return bad_option(out, "id", other),
                    }
                }
            }
            None if a == "root" || a == "0" => {}
            None => {
                out.err_line(&format!("id: unknown user {a}"))?;
                return Ok(1);
            }
        }
    }
    let text = match (what, names) {
        (' ', _) => "uid=0(root) gid=0(root)",
        (_, true) => "root",
        _ => "0",
    };
    out.out(&format!("{text}\n"))?;
    Ok(0)
}

/// `uname [-amnrspvio]`, fields in BusyBox's fixed order.
fn uname(args: &[String], io: &mut Io<'_>) -> Result<i32, Halt> {
    const ORDER: &str = "snrvmpio";
    let mut wanted = String::new();
    for a in args {
        let Some(flags) = a.strip_prefix('-').filter(|f| !f.is_empty()) else {
            return usage(io.out, "uname");
        };
        for c in flags.chars() {
            match c {
                'a' => wanted.push_str("snrvmo"),
                c if ORDER.contains(c) => wanted.push(c),
                other => return bad_option(io.out, "uname", other),
            }
        }
    }
    if wanted.is_empty() {
        wanted.push('s');
    }
    let fields: Vec<&str> = ORDER
        .chars()
        .filter(|c| wanted.contains(*c))
        .map(|c| match c {
            's' => "Linux",
            'n' => io.ctx.hostname.as_str(),
            'r' => KERNEL_RELEASE,
            'v' => KERNEL_VERSION,
            'm' => "x86_64",
            'o' => "GNU/Linux",
            _ => "unknown",
        })
        .collect();
    io.out.out(&format!("{}\n", fields.join(" ")))?;
    Ok(0)
}

/// `sleep N[smhd]…`: advances the virtual clock by the total.
fn sleep(args: &[String], out: &mut Output) -> Result<i32, Halt> {
    if args.is_empty() {
        return usage(out, "sleep");
    }
    let mut total_ms: u64 = 0;
    for a in args {
        if a == "." {
            return usage(out, "sleep");
        }
        let Some(ms) = duration_ms(a) else {
            out.err_line(&format!("sleep: invalid number '{a}'"))?;
            return Ok(1);
        };
        total_ms = total_ms.saturating_add(ms);
    }
    out.sleep_ms(total_ms);
    Ok(0)
}

/// `N[.F][s|m|h|d]` in milliseconds (rounded down, saturating); `inf` is forever.
fn duration_ms(arg: &str) -> Option<u64> {
    let (number, unit_s) = match arg.as_bytes().last()? {
        b's' => (&arg[..arg.len() - 1], 1u128),
        b'm' => (&arg[..arg.len() - 1], 60),
        b'h' => (&arg[..arg.len() - 1], 3_600),
        b'd' => (&arg[..arg.len() - 1], 86_400),
        _ => (arg, 1),
    };
    if matches!(number, "inf" | "infinity") {
        return Some(u64::MAX);
    }
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let int_value = int.bytes().fold(0u128, |acc, b| {
        acc.saturating_mul(10).saturating_add(u128::from(b - b'0'))
    });
    // Fractions finer than a nanosecond change nothing.
    let frac = &frac[..frac.len().min(9)];
    let frac_value = frac
        .bytes()
        .fold(0u128, |acc, b| acc * 10 + u128::from(b - b'0'));
    let frac_ms = frac_value * 1000 * unit_s / 10u128.pow(frac.len() as u32);
    let ms = int_value
        .saturating_mul(1000 * unit_s)
        .saturating_add(frac_ms);
    Some(u64::try_from(ms).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applet_list_is_sorted_for_lookup() {
        assert!(APPLETS.windows(2).all(|w| w[0] < w[1]));
        assert!(is_applet("seq") && !is_applet("yes") && !is_applet("exit"));
    }

    #[test]
    fn durations() {
        assert_eq!(duration_ms("2"), Some(2000));
        assert_eq!(duration_ms("0.5"), Some(500));
        assert_eq!(duration_ms(".25s"), Some(250));
        assert_eq!(duration_ms("1.5m"), Some(90_000));
        assert_eq!(duration_ms("2h"), Some(7_200_000));
        assert_eq!(duration_ms("1d"), Some(86_400_000));
        assert_eq!(duration_ms("0.0001"), Some(0));
        assert_eq!(duration_ms("inf"), Some(u64::MAX));
        assert_eq!(duration_ms("99999999999999999999999999d"), Some(u64::MAX));
        for bad in ["x", "1x", "1e-2", "", ".", "s", "-1", "1.2.3"] {
            assert_eq!(duration_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn paths_resolve_logically() {
        assert_eq!(resolve_path("/", "a/./b/../c"), "/a/c");
        assert_eq!(resolve_path("/x", ".."), "/");
        assert_eq!(resolve_path("/x", "../../.."), "/");
        assert_eq!(resolve_path("/x", "/etc//hosts/"), "/etc/hosts");
    }
}
