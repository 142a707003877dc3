//! Replay tests: one per protocol rule. Timed inputs, the exact actions expected.
//! The rule each test checks is cited (RFC 3768 = v2, RFC 5798 = v3, "ka" = keepalived
//! behaviour as measured, ../shared/research/keepalived-behaviour.md §2).

mod common;
use common::*;
use lvsd_vrrp::config::{AddrMismatch, AuthConfig, UnicastPeer};
use lvsd_vrrp::event::{Event, InstanceId};
use lvsd_vrrp::track::{TrackerId, TrackerKind, TrackerRef, TrackerStatus};
use lvsd_vrrp::State;
use std::time::Duration;

fn master_at_3_609375() -> Replay {
    let mut r = Replay::new(v2(100));
    r.start(0.0);
    r.timer(3.609375);
    assert_eq!(r.state(0), State::Master);
    r
}

#[test]
fn startup_waits_master_down_interval_then_takes_over() {
    // RFC 3768 §6.4.1: non-owner starts as Backup, Master_Down_Timer = 3 × 1 + (256-100)/256.
    let mut r = Replay::new(v2(100));
    assert_eq!(
        r.start(0.0),
        ["notify INIT->BACKUP Startup", "arm 3.609375"]
    );
    assert!(r.timer(3.6).is_empty());
    // RFC 3768 §6.4.2: timer expiry → advert first, then addresses, then gratuitous ARP.
    assert_eq!(
        r.timer(3.609375),
        [
            "send 100",
            "add",
            "garp 5",
            "notify BACKUP->MASTER MasterDown",
            "arm 4.609375"
        ]
    );
    // RFC 3768 §6.4.3: a master sends an advert every Advertisement_Interval.
    assert_eq!(r.timer(4.609375), ["send 100", "arm 5.609375"]);
}

#[test]
fn state_master_without_priority_255_still_waits() {
    // ka §2.1: `state MASTER` only matters for an address owner.
    let mut c = v2(100);
    c.want_master = true;
    let mut r = Replay::new(c);
    assert_eq!(
        r.start(0.0),
        ["notify INIT->BACKUP Startup", "arm 3.609375"]
    );
}

#[test]
fn owner_with_state_master_is_master_at_once() {
    // RFC 3768 §6.4.1: priority 255 → Master immediately (ka: after 1 µs in BACKUP).
    let mut r = Replay::new(v2(255));
    assert_eq!(
        r.start(0.0),
        [
            "notify INIT->BACKUP Startup",
            "send 255",
            "add",
            "garp 5",
            "notify BACKUP->MASTER Owner",
            "arm 1.000000"
        ]
    );
}

#[test]
fn owner_with_state_backup_waits_only_skew_free_interval() {
    let mut c = v2(255);
    c.want_master = false;
    let mut r = Replay::new(c);
    // Skew for 255 is 1/256 s.
    assert_eq!(
        r.start(0.0),
        ["notify INIT->BACKUP Startup", "arm 3.003906"]
    );
}

#[test]
fn backup_accepts_higher_priority_and_resets_down_timer() {
    // RFC 3768 §6.4.2: priority ≥ local → reset Master_Down_Timer.
    let mut r = Replay::new(v2(100));
    r.start(0.0);
    let p = Peer::new(HIGHER, &v2(100), 110);
    assert_eq!(r.recv(1.0, &p), ["arm 4.609375"]);
    assert_eq!(
        r.router.instance(InstanceId(0)).current_master().unwrap().1,
        110
    );
}

#[test]
fn backup_accepts_equal_priority_from_any_address() {
    // ka §2.5 (lab-verified): equal priority in BACKUP is accepted, whatever the address.
    let mut r = Replay::new(v2(100));
    r.start(0.0);
    let p = Peer::new(LOWER, &v2(100), 100);
    assert_eq!(r.recv(1.0, &p), ["arm 4.609375"]);
}

#[test]
fn backup_discards_lower_priority_and_preempts() {
    // RFC 3768 §6.4.2: lower priority with Preempt_Mode → discard; the timer runs out.
    let mut r = Replay::new(v2(100));
    r.start(0.0);
    let p = Peer::new(LOWER, &v2(100), 50);
    assert_eq!(r.recv(1.0, &p), ["ignore-lower 10.0.0.1 50"]);
    assert_eq!(r.recv(2.0, &p), ["ignore-lower 10.0.0.1 50"]);
    assert_eq!(r.timer(3.609375)[..2], ["send 100", "add"]);
}

#[test]
fn nopreempt_accepts_lower_priority() {
    // RFC 3768 §6.4.2: Preempt_Mode False → accept any priority.
    let mut c = v2(100);
    c.nopreempt = true;
    let mut r = Replay::new(c);
    r.start(0.0);
    let p = Peer::new(LOWER, &v2(100), 50);
    assert_eq!(r.recv(1.0, &p), ["arm 4.609375"]);
    assert_eq!(r.recv(4.0, &p), ["arm 7.609375"]);
    assert_eq!(r.state(0), State::Backup);
}

#[test]
fn preempt_delay_accepts_lower_priority_until_it_expires() {
    // ka §2.5: the delay starts at the first lower-priority advert; until it ends adverts are
    // accepted, afterwards they are discarded and the down timer runs out.
    let mut c = v2(100);
    c.preempt_delay = Duration::from_secs(5);
    let mut r = Replay::new(c);
    r.start(0.0);
    let p = Peer::new(LOWER, &v2(100), 50);
    assert_eq!(r.recv(1.0, &p), ["arm 4.609375"]);
    assert_eq!(r.recv(5.9, &p), ["arm 9.509375"]);
    assert_eq!(r.recv(6.0, &p), ["ignore-lower 10.0.0.1 50"]);
    assert_eq!(r.timer(9.509375)[..2], ["send 100", "add"]);
}

#[test]
fn priority_zero_makes_backup_take_over_after_skew() {
    // RFC 3768 §6.4.2: priority 0 → Master_Down_Timer = Skew_Time. Lab: 0.649 s for 90.
    let mut r = Replay::new(v2(90));
    r.start(0.0);
    let p = Peer::new(HIGHER, &v2(90), 0);
    assert_eq!(r.recv(1.0, &p), ["arm 1.648437"]);
    assert_eq!(
        r.timer(1.648437)[..4],
        [
            "send 90",
            "add",
            "garp 5",
            "notify BACKUP->MASTER PriorityZero"
        ]
    );
}

#[test]
fn master_answers_lower_priority_with_advert_and_garp() {
    // RFC 9568 §6.4.3 / ka §2.6: stay master, advert at once, GARPs now and after the delay.
    let mut r = master_at_3_609375();
    let p = Peer::new(LOWER, &v2(100), 50);
    assert_eq!(
        r.recv(4.0, &p),
        ["rx-lower 10.0.0.1 50", "send 100", "garp 5", "arm 5.000000"]
    );
    assert_eq!(r.timer(5.0), ["send 100", "arm 6.000000"]);
    assert_eq!(r.timer(9.0), ["garp 5", "send 100", "arm 10.000000"]);
}

#[test]
fn master_with_lower_prio_no_advert_stays_quiet() {
    let mut c = v2(100);
    c.lower_prio_no_advert = true;
    let mut r = Replay::new(c);
    r.start(0.0);
    r.timer(3.609375);
    let p = Peer::new(LOWER, &v2(100), 50);
    assert_eq!(r.recv(4.0, &p), ["rx-lower 10.0.0.1 50"]);
}

#[test]
fn master_steps_down_on_higher_priority() {
    // RFC 3768 §6.4.3: higher priority → Backup, addresses removed.
    let mut r = master_at_3_609375();
    let p = Peer::new(LOWER, &v2(100), 200);
    assert_eq!(
        r.recv(4.0, &p),
        [
            "remove",
            "notify MASTER->BACKUP Preempted",
            "arm 7.609375" // 4 + 3 × 1 + (256-100)/256 with our priority
        ]
    );
}

#[test]
fn master_equal_priority_higher_address_wins() {
    // RFC 3768 §6.4.3: equal priority and the sender's primary address is higher → Backup.
    let mut r = master_at_3_609375();
    let p = Peer::new(HIGHER, &v2(100), 100);
    assert_eq!(
        r.recv(4.0, &p)[..2],
        ["remove", "notify MASTER->BACKUP Preempted"]
    );
}

#[test]
fn master_equal_priority_lower_address_stays() {
    let mut r = master_at_3_609375();
    let p = Peer::new(LOWER, &v2(100), 100);
    assert_eq!(r.recv(4.0, &p)[..2], ["rx-lower 10.0.0.1 100", "send 100"]);
    assert_eq!(r.state(0), State::Master);
}

#[test]
fn master_answers_priority_zero_at_once() {
    // RFC 3768 §6.4.3: priority 0 → send an advert, reset the advert timer.
    let mut r = master_at_3_609375();
    let p = Peer::new(LOWER, &v2(100), 0);
    assert_eq!(r.recv(4.0, &p), ["send 100", "arm 5.000000"]);
}

#[test]
fn higher_prio_send_advert_sends_before_yielding() {
    let mut c = v2(100);
    c.higher_prio_send_advert = true;
    let mut r = Replay::new(c);
    r.start(0.0);
    r.timer(3.609375);
    let p = Peer::new(LOWER, &v2(100), 200);
    assert_eq!(r.recv(4.0, &p)[..2], ["send 100", "remove"]);
}

#[test]
fn v3_backup_learns_master_interval() {
    // RFC 5798 §6.4.2: Master_Adver_Interval := advert's interval; skew scales with it.
    let mut r = Replay::new(v3(90, 1000));
    assert_eq!(r.start(0.0)[1], "arm 3.648437");
    let mut p = Peer::new(HIGHER, &v3(90, 1000), 100);
    p.advert.interval_cs = 10;
    // 3 × 0.1 + (256-90) × 0.1 / 256 = 0.364843
    assert_eq!(r.recv(1.0, &p), ["arm 1.364843"]);
    assert_eq!(
        r.router.instance(InstanceId(0)).master_adver_interval(),
        Duration::from_millis(100)
    );
}

#[test]
fn v3_priority_zero_skew_scales_with_interval() {
    // Lab: v3 at 0.1 s, priority 90 took over 0.073–0.077 s after priority 0 (skew 0.0648).
    let mut r = Replay::new(v3(90, 100));
    r.start(0.0);
    let p = Peer::new(HIGHER, &v3(90, 100), 0);
    assert_eq!(r.recv(1.0, &p), ["arm 1.064843"]);
}

#[test]
fn v2_interval_mismatch_is_dropped() {
    // RFC 3768 §7.1: the advert interval must match the local one.
    let mut r = Replay::new(v2(100));
    r.start(0.0);
    let mut p = Peer::new(HIGHER, &v2(100), 110);
    p.advert.interval_cs = 200;
    assert_eq!(r.recv(1.0, &p), ["drop interval"]);
}

#[test]
fn multicast_ttl_must_be_255() {
    // RFC 3768 §7.1: TTL ≠ 255 → discard.
    let mut r = Replay::new(v2(100));
    r.start(0.0);
    let mut p = Peer::new(HIGHER, &v2(100), 110);
    p.ttl = 64;
    assert_eq!(r.recv(1.0, &p), ["drop ttl"]);
    assert_eq!(r.router.stats().ttl, 1);
}

#[test]
fn each_bad_field_has_its_reason() {
    let mut r = Replay::new(v2(100));
    r.start(0.0);
    let p = Peer::new(HIGHER, &v2(100), 110);
    let good = p.bytes();
    let mut bad = good.clone();
    bad[0] = 0x41; // version 4
    assert_eq!(r.recv_bytes(1.0, &p, &bad), ["drop version"]);
    let mut bad = good.clone();
    bad[0] = 0x22; // type 2
    assert_eq!(r.recv_bytes(1.0, &p, &bad), ["drop type"]);
    let mut bad = good.clone();
    bad[1] = 52; // another VRID
    assert_eq!(r.recv_bytes(1.0, &p, &bad), ["drop unknown-vrid"]);
    assert_eq!(
        r.recv_bytes(1.0, &p, &good[..good.len() - 1]),
        ["drop length"]
    );
    let mut bad = good.clone();
    bad[2] = 111; // priority changed, checksum not
    assert_eq!(r.recv_bytes(1.0, &p, &bad), ["drop checksum"]);
    let v3 = Peer::new(HIGHER, &v3(100, 1000), 110);
    let mut v3p = Peer::new(HIGHER, &v2(100), 110);
    v3p.advert = v3.advert.clone();
    assert_eq!(r.recv(1.0, &v3p), ["drop version"]);
    let s = r.router.instance(InstanceId(0)).stats();
    assert_eq!(s.total_drops(), 3); // length, checksum, version (others are router-level)
}

#[test]
fn wrong_password_and_auth_type_are_dropped() {
    // RFC 3768 §5.3.6 / ka §2.4: auth type must match; PASS compares 8 bytes.
    let mut c = v2(100);
    c.auth = AuthConfig::Pass(*b"s3cret\0\0");
    let mut r = Replay::new(c.clone());
    r.start(0.0);
    let good = Peer::new(HIGHER, &c, 110);
    assert_eq!(r.recv(1.0, &good), ["arm 4.609375"]);
    let mut wrong = Peer::new(HIGHER, &c, 110);
    wrong.advert.auth = lvsd_vrrp::packet::Auth::Pass(*b"s3cres\0\0");
    assert_eq!(r.recv(1.5, &wrong), ["drop auth-failure"]);
    let none = Peer::new(HIGHER, &v2(100), 110);
    assert_eq!(r.recv(2.0, &none), ["drop auth-type"]);
}

#[test]
fn address_list_mismatch_accept_or_reject() {
    // ka §2.4 step 11: ≥ 2.3.3 accepts and logs (our default); ≤ 2.3.2 rejects.
    let mut r = Replay::new(v2(100));
    r.start(0.0);
    let mut p = Peer::new(HIGHER, &v2(100), 110);
    p.advert.addrs = vec![ip("10.0.0.101")];
    assert_eq!(r.recv(1.0, &p), ["addr-mismatch 10.0.0.3", "arm 4.609375"]);
    let mut c = v2(100);
    c.addr_mismatch = AddrMismatch::Reject;
    let mut r = Replay::new(c);
    r.start(0.0);
    assert_eq!(r.recv(1.0, &p), ["drop address-list"]);
}

fn unicast(priority: u8) -> lvsd_vrrp::InstanceConfig {
    let mut c = v2(priority);
    c.unicast_peers = vec![UnicastPeer {
        addr: ip(HIGHER),
        min_ttl: None,
        max_ttl: None,
    }];
    c
}

#[test]
fn unicast_source_must_be_a_peer() {
    // lvsd checks the unicast source by default (keepalived does not unless asked).
    let mut r = Replay::new(unicast(100));
    r.start(0.0);
    let mut p = Peer::new(LOWER, &v2(100), 110);
    p.dst = ip(ME);
    p.ttl = 64; // unicast: no TTL check without peer bounds
    assert_eq!(r.recv(1.0, &p), ["drop unicast-source"]);
    p.src = ip(HIGHER);
    assert_eq!(r.recv(1.0, &p), ["arm 4.609375"]);
    // A multicast advert for a unicast instance is refused.
    let m = Peer::new(HIGHER, &v2(100), 110);
    assert_eq!(r.recv(2.0, &m), ["drop destination"]);
}

fn tracked(weight: i32) -> (lvsd_vrrp::InstanceConfig, TrackerId) {
    let id = TrackerId::new(TrackerKind::Script, "chk_nginx");
    let mut c = v2(100);
    c.trackers = vec![TrackerRef {
        id: id.clone(),
        weight,
        reverse: false,
    }];
    (c, id)
}

#[test]
fn weight_zero_tracker_failing_faults_master_with_priority_zero() {
    // ka §2.7: weight 0 → FAULT; leaving MASTER for FAULT sends priority 0.
    let (c, id) = tracked(0);
    let mut r = Replay::new(c);
    assert!(
        r.start(0.0).is_empty(),
        "waits in INIT for the script's first result"
    );
    assert_eq!(
        r.track(0.5, &id, TrackerStatus::Up),
        ["notify INIT->BACKUP Startup", "arm 4.109375"]
    );
    r.timer(4.109375);
    assert_eq!(
        r.track(5.0, &id, TrackerStatus::Down),
        ["send 0", "remove", "notify MASTER->FAULT Fault"]
    );
    // In FAULT, adverts are ignored.
    assert!(r.recv(5.5, &Peer::new(LOWER, &v2(100), 50)).is_empty());
    assert_eq!(
        r.track(6.0, &id, TrackerStatus::Up),
        ["notify FAULT->BACKUP FaultCleared", "arm 9.609375"]
    );
}

#[test]
fn weighted_tracker_changes_priority_not_state() {
    // ka §2.7 lab: weight -40, 100 → 60; failover comes from the peer, not from us.
    let (c, id) = tracked(-40);
    let mut r = Replay::new(c);
    r.start(0.0);
    r.timer(3.609375);
    assert_eq!(r.track(4.0, &id, TrackerStatus::Down), ["prio 100->60"]);
    assert_eq!(r.state(0), State::Master);
    assert_eq!(r.timer(4.609375), ["send 60", "arm 5.609375"]);
    // The peer at 90 now wins.
    let p = Peer::new(LOWER, &v2(100), 90);
    assert_eq!(
        r.recv(5.0, &p)[..2],
        ["remove", "notify MASTER->BACKUP Preempted"]
    );
    assert_eq!(r.track(7.0, &id, TrackerStatus::Up), ["prio 60->100"]);
}

#[test]
fn owner_priority_is_never_adjusted() {
    let (mut c, id) = tracked(-40);
    c.priority = 255;
    c.want_master = true;
    let mut r = Replay::new(c);
    r.start(0.0);
    assert!(r.track(0.5, &id, TrackerStatus::Down).is_empty());
    assert_eq!(r.router.instance(InstanceId(0)).effective_priority(), 255);
}

#[test]
fn interface_down_is_fault_and_up_is_backup() {
    let mut r = master_at_3_609375();
    assert_eq!(
        r.event(
            4.0,
            Event::Interface {
                name: "eth0",
                up: false
            }
        ),
        ["remove", "notify MASTER->FAULT Fault"],
        "no priority-0 advert on a dead link"
    );
    assert_eq!(
        r.event(
            5.0,
            Event::Interface {
                name: "eth0",
                up: true
            }
        ),
        ["notify FAULT->BACKUP FaultCleared", "arm 8.609375"]
    );
}

#[test]
fn no_source_address_is_fault() {
    let mut c = v2(100);
    c.src_addr = None;
    let mut r = Replay::new(c);
    assert_eq!(r.start(0.0), ["notify INIT->FAULT Startup"]);
    assert_eq!(
        r.event(
            1.0,
            Event::SourceAddress {
                instance: InstanceId(0),
                addr: Some(ip(ME))
            }
        ),
        ["notify FAULT->BACKUP FaultCleared", "arm 4.609375"]
    );
}

#[test]
fn shutdown_master_sends_priority_zero_then_removes() {
    // ka §2.8: priority 0 first so the backup takes over after skew only.
    let mut r = master_at_3_609375();
    assert_eq!(
        r.event(5.0, Event::Shutdown),
        ["send 0", "remove", "notify MASTER->STOP Shutdown"]
    );
    assert!(r.timer(10.0).is_empty(), "a stopped instance is silent");
}

#[test]
fn shutdown_backup_is_silent() {
    let mut r = Replay::new(v2(100));
    r.start(0.0);
    assert_eq!(
        r.event(1.0, Event::Shutdown),
        ["notify BACKUP->STOP Shutdown"]
    );
}

fn pair() -> Replay {
    let mut a = v2(100);
    a.name = "VI_OUT".into();
    let mut b = v2(100);
    b.name = "VI_IN".into();
    b.vrid = 52;
    b.vips = vec![ip("192.168.1.254")];
    Replay::group(vec![a, b], vec![("G".into(), vec![0, 1])])
}

#[test]
fn sync_group_members_become_master_together() {
    // ka §1.4: a member goes MASTER only when all members want MASTER.
    let mut r = pair();
    r.start(0.0);
    let out = r.timer(3.609375);
    // VI_OUT expires first and is held until VI_IN wants MASTER too; then both move.
    assert!(
        out.contains(&"VI_IN notify BACKUP->MASTER MasterDown".to_string()),
        "{out:?}"
    );
    assert!(
        out.contains(&"VI_OUT notify BACKUP->MASTER SyncGroup".to_string()),
        "{out:?}"
    );
    assert!(out.contains(&"group MASTER".to_string()));
}

#[test]
fn sync_group_waits_for_every_member() {
    let mut r = pair();
    r.start(0.0);
    // VI_IN hears a master, VI_OUT does not: VI_OUT wants MASTER but is held back.
    let mut p = Peer::new(HIGHER, &v2(100), 110);
    p.advert.vrid = 52;
    p.advert.addrs = vec![ip("192.168.1.254")];
    r.recv(1.0, &p);
    let out = r.timer(3.609375);
    assert!(!out.iter().any(|s| s.contains("MASTER")), "{out:?}");
    assert_eq!(r.state(0), State::Backup);
}

#[test]
fn sync_group_fault_spreads_and_clears() {
    let id = TrackerId::new(TrackerKind::Interface, "eth1");
    let mut r = pair();
    // Only VI_IN tracks eth1.
    let mut cfgs: Vec<_> = r
        .router
        .instances()
        .iter()
        .map(|i| i.config().clone())
        .collect();
    cfgs[1].trackers = vec![TrackerRef {
        id: id.clone(),
        weight: 0,
        reverse: false,
    }];
    r = Replay::group(cfgs, vec![("G".into(), vec![0, 1])]);
    r.start(0.0);
    r.track(0.0, &id, TrackerStatus::Up);
    r.timer(3.609375);
    assert_eq!((r.state(0), r.state(1)), (State::Master, State::Master));
    let out = r.track(5.0, &id, TrackerStatus::Down);
    assert!(
        out.contains(&"VI_IN notify MASTER->FAULT Fault".to_string()),
        "{out:?}"
    );
    assert!(
        out.contains(&"VI_OUT notify MASTER->FAULT SyncGroup".to_string()),
        "{out:?}"
    );
    assert!(out.contains(&"group FAULT".to_string()));
    let out = r.track(6.0, &id, TrackerStatus::Up);
    assert_eq!(
        (r.state(0), r.state(1)),
        (State::Backup, State::Backup),
        "{out:?}"
    );
}

#[test]
fn sync_group_member_stepping_down_takes_the_group() {
    let mut r = pair();
    r.start(0.0);
    r.timer(3.609375);
    let p = Peer::new(HIGHER, &v2(100), 110);
    let out = r.recv(4.0, &p);
    assert!(
        out.contains(&"VI_IN notify MASTER->BACKUP SyncGroup".to_string()),
        "{out:?}"
    );
    assert_eq!((r.state(0), r.state(1)), (State::Backup, State::Backup));
}

fn reload(r: &mut Replay, t: f64, cfgs: Vec<lvsd_vrrp::InstanceConfig>) -> Vec<String> {
    let mut out = Vec::new();
    r.router.reconfigure(cfgs, vec![], secs(t), &mut out);
    out.iter().map(|a| show(&r.router, a)).collect()
}

#[test]
fn reload_keeps_a_master_master_without_a_flap() {
    let mut r = master_at_3_609375();
    // Same instance, new priority and one more VIP: no state change, no notify.
    let mut c = v2(120);
    c.vips.push(ip("10.0.0.101"));
    assert_eq!(reload(&mut r, 4.0, vec![c]), ["prio 100->120", "add"]);
    assert_eq!(r.state(0), State::Master);
    assert_eq!(r.timer(4.609375), ["send 120", "arm 5.609375"]);
}

#[test]
fn reload_keeps_a_backup_timer_running() {
    let mut r = Replay::new(v2(100));
    r.start(0.0);
    assert!(
        reload(&mut r, 1.0, vec![v2(100)]).is_empty(),
        "nothing changes, nothing re-arms"
    );
    assert_eq!(r.timer(3.609375)[..2], ["send 100", "add"]);
}

#[test]
fn reload_removing_a_master_steps_down_as_deleted() {
    let mut r = master_at_3_609375();
    let mut other = v2(100);
    other.name = "VI_2".into();
    other.vrid = 52;
    let out = reload(&mut r, 4.0, vec![other]);
    assert_eq!(
        out,
        [
            "VI_1 send 0",
            "VI_1 remove",
            "VI_1 notify MASTER->STOP Deleted"
        ]
    );
    // The new instance starts on the next Startup; the old id stays, deleted.
    let out = r.start(4.0);
    assert_eq!(out, ["VI_2 notify INIT->BACKUP Startup", "arm 7.609375"]);
    assert!(r.router.instance(InstanceId(0)).is_deleted());
    assert_eq!(r.router.instance(InstanceId(1)).name(), "VI_2");
}

#[test]
fn reload_keeps_tracker_results() {
    let (c, id) = tracked(-40);
    let mut r = Replay::new(c.clone());
    r.start(0.0);
    r.track(0.5, &id, TrackerStatus::Down);
    assert_eq!(r.router.instance(InstanceId(0)).effective_priority(), 60);
    assert!(reload(&mut r, 1.0, vec![c]).is_empty());
    assert_eq!(r.router.instance(InstanceId(0)).effective_priority(), 60);
}
