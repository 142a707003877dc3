//! Notify scripts and FIFO lines for VRRP state changes (keepalived-behaviour §2.9).
//!
//! For each transition of an instance or sync group, in this order:
//! 1. the FIFO line (`INSTANCE "VI_1" MASTER 100`), written at once by [`Notifier::notify`], so
//!    the FIFO carries every target's transitions in the order they happened;
//! 2. the state's script (`notify_master|backup|fault|stop|deleted`), exactly the configured
//!    command line;
//! 3. the generic `notify` with 4 more arguments: `INSTANCE|GROUP NAME STATE PRIORITY` (0 for a
//!    group).
//!
//! keepalived starts both scripts at once and never waits. lvsd runs them one after the other,
//! and a later transition of the same target waits until the earlier one's scripts are done, so
//! scripts see the transitions in order. Each script has a time limit (default 10 s; then
//! SIGTERM to its process group, SIGKILL 2 s later). Different targets do not wait for each
//! other. Every run is logged with its exit status and output.
//!
//! Scripts also get the context in their environment: `LVSD_TYPE` (INSTANCE or GROUP),
//! `LVSD_INSTANCE` or `LVSD_GROUP` (the name), `LVSD_STATE`, `LVSD_PREVIOUS_STATE`,
//! `LVSD_PRIORITY`, `LVSD_REASON`.
//!
//! A removed instance (reload) notifies DELETED when `notify_deleted` is configured, else FAULT,
//! as keepalived does for compatibility.

use crate::fifo::{vrrp_line, FifoSink};
use crate::runner::{self, Command};
use crate::user::ScriptUsers;
use lvsd_config::model::{Notify, Script};
use lvsd_vrrp::State;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Default time limit of one notify script.
pub const DEFAULT_SCRIPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Whose transition it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    Instance(String),
    Group(String),
    /// A virtual server's checker events (notify_up/down of its real servers, quorum_up/down).
    VirtualServer(String),
}

impl Target {
    /// `INSTANCE` or `GROUP`, as in keepalived's arguments and FIFO lines.
    pub fn kind(&self) -> &'static str {
        match self {
            Target::Instance(_) => "INSTANCE",
            Target::Group(_) => "GROUP",
            Target::VirtualServer(_) => "VS",
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Target::Instance(n) | Target::Group(n) | Target::VirtualServer(n) => n,
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind(), self.name())
    }
}

/// Settings of a [`Notifier`].
#[derive(Debug, Clone)]
pub struct NotifierOptions {
    pub users: ScriptUsers,
    /// Time limit of each script.
    pub script_timeout: Duration,
    /// Where the VRRP FIFO lines go ([`crate::fifo::Fifos::vrrp`]).
    pub fifo: FifoSink,
}

impl Default for NotifierOptions {
    fn default() -> Self {
        NotifierOptions {
            users: ScriptUsers::current(),
            script_timeout: DEFAULT_SCRIPT_TIMEOUT,
            fifo: FifoSink::none(),
        }
    }
}

/// One script of a job.
#[derive(Debug)]
struct Step {
    /// The keyword, for logs (`notify_master`, `notify`).
    keyword: &'static str,
    script: Script,
    extra: Vec<String>,
}

/// The scripts of one transition.
#[derive(Debug)]
struct Job {
    what: String,
    steps: Vec<Step>,
    env: Vec<(String, String)>,
}

/// A queued job, counted in `pending` until it is done or dropped (killed at shutdown).
struct Counted {
    job: Job,
    pending: Arc<AtomicUsize>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.pending.fetch_sub(1, Ordering::SeqCst);
    }
}

struct Queue {
    tx: mpsc::UnboundedSender<Counted>,
    task: JoinHandle<()>,
}

struct Inner {
    opts: NotifierOptions,
    handle: tokio::runtime::Handle,
    queues: Mutex<HashMap<Target, Queue>>,
    pending: Arc<AtomicUsize>,
    closed: AtomicBool,
}

/// Runs notify scripts, in order per instance and per sync group, and writes the FIFO lines.
/// Cheap to clone.
#[derive(Clone)]
pub struct Notifier {
    inner: Arc<Inner>,
}

/// The event a transition notifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    Master,
    Backup,
    Fault,
    Stop,
    Deleted,
}

impl Event {
    fn name(self) -> &'static str {
        match self {
            Event::Master => "MASTER",
            Event::Backup => "BACKUP",
            Event::Fault => "FAULT",
            Event::Stop => "STOP",
            Event::Deleted => "DELETED",
        }
    }

    fn script(self, n: &Notify) -> (&'static str, Option<&Script>) {
        match self {
            Event::Master => ("notify_master", n.master.as_ref()),
            Event::Backup => ("notify_backup", n.backup.as_ref()),
            Event::Fault => ("notify_fault", n.fault.as_ref()),
            Event::Stop => ("notify_stop", n.stop.as_ref()),
            Event::Deleted => ("notify_deleted", n.deleted.as_ref()),
        }
    }
}

impl Notifier {
    /// A notifier using the current tokio runtime for its queues.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn new(opts: NotifierOptions) -> Self {
        Notifier {
            inner: Arc::new(Inner {
                opts,
                handle: tokio::runtime::Handle::current(),
                queues: Mutex::new(HashMap::new()),
                pending: Arc::new(AtomicUsize::new(0)),
                closed: AtomicBool::new(false),
            }),
        }
    }

    /// A state change of an instance or a sync group: the FIFO line now, then the scripts in
    /// this target's queue. INIT is never notified (as keepalived).
    pub fn notify(
        &self,
        target: Target,
        scripts: &Notify,
        state: State,
        priority: u8,
        previous: State,
        reason: &str,
    ) {
        let event = match state {
            State::Master => Event::Master,
            State::Backup => Event::Backup,
            State::Fault => Event::Fault,
            State::Stop => Event::Stop,
            State::Init => {
                tracing::debug!("{target}: INIT is not notified");
                return;
            }
        };
        self.transition(target, scripts, event, priority, previous, reason);
    }

    /// An instance removed by a reload: DELETED with `notify_deleted` configured, else FAULT
    /// (keepalived's compatible default).
    pub fn notify_deleted(
        &self,
        instance: &str,
        scripts: &Notify,
        priority: u8,
        previous: State,
        reason: &str,
    ) {
        let event = if scripts.deleted.is_some() {
            Event::Deleted
        } else {
            Event::Fault
        };
        let target = Target::Instance(instance.to_string());
        self.transition(target, scripts, event, priority, previous, reason);
    }

    /// A master heard a lower priority: `notify_master_rx_lower_pri` (no arguments) and the FIFO
    /// line `INSTANCE "VI" MASTER_RX_LOWER_PRI prio`.
    pub fn master_rx_lower_pri(&self, instance: &str, scripts: &Notify, priority: u8) {
        self.inner.opts.fifo.write_line(&vrrp_line(
            "INSTANCE",
            instance,
            "MASTER_RX_LOWER_PRI",
            priority,
        ));
        if let Some(s) = &scripts.master_rx_lower_pri {
            let target = Target::Instance(instance.to_string());
            let env = vec![
                ("LVSD_TYPE".to_string(), "INSTANCE".to_string()),
                ("LVSD_INSTANCE".to_string(), instance.to_string()),
                ("LVSD_STATE".to_string(), "MASTER".to_string()),
                ("LVSD_PRIORITY".to_string(), priority.to_string()),
                (
                    "LVSD_REASON".to_string(),
                    "lower priority advert".to_string(),
                ),
            ];
            self.enqueue(
                target,
                Job {
                    what: format!("INSTANCE {instance} MASTER_RX_LOWER_PRI"),
                    steps: vec![Step {
                        keyword: "notify_master_rx_lower_pri",
                        script: s.clone(),
                        extra: Vec::new(),
                    }],
                    env,
                },
            );
        }
    }

    /// The effective priority changed (`vrrp_notify_priority_changes`): the FIFO line
    /// `INSTANCE "VI" MASTER_PRIORITY|BACKUP_PRIORITY prio` only.
    pub fn priority_changed(&self, instance: &str, state: State, priority: u8) {
        let ev = if state == State::Master {
            "MASTER_PRIORITY"
        } else {
            "BACKUP_PRIORITY"
        };
        self.inner
            .opts
            .fifo
            .write_line(&vrrp_line("INSTANCE", instance, ev, priority));
    }

    fn transition(
        &self,
        target: Target,
        scripts: &Notify,
        event: Event,
        priority: u8,
        previous: State,
        reason: &str,
    ) {
        let priority = match target {
            Target::Instance(_) => priority,
            Target::Group(_) | Target::VirtualServer(_) => 0,
        };
        self.inner.opts.fifo.write_line(&vrrp_line(
            target.kind(),
            target.name(),
            event.name(),
            priority,
        ));
        let mut steps = Vec::new();
        let (keyword, specific) = event.script(scripts);
        if let Some(s) = specific {
            steps.push(Step {
                keyword,
                script: s.clone(),
                extra: Vec::new(),
            });
        }
        if let Some(s) = &scripts.generic {
            steps.push(Step {
                keyword: "notify",
                script: s.clone(),
                extra: vec![
                    target.kind().to_string(),
                    target.name().to_string(),
                    event.name().to_string(),
                    priority.to_string(),
                ],
            });
        }
        if steps.is_empty() {
            return;
        }
        let name_var = match target {
            Target::Instance(_) => "LVSD_INSTANCE",
            Target::Group(_) => "LVSD_GROUP",
            Target::VirtualServer(_) => "LVSD_VIRTUAL_SERVER",
        };
        let env = vec![
            ("LVSD_TYPE".to_string(), target.kind().to_string()),
            (name_var.to_string(), target.name().to_string()),
            ("LVSD_STATE".to_string(), event.name().to_string()),
            (
                "LVSD_PREVIOUS_STATE".to_string(),
                previous.name().to_string(),
            ),
            ("LVSD_PRIORITY".to_string(), priority.to_string()),
            ("LVSD_REASON".to_string(), reason.to_string()),
        ];
        let what = format!("{target} {} -> {}", previous.name(), event.name());
        self.enqueue(target, Job { what, steps, env });
    }

    /// A checker event's script (`notify_up`, `notify_down`, `quorum_up`, `quorum_down`): the
    /// configured command line as is (keepalived adds no arguments), run in order after the
    /// earlier events of the same virtual server. `what` names the event in the log.
    pub fn lvs_script(
        &self,
        virtual_server: &str,
        keyword: &'static str,
        script: &Script,
        what: String,
        env: Vec<(String, String)>,
    ) {
        self.enqueue(
            Target::VirtualServer(virtual_server.to_string()),
            Job {
                what,
                steps: vec![Step {
                    keyword,
                    script: script.clone(),
                    extra: Vec::new(),
                }],
                env,
            },
        );
    }

    fn enqueue(&self, target: Target, job: Job) {
        if self.inner.closed.load(Ordering::SeqCst) {
            tracing::warn!(
                "{}: notify scripts are shut down; not running them",
                job.what
            );
            return;
        }
        let mut queues = self.inner.queues.lock().expect("not poisoned");
        self.inner.pending.fetch_add(1, Ordering::SeqCst);
        let job = Counted {
            job,
            pending: self.inner.pending.clone(),
        };
        let job = match queues.get(&target) {
            Some(q) => match q.tx.send(job) {
                Ok(()) => return,
                Err(mpsc::error::SendError(job)) => job,
            },
            None => job,
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let _ = tx.send(job);
        let task = self.inner.handle.spawn(worker(
            rx,
            self.inner.opts.users.clone(),
            self.inner.opts.script_timeout,
        ));
        queues.insert(target, Queue { tx, task });
    }

    /// Transitions whose scripts are queued or running.
    pub fn pending(&self) -> usize {
        self.inner.pending.load(Ordering::SeqCst)
    }

    /// Stops taking transitions and waits up to `timeout` for the queued scripts (STOP at
    /// shutdown; keepalived waits 1 s). Scripts still running then are killed with their
    /// process groups. Returns whether everything finished in time.
    pub async fn shutdown(&self, timeout: Duration) -> bool {
        self.inner.closed.store(true, Ordering::SeqCst);
        let queues: Vec<(Target, Queue)> = self
            .inner
            .queues
            .lock()
            .expect("not poisoned")
            .drain()
            .collect();
        let deadline = tokio::time::Instant::now() + timeout;
        let mut all_done = true;
        for (target, q) in queues {
            drop(q.tx);
            let mut task = q.task;
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                tracing::error!(
                    "{target}: notify scripts still running after {} ms at shutdown; killing them",
                    timeout.as_millis()
                );
                task.abort();
                let _ = task.await;
                all_done = false;
            }
        }
        all_done
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Queued scripts of a dropped notifier are not left running.
        if let Ok(mut q) = self.queues.lock() {
            for (_, queue) in q.drain() {
                queue.task.abort();
            }
        }
    }
}

async fn worker(mut rx: mpsc::UnboundedReceiver<Counted>, users: ScriptUsers, timeout: Duration) {
    while let Some(counted) = rx.recv().await {
        let job = &counted.job;
        for step in &job.steps {
            let cmd = match Command::from_script(&step.script, &users) {
                Ok(c) => c.with_args(step.extra.iter().cloned()),
                Err(e) => {
                    tracing::error!(
                        "{}: {} `{}`: {e}",
                        job.what,
                        step.keyword,
                        step.script.command
                    );
                    continue;
                }
            };
            let outcome = runner::run(&cmd, timeout, &job.env).await;
            if outcome.success() {
                tracing::info!("{}: {} `{cmd}`: {outcome}", job.what, step.keyword);
            } else {
                tracing::warn!("{}: {} `{cmd}`: {outcome}", job.what, step.keyword);
            }
        }
    }
}
