//! Parser tests: every instruction, continuations, directives and each error message.

use super::*;
use proptest::prelude::*;

fn steps(text: &str) -> Vec<Instruction> {
    parse(text)
        .unwrap()
        .steps
        .into_iter()
        .map(|s| s.instruction)
        .collect()
}

fn error(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

fn s(v: &str) -> String {
    v.to_owned()
}

#[test]
fn the_seed_dockerfile() {
    let file = parse("FROM nginx:latest\nRUN apt-get update && apt-get upgrade -y\n").unwrap();
    assert_eq!(file.escape, '\\');
    assert_eq!(file.steps.len(), 2);
    assert_eq!(file.steps[0].text, "FROM nginx:latest");
    assert_eq!(
        file.steps[1].instruction,
        Instruction::Run(CommandForm::Shell(s(
            "apt-get update && apt-get upgrade -y"
        )))
    );
    assert_eq!(file.steps[1].line, 2);
}

#[test]
fn every_instruction() {
    let text = r#"
# a comment
from busybox AS base
RUN ["echo", "hi"]
CMD echo $HOME
ENTRYPOINT ["/entry.sh"]
COPY --chown=1:1 a.txt b* /dst/
ADD x.tar /opt/
ENV A 1 2  3
ENV B=2 C="x y"
ARG V=1
ARG W
LABEL k=v "other key"=z
EXPOSE 80 53/udp
WORKDIR /my dir
USER nobody
VOLUME ["/data", "/logs"]
VOLUME /a /b
MAINTAINER me@example.com
STOPSIGNAL SIGTERM
COPY --from=base /bin/x /y
"#;
    let got = steps(text);
    let want = vec![
        Instruction::From {
            image: s("busybox"),
            stage: Some(s("base")),
        },
        Instruction::Run(CommandForm::Exec(vec![s("echo"), s("hi")])),
        Instruction::Cmd(CommandForm::Shell(s("echo $HOME"))),
        Instruction::Entrypoint(CommandForm::Exec(vec![s("/entry.sh")])),
        Instruction::Copy(CopySpec {
            add: false,
            sources: vec![s("a.txt"), s("b*")],
            dest: s("/dst/"),
            chown: Some(s("1:1")),
            from: None,
        }),
        Instruction::Copy(CopySpec {
            add: true,
            sources: vec![s("x.tar")],
            dest: s("/opt/"),
            chown: None,
            from: None,
        }),
        Instruction::Env(vec![(s("A"), s("1 2  3"))]),
        Instruction::Env(vec![(s("B"), s("2")), (s("C"), s("\"x y\""))]),
        Instruction::Arg {
            name: s("V"),
            default: Some(s("1")),
        },
        Instruction::Arg {
            name: s("W"),
            default: None,
        },
        Instruction::Label(vec![(s("k"), s("v")), (s("\"other key\""), s("z"))]),
        Instruction::Expose(vec![s("80"), s("53/udp")]),
        Instruction::Workdir(s("/my dir")),
        Instruction::User(s("nobody")),
        Instruction::Volume(vec![s("/data"), s("/logs")]),
        Instruction::Volume(vec![s("/a"), s("/b")]),
        Instruction::Maintainer(s("me@example.com")),
        Instruction::StopSignal(s("SIGTERM")),
        Instruction::Copy(CopySpec {
            add: false,
            sources: vec![s("/bin/x")],
            dest: s("/y"),
            chown: None,
            from: Some(s("base")),
        }),
    ];
    assert_eq!(got, want);
}

#[test]
fn json_that_is_not_a_string_list_is_shell_form() {
    assert_eq!(
        steps("FROM a\nCMD [1, 2]\n")[1],
        Instruction::Cmd(CommandForm::Shell(s("[1, 2]")))
    );
    assert_eq!(
        steps("FROM a\nRUN [\"unterminated\n")[1],
        Instruction::Run(CommandForm::Shell(s("[\"unterminated")))
    );
}

#[test]
fn continuations_comments_and_blank_lines() {
    let text = "FROM a\nRUN apt-get update && \\\n    # inner comment\n\n    apt-get install -y curl \\  \n    vim\nCMD x\\";
    let file = parse(text).unwrap();
    assert_eq!(
        file.steps[1].text,
        "RUN apt-get update && apt-get install -y curl vim"
    );
    assert_eq!(file.steps[1].line, 2);
    assert_eq!(file.steps[2].line, 7);
    assert_eq!(
        file.steps[2].instruction,
        Instruction::Cmd(CommandForm::Shell(s("x")))
    );
    assert_eq!(parse("\r\nFROM a\r\n").unwrap().steps[0].text, "FROM a");
}

#[test]
fn escape_directive() {
    let file = parse("# escape=`\nFROM a\nRUN dir c:\\ `\n  && echo hi\n").unwrap();
    assert_eq!(file.escape, '`');
    assert_eq!(file.steps[1].text, "RUN dir c:\\ && echo hi");
    // After a comment or an instruction, it is only a comment.
    let file = parse("# hello\n# escape=`\nFROM a\n").unwrap();
    assert_eq!(file.escape, '\\');
    let file = parse("# unknown=x\n# escape=`\nFROM a\n").unwrap();
    assert_eq!(file.escape, '\\');
    assert_eq!(
        error("# escape=x\nFROM a"),
        "Dockerfile parse error line 1: invalid ESCAPE 'x'. Must be ` or \\"
    );
    assert_eq!(
        error("# escape=`\n# escape=\\\nFROM a"),
        "Dockerfile parse error line 2: only one escape parser directive can be used"
    );
}

#[test]
fn platform_is_ignored_with_a_note() {
    let file = parse("FROM --platform=linux/arm64 alpine\n").unwrap();
    assert_eq!(
        file.steps[0].instruction,
        Instruction::From {
            image: s("alpine"),
            stage: None
        }
    );
    assert_eq!(file.notes.len(), 1);
    assert!(file.notes[0].contains("--platform=linux/arm64 ignored"));
}

#[test]
fn error_messages() {
    let cases = [
        (
            "FROM a\nRUN x\nFOO bar\n",
            "line 3: unknown instruction: FOO",
        ),
        (
            "FROM\n",
            "line 1: FROM requires either one or three arguments",
        ),
        (
            "FROM a b\n",
            "line 1: FROM requires either one or three arguments",
        ),
        (
            "FROM a AS 1x\n",
            "line 1: invalid name for build stage: \"1x\", name can't start with a number or contain symbols",
        ),
        (
            "FROM a\nRUN\n",
            "line 2: RUN requires at least one argument",
        ),
        (
            "FROM a\nCOPY x\n",
            "line 2: COPY requires at least two arguments",
        ),
        (
            "FROM a\nADD x\n",
            "line 2: ADD requires at least two arguments",
        ),
        (
            "FROM a\nENV\n",
            "line 2: ENV requires at least one argument",
        ),
        ("FROM a\nENV A\n", "line 2: ENV must have two arguments"),
        (
            "FROM a\nENV A=1 B\n",
            "line 2: Syntax error - can't find = in \"B\". Must be of the form: name=value",
        ),
        ("FROM a\nENV =1\n", "line 2: ENV names can not be blank"),
        (
            "FROM a\nLABEL\n",
            "line 2: LABEL requires at least one argument",
        ),
        ("FROM a\nLABEL k\n", "line 2: LABEL must have two arguments"),
        ("FROM a\nARG\n", "line 2: ARG requires exactly one argument"),
        (
            "FROM a\nARG a b\n",
            "line 2: ARG requires exactly one argument",
        ),
        ("FROM a\nARG =1\n", "line 2: ARG names can not be blank"),
        (
            "FROM a\nEXPOSE\n",
            "line 2: EXPOSE requires at least one argument",
        ),
        (
            "FROM a\nVOLUME\n",
            "line 2: VOLUME requires at least one argument",
        ),
        (
            "FROM a\nVOLUME [\"\"]\n",
            "line 2: VOLUME specified can not be an empty string",
        ),
        (
            "FROM a\nWORKDIR\n",
            "line 2: WORKDIR requires exactly one argument",
        ),
        (
            "FROM a\nUSER\n",
            "line 2: USER requires exactly one argument",
        ),
        ("FROM a\nCOPY --nope=1 a b\n", "line 2: Unknown flag: nope"),
        ("FROM a\nADD --from=x a b\n", "line 2: Unknown flag: from"),
        (
            "FROM a\nHEALTHCHECK NONE\n",
            "line 2: vicbed does not emulate the HEALTHCHECK instruction",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(
            error(text),
            format!("Dockerfile parse error {want}"),
            "{text:?}"
        );
    }
}

#[test]
fn run_text_starting_with_dashes_is_not_flags() {
    assert_eq!(
        steps("FROM a\nCMD --help\n")[1],
        Instruction::Cmd(CommandForm::Shell(s("--help")))
    );
}

#[test]
fn empty_and_comment_only_files_have_no_steps() {
    assert!(parse("").unwrap().steps.is_empty());
    assert!(parse("# just a comment\n\n").unwrap().steps.is_empty());
}

proptest! {
    #[test]
    fn parser_never_panics(text in "\\PC{0,200}") {
        let _ = parse(&text);
    }

    #[test]
    fn parser_never_panics_on_dockerfile_like_text(
        lines in proptest::collection::vec(
            "(# ?escape=.|FROM|RUN|ENV|LABEL|COPY|ADD|ARG|EXPOSE|CMD|VOLUME|WORKDIR)?[ a-zA-Z0-9=\"'`\\\\$\\[\\]{},:-]{0,30}",
            0..8,
        )
    ) {
        let _ = parse(&lines.join("\n"));
    }
}
