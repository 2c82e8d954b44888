//! Published and subscribed libraries: a local library created or updated with
//! `publish_info.published` answers a `publish_url` on this server
//! (`<base>/cls/vcsp/lib/<id>/lib.json`, vCenter's form); a library created with
//! `subscription_info.subscription_url` naming such a URL is a subscribed library whose
//! items mirror the publisher's, copied at creation and on `?~action=sync`
//! (`subscribed-library/<id>`, or one item with `library/subscribed-item/<id>`).
//!
//! Only libraries this server publishes can be subscribed to (the emulator fetches from no
//! other host). Content is always copied in full (`on_demand` is reported, not honoured);
//! template items are not synchronized (vCenter needs a subscription placement for them).
//! A subscribed library's items are read-only: they change only by synchronization.

use super::*;

/// A subscription: the publisher library and what the subscriber asked for.
#[derive(Clone, Debug)]
pub(super) struct Subscription {
    source: String,
    url: String,
    authentication: String,
    automatic: bool,
    on_demand: bool,
}

impl Subscription {
    pub(super) fn json(&self) -> Value {
        json!({
            "subscription_url": self.url,
            "authentication_method": self.authentication,
            "automatic_sync_enabled": self.automatic,
            "on_demand": self.on_demand,
            "source_info": {"source_library": self.source},
        })
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct SubscriptionSpec {
    subscription_url: Option<String>,
    authentication_method: Option<String>,
    automatic_sync_enabled: Option<bool>,
    on_demand: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct PublishSpec {
    pub(super) published: Option<bool>,
}

/// The URL library `id` is published at, as vCenter writes it.
pub(super) fn publish_url(base: &str, id: &str) -> String {
    format!("{base}/cls/vcsp/lib/{id}/lib.json")
}

/// The error for changing a subscribed library's items by hand.
pub(super) fn read_only(lib: &str) -> VapiError {
    VapiError::new(
        ErrorKind::InvalidElementType,
        format!("Library {lib} is a subscribed library: its items change only by synchronization."),
    )
}

/// The publisher library a subscription URL names (`…/cls/vcsp/lib/<id>[/lib.json]`).
fn source_of(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("/cls/vcsp/lib/")?;
    rest.split(['/', '?']).next().filter(|s| !s.is_empty())
}

/// Checks a `subscription_info` and makes the subscription.
pub(super) fn subscription(
    emu: &Emulator,
    spec: &SubscriptionSpec,
) -> Result<Subscription, VapiError> {
    let url = spec.subscription_url.clone().unwrap_or_default();
    let source = source_of(&url)
        .filter(|id| {
            emu.vapi
                .library
                .libs
                .get(*id)
                .is_some_and(|l| l.subscription.is_none() && l.published)
        })
        .ok_or_else(|| {
            VapiError::invalid(format!(
                "The subscription URL '{url}' names no library this server publishes."
            ))
        })?;
    Ok(Subscription {
        source: source.to_owned(),
        url: url.clone(),
        authentication: spec
            .authentication_method
            .clone()
            .unwrap_or_else(|| "NONE".into()),
        automatic: spec.automatic_sync_enabled.unwrap_or(false),
        on_demand: spec.on_demand.unwrap_or(false),
    })
}

/// Dispatches `content/subscribed-library…` and `content/library/subscribed-item…`.
pub(super) fn handle(emu: &mut Emulator, req: &Req<'_>, rest: &[&str]) -> Result<Reply, VapiError> {
    let m = &req.method;
    match (rest, req.action()) {
        (["subscribed-library"], None) if m == Method::GET => {
            let ids: Vec<&String> = emu
                .vapi
                .library
                .libs
                .values()
                .filter(|l| l.subscription.is_some())
                .map(|l| &l.id)
                .collect();
            Ok(Reply::Value(json!(ids)))
        }
        (["subscribed-library"], None | Some("create")) if m == Method::POST => {
            create_library(emu, req)
        }
        (["subscribed-library"], Some("probe")) if m == Method::POST => {
            let spec: SubscriptionSpec = req.spec("subscription_info")?;
            let status = if subscription(emu, &spec).is_ok() {
                "SUCCESS"
            } else {
                "INVALID_URL"
            };
            Ok(Reply::Value(
                json!({"status": status, "error_messages": []}),
            ))
        }
        (["subscribed-library", id], action) => {
            let lib = emu
                .vapi
                .library
                .libs
                .get(*id)
                .filter(|l| l.subscription.is_some())
                .ok_or_else(|| no_library(id))?;
            match action {
                None if m == Method::GET => Ok(Reply::Value(library_json(lib, &req.base_url))),
                None if m == Method::PATCH => update_library(emu, req, id),
                None if m == Method::DELETE => delete_library(emu, id),
                Some("sync") if m == Method::POST => sync(emu, id, None).map(|()| Reply::Empty),
                // Nothing is cached apart from the copies: eviction has nothing to drop.
                Some("evict") if m == Method::POST => Ok(Reply::Empty),
                _ => Err(crate::rest::no_operation(req)),
            }
        }
        (["library", "subscribed-item", id], Some(action @ ("sync" | "evict")))
            if m == Method::POST =>
        {
            let item = emu.vapi.library.items.get(*id).ok_or_else(|| no_item(id))?;
            let lib = item.library_id.clone();
            let Some(source) = item.source_id.clone() else {
                return Err(VapiError::new(
                    ErrorKind::InvalidElementType,
                    format!("Library item {id} is not a subscribed item."),
                ));
            };
            if action == "sync" {
                sync(emu, &lib, Some(&source))?;
            }
            Ok(Reply::Empty)
        }
        _ => Err(crate::rest::no_operation(req)),
    }
}

/// Synchronizes subscribed library `lib` with its publisher: every published item (or only
/// `only`, a publisher item id) is copied, updated when its content changed, and items the
/// publisher no longer has go.
pub(super) fn sync(emu: &mut Emulator, lib: &str, only: Option<&str>) -> Result<(), VapiError> {
    let sub = emu
        .vapi
        .library
        .libs
        .get(lib)
        .ok_or_else(|| no_library(lib))?
        .subscription
        .clone()
        .ok_or_else(|| {
            VapiError::new(
                ErrorKind::InvalidElementType,
                format!("Library {lib} is not a subscribed library."),
            )
        })?;
    let libs = &emu.vapi.library;
    if !libs
        .libs
        .get(&sub.source)
        .is_some_and(|l| l.subscription.is_none() && l.published)
    {
        return Err(VapiError::not_found(format!(
            "The publisher library {} no longer exists or is no longer published.",
            sub.source
        )));
    }
    let published: Vec<Item> = libs
        .items
        .values()
        .filter(|i| i.library_id == sub.source && i.ty != "vm-template")
        .filter(|i| only.is_none_or(|o| o == i.id))
        .cloned()
        .collect();
    if only.is_none() {
        let gone: Vec<String> = libs
            .items
            .values()
            .filter(|i| i.library_id == lib)
            .filter(|i| {
                i.source_id
                    .as_deref()
                    .is_none_or(|s| !published.iter().any(|p| p.id == s))
            })
            .map(|i| i.id.clone())
            .collect();
        for id in gone {
            delete_item(emu, &id);
        }
    }
    for src in published {
        sync_item(emu, lib, &src)?;
    }
    let now = emu.clock.now_ms();
    if let Some(l) = emu.vapi.library.libs.get_mut(lib) {
        l.last_sync_ms = Some(now);
    }
    Ok(())
}

/// Copies publisher item `src` into subscribed library `lib` (metadata always, files when
/// its content version differs), within the item and byte bounds.
fn sync_item(emu: &mut Emulator, lib: &str, src: &Item) -> Result<(), VapiError> {
    let existing = emu
        .vapi
        .library
        .items
        .values()
        .find(|i| i.library_id == lib && i.source_id.as_deref() == Some(src.id.as_str()))
        .map(|i| (i.id.clone(), i.content_version));
    let now = emu.clock.now_ms();
    let (id, copy) = match existing {
        Some((id, version)) => (id, version != src.content_version),
        None => {
            if emu.vapi.library.items.len() >= MAX_ITEMS {
                return Err(VapiError::full("library items", MAX_ITEMS));
            }
            let id = emu.idgen.uuid();
            let mut item = src.clone();
            item.id = id.clone();
            item.library_id = lib.to_owned();
            item.files = BTreeMap::new();
            item.content_version = 0;
            item.created_ms = now;
            item.template = None;
            item.checkouts = Vec::new();
            item.source_id = Some(src.id.clone());
            emu.vapi.library.items.insert(id.clone(), item);
            (id, true)
        }
    };
    if let Some(i) = emu.vapi.library.items.get_mut(&id) {
        i.name = src.name.clone();
        i.description = src.description.clone();
        i.ty = src.ty.clone();
        i.metadata_version = src.metadata_version;
        i.modified_ms = now;
    }
    if !copy {
        return Ok(());
    }
    let from = item_dir(emu, &src.id)?;
    let to = item_dir(emu, &id)?;
    let old: usize = emu
        .vapi
        .library
        .items
        .get(&id)
        .map(|i| i.files.values().map(|f| f.size).sum())
        .unwrap_or(0);
    let incoming: usize = src.files.values().map(|f| f.size).sum();
    let stored: usize = emu.files.values().map(Vec::len).sum();
    if emu.vapi.library.bytes() - old + incoming > MAX_LIBRARY_BYTES {
        return Err(VapiError::full("content library bytes", MAX_LIBRARY_BYTES));
    }
    if stored - old + incoming > crate::server::MAX_TOTAL_FILE_BYTES
        || emu.files.len() + src.files.len() > crate::server::MAX_FILES
    {
        return Err(VapiError::full(
            "datastore bytes",
            crate::server::MAX_TOTAL_FILE_BYTES,
        ));
    }
    emu.files.retain(|k, _| !k.starts_with(&to));
    for name in src.files.keys() {
        let bytes = emu
            .files
            .get(&format!("{from}{name}"))
            .cloned()
            .unwrap_or_default();
        emu.files.insert(format!("{to}{name}"), bytes);
    }
    if let Some(i) = emu.vapi.library.items.get_mut(&id) {
        i.files = src.files.clone();
        i.content_version = src.content_version;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::source_of;

    #[test]
    fn subscription_urls_name_their_library() {
        assert_eq!(
            source_of("http://h:1/cls/vcsp/lib/abc/lib.json"),
            Some("abc")
        );
        assert_eq!(source_of("https://h/cls/vcsp/lib/abc"), Some("abc"));
        assert_eq!(source_of("https://h/cls/vcsp/lib/"), None);
        assert_eq!(source_of("https://h/other"), None);
    }
}
