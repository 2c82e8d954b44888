//! Network routes: list and inspect (the bridge and the container networks).

use super::api::{Result, ok_json};
use super::state::{ApiError, Engine};
use super::util::{self, ZERO_TIME};
use super::view::{network_id, parse_filters};
use crate::portlayer;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use std::net::IpAddr;

fn network_json(engine: &Engine, name: &str) -> Option<Json> {
    let store = engine.lock();
    let members: serde_json::Map<String, Json> = store
        .containers
        .values()
        .filter(|c| c.network.name() == name)
        .filter_map(|c| {
            let ip = c.binding.as_ref()?.ip?;
            let prefix = c.binding.as_ref().map(|b| b.prefix).unwrap_or(0);
            Some((
                c.id.clone(),
                json!({"Name": c.name, "EndpointID": util::object_id("endpoint", &c.id, name), "MacAddress": "", "IPv4Address": format!("{ip}/{prefix}"), "IPv6Address": ""}),
            ))
        })
        .collect();
    drop(store);
    let (driver, config) = if name == "bridge" {
        let (net, prefix) =
            portlayer::bridge_network(engine.config.bridge_range, engine.config.bridge_width);
        let gw = match net {
            IpAddr::V4(a) => std::net::Ipv4Addr::from(u32::from(a) + 1).to_string(),
            v6 => v6.to_string(),
        };
        (
            "bridge",
            json!([{"Subnet": format!("{net}/{prefix}"), "Gateway": gw}]),
        )
    } else {
        let n = engine
            .config
            .container_networks
            .iter()
            .find(|n| n.alias == name)?;
        let mut cfg = serde_json::Map::new();
        if let Some((g, p)) = n.gateway
            && let Some(r) = crate::firewall::IpRange::cidr(g, p)
        {
            cfg.insert("Subnet".into(), json!(format!("{}/{p}", r.first())));
            cfg.insert("Gateway".into(), json!(g.to_string()));
        }
        if let Some((f, l)) = n.ip_range
            && let Some(r) = crate::firewall::IpRange::new(f, l)
        {
            cfg.insert("IPRange".into(), json!(r.to_string()));
        }
        ("external", json!([Json::Object(cfg)]))
    };
    Some(json!({
        "Name": name,
        "Id": network_id(engine, name),
        "Created": ZERO_TIME,
        "Scope": "",
        "Driver": driver,
        "EnableIPv6": false,
        "IPAM": {"Driver": "default", "Options": {}, "Config": config},
        "Internal": false,
        "Attachable": false,
        "Containers": members,
        "Options": {},
        "Labels": {},
    }))
}

fn network_names(engine: &Engine) -> Vec<String> {
    std::iter::once("bridge".to_owned())
        .chain(
            engine
                .config
                .container_networks
                .iter()
                .map(|n| n.alias.clone()),
        )
        .collect()
}

/// Whether network `v` (its JSON) passes `docker network ls` filters.
fn network_matches(v: &Json, f: &BTreeMap<String, Vec<String>>) -> bool {
    let field = |k: &str| v[k].as_str().unwrap_or("").to_owned();
    f.iter()
        .filter(|(_, vals)| !vals.is_empty())
        .all(|(k, vals)| match k.as_str() {
            "name" => vals.iter().any(|x| field("Name").contains(x.as_str())),
            "id" => vals.iter().any(|x| field("Id").starts_with(x.as_str())),
            "driver" => vals.iter().any(|x| *x == field("Driver")),
            // The bridge is docker's own; container networks are declared by vic-machine.
            "type" => vals.iter().any(|x| match x.as_str() {
                "builtin" => field("Driver") == "bridge",
                _ => field("Driver") != "bridge",
            }),
            "scope" => vals.iter().any(|x| x == "local"),
            // No network has labels.
            _ => false,
        })
}

/// `GET /networks`, with dockerd's filters (`name`, `id`, `driver`, `type`, `scope`, `label`).
pub fn networks(engine: &Engine, q: &BTreeMap<String, String>) -> Result<Response> {
    let filters = parse_filters(q.get("filters").map(String::as_str).unwrap_or(""))?;
    for (k, vals) in &filters {
        let bad = |what: String| {
            ApiError::new(StatusCode::BAD_REQUEST, format!("Invalid filter '{what}'"))
        };
        match k.as_str() {
            "name" | "id" | "driver" | "scope" | "label" => {}
            "type" => {
                if let Some(v) = vals
                    .iter()
                    .find(|v| !matches!(v.as_str(), "custom" | "builtin"))
                {
                    return Err(ApiError::new(
                        StatusCode::BAD_REQUEST,
                        format!("Invalid filter: 'type'='{v}'"),
                    ));
                }
            }
            other => return Err(bad(other.to_owned())),
        }
    }
    let list: Vec<Json> = network_names(engine)
        .iter()
        .filter_map(|n| network_json(engine, n))
        .filter(|v| network_matches(v, &filters))
        .collect();
    ok_json(&Json::Array(list))
}

/// `GET /networks/{id}`.
pub fn network_inspect(engine: &Engine, key: &str) -> Result<Response> {
    let found = network_names(engine)
        .into_iter()
        .find(|n| n == key || (key.len() >= 3 && network_id(engine, n).starts_with(key)));
    match found.and_then(|n| network_json(engine, &n)) {
        Some(v) => ok_json(&v),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("network {key} not found"),
        )),
    }
}
