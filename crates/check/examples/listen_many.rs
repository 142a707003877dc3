//! listen_many — many cheap TCP "real servers" for the checker benchmark (tests/vm-bench/checkers.sh).
//!
//! Listens on every port of a range, on all the addresses of the network namespace it runs in
//! (a namespace with H addresses and P ports serves H x P real servers with P sockets), accepts
//! every connection and closes it at once. One thread, one epoll set: idle, it costs nothing.
//! Every `--every` seconds it writes `accepted TOTAL` (connections accepted since the start) to
//! stdout, so that the benchmark can count the checks that reached the real servers.
//!
//! usage: listen_many --ports FIRST-LAST [--every SECONDS]
//!
//! No dependencies beyond std and the C library (epoll is declared here), so that it also builds
//! alone: `rustc -O crates/check/examples/listen_many.rs -o listen_many`.

use std::io::{ErrorKind, Write};
use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

#[repr(C, packed)]
#[derive(Clone, Copy)]
struct EpollEvent {
    events: u32,
    data: u64,
}

extern "C" {
    fn epoll_create1(flags: i32) -> i32;
    fn epoll_ctl(epfd: i32, op: i32, fd: i32, event: *mut EpollEvent) -> i32;
    fn epoll_wait(epfd: i32, events: *mut EpollEvent, maxevents: i32, timeout: i32) -> i32;
}
const EPOLL_CTL_ADD: i32 = 1;
const EPOLLIN: u32 = 1;
const EPOLL_CLOEXEC: i32 = 0o2000000;

fn die(msg: &str) -> ! {
    eprintln!("listen_many: {msg}");
    std::process::exit(2);
}

fn main() {
    let mut ports: Option<(u16, u16)> = None;
    let mut every = 1.0f64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--ports" => {
                let v = args
                    .next()
                    .unwrap_or_else(|| die("--ports wants FIRST-LAST"));
                let (f, l) = v.split_once('-').unwrap_or((&v, &v));
                let f: u16 = f.parse().unwrap_or_else(|_| die("--ports: bad first port"));
                let l: u16 = l.parse().unwrap_or_else(|_| die("--ports: bad last port"));
                if f == 0 || l < f {
                    die("--ports: want 1 <= FIRST <= LAST");
                }
                ports = Some((f, l));
            }
            "--every" => {
                every = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|v: &f64| *v > 0.0)
                    .unwrap_or_else(|| die("--every wants seconds"));
            }
            "-h" | "--help" => {
                println!("usage: listen_many --ports FIRST-LAST [--every SECONDS]");
                return;
            }
            _ => die(&format!("unknown argument {a}")),
        }
    }
    let (first, last) =
        ports.unwrap_or_else(|| die("usage: listen_many --ports FIRST-LAST [--every SECONDS]"));

    let ep = unsafe { epoll_create1(EPOLL_CLOEXEC) };
    if ep < 0 {
        die(&format!(
            "epoll_create1: {}",
            std::io::Error::last_os_error()
        ));
    }
    let mut listeners = Vec::with_capacity((last - first) as usize + 1);
    for port in first..=last {
        let l = TcpListener::bind(("0.0.0.0", port))
            .unwrap_or_else(|e| die(&format!("bind port {port}: {e}")));
        l.set_nonblocking(true)
            .unwrap_or_else(|e| die(&format!("port {port}: {e}")));
        let mut ev = EpollEvent {
            events: EPOLLIN,
            data: listeners.len() as u64,
        };
        if unsafe { epoll_ctl(ep, EPOLL_CTL_ADD, l.as_raw_fd(), &mut ev) } < 0 {
            die(&format!("epoll_ctl: {}", std::io::Error::last_os_error()));
        }
        listeners.push(l);
    }
    let mut out = std::io::stdout();
    let _ = writeln!(out, "listening {} ports {first}-{last}", listeners.len());
    let _ = out.flush();

    let mut events = vec![EpollEvent { events: 0, data: 0 }; 256];
    let mut accepted: u64 = 0;
    let period = Duration::from_secs_f64(every);
    let mut next = Instant::now() + period;
    loop {
        let wait_ms = next
            .saturating_duration_since(Instant::now())
            .as_millis()
            .min(i32::MAX as u128) as i32;
        let n = unsafe { epoll_wait(ep, events.as_mut_ptr(), events.len() as i32, wait_ms) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == ErrorKind::Interrupted {
                continue;
            }
            die(&format!("epoll_wait: {e}"));
        }
        for ev in &events[..n as usize] {
            let idx = ev.data as usize;
            loop {
                match listeners[idx].accept() {
                    Ok((stream, _)) => {
                        accepted += 1;
                        drop(stream);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    // out of file descriptors or a connection reset before accept: try later
                    Err(_) => break,
                }
            }
        }
        let now = Instant::now();
        if now >= next {
            let _ = writeln!(out, "accepted {accepted}");
            let _ = out.flush();
            while next <= now {
                next += period;
            }
        }
    }
}
