//! The reconciler's thread and the real host it changes.
//!
//! The thread waits on one channel with a deadline: an input (health, a VRRP state change,
//! a reload, a status request) wakes it at once; otherwise it wakes only for the drift check
//! (`--drift-interval`) and, while a colocated guard is installed, to read the neighbour
//! table for new forwarder MACs. No polling in between (issue 14: 0 wake-ups when idle
//! besides those timers).

use super::guard::{self, Marks};
use super::plan::Plan;
use super::reconciler::{HostOps, Reconciler, Why};
use super::world::{GuardRules, States, World};
use lvsd_check::health::Health;
use lvsd_ipvs::netlink::{IpvsSocket, Op};
use lvsd_ipvs::{ServiceKey, SyncDaemon, SyncState, Table, Timeouts};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, watch};

/// How often the guard reads the neighbour table for new real-server MACs.
const GUARD_SCAN: Duration = Duration::from_secs(2);

/// The real servers' health the reconciler has not taken yet: the health task replaces it at
/// each change and sends [`Input::Health`] only when the slot was empty, so a burst of changes
/// (every real server failing at once) is one health state waiting, not one per change
/// (36,000 failing checkers queued ~600 MB of states here before).
pub type HealthSlot = std::sync::Arc<std::sync::Mutex<Option<Health>>>;

pub enum Input {
    /// The real servers' health changed: the latest is in the slot.
    Health(HealthSlot),
    /// The engine published new VRRP states.
    States,
    /// A validated configuration with the checkers' states carried over: apply, reply with
    /// the steps carried out.
    Reload(Box<Plan>, Box<Health>, oneshot::Sender<Vec<String>>),
    /// `lvsd reload --dry-run`: the steps a reload would carry out.
    Preview(Box<Plan>, Box<Health>, oneshot::Sender<Vec<String>>),
    /// The kernel's table now (for `status`), guarded services under their address keys,
    /// with the guard's marks and the destinations' connections; None without IPVS.
    Table(oneshot::Sender<Option<(Table, Marks, Conns)>>),
    /// The connections of these services' destinations (address keys; a drain's end).
    Conns(Vec<ServiceKey>, oneshot::Sender<Option<Conns>>),
    /// The reconciler's counters (for the metrics).
    Counters(oneshot::Sender<super::reconciler::Counters>),
    Stop,
}

/// The active and inactive connections of a service's destinations: (address, port,
/// active, inactive), by the service's address key.
pub type Conns = std::collections::HashMap<ServiceKey, Vec<(IpAddr, u16, u32, u32)>>;

/// The kernel's key of a service: its guard mark's while the guard holds it.
fn kernel_key(key: &ServiceKey, marks: &Marks) -> ServiceKey {
    match marks.get(key) {
        Some(m) => ServiceKey::Fwmark {
            family: key.family(),
            mark: *m,
        },
        None => *key,
    }
}

fn conns_entry(
    dests: &[(
        lvsd_ipvs::Dest,
        lvsd_ipvs::netlink::DestCounters,
        lvsd_ipvs::Stats,
    )],
) -> Vec<(IpAddr, u16, u32, u32)> {
    dests
        .iter()
        .map(|(d, c, _)| (d.addr, d.port, c.active, c.inactive))
        .collect()
}

/// The real host: IPVS over generic netlink, rtnetlink and /proc/sys for the role, nft.
pub struct RealHost {
    sock: Option<IpvsSocket>,
    rt: tokio::runtime::Handle,
    nl: Option<lvsd_netif::Netlink>,
    state_file: PathBuf,
    lo_added: super::LoAdded,
}

impl RealHost {
    fn nl(&self) -> Result<&lvsd_netif::Netlink, String> {
        self.nl
            .as_ref()
            .ok_or_else(|| "no rtnetlink socket".to_string())
    }

    fn sock(&mut self) -> Result<&mut IpvsSocket, String> {
        self.sock.as_mut().ok_or_else(|| "no IPVS".to_string())
    }

    /// The kernel's table and its connections, guarded services under their address keys.
    fn table_and_conns(&mut self, marks: &Marks) -> Result<(Table, Conns), String> {
        let snap = self.sock()?.snapshot().map_err(|e| e.to_string())?;
        let by_mark: std::collections::HashMap<ServiceKey, ServiceKey> =
            marks.keys().map(|k| (kernel_key(k, marks), *k)).collect();
        let mut table = Table::new();
        let mut conns = Conns::new();
        for (svc, _, dests) in snap {
            let key = by_mark.get(&svc.key).copied().unwrap_or(svc.key);
            conns.insert(key, conns_entry(&dests));
            let dests = dests.into_iter().map(|(d, _, _)| (d.key(), d)).collect();
            table.insert(svc.key, (svc, dests));
        }
        guard::unkey(&mut table, marks);
        Ok((table, conns))
    }

    /// The connections of some services' destinations.
    fn conns_of(&mut self, keys: &[ServiceKey], marks: &Marks) -> Result<Conns, String> {
        let sock = self.sock()?;
        let mut out = Conns::new();
        for k in keys {
            let dests = sock
                .dests(&kernel_key(k, marks))
                .map_err(|e| e.to_string())?;
            out.insert(*k, conns_entry(&dests));
        }
        Ok(out)
    }
}

impl HostOps for RealHost {
    fn has_ipvs(&self) -> bool {
        self.sock.is_some()
    }
    fn ipvs_table(&mut self) -> Result<Table, String> {
        self.sock()?.table().map_err(|e| e.to_string())
    }
    fn ipvs_apply(&mut self, ops: &[Op]) -> Result<usize, (usize, String)> {
        let sock = self.sock().map_err(|e| (0, e))?;
        sock.apply(ops).map_err(|(i, e)| (i, e.to_string()))
    }
    fn ipvs_flush(&mut self) -> Result<(), String> {
        self.sock()?.flush().map_err(|e| e.to_string())
    }
    fn set_timeouts(&mut self, t: &Timeouts) -> Result<(), String> {
        self.sock()?.set_timeouts(t).map_err(|e| e.to_string())
    }
    fn sync_start(&mut self, d: &SyncDaemon) -> Result<(), String> {
        self.sock()?.add_daemon(d).map_err(|e| e.to_string())
    }
    fn sync_stop(&mut self, s: SyncState) -> Result<(), String> {
        self.sock()?.del_daemon(s).map_err(|e| e.to_string())
    }
    fn role_up(&mut self, vip: IpAddr, iface: Option<&str>) -> Result<Vec<String>, String> {
        // the engine put it on lo as it left the interface: lvsd's, to be recorded
        let adopt = self
            .lo_added
            .lock()
            .map(|mut s| s.remove(&vip))
            .unwrap_or(false);
        let nl = self.nl()?;
        self.rt.block_on(crate::realserver::role_up(
            nl,
            vip,
            super::colocated::LABEL,
            iface,
            adopt,
            &self.state_file,
        ))
    }
    fn role_down(&mut self, vip: IpAddr) -> Result<Vec<String>, String> {
        let nl = self.nl()?;
        self.rt
            .block_on(crate::realserver::role_down(nl, vip, &self.state_file))
    }
    fn guard_install(&mut self, g: &GuardRules) -> Result<(), String> {
        guard::install(&g.marks, &g.forwarders)?;
        tracing::info!(
            "colocated guard: nft table inet {} installed ({} service(s), {} forwarder MAC(s))",
            guard::TABLE,
            g.marks.len(),
            g.forwarders.len()
        );
        warn_foreign_marks(&g.marks);
        Ok(())
    }
    fn guard_remove(&mut self) -> Result<(), String> {
        guard::remove()
    }
    fn guard_present(&mut self) -> bool {
        guard::present()
    }
    fn neighbours(&mut self) -> Result<Vec<lvsd_netif::Neighbour>, String> {
        let nl = self.nl()?;
        self.rt.block_on(nl.neighbours()).map_err(|e| e.to_string())
    }
}

/// A user's own mark rules on the guarded VIPs: say which one wins.
fn warn_foreign_marks(marks: &Marks) {
    let vips: std::collections::BTreeSet<IpAddr> = marks
        .keys()
        .filter_map(|k| match k {
            lvsd_ipvs::ServiceKey::Addr { addr, .. } => Some(*addr),
            _ => None,
        })
        .collect();
    for (table, rule) in guard::foreign_marks_now(&vips) {
        tracing::warn!(
            "colocated guard: table {table} also marks packets to a guarded VIP (`{rule}`): for the packets lvsd's guard marks (to its VIP:port, not from a real server's MAC) lvsd's mark wins (its chain runs at priority mangle + 1, after yours); packets it leaves unmarked keep your mark"
        );
    }
}

/// Starts the reconciler's thread; returns its input channel.
pub fn spawn(
    plan: &Plan,
    health: Health,
    states: watch::Receiver<States>,
    drift: Duration,
    state_file: PathBuf,
    lo_added: super::LoAdded,
) -> (Sender<Input>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = std::sync::mpsc::channel();
    // VRRP state changes wake the thread through the same channel
    let wake = tx.clone();
    let mut watch_rx = states.clone();
    tokio::spawn(async move {
        while watch_rx.changed().await.is_ok() {
            if wake.send(Input::States).is_err() {
                break;
            }
        }
    });
    let plan = plan.clone();
    let rt = tokio::runtime::Handle::current();
    let h = tokio::task::spawn_blocking(move || {
        let sock = match IpvsSocket::open() {
            Ok(s) => Some(s),
            Err(e) => {
                if !plan.config.virtual_servers.is_empty()
                    || plan.config.global.lvs_sync_daemon.is_some()
                {
                    tracing::error!("IPVS: {e}; virtual servers are not programmed (VRRP runs on)");
                }
                None
            }
        };
        let nl = {
            let _g = rt.enter();
            lvsd_netif::Netlink::new().ok()
        };
        let host = RealHost {
            sock,
            rt,
            nl,
            state_file,
            lo_added,
        };
        let mut world = World::new(plan);
        world.states = states.borrow().clone();
        world.health = health;
        let mut r = Reconciler::new(host, world);
        let done = r.start();
        give_back(done.len());
        run(&mut r, &rx, &states, drift);
    });
    (tx, h)
}

/// After a large apply (the first table, a reload that changed much) or a read of a large
/// table (a drift check): the operations, the old tables and the kernel's dump are free memory
/// (glibc trims every thread's heap); give it back to the system (36,000 destinations: ~4 MB
/// that stayed resident otherwise). Returns whether it trimmed.
fn give_back(steps: usize) -> bool {
    if steps < 1000 {
        return false;
    }
    // SAFETY: malloc_trim only releases free heap memory; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
    true
}

/// A drift check reads the kernel's whole table; with tens of thousands of destinations that
/// is real work (36,000 in the IPVS VM: ~0.4 s of CPU). The checks are spaced so that they take
/// at most 1 % of a CPU: `--drift-interval` is the shortest pause, and no pause is longer than
/// a minute (or the interval, if longer): a slow check (a repair of the whole table, a busy
/// kernel) does not put off the next one for long.
pub fn drift_pause(interval: Duration, took: Duration) -> Duration {
    interval
        .max(took * 100)
        .min(interval.max(Duration::from_secs(60)))
}

/// One reconcile pass, its duration counted.
fn timed<T>(r: &mut Reconciler<RealHost>, f: impl FnOnce(&mut Reconciler<RealHost>) -> T) -> T {
    let t = Instant::now();
    let out = f(r);
    r.counters.observe_pass(t.elapsed().as_secs_f64());
    out
}

/// The guard's marks as applied.
fn marks_of(r: &Reconciler<RealHost>) -> Marks {
    r.applied()
        .guard
        .as_ref()
        .map(|g| g.marks.clone())
        .unwrap_or_default()
}

fn run(
    r: &mut Reconciler<RealHost>,
    rx: &Receiver<Input>,
    states: &watch::Receiver<States>,
    drift: Duration,
) {
    let mut next_drift = Instant::now() + drift;
    let mut last_trim = Instant::now();
    let mut next_scan = Instant::now() + GUARD_SCAN;
    loop {
        let deadline = if r.guarding() {
            next_drift.min(next_scan)
        } else {
            next_drift
        };
        let input = match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(i) => i,
            Err(RecvTimeoutError::Disconnected) => Input::Stop,
            Err(RecvTimeoutError::Timeout) => {
                let now = Instant::now();
                if now >= next_scan {
                    next_scan = now + GUARD_SCAN;
                    if r.guarding() && r.learn() {
                        timed(r, |r| r.converge(Why::Forwarders));
                    }
                }
                if now >= next_drift {
                    let t = Instant::now();
                    let read = timed(r, |r| r.drift_check());
                    next_drift = Instant::now() + drift_pause(drift, t.elapsed());
                    // the kernel's table was read whole (as large as the table): its memory
                    // given back, at most once a minute (a trim briefly locks every thread's
                    // heap)
                    if read && last_trim.elapsed() >= Duration::from_secs(60) {
                        let entries = r.applied().ipvs.values().map(|(_, d)| d.len() + 1).sum();
                        if give_back(entries) {
                            last_trim = Instant::now();
                        }
                    }
                }
                continue;
            }
        };
        match input {
            Input::Health(slot) => {
                let latest = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
                // (none: a later message took it, or a reload made it stale)
                if let Some(h) = latest {
                    r.world.health = h;
                    timed(r, |r| r.converge(Why::Health));
                }
            }
            Input::States => {
                let now = states.borrow().clone();
                if now != r.world.states {
                    r.world.states = now;
                    timed(r, |r| r.converge(Why::Vrrp));
                }
            }
            Input::Reload(p, h, reply) => {
                let t0 = Instant::now();
                let done = timed(r, |r| r.reload(*p, *h));
                give_back(done.len());
                tracing::info!(
                    "reload: {} host change(s) in {:.1} ms",
                    done.len(),
                    t0.elapsed().as_secs_f64() * 1e3
                );
                let _ = reply.send(done.iter().map(|s| s.to_string()).collect());
            }
            Input::Preview(p, h, reply) => {
                let _ = reply.send(r.preview(&p, &h).iter().map(|s| s.to_string()).collect());
            }
            Input::Table(reply) => {
                let marks = marks_of(r);
                let table = r
                    .host
                    .table_and_conns(&marks)
                    .ok()
                    .map(|(t, c)| (t, marks, c));
                let _ = reply.send(table);
            }
            Input::Conns(keys, reply) => {
                let marks = marks_of(r);
                let _ = reply.send(r.host.conns_of(&keys, &marks).ok());
            }
            Input::Counters(reply) => {
                let _ = reply.send(r.counters);
            }
            Input::Stop => {
                r.stop();
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::drift_pause;
    use std::time::Duration;

    #[test]
    fn a_pass_is_counted_in_the_first_bucket_that_holds_its_duration() {
        let mut c = super::super::reconciler::Counters::default();
        for secs in [0.0005, 0.001, 0.002, 5.0, 7.0] {
            c.observe_pass(secs);
        }
        assert_eq!(c.pass_buckets, [2, 1, 0, 0, 0, 0, 0, 1, 1]);
        assert_eq!(c.passes, 5);
        assert!((c.pass_seconds - 12.0035).abs() < 1e-9);
    }

    #[test]
    fn a_drift_check_is_spaced_to_take_at_most_one_percent_of_a_cpu() {
        let five = Duration::from_secs(5);
        // a small table: the configured interval
        assert_eq!(drift_pause(five, Duration::from_millis(3)), five);
        // 36,000 destinations in an emulated VM: 0.4 s per check -> every 40 s
        assert_eq!(
            drift_pause(five, Duration::from_millis(400)),
            Duration::from_secs(40)
        );
        // a 3-s repair: a minute, not five
        assert_eq!(
            drift_pause(five, Duration::from_secs(3)),
            Duration::from_secs(60)
        );
    }
}
