//! The engine's state as JSON (what `lvsd status` and the control socket show).

use lvsd_vrrp::{Router, State, Time};
use serde_json::{json, Value};
use std::collections::HashMap;

/// An instance's last transition: when, from, to, why.
pub type Transitions = HashMap<String, (std::time::Instant, State, State, String)>;

pub fn snapshot(router: &Router, now: Time, transitions: &Transitions) -> Value {
    let instances: Vec<Value> = router
        .instances()
        .iter()
        .filter(|i| !i.is_deleted())
        .map(|i| {
            let c = i.config();
            json!({
                "name": c.name,
                "state": i.state().name(),
                "reason": i.reason().to_string(),
                "vrid": c.vrid,
                "version": if c.version == lvsd_vrrp::packet::Version::V2 { 2 } else { 3 },
                "interface": c.interface,
                "priority": c.priority,
                "effective_priority": i.effective_priority(),
                "source": i.source_address(),
                "master": i.current_master().map(|(a, p)| json!({"address": a, "priority": p})),
                "vips": c.vips,
                "stats": i.stats(),
                "last_transition": transitions.get(&c.name).map(|(at, from, to, why)| json!({
                    "from": from.name(),
                    "to": to.name(),
                    "reason": why,
                    "ago_s": at.elapsed().as_secs_f64(),
                })),
            })
        })
        .collect();
    let groups: Vec<Value> = router
        .groups()
        .iter()
        .map(|g| {
            json!({
                "name": g.name,
                "state": g.state().map(|s| s.name()),
                "members": g.members.iter().map(|m| router.instance(*m).name()).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "uptime_us": now.as_micros(),
        "instances": instances,
        "sync_groups": groups,
        "router_drops": router.stats(),
    })
}
