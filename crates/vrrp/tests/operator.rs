//! `lvsd vrrp demote|promote|release` (issue 17) in the simulated network: a demoted master
//! hands over within the backup's Skew_Time and stays BACKUP whatever it hears; promote lets
//! preemption bring it back (even under `nopreempt`); release follows the configuration.

use lvsd_vrrp::config::InstanceConfig;
use lvsd_vrrp::packet::Version;
use lvsd_vrrp::sim::{NodeSpec, Sim};
use lvsd_vrrp::timers;
use lvsd_vrrp::{Operator, State, Time};
use std::net::IpAddr;
use std::time::Duration;

const VRID: u8 = 51;

fn node(addr: &str, priority: u8, nopreempt: bool) -> NodeSpec {
    let vip: IpAddr = "10.0.0.100".parse().unwrap();
    let mut c = InstanceConfig::new("VI_1", VRID, priority, Version::V2, vec![vip]);
    c.src_addr = Some(addr.parse().unwrap());
    c.nopreempt = nopreempt;
    NodeSpec {
        addr: addr.parse().unwrap(),
        instances: vec![c],
        groups: vec![],
    }
}

fn after(sim: &Sim, d: Duration) -> Time {
    sim.now() + d
}

/// A (150) master, B (100) backup, settled.
fn pair(nopreempt: bool) -> Sim {
    let mut sim = Sim::new(
        7,
        vec![
            node("10.0.0.1", 150, nopreempt),
            node("10.0.0.2", 100, false),
        ],
    );
    sim.run_until(Time::from_micros(10_000_000));
    assert_eq!(sim.masters(VRID), vec![0]);
    sim
}

fn skew_of_b() -> Duration {
    timers::skew(Version::V2, 100, Duration::from_secs(1))
}

#[test]
fn a_demoted_master_hands_over_within_the_backups_skew_time_and_stays_backup() {
    let mut sim = pair(false);
    let t0 = sim.now();
    sim.operator(0, 0, Operator::Demote);
    assert_eq!(sim.state(0, VRID), Some(State::Backup));
    // B takes over after its Skew_Time (plus the network's delay), not Master_Down_Interval
    let limit = after(&sim, skew_of_b() + Duration::from_millis(50));
    sim.run_until(limit);
    assert_eq!(sim.masters(VRID), vec![1]);
    let took = sim
        .transitions
        .iter()
        .find(|t| t.node == 1 && t.to == State::Master && t.at > t0)
        .map(|t| t.at.as_micros() - t0.as_micros())
        .expect("B became master");
    assert!(took <= (skew_of_b() + Duration::from_millis(50)).as_micros() as u64);
    // A hears B's lower priority for a minute and does not preempt
    let later = after(&sim, Duration::from_secs(60));
    sim.run_until(later);
    assert_eq!(sim.masters(VRID), vec![1]);
    assert_eq!(sim.state(0, VRID), Some(State::Backup));
    // B stops: A is demoted and stays BACKUP (the operator's word), nobody holds the VIP
    sim.shutdown(1);
    let later = after(&sim, Duration::from_secs(10));
    sim.run_until(later);
    assert_eq!(sim.state(0, VRID), Some(State::Backup));
    assert!(sim.masters(VRID).is_empty());
    // released: it follows its configuration and takes over
    sim.operator(0, 0, Operator::Release);
    let later = after(&sim, Duration::from_secs(5));
    sim.run_until(later);
    assert_eq!(sim.masters(VRID), vec![0]);
}

#[test]
fn promote_lets_preemption_bring_the_master_back() {
    let mut sim = pair(false);
    sim.operator(0, 0, Operator::Demote);
    let later = after(&sim, Duration::from_secs(10));
    sim.run_until(later);
    assert_eq!(sim.masters(VRID), vec![1]);
    let t0 = sim.now();
    sim.operator(0, 0, Operator::Promote);
    let later = after(&sim, Duration::from_secs(5));
    sim.run_until(later);
    assert_eq!(sim.masters(VRID), vec![0]);
    // by preemption: B stepped down on A's better advert, once
    let b_down: Vec<_> = sim
        .transitions
        .iter()
        .filter(|t| t.node == 1 && t.at > t0)
        .map(|t| t.to)
        .collect();
    assert_eq!(b_down, vec![State::Backup]);
}

#[test]
fn under_nopreempt_release_leaves_the_peer_master_and_promote_takes_over_once() {
    let mut sim = pair(true);
    sim.operator(0, 0, Operator::Demote);
    let later = after(&sim, Duration::from_secs(10));
    sim.run_until(later);
    assert_eq!(sim.masters(VRID), vec![1]);
    sim.operator(0, 0, Operator::Release);
    let later = after(&sim, Duration::from_secs(10));
    sim.run_until(later);
    assert_eq!(
        sim.masters(VRID),
        vec![1],
        "nopreempt: release does not preempt"
    );
    sim.operator(0, 0, Operator::Promote);
    let later = after(&sim, Duration::from_secs(10));
    sim.run_until(later);
    assert_eq!(sim.masters(VRID), vec![0], "promote preempts once");
}

#[test]
fn a_demoted_instance_starts_backup_and_never_takes_over_alone() {
    let mut sim = Sim::new(3, vec![node("10.0.0.1", 150, false)]);
    sim.crash(0);
    sim.start(0);
    sim.operator(0, 0, Operator::Demote);
    let later = after(&sim, Duration::from_secs(30));
    sim.run_until(later);
    assert_eq!(sim.state(0, VRID), Some(State::Backup));
    assert!(sim.masters(VRID).is_empty());
}

/// Two instances in one sync group on each director.
fn grouped(addr: &str, priority: u8) -> NodeSpec {
    let mut n = node(addr, priority, false);
    let vip: IpAddr = "10.0.0.101".parse().unwrap();
    let mut c = InstanceConfig::new("VI_2", VRID + 1, priority, Version::V2, vec![vip]);
    c.src_addr = Some(addr.parse().unwrap());
    n.instances.push(c);
    n.groups = vec![("G".to_string(), vec![0, 1])];
    n
}

#[test]
fn a_demoted_member_takes_its_sync_group_to_backup_and_holds_it_there() {
    let mut sim = Sim::new(11, vec![grouped("10.0.0.1", 150), grouped("10.0.0.2", 100)]);
    sim.run_until(Time::from_micros(10_000_000));
    assert_eq!(
        (sim.masters(VRID), sim.masters(VRID + 1)),
        (vec![0], vec![0])
    );
    sim.operator(0, 0, Operator::Demote);
    // every member leaving MASTER said priority 0: the peer's group is master after its
    // Skew_Time, not after Master_Down_Interval
    let soon = after(&sim, skew_of_b() + Duration::from_millis(100));
    sim.run_until(soon);
    assert_eq!(
        (sim.masters(VRID), sim.masters(VRID + 1)),
        (vec![1], vec![1]),
        "the peer's group took over within its Skew_Time"
    );
    let later = after(&sim, Duration::from_secs(30));
    sim.run_until(later);
    assert_eq!(
        (sim.masters(VRID), sim.masters(VRID + 1)),
        (vec![1], vec![1]),
        "both instances of the group moved and stayed"
    );
    sim.operator(0, 0, Operator::Release);
    let later = after(&sim, Duration::from_secs(10));
    sim.run_until(later);
    assert_eq!(
        (sim.masters(VRID), sim.masters(VRID + 1)),
        (vec![0], vec![0])
    );
}

#[test]
fn a_promote_of_a_nopreempt_group_takes_it_back_and_a_promote_of_a_master_latches_nothing() {
    let np = |addr: &str, prio: u8| {
        let mut n = grouped(addr, prio);
        for c in &mut n.instances {
            c.nopreempt = true;
        }
        n
    };
    let mut sim = Sim::new(13, vec![np("10.0.0.1", 150), grouped("10.0.0.2", 100)]);
    sim.run_until(Time::from_micros(10_000_000));
    // a promote of a master: nothing to do, nothing kept for later
    sim.operator(0, 0, Operator::Promote);
    sim.operator(0, 0, Operator::Demote);
    sim.operator(0, 1, Operator::Demote);
    let later = after(&sim, Duration::from_secs(10));
    sim.run_until(later);
    assert_eq!(
        (sim.masters(VRID), sim.masters(VRID + 1)),
        (vec![1], vec![1])
    );
    // released (both members, as `lvsd vrrp` does for a group): nopreempt keeps the peer
    sim.operator(0, 0, Operator::Release);
    sim.operator(0, 1, Operator::Release);
    let later = after(&sim, Duration::from_secs(10));
    sim.run_until(later);
    assert_eq!(
        (sim.masters(VRID), sim.masters(VRID + 1)),
        (vec![1], vec![1])
    );
    // promoted (both members): the group preempts once
    sim.operator(0, 0, Operator::Promote);
    sim.operator(0, 1, Operator::Promote);
    let later = after(&sim, Duration::from_secs(10));
    sim.run_until(later);
    assert_eq!(
        (sim.masters(VRID), sim.masters(VRID + 1)),
        (vec![0], vec![0])
    );
}
