//! Directors that are also real servers (issue 8): `lvsd check` finds them from this host's
//! addresses, in a network namespace of the test. Needs root; skipped otherwise.

mod lab;
use lab::{lvsd_bin, Lab};
use lvsd_testkit::need_root;
use std::time::Duration;

fn conf(with_instance: bool, method: &str) -> String {
    let inst = if with_instance {
        "vrrp_instance VI_1 {\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  \
         priority 100\n  virtual_ipaddress {\n    10.99.0.100/24 dev eth0\n  }\n}\n"
    } else {
        ""
    };
    format!(
        "{inst}virtual_server 10.99.0.100 80 {{\n  lb_algo rr\n  lb_kind {method}\n  protocol TCP\n  \
         real_server 10.99.0.1 80 {{\n    TCP_CHECK {{\n    }}\n  }}\n  \
         real_server 10.99.0.3 80 {{\n    TCP_CHECK {{\n    }}\n  }}\n}}\n"
    )
}

fn check(lab: &Lab, text: &str, extra: &[&str]) -> (i32, serde_json::Value) {
    let path = lab.write("c.conf", text);
    let p = path.display().to_string();
    let mut cmd = vec![lvsd_bin(), "check".into(), "--json".into(), "-f".into(), p];
    cmd.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = cmd.iter().map(String::as_str).collect();
    let o = lab.exec("dir1", &args);
    let v = serde_json::from_slice(&o.stdout).expect("json");
    (o.status.code().unwrap_or(-1), v)
}

fn codes(v: &serde_json::Value) -> Vec<(String, u64)> {
    v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

/// dir1's ARP sysctls `conf/IF/NAME` for each "IF/NAME", space separated.
fn sysctls(lab: &Lab, keys: &[&str]) -> String {
    let paths: Vec<String> = keys
        .iter()
        .map(|k| format!("/proc/sys/net/ipv4/conf/{k}"))
        .collect();
    lab.sh("dir1", &format!("cat {}", paths.join(" ")))
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// dir1's addresses of family `-4`/`-6` on lo.
fn on_lo(lab: &Lab, family: &str) -> String {
    lab.sh("dir1", &format!("ip -o {family} addr show dev lo"))
}

/// dir1's `nft list table inet lvsd` (with the error when there is none).
fn guard_table(lab: &Lab) -> String {
    lab.sh("dir1", "nft list table inet lvsd 2>&1")
}

#[test]
fn check_names_the_colocated_real_server_and_its_instance() {
    need_root!();
    let lab = Lab::new(&[("dir1", &["10.99.0.1/24"])], false);
    // 10.99.0.1 is dir1's own address: a note naming VI_1, only for that real server.
    let (code, v) = check(&lab, &conf(true, "DR"), &[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        codes(&v),
        vec![("colocated-director".to_string(), 14)],
        "{v}"
    );
    let msg = v["diagnostics"][0]["message"].as_str().unwrap();
    assert!(msg.contains("10.99.0.1") && msg.contains("VI_1"), "{msg}");
    // No instance holds the VIP, DR: an error (the loop cannot be avoided).
    let (code, v) = check(&lab, &conf(false, "DR"), &[]);
    assert_eq!(code, 2, "{v}");
    assert_eq!(
        codes(&v),
        vec![("colocated-without-vrrp".to_string(), 5)],
        "{v}"
    );
    // NAT: a note only.
    let (code, v) = check(&lab, &conf(false, "NAT"), &[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        codes(&v),
        vec![("colocated-director".to_string(), 5)],
        "{v}"
    );
    // --no-host: nothing about this host.
    let (code, v) = check(&lab, &conf(false, "DR"), &["--no-host"]);
    assert_eq!(code, 0, "{v}");
    assert!(codes(&v).is_empty(), "{v}");
}

#[test]
fn a_host_that_is_no_real_server_gets_no_finding() {
    need_root!();
    let lab = Lab::new(&[("dir1", &["10.99.0.2/24"])], false);
    let (code, v) = check(&lab, &conf(false, "DR"), &[]);
    assert_eq!(code, 0, "{v}");
    assert!(codes(&v).is_empty(), "{v}");
}

#[test]
fn status_shows_the_role_that_follows_vrrp() {
    need_root!();
    let mut lab = Lab::new(&[("dir1", &["10.99.0.1/24"])], false);
    lab.lvsd("dir1", &conf(true, "DR"));
    let sock = lab.dir.join("dir1.sock").display().to_string();
    let role = || -> Option<String> {
        let o = std::process::Command::new(lvsd_bin())
            .args(["status", "--json", "--socket", &sock])
            .output()
            .ok()?;
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).ok()?;
        v["virtual_servers"][0]["role"].as_str().map(str::to_string)
    };
    // BACKUP first (3 adverts without a master): a real server.
    let seen = lab.wait_for(std::time::Duration::from_secs(3), || {
        role().as_deref() == Some("real server")
    });
    assert!(seen.is_some(), "{:?}\n{}", role(), lab.log("dir1", "lvsd"));
    // Alone, it becomes MASTER: the director.
    let seen = lab.wait_for(std::time::Duration::from_secs(10), || {
        role().as_deref() == Some("director (also a real server)")
    });
    assert!(seen.is_some(), "{:?}\n{}", role(), lab.log("dir1", "lvsd"));
}

/// The real-server role while not MASTER (VIP on lo, ARP sysctls) is recorded in the state
/// file; MASTER undoes it exactly; the guard's nft table marks VIP:port unless the packet
/// comes from a real server's MAC (learnt from the neighbour table); SIGTERM leaves the node a
/// real server and removes the table; `lvsd realserver down` restores the host.
#[test]
fn the_real_server_role_is_recorded_and_the_guard_follows_the_neighbours() {
    need_root!();
    let mut lab = Lab::new(&[("dir1", &["10.99.0.1/24"])], false);
    let sysctls = |lab: &Lab| {
        sysctls(
            lab,
            &[
                "all/arp_ignore",
                "all/arp_announce",
                "eth0/arp_ignore",
                "eth0/arp_announce",
            ],
        )
    };
    let before = sysctls(&lab);
    assert_eq!(before, "0 0 0 0");
    // rs3's MAC as the neighbour table would have it after a health check
    lab.sh(
        "dir1",
        "ip neigh replace 10.99.0.3 lladdr 02:00:00:00:00:03 dev eth0 nud permanent",
    );
    // a mark rule of the user's own on the VIP (seed 000's, left in place)
    lab.sh(
        "dir1",
        "nft add table ip user && nft add chain ip user pre '{ type filter hook prerouting priority mangle; }' && \
         nft add rule ip user pre ip daddr 10.99.0.100 tcp dport 80 meta mark set 3",
    );
    let pid = lab.lvsd("dir1", &conf(true, "DR"));
    let state = lab.dir.join("dir1.realserver.json");
    let on_lo = |lab: &Lab| on_lo(lab, "-4");
    let nft = guard_table;
    // BACKUP: VIP on lo (labelled), sysctls set, all recorded; the guard knows rs3's MAC
    let seen = lab.wait_for(Duration::from_secs(3), || {
        on_lo(&lab).contains("10.99.0.100/32") && nft(&lab).contains("02:00:00:00:00:03")
    });
    assert!(
        seen.is_some(),
        "{}\n{}\n{}",
        on_lo(&lab),
        nft(&lab),
        lab.log("dir1", "lvsd")
    );
    assert!(on_lo(&lab).contains("lo:lvsd"), "{}", on_lo(&lab));
    assert_eq!(sysctls(&lab), "1 2 1 2");
    let rec = std::fs::read_to_string(&state).expect("state file");
    assert!(
        rec.contains("10.99.0.100") && rec.contains("arp_ignore"),
        "{rec}"
    );
    let table = nft(&lab);
    assert!(
        table.contains(
            "ip daddr 10.99.0.100 tcp dport 80 ether saddr != @forwarders meta mark set 0x4c56"
        ),
        "{table}"
    );
    assert!(table.contains("type route hook output"), "{table}");
    // lvsd's chains run after the user's mangle chains, and the log says whose mark wins
    assert!(table.contains("priority mangle + 1"), "{table}");
    let log = lab.log("dir1", "lvsd");
    assert!(
        log.contains("table ip user also marks packets to a guarded VIP")
            && log.contains("lvsd's mark wins"),
        "{log}"
    );
    // MASTER: the VIP leaves lo and goes on eth0, the host's sysctls come back, no record
    let seen = lab.wait_for(Duration::from_secs(10), || {
        lab.has_addr("dir1", "10.99.0.100") && !on_lo(&lab).contains("10.99.0.100")
    });
    assert!(seen.is_some(), "{}", lab.log("dir1", "lvsd"));
    let seen = lab.wait_for(Duration::from_secs(2), || !state.exists());
    assert!(seen.is_some(), "{:?}", std::fs::read_to_string(&state));
    assert_eq!(sysctls(&lab), before);
    // SIGTERM: still a real server (VIP back on lo, recorded), the guard's table is gone
    lab.signal(pid, nix::sys::signal::Signal::SIGTERM);
    assert!(lab.wait_exit(pid, Duration::from_secs(10)).is_some());
    assert!(
        on_lo(&lab).contains("10.99.0.100/32"),
        "{}",
        lab.log("dir1", "lvsd")
    );
    assert!(
        lab.sh("dir1", "ip -o -4 addr show dev eth0")
            .find("10.99.0.100")
            .is_none(),
        "{}",
        lab.sh("dir1", "ip -o addr")
    );
    assert!(nft(&lab).contains("No such file"), "{}", nft(&lab));
    assert_eq!(sysctls(&lab), "1 2 1 2");
    // `lvsd realserver down` with the same state file restores the host exactly
    let st = state.display().to_string();
    let o = lab.exec(
        "dir1",
        &[&lvsd_bin(), "realserver", "down", "--state-file", &st],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!on_lo(&lab).contains("10.99.0.100"));
    assert_eq!(sysctls(&lab), before);
    assert!(!state.exists());
}

/// IPv6: the VIP on lo as a /128 (nodad, no ARP sysctls needed or touched), the guard's rule
/// on `ip6 daddr`, a real server's MAC learnt from the NDP cache; on MASTER the VIP's written
/// `preferred_lft 0` is applied.
#[test]
fn ipv6_real_server_role_and_guard() {
    need_root!();
    let mut lab = Lab::new(&[("dir1", &["2001:db8:99::1/64"])], true);
    lab.sh(
        "dir1",
        "ip -6 neigh replace 2001:db8:99::3 lladdr 02:00:00:00:00:33 dev eth0 nud permanent",
    );
    let conf = "vrrp_instance VI_6 {\n  state BACKUP\n  interface eth0\n  virtual_router_id 61\n  \
         priority 100\n  virtual_ipaddress {\n    2001:db8:99::100/64 dev eth0 preferred_lft 0\n  }\n}\n\
         virtual_server 2001:db8:99::100 80 {\n  lb_algo rr\n  lb_kind DR\n  protocol TCP\n  \
         real_server 2001:db8:99::1 80 {\n    TCP_CHECK {\n    }\n  }\n  \
         real_server 2001:db8:99::3 80 {\n    TCP_CHECK {\n    }\n  }\n}\n";
    let before = lab.sh("dir1", "cat /proc/sys/net/ipv4/conf/all/arp_ignore");
    let pid = lab.lvsd("dir1", conf);
    let on_lo = |lab: &Lab| on_lo(lab, "-6");
    let nft = guard_table;
    let seen = lab.wait_for(Duration::from_secs(3), || {
        on_lo(&lab).contains("2001:db8:99::100/128") && nft(&lab).contains("02:00:00:00:00:33")
    });
    assert!(
        seen.is_some(),
        "{}\n{}\n{}",
        on_lo(&lab),
        nft(&lab),
        lab.log("dir1", "lvsd")
    );
    let table = nft(&lab);
    assert!(
        table.contains("ip6 daddr 2001:db8:99::100 tcp dport 80 ether saddr != @forwarders meta mark set 0x4c56"),
        "{table}"
    );
    assert_eq!(
        lab.sh("dir1", "cat /proc/sys/net/ipv4/conf/all/arp_ignore"),
        before
    );
    // MASTER: off lo, on eth0
    let seen = lab.wait_for(Duration::from_secs(10), || {
        !on_lo(&lab).contains("2001:db8:99::100")
            && lab
                .sh("dir1", "ip -o -6 addr show dev eth0")
                .contains("2001:db8:99::100/64")
    });
    assert!(seen.is_some(), "{}", lab.log("dir1", "lvsd"));
    // `preferred_lft 0` as written: deprecated, never the source of the checks
    let eth0 = lab.sh("dir1", "ip -o -6 addr show dev eth0 to 2001:db8:99::100");
    assert!(eth0.contains("preferred_lft 0sec"), "{eth0}");
    lab.signal(pid, nix::sys::signal::Signal::SIGTERM);
    assert!(lab.wait_exit(pid, Duration::from_secs(10)).is_some());
    assert!(
        on_lo(&lab).contains("2001:db8:99::100/128"),
        "{}",
        lab.log("dir1", "lvsd")
    );
}

/// `colocated_directors master_only`: the real-server role without lvsd's nft table;
/// `colocated_on_stop remove`: SIGTERM takes the node out of the real-server role and restores
/// the host's sysctls.
#[test]
fn master_only_has_no_guard_and_on_stop_remove_restores_the_host() {
    need_root!();
    let mut lab = Lab::new(&[("dir1", &["10.99.0.1/24"])], false);
    let conf = format!(
        "global_defs {{\n  colocated_directors master_only\n  colocated_on_stop remove\n}}\n{}",
        conf(true, "DR")
    );
    let sysctls = |lab: &Lab| sysctls(lab, &["all/arp_ignore", "eth0/arp_announce"]);
    assert_eq!(sysctls(&lab), "0 0");
    let pid = lab.lvsd("dir1", &conf);
    let on_lo = |lab: &Lab| on_lo(lab, "-4");
    let seen = lab.wait_for(Duration::from_secs(3), || {
        on_lo(&lab).contains("10.99.0.100/32")
    });
    assert!(seen.is_some(), "{}", lab.log("dir1", "lvsd"));
    assert_eq!(sysctls(&lab), "1 2");
    // no guard table in master_only, a moment after the role was taken
    std::thread::sleep(Duration::from_millis(500));
    let nft = lab.sh("dir1", "nft list tables 2>&1");
    assert!(!nft.contains("lvsd"), "{nft}");
    // stop while not MASTER (alone it would need 3 s to become MASTER): the VIP leaves lo, the sysctls come back, no state file
    lab.signal(pid, nix::sys::signal::Signal::SIGTERM);
    assert!(lab.wait_exit(pid, Duration::from_secs(10)).is_some());
    assert!(
        !on_lo(&lab).contains("10.99.0.100"),
        "{}",
        lab.log("dir1", "lvsd")
    );
    assert_eq!(sysctls(&lab), "0 0");
    assert!(!lab.dir.join("dir1.realserver.json").exists());
}

/// A reload that leaves no colocated service removes the guard's table and the real-server role
/// (and one that brings one back installs the table again).
#[test]
fn a_reload_follows_the_colocated_services_with_the_guard_table() {
    need_root!();
    let mut lab = Lab::new(&[("dir1", &["10.99.0.1/24"])], false);
    let colocated = conf(true, "DR");
    let pid = lab.lvsd("dir1", &colocated);
    let table = |lab: &Lab| lab.sh("dir1", "nft list tables 2>&1").contains("inet lvsd");
    assert!(
        lab.wait_for(Duration::from_secs(3), || table(&lab))
            .is_some(),
        "{}",
        lab.log("dir1", "lvsd")
    );
    // the same service, but this host is no longer one of its real servers
    lab.write(
        "dir1.conf",
        &colocated.replace("10.99.0.1 80", "10.99.0.2 80"),
    );
    lab.signal(pid, nix::sys::signal::Signal::SIGHUP);
    assert!(
        lab.wait_for(Duration::from_secs(5), || !table(&lab))
            .is_some(),
        "{}",
        lab.log("dir1", "lvsd")
    );
    // and the VIP it had put on lo as a real server is gone, the host's sysctls back
    let lo = lab.sh("dir1", "ip -o -4 addr show dev lo");
    assert!(
        !lo.contains("10.99.0.100"),
        "{lo}\n{}",
        lab.log("dir1", "lvsd")
    );
    assert_eq!(
        lab.sh("dir1", "cat /proc/sys/net/ipv4/conf/all/arp_ignore")
            .trim(),
        "0"
    );
    lab.write("dir1.conf", &colocated);
    lab.signal(pid, nix::sys::signal::Signal::SIGHUP);
    assert!(
        lab.wait_for(Duration::from_secs(5), || table(&lab))
            .is_some(),
        "{}",
        lab.log("dir1", "lvsd")
    );
}
