//! The IPVS side of `lvsd run`: program the configuration's virtual servers, repair drift
//! periodically, follow reloads, and run the connection-sync daemon in step with the VRRP
//! instance it is bound to.
//!
//! The real servers' health comes from the health task (the checkers): the desired table is
//! always computed from a configuration and the health of that same configuration.

use super::guard;
use super::plan::Plan;
use lvsd_check::health::Health;
use lvsd_ipvs::netlink::{IpvsSocket, Op};
use lvsd_ipvs::{desired, reconcile, ServiceKey, SyncDaemon, SyncState, Table};
use lvsd_vrrp::State;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

pub enum IpvsInput {
    Reload(Box<Plan>, Box<Health>),
    /// The real servers' health changed.
    Health(Box<Health>),
    /// The kernel's table now (for `status`), guarded services under their address keys,
    /// with the marks the colocated guard gave them (empty when it is not installed).
    Table(tokio::sync::oneshot::Sender<Option<(Table, guard::Marks)>>),
    /// `lvsd reload --dry-run`: the operations a reload to this configuration would make.
    Preview(
        Box<Plan>,
        Box<Health>,
        tokio::sync::oneshot::Sender<Vec<String>>,
    ),
    /// A VRRP instance changed state (for lvs_sync_daemon).
    Instance {
        name: String,
        state: State,
    },
    Stop,
}

/// Counters shown by `status`.
/// How often the guard looks for new real-server MACs in the neighbour table.
const GUARD_SCAN: Duration = Duration::from_secs(2);

#[derive(Default)]
pub struct IpvsCounters {
    pub repairs: AtomicU64,
    pub operations: AtomicU64,
}

struct Task {
    /// None when the kernel has no IPVS: VRRP, the real-server role and the guard still run.
    sock: Option<IpvsSocket>,
    plan: Plan,
    health: Health,
    want: Table,
    /// Every service lvsd has declared (so that one removed by a reload is deleted).
    managed: BTreeSet<ServiceKey>,
    sync: Option<SyncState>,
    counters: Arc<IpvsCounters>,
    /// Virtual services of which this host is also a real server (issue 8).
    colocated: Vec<lvsd_config::colocated::Colocation>,
    /// The last state of every VRRP instance.
    states: std::collections::HashMap<String, State>,
    /// The runtime (for rtnetlink) and a netlink handle, for the real-server role.
    rt: tokio::runtime::Handle,
    nl: Option<lvsd_netif::Netlink>,
    /// Where the real-server role is recorded (shared with `lvsd realserver`).
    state_file: std::path::PathBuf,
    /// The colocated guard (guard.rs): guarded services and their marks, the real servers
    /// whose MACs mean "forwarded by a director", the MACs learnt, whether nft has the table.
    marks: guard::Marks,
    forwarder_ips: BTreeSet<std::net::IpAddr>,
    forwarders: BTreeSet<[u8; 6]>,
    guard_installed: Option<(guard::Marks, BTreeSet<[u8; 6]>)>,
    next_scan: std::time::Instant,
    guard_errors: super::ratelimit::RateLimit,
}

/// Starts the task if the configuration has virtual servers; returns its input channel.
pub fn spawn(
    plan: &Plan,
    health: Health,
    interval: Duration,
    counters: Arc<IpvsCounters>,
    state_file: std::path::PathBuf,
) -> Option<(
    mpsc::UnboundedSender<IpvsInput>,
    tokio::task::JoinHandle<()>,
)> {
    if plan.config.virtual_servers.is_empty() && plan.config.global.lvs_sync_daemon.is_none() {
        return None;
    }
    let (tx, mut rx) = mpsc::unbounded_channel();
    let plan = plan.clone();
    let rt = tokio::runtime::Handle::current();
    let h = tokio::task::spawn_blocking(move || {
        let sock = match IpvsSocket::open() {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::error!("IPVS: {e}; virtual servers are not programmed (VRRP runs on)");
                None
            }
        };
        let mut t = Task {
            sock,
            want: Table::new(),
            managed: BTreeSet::new(),
            plan: plan.clone(),
            health,
            sync: None,
            counters,
            colocated: Vec::new(),
            states: std::collections::HashMap::new(),
            nl: {
                let _g = rt.enter();
                lvsd_netif::Netlink::new().ok()
            },
            rt,
            state_file,
            marks: guard::Marks::new(),
            forwarder_ips: BTreeSet::new(),
            forwarders: BTreeSet::new(),
            guard_installed: None,
            next_scan: std::time::Instant::now(),
            guard_errors: super::ratelimit::RateLimit::new(Duration::from_secs(60)),
        };
        t.colocated = super::colocated::find(&t.plan.config);
        t.plan_guard();
        t.start();
        loop {
            // Wait for an input or the next drift check.
            let input = {
                let deadline = std::time::Instant::now() + interval;
                loop {
                    match rx.try_recv() {
                        Ok(i) => break Some(i),
                        Err(mpsc::error::TryRecvError::Disconnected) => {
                            break Some(IpvsInput::Stop)
                        }
                        Err(mpsc::error::TryRecvError::Empty) => {}
                    }
                    if std::time::Instant::now() >= deadline {
                        break None;
                    }
                    if !t.marks.is_empty() && std::time::Instant::now() >= t.next_scan {
                        t.guard_scan();
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            };
            match input {
                None if t.sock.is_none() => {}
                None => t.reconcile("drift check"),
                Some(IpvsInput::Reload(p, h)) => t.reload(*p, *h),
                Some(IpvsInput::Health(h)) => t.health_changed(*h),
                Some(IpvsInput::Table(reply)) => {
                    let marks = t
                        .guard_installed
                        .as_ref()
                        .map(|(m, _)| m.clone())
                        .unwrap_or_default();
                    let table = t
                        .sock
                        .as_mut()
                        .and_then(|s| s.table().ok())
                        .map(|mut table| {
                            guard::unkey(&mut table, &marks);
                            (table, marks)
                        });
                    let _ = reply.send(table);
                }
                Some(IpvsInput::Preview(p, h, reply)) => {
                    let _ = reply.send(t.preview(&p, &h));
                }
                Some(IpvsInput::Instance { name, state }) => t.follow_instance(&name, state),
                Some(IpvsInput::Stop) => {
                    t.stop();
                    return;
                }
            }
        }
    });
    Some((tx, h))
}

impl Task {
    fn start(&mut self) {
        // the guard's table first: a fwmark service without its marks balances nothing
        if !self.marks.is_empty() {
            self.guard_scan();
        }
        let Some(sock) = self.sock.as_mut() else {
            self.roles();
            return;
        };
        let g = &self.plan.config.global;
        if g.lvs_flush {
            match sock.flush() {
                Ok(()) => tracing::info!("IPVS: table flushed (lvs_flush)"),
                Err(e) => tracing::error!("IPVS: flush: {e}"),
            }
        }
        let t = &g.lvs_timeouts;
        if t.tcp.is_some() || t.tcpfin.is_some() || t.udp.is_some() {
            let timeouts = lvsd_ipvs::Timeouts {
                tcp: t.tcp.unwrap_or(0),
                tcp_fin: t.tcpfin.unwrap_or(0),
                udp: t.udp.unwrap_or(0),
            };
            if let Err(e) = sock.set_timeouts(&timeouts) {
                tracing::error!("IPVS: lvs_timeouts: {e}");
            }
        }
        self.load_desired();
        self.reconcile("start");
        self.roles();
        // A sync daemon not bound to an instance runs as master from the start.
        if let Some(sd) = &self.plan.config.global.lvs_sync_daemon {
            if sd.instance.is_none() {
                self.set_sync(Some(SyncState::Master));
            }
        }
    }

    fn load_desired(&mut self) {
        match desired::from_config(&self.plan.config, &self.health) {
            Ok(t) => self.want = t,
            Err(errs) => {
                for e in errs {
                    tracing::error!("IPVS: {e}");
                }
            }
        }
        self.managed.extend(self.want.keys().copied());
        self.drop_colocated_unless_master();
        // guarded services go in as fwmark services once lvsd's nft table is there
        if let Some((marks, _)) = &self.guard_installed {
            guard::rekey(&mut self.want, marks);
            self.managed.extend(self.want.keys().copied());
        }
    }

    /// Which services the guard covers (colocated, an instance holding the VIP, mode
    /// `guard`) and the real servers whose MACs mean "forwarded by a director".
    fn plan_guard(&mut self) {
        let cfg = self.plan.config.clone();
        let mut keys = BTreeSet::new();
        let mut ips = BTreeSet::new();
        if cfg.global.colocated_directors == lvsd_config::model::ColocatedMode::Guard {
            for c in &self.colocated {
                if c.instance.is_none() {
                    continue;
                }
                if let Ok(ks) = desired::service_keys(&cfg, c.vs) {
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
                if let Some(i) = cfg
                    .instances
                    .iter()
                    .find(|i| c.instance.as_deref() == Some(&i.name))
                {
                    ips.extend(i.unicast_peers.iter().map(|p| p.addr));
                }
            }
        }
        self.marks = guard::assign(&keys);
        self.forwarder_ips = ips;
        self.next_scan = std::time::Instant::now();
    }

    /// The desired table again (guarded services as fwmark or address services), applied as
    /// a difference.
    fn rekey_applied(&mut self, why: &str) {
        if self.sock.is_none() {
            return;
        }
        let before = std::mem::take(&mut self.want);
        self.load_desired();
        let ops = reconcile::diff(&self.want, &before, &self.managed);
        if !ops.is_empty() {
            self.apply(&ops, why);
        }
    }

    /// Learns the forwarders' MACs and (re)installs lvsd's nft table when they or the
    /// guarded services changed. The first successful install switches the guarded services
    /// to their fwmark form.
    fn guard_scan(&mut self) {
        self.next_scan = std::time::Instant::now() + GUARD_SCAN;
        if let Some(nl) = &self.nl {
            match self.rt.block_on(nl.neighbours()) {
                Ok(n) => {
                    if guard::learn(&mut self.forwarders, &self.forwarder_ips, &n) {
                        tracing::info!(
                            "colocated guard: {} real-server MAC(s) known ({} address(es) to learn)",
                            self.forwarders.len(),
                            self.forwarder_ips.len()
                        );
                    }
                }
                Err(e) => {
                    if self
                        .guard_errors
                        .allow(None, "colocated guard: neighbour table")
                    {
                        tracing::warn!("colocated guard: reading the neighbour table: {e}");
                    }
                }
            }
        }
        let wanted = (self.marks.clone(), self.forwarders.clone());
        if self.guard_installed.as_ref() == Some(&wanted) {
            return;
        }
        if wanted.0.is_empty() {
            // a reload left no guarded service: the table goes, the services are keyed by
            // address again
            match guard::remove() {
                Ok(()) => tracing::info!(
                    "colocated guard: no guarded service left, nft table inet {} removed",
                    guard::TABLE
                ),
                Err(e) => tracing::error!(
                    "colocated guard: removing nft table inet {}: {e}",
                    guard::TABLE
                ),
            }
            self.guard_installed = None;
            self.rekey_applied("colocated guard removed");
            return;
        }
        match guard::install(&wanted.0, &wanted.1) {
            Ok(()) => {
                let first = self.guard_installed.as_ref().map(|(m, _)| m) != Some(&wanted.0);
                tracing::info!(
                    "colocated guard: nft table inet {} installed ({} service(s), {} forwarder MAC(s))",
                    guard::TABLE,
                    wanted.0.len(),
                    wanted.1.len()
                );
                if first {
                    // a user's own mark rules on these VIPs: say which one wins
                    let vips: BTreeSet<std::net::IpAddr> = wanted
                        .0
                        .keys()
                        .filter_map(|k| match k {
                            ServiceKey::Addr { addr, .. } => Some(*addr),
                            _ => None,
                        })
                        .collect();
                    for (table, rule) in guard::foreign_marks_now(&vips) {
                        tracing::warn!(
                            "colocated guard: table {table} also marks packets to a guarded VIP (`{rule}`): for the packets lvsd's guard marks (to its VIP:port, not from a real server's MAC) lvsd's mark wins (its chain runs at priority mangle + 1, after yours); packets it leaves unmarked keep your mark"
                        );
                    }
                }
                self.guard_installed = Some(wanted);
                if first {
                    self.rekey_applied("colocated guard");
                }
            }
            Err(e) => {
                if self.guard_errors.allow(None, "colocated guard: nft") {
                    tracing::error!(
                        "colocated guard: {e}; the colocated services stay address services, in IPVS only while MASTER (no protection when a master dies with its kernel state or in split brain)"
                    );
                }
            }
        }
    }

    /// Makes the kernel match the desired table; counts repairs after the first pass.
    fn reconcile(&mut self, why: &str) {
        let Some(sock) = self.sock.as_mut() else {
            return;
        };
        let have = match sock.table() {
            Ok(t) => t,
            Err(e) => {
                tracing::error!("IPVS: cannot read the table: {e}");
                return;
            }
        };
        let ops = reconcile::diff(&self.want, &have, &self.managed);
        if ops.is_empty() {
            return;
        }
        if why == "drift check" {
            self.counters.repairs.fetch_add(1, Ordering::Relaxed);
            tracing::warn!("IPVS: the kernel table drifted from the configuration: {} operation(s) to repair it", ops.len());
            for op in ops.iter().take(5) {
                tracing::warn!("IPVS: repair: {op}");
            }
        }
        self.apply(&ops, why);
        // Services no longer wanted and now gone are no longer ours to manage.
        let want = &self.want;
        self.managed.retain(|k| want.contains_key(k));
    }

    fn apply(&mut self, ops: &[Op], why: &str) {
        let Some(sock) = self.sock.as_mut() else {
            return;
        };
        let t0 = std::time::Instant::now();
        match sock.apply(ops) {
            Ok(n) => {
                self.counters
                    .operations
                    .fetch_add(n as u64, Ordering::Relaxed);
                tracing::info!(
                    "IPVS ({why}): {n} operation(s) in {:.1} ms",
                    t0.elapsed().as_secs_f64() * 1e3
                );
            }
            Err((i, e)) => {
                self.counters
                    .operations
                    .fetch_add(i as u64, Ordering::Relaxed);
                tracing::error!(
                    "IPVS ({why}): operation {} of {} failed: {e}",
                    i + 1,
                    ops.len()
                );
            }
        }
    }

    /// A reload costs what changed: the new desired table is compared with the previous one
    /// (in memory), not with a dump of the kernel; the next drift check verifies the kernel.
    fn reload(&mut self, plan: Plan, health: Health) {
        let t0 = std::time::Instant::now();
        let before: Vec<std::net::IpAddr> = self.role_vips().into_iter().map(|v| v.0).collect();
        self.plan = plan;
        self.health = health;
        self.colocated = super::colocated::find(&self.plan.config);
        // a VIP no longer colocated leaves the real-server role lvsd recorded for it
        let now: Vec<std::net::IpAddr> = self.role_vips().into_iter().map(|v| v.0).collect();
        if let Some(nl) = &self.nl {
            for ip in before.into_iter().filter(|ip| !now.contains(ip)) {
                match self
                    .rt
                    .block_on(crate::realserver::role_down(nl, ip, &self.state_file))
                {
                    Ok(lines) if !lines.is_empty() => tracing::info!(
                        "{ip}: no longer a colocated service (reload): {}",
                        lines.join("; ")
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::error!("{ip}: leaving the real-server role (reload): {e}"),
                }
            }
        }
        self.plan_guard();
        if !self.marks.is_empty() || self.guard_installed.is_some() {
            self.guard_scan();
        }
        let old = std::mem::take(&mut self.want);
        self.load_desired();
        let ops = reconcile::diff(&self.want, &old, &self.managed);
        tracing::info!(
            "IPVS (reload): {} change(s) found in {:.1} ms",
            ops.len(),
            t0.elapsed().as_secs_f64() * 1e3
        );
        if !ops.is_empty() {
            self.apply(&ops, "reload");
        }
        let want = &self.want;
        self.managed.retain(|k| want.contains_key(k));
        self.roles();
    }

    /// The VIPs of the colocated services with an instance: (VIP, instance, its interface).
    fn role_vips(&self) -> Vec<(std::net::IpAddr, String, Option<String>)> {
        let cfg = &self.plan.config;
        let mut names: Vec<&str> = self
            .colocated
            .iter()
            .filter_map(|c| c.instance.as_deref())
            .collect();
        names.sort_unstable();
        names.dedup();
        names
            .into_iter()
            .flat_map(|n| {
                super::colocated::vips_of(cfg, &self.colocated, n)
                    .into_iter()
                    .map(move |(ip, iface)| (ip, n.to_string(), iface))
            })
            .collect()
    }

    /// The real-server role of every colocated service whose instance is not MASTER here
    /// (VIP on lo, recorded in the state file as `lvsd realserver up` does), the director
    /// role of the others (the VIP lvsd put on lo leaves it; one the user put there stays).
    fn roles(&mut self) {
        let Some(nl) = &self.nl else { return };
        for (ip, inst, iface) in self.role_vips() {
            let master = self.states.get(&inst) == Some(&State::Master);
            let r = if master {
                self.rt
                    .block_on(crate::realserver::role_down(nl, ip, &self.state_file))
            } else {
                self.rt.block_on(crate::realserver::role_up(
                    nl,
                    ip,
                    super::colocated::LABEL,
                    iface.as_deref(),
                    &self.state_file,
                ))
            };
            match r {
                Ok(lines) if !lines.is_empty() => tracing::info!(
                    "{ip}: {} ({inst} is {}): {}",
                    if master {
                        "the director role"
                    } else {
                        "serving as a real server"
                    },
                    if master { "MASTER" } else { "not MASTER" },
                    lines.join("; ")
                ),
                Ok(_) => {}
                Err(e) => tracing::error!("{ip}: real-server role ({inst}): {e}"),
            }
        }
    }

    /// A colocated service is in the kernel only while its instance is MASTER here: a backup
    /// that balanced what the master forwarded would make a loop (docs/colocated.md).
    fn drop_colocated_unless_master(&mut self) {
        let cfg = self.plan.config.clone();
        drop_colocated(&cfg, &self.colocated, &self.states, &mut self.want);
    }

    fn follow_instance(&mut self, name: &str, state: State) {
        let old = self.states.insert(name.to_string(), state);
        if old != Some(state)
            && self
                .colocated
                .iter()
                .any(|c| c.instance.as_deref() == Some(name))
        {
            // the role first: as a backup the VIP must be on lo before the service goes
            if state != State::Master {
                self.roles();
            }
            let before = std::mem::take(&mut self.want);
            self.load_desired();
            let ops = reconcile::diff(&self.want, &before, &self.managed);
            if !ops.is_empty() {
                self.apply(
                    &ops,
                    if state == State::Master {
                        "takeover"
                    } else {
                        "handback"
                    },
                );
            }
            if state == State::Master {
                self.roles();
            }
        }
        let bound = self
            .plan
            .config
            .global
            .lvs_sync_daemon
            .as_ref()
            .and_then(|s| s.instance.clone());
        if bound.as_deref() != Some(name) {
            return;
        }
        let want = match state {
            State::Master => Some(SyncState::Master),
            State::Backup | State::Fault => Some(SyncState::Backup),
            State::Stop | State::Init => None,
        };
        self.set_sync(want);
    }

    fn set_sync(&mut self, want: Option<SyncState>) {
        if self.sync == want {
            return;
        }
        let Some(sd) = self.plan.config.global.lvs_sync_daemon.clone() else {
            return;
        };
        let Some(sock) = self.sock.as_mut() else {
            return;
        };
        if let Some(old) = self.sync.take() {
            if let Err(e) = sock.del_daemon(old) {
                tracing::warn!("IPVS: stopping the sync daemon: {e}");
            }
        }
        if let Some(state) = want {
            let d = SyncDaemon {
                state,
                ifname: sd.interface.clone(),
                syncid: sd.id.unwrap_or(0),
                sync_maxlen: sd.maxlen,
                mcast_group: sd.group,
                mcast_port: sd.port,
                mcast_ttl: sd.ttl,
            };
            match sock.add_daemon(&d) {
                Ok(()) => {
                    tracing::info!("IPVS: sync daemon {state:?} on {}", sd.interface);
                    self.sync = Some(state);
                }
                Err(e) => tracing::error!("IPVS: sync daemon {state:?} on {}: {e}", sd.interface),
            }
        }
    }

    fn stop(&mut self) {
        self.set_sync(None);
        self.stop_services();
        if self.guard_installed.take().is_some() {
            match guard::remove() {
                Ok(()) => {
                    tracing::info!("colocated guard: nft table inet {} removed", guard::TABLE)
                }
                Err(e) => tracing::error!(
                    "colocated guard: removing nft table inet {}: {e}",
                    guard::TABLE
                ),
            }
        }
        self.stop_roles();
    }

    /// On stop a colocated node stays a real server (VIP on lo) unless `colocated_on_stop
    /// remove`: then what lvsd recorded is undone, as `lvsd realserver down` would.
    fn stop_roles(&mut self) {
        let Some(nl) = &self.nl else { return };
        let remove = self.plan.config.global.colocated_on_stop_remove;
        for (ip, inst, _) in self.role_vips() {
            let r = if remove {
                self.rt
                    .block_on(crate::realserver::role_down(nl, ip, &self.state_file))
            } else {
                Ok(Vec::new())
            };
            match r {
                Ok(lines) => {
                    for l in lines {
                        tracing::info!("{ip} ({inst}, stop, colocated_on_stop remove): {l}");
                    }
                }
                Err(e) => tracing::error!("{ip}: leaving the real-server role ({inst}): {e}"),
            }
        }
    }

    fn stop_services(&mut self) {
        let Some(sock) = self.sock.as_mut() else {
            return;
        };
        match self.plan.config.global.lvs_flush_on_stop.as_deref() {
            Some(v) if v.eq_ignore_ascii_case("ALL") => {
                if let Err(e) = sock.flush() {
                    tracing::error!("IPVS: lvs_flush_on_stop: {e}");
                }
            }
            // VS, and keepalived's default: remove what lvsd declared and is still there (a
            // colocated service a handback removed a moment ago is not)
            other => {
                let have = sock.table().ok();
                let ops: Vec<Op> = self
                    .managed
                    .iter()
                    .filter(|k| have.as_ref().is_none_or(|t| t.contains_key(k)))
                    .map(|k| Op::DelService(*k))
                    .collect();
                if !ops.is_empty() {
                    self.apply(
                        &ops,
                        if other.is_some() {
                            "lvs_flush_on_stop"
                        } else {
                            "stop"
                        },
                    );
                }
            }
        }
    }

    /// Checkers changed a real server or a quorum: apply the difference to the table.
    fn health_changed(&mut self, health: Health) {
        self.health = health;
        let old = std::mem::take(&mut self.want);
        self.load_desired();
        let ops = reconcile::diff(&self.want, &old, &self.managed);
        if !ops.is_empty() {
            for op in &ops {
                tracing::info!("IPVS: {op}");
            }
            self.apply(&ops, "health");
        }
    }

    fn preview(&self, plan: &Plan, health: &Health) -> Vec<String> {
        match desired::from_config(&plan.config, health) {
            Ok(mut want) => {
                drop_colocated(
                    &plan.config,
                    &super::colocated::find(&plan.config),
                    &self.states,
                    &mut want,
                );
                let mut managed = self.managed.clone();
                managed.extend(want.keys().copied());
                reconcile::diff(&want, &self.want, &managed)
                    .iter()
                    .map(|o| o.to_string())
                    .collect()
            }
            Err(errs) => errs.iter().map(|e| format!("error: {e}")).collect(),
        }
    }
}

/// Removes from `want` the colocated services whose VRRP instance is not MASTER here.
fn drop_colocated(
    cfg: &lvsd_config::Config,
    colocated: &[lvsd_config::colocated::Colocation],
    states: &std::collections::HashMap<String, State>,
    want: &mut Table,
) {
    for c in colocated {
        let Some(inst) = &c.instance else { continue };
        if states.get(inst) == Some(&State::Master) {
            continue;
        }
        if let Ok(keys) = desired::service_keys(cfg, c.vs) {
            for k in keys {
                want.remove(&k);
            }
        }
    }
}
