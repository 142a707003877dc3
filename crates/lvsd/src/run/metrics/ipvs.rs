//! The kernel's IPVS counters per service and destination (generic netlink, not /proc),
//! labelled as node_exporter's ipvs collector labels them.

use super::families::{b, counters, gauges, o, Labels};
use lvsd_ipvs::netlink::{DestCounters, Snapshot};
use lvsd_ipvs::{Dest, Family, ServiceKey, Stats};
use prometheus_client::encoding::DescriptorEncoder;
use std::fmt;

/// The kernel's labels of a service, as node_exporter's ipvs collector names them.
fn service_labels<'a>(k: &ServiceKey) -> Labels<'a> {
    match k {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => vec![
            ("local_address", o(addr)),
            ("local_port", o(port)),
            ("local_mark", b("")),
            ("proto", b(protocol.name())),
        ],
        ServiceKey::Fwmark { family, mark } => vec![
            ("local_address", b("")),
            ("local_port", b("0")),
            ("local_mark", o(mark)),
            (
                "proto",
                b(if *family == Family::V4 { "FWM" } else { "FWM6" }),
            ),
        ],
    }
}

fn dest_labels<'a>(k: &ServiceKey, d: &Dest) -> Labels<'a> {
    let mut l = service_labels(k);
    l.push(("remote_address", o(d.addr)));
    l.push(("remote_port", o(d.port)));
    l
}

/// Every destination with its service's key.
fn dests(t: &Snapshot) -> impl Iterator<Item = (&ServiceKey, &Dest, &DestCounters, &Stats)> {
    t.iter()
        .flat_map(|(svc, _, dests)| dests.iter().map(move |(d, c, st)| (&svc.key, d, c, st)))
}

type Field = (&'static str, &'static str, fn(&Stats) -> u64);

const FIELDS: [Field; 5] = [
    ("connections", "Connections scheduled", |s| s.conns),
    ("incoming_packets", "Packets in", |s| s.inpkts),
    ("outgoing_packets", "Packets out", |s| s.outpkts),
    ("incoming_bytes", "Bytes in", |s| s.inbytes),
    ("outgoing_bytes", "Bytes out", |s| s.outbytes),
];

pub fn encode(enc: &mut DescriptorEncoder, t: &Snapshot) -> fmt::Result {
    for (name, help, f) in FIELDS {
        counters(
            enc,
            &format!("lvsd_ipvs_service_{name}"),
            &format!("{help}, per IPVS service (the kernel's counters)."),
            t.iter()
                .map(|(svc, st, _)| (service_labels(&svc.key), f(st))),
        )?;
        counters(
            enc,
            &format!("lvsd_ipvs_backend_{name}"),
            &format!("{help}, per IPVS destination (the kernel's counters)."),
            dests(t).map(|(k, d, _, st)| (dest_labels(k, d), f(st))),
        )?;
    }
    gauges(
        enc,
        "lvsd_ipvs_backend_connections_active",
        "Active connections per IPVS destination.",
        dests(t).map(|(k, d, c, _)| (dest_labels(k, d), i64::from(c.active))),
    )?;
    gauges(
        enc,
        "lvsd_ipvs_backend_connections_inactive",
        "Inactive connections per IPVS destination.",
        dests(t).map(|(k, d, c, _)| (dest_labels(k, d), i64::from(c.inactive))),
    )?;
    gauges(
        enc,
        "lvsd_ipvs_backend_weight",
        "Weight of each IPVS destination in the kernel.",
        dests(t).map(|(k, d, _, _)| (dest_labels(k, d), i64::from(d.weight))),
    )?;
    Ok(())
}
