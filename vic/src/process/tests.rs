//! Tests of [`run`] as the tether calls it: whole argvs, outputs, ends and bounds.

use super::*;

fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|s| s.to_string()).collect()
}

fn ctx() -> Context {
    let mut files = BTreeMap::new();
    files.insert("/etc/motd".to_string(), b"hello\nworld\n".to_vec());
    files.insert(
        "/app/run.sh".to_string(),
        b"#!/bin/sh\necho \"script $1\"\nexit 7\n".to_vec(),
    );
    Context {
        env: vec![
            ("PATH".into(), "/usr/bin:/bin".into()),
            ("HOSTNAME".into(), "c1".into()),
            ("HOME".into(), "/root".into()),
        ],
        hostname: "c1".into(),
        files,
        start_unix_s: 1_500_000_000,
        workdir: String::new(),
    }
}

/// (stdout, stderr, end) of a run.
fn run_out(words: &[&str]) -> (String, String, End) {
    let r = run(&argv(words), &ctx());
    let (mut o, mut e) = (String::new(), String::new());
    for c in &r.chunks {
        let text = String::from_utf8_lossy(&c.bytes);
        match c.stream {
            Stream::Stdout => o.push_str(&text),
            Stream::Stderr => e.push_str(&text),
        }
    }
    (o, e, r.end)
}

fn exited(code: i32, after_ms: u64) -> End {
    End::Exited { code, after_ms }
}

fn sh(script: &str) -> (String, String, End) {
    run_out(&["sh", "-c", script])
}

#[test]
fn lists_and_exit_codes() {
    assert_eq!(
        sh("echo a; false && echo no || echo yes; exit 3"),
        ("a\nyes\n".into(), String::new(), exited(3, 0))
    );
    assert_eq!(sh("true").2, exited(0, 0));
    assert_eq!(sh("false").2, exited(1, 0));
    assert_eq!(sh("false; exit").2, exited(1, 0));
    assert_eq!(sh("exit 256").2, exited(0, 0));
    assert_eq!(
        sh("exit x"),
        (
            String::new(),
            "sh: exit: line 0: Illegal number: x\n".into(),
            exited(2, 0)
        )
    );
    assert_eq!(run_out(&["false"]).2, exited(1, 0));
}

#[test]
fn sleep_advances_the_clock() {
    let r = run(&argv(&["sh", "-c", "sleep 2; echo b"]), &ctx());
    assert_eq!(
        r.chunks,
        vec![Chunk {
            at_ms: 2000,
            stream: Stream::Stdout,
            bytes: b"b\n".to_vec()
        }]
    );
    assert_eq!(r.end, exited(0, 2000));
    assert_eq!(run_out(&["sleep", "1.5", "1m"]).2, exited(0, 61_500));
    assert_eq!(
        run_out(&["sleep", "x"]),
        (
            String::new(),
            "sleep: invalid number 'x'\n".into(),
            exited(1, 0)
        )
    );
    assert_eq!(run_out(&["sleep", "inf"]).2, exited(0, u64::MAX));
    assert_eq!(sh("sleep inf; sleep 1; echo x").2, exited(0, u64::MAX));
}

#[test]
fn date_follows_the_virtual_clock() {
    assert_eq!(run_out(&["date"]).0, "Fri Jul 14 02:40:00 UTC 2017\n");
    assert_eq!(
        sh("sleep 61; date -u +%T; date -d @0").0,
        "02:41:01\nThu Jan  1 00:00:00 UTC 1970\n"
    );
    assert_eq!(
        run_out(&["date", "-R"]).0,
        "Fri, 14 Jul 2017 02:40:00 +0000\n"
    );
    assert_eq!(
        run_out(&["date", "-Iseconds"]).0,
        "2017-07-14T02:40:00+00:00\n"
    );
    let (_, e, end) = run_out(&["date", "-x"]);
    assert!(
        e.starts_with("date: invalid option -- 'x'\nBusyBox v1.36.1"),
        "{e}"
    );
    assert_eq!(end, exited(1, 0));
    assert_eq!(
        run_out(&["date", "tomorrow"]).1,
        "date: invalid date 'tomorrow'\n"
    );
}

#[test]
fn quoting_and_expansion() {
    assert_eq!(run_out(&["sh", "-c", "echo $1", "x", "y"]).0, "y\n");
    assert_eq!(
        run_out(&["sh", "-c", "echo $0 $# \"$@\"", "n", "a", "b c"]).0,
        "n 2 a b c\n"
    );
    assert_eq!(run_out(&["sh", "-c", "echo $0 $#"]).0, "sh 0\n");
    assert_eq!(
        sh(r#"X='a  b'; printf '[%s]' $X "$X" '$X' "\$X" a\ b; echo"#).0,
        "[a][b][a  b][$X][$X][a b]\n"
    );
    assert_eq!(
        sh("echo \"a\\$b\\\"c\\\\d\\e\" 'q\\n' a\\ b\\\nc").0,
        "a$b\"c\\d\\e q\\n a bc\n"
    );
    assert_eq!(
        sh("echo $HOME ${HOSTNAME} $$ ~/x # comment").0,
        "/root c1 1 /root/x\n"
    );
    assert_eq!(sh("false; echo $?; echo $?").0, "1\n0\n");
    assert_eq!(sh("echo ${PORT:-80} ${#HOME}").0, "80 5\n");
    let env = sh("X=1; export Y=2; env").0;
    assert!(
        env.ends_with("PWD=/\nY=2\n") && !env.contains("X=1"),
        "{env}"
    );
    // A bare applet is not run through a shell: no expansion.
    assert_eq!(run_out(&["echo", "$HOME", "a  b"]).0, "$HOME a  b\n");
}

#[test]
fn unsupported_syntax_is_refused_with_status_2() {
    let msg = |c: &str| {
        format!(
            "sh: vicbed emulates only ';', '&&' and '||' lists of simple commands: '{c}' is not \
             emulated\n"
        )
    };
    for (script, construct) in [
        ("echo a | cat", "|"),
        ("echo a > f", ">"),
        ("echo $(date)", "$("),
        ("echo `date`", "`"),
        ("if true; then echo; fi", "if"),
        ("for i in 1; do echo; done", "for"),
        ("sleep 1 &", "&"),
        ("(echo)", "("),
        ("{ echo; }", "{"),
    ] {
        assert_eq!(
            sh(script),
            (String::new(), msg(construct), exited(2, 0)),
            "{script}"
        );
    }
    // Lines before the refused one have run, as ash parses line by line.
    assert_eq!(
        sh("echo a\necho b | cat\necho c"),
        ("a\n".into(), msg("|"), exited(2, 0))
    );
    assert_eq!(sh("echo a; ;").1, "sh: syntax error: unexpected \";\"\n");
    assert_eq!(
        sh("echo 'a").1,
        "sh: syntax error: unterminated quoted string\n"
    );
    assert_eq!(
        sh("echo a &&").1,
        "sh: syntax error: unexpected end of file\n"
    );
}

#[test]
fn outside_the_set_is_a_workload() {
    let workload = |words: &[&str], after_ms| End::Workload {
        argv: argv(words),
        after_ms,
    };
    let r = run(&argv(&["nginx", "-g", "daemon off;"]), &ctx());
    assert!(r.chunks.is_empty());
    assert_eq!(r.end, workload(&["nginx", "-g", "daemon off;"], 0));
    assert_eq!(run(&[], &ctx()).end, workload(&[], 0));
    let (o, _, end) = sh("echo starting; sleep 1; P=6379; redis-server --port $P; echo never");
    assert_eq!(o, "starting\n");
    assert_eq!(end, workload(&["redis-server", "--port", "6379"], 1000));
    // Builtins are not programs.
    assert_eq!(run_out(&["exit", "3"]).2, workload(&["exit", "3"], 0));
    assert_eq!(
        run_out(&["env", "A=1", "stress", "-c", "2"]).2,
        workload(&["stress", "-c", "2"], 0)
    );
    assert!(is_emulated("/bin/sh") && is_emulated("echo") && is_emulated("/usr/bin/env"));
    assert!(!is_emulated("nginx") && !is_emulated("cd") && !is_emulated("yes"));
}

#[test]
fn applets_print_busybox_texts() {
    assert_eq!(run_out(&["id"]).0, "uid=0(root) gid=0(root)\n");
    assert_eq!(run_out(&["id", "-un"]).0, "root\n");
    assert_eq!(run_out(&["whoami"]).0, "root\n");
    assert_eq!(run_out(&["hostname"]).0, "c1\n");
    assert_eq!(run_out(&["uname"]).0, "Linux\n");
    assert_eq!(
        run_out(&["uname", "-a"]).0,
        "Linux c1 4.4.41 #1-photon SMP x86_64 GNU/Linux\n"
    );
    assert_eq!(
        run_out(&["uname", "-m", "-r", "-n"]).0,
        "c1 4.4.41 x86_64\n"
    );
    assert_eq!(run_out(&["pwd"]).0, "/\n");
    assert_eq!(sh("cd /tmp; pwd; /bin/pwd").0, "/tmp\n/tmp\n");
    assert_eq!(
        run_out(&["printenv", "HOME", "NOPE"]),
        ("/root\n".into(), String::new(), exited(1, 0))
    );
    assert_eq!(
        run_out(&["env"]).0,
        "PATH=/usr/bin:/bin\nHOSTNAME=c1\nHOME=/root\n"
    );
    assert_eq!(run_out(&["env", "-i", "A=1", "env"]).0, "A=1\n");
    assert_eq!(
        sh("env").0,
        "PATH=/usr/bin:/bin\nHOSTNAME=c1\nHOME=/root\nSHLVL=1\nPWD=/\n"
    );
    assert_eq!(run_out(&["echo", "-n", "x"]).0, "x");
    assert_eq!(run_out(&["echo", "-e", "a\\tb\\nc\\cd"]).0, "a\tb\nc");
    assert_eq!(run_out(&["echo", "--", "-n", "-x"]).0, "-- -n -x\n");
    assert_eq!(
        run_out(&["printf", "%s=%d\\n", "a", "1", "b", "2"]).0,
        "a=1\nb=2\n"
    );
    assert_eq!(
        run_out(&["printf", "%d\\n", "x"]),
        (
            "0\n".into(),
            "printf: invalid number 'x'\n".into(),
            exited(1, 0)
        )
    );
    assert_eq!(sh("printf '%d\\n' x").1, "sh: invalid number 'x'\n");
}

#[test]
fn cat_reads_declared_files() {
    assert_eq!(run_out(&["cat", "/etc/motd"]).0, "hello\nworld\n");
    assert_eq!(
        run_out(&["cat", "-n", "/etc/motd"]).0,
        "     1\thello\n     2\tworld\n"
    );
    assert_eq!(
        run_out(&["cat", "/nope", "/etc/motd"]),
        (
            "hello\nworld\n".into(),
            "cat: can't open '/nope': No such file or directory\n".into(),
            exited(1, 0)
        )
    );
    assert_eq!(
        run_out(&["cat"]),
        (String::new(), String::new(), exited(0, 0))
    );
    assert_eq!(sh("cd /etc && cat motd").0, "hello\nworld\n");
    assert_eq!(
        run_out(&["cat", "/app"]).1,
        "cat: read error: Is a directory\n"
    );
    assert_eq!(
        run_out(&["sh", "/app/run.sh", "arg"]),
        ("script arg\n".into(), String::new(), exited(7, 0))
    );
}

#[test]
fn seq_is_bounded() {
    assert_eq!(run_out(&["seq", "3"]).0, "1\n2\n3\n");
    assert_eq!(run_out(&["seq", "2", "2", "7"]).0, "2\n4\n6\n");
    assert_eq!(run_out(&["seq", "1.5", "3"]).0, "1.5\n2.5\n");
    assert_eq!(
        run_out(&["seq", "-s", ",", "-w", "8", "10"]).0,
        "08,09,10\n"
    );
    assert_eq!(run_out(&["seq", "5", "-1", "3"]).0, "5\n4\n3\n");
    assert_eq!(
        run_out(&["seq", "3", "1"]),
        (String::new(), String::new(), exited(0, 0))
    );
    assert_eq!(run_out(&["seq", "100000"]).0.len(), 588_895);
    for bounded in [&["seq", "100001"][..], &["seq", "1", "0", "2"]] {
        assert_eq!(
            run_out(bounded),
            (
                String::new(),
                "seq: vicbed bounds output\n".into(),
                exited(1, 0)
            )
        );
    }
    let (_, e, end) = run_out(&["seq", "x"]);
    assert!(e.contains("Usage: seq [-w] [-s SEP] [FIRST [INC]] LAST"));
    assert_eq!(end, exited(1, 0));
}

#[test]
fn output_is_bounded_at_one_mib() {
    let r = run(
        &argv(&["sh", "-c", "seq 100000; seq 100000; echo never"]),
        &ctx(),
    );
    let total: usize = r.chunks.iter().map(|c| c.bytes.len()).sum();
    let last = r.chunks.last().expect("chunks");
    assert_eq!(last.stream, Stream::Stderr);
    assert_eq!(last.bytes, b"vicbed: output bounded at 1 MiB\n");
    assert_eq!(total, (1 << 20) + last.bytes.len());
    assert_eq!(r.end, exited(1, 0));
    // Nested shells stop too.
    let r = run(
        &argv(&["sh", "-c", "sh -c 'seq 100000; seq 100000'; echo never"]),
        &ctx(),
    );
    assert_eq!(r.end, exited(1, 0));
    assert_eq!(
        r.chunks.last().expect("chunks").bytes,
        b"vicbed: output bounded at 1 MiB\n"
    );
}

#[test]
fn work_and_expansion_are_bounded() {
    let (o, e, end) = sh(&":;".repeat(100_001));
    assert_eq!(
        (o.as_str(), e.as_str()),
        ("", "vicbed: commands bounded at 100000\n")
    );
    assert_eq!(end, exited(1, 0));
    // A script running itself four times a level ends by a bound, not by exhaustion.
    let mut c = ctx();
    c.files.insert(
        "/r.sh".into(),
        b"sh /r.sh; sh /r.sh; sh /r.sh; sh /r.sh\n".to_vec(),
    );
    assert_eq!(run(&argv(&["sh", "/r.sh"]), &c).end, exited(1, 0));
    let (_, e, end) = sh(
        "X=xxxxxxxxxxxxxxxx; X=$X$X; X=$X$X; X=$X$X; X=$X$X; X=$X$X; X=$X$X; \
                          X=$X$X; X=$X$X; X=$X$X; X=$X$X; X=$X$X; X=$X$X; X=$X$X; X=$X$X; \
                          X=$X$X; X=$X$X; X=$X$X; echo never",
    );
    assert_eq!(
        (e.as_str(), end),
        ("vicbed: expansion bounded at 1 MiB\n", exited(1, 0))
    );
}

#[test]
fn option_and_message_details_match_busybox() {
    assert_eq!(run_out(&["echo", "-neE", "a\\tb"]).0, "a\tb");
    assert_eq!(run_out(&["printf", "%z"]).1, "printf: %: invalid format\n");
    assert_eq!(run_out(&["printf", "%ld|%hhx", "5", "255"]).0, "5|ff");
    let (_, e, end) = run_out(&["seq", "-1", "1"]);
    assert!(e.starts_with("seq: invalid option -- '1'\nBusyBox"), "{e}");
    assert_eq!(end, exited(1, 0));
    assert_eq!(run_out(&["seq", "--", "-1", "1"]).0, "-1\n0\n1\n");
    assert_eq!(
        run_out(&["seq", "-s:", "0", "0.25", "1"]).0,
        "0.00:0.25:0.50:0.75:1.00\n"
    );
    assert!(run_out(&["sleep", "."]).1.contains("Usage: sleep [N]..."));
    assert!(
        run_out(&["hostname", "-x"])
            .1
            .starts_with("hostname: invalid option -- 'x'\n")
    );
    // With ARG0 (or a script file) ash names the line of its own errors too.
    assert_eq!(
        run_out(&["sh", "-c", "echo\necho ;;", "n"]).1,
        "n: line 1: syntax error: unexpected \";;\"\n"
    );
    assert_eq!(
        run_out(&["sh", "-c", "echo ${X:?oops}", "n"]).1,
        "n: line 0: X: oops\n"
    );
    assert_eq!(run_out(&["sh", "-c", "echo ${X:?oops}"]).1, "sh: X: oops\n");
    let mut c = ctx();
    c.files.insert("/f.sh".into(), b"echo a\nexit x\n".to_vec());
    let r = run(&argv(&["sh", "/f.sh"]), &c);
    assert_eq!(
        r.chunks[1].bytes,
        b"/f.sh: exit: line 2: Illegal number: x\n"
    );
    assert_eq!(r.end, exited(2, 0));
}

#[test]
fn or_lists_run_their_right_side() {
    let (o, e, end) = sh("echo x || echo y");
    assert_eq!((o.as_str(), e.as_str()), ("x\n", ""), "{end:?}");
    let (o, _, end) = sh("echo one; false || echo two && exit 3");
    assert_eq!(o, "one\ntwo\n");
    assert_eq!(
        end,
        End::Exited {
            code: 3,
            after_ms: 0
        }
    );
}

#[test]
fn a_tty_shell_exits_on_a_return_sent_alone() {
    let (mut sh, _) = Shell::new(ctx(), true);
    let s1 = sh.feed(b"exit 3");
    assert_eq!(s1.exited, None);
    let s2 = sh.feed(b"\r");
    assert_eq!(s2.exited, Some(3), "{s2:?}");
    let (mut sh, _) = Shell::new(ctx(), true);
    let s = sh.feed(b"echo a\r");
    assert!(
        s.chunks
            .iter()
            .any(|c| c.bytes.windows(3).any(|w| w == b"a\r\n")),
        "{s:?}"
    );
}
