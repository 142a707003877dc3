//! TCP_CHECK without a task: the pool starts a non-blocking connect, registers the socket with
//! its own epoll set and judges it when the set says it is writable (connected) or in error.
//! System calls per check: socket, connect, epoll_ctl, getsockopt(SO_ERROR), and on success
//! setsockopt(SO_LINGER) and close — the socket leaves the epoll set when it is closed.
//!
//! The same verdicts and error texts as [`crate::probe::tcp::check`]: "connect: connection
//! refused", "timeout after 3s (connecting)", "bind 10.0.0.1:0: ...".

use crate::probe::connect::{configure, expired, io_text, new_socket};
use crate::probe::{Outcome, Target};
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use std::time::{Duration, Instant};

/// What starting a check led to.
pub(super) enum Started {
    /// Connecting: wait for the socket's event (or the timeout).
    Pending(TcpStream),
    /// Decided at once: connected already, or refused / unreachable / a bind error.
    Done(Outcome),
    /// This host is out of descriptors or buffers: nothing was checked (not the real
    /// server's failure); the text says what ran out.
    Busy(String),
}

/// A socket error that is this host's shortage, not the target's failure.
fn is_shortage(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// Starts one check of `t`, registering the socket with `registry` under `token`.
pub(super) fn start(t: &Target, registry: &Registry, token: Token, began: Instant) -> Started {
    let sock = match new_socket(t) {
        Ok(s) => s,
        Err(e) if is_shortage(&e) => return Started::Busy(format!("socket: {}", io_text(&e))),
        Err(e) => {
            return Started::Done(Outcome::fail(
                began.elapsed(),
                format!("socket: {}", io_text(&e)),
            ))
        }
    };
    let sock = match configure(sock, t, false) {
        Ok(s) => s,
        Err(e) => return Started::Done(Outcome::fail(began.elapsed(), e)),
    };
    match sock.connect(&t.addr.into()) {
        Ok(()) => return Started::Done(connected(sock.into(), began)),
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => {
            return Started::Done(Outcome::fail(
                began.elapsed(),
                format!("connect: {}", io_text(&e)),
            ))
        }
    }
    let mut stream = TcpStream::from_std(sock.into());
    if let Err(e) = registry.register(&mut stream, token, Interest::WRITABLE) {
        return Started::Done(Outcome::fail(
            began.elapsed(),
            format!("epoll: {}", io_text(&e)),
        ));
    }
    Started::Pending(stream)
}

/// The socket's event came: connected, or the connect failed (SO_ERROR says which). None: not
/// decided yet (a wake-up without a result), keep waiting.
pub(super) fn on_event(
    stream: &TcpStream,
    writable: bool,
    failed: bool,
    began: Instant,
) -> Option<Outcome> {
    match stream.take_error() {
        Ok(Some(e)) => Some(Outcome::fail(
            began.elapsed(),
            format!("connect: {}", io_text(&e)),
        )),
        Err(e) => Some(Outcome::fail(
            began.elapsed(),
            format!("connect: {}", io_text(&e)),
        )),
        Ok(None) if writable => Some(connected_ref(stream, began)),
        Ok(None) if failed => Some(Outcome::fail(began.elapsed(), "connect: connection closed")),
        Ok(None) => None,
    }
}

/// The check ran out of time.
pub(super) fn timed_out(timeout: Duration, began: Instant) -> Outcome {
    Outcome::fail(began.elapsed(), expired(timeout, "connecting"))
}

fn connected(stream: std::net::TcpStream, began: Instant) -> Outcome {
    reset_on_close(socket2::SockRef::from(&stream));
    Outcome::ok(began.elapsed())
}

fn connected_ref(stream: &TcpStream, began: Instant) -> Outcome {
    reset_on_close(socket2::SockRef::from(stream));
    Outcome::ok(began.elapsed())
}

/// Closed with a reset (SO_LINGER 0), as HAProxy's checks do: one packet instead of a FIN
/// exchange, and no TIME_WAIT socket left per check (10,000 checks a second would keep
/// ~600,000 of them).
fn reset_on_close(s: socket2::SockRef<'_>) {
    let _ = s.set_linger(Some(Duration::ZERO));
}
