//! The VCH-level limits at the Docker endpoint (`--containers`, `--storage-quota`): a VCH
//! whose endpoint is configured with them refuses creates beyond them with VIC's messages
//! and status (500; `docker run` exits 125), creates nothing for a refused request, and
//! reports the limits in `GET /info`'s `SystemStatus`.

use super::engine::{
    Vch, get, have_docker_cli, http, post, post_json, start_vch_limited, vms_in_pool,
};

const GIB: u64 = 1 << 30;
const BUSYBOX: &str = r#"{"Image":"busybox","Cmd":["sleep","1000"]}"#;

/// The `SystemStatus` pairs of `GET /info`.
async fn system_status(vch: &Vch) -> Vec<(String, String)> {
    let (status, v, text) = get(vch, "/info").await;
    assert_eq!(status, 200, "{text}");
    v["SystemStatus"]
        .as_array()
        .unwrap_or_else(|| panic!("no SystemStatus: {text}"))
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap_or("").to_owned(),
                p[1].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

fn has_pair(pairs: &[(String, String)], key: &str, value: &str) -> bool {
    pairs.iter().any(|(k, v)| k == key && v == value)
}

async fn create(vch: &Vch) -> (u16, serde_json::Value, String) {
    post_json(vch, "/v1.25/containers/create", BUSYBOX).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_container_limit_refuses_the_third_create() {
    let vch = start_vch_limited("vch-count", 20, &[], Some(2), Some(30 * GIB)).await;
    let before = system_status(&vch).await;
    assert!(has_pair(&before, " VCH container limit", "2"), "{before:?}");
    assert!(
        has_pair(&before, " VCH storage limit", "30 GiB"),
        "{before:?}"
    );
    assert!(has_pair(&before, " VCH storage usage", "0 B"), "{before:?}");
    // VIC's order: the limits follow the memory limit.
    let keys: Vec<&str> = before.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        &keys[..4],
        [
            " VCH CPU limit",
            " VCH memory limit",
            " VCH storage limit",
            " VCH container limit"
        ]
    );

    post(&vch, "/images/create?fromImage=busybox&tag=latest").await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let (status, v, text) = create(&vch).await;
        assert_eq!(status, 201, "{text}");
        ids.push(v["Id"].as_str().unwrap().to_owned());
    }
    let (status, v, text) = create(&vch).await;
    assert_eq!(status, 500, "{text}");
    assert_eq!(
        v["message"],
        "Container count exceeds limit 2. containers: 2, reservation: 1"
    );
    assert_eq!(
        vms_in_pool(&vch).await.len(),
        2,
        "nothing made for the refusal"
    );

    // Two default containerVMs (2048 MB + 8 GB scratch each) and the 1 MB image.
    let after = system_status(&vch).await;
    assert!(
        has_pair(&after, " VCH containers storage usage", "18.9 GiB"),
        "{after:?}"
    );
    assert!(
        has_pair(&after, " VCH images storage usage", "1 MiB"),
        "{after:?}"
    );
    assert!(
        has_pair(&after, " VCH storage usage", "18.9 GiB"),
        "{after:?}"
    );

    // Removing one makes room again.
    let (status, _, text) = http(&vch, "DELETE", &format!("/containers/{}", ids[0]), None).await;
    assert_eq!(status, 204, "{text}");
    let (status, _, text) = create(&vch).await;
    assert_eq!(status, 201, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_storage_quota_refuses_a_create_that_does_not_fit() {
    let vch = start_vch_limited("vch-storage", 21, &[], None, Some(10 * GIB)).await;
    let status_pairs = system_status(&vch).await;
    assert!(
        has_pair(&status_pairs, " VCH storage limit", "10 GiB"),
        "{status_pairs:?}"
    );
    assert!(
        !status_pairs
            .iter()
            .any(|(k, _)| k == " VCH container limit"),
        "unlimited: no line"
    );
    post(&vch, "/images/create?fromImage=busybox&tag=latest").await;
    // One default containerVM (9.451 GiB) and busybox (1 MiB) fit 10 GiB; a second does not.
    let (status, _, text) = create(&vch).await;
    assert_eq!(status, 201, "{text}");
    let (status, v, text) = create(&vch).await;
    assert_eq!(status, 500, "{text}");
    let image_gb = (1u64 << 20) as f64 / GIB as f64;
    assert_eq!(
        v["message"].as_str(),
        Some(
            format!(
                "Storage quota exceeds. Storage quota: 10GB, image storage usage: {image_gb:.3}GB, container storage usage: 9.451GB, storage reservation: 9.451GB"
            )
            .as_str()
        )
    );
    assert_eq!(vms_in_pool(&vch).await.len(), 1);
}

/// Runs the docker CLI against `vch`: (exit code, stdout, stderr).
fn docker_code(vch: &Vch, config_dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new("docker")
        .arg("-H")
        .arg(format!("tcp://{}", vch.addr))
        .args(args)
        .env("DOCKER_CONFIG", config_dir)
        .env_remove("DOCKER_HOST")
        .env_remove("DOCKER_TLS_VERIFY")
        .env_remove("DOCKER_CERT_PATH")
        .env_remove("DOCKER_CONTEXT")
        .env_remove("DOCKER_API_VERSION")
        .output()
        .expect("docker runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_docker_cli_exits_125_beyond_the_limit() {
    assert!(
        have_docker_cli(),
        "no docker CLI on PATH: run `bash scripts/test.sh` (it installs Debian's docker.io client) or install one"
    );
    let vch = start_vch_limited("vch-count-cli", 22, &[], Some(1), None).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().to_owned();
    let run = |args: &[&str]| tokio::task::block_in_place(|| docker_code(&vch, &cfg, args));
    let (code, out, err) = run(&["info", "--format", "{{json .SystemStatus}}"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(r#"[" VCH container limit","1"]"#), "{out}");
    let (code, _, err) = run(&["create", "busybox", "sleep", "1000"]);
    assert_eq!(code, 0, "{err}");
    let refusal = "Error response from daemon: Container count exceeds limit 1. containers: 1, reservation: 1";
    // `docker run` reports a refused create with 125 (VIC's robot suite checks this);
    // `docker create` exits 1 with the same text.
    let (code, _, err) = run(&["run", "-d", "busybox", "sleep", "1000"]);
    assert_eq!(code, 125, "{err}");
    assert!(err.contains(refusal), "{err}");
    let (code, _, err) = run(&["create", "busybox", "sleep", "1000"]);
    assert_ne!(code, 0, "{err}");
    assert!(err.contains(refusal), "{err}");
}
