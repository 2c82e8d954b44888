//! The developer workflow's two data paths, at three context sizes (1, 8 and 64 MiB of
//! files a `COPY` adds):
//!
//! * `dch_build/copy_<N>MiB`: what a DCH does with `docker build` after reading the context
//!   tar — plan the seed Dockerfile (`FROM nginx`, `RUN apt-get update && apt-get upgrade
//!   -y`, `COPY site/ …`), tar the COPY layer, gzip every layer and digest it
//!   ([`vic::build::plan_from_context`], [`vic::image_content`]). The virtual time the
//!   build's CPU takes is the model's and is not measured here.
//! * `push/layer_<N>MiB`: `docker push` of that image from the engine's side to the
//!   in-process registry over TLS with a login ([`vic::image_transfer::push`]: HEAD, POST,
//!   PUT each blob, then the manifest), into a fresh repository each iteration (so every
//!   blob is uploaded).
//!
//! Run: `cargo bench -p vic --bench build_push -- --warm-up-time 1 --measurement-time 5`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use vic::build::{BaseImage, BuildOptions, plan_from_context};
use vic::image_transfer::{Target, Trust};
use vic::images::{Catalogue, Reference};
use vic::registry_hosts::RegistryHosts;

const SIZES_MIB: [usize; 3] = [1, 8, 64];

/// `mib` MiB of deterministic, poorly compressible bytes in 64 files.
fn site(mib: usize) -> BTreeMap<String, Vec<u8>> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let per_file = mib * 1024 * 1024 / 64;
    (0..64)
        .map(|i| {
            let data: Vec<u8> = (0..per_file)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            (format!("site/page-{i:02}.bin"), data)
        })
        .collect()
}

fn context(mib: usize) -> BTreeMap<String, Vec<u8>> {
    let mut files = site(mib);
    files.insert(
        "Dockerfile".to_owned(),
        b"FROM nginx:latest\nRUN apt-get update && apt-get upgrade -y\nCOPY site/ /usr/share/nginx/html/\n"
            .to_vec(),
    );
    files
}

fn build(files: &BTreeMap<String, Vec<u8>>) -> vic::image_content::ImageContent {
    let catalogue = Catalogue::builtin();
    let resolve = |name: &str| catalogue.resolve(name).cloned().map(BaseImage::from_config);
    let opts = BuildOptions {
        tags: vec!["registry.corp.local/justait/nginx:patched".to_owned()],
        ..BuildOptions::default()
    };
    let plan = plan_from_context(files, &opts, &resolve);
    plan.image.expect("the seed Dockerfile builds").content()
}

fn bench_build(c: &mut Criterion) {
    let mut g = c.benchmark_group("dch_build");
    g.sample_size(10);
    for mib in SIZES_MIB {
        let files = context(mib);
        g.throughput(Throughput::Bytes((mib * 1024 * 1024) as u64));
        g.bench_with_input(
            BenchmarkId::new("copy", format!("{mib}MiB")),
            &files,
            |b, f| {
                b.iter(|| build(f));
            },
        );
    }
    g.finish();
}

fn bench_push(c: &mut Criterion) {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let certs = tempfile::tempdir().expect("tempdir");
    let handle = rt.block_on(async {
        let config = registry::RegistryConfig {
            host_name: "registry.corp.local".to_owned(),
            users: vec![registry::User {
                name: "dev".into(),
                password: "bench-pw".into(),
            }],
            tls: registry::TlsMode::Generate {
                cert_dir: Some(certs.path().to_owned()),
            },
            ..registry::RegistryConfig::default()
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        registry::serve(config, listener, std::future::pending())
            .await
            .expect("registry")
    });
    let hosts = Arc::new(RegistryHosts::default());
    hosts.insert("registry.corp.local", (&handle).into());
    let trust = Trust {
        ca_pems: hosts.ca_pems(),
        insecure: Vec::new(),
    };
    let target: Target = vic::image_transfer::target(
        &hosts,
        "registry.corp.local",
        &trust,
        Some(vic::distribution::Credentials {
            username: "dev".into(),
            password: "bench-pw".into(),
        }),
    )
    .expect("resolves");
    let repo_no = AtomicU64::new(0);
    let mut g = c.benchmark_group("push");
    g.sample_size(10);
    for mib in SIZES_MIB {
        let content = build(&context(mib));
        g.throughput(Throughput::Bytes((mib * 1024 * 1024) as u64));
        g.bench_with_input(
            BenchmarkId::new("layer", format!("{mib}MiB")),
            &content,
            |b, ct| {
                b.iter(|| {
                    // A fresh repository each time: nothing "already exists".
                    let n = repo_no.fetch_add(1, Ordering::Relaxed);
                    let r = Reference::parse(&format!("registry.corp.local/library/bench{n}:v1"))
                        .expect("reference");
                    rt.block_on(vic::image_transfer::push(&target, &r, ct))
                        .expect("pushed")
                });
            },
        );
    }
    g.finish();
    rt.block_on(handle.stop()).expect("stops");
}

criterion_group!(benches, bench_build, bench_push);
criterion_main!(benches);
