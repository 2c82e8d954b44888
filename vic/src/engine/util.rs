//! Small Docker conventions: RFC 3339 times, `docker ps` durations, generated names, name
//! validation, deterministic ids.

/// Docker's zero time, shown for a container that never started or finished.
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// RFC 3339 in UTC as Go's `RFC3339Nano` prints it (no trailing fractional zeros).
pub fn rfc3339_ms(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let frac = ms.rem_euclid(1000);
    let (y, mo, d) = vcsim::vmodl::civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    let base = format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    );
    if frac == 0 {
        format!("{base}Z")
    } else {
        let f = format!("{frac:03}");
        format!("{base}.{}Z", f.trim_end_matches('0'))
    }
}

/// Docker's `units.HumanDuration` (what `docker ps` shows after `Up` and before `ago`).
pub fn human_duration(secs: i64) -> String {
    let s = secs.max(0);
    let minutes = s / 60;
    let hours = s / 3600;
    if s < 1 {
        "Less than a second".into()
    } else if s == 1 {
        "1 second".into()
    } else if s < 60 {
        format!("{s} seconds")
    } else if minutes == 1 {
        "About a minute".into()
    } else if minutes < 60 {
        format!("{minutes} minutes")
    } else if (s as f64 / 3600.0).round() as i64 == 1 {
        "About an hour".into()
    } else if hours < 48 {
        format!("{hours} hours")
    } else if hours < 24 * 7 * 2 {
        format!("{} days", hours / 24)
    } else if hours < 24 * 30 * 2 {
        format!("{} weeks", hours / 24 / 7)
    } else if hours < 24 * 365 * 2 {
        format!("{} months", hours / 24 / 30)
    } else {
        format!("{} years", hours / 24 / 365)
    }
}

const LEFT: [&str; 24] = [
    "admiring",
    "adoring",
    "agitated",
    "amazing",
    "angry",
    "awesome",
    "blissful",
    "boring",
    "brave",
    "clever",
    "cocky",
    "compassionate",
    "condescending",
    "cranky",
    "dazzling",
    "determined",
    "distracted",
    "dreamy",
    "eager",
    "ecstatic",
    "elastic",
    "elated",
    "elegant",
    "happy",
];
const RIGHT: [&str; 24] = [
    "albattani",
    "allen",
    "almeida",
    "archimedes",
    "ardinghelli",
    "aryabhata",
    "austin",
    "babbage",
    "banach",
    "bardeen",
    "bartik",
    "bassi",
    "bell",
    "bhabha",
    "bohr",
    "booth",
    "borg",
    "bose",
    "boyd",
    "brahmagupta",
    "brattain",
    "brown",
    "carson",
    "chandrasekhar",
];

/// A generated `adjective_surname` name, chosen from the container id (deterministic);
/// `attempt` > 0 appends a digit as docker does on a collision.
pub fn generated_name(id: &str, attempt: u32) -> String {
    let h =
        |from: usize| usize::from_str_radix(id.get(from..from + 4).unwrap_or("0"), 16).unwrap_or(0);
    let base = format!("{}_{}", LEFT[h(0) % LEFT.len()], RIGHT[h(4) % RIGHT.len()]);
    if attempt == 0 {
        base
    } else {
        format!("{base}{attempt}")
    }
}

/// Docker's `RestrictedNamePattern`: `^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$`.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

/// Docker's message for an invalid name.
pub fn invalid_name(name: &str) -> String {
    format!("Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
}

/// VIC's name-conflict message (vic.md §7.2).
pub fn name_conflict(name: &str, id: &str) -> String {
    format!(
        "conflict. The name \"{name}\" is already in use by container {id}. You have to remove (or rename) that container to be able to re use that name."
    )
}

/// The 64-hex container id for the `n`th container of VCH `vch` (seeded by the VCH name and
/// a counter, never by OS randomness).
pub fn container_id(vch: &str, n: u64) -> String {
    crate::images::digest_of(&format!("container:{vch}:{n}"))
}

/// A deterministic 64-hex id for any named thing (networks, endpoints).
pub fn object_id(kind: &str, vch: &str, name: &str) -> String {
    crate::images::digest_of(&format!("{kind}:{vch}:{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_format_like_go() {
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_ms(1_506_931_200_000), "2017-10-02T08:00:00Z");
        assert_eq!(rfc3339_ms(1_506_931_200_120), "2017-10-02T08:00:00.12Z");
        assert_eq!(rfc3339_ms(951_782_400_000), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn durations_read_like_docker_ps() {
        assert_eq!(human_duration(0), "Less than a second");
        assert_eq!(human_duration(1), "1 second");
        assert_eq!(human_duration(59), "59 seconds");
        assert_eq!(human_duration(60), "About a minute");
        assert_eq!(human_duration(300), "5 minutes");
        assert_eq!(human_duration(3600), "About an hour");
        assert_eq!(human_duration(3 * 3600), "3 hours");
        assert_eq!(human_duration(3 * 86_400), "3 days");
    }

    #[test]
    fn names() {
        let id = container_id("vch", 0);
        assert_eq!(id.len(), 64);
        assert_eq!(id, container_id("vch", 0));
        assert_ne!(id, container_id("vch", 1));
        assert_ne!(id, container_id("other", 0));
        let n = generated_name(&id, 0);
        assert!(valid_name(&n), "{n}");
        assert!(generated_name(&id, 2).ends_with('2'));
        assert!(valid_name("web-1.a_b"));
        assert!(!valid_name("a"));
        assert!(!valid_name("-ab"));
        assert!(!valid_name("a b"));
        assert!(!valid_name("a/b"));
        assert_eq!(
            name_conflict("web", "abc"),
            "conflict. The name \"web\" is already in use by container abc. You have to remove (or rename) that container to be able to re use that name."
        );
    }
}
