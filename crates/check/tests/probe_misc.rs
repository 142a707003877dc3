//! MISC_CHECK with scripts written to a temporary directory.

use lvsd_check::probe::{misc, MiscProbe};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Writes an executable `#!/bin/sh` script.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

fn probe(path: &Path, dynamic: bool) -> MiscProbe {
    MiscProbe {
        argv: vec![path.display().to_string()],
        user: None,
        timeout: Duration::from_secs(10),
        dynamic,
    }
}

#[tokio::test]
async fn exit_0_passes() {
    let d = tempfile::tempdir().unwrap();
    let s = script(d.path(), "ok.sh", "exit 0");
    let out = misc::check(&probe(&s, false)).await;
    assert!(out.ok, "{out:?}");
    assert_eq!(out.weight, None);
    assert_eq!(out.error, None);
    // With misc_dynamic, exit 0 leaves the weight alone.
    let out = misc::check(&probe(&s, true)).await;
    assert!(out.ok);
    assert_eq!(out.weight, None);
}

#[tokio::test]
async fn exit_1_fails_with_the_last_stderr_line() {
    let d = tempfile::tempdir().unwrap();
    let s = script(
        d.path(),
        "bad.sh",
        "echo some output\necho first >&2\necho 'backend is down' >&2\nexit 1",
    );
    for dynamic in [false, true] {
        let out = misc::check(&probe(&s, dynamic)).await;
        assert!(!out.ok);
        assert_eq!(out.weight, None);
        assert_eq!(out.error.as_deref(), Some("exit status 1: backend is down"));
    }
}

#[tokio::test]
async fn stdout_is_quoted_when_stderr_is_empty() {
    let d = tempfile::tempdir().unwrap();
    let s = script(d.path(), "out.sh", "echo 'only stdout'\nexit 1");
    let out = misc::check(&probe(&s, false)).await;
    assert_eq!(out.error.as_deref(), Some("exit status 1: only stdout"));
}

#[tokio::test]
async fn dynamic_codes_set_the_weight() {
    let d = tempfile::tempdir().unwrap();
    let s = script(d.path(), "dyn.sh", "exit \"$1\"");
    for (code, weight) in [(2, 0), (7, 5), (12, 10), (255, 253)] {
        let mut p = probe(&s, true);
        p.argv.push(code.to_string());
        let out = misc::check(&p).await;
        assert!(out.ok, "exit {code}: {out:?}");
        assert_eq!(out.weight, Some(weight), "exit {code}");
    }
}

#[tokio::test]
async fn without_dynamic_any_nonzero_fails() {
    let d = tempfile::tempdir().unwrap();
    let s = script(d.path(), "dyn.sh", "exit \"$1\"");
    for code in [2, 7, 255] {
        let mut p = probe(&s, false);
        p.argv.push(code.to_string());
        let out = misc::check(&p).await;
        assert!(!out.ok, "exit {code}");
        assert_eq!(out.weight, None);
        assert_eq!(out.error, Some(format!("exit status {code}")));
    }
}

#[tokio::test]
async fn arguments_are_passed() {
    let d = tempfile::tempdir().unwrap();
    let s = script(
        d.path(),
        "args.sh",
        "[ \"$1\" = 'a b' ] && [ \"$2\" = \"it's\" ] && exit 0; exit 1",
    );
    let mut p = probe(&s, false);
    p.argv.extend(["a b".to_string(), "it's".to_string()]);
    assert!(misc::check(&p).await.ok);
}

#[tokio::test]
async fn timeout_kills_and_fails() {
    let d = tempfile::tempdir().unwrap();
    let s = script(d.path(), "slow.sh", "echo 'starting' >&2\nsleep 30\nexit 0");
    let mut p = probe(&s, false);
    p.timeout = Duration::from_millis(300);
    let start = Instant::now();
    let out = misc::check(&p).await;
    assert!(!out.ok);
    assert_eq!(
        out.error.as_deref(),
        Some("killed after misc_timeout 300ms: starting")
    );
    // SIGTERM ends `sleep`; far below the 2 s SIGKILL grace plus the sleep.
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn timeout_ignoring_sigterm_is_killed() {
    let d = tempfile::tempdir().unwrap();
    let s = script(
        d.path(),
        "stubborn.sh",
        "trap '' TERM\nsleep 30 & wait\nsleep 30",
    );
    let mut p = probe(&s, false);
    p.timeout = Duration::from_millis(200);
    let start = Instant::now();
    let out = misc::check(&p).await;
    assert!(!out.ok);
    assert!(out
        .error
        .unwrap()
        .starts_with("killed after misc_timeout 200ms"));
    assert!(start.elapsed() < Duration::from_secs(15));
}

#[tokio::test]
async fn killed_by_a_signal_fails() {
    let d = tempfile::tempdir().unwrap();
    let s = script(d.path(), "sig.sh", "kill -KILL $$");
    let out = misc::check(&probe(&s, true)).await;
    assert!(!out.ok);
    assert!(out.error.unwrap().contains("signal 9"));
}

#[tokio::test]
async fn not_executable_fails_with_the_reason() {
    let d = tempfile::tempdir().unwrap();
    let s = script(d.path(), "noexec.sh", "exit 0");
    std::fs::set_permissions(&s, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = misc::check(&probe(&s, false)).await;
    assert!(!out.ok);
    let e = out.error.unwrap();
    assert!(!e.is_empty());
    assert!(e.contains("noexec.sh"), "{e}");
}

#[tokio::test]
async fn missing_program_fails() {
    let out = misc::check(&probe(Path::new("/nonexistent/check.sh"), false)).await;
    assert!(!out.ok);
    assert!(out.error.unwrap().contains("/nonexistent/check.sh"));
}

#[tokio::test]
async fn runs_as_another_user() {
    if !lvsd_testkit::root_or_skip("switching users") {
        return;
    }
    let Ok(nobody) = lvsd_scripts::user::lookup("nobody", None) else {
        eprintln!("skipped: no user `nobody`");
        return;
    };
    let d = tempfile::tempdir().unwrap();
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let s = script(
        d.path(),
        "whoami.sh",
        &format!(
            "[ \"$(id -u)\" = {} ] && [ \"$(id -g)\" = {} ] && exit 0\nid >&2\nexit 1",
            nobody.uid, nobody.gid
        ),
    );
    let mut p = probe(&s, false);
    p.user = Some((nobody.uid, nobody.gid));
    let out = misc::check(&p).await;
    assert!(out.ok, "{out:?}");
    // And as ourselves it fails (we are root, not nobody).
    p.user = None;
    assert!(!misc::check(&p).await.ok);
}
