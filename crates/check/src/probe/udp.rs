//! UDP_CHECK: one datagram to the target, then wait for an ICMP error or a reply.
//!
//! keepalived's rules (keepalived-behaviour §1.7; keepalived.conf(5) UDP_CHECK; its check_udp and
//! layer4 sources, read for behaviour only):
//!
//! * The socket is connected to the target, with `IP_RECVERR` / `IPV6_RECVERR`, so every ICMP
//!   destination unreachable (port, host, network, filtered) for our datagram is reported to it,
//!   not only port unreachable.
//! * The payload is sent once. An empty payload is replaced by 32 random bytes (keepalived sends a
//!   32-byte filler when no `payload` is configured).
//! * **Without `require_reply`**: an ICMP error within the timeout fails the check; any reply, or
//!   silence for the whole timeout, is a success. A silent UDP service therefore passes, and each
//!   check takes the full `connect_timeout` unless the server answers.
//! * **With `require_reply`**: the first reply decides (it is not waited past): its length must
//!   lie in `min_reply_length ..= max_reply_length` (defaults 0 and 255, keepalived's), and its
//!   first `min(reply length, pattern length)` bytes must match the pattern (`None` bytes match
//!   anything). No reply within the timeout fails.
//!
//! The socket set-up here ([`socket`], [`prepare`]) is shared with DNS_CHECK and PING_CHECK:
//! `bindto`/`bind_port`, `bind_if` (SO_BINDTODEVICE), `fwmark` (SO_MARK).

use super::connect::{fmt_duration as human, io_text as os_text};
use super::{Outcome, Target, UdpProbe};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io;
use std::net::SocketAddr;
use tokio::io::Interest;
use tokio::time::Instant;

/// keepalived's default `max_reply_length`.
pub const DEFAULT_MAX_REPLY_LENGTH: u32 = 255;
/// The size of the random payload sent when none is configured (keepalived's).
pub const DEFAULT_PAYLOAD_LENGTH: usize = 32;

/// Runs one UDP_CHECK against `target`.
pub async fn check(probe: &UdpProbe, target: &Target) -> Outcome {
    let start = Instant::now();
    let deadline = start + target.timeout;
    let sock = match socket(target) {
        Ok(s) => s,
        Err(e) => return Outcome::fail(start.elapsed(), e),
    };
    let payload: Vec<u8> = if probe.payload.is_empty() {
        (0..DEFAULT_PAYLOAD_LENGTH)
            .map(|_| fastrand::u8(..))
            .collect()
    } else {
        probe.payload.clone()
    };
    match tokio::time::timeout_at(deadline, sock.send(&payload)).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => return Outcome::fail(start.elapsed(), send_error(&e)),
        Err(_) => {
            return Outcome::fail(
                start.elapsed(),
                format!("timeout after {} (sending)", human(target.timeout)),
            )
        }
    }
    // One byte more than any reply we accept, to see that a reply is too long.
    let max = probe.max_reply_length.unwrap_or(DEFAULT_MAX_REPLY_LENGTH);
    let mut buf = vec![0u8; (max as usize).saturating_add(1).clamp(1, 65536)];
    match tokio::time::timeout_at(deadline, recv(&sock, &mut buf)).await {
        Err(_) => match &probe.require_reply {
            None => Outcome::ok(start.elapsed()),
            Some(_) => Outcome::fail(
                start.elapsed(),
                format!("no reply within {}", human(target.timeout)),
            ),
        },
        Ok(Err(e)) => Outcome::fail(start.elapsed(), icmp_error(&e)),
        Ok(Ok(n)) => match &probe.require_reply {
            None => Outcome::ok(start.elapsed()),
            Some(pattern) => {
                match reply_mismatch(&buf[..n], pattern, probe.min_reply_length.unwrap_or(0), max) {
                    None => Outcome::ok(start.elapsed()),
                    Some(why) => Outcome::fail(start.elapsed(), why),
                }
            }
        },
    }
}

/// Why `reply` does not satisfy `require_reply` (None: it does). `reply` holds at most
/// `max + 1` bytes, so a longer reply is still seen as too long.
pub fn reply_mismatch(reply: &[u8], pattern: &[Option<u8>], min: u32, max: u32) -> Option<String> {
    let n = reply.len();
    if (n as u64) < u64::from(min) || (n as u64) > u64::from(max) {
        let got = if (n as u64) > u64::from(max) {
            format!("more than {max} bytes")
        } else {
            format!("{n} bytes")
        };
        return Some(format!(
            "reply of {got}, outside min_reply_length {min} .. max_reply_length {max}"
        ));
    }
    for (i, (got, want)) in reply.iter().zip(pattern).enumerate() {
        if let Some(want) = want {
            if got != want {
                return Some(format!(
                    "reply does not match require_reply at byte {i}: 0x{got:02x}, expected 0x{want:02x}"
                ));
            }
        }
    }
    None
}

/// A connected, non-blocking UDP socket to `target.addr` with the target's bind, device and
/// mark, and ICMP errors reported (`IP_RECVERR`). The error text says which step failed.
pub(crate) fn socket(target: &Target) -> Result<tokio::net::UdpSocket, String> {
    let sock = Socket::new(
        Domain::for_address(target.addr),
        Type::DGRAM,
        Some(Protocol::UDP),
    )
    .map_err(|e| format!("socket: {}", os_text(&e)))?;
    prepare(&sock, target)?;
    sock.connect(&SockAddr::from(target.addr))
        .map_err(|e| format!("connect: {}", os_text(&e)))?;
    let std_sock = std::net::UdpSocket::from(sock);
    tokio::net::UdpSocket::from_std(std_sock).map_err(|e| format!("socket: {}", os_text(&e)))
}

/// Applies the target's settings to a fresh socket of `target.addr`'s family: non-blocking,
/// `IP(V6)_RECVERR`, SO_MARK, SO_BINDTODEVICE, then bind (the bind port is kept for UDP; for ICMP
/// sockets it must be 0).
pub(crate) fn prepare(sock: &Socket, target: &Target) -> Result<(), String> {
    sock.set_nonblocking(true)
        .map_err(|e| format!("socket: {}", os_text(&e)))?;
    set_recverr(sock, target.addr.is_ipv6()).map_err(|e| format!("IP_RECVERR: {}", os_text(&e)))?;
    if let Some(mark) = target.fwmark {
        sock.set_mark(mark)
            .map_err(|e| format!("fwmark {mark}: {}", os_text(&e)))?;
    }
    if let Some(dev) = &target.bind_if {
        sock.bind_device(Some(dev.as_bytes()))
            .map_err(|e| format!("bind_if {dev}: {}", os_text(&e)))?;
    }
    if let Some(bind) = target.bind {
        if bind.is_ipv4() != target.addr.is_ipv4() {
            return Err(format!(
                "bindto {} is not of the address family of {}",
                bind.ip(),
                target.addr.ip()
            ));
        }
        sock.bind(&SockAddr::from(bind))
            .map_err(|e| format!("bind to {}: {}", show_bind(bind), os_text(&e)))?;
    }
    Ok(())
}

fn show_bind(bind: SocketAddr) -> String {
    if bind.port() == 0 {
        bind.ip().to_string()
    } else {
        bind.to_string()
    }
}

fn set_recverr(sock: &Socket, v6: bool) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let (level, name) = if v6 {
        (libc::IPPROTO_IPV6, libc::IPV6_RECVERR)
    } else {
        (libc::IPPROTO_IP, libc::IP_RECVERR)
    };
    let on: libc::c_int = 1;
    // SAFETY: the descriptor is open (owned by `sock`); the option value is a c_int that lives
    // for the duration of the call, and its size is passed.
    let r = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            level,
            name,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Receives one datagram, or the pending socket error. Waits for error readiness too: an ICMP
/// error makes the socket report EPOLLERR without EPOLLIN, which a plain `recv` would not
/// wake up for.
pub(crate) async fn recv(sock: &tokio::net::UdpSocket, buf: &mut [u8]) -> io::Result<usize> {
    use std::io::Read;
    // The read is a plain recv(2) on the descriptor: `try_recv` would not even try while only
    // the error readiness is set.
    sock.async_io(Interest::READABLE | Interest::ERROR, || {
        let s = socket2::SockRef::from(sock);
        (&*s).read(buf)
    })
    .await
}

/// The text of a receive error on a connected socket with `IP_RECVERR`: the ICMP error that the
/// kernel turned into this errno, else the error itself.
pub(crate) fn icmp_error(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::ECONNREFUSED) => "ICMP port unreachable".into(),
        Some(libc::EHOSTUNREACH) => "ICMP host unreachable".into(),
        Some(libc::ENETUNREACH) => "ICMP network unreachable".into(),
        Some(libc::ENOPROTOOPT) => "ICMP protocol unreachable".into(),
        Some(libc::EACCES) => "ICMP communication administratively prohibited".into(),
        _ => format!("receive: {}", os_text(e)),
    }
}

/// The text of a send error (a pending ICMP error can also surface here).
pub(crate) fn send_error(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::ECONNREFUSED) => "ICMP port unreachable".into(),
        _ => format!("send: {}", os_text(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_texts() {
        let e = io::Error::from_raw_os_error(libc::ECONNREFUSED);
        assert_eq!(icmp_error(&e), "ICMP port unreachable");
        let e = io::Error::from_raw_os_error(libc::EAGAIN);
        assert_eq!(icmp_error(&e), "receive: resource temporarily unavailable");
    }

    #[test]
    fn reply_matching() {
        let p = [Some(0xab), None, Some(0x01)];
        assert_eq!(reply_mismatch(&[0xab, 0x77, 0x01], &p, 0, 255), None);
        // A shorter reply is compared on its own length (keepalived).
        assert_eq!(reply_mismatch(&[0xab], &p, 0, 255), None);
        // Longer than the pattern: the rest is not compared.
        assert_eq!(reply_mismatch(&[0xab, 0, 1, 9, 9], &p, 0, 255), None);
        assert!(reply_mismatch(&[0xab, 0, 2], &p, 0, 255)
            .unwrap()
            .contains("byte 2"));
        assert!(reply_mismatch(&[0xab], &p, 2, 255)
            .unwrap()
            .contains("outside"));
        assert!(reply_mismatch(&[0; 5], &[], 0, 4)
            .unwrap()
            .contains("more than 4"));
    }
}
