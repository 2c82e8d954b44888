//! Executor tests: the seed Dockerfile, determinism, layer digests, build args, failures,
//! the config a build produces, the cache and quiet mode.

use super::*;
use crate::build::dockerfile::parse;
use crate::build::stage::{join_path, parse_ports};
use crate::images::Catalogue;
use crate::images::Proto;

fn resolver() -> impl Fn(&str) -> Option<BaseImage> {
    let cat = Catalogue::builtin();
    move |r: &str| cat.resolve(r).cloned().map(BaseImage::from_config)
}

fn ctx(files: &[(&str, &str)]) -> ContextFiles {
    files
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.as_bytes().to_vec()))
        .collect()
}

fn build_with(dockerfile: &str, files: &[(&str, &str)], options: &BuildOptions) -> BuildPlan {
    let mut all = vec![("Dockerfile", dockerfile)];
    all.extend_from_slice(files);
    plan_from_context(&ctx(&all), options, &resolver())
}

fn build(dockerfile: &str, files: &[(&str, &str)]) -> BuildPlan {
    build_with(dockerfile, files, &BuildOptions::default())
}

const SEED: &str = "FROM nginx:latest\nRUN apt-get update && apt-get upgrade -y\n";

#[test]
fn the_seed_dockerfile_builds_on_nginx() {
    let options = BuildOptions {
        tags: vec!["justait/nginx:patched".into()],
        ..BuildOptions::default()
    };
    let p = build_with(SEED, &[], &options);
    assert_eq!(p.error, None, "{}", p.text());
    let text = p.text();
    // A base shows its content's id, as the DCH's `docker images` does.
    let nginx =
        crate::image_content::catalogue_content(Catalogue::builtin().resolve("nginx").unwrap())
            .id();
    let step2 = &p.steps[1];
    let image = p.image.as_ref().unwrap();
    let container = text
        .lines()
        .find_map(|l| l.strip_prefix(" ---> Running in "))
        .unwrap();
    let expected_start = format!(
        "Step 1/2 : FROM nginx:latest\n ---> {}\nStep 2/2 : RUN apt-get update && apt-get upgrade -y\n ---> Running in {container}\nGet:1 ",
        short_id(&nginx)
    );
    assert!(text.starts_with(&expected_start), "{text}");
    assert!(text.contains("Reading package lists...\n"));
    assert!(text.contains("7 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n"));
    assert!(text.contains("Setting up libssl1.1:amd64 (1.1.0f-3+deb9u1) ...\n"));
    let expected_end = format!(
        " ---> {id}\nRemoving intermediate container {container}\nSuccessfully built {id}\nSuccessfully tagged justait/nginx:patched\n",
        id = short_id(&image.config.id)
    );
    assert!(text.ends_with(&expected_end), "{text}");
    assert_eq!(container.len(), 12);
    // update 3000 + upgrade 500 + 7 × 400, and one commit.
    assert_eq!(step2.cpu_mhz_s, 3000 + 3300 + COMMIT_CPU_MHZ_S);
    assert_eq!(p.total_cpu_mhz_s(), step2.cpu_mhz_s);
    assert_eq!(p.steps[0].cpu_mhz_s, 0);
    // The config is nginx's, with one more layer.
    assert_eq!(image.config.cmd, ["nginx", "-g", "daemon off;"]);
    assert_eq!(image.config.exposed_ports, [(80, Proto::Tcp)]);
    assert_eq!(image.config.repository, "justait/nginx");
    assert_eq!(image.config.tag, "patched");
    assert_eq!(image.diff_ids.len(), 2);
    assert_eq!(image.layers.len(), 1);
    assert_eq!(
        image.layers[0].created_by,
        "/bin/sh -c apt-get update && apt-get upgrade -y"
    );
    assert_eq!(
        image.config.id,
        format!("sha256:{}", sha256_hex(image.config_json.as_bytes()))
    );
    assert!(image.config.size_bytes > 108 * 1024 * 1024);
    // The stderr line of apt is red, as Docker 17.06 sends it.
    assert!(p.json_lines().contains(
        "{\"stream\":\"\\u001b[91mdebconf: delaying package configuration, since apt-utils is not installed\\n\\u001b[0m\"}\r\n"
    ));
    assert!(
        p.json_lines()
            .starts_with("{\"stream\":\"Step 1/2 : FROM nginx:latest\\n\"}\r\n")
    );
}

#[test]
fn same_input_same_ids() {
    let a = build(SEED, &[]);
    let b = build(SEED, &[]);
    assert_eq!(a, b);
    let c = build("FROM nginx:latest\nRUN apt-get update\n", &[]);
    assert_ne!(a.image.unwrap().config.id, c.image.unwrap().config.id);
}

#[test]
fn a_changed_file_changes_its_layer_and_everything_after() {
    let df = "FROM busybox\nCOPY a.txt /a.txt\nCOPY b.txt /b.txt\nCMD [\"cat\", \"/a.txt\"]\n";
    let one = build(df, &[("a.txt", "A"), ("b.txt", "B")]);
    let a2 = build(df, &[("a.txt", "A2"), ("b.txt", "B")]);
    let b2 = build(df, &[("a.txt", "A"), ("b.txt", "B2")]);
    let ids = |p: &BuildPlan| -> Vec<Option<String>> {
        p.steps.iter().map(|s| s.image_id.clone()).collect()
    };
    let layers = |p: &BuildPlan| -> Vec<Option<String>> {
        p.steps
            .iter()
            .map(|s| s.layer.as_ref().map(|l| l.diff_id.clone()))
            .collect()
    };
    assert_eq!(ids(&one)[0], ids(&a2)[0], "FROM is the same");
    for i in 1..4 {
        assert_ne!(ids(&one)[i], ids(&a2)[i], "step {}", i + 1);
    }
    assert_ne!(layers(&one)[1], layers(&a2)[1]);
    assert_eq!(
        layers(&one)[2],
        layers(&a2)[2],
        "b.txt's layer is content only"
    );
    assert_eq!(ids(&one)[1], ids(&b2)[1]);
    assert_ne!(ids(&one)[2], ids(&b2)[2]);
    assert_ne!(ids(&one)[3], ids(&b2)[3]);
    let copy = &one.steps[1];
    assert_eq!(copy.layer.as_ref().unwrap().size_bytes, 1);
    assert_eq!(copy.cpu_mhz_s, COMMIT_CPU_MHZ_S + 1);
    assert!(
        !one.text()
            .contains("Step 2/4 : COPY a.txt /a.txt\n ---> Running")
    );
}

#[test]
fn build_args_override_and_unused_ones_warn() {
    let df = "FROM busybox\nARG V=default\nRUN echo \"v=$V\"\n";
    let p = build(df, &[]);
    assert!(p.text().contains("v=default\n"));
    let mut options = BuildOptions::default();
    options
        .build_args
        .insert("V".into(), Some("override".into()));
    options.build_args.insert("X".into(), Some("1".into()));
    options
        .build_args
        .insert("HTTP_PROXY".into(), Some("p".into()));
    let p = build_with(df, &[], &options);
    assert!(p.text().contains("v=override\n"), "{}", p.text());
    assert!(p.trailer.contains(&StreamMessage::stderr(
        "[Warning] One or more build-args [X] were not consumed\n"
    )));
    let layer = p.steps[2].layer.as_ref().unwrap();
    assert_eq!(layer.created_by, "|1 V=override /bin/sh -c echo \"v=$V\"");
    // Meta ARG before FROM substitutes the base image name.
    let p = build(
        "ARG BASE=busybox\nFROM $BASE\nARG BASE\nRUN echo $BASE\n",
        &[],
    );
    assert_eq!(p.error, None);
    assert!(p.text().contains("Step 2/4 : FROM $BASE\n"));
    assert!(p.text().contains("\nbusybox\n"));
}

#[test]
fn a_failing_run_fails_with_dockers_message() {
    let p = build("FROM busybox\nRUN false\nCMD x\n", &[]);
    assert_eq!(
        p.error.as_deref(),
        Some("The command '/bin/sh -c false' returned a non-zero code: 1")
    );
    assert!(p.image.is_none());
    assert_eq!(p.steps.len(), 2);
    assert!(!p.text().contains("Removing intermediate container"));
    assert!(p.json_lines().ends_with(
        "{\"error\":\"The command '/bin/sh -c false' returned a non-zero code: 1\",\"errorDetail\":{\"code\":1,\"message\":\"The command '/bin/sh -c false' returned a non-zero code: 1\"}}\r\n"
    ) || p.json_lines().ends_with(
        "{\"errorDetail\":{\"code\":1,\"message\":\"The command '/bin/sh -c false' returned a non-zero code: 1\"},\"error\":\"The command '/bin/sh -c false' returned a non-zero code: 1\"}\r\n"
    ));
    let p = build("FROM busybox\nRUN apt-get update\n", &[]);
    assert_eq!(
        p.error.as_deref(),
        Some("The command '/bin/sh -c apt-get update' returned a non-zero code: 127")
    );
    let p = build(
        "FROM nginx\nRUN [\"apt-get\", \"install\", \"-y\", \"curl\"]\n",
        &[],
    );
    assert_eq!(
        p.error.as_deref(),
        Some("The command 'apt-get install -y curl' returned a non-zero code: 100")
    );
}

#[test]
fn instructions_reach_the_config() {
    let df = r#"FROM busybox
ENV APP=/srv/app PORT=8080
ENV GREETING hello world
LABEL maintainer="justait" version=1
EXPOSE $PORT 53/udp 9000-9001
WORKDIR $APP
WORKDIR sub
USER nobody
VOLUME ["/data", "$APP/logs"]
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["echo hi"]
STOPSIGNAL SIGQUIT
"#;
    let p = build(df, &[]);
    assert_eq!(p.error, None, "{}", p.text());
    let img = p.image.clone().unwrap();
    let c = &img.config;
    assert_eq!(c.entrypoint, ["/bin/sh", "-c"]);
    assert_eq!(c.cmd, ["echo hi"]);
    assert!(c.env.contains(&"APP=/srv/app".to_owned()));
    assert!(c.env.contains(&"GREETING=hello world".to_owned()));
    assert!(c.env[0].starts_with("PATH="), "base env first");
    assert_eq!(
        c.exposed_ports,
        [
            (53, Proto::Udp),
            (8080, Proto::Tcp),
            (9000, Proto::Tcp),
            (9001, Proto::Tcp)
        ]
    );
    assert_eq!(c.working_dir, "/srv/app/sub");
    assert_eq!(c.volumes, ["/data", "/srv/app/logs"]);
    assert_eq!(img.user, "nobody");
    assert_eq!(img.labels["maintainer"], "justait");
    assert_eq!(img.labels["version"], "1");
    assert_eq!(img.stop_signal.as_deref(), Some("SIGQUIT"));
    assert_eq!(img.layers.len(), 0, "metadata only");
    let text = p.text();
    assert_eq!(text.matches(" ---> Running in ").count(), 11);
    assert_eq!(text.matches("Removing intermediate container").count(), 11);
}

#[test]
fn entrypoint_resets_an_inherited_cmd() {
    let p = build("FROM nginx\nENTRYPOINT [\"/docker-entrypoint.sh\"]\n", &[]);
    let c = p.image.unwrap().config;
    assert!(c.cmd.is_empty());
    let p = build("FROM busybox\nCMD [\"x\"]\nENTRYPOINT [\"/e\"]\n", &[]);
    assert_eq!(p.image.unwrap().config.cmd, ["x"]);
}

#[test]
fn instructions_before_from() {
    let p = build("ENV A=1\nFROM busybox\n", &[]);
    assert_eq!(
        p.error.as_deref(),
        Some("Please provide a source image with `from` prior to commit")
    );
    assert_eq!(
        p.steps[0].output[0],
        StreamMessage::Stream("Step 1/2 : ENV A=1\n".into())
    );
    let p = build("RUN true\n", &[]);
    assert_eq!(
        p.error.as_deref(),
        Some("Please provide a source image with `from` prior to run")
    );
    let p = build("ARG ONLY=1\n", &[]);
    assert_eq!(
        p.error.as_deref(),
        Some("No image was generated. Is your Dockerfile empty?")
    );
}

#[test]
fn context_and_parse_errors() {
    let p = build("FROM busybox\nRUN true\nFOO bar\n", &[]);
    assert_eq!(
        p.error.as_deref(),
        Some("Dockerfile parse error line 3: unknown instruction: FOO")
    );
    assert!(p.steps.is_empty());
    let none = plan_from_context(&ctx(&[]), &BuildOptions::default(), &resolver());
    assert_eq!(
        none.error.as_deref(),
        Some("Cannot locate specified Dockerfile: Dockerfile")
    );
    let p = build("  \n", &[]);
    assert_eq!(
        p.error.as_deref(),
        Some("The Dockerfile (Dockerfile) cannot be empty")
    );
    let options = BuildOptions {
        dockerfile_path: "build/Dockerfile.dev".into(),
        ..BuildOptions::default()
    };
    let p = build_with(
        "FROM nope",
        &[("build/Dockerfile.dev", "FROM busybox\n")],
        &options,
    );
    assert_eq!(p.error, None);
    let p = build("FROM nope/nothing:1\n", &[]);
    assert_eq!(
        p.error.as_deref(),
        Some("repository nope/nothing not found: does not exist or no pull access")
    );
    let bad_tag = BuildOptions {
        tags: vec!["Bad:Tag".into()],
        ..BuildOptions::default()
    };
    assert_eq!(
        build_with("FROM busybox", &[], &bad_tag).error.as_deref(),
        Some("invalid reference format")
    );
}

#[test]
fn copy_and_add_rules() {
    let files = [
        ("app/index.html", "<h1>hi</h1>"),
        ("app/x.js", "x"),
        ("a.tar.gz", "TAR"),
        ("n.txt", "n"),
    ];
    let p = build(
        "FROM busybox\nCOPY app /usr/share/html/\nWORKDIR /w\nCOPY *.txt ./\nRUN cat /usr/share/html/index.html /w/n.txt\n",
        &files,
    );
    assert_eq!(p.error, None, "{}", p.text());
    assert!(p.text().contains("<h1>hi</h1>n"), "{}", p.text());
    let p = build("FROM busybox\nADD a.tar.gz /opt/\n", &files);
    assert_eq!(p.error, None);
    assert!(p.steps[1].notes[0].contains("copied as files, not extracted"));
    let p = build("FROM busybox\nADD http://example.com/x /x\n", &files);
    assert!(
        p.error
            .unwrap()
            .contains("ADD of a URL (http://example.com/x) is not emulated")
    );
    let p = build("FROM busybox\nCOPY missing /x\n", &files);
    let e = p.error.unwrap();
    assert!(
        e.starts_with("COPY failed: stat /var/lib/docker/tmp/docker-builder"),
        "{e}"
    );
    assert!(e.ends_with("/missing: no such file or directory"), "{e}");
    let p = build("FROM busybox\nCOPY *.nope /x/\n", &files);
    assert_eq!(
        p.error.as_deref(),
        Some("COPY failed: no source files were specified")
    );
    let p = build("FROM busybox\nCOPY n.txt a.tar.gz /x\n", &files);
    assert_eq!(
        p.error.as_deref(),
        Some(
            "When using COPY with more than one source file, the destination must be a directory and end with a /"
        )
    );
    let p = build("FROM busybox\nCOPY ../etc/passwd /x\n", &files);
    assert_eq!(
        p.error.as_deref(),
        Some("Forbidden path outside the build context: ../etc/passwd ()")
    );
}

#[test]
fn multi_stage_copy_from() {
    let df = "FROM busybox AS build\nCOPY n.txt /out/n.txt\nFROM nginx\nCOPY --from=build /out/n.txt /usr/share/n.txt\nRUN cat /usr/share/n.txt\n";
    let p = build(df, &[("n.txt", "built\n")]);
    assert_eq!(p.error, None, "{}", p.text());
    assert!(p.text().contains("\nbuilt\n"));
    let img = p.image.unwrap();
    assert_eq!(img.config.cmd, ["nginx", "-g", "daemon off;"]);
    assert_eq!(img.layers.len(), 2);
    let p = build("FROM nginx\nCOPY --from=other /x /y\n", &[]);
    assert!(
        p.error
            .unwrap()
            .contains("only earlier build stages are emulated")
    );
}

#[test]
fn cache_quiet_rm_and_labels() {
    let df = "FROM busybox\nRUN echo one\nENV A=1\n";
    let first = build(df, &[]);
    let mut options = BuildOptions {
        cached_image_ids: first
            .steps
            .iter()
            .filter_map(|s| s.image_id.clone())
            .collect(),
        ..BuildOptions::default()
    };
    let again = build_with(df, &[], &options);
    assert_eq!(
        again.image.as_ref().unwrap().config.id,
        first.image.as_ref().unwrap().config.id
    );
    assert_eq!(again.total_cpu_mhz_s(), 0);
    assert!(again.steps[1].cached);
    assert_eq!(again.text().matches(" ---> Using cache\n").count(), 2);
    assert!(!again.text().contains("Running in"));
    options.nocache = true;
    assert_eq!(build_with(df, &[], &options).text(), first.text());

    let quiet = BuildOptions {
        quiet: true,
        ..BuildOptions::default()
    };
    let q = build_with(df, &[], &quiet);
    let id = q.image.as_ref().unwrap().config.id.clone();
    assert_eq!(q.text(), format!("{id}\n"));
    let failing = build_with("FROM busybox\nRUN exit 3\n", &[], &quiet);
    assert!(
        failing.text().contains("Step 2/2"),
        "a quiet failure shows its output"
    );

    let keep = BuildOptions {
        remove_intermediate: false,
        ..BuildOptions::default()
    };
    assert!(!build_with(df, &[], &keep).text().contains("Removing"));

    let mut labelled = BuildOptions::default();
    labelled
        .labels
        .insert("team".into(), "justait \"ops\"".into());
    let p = build_with(df, &[], &labelled);
    assert!(
        p.text()
            .contains("Step 4/4 : LABEL \"team\"=\"justait \\\"ops\\\"\"\n"),
        "{}",
        p.text()
    );
    assert_eq!(p.image.unwrap().labels["team"], "justait \"ops\"");
}

#[test]
fn emulated_runs_see_env_workdir_hostname_and_sleep() {
    let p = build(
        "FROM busybox\nENV WHO=vic\nWORKDIR /srv\nRUN echo \"$WHO\"; pwd; hostname; sleep 3\n",
        &[],
    );
    assert_eq!(p.error, None, "{}", p.text());
    let step = &p.steps[3];
    let container = p
        .text()
        .lines()
        .filter_map(|l| l.strip_prefix(" ---> Running in "))
        .next_back()
        .unwrap()
        .to_owned();
    assert!(p.text().contains(&format!("vic\n/srv\n{container}\n")));
    assert_eq!(step.sleep_ms, 3000);
    assert_eq!(step.cpu_mhz_s, COMMIT_CPU_MHZ_S);
    let p = build("FROM ubuntu\nRUN apt-get update && make all\n", &[]);
    assert_eq!(p.error, None);
    assert!(p.steps[1].notes[0].contains("`make` is not emulated"));
}

#[test]
fn ports_and_paths() {
    assert_eq!(join_path("", "a/b"), "/a/b");
    assert_eq!(join_path("/x", "../y/./z/"), "/y/z");
    assert_eq!(join_path("/x", "/abs"), "/abs");
    assert!(parse_ports("80/sctp").is_err());
    assert!(parse_ports("abc").is_err());
    assert!(parse_ports("1-5000").is_err());
    assert_eq!(
        parse_ports("7-8/udp").ok().unwrap(),
        [(7, Proto::Udp), (8, Proto::Udp)]
    );
    let p = build("FROM busybox\nEXPOSE http\n", &[]);
    assert_eq!(p.error.as_deref(), Some("Invalid containerPort: http"));
    let file = parse("FROM busybox\n").unwrap();
    let p = plan(
        &file,
        &ContextFiles::new(),
        &BuildOptions::default(),
        &resolver(),
    );
    assert_eq!(p.error, None);
}

proptest::proptest! {
    #[test]
    fn the_executor_never_panics(text in "(FROM busybox\n)?((RUN|ENV|COPY|ARG|EXPOSE|WORKDIR|LABEL|CMD) [ a-z0-9=$./*{}:-]{0,20}\n){0,5}") {
        let p = build(&text, &[("a", "A")]);
        proptest::prop_assert!(p.error.is_some() || p.image.is_some());
    }
}
