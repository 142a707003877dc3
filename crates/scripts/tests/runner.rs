//! One run of a command, with real processes.

mod common;

use common::*;
use lvsd_scripts::runner::{run, Command, Status, OUTPUT_CAP};
use lvsd_scripts::user::{lookup, ScriptUsers};
use std::time::Duration;

const LONG: Duration = Duration::from_secs(10);

#[tokio::test]
async fn exit_status_and_output_are_captured() {
    let d = tempdir();
    let s = script(d.path(), "out.sh", "echo hello; echo oops >&2; exit 3");
    let o = run(&Command::new([s.to_str().unwrap()]), LONG, &[]).await;
    assert_eq!(o.status, Status::Exited(3));
    assert_eq!(o.stdout, "hello\n");
    assert_eq!(o.stderr, "oops\n");
    assert!(!o.success());
    let shown = o.to_string();
    assert!(
        shown.contains("exit status 3") && shown.contains("hello"),
        "{shown}"
    );
}

#[tokio::test]
async fn arguments_environment_and_stdin() {
    let d = tempdir();
    let s = script(
        d.path(),
        "args.sh",
        r#"printf '%s|' "$@"; echo "$LVSD_TEST_VAR"; cat; echo "stdin-eof""#,
    );
    let cmd = Command::new([s.to_str().unwrap(), "a b", "it's"]);
    let env = [("LVSD_TEST_VAR".to_string(), "v1".to_string())];
    let o = run(&cmd, LONG, &env).await;
    assert_eq!(o.status, Status::Exited(0));
    // stdin is /dev/null: cat ends at once.
    assert_eq!(o.stdout, "a b|it's|v1\nstdin-eof\n");
}

#[tokio::test]
async fn bare_names_are_found_in_path() {
    let o = run(&Command::new(["true"]), LONG, &[]).await;
    assert!(o.success(), "{o}");
    let o = run(&Command::new(["false"]), LONG, &[]).await;
    assert_eq!(o.status, Status::Exited(1));
}

#[tokio::test]
async fn a_script_without_shebang_runs_through_sh() {
    let d = tempdir();
    let s = write_file(
        d.path(),
        "noshebang",
        "echo \"from sh: $1\"\nexit 4\n",
        0o755,
    );
    let o = run(&Command::new([s.to_str().unwrap(), "x y"]), LONG, &[]).await;
    assert_eq!(o.status, Status::Exited(4), "{o}");
    assert_eq!(o.stdout, "from sh: x y\n");
}

#[tokio::test]
async fn redirection_tests_go_through_the_shell() {
    let d = tempdir();
    let f = write_file(d.path(), "exists", "", 0o644);
    let o = run(&Command::new([format!("<{}", f.display())]), LONG, &[]).await;
    assert!(o.success(), "{o}");
    let o = run(&Command::new(["</nonexistent/lvsd"]), LONG, &[]).await;
    assert!(!o.success(), "{o}");
}

#[tokio::test]
async fn missing_or_not_executable_is_spawn_failed_with_the_reason() {
    let d = tempdir();
    let o = run(&Command::new(["/nonexistent/lvsd/check.sh"]), LONG, &[]).await;
    match &o.status {
        Status::SpawnFailed(why) => assert!(why.contains("does not exist"), "{why}"),
        s => panic!("{s:?}"),
    }
    let s = write_file(d.path(), "plain.sh", "#!/bin/sh\nexit 0\n", 0o644);
    let o = run(&Command::new([s.to_str().unwrap()]), LONG, &[]).await;
    match &o.status {
        Status::SpawnFailed(why) => assert!(why.contains("not executable"), "{why}"),
        s => panic!("{s:?}"),
    }
    let o = run(&Command::new(["no-such-program-lvsd"]), LONG, &[]).await;
    match &o.status {
        Status::SpawnFailed(why) => assert!(why.contains("not found in PATH"), "{why}"),
        s => panic!("{s:?}"),
    }
}

#[tokio::test]
async fn a_signal_is_reported() {
    let d = tempdir();
    let s = script(d.path(), "sig.sh", "kill -USR1 $$; sleep 5");
    let o = run(&Command::new([s.to_str().unwrap()]), LONG, &[]).await;
    assert_eq!(o.status, Status::Signalled(libc::SIGUSR1), "{o}");
}

#[tokio::test]
async fn timeout_kills_the_whole_process_group() {
    let d = tempdir();
    let dir = d.path().display().to_string();
    // One background child ignores SIGTERM, so it needs the SIGKILL; one does not.
    let s = script(
        d.path(),
        "slow.sh",
        &format!(
            "(trap '' TERM; exec sleep 100) &\necho $! > {dir}/ignorer\nsleep 100 &\necho $! > {dir}/plain\necho started\nsleep 100"
        ),
    );
    let t0 = std::time::Instant::now();
    let o = run(
        &Command::new([s.to_str().unwrap()]),
        Duration::from_millis(500),
        &[],
    )
    .await;
    let took = t0.elapsed();
    assert_eq!(o.status, Status::TimedOut, "{o}");
    assert_eq!(o.stdout, "started\n");
    // The script dies on SIGTERM, so the SIGKILL follows at once, not 2 s later.
    assert!(took < Duration::from_millis(1800), "took {took:?}");
    let ignorer = read_pid(&d.path().join("ignorer"), LONG).await;
    let plain = read_pid(&d.path().join("plain"), LONG).await;
    assert!(
        gone_within(plain, Duration::from_secs(2)).await,
        "pid {plain} survived"
    );
    assert!(
        gone_within(ignorer, Duration::from_secs(2)).await,
        "pid {ignorer} survived"
    );
}

#[tokio::test]
async fn a_script_ignoring_sigterm_is_killed_two_seconds_later() {
    let d = tempdir();
    let s = script(
        d.path(),
        "stubborn.sh",
        "trap '' TERM\nwhile :; do sleep 0.05; done",
    );
    let t0 = std::time::Instant::now();
    let o = run(
        &Command::new([s.to_str().unwrap()]),
        Duration::from_millis(200),
        &[],
    )
    .await;
    let took = t0.elapsed();
    assert_eq!(o.status, Status::TimedOut);
    assert!(
        took >= Duration::from_millis(2100) && took < Duration::from_secs(5),
        "took {took:?}"
    );
}

#[tokio::test]
async fn dropping_the_run_kills_the_group() {
    let d = tempdir();
    let pidfile = d.path().join("pid");
    let s = script(
        d.path(),
        "dropped.sh",
        &format!("echo $$ > {}\nexec sleep 100", pidfile.display()),
    );
    let cmd = Command::new([s.to_str().unwrap()]);
    let r = tokio::time::timeout(Duration::from_millis(400), run(&cmd, LONG, &[])).await;
    assert!(r.is_err());
    let pid = read_pid(&pidfile, LONG).await;
    assert!(
        gone_within(pid, Duration::from_secs(2)).await,
        "pid {pid} survived"
    );
}

#[tokio::test]
async fn a_background_child_left_running_does_not_hold_the_run() {
    let d = tempdir();
    let pidfile = d.path().join("bg");
    let s = script(
        d.path(),
        "bg.sh",
        &format!("sleep 30 &\necho $! > {}\necho done", pidfile.display()),
    );
    let t0 = std::time::Instant::now();
    let o = run(&Command::new([s.to_str().unwrap()]), LONG, &[]).await;
    assert!(o.success(), "{o}");
    assert_eq!(o.stdout, "done\n");
    assert!(t0.elapsed() < Duration::from_secs(3));
    // Left alone after a normal exit (notify scripts start services this way).
    let pid = read_pid(&pidfile, LONG).await;
    assert!(alive(pid));
    kill(pid);
}

#[tokio::test]
async fn output_is_capped() {
    let o = run(
        &Command::new(["/bin/sh", "-c", "head -c 20000 /dev/zero | tr '\\0' x"]),
        LONG,
        &[],
    )
    .await;
    assert!(o.success(), "{o}");
    assert!(o.stdout.starts_with(&"x".repeat(OUTPUT_CAP)));
    assert!(
        o.stdout.contains("15904 more bytes"),
        "{}",
        &o.stdout[OUTPUT_CAP..]
    );
}

#[tokio::test]
async fn runs_as_the_configured_user() {
    if !lvsd_testkit::root_or_skip("switching users") {
        return;
    }
    let nobody = lookup("nobody", None).unwrap();
    let o = run(
        &Command::new(["id", "-un"]).as_user(Some(nobody.clone())),
        LONG,
        &[],
    )
    .await;
    assert_eq!(o.stdout, "nobody\n", "{o}");
    let o = run(
        &Command::new(["id", "-G"]).as_user(Some(nobody.clone())),
        LONG,
        &[],
    )
    .await;
    assert_eq!(
        o.stdout.trim(),
        nobody.gid.to_string(),
        "no supplementary groups: {o}"
    );

    // script_user from global_defs is the default; a script's own user wins.
    let users = ScriptUsers::from_settings(Some("nobody"), None, false).unwrap();
    let cmd = Command::from_argv(&["id".into(), "-un".into()], None, None, &users).unwrap();
    assert_eq!(run(&cmd, LONG, &[]).await.stdout, "nobody\n");
    let cmd = Command::from_argv(&["id".into(), "-un".into()], Some("root"), None, &users).unwrap();
    assert_eq!(run(&cmd, LONG, &[]).await.stdout, "root\n");

    // Execute permission is checked for the user the script runs as.
    let d = tempdir();
    let s = write_file(d.path(), "owner-only.sh", "#!/bin/sh\nexit 0\n", 0o700);
    let o = run(
        &Command::new([s.to_str().unwrap()]).as_user(Some(nobody)),
        LONG,
        &[],
    )
    .await;
    match &o.status {
        Status::SpawnFailed(why) => assert!(why.contains("not executable for nobody"), "{why}"),
        s => panic!("{s:?}"),
    }
}

#[tokio::test]
async fn script_security_refuses_writable_paths_for_root() {
    if !lvsd_testkit::root_or_skip("switching users") {
        return;
    }
    let d = tempdir();
    let s = script(d.path(), "sec.sh", "exit 0");
    std::fs::set_permissions(&s, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let mut cmd = Command::new([s.to_str().unwrap()]);
    assert!(run(&cmd, LONG, &[]).await.success());
    cmd.security = true;
    match run(&cmd, LONG, &[]).await.status {
        Status::SpawnFailed(why) => assert!(why.contains("writable by everyone"), "{why}"),
        s => panic!("{s:?}"),
    }
}
