//! track_file through inotify, with real files.

mod common;

use common::*;
use lvsd_config::model::{InitFile, TrackFile};
use lvsd_scripts::track_file::{spawn_track_file, Init};
use lvsd_vrrp::track::{TrackerId, TrackerKind, TrackerStatus};
use std::path::Path;
use std::time::Duration;
use tokio::sync::mpsc;
use TrackerStatus::Value;

fn track_file(name: &str, path: &Path, init: Option<(i64, bool)>) -> TrackFile {
    TrackFile {
        name: name.into(),
        loc: Default::default(),
        file: Some(path.display().to_string()),
        weight: 1,
        weight_reverse: false,
        init_file: init.map(|(value, overwrite)| InitFile { value, overwrite }),
    }
}

async fn next(rx: &mut mpsc::Receiver<(TrackerId, TrackerStatus)>, name: &str) -> TrackerStatus {
    let (id, st) = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("a value within 5 s")
        .expect("channel open");
    assert_eq!(id, TrackerId::new(TrackerKind::File, name));
    st
}

async fn nothing_within(rx: &mut mpsc::Receiver<(TrackerId, TrackerStatus)>, d: Duration) {
    if let Ok(Some(m)) = tokio::time::timeout(d, rx.recv()).await {
        panic!("unexpected {m:?}");
    }
}

#[tokio::test]
async fn values_follow_writes_renames_and_deletes() {
    let _ = logs();
    let d = tempdir();
    let f = d.path().join("weight");
    std::fs::write(&f, "5\n").unwrap();
    let (tx, mut rx) = mpsc::channel(16);
    let h = spawn_track_file(&track_file("tf_main", &f, None), Init::Apply, tx);
    assert_eq!(next(&mut rx, "tf_main").await, Value(5));

    // In place (open, truncate, write, close).
    std::fs::write(&f, "-7\n").unwrap();
    assert_eq!(next(&mut rx, "tf_main").await, Value(-7));

    // The same value again: no message.
    std::fs::write(&f, "-7").unwrap();
    nothing_within(&mut rx, Duration::from_millis(200)).await;

    // Replaced by rename, as editors and `mv tmp file` do.
    let tmp = d.path().join("weight.tmp");
    std::fs::write(&tmp, "9\n").unwrap();
    std::fs::rename(&tmp, &f).unwrap();
    assert_eq!(next(&mut rx, "tf_main").await, Value(9));

    // Another file in the directory changes nothing.
    std::fs::write(d.path().join("other"), "100").unwrap();
    nothing_within(&mut rx, Duration::from_millis(200)).await;

    // Deleted: 0.
    std::fs::remove_file(&f).unwrap();
    assert_eq!(next(&mut rx, "tf_main").await, Value(0));

    // Created again, in hex (strtol base 0).
    std::fs::write(&f, "0x10").unwrap();
    assert_eq!(next(&mut rx, "tf_main").await, Value(16));

    // Not a number: 0, logged.
    std::fs::write(&f, "abc").unwrap();
    assert_eq!(next(&mut rx, "tf_main").await, Value(0));
    let warned = log_lines("track_file tf_main:");
    assert!(
        warned
            .iter()
            .any(|l| l.contains("\"abc\" is not a number; using 0")),
        "{warned:?}"
    );
    h.abort();
}

#[tokio::test]
async fn a_missing_file_is_zero_until_it_appears() {
    let d = tempdir();
    let f = d.path().join("later");
    let (tx, mut rx) = mpsc::channel(16);
    let h = spawn_track_file(&track_file("tf_later", &f, None), Init::Apply, tx);
    assert_eq!(next(&mut rx, "tf_later").await, Value(0));
    std::fs::write(&f, "3").unwrap();
    assert_eq!(next(&mut rx, "tf_later").await, Value(3));
    h.abort();
}

#[tokio::test]
async fn init_file_creates_and_overwrites() {
    let d = tempdir();
    // Missing: created with the value.
    let f = d.path().join("init");
    let (tx, mut rx) = mpsc::channel(16);
    let h = spawn_track_file(
        &track_file("tf_init", &f, Some((3, false))),
        Init::Apply,
        tx,
    );
    assert_eq!(next(&mut rx, "tf_init").await, Value(3));
    assert_eq!(std::fs::read_to_string(&f).unwrap(), "3\n");
    h.abort();

    // Present, no overwrite: kept.
    std::fs::write(&f, "8\n").unwrap();
    let (tx, mut rx) = mpsc::channel(16);
    let h = spawn_track_file(
        &track_file("tf_init", &f, Some((3, false))),
        Init::Apply,
        tx,
    );
    assert_eq!(next(&mut rx, "tf_init").await, Value(8));
    h.abort();

    // Present, overwrite: rewritten.
    let (tx, mut rx) = mpsc::channel(16);
    let h = spawn_track_file(
        &track_file("tf_init", &f, Some((-2, true))),
        Init::Apply,
        tx,
    );
    assert_eq!(next(&mut rx, "tf_init").await, Value(-2));
    assert_eq!(std::fs::read_to_string(&f).unwrap(), "-2\n");
    h.abort();

    // At a reload the file is left alone.
    std::fs::write(&f, "6\n").unwrap();
    let (tx, mut rx) = mpsc::channel(16);
    let h = spawn_track_file(&track_file("tf_init", &f, Some((-2, true))), Init::Skip, tx);
    assert_eq!(next(&mut rx, "tf_init").await, Value(6));
    h.abort();
}

#[tokio::test]
async fn a_symlinked_file_is_followed() {
    let d = tempdir();
    let real_dir = d.path().join("real");
    std::fs::create_dir(&real_dir).unwrap();
    let real = real_dir.join("v");
    std::fs::write(&real, "4").unwrap();
    let link = d.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let (tx, mut rx) = mpsc::channel(16);
    let h = spawn_track_file(&track_file("tf_link", &link, None), Init::Apply, tx);
    assert_eq!(next(&mut rx, "tf_link").await, Value(4));
    std::fs::write(&real, "5").unwrap();
    assert_eq!(next(&mut rx, "tf_link").await, Value(5));
    h.abort();
}

#[tokio::test]
async fn a_removed_directory_is_zero_and_watched_again_when_back() {
    let _ = logs();
    let d = tempdir();
    let sub = d.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let f = sub.join("v");
    std::fs::write(&f, "2").unwrap();
    let (tx, mut rx) = mpsc::channel(16);
    let h = spawn_track_file(&track_file("tf_dir", &f, None), Init::Apply, tx);
    assert_eq!(next(&mut rx, "tf_dir").await, Value(2));
    std::fs::remove_dir_all(&sub).unwrap();
    assert_eq!(next(&mut rx, "tf_dir").await, Value(0));
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(&f, "11").unwrap();
    assert_eq!(next(&mut rx, "tf_dir").await, Value(11));
    h.abort();
}
