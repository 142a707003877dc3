//! SMTP_CHECK against a small SMTP responder written here, each test in a network namespace
//! of its own.

mod common;

use common::{blackhole, in_netns, target};
use lvsd_check::probe::{smtp, SmtpProbe};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

#[derive(Clone, Copy)]
struct Script {
    /// Before the banner.
    delay: Duration,
    banner: &'static str,
    helo_reply: &'static str,
}

const GOOD: Script = Script {
    delay: Duration::ZERO,
    banner: "220-mx.test ESMTP\r\n220-no UCE\r\n220 ready\r\n",
    helo_reply: "250 mx.test hello\r\n",
};

/// What the responder saw: the client's address and the lines it sent.
type Seen = (SocketAddr, Vec<String>);

/// An SMTP responder on 127.0.0.1 playing `script` to every connection.
async fn responder(script: Script) -> (SocketAddr, mpsc::UnboundedReceiver<Seen>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((s, peer)) = l.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let (r, mut w) = s.into_split();
                let mut lines = BufReader::new(r).lines();
                let mut seen = Vec::new();
                tokio::time::sleep(script.delay).await;
                if w.write_all(script.banner.as_bytes()).await.is_ok() {
                    while let Ok(Some(line)) = lines.next_line().await {
                        let reply = if line.starts_with("HELO ") {
                            script.helo_reply
                        } else if line == "QUIT" {
                            "221 bye\r\n"
                        } else {
                            "500 what?\r\n"
                        };
                        seen.push(line);
                        if w.write_all(reply.as_bytes()).await.is_err() {
                            break;
                        }
                    }
                }
                let _ = tx.send((peer, seen));
            });
        }
    });
    (addr, rx)
}

fn probe() -> SmtpProbe {
    SmtpProbe {
        helo_name: "lvsd.test".into(),
    }
}

const T: Duration = Duration::from_secs(3);

#[test]
fn smtp_success_with_a_multi_line_banner() {
    in_netns(|| async {
        let (addr, mut seen) = responder(GOOD).await;
        let o = smtp::check(&probe(), &target(addr, T)).await;
        assert!(o.ok, "{o:?}");
        let (_, lines) = seen.recv().await.unwrap();
        assert_eq!(lines, ["HELO lvsd.test", "QUIT"]);
    });
}

#[test]
fn smtp_bad_banner_fails() {
    in_netns(|| async {
        let (addr, mut seen) = responder(Script {
            banner: "554 mx.test no service for you\r\n",
            ..GOOD
        })
        .await;
        let o = smtp::check(&probe(), &target(addr, T)).await;
        assert_eq!(
            o.error.as_deref(),
            Some("banner: 554 mx.test no service for you (want 220)")
        );
        // Nothing was sent after a bad banner.
        let (_, lines) = seen.recv().await.unwrap();
        assert!(lines.is_empty(), "{lines:?}");
    });
}

#[test]
fn smtp_helo_rejected() {
    in_netns(|| async {
        let (addr, _seen) = responder(Script {
            helo_reply: "501-syntax\r\n501 bad HELO\r\n",
            ..GOOD
        })
        .await;
        let o = smtp::check(&probe(), &target(addr, T)).await;
        assert_eq!(o.error.as_deref(), Some("HELO rejected: 501 bad HELO"));
    });
}

#[test]
fn smtp_connection_closed_before_the_banner() {
    in_netns(|| async {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((s, _)) = l.accept().await {
                drop(s);
            }
        });
        let o = smtp::check(&probe(), &target(addr, T)).await;
        let e = o.error.unwrap();
        assert!(
            e == "connection closed before the banner"
                || e == "reading the banner: connection reset by peer",
            "{e}"
        );
    });
}

#[test]
fn smtp_refused_fails_fast() {
    in_netns(|| async {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        let timeout = Duration::from_secs(5);
        let o = smtp::check(&probe(), &target(addr, timeout)).await;
        assert_eq!(o.error.as_deref(), Some("connect: connection refused"));
        assert!(o.latency < timeout / 2, "{o:?}");
    });
}

#[test]
fn smtp_connect_timeout() {
    in_netns(|| async {
        let addr = SocketAddr::new(blackhole(), 25);
        let o = smtp::check(&probe(), &target(addr, Duration::from_millis(500))).await;
        assert_eq!(o.error.as_deref(), Some("timeout after 500ms (connecting)"));
        assert!(o.latency < Duration::from_secs(3), "{o:?}");
    });
}

#[test]
fn smtp_slow_banner() {
    in_netns(|| async {
        let (addr, _seen) = responder(Script {
            delay: Duration::from_millis(1500),
            ..GOOD
        })
        .await;
        let o = smtp::check(&probe(), &target(addr, Duration::from_millis(500))).await;
        assert_eq!(
            o.error.as_deref(),
            Some("timeout after 500ms (reading the banner)")
        );
        assert!(o.latency < Duration::from_millis(1400), "{o:?}");

        let (addr, _seen) = responder(Script {
            delay: Duration::from_millis(300),
            ..GOOD
        })
        .await;
        let o = smtp::check(&probe(), &target(addr, T)).await;
        assert!(o.ok, "{o:?}");
    });
}

#[test]
fn smtp_bindto_source_address() {
    in_netns(|| async {
        let (addr, mut seen) = responder(GOOD).await;
        let mut t = target(addr, T);
        t.bind = Some("127.0.0.11:0".parse().unwrap());
        let o = smtp::check(&probe(), &t).await;
        assert!(o.ok, "{o:?}");
        let (peer, _) = seen.recv().await.unwrap();
        assert_eq!(peer.ip().to_string(), "127.0.0.11");
    });
}
