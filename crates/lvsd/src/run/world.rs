//! The daemon's one picture of the host (issue 14): everything the host state depends on, in
//! one value, and the pure function from it to what the host should look like.
//!
//! ```text
//! Plan (config + colocations) ─┐
//! VRRP states (engine, watch) ─┤
//! health (checkers) ───────────┼──▶ World ──desired()──▶ DesiredHost ──steps(last)──▶ Step…
//! forwarder MACs (neighbours) ─┤
//! guard usable (nft) ──────────┘
//! ```
//!
//! No I/O, no clock: every ordering rule of the reconciler is unit-tested from here
//! (`world_tests.rs`).

use super::guard::{self, Marks};
use super::plan::Plan;
use lvsd_check::health::Health;
use lvsd_config::model::{ColocatedMode, Config};
use lvsd_ipvs::{desired as table, ServiceKey, SyncDaemon, SyncState, Table, Timeouts};
use lvsd_vrrp::State;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// The state of every VRRP instance by name, as the engine publishes it.
pub type States = BTreeMap<String, State>;

/// Everything the host state is a function of.
#[derive(Clone)]
pub struct World {
    pub plan: Plan,
    pub health: Health,
    pub states: States,
    /// MACs of real servers seen in the neighbour table (the colocated guard's "forwarded by
    /// a director"); never forgotten while lvsd runs.
    pub forwarders: BTreeSet<[u8; 6]>,
    /// nft refused lvsd's table: the guarded services fall back to `master_only`.
    pub guard_failed: bool,
}

impl World {
    pub fn new(plan: Plan) -> World {
        World {
            health: Health::new(&plan.config),
            plan,
            states: States::new(),
            forwarders: BTreeSet::new(),
            guard_failed: false,
        }
    }

    fn master(&self, instance: &str) -> bool {
        self.states.get(instance) == Some(&State::Master)
    }
}

/// lvsd's nft table: the guarded services (address key → mark) and the forwarders' MACs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuardRules {
    pub marks: Marks,
    pub forwarders: BTreeSet<[u8; 6]>,
}

/// What the host should look like, outside VRRP's own addresses.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DesiredHost {
    /// The IPVS table, guarded services already keyed as fwmark services. Shared: the table
    /// lvsd applied and the one it wants are usually the same (36,000 destinations: ~5 MB).
    pub ipvs: std::sync::Arc<Table>,
    /// Every service key this configuration owns (address keys and guard marks): a service
    /// of these that is in the kernel but not desired is deleted; any other is not lvsd's.
    pub owned: BTreeSet<ServiceKey>,
    /// The real-server role (VIP on `lo`, ARP sysctls on `all` and the interface): VIP →
    /// the VRRP instance's interface.
    pub lo_vips: BTreeMap<IpAddr, Option<String>>,
    pub guard: Option<GuardRules>,
    /// The connection-sync daemon, with the state its VRRP instance implies.
    pub sync: Option<SyncDaemon>,
    pub timeouts: Option<Timeouts>,
    /// Virtual servers whose checkers pause (`ha_suspend`, their address is not here).
    pub suspended: BTreeSet<usize>,
    /// What the configuration asks that cannot be programmed (the rest stands).
    pub errors: Vec<String>,
}

/// The colocated services the guard covers (mode `guard`, an instance holds the VIP) and the
/// real servers whose MACs mean "forwarded by a director" (the other real servers, the VIP
/// instance's unicast peers).
pub fn guard_plan(plan: &Plan) -> (Marks, BTreeSet<IpAddr>) {
    let cfg = &plan.config;
    let mut keys = BTreeSet::new();
    let mut ips = BTreeSet::new();
    if cfg.global.colocated_directors != ColocatedMode::Guard {
        return (Marks::new(), ips);
    }
    for c in plan.colocations.iter() {
        let Some(inst) = &c.instance else { continue };
        if let Ok(ks) = table::service_keys(cfg, c.vs) {
            keys.extend(
                ks.into_iter()
                    .filter(|k| matches!(k, ServiceKey::Addr { .. })),
            );
        }
        let vs = &cfg.virtual_servers[c.vs];
        for (ri, r) in vs.real_servers.iter().enumerate() {
            if !c.real_servers.contains(&ri) {
                ips.insert(r.ip);
            }
        }
        if let Some(i) = cfg.instances.iter().find(|i| &i.name == inst) {
            ips.extend(i.unicast_peers.iter().map(|p| p.addr));
        }
    }
    (guard::assign(&keys), ips)
}

/// What the host should look like in `w`. Pure.
pub fn desired(w: &World) -> DesiredHost {
    let cfg: &Config = &w.plan.config;
    let (mut ipvs, errs) = table::from_config_partial(cfg, &w.health);
    let mut errors: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    let mut owned = BTreeSet::new();
    for vi in 0..cfg.virtual_servers.len() {
        match table::service_keys(cfg, vi) {
            Ok(keys) => owned.extend(keys),
            Err(e) => errors.push(e),
        }
    }
    owned.extend(ipvs.keys().copied());
    // a colocated service is in the kernel only while its instance is MASTER here: a backup
    // that balanced what the master forwarded would make a loop (docs/colocated.md)
    let mut lo_vips = BTreeMap::new();
    for c in w.plan.colocations.iter() {
        let Some(inst) = &c.instance else { continue };
        if w.master(inst) {
            continue;
        }
        if let Ok(keys) = table::service_keys(cfg, c.vs) {
            for k in keys {
                ipvs.remove(&k);
            }
        }
        for (ip, iface) in super::colocated::vips_of(cfg, &w.plan.colocations, inst) {
            lo_vips.insert(ip, iface);
        }
    }
    let (marks, _) = guard_plan(&w.plan);
    let guard = (!marks.is_empty() && !w.guard_failed).then(|| GuardRules {
        marks: marks.clone(),
        forwarders: w.forwarders.clone(),
    });
    if let Some(g) = &guard {
        guard::rekey(&mut ipvs, &g.marks);
        owned.extend(g.marks.iter().map(|(k, m)| ServiceKey::Fwmark {
            family: k.family(),
            mark: *m,
        }));
    }
    DesiredHost {
        ipvs: std::sync::Arc::new(ipvs),
        owned,
        lo_vips,
        guard,
        sync: sync_daemon(w),
        timeouts: table::timeouts(cfg),
        suspended: suspended(&w.plan, &w.states),
        errors,
    }
}

/// `lvs_sync_daemon`: master while its VRRP instance is MASTER, backup while BACKUP or FAULT,
/// not running before the first state or after STOP; master from the start when it names
/// no instance.
fn sync_daemon(w: &World) -> Option<SyncDaemon> {
    let sd = w.plan.config.global.lvs_sync_daemon.as_ref()?;
    let state = match &sd.instance {
        None => SyncState::Master,
        Some(i) => match w.states.get(i)? {
            State::Master => SyncState::Master,
            State::Backup | State::Fault => SyncState::Backup,
            State::Stop | State::Init => return None,
        },
    };
    Some(SyncDaemon {
        state,
        ifname: sd.interface.clone(),
        syncid: sd.id.unwrap_or(0),
        sync_maxlen: sd.maxlen,
        mcast_group: sd.group,
        mcast_port: sd.port,
        mcast_ttl: sd.ttl,
    })
}

/// `ha_suspend`: a virtual server's checkers run only while its address is ours, i.e. while
/// a VRRP instance that carries it is MASTER (or when no instance carries it).
pub fn suspended(plan: &Plan, states: &States) -> BTreeSet<usize> {
    let mut out = BTreeSet::new();
    for (i, v) in plan.config.virtual_servers.iter().enumerate() {
        if !v.ha_suspend {
            continue;
        }
        let lvsd_config::model::VsKey::Addr { ip, .. } = v.key else {
            continue;
        };
        let mut carriers = plan
            .instances
            .iter()
            .zip(&plan.extra)
            .filter(|(_, x)| x.vips.iter().any(|a| a.addr == ip))
            .map(|(c, _)| c.name.as_str())
            .peekable();
        if carriers.peek().is_none() {
            continue;
        }
        if !carriers.any(|n| states.get(n) == Some(&State::Master)) {
            out.insert(i);
        }
    }
    out
}
