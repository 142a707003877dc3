//! One scrape: the process families here, the others in their modules, encoded with
//! prometheus-client's collector API from a [`Snapshot`] and the kernel's IPVS table read now.

use super::families::{b, counters, gauges, histogram, infos};
use super::Snapshot;
use lvsd_ipvs::netlink::IpvsSocket;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::registry::Registry;
use std::fmt;

#[derive(Debug)]
struct Scrape {
    snap: Snapshot,
    ipvs: Option<lvsd_ipvs::netlink::Snapshot>,
}

/// Encodes a scrape: the snapshot and the kernel's IPVS table with its counters, read now
/// (none without IPVS).
pub fn encode(snap: Snapshot, mut out: super::body::ChunkWriter) -> Result<(), fmt::Error> {
    let ipvs = IpvsSocket::open().ok().and_then(|mut s| s.snapshot().ok());
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Scrape { snap, ipvs }));
    prometheus_client::encoding::prometheus_text::encode(&mut out, &registry)?;
    out.finish()
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot").finish_non_exhaustive()
    }
}

impl Collector for Scrape {
    fn encode(&self, mut enc: DescriptorEncoder) -> fmt::Result {
        let s = &self.snap;
        process(&mut enc, s)?;
        super::vrrp::encode(&mut enc, s)?;
        super::trackers::encode(&mut enc, s)?;
        super::lvs::encode(&mut enc, s)?;
        gauges(
            &mut enc,
            "lvsd_ipvs_readable",
            "1 if this scrape read the kernel's IPVS table (its families follow), 0 if it could not (no IPVS, or the dump failed).",
            vec![(vec![], i64::from(self.ipvs.is_some()))],
        )?;
        if let Some(t) = &self.ipvs {
            super::ipvs::encode(&mut enc, t)?;
        }
        Ok(())
    }
}

fn process(enc: &mut DescriptorEncoder, s: &Snapshot) -> fmt::Result {
    infos(
        enc,
        "lvsd_build",
        "The lvsd version running.",
        vec![vec![("version", b(env!("CARGO_PKG_VERSION")))]],
    )?;
    gauges(
        enc,
        "lvsd_up",
        "1 while lvsd answers.",
        vec![(vec![], 1i64)],
    )?;
    gauges(
        enc,
        "lvsd_start_time_seconds",
        "When lvsd started, in seconds since the epoch.",
        vec![(vec![], s.reloads.started)],
    )?;
    let r = &s.reloads;
    counters(
        enc,
        "lvsd_config_loads",
        "Configuration loads (the start and every reload) by result: success (applied) or failure (refused, the running configuration kept).",
        vec![
            (vec![("result", b("success"))], r.succeeded),
            (vec![("result", b("failure"))], r.failed),
        ],
    )?;
    gauges(
        enc,
        "lvsd_config_last_reload_successful",
        "1 if the last configuration load was applied, 0 if it was refused.",
        vec![(vec![], i64::from(r.last_ok))],
    )?;
    gauges(
        enc,
        "lvsd_config_last_reload_success_timestamp_seconds",
        "When a configuration was last applied, in seconds since the epoch.",
        vec![(vec![], r.last_success)],
    )?;
    gauges(
        enc,
        "lvsd_config_hash",
        "Hash (XXH3, 52 bits) of the configuration text applied last (every file, includes too): it changes when the applied configuration does.",
        vec![(vec![], r.hash as f64)],
    )?;
    counters(
        enc,
        "lvsd_control_requests_refused",
        "Control socket requests refused: malformed, too long, another protocol version, or not allowed to the peer.",
        vec![(vec![], s.control_refused)],
    )?;
    if let Some(c) = &s.reconciler {
        use super::super::reconciler::{OP_KINDS, PASS_BUCKETS};
        counters(
            enc,
            "lvsd_reconciler_ipvs_operations",
            "IPVS operations the reconciler applied, by kind.",
            OP_KINDS
                .iter()
                .zip(c.ops_by_kind)
                .map(|(k, n)| (vec![("kind", b(k))], n)),
        )?;
        counters(
            enc,
            "lvsd_reconciler_failures",
            "Host changes (IPVS operations, addresses, guard rules) the kernel refused.",
            vec![(vec![], c.failures)],
        )?;
        counters(
            enc,
            "lvsd_reconciler_drift_repairs",
            "Times the kernel's IPVS table was found changed behind lvsd's back and repaired.",
            vec![(vec![], c.repairs)],
        )?;
        counters(
            enc,
            "lvsd_reconciler_drift_repair_operations",
            "The operations of those repairs, by kind.",
            OP_KINDS
                .iter()
                .zip(c.repair_ops_by_kind)
                .map(|(k, n)| (vec![("kind", b(k))], n)),
        )?;
        let buckets: Vec<(f64, u64)> = PASS_BUCKETS
            .iter()
            .copied()
            .chain([f64::INFINITY])
            .zip(c.pass_buckets)
            .collect();
        histogram(
            enc,
            "lvsd_reconciler_pass_duration_seconds",
            "How long the reconciler's passes took (a health change, a VRRP change, a reload, a drift check).",
            c.pass_seconds,
            c.passes,
            &buckets,
        )?;
    }
    Ok(())
}
