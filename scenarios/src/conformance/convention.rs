//! The name-convention suite (vic.md §2): the display-name rules through `vic::convention`
//! (mode `model`), `--container-name-convention` validation through `vic-machine create`
//! against the emulator (mode `vic-machine`), and containerVM display names after `docker
//! create` and `docker rename` on VCHs deployed by vic-machine, read back over SOAP (mode
//! `engine+soap`).

use vic::convention::NameConvention;

use super::bed::{Bed, BedVch};
use super::{CaseResult, Suite, SuiteContext, SuiteResult};
use crate::docker::refusal;

/// A 64-hex container id for the model cases.
const ID64: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
/// Its first 12 characters (vic.md §2: the short id).
const SHORT: &str = "0123456789ab";

/// The convention of the second VCH: only the id, with a prefix (the blog's `PROD-{id}`).
const ID_ONLY: &str = "prod-{id}";

/// VIC's validation messages (vic.md §2), typo included.
const MISSING_TOKEN: &str = "Container name convention must include {id} or {name} token";
const TOO_LONG: &str = "Container name convetion exceeds maximum length (68, discounting tokens)";

/// Runs the suite.
pub(super) async fn run(ctx: &SuiteContext) -> SuiteResult {
    let mut result = SuiteResult::new(Suite::Convention);
    model_cases(&mut result);
    if !ctx.testbed {
        result
            .notes
            .push("testbed disabled: the vic-machine and engine cases did not run".into());
        return result;
    }
    match Bed::start().await {
        Err(e) => testbed_failed(&mut result, &e),
        Ok(bed) => {
            machine_cases(&mut result, &bed).await;
            if let Err(e) = engine_cases(&mut result, &bed).await {
                testbed_failed(&mut result, &e);
            }
            bed.shutdown().await;
        }
    }
    result
}

fn testbed_failed(result: &mut SuiteResult, e: &str) {
    result.cases.push(CaseResult::check(
        "cnc-testbed",
        "the emulator, vic-machine create and the Docker endpoint",
        "ok",
        format!("error: {e}"),
        "vic-machine+engine",
    ));
}

/// Display names straight from `vic::convention` (validated with `parse` where vic-machine
/// would have validated the template, `unchecked` where only the port layer sees it).
fn model_cases(result: &mut SuiteResult) {
    let shown = |template: &str, validated: bool, name: &str| -> String {
        if validated {
            match NameConvention::parse(template) {
                Ok(c) => c.display_name(name, ID64),
                Err(e) => format!("invalid: {e}"),
            }
        } else {
            NameConvention::unchecked(template).display_name(name, ID64)
        }
    };
    let s = |n: usize| "s".repeat(n);
    let long_name = "n".repeat(100);
    let cases: Vec<(&str, &str, String, String)> = vec![
        (
            "cnc-default",
            "no convention configured: {name}-{id}",
            format!("happy_name-{SHORT}"),
            NameConvention::default().display_name("happy_name", ID64),
        ),
        (
            "cnc-name-token",
            "dev-{name} with container name web",
            "dev-web".into(),
            shown("dev-{name}", true, "web"),
        ),
        (
            "cnc-id-token",
            "prod-{id}: the short id, not the name",
            format!("prod-{SHORT}"),
            shown("prod-{id}", true, "web"),
        ),
        (
            "cnc-id-is-12-characters",
            "{id} alone gives the first 12 characters of the 64-hex id",
            SHORT.into(),
            shown("{id}", true, "web"),
        ),
        (
            "cnc-first-id-only",
            "{id}-{name}-{id}: only the first {id} is replaced",
            format!("{SHORT}-happy_name-{{id}}"),
            shown("{id}-{name}-{id}", true, "happy_name"),
        ),
        (
            "cnc-first-name-only",
            "{name}.{name}: only the first {name} is replaced",
            "web.{name}".into(),
            shown("{name}.{name}", true, "web"),
        ),
        (
            "cnc-cap-80-name-cut",
            "a 100-character name under {name}-{id}: 80 characters, the id kept, the name cut",
            format!("{}-{SHORT}", "n".repeat(67)),
            shown("{name}-{id}", true, &long_name),
        ),
        (
            "cnc-cap-static-text",
            "60 static characters + {name}{id}: capacity 20 = the 12-character id + 8 of the name",
            format!("{}abcdefgh{SHORT}", s(60)),
            shown(&format!("{}{{name}}{{id}}", s(60)), true, "abcdefghijkl"),
        ),
        (
            "cnc-overflow-fallback",
            "80 static characters + {name} leave no capacity: the default {name}-{id} is used",
            format!("web-{SHORT}"),
            shown(&format!("{}{{name}}", s(80)), false, "web"),
        ),
        (
            "cnc-overflow-boundary",
            "79 static characters + {name}: one character of the name still fits",
            format!("{}w", s(79)),
            shown(&format!("{}{{name}}", s(79)), false, "web"),
        ),
        (
            "cnc-id-cut-below-12",
            "75 static characters + {id} (never validated): the id is cut to the 5 that fit",
            format!("{}01234", s(75)),
            shown(&format!("{}{{id}}", s(75)), false, "web"),
        ),
        (
            "cnc-static-at-runtime",
            "a template without tokens, stored without validation: every container gets it",
            "static|static".into(),
            format!(
                "{}|{}",
                shown("static", false, "a"),
                shown("static", false, "b")
            ),
        ),
        (
            "cnc-vm-token-unused",
            "{vm} is not a token: it stays as text",
            format!("{{vm}}-{SHORT}"),
            shown("{vm}-{id}", true, "web"),
        ),
        (
            "cnc-validate-71-ok",
            "a 71-character convention passes the length check (len - 4 < 68)",
            "valid".into(),
            validity(&format!("{}{{id}}", "a".repeat(67))),
        ),
        (
            "cnc-validate-discount-name",
            "66 characters + {name} = 72: rejected, 4 is discounted even for the 6-character {name}",
            format!("invalid: {TOO_LONG}"),
            validity(&format!("{}{{name}}", "a".repeat(66))),
        ),
    ];
    for (id, description, expected, observed) in cases {
        result.cases.push(CaseResult::check(
            id,
            description,
            expected,
            observed,
            "model",
        ));
    }
}

fn validity(template: &str) -> String {
    match NameConvention::parse(template) {
        Ok(_) => "valid".into(),
        Err(e) => format!("invalid: {e}"),
    }
}

/// The arguments every VCH of this suite gets.
fn vch_args(name: &str) -> Vec<String> {
    [
        "--name",
        name,
        "--compute-resource",
        "DC0_C0",
        "--bridge-network",
        "DC0_DVPG0",
        "--no-tls",
    ]
    .map(str::to_owned)
    .to_vec()
}

/// `vic-machine create --cnc` with bad conventions: every issue VIC logs, then the failure.
async fn machine_cases(result: &mut SuiteResult, bed: &Bed) {
    let long_id = format!("{}{{id}}", "a".repeat(68));
    let no_token_long = "x".repeat(72);
    let cases = [
        (
            "cnc-create-missing-token",
            "vic-machine create --cnc static (no token)",
            "static".to_owned(),
            vec![MISSING_TOKEN],
        ),
        (
            "cnc-create-too-long",
            "vic-machine create --cnc with 68 characters + {id} (72 >= 68 + 4)",
            long_id,
            vec![TOO_LONG],
        ),
        (
            "cnc-create-both-issues",
            "vic-machine create --cnc with 72 characters and no token: both issues, in order",
            no_token_long,
            vec![MISSING_TOKEN, TOO_LONG],
        ),
    ];
    for (n, (id, description, cnc, issues)) in cases.into_iter().enumerate() {
        let mut args = vch_args(&format!("vicbed-cnc-bad{n}"));
        args.push("--container-name-convention".into());
        args.push(cnc);
        let observed = match bed.create_failing(&args).await {
            None => "created".to_owned(),
            Some((failure, logged)) => {
                format!("failed: {failure}; issues: {}", logged.join(" | "))
            }
        };
        result.cases.push(CaseResult::check(
            id,
            description,
            format!(
                "failed: validation of configuration failed; issues: {}",
                issues.join(" | ")
            ),
            observed,
            "vic-machine",
        ));
    }
}

/// A created container: its id and docker name.
struct Created {
    id: String,
    name: String,
}

/// `docker create [--name NAME] busybox sleep 3600` and the name `docker inspect` gives.
async fn create(vch: &BedVch, name: Option<&str>) -> Result<Created, String> {
    let mut words = vec!["create"];
    if let Some(n) = name {
        words.extend(["--name", n]);
    }
    words.extend(["busybox", "sleep", "3600"]);
    let out = vch.docker.run(&words).await?;
    let id = out
        .container_id
        .ok_or_else(|| format!("docker create {name:?} printed no id"))?;
    let inspected = vch
        .docker
        .client
        .inspect_container(&id)
        .await
        .map_err(|e| format!("docker inspect {id}: {e}"))?;
    Ok(Created {
        id,
        name: inspected.name,
    })
}

/// `docker rename ID NEW`, or the daemon's refusal.
async fn rename(vch: &BedVch, id: &str, new: &str) -> Result<Result<(), String>, String> {
    Ok(vch
        .docker
        .try_run(&["rename", id, new])
        .await?
        .map(drop)
        .map_err(|e| refusal(&e)))
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// Display names on two VCHs: the default convention and `prod-{id}`.
async fn engine_cases(result: &mut SuiteResult, bed: &Bed) -> Result<(), String> {
    let plain = bed.create_vch("vicbed-cnc-default", &[]).await?;
    let id_args = vec!["--container-name-convention".to_owned(), ID_ONLY.to_owned()];
    let prod = bed.create_vch("vicbed-cnc-prod", &id_args).await?;
    for vch in [&plain, &prod] {
        vch.docker.run(&["pull", "busybox:latest"]).await?;
    }
    let mode = "engine+soap";
    let mut push = |id: &str, description: String, expected: String, observed: String| {
        result
            .cases
            .push(CaseResult::check(id, description, expected, observed, mode));
    };

    // Default convention: docker name + short id.
    let web = create(&plain, Some("web")).await?;
    let (web_vm, web_display) = bed.vm_of(&web.id).await?;
    push(
        "cnc-vm-default",
        "docker create --name web on a VCH without --cnc: the containerVM's display name".into(),
        format!("web-{}", short(&web.id)),
        web_display,
    );
    push(
        "cnc-docker-name-untouched",
        "the convention shapes only the VM display name: docker inspect still names it web".into(),
        "web".into(),
        web.name.clone(),
    );
    let generated = create(&plain, None).await?;
    let (_, generated_display) = bed.vm_of(&generated.id).await?;
    push(
        "cnc-vm-generated-name",
        "docker create without --name: {name} is the generated adjective_surname".into(),
        format!("{}-{}", generated.name, short(&generated.id)),
        generated_display,
    );
    let long = "n".repeat(100);
    let long_c = create(&plain, Some(&long)).await?;
    let (_, long_display) = bed.vm_of(&long_c.id).await?;
    push(
        "cnc-vm-name-cut",
        "docker create with a 100-character name: 80 characters, id kept, name cut".into(),
        format!("{}-{}", "n".repeat(67), short(&long_c.id)),
        long_display,
    );

    // Rename re-applies the convention.
    let renamed = match rename(&plain, &web.id, "web2").await? {
        Ok(()) => bed.vm_name(&web_vm).await?,
        Err(m) => format!("rename refused: {m}"),
    };
    push(
        "cnc-rename-follows-name",
        "docker rename web web2 on the default convention: the display name follows".into(),
        format!("web2-{}", short(&web.id)),
        renamed,
    );
    let refused = match rename(&plain, &web.id, "a b").await? {
        Ok(()) => "renamed".to_owned(),
        Err(m) => format!("rejected: {m}"),
    };
    push(
        "cnc-rename-checks-name",
        "docker rename to \"a b\": docker's name pattern is checked on rename".into(),
        "rejected: Invalid container name (a b), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed".into(),
        refused,
    );

    // prod-{id}.
    let api = create(&prod, Some("api")).await?;
    let (api_vm, api_display) = bed.vm_of(&api.id).await?;
    push(
        "cnc-vm-id-only",
        format!("docker create --name api on a VCH with --cnc {ID_ONLY}"),
        format!("prod-{}", short(&api.id)),
        api_display,
    );
    let api_renamed = match rename(&prod, &api.id, "api2").await? {
        Ok(()) => bed.vm_name(&api_vm).await?,
        Err(m) => format!("rename refused: {m}"),
    };
    push(
        "cnc-rename-id-only",
        format!("docker rename api api2 with --cnc {ID_ONLY}: the display name stays"),
        format!("prod-{}", short(&api.id)),
        api_renamed,
    );
    Ok(())
}
