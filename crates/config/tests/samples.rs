//! The sample configurations Debian's keepalived package installs
//! (/usr/share/doc/keepalived/samples) parse without panic and get the same
//! accept/reject verdict as keepalived 2.2.7 (`keepalived -t`, recorded in
//! fixtures/keepalived-2.2.7-samples-verdicts.txt), except where lvsd
//! deliberately differs (listed below, with the reason).

use lvsd_config::{load_file, LoadOptions, Severity};
use std::collections::BTreeMap;
use std::path::Path;

const SAMPLES: &str = "/usr/share/doc/keepalived/samples";

/// Samples where lvsd's verdict differs from keepalived's on purpose: none (issue 21: a file
/// keepalived runs is never refused; `keepalived.conf.vrrp.rules`' invalid `to 192.168.100./24`
/// is ignored with a warning, as keepalived drops that rule).
const DELIBERATE: &[(&str, &str)] = &[];

struct Verdict {
    messages: Vec<String>,
}

fn keepalived_verdicts() -> BTreeMap<String, Verdict> {
    let text = include_str!("fixtures/keepalived-2.2.7-samples-verdicts.txt");
    let mut out = BTreeMap::new();
    let mut cur: Option<String> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("=== ") {
            let name = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
            out.insert(
                name.clone(),
                Verdict {
                    messages: Vec::new(),
                },
            );
            cur = Some(name);
        } else if let (Some(c), false) = (&cur, line.trim().is_empty()) {
            out.get_mut(c)
                .expect("section")
                .messages
                .push(line.to_string());
        }
    }
    out
}

/// keepalived 2.2.7 refuses a configuration only for fatal parse errors; every
/// message in these samples is a warning or a missing interface on the lab
/// machine, and keepalived runs with them.
fn keepalived_accepts(v: &Verdict) -> bool {
    !v.messages
        .iter()
        .any(|m| m.contains("Configuration file ") && m.contains("fatal"))
}

#[test]
fn debian_samples_get_keepalived_verdicts() {
    let dir = Path::new(SAMPLES);
    assert!(
        dir.is_dir(),
        "{SAMPLES} is missing: install Debian's keepalived package (.ci/run does)"
    );
    let verdicts = keepalived_verdicts();
    assert_eq!(verdicts.len(), 25, "verdict file");
    let mut problems = Vec::new();
    for (name, v) in &verdicts {
        let path = dir.join(name);
        let loaded = load_file(
            &path,
            &LoadOptions {
                config_id: Some("lab".into()),
            },
        );
        let ours_accepts = loaded.worst() != Some(Severity::Error);
        let expected = match DELIBERATE.iter().find(|(n, _)| n == name) {
            Some(_) => !keepalived_accepts(v),
            None => keepalived_accepts(v),
        };
        if ours_accepts != expected {
            let errs: Vec<String> = loaded
                .diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .map(|d| format!("  {}:{} {}", d.line(), d.code.name(), d.message))
                .collect();
            problems.push(format!(
                "{name}: lvsd accepts={ours_accepts}, expected {expected}\n{}",
                errs.join("\n")
            ));
        }
        // Every unknown keyword keepalived reports, lvsd reports at the same line.
        for m in &v.messages {
            if let Some(pos) = m.find("Line ") {
                if m.contains("Unknown keyword") {
                    let line: u32 = m[pos + 5..]
                        .split(')')
                        .next()
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(0);
                    if !loaded
                        .diagnostics
                        .iter()
                        .any(|d| d.line() == line && d.code.name() == "unknown-keyword")
                    {
                        problems.push(format!("{name}: keepalived says `{m}`, lvsd does not"));
                    }
                }
            }
            if m.contains("protocol specified for fwmark")
                && !loaded
                    .diagnostics
                    .iter()
                    .any(|d| d.code.name() == "fwmark-protocol")
            {
                problems.push(format!("{name}: no fwmark-protocol warning"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn debian_default_config_is_accepted() {
    // Debian ships keepalived.conf.sample as the documented starting point.
    let p = Path::new(SAMPLES).join("keepalived.conf.sample");
    let loaded = load_file(&p, &LoadOptions::default());
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    assert!(!loaded.config.instances.is_empty());
    assert!(!loaded.config.virtual_servers.is_empty());
}
