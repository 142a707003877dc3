//! The kernel's IPVS counters per service and destination (generic netlink, not /proc),
//! labelled as node_exporter's ipvs collector labels them.

use super::families::{counters, gauges, Labels, Rows};
use lvsd_ipvs::{Family, ServiceKey};
use prometheus_client::encoding::DescriptorEncoder;
use std::fmt;

/// The kernel's labels of a service, as node_exporter's ipvs collector names them.
fn service_labels(k: &ServiceKey) -> Labels {
    match k {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => vec![
            ("local_address", addr.to_string()),
            ("local_port", port.to_string()),
            ("local_mark", String::new()),
            ("proto", protocol.name().to_string()),
        ],
        ServiceKey::Fwmark { family, mark } => vec![
            ("local_address", String::new()),
            ("local_port", "0".to_string()),
            ("local_mark", mark.to_string()),
            (
                "proto",
                if *family == Family::V4 {
                    "FWM".to_string()
                } else {
                    "FWM6".to_string()
                },
            ),
        ],
    }
}

pub fn encode(enc: &mut DescriptorEncoder, t: &lvsd_ipvs::netlink::Snapshot) -> fmt::Result {
    let svc_rows = |f: &dyn Fn(&lvsd_ipvs::Stats) -> u64| -> Rows<u64> {
        t.iter()
            .map(|(svc, st, _)| (service_labels(&svc.key), f(st)))
            .collect()
    };
    let dest_labels = |k: &ServiceKey, d: &lvsd_ipvs::Dest| -> Labels {
        let mut l = service_labels(k);
        l.push(("remote_address", d.addr.to_string()));
        l.push(("remote_port", d.port.to_string()));
        l
    };
    let dest_rows = |f: &dyn Fn(&lvsd_ipvs::Stats) -> u64| -> Rows<u64> {
        t.iter()
            .flat_map(|(svc, _, dests)| {
                dests
                    .iter()
                    .map(move |(d, _, st)| (dest_labels(&svc.key, d), f(st)))
            })
            .collect()
    };
    type Field = (&'static str, &'static str, fn(&lvsd_ipvs::Stats) -> u64);
    let fields: [Field; 5] = [
        ("connections", "Connections scheduled", |s| s.conns),
        ("incoming_packets", "Packets in", |s| s.inpkts),
        ("outgoing_packets", "Packets out", |s| s.outpkts),
        ("incoming_bytes", "Bytes in", |s| s.inbytes),
        ("outgoing_bytes", "Bytes out", |s| s.outbytes),
    ];
    for (name, help, f) in fields {
        counters(
            enc,
            &format!("lvsd_ipvs_service_{name}"),
            &format!("{help}, per IPVS service (the kernel's counters)."),
            svc_rows(&f),
        )?;
        counters(
            enc,
            &format!("lvsd_ipvs_backend_{name}"),
            &format!("{help}, per IPVS destination (the kernel's counters)."),
            dest_rows(&f),
        )?;
    }
    let gauge_rows = |f: &dyn Fn(&lvsd_ipvs::Dest, &lvsd_ipvs::netlink::DestCounters) -> i64| {
        t.iter()
            .flat_map(|(svc, _, dests)| {
                dests
                    .iter()
                    .map(move |(d, c, _)| (dest_labels(&svc.key, d), f(d, c)))
            })
            .collect::<Vec<_>>()
    };
    gauges(
        enc,
        "lvsd_ipvs_backend_connections_active",
        "Active connections per IPVS destination.",
        gauge_rows(&|_, c| i64::from(c.active)),
    )?;
    gauges(
        enc,
        "lvsd_ipvs_backend_connections_inactive",
        "Inactive connections per IPVS destination.",
        gauge_rows(&|_, c| i64::from(c.inactive)),
    )?;
    gauges(
        enc,
        "lvsd_ipvs_backend_weight",
        "Weight of each IPVS destination in the kernel.",
        gauge_rows(&|d, _| i64::from(d.weight)),
    )?;
    Ok(())
}
