//! `vrrp_track_process` trackers (keepalived-behaviour §1.2; keepalived.conf(5) "VRRP track
//! processes").
//!
//! Matching, as keepalived:
//! * `process NAME` alone: NAME must equal the process name (`/proc/PID/stat`'s comm, at most 15
//!   characters) exactly — `pgrep '^NAME$'`, not a substring.
//! * `full_command`, or parameters after NAME, or `param_match`: NAME must equal argv\[0\] of
//!   `/proc/PID/cmdline` exactly. With parameters (or `param_match`) they are compared too:
//!   exact (default): the same parameters, no more; `partial`: the first ones given match
//!   exactly, more may follow; `initial`: as partial, and the last one given may be a prefix.
//! * Zombies and kernel threads never match.
//!
//! The status is Up when `quorum <= count <= quorum_max` (quorum_max default: unlimited). A
//! change towards Up waits `fork_delay`, towards Down `terminate_delay` (`delay` sets both); a
//! change that reverts before its delay is over is not reported. The first scan decides at once.
//!
//! keepalived learns about processes from the kernel's process connector; lvsd scans /proc every
//! second (one scan serves every tracker given to [`spawn_track_processes`]).

use lvsd_config::model::TrackProcess;
use lvsd_vrrp::track::{TrackerId, TrackerKind, TrackerStatus};
use std::path::Path;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// How often /proc is scanned.
pub const SCAN_PERIOD: Duration = Duration::from_secs(1);

/// How parameters are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamMatch {
    /// Parameters are not looked at.
    None,
    Exact,
    Partial,
    Initial,
}

/// One tracker's matching rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matcher {
    pub name: String,
    pub params: Vec<String>,
    pub full_command: bool,
    pub param_match: ParamMatch,
}

impl Matcher {
    /// keepalived's reading of `process NAME [PARAM…]`, `param_match` and `full_command`.
    pub fn from_config(tp: &TrackProcess) -> Option<Self> {
        let process = tp.process.as_deref()?;
        let mut words = process.split_whitespace().map(str::to_string);
        let name = words.next()?;
        let params: Vec<String> = words.collect();
        let mut full_command = tp.full_command;
        let mut param_match = ParamMatch::None;
        if !params.is_empty() {
            param_match = ParamMatch::Exact;
            full_command = true;
        }
        if let Some(pm) = tp.param_match.as_deref() {
            full_command = true;
            param_match = match pm {
                "initial" => ParamMatch::Initial,
                "partial" => ParamMatch::Partial,
                _ => ParamMatch::Exact,
            };
        }
        Some(Matcher {
            name,
            params,
            full_command,
            param_match,
        })
    }

    /// Whether a process with this comm and these argv words matches.
    pub fn matches(&self, comm: &str, argv: &[&[u8]]) -> bool {
        if !self.full_command {
            return comm == self.name;
        }
        let Some((argv0, rest)) = argv.split_first() else {
            return false;
        };
        if *argv0 != self.name.as_bytes() {
            return false;
        }
        let want: Vec<&[u8]> = self.params.iter().map(|p| p.as_bytes()).collect();
        match self.param_match {
            ParamMatch::None => true,
            ParamMatch::Exact => rest == want.as_slice(),
            ParamMatch::Partial => rest.len() >= want.len() && rest[..want.len()] == want[..],
            ParamMatch::Initial => {
                if rest.len() < want.len() {
                    return false;
                }
                match want.split_last() {
                    None => true,
                    Some((last, first)) => {
                        rest[..first.len()] == *first && rest[first.len()].starts_with(last)
                    }
                }
            }
        }
    }
}

/// One process as /proc shows it.
#[derive(Debug, Clone)]
pub struct ProcInfo {
    pub pid: u32,
    pub comm: String,
    /// argv words (empty for kernel threads); read only when a tracker needs it.
    pub argv: Vec<Vec<u8>>,
}

/// Every live (not zombie) process; `cmdline` when some matcher needs argv.
pub fn scan_proc(cmdline: bool) -> Vec<ProcInfo> {
    scan_dir(Path::new("/proc"), cmdline)
}

fn scan_dir(root: &Path, cmdline: bool) -> Vec<ProcInfo> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir(root) else {
        return out;
    };
    for ent in dir.flatten() {
        let Some(pid) = ent.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read(ent.path().join("stat")) else {
            continue;
        };
        // "PID (comm) S ...": comm may hold ')' itself; the state follows the last ')'.
        let stat = String::from_utf8_lossy(&stat);
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        if close < open {
            continue;
        }
        let comm = stat[open + 1..close].to_string();
        let state = stat[close + 1..].trim_start().chars().next();
        if matches!(state, Some('Z') | Some('X') | None) {
            continue;
        }
        let argv = if cmdline {
            match std::fs::read(ent.path().join("cmdline")) {
                Ok(raw) => split_cmdline(&raw),
                Err(_) => continue,
            }
        } else {
            Vec::new()
        };
        out.push(ProcInfo { pid, comm, argv });
    }
    out
}

fn split_cmdline(raw: &[u8]) -> Vec<Vec<u8>> {
    let raw = raw.strip_suffix(b"\0").unwrap_or(raw);
    if raw.is_empty() {
        return Vec::new();
    }
    raw.split(|b| *b == 0).map(<[u8]>::to_vec).collect()
}

/// Counts the processes `m` matches.
pub fn count(m: &Matcher, procs: &[ProcInfo]) -> u32 {
    procs
        .iter()
        .filter(|p| {
            let argv: Vec<&[u8]> = p.argv.iter().map(Vec::as_slice).collect();
            m.matches(&p.comm, &argv)
        })
        .count() as u32
}

/// Quorum with fork/terminate delays, without I/O.
#[derive(Debug, Clone)]
pub struct Quorum {
    pub min: u32,
    /// None: unlimited.
    pub max: Option<u32>,
    pub fork_delay: Duration,
    pub terminate_delay: Duration,
    reported: Option<bool>,
    /// A change waiting for its delay: (towards up?, when).
    pending: Option<(bool, Instant)>,
}

impl Quorum {
    pub fn new(
        min: u32,
        max: Option<u32>,
        fork_delay: Duration,
        terminate_delay: Duration,
    ) -> Self {
        Quorum {
            min,
            max,
            fork_delay,
            terminate_delay,
            reported: None,
            pending: None,
        }
    }

    pub fn from_config(tp: &TrackProcess) -> Self {
        let d = |v: Option<f64>| {
            v.filter(|s| s.is_finite() && *s > 0.0)
                .map(Duration::from_secs_f64)
        };
        Quorum::new(
            tp.quorum,
            tp.quorum_max,
            d(tp.fork_delay).or(d(tp.delay)).unwrap_or_default(),
            d(tp.terminate_delay).or(d(tp.delay)).unwrap_or_default(),
        )
    }

    pub fn in_range(&self, n: u32) -> bool {
        n >= self.min && self.max.is_none_or(|m| n <= m)
    }

    /// Feeds a count seen at `now`; returns the new status when it changes.
    pub fn observe(&mut self, n: u32, now: Instant) -> Option<bool> {
        let up = self.in_range(n);
        match self.reported {
            None => {
                self.reported = Some(up);
                return Some(up);
            }
            Some(r) if r == up => {
                self.pending = None;
                return None;
            }
            Some(_) => {}
        }
        let delay = if up {
            self.fork_delay
        } else {
            self.terminate_delay
        };
        let due = match self.pending {
            Some((dir, at)) if dir == up => at,
            _ => {
                let at = now + delay;
                self.pending = Some((up, at));
                at
            }
        };
        if now >= due {
            self.pending = None;
            self.reported = Some(up);
            Some(up)
        } else {
            None
        }
    }

    /// When a pending change is due (to scan again then).
    pub fn next_due(&self) -> Option<Instant> {
        self.pending.map(|(_, at)| at)
    }
}

/// The tracker id a `vrrp_track_process` reports under.
pub fn tracker_id(tp: &TrackProcess) -> TrackerId {
    TrackerId::new(TrackerKind::Process, &tp.name)
}

/// Starts one tracker (scanning /proc every second).
pub fn spawn_track_process(
    tp: &TrackProcess,
    tx: mpsc::Sender<(TrackerId, TrackerStatus)>,
) -> JoinHandle<()> {
    spawn_track_processes(std::slice::from_ref(tp), SCAN_PERIOD, tx)
}

/// Starts one task that scans /proc every `period` for all of `tps`. It ends when `tx` is closed.
pub fn spawn_track_processes(
    tps: &[TrackProcess],
    period: Duration,
    tx: mpsc::Sender<(TrackerId, TrackerStatus)>,
) -> JoinHandle<()> {
    let mut trackers = Vec::new();
    for tp in tps {
        let Some(m) = Matcher::from_config(tp) else {
            tracing::error!(
                "vrrp_track_process {}: no `process` is configured; it reports nothing",
                tp.name
            );
            continue;
        };
        if !m.full_command && m.name.len() > 15 {
            tracing::warn!(
                "vrrp_track_process {}: `{}` is longer than 15 characters, so it can never equal a \
                 process name (the kernel keeps 15); add `full_command` to match the command line",
                tp.name,
                m.name
            );
        }
        trackers.push((tracker_id(tp), m, Quorum::from_config(tp), None::<u32>));
    }
    let period = period.max(Duration::from_millis(10));
    tokio::spawn(async move {
        if trackers.is_empty() {
            tx.closed().await;
            return;
        }
        let cmdline = trackers.iter().any(|(_, m, _, _)| m.full_command);
        let mut next_scan = Instant::now();
        loop {
            let procs = match tokio::task::spawn_blocking(move || scan_proc(cmdline)).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!("track_process: scanning /proc failed: {e}");
                    Vec::new()
                }
            };
            let now = Instant::now();
            for (id, m, q, last_count) in &mut trackers {
                let n = count(m, &procs);
                if *last_count != Some(n) {
                    tracing::debug!(
                        "vrrp_track_process {}: {n} process(es) match `{}`",
                        id.name,
                        m.name
                    );
                    *last_count = Some(n);
                }
                if let Some(up) = q.observe(n, now) {
                    let range = match q.max {
                        Some(max) => format!("{}..={max}", q.min),
                        None => format!("at least {}", q.min),
                    };
                    tracing::info!(
                        "vrrp_track_process {} is now {}: {n} process(es) match `{}` (quorum {range})",
                        id.name,
                        if up { "UP" } else { "DOWN" },
                        m.name
                    );
                    let st = if up {
                        TrackerStatus::Up
                    } else {
                        TrackerStatus::Down
                    };
                    if tx.send((id.clone(), st)).await.is_err() {
                        return;
                    }
                }
            }
            next_scan += period;
            if next_scan < now {
                next_scan = now + period;
            }
            let wake = trackers
                .iter()
                .filter_map(|(_, _, q, _)| q.next_due())
                .fold(next_scan, Instant::min);
            tokio::select! {
                _ = tokio::time::sleep_until(wake) => {}
                _ = tx.closed() => return,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(name: &str, params: &[&str], full: bool, pm: ParamMatch) -> Matcher {
        Matcher {
            name: name.into(),
            params: params.iter().map(|s| s.to_string()).collect(),
            full_command: full,
            param_match: pm,
        }
    }

    #[test]
    fn comm_is_an_exact_match() {
        let x = m("ssh", &[], false, ParamMatch::None);
        assert!(x.matches("ssh", &[]));
        assert!(!x.matches("sshd", &[]));
    }

    #[test]
    fn parameters() {
        let argv: [&[u8]; 3] = [b"/usr/sbin/nginx", b"-c", b"/etc/nginx.conf"];
        assert!(m("/usr/sbin/nginx", &[], true, ParamMatch::None).matches("nginx", &argv));
        assert!(!m("/usr/sbin/nginx", &[], true, ParamMatch::Exact).matches("nginx", &argv));
        assert!(m(
            "/usr/sbin/nginx",
            &["-c", "/etc/nginx.conf"],
            true,
            ParamMatch::Exact
        )
        .matches("nginx", &argv));
        assert!(m("/usr/sbin/nginx", &["-c"], true, ParamMatch::Partial).matches("nginx", &argv));
        assert!(!m(
            "/usr/sbin/nginx",
            &["-c", "/etc"],
            true,
            ParamMatch::Partial
        )
        .matches("nginx", &argv));
        assert!(m(
            "/usr/sbin/nginx",
            &["-c", "/etc"],
            true,
            ParamMatch::Initial
        )
        .matches("nginx", &argv));
        assert!(!m("/usr/sbin/nginx", &["-x"], true, ParamMatch::Initial).matches("nginx", &argv));
        // Kernel threads have no argv.
        assert!(!m("kthreadd", &[], true, ParamMatch::None).matches("kthreadd", &[]));
    }

    #[test]
    fn config_reading() {
        let tp = TrackProcess {
            name: "t".into(),
            loc: Default::default(),
            process: Some("nginx -g daemon".into()),
            param_match: None,
            weight: 0,
            weight_reverse: false,
            quorum: 1,
            quorum_max: None,
            delay: Some(2.0),
            terminate_delay: Some(0.5),
            fork_delay: None,
            full_command: false,
        };
        let mm = Matcher::from_config(&tp).unwrap();
        assert_eq!(mm, m("nginx", &["-g", "daemon"], true, ParamMatch::Exact));
        let q = Quorum::from_config(&tp);
        assert_eq!(q.fork_delay, Duration::from_secs(2));
        assert_eq!(q.terminate_delay, Duration::from_millis(500));
    }

    #[test]
    fn quorum_with_delays() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut q = Quorum::new(2, Some(3), 2 * s, 3 * s);
        assert_eq!(q.observe(2, t0), Some(true));
        // Lost quorum: reported after 3 s only if still lost.
        assert_eq!(q.observe(1, t0 + s), None);
        assert_eq!(q.next_due(), Some(t0 + 4 * s));
        assert_eq!(q.observe(2, t0 + 2 * s), None); // recovered in time
        assert_eq!(q.next_due(), None);
        assert_eq!(q.observe(4, t0 + 3 * s), None); // too many
        assert_eq!(q.observe(4, t0 + 6 * s), Some(false));
        assert_eq!(q.observe(3, t0 + 7 * s), None);
        assert_eq!(q.observe(3, t0 + 9 * s), Some(true));
        // No delay: at once.
        let mut q = Quorum::new(1, None, Duration::ZERO, Duration::ZERO);
        assert_eq!(q.observe(0, t0), Some(false));
        assert_eq!(q.observe(5, t0), Some(true));
        assert_eq!(q.observe(0, t0), Some(false));
    }
}
