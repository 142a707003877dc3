//! The engine's state (what `lvsd status` and the control socket show).

use crate::proto::{counters, GroupStatus, InstanceStatus, MasterRef, Transition, VrrpStatus};
use lvsd_vrrp::{Router, State, Time};
use std::collections::HashMap;

/// An instance's last transition: when, from, to, why.
pub type Transitions = HashMap<String, (std::time::Instant, State, State, String)>;

pub fn snapshot(router: &Router, now: Time, transitions: &Transitions) -> VrrpStatus {
    let instances = router
        .instances()
        .iter()
        .filter(|i| !i.is_deleted())
        .map(|i| {
            let c = i.config();
            InstanceStatus {
                name: c.name.clone(),
                state: i.state().name().to_string(),
                reason: i.reason().to_string(),
                vrid: c.vrid,
                version: if c.version == lvsd_vrrp::packet::Version::V2 {
                    2
                } else {
                    3
                },
                interface: c.interface.clone(),
                priority: c.priority,
                effective_priority: i.effective_priority(),
                source: i.source_address(),
                master: i
                    .current_master()
                    .map(|(address, priority)| MasterRef { address, priority }),
                vips: c.vips.clone(),
                stats: counters(i.stats()),
                last_transition: transitions
                    .get(&c.name)
                    .map(|(at, from, to, why)| Transition {
                        from: from.name().to_string(),
                        to: to.name().to_string(),
                        reason: why.clone(),
                        ago_s: at.elapsed().as_secs_f64(),
                    }),
                // who and since when: from the overrides (control.rs)
                demoted: i.demoted().then(|| crate::proto::Demoted {
                    since: 0.0,
                    by: String::new(),
                }),
            }
        })
        .collect();
    let sync_groups = router
        .groups()
        .iter()
        .map(|g| GroupStatus {
            name: g.name.clone(),
            state: g.state().map(|s| s.name().to_string()),
            members: g
                .members
                .iter()
                .map(|m| router.instance(*m).name().to_string())
                .collect(),
        })
        .collect();
    VrrpStatus {
        uptime_us: now.as_micros(),
        instances,
        sync_groups,
        router_drops: counters(router.stats()),
    }
}
