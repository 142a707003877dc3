//! FILE_CHECK with track files in a temporary directory.

use lvsd_check::probe::{file, FileProbe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn probe(path: &Path, weight: i32, reverse: bool, dynamic: bool) -> FileProbe {
    FileProbe {
        path: path.to_path_buf(),
        weight,
        reverse,
        dynamic,
    }
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

fn tmp() -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("value");
    (d, p)
}

#[tokio::test]
async fn weight_0_zero_passes_nonzero_fails() {
    let (_d, p) = tmp();
    let pr = probe(&p, 0, false, false);
    write(&p, "0\n");
    let out = file::check(&pr).await;
    assert!(out.ok, "{out:?}");
    assert_eq!(out.weight, None);
    write(&p, "3\n");
    let out = file::check(&pr).await;
    assert!(!out.ok);
    let e = out.error.unwrap();
    assert!(e.contains("holds 3"), "{e}");
    write(&p, "  -5 trailing");
    assert!(!file::check(&pr).await.ok, "negative is non-zero");
}

#[tokio::test]
async fn weight_0_reverse_inverts() {
    let (_d, p) = tmp();
    let pr = probe(&p, 0, true, false);
    write(&p, "0");
    assert!(!file::check(&pr).await.ok);
    write(&p, "1");
    assert!(file::check(&pr).await.ok);
}

#[tokio::test]
async fn read_at_every_check() {
    let (_d, p) = tmp();
    let pr = probe(&p, 0, false, false);
    for (v, ok) in [("0", true), ("1", false), ("0", true), ("9", false)] {
        write(&p, v);
        assert_eq!(file::check(&pr).await.ok, ok, "value {v}");
    }
}

#[tokio::test]
async fn missing_file_is_zero() {
    let (_d, p) = tmp();
    let out = file::check(&probe(&p, 0, false, false)).await;
    assert!(out.ok, "{out:?}");
    let out = file::check(&probe(&p, 0, true, false)).await;
    assert!(!out.ok);
    assert!(out.error.unwrap().contains("does not exist"));
    let out = file::check(&probe(&p, 5, false, true)).await;
    assert!(out.ok);
    assert_eq!(out.weight, Some(0));
}

#[tokio::test]
async fn empty_or_garbage_is_zero() {
    let (_d, p) = tmp();
    for text in ["", "\n", "abc"] {
        write(&p, text);
        assert!(
            file::check(&probe(&p, 0, false, false)).await.ok,
            "{text:?}"
        );
        assert_eq!(
            file::check(&probe(&p, 3, false, false)).await.weight,
            Some(0)
        );
    }
}

#[tokio::test]
async fn weighted_value_adjusts_the_weight() {
    let (_d, p) = tmp();
    write(&p, "5\n");
    let out = file::check(&probe(&p, 2, false, true)).await;
    assert!(out.ok);
    assert_eq!(out.weight, Some(10));
    let out = file::check(&probe(&p, 2, true, true)).await;
    assert!(out.ok);
    assert_eq!(out.weight, Some(-10));
    let out = file::check(&probe(&p, -4, false, false)).await;
    assert!(out.ok);
    assert_eq!(out.weight, Some(-20));
    write(&p, "-3");
    assert_eq!(
        file::check(&probe(&p, 2, false, true)).await.weight,
        Some(-6)
    );
    write(&p, "0x10");
    assert_eq!(
        file::check(&probe(&p, 1, false, true)).await.weight,
        Some(16)
    );
    write(&p, "010");
    assert_eq!(
        file::check(&probe(&p, 1, false, true)).await.weight,
        Some(8)
    );
}

#[tokio::test]
async fn very_negative_result_is_a_fault() {
    let (_d, p) = tmp();
    write(&p, "-2147483648");
    let out = file::check(&probe(&p, 1, false, true)).await;
    assert!(!out.ok);
    assert_eq!(out.weight, None);
    assert!(out.error.unwrap().contains("fault limit"));
    write(&p, "-1000000000");
    assert!(!file::check(&probe(&p, 3, false, true)).await.ok, "clamped");
    write(&p, "1000000000");
    assert!(!file::check(&probe(&p, 3, true, true)).await.ok, "reverse");
    assert_eq!(
        file::check(&probe(&p, 3, false, true)).await.weight,
        Some(i32::MAX)
    );
}

#[tokio::test]
async fn out_of_range_keeps_the_last_value() {
    let (_d, p) = tmp();
    let pr = probe(&p, 1, false, true);
    write(&p, "4");
    assert_eq!(file::check(&pr).await.weight, Some(4));
    write(&p, "99999999999");
    let out = file::check(&pr).await;
    assert!(out.ok);
    assert_eq!(out.weight, Some(4));
    // A fresh file out of range from the start is 0.
    let (_d2, p2) = tmp();
    write(&p2, "-99999999999");
    assert_eq!(
        file::check(&probe(&p2, 1, false, true)).await.weight,
        Some(0)
    );
}

#[tokio::test]
async fn a_fifo_does_not_hang_the_check() {
    let (_d, p) = tmp();
    let st = std::process::Command::new("mkfifo")
        .arg(&p)
        .status()
        .unwrap();
    assert!(st.success());
    let start = Instant::now();
    let out = file::check(&probe(&p, 0, false, false)).await;
    assert!(out.ok, "{out:?}");
    assert!(start.elapsed() < Duration::from_secs(2));
}
