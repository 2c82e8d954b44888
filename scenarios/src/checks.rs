//! Parse-time checks against what the testbed has: vCenter's counter catalogue (and which
//! counters the emulator's model produces for which entities), the image catalogue VCHs pull
//! from (built-in plus `[[inventory.image]]`), and the compute resources of the inventory a
//! `--compute-resource` may name. A mistake found here costs nothing; found mid-run, it
//! costs a run (and, in a sweep, every point).

use std::collections::BTreeSet;

use std::ops::Range;

use scheduler_model::{Applies, Counter};
use vcsim::inventory::{InventorySpec, expand_names};

use crate::schema::{EntityKind, RawExpect, Vch};
use crate::units::DisplayUnit;

/// An expectation's bounds read in its counter's display unit (plain ratios with
/// `relative_to`): the counter's unit, the bounds' unit, `[min, max]` and the problems
/// (span, message). With `counter_ok` false a bound with a unit suffix is not judged: the
/// counter, hence its unit, is already reported.
#[allow(clippy::type_complexity)]
pub(crate) fn bounds(
    e: &RawExpect,
    counter_ok: bool,
) -> (
    DisplayUnit,
    DisplayUnit,
    [Option<f64>; 2],
    Vec<(Range<usize>, String)>,
) {
    let unit = DisplayUnit::of_counter(e.counter.get_ref()).unwrap_or(DisplayUnit::PLAIN);
    let bound_unit = if e.relative_to.is_some() {
        DisplayUnit::PLAIN
    } else {
        unit
    };
    let mut bounds = [None, None];
    let mut problems = Vec::new();
    for (slot, b) in [&e.min, &e.max].into_iter().enumerate() {
        let Some(b) = b else { continue };
        if !counter_ok && matches!(b.get_ref(), toml::Value::String(_)) {
            continue;
        }
        match bound_unit.parse_bound(b.get_ref()) {
            Ok(v) => bounds[slot] = Some(v),
            Err(m) if e.relative_to.is_some() => {
                problems.push((
                    b.span(),
                    format!("{m} (a relative_to bound is a plain ratio)"),
                ));
            }
            Err(m) => problems.push((b.span(), m)),
        }
    }
    (unit, bound_unit, bounds, problems)
}

/// `Ok` when `name` is a catalogued counter the emulator produces for `kind`, else why not.
pub(crate) fn counter(name: &str, kind: Option<EntityKind>) -> Result<(), String> {
    if name == crate::runs::RUN_TIME_COUNTER {
        // Read from the Docker endpoint, for containers only.
        return match kind {
            None | Some(EntityKind::Container) => Ok(()),
            Some(other) => Err(format!(
                "counter {name:?} (a container's run time) applies to containers, not to a {}",
                other.as_str()
            )),
        };
    }
    if vcsim::perf::catalogue::key_of(name).is_none() {
        let group_name = name.rsplit_once('.').map_or(name, |(g, _)| g);
        let alternatives: Vec<String> = vcsim::perf::catalogue::all()
            .iter()
            .map(|d| d.full_name())
            .filter(|f| f.rsplit_once('.').is_some_and(|(g, _)| g == group_name))
            .collect();
        return Err(if alternatives.is_empty() {
            format!("counter {name:?} is not in vCenter's counter catalogue")
        } else {
            format!(
                "counter {name:?} is not in vCenter's counter catalogue (did you mean {}?)",
                alternatives.join(" or ")
            )
        });
    }
    let Some(model) = Counter::from_name(name) else {
        return Err(format!(
            "counter {name:?} is in vCenter's catalogue but the emulator does not produce it"
        ));
    };
    let Some(kind) = kind else { return Ok(()) };
    let applies = match kind {
        EntityKind::Vm | EntityKind::Container => Applies::VM,
        EntityKind::Pool => Applies::POOL,
        EntityKind::Host => Applies::HOST,
    };
    if model.applies_to(applies) {
        return Ok(());
    }
    let carriers: Vec<&str> = [
        (Applies::VM, "VMs and containers"),
        (Applies::POOL, "pools"),
        (Applies::HOST, "hosts"),
    ]
    .into_iter()
    .filter(|(a, _)| model.applies_to(*a))
    .map(|(_, n)| n)
    .collect();
    Err(format!(
        "counter {name:?} is not reported for a {} (vSphere reports it for {})",
        kind.as_str(),
        carriers.join(", ")
    ))
}

/// The images VCHs of this inventory can pull.
pub(crate) fn images(inv: Option<&InventorySpec>) -> vic::images::Catalogue {
    inv.and_then(|i| vic::images::Catalogue::with_declared(&i.images).ok())
        .unwrap_or_else(vic::images::Catalogue::builtin)
}

/// `Ok` when `catalogue` has the image `reference`, else why not.
pub(crate) fn image(catalogue: &vic::images::Catalogue, reference: &str) -> Result<(), String> {
    if catalogue.resolve(reference).is_some() {
        return Ok(());
    }
    let known: Vec<String> = catalogue
        .iter()
        .map(|i| {
            if i.tag == "latest" {
                i.repository.clone()
            } else {
                format!("{}:{}", i.repository, i.tag)
            }
        })
        .collect();
    Err(format!(
        "image {reference:?} is not in the testbed's image catalogue (it has {}; declare others with [[inventory.image]])",
        known.join(", ")
    ))
}

/// `Ok` when `--compute-resource` names something in the inventory: a cluster, a standalone
/// host (each its own compute resource), a resource pool, `Resources`, or a path ending in
/// one (`Cluster/Resources/pool`); another VCH's pool counts too. Globs are left to
/// vic-machine.
pub(crate) fn compute_resource(
    inv: &InventorySpec,
    vchs: &[Vch],
    value: &str,
) -> Result<(), String> {
    if value.contains(['*', '?']) {
        return Ok(());
    }
    let clusters: BTreeSet<String> = inv.clusters.iter().map(|c| c.name.clone()).collect();
    let hosts: BTreeSet<String> = expand_names(
        inv.standalone_hosts
            .iter()
            .map(|h| (h.name.as_str(), h.count)),
    )
    .into_iter()
    .collect();
    let pools: BTreeSet<String> = inv
        .clusters
        .iter()
        .flat_map(|c| c.pools.iter().map(|p| p.name.clone()))
        .chain(vchs.iter().map(|v| v.vsphere_name().to_owned()))
        .collect();
    let last = value.rsplit('/').find(|s| !s.is_empty()).unwrap_or("");
    if last == "Resources"
        || clusters.contains(last)
        || hosts.contains(last)
        || pools.contains(last)
    {
        return Ok(());
    }
    let list = |what: &str, set: &BTreeSet<String>| {
        (!set.is_empty()).then(|| {
            let names: Vec<&str> = set.iter().map(String::as_str).collect();
            format!("{what} {}", names.join(", "))
        })
    };
    let known: Vec<String> = [
        list("clusters", &clusters),
        list("standalone hosts", &hosts),
        list("pools", &pools),
    ]
    .into_iter()
    .flatten()
    .collect();
    Err(format!(
        "--compute-resource {value:?} is not in the inventory ({})",
        if known.is_empty() {
            "it has no cluster or standalone host".to_owned()
        } else {
            known.join("; ")
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_against_the_catalogue_and_the_model() {
        assert!(counter("cpu.ready.summation", Some(EntityKind::Container)).is_ok());
        assert!(counter("cpu.readiness.average", Some(EntityKind::Vm)).is_ok());
        let e = counter("cpu.ready.average", None).unwrap_err();
        assert!(e.contains("did you mean cpu.ready.summation?"), "{e}");
        let e = counter("cpu.ready.summation", Some(EntityKind::Pool)).unwrap_err();
        assert_eq!(
            e,
            "counter \"cpu.ready.summation\" is not reported for a pool (vSphere reports it for VMs and containers)"
        );
        let e = counter("disk.totalLatency.average", None).unwrap_err();
        assert!(e.contains("the emulator does not produce it"), "{e}");
    }

    #[test]
    fn images_builtin_and_declared() {
        let c = images(None);
        assert!(image(&c, "progrium/stress").is_ok());
        assert!(image(&c, "docker.io/library/busybox:latest").is_ok());
        let e = image(&c, "ngnix").unwrap_err();
        assert!(
            e.contains("\"ngnix\" is not in the testbed's image catalogue"),
            "{e}"
        );
        assert!(e.contains("vmware/dch-photon:1.13"), "{e}");
    }

    #[test]
    fn compute_resources() {
        let inv = InventorySpec::parse(
            "[[cluster]]\nname = \"Gold\"\nhosts = [{ name = \"esx\" }]\npools = [{ name = \"P\" }]\n[[host]]\nname = \"edge\"\n",
        )
        .unwrap();
        for ok in [
            "Gold",
            "edge",
            "P",
            "Gold/Resources",
            "/DC0/host/Gold/Resources/P",
            "G*",
        ] {
            assert!(compute_resource(&inv, &[], ok).is_ok(), "{ok}");
        }
        let e = compute_resource(&inv, &[], "Silver").unwrap_err();
        assert_eq!(
            e,
            "--compute-resource \"Silver\" is not in the inventory (clusters Gold; standalone hosts edge; pools P)"
        );
    }
}
