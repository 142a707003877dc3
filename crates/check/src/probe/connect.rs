//! The TCP connect shared by the stream probes (TCP_CHECK, HTTP_GET/SSL_GET, SMTP_CHECK):
//! a socket2 socket with the checker's bindto/bind_port (`Target::bind`), bind_if
//! (SO_BINDTODEVICE) and fwmark (SO_MARK), connected without blocking within a [`Deadline`].
//!
//! Error texts are short and lower-case: "connect: connection refused",
//! "timeout after 3s (connecting)", "bind 10.0.0.1:0: cannot assign requested address".

use super::Target;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::fmt::Write as _;
use std::future::Future;
use std::io;
use std::time::Duration;
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;

/// The end of a check: every phase (connect, TLS handshake, request, response) runs against
/// the same instant, so the whole check honours `Target::timeout`.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    at: Instant,
    timeout: Duration,
}

impl Deadline {
    /// A deadline `timeout` from now.
    pub fn after(timeout: Duration) -> Deadline {
        Deadline {
            at: Instant::now() + timeout,
            timeout,
        }
    }

    /// The configured length of the whole check (for error texts).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The instant the check must be done by.
    pub fn at(&self) -> Instant {
        self.at
    }

    /// Time left (zero once past).
    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// Runs `f` until the deadline; past it, the error is "timeout after 3s (<phase>)".
    pub async fn within<F: Future>(&self, phase: &str, f: F) -> Result<F::Output, String> {
        tokio::time::timeout_at(self.at, f)
            .await
            .map_err(|_| self.expired(phase))
    }

    /// The error text of a check that ran out of time in `phase`.
    pub fn expired(&self, phase: &str) -> String {
        expired(self.timeout, phase)
    }
}

/// "timeout after 3s (connecting)": a check of `timeout` that ran out of time in `phase`.
pub fn expired(timeout: Duration, phase: &str) -> String {
    format!("timeout after {} ({phase})", fmt_duration(timeout))
}

/// Connects to `target.addr` within `target.timeout`, for a check that sends nothing
/// (TCP_CHECK: no TCP_NODELAY, one system call less per check).
pub async fn tcp(target: &Target) -> Result<TcpStream, String> {
    let sock = socket(target, false)?;
    Deadline::after(target.timeout)
        .within("connecting", sock.connect(target.addr))
        .await?
        .map_err(|e| format!("connect: {}", io_text(&e)))
}

/// Connects to `target.addr` from `target.bind`, on `target.bind_if`, marked with
/// `target.fwmark`, before `deadline`. A refusal (RST) or an ICMP unreachable fails at once.
pub async fn tcp_within(target: &Target, deadline: &Deadline) -> Result<TcpStream, String> {
    let sock = socket(target, true)?;
    deadline
        .within("connecting", sock.connect(target.addr))
        .await?
        .map_err(|e| format!("connect: {}", io_text(&e)))
}

/// The socket, configured and bound, not yet connected; `nodelay` for checks that send a
/// request.
fn socket(target: &Target, nodelay: bool) -> Result<TcpSocket, String> {
    let std: std::net::TcpStream = raw_socket(target, nodelay)?.into();
    Ok(TcpSocket::from_std_stream(std))
}

/// The same, as a plain non-blocking socket (the pool's TCP_CHECK path drives it itself).
pub(crate) fn raw_socket(target: &Target, nodelay: bool) -> Result<Socket, String> {
    let s = new_socket(target).map_err(|e| format!("socket: {}", io_text(&e)))?;
    configure(s, target, nodelay)
}

/// A non-blocking, close-on-exec TCP socket for `target`'s family: one system call instead
/// of five.
pub(crate) fn new_socket(target: &Target) -> io::Result<Socket> {
    Socket::new(
        Domain::for_address(target.addr),
        Type::STREAM.nonblocking().cloexec(),
        Some(Protocol::TCP),
    )
}

/// `s` with the checker's options, bound.
pub(crate) fn configure(s: Socket, target: &Target, nodelay: bool) -> Result<Socket, String> {
    // Checks send small requests and wait for the answer: no Nagle delay.
    if nodelay {
        let _ = s.set_tcp_nodelay(true);
    }
    if let Some(dev) = &target.bind_if {
        s.bind_device(Some(dev.as_bytes()))
            .map_err(|e| format!("bind_if {dev}: {}", io_text(&e)))?;
    }
    if let Some(mark) = target.fwmark {
        s.set_mark(mark)
            .map_err(|e| format!("fwmark {mark}: {}", io_text(&e)))?;
    }
    if let Some(bind) = target.bind {
        if bind.port() != 0 {
            // A fixed source port is reused by every run of the check.
            let _ = s.set_reuse_address(true);
        }
        s.bind(&SockAddr::from(bind))
            .map_err(|e| format!("bind {bind}: {}", io_text(&e)))?;
    }
    Ok(s)
}

/// An I/O error as a short lower-case text without the "(os error N)" suffix:
/// "connection refused", "no route to host".
pub fn io_text(e: &io::Error) -> String {
    let text = match e.raw_os_error() {
        Some(code) => {
            let s = io::Error::from_raw_os_error(code).to_string();
            match s.rfind(" (os error ") {
                Some(i) => s[..i].to_string(),
                None => s,
            }
        }
        None => e.to_string(),
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(c) if c.is_uppercase() && !chars.next().is_some_and(|c| c.is_uppercase()) => c
            .to_lowercase()
            .chain(text[c.len_utf8()..].chars())
            .collect(),
        _ => text,
    }
}

/// A duration the way a configuration writes it: "3s", "500ms", "1.5s".
pub fn fmt_duration(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        return format!("{}s", d.as_secs());
    }
    if d < Duration::from_secs(1) {
        if d.subsec_millis() * 1_000_000 == d.subsec_nanos() {
            return format!("{}ms", d.as_millis());
        }
        return format!("{}µs", d.as_micros());
    }
    let mut s = String::new();
    let _ = write!(s, "{:.3}", d.as_secs_f64());
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(fmt_duration(Duration::from_secs(3)), "3s");
        assert_eq!(fmt_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(fmt_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(fmt_duration(Duration::from_millis(2250)), "2.25s");
        assert_eq!(fmt_duration(Duration::from_micros(1500)), "1500µs");
    }

    #[test]
    fn io_texts() {
        let e = io::Error::from_raw_os_error(libc::ECONNREFUSED);
        assert_eq!(io_text(&e), "connection refused");
        let e = io::Error::from_raw_os_error(libc::EADDRNOTAVAIL);
        assert_eq!(io_text(&e), "cannot assign requested address");
        let e = io::Error::other("TLS alert");
        assert_eq!(io_text(&e), "TLS alert");
    }
}
