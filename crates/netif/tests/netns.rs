//! lvsd-netif on the real kernel: every test builds its own network namespaces (a veth pair or
//! a dummy interface), enters them with `setns` on a dedicated thread that runs its own tokio
//! current-thread runtime, and checks the effect with `ip`. Needs root; without it each test
//! prints "skipped: ... needs root" and passes (in CI, where it runs as root, a skip fails: lvsd-testkit).

use lvsd_netif::{
    parse_route, parse_rule, send_garp, send_unsolicited_na, AddrSpec, GarpSocket, NetEvent,
    Netlink, Recv6, VrrpSocket, VRRP_GROUP_V4, VRRP_GROUP_V6,
};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// The lab

static NEXT_LAB: AtomicUsize = AtomicUsize::new(0);

use lvsd_testkit::need_root;

/// Runs `ip ARGS`, panicking with its stderr on failure; returns stdout.
fn ip(args: &[&str]) -> String {
    let out = Command::new("ip")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("ip {}: {e}", args.join(" ")));
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Network namespaces that exist as long as the value does (deleted in `Drop`, also when the
/// test panics).
struct Lab {
    ns: Vec<lvsd_testkit::Netns>,
}

impl Lab {
    /// `n` namespaces named `lvsdt-<pid>-<lab>-a`, `-b`, ... with `lo` up and IPv6 duplicate
    /// address detection off (so link-local addresses are usable at once).
    fn new(n: usize) -> Lab {
        let id = NEXT_LAB.fetch_add(1, Ordering::SeqCst);
        let mut lab = Lab { ns: Vec::new() };
        for i in 0..n {
            let name = format!(
                "lvsdt-{}-{id}-{}",
                std::process::id(),
                (b'a' + i as u8) as char
            );
            lab.ns.push(lvsd_testkit::Netns::named(&name));
            sysctl(&name, "net/ipv6/conf/all/accept_dad", "0");
            sysctl(&name, "net/ipv6/conf/default/accept_dad", "0");
        }
        lab
    }

    fn a(&self) -> &str {
        self.ns[0].name()
    }

    fn b(&self) -> &str {
        self.ns[1].name()
    }

    /// A veth pair `veth0` (in a) <-> `veth0` (in b), both up, with `10.240.<net>.1/24` in a and
    /// `.2/24` in b.
    fn veth(&self, net: u8) {
        let (a, b) = (self.a(), self.b());
        ip(&[
            "-n", a, "link", "add", "veth0", "type", "veth", "peer", "name", "veth0", "netns", b,
        ]);
        for (ns, host) in [(a, 1), (b, 2)] {
            ip(&[
                "-n",
                ns,
                "addr",
                "add",
                &format!("10.240.{net}.{host}/24"),
                "dev",
                "veth0",
            ]);
            ip(&["-n", ns, "link", "set", "veth0", "up"]);
        }
        wait_carrier_and_link_local(a, "veth0");
        wait_carrier_and_link_local(b, "veth0");
    }

    /// An interface `eth0`, up with carrier, in namespace `ns` (one end of a veth pair whose
    /// other end, `eth0p`, is up in the same namespace: this kernel may lack `dummy`).
    fn single(&self, ns: &str) {
        ip(&[
            "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p",
        ]);
        ip(&["-n", ns, "link", "set", "eth0p", "up"]);
        ip(&["-n", ns, "link", "set", "eth0", "up"]);
        wait_carrier_and_link_local(ns, "eth0");
    }
}

/// Waits until `dev` in `ns` has carrier and a usable (not tentative) IPv6 link-local address:
/// the kernel reports carrier changes with a delay of up to a second.
fn wait_carrier_and_link_local(ns: &str, dev: &str) {
    eventually(
        &format!("{dev} in {ns} up with a link-local address"),
        || {
            let link = ip(&["-n", ns, "-o", "link", "show", "dev", dev]);
            let ll = ip(&[
                "-n", ns, "-o", "-6", "addr", "show", "dev", dev, "scope", "link",
            ]);
            link.contains("LOWER_UP")
                && !link.contains("NO-CARRIER")
                && ll.contains("fe80::")
                && !ll.contains("tentative")
        },
    );
}

/// Writes `/proc/sys/<key>` inside namespace `ns` only (from a thread that entered it).
fn sysctl(ns: &str, key: &str, value: &str) {
    let key = key.to_string();
    let value = value.to_string();
    join(in_ns(ns, move || {
        std::fs::write(format!("/proc/sys/{key}"), &value)
            .unwrap_or_else(|e| panic!("sysctl {key}={value}: {e}"));
    }));
}

/// Runs `f` on a new thread that has entered network namespace `ns`.
fn in_ns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> JoinHandle<T> {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET)
            .unwrap_or_else(|e| panic!("setns {path}: {e}"));
        f()
    })
}

fn join<T>(h: JoinHandle<T>) -> T {
    h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
}

/// Runs a future on a current-thread runtime of the calling thread.
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(f)
}

/// Polls `check` for up to 5 seconds.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

// ---------------------------------------------------------------------------------------------
// Packets

fn checksum(data: &[u8]) -> u16 {
    let mut s: u32 = 0;
    for c in data.chunks(2) {
        s += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// A VRRPv2 advert: VRID, priority, one address, no authentication, 1 s interval.
fn vrrp_v2(vrid: u8, prio: u8, vip: Ipv4Addr) -> Vec<u8> {
    let mut p = vec![0x21, vrid, prio, 1, 0, 1, 0, 0];
    p.extend_from_slice(&vip.octets());
    p.extend_from_slice(&[0; 8]);
    let c = checksum(&p);
    p[6..8].copy_from_slice(&c.to_be_bytes());
    p
}

/// An IPv4 header as keepalived builds it (TOS 0xc0, TTL 255, protocol 112) and the payload.
fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, payload: &[u8]) -> Vec<u8> {
    let len = (20 + payload.len()) as u16;
    let mut h = vec![0x45, 0xc0];
    h.extend_from_slice(&len.to_be_bytes());
    h.extend_from_slice(&[0, 0, 0, 0, 255, 112, 0, 0]);
    h.extend_from_slice(&src.octets());
    h.extend_from_slice(&dst.octets());
    let c = checksum(&h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h.extend_from_slice(payload);
    h
}

/// A VRRPv3 advert for IPv6 with its checksum left 0 (the kernel fills it: IPV6_CHECKSUM).
fn vrrp_v3(vrid: u8, prio: u8, vip: Ipv6Addr) -> Vec<u8> {
    let mut p = vec![0x31, vrid, prio, 1, 0, 100, 0, 0];
    p.extend_from_slice(&vip.octets());
    p
}

fn v6_pseudo_checksum(src: Ipv6Addr, dst: Ipv6Addr, payload: &[u8]) -> u16 {
    let mut d = Vec::new();
    d.extend_from_slice(&src.octets());
    d.extend_from_slice(&dst.octets());
    d.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    d.extend_from_slice(&[0, 0, 0, 112]);
    d.extend_from_slice(payload);
    checksum(&d)
}

// ---------------------------------------------------------------------------------------------
// Tests

#[test]
fn vrrp_v4_multicast_and_unicast_adverts_cross_the_veth() {
    need_root!();
    let lab = Lab::new(2);
    lab.veth(1);
    let a_addr = Ipv4Addr::new(10, 240, 1, 1);
    let b_addr = Ipv4Addr::new(10, 240, 1, 2);
    let advert = vrrp_v2(51, 100, Ipv4Addr::new(10, 240, 1, 100));

    let (ready_tx, ready_rx) = mpsc::channel();
    let receiver = in_ns(lab.b(), move || {
        block_on(async move {
            let sock = VrrpSocket::open_v4(Some("veth0"), &[VRRP_GROUP_V4]).expect("open B");
            ready_tx.send(()).expect("ready");
            let mut got = Vec::new();
            let mut buf = [0u8; 1500];
            for want_dst in [VRRP_GROUP_V4, b_addr] {
                loop {
                    let n = tokio::time::timeout(Duration::from_secs(5), sock.recv_v4(&mut buf))
                        .await
                        .unwrap_or_else(|_| panic!("no advert to {want_dst} within 5 s"))
                        .expect("recv_v4");
                    let dst = Ipv4Addr::new(buf[16], buf[17], buf[18], buf[19]);
                    if dst == want_dst {
                        got.push(buf[..n].to_vec());
                        break;
                    }
                }
            }
            got
        })
    });
    ready_rx
        .recv_timeout(Duration::from_secs(5))
        .expect("receiver ready");

    let sender_advert = advert.clone();
    join(in_ns(lab.a(), move || {
        block_on(async move {
            let sock = VrrpSocket::open_v4(Some("veth0"), &[VRRP_GROUP_V4]).expect("open A");
            for dst in [VRRP_GROUP_V4, b_addr] {
                let pkt = ipv4(a_addr, dst, &sender_advert);
                for _ in 0..3 {
                    sock.send_v4(&pkt, dst).await.expect("send_v4");
                    tokio::time::sleep(Duration::from_millis(30)).await;
                }
            }
        })
    }));

    let got = join(receiver);
    for (pkt, dst) in got.iter().zip([VRRP_GROUP_V4, b_addr]) {
        assert_eq!(pkt[0], 0x45, "IPv4 header included");
        assert_eq!(pkt[8], 255, "TTL");
        assert_eq!(pkt[9], 112, "protocol");
        assert_eq!(&pkt[12..16], &a_addr.octets(), "source");
        assert_eq!(&pkt[16..20], &dst.octets(), "destination");
        assert_eq!(&pkt[20..], &advert[..], "VRRP payload");
    }
}

#[test]
fn vrrp_v4_ah_socket_receives_protocol_51() {
    need_root!();
    let lab = Lab::new(2);
    lab.veth(2);
    let a_addr = Ipv4Addr::new(10, 240, 2, 1);
    let (ready_tx, ready_rx) = mpsc::channel();
    let receiver = in_ns(lab.b(), move || {
        block_on(async move {
            let sock = VrrpSocket::open_v4_ah(Some("veth0"), &[VRRP_GROUP_V4]).expect("open B");
            assert_eq!(sock.protocol(), 51);
            ready_tx.send(()).expect("ready");
            let mut buf = [0u8; 1500];
            let n = tokio::time::timeout(Duration::from_secs(5), sock.recv_v4(&mut buf))
                .await
                .expect("AH packet within 5 s")
                .expect("recv_v4");
            buf[..n].to_vec()
        })
    });
    ready_rx
        .recv_timeout(Duration::from_secs(5))
        .expect("ready");
    join(in_ns(lab.a(), move || {
        block_on(async move {
            let sock = VrrpSocket::open_v4_ah(Some("veth0"), &[]).expect("open A");
            // A minimal AH header (next header 112) and an advert behind it.
            let mut payload = vec![112, 4, 0, 0, 10, 240, 2, 1, 0, 0, 0, 1];
            payload.extend_from_slice(&[0; 12]);
            payload.extend_from_slice(&vrrp_v2(7, 100, Ipv4Addr::new(10, 240, 2, 100)));
            let mut pkt = ipv4(a_addr, VRRP_GROUP_V4, &payload);
            pkt[9] = 51;
            pkt[10] = 0;
            pkt[11] = 0;
            let c = checksum(&pkt[..20]);
            pkt[10..12].copy_from_slice(&c.to_be_bytes());
            for _ in 0..3 {
                sock.send_v4(&pkt, VRRP_GROUP_V4).await.expect("send_v4");
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
        })
    }));
    let pkt = join(receiver);
    assert_eq!(pkt[9], 51);
    assert_eq!(pkt[8], 255);
    assert_eq!(pkt[20], 112, "AH next header");
}

#[test]
fn vrrp_v6_multicast_and_unicast_adverts_cross_the_veth() {
    need_root!();
    let lab = Lab::new(2);
    lab.veth(3);
    let advert = vrrp_v3(52, 150, "2001:db8:240::100".parse().unwrap());

    // B opens its socket and reports its link-local address and ifindex.
    let (ready_tx, ready_rx) = mpsc::channel();
    let receiver = in_ns(lab.b(), move || {
        block_on(async move {
            let sock = VrrpSocket::open_v6(Some("veth0"), &[VRRP_GROUP_V6]).expect("open B");
            let nl = Netlink::new().expect("netlink B");
            let ifindex = lvsd_netif::ifindex("veth0").expect("ifindex");
            let ll = match nl.primary_address(ifindex, true).await.expect("primary v6") {
                Some(IpAddr::V6(a)) => a,
                other => panic!("B has no link-local address: {other:?}"),
            };
            ready_tx.send((ll, ifindex)).expect("ready");
            let mut got: Vec<(Recv6, Vec<u8>)> = Vec::new();
            let mut buf = [0u8; 1500];
            for want_dst in [VRRP_GROUP_V6, ll] {
                loop {
                    let r = tokio::time::timeout(Duration::from_secs(5), sock.recv_v6(&mut buf))
                        .await
                        .unwrap_or_else(|_| panic!("no advert to {want_dst} within 5 s"))
                        .expect("recv_v6");
                    if r.dst == want_dst {
                        got.push((r, buf[..r.len].to_vec()));
                        break;
                    }
                }
            }
            got
        })
    });
    let (b_ll, b_ifindex) = ready_rx
        .recv_timeout(Duration::from_secs(5))
        .expect("ready");

    let sender_advert = advert.clone();
    let a_ll = join(in_ns(lab.a(), move || {
        block_on(async move {
            let sock = VrrpSocket::open_v6(Some("veth0"), &[]).expect("open A");
            let nl = Netlink::new().expect("netlink A");
            let ifindex = nl
                .link_by_name("veth0")
                .await
                .expect("link")
                .expect("veth0")
                .index;
            let ll = match nl.primary_address(ifindex, true).await.expect("primary v6") {
                Some(IpAddr::V6(a)) => a,
                other => panic!("A has no link-local address: {other:?}"),
            };
            for dst in [VRRP_GROUP_V6, b_ll] {
                for _ in 0..3 {
                    sock.send_v6(&sender_advert, ll, dst, ifindex)
                        .await
                        .expect("send_v6");
                    tokio::time::sleep(Duration::from_millis(30)).await;
                }
            }
            ll
        })
    }));

    let got = join(receiver);
    assert_eq!(got.len(), 2);
    for ((r, payload), dst) in got.iter().zip([VRRP_GROUP_V6, b_ll]) {
        assert_eq!(r.src, a_ll, "source");
        assert_eq!(r.dst, dst, "destination from IPV6_PKTINFO");
        assert_eq!(r.hop_limit, 255, "hop limit");
        assert_eq!(r.ifindex, b_ifindex, "arrival interface");
        assert_eq!(payload.len(), advert.len());
        assert_eq!(&payload[..6], &advert[..6]);
        assert_eq!(&payload[8..], &advert[8..]);
        assert_ne!(&payload[6..8], &[0, 0], "kernel filled the checksum");
        assert_eq!(
            v6_pseudo_checksum(r.src, r.dst, payload),
            0,
            "checksum verifies"
        );
    }
}

#[test]
fn add_and_delete_addresses_idempotently() {
    need_root!();
    let lab = Lab::new(1);
    lab.single(lab.a());
    ip(&["-n", lab.a(), "addr", "add", "10.240.4.1/24", "dev", "eth0"]);
    let ns = lab.a().to_string();

    let report = join(in_ns(lab.a(), move || {
        block_on(async move {
            let nl = Netlink::new().expect("netlink");
            let link = nl.link_by_name("eth0").await.expect("link").expect("eth0");
            assert!(link.up, "dummy eth0 is up with carrier");
            assert_eq!(link.mtu, 1500);
            assert!(link.mac.is_some());
            assert!(nl.link_by_name("nosuch0").await.expect("link").is_none());
            let links = nl.links().await.expect("links");
            assert!(links.iter().any(|l| l.name == "lo"));
            assert!(links
                .iter()
                .any(|l| l.name == "eth0" && l.index == link.index));
            assert_eq!(
                nl.link_by_index(link.index)
                    .await
                    .expect("link")
                    .map(|l| l.name),
                Some("eth0".to_string())
            );

            let vip: IpAddr = "10.240.4.10".parse().unwrap();
            let mut spec = AddrSpec::new(link.index, vip, 24);
            spec.label = Some("eth0:1".into());
            assert!(nl.add_address(&spec).await.expect("add"), "first add adds");
            assert!(
                !nl.add_address(&spec).await.expect("add again"),
                "second add is a no-op"
            );
            let shown = ip(&["-n", &ns, "-o", "addr", "show", "dev", "eth0"]);
            let addrs = nl.addresses().await.expect("addresses");
            let a = addrs
                .iter()
                .find(|a| a.addr == vip)
                .expect("VIP in the dump")
                .clone();
            let primary = nl
                .primary_address(link.index, false)
                .await
                .expect("primary");

            let v6: IpAddr = "2001:db8:240::10".parse().unwrap();
            let mut spec6 = AddrSpec::new(link.index, v6, 128);
            spec6.nodad = true;
            spec6.preferred_lft = Some(0);
            assert!(nl.add_address(&spec6).await.expect("add v6"));
            assert!(!nl.add_address(&spec6).await.expect("add v6 again"));
            let shown6 = ip(&["-n", &ns, "-o", "-6", "addr", "show", "dev", "eth0"]);

            assert!(nl.del_address(link.index, vip, 24).await.expect("del"));
            assert!(!nl
                .del_address(link.index, vip, 24)
                .await
                .expect("del again"));
            assert!(nl.del_address(link.index, v6, 128).await.expect("del v6"));
            assert!(!nl
                .del_address(link.index, v6, 128)
                .await
                .expect("del v6 again"));
            let after = ip(&["-n", &ns, "-o", "addr", "show", "dev", "eth0"]);
            (shown, a, primary, shown6, after)
        })
    }));
    let (shown, a, primary, shown6, after) = report;
    assert!(
        shown
            .lines()
            .any(|l| l.contains("inet 10.240.4.10/24") && l.contains("eth0:1")),
        "ip -o addr shows the VIP with its label:\n{shown}"
    );
    assert_eq!(a.prefix_len, 24);
    assert_eq!(a.label.as_deref(), Some("eth0:1"));
    assert!(a.secondary, "second address of 10.240.4.0/24 is secondary");
    assert_eq!(a.scope, 0);
    assert_eq!(primary, Some("10.240.4.1".parse().unwrap()));
    assert!(
        shown6.contains("2001:db8:240::10/128") && shown6.contains("preferred_lft 0sec"),
        "IPv6 VIP deprecated (preferred_lft 0):\n{shown6}"
    );
    assert!(!after.contains("10.240.4.10"), "VIP gone:\n{after}");
    assert!(!after.contains("2001:db8:240::10"), "v6 VIP gone:\n{after}");
}

#[test]
fn link_down_and_up_produce_events() {
    need_root!();
    let lab = Lab::new(2);
    lab.veth(5);
    let (ready_tx, ready_rx) = mpsc::channel();
    let watcher = in_ns(lab.b(), move || {
        block_on(async move {
            let nl = Netlink::new().expect("netlink");
            let mut events = nl.events().await.expect("events");
            ready_tx.send(()).expect("ready");
            let mut seen = Vec::new();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(8);
            let (mut down, mut up, mut added, mut removed) = (false, false, false, false);
            while !(down && up && added && removed) {
                let ev = tokio::time::timeout_at(deadline, events.recv())
                    .await
                    .unwrap_or_else(|_| panic!("missing events; got {seen:?}"))
                    .expect("event stream ended");
                match &ev {
                    NetEvent::Link {
                        name, up: false, ..
                    } if name == "veth0" => down = true,
                    NetEvent::Link { name, up: true, .. } if name == "veth0" && down => up = true,
                    NetEvent::AddrAdded(a) if a.addr.to_string() == "10.240.5.99" => added = true,
                    NetEvent::AddrRemoved(a) if a.addr.to_string() == "10.240.5.99" => {
                        removed = true
                    }
                    _ => {}
                }
                seen.push(ev);
            }
            seen
        })
    });
    ready_rx
        .recv_timeout(Duration::from_secs(5))
        .expect("ready");
    let b = lab.b();
    ip(&["-n", b, "link", "set", "veth0", "down"]);
    std::thread::sleep(Duration::from_millis(200));
    ip(&["-n", b, "link", "set", "veth0", "up"]);
    ip(&["-n", b, "addr", "add", "10.240.5.99/32", "dev", "veth0"]);
    ip(&["-n", b, "addr", "del", "10.240.5.99/32", "dev", "veth0"]);
    let seen = join(watcher);
    // Down came before up.
    let first_down = seen
        .iter()
        .position(|e| matches!(e, NetEvent::Link { up: false, .. }))
        .expect("down");
    let last_up = seen
        .iter()
        .rposition(|e| matches!(e, NetEvent::Link { up: true, .. }))
        .expect("up");
    assert!(first_down < last_up, "{seen:?}");
}

#[test]
fn gratuitous_arp_updates_the_peer_neighbour_entry() {
    need_root!();
    let lab = Lab::new(2);
    lab.veth(6);
    let b = lab.b().to_string();
    sysctl(&b, "net/ipv4/conf/all/arp_accept", "1");
    sysctl(&b, "net/ipv4/neigh/veth0/locktime", "0");
    // Twice: with a GarpSocket, then with the one-shot functions.
    for one_shot in [false, true] {
        // B has a stale, wrong entry for each VIP; the GARP / NA must override it at once.
        for (fam, vip) in [("-4", "10.240.6.100"), ("-6", "2001:db8:246::100")] {
            ip(&[
                "-n",
                &b,
                fam,
                "neigh",
                "replace",
                vip,
                "lladdr",
                "02:00:00:00:00:01",
                "dev",
                "veth0",
                "nud",
                "stale",
            ]);
        }
        let a_mac = join(in_ns(lab.a(), move || {
            block_on(async move {
                let nl = Netlink::new().expect("netlink");
                let link = nl
                    .link_by_name("veth0")
                    .await
                    .expect("link")
                    .expect("veth0");
                let mac = link.mac.expect("veth0 MAC");
                let v4: Ipv4Addr = "10.240.6.100".parse().unwrap();
                let v6: Ipv6Addr = "2001:db8:246::100".parse().unwrap();
                if one_shot {
                    send_garp(link.index, mac, v4).expect("send_garp");
                    send_unsolicited_na(link.index, mac, v6).expect("send_unsolicited_na");
                } else {
                    let garp = GarpSocket::open().expect("AF_PACKET socket");
                    garp.send_garp(link.index, mac, v4)
                        .await
                        .expect("send_garp");
                    garp.send_unsolicited_na(link.index, mac, v6)
                        .await
                        .expect("send_unsolicited_na");
                }
                mac
            })
        }));
        let mac = a_mac
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":");
        eventually("B's ARP entry for the VIP to carry A's MAC", || {
            ip(&["-n", &b, "neigh", "show", "10.240.6.100", "dev", "veth0"]).contains(&mac)
        });
        eventually("B's ND entry for the VIP to carry A's MAC", || {
            ip(&[
                "-n",
                &b,
                "-6",
                "neigh",
                "show",
                "2001:db8:246::100",
                "dev",
                "veth0",
            ])
            .contains(&mac)
        });
    }
}

#[test]
fn routes_and_rules_round_trip() {
    need_root!();
    let lab = Lab::new(1);
    lab.single(lab.a());
    let a = lab.a().to_string();
    ip(&["-n", &a, "addr", "add", "10.240.7.1/24", "dev", "eth0"]);
    let words = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
    let route = parse_route(&words(
        "10.240.70.0/24 via 10.240.7.254 dev eth0 table 100 metric 5",
    ))
    .expect("route");
    let blackhole = parse_route(&words("blackhole 10.240.71.0/24")).expect("blackhole");
    let v6route = parse_route(&words("2001:db8:247::/64 dev eth0 table 100")).expect("v6 route");
    let rule = parse_rule(&words("from 10.240.7.0/24 table 100 priority 1000")).expect("rule");
    let rule_noprio = parse_rule(&words("to 10.240.72.0/24 lookup 101")).expect("rule");

    let (r, rr) = (route.clone(), blackhole.clone());
    let (v6, ru, rn) = (v6route.clone(), rule.clone(), rule_noprio.clone());
    let a2 = a.clone();
    join(in_ns(&a, move || {
        block_on(async move {
            let nl = Netlink::new().expect("netlink");
            for spec in [&r, &rr, &v6] {
                assert!(nl.add_route(spec).await.expect("add route"), "{spec}");
                assert!(
                    !nl.add_route(spec).await.expect("add route again"),
                    "{spec}"
                );
            }
            let shown = ip(&["-n", &a2, "route", "show", "table", "100"]);
            assert!(
                shown
                    .contains("10.240.70.0/24 via 10.240.7.254 dev eth0 proto keepalived metric 5"),
                "{shown}"
            );
            let shown = ip(&["-n", &a2, "route", "show"]);
            assert!(
                shown.contains("blackhole 10.240.71.0/24 proto keepalived"),
                "{shown}"
            );
            let shown = ip(&["-n", &a2, "-6", "route", "show", "table", "100"]);
            assert!(
                shown.contains("2001:db8:247::/64 dev eth0 proto keepalived"),
                "{shown}"
            );

            for spec in [&ru, &rn] {
                assert!(nl.add_rule(spec).await.expect("add rule"), "{spec}");
                assert!(!nl.add_rule(spec).await.expect("add rule again"), "{spec}");
            }
            let shown = ip(&["-n", &a2, "rule", "show"]);
            assert!(
                shown.contains("1000:\tfrom 10.240.7.0/24 lookup 100"),
                "{shown}"
            );
            assert_eq!(
                shown.matches("to 10.240.72.0/24 lookup 101").count(),
                1,
                "{shown}"
            );

            for spec in [&r, &rr, &v6] {
                assert!(nl.del_route(spec).await.expect("del route"), "{spec}");
                assert!(
                    !nl.del_route(spec).await.expect("del route again"),
                    "{spec}"
                );
            }
            for spec in [&ru, &rn] {
                assert!(nl.del_rule(spec).await.expect("del rule"), "{spec}");
                assert!(!nl.del_rule(spec).await.expect("del rule again"), "{spec}");
            }
        })
    }));
    let routes = ip(&["-n", &a, "route", "show", "table", "all"]);
    assert!(!routes.contains("10.240.70.0"), "{routes}");
    assert!(!routes.contains("10.240.71.0"), "{routes}");
    assert!(!routes.contains("2001:db8:247::"), "{routes}");
    let rules = ip(&["-n", &a, "rule", "show"]);
    assert!(!rules.contains("10.240.7.0/24"), "{rules}");
    assert!(!rules.contains("10.240.72.0/24"), "{rules}");
}

#[test]
fn a_route_that_is_not_ours_is_not_deleted() {
    need_root!();
    let lab = Lab::new(1);
    lab.single(lab.a());
    let a = lab.a().to_string();
    ip(&["-n", &a, "addr", "add", "10.240.8.1/24", "dev", "eth0"]);
    // An administrator's route (proto boot) with the same destination.
    ip(&[
        "-n",
        &a,
        "route",
        "add",
        "10.240.80.0/24",
        "via",
        "10.240.8.254",
    ]);
    let spec = parse_route(&[
        "10.240.80.0/24".to_string(),
        "via".into(),
        "10.240.8.254".into(),
    ])
    .expect("route");
    join(in_ns(&a, move || {
        block_on(async move {
            let nl = Netlink::new().expect("netlink");
            assert!(!nl.add_route(&spec).await.expect("add"), "already there");
            assert!(
                !nl.del_route(&spec).await.expect("del"),
                "proto boot is not ours"
            );
        })
    }));
    let routes = ip(&["-n", &a, "route", "show"]);
    assert!(
        routes.contains("10.240.80.0/24 via 10.240.8.254"),
        "{routes}"
    );
}
