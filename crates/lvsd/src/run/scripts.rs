//! Trackers (vrrp_script, track_file, track_process) and notifications, on the main runtime:
//! script load can never delay the VRRP engine, which only receives tracker results.

use super::engine::Input;
use super::plan::Plan;
use super::NotifyRequest;
use lvsd_scripts::{
    track_file, track_process, Fifos, Notifier, NotifierOptions, ScriptUsers, SmtpAlerter, Target,
};
use lvsd_vrrp::track::{TrackerId, TrackerKind, TrackerStatus};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The last status of each tracker (vrrp_script, track_file, track_process).
pub type TrackerStates = Arc<Mutex<HashMap<TrackerId, TrackerStatus>>>;

pub struct Scripts {
    trackers: Vec<JoinHandle<()>>,
    tracker_tx: mpsc::Sender<(TrackerId, TrackerStatus)>,
    /// Last status of each tracker (to resume them across a reload without a blip).
    last: TrackerStates,
    notifier: Notifier,
    fifos: Option<Fifos>,
    users: ScriptUsers,
    notify_task: JoinHandle<()>,
    smtp: Arc<Mutex<Mail>>,
}

/// SMTP alerts: the alerter and which instances and groups send them.
#[derive(Default)]
struct Mail {
    alerter: Option<SmtpAlerter>,
    enabled: HashSet<String>,
}

impl Mail {
    fn of(plan: &Plan) -> Mail {
        let g = &plan.config.global;
        let enabled = plan
            .config
            .instances
            .iter()
            .filter(|i| SmtpAlerter::instance_enabled(g, i.smtp_alert))
            .map(|i| i.name.clone())
            .chain(
                plan.config
                    .sync_groups
                    .iter()
                    .filter(|s| SmtpAlerter::instance_enabled(g, s.smtp_alert))
                    .map(|s| s.name.clone()),
            )
            .collect();
        Mail {
            alerter: SmtpAlerter::from_global(g),
            enabled,
        }
    }

    fn send(&self, kind: &str, name: &str, state: lvsd_vrrp::State, deleted: bool) {
        if let (Some(a), true) = (&self.alerter, self.enabled.contains(name)) {
            if deleted {
                a.vrrp_deleted(name);
            } else {
                a.vrrp_transition(kind, name, state);
            }
        }
    }
}

fn users_of(plan: &Plan) -> ScriptUsers {
    match ScriptUsers::from_global(&plan.config.global) {
        Ok(u) => u,
        Err(e) => {
            tracing::error!("script user: {e}; scripts run as lvsd's own user");
            ScriptUsers::current()
        }
    }
}

/// Scripts some instance or sync group actually tracks (an unused one never runs).
fn tracked_scripts(plan: &Plan) -> HashSet<String> {
    plan.config
        .instances
        .iter()
        .map(|i| &i.track)
        .chain(plan.config.sync_groups.iter().map(|g| &g.track))
        .flat_map(|t| t.scripts.iter().map(|r| r.name.clone()))
        .collect()
}

impl Scripts {
    pub fn start(
        plan: &Plan,
        engine: mpsc::UnboundedSender<Input>,
        mut requests: mpsc::UnboundedReceiver<NotifyRequest>,
    ) -> Scripts {
        let users = users_of(plan);
        let (tracker_tx, mut tracker_rx) = mpsc::channel::<(TrackerId, TrackerStatus)>(256);
        let last: TrackerStates = Arc::default();
        let last2 = last.clone();
        // Tracker results go to the engine.
        tokio::spawn(async move {
            while let Some((id, st)) = tracker_rx.recv().await {
                if let Ok(mut m) = last2.lock() {
                    m.insert(id.clone(), st);
                }
                if engine.send(Input::Tracker(id, st)).is_err() {
                    break;
                }
            }
        });
        let fifos = Fifos::open(&plan.config.global, &users);
        let notifier = Notifier::new(NotifierOptions {
            users: users.clone(),
            script_timeout: Duration::from_secs(10),
            fifo: fifos.vrrp(),
        });
        let n = notifier.clone();
        let smtp = Arc::new(Mutex::new(Mail::of(plan)));
        let mail = smtp.clone();
        let priority_changes = plan.config.global.vrrp_notify_priority_changes;
        let notify_task = tokio::spawn(async move {
            while let Some(req) = requests.recv().await {
                match req {
                    NotifyRequest::Instance {
                        name,
                        from,
                        to,
                        priority,
                        reason,
                        scripts,
                        deleted,
                    } => {
                        super::events::emit("vrrp", || {
                            serde_json::json!({
                                "instance": name,
                                "from": from.name(),
                                "to": if deleted { "DELETED" } else { to.name() },
                                "priority": priority,
                                "reason": reason,
                            })
                        });
                        if let Ok(m) = mail.lock() {
                            m.send("Instance", &name, to, deleted);
                        }
                        if deleted {
                            n.notify_deleted(&name, &scripts, priority, from, &reason);
                        } else {
                            n.notify(
                                Target::Instance(name),
                                &scripts,
                                to,
                                priority,
                                from,
                                &reason,
                            );
                        }
                    }
                    NotifyRequest::Group {
                        name,
                        from,
                        to,
                        scripts,
                    } => {
                        super::events::emit("vrrp_sync_group", || {
                            serde_json::json!({
                                "group": name, "from": from.name(), "to": to.name(),
                            })
                        });
                        if let Ok(m) = mail.lock() {
                            m.send("Group", &name, to, false);
                        }
                        n.notify(Target::Group(name), &scripts, to, 0, from, "sync group")
                    }
                    NotifyRequest::MasterRxLowerPriority {
                        name,
                        scripts,
                        priority,
                    } => n.master_rx_lower_pri(&name, &scripts, priority),
                    NotifyRequest::PriorityChanged {
                        name,
                        state,
                        priority,
                        enabled,
                    } => {
                        if enabled || priority_changes {
                            n.priority_changed(&name, state, priority)
                        }
                    }
                }
            }
        });
        let mut s = Scripts {
            trackers: Vec::new(),
            tracker_tx,
            last,
            notifier,
            fifos: Some(fifos),
            users,
            notify_task,
            smtp,
        };
        s.spawn_trackers(plan, false);
        s
    }

    /// The last status of every tracker that reported one (shared: the metrics read it).
    pub fn tracker_states(&self) -> TrackerStates {
        self.last.clone()
    }

    fn spawn_trackers(&mut self, plan: &Plan, resumed: bool) {
        let used = tracked_scripts(plan);
        let fail_open = plan.config.global.vrrp_script_missing_up;
        let last = self.last.lock().map(|m| m.clone()).unwrap_or_default();
        for s in plan
            .config
            .vrrp_scripts
            .iter()
            .filter(|s| used.contains(&s.name))
        {
            if s.script.is_none() {
                continue;
            }
            let id = lvsd_scripts::vrrp_script::tracker_id(s);
            let h = match (resumed, last.get(&id)) {
                (true, Some(st)) => lvsd_scripts::spawn_vrrp_script_resumed(
                    s,
                    &self.users,
                    fail_open,
                    *st,
                    self.tracker_tx.clone(),
                ),
                _ => lvsd_scripts::spawn_vrrp_script(
                    s,
                    &self.users,
                    fail_open,
                    self.tracker_tx.clone(),
                ),
            };
            self.trackers.push(h);
        }
        let init = if resumed {
            track_file::Init::Skip
        } else {
            track_file::Init::Apply
        };
        for tf in &plan.config.track_files {
            self.trackers.push(lvsd_scripts::spawn_track_file(
                tf,
                init,
                self.tracker_tx.clone(),
            ));
        }
        if !plan.config.track_processes.is_empty() {
            self.trackers.push(lvsd_scripts::spawn_track_processes(
                &plan.config.track_processes,
                track_process::SCAN_PERIOD,
                self.tracker_tx.clone(),
            ));
        }
    }

    /// The ordered script runner and the LVS FIFO (for the health task).
    pub fn lvs_outputs(&self) -> super::health_task::Outputs {
        super::health_task::Outputs {
            notifier: self.notifier.clone(),
            fifo: self
                .fifos
                .as_ref()
                .map(|f| f.lvs())
                .unwrap_or_else(lvsd_scripts::FifoSink::none),
        }
    }

    /// A reload: trackers restart from their last results (no spurious change).
    pub fn reload(&mut self, plan: &Plan) {
        for h in self.trackers.drain(..) {
            h.abort();
        }
        // a tracker the new configuration no longer has is forgotten (its last status would
        // stay in the metrics for ever)
        let used = tracked_scripts(plan);
        let names = |k: TrackerKind| -> HashSet<&str> {
            match k {
                TrackerKind::Script => used.iter().map(String::as_str).collect(),
                TrackerKind::File => plan
                    .config
                    .track_files
                    .iter()
                    .map(|t| t.name.as_str())
                    .collect(),
                TrackerKind::Process => plan
                    .config
                    .track_processes
                    .iter()
                    .map(|t| t.name.as_str())
                    .collect(),
                _ => HashSet::new(),
            }
        };
        if let Ok(mut m) = self.last.lock() {
            let keep: HashMap<TrackerKind, HashSet<&str>> =
                [TrackerKind::Script, TrackerKind::File, TrackerKind::Process]
                    .into_iter()
                    .map(|k| (k, names(k)))
                    .collect();
            m.retain(|id, _| {
                keep.get(&id.kind)
                    .is_none_or(|n| n.contains(id.name.as_str()))
            });
        }
        lvsd_scripts::run_stats::retain(|name| used.contains(name));
        self.users = users_of(plan);
        if let Ok(mut m) = self.smtp.lock() {
            *m = Mail::of(plan);
        }
        self.spawn_trackers(plan, true);
    }

    /// Waits for queued notify scripts (STOP included), then closes the FIFOs.
    pub async fn shutdown(mut self, timeout: Duration) {
        for h in self.trackers.drain(..) {
            h.abort();
        }
        // Let the last requests reach the notifier before it closes.
        tokio::time::sleep(Duration::from_millis(50)).await;
        if !self.notifier.shutdown(timeout).await {
            tracing::warn!("notify scripts still running after {timeout:?} were killed");
        }
        self.notify_task.abort();
        let alerter = self.smtp.lock().ok().and_then(|m| m.alerter.clone());
        if let Some(a) = alerter {
            a.flush(Duration::from_secs(5)).await;
        }
        if let Some(f) = self.fifos.take() {
            f.close(Duration::from_secs(1)).await;
        }
    }
}
