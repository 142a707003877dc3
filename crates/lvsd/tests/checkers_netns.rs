//! `lvsd run`'s checkers end to end on the real kernel: a director and two busybox web servers
//! in namespaces of this test. This kernel has no IPVS (the table part runs in the VM:
//! tests/vm/seed001.sh); here the daemon logs that IPVS is unavailable and everything else —
//! probes, real-server and quorum state, notify_up/down, quorum_up/down, the LVS FIFO,
//! `lvsd status`, `lvsd reload [--dry-run]`, `lvsd genhash` — is checked.
//! Needs root; skipped otherwise.

mod lab;
use lab::{lvsd_bin, Lab};
use lvsd_testkit::need_root;
use nix::sys::signal::Signal;
use serde_json::Value;
use std::process::Command;
use std::time::Duration;

const RS1: &str = "10.99.0.11";
const RS2: &str = "10.99.0.12";

fn lab() -> Lab {
    let lab = Lab::new(
        &[
            ("dir1", &["10.99.0.1/24"]),
            ("rs1", &[&format!("{RS1}/24")]),
            ("rs2", &[&format!("{RS2}/24")]),
        ],
        false,
    );
    for n in ["rs1", "rs2"] {
        let www = lab.dir.join(format!("www-{n}"));
        std::fs::create_dir_all(&www).unwrap();
        std::fs::write(www.join("index.html"), format!("hello from {n}\n")).unwrap();
    }
    lab
}

/// Starts busybox httpd in `node`, serving its www directory; returns the PID.
fn httpd(lab: &mut Lab, node: &str) -> u32 {
    let www = lab.dir.join(format!("www-{node}")).display().to_string();
    let pid = lab.spawn(
        node,
        "httpd",
        &["busybox", "httpd", "-f", "-p", "80", "-h", &www],
    );
    let ok = lab.wait_for(Duration::from_secs(5), || {
        lab.sh(node, "cat /proc/net/tcp /proc/net/tcp6")
            .contains(":0050 0")
    });
    assert!(ok.is_some(), "httpd in {node} did not listen");
    pid
}

fn sock(lab: &Lab) -> String {
    lab.dir.join("dir1.sock").display().to_string()
}

fn lvsd(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(lvsd_bin()).args(args).output().expect("lvsd");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn status(lab: &Lab) -> Option<Value> {
    let (code, out, _) = lvsd(&["status", "--socket", &sock(lab), "--json"]);
    (code == 0)
        .then(|| serde_json::from_str(&out).ok())
        .flatten()
}

/// `alive` of real server `rs` of virtual server `vs` in the daemon's status.
fn alive(lab: &Lab, vs: usize, rs: usize) -> Option<bool> {
    status(lab)?["virtual_servers"][vs]["real_servers"][rs]["alive"].as_bool()
}

fn quorum_up(lab: &Lab, vs: usize) -> Option<bool> {
    status(lab)?["virtual_servers"][vs]["quorum_up"].as_bool()
}

fn wait_alive(lab: &Lab, vs: usize, rs: usize, want: bool, secs: f64) -> Duration {
    lab.wait_for(Duration::from_secs_f64(secs), || {
        alive(lab, vs, rs) == Some(want)
    })
    .unwrap_or_else(|| {
        panic!(
            "real server {rs} of vs {vs} never became alive={want}; status: {}\nlog:\n{}",
            status(lab).map(|v| v.to_string()).unwrap_or_default(),
            lab.log("dir1", "lvsd")
        )
    })
}

/// A director config: VIP 10.99.0.100:80, rs1 with TCP_CHECK, rs2 with HTTP_GET; scripts
/// append their event to `events`.
fn conf(lab: &Lab, rs1_weight: u32) -> String {
    let ev = lab.dir.join("events").display().to_string();
    let note = |w: &str| format!("\"/bin/sh -c 'echo {w} $LVSD_REAL_SERVER >> {ev}'\"");
    let q = |w: &str| format!("\"/bin/sh -c 'echo {w} >> {ev}'\"");
    let fifo = lab.dir.join("lvs.fifo").display().to_string();
    format!(
        "global_defs {{\n  router_id test\n  lvs_notify_fifo {fifo}\n}}\n\
         virtual_server 10.99.0.100 80 {{\n  delay_loop 1\n  lb_algo rr\n  lb_kind DR\n  protocol TCP\n  \
         quorum 2\n  quorum_up {qu}\n  quorum_down {qd}\n\
         real_server {RS1} 80 {{\n    weight {rs1_weight}\n    notify_up {up}\n    notify_down {down}\n    \
         TCP_CHECK {{\n      connect_timeout 1\n      retry 1\n      delay_before_retry 1\n    }}\n  }}\n\
         real_server {RS2} 80 {{\n    weight 1\n    notify_up {up}\n    notify_down {down}\n    \
         HTTP_GET {{\n      url {{\n        path /index.html\n        status_code 200\n      }}\n      \
         connect_timeout 1\n      retry 1\n      delay_before_retry 1\n    }}\n  }}\n}}\n",
        qu = q("quorum_up"),
        qd = q("quorum_down"),
        up = note("up"),
        down = note("down"),
    )
}

fn events(lab: &Lab) -> Vec<String> {
    std::fs::read_to_string(lab.dir.join("events"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Reads the FIFO's lines in the background into `lvs.lines`.
fn fifo_reader(lab: &mut Lab) {
    let fifo = lab.dir.join("lvs.fifo");
    let out = lab.dir.join("lvs.lines");
    let _ = std::fs::remove_file(&fifo);
    let ok = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(ok.success());
    let script = format!(
        "while true; do cat {} >> {}; done",
        fifo.display(),
        out.display()
    );
    lab.spawn("dir1", "fifo", &["sh", "-c", &script]);
}

#[test]
fn checkers_follow_the_web_servers() {
    need_root!();
    let mut lab = lab();
    let h1 = httpd(&mut lab, "rs1");
    let h2 = httpd(&mut lab, "rs2");
    fifo_reader(&mut lab);
    let c = conf(&lab, 1);
    lab.lvsd("dir1", &c);
    // Both checkers pass: both real servers stay alive, and each checker has a result.
    let ok = lab.wait_for(Duration::from_secs(10), || {
        status(&lab).is_some_and(|s| {
            let rss = &s["virtual_servers"][0]["real_servers"];
            (0..2).all(|i| rss[i]["checkers"][0]["last_ok"].as_bool() == Some(true))
        })
    });
    assert!(
        ok.is_some(),
        "no successful checks: {:?}\n{}",
        status(&lab),
        lab.log("dir1", "lvsd")
    );
    let s = status(&lab).unwrap();
    assert_eq!(s["virtual_servers"][0]["name"], "[10.99.0.100]:tcp:80");
    assert_eq!(s["virtual_servers"][0]["quorum_up"], true);
    assert_eq!(
        s["virtual_servers"][0]["real_servers"][1]["checkers"][0]["type"],
        "HTTP_GET"
    );
    // The human view names both servers.
    let (code, text, _) = lvsd(&["status", "--socket", &sock(&lab)]);
    assert_eq!(code, 0);
    assert!(
        text.contains("[10.99.0.11]:tcp:80") && text.contains("TCP_CHECK"),
        "{text}"
    );

    // rs1's server stops: connect refused -> down after retry+1 = 2 failures.
    // Bound: delay_loop 1 + 2 x (connect_timeout 1 + delay_before_retry 1) = 5 s, + margin.
    lab.signal(h1, Signal::SIGKILL);
    let t = wait_alive(&lab, 0, 0, false, 5.0 + 5.0);
    eprintln!("rs1 down after {t:?}");
    let s = status(&lab).unwrap();
    let chk = &s["virtual_servers"][0]["real_servers"][0]["checkers"][0];
    assert_eq!(chk["state"], "Down");
    assert!(
        chk["last_error"].as_str().unwrap_or("").contains("refused"),
        "{chk}"
    );
    // quorum 2 with weights 1+1: one server down loses it.
    assert_eq!(s["virtual_servers"][0]["quorum_up"], false);
    let ok = lab.wait_for(Duration::from_secs(5), || {
        let e = events(&lab);
        e.contains(&"down [10.99.0.11]:tcp:80".to_string()) && e.contains(&"quorum_down".into())
    });
    assert!(ok.is_some(), "events: {:?}", events(&lab));

    // rs1 back: up at the next check (one delay_loop), quorum regained.
    let _h1 = httpd(&mut lab, "rs1");
    let t = wait_alive(&lab, 0, 0, true, 1.0 + 5.0);
    eprintln!("rs1 up after {t:?}");
    assert_eq!(quorum_up(&lab, 0), Some(true));
    let ok = lab.wait_for(Duration::from_secs(5), || {
        events(&lab).contains(&"quorum_up".to_string())
    });
    assert!(ok.is_some(), "events: {:?}", events(&lab));
    // Order per virtual server: down, quorum_down, up, quorum_up.
    let e = events(&lab);
    let pos = |w: &str| e.iter().position(|x| x.starts_with(w)).unwrap();
    assert!(
        pos("down") < pos("quorum_down") && pos("quorum_down") < pos("up"),
        "{e:?}"
    );

    // rs2's HTTP server stops.
    lab.signal(h2, Signal::SIGKILL);
    wait_alive(&lab, 0, 1, false, 10.0);

    // The LVS FIFO carried keepalived's lines.
    let ok = lab.wait_for(Duration::from_secs(3), || {
        let l = std::fs::read_to_string(lab.dir.join("lvs.lines")).unwrap_or_default();
        l.contains("RS [10.99.0.11]:tcp:80 [10.99.0.100]:tcp:80 DOWN")
            && l.contains("VS [10.99.0.100]:tcp:80 DOWN")
            && l.contains("RS [10.99.0.11]:tcp:80 [10.99.0.100]:tcp:80 UP")
    });
    assert!(
        ok.is_some(),
        "FIFO lines: {}",
        std::fs::read_to_string(lab.dir.join("lvs.lines")).unwrap_or_default()
    );
}

#[test]
fn reload_keeps_health_and_shows_its_plan() {
    need_root!();
    let mut lab = lab();
    httpd(&mut lab, "rs2");
    // rs1 has no server: it goes down and stays down.
    let c = conf(&lab, 1);
    let pid = lab.lvsd("dir1", &c);
    wait_alive(&lab, 0, 0, false, 10.0);
    wait_alive(&lab, 0, 1, true, 10.0);
    let downs = events(&lab).len();

    // A dry run of a changed weight: the plan, nothing applied.
    let conf_path = lab.dir.join("dir1.conf");
    std::fs::write(&conf_path, conf(&lab, 5)).unwrap();
    let (code, out, err) = lvsd(&["reload", "--socket", &sock(&lab), "--dry-run"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("dry run"), "{out}");
    assert!(out.contains("checkers: 2 probe(s)"), "{out}");

    // A configuration keepalived could not run either (a keyword without its value: keepalived
    // 2.2.7 exits) is refused, the daemon keeps running the old one.
    std::fs::write(
        &conf_path,
        "virtual_server 10.99.0.100 80 {\n  delay_loop\n}\n",
    )
    .unwrap();
    let (code, _, err) = lvsd(&["reload", "--socket", &sock(&lab)]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("refused"), "{err}");
    assert_eq!(alive(&lab, 0, 1), Some(true));

    // An invalid quorum, which keepalived resets to 1, is reset by the reload too, and the reply
    // says so (dry run: nothing applied).
    std::fs::write(
        &conf_path,
        conf(&lab, 5).replace("  quorum 2\n", "  quorum 2\n  quorum zero\n"),
    )
    .unwrap();
    let (code, out, err) = lvsd(&["reload", "--socket", &sock(&lab), "--dry-run"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("warning[invalid-number]") && err.contains("quorum 1 is used instead"),
        "{err}"
    );

    // The real reload: rs1 stays down (no up/down notification again), rs2 stays up.
    std::fs::write(&conf_path, conf(&lab, 5)).unwrap();
    let (code, out, err) = lvsd(&["reload", "--socket", &sock(&lab)]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("reloaded"), "{out}");
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(alive(&lab, 0, 0), Some(false));
    assert_eq!(alive(&lab, 0, 1), Some(true));
    assert_eq!(
        status(&lab).unwrap()["virtual_servers"][0]["real_servers"][0]["weight"],
        5
    );
    assert_eq!(events(&lab).len(), downs, "{:?}", events(&lab));

    // SIGHUP does the same.
    lab.signal(pid, Signal::SIGHUP);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(alive(&lab, 0, 1), Some(true));
    assert!(lab.log("dir1", "lvsd").contains("reloading"));

    // SIGTERM: a clean exit.
    lab.signal(pid, Signal::SIGTERM);
    let st = lab.wait_exit(pid, Duration::from_secs(10)).expect("exit");
    assert!(st.success(), "{st:?}");
}

#[test]
fn genhash_prints_the_md5_of_a_page() {
    need_root!();
    let mut lab = lab();
    httpd(&mut lab, "rs1");
    let o = lab.exec(
        "dir1",
        &[
            &lvsd_bin(),
            "genhash",
            "-s",
            RS1,
            "-p",
            "80",
            "-u",
            "/index.html",
        ],
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // md5("hello from rs1\n")
    let want = {
        use std::io::Write;
        let mut c = Command::new("md5sum")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        c.stdin
            .take()
            .unwrap()
            .write_all(b"hello from rs1\n")
            .unwrap();
        let o = c.wait_with_output().unwrap();
        String::from_utf8_lossy(&o.stdout)
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(out.trim(), format!("MD5SUM = {want}"));
    // A server that is not there: a precise error, exit 1.
    let o = lab.exec("dir1", &[&lvsd_bin(), "genhash", "-s", RS2, "-t", "2"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("10.99.0.12:80"));
}

/// ha_suspend: the virtual server's checkers wait while the VRRP instance carrying its address
/// is not MASTER here, and run once it is.
#[test]
fn ha_suspend_follows_the_vrrp_instance() {
    need_root!();
    let mut lab = lab();
    httpd(&mut lab, "rs1");
    let c = format!(
        "vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  \
         priority 100\n  advert_int 1\n  virtual_ipaddress {{\n    10.99.0.100/24 dev eth0\n  }}\n}}\n\
         virtual_server 10.99.0.100 80 {{\n  delay_loop 1\n  lb_algo rr\n  lb_kind DR\n  \
         protocol TCP\n  ha_suspend\n  real_server {RS1} 80 {{\n    TCP_CHECK {{\n      \
         connect_timeout 1\n    }}\n  }}\n}}\n"
    );
    lab.lvsd("dir1", &c);
    let chk = |lab: &Lab| {
        status(lab).map(|s| s["virtual_servers"][0]["real_servers"][0]["checkers"][0].clone())
    };
    // BACKUP (waiting 3 adverts for a master): suspended, no check made.
    let ok = lab.wait_for(Duration::from_secs(3), || {
        chk(&lab).is_some_and(|c| c["suspended"] == true)
    });
    assert!(ok.is_some(), "{:?}\n{}", chk(&lab), lab.log("dir1", "lvsd"));
    assert!(!lab.has_addr("dir1", "10.99.0.100"));
    assert_eq!(chk(&lab).unwrap()["checks"], 0);
    // Alone, it becomes MASTER: the checks run.
    let ok = lab.wait_for(Duration::from_secs(10), || {
        chk(&lab).is_some_and(|c| c["suspended"] == false && c["checks"].as_u64() > Some(0))
    });
    assert!(ok.is_some(), "{:?}\n{}", chk(&lab), lab.log("dir1", "lvsd"));
    assert!(lab.has_addr("dir1", "10.99.0.100"));
}
