//! Notify scripts and FIFO lines, with real scripts and FIFOs.

mod common;

use common::*;
use lvsd_config::model::{Fifo, GlobalDefs, Notify, Script};
use lvsd_scripts::fifo::{FifoSink, FifoWriter, Fifos};
use lvsd_scripts::notify::{Notifier, NotifierOptions, Target};
use lvsd_scripts::user::ScriptUsers;
use lvsd_vrrp::State;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn cmd(argv: &[&str]) -> Script {
    Script {
        command: argv.join(" "),
        argv: argv.iter().map(|s| s.to_string()).collect(),
        user: None,
        group: None,
        loc: Default::default(),
    }
}

fn notifier(timeout: Duration, fifo: FifoSink) -> Notifier {
    Notifier::new(NotifierOptions {
        users: ScriptUsers::current(),
        script_timeout: timeout,
        fifo,
    })
}

fn lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// A reader of the FIFO that never blocks.
fn fifo_reader(p: &Path) -> std::fs::File {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(p)
        .unwrap()
}

fn read_available(f: &mut std::fs::File) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("{e}"),
        }
    }
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn transitions_of_one_instance_run_in_order() {
    let d = tempdir();
    let log = d.path().join("log");
    let l = log.display().to_string();
    let master = script(
        d.path(),
        "master.sh",
        &format!("sleep 0.3\necho \"master $*\" >> {l}"),
    );
    let backup = script(d.path(), "backup.sh", &format!("echo \"backup $*\" >> {l}"));
    let generic = script(d.path(), "notify.sh", &format!("echo \"$*\" >> {l}"));
    let scripts = Notify {
        // Exactly the configured command line: one argument here.
        master: Some(cmd(&[master.to_str().unwrap(), "arg1"])),
        backup: Some(cmd(&[backup.to_str().unwrap()])),
        generic: Some(cmd(&[generic.to_str().unwrap()])),
        ..Default::default()
    };
    let n = notifier(Duration::from_secs(10), FifoSink::none());
    let vi = Target::Instance("VI_1".into());
    n.notify(
        vi.clone(),
        &scripts,
        State::Master,
        100,
        State::Backup,
        "master down",
    );
    n.notify(
        vi.clone(),
        &scripts,
        State::Backup,
        90,
        State::Master,
        "preempted",
    );
    n.notify(
        vi,
        &scripts,
        State::Master,
        100,
        State::Backup,
        "master down",
    );
    assert_eq!(n.pending(), 3);
    assert!(n.shutdown(Duration::from_secs(10)).await);
    assert_eq!(
        lines(&log),
        vec![
            "master arg1",
            "INSTANCE VI_1 MASTER 100",
            "backup ",
            "INSTANCE VI_1 BACKUP 90",
            "master arg1",
            "INSTANCE VI_1 MASTER 100",
        ]
    );
    assert_eq!(n.pending(), 0);
}

#[tokio::test]
async fn different_instances_do_not_wait_for_each_other() {
    let d = tempdir();
    let log = d.path().join("log");
    let slow = script(
        d.path(),
        "slow.sh",
        &format!("sleep 0.5\necho slow >> {}", log.display()),
    );
    let fast = script(
        d.path(),
        "fast.sh",
        &format!("echo fast >> {}", log.display()),
    );
    let n = notifier(Duration::from_secs(10), FifoSink::none());
    let slow_s = Notify {
        master: Some(cmd(&[slow.to_str().unwrap()])),
        ..Default::default()
    };
    let fast_s = Notify {
        master: Some(cmd(&[fast.to_str().unwrap()])),
        ..Default::default()
    };
    n.notify(
        Target::Instance("A".into()),
        &slow_s,
        State::Master,
        100,
        State::Backup,
        "",
    );
    n.notify(
        Target::Instance("B".into()),
        &fast_s,
        State::Master,
        100,
        State::Backup,
        "",
    );
    assert!(n.shutdown(Duration::from_secs(10)).await);
    assert_eq!(lines(&log), vec!["fast", "slow"]);
}

#[tokio::test]
async fn groups_get_priority_zero_and_scripts_get_the_context() {
    let d = tempdir();
    let log = d.path().join("log");
    let env = d.path().join("env");
    let generic = script(
        d.path(),
        "notify.sh",
        &format!(
            "echo \"$*\" >> {}\nenv | grep ^LVSD_ | sort >> {}",
            log.display(),
            env.display()
        ),
    );
    let scripts = Notify {
        generic: Some(cmd(&[generic.to_str().unwrap()])),
        ..Default::default()
    };
    let n = notifier(Duration::from_secs(10), FifoSink::none());
    n.notify(
        Target::Group("G1".into()),
        &scripts,
        State::Fault,
        150,
        State::Master,
        "tracker down",
    );
    assert!(n.shutdown(Duration::from_secs(10)).await);
    assert_eq!(lines(&log), vec!["GROUP G1 FAULT 0"]);
    assert_eq!(
        lines(&env),
        vec![
            "LVSD_GROUP=G1",
            "LVSD_PREVIOUS_STATE=MASTER",
            "LVSD_PRIORITY=0",
            "LVSD_REASON=tracker down",
            "LVSD_STATE=FAULT",
            "LVSD_TYPE=GROUP",
        ]
    );
}

#[tokio::test]
async fn deleted_is_fault_unless_notify_deleted_is_set() {
    let d = tempdir();
    let log = d.path().join("log");
    let generic = script(
        d.path(),
        "notify.sh",
        &format!("echo \"$*\" >> {}", log.display()),
    );
    let fault = script(
        d.path(),
        "fault.sh",
        &format!("echo fault >> {}", log.display()),
    );
    let deleted = script(
        d.path(),
        "deleted.sh",
        &format!("echo deleted >> {}", log.display()),
    );
    let mut scripts = Notify {
        generic: Some(cmd(&[generic.to_str().unwrap()])),
        fault: Some(cmd(&[fault.to_str().unwrap()])),
        ..Default::default()
    };
    let n = notifier(Duration::from_secs(10), FifoSink::none());
    n.notify_deleted("VI_9", &scripts, 100, State::Backup, "reload");
    scripts.deleted = Some(cmd(&[deleted.to_str().unwrap()]));
    n.notify_deleted("VI_9", &scripts, 100, State::Backup, "reload");
    // INIT is never notified.
    n.notify(
        Target::Instance("VI_9".into()),
        &scripts,
        State::Init,
        100,
        State::Init,
        "",
    );
    assert!(n.shutdown(Duration::from_secs(10)).await);
    assert_eq!(
        lines(&log),
        vec![
            "fault",
            "INSTANCE VI_9 FAULT 100",
            "deleted",
            "INSTANCE VI_9 DELETED 100"
        ]
    );
}

#[tokio::test]
async fn a_slow_script_is_killed_at_its_timeout_and_the_queue_goes_on() {
    let d = tempdir();
    let log = d.path().join("log");
    let pidfile = d.path().join("pid");
    let hang = script(
        d.path(),
        "hang.sh",
        &format!("echo $$ > {}\nexec sleep 100", pidfile.display()),
    );
    let generic = script(
        d.path(),
        "notify.sh",
        &format!("echo \"$*\" >> {}", log.display()),
    );
    let scripts = Notify {
        master: Some(cmd(&[hang.to_str().unwrap()])),
        generic: Some(cmd(&[generic.to_str().unwrap()])),
        ..Default::default()
    };
    let n = notifier(Duration::from_millis(300), FifoSink::none());
    let t0 = Instant::now();
    n.notify(
        Target::Instance("VI_T".into()),
        &scripts,
        State::Master,
        100,
        State::Backup,
        "",
    );
    assert!(n.shutdown(Duration::from_secs(10)).await);
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    assert_eq!(lines(&log), vec!["INSTANCE VI_T MASTER 100"]);
    let pid = read_pid(&pidfile, Duration::from_secs(1)).await;
    assert!(gone_within(pid, Duration::from_secs(2)).await);
}

#[tokio::test]
async fn shutdown_waits_up_to_its_timeout_then_kills() {
    let d = tempdir();
    let pidfile = d.path().join("pid");
    let stop = script(
        d.path(),
        "stop.sh",
        &format!("echo $$ > {}\nexec sleep 100", pidfile.display()),
    );
    let scripts = Notify {
        stop: Some(cmd(&[stop.to_str().unwrap()])),
        ..Default::default()
    };
    let n = notifier(Duration::from_secs(60), FifoSink::none());
    n.notify(
        Target::Instance("VI_S".into()),
        &scripts,
        State::Stop,
        100,
        State::Master,
        "shutdown",
    );
    let pid = read_pid(&pidfile, Duration::from_secs(5)).await;
    let t0 = Instant::now();
    assert!(!n.shutdown(Duration::from_millis(400)).await);
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(2),
        "{took:?}"
    );
    assert!(gone_within(pid, Duration::from_secs(2)).await);
    // After shutdown nothing more runs.
    n.notify(
        Target::Instance("VI_S".into()),
        &scripts,
        State::Stop,
        100,
        State::Master,
        "",
    );
    assert_eq!(n.pending(), 0);
}

#[tokio::test]
async fn fifo_lines_are_exactly_keepalived_s() {
    let d = tempdir();
    let path = d.path().join("notify.fifo");
    let w = Arc::new(FifoWriter::open(&path, None).unwrap());
    let meta = std::fs::metadata(&path).unwrap();
    assert!(meta.file_type().is_fifo());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let mut reader = fifo_reader(&path);
    let n = notifier(
        Duration::from_secs(10),
        FifoSink::from_writers(vec![w.clone()]),
    );
    let none = Notify::default();
    n.notify(
        Target::Instance("VI_1".into()),
        &none,
        State::Master,
        100,
        State::Backup,
        "",
    );
    n.notify(
        Target::Instance("VI_1".into()),
        &none,
        State::Backup,
        90,
        State::Master,
        "",
    );
    n.notify(
        Target::Group("G".into()),
        &none,
        State::Backup,
        90,
        State::Master,
        "",
    );
    n.notify(
        Target::Instance("VI_1".into()),
        &none,
        State::Fault,
        0,
        State::Backup,
        "",
    );
    n.notify(
        Target::Instance("VI_1".into()),
        &none,
        State::Stop,
        100,
        State::Fault,
        "",
    );
    n.master_rx_lower_pri("VI_1", &none, 100);
    n.priority_changed("VI_1", State::Master, 60);
    n.priority_changed("VI_1", State::Backup, 50);
    assert_eq!(
        read_available(&mut reader),
        concat!(
            "INSTANCE \"VI_1\" MASTER 100\n",
            "INSTANCE \"VI_1\" BACKUP 90\n",
            "GROUP \"G\" BACKUP 0\n",
            "INSTANCE \"VI_1\" FAULT 0\n",
            "INSTANCE \"VI_1\" STOP 100\n",
            "INSTANCE \"VI_1\" MASTER_RX_LOWER_PRI 100\n",
            "INSTANCE \"VI_1\" MASTER_PRIORITY 60\n",
            "INSTANCE \"VI_1\" BACKUP_PRIORITY 50\n",
        )
    );
    assert!(n.shutdown(Duration::from_secs(1)).await);
    drop(n);
    assert_eq!(w.dropped(), 0);
    drop(w);
    // lvsd created it, so lvsd removes it.
    assert!(!path.exists());
}

#[tokio::test]
async fn without_a_reader_the_fifo_never_blocks_and_counts_drops() {
    let _ = logs();
    let d = tempdir();
    let path = d.path().join("full.fifo");
    let w = FifoWriter::open(&path, None).unwrap();
    let line = "INSTANCE \"VI_FULL\" MASTER 100\n";
    let t0 = Instant::now();
    let mut written = 0;
    for _ in 0..5000 {
        if w.write_line(line) {
            written += 1;
        }
    }
    assert!(t0.elapsed() < Duration::from_secs(2));
    // The pipe keeps what fits (64 KiB) for a reader that comes later.
    assert!(written > 1000 && written < 5000, "{written}");
    assert_eq!(w.dropped(), 5000 - written);
    assert_eq!(w.unread(), written as usize * line.len());
    // One warning per stretch of drops, not one per line.
    assert_eq!(log_lines("full.fifo`: dropping").len(), 1);
}

#[tokio::test]
async fn an_existing_fifo_is_kept_and_a_regular_file_is_refused() {
    let d = tempdir();
    let path = d.path().join("mine.fifo");
    nix::unistd::mkfifo(
        &path,
        nix::sys::stat::Mode::S_IRUSR | nix::sys::stat::Mode::S_IWUSR,
    )
    .unwrap();
    let w = FifoWriter::open(&path, None).unwrap();
    drop(w);
    assert!(path.exists(), "not created by lvsd: not removed");
    let file = write_file(d.path(), "plain", "", 0o600);
    let e = FifoWriter::open(&file, None).unwrap_err();
    assert!(e.to_string().contains("is not a FIFO"), "{e}");
    let link = d.path().join("link.fifo");
    std::os::unix::fs::symlink(&path, &link).unwrap();
    assert!(
        FifoWriter::open(&link, None).is_err(),
        "symlinks are not followed"
    );
}

#[tokio::test]
async fn the_fifo_script_reads_what_lvsd_writes() {
    let d = tempdir();
    let path = d.path().join("vrrp.fifo");
    let out = d.path().join("out");
    // keepalived passes the FIFO's name as the last argument.
    let reader = script(
        d.path(),
        "reader.sh",
        &format!("exec cat \"$1\" >> {}", out.display()),
    );
    let global = GlobalDefs {
        vrrp_notify_fifo: Some(Fifo {
            path: path.display().to_string(),
            script: Some(cmd(&[reader.to_str().unwrap()])),
        }),
        ..Default::default()
    };
    let fifos = Fifos::open(&global, &ScriptUsers::current());
    let n = notifier(Duration::from_secs(10), fifos.vrrp());
    assert!(fifos.lvs().is_empty());
    let none = Notify::default();
    n.notify(
        Target::Instance("VI_R".into()),
        &none,
        State::Master,
        100,
        State::Backup,
        "",
    );
    n.notify(
        Target::Instance("VI_R".into()),
        &none,
        State::Stop,
        100,
        State::Master,
        "",
    );
    assert!(n.shutdown(Duration::from_secs(1)).await);
    // close() lets the reader drain the pipe before stopping it.
    fifos.close(Duration::from_secs(5)).await;
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "INSTANCE \"VI_R\" MASTER 100\nINSTANCE \"VI_R\" STOP 100\n"
    );
    drop(n);
    assert!(!path.exists());
}
