//! Issue 17 on the real kernel, in namespaces of this test: the control socket decides from
//! the peer's credentials (root changes; `nobody` reads only when `lvsd_status_group` lets it,
//! and never changes), refuses garbage, oversized and wrong-version requests with an error,
//! and a silent client does not hold up others; `lvsd vrrp demote` hands the VIP to a
//! keepalived 2.2.7 peer within Master_Down_Interval (by the priority-0 advert, after the
//! peer's Skew_Time), the demote survives a restart of lvsd, and `promote` takes the VIP back
//! by preemption. (Drains and disables with traffic through IPVS: tests/vm/operate.sh.)
//! Needs root (and keepalived for the VRRP test; skipped without it outside CI).

mod lab;
use lab::Lab;
use lvsd_testkit::need_root;
use nix::sys::signal::Signal;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const VIP: &str = "10.99.0.100";

fn conf(prio: u8, status_group: Option<&str>) -> String {
    let g = status_group
        .map(|g| format!("  lvsd_status_group {g}\n"))
        .unwrap_or_default();
    format!(
        "global_defs {{\n  router_id t\n{g}}}\n\
         vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  \
         priority {prio}\n  advert_int 1\n  authentication {{\n    auth_type PASS\n    auth_pass s3cret\n  }}\n  \
         virtual_ipaddress {{\n    {VIP}/24 dev eth0\n  }}\n}}\n\
         virtual_server {VIP} 80 {{\n  delay_loop 1\n  lb_algo rr\n  lb_kind DR\n  protocol TCP\n  \
         real_server 10.99.0.11 80 {{\n    weight 1\n  }}\n  real_server 10.99.0.12 80 {{\n    weight 1\n  }}\n}}\n"
    )
}

fn sock(lab: &Lab, node: &str) -> PathBuf {
    lab.dir.join(format!("{node}.sock"))
}

/// `lvsd ARGS` (the binary copied where `nobody` may run it) as root or as nobody:
/// (exit code, stdout, stderr).
fn lvsd_as(lab: &Lab, nobody: bool, args: &[&str]) -> (i32, String, String) {
    let bin = lab.dir.join("lvsd-client");
    if !bin.exists() {
        std::fs::copy(lab::lvsd_bin(), &bin).expect("copy lvsd");
    }
    let mut c = std::process::Command::new(&bin);
    c.args(args);
    if nobody {
        c.uid(65534).gid(65534);
    }
    let o = c.output().expect("lvsd");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// One raw request line (or bytes) to the socket; the reply line.
fn raw(path: &Path, bytes: &[u8]) -> String {
    let mut s = UnixStream::connect(path).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let _ = s.write_all(bytes);
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

fn wait_socket(lab: &Lab, node: &str) {
    let p = sock(lab, node);
    let up = lab.wait_for(Duration::from_secs(10), || {
        lvsd_as(
            lab,
            false,
            &["status", "--socket", &p.display().to_string()],
        )
        .0 == 0
    });
    assert!(
        up.is_some(),
        "no status from {node}:\n{}",
        lab.log(node, "lvsd")
    );
}

#[test]
fn only_root_changes_a_status_group_reads_and_garbage_gets_an_error() {
    need_root!();
    let mut lab = Lab::new(&[("dir1", &["10.99.0.1/24"])], false);
    // the lab's directory: nobody may reach the socket in it (the daemon decides)
    let _ = std::fs::set_permissions(
        &lab.dir,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    );
    lab.lvsd_with(
        "dir1",
        &conf(100, None),
        &["--metrics-listen", "127.0.0.1:9650"],
    );
    wait_socket(&lab, "dir1");
    let s = sock(&lab, "dir1").display().to_string();

    // no status group: nobody may not even read
    let (code, _, err) = lvsd_as(&lab, true, &["status", "--socket", &s]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("permission denied: uid 65534 (nobody)") && err.contains("may not read"),
        "{err}"
    );

    // lvsd_status_group nogroup: nobody reads, and still may not change anything
    lab.write("dir1.conf", &conf(100, Some("nogroup")));
    let (code, out, err) = lvsd_as(&lab, false, &["reload", "--socket", &s]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = lvsd_as(&lab, true, &["status", "--socket", &s]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("VI_1"), "{out}");
    let (code, out, err) = lvsd_as(&lab, true, &["rs", "list", "--socket", &s]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("10.99.0.11:80") && out.contains("up"), "{out}");
    for args in [
        &[
            "rs",
            "disable",
            "--socket",
            &s,
            "10.99.0.100:80",
            "10.99.0.11",
        ][..],
        &["vrrp", "demote", "--socket", &s, "--all"][..],
        &["reload", "--socket", &s][..],
    ] {
        let (code, _, err) = lvsd_as(&lab, true, args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("may not change lvsd"), "{args:?}: {err}");
    }

    // a user holds 32 connections at most (32 `lvsd events` followers): the 33rd is closed
    // unanswered, and root is still served
    let bin = lab.dir.join("lvsd-client");
    let mut followers: Vec<std::process::Child> = (0..32)
        .map(|_| {
            std::process::Command::new(&bin)
                .args(["events", "--socket", &s])
                .uid(65534)
                .gid(65534)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("lvsd events")
        })
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    let (code, _, err) = lvsd_as(&lab, true, &["status", "--socket", &s]);
    let (root_code, _, root_err) = lvsd_as(&lab, false, &["status", "--socket", &s]);
    for f in &mut followers {
        let _ = f.kill();
        let _ = f.wait();
    }
    assert_eq!(code, 2, "the 33rd connection of nobody was served: {err}");
    assert!(
        err.contains("holds 32 connections already") || err.contains("Broken pipe"),
        "{err}"
    );
    assert_eq!(root_code, 0, "{root_err}");
    assert!(
        lab.log("dir1", "lvsd").contains("uid 65534 (nobody)")
            && lab
                .log("dir1", "lvsd")
                .contains("holds 32 connections already")
    );

    // root changes; the log names who asked; the status shows it
    let (code, out, err) = lvsd_as(
        &lab,
        false,
        &[
            "rs",
            "disable",
            "--socket",
            &s,
            "10.99.0.100:80",
            "tcp",
            "10.99.0.11",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("real server 10.99.0.11:80 of 10.99.0.100:80/tcp: disabled"),
        "{out}"
    );
    let log = lab.log("dir1", "lvsd");
    assert!(
        log.contains("disabled (out of the table), by uid 0 (root), pid"),
        "{log}"
    );
    let (_, out, _) = lvsd_as(&lab, true, &["rs", "list", "--socket", &s]);
    assert!(
        out.lines().any(|l| l.contains("10.99.0.11:80")
            && l.contains("disabled")
            && l.contains("by uid 0 (root)")),
        "{out}"
    );
    // what the user wrote, when it matches nothing: the candidates
    let (code, _, err) = lvsd_as(
        &lab,
        false,
        &[
            "rs",
            "drain",
            "--socket",
            &s,
            "10.99.0.100:81",
            "10.99.0.11",
        ],
    );
    assert_eq!(code, 2);
    assert!(err.contains("no virtual server matches `10.99.0.100:81`; the virtual servers are: 10.99.0.100:80/tcp (line"), "{err}");
    let (code, _, err) = lvsd_as(&lab, false, &["vrrp", "demote", "--socket", &s, "VI_9"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("no VRRP instance `VI_9`; the instances are: VI_1"),
        "{err}"
    );

    // garbage, a newer version, an oversized line: an error each, the daemon goes on
    let p = sock(&lab, "dir1");
    let r = raw(&p, b"hello\n");
    assert!(r.contains("unknown request `hello`"), "{r}");
    let r = raw(&p, b"{\"v\":2,\"request\":\"status\"}\n");
    assert!(
        r.contains("protocol version 2 is not spoken here (this lvsd speaks 1)"),
        "{r}"
    );
    let r = raw(&p, b"{\"v\":1,\"request\":\"rs\",\"action\":\"explode\"}\n");
    assert!(r.contains("bad request"), "{r}");
    let r = raw(&p, b"{\"v\":1,\"request\":\"status\"\n");
    assert!(r.contains("not JSON"), "{r}");
    let big = vec![b'x'; 200 * 1024];
    let r = raw(&p, &big);
    assert!(r.contains("longer than 65536 bytes"), "{r}");
    // a client that says nothing does not hold up the next one
    let silent = UnixStream::connect(&p).expect("connect");
    let t = Instant::now();
    let (code, _, err) = lvsd_as(&lab, false, &["status", "--socket", &s]);
    assert_eq!(code, 0, "{err}");
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "status waited {:?} behind a silent client",
        t.elapsed()
    );
    drop(silent);
    // the old one-word requests still work for root
    assert!(raw(&p, b"status\n").contains("\"instances\""));
    // every refusal counted: 1 read, 1 connection too many and 3 changes refused, 5 malformed
    let m = lab.sh("dir1", "curl -s --max-time 5 http://127.0.0.1:9650/metrics");
    let refused: Option<u64> = m
        .lines()
        .find_map(|l| l.strip_prefix("lvsd_control_requests_refused_total "))
        .and_then(|v| v.trim().parse().ok());
    assert!(refused.is_some_and(|n| n >= 10), "refused {refused:?}\n{m}");
    assert!(m.contains("lvsd_real_server_operator_hold{virtual_server=\"[10.99.0.100]:tcp:80\",real_server=\"[10.99.0.11]:tcp:80\",state=\"disabled\"} 1"), "{m}");
}

fn have_keepalived() -> bool {
    std::process::Command::new("keepalived")
        .arg("--version")
        .output()
        .is_ok()
}

fn ka_conf(prio: u8) -> String {
    format!(
        "vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  \
         priority {prio}\n  advert_int 1\n  authentication {{\n    auth_type PASS\n    auth_pass s3cret\n  }}\n  \
         virtual_ipaddress {{\n    {VIP}/24 dev eth0\n  }}\n}}\n"
    )
}

const D: [&str; 2] = ["dir1", "dir2"];

fn only(lab: &Lab, node: &str, secs: f64) -> Duration {
    lab.only(&D, VIP, node, secs)
}

#[test]
fn demote_hands_the_vip_to_keepalived_survives_a_restart_and_promote_takes_it_back() {
    need_root!();
    if !lvsd_testkit::tool_or_skip(have_keepalived(), "keepalived") {
        return;
    }
    let mut lab = Lab::new(
        &[("dir1", &["10.99.0.1/24"]), ("dir2", &["10.99.0.2/24"])],
        false,
    );
    let l = lab.lvsd("dir1", &conf(150, None));
    lab.keepalived("dir2", &ka_conf(100));
    only(&lab, "dir1", 10.0);
    wait_socket(&lab, "dir1");
    let s = sock(&lab, "dir1").display().to_string();
    std::thread::sleep(Duration::from_secs(2));

    // demote: keepalived (priority 100) takes over after its Skew_Time (0.61 s), well
    // within Master_Down_Interval (3.61 s), which a timeout-driven takeover would need
    let t0 = Instant::now();
    let (code, out, err) = lvsd_as(&lab, false, &["vrrp", "demote", "--socket", &s, "VI_1"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("VI_1: demoted: handed over (priority-0 advert), now BACKUP"),
        "{out}"
    );
    only(&lab, "dir2", 10.0);
    let took = t0.elapsed();
    eprintln!("demote: keepalived holds the VIP {took:?} after the demote");
    // a takeover by timeout comes 2.61-3.61 s after the demote (Master_Down_Interval after the
    // last advert); the priority-0 handover after the peer's Skew_Time (0.61 s)
    assert!(
        took < Duration::from_millis(2500),
        "took {took:?}: not the priority-0 handover"
    );
    let (_, js, _) = lvsd_as(&lab, false, &["status", "--json", "--socket", &s]);
    assert!(js.contains("\"priority_zero_tx\": 1"), "{js}");
    // it stays there: lvsd hears the lower priority and does not preempt
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(lab.holders(&D, VIP), ["dir2"], "{}", lab.dump());
    let (_, out, _) = lvsd_as(&lab, false, &["vrrp", "list", "--socket", &s]);
    assert!(
        out.contains("BACKUP") && out.contains("demoted since") && out.contains("by uid 0 (root)"),
        "{out}"
    );

    // a restart keeps the demote: lvsd never takes the VIP back on its own
    lab.signal(l, Signal::SIGTERM);
    lab.wait_exit(l, Duration::from_secs(10))
        .expect("lvsd exits");
    lab.lvsd("dir1", &conf(150, None));
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(8) {
        assert!(
            !lab.has_addr("dir1", VIP),
            "dir1 took the VIP after its restart\n{}",
            lab.dump()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(lab.holders(&D, VIP), ["dir2"], "{}", lab.dump());
    assert!(lab
        .log("dir1", "lvsd")
        .contains("demoted by an operator (kept in the state directory)"));

    // promote: preemption brings it back
    let (code, out, err) = lvsd_as(&lab, false, &["vrrp", "promote", "--socket", &s, "--all"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("VI_1: promoted"), "{out}");
    let t = only(&lab, "dir1", 10.0);
    eprintln!("promote: lvsd holds the VIP again {t:?} later");
    let (_, out, _) = lvsd_as(&lab, false, &["vrrp", "list", "--socket", &s]);
    assert!(out.contains("MASTER") && !out.contains("demoted"), "{out}");
    // issue 18: the VRRP password is in no log line and no status (a status reader is not
    // a root user)
    let (_, js, _) = lvsd_as(&lab, false, &["status", "--json", "--socket", &s]);
    for (what, text) in [("status", js), ("log", lab.log("dir1", "lvsd"))] {
        assert!(
            !text.contains("s3cret"),
            "the auth_pass is in the {what}:\n{text}"
        );
    }
}
