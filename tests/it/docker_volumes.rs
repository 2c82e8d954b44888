//! Volumes with the real docker CLI on a VCH deployed by `vicbed vic-machine create
//! --volume-store LocalDS_0/volumes:default`: `docker info` showing the vsphere volume
//! plugin, `docker volume create/ls/inspect/rm`, `docker run -v` with a named and an
//! anonymous volume, VIC's in-use refusal, `docker rm -v`, the store in `inspect config`,
//! a store on a missing datastore failing validation, and `vic-machine delete` keeping the
//! store (and its volumes) without `--force` and removing it with. The volumes are checked
//! on the datastore over SOAP.

use crate::docker_run::deploy;
use crate::docker_tls::{dk, stdout, vms_in_pool};
use crate::support::Server;
use crate::vic_machine::{soap, target, text, vic_machine};
use std::process::Output;
use std::time::Duration;

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The file names in datastore folder `path` of LocalDS_0 (None: no such folder), over SOAP.
fn datastore_ls(server: &Server, path: &str) -> Option<Vec<String>> {
    soap(server, async |c| {
        let ds = c
            .find_by_inventory_path("DC0/datastore/LocalDS_0")
            .await
            .unwrap()
            .expect("LocalDS_0");
        let browser = c
            .get_property(&ds, "browser")
            .await
            .unwrap()
            .and_then(|b| b.as_moref().cloned())
            .expect("browser");
        c.datastore_files(&browser, path, None)
            .await
            .unwrap_or_else(|e| panic!("SearchDatastore_Task {path}: {e}"))
    })
}

#[test]
fn docker_volumes_on_a_vch_volume_store() {
    let server = Server::start(&["--clock-start", "now"]);
    let dir = tempfile::tempdir().unwrap();
    let env = deploy(
        &server,
        dir.path(),
        "vchv",
        &["--no-tls", "--volume-store", "LocalDS_0/volumes:default"],
    );
    // create made the store's folder.
    assert!(datastore_ls(&server, "[LocalDS_0] volumes").is_some());
    let cfg = tempfile::tempdir().unwrap();
    let d = |args: &[&str]| dk(cfg.path(), &env, args);

    let info = d(&["info", "--format", "{{json .Plugins.Volume}}"]);
    assert_eq!(stdout(&info).trim(), r#"["vsphere"]"#, "{}", text(&info));

    let made = d(&["volume", "create", "--opt", "Capacity=2G", "v1"]);
    assert_eq!(
        (code(&made), stdout(&made).as_str()),
        (0, "v1\n"),
        "{}",
        text(&made)
    );
    let files = datastore_ls(&server, "[LocalDS_0] volumes/volumes/v1").unwrap_or_default();
    assert!(files.contains(&"v1.vmdk".to_owned()), "{files:?}");
    let ls = d(&["volume", "ls"]);
    let listed = stdout(&ls);
    assert!(
        listed.contains("DRIVER")
            && listed
                .lines()
                .any(|l| l.starts_with("vsphere") && l.ends_with("v1")),
        "{}",
        text(&ls)
    );
    let inspect = d(&["volume", "inspect", "v1"]);
    assert_eq!(code(&inspect), 0, "{}", text(&inspect));
    let v: serde_json::Value = serde_json::from_str(&stdout(&inspect)).unwrap();
    assert_eq!(
        (&v[0]["Name"], &v[0]["Driver"], &v[0]["Options"]["Capacity"]),
        (
            &serde_json::json!("v1"),
            &serde_json::json!("vsphere"),
            &serde_json::json!("2G")
        )
    );

    // A container with the volume: Mounts in inspect; the volume is in use until it goes.
    let run = d(&["run", "--name", "user", "-v", "v1:/data", "busybox", "true"]);
    assert_eq!(code(&run), 0, "{}", text(&run));
    let mounts = d(&[
        "inspect",
        "-f",
        "{{range .Mounts}}{{.Name}}:{{.Destination}}:{{.RW}}{{end}}",
        "user",
    ]);
    assert_eq!(stdout(&mounts).trim(), "v1:/data:true", "{}", text(&mounts));
    // `docker ps` lists the container's volumes too (the CLI shows their names).
    let ps = d(&[
        "ps",
        "-a",
        "--filter",
        "name=user",
        "--format",
        "{{.Mounts}}",
    ]);
    assert_eq!(stdout(&ps).trim(), "v1", "{}", text(&ps));
    // docker ps's volume filter finds it.
    let by_volume = d(&[
        "ps",
        "-a",
        "--filter",
        "volume=v1",
        "--format",
        "{{.Names}}",
    ]);
    assert_eq!(stdout(&by_volume).trim(), "user", "{}", text(&by_volume));
    let busy = d(&["volume", "rm", "v1"]);
    assert_eq!(code(&busy), 1, "{}", text(&busy));
    assert!(
        stderr(&busy).contains("Error response from daemon: volume v1 in use by "),
        "{}",
        text(&busy)
    );
    let rm = d(&["rm", "user"]);
    assert_eq!(code(&rm), 0, "{}", text(&rm));
    let gone = d(&["volume", "rm", "v1"]);
    assert_eq!(
        (code(&gone), stdout(&gone).as_str()),
        (0, "v1\n"),
        "{}",
        text(&gone)
    );
    assert!(datastore_ls(&server, "[LocalDS_0] volumes/volumes/v1").is_none());

    // An anonymous volume lives as long as its container with `rm -v`.
    let anon = d(&["run", "--name", "anon", "-v", "/scratch", "busybox", "true"]);
    assert_eq!(code(&anon), 0, "{}", text(&anon));
    let q = d(&["volume", "ls", "-q"]);
    assert_eq!(stdout(&q).lines().count(), 1, "{}", text(&q));
    let rm = d(&["rm", "-v", "anon"]);
    assert_eq!(code(&rm), 0, "{}", text(&rm));
    let q = d(&["volume", "ls", "-q"]);
    assert_eq!(stdout(&q), "", "{}", text(&q));

    // `--rm` removes the container's anonymous volumes with it, as dockerd does.
    let once = d(&["run", "--rm", "-v", "/scratch", "busybox", "true"]);
    assert_eq!(code(&once), 0, "{}", text(&once));
    let q = d(&["volume", "ls", "-q"]);
    assert_eq!(stdout(&q), "", "{}", text(&q));

    // An image that declares a volume (redis: `VOLUME /data`) gets an anonymous one there.
    let redis = d(&["run", "-d", "--name", "cache", "redis"]);
    assert_eq!(code(&redis), 0, "{}", text(&redis));
    let declared = d(&[
        "image",
        "inspect",
        "-f",
        "{{json .Config.Volumes}}",
        "redis",
    ]);
    assert_eq!(
        stdout(&declared).trim(),
        r#"{"/data":{}}"#,
        "{}",
        text(&declared)
    );
    let mounts = d(&[
        "inspect",
        "-f",
        "{{range .Mounts}}{{.Destination}}:{{.Driver}}{{end}}",
        "cache",
    ]);
    assert_eq!(stdout(&mounts).trim(), "/data:vsphere", "{}", text(&mounts));
    let rm = d(&["rm", "-f", "-v", "cache"]);
    assert_eq!(code(&rm), 0, "{}", text(&rm));
    let q = d(&["volume", "ls", "-q"]);
    assert_eq!(stdout(&q), "", "{}", text(&q));

    // The store is part of the VCH's configuration.
    let t = target(&server);
    let conf = vic_machine(
        dir.path(),
        &["inspect", "config", "--target", &t, "--name", "vchv"],
        Duration::from_secs(60),
    );
    assert!(
        String::from_utf8_lossy(&conf.stdout).contains("--volume-store=LocalDS_0/volumes:default"),
        "{}",
        text(&conf)
    );

    // delete without --force leaves the store and its volumes, and says so.
    let kept = d(&["volume", "create", "v2"]);
    assert_eq!(code(&kept), 0, "{}", text(&kept));
    let del = vic_machine(
        dir.path(),
        &["delete", "--target", &t, "--name", "vchv"],
        Duration::from_secs(90),
    );
    assert!(del.status.success(), "{}", text(&del));
    assert!(
        text(&del).contains(
            "Since --force was not specified, the following volume stores will not be removed"
        ),
        "{}",
        text(&del)
    );
    let files = datastore_ls(&server, "[LocalDS_0] volumes/volumes/v2").unwrap_or_default();
    assert!(files.contains(&"v2.vmdk".to_owned()), "{files:?}");

    // A store on a datastore the target lacks fails validation, before anything is made.
    let bad = vic_machine(
        dir.path(),
        &[
            "create",
            "--target",
            &t,
            "--name",
            "vchbad",
            "-r",
            "DC0_C0",
            "-b",
            "DC0_DVPG0",
            "--no-tls",
            "--volume-store",
            "NoSuchDS/v:default",
        ],
        Duration::from_secs(60),
    );
    assert!(!bad.status.success(), "{}", text(&bad));
    assert!(
        text(&bad).contains("NoSuchDS")
            && text(&bad).contains("Suggested values for --volume-store:")
            && text(&bad).contains("validation of configuration failed"),
        "{}",
        text(&bad)
    );

    // delete --force removes the store's folder with its volumes.
    let env = deploy(
        &server,
        dir.path(),
        "vchw",
        &["--no-tls", "--volume-store", "LocalDS_0/vstore2:default"],
    );
    let made = dk(cfg.path(), &env, &["volume", "create", "w1"]);
    assert_eq!(code(&made), 0, "{}", text(&made));
    assert!(datastore_ls(&server, "[LocalDS_0] vstore2/volumes/w1").is_some());
    let del = vic_machine(
        dir.path(),
        &["delete", "--target", &t, "--name", "vchw", "--force"],
        Duration::from_secs(90),
    );
    assert!(del.status.success(), "{}", text(&del));
    assert!(
        text(&del).contains("Removing volume stores"),
        "{}",
        text(&del)
    );
    assert!(datastore_ls(&server, "[LocalDS_0] vstore2").is_none());
    // The first VCH's store is another folder: untouched.
    assert!(datastore_ls(&server, "[LocalDS_0] volumes/volumes/v2").is_some());
}

#[test]
fn an_image_volume_without_a_default_store_is_refused_as_vic_refuses_it() {
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let env = deploy(&server, dir.path(), "vchnov", &["--no-tls"]);
    let cfg = tempfile::tempdir().unwrap();
    let d = |args: &[&str]| dk(cfg.path(), &env, args);
    let before = vms_in_pool(&server, "vchnov").len();
    // vmware/vic#3475, #6145: images that declare a volume need a `default` volume store.
    let run = d(&["run", "-d", "--name", "cache", "redis"]);
    assert_eq!(code(&run), 125, "{}", text(&run));
    assert!(
        stderr(&run).contains("Error response from daemon: No volume store named (default) exists"),
        "{}",
        text(&run)
    );
    // Nothing half-made: no container, no containerVM, and the name is free.
    let ps = d(&["ps", "-a", "-q"]);
    assert_eq!(stdout(&ps), "", "{}", text(&ps));
    assert_eq!(vms_in_pool(&server, "vchnov").len(), before);
    // An image without volumes runs as before.
    let ok = d(&["run", "--name", "cache", "busybox", "true"]);
    assert_eq!(code(&ok), 0, "{}", text(&ok));
}
