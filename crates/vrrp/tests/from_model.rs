//! keepalived.conf → instance configuration: defaults and keepalived's rules.

use lvsd_vrrp::config::{AddrMismatch, AuthConfig};
use lvsd_vrrp::from_model::from_config;
use lvsd_vrrp::packet::{Family, Version};
use lvsd_vrrp::track::TrackerKind;
use std::path::Path;
use std::time::Duration;

fn build(text: &str) -> (Vec<lvsd_vrrp::InstanceConfig>, Vec<(String, Vec<usize>)>) {
    let loaded = lvsd_config::load_str(Path::new("t.conf"), text.as_bytes(), &Default::default());
    from_config(&loaded.config)
}

#[test]
fn defaults_and_password() {
    let (i, _) = build(
        "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n \
         authentication {\n auth_type PASS\n auth_pass 123456789\n }\n \
         virtual_ipaddress {\n 10.0.0.100/24 dev eth0\n }\n}\n",
    );
    let c = &i[0];
    assert_eq!(
        (c.vrid, c.priority, c.version, c.family),
        (51, 100, Version::V2, Family::V4)
    );
    assert_eq!(c.advert_interval, Duration::from_secs(1));
    // Truncated to 8 bytes, as keepalived does.
    assert_eq!(c.auth, AuthConfig::Pass(*b"12345678"));
    assert!(
        c.check_unicast_src,
        "lvsd checks unicast sources by default"
    );
    assert_eq!(c.addr_mismatch, AddrMismatch::Accept);
    assert_eq!(c.down_timer_adverts, 3);
    assert_eq!(c.garp.master_repeat, 5);
    assert_eq!(c.garp.master_delay, Duration::from_secs(5));
}

#[test]
fn state_master_clears_nopreempt_and_preempt_delay() {
    let (i, _) = build(
        "vrrp_instance VI_1 {\n state MASTER\n interface eth0\n virtual_router_id 51\n \
         priority 100\n nopreempt\n preempt_delay 10\n virtual_ipaddress {\n 10.0.0.100\n }\n}\n",
    );
    assert!(i[0].want_master);
    assert!(!i[0].nopreempt);
    assert!(i[0].preempt_delay.is_zero());
}

#[test]
fn ipv6_is_v3_and_ignores_auth() {
    let (i, _) = build(
        "vrrp_instance V6 {\n interface eth0\n virtual_router_id 52\n advert_int 0.5\n \
         authentication {\n auth_type PASS\n auth_pass x\n }\n \
         virtual_ipaddress {\n fe80::100\n }\n}\n",
    );
    assert_eq!((i[0].version, i[0].family), (Version::V3, Family::V6));
    assert_eq!(i[0].auth, AuthConfig::None);
    assert_eq!(i[0].advert_interval, Duration::from_millis(500));
}

#[test]
fn reject_policy_and_group_trackers() {
    let (i, g) = build(
        "global_defs {\n vrrp_address_mismatch reject\n}\n\
         vrrp_script chk {\n script \"/bin/true\"\n weight -20\n}\n\
         vrrp_sync_group G {\n group {\n A\n B\n }\n track_script {\n chk\n }\n}\n\
         vrrp_instance A {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n\
         vrrp_instance B {\n interface eth1\n virtual_router_id 2\n virtual_ipaddress {\n 10.0.1.1\n }\n \
         track_interface {\n eth0 weight 10\n }\n}\n",
    );
    assert_eq!(g, vec![("G".to_string(), vec![0, 1])]);
    assert_eq!(i[0].addr_mismatch, AddrMismatch::Reject);
    // The weighted group script is kept on both members (keepalived #2105 drops it).
    for c in &i {
        let s = c
            .trackers
            .iter()
            .find(|t| t.id.kind == TrackerKind::Script)
            .unwrap();
        assert_eq!((s.id.name.as_str(), s.weight), ("chk", -20));
    }
    let t = &i[1].trackers[0];
    assert_eq!(
        (t.id.kind, t.id.name.as_str(), t.weight),
        (TrackerKind::Interface, "eth0", 10)
    );
}
