//! The one owner of every host change outside VRRP (issue 14): the IPVS table, lvsd's nft
//! table, the real-server role (VIP on `lo`, ARP sysctls, the state file), the sync daemon,
//! the IPVS timeouts. It keeps the [`World`], computes [`desired`] and carries out
//! [`steps`]`(applied, desired)` through a [`HostOps`]: the real host in `reconcile_task.rs`,
//! a recording fake in the tests. No tokio, no clock here.

use super::plan::Plan;
use super::steps::{steps, Step};
use super::world::{desired, guard_plan, DesiredHost, GuardRules, World};
use lvsd_check::health::Health;
use lvsd_ipvs::netlink::Op;
use lvsd_ipvs::{reconcile, ServiceKey, SyncDaemon, SyncState, Table, Timeouts};
use std::collections::BTreeSet;
use std::net::IpAddr;

/// Everything the reconciler does to the host.
pub trait HostOps {
    /// Whether the kernel has IPVS (without it VRRP, the role and the guard still run).
    fn has_ipvs(&self) -> bool;
    fn ipvs_table(&mut self) -> Result<Table, String>;
    /// Applies in order; on failure, how many succeeded and the error.
    fn ipvs_apply(&mut self, ops: &[Op]) -> Result<usize, (usize, String)>;
    fn ipvs_flush(&mut self) -> Result<(), String>;
    fn set_timeouts(&mut self, t: &Timeouts) -> Result<(), String>;
    fn sync_start(&mut self, d: &SyncDaemon) -> Result<(), String>;
    fn sync_stop(&mut self, s: SyncState) -> Result<(), String>;
    /// Returns what changed, for the log.
    fn role_up(&mut self, vip: IpAddr, iface: Option<&str>) -> Result<Vec<String>, String>;
    fn role_down(&mut self, vip: IpAddr) -> Result<Vec<String>, String>;
    fn guard_install(&mut self, g: &GuardRules) -> Result<(), String>;
    fn guard_remove(&mut self) -> Result<(), String>;
    /// Whether lvsd's nft table exists (an earlier run's, at start).
    fn guard_present(&mut self) -> bool;
    fn neighbours(&mut self) -> Result<Vec<lvsd_netif::Neighbour>, String>;
}

/// Why the reconciler runs (logged; drift repairs are counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    Start,
    Health,
    Vrrp,
    Reload,
    Forwarders,
    Drift,
}

impl Why {
    fn name(self) -> &'static str {
        match self {
            Why::Start => "start",
            Why::Health => "health",
            Why::Vrrp => "VRRP state",
            Why::Reload => "reload",
            Why::Forwarders => "guard: forwarder learnt",
            Why::Drift => "drift repair",
        }
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Counters {
    pub repairs: u64,
    pub operations: u64,
    pub failures: u64,
    /// IPVS operations applied, by kind ([`OP_KINDS`]).
    pub ops_by_kind: [u64; 6],
    /// The operations of drift repairs, by kind.
    pub repair_ops_by_kind: [u64; 6],
    /// How long reconcile passes took: a count per bucket of [`PASS_BUCKETS`] (then the rest),
    /// the number of passes and their sum in seconds.
    pub pass_buckets: [u64; 9],
    pub passes: u64,
    pub pass_seconds: f64,
}

/// The kinds of IPVS operation, as the metrics label them.
pub const OP_KINDS: [&str; 6] = [
    "add_service",
    "edit_service",
    "delete_service",
    "add_destination",
    "edit_destination",
    "delete_destination",
];

/// The upper bounds (seconds) of the reconcile passes' duration buckets.
pub const PASS_BUCKETS: [f64; 8] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0];

fn op_kind(op: &Op) -> usize {
    match op {
        Op::AddService(_) => 0,
        Op::EditService(_) => 1,
        Op::DelService(_) => 2,
        Op::AddDest(..) => 3,
        Op::EditDest(..) => 4,
        Op::DelDest(..) => 5,
    }
}

impl Counters {
    /// One reconcile pass that took `secs`.
    pub fn observe_pass(&mut self, secs: f64) {
        let b = PASS_BUCKETS
            .iter()
            .position(|&le| secs <= le)
            .unwrap_or(PASS_BUCKETS.len());
        self.pass_buckets[b] += 1;
        self.passes += 1;
        self.pass_seconds += secs;
    }
}

pub struct Reconciler<H: HostOps> {
    pub host: H,
    pub world: World,
    /// The host as lvsd last made it.
    applied: DesiredHost,
    /// The last `desired(&world)`: what drift checks compare the kernel with (the world has
    /// not changed since, or it would have been computed again).
    wanted: DesiredHost,
    /// Addresses whose MACs the guard learns.
    forwarder_ips: BTreeSet<IpAddr>,
    pub counters: Counters,
}

/// A service lvsd's guard installed (its mark range): a leftover of an earlier run is lvsd's.
fn guard_key(k: &ServiceKey) -> bool {
    use super::guard::{MARK_BASE, MARK_SPAN};
    matches!(k, ServiceKey::Fwmark { mark, .. } if (MARK_BASE..MARK_BASE + MARK_SPAN).contains(mark))
}

impl<H: HostOps> Reconciler<H> {
    pub fn new(host: H, world: World) -> Reconciler<H> {
        let (_, forwarder_ips) = guard_plan(&world.plan);
        Reconciler {
            host,
            world,
            applied: DesiredHost::default(),
            wanted: DesiredHost::default(),
            forwarder_ips,
            counters: Counters::default(),
        }
    }

    pub fn applied(&self) -> &DesiredHost {
        &self.applied
    }

    /// The first pass. What an earlier run left is adopted or removed: the kernel's table is
    /// the starting point, services in the guard's mark range count as lvsd's, lvsd's nft
    /// table is replaced or removed.
    pub fn start(&mut self) -> Vec<Step> {
        if self.world.plan.config.global.lvs_flush && self.host.has_ipvs() {
            match self.host.ipvs_flush() {
                Ok(()) => tracing::info!("IPVS: table flushed (lvs_flush)"),
                Err(e) => tracing::error!("IPVS: flush: {e}"),
            }
        }
        let mut last = DesiredHost {
            // an earlier run's table: replaced, or removed when not wanted
            guard: self.host.guard_present().then(GuardRules::default),
            ..DesiredHost::default()
        };
        if self.host.has_ipvs() {
            match self.host.ipvs_table() {
                Ok(t) => {
                    last.owned = t.keys().filter(|k| guard_key(k)).copied().collect();
                    last.ipvs = std::sync::Arc::new(t);
                }
                Err(e) => tracing::error!("IPVS: cannot read the table: {e}"),
            }
        }
        if !self.forwarder_ips.is_empty() {
            self.learn();
        }
        self.applied = last;
        self.converge(Why::Start)
    }

    /// Makes the host match the world; returns the steps carried out.
    pub fn converge(&mut self, why: Why) -> Vec<Step> {
        let want = desired(&self.world);
        for e in &want.errors {
            tracing::error!("IPVS: {e}");
        }
        let plan = steps(&self.applied, &want);
        self.wanted = want.clone();
        self.execute(want, plan, why)
    }

    /// What a reload to `plan` (with the checkers' states in `health`) would do: the same
    /// function of the same inputs as [`Self::reload`] runs.
    pub fn preview(&self, plan: &Plan, health: &Health) -> Vec<Step> {
        let w = self.reloaded(plan, health);
        steps(&self.applied, &desired(&w))
    }

    fn reloaded(&self, plan: &Plan, health: &Health) -> World {
        let mut w = self.world.clone();
        w.plan = plan.clone();
        w.health = health.clone();
        w
    }

    pub fn reload(&mut self, plan: Plan, health: Health) -> Vec<Step> {
        self.world = self.reloaded(&plan, &health);
        self.forwarder_ips = guard_plan(&self.world.plan).1;
        if !self.forwarder_ips.is_empty() {
            self.learn();
        }
        self.converge(Why::Reload)
    }

    fn execute(&mut self, want: DesiredHost, plan: Vec<Step>, why: Why) -> Vec<Step> {
        let mut done = Vec::with_capacity(plan.len());
        let mut applied = want.clone();
        let mut ops: Vec<Op> = Vec::new();
        let mut i = 0;
        while i < plan.len() {
            if let Step::Ipvs(_) = &plan[i] {
                ops.clear();
                while let Some(Step::Ipvs(op)) = plan.get(i) {
                    ops.push(op.clone());
                    done.push(plan[i].clone());
                    i += 1;
                }
                if !self.ipvs(&ops, &want, why) {
                    applied.ipvs = self.applied.ipvs.clone();
                }
                continue;
            }
            let step = &plan[i];
            i += 1;
            match self.one(step, &mut applied) {
                Ok(lines) => {
                    for l in lines {
                        tracing::info!("{step} ({}): {l}", why.name());
                    }
                    done.push(step.clone());
                }
                Err(e) => {
                    self.counters.failures += 1;
                    if let Step::GuardInstall(_) = step {
                        tracing::error!(
                            "colocated guard: {e}; the colocated services stay address services, in IPVS only while MASTER (no protection when a master dies with its kernel state or in split brain)"
                        );
                        // the rest is planned again without the guard
                        self.world.guard_failed = true;
                        self.applied = applied_before_guard(&self.applied);
                        done.extend(self.converge(why));
                        return done;
                    }
                    tracing::error!("{step} ({}): {e}", why.name());
                }
            }
        }
        self.applied = applied;
        done
    }

    /// One step other than IPVS operations; on failure `applied` is left saying the step is
    /// still to do (retried at the next pass).
    fn one(&mut self, step: &Step, applied: &mut DesiredHost) -> Result<Vec<String>, String> {
        match step {
            Step::GuardInstall(g) => self.host.guard_install(g).map(|()| Vec::new()),
            Step::GuardRemove => self.host.guard_remove().map(|()| Vec::new()),
            Step::RoleUp { vip, iface } => {
                let r = self.host.role_up(*vip, iface.as_deref());
                if r.is_err() {
                    applied.lo_vips.remove(vip);
                }
                r
            }
            Step::RoleDown { vip } => {
                let r = self.host.role_down(*vip);
                if r.is_err() {
                    applied.lo_vips.insert(*vip, None);
                }
                r
            }
            Step::Timeouts(t) if self.host.has_ipvs() => {
                let r = self.host.set_timeouts(t).map(|()| Vec::new());
                if r.is_err() {
                    applied.timeouts = None;
                }
                r
            }
            Step::SyncStop(s) if self.host.has_ipvs() => {
                self.host.sync_stop(*s).map(|()| Vec::new())
            }
            Step::SyncStart(d) if self.host.has_ipvs() => {
                let r = self
                    .host
                    .sync_start(d)
                    .map(|()| vec![format!("sync daemon {:?} on {}", d.state, d.ifname)]);
                if r.is_err() {
                    applied.sync = None;
                }
                r
            }
            Step::Timeouts(_) | Step::SyncStop(_) | Step::SyncStart(_) | Step::Ipvs(_) => {
                Ok(Vec::new())
            }
        }
    }

    /// IPVS operations; a failure (the kernel was not as lvsd thought: a leftover, someone's
    /// ipvsadm) is repaired at once from a fresh dump. Returns whether the kernel matches.
    fn ipvs(&mut self, ops: &[Op], want: &DesiredHost, why: Why) -> bool {
        if !self.host.has_ipvs() || ops.is_empty() {
            return true;
        }
        if why == Why::Health {
            for op in ops {
                tracing::info!("IPVS: {op}");
            }
        }
        let t0 = std::time::Instant::now();
        match self.send(ops) {
            Ok(()) => {
                if why != Why::Health || ops.len() > 5 {
                    tracing::info!(
                        "IPVS ({}): {} operation(s) in {:.1} ms",
                        why.name(),
                        ops.len(),
                        t0.elapsed().as_secs_f64() * 1e3
                    );
                }
                true
            }
            Err((n, e)) => {
                tracing::error!(
                    "IPVS ({}): operation {} of {} failed: {e} ({}); reading the kernel's table to repair",
                    why.name(),
                    n + 1,
                    ops.len(),
                    ops[n]
                );
                self.repair(want, why)
            }
        }
    }

    /// The operations to the kernel, counted.
    fn send(&mut self, ops: &[Op]) -> Result<(), (usize, String)> {
        let r = self.host.ipvs_apply(ops);
        let n = match &r {
            Ok(n) => *n,
            Err((n, _)) => *n,
        };
        self.counters.operations += n as u64;
        for op in &ops[..n.min(ops.len())] {
            self.counters.ops_by_kind[op_kind(op)] += 1;
        }
        r.map(|_| ()).inspect_err(|_| self.counters.failures += 1)
    }

    fn repair(&mut self, want: &DesiredHost, why: Why) -> bool {
        let have = match self.host.ipvs_table() {
            Ok(t) => t,
            Err(e) => {
                tracing::error!("IPVS: cannot read the table: {e}");
                return false;
            }
        };
        let managed: BTreeSet<ServiceKey> =
            self.applied.owned.union(&want.owned).copied().collect();
        let ops = reconcile::diff(&want.ipvs, &have, &managed);
        if ops.is_empty() {
            return true;
        }
        if why == Why::Drift {
            self.counters.repairs += 1;
            for op in &ops {
                self.counters.repair_ops_by_kind[op_kind(op)] += 1;
            }
            super::events::emit("drift_repair", || {
                serde_json::json!({
                    "operations": ops.len(),
                    "first": ops.iter().take(5).map(|o| o.to_string()).collect::<Vec<_>>(),
                })
            });
            tracing::warn!(
                "IPVS: the kernel table drifted from the configuration: {} operation(s) to repair it",
                ops.len()
            );
            for op in ops.iter().take(5) {
                tracing::warn!("IPVS: repair: {op}");
            }
        }
        match self.send(&ops) {
            Ok(()) => true,
            Err((n, e)) => {
                tracing::error!(
                    "IPVS (repair): operation {} of {} failed: {e}",
                    n + 1,
                    ops.len()
                );
                false
            }
        }
    }

    /// The periodic comparison with the kernel (someone ran `ipvsadm -C`).
    /// Returns whether the kernel's table was read (there is IPVS).
    pub fn drift_check(&mut self) -> bool {
        if !self.host.has_ipvs() {
            return false;
        }
        let want = std::mem::take(&mut self.wanted);
        self.repair(&want, Why::Drift);
        self.wanted = want;
        true
    }

    /// Reads the neighbour table for the forwarders' MACs; re-plans when one is new.
    pub fn learn(&mut self) -> bool {
        match self.host.neighbours() {
            Ok(n) => {
                let grew = super::guard::learn(&mut self.world.forwarders, &self.forwarder_ips, &n);
                if grew {
                    tracing::info!(
                        "colocated guard: {} real-server MAC(s) known ({} address(es) to learn)",
                        self.world.forwarders.len(),
                        self.forwarder_ips.len()
                    );
                }
                grew
            }
            Err(e) => {
                tracing::warn!("colocated guard: reading the neighbour table: {e}");
                false
            }
        }
    }

    /// Whether the guard needs the neighbour table watched.
    pub fn guarding(&self) -> bool {
        !self.forwarder_ips.is_empty() && self.applied.guard.is_some()
    }

    /// Shutdown: the sync daemon stops, lvsd's services go (or the whole table with
    /// `lvs_flush_on_stop ALL`), lvsd's nft table goes, and a colocated node keeps its
    /// real-server role (`colocated_on_stop real_server`) or leaves it (`remove`).
    pub fn stop(&mut self) {
        if let Some(s) = self.applied.sync.take() {
            if let Err(e) = self.host.sync_stop(s.state) {
                tracing::warn!("IPVS: stopping the sync daemon: {e}");
            }
        }
        if self.host.has_ipvs() {
            self.stop_services();
        }
        if self.applied.guard.take().is_some() {
            match self.host.guard_remove() {
                Ok(()) => tracing::info!(
                    "colocated guard: nft table inet {} removed",
                    super::guard::TABLE
                ),
                Err(e) => tracing::error!(
                    "colocated guard: removing nft table inet {}: {e}",
                    super::guard::TABLE
                ),
            }
        }
        let remove = self.world.plan.config.global.colocated_on_stop_remove;
        let cfg = self.world.plan.config.clone();
        let colocations = self.world.plan.colocations.clone();
        for c in colocations.iter() {
            let Some(inst) = &c.instance else { continue };
            for (vip, iface) in super::colocated::vips_of(&cfg, &colocations, inst) {
                let r = if remove {
                    self.host.role_down(vip)
                } else {
                    // the engine put the VIP on lo as it left the interface: record it
                    self.host.role_up(vip, iface.as_deref())
                };
                match r {
                    Ok(lines) => {
                        for l in lines {
                            tracing::info!("{vip} ({inst}, stop): {l}");
                        }
                    }
                    Err(e) => tracing::error!("{vip} ({inst}, stop): real-server role: {e}"),
                }
            }
        }
    }

    fn stop_services(&mut self) {
        let all = self
            .world
            .plan
            .config
            .global
            .lvs_flush_on_stop
            .as_deref()
            .is_some_and(|v| v.eq_ignore_ascii_case("ALL"));
        if all {
            if let Err(e) = self.host.ipvs_flush() {
                tracing::error!("IPVS: lvs_flush_on_stop: {e}");
            }
            return;
        }
        // keepalived's default (and `VS`): what lvsd declared and is still there
        let have = self.host.ipvs_table().ok();
        let ops: Vec<Op> = self
            .applied
            .ipvs
            .keys()
            .filter(|k| have.as_ref().is_none_or(|t| t.contains_key(k)))
            .map(|k| Op::DelService(*k))
            .collect();
        if !ops.is_empty() {
            if let Err((n, e)) = self.host.ipvs_apply(&ops) {
                tracing::error!(
                    "IPVS (stop): operation {} of {} failed: {e}",
                    n + 1,
                    ops.len()
                );
            }
        }
        self.applied.ipvs = Default::default();
    }
}

/// After a failed guard install: the services were not yet re-keyed, the table not there.
fn applied_before_guard(a: &DesiredHost) -> DesiredHost {
    DesiredHost {
        guard: None,
        ..a.clone()
    }
}
