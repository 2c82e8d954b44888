//! The developer workflow's parts of a scenario file (the seed post's six steps): the
//! `[[registry]]`s a run starts, a `[[vch]]`'s `registry_ca`, a docker step's `dch` target,
//! the `http` probe step, and a step's `expect_output` / `expect_duration_min|max` checks —
//! parsed and cross-checked here so that `validate` stays about the rest.

use std::collections::BTreeSet;
use std::ops::Range;

use toml::Spanned;

use crate::duration::parse_duration;
use crate::errors::Collector;
use crate::schema::{HttpProbe, RawRegistry, RegistrySpec, StepChecks, Vch};

/// Most registries one scenario starts.
pub const MAX_REGISTRIES: usize = 4;

/// `[[registry]]` entries: names unique and host-shaped, users `user:password`.
pub(crate) fn registry_list(
    c: &mut Collector<'_>,
    raw: Vec<Option<RawRegistry>>,
) -> Vec<RegistrySpec> {
    let mut out: Vec<RegistrySpec> = Vec::new();
    for (i, r) in raw.into_iter().enumerate() {
        let Some(r) = r else { continue };
        let n = i + 1;
        let name = r.name.get_ref().to_ascii_lowercase();
        let host_like = !name.is_empty()
            && name.len() <= 253
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
            && name.contains('.');
        if !host_like {
            c.at(
                &r.name.span(),
                format!("registry {n}: name {name:?} must be a host name with a dot, such as registry.corp.local"),
            );
            continue;
        }
        if out.iter().any(|o| o.name == name) {
            c.at(
                &r.name.span(),
                format!("registry {n}: {name:?} is declared twice"),
            );
            continue;
        }
        if out.len() >= MAX_REGISTRIES {
            c.at(
                &r.name.span(),
                format!("registry {n}: at most {MAX_REGISTRIES} registries"),
            );
            continue;
        }
        let mut users = Vec::new();
        for u in &r.users {
            match u.get_ref().split_once(':') {
                Some((user, pw)) if !user.is_empty() && !pw.is_empty() => {
                    users.push((user.to_owned(), pw.to_owned()));
                }
                // Only the name is echoed: the rest may be a password.
                _ => c.at(
                    &u.span(),
                    format!(
                        "registry {n}: user {:?} must be written user:password",
                        u.get_ref().split(':').next().unwrap_or_default()
                    ),
                ),
            }
        }
        let projects = r
            .projects
            .iter()
            .map(|p| (p.name.clone(), p.public))
            .collect();
        out.push(RegistrySpec {
            name,
            users,
            projects,
        });
    }
    out
}

/// Each `[[vch]]`'s `registry_ca` must name a `[[registry]]`.
pub(crate) fn check_registry_ca(
    c: &mut Collector<'_>,
    spans: &[(usize, Vec<Range<usize>>)],
    vchs: &[Vch],
    registries: &[RegistrySpec],
) {
    let names: BTreeSet<&str> = registries.iter().map(|r| r.name.as_str()).collect();
    for (v, (n, ca_spans)) in vchs.iter().zip(spans) {
        for (name, span) in v.registry_ca.iter().zip(ca_spans) {
            if !names.contains(name.to_ascii_lowercase().as_str()) {
                c.at(
                    span,
                    format!("vch {n}: registry_ca names {name:?}, which no [[registry]] declares"),
                );
            }
        }
    }
}

/// `http = "container:port"` with `vch` and `network`.
pub(crate) fn http_step(
    c: &mut Collector<'_>,
    n: usize,
    http: &Spanned<String>,
    vch: Option<&Spanned<String>>,
    network: Option<&Spanned<String>>,
    vchs: &[Vch],
) -> Option<HttpProbe> {
    let Some((container, port)) = http
        .get_ref()
        .rsplit_once(':')
        .and_then(|(c, p)| Some((c, p.parse::<u16>().ok().filter(|p| *p > 0)?)))
        .filter(|(c, _)| !c.is_empty())
    else {
        c.at(
            &http.span(),
            format!("step {n}: http must be \"<container>:<port>\", e.g. \"web:80\""),
        );
        return None;
    };
    let Some(vch) = vch else {
        c.at(
            &http.span(),
            format!("step {n}: an `http` step needs `vch = \"<name>\"`"),
        );
        return None;
    };
    if !vchs.iter().any(|v| &v.name == vch.get_ref()) {
        c.at(
            &vch.span(),
            format!("step {n}: unknown vch {:?}", vch.get_ref()),
        );
        return None;
    }
    let Some(network) = network else {
        c.at(
            &http.span(),
            format!("step {n}: an `http` step needs `network = \"<container network>\"`"),
        );
        return None;
    };
    Some(HttpProbe {
        vch: vch.get_ref().clone(),
        container: container.to_owned(),
        port,
        network: network.get_ref().clone(),
    })
}

/// A step's `expect_output` and `expect_duration_min|max`.
pub(crate) fn step_checks(
    c: &mut Collector<'_>,
    n: usize,
    output: Option<Spanned<String>>,
    min: Option<Spanned<String>>,
    max: Option<Spanned<String>>,
) -> StepChecks {
    let mut dur = |d: Option<Spanned<String>>, key: &str| {
        let d = d?;
        match parse_duration(d.get_ref()) {
            Ok(v) => Some(v),
            Err(e) => {
                c.at(&d.span(), format!("step {n}: {key}: {e}"));
                None
            }
        }
    };
    let max_span = max.as_ref().map(Spanned::span);
    let duration_min = dur(min, "expect_duration_min");
    let duration_max = dur(max, "expect_duration_max");
    if let (Some(lo), Some(hi), Some(span)) = (duration_min, duration_max, &max_span)
        && lo > hi
    {
        c.at(
            span,
            format!("step {n}: expect_duration_max is below expect_duration_min"),
        );
    }
    if let Some(o) = &output
        && o.get_ref().is_empty()
    {
        c.at(
            &o.span(),
            format!("step {n}: expect_output must not be empty"),
        );
    }
    StepChecks {
        output: output.map(Spanned::into_inner).filter(|o| !o.is_empty()),
        duration_min,
        duration_max,
    }
}

/// Whether a step whose checks bound its duration is one the testbed measures: a
/// `docker build` sent to a DCH.
pub(crate) fn duration_measured(action: &crate::schema::Action) -> bool {
    matches!(
        action,
        crate::schema::Action::Docker(d)
            if d.dch.is_some() && d.verb == crate::schema::DockerVerb::Build
    )
}

/// Whether `image`'s registry is one of the run's: such an image exists only once a step
/// pushed it, so the catalogue check does not apply.
pub(crate) fn from_run_registry(image: &str, registries: &[RegistrySpec]) -> bool {
    vic::images::Reference::parse(image)
        .and_then(|r| r.registry)
        .is_some_and(|host| {
            let host = host.to_ascii_lowercase();
            let bare = host.rsplit_once(':').map_or(host.as_str(), |(h, _)| h);
            registries.iter().any(|r| r.name == bare)
        })
}
