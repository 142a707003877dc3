//! TCP_CHECK and the shared connect (bindto, bind_port, bind_if, fwmark, timeouts), each test
//! in a network namespace of its own.

mod common;

use common::{blackhole, in_netns, sh, target};
use lvsd_check::probe::{connect, tcp, Target};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;

/// A port on 127.0.0.1 where nothing listens.
async fn closed_port() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap()
}

#[test]
fn tcp_connect_succeeds_and_closes() {
    in_netns(|| async {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let o = tcp::check(&target(addr, Duration::from_secs(3))).await;
        assert!(o.ok, "{o:?}");
        assert_eq!(o.error, None);
        // The server saw the connection, and the probe closed it right away.
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = [0u8; 16];
        let n = tokio::time::timeout(
            Duration::from_secs(2),
            tokio::io::AsyncReadExt::read(&mut s, &mut buf),
        )
        .await
        .expect("the probe closes its connection")
        .unwrap_or(0);
        assert_eq!(n, 0);
    });
}

#[test]
fn tcp_refused_fails_fast() {
    in_netns(|| async {
        let timeout = Duration::from_secs(5);
        let o = tcp::check(&target(closed_port().await, timeout)).await;
        assert!(!o.ok);
        assert_eq!(o.error.as_deref(), Some("connect: connection refused"));
        assert!(o.latency < timeout / 2, "{o:?}");
    });
}

#[test]
fn tcp_connect_timeout() {
    in_netns(|| async {
        let ip = blackhole();
        let timeout = Duration::from_millis(500);
        let o = tcp::check(&target(SocketAddr::new(ip, 80), timeout)).await;
        assert!(!o.ok);
        assert_eq!(
            o.error.as_deref(),
            Some("timeout after 500ms (connecting)"),
            "{o:?}"
        );
        assert!(o.latency >= Duration::from_millis(450), "{o:?}");
        assert!(o.latency < Duration::from_secs(3), "{o:?}");
    });
}

#[test]
fn tcp_bindto_sets_the_source_address_and_port() {
    in_netns(|| async {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let mut t = target(addr, Duration::from_secs(3));
        t.bind = Some("127.0.0.7:0".parse().unwrap());
        assert!(tcp::check(&t).await.ok);
        let (_, peer) = l.accept().await.unwrap();
        assert_eq!(peer.ip().to_string(), "127.0.0.7");

        t.bind = Some("127.0.0.8:40555".parse().unwrap());
        let s = connect::tcp(&t).await.unwrap();
        let (_, peer) = l.accept().await.unwrap();
        assert_eq!(peer.to_string(), "127.0.0.8:40555");
        drop(s);
    });
}

#[test]
fn tcp_bind_errors_are_explicit() {
    in_netns(|| async {
        let t = Target {
            bind: Some("10.9.9.9:0".parse().unwrap()),
            ..target(closed_port().await, Duration::from_secs(3))
        };
        let o = tcp::check(&t).await;
        assert_eq!(
            o.error.as_deref(),
            Some("bind 10.9.9.9:0: cannot assign requested address")
        );
        let t = Target {
            bind: None,
            bind_if: Some("nosuch0".into()),
            ..t
        };
        let o = tcp::check(&t).await;
        assert_eq!(o.error.as_deref(), Some("bind_if nosuch0: no such device"));
    });
}

#[test]
fn tcp_bind_if() {
    in_netns(|| async {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut t = target(l.local_addr().unwrap(), Duration::from_secs(3));
        t.bind_if = Some("lo".into());
        let o = tcp::check(&t).await;
        assert!(o.ok, "{o:?}");
    });
}

#[test]
fn tcp_fwmark_is_set_on_the_socket() {
    in_netns(|| async {
        // Marked packets are routed by table 100, where 10.50.0.0/24 is unreachable; the
        // local table moves after the fwmark rule so that the mark decides.
        sh("ip addr add 10.50.0.1/32 dev lo");
        sh("ip rule add pref 1000 lookup local && ip rule del pref 0");
        sh("ip rule add pref 500 fwmark 7 lookup 100");
        sh("ip route add unreachable 10.50.0.0/24 table 100");
        let l = TcpListener::bind("10.50.0.1:0").await.unwrap();
        let mut t = target(l.local_addr().unwrap(), Duration::from_secs(3));
        let o = tcp::check(&t).await;
        assert!(o.ok, "unmarked: {o:?}");
        t.fwmark = Some(7);
        let o = tcp::check(&t).await;
        assert!(!o.ok);
        assert!(
            o.error.as_deref().unwrap().starts_with("connect: "),
            "{o:?}"
        );
        assert!(o.latency < Duration::from_millis(1500), "{o:?}");
        t.fwmark = Some(8);
        assert!(tcp::check(&t).await.ok);
    });
}
