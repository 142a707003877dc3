//! The virtual server, real server and checker families (from the health task's status).

use super::families::{b, counters, gauges, histograms, o, Labels};
use super::Snapshot;
use crate::proto::{CheckerStatus, RsStatus};
use prometheus_client::encoding::DescriptorEncoder;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

/// The label values of the virtual servers and their real servers, made unique: entries that
/// keepalived's names cannot tell apart (an IPv4 and an IPv6 `fwmark 1`, one group with TCP and
/// with UDP, `ip` and `ip port` of one real server) get `#2`, `#3`, in configuration order —
/// Prometheus refuses a whole scrape that has a series twice.
struct Names<'a> {
    vs: Vec<Cow<'a, str>>,
    rs: Vec<Vec<Cow<'a, str>>>,
}

fn unique<'a>(names: impl Iterator<Item = &'a str>) -> Vec<Cow<'a, str>> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    names
        .map(|n| {
            let k = seen.entry(n).or_default();
            *k += 1;
            if *k == 1 {
                Cow::Borrowed(n)
            } else {
                Cow::Owned(format!("{n} #{k}"))
            }
        })
        .collect()
}

impl<'a> Names<'a> {
    fn of(s: &'a Snapshot) -> Names<'a> {
        let vss = &s.lvs.virtual_servers;
        Names {
            vs: unique(vss.iter().map(|v| v.name.as_str())),
            rs: vss
                .iter()
                .map(|v| unique(v.real_servers.iter().map(|r| r.address.as_str())))
                .collect(),
        }
    }

    fn vs(&self, vi: usize) -> Labels<'_> {
        vec![("virtual_server", b(&self.vs[vi]))]
    }

    fn rs(&self, vi: usize, ri: usize) -> Labels<'_> {
        vec![
            ("virtual_server", b(&self.vs[vi])),
            ("real_server", b(&self.rs[vi][ri])),
        ]
    }
}

/// Every real server with its indices.
fn real_servers(s: &Snapshot) -> impl Iterator<Item = (usize, usize, &RsStatus)> {
    s.lvs
        .virtual_servers
        .iter()
        .enumerate()
        .flat_map(|(vi, v)| {
            v.real_servers
                .iter()
                .enumerate()
                .map(move |(ri, r)| (vi, ri, r))
        })
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
fn checkers<'a>(
    s: &'a Snapshot,
    n: &'a Names<'a>,
) -> impl Iterator<Item = (Labels<'a>, &'a CheckerStatus)> {
    real_servers(s).flat_map(move |(vi, ri, r)| {
        r.checkers.iter().enumerate().map(move |(i, c)| {
            let mut l = n.rs(vi, ri);
            l.push(("checker", o(checker_name(r, i))));
            (l, c)
        })
    })
}

pub fn encode(enc: &mut DescriptorEncoder, s: &Snapshot) -> fmt::Result {
    let vss = &s.lvs.virtual_servers;
    let n = &Names::of(s);
    gauges(
        enc,
        "lvsd_virtual_server_quorum_up",
        "1 while the virtual server has its quorum of alive weight.",
        vss.iter()
            .enumerate()
            .map(|(i, v)| (n.vs(i), i64::from(v.quorum_up))),
    )?;
    gauges(
        enc,
        "lvsd_virtual_server_alive_weight",
        "Sum of the weights of the virtual server's alive real servers.",
        vss.iter()
            .enumerate()
            .map(|(i, v)| (n.vs(i), v.alive_weight)),
    )?;
    gauges(
        enc,
        "lvsd_virtual_server_in_kernel",
        "1 if the virtual server's service is in the kernel's IPVS table.",
        vss.iter()
            .enumerate()
            .filter_map(|(i, v)| Some((n.vs(i), i64::from(v.in_kernel?)))),
    )?;
    gauges(
        enc,
        "lvsd_real_server_up",
        "1 while the real server is alive (every checker up).",
        real_servers(s).map(|(vi, ri, r)| (n.rs(vi, ri), i64::from(r.alive))),
    )?;
    gauges(
        enc,
        "lvsd_real_server_weight",
        "The real server's configured weight.",
        real_servers(s).map(|(vi, ri, r)| (n.rs(vi, ri), i64::from(r.weight))),
    )?;
    gauges(
        enc,
        "lvsd_real_server_kernel_weight",
        "The real server's weight in the kernel's IPVS table (absent when it is not there).",
        real_servers(s).filter_map(|(vi, ri, r)| Some((n.rs(vi, ri), i64::from(r.kernel_weight?)))),
    )?;
    gauges(
        enc,
        "lvsd_real_server_operator_hold",
        "1 for a real server an operator drains, drained or disabled (`lvsd rs`), by state; absent otherwise.",
        real_servers(s).filter_map(|(vi, ri, r)| {
            let a = r.admin.as_ref()?;
            let mut l = n.rs(vi, ri);
            l.push(("state", o(a.state.clone())));
            Some((l, 1i64))
        }),
    )?;
    gauges(
        enc,
        "lvsd_real_server_active_connections",
        "The real server's connections a drain waits for (IPVS ActiveConn; every entry for UDP).",
        real_servers(s).filter_map(|(vi, ri, r)| Some((n.rs(vi, ri), r.active_conns? as i64))),
    )?;
    gauges(
        enc,
        "lvsd_real_server_last_change_timestamp_seconds",
        "When the real server last went up or down (or lvsd started), in seconds since the epoch.",
        real_servers(s).map(|(vi, ri, r)| (n.rs(vi, ri), s.lvs_now - r.in_state_s)),
    )?;
    gauges(
        enc,
        "lvsd_checker_up",
        "1 while the checker's last verdict is up.",
        checkers(s, n).map(|(l, c)| (l, i64::from(c.state == "Up"))),
    )?;
    counters(
        enc,
        "lvsd_checker_checks",
        "Checks completed, by result.",
        checkers(s, n).flat_map(|(l, c)| {
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
        checkers(s, n).filter_map(|(l, c)| Some((l, i64::from(c.consecutive_failures?)))),
    )?;
    gauges(
        enc,
        "lvsd_checker_last_check_timestamp_seconds",
        "When the checker last completed a check, in seconds since the epoch (a frozen checker shows as an old time).",
        checkers(s, n).filter_map(|(l, c)| Some((l, s.lvs_now - c.last_check_ago_s?))),
    )?;
    // the checks' durations per virtual server (per checker they would be 36,000 x 11 series),
    // added up scrape by scrape so that they only grow (durations.rs)
    let totals = s
        .durations
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .update(&s.lvs, &n.vs);
    histograms(
        enc,
        "lvsd_checker_duration_seconds",
        "How long the checks of the virtual server's real servers took.",
        totals.into_iter().enumerate().filter_map(|(vi, h)| {
            let (counts, sum) = h?;
            let buckets: Vec<(f64, u64)> = lvsd_check::pool::DURATION_BUCKETS
                .iter()
                .copied()
                .chain([f64::INFINITY])
                .zip(counts.iter().copied())
                .collect();
            Some((n.vs(vi), (sum, counts.iter().sum(), buckets)))
        }),
    )?;
    gauges(
        enc,
        "lvsd_checker_last_duration_seconds",
        "How long the checker's last check took.",
        checkers(s, n).filter_map(|(l, c)| Some((l, c.last_latency_ms? / 1e3))),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::unique;

    #[test]
    fn names_keepalived_cannot_tell_apart_get_a_number() {
        let v = unique(["FWM 1", "[10.0.0.1]:tcp:80", "FWM 1", "FWM 1"].into_iter());
        assert_eq!(v, ["FWM 1", "[10.0.0.1]:tcp:80", "FWM 1 #2", "FWM 1 #3"]);
    }
}
