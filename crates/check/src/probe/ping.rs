//! PING_CHECK: one ICMP echo (IPv4) or ICMPv6 echo (IPv6) to the target's address; an echo
//! reply within `connect_timeout` passes.
//!
//! * The socket is an unprivileged ICMP datagram socket (`SOCK_DGRAM`, `IPPROTO_ICMP(V6)`) when
//!   `net.ipv4.ping_group_range` admits our group — the kernel then sets the echo id and only
//!   delivers replies to our id — else a raw socket (lvsd runs as root), where the id is ours
//!   and is checked. keepalived widens `ping_group_range` instead of using a raw socket; lvsd
//!   leaves the system setting alone.
//! * The socket is connected to the target (the kernel drops ICMP from other sources), with
//!   `IP(V6)_RECVERR`, so an ICMP destination unreachable for our echo fails the check at once.
//! * A reply must carry our sequence number (and, on a raw socket, our id); anything else
//!   (other ICMP traffic, our own request looped back) is ignored until the timeout.
//! * `bindto` (the port is ignored), `bind_if` and `fwmark` apply as for the other checkers.

use super::connect::{fmt_duration as human, io_text as os_text};
use super::udp::prepare;
use super::{Outcome, Target};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io::{self, Read};
use std::net::SocketAddr;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::time::Instant;

/// Bytes of data after the ICMP header.
const DATA_LEN: usize = 56;

/// The kind of ICMP socket a check uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IcmpSocket {
    /// `SOCK_DGRAM` "ping" socket (needs `ping_group_range`).
    Datagram,
    /// `SOCK_RAW` (needs CAP_NET_RAW).
    Raw,
}

/// Runs one PING_CHECK: a datagram socket if allowed, else a raw socket.
pub async fn check(target: &Target) -> Outcome {
    let start = Instant::now();
    match open(target, IcmpSocket::Datagram) {
        Ok(s) => exchange(s, IcmpSocket::Datagram, target, start).await,
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::EACCES | libc::EPERM | libc::EPROTONOSUPPORT)
            ) =>
        {
            check_with(target, IcmpSocket::Raw).await
        }
        Err(e) => Outcome::fail(start.elapsed(), format!("ICMP socket: {}", os_text(&e))),
    }
}

/// Runs one PING_CHECK with the given kind of socket.
pub async fn check_with(target: &Target, kind: IcmpSocket) -> Outcome {
    let start = Instant::now();
    match open(target, kind) {
        Ok(s) => exchange(s, kind, target, start).await,
        Err(e) => Outcome::fail(start.elapsed(), format!("ICMP socket: {}", os_text(&e))),
    }
}

fn open(target: &Target, kind: IcmpSocket) -> io::Result<Socket> {
    let (domain, proto) = if target.addr.is_ipv4() {
        (Domain::IPV4, Protocol::ICMPV4)
    } else {
        (Domain::IPV6, Protocol::ICMPV6)
    };
    let ty = match kind {
        IcmpSocket::Datagram => Type::DGRAM,
        IcmpSocket::Raw => Type::RAW,
    };
    Socket::new(domain, ty, Some(proto))
}

async fn exchange(sock: Socket, kind: IcmpSocket, target: &Target, start: Instant) -> Outcome {
    let deadline = start + target.timeout;
    // ICMP has no ports: bind and connect with port 0.
    let t = Target {
        addr: SocketAddr::new(target.addr.ip(), 0),
        bind: target.bind.map(|b| SocketAddr::new(b.ip(), 0)),
        ..target.clone()
    };
    if let Err(e) = prepare(&sock, &t) {
        return Outcome::fail(start.elapsed(), e);
    }
    if let Err(e) = sock.connect(&SockAddr::from(t.addr)) {
        return Outcome::fail(start.elapsed(), format!("connect: {}", os_text(&e)));
    }
    // SAFETY: `sock` owns its descriptor, which stays open and unchanged until the AsyncFd (and
    // with it the socket) is dropped at the end of this function.
    let fd = match unsafe { AsyncFd::register(sock) } {
        Ok(fd) => fd,
        Err(e) => {
            let (_, e) = e.into_parts();
            return Outcome::fail(start.elapsed(), format!("ICMP socket: {}", os_text(&e)));
        }
    };
    let v6 = t.addr.is_ipv6();
    let id = fastrand::u16(..);
    let seq = fastrand::u16(..);
    let packet = echo_request(v6, kind, id, seq);
    let timeout = || {
        Outcome::fail(
            start.elapsed(),
            format!("no echo reply within {}", human(target.timeout)),
        )
    };

    let sent = tokio::time::timeout_at(deadline, async {
        loop {
            let mut g = fd.writable().await?;
            match g.try_io(|s| s.get_ref().send(&packet)) {
                Ok(r) => return r,
                Err(_would_block) => continue,
            }
        }
    })
    .await;
    match sent {
        Err(_) => return timeout(),
        Ok(Err(e)) => return Outcome::fail(start.elapsed(), unreachable_text(&e, "send")),
        Ok(Ok(_)) => {}
    }

    let mut buf = [0u8; 2048];
    loop {
        let got = tokio::time::timeout_at(deadline, async {
            loop {
                // ERROR too: an ICMP error is reported as EPOLLERR without EPOLLIN.
                let mut g = fd.ready(Interest::READABLE | Interest::ERROR).await?;
                match g.try_io(|s| s.get_ref().read(&mut buf)) {
                    Ok(r) => return r,
                    Err(_would_block) => continue,
                }
            }
        })
        .await;
        let n = match got {
            Err(_) => return timeout(),
            Ok(Err(e)) => return Outcome::fail(start.elapsed(), unreachable_text(&e, "receive")),
            Ok(Ok(n)) => n,
        };
        if is_our_reply(&buf[..n], v6, kind, id, seq) {
            return Outcome::ok(start.elapsed());
        }
    }
}

/// The echo request: type, code 0, checksum, id, sequence, data. On a datagram socket the
/// kernel sets the id and the checksum; on a raw ICMPv6 socket it sets the checksum.
pub fn echo_request(v6: bool, kind: IcmpSocket, id: u16, seq: u16) -> Vec<u8> {
    let mut p = Vec::with_capacity(8 + DATA_LEN);
    p.push(if v6 { 128 } else { 8 });
    p.push(0);
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend((0..DATA_LEN).map(|i| i as u8));
    if !v6 && kind == IcmpSocket::Raw {
        let c = checksum(&p);
        p[2..4].copy_from_slice(&c.to_be_bytes());
    }
    p
}

/// Whether `pkt` (as read from the socket: with the IPv4 header on a raw IPv4 socket) is the
/// echo reply to our request.
pub fn is_our_reply(pkt: &[u8], v6: bool, kind: IcmpSocket, id: u16, seq: u16) -> bool {
    let icmp = if !v6 && kind == IcmpSocket::Raw {
        let Some(&b0) = pkt.first() else {
            return false;
        };
        let ihl = usize::from(b0 & 0x0f) * 4;
        if b0 >> 4 != 4 || ihl < 20 || pkt.len() < ihl {
            return false;
        }
        &pkt[ihl..]
    } else {
        pkt
    };
    if icmp.len() < 8 {
        return false;
    }
    let reply_type = if v6 { 129 } else { 0 };
    if icmp[0] != reply_type || icmp[1] != 0 {
        return false;
    }
    let rid = u16::from_be_bytes([icmp[4], icmp[5]]);
    let rseq = u16::from_be_bytes([icmp[6], icmp[7]]);
    // The kernel filters datagram sockets by id (it chose the id).
    rseq == seq && (kind == IcmpSocket::Datagram || rid == id)
}

/// The Internet checksum (RFC 1071).
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn unreachable_text(e: &io::Error, step: &str) -> String {
    let what = match e.raw_os_error() {
        Some(libc::EHOSTUNREACH) => "host unreachable",
        Some(libc::ENETUNREACH) => "network unreachable",
        Some(libc::EACCES) => "administratively prohibited",
        Some(libc::ECONNREFUSED) => "port unreachable",
        Some(libc::ENOPROTOOPT) => "protocol unreachable",
        _ => return format!("{step}: {}", os_text(e)),
    };
    if step == "send" {
        // Refused locally (route type unreachable/prohibit, or an error already pending).
        format!("send: {what}")
    } else {
        format!("ICMP destination unreachable ({what})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_verifies() {
        let p = echo_request(false, IcmpSocket::Raw, 0x1234, 7);
        assert_eq!(checksum(&p), 0, "a packet with its checksum sums to 0");
        assert_eq!(p[0], 8);
        assert_eq!(&p[4..8], &[0x12, 0x34, 0, 7]);
        // Datagram sockets: the kernel fills the checksum.
        assert_eq!(
            &echo_request(false, IcmpSocket::Datagram, 1, 2)[2..4],
            &[0, 0]
        );
        assert_eq!(echo_request(true, IcmpSocket::Raw, 1, 2)[0], 128);
    }

    #[test]
    fn replies() {
        let mut reply = echo_request(true, IcmpSocket::Raw, 9, 5);
        reply[0] = 129;
        assert!(is_our_reply(&reply, true, IcmpSocket::Raw, 9, 5));
        assert!(!is_our_reply(&reply, true, IcmpSocket::Raw, 8, 5));
        assert!(!is_our_reply(&reply, true, IcmpSocket::Raw, 9, 6));
        assert!(is_our_reply(&reply, true, IcmpSocket::Datagram, 8, 5));
        reply[0] = 128;
        assert!(
            !is_our_reply(&reply, true, IcmpSocket::Raw, 9, 5),
            "request"
        );
        // IPv4 raw: behind a 20-byte IP header.
        let mut v4 = vec![0x45u8];
        v4.extend_from_slice(&[0; 19]);
        let mut icmp = echo_request(false, IcmpSocket::Raw, 3, 4);
        icmp[0] = 0;
        v4.extend_from_slice(&icmp);
        assert!(is_our_reply(&v4, false, IcmpSocket::Raw, 3, 4));
        assert!(!is_our_reply(&v4[..10], false, IcmpSocket::Raw, 3, 4));
    }
}
