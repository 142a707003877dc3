//! `lvsd status`'s virtual servers: health, the kernel's table, the node's role.

use super::*;
use crate::proto::{CheckerStatus, LvsStatus, Role, RsStatus, VsStatus};

/// A checker's state as `status` shows it.
fn check_state(s: CheckState) -> &'static str {
    match s {
        CheckState::Up => "Up",
        CheckState::Down => "Down",
    }
}

/// What a status needs from the other threads: every probe's state (the checkers' thread)
/// and the kernel's table (the reconciler's thread).
pub(super) struct StatusInputs {
    pub probes: Vec<ProbeStatus>,
    pub kernel: Option<(
        Table,
        crate::run::guard::Marks,
        crate::run::reconcile_task::Conns,
    )>,
    /// The configuration they were gathered for ([`Task::generation`]).
    pub generation: u64,
}

impl Task {
    /// Gathers a status's inputs without this task waiting for them: the returned future is
    /// run on a task of its own, and the health task builds the status when they arrive
    /// ([`Task::build_status`]). (Awaited here, a scrape or `lvsd status` of a large table held
    /// the health task — and every checker result — for the time of a kernel dump.)
    pub(super) fn status_inputs(&self) -> impl std::future::Future<Output = StatusInputs> + Send {
        let probes = self.checks.as_ref().map(|c| c.status());
        let (rtx, rrx) = oneshot::channel();
        self.send_host(HostInput::Table(rtx));
        let generation = self.generation;
        async move {
            let probes = match probes {
                Some(rx) => rx.await.unwrap_or_default(),
                None => Vec::new(),
            };
            let kernel = tokio::time::timeout(Duration::from_secs(2), rrx)
                .await
                .ok()
                .and_then(|r| r.ok())
                .flatten();
            StatusInputs {
                probes,
                kernel,
                generation,
            }
        }
    }

    pub(super) fn build_status(&self, inputs: StatusInputs) -> LvsStatus {
        let StatusInputs {
            probes,
            kernel: reply,
            ..
        } = inputs;
        let (kernel, marks, conns) = match reply {
            Some((t, m, c)) => (Some(t), m, Some(c)),
            None => (None, Default::default(), None),
        };
        let mut by_checker: HashMap<CheckerId, &ProbeStatus> = HashMap::new();
        for p in &probes {
            for u in &p.users {
                by_checker.insert(*u, p);
            }
        }
        let now = Instant::now();
        let held = self.overrides.held(&self.plan.config);
        let vss: Vec<VsStatus> = self
            .plan
            .config
            .virtual_servers
            .iter()
            .enumerate()
            .map(|(vi, v)| {
                // the services this virtual_server stands for (several for a group)
                let keys =
                    lvsd_ipvs::desired::service_keys(&self.plan.config, vi).unwrap_or_default();
                let rss: Vec<RsStatus> = v
                    .real_servers
                    .iter()
                    .enumerate()
                    .map(|(ri, r)| {
                        let kernel_weight = kernel.as_ref().and_then(|k| {
                            keys.iter().find_map(|key| {
                                k.get(key).and_then(|(_, dests)| {
                                    dests
                                        .values()
                                        .find(|d| is_dest_of(v, ri, key, d.addr, d.port))
                                        .map(|d| d.weight)
                                })
                            })
                        });
                        let active_conns = conns.as_ref().map(|c| active_of(c, &keys, v, ri));
                        let checkers: Vec<CheckerStatus> = (0..r.checkers.len())
                            .map(|ci| {
                                let id = CheckerId {
                                    vs: vi,
                                    rs: ri,
                                    checker: ci,
                                };
                                match by_checker.get(&id) {
                                    Some(p) => CheckerStatus {
                                        kind: p.checker.to_string(),
                                        target: Some(p.target.clone()),
                                        state: check_state(p.state).into(),
                                        last_ok: p.last.as_ref().map(|o| o.ok),
                                        last_latency_ms: p
                                            .last
                                            .as_ref()
                                            .map(|o| o.latency.as_secs_f64() * 1e3),
                                        last_error: p.last.as_ref().and_then(|o| o.error.clone()),
                                        last_check_ago_s: p.last_check_ago,
                                        consecutive_failures: Some(p.consecutive_failures),
                                        checks: Some(p.checks),
                                        failures: Some(p.failures),
                                        in_state_s: Some(p.in_state),
                                        suspended: Some(p.suspended),
                                        durations: Some((p.durations.to_vec(), p.duration_sum)),
                                    },
                                    None => CheckerStatus {
                                        kind: format!("{:?}", r.checkers[ci].kind),
                                        state: "not running".into(),
                                        ..Default::default()
                                    },
                                }
                            })
                            .collect();
                        RsStatus {
                            address: rs_name(v, ri),
                            id: crate::run::overrides::target::rs_id(v, ri),
                            alive: self.health.rs_alive(vi, ri),
                            weight: r.weight,
                            kernel_weight,
                            failed_checkers: self.health.failed_checkers(vi, ri),
                            active_conns,
                            admin: held.get(&(vi, ri)).map(crate::run::overrides::rs_admin),
                            in_state_s: self
                                .since
                                .get(&(vi, ri))
                                .map(|t| (now - *t).as_secs_f64())
                                .unwrap_or((now - self.started).as_secs_f64()),
                            checkers,
                        }
                    })
                    .collect();
                // this node's role for the service: a director, or (colocated, issue 8) a
                // real server while the instance holding the VIP is not MASTER here
                let role = match self.plan.colocations.iter().find(|c| c.vs == vi) {
                    None => Role::Director,
                    Some(c) => match &c.instance {
                        Some(i) if self.instances.get(i) == Some(&State::Master) => {
                            Role::DirectorAlsoRealServer
                        }
                        Some(_) => Role::RealServer,
                        None => Role::DirectorAndRealServer,
                    },
                };
                VsStatus {
                    name: vs_name(v),
                    id: crate::run::overrides::target::vs_id(v),
                    role,
                    line: v.loc.line,
                    scheduler: v.lb_algo.clone(),
                    quorum: v.quorum,
                    quorum_up: self.health.quorum_up(vi),
                    alive_weight: self.health.weight_sum(vi),
                    sorry_server: v
                        .sorry_server
                        .as_ref()
                        .map(|s| format!("{}:{}", s.ip, s.port)),
                    in_kernel: kernel
                        .as_ref()
                        .map(|k| keys.iter().any(|key| k.contains_key(key))),
                    // a colocated service the guard installs as a fwmark service (issue 8)
                    guard_fwmark: keys
                        .iter()
                        .find_map(|k| marks.get(k))
                        .map(|m| format!("{m:#010x}")),
                    real_servers: rss,
                }
            })
            .collect();
        LvsStatus {
            virtual_servers: vss,
            probes: probes.len(),
            ipvs_readable: kernel.is_some(),
        }
    }
}

/// Whether a destination (address, port) of the kernel's service `key` is real server `ri`
/// of `v`: its address, and the port the kernel gives it (the service's for DR and TUN).
pub fn is_dest_of(
    v: &VirtualServer,
    ri: usize,
    key: &lvsd_ipvs::ServiceKey,
    addr: std::net::IpAddr,
    port: u16,
) -> bool {
    addr == v.real_servers[ri].ip && port == lvsd_ipvs::desired::dest_port(v, ri, key)
}

/// A real server's connections that a drain waits for, over every service its virtual
/// server stands for: the active ones (established TCP, SCTP); for UDP, which IPVS counts
/// only as inactive, every entry (they last the UDP timeout).
pub fn active_of(
    conns: &crate::run::reconcile_task::Conns,
    keys: &[lvsd_ipvs::ServiceKey],
    v: &VirtualServer,
    ri: usize,
) -> u64 {
    let udp = v.protocol == Some(lvsd_config::model::Protocol::Udp);
    keys.iter()
        .filter_map(|k| Some((k, conns.get(k)?)))
        .flat_map(|(k, c)| c.iter().map(move |d| (k, d)))
        .filter(|(k, (a, p, _, _))| is_dest_of(v, ri, k, *a, *p))
        .map(|(_, d)| d)
        .map(|(_, _, act, inact)| u64::from(*act) + if udp { u64::from(*inact) } else { 0 })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::active_of;
    use lvsd_ipvs::{Protocol, ServiceKey};

    #[test]
    fn a_drain_counts_the_connections_of_the_port_the_kernel_gives_the_server() {
        // DR keeps the service's port whatever the real server says; NAT uses its own; UDP
        // counts every entry
        let text = "virtual_server 10.0.0.1 80 {\n lb_kind DR\n protocol TCP\n real_server 10.0.1.1 8080 {\n }\n}\n\
virtual_server 10.0.0.1 53 {\n lb_kind NAT\n protocol UDP\n real_server 10.0.1.1 5353 {\n }\n}\n";
        let l = lvsd_config::load_str(
            std::path::Path::new("t.conf"),
            text.as_bytes(),
            &Default::default(),
        );
        let cfg = l.config;
        let ip = "10.0.1.1".parse().unwrap();
        let key = |port, protocol| ServiceKey::Addr {
            protocol,
            addr: "10.0.0.1".parse().unwrap(),
            port,
        };
        let dr = key(80, Protocol::Tcp);
        let udp = key(53, Protocol::Udp);
        let conns = crate::run::reconcile_task::Conns::from([
            (dr, vec![(ip, 80, 3, 9)]),
            (udp, vec![(ip, 5353, 0, 4), (ip, 53, 7, 7)]),
        ]);
        assert_eq!(active_of(&conns, &[dr], &cfg.virtual_servers[0], 0), 3);
        assert_eq!(active_of(&conns, &[udp], &cfg.virtual_servers[1], 0), 4);
        assert_eq!(active_of(&conns, &[], &cfg.virtual_servers[0], 0), 0);
    }
}
