//! The virtual server, real server and checker families (from the health task's status).

use super::families::{b, counters, gauges, o, Labels};
use super::Snapshot;
use crate::proto::{CheckerStatus, RsStatus, VsStatus};
use prometheus_client::encoding::DescriptorEncoder;
use std::fmt;

fn vs_id(v: &VsStatus) -> Labels<'_> {
    vec![("virtual_server", b(&v.name))]
}

fn rs_id<'a>(v: &'a VsStatus, r: &'a RsStatus) -> Labels<'a> {
    vec![
        ("virtual_server", b(&v.name)),
        ("real_server", b(&r.address)),
    ]
}

/// Every real server with its virtual server.
fn real_servers(s: &Snapshot) -> impl Iterator<Item = (&VsStatus, &RsStatus)> {
    s.status
        .lvs
        .virtual_servers
        .iter()
        .flat_map(|v| v.real_servers.iter().map(move |r| (v, r)))
}

/// A checker's label: its kind and target, numbered (`#2`) after the first alike of its real
/// server.
fn checker_name(r: &RsStatus, i: usize) -> String {
    let name = |c: &CheckerStatus| match &c.target {
        Some(t) => format!("{} {t}", c.kind),
        None => c.kind.clone(),
    };
    let me = name(&r.checkers[i]);
    let before = r.checkers[..i].iter().filter(|c| name(c) == me).count();
    if before == 0 {
        me
    } else {
        format!("{me} #{}", before + 1)
    }
}

/// Every checker with its labels.
fn checkers(s: &Snapshot) -> impl Iterator<Item = (Labels<'_>, &CheckerStatus)> {
    real_servers(s).flat_map(|(v, r)| {
        r.checkers.iter().enumerate().map(move |(i, c)| {
            let mut l = rs_id(v, r);
            l.push(("checker", o(checker_name(r, i))));
            (l, c)
        })
    })
}

pub fn encode(enc: &mut DescriptorEncoder, s: &Snapshot) -> fmt::Result {
    let vss = &s.status.lvs.virtual_servers;
    gauges(
        enc,
        "lvsd_virtual_server_quorum_up",
        "1 while the virtual server has its quorum of alive weight.",
        vss.iter().map(|v| (vs_id(v), i64::from(v.quorum_up))),
    )?;
    gauges(
        enc,
        "lvsd_virtual_server_alive_weight",
        "Sum of the weights of the virtual server's alive real servers.",
        vss.iter().map(|v| (vs_id(v), v.alive_weight)),
    )?;
    gauges(
        enc,
        "lvsd_virtual_server_in_kernel",
        "1 if the virtual server's service is in the kernel's IPVS table.",
        vss.iter()
            .filter_map(|v| Some((vs_id(v), i64::from(v.in_kernel?)))),
    )?;
    gauges(
        enc,
        "lvsd_real_server_up",
        "1 while the real server is alive (every checker up).",
        real_servers(s).map(|(v, r)| (rs_id(v, r), i64::from(r.alive))),
    )?;
    gauges(
        enc,
        "lvsd_real_server_weight",
        "The real server's configured weight.",
        real_servers(s).map(|(v, r)| (rs_id(v, r), i64::from(r.weight))),
    )?;
    gauges(
        enc,
        "lvsd_real_server_kernel_weight",
        "The real server's weight in the kernel's IPVS table (absent when it is not there).",
        real_servers(s).filter_map(|(v, r)| Some((rs_id(v, r), i64::from(r.kernel_weight?)))),
    )?;
    gauges(
        enc,
        "lvsd_real_server_last_change_timestamp_seconds",
        "When the real server last went up or down (or lvsd started), in seconds since the epoch.",
        real_servers(s).map(|(v, r)| (rs_id(v, r), s.now - r.in_state_s)),
    )?;
    gauges(
        enc,
        "lvsd_checker_up",
        "1 while the checker's last verdict is up.",
        checkers(s).map(|(l, c)| (l, i64::from(c.state == "Up"))),
    )?;
    counters(
        enc,
        "lvsd_checker_checks",
        "Checks completed, by result.",
        checkers(s).flat_map(|(l, c)| {
            let (Some(checks), Some(failures)) = (c.checks, c.failures) else {
                return Vec::new();
            };
            let mut ok = l.clone();
            ok.push(("result", b("success")));
            let mut bad = l;
            bad.push(("result", b("failure")));
            vec![(ok, checks.saturating_sub(failures)), (bad, failures)]
        }),
    )?;
    gauges(
        enc,
        "lvsd_checker_consecutive_failures",
        "Failed checks in a row.",
        checkers(s).filter_map(|(l, c)| Some((l, i64::from(c.consecutive_failures?)))),
    )?;
    gauges(
        enc,
        "lvsd_checker_last_check_timestamp_seconds",
        "When the checker last completed a check, in seconds since the epoch (a frozen checker shows as an old time).",
        checkers(s).filter_map(|(l, c)| Some((l, s.now - c.last_check_ago_s?))),
    )?;
    gauges(
        enc,
        "lvsd_checker_last_duration_seconds",
        "How long the checker's last check took.",
        checkers(s).filter_map(|(l, c)| Some((l, c.last_latency_ms? / 1e3))),
    )?;
    Ok(())
}
