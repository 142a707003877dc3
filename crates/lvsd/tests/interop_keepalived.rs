//! lvsd and keepalived 2.2.7 (Debian's package) as VRRP peers, both roles, v2 with PASS auth
//! and v3, graceful and crash handovers both ways, and preemption back.
//! Needs root and keepalived; skipped otherwise.

mod lab;
use lab::Lab;
use lvsd_testkit::need_root;
use nix::sys::signal::Signal;
use std::time::Duration;

const VIP: &str = "10.99.0.100";
const D: [&str; 2] = ["dir1", "dir2"];

fn have_keepalived() -> bool {
    std::process::Command::new("keepalived")
        .arg("--version")
        .output()
        .is_ok()
}

fn lab() -> Lab {
    Lab::new(
        &[("dir1", &["10.99.0.1/24"]), ("dir2", &["10.99.0.2/24"])],
        false,
    )
}

fn conf(version: u8, prio: u8) -> String {
    let (auth, int) = if version == 2 {
        (
            "  authentication {\n    auth_type PASS\n    auth_pass s3cret\n  }\n",
            "1",
        )
    } else {
        ("", "0.1")
    };
    format!(
        "global_defs {{\n  vrrp_version {version}\n}}\n\
         vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  \
         priority {prio}\n  advert_int {int}\n{auth}  virtual_ipaddress {{\n    {VIP}/24 dev eth0\n  }}\n}}\n"
    )
}

fn only(lab: &Lab, node: &str, secs: f64) -> Duration {
    lab.only(&D, VIP, node, secs)
}

/// keepalived's VRRP child has to be stopped before its parent is killed, or it shuts down
/// gracefully (priority 0) instead of crashing.
fn crash_keepalived(lab: &mut Lab, node: &str, parent: u32) {
    if let Some(child) = lab.keepalived_vrrp_pid(node) {
        lab.signal(child as u32, Signal::SIGSTOP);
    }
    lab.signal(parent, Signal::SIGKILL);
}

fn lvsd_master_keepalived_backup(version: u8) {
    let mut lab = lab();
    let l = lab.lvsd("dir1", &conf(version, 100));
    let k = lab.keepalived("dir2", &conf(version, 90));
    let t = only(&lab, "dir1", 8.0);
    eprintln!("v{version}: lvsd master after {t:?}; keepalived stays backup");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(lab.holders(&D, VIP), ["dir1"], "{}", lab.dump());
    // Graceful: lvsd stops, keepalived takes over after its skew.
    lab.signal(l, Signal::SIGTERM);
    let t = only(&lab, "dir2", 5.0);
    eprintln!("v{version}: lvsd SIGTERM -> keepalived master in {t:?}");
    // lvsd comes back with the higher priority and preempts keepalived.
    let l = lab.lvsd("dir1", &conf(version, 100));
    let t = only(&lab, "dir1", 8.0);
    eprintln!("v{version}: lvsd restarted and preempted in {t:?}");
    // Crash: keepalived takes over within Master_Down_Interval.
    lab.signal(l, Signal::SIGKILL);
    let t = lab
        .wait_for(Duration::from_secs(8), || lab.has_addr("dir2", VIP))
        .unwrap_or_else(|| panic!("{}", lab.dump()));
    eprintln!("v{version}: lvsd crash -> keepalived master in {t:?}");
    let _ = k;
}

fn keepalived_master_lvsd_backup(version: u8) {
    let mut lab = lab();
    let k = lab.keepalived("dir1", &conf(version, 100));
    lab.lvsd("dir2", &conf(version, 90));
    let t = only(&lab, "dir1", 8.0);
    eprintln!("v{version}: keepalived master after {t:?}; lvsd stays backup");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(lab.holders(&D, VIP), ["dir1"], "{}", lab.dump());
    assert!(
        !lab.log("dir2", "lvsd").contains("dropped"),
        "lvsd accepts keepalived's adverts\n{}",
        lab.dump()
    );
    lab.signal(k, Signal::SIGTERM);
    let t = only(&lab, "dir2", 5.0);
    eprintln!("v{version}: keepalived SIGTERM -> lvsd master in {t:?}");
    // keepalived refuses to start while the previous one is still shutting down.
    lab.wait_exit(k, Duration::from_secs(10))
        .expect("keepalived exits on SIGTERM");
    let k = lab.keepalived("dir1", &conf(version, 100));
    let t = only(&lab, "dir1", 10.0);
    eprintln!("v{version}: keepalived restarted and preempted lvsd in {t:?}");
    std::thread::sleep(Duration::from_millis(500));
    crash_keepalived(&mut lab, "dir1", k);
    let t = lab
        .wait_for(Duration::from_secs(8), || lab.has_addr("dir2", VIP))
        .unwrap_or_else(|| panic!("{}", lab.dump()));
    eprintln!("v{version}: keepalived crash -> lvsd master in {t:?}");
}

#[test]
fn v2_lvsd_master_keepalived_backup() {
    need_root!();
    if !lvsd_testkit::tool_or_skip(have_keepalived(), "keepalived") {
        return;
    }
    lvsd_master_keepalived_backup(2);
}

#[test]
fn v2_keepalived_master_lvsd_backup() {
    need_root!();
    if !lvsd_testkit::tool_or_skip(have_keepalived(), "keepalived") {
        return;
    }
    keepalived_master_lvsd_backup(2);
}

#[test]
fn v3_lvsd_master_keepalived_backup() {
    need_root!();
    if !lvsd_testkit::tool_or_skip(have_keepalived(), "keepalived") {
        return;
    }
    lvsd_master_keepalived_backup(3);
}

#[test]
fn v3_keepalived_master_lvsd_backup() {
    need_root!();
    if !lvsd_testkit::tool_or_skip(have_keepalived(), "keepalived") {
        return;
    }
    keepalived_master_lvsd_backup(3);
}

/// A preempted lvsd master must fall silent at once (issue 14): lvsd becomes master with a
/// long gratuitous-ARP burst (20 × 0.2 s), a client learns the VIP's MAC, then a peer with a
/// higher priority starts and preempts. Two seconds later — inside lvsd's old burst, before
/// keepalived's second burst (garp_master_delay 5 s) — the client's ARP entry must point at
/// the new master. Before the fix the burst ran on after lvsd had left MASTER and pulled the
/// client back: traffic to the VIP went to the backup.
fn preempted_lvsd_falls_silent(peer_is_keepalived: bool) {
    let mut lab = Lab::new(
        &[
            ("dir1", &["10.99.0.1/24"]),
            ("dir2", &["10.99.0.2/24"]),
            ("client", &["10.99.0.9/24"]),
        ],
        false,
    );
    let low = conf(3, 90)
        .replace(
            "  vrrp_version 3\n",
            "  vrrp_version 3\n  vrrp_garp_interval 0.2\n",
        )
        .replace(
            "  priority 90\n",
            "  priority 90\n  garp_master_repeat 20\n",
        );
    lab.lvsd("dir1", &low);
    only(&lab, "dir1", 8.0);
    // the client resolves the VIP: dir1's MAC
    lab.touch("client", VIP);
    let dir1 = lab.mac("dir1").to_string();
    let dir2 = lab.mac("dir2").to_string();
    lab.wait_for(Duration::from_secs(2), || {
        lab.neigh("client", VIP).as_deref() == Some(dir1.as_str())
    })
    .unwrap_or_else(|| panic!("client never learnt dir1's MAC\n{}", lab.dump()));
    let high = conf(3, 100);
    if peer_is_keepalived {
        lab.keepalived("dir2", &high);
    } else {
        lab.lvsd("dir2", &high);
    }
    let t = only(&lab, "dir2", 8.0);
    eprintln!("preempted after {t:?}");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        lab.neigh("client", VIP).as_deref(),
        Some(dir2.as_str()),
        "the client's ARP entry for the VIP points at the backup (dir1 {dir1}, dir2 {dir2})\n{}",
        lab.dump()
    );
    assert_eq!(lab.holders(&D, VIP), ["dir2"], "{}", lab.dump());
}

#[test]
fn v3_keepalived_preempts_lvsd_and_the_client_follows() {
    need_root!();
    if !lvsd_testkit::tool_or_skip(have_keepalived(), "keepalived") {
        return;
    }
    preempted_lvsd_falls_silent(true);
}

#[test]
fn v3_lvsd_preempts_lvsd_and_the_client_follows() {
    need_root!();
    preempted_lvsd_falls_silent(false);
}
