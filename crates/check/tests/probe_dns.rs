//! DNS_CHECK against a tiny responder in the test's own network namespace.

mod common;

use common::{blackhole, in_netns, target};
use hickory_proto::op::Message;
use hickory_proto::rr::RecordType;
use lvsd_check::probe::{dns, DnsProbe};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;

fn probe(qtype: &str, name: &str) -> DnsProbe {
    DnsProbe {
        qtype: qtype.into(),
        name: name.into(),
    }
}

/// A reply to `query`: its id xor `id_xor`, QR set (unless `qr` is false), RD/RA, `rcode`.
fn reply(query: &[u8], id_xor: u16, qr: bool, rcode: u8) -> Vec<u8> {
    let mut r = query.to_vec();
    let id = u16::from_be_bytes([r[0], r[1]]) ^ id_xor;
    r[0..2].copy_from_slice(&id.to_be_bytes());
    r[2] = if qr { 0x81 } else { 0x01 };
    r[3] = 0x80 | rcode;
    r
}

/// What the responder does with each query it gets.
#[derive(Clone, Copy)]
enum Behaviour {
    /// One reply with this rcode.
    Rcode(u8),
    /// A reply with another id, then (if `then_right`) the right one (NOERROR).
    WrongId { then_right: bool },
    /// A reply without QR, then the right one.
    NoQrThenRight,
    /// A 5-byte datagram, then the right one.
    ShortThenRight,
}

/// Starts a responder on 127.0.0.1 (any port); returns its address and a receiver of the
/// queries it got.
async fn responder(b: Behaviour) -> (SocketAddr, tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>) {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = sock.local_addr().unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        loop {
            let (n, peer) = sock.recv_from(&mut buf).await.unwrap();
            let q = buf[..n].to_vec();
            let _ = tx.send(q.clone());
            let replies = match b {
                Behaviour::Rcode(rc) => vec![reply(&q, 0, true, rc)],
                Behaviour::WrongId { then_right } => {
                    let mut v = vec![reply(&q, 0x5a5a, true, 0)];
                    if then_right {
                        v.push(reply(&q, 0, true, 0));
                    }
                    v
                }
                Behaviour::NoQrThenRight => vec![reply(&q, 0, false, 2), reply(&q, 0, true, 0)],
                Behaviour::ShortThenRight => vec![vec![1, 2, 3, 4, 5], reply(&q, 0, true, 0)],
            };
            for r in replies {
                sock.send_to(&r, peer).await.unwrap();
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    });
    (addr, rx)
}

#[test]
fn noerror_without_answers_passes_and_query_is_well_formed() {
    in_netns(|| async {
        let (addr, mut queries) = responder(Behaviour::Rcode(0)).await;
        let out = dns::check(
            &probe("A", "www.example.org"),
            &target(addr, Duration::from_secs(5)),
        )
        .await;
        assert!(out.ok, "{out:?}");
        assert_eq!(out.error, None);
        assert_eq!(out.weight, None);
        let q = Message::from_vec(&queries.recv().await.unwrap()).unwrap();
        assert!(q.recursion_desired());
        assert_eq!(q.queries().len(), 1);
        assert_eq!(q.queries()[0].query_type(), RecordType::A);
        assert_eq!(q.queries()[0].name().to_ascii(), "www.example.org.");
        assert!(q.answers().is_empty());
    });
}

#[test]
fn default_soa_for_the_root() {
    in_netns(|| async {
        let (addr, mut queries) = responder(Behaviour::Rcode(0)).await;
        let out = dns::check(&probe("SOA", "."), &target(addr, Duration::from_secs(5))).await;
        assert!(out.ok, "{out:?}");
        let q = Message::from_vec(&queries.recv().await.unwrap()).unwrap();
        assert_eq!(q.queries()[0].query_type(), RecordType::SOA);
        assert!(q.queries()[0].name().is_root());
    });
}

#[test]
fn random_ids() {
    in_netns(|| async {
        let (addr, mut queries) = responder(Behaviour::Rcode(0)).await;
        let mut ids = std::collections::HashSet::new();
        for _ in 0..8 {
            let out = dns::check(&probe("A", "a."), &target(addr, Duration::from_secs(5))).await;
            assert!(out.ok, "{out:?}");
            let q = queries.recv().await.unwrap();
            ids.insert(u16::from_be_bytes([q[0], q[1]]));
        }
        assert!(ids.len() > 1, "the id must vary between checks");
    });
}

#[test]
fn nxdomain_fails() {
    in_netns(|| async {
        let (addr, _q) = responder(Behaviour::Rcode(3)).await;
        let out = dns::check(
            &probe("A", "nx.example."),
            &target(addr, Duration::from_secs(5)),
        )
        .await;
        assert!(!out.ok);
        assert_eq!(out.error.as_deref(), Some("DNS rcode NXDOMAIN"));
    });
}

#[test]
fn servfail_and_refused_fail() {
    in_netns(|| async {
        for (rc, name) in [(2, "SERVFAIL"), (5, "REFUSED")] {
            let (addr, _q) = responder(Behaviour::Rcode(rc)).await;
            let out = dns::check(
                &probe("MX", "example."),
                &target(addr, Duration::from_secs(5)),
            )
            .await;
            assert!(!out.ok);
            assert_eq!(out.error, Some(format!("DNS rcode {name}")));
        }
    });
}

#[test]
fn wrong_id_is_ignored_then_the_right_reply_counts() {
    in_netns(|| async {
        let (addr, _q) = responder(Behaviour::WrongId { then_right: true }).await;
        let out = dns::check(&probe("A", "x."), &target(addr, Duration::from_secs(5))).await;
        assert!(out.ok, "{out:?}");
    });
}

#[test]
fn wrong_id_only_times_out() {
    in_netns(|| async {
        let (addr, _q) = responder(Behaviour::WrongId { then_right: false }).await;
        let start = Instant::now();
        let out = dns::check(&probe("A", "x."), &target(addr, Duration::from_secs(1))).await;
        assert!(!out.ok);
        assert_eq!(out.error.as_deref(), Some("timeout after 1s"));
        assert!(start.elapsed() >= Duration::from_millis(900));
    });
}

#[test]
fn reply_without_qr_or_too_short_is_ignored() {
    in_netns(|| async {
        for b in [Behaviour::NoQrThenRight, Behaviour::ShortThenRight] {
            let (addr, _q) = responder(b).await;
            let out = dns::check(&probe("TXT", "t."), &target(addr, Duration::from_secs(5))).await;
            assert!(out.ok, "{out:?}");
        }
    });
}

#[test]
fn no_server_fails_fast_with_port_unreachable() {
    in_netns(|| async {
        // A port nobody listens on.
        let port = {
            let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            s.local_addr().unwrap().port()
        };
        let timeout = Duration::from_secs(6);
        let start = Instant::now();
        let out = dns::check(
            &probe("A", "x."),
            &target(SocketAddr::from(([127, 0, 0, 1], port)), timeout),
        )
        .await;
        assert!(!out.ok);
        assert_eq!(out.error.as_deref(), Some("ICMP port unreachable"));
        assert!(start.elapsed() < timeout / 2, "{:?}", start.elapsed());
    });
}

#[test]
fn blackhole_times_out() {
    in_netns(|| async {
        let ip = blackhole();
        let start = Instant::now();
        let out = dns::check(
            &probe("A", "x."),
            &target(SocketAddr::new(ip, 53), Duration::from_millis(700)),
        )
        .await;
        assert!(!out.ok);
        assert_eq!(out.error.as_deref(), Some("timeout after 700ms"));
        assert!(start.elapsed() >= Duration::from_millis(600));
        assert!(out.latency >= Duration::from_millis(600));
    });
}

#[test]
fn ipv6_server() {
    in_netns(|| async {
        let Ok(sock) = UdpSocket::bind("[::1]:0").await else {
            eprintln!("skipped: no IPv6 loopback");
            return;
        };
        let addr = sock.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 1500];
            let (n, peer) = sock.recv_from(&mut buf).await.unwrap();
            sock.send_to(&reply(&buf[..n], 0, true, 0), peer)
                .await
                .unwrap();
        });
        let out = dns::check(
            &probe("AAAA", "v6.example."),
            &target(addr, Duration::from_secs(5)),
        )
        .await;
        assert!(out.ok, "{out:?}");
    });
}

#[test]
fn unknown_type_fails_without_sending() {
    in_netns(|| async {
        let out = dns::check(
            &probe("PTR", "x."),
            &target("127.0.0.1:53".parse().unwrap(), Duration::from_secs(1)),
        )
        .await;
        assert!(!out.ok);
        assert!(out.error.unwrap().contains("unknown DNS type"));
    });
}
