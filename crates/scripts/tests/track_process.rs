//! vrrp_track_process with real processes the test starts and kills.

mod common;

use common::*;
use lvsd_config::model::TrackProcess;
use lvsd_scripts::track_process::spawn_track_processes;
use lvsd_vrrp::track::{TrackerId, TrackerKind, TrackerStatus};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use TrackerStatus::{Down, Up};

const PERIOD: Duration = Duration::from_millis(100);

fn track_process(name: &str, process: &str) -> TrackProcess {
    TrackProcess {
        name: name.into(),
        loc: Default::default(),
        process: Some(process.into()),
        param_match: None,
        weight: 0,
        weight_reverse: false,
        quorum: 1,
        quorum_max: None,
        delay: None,
        terminate_delay: None,
        fork_delay: None,
        full_command: false,
    }
}

/// A copy of `sleep` under a name no other process has.
fn unique_sleep(dir: &Path, tag: &str) -> PathBuf {
    let name = format!("lvsd{tag}{}", std::process::id() % 100_000);
    assert!(name.len() <= 15);
    let p = dir.join(&name);
    let sleep = ["/bin/sleep", "/usr/bin/sleep"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap();
    std::fs::copy(sleep, &p).unwrap();
    p
}

fn start(bin: &Path, arg: &str) -> Child {
    // A copy just written may be briefly "busy" if another test forked meanwhile.
    for _ in 0..50 {
        match std::process::Command::new(bin).arg(arg).spawn() {
            Ok(c) => return c,
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(e) => panic!("{}: {e}", bin.display()),
        }
    }
    panic!("{} stays busy", bin.display());
}

fn stop(mut c: Child) {
    kill(c.id());
    let _ = c.wait();
}

async fn next(rx: &mut mpsc::Receiver<(TrackerId, TrackerStatus)>, name: &str) -> TrackerStatus {
    let (id, st) = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("a status within 5 s")
        .expect("channel open");
    assert_eq!(id, TrackerId::new(TrackerKind::Process, name));
    st
}

async fn nothing_within(rx: &mut mpsc::Receiver<(TrackerId, TrackerStatus)>, d: Duration) {
    if let Ok(Some(m)) = tokio::time::timeout(d, rx.recv()).await {
        panic!("unexpected {m:?}");
    }
}

#[tokio::test]
async fn counts_processes_by_name_with_a_quorum_range() {
    let d = tempdir();
    let bin = unique_sleep(d.path(), "q");
    let name = bin.file_name().unwrap().to_str().unwrap().to_string();
    let mut tp = track_process("tp_quorum", &name);
    tp.quorum_max = Some(1);
    let (tx, mut rx) = mpsc::channel(16);
    let h = spawn_track_processes(&[tp], PERIOD, tx);
    assert_eq!(next(&mut rx, "tp_quorum").await, Down);
    let a = start(&bin, "100");
    assert_eq!(next(&mut rx, "tp_quorum").await, Up);
    // Two are more than quorum_max 1.
    let b = start(&bin, "100");
    assert_eq!(next(&mut rx, "tp_quorum").await, Down);
    stop(a);
    assert_eq!(next(&mut rx, "tp_quorum").await, Up);
    stop(b);
    assert_eq!(next(&mut rx, "tp_quorum").await, Down);
    h.abort();
}

#[tokio::test]
async fn a_prefix_of_the_name_does_not_match() {
    let d = tempdir();
    let bin = unique_sleep(d.path(), "p");
    let name = bin.file_name().unwrap().to_str().unwrap().to_string();
    let prefix = &name[..name.len() - 1];
    let (tx, mut rx) = mpsc::channel(16);
    let h = spawn_track_processes(&[track_process("tp_prefix", prefix)], PERIOD, tx);
    assert_eq!(next(&mut rx, "tp_prefix").await, Down);
    let a = start(&bin, "100");
    nothing_within(&mut rx, Duration::from_millis(400)).await;
    stop(a);
    h.abort();
}

#[tokio::test]
async fn parameters_match_the_command_line() {
    let d = tempdir();
    let bin = unique_sleep(d.path(), "c");
    let path = bin.display().to_string();
    // `process PATH 1001`: full command line, exact parameters.
    let exact = track_process("tp_exact", &format!("{path} 1001"));
    // `param_match initial` with `10`: 1001 and 1002 both start with 10.
    let mut initial = track_process("tp_initial", &format!("{path} 10"));
    initial.param_match = Some("initial".into());
    let mut both = initial.clone();
    both.name = "tp_two".into();
    both.quorum = 2;
    let (tx, mut rx) = mpsc::channel(16);
    let h = spawn_track_processes(&[exact, initial, both], PERIOD, tx);
    let mut first = Vec::new();
    for _ in 0..3 {
        let (id, st) = rx.recv().await.unwrap();
        first.push((id.name, st));
    }
    first.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        first,
        vec![
            ("tp_exact".to_string(), Down),
            ("tp_initial".to_string(), Down),
            ("tp_two".to_string(), Down)
        ]
    );
    let a = start(&bin, "1002");
    // tp_initial only (tp_two needs 2).
    let (id, st) = rx.recv().await.unwrap();
    assert_eq!((id.name.as_str(), st), ("tp_initial", Up));
    let b = start(&bin, "1001");
    let mut ups = Vec::new();
    for _ in 0..2 {
        let (id, st) = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap()
            .unwrap();
        ups.push((id.name, st));
    }
    ups.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        ups,
        vec![("tp_exact".to_string(), Up), ("tp_two".to_string(), Up)]
    );
    stop(a);
    stop(b);
    h.abort();
}

#[tokio::test]
async fn terminate_delay_debounces_a_restart() {
    let d = tempdir();
    let bin = unique_sleep(d.path(), "d");
    let name = bin.file_name().unwrap().to_str().unwrap().to_string();
    let mut tp = track_process("tp_delay", &name);
    tp.terminate_delay = Some(0.6);
    let a = start(&bin, "100");
    let (tx, mut rx) = mpsc::channel(16);
    let h = spawn_track_processes(&[tp], PERIOD, tx);
    assert_eq!(next(&mut rx, "tp_delay").await, Up);
    // Restarted within the delay: no DOWN.
    stop(a);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let b = start(&bin, "100");
    nothing_within(&mut rx, Duration::from_millis(900)).await;
    // Gone for good: DOWN after the delay.
    let t0 = Instant::now();
    stop(b);
    assert_eq!(next(&mut rx, "tp_delay").await, Down);
    assert!(
        t0.elapsed() >= Duration::from_millis(600),
        "{:?}",
        t0.elapsed()
    );
    h.abort();
}
