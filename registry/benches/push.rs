//! Push throughput of the in-memory registry: a blob streamed in 64 KiB chunks through an
//! upload session (hashing as it arrives), committed, then a manifest referencing it, at
//! 1, 8 and 64 MiB.

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use registry::name::{Reference, RepoName};
use registry::{Digest, Registry, RegistryConfig};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Bytes per body frame, as a client's chunks arrive.
const FRAME_BYTES: usize = 64 * 1024;

/// A request body handing out `data` in frames.
struct Chunks {
    data: Bytes,
}

impl http_body::Body for Chunks {
    type Data = Bytes;
    type Error = std::convert::Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        if self.data.is_empty() {
            return Poll::Ready(None);
        }
        let n = self.data.len().min(FRAME_BYTES);
        let frame = self.data.split_to(n);
        Poll::Ready(Some(Ok(http_body::Frame::data(frame))))
    }
}

fn push(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let repo = RepoName::parse("library/bench").expect("name");
    let mut group = c.benchmark_group("push");
    group.sample_size(10);
    for size_mib in [1usize, 8, 64] {
        let size_bytes = size_mib << 20;
        let blob = Bytes::from((0..size_bytes).map(|i| (i % 251) as u8).collect::<Vec<_>>());
        let digest = Digest::of(&blob).to_string();
        let config = Bytes::from_static(b"{}");
        let config_digest = Digest::of(&config);
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": registry::manifest::DOCKER_MANIFEST,
            "config": {"size": 2, "digest": config_digest.to_string()},
            "layers": [{"size": size_bytes, "digest": digest}],
        })
        .to_string();
        group.throughput(Throughput::Bytes(size_bytes as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(format!("{size_mib}MiB")),
            &blob,
            |b, blob| {
                b.iter(|| {
                    rt.block_on(async {
                        let r = Registry::new(&RegistryConfig::default()).expect("registry");
                        r.push_blob(
                            &repo,
                            &config_digest.to_string(),
                            Chunks {
                                data: config.clone(),
                            },
                        )
                        .await
                        .expect("config");
                        let id = r.start_upload(&repo).await.expect("start");
                        r.upload_chunk(&repo, &id, None, Chunks { data: blob.clone() })
                            .await
                            .expect("chunk");
                        r.finish_upload(&repo, &id, &digest, None, Chunks { data: Bytes::new() })
                            .await
                            .expect("finish");
                        r.put_manifest(
                            &repo,
                            &Reference::Tag("v1".into()),
                            None,
                            Chunks {
                                data: Bytes::from(manifest.clone()),
                            },
                        )
                        .await
                        .expect("manifest");
                    })
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, push);
criterion_main!(benches);
