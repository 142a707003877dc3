//! UDP_CHECK against responders in the test's own network namespace.

mod common;

use common::{blackhole, in_netns, sh, target};
use lvsd_check::probe::{udp, UdpProbe};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;

fn probe(payload: &[u8], require_reply: Option<Vec<Option<u8>>>) -> UdpProbe {
    UdpProbe {
        payload: payload.to_vec(),
        require_reply,
        min_reply_length: None,
        max_reply_length: None,
    }
}

fn pattern(bytes: &[u8]) -> Option<Vec<Option<u8>>> {
    Some(bytes.iter().copied().map(Some).collect())
}

/// What the server answers to a datagram.
#[derive(Clone)]
enum Answer {
    Echo,
    Fixed(Vec<u8>),
    Silent,
}

/// A server on 127.0.0.1 (any port); returns its address and a receiver of what it got (the
/// data and the sender).
async fn server(
    answer: Answer,
) -> (
    SocketAddr,
    tokio::sync::mpsc::UnboundedReceiver<(Vec<u8>, SocketAddr)>,
) {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = sock.local_addr().unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut buf = [0u8; 2048];
        loop {
            let (n, peer) = sock.recv_from(&mut buf).await.unwrap();
            let _ = tx.send((buf[..n].to_vec(), peer));
            match &answer {
                Answer::Echo => {
                    sock.send_to(&buf[..n], peer).await.unwrap();
                }
                Answer::Fixed(b) => {
                    sock.send_to(b, peer).await.unwrap();
                }
                Answer::Silent => {}
            }
        }
    });
    (addr, rx)
}

fn closed_port() -> SocketAddr {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    s.local_addr().unwrap()
}

#[test]
fn echo_passes_early_without_require_reply() {
    in_netns(|| async {
        let (addr, mut got) = server(Answer::Echo).await;
        let timeout = Duration::from_secs(6);
        let start = Instant::now();
        let out = udp::check(&probe(b"ping", None), &target(addr, timeout)).await;
        assert!(out.ok, "{out:?}");
        assert!(start.elapsed() < timeout / 2, "a reply ends the wait");
        assert_eq!(got.recv().await.unwrap().0, b"ping");
    });
}

#[test]
fn empty_payload_sends_32_random_bytes() {
    in_netns(|| async {
        let (addr, mut got) = server(Answer::Echo).await;
        let out = udp::check(&probe(b"", None), &target(addr, Duration::from_secs(5))).await;
        assert!(out.ok, "{out:?}");
        assert_eq!(got.recv().await.unwrap().0.len(), 32);
    });
}

#[test]
fn require_reply_match() {
    in_netns(|| async {
        let (addr, _g) = server(Answer::Echo).await;
        let out = udp::check(
            &probe(&[1, 2, 3], pattern(&[1, 2, 3])),
            &target(addr, Duration::from_secs(5)),
        )
        .await;
        assert!(out.ok, "{out:?}");
    });
}

#[test]
fn require_reply_without_pattern_needs_any_reply() {
    in_netns(|| async {
        let (addr, _g) = server(Answer::Fixed(b"whatever".to_vec())).await;
        let out = udp::check(
            &probe(b"x", Some(vec![])),
            &target(addr, Duration::from_secs(5)),
        )
        .await;
        assert!(out.ok, "{out:?}");
    });
}

#[test]
fn require_reply_mismatch_fails_at_once() {
    in_netns(|| async {
        let (addr, _g) = server(Answer::Fixed(vec![0x10, 0x99])).await;
        let timeout = Duration::from_secs(6);
        let start = Instant::now();
        let out = udp::check(&probe(b"q", pattern(&[0x10, 0x20])), &target(addr, timeout)).await;
        assert!(!out.ok);
        let e = out.error.unwrap();
        assert!(e.contains("does not match require_reply at byte 1"), "{e}");
        assert!(start.elapsed() < timeout / 2);
    });
}

#[test]
fn require_reply_wildcards() {
    in_netns(|| async {
        let (addr, _g) = server(Answer::Fixed(vec![0xab, 0x42, 0xcd])).await;
        let p = Some(vec![Some(0xab), None, Some(0xcd)]);
        let out = udp::check(&probe(b"q", p), &target(addr, Duration::from_secs(5))).await;
        assert!(out.ok, "{out:?}");
        let p = Some(vec![None, None, Some(0xce)]);
        let out = udp::check(&probe(b"q", p), &target(addr, Duration::from_secs(5))).await;
        assert!(!out.ok);
    });
}

#[test]
fn reply_length_bounds() {
    in_netns(|| async {
        let (addr, _g) = server(Answer::Fixed(vec![7; 10])).await;
        let t = target(addr, Duration::from_secs(5));
        let with = |min: Option<u32>, max: Option<u32>| UdpProbe {
            min_reply_length: min,
            max_reply_length: max,
            ..probe(b"q", Some(vec![Some(7)]))
        };
        assert!(udp::check(&with(Some(10), Some(10)), &t).await.ok);
        assert!(udp::check(&with(None, None), &t).await.ok);
        let out = udp::check(&with(Some(11), None), &t).await;
        assert!(!out.ok);
        assert!(out.error.unwrap().contains("outside min_reply_length 11"));
        let out = udp::check(&with(None, Some(9)), &t).await;
        assert!(!out.ok);
        assert!(out.error.unwrap().contains("more than 9 bytes"));
    });
}

#[test]
fn default_max_reply_length_is_255() {
    in_netns(|| async {
        let (addr, _g) = server(Answer::Fixed(vec![1; 256])).await;
        let out = udp::check(
            &probe(b"q", Some(vec![])),
            &target(addr, Duration::from_secs(5)),
        )
        .await;
        assert!(!out.ok);
        assert!(out.error.unwrap().contains("max_reply_length 255"));
    });
}

#[test]
fn port_unreachable_fails_fast() {
    in_netns(|| async {
        let timeout = Duration::from_secs(6);
        for rr in [None, pattern(b"x")] {
            let start = Instant::now();
            let out = udp::check(&probe(b"q", rr), &target(closed_port(), timeout)).await;
            assert!(!out.ok);
            assert_eq!(out.error.as_deref(), Some("ICMP port unreachable"));
            assert!(start.elapsed() < timeout / 2, "{:?}", start.elapsed());
        }
    });
}

#[test]
fn silent_server_passes_without_require_reply() {
    in_netns(|| async {
        let (addr, mut got) = server(Answer::Silent).await;
        let start = Instant::now();
        let out = udp::check(
            &probe(b"q", None),
            &target(addr, Duration::from_millis(600)),
        )
        .await;
        assert!(out.ok, "{out:?}");
        // Success comes from the silence for the whole timeout.
        assert!(start.elapsed() >= Duration::from_millis(500));
        assert_eq!(got.recv().await.unwrap().0, b"q");
    });
}

#[test]
fn silent_server_fails_with_require_reply() {
    in_netns(|| async {
        let (addr, _g) = server(Answer::Silent).await;
        let out = udp::check(
            &probe(b"q", Some(vec![])),
            &target(addr, Duration::from_millis(600)),
        )
        .await;
        assert!(!out.ok);
        assert_eq!(out.error.as_deref(), Some("no reply within 600ms"));
    });
}

#[test]
fn blackhole_without_require_reply_passes() {
    in_netns(|| async {
        let ip = blackhole();
        let out = udp::check(
            &probe(b"q", None),
            &target(SocketAddr::new(ip, 9), Duration::from_millis(500)),
        )
        .await;
        assert!(out.ok, "{out:?}");
    });
}

#[test]
fn host_unreachable_fails() {
    in_netns(|| async {
        // A link whose peer never answers ARP: the kernel reports host unreachable.
        sh("ip link add ua0 type veth peer name ua1 && ip link set ua1 up && ip link set ua0 up \
            && ip addr add 10.77.0.1/24 dev ua0 \
            && sysctl -qw net.ipv4.neigh.ua0.mcast_solicit=1 net.ipv4.neigh.ua0.retrans_time_ms=100");
        let timeout = Duration::from_secs(8);
        let out = udp::check(
            &probe(b"q", None),
            &target("10.77.0.2:9".parse().unwrap(), timeout),
        )
        .await;
        assert!(!out.ok);
        assert_eq!(out.error.as_deref(), Some("ICMP host unreachable"));
    });
}

#[test]
fn bindto_sets_the_source_address() {
    in_netns(|| async {
        let (addr, mut got) = server(Answer::Echo).await;
        let mut t = target(addr, Duration::from_secs(5));
        t.bind = Some("127.0.0.9:0".parse().unwrap());
        t.bind_if = Some("lo".into());
        let out = udp::check(&probe(b"b", None), &t).await;
        assert!(out.ok, "{out:?}");
        let (_, from) = got.recv().await.unwrap();
        assert_eq!(from.ip().to_string(), "127.0.0.9");
        // bind_port too.
        t.bind = Some("127.0.0.9:40999".parse().unwrap());
        assert!(udp::check(&probe(b"b", None), &t).await.ok);
        assert_eq!(
            got.recv().await.unwrap().1,
            "127.0.0.9:40999".parse().unwrap()
        );
    });
}

#[test]
fn fwmark_is_applied() {
    in_netns(|| async {
        let ip = blackhole();
        // Marked packets are routed by table 100, where the blackhole is unreachable.
        sh("ip rule add fwmark 7 lookup 100 && ip route add unreachable 10.255.0.0/24 table 100");
        let mut t = target(SocketAddr::new(ip, 9), Duration::from_millis(500));
        assert!(
            udp::check(&probe(b"q", None), &t).await.ok,
            "unmarked: silence"
        );
        t.fwmark = Some(7);
        let out = udp::check(&probe(b"q", None), &t).await;
        assert!(!out.ok, "marked: no route");
        let e = out.error.unwrap();
        assert!(
            e.contains("no route to host") || e.contains("unreachable"),
            "{e}"
        );
    });
}

#[test]
fn unknown_bind_if_fails() {
    in_netns(|| async {
        let (addr, _g) = server(Answer::Echo).await;
        let mut t = target(addr, Duration::from_secs(1));
        t.bind_if = Some("nosuch0".into());
        let out = udp::check(&probe(b"q", None), &t).await;
        assert!(!out.ok);
        assert_eq!(
            out.error.as_deref(),
            Some("bind_if nosuch0: no such device")
        );
    });
}

#[test]
fn ipv6_echo() {
    in_netns(|| async {
        let Ok(sock) = UdpSocket::bind("[::1]:0").await else {
            eprintln!("skipped: no IPv6 loopback");
            return;
        };
        let addr = sock.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 64];
            let (n, peer) = sock.recv_from(&mut buf).await.unwrap();
            sock.send_to(&buf[..n], peer).await.unwrap();
        });
        let out = udp::check(
            &probe(b"v6", pattern(b"v6")),
            &target(addr, Duration::from_secs(5)),
        )
        .await;
        assert!(out.ok, "{out:?}");
        // And port unreachable over ICMPv6.
        let s = std::net::UdpSocket::bind("[::1]:0").unwrap();
        let closed = s.local_addr().unwrap();
        drop(s);
        let out = udp::check(&probe(b"v6", None), &target(closed, Duration::from_secs(5))).await;
        assert_eq!(out.error.as_deref(), Some("ICMP port unreachable"));
    });
}
