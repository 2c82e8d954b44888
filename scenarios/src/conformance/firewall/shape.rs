//! The shape of a loaded filter table (policies, jumps, loopback, the final RETURN,
//! forwarding, nat REDIRECTs), read the same way from iptables-restore input and from
//! `iptables-save` output.

use vic::firewall::TrustLevel;

use super::matrix::{HOST, Level, MAPPED};

/// What vic.md §3.3 says the loaded filter table looks like, per level.
pub(super) fn expected_shape(level: &Level) -> String {
    let redirect = match level.trust {
        Some(TrustLevel::Closed | TrustLevel::Outbound) => "none".to_owned(),
        _ => format!("tcp {HOST}->{MAPPED}"),
    };
    let forward = match level.trust {
        Some(TrustLevel::Open) => "eth0",
        _ => "none",
    };
    format!(
        "INPUT=DROP OUTPUT=DROP FORWARD=DROP; INPUT,OUTPUT -> VIC; lo accepted; VIC ends with RETURN; forward: {forward}; nat: {redirect}"
    )
}

/// Reads the same features from iptables-restore or iptables-save text.
pub(super) fn shape(text: &str) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let policy = |chain: &str| {
        lines
            .iter()
            .find_map(|l| l.strip_prefix(&format!(":{chain} ")))
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or("missing")
            .to_owned()
    };
    let has = |rule: &str| lines.contains(&rule);
    let jumps = if has("-A INPUT -j VIC") && has("-A OUTPUT -j VIC") {
        "INPUT,OUTPUT -> VIC"
    } else {
        "no jumps to VIC"
    };
    let lo = if has("-A INPUT -i lo -j ACCEPT") && has("-A OUTPUT -o lo -j ACCEPT") {
        "lo accepted"
    } else {
        "lo not accepted"
    };
    let ret = if lines.iter().rfind(|l| l.starts_with("-A VIC ")) == Some(&"-A VIC -j RETURN") {
        "VIC ends with RETURN"
    } else {
        "VIC does not end with RETURN"
    };
    let forward: Vec<&str> = lines
        .iter()
        .filter(|l| l.starts_with("-A FORWARD ") && l.ends_with("-j ACCEPT"))
        .filter_map(|l| word_after(l, "-i"))
        .filter(|i| *i != "lo")
        .collect();
    let redirects: Vec<String> = lines
        .iter()
        .filter(|l| l.contains("-j REDIRECT"))
        .map(|l| {
            format!(
                "{} {}->{}",
                word_after(l, "-p").unwrap_or("?"),
                word_after(l, "--dport").unwrap_or("?"),
                word_after(l, "--to-ports")
                    .or_else(|| word_after(l, "--to-port"))
                    .unwrap_or("?")
            )
        })
        .collect();
    let list = |v: &[String]| {
        if v.is_empty() {
            "none".to_owned()
        } else {
            v.join(",")
        }
    };
    format!(
        "INPUT={} OUTPUT={} FORWARD={}; {jumps}; {lo}; {ret}; forward: {}; nat: {}",
        policy("INPUT"),
        policy("OUTPUT"),
        policy("FORWARD"),
        list(&forward.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
        list(&redirects)
    )
}

pub(super) fn word_after<'a>(line: &'a str, flag: &str) -> Option<&'a str> {
    let mut words = line.split_whitespace();
    words.find(|w| *w == flag)?;
    words.next()
}

#[cfg(test)]
mod tests {
    use super::super::matrix::LEVELS;
    use super::*;

    #[test]
    fn shape_reads_restore_and_save_forms() {
        let text = "*filter\n:INPUT DROP [0:0]\n:OUTPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:VIC - [0:0]\n-A INPUT -j VIC\n-A OUTPUT -j VIC\n-A INPUT -i lo -j ACCEPT\n-A OUTPUT -o lo -j ACCEPT\n-A FORWARD -i lo -o lo -j ACCEPT\n-A FORWARD -i eth0 -j ACCEPT\n-A VIC -j RETURN\nCOMMIT\n*nat\n-A PREROUTING -i eth0 -p tcp -m tcp --dport 8443 -j REDIRECT --to-ports 443\nCOMMIT\n";
        assert_eq!(shape(text), expected_shape(&LEVELS[5]));
        assert!(shape("").contains("INPUT=missing"));
    }
}
