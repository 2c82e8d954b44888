//! Property paths as the PropertyCollector takes them: `name`, `runtime.powerState`,
//! `config.extraConfig["guestinfo.ip"]`, `config.hardware.device[4000]`.

use super::value::Value;

/// One step of a property path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathSegment {
    /// A field name.
    Field(String),
    /// A keyed array element: the item whose `key` field equals this text.
    Key(String),
}

/// A parsed property path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PropertyPath {
    /// The path as the client wrote it (reported back verbatim).
    pub text: String,
    /// Its segments.
    pub segments: Vec<PathSegment>,
}

impl PropertyPath {
    /// Parses a path; `None` when it is malformed (empty segment, unclosed bracket).
    pub fn parse(text: &str) -> Option<PropertyPath> {
        let mut segments = Vec::new();
        let mut rest = text.trim();
        if rest.is_empty() {
            return None;
        }
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('[') {
                let close = after.find(']')?;
                let key = after[..close].trim().trim_matches('"').to_owned();
                segments.push(PathSegment::Key(key));
                rest = &after[close + 1..];
                rest = rest.strip_prefix('.').unwrap_or(rest);
                continue;
            }
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            let field = &rest[..end];
            if field.is_empty() {
                return None;
            }
            segments.push(PathSegment::Field(field.to_owned()));
            rest = &rest[end..];
            rest = rest.strip_prefix('.').unwrap_or(rest);
        }
        Some(PropertyPath {
            text: text.trim().to_owned(),
            segments,
        })
    }

    /// The first field name (the managed object's top-level property).
    pub fn head(&self) -> &str {
        match self.segments.first() {
            Some(PathSegment::Field(f)) => f,
            _ => "",
        }
    }

    /// True when `self` is `other` or lies under it (`runtime.powerState` under `runtime`).
    pub fn starts_with(&self, other: &PropertyPath) -> bool {
        self.segments.len() >= other.segments.len()
            && self.segments[..other.segments.len()] == other.segments[..]
    }

    /// Walks `root` (the value of the top-level property) along the remaining segments.
    pub fn select<'a>(&self, root: &'a Value) -> Option<&'a Value> {
        let mut cur = root;
        for seg in self.segments.iter().skip(1) {
            cur = step(cur, seg)?;
        }
        Some(cur)
    }
}

fn step<'a>(v: &'a Value, seg: &PathSegment) -> Option<&'a Value> {
    match seg {
        PathSegment::Field(name) => v.field(name),
        PathSegment::Key(key) => v.items().iter().find(|item| {
            item.field("key")
                .map(|k| match k {
                    Value::Int(i) => i.to_string() == *key,
                    other => other.as_str() == Some(key.as_str()),
                })
                .unwrap_or(false)
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vmodl::DataObject;

    #[test]
    fn parses_nested_and_keyed_paths() {
        let p = PropertyPath::parse("config.extraConfig[\"guestinfo.a\"].value").unwrap();
        assert_eq!(
            p.segments,
            vec![
                PathSegment::Field("config".into()),
                PathSegment::Field("extraConfig".into()),
                PathSegment::Key("guestinfo.a".into()),
                PathSegment::Field("value".into()),
            ]
        );
        assert_eq!(p.head(), "config");
        assert!(PropertyPath::parse("a..b").is_none());
        assert!(PropertyPath::parse("a[\"x\"").is_none());
        assert!(PropertyPath::parse("").is_none());
    }

    #[test]
    fn selects_keyed_items() {
        let ec = Value::array(
            "OptionValue",
            vec![
                DataObject::new("OptionValue")
                    .with("key", "a".into())
                    .with("value", Value::any("1".into()))
                    .into(),
            ],
        );
        let config = DataObject::new("VirtualMachineConfigInfo")
            .with("extraConfig", ec)
            .into_value();
        let p = PropertyPath::parse("config.extraConfig[\"a\"].value").unwrap();
        assert_eq!(p.select(&config).and_then(Value::as_str), Some("1"));
        let missing = PropertyPath::parse("config.extraConfig[\"b\"]").unwrap();
        assert!(missing.select(&config).is_none());
    }
}
