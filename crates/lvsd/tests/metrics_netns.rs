//! `lvsd run --metrics-listen`: a real scrape of two directors (VRRP) with a checked real
//! server, in namespaces of this test, checked by `promtool check metrics` and scraped by a
//! real Prometheus server in the lab; the values follow a real server going down, a refused
//! and an applied reload, and a failover — and `lvsd events` / `lvsd status --watch` report
//! the same events as they happen. (IPVS's own counters are checked in the VM:
//! tests/vm/metrics.sh.) Needs root, promtool, prometheus and curl; skipped otherwise
//! (failed in CI, which installs them).

mod lab;
use lab::Lab;
use lvsd_testkit::need_root;
use nix::sys::signal::Signal;
use std::time::Duration;

const RS1: &str = "10.99.0.11";
const PORT: &str = "9650";

fn have(tool: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// `listen`: the `lvsd_metrics_listen` of global_defs (None: the command line says).
fn conf_with(prio: u8, weight: u32, listen: Option<&str>) -> String {
    let listen = listen
        .map(|l| format!("  lvsd_metrics_listen {l}\n"))
        .unwrap_or_default();
    format!(
        "global_defs {{\n  router_id test\n{listen}}}\n\
         vrrp_script chk {{\n  script /bin/true\n  interval 1\n}}\n\
         vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  \
         priority {prio}\n  advert_int 1\n  track_script {{\n    chk\n  }}\n  \
         virtual_ipaddress {{\n    10.99.0.100/24\n  }}\n}}\n\
         virtual_server 10.99.0.100 80 {{\n  delay_loop 1\n  lb_algo rr\n  lb_kind DR\n  protocol TCP\n\
         real_server {RS1} 80 {{\n    weight {weight}\n    TCP_CHECK {{\n      connect_timeout 1\n      \
         retry 1\n      delay_before_retry 1\n    }}\n  }}\n}}\n"
    )
}

fn conf(prio: u8, weight: u32) -> String {
    conf_with(prio, weight, None)
}

/// One scrape of `node`'s metrics (empty if it failed).
fn scrape(lab: &Lab, node: &str) -> String {
    scrape_port(lab, node, PORT)
}

fn scrape_port(lab: &Lab, node: &str, port: &str) -> String {
    lab.sh(
        node,
        &format!("curl -s --max-time 5 http://127.0.0.1:{port}/metrics"),
    )
}

/// The value of the sample named `name` whose labels contain every one of `labels`
/// (`key="value"`).
fn value(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines().find_map(|l| {
        let (series, v) = l.rsplit_once(' ')?;
        let (n, rest) = series.split_once('{').unwrap_or((series, ""));
        (n == name && labels.iter().all(|x| rest.contains(x))).then(|| v.parse().ok())?
    })
}

fn wait_value(lab: &Lab, node: &str, name: &str, labels: &[&str], want: f64, secs: u64) {
    let ok = lab.wait_for(Duration::from_secs(secs), || {
        value(&scrape(lab, node), name, labels) == Some(want)
    });
    assert!(
        ok.is_some(),
        "{node}: {name}{labels:?} never became {want}; scrape:\n{}\nlog:\n{}",
        scrape(lab, node),
        lab.log(node, "lvsd")
    );
}

/// The events a follower printed so far (its log).
fn followed(lab: &Lab, node: &str, tag: &str) -> String {
    lab.log(node, tag)
}

fn wait_followed(lab: &Lab, node: &str, tag: &str, what: &[&str]) {
    let ok = lab.wait_for(Duration::from_secs(10), || {
        followed(lab, node, tag)
            .lines()
            .any(|l| what.iter().all(|w| l.contains(w)))
    });
    assert!(
        ok.is_some(),
        "{node}'s {tag} never printed a line with {what:?}:\n{}",
        followed(lab, node, tag)
    );
}

/// `text` in place of the configuration `path`, then SIGHUP to `pid` (the daemon reads a file
/// written < 100 ms ago only once it is stable).
fn reload_with(lab: &mut Lab, pid: u32, path: &std::path::Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::thread::sleep(Duration::from_millis(150));
    lab.signal(pid, Signal::SIGHUP);
}

#[test]
fn metrics_say_who_is_master_which_servers_are_down_and_what_reloads_did() {
    need_root!();
    for t in ["promtool", "prometheus", "curl"] {
        if !lvsd_testkit::tool_or_skip(have(t), t) {
            return;
        }
    }
    let mut lab = Lab::new(
        &[
            ("dir1", &["10.99.0.1/24"]),
            ("dir2", &["10.99.0.2/24"]),
            ("rs1", &[&format!("{RS1}/24")]),
        ],
        false,
    );
    let www = lab.dir.join("www");
    std::fs::create_dir_all(&www).unwrap();
    let www = www.display().to_string();
    let httpd = lab.spawn(
        "rs1",
        "httpd",
        &["busybox", "httpd", "-f", "-p", "80", "-h", &www],
    );
    let listen = format!("0.0.0.0:{PORT}");
    let d1 = lab.lvsd_with("dir1", &conf(150, 1), &["--metrics-listen", &listen]);
    // dir2: the address from the configuration's global_defs
    let d2 = lab.lvsd("dir2", &conf_with(100, 1, Some(&format!("0.0.0.0:{PORT}"))));

    // dir1 is master (keepalived's 2), dir2 backup (1) and hears dir1
    wait_value(
        &lab,
        "dir1",
        "lvsd_vrrp_state",
        &["vrrp_instance=\"VI_1\""],
        2.0,
        10,
    );
    wait_value(
        &lab,
        "dir2",
        "lvsd_vrrp_state",
        &["vrrp_instance=\"VI_1\""],
        1.0,
        10,
    );
    let rs = format!("real_server=\"[{RS1}]:tcp:80\"");
    wait_value(&lab, "dir1", "lvsd_real_server_up", &[&rs], 1.0, 10);
    let s2 = scrape(&lab, "dir2");
    assert_eq!(
        value(
            &s2,
            "lvsd_vrrp_master_info",
            &["master=\"10.99.0.1\"", "vrid=\"51\""]
        ),
        Some(1.0),
        "{s2}"
    );

    // the event followers: JSON lines from dir1, the status then text lines from dir2
    let bin = lab::lvsd_bin();
    let sock1 = lab.dir.join("dir1.sock").display().to_string();
    let sock2 = lab.dir.join("dir2.sock").display().to_string();
    lab.spawn(
        "dir1",
        "events",
        &[&bin, "events", "--json", "--socket", &sock1],
    );
    lab.spawn(
        "dir2",
        "watch",
        &[&bin, "status", "--watch", "--socket", &sock2],
    );
    wait_followed(&lab, "dir1", "events", &["\"kind\":\"subscribed\""]);
    wait_followed(&lab, "dir2", "watch", &["Events (following"]);

    // the scrape is valid exposition format, names per Prometheus's conventions
    let file = lab.write("scrape.txt", &scrape(&lab, "dir1"));
    let o = std::process::Command::new("sh")
        .args([
            "-c",
            &format!("promtool check metrics < {}", file.display()),
        ])
        .output()
        .unwrap();
    assert!(
        o.status.success() && o.stdout.is_empty() && o.stderr.is_empty(),
        "promtool: {}{}\nscrape:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
        std::fs::read_to_string(&file).unwrap_or_default()
    );
    let s1 = scrape(&lab, "dir1");
    for name in [
        "lvsd_build_info",
        "lvsd_up",
        "lvsd_vrrp_adverts_sent_total",
        "lvsd_vrrp_gratuitous_rounds_total",
        "lvsd_vrrp_adverts_dropped_total",
        "lvsd_checker_up",
        "lvsd_checker_last_check_timestamp_seconds",
        "lvsd_virtual_server_quorum_up",
        "lvsd_reconciler_ipvs_operations_total",
        "lvsd_reconciler_pass_duration_seconds_count",
        "lvsd_checker_duration_seconds_bucket",
    ] {
        assert!(value(&s1, name, &[]).is_some(), "{name} missing:\n{s1}");
    }
    let ok = ["checker=\"TCP_CHECK", "result=\"success\""];
    assert!(value(&s1, "lvsd_checker_checks_total", &ok).unwrap_or(0.0) >= 1.0);
    assert_eq!(
        value(&s1, "lvsd_config_loads_total", &["result=\"success\""]),
        Some(1.0)
    );
    // the tracker: up, its runs counted
    assert_eq!(
        value(
            &s1,
            "lvsd_tracker_up",
            &["kind=\"vrrp_script\"", "tracker=\"chk\""]
        ),
        Some(1.0),
        "{s1}"
    );
    let runs = ["script=\"chk\"", "result=\"success\""];
    assert!(value(&s1, "lvsd_vrrp_script_runs_total", &runs).unwrap_or(0.0) >= 1.0);
    assert!(value(
        &s1,
        "lvsd_vrrp_script_run_seconds_total",
        &["script=\"chk\""]
    )
    .is_some());
    // the checks' durations: every check counted, in the +Inf bucket too
    let count = value(&s1, "lvsd_checker_duration_seconds_count", &[]).unwrap_or(0.0);
    assert!(count >= 1.0, "{s1}");
    assert_eq!(
        value(
            &s1,
            "lvsd_checker_duration_seconds_bucket",
            &["le=\"+Inf\""]
        ),
        Some(count)
    );

    // a real Prometheus server in dir1 scrapes both directors and answers who is master
    let prom_dir = lab.dir.join("prom");
    std::fs::create_dir_all(&prom_dir).unwrap();
    let prom_conf = lab.write(
        "prometheus.yml",
        &format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: lvsd\n    static_configs:\n      - targets: ['10.99.0.1:{PORT}', '10.99.0.2:{PORT}']\n"
        ),
    );
    let (pc, pd) = (
        format!("--config.file={}", prom_conf.display()),
        format!("--storage.tsdb.path={}", prom_dir.display()),
    );
    lab.spawn(
        "dir1",
        "prometheus",
        &[
            "prometheus",
            &pc,
            &pd,
            "--web.listen-address=127.0.0.1:9090",
        ],
    );
    let query =
        "curl -s --max-time 5 'http://127.0.0.1:9090/api/v1/query?query=lvsd_vrrp_state%3D%3D2'";
    let answered = lab.wait_for(Duration::from_secs(30), || {
        let r = lab.sh("dir1", query);
        r.contains("\"instance\":\"10.99.0.1:9650\"") && !r.contains("10.99.0.2:9650")
    });
    assert!(
        answered.is_some(),
        "Prometheus did not answer that 10.99.0.1 is master: {}\nits log:\n{}",
        lab.sh("dir1", query),
        lab.log("dir1", "prometheus")
    );

    // the real server goes down: its checker fails, it is down, quorum lost
    lab.signal(httpd, Signal::SIGKILL);
    lab.wait_exit(httpd, Duration::from_secs(5));
    wait_value(&lab, "dir1", "lvsd_real_server_up", &[&rs], 0.0, 10);
    let s1 = scrape(&lab, "dir1");
    let bad = ["checker=\"TCP_CHECK", "result=\"failure\""];
    assert!(
        value(&s1, "lvsd_checker_checks_total", &bad).unwrap_or(0.0) >= 1.0,
        "{s1}"
    );
    assert!(value(&s1, "lvsd_checker_consecutive_failures", &[&rs]).unwrap_or(0.0) >= 1.0);
    assert_eq!(
        value(&s1, "lvsd_virtual_server_quorum_up", &[]),
        Some(0.0),
        "{s1}"
    );

    wait_followed(
        &lab,
        "dir1",
        "events",
        &["\"kind\":\"real_server\"", "\"up\":false", RS1],
    );
    wait_followed(
        &lab,
        "dir1",
        "events",
        &["\"kind\":\"quorum\"", "\"up\":false"],
    );
    wait_followed(
        &lab,
        "dir2",
        "watch",
        &["real server [10.99.0.11]:tcp:80 of", "DOWN"],
    );

    // a refused reload counts as a failure and keeps the hash; an applied one changes it
    let hash0 = value(&s1, "lvsd_config_hash", &[]).unwrap();
    let path = lab.dir.join("dir1.conf");
    reload_with(&mut lab, d1, &path, "virtual_server {\n");
    wait_value(
        &lab,
        "dir1",
        "lvsd_config_loads_total",
        &["result=\"failure\""],
        1.0,
        10,
    );
    let s1 = scrape(&lab, "dir1");
    assert_eq!(
        value(&s1, "lvsd_config_last_reload_successful", &[]),
        Some(0.0)
    );
    assert_eq!(value(&s1, "lvsd_config_hash", &[]), Some(hash0));
    reload_with(&mut lab, d1, &path, &conf(150, 3));
    wait_value(
        &lab,
        "dir1",
        "lvsd_config_loads_total",
        &["result=\"success\""],
        2.0,
        10,
    );
    let s1 = scrape(&lab, "dir1");
    assert_eq!(
        value(&s1, "lvsd_config_last_reload_successful", &[]),
        Some(1.0)
    );
    assert_ne!(value(&s1, "lvsd_config_hash", &[]), Some(hash0));
    assert_eq!(
        value(&s1, "lvsd_real_server_weight", &[&rs]),
        Some(3.0),
        "{s1}"
    );

    // failover: dir1 stops, dir2 becomes master and counts it
    lab.signal(d1, Signal::SIGTERM);
    lab.wait_exit(d1, Duration::from_secs(10));
    wait_value(
        &lab,
        "dir2",
        "lvsd_vrrp_state",
        &["vrrp_instance=\"VI_1\""],
        2.0,
        10,
    );
    let s2 = scrape(&lab, "dir2");
    assert_eq!(
        value(&s2, "lvsd_vrrp_became_master_total", &[]),
        Some(1.0),
        "{s2}"
    );
    assert!(value(&s2, "lvsd_vrrp_priority_zero_received_total", &[]).unwrap_or(0.0) >= 1.0);
    assert!(value(&s2, "lvsd_vrrp_became_backup_total", &[]).unwrap_or(0.0) >= 1.0);
    assert_eq!(value(&s2, "lvsd_vrrp_became_fault_total", &[]), Some(0.0));
    assert!(value(&s2, "lvsd_vrrp_last_transition_timestamp_seconds", &[]).is_some());
    // and why
    assert_eq!(
        value(
            &s2,
            "lvsd_vrrp_last_transition_info",
            &["from=\"BACKUP\"", "to=\"MASTER\"", "reason=\""]
        ),
        Some(1.0),
        "{s2}"
    );

    // a reload that moves lvsd_metrics_listen moves the server
    let path2 = lab.dir.join("dir2.conf");
    reload_with(
        &mut lab,
        d2,
        &path2,
        &conf_with(100, 1, Some("0.0.0.0:9651")),
    );
    let moved = lab.wait_for(Duration::from_secs(10), || {
        value(&scrape_port(&lab, "dir2", "9651"), "lvsd_up", &[]) == Some(1.0)
            && scrape(&lab, "dir2").is_empty()
    });
    assert!(
        moved.is_some(),
        "the metrics did not move to 9651:\n{}",
        lab.log("dir2", "lvsd")
    );
}
