//! vrrp_script trackers with real scripts.

mod common;

use common::*;
use lvsd_config::model::{Script, VrrpScript};
use lvsd_scripts::user::ScriptUsers;
use lvsd_scripts::vrrp_script::spawn_vrrp_script;
use lvsd_vrrp::track::{TrackerId, TrackerKind, TrackerStatus};
use std::path::Path;
use std::time::Duration;
use tokio::sync::mpsc;
use TrackerStatus::{Down, Up};

fn vrrp_script(name: &str, path: &Path, interval: f64, rise: u32, fall: u32) -> VrrpScript {
    let command = path.display().to_string();
    VrrpScript {
        name: name.into(),
        loc: Default::default(),
        script: Some(Script {
            argv: vec![command.clone()],
            command,
            user: None,
            group: None,
            loc: Default::default(),
        }),
        interval,
        timeout: None,
        weight: 0,
        weight_reverse: false,
        rise,
        fall,
        user: None,
        group: None,
        init_fail: false,
    }
}

async fn next(rx: &mut mpsc::Receiver<(TrackerId, TrackerStatus)>, name: &str) -> TrackerStatus {
    let (id, st) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("a status within 10 s")
        .expect("channel open");
    assert_eq!(id, TrackerId::new(TrackerKind::Script, name));
    st
}

async fn nothing_within(rx: &mut mpsc::Receiver<(TrackerId, TrackerStatus)>, d: Duration) {
    if let Ok(Some(m)) = tokio::time::timeout(d, rx.recv()).await {
        panic!("unexpected {m:?}");
    }
}

fn count_lines(p: &Path) -> usize {
    std::fs::read_to_string(p).map_or(0, |s| s.lines().count())
}

/// The script's results come from a pattern file, one character per run: exact sequences.
#[tokio::test]
async fn rise_and_fall_follow_an_exact_sequence() {
    let d = tempdir();
    let dir = d.path().display().to_string();
    // rise 2, fall 3: + -> UP; --+ (two failures) nothing; --- -> DOWN at the 3rd;
    // +- nothing; ++ -> UP; then successes.
    std::fs::write(d.path().join("pattern"), "+--+---+-++").unwrap();
    let s = script(
        d.path(),
        "seq.sh",
        &format!(
            "n=$(cat {dir}/n 2>/dev/null || echo 0)\necho $((n+1)) > {dir}/n\nc=$(cut -c$((n+1)) {dir}/pattern)\n[ \"$c\" != - ]"
        ),
    );
    let (tx, mut rx) = mpsc::channel(16);
    let h = spawn_vrrp_script(
        &vrrp_script("chk_seq", &s, 0.05, 2, 3),
        &ScriptUsers::current(),
        false,
        tx,
    );
    assert_eq!(next(&mut rx, "chk_seq").await, Up);
    assert_eq!(next(&mut rx, "chk_seq").await, Down);
    let n: u32 = std::fs::read_to_string(d.path().join("n"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(n >= 7, "DOWN after run {n}");
    assert_eq!(next(&mut rx, "chk_seq").await, Up);
    let n: u32 = std::fs::read_to_string(d.path().join("n"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(n >= 11, "UP after run {n}");
    nothing_within(&mut rx, Duration::from_millis(300)).await;
    h.abort();
}

/// A script whose result follows a file the test flips.
#[tokio::test]
async fn flipping_the_result_moves_the_state() {
    let _ = logs();
    let d = tempdir();
    let flag = d.path().join("flag");
    let runs = d.path().join("runs");
    std::fs::write(&flag, "ok").unwrap();
    let s = script(
        d.path(),
        "flip.sh",
        &format!(
            "if [ \"$(cat {f})\" = ok ]; then echo + >> {r}; exit 0; else echo - >> {r}; exit 1; fi",
            f = flag.display(),
            r = runs.display()
        ),
    );
    let (tx, mut rx) = mpsc::channel(16);
    let h = spawn_vrrp_script(
        &vrrp_script("chk_flip", &s, 0.05, 2, 3),
        &ScriptUsers::current(),
        false,
        tx,
    );
    assert_eq!(next(&mut rx, "chk_flip").await, Up);
    std::fs::write(&flag, "bad").unwrap();
    assert_eq!(next(&mut rx, "chk_flip").await, Down);
    let log = std::fs::read_to_string(&runs).unwrap();
    let trailing_failures = log.lines().rev().take_while(|l| *l == "-").count();
    assert!(trailing_failures >= 3, "{log}");
    std::fs::write(&flag, "ok").unwrap();
    assert_eq!(next(&mut rx, "chk_flip").await, Up);
    let log = std::fs::read_to_string(&runs).unwrap();
    let trailing_successes = log.lines().rev().take_while(|l| *l == "+").count();
    assert!(trailing_successes >= 2, "{log}");
    // Runs are logged at debug with the exit code; changes at info with the reason.
    let down = log_lines("vrrp_script chk_flip is now DOWN");
    assert!(down[0].contains("INFO"), "{down:?}");
    assert!(
        down[0].contains("3 consecutive failures, the last: exit status 1"),
        "{down:?}"
    );
    let runs_logged = log_lines("vrrp_script chk_flip: exit status");
    assert!(
        runs_logged.iter().all(|l| l.contains("DEBUG")),
        "{runs_logged:?}"
    );
    assert!(runs_logged.len() >= 6, "{runs_logged:?}");
    h.abort();
}

#[tokio::test]
async fn init_fail_starts_down() {
    let _ = logs();
    let d = tempdir();
    let s = script(d.path(), "ok.sh", "exit 0");
    let mut vs = vrrp_script("chk_init_fail", &s, 0.05, 2, 1);
    vs.init_fail = true;
    let (tx, mut rx) = mpsc::channel(16);
    let h = spawn_vrrp_script(&vs, &ScriptUsers::current(), false, tx);
    assert_eq!(next(&mut rx, "chk_init_fail").await, Down);
    assert_eq!(next(&mut rx, "chk_init_fail").await, Up);
    h.abort();
}

#[tokio::test]
async fn an_overlapping_run_is_skipped_and_logged() {
    let _ = logs();
    let d = tempdir();
    let runs = d.path().join("runs");
    let s = script(
        d.path(),
        "slow.sh",
        &format!("echo run >> {}\nsleep 0.3", runs.display()),
    );
    let mut vs = vrrp_script("chk_overlap", &s, 0.05, 1, 1);
    vs.timeout = Some(2.0);
    let (tx, mut rx) = mpsc::channel(16);
    let h = spawn_vrrp_script(&vs, &ScriptUsers::current(), false, tx);
    assert_eq!(next(&mut rx, "chk_overlap").await, Up);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    h.abort();
    let n = count_lines(&runs);
    // 50 ms interval, 300 ms runs: about 4 runs in 1.3 s, never 26.
    assert!((2..=7).contains(&n), "{n} runs");
    let warned = log_lines("vrrp_script chk_overlap: the previous run is still going");
    assert!(!warned.is_empty());
    assert!(warned[0].contains("WARN"), "{}", warned[0]);
}

#[tokio::test]
async fn a_timeout_is_a_failure() {
    let d = tempdir();
    let s = script(d.path(), "hang.sh", "sleep 100");
    let mut vs = vrrp_script("chk_timeout", &s, 0.05, 1, 1);
    vs.timeout = Some(0.2);
    let (tx, mut rx) = mpsc::channel(16);
    let h = spawn_vrrp_script(&vs, &ScriptUsers::current(), false, tx);
    let t0 = std::time::Instant::now();
    assert_eq!(next(&mut rx, "chk_timeout").await, Down);
    assert!(t0.elapsed() >= Duration::from_millis(200));
    h.abort();
}

#[tokio::test]
async fn a_missing_script_fails_closed_and_recovers_when_it_appears() {
    let _ = logs();
    let d = tempdir();
    let path = d.path().join("later.sh");
    let (tx, mut rx) = mpsc::channel(16);
    let h = spawn_vrrp_script(
        &vrrp_script("chk_missing", &path, 0.05, 2, 1),
        &ScriptUsers::current(),
        false,
        tx,
    );
    assert_eq!(next(&mut rx, "chk_missing").await, Down);
    let errors = log_lines("vrrp_script chk_missing: cannot run");
    assert!(
        !errors.is_empty() && errors[0].contains("ERROR"),
        "{errors:?}"
    );
    assert!(errors[0].contains("does not exist"), "{}", errors[0]);
    nothing_within(&mut rx, Duration::from_millis(300)).await;
    // Logged once, not at every interval.
    assert_eq!(log_lines("vrrp_script chk_missing: cannot run").len(), 1);
    script(d.path(), "later.sh", "exit 0");
    assert_eq!(next(&mut rx, "chk_missing").await, Up);
    h.abort();
}

#[tokio::test]
async fn a_non_executable_script_fails_closed_with_the_reason() {
    let _ = logs();
    let d = tempdir();
    let s = write_file(d.path(), "noexec.sh", "#!/bin/sh\nexit 0\n", 0o644);
    let (tx, mut rx) = mpsc::channel(16);
    let h = spawn_vrrp_script(
        &vrrp_script("chk_noexec", &s, 0.05, 1, 1),
        &ScriptUsers::current(),
        false,
        tx,
    );
    assert_eq!(next(&mut rx, "chk_noexec").await, Down);
    let errors = log_lines("vrrp_script chk_noexec: cannot run");
    assert!(errors[0].contains("is not executable"), "{}", errors[0]);
    h.abort();
}

#[tokio::test]
async fn fail_open_keeps_a_missing_script_up_with_a_warning() {
    let _ = logs();
    let (tx, mut rx) = mpsc::channel(16);
    let h = spawn_vrrp_script(
        &vrrp_script("chk_open", Path::new("/nonexistent/lvsd.sh"), 0.05, 1, 1),
        &ScriptUsers::current(),
        true,
        tx,
    );
    assert_eq!(next(&mut rx, "chk_open").await, Up);
    let warned = log_lines("vrrp_script chk_open: cannot run");
    assert!(
        warned[0].contains("WARN") && warned[0].contains("fail-open"),
        "{}",
        warned[0]
    );
    nothing_within(&mut rx, Duration::from_millis(200)).await;
    h.abort();
}

#[tokio::test]
async fn an_unknown_user_fails_closed() {
    let _ = logs();
    let d = tempdir();
    let s = script(d.path(), "ok.sh", "exit 0");
    let mut vs = vrrp_script("chk_user", &s, 0.05, 1, 1);
    vs.user = Some("no-such-user-lvsd".into());
    let (tx, mut rx) = mpsc::channel(16);
    let h = spawn_vrrp_script(&vs, &ScriptUsers::current(), false, tx);
    assert_eq!(next(&mut rx, "chk_user").await, Down);
    assert!(log_lines("vrrp_script chk_user: cannot run")[0].contains("does not exist"));
    h.abort();
}

#[tokio::test]
async fn the_task_ends_when_the_receiver_is_dropped() {
    let d = tempdir();
    let s = script(d.path(), "ok.sh", "exit 0");
    let (tx, rx) = mpsc::channel(16);
    let h = spawn_vrrp_script(
        &vrrp_script("chk_end", &s, 0.05, 1, 1),
        &ScriptUsers::current(),
        false,
        tx,
    );
    drop(rx);
    tokio::time::timeout(Duration::from_secs(5), h)
        .await
        .expect("ends")
        .unwrap();
}

#[tokio::test]
async fn a_resumed_tracker_sends_only_changes() {
    let d = tempdir();
    let ok = script(d.path(), "ok.sh", "exit 0");
    let (tx, mut rx) = mpsc::channel(16);
    let h = lvsd_scripts::vrrp_script::spawn_vrrp_script_resumed(
        &vrrp_script("chk_resume", &ok, 0.05, 1, 2),
        &ScriptUsers::current(),
        false,
        Up,
        tx,
    );
    // Still UP after a reload: nothing to say.
    nothing_within(&mut rx, Duration::from_millis(300)).await;
    h.abort();
    let bad = script(d.path(), "bad.sh", "exit 1");
    let (tx, mut rx) = mpsc::channel(16);
    let h = lvsd_scripts::vrrp_script::spawn_vrrp_script_resumed(
        &vrrp_script("chk_resume", &bad, 0.05, 1, 2),
        &ScriptUsers::current(),
        false,
        Up,
        tx,
    );
    assert_eq!(next(&mut rx, "chk_resume").await, Down);
    h.abort();
}
