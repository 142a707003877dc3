//! `lvsd run` end to end on the real kernel: two directors and a client on a bridge, each in
//! a network namespace of this test. Needs root (CI runs as root); skipped otherwise.
//! Every test prints the takeover time it measured.

mod lab;
use lab::Lab;
use lvsd_testkit::need_root;
use nix::sys::signal::Signal;
use std::time::Duration;

const VIP: &str = "10.99.0.100";
const D: [&str; 2] = ["dir1", "dir2"];

fn lab() -> Lab {
    Lab::new(
        &[
            ("client", &["10.99.0.10/24"]),
            ("dir1", &["10.99.0.1/24"]),
            ("dir2", &["10.99.0.2/24"]),
        ],
        false,
    )
}

/// A seed-style instance (VRRPv2, PASS auth, advert 1 s) with extra lines.
fn conf(state: &str, prio: u8, extra: &str) -> String {
    format!(
        "global_defs {{\n  router_id test\n}}\n\
         vrrp_instance VI_1 {{\n  state {state}\n  interface eth0\n  virtual_router_id 51\n  \
         priority {prio}\n  advert_int 1\n  authentication {{\n    auth_type PASS\n    auth_pass 1111\n  }}\n  \
         virtual_ipaddress {{\n    {VIP}/24 dev eth0 label eth0:1\n  }}\n{extra}}}\n"
    )
}

fn holders(lab: &Lab) -> Vec<String> {
    lab.holders(&D, VIP)
}

/// Waits until exactly `node` holds the VIP; returns how long that took.
fn wait_master(lab: &Lab, node: &str, timeout: f64) -> Duration {
    lab.wait_for(Duration::from_secs_f64(timeout), || holders(lab) == [node])
        .unwrap_or_else(|| {
            panic!(
                "{node} never became the only holder of {VIP}: {:?}\n{}",
                holders(lab),
                lab.dump()
            )
        })
}

#[test]
fn election_crash_and_garp() {
    need_root!();
    let mut lab = lab();
    let p1 = lab.lvsd("dir1", &conf("MASTER", 100, ""));
    lab.lvsd("dir2", &conf("BACKUP", 90, ""));
    let t = wait_master(&lab, "dir1", 8.0);
    eprintln!("startup: dir1 master after {t:?} (RFC: 3 x 1 s + skew 0.609 s)");
    // The label is applied as configured.
    assert!(lab
        .sh("dir1", "ip -o addr show dev eth0")
        .contains("eth0:1"));
    // The client learns the VIP's MAC from dir1.
    lab.touch("client", VIP);
    let learnt = lab.wait_for(Duration::from_secs(3), || {
        lab.neigh("client", VIP).as_deref() == Some(lab.mac("dir1"))
    });
    assert!(
        learnt.is_some(),
        "client resolved {VIP} to {:?}",
        lab.neigh("client", VIP)
    );
    // Crash: dir1 vanishes without a word (its VIP stays configured, as with keepalived).
    lab.signal(p1, Signal::SIGKILL);
    let t = lab
        .wait_for(Duration::from_secs(8), || lab.has_addr("dir2", VIP))
        .unwrap_or_else(|| panic!("no takeover\n{}", lab.dump()));
    eprintln!("crash takeover: {t:?} (RFC bound 3 x 1 s + skew 0.648 s after the last advert)");
    assert!(t <= Duration::from_millis(3_648 + 1_000 + 500), "{t:?}");
    // Gratuitous ARP moves the client's neighbour entry to dir2.
    let moved = lab.wait_for(Duration::from_secs(3), || {
        lab.neigh("client", VIP).as_deref() == Some(lab.mac("dir2"))
    });
    assert!(
        moved.is_some(),
        "client still sends to {:?}\n{}",
        lab.neigh("client", VIP),
        lab.dump()
    );
}

#[test]
fn sigterm_hands_over_after_skew_and_cleans_up() {
    need_root!();
    let mut lab = lab();
    let p1 = lab.lvsd("dir1", &conf("MASTER", 100, ""));
    lab.lvsd("dir2", &conf("BACKUP", 90, ""));
    wait_master(&lab, "dir1", 8.0);
    lab.signal(p1, Signal::SIGTERM);
    let t = lab
        .wait_for(Duration::from_secs(4), || lab.has_addr("dir2", VIP))
        .unwrap_or_else(|| panic!("no takeover\n{}", lab.dump()));
    eprintln!("graceful takeover: {t:?} (skew for 90: 0.648 s)");
    assert!(t < Duration::from_millis(648 + 1_000 + 300), "{t:?}");
    let st = lab
        .wait_exit(p1, Duration::from_secs(10))
        .expect("lvsd exits on SIGTERM");
    assert!(st.success(), "exit status {st:?}");
    assert!(
        !lab.has_addr("dir1", VIP),
        "a stopped lvsd removes its VIPs"
    );
}

#[test]
fn link_down_is_fault_and_link_up_preempts_back() {
    need_root!();
    let mut lab = lab();
    lab.lvsd("dir1", &conf("MASTER", 100, ""));
    lab.lvsd("dir2", &conf("BACKUP", 90, ""));
    wait_master(&lab, "dir1", 8.0);
    lab.link("dir1", false);
    let t = lab
        .wait_for(Duration::from_secs(8), || {
            lab.has_addr("dir2", VIP) && !lab.has_addr("dir1", VIP)
        })
        .unwrap_or_else(|| panic!("no takeover\n{}", lab.dump()));
    eprintln!("link-down takeover: {t:?}");
    assert!(
        lab.log("dir1", "lvsd").contains("MASTER -> FAULT"),
        "{}",
        lab.dump()
    );
    lab.link("dir1", true);
    let t = wait_master(&lab, "dir1", 8.0);
    eprintln!("preempt back after link up: {t:?}");
}

#[test]
fn weighted_track_script_moves_the_vip_and_back() {
    need_root!();
    let mut lab = lab();
    // Each director checks its own flag file; only dir1's is flipped.
    let mut flags = Vec::new();
    for node in D {
        let flag = lab.dir.join(format!("{node}.healthy"));
        std::fs::write(&flag, "").unwrap();
        let script = lab.write(
            &format!("{node}.chk.sh"),
            &format!("#!/bin/sh\ntest -e {}\n", flag.display()),
        );
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        // Seed 002's tracker: weight -40, fall 3, rise 1 (here with a 0.2 s interval).
        let global = format!(
            "vrrp_script chk {{\n  script \"{}\"\n  interval 0.2\n  weight -40\n  fall 3\n  rise 1\n}}\n",
            script.display()
        );
        let track = "  track_script {\n    chk\n  }\n";
        let (state, prio) = if node == "dir1" {
            ("MASTER", 100)
        } else {
            ("BACKUP", 90)
        };
        lab.lvsd(node, &(global + &conf(state, prio, track)));
        flags.push(flag);
    }
    let flag = flags[0].clone();
    wait_master(&lab, "dir1", 8.0);
    std::fs::remove_file(&flag).unwrap();
    let t = wait_master(&lab, "dir2", 10.0);
    eprintln!("script failure takeover: {t:?} (3 failures, then 100-40=60 < 90)");
    assert!(
        lab.log("dir1", "lvsd").contains("from 100 to 60"),
        "{}",
        lab.dump()
    );
    std::fs::write(&flag, "").unwrap();
    let t = wait_master(&lab, "dir1", 10.0);
    eprintln!("script recovery preempt: {t:?}");
}

#[test]
fn nopreempt_keeps_the_running_master() {
    need_root!();
    let mut lab = lab();
    // Seed 004: both BACKUP, nopreempt on the higher one.
    lab.lvsd("dir2", &conf("BACKUP", 90, ""));
    wait_master(&lab, "dir2", 8.0);
    lab.lvsd("dir1", &conf("BACKUP", 100, "  nopreempt\n"));
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(
        holders(&lab),
        ["dir2"],
        "nopreempt must not take over\n{}",
        lab.dump()
    );
}

#[test]
fn two_instances_each_node_master_of_one() {
    need_root!();
    let mut lab = lab();
    // Seed 003: VI_1 master on dir1, VI_2 master on dir2.
    let two = |p1: u8, p2: u8| {
        format!(
            "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n priority {p1}\n advert_int 1\n \
             virtual_ipaddress {{\n 10.99.0.100/24\n }}\n}}\n\
             vrrp_instance VI_2 {{\n interface eth0\n virtual_router_id 52\n priority {p2}\n advert_int 1\n \
             virtual_ipaddress {{\n 10.99.0.200/24\n }}\n}}\n"
        )
    };
    lab.lvsd("dir1", &two(100, 80));
    lab.lvsd("dir2", &two(80, 100));
    wait_master(&lab, "dir1", 8.0);
    let t = lab.wait_for(Duration::from_secs(8), || {
        lab.holders(&D, "10.99.0.200") == ["dir2"]
    });
    assert!(t.is_some(), "{}", lab.dump());
}

#[test]
fn unicast_peers() {
    need_root!();
    let mut lab = lab();
    let uc = |me: &str, peer: &str, prio: u8| {
        format!(
            "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n priority {prio}\n advert_int 1\n \
             unicast_src_ip {me}\n unicast_peer {{\n {peer}\n }}\n \
             virtual_ipaddress {{\n {VIP}/24\n }}\n}}\n"
        )
    };
    let p1 = lab.lvsd("dir1", &uc("10.99.0.1", "10.99.0.2", 100));
    lab.lvsd("dir2", &uc("10.99.0.2", "10.99.0.1", 90));
    wait_master(&lab, "dir1", 8.0);
    lab.signal(p1, Signal::SIGKILL);
    let t = lab.wait_for(Duration::from_secs(8), || lab.has_addr("dir2", VIP));
    eprintln!("unicast crash takeover: {t:?}");
    assert!(t.is_some(), "{}", lab.dump());
}

#[test]
fn vrrp_v3_at_50_ms() {
    need_root!();
    let mut lab = lab();
    let v3 = |prio: u8| {
        format!(
            "vrrp_instance VI_1 {{\n version 3\n interface eth0\n virtual_router_id 51\n priority {prio}\n \
             advert_int 0.05\n virtual_ipaddress {{\n {VIP}/24\n }}\n}}\n"
        )
    };
    let p1 = lab.lvsd("dir1", &v3(100));
    lab.lvsd("dir2", &v3(90));
    wait_master(&lab, "dir1", 3.0);
    std::thread::sleep(Duration::from_millis(300));
    lab.signal(p1, Signal::SIGKILL);
    let t = lab
        .wait_for(Duration::from_secs(3), || lab.has_addr("dir2", VIP))
        .unwrap_or_else(|| panic!("no takeover\n{}", lab.dump()));
    // 3 x 50 ms + (256-90) x 50 ms / 256 = 182 ms after the last advert.
    eprintln!("v3 50 ms crash takeover: {t:?} (RFC bound 182 ms after the last advert)");
    assert!(t < Duration::from_millis(182 + 50 + 300), "{t:?}");
}

#[test]
fn notify_scripts_run_in_order_with_keepalived_arguments() {
    need_root!();
    let mut lab = lab();
    let out = lab.dir.join("notify.out");
    let generic = lab.write(
        "notify.sh",
        &format!("#!/bin/sh\necho \"$@\" >> {}\n", out.display()),
    );
    let master = lab.write(
        "master.sh",
        &format!(
            "#!/bin/sh\nsleep 0.3\necho master-script \"$@\" >> {}\n",
            out.display()
        ),
    );
    for p in [&generic, &master] {
        std::fs::set_permissions(p, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
    let extra = format!(
        "  notify \"{}\"\n  notify_master \"{} arg1\"\n",
        generic.display(),
        master.display()
    );
    let p1 = lab.lvsd("dir1", &conf("MASTER", 100, &extra));
    wait_master(&lab, "dir1", 8.0);
    lab.signal(p1, Signal::SIGTERM);
    lab.wait_exit(p1, Duration::from_secs(10)).expect("exit");
    let lines: Vec<String> = std::fs::read_to_string(&out)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(
        lines,
        [
            "INSTANCE VI_1 BACKUP 100",
            "master-script arg1",
            "INSTANCE VI_1 MASTER 100",
            "INSTANCE VI_1 STOP 100"
        ],
        "{}",
        lab.dump()
    );
}

#[test]
fn reload_adds_a_vip_without_a_flap() {
    need_root!();
    let mut lab = lab();
    let p1 = lab.lvsd("dir1", &conf("MASTER", 100, ""));
    wait_master(&lab, "dir1", 8.0);
    let two = conf("MASTER", 100, "").replace(
        &format!("{VIP}/24 dev eth0 label eth0:1\n"),
        &format!("{VIP}/24 dev eth0 label eth0:1\n    10.99.0.101/24\n"),
    );
    lab.write("dir1.conf", &two);
    lab.signal(p1, Signal::SIGHUP);
    let t = lab.wait_for(Duration::from_secs(3), || {
        lab.has_addr("dir1", "10.99.0.101")
    });
    assert!(t.is_some(), "{}", lab.dump());
    assert!(lab.has_addr("dir1", VIP));
    let log = lab.log("dir1", "lvsd");
    assert_eq!(
        log.matches("-> MASTER").count(),
        1,
        "no flap on reload\n{log}"
    );
    // A broken configuration is refused and the running one kept.
    lab.write("dir1.conf", "vrrp_instance VI_1 {\n priority 300\n");
    lab.signal(p1, Signal::SIGHUP);
    std::thread::sleep(Duration::from_millis(500));
    assert!(lab.log("dir1", "lvsd").contains("reload refused"));
    assert!(lab.has_addr("dir1", VIP) && lab.has_addr("dir1", "10.99.0.101"));
}

/// Issue 22's first finding: on a MASTER, a reload whose only change is in
/// `virtual_ipaddress_excluded` (or `virtual_routes`) was announced in the plan and never
/// applied. Now the address worker installs the instance's new set at the reload (and removes
/// what left it), with no transition; reverting removes it again.
#[test]
fn reload_applies_excluded_addresses_and_routes_on_a_master() {
    need_root!();
    let mut lab = lab();
    let p1 = lab.lvsd("dir1", &conf("MASTER", 100, ""));
    wait_master(&lab, "dir1", 8.0);
    let with = conf(
        "MASTER",
        100,
        "  virtual_ipaddress_excluded {\n    10.99.0.110/24\n  }\n  virtual_routes {\n    10.98.7.0/24 via 10.99.0.254 dev eth0\n  }\n",
    );
    lab.write("dir1.conf", &with);
    lab.signal(p1, Signal::SIGHUP);
    let route = |lab: &Lab| lab.sh("dir1", "ip -4 route show 10.98.7.0/24");
    let t = lab.wait_for(Duration::from_secs(3), || {
        lab.has_addr("dir1", "10.99.0.110") && route(&lab).contains("via 10.99.0.254")
    });
    assert!(
        t.is_some(),
        "excluded address and route after the reload\n{}",
        lab.dump()
    );
    // reverted: both go, the VIP stays, no transition
    lab.write("dir1.conf", &conf("MASTER", 100, ""));
    lab.signal(p1, Signal::SIGHUP);
    let t = lab.wait_for(Duration::from_secs(3), || {
        !lab.has_addr("dir1", "10.99.0.110") && route(&lab).trim().is_empty()
    });
    assert!(t.is_some(), "reverted\n{}", lab.dump());
    assert!(lab.has_addr("dir1", VIP));
    let log = lab.log("dir1", "lvsd");
    assert_eq!(log.matches("-> MASTER").count(), 1, "no flap\n{log}");
}

#[test]
fn leftover_vip_of_a_crashed_run_is_removed_on_start() {
    need_root!();
    let mut lab = lab();
    lab.exec(
        "dir2",
        &["ip", "addr", "add", &format!("{VIP}/24"), "dev", "eth0"],
    );
    lab.lvsd("dir1", &conf("MASTER", 100, ""));
    lab.lvsd("dir2", &conf("BACKUP", 90, ""));
    wait_master(&lab, "dir1", 8.0);
    assert!(
        lab.log("dir2", "lvsd").contains("left behind"),
        "{}",
        lab.dump()
    );
}

#[test]
fn ipv6_instance_fails_over() {
    need_root!();
    // VRRPv3 over IPv6 (ff02::12, link-local sources), a documentation-prefix VIP that exists
    // only inside this lab.
    let mut lab = Lab::new(
        &[
            ("client", &["2001:db8::10/64"]),
            ("dir1", &["2001:db8::1/64"]),
            ("dir2", &["2001:db8::2/64"]),
        ],
        true,
    );
    let v6 = |prio: u8| {
        format!(
            "vrrp_instance V6 {{\n interface eth0\n virtual_router_id 52\n priority {prio}\n \
             advert_int 0.1\n virtual_ipaddress {{\n 2001:db8::100/64\n }}\n}}\n"
        )
    };
    let p1 = lab.lvsd("dir1", &v6(100));
    lab.lvsd("dir2", &v6(90));
    let vip = "2001:db8::100";
    let t = lab.wait_for(Duration::from_secs(5), || lab.holders(&D, vip) == ["dir1"]);
    assert!(t.is_some(), "{:?}\n{}", lab.holders(&D, vip), lab.dump());
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(lab.holders(&D, vip), ["dir1"], "{}", lab.dump());
    lab.signal(p1, Signal::SIGTERM);
    let t = lab
        .wait_for(Duration::from_secs(3), || lab.has_addr("dir2", vip))
        .unwrap_or_else(|| panic!("no takeover\n{}", lab.dump()));
    eprintln!("IPv6 graceful takeover: {t:?} (skew 65 ms)");
}

#[test]
fn virtual_routes_and_rules_follow_master() {
    need_root!();
    let mut lab = lab();
    let extra = "  virtual_routes {\n    192.168.50.0/24 via 10.99.0.10 dev eth0\n  }\n  \
                 virtual_rules {\n    from 192.168.60.0/24 table 100 priority 1000\n  }\n";
    let p1 = lab.lvsd("dir1", &conf("MASTER", 100, extra));
    wait_master(&lab, "dir1", 8.0);
    let routes = |lab: &Lab| lab.sh("dir1", "ip route show");
    let rules = |lab: &Lab| lab.sh("dir1", "ip rule show");
    assert!(
        routes(&lab).contains("192.168.50.0/24 via 10.99.0.10"),
        "{}\n{}",
        routes(&lab),
        lab.dump()
    );
    assert!(
        rules(&lab).contains("from 192.168.60.0/24 lookup 100"),
        "{}",
        rules(&lab)
    );
    lab.signal(p1, Signal::SIGTERM);
    lab.wait_exit(p1, Duration::from_secs(10)).expect("exit");
    assert!(
        !routes(&lab).contains("192.168.50.0/24"),
        "{}",
        routes(&lab)
    );
    assert!(!rules(&lab).contains("192.168.60.0/24"), "{}", rules(&lab));
}

#[test]
fn a_vip_deleted_by_hand_on_the_master_is_put_back() {
    need_root!();
    let mut lab = lab();
    lab.lvsd("dir1", &conf("MASTER", 100, ""));
    lab.lvsd("dir2", &conf("BACKUP", 90, ""));
    wait_master(&lab, "dir1", 8.0);
    lab.exec(
        "dir1",
        &["ip", "addr", "del", &format!("{VIP}/24"), "dev", "eth0"],
    );
    let t = lab.wait_for(Duration::from_secs(3), || lab.has_addr("dir1", VIP));
    eprintln!("VIP repaired after {t:?}");
    assert!(t.is_some(), "{}", lab.dump());
    assert_eq!(holders(&lab), ["dir1"], "no re-election, no flap");
}

#[test]
fn a_missing_track_script_fails_closed_unless_configured_open() {
    need_root!();
    let mut lab = lab();
    let missing = lab.dir.join("no-such-check.sh");
    let script = format!(
        "vrrp_script chk {{\n  script \"{}\"\n  interval 0.2\n}}\n",
        missing.display()
    );
    let track = "  track_script {\n    chk\n  }\n";
    // Fail-closed (lvsd's default): the weight-0 tracker is down, the instance is in FAULT.
    lab.lvsd("dir1", &(script.clone() + &conf("MASTER", 100, track)));
    // keepalived's behaviour on request: the missing script counts as healthy.
    let open = format!("global_defs {{\n  vrrp_script_missing up\n}}\n{script}");
    lab.lvsd("dir2", &(open + &conf("BACKUP", 90, track)));
    wait_master(&lab, "dir2", 8.0);
    let log = lab.log("dir1", "lvsd");
    assert!(log.contains("FAULT"), "{}", lab.dump());
    assert!(
        log.contains("no-such-check.sh"),
        "the log says which script and why\n{log}"
    );
    assert!(!lab.has_addr("dir1", VIP));
}
