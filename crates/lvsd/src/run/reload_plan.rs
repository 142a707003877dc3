//! The VRRP part of a reload, as one list of changes (issue 22): `lvsd reload --dry-run`
//! prints it, and the engine applies the same list — a MASTER re-installs its addresses,
//! routes and rules when a change says so, and nothing else is decided elsewhere. Sans-IO: two
//! plans and the instances' states in, changes out.
//!
//! Every keyword of a vrrp_instance (and the blocks instances depend on) has a stated effect
//! at reload ([`instance_effect`]); a unit test fails when the configuration model grows a
//! keyword this table does not classify.

use super::plan::{Plan, Vip};
use super::world::States;
use lvsd_vrrp::State;
use std::fmt;

/// When a changed item takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// At once: the next advert carries it, the election uses it.
    Now,
    /// On a MASTER: installed (or removed) at once, added addresses announced; a BACKUP
    /// installs it when it becomes MASTER.
    Host,
    /// Used from the next transition (notify scripts, gratuitous ARP settings).
    NextTransition,
    /// The initial state: read at start only.
    StartOnly,
    /// Another virtual router (VRID, version, interface, family): the instance is deleted and
    /// created again, which is a transition (priority-0 advert, the new one starts as BACKUP).
    Recreate,
    /// Accepted by lvsd without effect (not implemented).
    Ignored,
    Added,
    Removed,
}

impl Effect {
    fn says(self, master: bool) -> &'static str {
        match self {
            Effect::Now => "applies at once (the next advert and election use it)",
            Effect::Host if master => "installed at once (this instance is MASTER)",
            Effect::Host => "installed when this instance becomes MASTER",
            Effect::NextTransition => "used from the next state transition",
            Effect::StartOnly => "the initial state: read at start only, no effect at reload",
            Effect::Recreate => {
                "another virtual router: the instance is deleted and created again (a transition)"
            }
            Effect::Ignored => "accepted without effect (not implemented in lvsd)",
            Effect::Added => "starts in BACKUP; its addresses follow the election",
            Effect::Removed if master => "priority-0 advert, its addresses are removed",
            Effect::Removed => "priority-0 advert",
        }
    }
}

/// One difference between the running configuration and the new one.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// `VI_1`, `vrrp_script chk`, `vrrp_sync_group G`, `global_defs`.
    pub scope: String,
    /// The keyword (or `address` / `route` / `rule` for one host item).
    pub what: String,
    pub detail: String,
    pub effect: Effect,
    /// The instance is MASTER now.
    pub master: bool,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VRRP {}: {}", self.scope, self.what)?;
        if !self.detail.is_empty() {
            write!(f, " {}", self.detail)?;
        }
        write!(f, " — {}", self.effect.says(self.master))
    }
}

impl Change {
    /// A change the engine carries out on the host now: a MASTER's addresses, routes, rules.
    pub fn installs_now(&self) -> bool {
        self.effect == Effect::Host && self.master
    }
    /// An address added on a MASTER: announced (gratuitous ARP / NA).
    pub fn announces(&self) -> bool {
        self.installs_now() && self.what == "address" && self.detail.starts_with('+')
    }
}

use Effect::*;

/// What a changed `vrrp_instance` keyword does at reload (`None`: not a keyword — location,
/// name, derived fields). Complete: a unit test fails when the model has a key not listed.
pub(super) const INSTANCE_KEYS: &[(&str, Option<Effect>)] = &[
    ("loc", None),
    ("name", None),
    ("priority_given", None),
    ("virtual_router_id", Some(Recreate)),
    ("version", Some(Recreate)),
    ("interface", Some(Recreate)),
    ("state", Some(StartOnly)),
    ("virtual_ipaddress", Some(Host)),
    ("virtual_ipaddress_excluded", Some(Host)),
    ("virtual_routes", Some(Host)),
    ("virtual_rules", Some(Host)),
    ("no_virtual_ipaddress", Some(Host)),
    ("priority", Some(Now)),
    ("advert_int", Some(Now)),
    ("nopreempt", Some(Now)),
    ("preempt_delay", Some(Now)),
    ("authentication", Some(Now)),
    ("unicast_peers", Some(Now)),
    ("unicast_src_ip", Some(Now)),
    ("unicast_ttl", Some(Now)),
    ("mcast_dst_ip", Some(Now)),
    ("check_unicast_src", Some(Now)),
    ("track", Some(Now)),
    ("dont_track_primary", Some(Now)),
    ("track_src_ip", Some(Now)),
    ("accept", Some(Now)),
    ("strict_mode", Some(Now)),
    ("skip_check_adv_addr", Some(Now)),
    ("owner_ignore_adverts", Some(Now)),
    ("lower_prio_no_advert", Some(Now)),
    ("higher_prio_send_advert", Some(Now)),
    ("down_timer_adverts", Some(Now)),
    ("v3_checksum_as_v2", Some(Now)),
    ("garp", Some(NextTransition)),
    ("notify", Some(NextTransition)),
    ("notify_priority_changes", Some(NextTransition)),
    ("smtp_alert", Some(NextTransition)),
    ("use_vmac", Some(Ignored)),
    ("promote_secondaries", Some(Ignored)),
    ("other", Some(Ignored)),
];

/// What a changed `global_defs` keyword does at reload. The instance-level consequences (an
/// instance whose version or multicast group follows) are reported on the instances; the
/// IPVS ones (lvs_timeouts, lvs_sync_daemon, colocated_directors) are host steps as well.
pub(super) const GLOBAL_KEYS: &[(&str, Effect)] = &[
    ("router_id", Now),
    ("notification_email", Now),
    ("notification_email_from", Now),
    ("smtp_server", Now),
    ("smtp_helo_name", Now),
    ("smtp_connect_timeout", Now),
    ("smtp_alert", Now),
    ("smtp_alert_vrrp", Now),
    ("smtp_alert_checker", Now),
    ("no_email_faults", Now),
    ("checker_log_all_failures", Now),
    ("vrrp_mcast_group4", Now),
    ("vrrp_mcast_group6", Now),
    ("default_interface", Now),
    ("vrrp_version", Now),
    ("vrrp_strict", Now),
    ("vrrp_skip_check_adv_addr", Now),
    ("vrrp_address_mismatch_reject", Now),
    ("vrrp_script_missing_up", Now),
    ("vrrp_check_unicast_src", Now),
    ("v3_checksum_as_v2", Now),
    ("vrrp_garp_interval", NextTransition),
    ("vrrp_gna_interval", NextTransition),
    ("garp", NextTransition),
    ("vrrp_down_timer_adverts", Now),
    ("vrrp_lower_prio_no_advert", Now),
    ("vrrp_higher_prio_send_advert", Now),
    ("vrrp_owner_ignore_adverts", Now),
    ("vrrp_notify_priority_changes", NextTransition),
    ("vrrp_startup_delay", Ignored),
    ("dynamic_interfaces", Ignored),
    ("lvs_timeouts", Now),
    ("lvs_flush", StartOnly),
    ("lvs_flush_on_stop", Now),
    ("lvs_sync_daemon", Now),
    ("colocated_directors", Now),
    ("colocated_on_stop_remove", Now),
    ("metrics_listen", Now),
    ("control_group", Now),
    ("status_group", Now),
    ("script_user", Now),
    ("script_group", Now),
    ("enable_script_security", Now),
    ("startup_script", Ignored),
    ("startup_script_timeout", Ignored),
    ("shutdown_script", Ignored),
    ("shutdown_script_timeout", Ignored),
    ("notify_fifo", StartOnly),
    ("vrrp_notify_fifo", StartOnly),
    ("lvs_notify_fifo", StartOnly),
    ("random_seed", StartOnly),
    ("net_namespace", StartOnly),
    ("instance", StartOnly),
    ("other", Ignored),
];

pub fn instance_effect(key: &str) -> Option<Effect> {
    match INSTANCE_KEYS.iter().find(|(k, _)| *k == key) {
        Some((_, e)) => *e,
        // unclassified: say "no effect" rather than guess (the unit test keeps the table full)
        None => Some(Ignored),
    }
}

pub fn global_effect(key: &str) -> Effect {
    GLOBAL_KEYS
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, e)| *e)
        .unwrap_or(Ignored)
}

fn addr_text(v: &Vip) -> String {
    format!("{}/{} dev {}", v.addr, v.prefix_len, v.dev)
}

fn value_text(v: &serde_json::Value) -> String {
    let s = compact(v);
    if s.chars().count() > 100 {
        format!("{}...", s.chars().take(97).collect::<String>())
    } else {
        s
    }
}

/// A configuration value as a line of text: unset fields left out, a script as its command,
/// a named item (tracker, peer) by its name first.
fn compact(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::Null => "(unset)".into(),
        Value::String(s) => s.clone(),
        Value::Array(a) => format!("[{}]", a.iter().map(compact).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => {
            if let Some(Value::String(c)) = m.get("command") {
                return format!("\"{c}\"");
            }
            let mut parts = Vec::new();
            if let Some(n) = m.get("name").or_else(|| m.get("addr")) {
                parts.push(compact(n));
            }
            for (k, x) in m {
                let empty = x.is_null() || x.as_array().is_some_and(Vec::is_empty);
                if k == "name" || k == "addr" || empty {
                    continue;
                }
                parts.push(format!("{k}={}", compact(x)));
            }
            if parts.is_empty() {
                "(none)".into()
            } else {
                parts.join(" ")
            }
        }
        other => other.to_string(),
    }
}

/// Strips `loc` fields (line numbers move when lines are added above).
fn without_locs(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            m.remove("loc");
            m.values_mut().for_each(without_locs);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(without_locs),
        _ => {}
    }
}

fn json<T: serde::Serialize>(t: &T) -> serde_json::Value {
    let mut v = serde_json::to_value(t).unwrap_or_default();
    without_locs(&mut v);
    v
}

/// The VRRP changes from `old` to `new`; `states`: each running instance's state.
pub fn vrrp_changes(old: &Plan, new: &Plan, states: &States) -> Vec<Change> {
    let mut out = Vec::new();
    let master = |n: &str| states.get(n) == Some(&State::Master);
    let change = |scope: &str, what: &str, detail: String, effect: Effect, m: bool| Change {
        scope: scope.to_string(),
        what: what.to_string(),
        detail,
        effect,
        master: m,
    };
    for o in &old.config.instances {
        if !new.config.instances.iter().any(|n| n.name == o.name) {
            out.push(change(
                &o.name,
                "removed",
                String::new(),
                Effect::Removed,
                master(&o.name),
            ));
        }
    }
    for n in &new.config.instances {
        let Some(o) = old.config.instances.iter().find(|o| o.name == n.name) else {
            out.push(change(
                &n.name,
                "added",
                String::new(),
                Effect::Added,
                false,
            ));
            continue;
        };
        let m = master(&n.name);
        let (ov, nv) = (json(o), json(n));
        let (Some(om), Some(nm)) = (ov.as_object(), nv.as_object()) else {
            continue;
        };
        // the virtual router's identity first (as the VRRP core decides it, globals such as
        // vrrp_version included): a recreated instance's other changes go with it
        let identity = |p: &Plan| {
            p.instances
                .iter()
                .find(|i| i.name == n.name)
                .map(|i| (i.vrid, i.version, i.family, i.interface.clone()))
        };
        let (oid, nid) = (identity(old), identity(new));
        if oid != nid {
            let detail = match (oid, nid) {
                (Some(o), Some(n)) => format!(
                    "vrid {} -> {}, version {:?} -> {:?}, family {:?} -> {:?}, interface {} -> {}",
                    o.0,
                    n.0,
                    o.1,
                    n.1,
                    o.2,
                    n.2,
                    o.3.as_deref().unwrap_or("-"),
                    n.3.as_deref().unwrap_or("-")
                ),
                _ => String::new(),
            };
            out.push(change(
                &n.name,
                "virtual router",
                detail,
                Effect::Recreate,
                m,
            ));
            continue;
        }
        for (k, nvk) in nm {
            let ovk = om.get(k).unwrap_or(&serde_json::Value::Null);
            if ovk == nvk {
                continue;
            }
            let Some(effect) = instance_effect(k) else {
                continue;
            };
            if effect == Effect::Host || effect == Effect::Recreate {
                // below, item by item, from what the engine installs; the identity above
                continue;
            }
            let detail = match k.as_str() {
                "authentication" => "changed".to_string(),
                _ => format!("{} -> {}", value_text(ovk), value_text(nvk)),
            };
            out.push(change(&n.name, k, detail, effect, m));
        }
        host_changes(old, new, &n.name, m, &mut out);
    }
    groups_and_trackers(old, new, &mut out);
    let (og, ng) = (json(&old.config.global), json(&new.config.global));
    if let (Some(om), Some(nm)) = (og.as_object(), ng.as_object()) {
        for (k, nv) in nm {
            let ov = om.get(k).unwrap_or(&serde_json::Value::Null);
            if ov != nv {
                out.push(change(
                    "global_defs",
                    k,
                    format!("{} -> {}", value_text(ov), value_text(nv)),
                    global_effect(k),
                    false,
                ));
            }
        }
    }
    out
}

/// A surviving instance's addresses, routes and rules (what the engine installs on MASTER).
fn host_changes(old: &Plan, new: &Plan, name: &str, master: bool, out: &mut Vec<Change>) {
    let extra = |p: &Plan| {
        p.instances
            .iter()
            .position(|i| i.name == name)
            .and_then(|i| p.extra.get(i))
            .cloned()
            .unwrap_or_default()
    };
    let (o, n) = (extra(old), extra(new));
    let mut items: Vec<(&str, String)> = Vec::new();
    for v in n.vips.iter().filter(|v| !o.vips.contains(v)) {
        items.push(("address", format!("+{}", addr_text(v))));
    }
    for v in o.vips.iter().filter(|v| !n.vips.contains(v)) {
        items.push(("address", format!("-{}", addr_text(v))));
    }
    for (what, ol, nl) in [
        ("route", &o.routes, &n.routes),
        ("rule", &o.rules, &n.rules),
    ] {
        for r in nl.iter().filter(|r| !ol.contains(r)) {
            items.push((what, format!("+{}", r.join(" "))));
        }
        for r in ol.iter().filter(|r| !nl.contains(r)) {
            items.push((what, format!("-{}", r.join(" "))));
        }
    }
    // the same addresses in another order (the first is the primary): re-installed
    if items.is_empty() && o.vips != n.vips {
        items.push(("address", "order changed".into()));
    }
    out.extend(items.into_iter().map(|(what, detail)| Change {
        scope: name.to_string(),
        what: what.to_string(),
        detail,
        effect: Effect::Host,
        master,
    }));
}

/// Sync groups, tracked scripts / files / processes and static addresses: by name.
fn groups_and_trackers(old: &Plan, new: &Plan, out: &mut Vec<Change>) {
    fn by_name<T: serde::Serialize>(
        kind: &str,
        effect: Effect,
        old: &[T],
        new: &[T],
        name: impl Fn(&T) -> &str,
        out: &mut Vec<Change>,
    ) {
        let mk = |n: &str, what: &str, detail: String, effect: Effect| Change {
            scope: format!("{kind} {n}"),
            what: what.to_string(),
            detail,
            effect,
            master: false,
        };
        for o in old {
            if !new.iter().any(|x| name(x) == name(o)) {
                out.push(mk(name(o), "removed", String::new(), effect));
            }
        }
        for n in new {
            match old.iter().find(|x| name(x) == name(n)) {
                None => out.push(mk(name(n), "added", String::new(), effect)),
                Some(o) if json(o) != json(n) => {
                    out.push(mk(name(n), "changed", String::new(), effect))
                }
                Some(_) => {}
            }
        }
    }
    let (o, n) = (&old.config, &new.config);
    by_name(
        "vrrp_sync_group",
        Effect::Now,
        &o.sync_groups,
        &n.sync_groups,
        |g| &g.name,
        out,
    );
    by_name(
        "vrrp_script",
        Effect::Now,
        &o.vrrp_scripts,
        &n.vrrp_scripts,
        |s| &s.name,
        out,
    );
    by_name(
        "track_file",
        Effect::Now,
        &o.track_files,
        &n.track_files,
        |s| &s.name,
        out,
    );
    by_name(
        "vrrp_track_process",
        Effect::Now,
        &o.track_processes,
        &n.track_processes,
        |s| &s.name,
        out,
    );
    for (what, changed) in [
        (
            "static_ipaddress",
            json(&o.static_ipaddress) != json(&n.static_ipaddress),
        ),
        (
            "static_routes",
            json(&o.static_routes) != json(&n.static_routes),
        ),
        (
            "static_rules",
            json(&o.static_rules) != json(&n.static_rules),
        ),
    ] {
        if changed {
            out.push(Change {
                scope: "global".into(),
                what: what.into(),
                detail: "changed".into(),
                effect: Effect::Ignored,
                master: false,
            });
        }
    }
}
