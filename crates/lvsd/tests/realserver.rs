//! `lvsd realserver up|down|status` on the real kernel. Every test runs the binary inside a
//! network namespace of its own (`lvsdrs<pid>x<n>`, deleted on drop, also when the test fails)
//! with a state file in a temporary directory of its own. Needs root; skipped otherwise.

use lvsd_testkit::{need_root, run, Netns};
use std::path::PathBuf;

/// A network namespace with `lo` up and a temporary directory; both go on drop.
struct Ns {
    ns: Netns,
    dir: PathBuf,
}

impl Ns {
    fn new() -> Ns {
        let ns = Netns::new("lvsdrs");
        let dir = std::env::temp_dir().join(format!("{}.d", ns.name()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Ns { ns, dir }
    }

    fn must(&self, cmd: &str) -> String {
        self.ns.must(cmd)
    }

    fn state(&self) -> PathBuf {
        // A directory `up` has to create.
        self.dir.join("run").join("realserver.json")
    }

    /// `lvsd realserver ARGS --state-file ...` inside the namespace: (exit code, stdout+stderr).
    fn lvsd(&self, args: &[&str]) -> (i32, String) {
        self.lvsd_as(&[], args)
    }

    fn lvsd_as(&self, prefix: &[&str], args: &[&str]) -> (i32, String) {
        let state = self.state();
        let mut cmd = vec!["ip", "netns", "exec", self.ns.name()];
        cmd.extend_from_slice(prefix);
        cmd.extend_from_slice(&[env!("CARGO_BIN_EXE_lvsd"), "realserver"]);
        cmd.extend_from_slice(args);
        cmd.extend_from_slice(&["--state-file", state.to_str().unwrap()]);
        let o = run(&cmd);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        eprintln!("$ {}\n{text}", cmd.join(" "));
        (o.status.code().unwrap_or(-1), text)
    }

    fn sysctl(&self, iface: &str, name: &str) -> i64 {
        self.must(&format!("cat /proc/sys/net/ipv4/conf/{iface}/{name}"))
            .trim()
            .parse()
            .unwrap()
    }

    fn set_sysctl(&self, iface: &str, name: &str, v: i64) {
        self.must(&format!(
            "echo {v} > /proc/sys/net/ipv4/conf/{iface}/{name}"
        ));
    }

    /// `(iface, arp_ignore, arp_announce)` for each interface.
    fn arp(&self, ifaces: &[&str]) -> Vec<(String, i64, i64)> {
        ifaces
            .iter()
            .map(|i| {
                (
                    i.to_string(),
                    self.sysctl(i, "arp_ignore"),
                    self.sysctl(i, "arp_announce"),
                )
            })
            .collect()
    }

    /// The lines of `ip -o addr show dev DEV`.
    fn addrs(&self, dev: &str) -> Vec<String> {
        self.must(&format!("ip -o addr show dev {dev}"))
            .lines()
            .map(|l| {
                l.split_whitespace()
                    .map(|w| w.trim_end_matches('\\'))
                    .filter(|w| !w.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    fn has(&self, dev: &str, cidr: &str) -> Option<String> {
        self.addrs(dev)
            .into_iter()
            .find(|l| l.split_whitespace().any(|w| w == cidr))
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        // the namespace goes with `ns`
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn triple(i: &str, ig: i64, an: i64) -> (String, i64, i64) {
    (i.to_string(), ig, an)
}

#[test]
fn up_adds_labelled_vips_sets_sysctls_and_is_idempotent() {
    need_root!();
    let ns = Ns::new();
    ns.set_sysctl("all", "arp_announce", 1);
    let vips = ["--vip", "10.77.0.1", "--vip", "10.77.0.2/32"];

    let (code, out) = ns.lvsd(&[&["status"], &vips[..]].concat());
    assert_eq!(code, 1, "status before up: {out}");
    assert!(out.contains("NOT correctly configured"), "{out}");
    assert!(out.contains("VIP 10.77.0.1 is not on lo"), "{out}");
    assert!(
        out.contains("net.ipv4.conf.all.arp_announce is 1, should be 2"),
        "{out}"
    );

    let (code, out) = ns.lvsd(&[&["up"], &vips[..]].concat());
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("set net.ipv4.conf.all.arp_announce = 2 (was 1)"),
        "{out}"
    );
    let a1 = ns.has("lo", "10.77.0.1/32").expect("10.77.0.1/32 on lo");
    assert!(a1.contains(" lo:0 "), "{a1}");
    let a2 = ns.has("lo", "10.77.0.2/32").expect("10.77.0.2/32 on lo");
    assert!(a2.contains(" lo:1 "), "{a2}");
    assert_eq!(
        ns.arp(&["all", "lo"]),
        [triple("all", 1, 2), triple("lo", 1, 2)]
    );
    let state = std::fs::read_to_string(ns.state()).expect("up writes the state file");

    let (code, out) = ns.lvsd(&[&["status"], &vips[..]].concat());
    assert_eq!(code, 0, "status after up: {out}");
    assert!(
        out.contains("DR real server: correctly configured"),
        "{out}"
    );
    assert!(out.contains("label lo:0"), "{out}");

    // Twice: nothing changes, and it says so.
    let addrs = ns.addrs("lo");
    let (code, out) = ns.lvsd(&[&["up"], &vips[..]].concat());
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("nothing to change"), "{out}");
    assert!(
        !out.lines()
            .any(|l| l.starts_with("set ") || l.starts_with("added ")),
        "{out}"
    );
    assert_eq!(ns.addrs("lo"), addrs);
    assert_eq!(std::fs::read_to_string(ns.state()).unwrap(), state);

    // --json status.
    let (code, out) = ns.lvsd(&[&["status", "--json"], &vips[..]].concat());
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON");
    assert_eq!(v["configured"], true);
    assert_eq!(v["vips"][1]["label"], "lo:1");
    assert_eq!(v["arp"][0]["interface"], "all");
    assert_eq!(v["arp"][0]["arp_announce"], 2);
}

#[test]
fn down_restores_exact_previous_values_and_keeps_preexisting_vip() {
    need_root!();
    let ns = Ns::new();
    ns.set_sysctl("all", "arp_announce", 1);
    // Already a DR value: `up` leaves it and `down` must not touch it.
    ns.set_sysctl("lo", "arp_ignore", 2);
    // A VIP the administrator put there by hand.
    ns.must("ip addr add 10.77.0.3/32 dev lo");
    let before = ns.arp(&["all", "lo"]);
    assert_eq!(before, [triple("all", 0, 1), triple("lo", 2, 0)]);
    let vips = ["--vip", "10.77.0.1", "--vip", "10.77.0.3"];

    let (code, out) = ns.lvsd(&[&["up"], &vips[..]].concat());
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("unchanged net.ipv4.conf.lo.arp_ignore = 2"),
        "{out}"
    );
    assert!(out.contains("was there before `up`"), "{out}");
    assert_eq!(
        ns.arp(&["all", "lo"]),
        [triple("all", 1, 2), triple("lo", 2, 2)]
    );
    assert!(ns.has("lo", "10.77.0.1/32").is_some());
    let (code, _) = ns.lvsd(&[&["status"], &vips[..]].concat());
    assert_eq!(code, 0);

    let (code, out) = ns.lvsd(&[&["down"], &vips[..]].concat());
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("kept 10.77.0.3/32 on lo"), "{out}");
    assert_eq!(
        ns.arp(&["all", "lo"]),
        before,
        "down restores the exact values"
    );
    assert!(ns.has("lo", "10.77.0.1/32").is_none(), "added VIP removed");
    assert!(
        ns.has("lo", "10.77.0.3/32").is_some(),
        "pre-existing VIP kept"
    );
    assert!(!ns.state().exists(), "state file removed after a full down");

    let (code, out) = ns.lvsd(&[&["status"], &vips[..]].concat());
    assert_eq!(code, 1, "status after down: {out}");

    // A second down finds nothing recorded: removes the given VIPs, cannot restore sysctls.
    ns.set_sysctl("all", "arp_ignore", 1);
    let (code, out) = ns.lvsd(&["down", "--vip", "10.77.0.3"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("removed 10.77.0.3/32 from lo"), "{out}");
    assert!(out.contains("cannot restore the ARP sysctls"), "{out}");
    assert!(ns.has("lo", "10.77.0.3/32").is_none());
    assert_eq!(ns.sysctl("all", "arp_ignore"), 1, "left as it was");
}

#[test]
fn down_of_some_vips_keeps_sysctls_until_the_last() {
    need_root!();
    let ns = Ns::new();
    ns.set_sysctl("all", "arp_announce", 1);
    let (code, out) = ns.lvsd(&["up", "--vip", "10.77.0.1", "--vip", "10.77.0.2"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = ns.lvsd(&["down", "--vip", "10.77.0.1"]);
    assert_eq!(code, 0, "{out}");
    assert!(ns.has("lo", "10.77.0.1/32").is_none());
    assert!(ns.has("lo", "10.77.0.2/32").is_some());
    assert_eq!(
        ns.sysctl("all", "arp_announce"),
        2,
        "still serving 10.77.0.2"
    );
    assert!(out.contains("ARP sysctls left set"), "{out}");
    // Without --vip: everything that is left.
    let (code, out) = ns.lvsd(&["down"]);
    assert_eq!(code, 0, "{out}");
    assert!(ns.has("lo", "10.77.0.2/32").is_none());
    assert_eq!(ns.arp(&["all"]), [triple("all", 0, 1)]);
    assert!(!ns.state().exists());
}

#[test]
fn ipv6_vip_is_a_nodad_128_and_needs_no_sysctls() {
    need_root!();
    let ns = Ns::new();
    ns.set_sysctl("all", "arp_announce", 1);
    let vips = ["--vip", "2001:db8:77::1"];
    let (code, out) = ns.lvsd(&[&["up"], &vips[..]].concat());
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("no ARP sysctls needed"), "{out}");
    let a = ns.has("lo", "2001:db8:77::1/128").expect("VIP on lo");
    assert!(a.contains("nodad"), "{a}");
    assert_eq!(
        ns.arp(&["all", "lo"]),
        [triple("all", 0, 1), triple("lo", 0, 0)]
    );
    let (code, out) = ns.lvsd(&[&["status"], &vips[..]].concat());
    assert_eq!(code, 0, "{out}");
    let (code, out) = ns.lvsd(&[&["down"], &vips[..]].concat());
    assert_eq!(code, 0, "{out}");
    assert!(ns.has("lo", "2001:db8:77::1/128").is_none());

    // Mixed: the IPv4 VIP needs the sysctls, the IPv6 one gets no label.
    let vips = ["--vip", "2001:db8:77::1", "--vip", "10.77.0.1"];
    let (code, out) = ns.lvsd(&[&["up"], &vips[..]].concat());
    assert_eq!(code, 0, "{out}");
    assert!(ns.has("lo", "10.77.0.1/32").unwrap().contains(" lo:0 "));
    assert_eq!(ns.arp(&["all"]), [triple("all", 1, 2)]);
    let (code, out) = ns.lvsd(&[&["down"], &vips[..]].concat());
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        ns.arp(&["all", "lo"]),
        [triple("all", 0, 1), triple("lo", 0, 0)]
    );
}

#[test]
fn iface_sysctls_and_a_vip_on_another_interface() {
    need_root!();
    let ns = Ns::new();
    ns.must("ip link add v0 type veth peer name v1 && ip link set v0 up && ip link set v1 up");
    ns.set_sysctl("v0", "arp_announce", 1);
    let vips = ["--vip", "10.77.0.1", "--iface", "v0"];
    let (code, out) = ns.lvsd(&[&["up"], &vips[..]].concat());
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        ns.arp(&["all", "lo", "v0", "v1"]),
        [
            triple("all", 1, 2),
            triple("lo", 1, 2),
            triple("v0", 1, 2),
            triple("v1", 0, 0)
        ]
    );
    let (code, out) = ns.lvsd(&[&["status"], &vips[..]].concat());
    assert_eq!(code, 0, "{out}");

    // The VIP on a real interface too: this host would answer ARP for it there.
    ns.must("ip addr add 10.77.0.1/24 dev v1");
    let (code, out) = ns.lvsd(&[&["status"], &vips[..]].concat());
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("VIP 10.77.0.1 is also on v1"), "{out}");
    ns.must("ip addr del 10.77.0.1/24 dev v1");
    // An interface whose own value overrides all's (the kernel uses the larger).
    ns.set_sysctl("v1", "arp_ignore", 4);
    let (code, out) = ns.lvsd(&[&["status", "--json"], &vips[..]].concat());
    assert_eq!(code, 1, "{out}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON");
    assert_eq!(v["arp_overrides"][0]["interface"], "v1");
    assert_eq!(v["arp_overrides"][0]["effective_arp_ignore"], 4);
    ns.set_sysctl("v1", "arp_ignore", 0);

    let (code, out) = ns.lvsd(&[&["down"], &vips[..]].concat());
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        ns.arp(&["all", "lo", "v0"]),
        [triple("all", 0, 0), triple("lo", 0, 0), triple("v0", 0, 1)]
    );
}

#[test]
fn errors_exit_2_and_change_nothing() {
    need_root!();
    let ns = Ns::new();
    let before = ns.arp(&["all", "lo"]);
    let addrs = ns.addrs("lo");

    let (code, out) = ns.lvsd(&["up", "--vip", "10.77.0.1", "--dev", "nosuch0"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("no such device: nosuch0"), "{out}");
    let (code, out) = ns.lvsd(&["status", "--vip", "10.77.0.1", "--dev", "nosuch0"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("no such device: nosuch0"), "{out}");
    let (code, out) = ns.lvsd(&["up", "--vip", "10.77.0.1", "--iface", "nosuch1"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("no such device: nosuch1"), "{out}");

    let (code, out) = ns.lvsd(&["up", "--vip", "10.77.0.300"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("`10.77.0.300` is not an IPv4 or IPv6 address"),
        "{out}"
    );
    let (code, out) = ns.lvsd(&["up", "--vip", "10.77.0.1/24"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("single address (/32)"), "{out}");
    let (code, out) = ns.lvsd(&["up"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("needs at least one --vip"), "{out}");
    let (code, out) = ns.lvsd(&["up", "--vip", "10.77.0.1", "--label", "eth0:1"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("must be \"lo\" or start with \"lo:\""),
        "{out}"
    );
    let (code, out) = ns.lvsd(&["down"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("no state file"), "{out}");

    // Not root.
    if std::path::Path::new("/usr/bin/setpriv").exists() {
        let (code, out) = ns.lvsd_as(
            &[
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
            ],
            &["up", "--vip", "10.77.0.1"],
        );
        if out.contains("Permission denied") && out.contains("setpriv") {
            eprintln!("the binary is not executable by nobody; not-root case skipped");
        } else {
            assert_eq!(code, 2, "{out}");
            assert!(out.contains("must run as root"), "{out}");
        }
    }

    assert_eq!(ns.arp(&["all", "lo"]), before);
    assert_eq!(ns.addrs("lo"), addrs);
}
