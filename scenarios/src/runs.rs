//! Container runs: how long each container of a run ran, as `docker inspect` tells it
//! (`State.StartedAt` to `State.FinishedAt` on the virtual clock), read from every VCH at the
//! end of the run. Jobs that end by themselves (`stress-ng --cpu-ops`, `sh -c …`) are what a
//! capacity planner times under a VCH limit: the report tabulates them per VCH, and an
//! expectation can bound them through the pseudo-counter [`RUN_TIME_COUNTER`] (one sample
//! per container: its run time in seconds, at the offset where it finished).
//!
//! Containers removed before the end (`--rm`, `docker rm`) are gone from the endpoint and so
//! from the table. Runs are read when the run has at most [`AUTO_MAX_CONTAINERS`] containers
//! or an expectation uses [`RUN_TIME_COUNTER`].

use crate::docker::Docker;
use crate::outcome::{ContainerRun, EntityRecord, Point, Series};
use crate::schema::EntityKind;

/// The pseudo-counter of container run times (seconds). Not a vSphere counter: vicbed reads
/// it from the Docker endpoint, not from `QueryPerf`.
pub const RUN_TIME_COUNTER: &str = "container.runtime.latest";

/// Its unit, as vSphere names the unit of seconds.
pub const RUN_TIME_UNIT: &str = "second";

/// Runs with at most this many containers have their runs read whatever the expectations
/// say; larger ones only when an expectation uses [`RUN_TIME_COUNTER`] (each container is
/// one `inspect`).
pub const AUTO_MAX_CONTAINERS: usize = 100;

/// Most containers read per VCH (a run's report stays bounded).
pub const MAX_RUNS_PER_VCH: usize = 10_000;

/// Docker's zero time: never started, or not finished.
fn docker_time_ms(text: &str) -> Option<i64> {
    vcsim::vmodl::parse_datetime(text).filter(|ms| *ms > 0)
}

fn offset_s(ms: i64, start_ms: i64) -> u64 {
    u64::try_from((ms - start_ms).max(0) / 1000).unwrap_or(0)
}

/// Every container of `docker` (the `[[vch]]` named `vch`), in name order.
pub(crate) async fn read(docker: &Docker, vch: &str, start_ms: i64) -> Vec<ContainerRun> {
    let Ok(list) = docker.client.containers(true).await else {
        return Vec::new();
    };
    let mut runs = Vec::new();
    for c in list.iter().take(MAX_RUNS_PER_VCH) {
        let Ok(d) = docker.client.inspect_container(&c.id).await else {
            continue;
        };
        let started_ms = docker_time_ms(&d.started_at);
        let finished_ms = docker_time_ms(&d.finished_at).filter(|_| !d.running);
        let run_s = match (started_ms, finished_ms) {
            (Some(s), Some(f)) if f >= s => Some(u64::try_from((f - s) / 1000).unwrap_or(0)),
            _ => None,
        };
        let command = if d.command.is_empty() {
            d.image.clone()
        } else {
            format!("{} {}", d.image, d.command)
        };
        runs.push(ContainerRun {
            vch: vch.to_owned(),
            name: d.name,
            command,
            started_s: started_ms.map(|ms| offset_s(ms, start_ms)),
            finished_s: finished_ms.map(|ms| offset_s(ms, start_ms)),
            run_s,
            exit_code: finished_ms.map(|_| d.exit_code),
        });
    }
    runs.sort_by(|a, b| a.name.cmp(&b.name));
    runs
}

/// The run-time series of the finished runs whose container is an entity of the run.
pub(crate) fn series(runs: &[ContainerRun], entities: &[EntityRecord]) -> Vec<Series> {
    // Containers by (VCH, container name): an entity's name carries ` (vm-N)` when two
    // share a name, which two containers of one VCH never do. One pass over each list.
    let by_name: std::collections::HashMap<(&str, &str), &str> = entities
        .iter()
        .filter(|e| e.kind == EntityKind::Container)
        .filter_map(|e| {
            let base = e.name.split_once(" (").map_or(e.name.as_str(), |(b, _)| b);
            Some(((e.vch.as_deref()?, base), e.name.as_str()))
        })
        .collect();
    runs.iter()
        .filter_map(|r| {
            let run_s = r.run_s?;
            let entity = by_name.get(&(r.vch.as_str(), r.name.as_str()))?;
            Some(Series {
                kind: EntityKind::Container,
                entity: (*entity).to_owned(),
                counter: RUN_TIME_COUNTER.to_owned(),
                instance: String::new(),
                unit: RUN_TIME_UNIT.to_owned(),
                points: std::iter::once(Point {
                    offset_s: r.finished_s.unwrap_or(0),
                    value: i64::try_from(run_s).unwrap_or(i64::MAX),
                })
                .collect(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(vch: &str, name: &str, run_s: Option<u64>) -> ContainerRun {
        ContainerRun {
            vch: vch.into(),
            name: name.into(),
            command: "stress-ng --cpu 1".into(),
            started_s: Some(10),
            finished_s: run_s.map(|r| 10 + r),
            run_s,
            exit_code: run_s.map(|_| 0),
        }
    }

    fn entity(vch: &str, name: &str) -> EntityRecord {
        EntityRecord {
            kind: EntityKind::Container,
            name: name.into(),
            vsphere_name: format!("{name}-abc"),
            moref: format!("vm-{name}"),
            vch: Some(vch.into()),
        }
    }

    #[test]
    fn finished_runs_become_one_sample_series_of_their_container() {
        let runs = [
            run("limited", "job-1", Some(300)),
            run("limited", "job-2", None),
            run("unlimited", "job-1", Some(40)),
        ];
        let entities = [
            entity("limited", "job-1 (vm-7)"),
            entity("limited", "job-2"),
            entity("unlimited", "job-1 (vm-9)"),
        ];
        let s = series(&runs, &entities);
        assert_eq!(s.len(), 2, "a running container has no run time yet");
        assert_eq!(s[0].entity, "job-1 (vm-7)");
        assert_eq!(
            s[0].points.read().unwrap(),
            [Point {
                offset_s: 310,
                value: 300
            }]
        );
        assert_eq!(s[1].entity, "job-1 (vm-9)");
        assert_eq!(
            (s[1].counter.as_str(), s[1].unit.as_str()),
            (RUN_TIME_COUNTER, "second")
        );
    }

    #[test]
    fn docker_zero_time_is_no_time() {
        assert_eq!(docker_time_ms("0001-01-01T00:00:00Z"), None);
        assert_eq!(docker_time_ms(""), None);
        assert_eq!(
            docker_time_ms("2017-10-02T08:00:01.5Z"),
            Some(1_506_931_201_500)
        );
    }
}
