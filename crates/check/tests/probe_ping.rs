//! PING_CHECK to addresses in the test's own network namespace.

mod common;

use common::{blackhole, in_netns, sh};
use lvsd_check::probe::ping::{self, IcmpSocket};
use lvsd_check::probe::Target;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

fn target(ip: IpAddr, timeout: Duration) -> Target {
    Target {
        addr: SocketAddr::new(ip, 0),
        bind: None,
        bind_if: None,
        fwmark: None,
        timeout,
    }
}

fn has_ipv6() -> bool {
    std::net::UdpSocket::bind("[::1]:0").is_ok()
}

#[test]
fn loopback_answers_default_socket() {
    in_netns(|| async {
        // A fresh namespace has ping_group_range "1 0": the check falls back to a raw socket.
        let out = ping::check(&target(
            "127.0.0.1".parse().unwrap(),
            Duration::from_secs(5),
        ))
        .await;
        assert!(out.ok, "{out:?}");
        assert_eq!(out.error, None);
    });
}

#[test]
fn loopback_answers_raw_socket() {
    in_netns(|| async {
        let t = target("127.0.0.1".parse().unwrap(), Duration::from_secs(5));
        for _ in 0..3 {
            let out = ping::check_with(&t, IcmpSocket::Raw).await;
            assert!(out.ok, "{out:?}");
        }
    });
}

#[test]
fn loopback_answers_datagram_socket() {
    in_netns(|| async {
        sh("sysctl -qw net.ipv4.ping_group_range='0 2147483647'");
        let t = target("127.0.0.1".parse().unwrap(), Duration::from_secs(5));
        let out = ping::check_with(&t, IcmpSocket::Datagram).await;
        assert!(out.ok, "{out:?}");
        // The default path now uses the datagram socket.
        assert!(ping::check(&t).await.ok);
    });
}

#[test]
fn datagram_socket_refused_without_ping_group_range() {
    in_netns(|| async {
        sh("sysctl -qw net.ipv4.ping_group_range='1 0'");
        let t = target("127.0.0.1".parse().unwrap(), Duration::from_secs(5));
        let out = ping::check_with(&t, IcmpSocket::Datagram).await;
        assert!(!out.ok);
        assert!(out.error.unwrap().starts_with("ICMP socket:"));
    });
}

#[test]
fn address_on_a_link_answers() {
    in_netns(|| async {
        sh("ip link add pd0 type veth peer name pd1 && ip link set pd0 up && ip addr add 10.66.0.1/24 dev pd0");
        let mut t = target("10.66.0.1".parse().unwrap(), Duration::from_secs(5));
        t.bind = Some("10.66.0.1:0".parse().unwrap());
        assert!(ping::check(&t).await.ok);
    });
}

#[test]
fn ipv6_loopback_answers() {
    in_netns(|| async {
        if !has_ipv6() {
            eprintln!("skipped: no IPv6 loopback");
            return;
        }
        let t = target("::1".parse().unwrap(), Duration::from_secs(5));
        let out = ping::check_with(&t, IcmpSocket::Raw).await;
        assert!(out.ok, "{out:?}");
        sh("sysctl -qw net.ipv4.ping_group_range='0 2147483647'");
        let out = ping::check_with(&t, IcmpSocket::Datagram).await;
        assert!(out.ok, "{out:?}");
    });
}

#[test]
fn blackhole_times_out() {
    in_netns(|| async {
        let ip = blackhole();
        for kind in [IcmpSocket::Raw, IcmpSocket::Datagram] {
            sh("sysctl -qw net.ipv4.ping_group_range='0 2147483647'");
            let start = Instant::now();
            let out = ping::check_with(&target(ip, Duration::from_millis(700)), kind).await;
            assert!(!out.ok);
            assert_eq!(out.error.as_deref(), Some("no echo reply within 700ms"));
            assert!(start.elapsed() >= Duration::from_millis(600));
        }
    });
}

#[test]
fn host_unreachable_fails_before_the_timeout() {
    in_netns(|| async {
        // A link whose peer never answers ARP: the kernel sends us ICMP host unreachable.
        sh("ip link add pu0 type veth peer name pu1 && ip link set pu1 up && ip link set pu0 up \
            && ip addr add 10.78.0.1/24 dev pu0 \
            && sysctl -qw net.ipv4.neigh.pu0.mcast_solicit=1 net.ipv4.neigh.pu0.retrans_time_ms=100 \
            && sysctl -qw net.ipv4.ping_group_range='0 2147483647'");
        let timeout = Duration::from_secs(20);
        for kind in [IcmpSocket::Raw, IcmpSocket::Datagram] {
            let start = Instant::now();
            let out = ping::check_with(&target("10.78.0.2".parse().unwrap(), timeout), kind).await;
            assert!(!out.ok);
            assert_eq!(
                out.error.as_deref(),
                Some("ICMP destination unreachable (host unreachable)"),
                "{kind:?}"
            );
            assert!(start.elapsed() < timeout / 2);
        }
    });
}

#[test]
fn unreachable_route_fails_at_once() {
    in_netns(|| async {
        sh("ip route add unreachable 10.79.0.0/24");
        let timeout = Duration::from_secs(6);
        let start = Instant::now();
        let out = ping::check(&target("10.79.0.5".parse().unwrap(), timeout)).await;
        assert!(!out.ok);
        let e = out.error.unwrap();
        assert!(
            e.contains("no route to host") || e.contains("unreachable"),
            "{e}"
        );
        assert!(start.elapsed() < timeout / 2);
    });
}
