//! From checker states to real servers and virtual servers, sans-IO (keepalived-behaviour
//! §3.2, §3.3):
//! * a real server is alive while none of its checkers is down (one with no checker always
//!   is);
//! * `weight_sum` of a virtual server = the weights of its alive real servers (a dynamic weight
//!   set by a check replaces the configured one);
//! * quorum is lost, while up, when weight_sum < quorum − hysteresis or weight_sum = 0, and
//!   gained, while lost, when weight_sum >= quorum + hysteresis (and weight_sum > 0); quorum is
//!   capped at the total weight, hysteresis at quorum − 1. Every virtual server starts with
//!   quorum up, then the rule applies to its initial weight_sum (so alpha, or no real server,
//!   starts with quorum lost: see [`Health::initial_events`]).
//!
//! Events come in keepalived's order: the real server's change first (RsUp / RsDown), then the
//! quorum's (QuorumGained / QuorumLost).

use crate::machine::CheckState;
use lvsd_config::model::{Config, Protocol, VirtualServer, VsKey};
use lvsd_ipvs::desired::{quorum_limits, quorum_lost, Admin};
use serde::Serialize;
use std::net::IpAddr;

/// One checker of the configuration: `cfg.virtual_servers[vs].real_servers[rs].checkers[checker]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct CheckerId {
    pub vs: usize,
    pub rs: usize,
    pub checker: usize,
}

/// What changed; drives notify_up/notify_down, quorum_up/quorum_down, the FIFO, SMTP alerts
/// and the IPVS table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum HealthEvent {
    RsUp {
        vs: usize,
        rs: usize,
    },
    RsDown {
        vs: usize,
        rs: usize,
    },
    QuorumGained {
        vs: usize,
    },
    QuorumLost {
        vs: usize,
    },
    /// The weight of a real server changed (a dynamic weight from a check).
    WeightChanged {
        vs: usize,
        rs: usize,
        weight: i32,
    },
}

#[derive(Debug, Clone)]
struct Rs {
    weight: i32,
    dynamic: Option<i32>,
    /// An operator's drain or disable (`lvsd rs`): the real server counts as down.
    admin: Admin,
    checkers: Box<[CheckState]>,
}

impl Rs {
    fn failed(&self) -> usize {
        self.checkers
            .iter()
            .filter(|s| **s == CheckState::Down)
            .count()
    }
    fn alive(&self) -> bool {
        self.failed() == 0 && self.admin == Admin::None
    }
    fn weight(&self) -> i32 {
        self.dynamic.unwrap_or(self.weight)
    }
}

#[derive(Debug, Clone)]
struct Vs {
    key: VsKey,
    quorum: i64,
    hysteresis: i64,
    quorum_up: bool,
    rs: Vec<Rs>,
}

impl Vs {
    fn weight_sum(&self) -> i64 {
        self.rs
            .iter()
            .filter(|r| r.alive())
            .map(|r| i64::from(r.weight().max(0)))
            .sum()
    }

    /// Applies the quorum rule; returns the event if the state changed.
    fn update_quorum(&mut self, vs: usize) -> Option<HealthEvent> {
        let lost = quorum_lost(
            !self.quorum_up,
            self.weight_sum(),
            self.quorum,
            self.hysteresis,
        );
        if lost != self.quorum_up {
            return None;
        }
        self.quorum_up = !lost;
        Some(if lost {
            HealthEvent::QuorumLost { vs }
        } else {
            HealthEvent::QuorumGained { vs }
        })
    }
}

/// The health of every real server and virtual server of a configuration.
#[derive(Debug, Clone)]
pub struct Health {
    /// Shared by the copies the health task hands to the reconciler: a clone is one pointer,
    /// a change copies (when the reconciler still holds the old state). 36,000 real servers
    /// are ~2 MB, held once.
    vs: std::sync::Arc<Vec<Vs>>,
}

/// The operators' drains and disables by (virtual server, real server) index of a
/// configuration.
pub type AdminOf<'a> = &'a dyn Fn(usize, usize) -> Admin;

/// No operator holds any real server.
pub fn no_admin(_: usize, _: usize) -> Admin {
    Admin::None
}

fn vs_of(
    vi: usize,
    v: &VirtualServer,
    state: impl Fn(usize, usize, bool) -> CheckState,
    admin: AdminOf,
) -> Vs {
    let (quorum, hysteresis) = quorum_limits(v);
    let rs = v
        .real_servers
        .iter()
        .enumerate()
        .map(|(ri, r)| Rs {
            weight: r.weight,
            dynamic: None,
            admin: admin(vi, ri),
            checkers: r
                .checkers
                .iter()
                .enumerate()
                .map(|(ci, c)| state(ri, ci, c.effective.alpha))
                .collect::<Vec<_>>()
                .into_boxed_slice(),
        })
        .collect();
    Vs {
        key: v.key.clone(),
        quorum,
        hysteresis,
        quorum_up: true,
        rs,
    }
}

fn initial(alpha: bool) -> CheckState {
    if alpha {
        CheckState::Down
    } else {
        CheckState::Up
    }
}

impl Health {
    /// The health at start: a real server with no checker is alive; one with checkers is
    /// alive unless one of them starts down (alpha). Quorum is then decided from the weights.
    pub fn new(cfg: &Config) -> Health {
        Health::with_admin(cfg, &no_admin)
    }

    /// As [`Health::new`], with the operators' drains and disables (kept from an earlier
    /// run) already in place: the first table never has them.
    pub fn with_admin(cfg: &Config, admin: AdminOf) -> Health {
        let mut vs: Vec<Vs> = cfg
            .virtual_servers
            .iter()
            .enumerate()
            .map(|(vi, v)| vs_of(vi, v, |_, _, alpha| initial(alpha), admin))
            .collect();
        for (i, v) in vs.iter_mut().enumerate() {
            v.update_quorum(i);
        }
        Health { vs: vs.into() }
    }

    /// A checker changed state (or reported its state again: no event then).
    pub fn checker(&mut self, id: CheckerId, state: CheckState, out: &mut Vec<HealthEvent>) {
        // looked up before anything is copied: most reports repeat the state
        let now = self
            .rs(id.vs, id.rs)
            .and_then(|r| r.checkers.get(id.checker));
        if now.is_none_or(|c| *c == state) {
            return;
        }
        let Some(v) = std::sync::Arc::make_mut(&mut self.vs).get_mut(id.vs) else {
            return;
        };
        let Some(r) = v.rs.get_mut(id.rs) else {
            return;
        };
        let was_alive = r.alive();
        let Some(c) = r.checkers.get_mut(id.checker) else {
            return;
        };
        if *c == state {
            return;
        }
        *c = state;
        let alive = r.alive();
        if alive == was_alive {
            return;
        }
        out.push(if alive {
            HealthEvent::RsUp {
                vs: id.vs,
                rs: id.rs,
            }
        } else {
            HealthEvent::RsDown {
                vs: id.vs,
                rs: id.rs,
            }
        });
        out.extend(v.update_quorum(id.vs));
    }

    /// A check set the weight of a real server (misc_dynamic, FILE_CHECK dynamic).
    pub fn dynamic_weight(
        &mut self,
        vs: usize,
        rs: usize,
        weight: i32,
        out: &mut Vec<HealthEvent>,
    ) {
        if self.rs(vs, rs).is_none_or(|r| r.dynamic == Some(weight)) {
            return;
        }
        let Some(v) = std::sync::Arc::make_mut(&mut self.vs).get_mut(vs) else {
            return;
        };
        let Some(r) = v.rs.get_mut(rs) else {
            return;
        };
        let before = r.weight();
        r.dynamic = Some(weight);
        if r.weight() == before {
            return;
        }
        out.push(HealthEvent::WeightChanged { vs, rs, weight });
        out.extend(v.update_quorum(vs));
    }

    /// An operator drains, disables or gives back a real server. Events as for a checker:
    /// RsDown when it leaves service, RsUp when it returns alive, then the quorum's.
    pub fn set_admin(&mut self, vs: usize, rs: usize, admin: Admin, out: &mut Vec<HealthEvent>) {
        if self.rs(vs, rs).is_none_or(|r| r.admin == admin) {
            return;
        }
        let Some(v) = std::sync::Arc::make_mut(&mut self.vs).get_mut(vs) else {
            return;
        };
        let Some(r) = v.rs.get_mut(rs) else {
            return;
        };
        let was_alive = r.alive();
        r.admin = admin;
        let alive = r.alive();
        if alive == was_alive {
            return;
        }
        out.push(if alive {
            HealthEvent::RsUp { vs, rs }
        } else {
            HealthEvent::RsDown { vs, rs }
        });
        out.extend(v.update_quorum(vs));
    }

    /// What an operator asked of a real server.
    pub fn rs_admin(&self, vs: usize, rs: usize) -> Admin {
        self.rs(vs, rs).map_or(Admin::None, |r| r.admin)
    }

    /// Whether every checker of the real server is up (its operator's hold aside).
    pub fn checks_pass(&self, vs: usize, rs: usize) -> bool {
        self.rs(vs, rs).is_some_and(|r| r.failed() == 0)
    }

    pub fn rs_alive(&self, vs: usize, rs: usize) -> bool {
        self.rs(vs, rs).is_some_and(Rs::alive)
    }

    pub fn quorum_up(&self, vs: usize) -> bool {
        self.vs.get(vs).is_some_and(|v| v.quorum_up)
    }

    /// The weights of the alive real servers.
    pub fn weight_sum(&self, vs: usize) -> i64 {
        self.vs.get(vs).map_or(0, Vs::weight_sum)
    }

    /// How many checkers of the real server are down.
    pub fn failed_checkers(&self, vs: usize, rs: usize) -> usize {
        self.rs(vs, rs).map_or(0, Rs::failed)
    }

    /// The state Health has for a checker (None: no such checker).
    pub fn checker_state(&self, id: CheckerId) -> Option<CheckState> {
        self.rs(id.vs, id.rs)?.checkers.get(id.checker).copied()
    }

    /// The weight a real server has now (its dynamic weight if a check set one, else the
    /// configured one).
    pub fn rs_weight(&self, vs: usize, rs: usize) -> Option<i32> {
        self.rs(vs, rs).map(Rs::weight)
    }

    fn rs(&self, vs: usize, rs: usize) -> Option<&Rs> {
        self.vs.get(vs)?.rs.get(rs)
    }

    /// Reload: the new config's Health, silently (no events), keeping the state of every real
    /// server / checker that survives. `states` gives the current state of a new-config
    /// checker if an identical one ran before (None = new checker: starts as Health::new
    /// would). Quorum state of a virtual server with the same key (VsKey) carries over, and is
    /// then re-evaluated with the usual rule against the new weights (a removed real server
    /// can lose it): compare `quorum_up` before and after to run quorum_up / quorum_down. A
    /// real server that survives (same virtual server key, address and port) keeps its
    /// dynamic weight.
    /// `admin`: the operators' holds in the new configuration.
    pub fn reload(
        &self,
        old_cfg: &Config,
        new_cfg: &Config,
        states: &dyn Fn(CheckerId) -> Option<CheckState>,
        admin: AdminOf,
    ) -> Health {
        // identity: the virtual server's key, the real server's address and port (read in
        // the old configuration, which this health is parallel to); found through maps
        // (searched linearly, 2,000 x 18 cost a reload tens of milliseconds)
        // (TCP and UDP services on one address and port share a key: the protocol too)
        let proto = |c: &Config, i: usize| c.virtual_servers.get(i).and_then(|v| v.protocol);
        let old_vs: std::collections::HashMap<(&VsKey, Option<Protocol>), usize> = self
            .vs
            .iter()
            .enumerate()
            .map(|(i, o)| ((&o.key, proto(old_cfg, i)), i))
            .collect();
        let mut out = Vec::with_capacity(new_cfg.virtual_servers.len());
        for (vi, v) in new_cfg.virtual_servers.iter().enumerate() {
            let mut n = vs_of(
                vi,
                v,
                |ri, ci, alpha| {
                    states(CheckerId {
                        vs: vi,
                        rs: ri,
                        checker: ci,
                    })
                    .unwrap_or_else(|| initial(alpha))
                },
                admin,
            );
            if let Some(&oi) = old_vs.get(&(&n.key, v.protocol)) {
                let old = &self.vs[oi];
                n.quorum_up = old.quorum_up;
                let dynamic: std::collections::HashMap<(IpAddr, Option<u16>), i32> = old
                    .rs
                    .iter()
                    .zip(
                        old_cfg
                            .virtual_servers
                            .get(oi)
                            .map_or(&[][..], |c| &c.real_servers),
                    )
                    .filter_map(|(o, c)| Some(((c.ip, c.port), o.dynamic?)))
                    .collect();
                if !dynamic.is_empty() {
                    for (r, c) in n.rs.iter_mut().zip(&v.real_servers) {
                        r.dynamic = dynamic.get(&(c.ip, c.port)).copied();
                    }
                }
            }
            n.update_quorum(vi);
            out.push(n);
        }
        Health { vs: out.into() }
    }

    /// Events at startup: QuorumLost for every virtual server whose quorum is down initially
    /// (alpha, no real servers, ...): keepalived installs the sorry server and runs
    /// quorum_down then.
    pub fn initial_events(&self) -> Vec<HealthEvent> {
        self.vs
            .iter()
            .enumerate()
            .filter(|(_, v)| !v.quorum_up)
            .map(|(vs, _)| HealthEvent::QuorumLost { vs })
            .collect()
    }
}

impl lvsd_ipvs::desired::Health for Health {
    fn up(&self, vs: usize, rs: usize) -> bool {
        self.rs_alive(vs, rs)
    }
    fn weight(&self, vs: usize, rs: usize) -> Option<i32> {
        self.rs(vs, rs).and_then(|r| r.dynamic)
    }
    fn admin(&self, vs: usize, rs: usize) -> Admin {
        self.rs_admin(vs, rs)
    }
    fn checks_up(&self, vs: usize, rs: usize) -> bool {
        self.checks_pass(vs, rs)
    }
    fn quorum_lost(&self, vs: usize) -> Option<bool> {
        self.vs.get(vs).map(|v| !v.quorum_up)
    }
}
