//! What the vrrp_script trackers' runs came to, for the metrics: per script, runs by result
//! and their durations. One table for the process (the trackers are tasks that a reload
//! replaces; a script keeps its counts across reloads, by name).

use crate::runner::{Outcome, Status};
use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

/// The results a run is counted under.
pub const RESULTS: [&str; 4] = ["success", "failure", "timeout", "cannot_run"];

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Runs {
    /// Per [`RESULTS`].
    pub by_result: [u64; 4],
    /// Seconds, of every run.
    pub seconds: f64,
    /// The last run's duration, in seconds.
    pub last_seconds: f64,
}

fn table() -> &'static Mutex<BTreeMap<String, Runs>> {
    static T: OnceLock<Mutex<BTreeMap<String, Runs>>> = OnceLock::new();
    T.get_or_init(Default::default)
}

/// The result a run is counted under (an index into [`RESULTS`]).
pub fn result_of(o: &Outcome) -> usize {
    match o.status {
        Status::Exited(0) => 0,
        Status::Exited(_) | Status::Signalled(_) => 1,
        Status::TimedOut => 2,
        Status::SpawnFailed(_) => 3,
    }
}

/// Counts one run of the vrrp_script `name`.
pub fn record(name: &str, o: &Outcome) {
    let mut t = table().lock().unwrap_or_else(|e| e.into_inner());
    let r = t.entry(name.to_string()).or_default();
    r.by_result[result_of(o)] += 1;
    let s = o.duration.as_secs_f64();
    r.seconds += s;
    r.last_seconds = s;
}

/// Forgets the scripts `keep` says no to (removed by a reload).
pub fn retain(keep: impl Fn(&str) -> bool) {
    table()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|name, _| keep(name));
}

/// Every script's counts so far.
pub fn snapshot() -> BTreeMap<String, Runs> {
    table().lock().unwrap_or_else(|e| e.into_inner()).clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn outcome(status: Status, ms: u64) -> Outcome {
        Outcome {
            status,
            stdout: String::new(),
            stderr: String::new(),
            duration: Duration::from_millis(ms),
            pid: None,
        }
    }

    #[test]
    fn runs_are_counted_by_result_with_their_durations() {
        record("run-stats-test", &outcome(Status::Exited(0), 100));
        record("run-stats-test", &outcome(Status::Exited(3), 200));
        record("run-stats-test", &outcome(Status::TimedOut, 300));
        record(
            "run-stats-test",
            &outcome(Status::SpawnFailed("x".into()), 0),
        );
        let r = &snapshot()["run-stats-test"];
        assert_eq!(r.by_result, [1, 1, 1, 1]);
        assert!((r.seconds - 0.6).abs() < 1e-9, "{r:?}");
        assert_eq!(r.last_seconds, 0.0);
    }
}
