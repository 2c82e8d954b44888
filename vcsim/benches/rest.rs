//! The vAPI REST edge, in-process through the server's router: `GET /api/vcenter/vm` (the
//! inventory listing vcsim lacks) and tag attach + list-attached-objects, at three inventory
//! sizes, so the cost per VM can be read off as a slope.
//!
//! `cargo bench -p vcsim --bench rest`

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use http_body_util::BodyExt;
use tower::ServiceExt;
use vcsim::http::ConnInfo;
use vcsim::{Config, Emulator, ModelCounts, Vcsim};

/// VMs per host; the sizes vary the host count.
const VMS_PER_HOST: u32 = 32;

/// Hosts in the one cluster at each size (96, 960 and 3 840 VMs: vCenter lists at most 4 000).
const HOSTS: [u32; 3] = [3, 30, 120];

struct Rest {
    vc: Vcsim,
    session: String,
    runtime: tokio::runtime::Runtime,
}

impl Rest {
    fn new(hosts: u32) -> Rest {
        let config = Config {
            counts: ModelCounts {
                datacenters: 1,
                clusters: 1,
                hosts_per_cluster: hosts,
                vms_per_host: VMS_PER_HOST,
                standalone_hosts: 0,
            },
            ..Config::default()
        };
        let vc = Vcsim::new(Emulator::new(config).expect("inventory builds"));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let mut rest = Rest {
            vc,
            session: String::new(),
            runtime,
        };
        // Basic user:pass.
        let (status, body) = rest.call("POST", "/api/session", None, Some("dXNlcjpwYXNz"));
        assert_eq!(status, StatusCode::CREATED, "{body}");
        rest.session = body.trim().trim_matches('"').to_owned();
        rest
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        json: Option<&str>,
        basic: Option<&str>,
    ) -> (StatusCode, String) {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(b) = basic {
            req = req.header(header::AUTHORIZATION, format!("Basic {b}"));
        } else {
            req = req.header("vmware-api-session-id", &self.session);
        }
        if json.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        let req = req
            .body(Body::from(json.unwrap_or("").to_owned()))
            .expect("a request");
        let router = self.vc.router().layer(axum::Extension(ConnInfo {
            peer: "127.0.0.1:50000".parse().expect("an address"),
            tls: false,
            client_cert: None,
        }));
        self.runtime.block_on(async move {
            let resp = router.oneshot(req).await.expect("the router answers");
            let status = resp.status();
            let bytes = resp.into_body().collect().await.expect("a body").to_bytes();
            (status, String::from_utf8_lossy(&bytes).into_owned())
        })
    }
}

fn vm_list(c: &mut Criterion) {
    let mut g = c.benchmark_group("rest GET /api/vcenter/vm");
    for hosts in HOSTS {
        let rest = Rest::new(hosts);
        let vms = u64::from(hosts * VMS_PER_HOST);
        g.throughput(Throughput::Elements(vms));
        g.bench_with_input(BenchmarkId::from_parameter(vms), &rest, |b, rest| {
            b.iter(|| {
                let (status, body) = rest.call("GET", "/api/vcenter/vm", None, None);
                assert_eq!(status, StatusCode::OK);
                body.len()
            })
        });
    }
    g.finish();
}

fn tags(c: &mut Criterion) {
    let mut g = c.benchmark_group("rest tag every VM, then list-attached-objects");
    g.sample_size(10);
    for hosts in HOSTS {
        let vms = hosts * VMS_PER_HOST;
        g.throughput(Throughput::Elements(u64::from(vms)));
        g.bench_with_input(BenchmarkId::from_parameter(vms), &hosts, |b, &hosts| {
            b.iter_with_setup(
                || {
                    let rest = Rest::new(hosts);
                    let (s, cat) = rest.call(
                        "POST",
                        "/api/cis/tagging/category",
                        Some(r#"{"name":"env","cardinality":"MULTIPLE","associable_types":[]}"#),
                        None,
                    );
                    assert!(s.is_success(), "{cat}");
                    let cat = cat.trim().trim_matches('"').to_owned();
                    let (s, tag) = rest.call(
                        "POST",
                        "/api/cis/tagging/tag",
                        Some(&format!(r#"{{"name":"ci","category_id":"{cat}"}}"#)),
                        None,
                    );
                    assert!(s.is_success(), "{tag}");
                    let tag = tag.trim().trim_matches('"').to_owned();
                    let ids: Vec<String> = rest.vc.with(|e| {
                        e.inv
                            .iter()
                            .filter(|o| o.moref.ty == "VirtualMachine")
                            .map(|o| o.moref.value.clone())
                            .collect()
                    });
                    (rest, tag, ids)
                },
                |(rest, tag, ids)| {
                    for id in &ids {
                        let (s, body) = rest.call(
                            "POST",
                            &format!("/api/cis/tagging/tag-association/{tag}?action=attach"),
                            Some(&format!(
                                r#"{{"object_id":{{"type":"VirtualMachine","id":"{id}"}}}}"#
                            )),
                            None,
                        );
                        assert!(s.is_success(), "{body}");
                    }
                    let (s, body) = rest.call(
                        "POST",
                        &format!(
                            "/api/cis/tagging/tag-association/{tag}?action=list-attached-objects"
                        ),
                        None,
                        None,
                    );
                    assert!(s.is_success(), "{body}");
                    body.len()
                },
            )
        });
    }
    g.finish();
}

criterion_group!(benches, vm_list, tags);
criterion_main!(benches);
