//! From checker states to real servers and quorum (keepalived-behaviour §3.2, §3.3).

use lvsd_check::health::{no_admin, CheckerId, Health, HealthEvent};
use lvsd_check::machine::CheckState::{self, Down, Up};
use lvsd_config::Config;
use lvsd_ipvs::Forward;
use std::collections::HashMap;
use std::path::Path;

fn cfg(text: &str) -> Config {
    let loaded = lvsd_config::load_str(Path::new("t.conf"), text.as_bytes(), &Default::default());
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    loaded.config
}

/// A virtual server 10.0.0.1:80 with `extra` lines and real servers 10.0.0.(2+i) of the given
/// weights, each with `checkers` TCP_CHECKs.
fn vs(extra: &str, weights: &[i32], checkers: usize) -> String {
    let mut s = format!("virtual_server 10.0.0.1 80 {{\n protocol TCP\n{extra}");
    for (i, w) in weights.iter().enumerate() {
        s += &format!(" real_server 10.0.0.{} 80 {{\n weight {w}\n", 2 + i);
        for _ in 0..checkers {
            s += " TCP_CHECK {\n }\n";
        }
        s += " }\n";
    }
    s + "}\n"
}

fn id(vs: usize, rs: usize, checker: usize) -> CheckerId {
    CheckerId { vs, rs, checker }
}

fn set(h: &mut Health, c: CheckerId, s: CheckState) -> Vec<HealthEvent> {
    let mut out = Vec::new();
    h.checker(c, s, &mut out);
    out
}

use HealthEvent::*;

#[test]
fn real_servers_start_alive_and_quorum_up() {
    let h = Health::new(&cfg(&vs("", &[1, 2], 1)));
    assert!(h.rs_alive(0, 0) && h.rs_alive(0, 1));
    assert!(h.quorum_up(0));
    assert_eq!(h.weight_sum(0), 3);
    assert_eq!(h.failed_checkers(0, 0), 0);
    assert_eq!(h.checker_state(id(0, 0, 0)), Some(Up));
    assert!(h.initial_events().is_empty());
}

#[test]
fn alpha_starts_down_with_quorum_lost() {
    let h = Health::new(&cfg(&vs(" alpha\n", &[1, 2], 1)));
    assert!(!h.rs_alive(0, 0) && !h.rs_alive(0, 1));
    assert_eq!(h.failed_checkers(0, 1), 1);
    assert!(!h.quorum_up(0));
    assert_eq!(h.initial_events(), vec![QuorumLost { vs: 0 }]);
}

#[test]
fn no_checker_is_always_alive_and_no_real_server_is_quorum_lost() {
    let c = cfg(&format!(
        "{}{}",
        vs(" alpha\n", &[1], 0),
        "virtual_server 10.0.0.9 80 {\n protocol TCP\n}\n"
    ));
    let h = Health::new(&c);
    assert!(h.rs_alive(0, 0));
    assert!(h.quorum_up(0));
    assert!(!h.quorum_up(1));
    assert_eq!(h.initial_events(), vec![QuorumLost { vs: 1 }]);
}

#[test]
fn a_real_server_is_alive_while_all_its_checkers_are_up() {
    let mut h = Health::new(&cfg(&vs("", &[1, 1], 2)));
    assert_eq!(
        set(&mut h, id(0, 0, 0), Down),
        vec![RsDown { vs: 0, rs: 0 }]
    );
    assert_eq!(h.failed_checkers(0, 0), 1);
    // The second checker failing too changes nothing for the server.
    assert_eq!(set(&mut h, id(0, 0, 1), Down), vec![]);
    assert_eq!(h.failed_checkers(0, 0), 2);
    // One back up: still down.
    assert_eq!(set(&mut h, id(0, 0, 0), Up), vec![]);
    assert!(!h.rs_alive(0, 0));
    // Both up: alive.
    assert_eq!(set(&mut h, id(0, 0, 1), Up), vec![RsUp { vs: 0, rs: 0 }]);
    assert!(h.rs_alive(0, 0));
    // Repeating a state is not an event.
    assert_eq!(set(&mut h, id(0, 0, 1), Up), vec![]);
}

#[test]
fn last_server_down_loses_quorum_after_the_server_event() {
    let mut h = Health::new(&cfg(&vs("", &[1, 1], 1)));
    assert_eq!(
        set(&mut h, id(0, 0, 0), Down),
        vec![RsDown { vs: 0, rs: 0 }]
    );
    assert!(h.quorum_up(0));
    assert_eq!(
        set(&mut h, id(0, 1, 0), Down),
        vec![RsDown { vs: 0, rs: 1 }, QuorumLost { vs: 0 }]
    );
    assert_eq!(h.weight_sum(0), 0);
    assert_eq!(
        set(&mut h, id(0, 1, 0), Up),
        vec![RsUp { vs: 0, rs: 1 }, QuorumGained { vs: 0 }]
    );
}

#[test]
fn quorum_with_hysteresis() {
    // Four servers of weight 1, quorum 3, hysteresis 1: lost below 2, gained from 4.
    let mut h = Health::new(&cfg(&vs(" quorum 3\n hysteresis 1\n", &[1, 1, 1, 1], 1)));
    assert!(h.quorum_up(0));
    let mut events = Vec::new();
    for (rs, s) in [(0, Down), (1, Down), (2, Down)] {
        events.extend(set(&mut h, id(0, rs, 0), s));
        if rs < 2 {
            assert!(h.quorum_up(0), "weight sum {}", h.weight_sum(0));
        }
    }
    assert_eq!(events.last(), Some(&QuorumLost { vs: 0 }));
    assert!(!h.quorum_up(0));
    // Back to 2, then 3: still lost (needs 4).
    set(&mut h, id(0, 0, 0), Up);
    set(&mut h, id(0, 1, 0), Up);
    assert_eq!(h.weight_sum(0), 3);
    assert!(!h.quorum_up(0));
    assert_eq!(
        set(&mut h, id(0, 2, 0), Up),
        vec![RsUp { vs: 0, rs: 2 }, QuorumGained { vs: 0 }]
    );
    // Down to 3 and 2: kept.
    set(&mut h, id(0, 0, 0), Down);
    set(&mut h, id(0, 1, 0), Down);
    assert!(h.quorum_up(0));
}

#[test]
fn quorum_and_hysteresis_are_capped() {
    // quorum 10 with a total weight of 3 is 3; hysteresis 5 is quorum − 1 = 2. So quorum is
    // gained again at 3 + 2 = 5 > 3: never, once lost — but it starts up and is lost only
    // below 1, i.e. at 0.
    let mut h = Health::new(&cfg(&vs(" quorum 10\n hysteresis 5\n", &[1, 2], 1)));
    assert!(h.quorum_up(0));
    set(&mut h, id(0, 1, 0), Down);
    assert!(h.quorum_up(0));
    assert_eq!(
        set(&mut h, id(0, 0, 0), Down),
        vec![RsDown { vs: 0, rs: 0 }, QuorumLost { vs: 0 }]
    );
    // quorum 10 capped at 3, no hysteresis: lost below 3, gained at 3.
    let mut h = Health::new(&cfg(&vs(" quorum 10\n", &[1, 2], 1)));
    assert!(h.quorum_up(0));
    assert_eq!(
        set(&mut h, id(0, 0, 0), Down),
        vec![RsDown { vs: 0, rs: 0 }, QuorumLost { vs: 0 }]
    );
    assert_eq!(
        set(&mut h, id(0, 0, 0), Up),
        vec![RsUp { vs: 0, rs: 0 }, QuorumGained { vs: 0 }]
    );
}

#[test]
fn dynamic_weights() {
    let mut h = Health::new(&cfg(&vs(" quorum 2\n", &[1, 1], 1)));
    let mut out = Vec::new();
    h.dynamic_weight(0, 0, 5, &mut out);
    assert_eq!(
        out,
        vec![WeightChanged {
            vs: 0,
            rs: 0,
            weight: 5
        }]
    );
    assert_eq!(h.weight_sum(0), 6);
    assert_eq!(h.rs_weight(0, 0), Some(5));
    // The same weight again: nothing.
    out.clear();
    h.dynamic_weight(0, 0, 5, &mut out);
    assert!(out.is_empty());
    // Weight 0 on one, the other down: quorum lost by the weight change.
    set(&mut h, id(0, 1, 0), Down);
    assert!(h.quorum_up(0));
    h.dynamic_weight(0, 0, 0, &mut out);
    assert_eq!(
        out,
        vec![
            WeightChanged {
                vs: 0,
                rs: 0,
                weight: 0
            },
            QuorumLost { vs: 0 }
        ]
    );
    // A down server's weight changes nothing for quorum.
    out.clear();
    h.dynamic_weight(0, 1, 9, &mut out);
    assert_eq!(
        out,
        vec![WeightChanged {
            vs: 0,
            rs: 1,
            weight: 9
        }]
    );
    assert!(!h.quorum_up(0));
    // It counts once up.
    assert_eq!(
        set(&mut h, id(0, 1, 0), Up),
        vec![RsUp { vs: 0, rs: 1 }, QuorumGained { vs: 0 }]
    );
    assert_eq!(h.weight_sum(0), 9);
}

#[test]
fn unknown_ids_are_ignored() {
    let mut h = Health::new(&cfg(&vs("", &[1], 1)));
    assert!(set(&mut h, id(5, 0, 0), Down).is_empty());
    assert!(set(&mut h, id(0, 5, 0), Down).is_empty());
    assert!(set(&mut h, id(0, 0, 5), Down).is_empty());
    let mut out = Vec::new();
    h.dynamic_weight(3, 3, 3, &mut out);
    assert!(out.is_empty());
    assert!(!h.rs_alive(3, 0));
    assert!(!h.quorum_up(3));
    assert_eq!(h.weight_sum(3), 0);
    assert_eq!(h.failed_checkers(3, 3), 0);
    assert_eq!(h.checker_state(id(0, 0, 3)), None);
}

#[test]
fn reload_keeps_surviving_state_silently() {
    let old = cfg(&vs("", &[1, 1, 1], 1));
    let mut h = Health::new(&old);
    set(&mut h, id(0, 0, 0), Down);
    let mut out = Vec::new();
    h.dynamic_weight(0, 1, 4, &mut out);
    // New config: 10.0.0.2 moves to the end, 10.0.0.3 and 10.0.0.4 stay, 10.0.0.5 is new;
    // a new virtual server with alpha.
    let new = cfg(&format!(
        "virtual_server 10.0.0.1 80 {{\n protocol TCP\n \
         real_server 10.0.0.3 80 {{\n weight 1\n TCP_CHECK {{\n }}\n }}\n \
         real_server 10.0.0.4 80 {{\n weight 1\n TCP_CHECK {{\n }}\n }}\n \
         real_server 10.0.0.5 80 {{\n weight 1\n TCP_CHECK {{\n alpha\n }}\n }}\n \
         real_server 10.0.0.2 80 {{\n weight 1\n TCP_CHECK {{\n }}\n }}\n}}\n{}",
        vs(" alpha\n", &[1], 1).replace("10.0.0.1 80", "10.0.0.1 81")
    ));
    // What the pool knows: the surviving checkers' states by their new ids.
    let known: HashMap<CheckerId, CheckState> =
        [(id(0, 0, 0), Up), (id(0, 1, 0), Up), (id(0, 3, 0), Down)]
            .into_iter()
            .collect();
    let r = h.reload(&old, &new, &|c| known.get(&c).copied(), &no_admin);
    assert!(r.rs_alive(0, 0) && r.rs_alive(0, 1));
    assert!(!r.rs_alive(0, 2), "a new alpha checker starts down");
    assert!(!r.rs_alive(0, 3), "a failed server stays down");
    assert_eq!(r.checker_state(id(0, 3, 0)), Some(Down));
    // 10.0.0.3 kept its dynamic weight.
    assert_eq!(r.rs_weight(0, 0), Some(4));
    assert_eq!(r.weight_sum(0), 5);
    assert!(r.quorum_up(0));
    // The new virtual server: alpha, quorum lost.
    assert!(!r.quorum_up(1));
    assert_eq!(r.initial_events(), vec![QuorumLost { vs: 1 }]);
}

#[test]
fn reload_carries_quorum_state_by_key() {
    // quorum 2, hysteresis 1 over four servers: lost at 0, regained at 3. With a weight sum
    // of 2 after a loss, quorum stays lost across a reload that keeps the key, where a fresh
    // Health would start with it up.
    let old = cfg(&vs(" quorum 2\n hysteresis 1\n", &[1, 1, 1, 1], 1));
    let mut h = Health::new(&old);
    for rs in 0..4 {
        set(&mut h, id(0, rs, 0), Down);
    }
    set(&mut h, id(0, 0, 0), Up);
    set(&mut h, id(0, 1, 0), Up);
    assert!(!h.quorum_up(0));
    let states = |c: CheckerId| h.checker_state(c);
    let r = h.reload(&old, &old, &states, &no_admin);
    assert!(!r.quorum_up(0));
    assert!(Health::new(&old).quorum_up(0));
    // Another key: no carry-over (quorum as new, with the states given).
    let other = cfg(&vs(" quorum 2\n hysteresis 1\n", &[1, 1, 1, 1], 1).replace(" 80 {", " 81 {"));
    let r = h.reload(&old, &other, &states, &no_admin);
    assert!(r.quorum_up(0));
}

#[test]
fn reload_re_evaluates_quorum_against_the_new_servers() {
    // Quorum up with one alive server; the reload removes it: quorum is lost.
    let old = cfg(&vs("", &[1, 1], 1));
    let mut h = Health::new(&old);
    set(&mut h, id(0, 1, 0), Down);
    assert!(h.quorum_up(0));
    let new = cfg(&vs("", &[1], 1).replace("10.0.0.2", "10.0.0.3"));
    let r = h.reload(&old, &new, &|_| Some(Down), &no_admin);
    assert!(!r.quorum_up(0));
}

#[test]
fn drives_the_desired_table() {
    let c = cfg(&vs(
        " lb_kind NAT\n sorry_server 10.0.0.9 80\n inhibit_on_failure\n",
        &[1, 1],
        1,
    ));
    let mut h = Health::new(&c);
    let table = |h: &Health| {
        let t = lvsd_ipvs::desired::from_config(&c, h).unwrap();
        t.values()
            .next()
            .unwrap()
            .1
            .values()
            .map(|d| (d.addr.to_string(), d.weight, d.forward))
            .collect::<Vec<_>>()
    };
    let mut out = Vec::new();
    h.dynamic_weight(0, 0, 3, &mut out);
    assert_eq!(
        table(&h),
        vec![
            ("10.0.0.2".into(), 3, Forward::Masq),
            ("10.0.0.3".into(), 1, Forward::Masq)
        ]
    );
    set(&mut h, id(0, 1, 0), Down);
    assert_eq!(
        table(&h),
        vec![
            ("10.0.0.2".into(), 3, Forward::Masq),
            ("10.0.0.3".into(), 0, Forward::Masq)
        ]
    );
    set(&mut h, id(0, 0, 0), Down);
    assert_eq!(
        table(&h),
        vec![
            ("10.0.0.2".into(), 0, Forward::Masq),
            ("10.0.0.3".into(), 0, Forward::Masq),
            ("10.0.0.9".into(), 1, Forward::Masq)
        ]
    );
}

#[test]
fn reload_tells_tcp_and_udp_services_on_one_address_apart() {
    // DNS: a TCP and a UDP service on 10.0.0.1:53 share the address key; each keeps its own
    // state through a reload
    let text = "virtual_server 10.0.0.1 53 {\n protocol TCP\n real_server 10.0.0.2 53 {\n weight 1\n }\n}\n\
                virtual_server 10.0.0.1 53 {\n protocol UDP\n real_server 10.0.0.2 53 {\n weight 1\n }\n}\n";
    let c = cfg(text);
    assert_eq!(c.virtual_servers.len(), 2);
    let mut h = Health::new(&c);
    let mut out = Vec::new();
    h.dynamic_weight(1, 0, 9, &mut out);
    let r = h.reload(&c, &c, &|_| None, &no_admin);
    assert_eq!(
        r.rs_weight(0, 0),
        Some(1),
        "TCP keeps its configured weight"
    );
    assert_eq!(r.rs_weight(1, 0), Some(9), "UDP keeps its dynamic weight");
}

fn admin(h: &mut Health, vs: usize, rs: usize, a: lvsd_ipvs::desired::Admin) -> Vec<HealthEvent> {
    let mut out = Vec::new();
    h.set_admin(vs, rs, a, &mut out);
    out
}

#[test]
fn an_operators_hold_takes_a_real_server_out_and_enable_returns_it_only_if_its_checks_pass() {
    use lvsd_ipvs::desired::Admin;
    let mut h = Health::new(&cfg(&vs("", &[1, 1], 1)));
    // drained: down for the quorum and the scripts, its checker still up
    assert_eq!(
        admin(&mut h, 0, 0, Admin::Drain),
        vec![RsDown { vs: 0, rs: 0 }]
    );
    assert!(!h.rs_alive(0, 0) && h.checks_pass(0, 0));
    assert_eq!(h.weight_sum(0), 1);
    // drain -> out is no event (it was already down)
    assert_eq!(admin(&mut h, 0, 0, Admin::Out), vec![]);
    // the other one too: the quorum goes
    assert_eq!(
        admin(&mut h, 0, 1, Admin::Out),
        vec![RsDown { vs: 0, rs: 1 }, QuorumLost { vs: 0 }]
    );
    // a check fails while disabled: no event; enable leaves it down
    assert_eq!(set(&mut h, id(0, 1, 0), Down), vec![]);
    assert_eq!(admin(&mut h, 0, 1, Admin::None), vec![]);
    assert!(!h.rs_alive(0, 1));
    // its check passes again: up, quorum back
    assert_eq!(
        set(&mut h, id(0, 1, 0), Up),
        vec![RsUp { vs: 0, rs: 1 }, QuorumGained { vs: 0 }]
    );
    // enable of a passing one is RsUp at once
    assert_eq!(
        admin(&mut h, 0, 0, Admin::None),
        vec![RsUp { vs: 0, rs: 0 }]
    );
}

#[test]
fn a_reload_and_a_start_take_the_holds_they_are_given() {
    use lvsd_ipvs::desired::{Admin, Health as _};
    let c = cfg(&vs("", &[1, 1], 1));
    let held = |vs: usize, rs: usize| {
        if (vs, rs) == (0, 1) {
            Admin::Out
        } else {
            Admin::None
        }
    };
    let h = Health::with_admin(&c, &held);
    assert!(h.rs_alive(0, 0) && !h.rs_alive(0, 1));
    assert_eq!(h.admin(0, 1), Admin::Out);
    let r = Health::new(&c).reload(&c, &c, &|_| Some(Up), &held);
    assert_eq!(r.rs_admin(0, 1), Admin::Out);
    assert_eq!(r.weight_sum(0), 1);
    let (table, _) = lvsd_ipvs::desired::from_config_partial(&c, &r);
    let dests: Vec<String> = table
        .values()
        .flat_map(|(_, d)| d.values().map(|d| d.addr.to_string()))
        .collect();
    assert_eq!(dests, vec!["10.0.0.2"]);
    let drain = |vs: usize, rs: usize| {
        if (vs, rs) == (0, 1) {
            Admin::Drain
        } else {
            Admin::None
        }
    };
    let r = Health::new(&c).reload(&c, &c, &|_| Some(Up), &drain);
    let (table, _) = lvsd_ipvs::desired::from_config_partial(&c, &r);
    let weights: Vec<(String, i32)> = table
        .values()
        .flat_map(|(_, d)| d.values().map(|d| (d.addr.to_string(), d.weight)))
        .collect();
    assert_eq!(
        weights,
        vec![("10.0.0.2".into(), 1), ("10.0.0.3".into(), 0)]
    );
}
