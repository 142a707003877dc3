//! Runs every probe on its own schedule and reports the state changes of their [`Machine`]s.
//!
//! A probe is a record in one table with one deadline queue ([`core`]), not a task: one driver
//! task starts the checks that are due. TCP_CHECK — thousands of them at scale — is a
//! non-blocking connect on the pool's own epoll set ([`tcp`]); the other probes run as a
//! task only while a check is in flight. So a probe at rest costs its record (~0.5 KB), and a
//! check costs no task, no timer and no allocation of its own (issue 15).
//!
//! The pool runs on whatever runtime it is started in; `lvsd run` gives it a thread of its own
//! so that checker load never delays VRRP or the control socket.
//!
//! A probe is identified by its kind and target (not its timing): a reload that only changes
//! delay_loop or retry keeps the probe's state and last result. Identical probes under several
//! virtual servers were already merged by [`crate::spec`]: one task feeds all their checkers.

mod core;
mod entries;
mod queue;
mod tcp;

use self::core::{Core, Done};
use crate::health::CheckerId;
use crate::machine::{CheckState, Machine};
use crate::probe::{Outcome, ProbeKind};
use crate::spec::{Probe, ProbeSpec};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;

/// The checkers' states a reload keeps. A checker with several probes (SMTP_CHECK's `host`
/// blocks) is down while any of them is, whatever order the probes come in (issue 14: a
/// last-write-wins merge brought such a checker back up with one host down), and the probes
/// that are down are named, so that the next change of any of them is judged correctly.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Kept {
    /// The pool's configuration count after the reload: events of an earlier one name the
    /// old configuration's checkers, and their states are already in `states`.
    pub generation: u64,
    pub states: HashMap<CheckerId, CheckState>,
    pub down_probes: HashMap<CheckerId, std::collections::HashSet<String>>,
}

impl Kept {
    pub fn add(&mut self, user: CheckerId, probe: &str, state: CheckState) {
        let s = self.states.entry(user).or_insert(state);
        if state == CheckState::Down {
            *s = CheckState::Down;
            self.down_probes
                .entry(user)
                .or_default()
                .insert(probe.to_string());
        }
    }
}

/// A probe's name in events and [`Kept`]: its checker keyword and target.
pub fn probe_name(spec: &ProbeSpec) -> String {
    format!("{} {}", spec.kind.keyword(), describe(spec))
}

/// What the pool reports.
#[derive(Debug, Clone, PartialEq)]
pub enum PoolEvent {
    /// A probe changed state: every checker in `users` did.
    State {
        /// The configuration (the pool's reload count) `users` belong to.
        generation: u64,
        /// Which probe (its checker keyword and target): a checker may have several probes
        /// (SMTP_CHECK's legacy `host` blocks) and is up only while all of them are.
        probe: String,
        users: Vec<CheckerId>,
        state: CheckState,
        outcome: Outcome,
    },
    /// A probe set a weight (misc_dynamic, FILE_CHECK dynamic) different from its last one.
    /// `relative`: FILE_CHECK's result is added to the configured weight (keepalived); MISC's
    /// `misc_dynamic` weight replaces it.
    Weight {
        generation: u64,
        users: Vec<CheckerId>,
        weight: i32,
        relative: bool,
    },
}

/// One probe as `lvsd status` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeStatus {
    pub checker: &'static str,
    pub target: String,
    pub users: Vec<CheckerId>,
    pub state: CheckState,
    pub last: Option<Outcome>,
    /// Seconds since the last check ended.
    pub last_check_ago: Option<f64>,
    pub consecutive_failures: u32,
    pub checks: u64,
    pub failures: u64,
    /// Seconds in the current state.
    pub in_state: f64,
    pub suspended: bool,
    /// How long the checks took: a count per bucket of [`DURATION_BUCKETS`] (then the rest).
    pub durations: [u32; DURATION_BUCKETS.len() + 1],
    /// Their sum, in seconds.
    pub duration_sum: f64,
}

/// The upper bounds (seconds) of the checks' duration buckets: a few, as every probe keeps
/// its own (36,000 probes x 9 counts: 1.3 MB).
pub const DURATION_BUCKETS: [f64; 8] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0];

/// A probe's counters, as `lvsd status` shows them.
#[derive(Debug, Clone)]
struct Counters {
    state: CheckState,
    since: Instant,
    last: Option<Outcome>,
    last_at: Option<Instant>,
    consecutive_failures: u32,
    checks: u64,
    failures: u64,
    weight: Option<i32>,
    durations: [u32; DURATION_BUCKETS.len() + 1],
    duration_sum: f64,
}

impl Counters {
    fn new(state: CheckState, now: Instant) -> Counters {
        Counters {
            state,
            since: now,
            last: None,
            last_at: None,
            consecutive_failures: 0,
            checks: 0,
            failures: 0,
            weight: None,
            durations: [0; DURATION_BUCKETS.len() + 1],
            duration_sum: 0.0,
        }
    }

    /// Counts one result (not `last`, which the caller sets); returns the weight it sets if
    /// that differs from the last one.
    fn record(&mut self, o: &Outcome, changed: Option<CheckState>, now: Instant) -> Option<i32> {
        self.checks += 1;
        if !o.ok {
            self.failures += 1;
        }
        let secs = o.latency.as_secs_f64();
        let b = DURATION_BUCKETS
            .iter()
            .position(|&le| secs <= le)
            .unwrap_or(DURATION_BUCKETS.len());
        self.durations[b] = self.durations[b].saturating_add(1);
        self.duration_sum += secs;
        // counted here, not by the machine (which resets its count once down)
        self.consecutive_failures = if o.ok {
            0
        } else {
            self.consecutive_failures.saturating_add(1)
        };
        self.last_at = Some(now);
        if let Some(s) = changed {
            self.state = s;
            self.since = now;
        }
        match o.weight {
            Some(w) if self.weight != Some(w) => {
                self.weight = Some(w);
                Some(w)
            }
            _ => None,
        }
    }
}

/// The running probes. Dropping the pool stops them.
pub struct Pool {
    core: Arc<Mutex<Core>>,
    /// Tells the driver that the table changed (its next deadline may be earlier).
    wake: Arc<Notify>,
    driver: JoinHandle<()>,
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.driver.abort();
        self.lock().stop();
    }
}

/// The longest a probe may take beyond its own timeout before the pool gives up on it (a probe
/// honours its timeout itself; this is the safety net that keeps a machine ticking).
const OVERRUN: Duration = Duration::from_secs(5);

fn hard_limit(spec: &ProbeSpec) -> Duration {
    let own = match &spec.kind {
        // the runner's SIGTERM, then SIGKILL 2 s later
        ProbeKind::Misc(m) => m.timeout + Duration::from_secs(2),
        _ => spec.target.timeout,
    };
    own + OVERRUN
}

/// The table lock; a panic elsewhere while holding it does not stop the checkers.
fn lock(core: &Mutex<Core>) -> MutexGuard<'_, Core> {
    core.lock().unwrap_or_else(|e| e.into_inner())
}

impl Pool {
    /// Starts every probe (inside a tokio runtime). The first check of each comes after a
    /// random part of its warmup, so that thousands of checks do not start at once.
    pub fn start(probes: Vec<Probe>, tx: mpsc::UnboundedSender<PoolEvent>) -> Pool {
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        let mut core = Core::new(tx, done_tx);
        core.reserve(probes.len());
        let now = Instant::now();
        for p in probes {
            if merge(&mut core, &p).is_some() {
                continue;
            }
            let machine = Machine::new(p.spec.timing.clone());
            core.add(p.spec, p.users, machine, now);
        }
        let epfd = core.epoll_fd();
        let core = Arc::new(Mutex::new(core));
        let wake = Arc::new(Notify::new());
        let driver = tokio::spawn(drive(core.clone(), wake.clone(), done_rx, epfd));
        Pool { core, wake, driver }
    }

    fn lock(&self) -> MutexGuard<'_, Core> {
        lock(&self.core)
    }

    /// Replaces the probe set. A probe whose kind and target survive keeps its state (with the
    /// new timing); users are updated; removed probes stop. Returns the state of every checker
    /// of the new configuration whose probe survived (for [`crate::health::Health::reload`]).
    pub fn reload(&mut self, probes: Vec<Probe>) -> Kept {
        let mut kept = Kept::default();
        {
            let mut c = self.lock();
            // from here on, under the lock that results are sent under, events name the new
            // configuration's checkers
            c.config_generation += 1;
            kept.generation = c.config_generation;
            let now = Instant::now();
            // the slots the new configuration keeps (old ones it claims, and new ones)
            let mut keep = vec![false; c.slots()];
            for p in probes {
                let name = probe_name(&p.spec);
                match c.find(&p.spec) {
                    // the first checker of the new configuration that claims a running probe
                    Some(slot) if !keep[slot as usize] => {
                        keep[slot as usize] = true;
                        let Some(r) = c.get_mut(slot) else { continue };
                        let state = r.counters.state;
                        for u in &p.users {
                            kept.add(*u, &name, state);
                        }
                        r.users = p.users;
                        if r.spec.timing != p.spec.timing {
                            c.retime(slot, p.spec, now);
                        }
                    }
                    // another checker of the same target (or of a probe new in this reload)
                    Some(_) => {
                        if let Some(state) = merge(&mut c, &p) {
                            for u in &p.users {
                                kept.add(*u, &name, state);
                            }
                        }
                    }
                    None => {
                        let m = Machine::new(p.spec.timing.clone());
                        let slot = c.add(p.spec, p.users, m, now) as usize;
                        if keep.len() <= slot {
                            keep.resize(slot + 1, false);
                        }
                        keep[slot] = true;
                    }
                }
            }
            for (slot, k) in keep.iter().enumerate() {
                if !k {
                    c.remove(slot as u32);
                }
            }
            c.compact();
        }
        self.wake.notify_one();
        kept
    }

    /// What [`Self::reload`] would keep, without changing anything (`lvsd reload --dry-run`).
    pub fn peek(&self, probes: &[Probe]) -> Kept {
        let mut kept = Kept::default();
        let c = self.lock();
        for p in probes {
            if let Some(r) = c.find(&p.spec).and_then(|s| c.get(s)) {
                let name = probe_name(&p.spec);
                for u in &p.users {
                    kept.add(*u, &name, r.counters.state);
                }
            }
        }
        kept
    }

    /// ha_suspend: stops (or resumes) the probes all of whose checkers `pred` selects.
    /// A suspended probe keeps its state.
    pub fn suspend(&self, pred: &dyn Fn(&CheckerId) -> bool, on: bool) {
        let mut c = self.lock();
        for r in c.recs_mut() {
            if !r.users.is_empty() && r.users.iter().all(pred) {
                r.suspended = on;
            }
        }
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every probe's state and last result.
    pub fn status(&self) -> Vec<ProbeStatus> {
        let now = Instant::now();
        let c = self.lock();
        let mut out: Vec<ProbeStatus> = c
            .recs()
            .map(|r| {
                let k = &r.counters;
                ProbeStatus {
                    checker: r.spec.kind.keyword(),
                    target: describe(&r.spec),
                    users: r.users.clone(),
                    state: k.state,
                    last: k.last.clone(),
                    last_check_ago: k.last_at.map(|t| (now - t).as_secs_f64()),
                    consecutive_failures: k.consecutive_failures,
                    checks: k.checks,
                    failures: k.failures,
                    in_state: (now - k.since).as_secs_f64(),
                    suspended: r.suspended,
                    durations: k.durations,
                    duration_sum: k.duration_sum,
                }
            })
            .collect();
        out.sort_by(|a, b| a.users.cmp(&b.users));
        out
    }
}

/// Two checkers of the same kind and target with different timings (the same address
/// checked under two virtual servers with different delay_loop) are one probe here: the
/// first one's timing decides for both. Adds `p`'s users to the running probe of its
/// identity, if there is one; returns that probe's state.
fn merge(c: &mut Core, p: &Probe) -> Option<CheckState> {
    let slot = c.find(&p.spec)?;
    let r = c.get_mut(slot)?;
    for x in &p.users {
        if !r.users.contains(x) {
            r.users.push(*x);
        }
    }
    Some(r.counters.state)
}

fn describe(spec: &ProbeSpec) -> String {
    match &spec.kind {
        ProbeKind::Misc(m) => m.argv.join(" "),
        ProbeKind::File(f) => f.path.display().to_string(),
        _ => spec.target.addr.to_string(),
    }
}

/// The pool's one task: waits for the next deadline, an epoll event of a TCP_CHECK connect, a
/// probe task's result or a change of the table, and lets the table act on it.
async fn drive(
    core: Arc<Mutex<Core>>,
    wake: Arc<Notify>,
    mut done: mpsc::UnboundedReceiver<Done>,
    epfd: Option<std::io::Result<mio::Registry>>,
) {
    let io = match epfd {
        // SAFETY: the AsyncFd owns the registry (a duplicate of the set's descriptor): it stays
        // open and the same as long as the AsyncFd.
        Some(Ok(fd)) => match unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) } {
            Ok(io) => Some(io),
            Err(e) => {
                tracing::warn!(
                    "checkers: cannot wait on the epoll set ({e}); TCP_CHECKs run as tasks"
                );
                None
            }
        },
        Some(Err(e)) => {
            tracing::warn!("checkers: cannot wait on the epoll set ({e}); TCP_CHECKs run as tasks");
            None
        }
        None => None,
    };
    if io.is_none() {
        lock(&core).without_epoll();
    }
    // one timer, moved when the next deadline moves (not a new timer per wake-up)
    let idle = || tokio::time::Instant::now() + Duration::from_secs(86_400);
    let sleep = tokio::time::sleep_until(idle());
    tokio::pin!(sleep);
    let mut armed: Option<Instant> = None;
    loop {
        let next = {
            let mut c = lock(&core);
            while let Ok(d) = done.try_recv() {
                c.finish_task(d);
            }
            c.poll_io();
            let now = Instant::now();
            c.fire(now, now + SLACK)
        };
        if next != armed {
            sleep
                .as_mut()
                .reset(next.map(Into::into).unwrap_or_else(idle));
            armed = next;
        }
        let readable = async {
            match &io {
                Some(io) => match io.readable().await {
                    // cleared before the set is read (at the top of the loop): an event after
                    // that read makes it readable again
                    Ok(mut g) => g.clear_ready(),
                    Err(e) => {
                        tracing::error!("checkers: epoll set: {e}");
                        std::future::pending::<()>().await
                    }
                },
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = &mut sleep => {
                // an elapsed timer is ready at every poll: parked until the next deadline
                sleep.as_mut().reset(idle());
                armed = None;
            }
            _ = readable => {}
            d = done.recv() => {
                if let Some(d) = d {
                    lock(&core).finish_task(d);
                }
            }
            _ = wake.notified() => {}
        }
    }
}

/// Checks due within this much are started together: fewer wake-ups of the driver (a check
/// starts at most 1 ms early; tokio's timers have a resolution of 1 ms anyway).
const SLACK: Duration = Duration::from_millis(1);

#[cfg(test)]
mod kept_tests {
    use super::*;

    #[test]
    fn a_checker_is_down_while_any_of_its_probes_is_whatever_the_order() {
        let id = CheckerId {
            vs: 0,
            rs: 0,
            checker: 0,
        };
        for order in [
            [("a", CheckState::Down), ("b", CheckState::Up)],
            [("b", CheckState::Up), ("a", CheckState::Down)],
        ] {
            let mut k = Kept::default();
            for (p, s) in order {
                k.add(id, p, s);
            }
            assert_eq!(k.states[&id], CheckState::Down, "{order:?}");
            assert_eq!(
                k.down_probes[&id].iter().collect::<Vec<_>>(),
                vec!["a"],
                "{order:?}"
            );
        }
        let mut k = Kept::default();
        k.add(id, "a", CheckState::Up);
        k.add(id, "b", CheckState::Up);
        assert_eq!(k.states[&id], CheckState::Up);
        assert!(!k.down_probes.contains_key(&id));
    }
}

#[cfg(test)]
mod duration_tests {
    use super::*;

    #[test]
    fn a_check_is_counted_in_the_first_bucket_that_holds_its_duration() {
        let now = Instant::now();
        let mut c = Counters::new(CheckState::Up, now);
        for ms in [0, 1, 2, 5000, 5001, 60_000] {
            let o = Outcome {
                ok: true,
                latency: Duration::from_millis(ms),
                error: None,
                weight: None,
            };
            c.record(&o, None, now);
        }
        // 0 and exactly 1 ms in the first bucket (le 0.001), 2 ms in le 0.005, exactly 5 s in
        // le 5, above it in the overflow
        assert_eq!(c.durations, [2, 1, 0, 0, 0, 0, 0, 1, 2]);
        assert!((c.duration_sum - 70.004).abs() < 1e-9, "{}", c.duration_sum);
    }
}
