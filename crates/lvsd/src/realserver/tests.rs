//! Unit tests of `lvsd realserver`.

use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn vip_parsing() {
    assert_eq!(parse_vip("10.0.0.1"), Ok(ip("10.0.0.1")));
    assert_eq!(parse_vip("10.0.0.1/32"), Ok(ip("10.0.0.1")));
    assert_eq!(parse_vip("2001:db8::1/128"), Ok(ip("2001:db8::1")));
    assert!(parse_vip("10.0.0.300").unwrap_err().contains("not an IPv4"));
    assert!(parse_vip("10.0.0.1/24").unwrap_err().contains("/32"));
    assert!(parse_vip("127.0.0.2").unwrap_err().contains("loopback"));
    assert!(parse_vip("0.0.0.0").is_err());
    assert!(parse_vip("224.0.0.18").is_err());
    assert!(parse_vip("fe80::1").unwrap_err().contains("link-local"));
    assert!(parse_vip("::ffff:10.0.0.1").is_err());
}

#[test]
fn labels_count_up_for_ipv4_only() {
    let vips = [ip("10.0.0.1"), ip("2001:db8::1"), ip("10.0.0.2")];
    let l = vip_labels("lo", None, &vips).unwrap();
    assert_eq!(l, [Some("lo:0".into()), None, Some("lo:1".into())]);
    let l = vip_labels("lo", Some("lo:7"), &vips).unwrap();
    assert_eq!(l, [Some("lo:7".into()), None, Some("lo:8".into())]);
    let l = vip_labels("lo", Some("lo:vip"), &vips).unwrap();
    assert_eq!(l, [Some("lo:vip".into()), None, Some("lo:vip".into())]);
    let l = vip_labels("lo", Some("lo"), &vips).unwrap();
    assert_eq!(l, [Some("lo".into()), None, Some("lo".into())]);
    assert!(vip_labels("lo", Some("eth0:0"), &vips).is_err());
    assert!(vip_labels("lo", Some("lo:0123456789abcd"), &vips).is_err());
    assert!(check_ifname("--iface", "../x").is_err());
    assert!(check_ifname("--iface", "eth0.100").is_ok());
}

#[test]
fn sysctl_values() {
    for v in [1, 2, 8] {
        assert!(dr_ok(ARP_IGNORE, v));
    }
    for v in [0, 3, 4, 7, 9] {
        assert!(!dr_ok(ARP_IGNORE, v));
    }
    assert!(dr_ok(ARP_ANNOUNCE, 2));
    assert!(!dr_ok(ARP_ANNOUNCE, 1) && !dr_ok(ARP_ANNOUNCE, 3));
    assert_eq!(
        key("eth0.100", ARP_IGNORE),
        "net.ipv4.conf.eth0/100.arp_ignore"
    );
    assert_eq!(
        sysctl_targets("lo", &["eth0".into(), "lo".into()]),
        ["all", "lo", "eth0"]
    );
}

#[test]
fn state_keeps_first_previous_and_round_trips() {
    let mut s = State::default();
    s.record_sysctl("all", ARP_ANNOUNCE, 1, 2);
    s.record_sysctl("all", ARP_ANNOUNCE, 0, 2);
    assert_eq!(s.sysctls.len(), 1);
    assert_eq!(s.sysctls[0].previous, 1);
    s.addresses.push(AddrRec {
        dev: "lo".into(),
        addr: ip("10.0.0.1"),
        prefix_len: 32,
        label: Some("lo:0".into()),
    });
    s.addresses.push(AddrRec {
        dev: "lo".into(),
        addr: ip("2001:db8::1"),
        prefix_len: 128,
        label: None,
    });
    assert_eq!(State::from_json(&s.to_json()), Ok(s.clone()));
    let mut bad = s.to_json();
    bad["sysctls"][0]["interface"] = json!("../../../kernel");
    assert!(State::from_json(&bad).is_err());
    let mut bad = s.to_json();
    bad["sysctls"][0]["name"] = json!("forwarding");
    assert!(State::from_json(&bad).is_err());
}

fn row(iface: &str, ig: i64, an: i64, all: (i64, i64)) -> ArpRow {
    ArpRow {
        iface: iface.into(),
        arp_ignore: ig,
        arp_announce: an,
        eff_ignore: ig.max(all.0),
        eff_announce: an.max(all.1),
    }
}

#[test]
fn judgement() {
    let mut o = Observed {
        dev: "lo".into(),
        dev_up: true,
        vips: vec![VipObs {
            vip: ip("10.0.0.1"),
            on_dev: Some((32, Some("lo:0".into()))),
            elsewhere: vec![],
        }],
        arp_needed: true,
        arp: vec![row("all", 1, 2, (1, 2)), row("lo", 0, 0, (1, 2))],
        overrides: vec![],
    };
    // lo's own values do not matter when all's are right: the kernel uses the larger.
    assert_eq!(problems(&o), Vec::<String>::new());
    o.arp[0] = row("all", 0, 2, (0, 2));
    o.arp[1] = row("lo", 1, 2, (0, 2));
    let p = problems(&o);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].contains("net.ipv4.conf.all.arp_ignore is 0"));
    o.arp[0] = row("all", 1, 2, (1, 2));
    o.overrides = vec![row("eth1", 4, 0, (1, 2))];
    o.vips[0].elsewhere = vec!["eth0".into()];
    o.vips.push(VipObs {
        vip: ip("10.0.0.2"),
        on_dev: None,
        elsewhere: vec![],
    });
    let p = problems(&o);
    assert_eq!(p.len(), 3, "{p:?}");
    // IPv6 only: no ARP judgement.
    o.arp_needed = false;
    o.overrides.clear();
    o.vips = vec![VipObs {
        vip: ip("2001:db8::1"),
        on_dev: Some((128, None)),
        elsewhere: vec![],
    }];
    o.arp[0] = row("all", 0, 0, (0, 0));
    assert!(problems(&o).is_empty());
}

#[test]
fn sysctl_files() {
    let dir = std::env::temp_dir().join(format!("lvsd-rs-unit-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("all")).unwrap();
    std::fs::write(dir.join("all/arp_ignore"), "0\n").unwrap();
    let sys = Sysctl { root: dir.clone() };
    assert_eq!(sys.read("all", ARP_IGNORE).unwrap(), 0);
    sys.write("all", ARP_IGNORE, 1).unwrap();
    assert_eq!(sys.read("all", ARP_IGNORE).unwrap(), 1);
    let Fail(m) = sys.read("eth9", ARP_IGNORE).unwrap_err();
    assert!(m.starts_with("no such device: eth9"), "{m}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Many writers at once (lvsd run's reconciler, `lvsd realserver up` by hand, transitions
/// in quick succession): each change is made under the state file's lock, and none is lost.
#[test]
fn concurrent_changes_of_the_state_file_are_all_kept() {
    let dir = std::env::temp_dir().join(format!("lvsd-state-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("realserver.json");
    let writers: Vec<_> = (0..32u8)
        .map(|i| {
            let path = path.clone();
            std::thread::spawn(move || {
                let _lock = lock_state(&path).expect("lock");
                let mut st = State::load(&path).expect("load").unwrap_or_default();
                // widen the window a lost update needs
                std::thread::sleep(std::time::Duration::from_millis(2));
                st.addresses.push(AddrRec {
                    dev: "lo".into(),
                    addr: IpAddr::from([10, 99, 1, i]),
                    prefix_len: 32,
                    label: None,
                });
                st.record_sysctl("all", "arp_ignore", 0, 1);
                st.save(&path).expect("save");
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let st = State::load(&path).unwrap().unwrap();
    assert_eq!(st.addresses.len(), 32);
    assert_eq!(st.sysctls.len(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}
