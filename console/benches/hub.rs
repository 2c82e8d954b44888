//! The console's fan-out: one sample (the seed's two pools, two appliances and two stressed
//! containerVMs, every counter) serialized once and delivered to N open pages' streams, at
//! 1, 20 and 100 pages. The cost per page is the slope.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use futures_util::{FutureExt, StreamExt};
use vicbed_console::feed::{self, Sample};
use vicbed_console::hub::{Hub, HubEvent};

fn sample(ts_ms: i64) -> Sample {
    let mut entities = BTreeMap::new();
    for (i, pool) in ["resgroup-17", "resgroup-20"].iter().enumerate() {
        let values = feed::names(true).map(|c| (c, 100.0 + i as f64)).collect();
        entities.insert((*pool).to_owned(), values);
    }
    for vm in ["vm-19", "vm-22", "vm-23", "vm-24"] {
        let values = feed::names(false).map(|c| (c, 1818.5)).collect();
        entities.insert(vm.to_owned(), values);
    }
    Sample {
        ts_ms,
        entities,
        seen_unix_ms: Some(0),
    }
}

fn fan_out(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("hub_sample_to_pages");
    for pages in [1usize, 20, 100] {
        let _guard = rt.enter();
        let hub = Hub::new();
        let mut streams: Vec<_> = (0..pages)
            .map(|_| {
                let first = HubEvent {
                    name: "state",
                    data: "{}".into(),
                };
                Box::pin(hub.subscribe(pages, first).expect("under the cap"))
            })
            .collect();
        for s in &mut streams {
            let _ = s.next().now_or_never();
        }
        let mut ts_ms = 0;
        group.bench_with_input(BenchmarkId::from_parameter(pages), &pages, |b, _| {
            b.iter(|| {
                ts_ms += 20_000;
                hub.sample(&sample(ts_ms));
                for s in &mut streams {
                    black_box(s.next().now_or_never());
                }
            });
        });
    }
    group.finish();
}

criterion_group!(benches, fan_out);
criterion_main!(benches);
