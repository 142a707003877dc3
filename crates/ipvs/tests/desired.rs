//! The desired table follows keepalived: down real servers out (or weight 0 with
//! inhibit_on_failure), dynamic weights, quorum and the sorry server.

use lvsd_ipvs::desired::{self, from_config, quorum_limits, quorum_lost, AllUp, Health};
use lvsd_ipvs::{Dest, Forward, Table};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::Path;

fn cfg(text: &str) -> lvsd_config::Config {
    let loaded = lvsd_config::load_str(Path::new("t.conf"), text.as_bytes(), &Default::default());
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    loaded.config
}

/// A test health: the real servers listed in `down` are down; dynamic weights; quorum state.
#[derive(Default)]
struct H {
    down: BTreeSet<(usize, usize)>,
    weights: BTreeMap<(usize, usize), i32>,
    lost: Option<bool>,
}

impl Health for H {
    fn up(&self, vs: usize, rs: usize) -> bool {
        !self.down.contains(&(vs, rs))
    }
    fn weight(&self, vs: usize, rs: usize) -> Option<i32> {
        self.weights.get(&(vs, rs)).copied()
    }
    fn quorum_lost(&self, _vs: usize) -> Option<bool> {
        self.lost
    }
}

fn down(list: &[(usize, usize)]) -> H {
    H {
        down: list.iter().copied().collect(),
        ..H::default()
    }
}

/// The destinations of the only service: (address, port, weight, forward).
fn dests(t: &Table) -> Vec<(IpAddr, u16, i32, Forward)> {
    assert_eq!(t.len(), 1);
    t.values()
        .next()
        .unwrap()
        .1
        .values()
        .map(|d: &Dest| (d.addr, d.port, d.weight, d.forward))
        .collect()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

const TWO: &str = "virtual_server 10.0.0.1 80 {\n lb_kind NAT\n protocol TCP\n \
    sorry_server 10.0.0.9 8080\n \
    real_server 10.0.0.2 80 {\n weight 2\n }\n \
    real_server 10.0.0.3 80 {\n weight 3\n inhibit_on_failure\n }\n}\n";

#[test]
fn all_up_programs_every_real_server() {
    let t = from_config(&cfg(TWO), &AllUp).unwrap();
    assert_eq!(
        dests(&t),
        vec![
            (ip("10.0.0.2"), 80, 2, Forward::Masq),
            (ip("10.0.0.3"), 80, 3, Forward::Masq)
        ]
    );
}

#[test]
fn down_real_server_is_out_or_inhibited() {
    let c = cfg(TWO);
    let t = from_config(&c, &down(&[(0, 0)])).unwrap();
    assert_eq!(dests(&t), vec![(ip("10.0.0.3"), 80, 3, Forward::Masq)]);
    let t = from_config(&c, &down(&[(0, 1)])).unwrap();
    assert_eq!(
        dests(&t),
        vec![
            (ip("10.0.0.2"), 80, 2, Forward::Masq),
            (ip("10.0.0.3"), 80, 0, Forward::Masq)
        ]
    );
}

#[test]
fn dynamic_weight_replaces_the_configured_one() {
    let c = cfg(TWO);
    let mut h = H::default();
    h.weights.insert((0, 0), 7);
    let t = from_config(&c, &h).unwrap();
    assert_eq!(dests(&t)[0], (ip("10.0.0.2"), 80, 7, Forward::Masq));
    // A down, inhibited server stays at 0 whatever its dynamic weight.
    h.weights.insert((0, 1), 9);
    h.down.insert((0, 1));
    let t = from_config(&c, &h).unwrap();
    assert_eq!(dests(&t)[1], (ip("10.0.0.3"), 80, 0, Forward::Masq));
}

#[test]
fn quorum_lost_installs_the_sorry_server_and_takes_every_real_server_out() {
    let c = cfg(TWO);
    // All down (weight sum 0): the sorry server at weight 1, the inhibited RS at 0.
    let t = from_config(&c, &down(&[(0, 0), (0, 1)])).unwrap();
    assert_eq!(
        dests(&t),
        vec![
            (ip("10.0.0.3"), 80, 0, Forward::Masq),
            (ip("10.0.0.9"), 8080, 1, Forward::Masq)
        ]
    );
    // The health says quorum is lost although a server is alive: it is taken out too.
    let h = H {
        lost: Some(true),
        ..H::default()
    };
    let t = from_config(&c, &h).unwrap();
    assert_eq!(
        dests(&t),
        vec![
            (ip("10.0.0.3"), 80, 0, Forward::Masq),
            (ip("10.0.0.9"), 8080, 1, Forward::Masq)
        ]
    );
    // The health says quorum is up although none is alive (hysteresis): no sorry server.
    let h = H {
        down: [(0, 0), (0, 1)].into_iter().collect(),
        lost: Some(false),
        ..H::default()
    };
    let t = from_config(&c, &h).unwrap();
    assert_eq!(dests(&t), vec![(ip("10.0.0.3"), 80, 0, Forward::Masq)]);
}

#[test]
fn quorum_threshold_from_the_weight_sum() {
    // quorum 4: 2 + 3 = 5 is enough, 3 alone is not.
    let text = TWO.replace(" lb_kind NAT\n", " lb_kind NAT\n quorum 4\n");
    let c = cfg(&text);
    assert_eq!(dests(&from_config(&c, &down(&[])).unwrap()).len(), 2);
    let t = from_config(&c, &down(&[(0, 0)])).unwrap();
    assert_eq!(
        dests(&t),
        vec![
            (ip("10.0.0.3"), 80, 0, Forward::Masq),
            (ip("10.0.0.9"), 8080, 1, Forward::Masq)
        ]
    );
}

#[test]
fn quorum_lost_without_sorry_server_keeps_alive_servers() {
    let text = TWO
        .replace(" sorry_server 10.0.0.9 8080\n", "")
        .replace(" lb_kind NAT\n", " lb_kind NAT\n quorum 5\n");
    let c = cfg(&text);
    let t = from_config(&c, &down(&[(0, 1)])).unwrap();
    assert_eq!(
        dests(&t),
        vec![
            (ip("10.0.0.2"), 80, 2, Forward::Masq),
            (ip("10.0.0.3"), 80, 0, Forward::Masq)
        ]
    );
}

#[test]
fn sorry_server_inhibit_is_present_at_weight_zero_while_quorum_is_up() {
    let text = TWO.replace(
        " sorry_server 10.0.0.9 8080\n",
        " sorry_server 10.0.0.9 8080\n sorry_server_inhibit\n sorry_server_lvs_method DR\n",
    );
    let c = cfg(&text);
    let t = from_config(&c, &AllUp).unwrap();
    // DR keeps the service's port.
    assert_eq!(
        dests(&t),
        vec![
            (ip("10.0.0.2"), 80, 2, Forward::Masq),
            (ip("10.0.0.3"), 80, 3, Forward::Masq),
            (ip("10.0.0.9"), 80, 0, Forward::Route)
        ]
    );
    let t = from_config(&c, &down(&[(0, 0), (0, 1)])).unwrap();
    assert_eq!(
        dests(&t),
        vec![
            (ip("10.0.0.3"), 80, 0, Forward::Masq),
            (ip("10.0.0.9"), 80, 1, Forward::Route)
        ]
    );
}

#[test]
fn all_up_with_zero_weights_is_quorum_lost() {
    // keepalived: weight sum 0 = quorum lost; the real servers leave for the sorry server.
    let text = "virtual_server 10.0.0.1 80 {\n lb_kind DR\n protocol TCP\n \
        sorry_server 10.0.0.9 80\n real_server 10.0.0.2 80 {\n weight 0\n }\n}\n";
    let t = from_config(&cfg(text), &AllUp).unwrap();
    assert_eq!(dests(&t), vec![(ip("10.0.0.9"), 80, 1, Forward::Route)]);
}

#[test]
fn no_real_servers_gives_the_sorry_server() {
    let text = "virtual_server 10.0.0.1 80 {\n lb_kind NAT\n protocol TCP\n \
        sorry_server 10.0.0.9 80\n}\n";
    let t = from_config(&cfg(text), &AllUp).unwrap();
    assert_eq!(dests(&t), vec![(ip("10.0.0.9"), 80, 1, Forward::Masq)]);
}

#[test]
fn limits_are_capped() {
    let c = cfg(&TWO.replace(
        " lb_kind NAT\n",
        " lb_kind NAT\n quorum 100\n hysteresis 100\n",
    ));
    assert_eq!(quorum_limits(&c.virtual_servers[0]), (5, 4));
    let c = cfg(&TWO.replace(" lb_kind NAT\n", " lb_kind NAT\n quorum 3\n hysteresis 1\n"));
    assert_eq!(quorum_limits(&c.virtual_servers[0]), (3, 1));
    let c = cfg("virtual_server 10.0.0.1 80 {\n lb_kind NAT\n protocol TCP\n quorum 3\n}\n");
    assert_eq!(quorum_limits(&c.virtual_servers[0]), (0, 0));
}

#[test]
fn quorum_rule_with_hysteresis() {
    // quorum 3, hysteresis 1: lost below 2, gained from 4; 0 is always lost.
    let (q, h) = (3, 1);
    assert!(!quorum_lost(false, 2, q, h));
    assert!(quorum_lost(false, 1, q, h));
    assert!(quorum_lost(true, 3, q, h));
    assert!(!quorum_lost(true, 4, q, h));
    assert!(quorum_lost(false, 0, 0, 0));
    assert!(quorum_lost(true, 0, 0, 0));
    assert!(!quorum_lost(true, 1, 0, 0));
}

#[test]
fn all_up_is_unchanged_for_plain_configs() {
    // Every seed configuration: AllUp programs each real server at its weight.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/tests/fixtures/seeds");
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_none_or(|x| x != "conf") {
            continue;
        }
        let loaded = lvsd_config::load_file(&p, &Default::default());
        let Ok(t) = desired::from_config(&loaded.config, &AllUp) else {
            continue;
        };
        for vs in &loaded.config.virtual_servers {
            if vs.sorry_server.is_some() || vs.real_servers.iter().all(|r| r.weight == 0) {
                continue;
            }
            let n: usize = t
                .values()
                .flat_map(|(_, d)| d.values())
                .filter(|d| vs.real_servers.iter().any(|r| r.ip == d.addr))
                .count();
            assert!(n > 0, "{}: no real server of {:?}", p.display(), vs.key);
        }
    }
}
