//! The VRRP families: per instance state, priorities, the master heard, counters.

use super::families::{b, counters, gauges, infos, o, Labels, Rows};
use super::Snapshot;
use prometheus_client::encoding::DescriptorEncoder;
use std::fmt;

/// keepalived's numbering of the VRRP states (keepalived-exporter's `keepalived_vrrp_state`),
/// STOP (an instance removed by a reload, or lvsd stopping) as 4.
pub fn state_number(s: &str) -> i64 {
    match s {
        "INIT" => 0,
        "BACKUP" => 1,
        "MASTER" => 2,
        "FAULT" => 3,
        _ => 4,
    }
}

/// An instance's counter name in `status` -> (metric, help, extra label).
fn instance_counter(name: &str) -> Option<(&'static str, &'static str, Option<String>)> {
    Some(match name {
        "adverts_rx" => (
            "lvsd_vrrp_adverts_received",
            "VRRP adverts received and accepted.",
            None,
        ),
        "adverts_tx" => ("lvsd_vrrp_adverts_sent", "VRRP adverts sent.", None),
        "priority_zero_rx" => (
            "lvsd_vrrp_priority_zero_received",
            "Adverts of priority 0 (a master leaving) received.",
            None,
        ),
        "priority_zero_tx" => (
            "lvsd_vrrp_priority_zero_sent",
            "Adverts of priority 0 sent (this node leaving MASTER).",
            None,
        ),
        "became_master" => ("lvsd_vrrp_became_master", "Transitions to MASTER.", None),
        "became_backup" => (
            "lvsd_vrrp_became_backup",
            "Transitions to BACKUP (the first one at start included).",
            None,
        ),
        "became_fault" => ("lvsd_vrrp_became_fault", "Transitions to FAULT.", None),
        "gratuitous_rounds" => (
            "lvsd_vrrp_gratuitous_rounds",
            "Rounds of gratuitous ARPs (IPv4) or unsolicited neighbour adverts (IPv6) sent: one per VIP each round.",
            None,
        ),
        "released_master" => (
            "lvsd_vrrp_released_master",
            "Transitions from MASTER to another state.",
            None,
        ),
        "address_list_mismatch" => (
            "lvsd_vrrp_address_list_mismatches",
            "Adverts accepted whose address list differs from the instance's.",
            None,
        ),
        n => {
            let reason = n.strip_prefix("drops_")?;
            (
                "lvsd_vrrp_adverts_dropped",
                "VRRP adverts dropped, by reason.",
                Some(reason.to_string()),
            )
        }
    })
}

fn id(i: &crate::proto::InstanceStatus) -> Labels<'_> {
    vec![
        ("vrrp_instance", b(&i.name)),
        ("interface", b(i.interface.as_deref().unwrap_or_default())),
        ("vrid", o(i.vrid)),
    ]
}

pub fn encode(enc: &mut DescriptorEncoder, s: &Snapshot) -> fmt::Result {
    let v = &s.vrrp;
    gauges(
        enc,
        "lvsd_vrrp_state",
        "VRRP state, keepalived's numbers: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT, 4 STOP.",
        v.instances.iter().map(|i| (id(i), state_number(&i.state))),
    )?;
    gauges(
        enc,
        "lvsd_vrrp_demoted",
        "1 while an operator holds the instance demoted (`lvsd vrrp demote`): it stays BACKUP.",
        v.instances
            .iter()
            .map(|i| (id(i), i64::from(i.demoted.is_some()))),
    )?;
    gauges(
        enc,
        "lvsd_vrrp_priority",
        "Configured VRRP priority.",
        v.instances.iter().map(|i| (id(i), i64::from(i.priority))),
    )?;
    gauges(
        enc,
        "lvsd_vrrp_effective_priority",
        "VRRP priority after the trackers' weights.",
        v.instances
            .iter()
            .map(|i| (id(i), i64::from(i.effective_priority))),
    )?;
    infos(
        enc,
        "lvsd_vrrp_master",
        "The master this instance hears (none while it is the master itself), by address: the series changes when the master does.",
        v.instances.iter().filter_map(|i| {
            let m = i.master.as_ref()?;
            let mut l = id(i);
            l.push(("master", o(m.address)));
            Some(l)
        }),
    )?;
    gauges(
        enc,
        "lvsd_vrrp_master_priority",
        "The priority in the adverts of the master this instance hears.",
        v.instances
            .iter()
            .filter_map(|i| Some((id(i), i64::from(i.master.as_ref()?.priority)))),
    )?;
    gauges(
        enc,
        "lvsd_vrrp_last_transition_timestamp_seconds",
        "When the instance last changed state, in seconds since the epoch.",
        v.instances
            .iter()
            .filter_map(|i| Some((id(i), s.vrrp_now - i.last_transition.as_ref()?.ago_s))),
    )?;
    infos(
        enc,
        "lvsd_vrrp_last_transition",
        "The instance's last transition and why (an info family: its series changes at each transition).",
        v.instances.iter().filter_map(|i| {
            let t = i.last_transition.as_ref()?;
            let mut l = id(i);
            l.push(("from", b(&t.from)));
            l.push(("to", b(&t.to)));
            l.push(("reason", b(&t.reason)));
            Some(l)
        }),
    )?;
    // the instances' counters, one family per name
    let mut by_metric: Vec<(&str, &str, Rows<u64>)> = Vec::new();
    for i in &v.instances {
        for (name, n) in &i.stats {
            let Some((metric, help, reason)) = instance_counter(name) else {
                continue;
            };
            let mut l = id(i);
            if let Some(r) = reason {
                l.push(("reason", o(r)));
            }
            match by_metric.iter_mut().find(|(m, _, _)| *m == metric) {
                Some((_, _, rows)) => rows.push((l, *n)),
                None => by_metric.push((metric, help, vec![(l, *n)])),
            }
        }
    }
    for (metric, help, rows) in by_metric {
        counters(enc, metric, help, rows)?;
    }
    counters(
        enc,
        "lvsd_vrrp_router_adverts_dropped",
        "VRRP packets dropped before an instance was found for them, by reason.",
        v.router_drops
            .iter()
            .map(|(r, n)| (vec![("reason", o(r.replace('-', "_")))], *n)),
    )?;
    Ok(())
}
