//! Typed decoding of the `POST /containers/create` body as dockerd's Go decoder sees it.
//!
//! dockerd decodes the body into `ContainerConfigWrapper` (the container config, `HostConfig`
//! and `NetworkingConfig`) with Go's `encoding/json`: a value of the wrong JSON type, a
//! fraction or an out-of-range number for an integer field fails the whole request with
//! `json: cannot unmarshal <kind> into Go struct field ContainerConfigWrapper.<path> of type
//! <go type>` (400), unknown fields are ignored, `null` leaves the zero value, and field names
//! match case-insensitively. [`check`] applies the API 1.25 schema below the same way and
//! returns the body with canonical field names and `null`s resolved, ready for `serde`.

use serde_json::{Map, Number, Value as Json};

/// A Go type of the create body.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    /// `string`.
    Str,
    /// `bool`.
    Bool,
    /// An integer type: Go name, smallest and largest value.
    Int(&'static str, i128, i128),
    /// A slice or array: Go name, element type.
    List(&'static str, &'static Ty),
    /// A map with string keys: Go name, value type.
    Map(&'static str, &'static Ty),
    /// A struct: Go name, fields (JSON name, type).
    Struct(&'static str, &'static [(&'static str, Ty)]),
    /// docker's `strslice.StrSlice`: a string or a list of strings. Its own decoder reports
    /// errors without the field path.
    StrSlice,
}

impl Ty {
    fn go_name(&self) -> &'static str {
        match self {
            Ty::Str => "string",
            Ty::Bool => "bool",
            Ty::Int(n, ..) | Ty::List(n, _) | Ty::Map(n, _) | Ty::Struct(n, _) => n,
            Ty::StrSlice => "strslice.StrSlice",
        }
    }

    /// The zero value Go leaves for `null` inside a list or map.
    fn zero(&self) -> Json {
        match self {
            Ty::Str => Json::from(""),
            Ty::Bool => Json::Bool(false),
            Ty::Int(..) => Json::from(0),
            Ty::List(..) | Ty::StrSlice => Json::Array(Vec::new()),
            Ty::Map(..) | Ty::Struct(..) => Json::Object(Map::new()),
        }
    }
}

const I64: Ty = Ty::Int("int64", i64::MIN as i128, i64::MAX as i128);
const INT: Ty = Ty::Int("int", i64::MIN as i128, i64::MAX as i128);
const DURATION: Ty = Ty::Int("time.Duration", i64::MIN as i128, i64::MAX as i128);
const U16: Ty = Ty::Int("uint16", 0, u16::MAX as i128);
const U64: Ty = Ty::Int("uint64", 0, u64::MAX as i128);
const UINT: Ty = Ty::Int("uint", 0, u64::MAX as i128);
const STRINGS: Ty = Ty::List("[]string", &Ty::Str);
const STRING_MAP: Ty = Ty::Map("map[string]string", &Ty::Str);
const EMPTY: Ty = Ty::Struct("struct {}", &[]);

const THROTTLE: Ty = Ty::List(
    "[]*blkiodev.ThrottleDevice",
    &Ty::Struct(
        "blkiodev.ThrottleDevice",
        &[("Path", Ty::Str), ("Rate", U64)],
    ),
);

/// `container.HostConfig` of API 1.25.
const HOST_CONFIG: &[(&str, Ty)] = &[
    ("Binds", STRINGS),
    ("ContainerIDFile", Ty::Str),
    (
        "LogConfig",
        Ty::Struct(
            "container.LogConfig",
            &[("Type", Ty::Str), ("Config", STRING_MAP)],
        ),
    ),
    ("NetworkMode", Ty::Str),
    (
        "PortBindings",
        Ty::Map(
            "nat.PortMap",
            &Ty::List(
                "[]nat.PortBinding",
                &Ty::Struct(
                    "nat.PortBinding",
                    &[("HostIp", Ty::Str), ("HostPort", Ty::Str)],
                ),
            ),
        ),
    ),
    (
        "RestartPolicy",
        Ty::Struct(
            "container.RestartPolicy",
            &[("Name", Ty::Str), ("MaximumRetryCount", INT)],
        ),
    ),
    ("AutoRemove", Ty::Bool),
    ("VolumeDriver", Ty::Str),
    ("VolumesFrom", STRINGS),
    ("CapAdd", Ty::StrSlice),
    ("CapDrop", Ty::StrSlice),
    ("Dns", STRINGS),
    ("DnsOptions", STRINGS),
    ("DnsSearch", STRINGS),
    ("ExtraHosts", STRINGS),
    ("GroupAdd", STRINGS),
    ("IpcMode", Ty::Str),
    ("Cgroup", Ty::Str),
    ("Links", STRINGS),
    ("OomScoreAdj", INT),
    ("PidMode", Ty::Str),
    ("Privileged", Ty::Bool),
    ("PublishAllPorts", Ty::Bool),
    ("ReadonlyRootfs", Ty::Bool),
    ("SecurityOpt", STRINGS),
    ("StorageOpt", STRING_MAP),
    ("Tmpfs", STRING_MAP),
    ("UTSMode", Ty::Str),
    ("UsernsMode", Ty::Str),
    ("ShmSize", I64),
    ("Sysctls", STRING_MAP),
    ("Runtime", Ty::Str),
    ("ConsoleSize", Ty::List("[2]uint", &UINT)),
    ("Isolation", Ty::Str),
    ("CpuShares", I64),
    ("Memory", I64),
    ("NanoCpus", I64),
    ("CgroupParent", Ty::Str),
    ("BlkioWeight", U16),
    (
        "BlkioWeightDevice",
        Ty::List(
            "[]*blkiodev.WeightDevice",
            &Ty::Struct(
                "blkiodev.WeightDevice",
                &[("Path", Ty::Str), ("Weight", U16)],
            ),
        ),
    ),
    ("BlkioDeviceReadBps", THROTTLE),
    ("BlkioDeviceWriteBps", THROTTLE),
    ("BlkioDeviceReadIOps", THROTTLE),
    ("BlkioDeviceWriteIOps", THROTTLE),
    ("CpuPeriod", I64),
    ("CpuQuota", I64),
    ("CpuRealtimePeriod", I64),
    ("CpuRealtimeRuntime", I64),
    ("CpusetCpus", Ty::Str),
    ("CpusetMems", Ty::Str),
    (
        "Devices",
        Ty::List(
            "[]container.DeviceMapping",
            &Ty::Struct(
                "container.DeviceMapping",
                &[
                    ("PathOnHost", Ty::Str),
                    ("PathInContainer", Ty::Str),
                    ("CgroupPermissions", Ty::Str),
                ],
            ),
        ),
    ),
    ("DiskQuota", I64),
    ("KernelMemory", I64),
    ("MemoryReservation", I64),
    ("MemorySwap", I64),
    ("MemorySwappiness", I64),
    ("OomKillDisable", Ty::Bool),
    ("PidsLimit", I64),
    (
        "Ulimits",
        Ty::List(
            "[]*units.Ulimit",
            &Ty::Struct(
                "units.Ulimit",
                &[("Name", Ty::Str), ("Hard", I64), ("Soft", I64)],
            ),
        ),
    ),
    ("CpuCount", I64),
    ("CpuPercent", I64),
    ("IOMaximumIOps", U64),
    ("IOMaximumBandwidth", U64),
    (
        "Mounts",
        Ty::List(
            "[]mount.Mount",
            &Ty::Struct(
                "mount.Mount",
                &[
                    ("Type", Ty::Str),
                    ("Source", Ty::Str),
                    ("Target", Ty::Str),
                    ("ReadOnly", Ty::Bool),
                ],
            ),
        ),
    ),
    ("Init", Ty::Bool),
    ("InitPath", Ty::Str),
];

/// `network.NetworkingConfig` of API 1.25.
const NETWORKING_CONFIG: &[(&str, Ty)] = &[(
    "EndpointsConfig",
    Ty::Map(
        "map[string]*network.EndpointSettings",
        &Ty::Struct(
            "network.EndpointSettings",
            &[
                (
                    "IPAMConfig",
                    Ty::Struct(
                        "network.EndpointIPAMConfig",
                        &[
                            ("IPv4Address", Ty::Str),
                            ("IPv6Address", Ty::Str),
                            ("LinkLocalIPs", STRINGS),
                        ],
                    ),
                ),
                ("Links", STRINGS),
                ("Aliases", STRINGS),
                ("NetworkID", Ty::Str),
                ("EndpointID", Ty::Str),
                ("Gateway", Ty::Str),
                ("IPAddress", Ty::Str),
                ("IPPrefixLen", INT),
                ("IPv6Gateway", Ty::Str),
                ("GlobalIPv6Address", Ty::Str),
                ("GlobalIPv6PrefixLen", INT),
                ("MacAddress", Ty::Str),
            ],
        ),
    ),
)];

/// `runconfig.ContainerConfigWrapper` of API 1.25: the embedded `container.Config`'s fields,
/// `HostConfig` and `NetworkingConfig`.
pub const CREATE_BODY: Ty = Ty::Struct(
    "runconfig.ContainerConfigWrapper",
    &[
        ("Hostname", Ty::Str),
        ("Domainname", Ty::Str),
        ("User", Ty::Str),
        ("AttachStdin", Ty::Bool),
        ("AttachStdout", Ty::Bool),
        ("AttachStderr", Ty::Bool),
        ("ExposedPorts", Ty::Map("nat.PortSet", &EMPTY)),
        ("Tty", Ty::Bool),
        ("OpenStdin", Ty::Bool),
        ("StdinOnce", Ty::Bool),
        ("Env", STRINGS),
        ("Cmd", Ty::StrSlice),
        (
            "Healthcheck",
            Ty::Struct(
                "container.HealthConfig",
                &[
                    ("Test", STRINGS),
                    ("Interval", DURATION),
                    ("Timeout", DURATION),
                    ("Retries", INT),
                ],
            ),
        ),
        ("ArgsEscaped", Ty::Bool),
        ("Image", Ty::Str),
        ("Volumes", Ty::Map("map[string]struct {}", &EMPTY)),
        ("WorkingDir", Ty::Str),
        ("Entrypoint", Ty::StrSlice),
        ("NetworkDisabled", Ty::Bool),
        ("MacAddress", Ty::Str),
        ("OnBuild", STRINGS),
        ("Labels", STRING_MAP),
        ("StopSignal", Ty::Str),
        ("StopTimeout", INT),
        ("Shell", Ty::StrSlice),
        (
            "HostConfig",
            Ty::Struct("container.HostConfig", HOST_CONFIG),
        ),
        (
            "NetworkingConfig",
            Ty::Struct("network.NetworkingConfig", NETWORKING_CONFIG),
        ),
    ],
);

/// The name of the wrapper in Go's field paths.
const WRAPPER: &str = "ContainerConfigWrapper";

/// A JSON number as Go's error shows it (`number 18446744073709551616`).
fn number_text(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    if f.fract() == 0.0 && f.abs() < 1e21 {
        format!("{f:.0}")
    } else {
        f.to_string()
    }
}

/// The JSON kind Go names in `cannot unmarshal <kind>` (numbers without their literal).
pub fn json_kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "bool",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
        Json::Number(_) => "number",
    }
}

/// The JSON kind Go names in `cannot unmarshal <kind>`.
fn kind(v: &Json, into: &Ty) -> String {
    match v {
        Json::Null => "null".into(),
        Json::Bool(_) => "bool".into(),
        Json::String(_) => "string".into(),
        Json::Array(_) => "array".into(),
        Json::Object(_) => "object".into(),
        // Go shows the literal only when a number fails to fit a number type.
        Json::Number(n) if matches!(into, Ty::Int(..)) => format!("number {}", number_text(n)),
        Json::Number(_) => "number".into(),
    }
}

fn type_error(v: &Json, ty: &Ty, path: &[&str]) -> String {
    let what = kind(v, ty);
    if path.is_empty() {
        format!(
            "json: cannot unmarshal {what} into Go value of type {}",
            ty.go_name()
        )
    } else {
        format!(
            "json: cannot unmarshal {what} into Go struct field {WRAPPER}.{} of type {}",
            path.join("."),
            ty.go_name()
        )
    }
}

/// Checks `v` against `ty` (at `path`) and returns it with canonical field names, `null`
/// fields dropped and `null` elements replaced by their zero value.
pub fn check(v: &Json, ty: &Ty, path: &mut Vec<&'static str>) -> Result<Json, String> {
    match (ty, v) {
        (Ty::Str, Json::String(_)) | (Ty::Bool, Json::Bool(_)) => Ok(v.clone()),
        (Ty::Int(_, min, max), Json::Number(n)) => {
            let wide = n
                .as_i64()
                .map(i128::from)
                .or_else(|| n.as_u64().map(i128::from));
            match wide {
                Some(x) if (*min..=*max).contains(&x) => Ok(v.clone()),
                _ => Err(type_error(v, ty, path)),
            }
        }
        (Ty::List(_, elem), Json::Array(items)) => items
            .iter()
            .map(|item| match item {
                Json::Null => Ok(elem.zero()),
                _ => check(item, elem, path),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Json::Array),
        (Ty::Map(_, elem), Json::Object(m)) => {
            let mut out = Map::new();
            for (k, item) in m {
                let checked = match item {
                    Json::Null => elem.zero(),
                    _ => check(item, elem, path)?,
                };
                out.insert(k.clone(), checked);
            }
            Ok(Json::Object(out))
        }
        (Ty::Struct(_, fields), Json::Object(m)) => {
            let mut out = Map::new();
            for (k, item) in m {
                // Go matches the exact name first, then case-insensitively; unknown fields
                // are ignored.
                let field = fields
                    .iter()
                    .find(|(name, _)| name == k)
                    .or_else(|| fields.iter().find(|(name, _)| name.eq_ignore_ascii_case(k)));
                let Some((name, fty)) = field else { continue };
                if item.is_null() {
                    out.remove(*name);
                    continue;
                }
                path.push(name);
                let checked = check(item, fty, path);
                path.pop();
                out.insert((*name).to_owned(), checked?);
            }
            Ok(Json::Object(out))
        }
        (Ty::StrSlice, Json::String(s)) => Ok(Json::Array(vec![Json::String(s.clone())])),
        (Ty::StrSlice, Json::Array(items))
            if items.iter().all(|i| i.is_string() || i.is_null()) =>
        {
            Ok(Json::Array(
                items
                    .iter()
                    .map(|i| {
                        if i.is_null() {
                            Ty::Str.zero()
                        } else {
                            i.clone()
                        }
                    })
                    .collect(),
            ))
        }
        // StrSlice tries a list of strings, then a string, and reports the latter's error.
        (Ty::StrSlice, _) => Err(type_error(v, &Ty::Str, &[])),
        (_, Json::Null) => Ok(ty.zero()),
        _ => Err(type_error(v, ty, path)),
    }
}

/// Decodes a create body: Go's syntax and type errors as dockerd reports them.
pub fn create_body(bytes: &[u8]) -> Result<Json, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err("invalid JSON: got EOF while reading request body".into());
    }
    let v: Json = serde_json::from_slice(bytes).map_err(|e| syntax_error(bytes, &e))?;
    let v = if v.is_null() {
        Json::Object(Map::new())
    } else {
        v
    };
    check(&v, &CREATE_BODY, &mut Vec::new())
}

/// Go's text for a body that is not JSON: `invalid character 'x' looking for beginning of
/// value`, `unexpected EOF`, or `invalid character … after top-level value`.
pub fn syntax_error(bytes: &[u8], e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    if e.classify() == Category::Eof {
        return "invalid JSON: unexpected EOF".into();
    }
    // serde's position is 1-based line and column (bytes) of the offending character.
    let offset = bytes
        .split(|b| *b == b'\n')
        .take(e.line().saturating_sub(1))
        .map(|l| l.len() + 1)
        .sum::<usize>()
        + e.column().saturating_sub(1);
    let ch = bytes
        .get(offset..)
        .and_then(|rest| String::from_utf8_lossy(rest).chars().next())
        .unwrap_or('?');
    let text = e.to_string();
    let context = if text.starts_with("trailing characters") {
        "after top-level value"
    } else if text.starts_with("key must be a string") {
        "looking for beginning of object key string"
    } else {
        "looking for beginning of value"
    };
    format!("invalid JSON: invalid character {ch:?} {context}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(body: &str) -> String {
        create_body(body.as_bytes()).unwrap_err()
    }

    #[test]
    fn wrong_types_fail_as_go_reports_them() {
        assert_eq!(
            err(r#"{"HostConfig":{"Memory":"abc"}}"#),
            "json: cannot unmarshal string into Go struct field ContainerConfigWrapper.HostConfig.Memory of type int64"
        );
        assert_eq!(
            err(r#"{"HostConfig":{"Memory":18446744073709551616}}"#),
            "json: cannot unmarshal number 18446744073709551616 into Go struct field ContainerConfigWrapper.HostConfig.Memory of type int64"
        );
        assert_eq!(
            err(r#"{"HostConfig":{"Memory":9223372036854775808}}"#),
            "json: cannot unmarshal number 9223372036854775808 into Go struct field ContainerConfigWrapper.HostConfig.Memory of type int64"
        );
        assert_eq!(
            err(r#"{"HostConfig":{"Memory":1.5}}"#),
            "json: cannot unmarshal number 1.5 into Go struct field ContainerConfigWrapper.HostConfig.Memory of type int64"
        );
        assert_eq!(
            err(r#"{"Cmd":{}}"#),
            "json: cannot unmarshal object into Go value of type string"
        );
        assert_eq!(
            err(r#"{"Entrypoint":["sh",1]}"#),
            "json: cannot unmarshal array into Go value of type string"
        );
        assert_eq!(
            err(r#"{"Env":"A=1"}"#),
            "json: cannot unmarshal string into Go struct field ContainerConfigWrapper.Env of type []string"
        );
        assert_eq!(
            err(r#"{"Labels":{"a":1}}"#),
            "json: cannot unmarshal number into Go struct field ContainerConfigWrapper.Labels of type string"
        );
        assert_eq!(
            err(r#"{"Tty":"yes"}"#),
            "json: cannot unmarshal string into Go struct field ContainerConfigWrapper.Tty of type bool"
        );
        assert_eq!(
            err(r#"{"HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":80}]}}}"#),
            "json: cannot unmarshal number into Go struct field ContainerConfigWrapper.HostConfig.PortBindings.HostPort of type string"
        );
        assert_eq!(
            err(r#"{"HostConfig":{"BlkioWeight":70000}}"#),
            "json: cannot unmarshal number 70000 into Go struct field ContainerConfigWrapper.HostConfig.BlkioWeight of type uint16"
        );
        assert_eq!(
            err(r#"{"HostConfig":"x"}"#),
            "json: cannot unmarshal string into Go struct field ContainerConfigWrapper.HostConfig of type container.HostConfig"
        );
        assert_eq!(
            err("[]"),
            "json: cannot unmarshal array into Go value of type runconfig.ContainerConfigWrapper"
        );
    }

    #[test]
    fn syntax_errors_and_empty_bodies() {
        assert_eq!(err(""), "invalid JSON: got EOF while reading request body");
        assert_eq!(err(r#"{"Image":"#), "invalid JSON: unexpected EOF");
        assert_eq!(
            err("{\"Image\": x}"),
            "invalid JSON: invalid character 'x' looking for beginning of value"
        );
        assert_eq!(
            err("{} {}"),
            "invalid JSON: invalid character '{' after top-level value"
        );
    }

    #[test]
    fn good_bodies_are_normalised() {
        let v = create_body(
            br#"{"image":"busybox","Cmd":"sh","Entrypoint":null,"Env":["A=1",null],"HostConfig":{"memory":4294967296,"Unknown":1},"Extra":{}}"#,
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"Image":"busybox","Cmd":["sh"],"Env":["A=1",""],"HostConfig":{"Memory":4294967296_i64}})
        );
        assert_eq!(create_body(b"null").unwrap(), json!({}));
    }
}
