//! The pool's probe table and its one deadline queue. A probe is a small record (its spec, its
//! users, its [`Machine`] and counters), not a task: the driver (`super::drive`) asks
//! [`Core::fire`] to start the checks that are due, feeds it the epoll events of TCP_CHECK
//! connects ([`Core::poll_io`]) and the results of the other probes, which run as short tasks
//! only while a check is in flight ([`Core::finish_task`]).
//!
//! The queue holds (instant, slot, generation) entries; a probe's live entry is the one equal
//! to its `wake`, any other is stale and skipped when it comes up (a TCP check that connected
//! before its deadline leaves one).

use super::entries::Index;
use super::queue::{Queue, Wake};
use super::{describe, hard_limit, probe_name, tcp, Counters, PoolEvent};
use crate::health::CheckerId;
use crate::machine::{CheckState, Machine};
use crate::probe::{self, Outcome, ProbeKind};
use crate::spec::ProbeSpec;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedSender;

/// The result of a probe that ran as a task.
pub(super) struct Done {
    slot: u32,
    gen: u32,
    outcome: Outcome,
}

/// A check in flight.
enum Flight {
    Idle,
    /// A TCP_CHECK connect registered with the pool's epoll set under the probe's slot.
    Tcp {
        stream: mio::net::TcpStream,
        began: Instant,
    },
    /// Any other probe, as a task that sends a [`Done`].
    Task(tokio::task::AbortHandle),
}

pub(super) struct Rec {
    pub spec: Arc<ProbeSpec>,
    pub users: Vec<CheckerId>,
    pub machine: Machine,
    pub counters: Counters,
    pub suspended: bool,
    gen: u32,
    /// When the driver looks at this probe next: its next check, or its TCP check's deadline.
    wake: Option<Instant>,
    flight: Flight,
}

pub(super) struct Core {
    /// Counts the configurations the pool has run (each reload): events say which one their
    /// users' indices belong to.
    pub config_generation: u64,
    recs: Vec<Option<Rec>>,
    free: Vec<u32>,
    index: Index,
    queue: Queue,
    /// (reused) the deadlines one call of [`Core::fire`] handles
    due: Vec<Wake>,
    /// Due checks held at the cap of checks in flight, in the order they came due.
    held: std::collections::VecDeque<Wake>,
    /// Checks in flight (each holds a socket or a task), and the most there may be: a check
    /// that would open a descriptor beyond the process's limit waits instead of failing.
    in_flight: usize,
    max_in_flight: usize,
    /// Checks deferred since the last log line about it, and when that was.
    deferred: u64,
    deferred_logged: Option<Instant>,
    /// (reused) the epoll events one read of the set gave: slot, generation, writable, failed
    ready: Vec<(u32, Option<u32>, bool, bool)>,
    next_gen: u32,
    live: usize,
    /// The epoll set of TCP_CHECK connects (None if it could not be created: then TCP_CHECKs
    /// run as tasks like the other probes).
    io: Option<(mio::Poll, mio::Events)>,
    tx: UnboundedSender<PoolEvent>,
    done: UnboundedSender<Done>,
}

const EVENTS: usize = 1024;

/// How soon a check put off at the cap of checks in flight is looked at again at the latest.
const CAP_RETRY: Duration = Duration::from_millis(10);
/// How soon a check put off for lack of descriptors is tried again.
const SHORTAGE_RETRY: Duration = Duration::from_millis(100);

/// Checks in flight at most: the open files limit, less what the rest of the daemon may need
/// (sockets, pipes of scripts, files), and at least a few.
fn max_in_flight() -> usize {
    let mut l = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: a valid pointer to an rlimit of ours.
    let soft = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) } == 0 {
        l.rlim_cur
    } else {
        1024
    };
    let soft = usize::try_from(soft).unwrap_or(usize::MAX);
    (soft.saturating_sub(soft / 8).saturating_sub(64)).max(8)
}

impl Core {
    pub fn new(tx: UnboundedSender<PoolEvent>, done: UnboundedSender<Done>) -> Core {
        let io = match mio::Poll::new() {
            Ok(p) => Some((p, mio::Events::with_capacity(EVENTS))),
            Err(e) => {
                tracing::warn!("checkers: no epoll set for TCP_CHECK ({e}); running them as tasks");
                None
            }
        };
        Core {
            config_generation: 0,
            recs: Vec::new(),
            free: Vec::new(),
            index: Index::default(),
            queue: Queue::default(),
            due: Vec::new(),
            held: Default::default(),
            in_flight: 0,
            max_in_flight: max_in_flight(),
            deferred: 0,
            deferred_logged: None,
            ready: Vec::new(),
            next_gen: 0,
            live: 0,
            io,
            tx,
            done,
        }
    }

    /// A descriptor of the epoll set of its own (a duplicate), for the driver to wait on.
    pub fn epoll_fd(&self) -> Option<std::io::Result<mio::Registry>> {
        self.io.as_ref().map(|(p, _)| p.registry().try_clone())
    }

    pub fn len(&self) -> usize {
        self.live
    }

    pub fn slots(&self) -> usize {
        self.recs.len()
    }

    pub fn get(&self, slot: u32) -> Option<&Rec> {
        self.recs.get(slot as usize).and_then(|r| r.as_ref())
    }

    pub fn get_mut(&mut self, slot: u32) -> Option<&mut Rec> {
        self.recs.get_mut(slot as usize).and_then(|r| r.as_mut())
    }

    pub fn recs(&self) -> impl Iterator<Item = &Rec> {
        self.recs.iter().flatten()
    }

    pub fn recs_mut(&mut self) -> impl Iterator<Item = &mut Rec> {
        self.recs.iter_mut().flatten()
    }

    /// The slot of the probe that checks what `spec` checks.
    pub fn find(&self, spec: &ProbeSpec) -> Option<u32> {
        self.index
            .get(spec, |s| self.get(s).map(|r| r.spec.as_ref()))
    }

    /// A new probe; its first check comes after a random part of its warmup, so that
    /// thousands of checks do not start at once.
    pub fn add(
        &mut self,
        spec: ProbeSpec,
        users: Vec<CheckerId>,
        machine: Machine,
        now: Instant,
    ) -> u32 {
        let first = machine.first_run_in(fastrand::f64());
        let counters = Counters::new(machine.state(), now);
        let gen = self.next_gen;
        self.next_gen = self.next_gen.wrapping_add(1);
        let spec = Arc::new(spec);
        let rec = Rec {
            spec: spec.clone(),
            users,
            machine,
            counters,
            suspended: false,
            gen,
            wake: None,
            flight: Flight::Idle,
        };
        let slot = match self.free.pop() {
            Some(s) => {
                self.recs[s as usize] = Some(rec);
                s
            }
            None => {
                self.recs.push(Some(rec));
                (self.recs.len() - 1) as u32
            }
        };
        self.index.insert(&spec, slot);
        self.live += 1;
        self.schedule(slot, now, first, false);
        slot
    }

    /// Stops and forgets a probe (its connect is closed, its task aborted).
    pub fn remove(&mut self, slot: u32) {
        let Some(rec) = self.recs.get_mut(slot as usize).and_then(|r| r.take()) else {
            return;
        };
        self.index.remove(&rec.spec, slot);
        if let Flight::Task(h) = &rec.flight {
            h.abort();
        }
        if !matches!(rec.flight, Flight::Idle) {
            self.in_flight -= 1;
        }
        self.free.push(slot);
        self.live -= 1;
    }

    /// A surviving probe with a new timing: same state and counters; a check in flight
    /// finishes under the new timing, else the next one comes within the new warmup.
    pub fn retime(&mut self, slot: u32, spec: ProbeSpec, now: Instant) {
        let first;
        {
            let Some(r) = self.get_mut(slot) else { return };
            let state = r.counters.state;
            r.machine = Machine::with_state(spec.timing.clone(), state);
            r.spec = Arc::new(spec);
            if !matches!(r.flight, Flight::Idle) {
                return;
            }
            first = r.machine.first_run_in(fastrand::f64());
        }
        self.schedule(slot, now, first, false);
    }

    /// Room for `n` probes more without spare capacity (the table is ~300 bytes a probe).
    pub fn reserve(&mut self, n: usize) {
        self.recs.reserve_exact(n.saturating_sub(self.free.len()));
    }

    /// Gives back the spare capacity a reload's additions left (a doubled table).
    pub fn compact(&mut self) {
        while self.recs.last().is_some_and(|r| r.is_none()) {
            self.recs.pop();
        }
        let len = self.recs.len() as u32;
        self.free.retain(|s| *s < len);
        if self.recs.capacity() > self.recs.len() + self.recs.len() / 8 + 16 {
            self.recs.shrink_to_fit();
        }
        self.queue.shrink();
    }

    /// The driver cannot wait on the epoll set: TCP_CHECKs run as tasks from now on.
    pub fn without_epoll(&mut self) {
        self.io = None;
    }

    /// Stops everything (the pool is dropped).
    pub fn stop(&mut self) {
        for r in self.recs.iter().flatten() {
            if let Flight::Task(h) = &r.flight {
                h.abort();
            }
        }
        self.recs.clear();
        self.held.clear();
        self.in_flight = 0;
        self.free.clear();
        self.queue.clear();
        self.index.clear();
        self.live = 0;
    }

    /// The probe's next look `delay` after `now`; `regular`: a fixed delay of its timing (the
    /// queue keeps those in lanes), not a random one.
    fn schedule(&mut self, slot: u32, now: Instant, delay: Duration, regular: bool) {
        if let Some(r) = self.recs.get_mut(slot as usize).and_then(|r| r.as_mut()) {
            let at = now + delay;
            r.wake = Some(at);
            let w = Wake {
                at,
                slot,
                gen: r.gen,
            };
            self.queue.push(w, regular.then_some(delay));
        }
    }

    fn is_live(&self, w: &Wake) -> bool {
        self.get(w.slot)
            .is_some_and(|r| r.gen == w.gen && r.wake == Some(w.at))
    }

    /// Starts the checks due by `due` (now, or a little later: they are started together) and
    /// times out the connects past their deadline; returns when to call again.
    pub fn fire(&mut self, now: Instant, due: Instant) -> Option<Instant> {
        // what is due now is taken first: a probe rescheduled while this runs (a delay shorter
        // than the slack, a connect refused at once) waits for the next call
        let mut due_now = std::mem::take(&mut self.due);
        // at the cap of checks in flight a due check is held (in order) until one ends; the
        // ones held before go first
        let mut room = self.max_in_flight.saturating_sub(self.in_flight);
        while room > 0 {
            let Some(w) = self.held.pop_front() else {
                break;
            };
            if self.is_live(&w) {
                due_now.push(w);
                room -= 1;
            }
        }
        while let Some(top) = self.queue.peek() {
            if !self.is_live(&top) {
                self.queue.pop();
                continue;
            }
            // a connect is never timed out early
            let early_timeout = top.at > now
                && self
                    .get(top.slot)
                    .is_some_and(|r| matches!(r.flight, Flight::Tcp { .. }));
            if top.at > due || early_timeout {
                break;
            }
            self.queue.pop();
            // (timeouts and suspended probes are never held: they end or start nothing)
            let starts = self
                .get(top.slot)
                .is_some_and(|r| matches!(r.flight, Flight::Idle) && !r.suspended);
            if starts {
                if room == 0 {
                    self.held.push_back(top);
                    continue;
                }
                room -= 1;
            }
            due_now.push(top);
        }
        for w in due_now.drain(..) {
            let slot = w.slot;
            let Some(r) = self.get_mut(slot) else {
                continue;
            };
            if r.gen != w.gen {
                continue;
            }
            r.wake = None;
            // each check's own start instant: the last of a large batch gets its whole timeout
            let t = Instant::now();
            match std::mem::replace(&mut r.flight, Flight::Idle) {
                Flight::Tcp { began, .. } => {
                    // the stream is dropped (closed) here
                    let o = tcp::timed_out(r.spec.target.timeout, began);
                    self.in_flight -= 1;
                    self.finish(slot, o, t);
                }
                Flight::Task(h) => r.flight = Flight::Task(h),
                Flight::Idle if r.suspended => {
                    let d = r.machine.timing().delay_loop;
                    self.schedule(slot, t, d, true);
                }
                Flight::Idle => self.start(slot, t),
            }
        }
        self.due = due_now;
        let next = self.next_wake();
        if !self.held.is_empty() {
            // the flights that end wake the driver; this is the latest it looks again
            let retry = now + CAP_RETRY;
            return Some(next.map_or(retry, |n| n.min(retry)));
        }
        next
    }

    /// The earliest live deadline.
    fn next_wake(&mut self) -> Option<Instant> {
        while let Some(top) = self.queue.peek() {
            if self.is_live(&top) {
                return Some(top.at);
            }
            self.queue.pop();
        }
        None
    }

    fn start(&mut self, slot: u32, now: Instant) {
        let Some(r) = self.recs.get_mut(slot as usize).and_then(|r| r.as_mut()) else {
            return;
        };
        if let (ProbeKind::Tcp, Some((poll, _))) = (&r.spec.kind, &self.io) {
            match tcp::start(&r.spec.target, poll.registry(), token(slot, r.gen), now) {
                tcp::Started::Pending(stream) => {
                    let timeout = r.spec.target.timeout;
                    r.flight = Flight::Tcp { stream, began: now };
                    self.in_flight += 1;
                    self.schedule(slot, now, timeout, true);
                }
                tcp::Started::Done(o) => self.finish(slot, o, now),
                tcp::Started::Busy(why) => {
                    // this host is short of descriptors: not a result; again a little later
                    self.defer(&why, now);
                    self.schedule(slot, now, SHORTAGE_RETRY, false);
                }
            }
            return;
        }
        let spec = r.spec.clone();
        let gen = r.gen;
        let done = self.done.clone();
        let task = tokio::spawn(async move {
            let limit = hard_limit(&spec);
            let t0 = Instant::now();
            let outcome =
                match tokio::time::timeout(limit, probe::run(&spec.kind, &spec.target)).await {
                    Ok(o) => o,
                    Err(_) => Outcome::fail(
                        t0.elapsed(),
                        format!("the probe did not finish within {limit:?}"),
                    ),
                };
            let _ = done.send(Done { slot, gen, outcome });
        });
        r.flight = Flight::Task(task.abort_handle());
        self.in_flight += 1;
    }

    /// Counts a check put off for lack of descriptors; says so at most every 10 s.
    fn defer(&mut self, why: &str, now: Instant) {
        self.deferred += 1;
        if self
            .deferred_logged
            .is_none_or(|t| now.duration_since(t) >= Duration::from_secs(10))
        {
            tracing::warn!(
                "checkers: {} check(s) put off, not failed: {why} ({} in flight; raise the \
                 open files limit, LimitNOFILE=)",
                self.deferred,
                self.in_flight
            );
            self.deferred = 0;
            self.deferred_logged = Some(now);
        }
    }

    /// Judges the TCP_CHECK connects whose sockets have an event; returns how many.
    pub fn poll_io(&mut self) -> usize {
        let mut judged = 0;
        loop {
            let Some((poll, events)) = self.io.as_mut() else {
                return judged;
            };
            if let Err(e) = poll.poll(events, Some(Duration::ZERO)) {
                if e.kind() != std::io::ErrorKind::Interrupted {
                    tracing::warn!("checkers: epoll: {e}");
                }
                return judged;
            }
            let mut ready = std::mem::take(&mut self.ready);
            ready.extend(events.iter().map(|e| {
                let (slot, gen) = untoken(e.token());
                (
                    slot,
                    gen,
                    e.is_writable(),
                    e.is_error() || e.is_write_closed(),
                )
            }));
            let now = Instant::now();
            for &(slot, gen, writable, failed) in &ready {
                let Some(r) = self.get_mut(slot) else {
                    continue;
                };
                if gen.is_some_and(|g| g != r.gen) {
                    // a closed socket's late event (a forked child may hold its descriptor)
                    continue;
                }
                let Flight::Tcp { stream, began } = &r.flight else {
                    continue;
                };
                if let Some(o) = tcp::on_event(stream, writable, failed, *began) {
                    r.flight = Flight::Idle;
                    r.wake = None;
                    self.in_flight -= 1;
                    judged += 1;
                    self.finish(slot, o, now);
                }
            }
            let n = ready.len();
            ready.clear();
            self.ready = ready;
            if n < EVENTS {
                return judged;
            }
        }
    }

    /// A probe task's result.
    pub fn finish_task(&mut self, d: Done) {
        let Some(r) = self.get_mut(d.slot) else {
            return;
        };
        if r.gen != d.gen || !matches!(r.flight, Flight::Task(_)) {
            return; // a removed probe's late result
        }
        r.flight = Flight::Idle;
        self.in_flight -= 1;
        self.finish(d.slot, d.outcome, Instant::now());
    }

    /// One result: the machine, the counters, the log and the events; the next check.
    fn finish(&mut self, slot: u32, outcome: Outcome, now: Instant) {
        let Some(r) = self.recs.get_mut(slot as usize).and_then(|r| r.as_mut()) else {
            return;
        };
        let step = r.machine.on_result(outcome.ok);
        let weight_changed = r.counters.record(&outcome, step.changed, now);
        if let Some(state) = step.changed {
            if state == CheckState::Down {
                tracing::warn!(
                    "{} {}: DOWN ({})",
                    r.spec.kind.keyword(),
                    describe(&r.spec),
                    outcome.error.as_deref().unwrap_or("failed")
                );
            } else {
                tracing::info!("{} {}: UP", r.spec.kind.keyword(), describe(&r.spec));
            }
            let _ = self.tx.send(PoolEvent::State {
                generation: self.config_generation,
                probe: probe_name(&r.spec),
                users: r.users.clone(),
                state,
                outcome: outcome.clone(),
            });
        } else if !outcome.ok {
            tracing::debug!(
                "{} {}: failed ({}), {} consecutive",
                r.spec.kind.keyword(),
                describe(&r.spec),
                outcome.error.as_deref().unwrap_or("?"),
                r.machine.consecutive_failures()
            );
        }
        if let Some(weight) = weight_changed {
            let relative = matches!(r.spec.kind, ProbeKind::File(_));
            let _ = self.tx.send(PoolEvent::Weight {
                generation: self.config_generation,
                users: r.users.clone(),
                weight,
                relative,
            });
        }
        r.counters.last = Some(outcome);
        self.schedule(slot, now, step.next_in, true);
    }
}

/// The epoll token of a probe's connect: its slot and generation, so that a late event of a
/// removed probe's socket is not taken for its successor's in the same slot.
/// (On a 32-bit target the token holds the slot only.)
fn token(slot: u32, gen: u32) -> mio::Token {
    if usize::BITS >= 64 {
        mio::Token(((u64::from(gen) << 32) | u64::from(slot)) as usize)
    } else {
        mio::Token(slot as usize)
    }
}

/// The slot and, on a 64-bit target, the generation of a token.
fn untoken(t: mio::Token) -> (u32, Option<u32>) {
    let v = t.0 as u64;
    let gen = (usize::BITS >= 64).then_some((v >> 32) as u32);
    (v as u32, gen)
}

impl Drop for Core {
    fn drop(&mut self) {
        self.stop();
    }
}
