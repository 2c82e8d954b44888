//! From TOML text to a [`Scenario`]: each section and each array element is deserialized on
//! its own (so one bad step does not hide the others), then cross-checked.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use vcsim::inventory::{InventorySpec, SpecError, expand_vm_names};
use vic::engine::client::CliCommand;

use crate::duration::{format_duration, parse_duration};
use crate::errors::{Collector, ScenarioErrors};
use crate::schema::*;
use crate::vars::VarValue;
use crate::{checks, limits, repeat, vars};

const SECTIONS: &str = "vars, scenario, inventory, vch, registry, step, expect";
const DEFAULT_START: &str = "2017-10-02T08:00:00Z";
/// vSphere's realtime performance interval.
const REALTIME: Duration = Duration::from_secs(20);

fn de<T: for<'de> Deserialize<'de>>(
    c: &mut Collector<'_>,
    ctx: &str,
    v: &Spanned<DeValue<'_>>,
) -> Option<T> {
    match T::deserialize(ValueDeserializer::from(v.clone())) {
        Ok(t) => Some(t),
        Err(e) => {
            c.toml(Some(ctx), &e);
            None
        }
    }
}

/// Like [`de`] for a table with the given fields: every unknown key is reported (not only
/// the first, as serde would) and dropped, so the known fields are still checked.
fn de_fields<T: for<'de> Deserialize<'de>>(
    c: &mut Collector<'_>,
    ctx: &str,
    v: &Spanned<DeValue<'_>>,
    fields: &[&str],
) -> Option<T> {
    let DeValue::Table(t) = v.get_ref() else {
        return de(c, ctx, v);
    };
    let mut t = t.clone();
    let unknown: Vec<_> = t
        .keys()
        .filter(|k| !fields.contains(&k.get_ref().as_ref()))
        .cloned()
        .collect();
    for k in unknown {
        let expected: Vec<String> = fields.iter().map(|f| format!("`{f}`")).collect();
        c.at(
            &k.span(),
            format!(
                "{ctx}: unknown field `{}`, expected one of {}",
                k.get_ref(),
                expected.join(", ")
            ),
        );
        t.remove(&k);
    }
    // The collector already holds the unknown keys, so the file is refused either way.
    de(c, ctx, &Spanned::new(v.span(), DeValue::Table(t)))
}

/// The elements of an array-of-tables section, or a problem if it is not one.
fn elements<'a, 'i>(
    c: &mut Collector<'_>,
    key: &Spanned<std::borrow::Cow<'i, str>>,
    v: &'a Spanned<DeValue<'i>>,
) -> Vec<&'a Spanned<DeValue<'i>>> {
    match v.get_ref() {
        DeValue::Array(a) => a.iter().collect(),
        _ => {
            let k = key.get_ref();
            c.at(
                &key.span(),
                format!("`{k}` must be an array of tables: write [[{k}]] for each entry"),
            );
            Vec::new()
        }
    }
}

/// `[vars]` substituted (with `overrides`), then the text parsed and checked; the scenario
/// and the substituted text's hash, or every problem located in `text`.
pub(crate) fn parse(
    path: &str,
    text: &str,
    overrides: &BTreeMap<String, String>,
) -> Result<(Scenario, String), ScenarioErrors> {
    let mut c = Collector::new(text);
    if !limits::file_size(&mut c, text) {
        return Err(c.finish(path));
    }
    let expansion = vars::expand(&mut c, text, overrides);
    let first = c.finish(path).problems;
    match parse_expanded(path, &expansion.text, expansion.vars.clone()) {
        Ok(s) if first.is_empty() => Ok((s, scenario_hash(&expansion.text))),
        Ok(_) => Err(vars::merge(path, text, &expansion, first, None)),
        Err(e) => Err(vars::merge(path, text, &expansion, first, Some(e))),
    }
}

fn parse_expanded(
    path: &str,
    text: &str,
    vars: BTreeMap<String, VarValue>,
) -> Result<Scenario, ScenarioErrors> {
    let mut c = Collector::new(text);
    let (root, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        for e in &syntax {
            c.toml(None, e);
        }
        return Err(c.finish(path));
    }
    let (mut meta, mut inventory) = (None, None);
    let mut services = Vec::new();
    let mut inventory_seen = false;
    let (mut vchs, mut steps, mut expects) = (Vec::new(), Vec::new(), Vec::new());
    let mut meta_seen = false;
    let mut registries_raw: Vec<Option<RawRegistry>> = Vec::new();
    for (key, value) in root.get_ref() {
        match key.get_ref().as_ref() {
            // Substituted already (vars.rs); its values were checked there.
            "vars" => {}
            "scenario" | "inventory" if !matches!(value.get_ref(), DeValue::Table(_)) => {
                meta_seen |= key.get_ref() == "scenario";
                inventory_seen |= key.get_ref() == "inventory";
                c.at(
                    &key.span(),
                    format!("`{0}` must be a table: write [{0}] once", key.get_ref()),
                );
            }
            "scenario" => {
                meta_seen = true;
                meta = de_fields::<RawMeta>(&mut c, "[scenario]", value, RawMeta::FIELDS);
            }
            "inventory" => {
                inventory_seen = true;
                let inv_span = key.span();
                let (value, raw) = take_cluster_services(&mut c, value);
                inventory = de::<InventorySpec>(&mut c, "[inventory]", &value);
                if let Some(inv) = &inventory {
                    inventory_semantics(&mut c, &inv_span, &value);
                    limits::inventory(&mut c, &inv_span, inv);
                    services = cluster_services(&mut c, inv, raw);
                }
                // Workload traces (`trace=web.csv`) are read beside the scenario file.
                if let Some(inv) = &mut inventory {
                    let dir = std::path::Path::new(path)
                        .parent()
                        .unwrap_or(std::path::Path::new("."));
                    match inv.load_traces(dir) {
                        Ok(()) => {}
                        Err(SpecError::Invalid(list)) => {
                            for p in list {
                                c.at(&inv_span, format!("inventory: {p}"));
                            }
                        }
                        Err(SpecError::Toml(e)) => c.at(&inv_span, format!("inventory: {e}")),
                    }
                }
            }
            "vch" => {
                for (i, v) in elements(&mut c, key, value).into_iter().enumerate() {
                    vchs.push(de_fields::<RawVch>(
                        &mut c,
                        &format!("vch {}", i + 1),
                        v,
                        RawVch::FIELDS,
                    ));
                }
            }
            "registry" => {
                for (i, v) in elements(&mut c, key, value).into_iter().enumerate() {
                    registries_raw.push(de_fields::<RawRegistry>(
                        &mut c,
                        &format!("registry {}", i + 1),
                        v,
                        RawRegistry::FIELDS,
                    ));
                }
            }
            "step" => {
                for (i, v) in elements(&mut c, key, value).into_iter().enumerate() {
                    let ctx = format!("step {}", i + 1);
                    steps.push((
                        v.span(),
                        de_fields::<RawStep>(&mut c, &ctx, v, RawStep::FIELDS),
                    ));
                }
            }
            "expect" => {
                for (i, v) in elements(&mut c, key, value).into_iter().enumerate() {
                    let ctx = format!("expect {}", i + 1);
                    expects.push((
                        v.span(),
                        de_fields::<RawExpect>(&mut c, &ctx, v, RawExpect::FIELDS),
                    ));
                }
            }
            other => c.at(
                &key.span(),
                format!("unknown section `{other}`, expected one of {SECTIONS}"),
            ),
        }
    }
    if !meta_seen {
        c.at(&(0..0), "missing [scenario] (name, seed, duration)");
    }
    if !inventory_seen {
        c.at(
            &(0..0),
            "missing [inventory] (at least one cluster or host)",
        );
    }
    let expect_spans: Vec<Range<usize>> = expects.iter().map(|(s, _)| s.clone()).collect();
    limits::entries(&mut c, &vchs, &steps, &expect_spans);
    let (meta, duration) = match meta {
        Some(m) => metadata(&mut c, m),
        None => (None, None),
    };
    let registries = crate::devflow::registry_list(&mut c, registries_raw);
    let ca_spans: Vec<(usize, Vec<Range<usize>>)> = vchs
        .iter()
        .enumerate()
        .filter_map(|(i, v)| {
            let v = v.as_ref()?;
            Some((i + 1, v.registry_ca.iter().map(Spanned::span).collect()))
        })
        .collect();
    let vchs = vch_list(&mut c, vchs, inventory.as_ref());
    crate::devflow::check_registry_ca(&mut c, &ca_spans, &vchs, &registries);
    let steps = step_list(
        &mut c,
        steps,
        &vchs,
        inventory.as_ref(),
        duration,
        &registries,
    );
    let expectations = expect_list(&mut c, expects, duration);
    match (meta, inventory) {
        (Some(meta), Some(inventory)) if c.is_empty() => Ok(Scenario {
            meta,
            inventory,
            vchs,
            steps,
            expectations,
            vars,
            cluster_services: services,
            registries,
        }),
        _ => Err(c.finish(path)),
    }
}

/// vcsim's own consistency checks, reported at the `[inventory]` header.
fn inventory_semantics(c: &mut Collector<'_>, span: &Range<usize>, value: &Spanned<DeValue<'_>>) {
    let Ok(table) = toml::Table::deserialize(ValueDeserializer::from(value.clone())) else {
        return;
    };
    let Ok(text) = toml::to_string(&table) else {
        return;
    };
    match InventorySpec::parse(&text) {
        Err(SpecError::Invalid(list)) => {
            for p in list {
                c.at(span, format!("inventory: {p}"));
            }
        }
        Err(SpecError::Toml(e)) => c.at(span, format!("inventory: {e}")),
        Ok(_) => {}
    }
}

fn duration_at(c: &mut Collector<'_>, ctx: &str, s: &Spanned<String>) -> Option<Duration> {
    match parse_duration(s.get_ref()) {
        Ok(d) => Some(d),
        Err(e) => {
            c.at(&s.span(), format!("{ctx}: {e}"));
            None
        }
    }
}

/// The metadata if valid, and the duration if that alone is (later checks use it).
fn metadata(c: &mut Collector<'_>, m: RawMeta) -> (Option<Metadata>, Option<Duration>) {
    let mut ok = true;
    let name = m.name.get_ref();
    if name.trim().is_empty() {
        c.at(&m.name.span(), "[scenario]: name must not be empty");
        ok = false;
    } else if name.len() > 100
        || name.starts_with('.')
        || !name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '.'))
    {
        // The name is the report directory under out/: no separators, no `..`.
        c.at(
            &m.name.span(),
            format!(
                "[scenario]: name {name:?} must be 1–100 of A–Z a–z 0–9 - _ . (it names the report directory) and not start with '.'"
            ),
        );
        ok = false;
    }
    let start = match &m.start {
        None => parse_rfc3339(DEFAULT_START),
        Some(s) => {
            let text = match s.get_ref() {
                toml::Value::String(t) => t.clone(),
                toml::Value::Datetime(d) => d.to_string(),
                other => format!("{other}"),
            };
            let r = parse_rfc3339(&text);
            if r.is_none() {
                c.at(
                    &s.span(),
                    format!(
                        "[scenario]: start {text:?} is not an RFC 3339 time with a zone (e.g. \"{DEFAULT_START}\")"
                    ),
                );
            }
            r
        }
    };
    let duration = duration_at(c, "[scenario]: duration", &m.duration);
    if duration == Some(Duration::ZERO) {
        c.at(&m.duration.span(), "[scenario]: duration must be positive");
        ok = false;
    } else if let Some(d) = duration
        && !limits::duration(c, &m.duration.span(), d)
    {
        ok = false;
    } else if let Some(d) = duration
        && d.as_secs() % REALTIME.as_secs() != 0
    {
        c.at(
            &m.duration.span(),
            format!(
                "[scenario]: duration {} is not a multiple of the 20s sample interval",
                format_duration(d)
            ),
        );
        ok = false;
    }
    let interval = match &m.sample_interval {
        None => Some(REALTIME),
        Some(s) => match duration_at(c, "[scenario]: sample_interval", s) {
            Some(d) if d == REALTIME => Some(d),
            Some(d) => {
                c.at(
                    &s.span(),
                    format!(
                        "[scenario]: sample_interval {} is not supported: only 20s is allowed, the realtime \
                         interval at which ESXi samples performance counters and the contention model steps \
                         (historical rollups of 5m and longer are not simulated)",
                        format_duration(d)
                    ),
                );
                None
            }
            None => None,
        },
    };
    let meta = match (start, duration, interval) {
        (Some(start), Some(duration), Some(sample_interval)) if ok => Some(Metadata {
            name: m.name.into_inner(),
            description: m.description,
            seed: m.seed.into_inner(),
            start,
            duration,
            sample_interval,
        }),
        _ => None,
    };
    (meta, duration.filter(|d| !d.is_zero()))
}

fn vch_list(
    c: &mut Collector<'_>,
    raw: Vec<Option<RawVch>>,
    inv: Option<&InventorySpec>,
) -> Vec<Vch> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    let declared: Vec<Vch> = raw
        .iter()
        .flatten()
        .map(|v| Vch {
            name: v.name.get_ref().clone(),
            args: v
                .args
                .get_ref()
                .iter()
                .map(|a| a.get_ref().clone())
                .collect(),
            registry_ca: v.registry_ca.iter().map(|r| r.get_ref().clone()).collect(),
        })
        .collect();
    for (i, v) in raw.into_iter().enumerate() {
        let Some(v) = v else { continue };
        let n = i + 1;
        let name = v.name.get_ref().clone();
        if name.trim().is_empty() {
            c.at(&v.name.span(), format!("vch {n}: name must not be empty"));
        } else if let Some(first) = seen.insert(name.clone(), n) {
            c.at(
                &v.name.span(),
                format!("vch {n}: name {name:?} is already used by vch {first}"),
            );
        }
        if v.args.get_ref().is_empty() {
            c.at(
                &v.args.span(),
                format!("vch {n}: args must list the vic-machine create arguments"),
            );
        }
        for a in v.args.get_ref() {
            if a.get_ref().trim().is_empty() {
                c.at(&a.span(), format!("vch {n}: empty argument in args"));
            }
        }
        // The flags must be vic-machine's (parsed by its own option parser; the runner adds
        // --target and --thumbprint, so they may not appear here).
        let words: Vec<&str> = v
            .args
            .get_ref()
            .iter()
            .map(|a| a.get_ref().as_str())
            .collect();
        if let Some(flag) = words.iter().find(|w| {
            ["--target", "-t", "--thumbprint"].contains(&w.split('=').next().unwrap_or(w))
        }) {
            c.at(
                &v.args.span(),
                format!("vch {n}: args must not give {flag}: the runner points vic-machine at its own emulator"),
            );
        } else if !words.is_empty() && words.iter().all(|w| !w.trim().is_empty()) {
            use clap::Parser as _;
            let argv = ["vic-machine", "create", "--target", "https://127.0.0.1/sdk"]
                .into_iter()
                .chain(words.iter().copied());
            match vic::machine::Cli::try_parse_from(argv) {
                Err(e) => {
                    let first = e.to_string();
                    let first = first.lines().next().unwrap_or("invalid arguments");
                    let first = first.trim_start_matches("error: ");
                    c.at(
                        &v.args.span(),
                        format!("vch {n}: vic-machine create: {first}"),
                    );
                }
                Ok(cli) => {
                    // VIC collects stray words and refuses them after the flags.
                    if let vic::machine::MachineCommand::Create(o) = cli.machine.command
                        && let Some(a) = o.args.first()
                    {
                        c.at(
                            &v.args.span(),
                            format!("vch {n}: vic-machine create: Unknown argument: {a}"),
                        );
                    }
                    // The compute resource must be one the inventory has.
                    let args: Vec<String> = words.iter().map(|w| (*w).to_owned()).collect();
                    if let (Some(inv), Some(cr)) =
                        (inv, flag_value(&args, &["--compute-resource", "-r"]))
                        && let Err(why) = checks::compute_resource(inv, &declared, cr)
                    {
                        let span = v
                            .args
                            .get_ref()
                            .iter()
                            .find(|a| a.get_ref() == cr || a.get_ref().ends_with(&format!("={cr}")))
                            .map_or(v.args.span(), Spanned::span);
                        c.at(&span, format!("vch {n}: {why}"));
                    }
                }
            }
        }
        out.push(Vch {
            name,
            args: v
                .args
                .into_inner()
                .into_iter()
                .map(Spanned::into_inner)
                .collect(),
            registry_ca: v.registry_ca.into_iter().map(Spanned::into_inner).collect(),
        });
    }
    out
}

fn step_list(
    c: &mut Collector<'_>,
    raw: Vec<(Range<usize>, Option<RawStep>)>,
    vchs: &[Vch],
    inv: Option<&InventorySpec>,
    duration: Option<Duration>,
    registries: &[RegistrySpec],
) -> Vec<Step> {
    // Names a vSphere-level step may refer to.
    let mut pools: BTreeSet<String> = BTreeSet::from(["Resources".to_owned()]);
    let mut vms: BTreeSet<String> = BTreeSet::new();
    if let Some(inv) = inv {
        for cl in &inv.clusters {
            pools.extend(cl.pools.iter().map(|p| p.name.clone()));
            vms.extend(cl.vms.iter().flat_map(expand_vm_names));
        }
        vms.extend(inv.standalone_vms.iter().flat_map(expand_vm_names));
    }
    for v in vchs {
        for n in [v.name.as_str(), v.vsphere_name()] {
            pools.insert(n.to_owned());
            vms.insert(n.to_owned());
        }
    }
    let hosts = inventory_hosts(inv);
    let images = checks::images(inv);
    let mut parsed = Vec::new();
    let mut p_spans: HashMap<usize, Range<usize>> = HashMap::new();
    let mut spans = Vec::new();
    for (i, (span, s)) in raw.into_iter().enumerate() {
        let Some(s) = s else { continue };
        let n = i + 1;
        spans.push((n, span.clone()));
        let at = duration_at(c, &format!("step {n}: at"), &s.at);
        if let (Some(at), Some(d)) = (at, duration)
            && at > d
        {
            c.at(
                &s.at.span(),
                format!(
                    "step {n}: at {} is after the scenario's duration {}",
                    format_duration(at),
                    format_duration(d)
                ),
            );
        }
        let given = [
            s.docker.is_some(),
            s.pool.is_some(),
            s.power.is_some(),
            s.host.is_some(),
            s.http.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            c.at(
                &span,
                format!(
                    "step {n}: give exactly one of `docker` (with `vch`), `http` (with `vch` and `network`), `pool`, `power` or `host`"
                ),
            );
            continue;
        }
        if s.docker.is_none()
            && s.http.is_none()
            && let Some(v) = &s.vch
        {
            c.at(
                &v.span(),
                format!("step {n}: `vch` only goes with `docker` or `http`"),
            );
        }
        if s.docker.is_none()
            && let Some(d) = &s.dch
        {
            c.at(
                &d.span(),
                format!("step {n}: `dch` only goes with `docker`"),
            );
        }
        if s.http.is_none()
            && let Some(w) = &s.network
        {
            c.at(
                &w.span(),
                format!("step {n}: `network` only goes with `http`"),
            );
        }
        // A step that must succeed may only use images the testbed has.
        let must_succeed =
            s.expect_error.is_none() && s.expect.as_ref().is_none_or(|e| e.get_ref() == "ok");
        for r in repeat::repetitions(c, n, s, duration) {
            let s = r.step;
            let action = if let Some(d) = s.docker {
                let images = must_succeed.then_some(&images);
                let target = DockerTarget {
                    vch: s.vch,
                    dch: s.dch.map(Spanned::into_inner),
                };
                docker_step(c, n, &span, d, target, vchs, images, registries)
            } else if let Some(h) = &s.http {
                crate::devflow::http_step(c, n, h, s.vch.as_ref(), s.network.as_ref(), vchs)
                    .map(Action::Http)
            } else if let Some(p) = s.pool {
                pool_step(c, n, p, &pools)
            } else if let Some(p) = s.power {
                p_spans.insert(n, p.get_ref().vm.span());
                power_step(c, n, p)
            } else if let Some(h) = s.host {
                host_step(c, n, h, inv.map(|_| &hosts))
            } else {
                None
            };
            let expect = step_expect(c, n, s.expect, s.expect_error);
            let checks = crate::devflow::step_checks(
                c,
                n,
                s.expect_output,
                s.expect_duration_min,
                s.expect_duration_max,
            );
            if let Some(action) = &action
                && (checks.duration_min.is_some() || checks.duration_max.is_some())
                && !crate::devflow::duration_measured(action)
            {
                c.at(
                    &span,
                    format!(
                        "step {n}: expect_duration_min/max only go with a `docker build` sent to a DCH (`dch = …`), whose virtual duration the testbed measures"
                    ),
                );
            }
            if let (Some(at), Some(action), Some(expect)) = (at, action, expect) {
                parsed.push(Step {
                    index: n,
                    repetition: r.number,
                    at: at + r.offset,
                    action,
                    expect,
                    checks,
                });
            }
        }
    }
    repeat::totals(c, &parsed, &spans);
    // Containers the scenario names itself may be powered like any VM.
    for s in &parsed {
        if let Action::Docker(d) = &s.action
            && d.verb == DockerVerb::Run
            && let Some(name) = flag_value(&d.argv, &["--name"])
        {
            vms.insert(name.to_owned());
        }
    }
    for s in &parsed {
        if let Action::Power(p) = &s.action
            && !vms.contains(&p.vm)
        {
            c.at(
                &p_spans[&s.index],
                format!(
                    "step {}: unknown vm {:?} (not in the inventory, a VCH or a container named by a run step)",
                    s.index, p.vm
                ),
            );
        }
    }
    parsed
}

/// `expect = "ok" | "fail"` and `expect_error = "…"` (which implies `fail`); `None` when
/// they are inconsistent (reported), `Some(None)` when absent.
fn step_expect(
    c: &mut Collector<'_>,
    n: usize,
    expect: Option<Spanned<String>>,
    expect_error: Option<Spanned<String>>,
) -> Option<Option<StepExpect>> {
    let error = expect_error.map(|e| (e.span(), e.into_inner()));
    if let Some((span, text)) = &error
        && text.trim().is_empty()
    {
        c.at(span, format!("step {n}: expect_error must not be empty"));
        return None;
    }
    match (expect, error) {
        (None, None) => Some(None),
        (None, Some((_, text))) => Some(Some(StepExpect::Fails(Some(text)))),
        (Some(e), error) => match (e.get_ref().as_str(), error) {
            ("ok", None) => Some(Some(StepExpect::Succeeds)),
            ("fail", error) => Some(Some(StepExpect::Fails(error.map(|(_, t)| t)))),
            ("ok", Some((span, _))) => {
                c.at(
                    &span,
                    format!("step {n}: expect_error contradicts expect = \"ok\""),
                );
                None
            }
            (other, _) => {
                c.at(
                    &e.span(),
                    format!("step {n}: expect must be \"ok\" or \"fail\", not {other:?}"),
                );
                None
            }
        },
    }
}

/// Where a docker step goes: a VCH's endpoint, or a DCH one of its containers runs.
struct DockerTarget {
    vch: Option<Spanned<String>>,
    dch: Option<String>,
}

/// A docker step's action; with `images`, an image it runs or pulls must be in that
/// catalogue (or come from one of the run's `registries`, pushed by an earlier step).
#[allow(clippy::too_many_arguments)]
fn docker_step(
    c: &mut Collector<'_>,
    n: usize,
    span: &Range<usize>,
    line: Spanned<String>,
    target: DockerTarget,
    vchs: &[Vch],
    images: Option<&vic::images::Catalogue>,
    registries: &[RegistrySpec],
) -> Option<Action> {
    let DockerTarget { vch, dch } = target;
    let vch_name = match vch {
        None => {
            c.at(
                span,
                format!("step {n}: a `docker` step needs `vch = \"<name>\"`"),
            );
            None
        }
        Some(v) if !vchs.iter().any(|x| &x.name == v.get_ref()) => {
            c.at(
                &v.span(),
                format!("step {n}: unknown vch {:?}", v.get_ref()),
            );
            None
        }
        Some(v) => Some(v.into_inner()),
    };
    let mut argv = match vic::engine::client::split_words(line.get_ref()) {
        Ok(a) => a,
        Err(e) => {
            let why = match e {
                vic::engine::client::CliError::Quoting(why) => why,
                other => other.to_string(),
            };
            c.at(
                &line.span(),
                format!("step {n}: docker command line: {why}"),
            );
            return None;
        }
    };
    if argv.first().map(String::as_str) == Some("docker") {
        argv.remove(0);
    }
    let Some(word) = argv.first() else {
        c.at(&line.span(), format!("step {n}: empty docker command"));
        return None;
    };
    let Some(verb) = DockerVerb::parse(word) else {
        let all: Vec<_> = DockerVerb::ALL.iter().map(|v| v.as_str()).collect();
        c.at(
            &line.span(),
            format!(
                "step {n}: docker command {word:?} is not supported (supported: {})",
                all.join(", ")
            ),
        );
        return None;
    };
    // The command must be one the docker client can run (flags, `-d` on `run`, …): a typo
    // found here costs nothing, found mid-run it costs a whole run.
    let image = match vic::engine::client::parse_command(&argv) {
        Err(e) => {
            c.at(&line.span(), format!("step {n}: docker {word}: {e}"));
            return None;
        }
        Ok(CliCommand::Run(a) | CliCommand::Create(a)) => Some(a.image),
        Ok(CliCommand::Pull { image, .. }) => Some(image),
        Ok(_) => None,
    };
    // A DCH pulls bases on its own; images of the run's registries exist once pushed.
    let image =
        image.filter(|i| dch.is_none() && !crate::devflow::from_run_registry(i, registries));
    if let (Some(catalogue), Some(image)) = (images, image)
        && let Err(why) = checks::image(catalogue, &image)
    {
        c.at(&line.span(), format!("step {n}: {why}"));
        return None;
    }
    Some(Action::Docker(DockerCommand {
        vch: vch_name?,
        dch,
        verb,
        argv,
    }))
}

fn pool_step(
    c: &mut Collector<'_>,
    n: usize,
    p: Spanned<RawPool>,
    pools: &BTreeSet<String>,
) -> Option<Action> {
    let p = p.into_inner();
    let mut ok = true;
    if !pools.contains(p.name.get_ref()) {
        c.at(
            &p.name.span(),
            format!(
                "step {n}: unknown pool {:?} (not in the inventory nor a VCH's pool)",
                p.name.get_ref()
            ),
        );
        ok = false;
    }
    for l in [&p.cpu_limit_mhz, &p.mem_limit_mb].into_iter().flatten() {
        if *l.get_ref() < -1 {
            c.at(
                &l.span(),
                format!("step {n}: a limit is ≥ 0, or -1 for unlimited"),
            );
            ok = false;
        }
    }
    for s in [&p.cpu_shares, &p.mem_shares].into_iter().flatten() {
        if let vcsim::inventory::SharesSpec::Level(l) = s.get_ref()
            && !matches!(l.as_str(), "low" | "normal" | "high")
        {
            c.at(
                &s.span(),
                format!("step {n}: shares {l:?} is not low, normal, high or a number"),
            );
            ok = false;
        }
    }
    ok.then(|| {
        Action::Pool(PoolChange {
            name: p.name.into_inner(),
            cpu_limit_mhz: p.cpu_limit_mhz.map(Spanned::into_inner),
            mem_limit_mb: p.mem_limit_mb.map(Spanned::into_inner),
            cpu_reservation_mhz: p.cpu_reservation_mhz,
            mem_reservation_mb: p.mem_reservation_mb,
            cpu_shares: p.cpu_shares.map(Spanned::into_inner),
            mem_shares: p.mem_shares.map(Spanned::into_inner),
            expandable: p.expandable,
        })
    })
}

fn power_step(c: &mut Collector<'_>, n: usize, p: Spanned<RawPower>) -> Option<Action> {
    let p = p.into_inner();
    let on = match p.state.get_ref().as_str() {
        "on" => true,
        "off" => false,
        other => {
            c.at(
                &p.state.span(),
                format!("step {n}: power state {other:?} is not \"on\" or \"off\""),
            );
            return None;
        }
    };
    Some(Action::Power(PowerChange {
        vm: p.vm.into_inner(),
        on,
    }))
}

/// The inventory's host names, `count` expanded (cluster hosts, then standalone ones).
fn inventory_hosts(inv: Option<&InventorySpec>) -> Vec<String> {
    use vcsim::inventory::SpecHostExpand;
    let Some(inv) = inv else {
        return Vec::new();
    };
    let mut out: Vec<String> = inv
        .clusters
        .iter()
        .flat_map(|c| c.hosts.expand().into_iter().map(|(n, _)| n))
        .collect();
    out.extend(inv.standalone_hosts.expand().into_iter().map(|(n, _)| n));
    out
}

/// A `host = { name, state }` step; with `hosts` (the inventory's, when it is valid) the
/// name must be one of them.
fn host_step(
    c: &mut Collector<'_>,
    n: usize,
    h: Spanned<RawHost>,
    hosts: Option<&Vec<String>>,
) -> Option<Action> {
    let h = h.into_inner();
    let mut ok = true;
    let name = h.name.get_ref();
    if let Some(hosts) = hosts
        && !hosts.contains(name)
    {
        let mut known: Vec<String> = hosts.iter().take(10).map(|h| format!("{h:?}")).collect();
        if hosts.len() > 10 {
            known.push(format!("… {} more", hosts.len() - 10));
        }
        c.at(
            &h.name.span(),
            format!(
                "step {n}: unknown host {name:?} (the inventory's hosts: {})",
                known.join(", ")
            ),
        );
        ok = false;
    }
    let state = HostTarget::parse(h.state.get_ref());
    if state.is_none() {
        let words: Vec<String> = HostTarget::ALL
            .iter()
            .map(|t| format!("{:?}", t.as_str()))
            .collect();
        c.at(
            &h.state.span(),
            format!(
                "step {n}: host state {:?} is not one of {}",
                h.state.get_ref(),
                words.join(", ")
            ),
        );
    }
    match (ok, state) {
        (true, Some(state)) => Some(Action::Host(HostChange {
            name: h.name.into_inner(),
            state,
        })),
        _ => None,
    }
}

/// Keys of an `[[inventory.cluster]]` the scenario reads itself; the rest is vcsim's
/// inventory, which refuses keys it does not know.
const CLUSTER_SERVICE_KEYS: [&str; 3] = ["ha", "drs", "ha_host_failures_tolerated"];

/// The scenario-only keys of one `[[inventory.cluster]]`, as written.
#[derive(Default)]
struct RawServices {
    /// Position of the cluster in `[[inventory.cluster]]`.
    index: usize,
    ha: Option<(Range<usize>, bool)>,
    drs: Option<(Range<usize>, String)>,
    tolerated: Option<(Range<usize>, i64)>,
}

/// `[inventory]` without the scenario-only keys of its clusters, and those keys.
fn take_cluster_services<'i>(
    c: &mut Collector<'_>,
    value: &Spanned<DeValue<'i>>,
) -> (Spanned<DeValue<'i>>, Vec<RawServices>) {
    let mut value = value.clone();
    let mut out = Vec::new();
    let DeValue::Table(t) = value.get_mut() else {
        return (value, out);
    };
    let Some(key) = t.keys().find(|k| k.get_ref() == "cluster").cloned() else {
        return (value, out);
    };
    let Some(clusters) = t.get_mut(&key) else {
        return (value, out);
    };
    let DeValue::Array(items) = clusters.get_mut() else {
        return (value, out);
    };
    for (index, item) in items.iter_mut().enumerate() {
        let DeValue::Table(ct) = item.get_mut() else {
            continue;
        };
        let mut raw = RawServices {
            index,
            ..RawServices::default()
        };
        let ctx = format!("inventory cluster {}", index + 1);
        for name in CLUSTER_SERVICE_KEYS {
            let Some(k) = ct.keys().find(|k| k.get_ref() == name).cloned() else {
                continue;
            };
            let Some(v) = ct.remove(&k) else { continue };
            let at = v.span();
            let ctx = format!("{ctx}: {name}");
            match name {
                "ha" => raw.ha = de::<bool>(c, &ctx, &v).map(|b| (at, b)),
                "drs" => raw.drs = de::<String>(c, &ctx, &v).map(|s| (at, s)),
                _ => raw.tolerated = de::<i64>(c, &ctx, &v).map(|n| (at, n)),
            }
        }
        if raw.ha.is_some() || raw.drs.is_some() || raw.tolerated.is_some() {
            out.push(raw);
        }
    }
    (value, out)
}

/// Checks the clusters' `ha`, `drs` and `ha_host_failures_tolerated` against the inventory.
fn cluster_services(
    c: &mut Collector<'_>,
    inv: &InventorySpec,
    raw: Vec<RawServices>,
) -> Vec<ClusterServices> {
    use vcsim::inventory::SpecHostExpand;
    let mut out = Vec::new();
    for r in raw {
        let Some(cluster) = inv.clusters.get(r.index) else {
            continue;
        };
        let ctx = format!("inventory cluster {:?}", cluster.name);
        let mut ok = true;
        let ha = r.ha.as_ref().is_some_and(|(_, b)| *b);
        let drs = match &r.drs {
            None => None,
            Some((at, s)) => match DrsMode::parse(s) {
                Some(m) => Some(m),
                None => {
                    c.at(
                        at,
                        format!(
                            "{ctx}: drs {s:?} is not \"fullyAutomated\", \"partiallyAutomated\", \"manual\" or \"off\""
                        ),
                    );
                    ok = false;
                    None
                }
            },
        };
        let hosts = cluster.hosts.expand().len() as i64;
        let tolerated = match &r.tolerated {
            None => None,
            Some((at, n)) => {
                if !ha {
                    c.at(
                        at,
                        format!("{ctx}: ha_host_failures_tolerated needs ha = true"),
                    );
                    ok = false;
                } else if *n < 0 || *n >= hosts.max(1) || *n > 31 {
                    c.at(
                        at,
                        format!(
                            "{ctx}: ha_host_failures_tolerated {n} must be from 0 to {} (one less than the cluster's {hosts} hosts, at most 31)",
                            (hosts - 1).clamp(0, 31)
                        ),
                    );
                    ok = false;
                }
                u32::try_from(*n).ok()
            }
        };
        if ok {
            out.push(ClusterServices {
                cluster: cluster.name.clone(),
                ha,
                drs,
                ha_host_failures_tolerated: tolerated,
            });
        }
    }
    out
}

fn expect_list(
    c: &mut Collector<'_>,
    raw: Vec<(Range<usize>, Option<RawExpect>)>,
    duration: Option<Duration>,
) -> Vec<Expectation> {
    let mut out = Vec::new();
    let mut ids: HashMap<String, usize> = HashMap::new();
    let mut refs = Vec::new();
    for (i, (span, e)) in raw.into_iter().enumerate() {
        let Some(e) = e else { continue };
        let n = i + 1;
        let ctx = format!("expect {n}");
        let mut ok = true;
        let mut bad = |c: &mut Collector<'_>, s: Range<usize>, m: String| {
            c.at(&s, format!("{ctx}: {m}"));
            ok = false;
        };
        let id =
            e.id.as_ref()
                .map_or(format!("expect-{n}"), |s| s.get_ref().clone());
        let id_span = e.id.as_ref().map_or(span.clone(), Spanned::span);
        if id.trim().is_empty() {
            bad(c, id_span.clone(), "id must not be empty".into());
        } else if let Some(first) = ids.insert(id.clone(), n) {
            bad(
                c,
                id_span,
                format!("id {id:?} is already used by expect {first}"),
            );
        }
        let kind = EntityKind::parse(e.kind.get_ref());
        if kind.is_none() {
            bad(
                c,
                e.kind.span(),
                format!(
                    "kind {:?} is not vm, pool, host or container",
                    e.kind.get_ref()
                ),
            );
        }
        if e.entity.get_ref().is_empty() {
            bad(c, e.entity.span(), "entity must be a name or a glob".into());
        }
        let counter_ok = match check_counter(e.counter.get_ref())
            .and_then(|()| checks::counter(e.counter.get_ref(), kind))
        {
            Ok(()) => true,
            Err(m) => {
                bad(c, e.counter.span(), m);
                false
            }
        };
        let (unit, bound_unit, bounds, problems) = checks::bounds(&e, counter_ok);
        for (span, m) in problems {
            bad(c, span, m);
        }
        let stat = Stat::parse(e.stat.get_ref());
        if stat.is_none() {
            bad(
                c,
                e.stat.span(),
                format!(
                    "stat {:?} is not avg, max, min, p95, last or sum",
                    e.stat.get_ref()
                ),
            );
        }
        match (&e.min, &e.max, bounds) {
            (None, None, _) => bad(c, span.clone(), "give `min`, `max` or both".into()),
            (Some(lo), Some(_), [Some(a), Some(b)]) if a > b => bad(
                c,
                lo.span(),
                format!(
                    "min {} is above max {}",
                    bound_unit.format(a),
                    bound_unit.format(b)
                ),
            ),
            _ => {}
        }
        let mut window = [None, None];
        for (slot, (name, w)) in [("from", &e.from), ("to", &e.to)].into_iter().enumerate() {
            let Some(w) = w else { continue };
            match parse_duration(w.get_ref()) {
                Err(m) => bad(c, w.span(), format!("{name}: {m}")),
                Ok(d) => {
                    if let Some(total) = duration
                        && d > total
                    {
                        bad(
                            c,
                            w.span(),
                            format!(
                                "{name} {} is after the scenario's duration {}",
                                format_duration(d),
                                format_duration(total)
                            ),
                        );
                    }
                    window[slot] = Some(d);
                }
            }
        }
        if let [Some(f), Some(t)] = window
            && f >= t
            && let Some(to) = &e.to
        {
            bad(c, to.span(), "`to` must be after `from`".into());
        }
        if let Some(r) = &e.relative_to {
            refs.push((n, id.clone(), r.clone()));
        }
        if let (true, Some(kind), Some(stat)) = (ok, kind, stat) {
            out.push(Expectation {
                id,
                entity: EntityPattern {
                    kind,
                    pattern: e.entity.into_inner(),
                },
                counter: e.counter.into_inner(),
                instance: e.instance,
                stat,
                min: bounds[0],
                max: bounds[1],
                unit,
                from: window[0],
                to: window[1],
                relative_to: e.relative_to.map(Spanned::into_inner),
            });
        }
    }
    for (n, id, r) in refs {
        if r.get_ref() == &id {
            c.at(
                &r.span(),
                format!("expect {n}: relative_to refers to itself"),
            );
        } else if !ids.contains_key(r.get_ref()) {
            c.at(
                &r.span(),
                format!(
                    "expect {n}: relative_to names unknown expectation {:?}",
                    r.get_ref()
                ),
            );
        }
    }
    out
}

/// vSphere counter names are `group.name.rollup`.
fn check_counter(name: &str) -> Result<(), String> {
    let parts: Vec<&str> = name.split('.').collect();
    let word = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric());
    if parts.len() != 3 || !parts.iter().all(|p| word(p)) {
        return Err(format!(
            "counter {name:?} is not a vSphere dotted name group.name.rollup (e.g. \"cpu.ready.summation\")"
        ));
    }
    const ROLLUPS: [&str; 6] = [
        "average",
        "summation",
        "latest",
        "maximum",
        "minimum",
        "none",
    ];
    if !ROLLUPS.contains(&parts[2]) {
        return Err(format!(
            "counter {name:?}: rollup {:?} is not one of {}",
            parts[2],
            ROLLUPS.join(", ")
        ));
    }
    Ok(())
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)` (a space or `t` may replace `T`).
pub(crate) fn parse_rfc3339(s: &str) -> Option<StartTime> {
    let b = s.as_bytes();
    if b.len() < 20 || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(r) = rest.strip_prefix('.') {
        let digits = r.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &r[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && rest.as_bytes()[3] == b':' => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let oh: i64 = rest[1..3].parse().ok()?;
            let om: i64 = rest[4..6].parse().ok()?;
            if oh > 23 || om > 59 {
                return None;
            }
            sign * (oh * 3600 + om * 60)
        }
        _ => return None,
    };
    let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let mdays = [
        31,
        if leap(y) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&mo)
        || d < 1
        || d > mdays[(mo - 1) as usize]
        || h > 23
        || mi > 59
        || se > 60
    {
        return None;
    }
    let days = vcsim::vmodl::days_from_civil(y, u32::try_from(mo).ok()?, u32::try_from(d).ok()?);
    let unix = days * 86_400 + h * 3600 + mi * 60 + se.min(59) - offset;
    Some(StartTime {
        unix_seconds: unix,
        rfc3339: vcsim::vmodl::format_rfc3339_seconds(unix),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339() {
        let t = parse_rfc3339("2017-10-02T08:00:00Z").unwrap();
        assert_eq!(t.unix_seconds, 1_506_931_200);
        assert_eq!(t.rfc3339, "2017-10-02T08:00:00Z");
        let t = parse_rfc3339("2017-10-02T10:00:00.5+02:00").unwrap();
        assert_eq!(t.unix_seconds, 1_506_931_200);
        for bad in [
            "2017-10-02",
            "2017-13-02T08:00:00Z",
            "2017-10-02T08:00:00",
            "x",
        ] {
            assert!(parse_rfc3339(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn counters() {
        assert!(check_counter("cpu.ready.summation").is_ok());
        assert!(check_counter("cpu.ready").is_err());
        assert!(check_counter("cpu.ready.sum").is_err());
    }
}
