//! `lvsd status`'s virtual servers: health, the kernel's table, the node's role.

use super::*;

impl Task {
    pub(super) async fn status(&self) -> Value {
        let probes: Vec<ProbeStatus> = match &self.checks {
            Some(c) => c.status().await,
            None => Vec::new(),
        };
        let reply: Option<(Table, crate::run::guard::Marks)> = {
            let (rtx, rrx) = oneshot::channel();
            self.send_host(HostInput::Table(rtx));
            tokio::time::timeout(Duration::from_secs(2), rrx)
                .await
                .ok()
                .and_then(|r| r.ok())
                .flatten()
        };
        let (kernel, marks) = match reply {
            Some((t, m)) => (Some(t), m),
            None => (None, Default::default()),
        };
        let mut by_checker: HashMap<CheckerId, &ProbeStatus> = HashMap::new();
        for p in &probes {
            for u in &p.users {
                by_checker.insert(*u, p);
            }
        }
        let now = Instant::now();
        let vss: Vec<Value> = self
            .plan
            .config
            .virtual_servers
            .iter()
            .enumerate()
            .map(|(vi, v)| {
                // the services this virtual_server stands for (several for a group)
                let keys = lvsd_ipvs::desired::service_keys(&self.plan.config, vi)
                    .unwrap_or_default();
                let rss: Vec<Value> = v
                    .real_servers
                    .iter()
                    .enumerate()
                    .map(|(ri, r)| {
                        let port = r.port.unwrap_or(match v.key {
                            VsKey::Addr { port, .. } => port,
                            _ => 0,
                        });
                        let kernel_weight = kernel.as_ref().and_then(|k| {
                            keys.iter().find_map(|key| {
                                k.get(key).and_then(|(_, dests)| {
                                    dests
                                        .values()
                                        .find(|d| d.addr == r.ip && (d.port == port || d.port == 0 || matches!(v.key, VsKey::Fwmark{..})))
                                        .map(|d| d.weight)
                                })
                            })
                        });
                        let checkers: Vec<Value> = (0..r.checkers.len())
                            .map(|ci| {
                                let id = CheckerId { vs: vi, rs: ri, checker: ci };
                                match by_checker.get(&id) {
                                    Some(p) => json!({
                                        "type": p.checker,
                                        "target": p.target,
                                        "state": p.state,
                                        "last_ok": p.last.as_ref().map(|o| o.ok),
                                        "last_latency_ms": p.last.as_ref().map(|o| o.latency.as_secs_f64() * 1e3),
                                        "last_error": p.last.as_ref().and_then(|o| o.error.clone()),
                                        "last_check_ago_s": p.last_check_ago,
                                        "consecutive_failures": p.consecutive_failures,
                                        "checks": p.checks,
                                        "failures": p.failures,
                                        "in_state_s": p.in_state,
                                        "suspended": p.suspended,
                                    }),
                                    None => json!({"type": format!("{:?}", r.checkers[ci].kind), "state": "not running"}),
                                }
                            })
                            .collect();
                        json!({
                            "address": rs_name(v, ri),
                            "alive": self.health.rs_alive(vi, ri),
                            "weight": r.weight,
                            "kernel_weight": kernel_weight,
                            "failed_checkers": self.health.failed_checkers(vi, ri),
                            "in_state_s": self.since.get(&(vi, ri)).map(|t| (now - *t).as_secs_f64()).unwrap_or((now - self.started).as_secs_f64()),
                            "checkers": checkers,
                        })
                    })
                    .collect();
                // this node's role for the service: a director, or (colocated, issue 8) a
                // real server while the instance holding the VIP is not MASTER here
                let role = match self.plan.colocations.iter().find(|c| c.vs == vi) {
                    None => "director",
                    Some(c) => match &c.instance {
                        Some(i) if self.instances.get(i) == Some(&State::Master) => {
                            "director (also a real server)"
                        }
                        Some(_) => "real server",
                        None => "director and real server",
                    },
                };
                json!({
                    "name": vs_name(v),
                    "role": role,
                    "line": v.loc.line,
                    "scheduler": v.lb_algo,
                    "quorum": v.quorum,
                    "quorum_up": self.health.quorum_up(vi),
                    "alive_weight": self.health.weight_sum(vi),
                    "sorry_server": v.sorry_server.as_ref().map(|s| format!("{}:{}", s.ip, s.port)),
                    "in_kernel": kernel.as_ref().map(|k| keys.iter().any(|key| k.contains_key(key))),
                    // a colocated service the guard installs as a fwmark service (issue 8)
                    "guard_fwmark": keys.iter().find_map(|k| marks.get(k)).map(|m| format!("{m:#010x}")),
                    "real_servers": rss,
                })
            })
            .collect();
        json!({
            "virtual_servers": vss,
            "probes": probes.len(),
            "ipvs_readable": kernel.is_some(),
        })
    }
}
