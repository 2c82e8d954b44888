//! The console's controls as typed requests ([`Control`]), checked before anything moves:
//! the clock's knobs, a VCH pool's allocation (applied with `UpdateConfig` over SOAP, the
//! call a vSphere client makes), a VM's power, and the scenario's docker commands (over the
//! VCH's Docker API in its TLS mode).

use serde::Deserialize;

use crate::model::{Alloc, PoolConfig};

/// The slowest and fastest speeds the console offers (the issue's 1×–600×).
pub const SPEED_RANGE: (f64, f64) = (1.0, 600.0);

/// The largest share count vSphere accepts (`SharesInfo.shares` is an xsd:int).
pub const MAX_SHARES: i64 = i32::MAX as i64;

/// A refused control: the HTTP status and the message the page shows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// 4xx for the caller's mistakes, 5xx for the testbed's.
    pub status: u16,
    /// What went wrong, in words.
    pub message: String,
}

impl ApiError {
    /// 400.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError {
            status: 400,
            message: message.into(),
        }
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError {
            status: 404,
            message: message.into(),
        }
    }

    /// 409.
    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError {
            status: 409,
            message: message.into(),
        }
    }

    /// 502: the testbed behind the console failed.
    pub fn upstream(message: impl Into<String>) -> ApiError {
        ApiError {
            status: 502,
            message: message.into(),
        }
    }
}

/// `POST /api/clock`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase", deny_unknown_fields)]
pub enum ClockAction {
    /// Stop the clock. (Variants are empty structs, not units, so that serde refuses
    /// unknown fields on them too.)
    Pause {},
    /// Run it again.
    Resume {},
    /// One 20 s sample ahead.
    Step {},
    /// A new speed.
    Speed {
        /// Virtual seconds per wall second.
        speed: f64,
    },
}

/// One resource's requested change; absent fields keep their value.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllocPatch {
    /// MHz or MB; -1 is unlimited.
    pub limit: Option<i64>,
    /// MHz or MB.
    pub reservation: Option<i64>,
    /// `low`, `normal`, `high` or `custom`.
    pub shares_level: Option<String>,
    /// The count, for `custom`.
    pub shares: Option<i64>,
    /// Expandable reservation.
    pub expandable: Option<bool>,
}

/// `POST /api/pools/{vch}`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolPatch {
    /// CPU (MHz).
    pub cpu: Option<AllocPatch>,
    /// Memory (MB).
    pub mem: Option<AllocPatch>,
}

/// `POST /api/vms/{moref}/power`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PowerRequest {
    /// `on` or `off`.
    pub state: PowerState,
}

/// The power state asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PowerState {
    /// `PowerOnVM_Task`.
    On,
    /// `PowerOffVM_Task`.
    Off,
}

/// `POST /api/docker/{vch}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DockerRequest {
    /// An action id from the state's `actions`.
    pub action: String,
}

/// Every control the console takes: the API edge parses into this, the demo applies it.
#[derive(Debug, Clone, PartialEq)]
pub enum Control {
    /// The clock.
    Clock(ClockAction),
    /// A VCH pool's allocation.
    Pool {
        /// The scenario's VCH name.
        vch: String,
        /// The change.
        patch: PoolPatch,
    },
    /// A VM's power.
    Power {
        /// MoRef value.
        vm: String,
        /// Wanted state.
        state: PowerState,
    },
    /// A docker command of the scenario.
    Docker {
        /// The scenario's VCH name.
        vch: String,
        /// The action id.
        action: String,
    },
}

/// Parses a JSON body as `T`, refusing it with a 400 that says why.
pub fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("malformed request: {e}")))
}

/// Checks a speed.
pub fn check_speed(speed: f64) -> Result<f64, ApiError> {
    if speed.is_finite() && (SPEED_RANGE.0..=SPEED_RANGE.1).contains(&speed) {
        Ok(speed)
    } else {
        Err(ApiError::bad_request(format!(
            "speed must be between {} and {}, not {speed}",
            SPEED_RANGE.0, SPEED_RANGE.1
        )))
    }
}

fn merge_alloc(what: &str, unit: &str, now: &Alloc, patch: &AllocPatch) -> Result<Alloc, ApiError> {
    let mut a = now.clone();
    if let Some(l) = patch.limit {
        if l < -1 {
            return Err(ApiError::bad_request(format!(
                "{what} limit must be -1 (unlimited) or at least 0 {unit}, not {l}"
            )));
        }
        a.limit = l;
    }
    if let Some(r) = patch.reservation {
        if r < 0 {
            return Err(ApiError::bad_request(format!(
                "{what} reservation must be at least 0 {unit}, not {r}"
            )));
        }
        a.reservation = r;
    }
    if let Some(level) = &patch.shares_level {
        if !["low", "normal", "high", "custom"].contains(&level.as_str()) {
            return Err(ApiError::bad_request(format!(
                "{what} shares level must be low, normal, high or custom, not {level:?}"
            )));
        }
        a.shares_level = level.clone();
    }
    if let Some(s) = patch.shares {
        if !(1..=MAX_SHARES).contains(&s) {
            return Err(ApiError::bad_request(format!(
                "{what} shares must be between 1 and {MAX_SHARES}, not {s}"
            )));
        }
        a.shares = s;
    }
    if let Some(e) = patch.expandable {
        a.expandable = e;
    }
    if a.limit != -1 && a.reservation > a.limit {
        return Err(ApiError::bad_request(format!(
            "{what} reservation ({} {unit}) is above the limit ({} {unit})",
            a.reservation, a.limit
        )));
    }
    // vSphere reads `shares` only with level custom and derives it from any other level:
    // a count sent with low/normal/high would be answered 200 and silently not applied.
    if patch.shares.is_some() && a.shares_level != "custom" {
        return Err(ApiError::bad_request(format!(
            "{what} shares count applies with shares_level custom only (the level is {:?})",
            a.shares_level
        )));
    }
    if a.shares_level == "custom" && a.shares < 1 {
        return Err(ApiError::bad_request(format!(
            "{what} shares level custom needs a share count"
        )));
    }
    Ok(a)
}

/// The pool's allocation after `patch`, or why it is refused (nothing is applied then).
pub fn merge(now: &PoolConfig, patch: &PoolPatch) -> Result<PoolConfig, ApiError> {
    if patch.cpu.is_none() && patch.mem.is_none() {
        return Err(ApiError::bad_request(
            "nothing to change: give cpu and/or mem",
        ));
    }
    Ok(PoolConfig {
        cpu: match &patch.cpu {
            Some(p) => merge_alloc("CPU", "MHz", &now.cpu, p)?,
            None => now.cpu.clone(),
        },
        mem: match &patch.mem {
            Some(p) => merge_alloc("memory", "MB", &now.mem, p)?,
            None => now.mem.clone(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> PoolConfig {
        let a = Alloc {
            limit: 500,
            reservation: 0,
            shares_level: "normal".into(),
            shares: 4000,
            expandable: true,
        };
        PoolConfig {
            cpu: a.clone(),
            mem: a,
        }
    }

    #[test]
    fn bodies_are_typed_and_strict() {
        let c: ClockAction = parse_body(br#"{"action":"speed","speed":60}"#).expect("speed");
        assert_eq!(c, ClockAction::Speed { speed: 60.0 });
        assert_eq!(
            parse_body::<ClockAction>(br#"{"action":"pause"}"#).expect("pause"),
            ClockAction::Pause {}
        );
        for bad in [
            &br#"{"action":"rewind"}"#[..],
            b"{",
            b"[]",
            br#"{"action":"pause","x":1}"#,
        ] {
            let e = parse_body::<ClockAction>(bad).expect_err("refused");
            assert_eq!(e.status, 400);
            assert!(e.message.starts_with("malformed request"), "{}", e.message);
        }
        let e = parse_body::<PoolPatch>(br#"{"cpu":{"limmit":5}}"#).expect_err("unknown field");
        assert!(e.message.contains("limmit"), "{}", e.message);
        assert_eq!(
            parse_body::<PowerRequest>(br#"{"state":"on"}"#)
                .expect("on")
                .state,
            PowerState::On
        );
    }

    #[test]
    fn speeds_outside_the_range_are_refused() {
        assert_eq!(check_speed(600.0), Ok(600.0));
        for bad in [0.0, 0.5, 601.0, f64::INFINITY, f64::NAN] {
            assert_eq!(check_speed(bad).map_err(|e| e.status), Err(400));
        }
    }

    #[test]
    fn a_patch_merges_or_is_refused_whole() {
        let now = config();
        let patch = PoolPatch {
            cpu: Some(AllocPatch {
                limit: Some(-1),
                shares_level: Some("high".into()),
                ..Default::default()
            }),
            mem: None,
        };
        let merged = merge(&now, &patch).expect("valid");
        assert_eq!(merged.cpu.limit, -1);
        assert_eq!(merged.cpu.shares_level, "high");
        assert_eq!(merged.mem, now.mem);
        let custom: PoolPatch =
            parse_body(br#"{"mem":{"shares_level":"custom","shares":1234}}"#).expect("parses");
        let merged = merge(&now, &custom).expect("a count with custom");
        assert_eq!(
            (merged.mem.shares_level.as_str(), merged.mem.shares),
            ("custom", 1234)
        );

        let refusals = [
            (r#"{"cpu":{"limit":-5}}"#, "CPU limit must be -1"),
            (
                r#"{"mem":{"reservation":-1}}"#,
                "memory reservation must be at least 0",
            ),
            (r#"{"cpu":{"reservation":600}}"#, "above the limit"),
            (r#"{"cpu":{"shares_level":"max"}}"#, "shares level must be"),
            (r#"{"cpu":{"shares":0}}"#, "shares must be between"),
            (r#"{"cpu":{"shares":1234}}"#, "custom only"),
            (
                r#"{"mem":{"shares_level":"high","shares":1234}}"#,
                "custom only",
            ),
            (r#"{}"#, "nothing to change"),
        ];
        for (body, words) in refusals {
            let patch: PoolPatch = parse_body(body.as_bytes()).expect("parses");
            let e = merge(&now, &patch).expect_err(body);
            assert_eq!(e.status, 400);
            assert!(e.message.contains(words), "{body}: {}", e.message);
        }
    }
}
