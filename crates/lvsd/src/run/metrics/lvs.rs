//! The virtual server, real server and checker families (from the health task's status).

use super::families::{counters, gauges, Labels};
use super::Snapshot;
use prometheus_client::encoding::DescriptorEncoder;
use std::collections::HashMap;
use std::fmt;

pub fn encode(enc: &mut DescriptorEncoder, s: &Snapshot) -> fmt::Result {
    let l = &s.status.lvs;
    let vs_id = |v: &crate::proto::VsStatus| -> Labels { vec![("virtual_server", v.name.clone())] };
    gauges(
        enc,
        "lvsd_virtual_server_quorum_up",
        "1 while the virtual server has its quorum of alive weight.",
        l.virtual_servers
            .iter()
            .map(|v| (vs_id(v), i64::from(v.quorum_up)))
            .collect(),
    )?;
    gauges(
        enc,
        "lvsd_virtual_server_alive_weight",
        "Sum of the weights of the virtual server's alive real servers.",
        l.virtual_servers
            .iter()
            .map(|v| (vs_id(v), v.alive_weight))
            .collect(),
    )?;
    gauges(
        enc,
        "lvsd_virtual_server_in_kernel",
        "1 if the virtual server's service is in the kernel's IPVS table.",
        l.virtual_servers
            .iter()
            .filter_map(|v| Some((vs_id(v), i64::from(v.in_kernel?))))
            .collect(),
    )?;
    let mut up = Vec::new();
    let mut weight = Vec::new();
    let mut kweight = Vec::new();
    let mut since = Vec::new();
    let mut c_up = Vec::new();
    let mut c_checks = Vec::new();
    let mut c_consecutive = Vec::new();
    let mut c_last = Vec::new();
    let mut c_latency = Vec::new();
    for v in &l.virtual_servers {
        for r in &v.real_servers {
            let rs: Labels = vec![
                ("virtual_server", v.name.clone()),
                ("real_server", r.address.clone()),
            ];
            up.push((rs.clone(), i64::from(r.alive)));
            weight.push((rs.clone(), i64::from(r.weight)));
            if let Some(k) = r.kernel_weight {
                kweight.push((rs.clone(), i64::from(k)));
            }
            since.push((rs.clone(), s.now - r.in_state_s));
            // a checker's label: its kind and target, numbered if a real server has two alike
            let mut seen: HashMap<String, usize> = HashMap::new();
            for c in &r.checkers {
                let mut name = match &c.target {
                    Some(t) => format!("{} {t}", c.kind),
                    None => c.kind.clone(),
                };
                let n = seen.entry(name.clone()).or_default();
                *n += 1;
                if *n > 1 {
                    name = format!("{name} #{n}");
                }
                let mut cl = rs.clone();
                cl.push(("checker", name));
                c_up.push((cl.clone(), i64::from(c.state == "Up")));
                if let (Some(checks), Some(failures)) = (c.checks, c.failures) {
                    let mut ok = cl.clone();
                    ok.push(("result", "success".into()));
                    c_checks.push((ok, checks.saturating_sub(failures)));
                    let mut bad = cl.clone();
                    bad.push(("result", "failure".into()));
                    c_checks.push((bad, failures));
                }
                if let Some(n) = c.consecutive_failures {
                    c_consecutive.push((cl.clone(), i64::from(n)));
                }
                if let Some(ago) = c.last_check_ago_s {
                    c_last.push((cl.clone(), s.now - ago));
                }
                if let Some(ms) = c.last_latency_ms {
                    c_latency.push((cl, ms / 1e3));
                }
            }
        }
    }
    gauges(
        enc,
        "lvsd_real_server_up",
        "1 while the real server is alive (every checker up).",
        up,
    )?;
    gauges(
        enc,
        "lvsd_real_server_weight",
        "The real server's configured weight.",
        weight,
    )?;
    gauges(
        enc,
        "lvsd_real_server_kernel_weight",
        "The real server's weight in the kernel's IPVS table (absent when it is not there).",
        kweight,
    )?;
    gauges(
        enc,
        "lvsd_real_server_last_change_timestamp_seconds",
        "When the real server last went up or down (or lvsd started), in seconds since the epoch.",
        since,
    )?;
    gauges(
        enc,
        "lvsd_checker_up",
        "1 while the checker's last verdict is up.",
        c_up,
    )?;
    counters(
        enc,
        "lvsd_checker_checks",
        "Checks completed, by result.",
        c_checks,
    )?;
    gauges(
        enc,
        "lvsd_checker_consecutive_failures",
        "Failed checks in a row.",
        c_consecutive,
    )?;
    gauges(
        enc,
        "lvsd_checker_last_check_timestamp_seconds",
        "When the checker last completed a check, in seconds since the epoch (a frozen checker shows as an old time).",
        c_last,
    )?;
    gauges(
        enc,
        "lvsd_checker_last_duration_seconds",
        "How long the checker's last check took.",
        c_latency,
    )?;
    Ok(())
}
