//! The users' configurations (the seed blog posts) as clusters in the simulator: the
//! keepalived.conf of each director goes through the config crate and `from_model`, and the
//! resulting routers elect, fail over and fail back as the posts expect.

use lvsd_vrrp::from_model::from_config;
use lvsd_vrrp::sim::{NodeSpec, Sim};
use lvsd_vrrp::track::{TrackerId, TrackerKind, TrackerStatus};
use lvsd_vrrp::{State, Time};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

fn seed(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../config/tests/fixtures/seeds")
        .join(name)
}

fn node(file: &str, addr: &str) -> NodeSpec {
    let loaded = lvsd_config::load_file(&seed(file), &Default::default());
    let (mut instances, groups) = from_config(&loaded.config);
    assert!(!instances.is_empty(), "{file}: no instance");
    let addr: IpAddr = addr.parse().unwrap();
    for i in &mut instances {
        i.src_addr = Some(addr);
    }
    NodeSpec {
        addr,
        instances,
        groups,
    }
}

fn at(s: f64) -> Time {
    Time::from_micros((s * 1e6) as u64)
}

fn took(sim: &Sim, vrid: u8, since: Time) -> Duration {
    let t = sim
        .transitions
        .iter()
        .find(|t| t.vrid == vrid && t.at >= since && t.to == State::Master)
        .expect("a takeover");
    t.at - since
}

#[test]
fn seed_000_master_and_backup_fail_over_and_back() {
    // 000-lvs1: priority 100, 000-lvs2: priority 80, both `state MASTER`, VRID 55.
    let mut sim = Sim::new(
        1,
        vec![
            node("000-lvs1.conf", "10.0.0.1"),
            node("000-lvs2.conf", "10.0.0.2"),
        ],
    );
    sim.run_until(at(5.0));
    assert_eq!(sim.masters(55), vec![0]);
    // `state MASTER` with priority 100 is not an owner: it waited the full interval.
    let first = sim
        .transitions
        .iter()
        .find(|t| t.to == State::Master)
        .unwrap();
    assert_eq!(first.at, Time::from_micros(3_609_375));
    sim.crash(0);
    let t0 = sim.now();
    sim.run_until(at(10.0));
    assert_eq!(sim.masters(55), vec![1]);
    // 3 × 1 s + (256 − 80)/256 s after the last advert heard (at most one interval earlier).
    let d = took(&sim, 55, t0);
    assert!(d <= Duration::from_micros(3_687_500), "{d:?}");
    sim.start(0);
    sim.run_until(at(20.0));
    assert_eq!(
        sim.masters(55),
        vec![0],
        "the higher priority preempts when it returns"
    );
    assert_eq!(sim.holders(55), vec![0]);
}

#[test]
fn seed_003_two_instances_cross_masters() {
    // keepalived1: VI_1 100 MASTER, VI_2 80 BACKUP; keepalived2: VI_1 80, VI_2 80 MASTER.
    let mut sim = Sim::new(
        2,
        vec![
            node("003-keepalived1.conf", "10.0.0.1"),
            node("003-keepalived2.conf", "10.0.0.2"),
        ],
    );
    sim.run_until(at(6.0));
    assert_eq!(sim.masters(51), vec![0]);
    // Equal priority 80 on VI_2: both time out together; the higher address wins.
    assert_eq!(sim.masters(55), vec![1]);
    sim.shutdown(1);
    let t0 = sim.now();
    sim.run_until(at(9.0));
    assert_eq!(sim.masters(55), vec![0]);
    // Graceful stop: priority 0, the backup waits Skew_Time = (256 − 80)/256 s only.
    assert!(took(&sim, 55, t0) <= Duration::from_micros(687_500 + 1_000));
}

#[test]
fn seed_002_track_script_is_defined_but_not_tracked() {
    // As written, the post defines vrrp_script chk_mha (weight -40) but no instance tracks it:
    // it never runs (`lvsd check` reports `unused-script`). Nothing tracks, nothing moves.
    let n = node("002-node.conf", "10.0.0.2");
    assert!(n.instances[0].trackers.is_empty());
}

#[test]
fn seed_002_weighted_track_script_moves_the_master() {
    // With the `track_script { chk_mha }` the post meant to write: priority 100 (the master
    // side, as the post's comment says) against 90; a failing script takes 40 off.
    let text = std::fs::read_to_string(seed("002-node.conf")).unwrap();
    let text = text.replacen(
        "advert_int 1\n",
        "advert_int 1\ntrack_script {\nchk_mha\n}\n",
        1,
    );
    let build = |prio: &str, addr: &str| {
        let t = text.replacen("priority 90", prio, 1);
        let loaded =
            lvsd_config::load_str(&seed("002-node.conf"), t.as_bytes(), &Default::default());
        let (mut instances, groups) = from_config(&loaded.config);
        let addr: IpAddr = addr.parse().unwrap();
        instances[0].src_addr = Some(addr);
        NodeSpec {
            addr,
            instances,
            groups,
        }
    };
    let master = build("priority 100", "10.0.0.1");
    let backup = build("priority 90", "10.0.0.2");
    let script = master.instances[0].trackers[0].id.clone();
    assert_eq!(script, TrackerId::new(TrackerKind::Script, "chk_mha"));
    assert_eq!(master.instances[0].trackers[0].weight, -40);
    let mut sim = Sim::new(3, vec![master, backup]);
    for n in 0..2 {
        sim.tracker(n, script.clone(), TrackerStatus::Up);
    }
    sim.run_until(at(6.0));
    assert_eq!(sim.masters(200), vec![0]);
    sim.tracker(0, script.clone(), TrackerStatus::Down);
    assert_eq!(sim.priority(0, 200), Some(60));
    sim.run_until(at(12.0));
    assert_eq!(sim.masters(200), vec![1], "90 beats 60");
    sim.tracker(0, script, TrackerStatus::Up);
    sim.run_until(at(18.0));
    assert_eq!(sim.masters(200), vec![0], "back to 100, preempts");
}

#[test]
fn seed_004_mismatched_vrids_give_two_masters() {
    // 004-master uses VRID 88 and 004-backup VRID 51: the two never hear each other, so both
    // become master — the split brain the post's readers hit. The simulator shows it.
    let mut sim = Sim::new(
        4,
        vec![
            node("004-master.conf", "10.0.0.1"),
            node("004-backup.conf", "10.0.0.2"),
        ],
    );
    sim.run_until(at(6.0));
    assert_eq!(sim.masters(88), vec![0]);
    assert_eq!(sim.masters(51), vec![1]);
    assert!(
        sim.drops > 0,
        "each side counts the other's adverts as unknown VRID"
    );
}
