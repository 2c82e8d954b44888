//! Unit tests of the state machine: uploads, commits, digest checks, mounts, manifests,
//! deletes and pagination, in memory and on disk.

use super::*;
use crate::config::{Project, RegistryConfig};
use http_body_util::Full;
use std::pin::Pin;
use std::task::{Context, Poll};

fn body(data: &[u8]) -> Full<Bytes> {
    Full::new(Bytes::copy_from_slice(data))
}

/// A body that sends `data` and then fails, as a client that disconnects.
struct Broken(Option<Bytes>);

impl http_body::Body for Broken {
    type Data = Bytes;
    type Error = std::io::Error;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        Poll::Ready(Some(match self.0.take() {
            Some(d) => Ok(http_body::Frame::data(d)),
            None => Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "client gone",
            )),
        }))
    }
}

fn name(s: &str) -> RepoName {
    RepoName::parse(s).expect("valid name")
}

fn registry() -> Registry {
    let config = RegistryConfig {
        projects: vec![Project {
            name: "team".into(),
            public: false,
        }],
        ..RegistryConfig::default()
    };
    Registry::new(&config).expect("registry")
}

fn image_manifest(config: &Digest, layers: &[&Digest]) -> String {
    serde_json::json!({
        "schemaVersion": 2,
        "mediaType": manifest::DOCKER_MANIFEST,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                   "size": 2, "digest": config.to_string()},
        "layers": layers.iter().map(|d| serde_json::json!({
            "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
            "size": 1, "digest": d.to_string()})).collect::<Vec<_>>(),
    })
    .to_string()
}

async fn push(r: &Registry, repo: &RepoName, data: &[u8]) -> Digest {
    let d = Digest::of(data);
    r.push_blob(repo, &d.to_string(), body(data))
        .await
        .expect("push blob")
}

#[tokio::test]
async fn chunked_upload_commits_under_its_digest() {
    let r = registry();
    let repo = name("library/hello");
    let id = r.start_upload(&repo).await.expect("start");
    assert_eq!(r.upload_offset(&repo, &id).expect("offset"), 0);
    let off = r
        .upload_chunk(&repo, &id, Some((0, 4)), body(b"hello"))
        .await
        .expect("chunk 1");
    assert_eq!(off, 5);
    // A range to the end of u64 has no length: refused, not an overflow.
    assert!(matches!(
        r.upload_chunk(&repo, &id, Some((5, u64::MAX)), body(b"x"))
            .await,
        Err(RegistryError::RangeInvalid { .. })
    ));
    let off = r
        .upload_chunk(&repo, &id, None, body(b" world"))
        .await
        .expect("chunk 2");
    assert_eq!(off, 11);
    let want = Digest::of(b"hello world");
    let got = r
        .finish_upload(&repo, &id, &want.to_string(), None, body(b""))
        .await
        .expect("finish");
    assert_eq!(got, want);
    assert_eq!(r.stat_blob(&repo, &want).expect("stat"), 11);
    assert_eq!(r.upload_sessions(), 0);
    match r.open_blob(&repo, &want).await.expect("open") {
        BlobRead::Memory(b) => assert_eq!(&b[..], b"hello world"),
        BlobRead::File(..) => panic!("memory store"),
    }
    // Linked per repository: another repository does not see it.
    assert!(matches!(
        r.stat_blob(&name("library/other"), &want),
        Err(RegistryError::BlobUnknown(_))
    ));
}

#[tokio::test]
async fn out_of_order_chunks_are_416_and_change_nothing() {
    let r = registry();
    let repo = name("library/hello");
    let id = r.start_upload(&repo).await.expect("start");
    r.upload_chunk(&repo, &id, None, body(b"abc"))
        .await
        .expect("chunk");
    let e = r
        .upload_chunk(&repo, &id, Some((5, 7)), body(b"def"))
        .await
        .expect_err("gap");
    assert_eq!(e.status(), 416);
    let e = r
        .upload_chunk(&repo, &id, Some((3, 9)), body(b"def"))
        .await
        .expect_err("short");
    assert_eq!(e.status(), 416);
    assert_eq!(r.upload_offset(&repo, &id).expect("offset"), 3);
}

#[tokio::test]
async fn digest_mismatch_stores_nothing_and_ends_the_session() {
    let r = registry();
    let repo = name("library/hello");
    let id = r.start_upload(&repo).await.expect("start");
    let wrong = Digest::of(b"something else");
    let e = r
        .finish_upload(&repo, &id, &wrong.to_string(), None, body(b"data"))
        .await
        .expect_err("mismatch");
    assert_eq!((e.status(), e.code()), (400, "DIGEST_INVALID"));
    assert!(r.stat_blob(&repo, &Digest::of(b"data")).is_err());
    assert!(r.stat_blob(&repo, &wrong).is_err());
    assert!(matches!(
        r.upload_offset(&repo, &id),
        Err(RegistryError::BlobUploadUnknown)
    ));
    let e = r
        .push_blob(&repo, "sha256:nothex", body(b"x"))
        .await
        .expect_err("malformed");
    assert_eq!(e.code(), "DIGEST_INVALID");
    assert_eq!(r.upload_sessions(), 0);
}

#[tokio::test]
async fn a_client_gone_mid_chunk_leaves_the_session_resumable() {
    let r = registry();
    let repo = name("library/hello");
    let id = r.start_upload(&repo).await.expect("start");
    r.upload_chunk(&repo, &id, None, body(b"abc"))
        .await
        .expect("chunk");
    let e = r
        .upload_chunk(&repo, &id, None, Broken(Some(Bytes::from_static(b"zzz"))))
        .await
        .expect_err("broken");
    assert_eq!(e.code(), "BLOB_UPLOAD_INVALID");
    assert_eq!(r.upload_offset(&repo, &id).expect("offset"), 3);
    let d = Digest::of(b"abcdef");
    r.finish_upload(&repo, &id, &d.to_string(), Some((3, 5)), body(b"def"))
        .await
        .expect("resumed");
    assert_eq!(r.stat_blob(&repo, &d).expect("stat"), 6);
}

#[tokio::test]
async fn limits_refuse_big_blobs_and_too_many_sessions() {
    let config = RegistryConfig {
        limits: RegistryLimits {
            max_blob_bytes: 4,
            max_upload_sessions: 2,
            max_manifest_bytes: 16,
            ..RegistryLimits::default()
        },
        ..RegistryConfig::default()
    };
    let r = Registry::new(&config).expect("registry");
    let repo = name("library/hello");
    let e = r
        .push_blob(&repo, &Digest::of(b"12345").to_string(), body(b"12345"))
        .await
        .expect_err("too big");
    assert_eq!((e.status(), e.code()), (413, "SIZE_INVALID"));
    r.start_upload(&repo).await.expect("1");
    r.start_upload(&repo).await.expect("2");
    let e = r.start_upload(&repo).await.expect_err("3");
    assert_eq!((e.status(), e.code()), (429, "TOOMANYREQUESTS"));
    let big = "x".repeat(17);
    let e = r
        .put_manifest(
            &repo,
            &Reference::Tag("v1".into()),
            None,
            body(big.as_bytes()),
        )
        .await
        .expect_err("big manifest");
    assert_eq!(e.status(), 413);
}

#[tokio::test]
async fn unknown_projects_are_harbors_404() {
    let r = registry();
    let repo = name("nope/hello");
    let e = r.start_upload(&repo).await.expect_err("no project");
    assert_eq!((e.status(), e.code()), (404, "NAME_UNKNOWN"));
    assert_eq!(e.to_string(), "project nope not found");
    assert!(r.start_upload(&name("team/x")).await.is_ok());
}

#[tokio::test]
async fn manifests_need_their_blobs_and_resolve_by_tag_and_digest() {
    let r = registry();
    let repo = name("library/hello");
    let config = push(&r, &repo, b"{}").await;
    let layer = Digest::of(b"layer");
    let m = image_manifest(&config, &[&layer]);
    let tag = Reference::Tag("v1".into());
    let e = r
        .put_manifest(
            &repo,
            &tag,
            Some(manifest::DOCKER_MANIFEST),
            body(m.as_bytes()),
        )
        .await
        .expect_err("missing layer");
    assert_eq!(e.code(), "MANIFEST_BLOB_UNKNOWN");
    assert_eq!(e.detail()["digest"], layer.to_string());
    push(&r, &repo, b"layer").await;
    let d = r
        .put_manifest(
            &repo,
            &tag,
            Some(manifest::DOCKER_MANIFEST),
            body(m.as_bytes()),
        )
        .await
        .expect("manifest");
    assert_eq!(d, Digest::of(m.as_bytes()));
    let by_tag = r.get_manifest(&repo, &tag).await.expect("by tag");
    let by_digest = r
        .get_manifest(&repo, &Reference::Digest(d.clone()))
        .await
        .expect("by digest");
    assert_eq!(by_tag.digest, d);
    assert_eq!(by_digest.bytes, Bytes::from(m.clone()));
    assert_eq!(by_tag.media_type, manifest::DOCKER_MANIFEST);
    // A digest reference must match the content.
    let e = r
        .put_manifest(
            &repo,
            &Reference::Digest(Digest::of(b"other")),
            None,
            body(m.as_bytes()),
        )
        .await
        .expect_err("wrong digest");
    assert_eq!(e.code(), "DIGEST_INVALID");
    // An index over it.
    let index = serde_json::json!({"schemaVersion": 2, "mediaType": manifest::OCI_INDEX,
        "manifests": [{"mediaType": manifest::DOCKER_MANIFEST, "size": m.len(),
                       "digest": d.to_string()}]})
    .to_string();
    r.put_manifest(
        &repo,
        &Reference::Tag("multi".into()),
        None,
        body(index.as_bytes()),
    )
    .await
    .expect("index");
}

#[tokio::test]
async fn mount_links_only_what_the_source_has() {
    let r = registry();
    let (a, b) = (name("library/a"), name("team/b"));
    let d = push(&r, &a, b"shared").await;
    assert!(r.mount(&b, &a, &d).expect("mount"));
    assert_eq!(r.stat_blob(&b, &d).expect("mounted"), 6);
    assert!(!r.mount(&b, &a, &Digest::of(b"absent")).expect("no blob"));
    assert!(r.mount(&name("nope/b"), &a, &d).is_err());
}

#[tokio::test]
async fn deletes_unlink_and_free_unreferenced_content() {
    let r = registry();
    let (a, b) = (name("library/a"), name("library/b"));
    let d = push(&r, &a, b"shared").await;
    assert!(r.mount(&b, &a, &d).expect("mount"));
    r.delete_blob(&a, &d).await.expect("delete from a");
    assert!(r.stat_blob(&a, &d).is_err());
    assert!(r.open_blob(&b, &d).await.is_ok(), "still in b");
    assert!(r.delete_blob(&a, &d).await.is_err());

    let config = push(&r, &a, b"{}").await;
    let m = image_manifest(&config, &[]);
    let md = r
        .put_manifest(&a, &Reference::Tag("v1".into()), None, body(m.as_bytes()))
        .await
        .expect("manifest");
    r.put_manifest(&a, &Reference::Tag("v2".into()), None, body(m.as_bytes()))
        .await
        .expect("second tag");
    r.delete_manifest(&a, &Reference::Tag("v1".into()))
        .await
        .expect("untag");
    let page = r.tags(&a, &PageRequest::default()).expect("tags");
    assert_eq!(page.entries, vec!["v2"]);
    r.delete_manifest(&a, &Reference::Digest(md.clone()))
        .await
        .expect("delete manifest");
    assert!(
        r.get_manifest(&a, &Reference::Tag("v2".into()))
            .await
            .is_err()
    );
    assert!(matches!(
        r.tags(&a, &PageRequest::default()),
        Err(RegistryError::NameUnknown(_))
    ));
}

#[tokio::test]
async fn tags_and_catalog_paginate() {
    let r = registry();
    for repo in ["library/c", "library/a", "team/b"] {
        let repo = name(repo);
        let config = push(&r, &repo, b"{}").await;
        let m = image_manifest(&config, &[]);
        for t in ["v3", "v1", "v2"] {
            r.put_manifest(&repo, &Reference::Tag(t.into()), None, body(m.as_bytes()))
                .await
                .expect("manifest");
        }
    }
    let repo = name("library/a");
    let first = r
        .tags(
            &repo,
            &PageRequest {
                n: Some(2),
                last: None,
            },
        )
        .expect("page 1");
    assert_eq!(
        (first.entries.clone(), first.more),
        (vec!["v1".into(), "v2".into()], true)
    );
    let second = r
        .tags(
            &repo,
            &PageRequest {
                n: Some(2),
                last: Some("v2".into()),
            },
        )
        .expect("page 2");
    assert_eq!(
        (second.entries, second.more),
        (vec!["v3".to_owned()], false)
    );
    let all = r.catalog(&PageRequest::default());
    assert_eq!(all.entries, vec!["library/a", "library/c", "team/b"]);
    let page = r.catalog(&PageRequest {
        n: Some(1),
        last: Some("library/a".into()),
    });
    assert_eq!(
        (page.entries, page.more),
        (vec!["library/c".to_owned()], true)
    );
    let zero = paginate(
        ["a", "b"].into_iter(),
        &PageRequest {
            n: Some(0),
            last: None,
        },
        10,
    );
    assert!(zero.entries.is_empty());
}

#[tokio::test]
async fn a_data_dir_keeps_blobs_and_metadata_across_restarts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = RegistryConfig {
        data_dir: Some(dir.path().to_owned()),
        ..RegistryConfig::default()
    };
    let repo = name("library/hello");
    let (cfg_digest, md) = {
        let r = Registry::new(&config).expect("registry");
        let cfg = push(&r, &repo, b"{}").await;
        let m = image_manifest(&cfg, &[]);
        let md = r
            .put_manifest(
                &repo,
                &Reference::Tag("v1".into()),
                None,
                body(m.as_bytes()),
            )
            .await
            .expect("manifest");
        (cfg, md)
    };
    let hex = cfg_digest.hex();
    assert!(
        dir.path()
            .join("blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .exists()
    );
    let r = Registry::new(&config).expect("reopened");
    assert_eq!(
        r.get_manifest(&repo, &Reference::Tag("v1".into()))
            .await
            .expect("manifest")
            .digest,
        md
    );
    assert!(matches!(
        r.open_blob(&repo, &cfg_digest).await.expect("blob"),
        BlobRead::File(_, 2)
    ));
}
