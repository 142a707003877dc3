//! `vrrp_script` trackers (keepalived-behaviour §1.3, §2.7).
//!
//! The script runs every `interval` (the first run at once) with a limit of `timeout` (default:
//! the interval). Exit 0 is a success; any other exit, a signal or a timeout is a failure.
//! `fall` consecutive failures make it Down, `rise` consecutive successes make it Up. Before the
//! first result a single result decides, or it starts Down with `init_fail`. Only changes are
//! sent (and the first decision). A run still going when the next is due is skipped, with a
//! warning.
//!
//! Where lvsd differs: a script that is missing or not executable is reported **Down** with an
//! error saying why (fail-closed) and is retried at every interval; keepalived disables it and
//! the instance runs as if it were healthy. `fail_open = true` restores keepalived's behaviour
//! (Up, with a warning, and the script is never run).

use crate::runner::{self, Command, Outcome, Status};
use crate::user::ScriptUsers;
use lvsd_config::model::VrrpScript;
use lvsd_vrrp::track::{TrackerId, TrackerKind, TrackerStatus};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

/// keepalived's rise/fall counter. `result` runs from 0 to `rise + fall - 1`; the script is Up
/// from `rise` on. A success below `rise - 1` counts up; reaching `rise` jumps to the top. A
/// failure above `rise` counts down; at or below `rise` it drops to 0.
#[derive(Debug, Clone)]
pub struct RiseFall {
    rise: u32,
    fall: u32,
    result: u32,
    /// No result yet and no `init_fail`: the first result decides.
    undecided: bool,
}

impl RiseFall {
    /// `rise` and `fall` below 1 are taken as 1.
    pub fn new(rise: u32, fall: u32, init_fail: bool) -> Self {
        let rise = rise.max(1);
        let fall = fall.max(1);
        RiseFall {
            rise,
            fall,
            result: if init_fail { 0 } else { rise - 1 },
            undecided: !init_fail,
        }
    }

    /// Continues from a known state (a reload keeps the result, as keepalived does): Up as after
    /// `rise` successes, Down as after `fall` failures. Nothing is sent until it changes.
    pub fn resume(rise: u32, fall: u32, up: bool) -> Self {
        let rise = rise.max(1);
        let fall = fall.max(1);
        RiseFall {
            rise,
            fall,
            result: if up { rise + fall - 1 } else { 0 },
            undecided: false,
        }
    }

    /// The state before any run: Down with `init_fail`, else undecided.
    pub fn initial(&self) -> Option<TrackerStatus> {
        if self.undecided {
            None
        } else {
            Some(self.current())
        }
    }

    fn current(&self) -> TrackerStatus {
        if self.result >= self.rise {
            TrackerStatus::Up
        } else {
            TrackerStatus::Down
        }
    }

    /// The state now (None before the first decision).
    pub fn state(&self) -> Option<TrackerStatus> {
        if self.undecided {
            None
        } else {
            Some(self.current())
        }
    }

    /// Records one result; returns the new state when it changed (or was first decided).
    pub fn record(&mut self, success: bool) -> Option<TrackerStatus> {
        let top = self.rise + self.fall - 1;
        let mut change = None;
        if success {
            if self.result < self.rise - 1 {
                self.result += 1;
            } else if self.result != top {
                if self.result < self.rise {
                    change = Some(TrackerStatus::Up);
                }
                self.result = top;
            }
        } else if self.result > self.rise {
            self.result -= 1;
        } else {
            if self.result == self.rise || self.undecided {
                change = Some(TrackerStatus::Down);
            }
            self.result = 0;
        }
        self.undecided = false;
        change
    }

    /// Forces Down (a script that cannot run at all); returns Down when that is a change.
    pub fn force_down(&mut self) -> Option<TrackerStatus> {
        let was = self.state();
        self.result = 0;
        self.undecided = false;
        (was != Some(TrackerStatus::Down)).then_some(TrackerStatus::Down)
    }
}

/// The tracker id a `vrrp_script` reports under.
pub fn tracker_id(script: &VrrpScript) -> TrackerId {
    TrackerId::new(TrackerKind::Script, &script.name)
}

/// Seconds from the configuration as a Duration (at least 1 ms; invalid values: 1 s).
pub(crate) fn secs(s: f64) -> Duration {
    if s.is_finite() && s > 0.0 {
        Duration::from_secs_f64(s.max(0.001))
    } else {
        Duration::from_secs(1)
    }
}

type Running = Pin<Box<dyn Future<Output = Outcome> + Send>>;

/// Starts the tracker task. It ends when `tx` is closed; aborting the task kills a running script.
pub fn spawn_vrrp_script(
    script: &VrrpScript,
    users: &ScriptUsers,
    fail_open: bool,
    tx: mpsc::Sender<(TrackerId, TrackerStatus)>,
) -> JoinHandle<()> {
    let script = script.clone();
    let users = users.clone();
    tokio::spawn(async move { track(script, users, fail_open, None, tx).await })
}

/// As [`spawn_vrrp_script`], continuing from the status the previous tracker of the same script
/// reported (a reload): no first decision is sent, only later changes.
pub fn spawn_vrrp_script_resumed(
    script: &VrrpScript,
    users: &ScriptUsers,
    fail_open: bool,
    last: TrackerStatus,
    tx: mpsc::Sender<(TrackerId, TrackerStatus)>,
) -> JoinHandle<()> {
    let script = script.clone();
    let users = users.clone();
    let up = last != TrackerStatus::Down;
    tokio::spawn(async move { track(script, users, fail_open, Some(up), tx).await })
}

async fn track(
    script: VrrpScript,
    users: ScriptUsers,
    fail_open: bool,
    resume: Option<bool>,
    tx: mpsc::Sender<(TrackerId, TrackerStatus)>,
) {
    let id = tracker_id(&script);
    let name = script.name.clone();
    let interval = secs(script.interval);
    let timeout = script.timeout.map(secs).unwrap_or(interval);
    let mut rf = match resume {
        Some(up) => RiseFall::resume(script.rise, script.fall, up),
        None => RiseFall::new(script.rise, script.fall, script.init_fail),
    };

    // Can it run at all?
    let cmd = match &script.script {
        None => Err("it has no `script` line".to_string()),
        Some(s) => {
            // `user` inside vrrp_script, else a user given on the script line, else the default.
            let (user, group) = match &script.user {
                Some(u) => (Some(u.as_str()), script.group.as_deref()),
                None => (s.user.as_deref(), s.group.as_deref()),
            };
            Command::from_argv(&s.argv, user, group, &users).map_err(|e| e.to_string())
        }
    };
    let problem = match &cmd {
        Err(e) => Some(e.clone()),
        Ok(c) => c.check().err(),
    };
    if let Some(why) = &problem {
        if fail_open {
            tracing::warn!(
                "vrrp_script {name}: cannot run ({why}); it is disabled and counted as UP (fail-open, as keepalived)"
            );
            if rf.state() != Some(TrackerStatus::Up) {
                let _ = tx.send((id, TrackerStatus::Up)).await;
            }
            return;
        }
        tracing::error!(
            "vrrp_script {name}: cannot run ({why}); it is DOWN until it can run and succeeds {} time(s)",
            rf.rise
        );
        if let Some(st) = rf.force_down() {
            if tx.send((id.clone(), st)).await.is_err() {
                return;
            }
        }
    } else if let (None, Some(st)) = (resume, rf.initial()) {
        tracing::info!("vrrp_script {name}: starts DOWN (init_fail)");
        if tx.send((id.clone(), st)).await.is_err() {
            return;
        }
    }
    let Ok(cmd) = cmd else {
        // No command or no such user: nothing will ever run; stay Down.
        tx.closed().await;
        return;
    };

    let mut ticker = tokio::time::interval_at(Instant::now(), interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut running: Option<(Running, Instant)> = None;
    let mut last_status: Option<Status> = None;
    let mut last_unrunnable = problem;
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                if let Some((_, since)) = &running {
                    tracing::warn!(
                        "vrrp_script {name}: the previous run is still going after {} ms; skipping this run (interval {} ms, timeout {} ms)",
                        since.elapsed().as_millis(), interval.as_millis(), timeout.as_millis()
                    );
                    continue;
                }
                let c = cmd.clone();
                running = Some((Box::pin(async move { runner::run(&c, timeout, &[]).await }), Instant::now()));
            }
            outcome = async { running.as_mut().expect("guarded").0.as_mut().await }, if running.is_some() => {
                running = None;
                crate::run_stats::record(&name, &outcome);
                let ok = outcome.success();
                tracing::debug!("vrrp_script {name}: {outcome}");
                match &outcome.status {
                    Status::SpawnFailed(why) => {
                        if last_unrunnable.as_deref() != Some(why.as_str()) {
                            tracing::error!("vrrp_script {name}: cannot run: {why}");
                            last_unrunnable = Some(why.clone());
                        }
                    }
                    st => {
                        if last_unrunnable.take().is_some() {
                            tracing::info!("vrrp_script {name}: runs again");
                        }
                        if last_status.as_ref() != Some(st) {
                            if last_status.is_some() {
                                tracing::info!("vrrp_script {name}: now {st}");
                            }
                            last_status = Some(st.clone());
                        }
                    }
                }
                if let Some(new) = rf.record(ok) {
                    let why = match (new, &outcome.status) {
                        (TrackerStatus::Up, _) if rf.rise > 1 => format!("{} consecutive successes", rf.rise),
                        (TrackerStatus::Up, _) => "it succeeded".to_string(),
                        (_, st) if rf.fall > 1 => format!("{} consecutive failures, the last: {st}", rf.fall),
                        (_, st) => format!("it failed: {st}"),
                    };
                    tracing::info!("vrrp_script {name} is now {}: {why}", status_name(new));
                    if tx.send((id.clone(), new)).await.is_err() {
                        return;
                    }
                }
            }
            _ = tx.closed() => return,
        }
    }
}

fn status_name(s: TrackerStatus) -> &'static str {
    match s {
        TrackerStatus::Up => "UP",
        TrackerStatus::Down => "DOWN",
        TrackerStatus::Value(_) => "a value",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TrackerStatus::{Down, Up};

    fn run(rf: &mut RiseFall, seq: &str) -> Vec<Option<TrackerStatus>> {
        seq.chars().map(|c| rf.record(c == '+')).collect()
    }

    #[test]
    fn first_result_decides() {
        let mut rf = RiseFall::new(3, 3, false);
        assert_eq!(rf.initial(), None);
        assert_eq!(run(&mut rf, "+"), vec![Some(Up)]);
        let mut rf = RiseFall::new(3, 3, false);
        assert_eq!(run(&mut rf, "-"), vec![Some(Down)]);
    }

    #[test]
    fn fall_and_rise_count_consecutive_results() {
        let mut rf = RiseFall::new(2, 3, false);
        assert_eq!(run(&mut rf, "+")[0], Some(Up));
        // Two failures are not enough; a success resets the count.
        assert_eq!(run(&mut rf, "--+--"), vec![None; 5]);
        assert_eq!(run(&mut rf, "-"), vec![Some(Down)]);
        // One success is not enough to rise (rise 2); a failure resets.
        assert_eq!(run(&mut rf, "+-+"), vec![None; 3]);
        assert_eq!(run(&mut rf, "+"), vec![Some(Up)]);
    }

    #[test]
    fn init_fail_starts_down_and_needs_rise() {
        let mut rf = RiseFall::new(2, 1, true);
        assert_eq!(rf.initial(), Some(Down));
        assert_eq!(run(&mut rf, "-+"), vec![None, None]);
        assert_eq!(run(&mut rf, "+"), vec![Some(Up)]);
        assert_eq!(run(&mut rf, "-"), vec![Some(Down)]);
    }

    #[test]
    fn resume_reports_only_changes() {
        let mut rf = RiseFall::resume(2, 2, true);
        assert_eq!(rf.initial(), Some(Up));
        assert_eq!(run(&mut rf, "-+-"), vec![None; 3]);
        assert_eq!(run(&mut rf, "-"), vec![Some(Down)]);
        let mut rf = RiseFall::resume(2, 2, false);
        assert_eq!(run(&mut rf, "-+"), vec![None; 2]);
        assert_eq!(run(&mut rf, "+"), vec![Some(Up)]);
    }

    #[test]
    fn force_down_reports_once() {
        let mut rf = RiseFall::new(1, 1, false);
        assert_eq!(rf.force_down(), Some(Down));
        assert_eq!(rf.force_down(), None);
        assert_eq!(rf.record(false), None);
        assert_eq!(rf.record(true), Some(Up));
    }
}
