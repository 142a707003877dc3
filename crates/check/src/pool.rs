//! Runs every probe on its own schedule (one tokio task each, timers from the runtime) and
//! reports the state changes of their [`Machine`]s.
//!
//! The pool runs on whatever runtime it is started in; `lvsd run` gives it a thread of its own
//! so that checker load never delays VRRP or the control socket.
//!
//! A probe is identified by its kind and target (not its timing): a reload that only changes
//! delay_loop or retry keeps the probe's state and last result. Identical probes under several
//! virtual servers were already merged by [`crate::spec`]: one task feeds all their checkers.

use crate::health::CheckerId;
use crate::machine::{CheckState, Machine};
use crate::probe::{self, Outcome, ProbeKind};
use crate::spec::{Probe, ProbeSpec};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The checkers' states a reload keeps. A checker with several probes (SMTP_CHECK's `host`
/// blocks) is down while any of them is, whatever order the probes come in (issue 14: a
/// last-write-wins merge brought such a checker back up with one host down), and the probes
/// that are down are named, so that the next change of any of them is judged correctly.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Kept {
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
}

/// The running probes by their identity across reloads: what they check (kind and target),
/// not how often. Found by the identity's hash, then compared with the probe's own spec: no
/// copy of the identity per probe (it was a quarter of a TCP probe's memory).
#[derive(Default)]
struct Entries {
    by_hash: HashMap<u64, Entry>,
    /// The rare probe whose identity hashes like another's.
    overflow: Vec<Entry>,
}

fn identity_hash(spec: &ProbeSpec) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    spec.kind.hash(&mut h);
    spec.target.hash(&mut h);
    h.finish()
}

fn same_identity(a: &ProbeSpec, b: &ProbeSpec) -> bool {
    a.kind == b.kind && a.target == b.target
}

impl Entries {
    fn insert(&mut self, e: Entry) {
        match self.by_hash.entry(identity_hash(&e.shared.spec)) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(e);
            }
            std::collections::hash_map::Entry::Occupied(o) => {
                if same_identity(&o.get().shared.spec, &e.shared.spec) {
                    // (never two probes of one identity: Pool::merge) a replaced probe stops
                    let old = std::mem::replace(o.into_mut(), e);
                    old.task.abort();
                } else {
                    self.overflow
                        .retain(|x| !same_identity(&x.shared.spec, &e.shared.spec));
                    self.overflow.push(e);
                }
            }
        }
    }

    fn get(&self, spec: &ProbeSpec) -> Option<&Entry> {
        match self.by_hash.get(&identity_hash(spec)) {
            Some(e) if same_identity(&e.shared.spec, spec) => Some(e),
            _ => self
                .overflow
                .iter()
                .find(|e| same_identity(&e.shared.spec, spec)),
        }
    }

    fn remove(&mut self, spec: &ProbeSpec) -> Option<Entry> {
        let h = identity_hash(spec);
        if self
            .by_hash
            .get(&h)
            .is_some_and(|e| same_identity(&e.shared.spec, spec))
        {
            return self.by_hash.remove(&h);
        }
        let i = self
            .overflow
            .iter()
            .position(|e| same_identity(&e.shared.spec, spec))?;
        Some(self.overflow.swap_remove(i))
    }

    fn values(&self) -> impl Iterator<Item = &Entry> {
        self.by_hash.values().chain(self.overflow.iter())
    }

    fn len(&self) -> usize {
        self.by_hash.len() + self.overflow.len()
    }
}

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
}

struct Shared {
    spec: ProbeSpec,
    users: Mutex<Vec<CheckerId>>,
    counters: Mutex<Counters>,
    suspended: AtomicBool,
}

impl Shared {
    fn users(&self) -> Vec<CheckerId> {
        self.users.lock().map(|u| u.clone()).unwrap_or_default()
    }
}

struct Entry {
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

/// The running probes. Dropping the pool stops them.
pub struct Pool {
    entries: Entries,
    tx: mpsc::UnboundedSender<PoolEvent>,
}

impl Drop for Pool {
    fn drop(&mut self) {
        for e in self.entries.values() {
            e.task.abort();
        }
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

impl Pool {
    /// Starts every probe (inside a tokio runtime). The first check of each comes after a
    /// random part of its warmup, so that thousands of checks do not start at once.
    pub fn start(probes: Vec<Probe>, tx: mpsc::UnboundedSender<PoolEvent>) -> Pool {
        let mut pool = Pool {
            entries: Entries::default(),
            tx,
        };
        for p in probes {
            if pool.merge(&p).is_some() {
                continue;
            }
            let machine = Machine::new(p.spec.timing.clone());
            pool.spawn(p, machine, None);
        }
        pool
    }

    /// Two checkers of the same kind and target with different timings (the same address
    /// checked under two virtual servers with different delay_loop) are one probe here: the
    /// first one's timing decides for both. Adds `p`'s users to the running probe of its
    /// identity, if there is one; returns that probe's state.
    fn merge(&mut self, p: &Probe) -> Option<CheckState> {
        let e = self.entries.get(&p.spec)?;
        if let Ok(mut u) = e.shared.users.lock() {
            for x in &p.users {
                if !u.contains(x) {
                    u.push(*x);
                }
            }
        }
        Some(
            e.shared
                .counters
                .lock()
                .map(|c| c.state)
                .unwrap_or(CheckState::Up),
        )
    }

    fn spawn(&mut self, p: Probe, machine: Machine, keep: Option<Counters>) {
        let first = machine.first_run_in(fastrand::f64());
        let counters = keep.unwrap_or(Counters {
            state: machine.state(),
            since: Instant::now(),
            last: None,
            last_at: None,
            consecutive_failures: 0,
            checks: 0,
            failures: 0,
            weight: None,
        });
        let shared = Arc::new(Shared {
            spec: p.spec,
            users: Mutex::new(p.users),
            counters: Mutex::new(counters),
            suspended: AtomicBool::new(false),
        });
        let task = tokio::spawn(run_probe(shared.clone(), machine, first, self.tx.clone()));
        self.entries.insert(Entry { shared, task });
    }

    /// Replaces the probe set. A probe whose kind and target survive keeps its state (with the
    /// new timing); users are updated; removed probes stop. Returns the state of every checker
    /// of the new configuration whose probe survived (for [`crate::health::Health::reload`]).
    pub fn reload(&mut self, probes: Vec<Probe>) -> Kept {
        let mut old = std::mem::take(&mut self.entries);
        let mut kept = Kept::default();
        for p in probes {
            match old.remove(&p.spec) {
                Some(e) => {
                    let counters = e.shared.counters.lock().map(|c| c.clone()).ok();
                    let state = counters.as_ref().map(|c| c.state).unwrap_or(CheckState::Up);
                    let name = probe_name(&p.spec);
                    for u in &p.users {
                        kept.add(*u, &name, state);
                    }
                    if e.shared.spec.timing == p.spec.timing {
                        // unchanged: keep the task, only the users may differ
                        if let Ok(mut u) = e.shared.users.lock() {
                            *u = p.users;
                        }
                        self.entries.insert(e);
                    } else {
                        e.task.abort();
                        let m = Machine::with_state(p.spec.timing.clone(), state);
                        self.spawn(p, m, counters);
                    }
                }
                None => {
                    if let Some(state) = self.merge(&p) {
                        let name = probe_name(&p.spec);
                        for u in &p.users {
                            kept.add(*u, &name, state);
                        }
                        continue;
                    }
                    let m = Machine::new(p.spec.timing.clone());
                    self.spawn(p, m, None);
                }
            }
        }
        for e in old.values() {
            e.task.abort();
        }
        kept
    }

    /// What [`Self::reload`] would keep, without changing anything (`lvsd reload --dry-run`).
    pub fn peek(&self, probes: &[Probe]) -> Kept {
        let mut kept = Kept::default();
        for p in probes {
            if let Some(e) = self.entries.get(&p.spec) {
                if let Ok(c) = e.shared.counters.lock() {
                    let name = probe_name(&p.spec);
                    for u in &p.users {
                        kept.add(*u, &name, c.state);
                    }
                }
            }
        }
        kept
    }

    /// ha_suspend: stops (or resumes) the probes all of whose checkers `pred` selects.
    /// A suspended probe keeps its state.
    pub fn suspend(&self, pred: &dyn Fn(&CheckerId) -> bool, on: bool) {
        for e in self.entries.values() {
            let users = e.shared.users();
            if !users.is_empty() && users.iter().all(pred) {
                e.shared.suspended.store(on, Ordering::Relaxed);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.len() == 0
    }

    /// Every probe's state and last result.
    pub fn status(&self) -> Vec<ProbeStatus> {
        let now = Instant::now();
        let mut out: Vec<ProbeStatus> = self
            .entries
            .values()
            .filter_map(|e| {
                let c = e.shared.counters.lock().ok()?.clone();
                Some(ProbeStatus {
                    checker: e.shared.spec.kind.keyword(),
                    target: describe(&e.shared.spec),
                    users: e.shared.users(),
                    state: c.state,
                    last: c.last,
                    last_check_ago: c.last_at.map(|t| (now - t).as_secs_f64()),
                    consecutive_failures: c.consecutive_failures,
                    checks: c.checks,
                    failures: c.failures,
                    in_state: (now - c.since).as_secs_f64(),
                    suspended: e.shared.suspended.load(Ordering::Relaxed),
                })
            })
            .collect();
        out.sort_by(|a, b| a.users.cmp(&b.users));
        out
    }
}

fn describe(spec: &ProbeSpec) -> String {
    match &spec.kind {
        ProbeKind::Misc(m) => m.argv.join(" "),
        ProbeKind::File(f) => f.path.display().to_string(),
        _ => spec.target.addr.to_string(),
    }
}

async fn run_probe(
    shared: Arc<Shared>,
    mut machine: Machine,
    first: Duration,
    tx: mpsc::UnboundedSender<PoolEvent>,
) {
    let limit = hard_limit(&shared.spec);
    let mut next = tokio::time::Instant::now() + first;
    loop {
        tokio::time::sleep_until(next).await;
        if shared.suspended.load(Ordering::Relaxed) {
            next = tokio::time::Instant::now() + machine.timing().delay_loop;
            continue;
        }
        let t0 = Instant::now();
        let outcome = if matches!(shared.spec.kind, ProbeKind::Tcp) {
            // a connect bounded by its own deadline: no second timer per check
            probe::run(&shared.spec.kind, &shared.spec.target).await
        } else {
            match tokio::time::timeout(limit, probe::run(&shared.spec.kind, &shared.spec.target))
                .await
            {
                Ok(o) => o,
                Err(_) => Outcome::fail(
                    t0.elapsed(),
                    format!("the probe did not finish within {limit:?}"),
                ),
            }
        };
        let step = machine.on_result(outcome.ok);
        let weight_changed = {
            let Ok(mut c) = shared.counters.lock() else {
                return;
            };
            c.checks += 1;
            if !outcome.ok {
                c.failures += 1;
            }
            // counted here, not by the machine (which resets its count once down)
            c.consecutive_failures = if outcome.ok {
                0
            } else {
                c.consecutive_failures.saturating_add(1)
            };
            c.last = Some(outcome.clone());
            c.last_at = Some(Instant::now());
            if let Some(s) = step.changed {
                c.state = s;
                c.since = Instant::now();
            }
            match outcome.weight {
                Some(w) if c.weight != Some(w) => {
                    c.weight = Some(w);
                    Some(w)
                }
                _ => None,
            }
        };
        if let Some(state) = step.changed {
            let users = shared.users();
            if state == CheckState::Down {
                tracing::warn!(
                    "{} {}: DOWN ({})",
                    shared.spec.kind.keyword(),
                    describe(&shared.spec),
                    outcome.error.as_deref().unwrap_or("failed")
                );
            } else {
                tracing::info!(
                    "{} {}: UP",
                    shared.spec.kind.keyword(),
                    describe(&shared.spec)
                );
            }
            if tx
                .send(PoolEvent::State {
                    probe: probe_name(&shared.spec),
                    users,
                    state,
                    outcome: outcome.clone(),
                })
                .is_err()
            {
                return;
            }
        } else if !outcome.ok {
            tracing::debug!(
                "{} {}: failed ({}), {} consecutive",
                shared.spec.kind.keyword(),
                describe(&shared.spec),
                outcome.error.as_deref().unwrap_or("?"),
                machine.consecutive_failures()
            );
        }
        if let Some(weight) = weight_changed {
            let users = shared.users();
            let relative = matches!(shared.spec.kind, ProbeKind::File(_));
            if tx
                .send(PoolEvent::Weight {
                    users,
                    weight,
                    relative,
                })
                .is_err()
            {
                return;
            }
        }
        next = tokio::time::Instant::now() + step.next_in;
    }
}

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
