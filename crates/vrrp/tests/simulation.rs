//! Deterministic simulation of 2–5 routers over many random seeds.
//!
//! Each seed builds a cluster (v2 or v3, random priorities, ties, owners, nopreempt, weighted
//! and weight-0 trackers), runs a period of chaos (crashes, restarts, graceful shutdowns,
//! partitions, loss, jitter, tracker flips), heals the network and checks the invariants.
//!
//! * `LVSD_SIM_SEEDS=10000 cargo test -p lvsd-vrrp --release --test simulation` runs more seeds
//!   (CI runs the default, 300).
//! * `LVSD_SIM_SEED=1234` replays one seed and prints its transitions.

use lvsd_vrrp::config::InstanceConfig;
use lvsd_vrrp::packet::Version;
use lvsd_vrrp::sim::network::Link;
use lvsd_vrrp::sim::{NodeSpec, Sim};
use lvsd_vrrp::timers;
use lvsd_vrrp::track::{TrackerId, TrackerKind, TrackerRef, TrackerStatus};
use lvsd_vrrp::{State, Time};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use std::net::IpAddr;
use std::time::Duration;

const VRID: u8 = 51;

fn seeds() -> Vec<u64> {
    if let Some(one) = std::env::var("LVSD_SIM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        return vec![one];
    }
    let n = std::env::var("LVSD_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300u64);
    (0..n).collect()
}

fn weighted() -> TrackerId {
    TrackerId::new(TrackerKind::Script, "chk_weighted")
}

fn fatal() -> TrackerId {
    TrackerId::new(TrackerKind::Script, "chk_fault")
}

struct Cluster {
    specs: Vec<NodeSpec>,
    interval: Duration,
    version: Version,
}

fn cluster(rng: &mut ChaCha8Rng) -> Cluster {
    let n = rng.random_range(2..=5usize);
    let version = if rng.random_bool(0.5) {
        Version::V2
    } else {
        Version::V3
    };
    let interval = match version {
        Version::V2 => Duration::from_secs(1),
        Version::V3 => Duration::from_millis(10 * rng.random_range(10..=100u64)),
    };
    let vip: IpAddr = "10.0.0.100".parse().unwrap();
    let specs = (0..n)
        .map(|i| {
            let addr: IpAddr = format!("10.0.0.{}", i + 1).parse().unwrap();
            let priority = if rng.random_bool(0.05) {
                255
            } else if rng.random_bool(0.2) {
                100 // ties
            } else {
                rng.random_range(1..=254u8)
            };
            let mut c = InstanceConfig::new("VI_1", VRID, priority, version, vec![vip]);
            c.src_addr = Some(addr);
            c.advert_interval = interval;
            c.want_master = priority == 255 || rng.random_bool(0.3);
            c.nopreempt = !c.want_master && rng.random_bool(0.1);
            c.trackers = vec![
                TrackerRef {
                    id: weighted(),
                    weight: rng.random_range(-80..=40),
                    reverse: false,
                },
                TrackerRef {
                    id: fatal(),
                    weight: 0,
                    reverse: false,
                },
            ];
            NodeSpec {
                addr,
                instances: vec![c],
                groups: vec![],
            }
        })
        .collect();
    Cluster {
        specs,
        interval,
        version,
    }
}

/// Reports the initial tracker results of a (re)started node.
fn report_trackers(sim: &mut Sim, node: usize) {
    sim.tracker(node, fatal(), TrackerStatus::Up);
    sim.tracker(node, weighted(), TrackerStatus::Up);
}

fn longest_down(c: &Cluster) -> Duration {
    timers::master_down(c.version, 1, c.interval, 3)
}

fn describe(sim: &Sim) -> String {
    let mut s = String::new();
    for n in 0..sim.len() {
        s += &format!(
            "node {n} {} alive={} state={:?} prio={:?} cfg_prio={} nopreempt={}",
            sim.spec(n).addr,
            sim.alive(n),
            sim.state(n, VRID),
            sim.priority(n, VRID),
            sim.spec(n).instances[0].priority,
            sim.spec(n).instances[0].nopreempt
        );
        if let Some(i) = sim.spec(n).instances.get(1) {
            s += &format!(
                " | vrid {} state={:?} prio={:?}",
                i.vrid,
                sim.state(n, i.vrid),
                sim.priority(n, i.vrid)
            );
        }
        s += "\n";
    }
    for t in sim
        .transitions
        .iter()
        .rev()
        .take(30)
        .collect::<Vec<_>>()
        .iter()
        .rev()
    {
        s += &format!(
            "  {} node {} vrid {} {:?}->{:?} {:?}\n",
            t.at, t.node, t.vrid, t.from, t.to, t.reason
        );
    }
    s
}

/// One master, and it has the highest effective priority among live, non-faulty routers,
/// unless every better router has nopreempt (then a live lower master may keep the role).
fn check_election(sim: &Sim, seed: u64) {
    let live: Vec<usize> = (0..sim.len())
        .filter(|&n| matches!(sim.state(n, VRID), Some(State::Master | State::Backup)))
        .collect();
    let masters = sim.masters(VRID);
    if live.is_empty() {
        assert!(masters.is_empty(), "seed {seed}\n{}", describe(sim));
        return;
    }
    assert_eq!(
        masters.len(),
        1,
        "seed {seed}: masters {masters:?}\n{}",
        describe(sim)
    );
    let m = masters[0];
    assert_eq!(
        sim.holders(VRID),
        vec![m],
        "seed {seed}: VIP holders\n{}",
        describe(sim)
    );
    let pm = sim.priority(m, VRID).unwrap();
    for &n in &live {
        let pn = sim.priority(n, VRID).unwrap();
        if pn > pm {
            assert!(
                sim.spec(n).instances[0].nopreempt,
                "seed {seed}: node {n} (prio {pn}) should have preempted node {m} (prio {pm})\n{}",
                describe(sim)
            );
        }
    }
}

fn chaos(sim: &mut Sim, c: &Cluster, rng: &mut ChaCha8Rng) {
    let steps = rng.random_range(5..=25);
    for _ in 0..steps {
        let n = rng.random_range(0..sim.len());
        match rng.random_range(0..9) {
            0 => sim.crash(n),
            1 => sim.shutdown(n),
            2 | 3 => {
                if !sim.alive(n) {
                    sim.start(n);
                    report_trackers(sim, n);
                }
            }
            4 => {
                let side: Vec<usize> = (0..sim.len()).filter(|_| rng.random_bool(0.5)).collect();
                sim.net.partition(&side);
            }
            5 => sim.net.heal(),
            6 => {
                let loss = rng.random_range(0..50) as f64 / 100.0;
                let jitter = c.interval / rng.random_range(4..=20);
                sim.net.set_all(Link {
                    loss,
                    jitter,
                    ..Link::default()
                });
            }
            7 => {
                let st = if rng.random_bool(0.5) {
                    TrackerStatus::Down
                } else {
                    TrackerStatus::Up
                };
                sim.tracker(n, weighted(), st);
            }
            _ => {
                let st = if rng.random_bool(0.3) {
                    TrackerStatus::Down
                } else {
                    TrackerStatus::Up
                };
                sim.tracker(n, fatal(), st);
            }
        }
        let gap = c.interval * rng.random_range(1..=8) / 2;
        sim.run_until(sim.now() + gap);
    }
}

#[test]
fn one_master_with_the_highest_priority_after_chaos() {
    for seed in seeds() {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let c = cluster(&mut rng);
        let mut sim = Sim::new(seed, c.specs.clone());
        for n in 0..sim.len() {
            report_trackers(&mut sim, n);
        }
        chaos(&mut sim, &c, &mut rng);
        // Stable from here: no loss, no partition, nothing changes.
        sim.net.set_all(Link::default());
        let settle = longest_down(&c) * 2 + c.interval * 2;
        sim.run_until(sim.now() + settle);
        // The election holds and keeps holding.
        for _ in 0..5 {
            check_election(&sim, seed);
            sim.run_until(sim.now() + c.interval);
        }
        assert_eq!(sim.drops, 0, "seed {seed}: a healthy cluster drops nothing");
        if std::env::var("LVSD_SIM_SEED").is_ok() {
            eprintln!("{}", describe(&sim));
        }
    }
}

/// The stable master and the backup that must take over from it.
fn stable(seed: u64) -> (Sim, Cluster, usize, usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    let mut c = cluster(&mut rng);
    // Distinct priorities below 255 so that the successor is unique.
    let n = c.specs.len();
    let mut prios: Vec<u8> = (0..n).map(|i| 50 + 20 * i as u8).collect();
    for i in (1..n).rev() {
        prios.swap(i, rng.random_range(0..=i));
    }
    for (s, p) in c.specs.iter_mut().zip(&prios) {
        let i = &mut s.instances[0];
        i.priority = *p;
        i.want_master = false;
        i.nopreempt = false;
        i.trackers.clear();
    }
    let mut sim = Sim::new(seed, c.specs.clone());
    sim.run_until(Time::ZERO + longest_down(&c) * 3);
    let masters = sim.masters(VRID);
    assert_eq!(masters.len(), 1, "seed {seed}\n{}", describe(&sim));
    let best = (0..n).max_by_key(|&i| prios[i]).unwrap();
    assert_eq!(masters[0], best);
    let next = (0..n)
        .filter(|&i| i != best)
        .max_by_key(|&i| prios[i])
        .unwrap();
    (sim, c, best, next)
}

fn takeover_after(sim: &mut Sim, c: &Cluster, from: Time, next: usize) -> Duration {
    sim.run_until(from + longest_down(c) * 3);
    let t = sim
        .transitions
        .iter()
        .find(|t| t.at > from && t.to == State::Master)
        .unwrap_or_else(|| panic!("no takeover\n{}", describe(sim)));
    assert_eq!(
        t.node,
        next,
        "the highest backup takes over\n{}",
        describe(sim)
    );
    t.at - from
}

#[test]
fn takeover_after_a_crash_within_master_down_interval_plus_one_advert() {
    // RFC 5798 §6.4.2: a backup takes over Master_Down_Interval after the last advert.
    for seed in seeds().into_iter().take(200) {
        let (mut sim, c, master, next) = stable(seed);
        let t0 = sim.now() + c.interval / 3;
        sim.run_until(t0);
        sim.crash(master);
        let p = sim.priority(next, VRID).unwrap();
        let took = takeover_after(&mut sim, &c, t0, next);
        let mdi = timers::master_down(c.version, p, c.interval, 3);
        let skew = timers::skew(c.version, p, c.interval);
        let slack = Duration::from_millis(1);
        assert!(
            took <= mdi + c.interval + slack,
            "seed {seed}: {took:?} > {mdi:?} + {:?}",
            c.interval
        );
        assert!(
            took + c.interval >= c.interval * 3 + skew,
            "seed {seed}: {took:?} is too early"
        );
    }
}

#[test]
fn takeover_after_priority_zero_within_skew_plus_one_advert() {
    // RFC 5798 §6.4.2: on priority 0 the backup waits Skew_Time only.
    for seed in seeds().into_iter().take(200) {
        let (mut sim, c, master, next) = stable(seed);
        let t0 = sim.now() + c.interval / 3;
        sim.run_until(t0);
        sim.shutdown(master);
        let p = sim.priority(next, VRID).unwrap();
        let took = takeover_after(&mut sim, &c, t0, next);
        let skew = timers::skew(c.version, p, c.interval);
        let slack = Duration::from_millis(1);
        assert!(took <= skew + c.interval + slack, "seed {seed}: {took:?}");
        assert!(took >= skew, "seed {seed}: {took:?} < skew {skew:?}");
        assert!(sim.sent.iter().any(|s| s.node == master && s.priority == 0));
    }
}

#[test]
fn same_seed_same_history() {
    let run = |seed| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let c = cluster(&mut rng);
        let mut sim = Sim::new(seed, c.specs.clone());
        chaos(&mut sim, &c, &mut rng);
        sim.transitions.clone()
    };
    assert_eq!(run(42), run(42));
}

/// Every node runs a sync group of two instances (outside VIP, inside gateway — the LVS-NAT
/// layout of the seeds). After chaos and healing both VRIDs have their master on one node.
#[test]
fn sync_groups_keep_both_vrids_on_one_node() {
    for seed in seeds() {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x9e37);
        let mut c = cluster(&mut rng);
        for s in &mut c.specs {
            let mut inside = s.instances[0].clone();
            inside.name = "VI_IN".into();
            inside.vrid = VRID + 1;
            inside.vips = vec!["192.168.0.254".parse().unwrap()];
            inside.interface = Some("eth1".into());
            // Both members share the priority (and the trackers): the supported layout.
            // Members that disagree between directors are tested below.
            s.instances.push(inside);
            s.groups = vec![("G".into(), vec![0, 1])];
        }
        let mut sim = Sim::new(seed, c.specs.clone());
        for n in 0..sim.len() {
            report_trackers(&mut sim, n);
        }
        chaos(&mut sim, &c, &mut rng);
        // A real LAN has some jitter; it is what breaks the symmetric dance of two groups
        // whose members disagree on the best node (see the README).
        sim.net.set_all(Link {
            jitter: Duration::from_micros(100),
            ..Link::default()
        });
        sim.run_until(sim.now() + longest_down(&c) * 6 + c.interval * 2);
        for _ in 0..3 {
            let live = (0..sim.len())
                .any(|n| matches!(sim.state(n, VRID), Some(State::Master | State::Backup)));
            if live {
                assert_eq!(
                    sim.masters(VRID).len(),
                    1,
                    "seed {seed}\n{}",
                    describe(&sim)
                );
            }
            assert_eq!(
                sim.masters(VRID),
                sim.masters(VRID + 1),
                "seed {seed}: the group is split\n{}",
                describe(&sim)
            );
            sim.run_until(sim.now() + c.interval);
        }
    }
}

/// Two directors whose groups disagree: A is best on VRID 51, B on VRID 52. Both go master,
/// each preempts the other on one VRID, both groups step down together — and, with identical
/// timers, would do it again forever (keepalived does). lvsd's tie-break (the lower address
/// waits one more interval after such a step-down) ends it on a perfectly regular network.
#[test]
fn conflicting_sync_groups_do_not_dance_forever() {
    for (pa, pb) in [
        ((200u8, 100u8), (100u8, 200u8)),
        ((150, 120), (120, 150)),
        ((100, 100), (100, 100)),
    ] {
        let mk = |addr: &str, p: (u8, u8)| {
            let addr: IpAddr = addr.parse().unwrap();
            let mut out = InstanceConfig::new(
                "VI_OUT",
                VRID,
                p.0,
                Version::V2,
                vec!["10.0.0.100".parse().unwrap()],
            );
            out.src_addr = Some(addr);
            let mut inside = InstanceConfig::new(
                "VI_IN",
                VRID + 1,
                p.1,
                Version::V2,
                vec!["192.168.0.254".parse().unwrap()],
            );
            inside.src_addr = Some(addr);
            inside.interface = Some("eth1".into());
            NodeSpec {
                addr,
                instances: vec![out, inside],
                groups: vec![("G".into(), vec![0, 1])],
            }
        };
        let mut sim = Sim::new(7, vec![mk("10.0.0.1", pa), mk("10.0.0.2", pb)]);
        sim.run_until(Time::from_millis(30_000));
        let flaps = sim
            .transitions
            .iter()
            .filter(|t| t.at > Time::from_millis(15_000))
            .count();
        assert_eq!(
            flaps,
            0,
            "{pa:?} {pb:?}: still changing state after 15 s\n{}",
            describe(&sim)
        );
        assert_eq!(sim.masters(VRID).len(), 1);
        assert_eq!(sim.masters(VRID), sim.masters(VRID + 1));
    }
}
