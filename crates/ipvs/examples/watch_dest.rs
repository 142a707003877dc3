//! Benchmark helper: waits until one destination of one TCP service in this namespace's IPVS
//! table is as wanted, and prints the wall-clock time it first saw it (seconds since the
//! epoch, microseconds: compare with bash's $EPOCHREALTIME).
//!
//!   watch_dest SERVICE DEST WANT [INTERVAL_MS] [TIMEOUT_S]
//!
//! SERVICE and DEST are ADDR:PORT; WANT is `present`, `absent` (the service is there, the
//! destination is not) or `weight=N`. It prints `ready` once its
//! socket is open, then polls the service's destinations every INTERVAL_MS (default 10) with
//! one netlink dump (no process start per poll: `ipvsadm -Ln -t` costs ~100 ms of the IPVS
//! VM's emulated CPU, which both delayed and took from the daemon it measured). Exit status 1
//! after TIMEOUT_S (default 300) without a match, 2 on bad arguments or no IPVS.

use lvsd_ipvs::netlink::IpvsSocket;
use lvsd_ipvs::{Protocol, ServiceKey};
use std::io::Write;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn fail(msg: &str) -> ! {
    eprintln!("watch_dest: {msg}");
    std::process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        fail("usage: watch_dest SERVICE DEST present|absent|weight=N [INTERVAL_MS] [TIMEOUT_S]");
    }
    let svc: SocketAddr = args[0]
        .parse()
        .unwrap_or_else(|_| fail("SERVICE: ADDR:PORT"));
    let dest: SocketAddr = args[1].parse().unwrap_or_else(|_| fail("DEST: ADDR:PORT"));
    let absent = args[2] == "absent";
    let want: Option<i32> = match args[2].as_str() {
        "present" | "absent" => None,
        w => Some(
            w.strip_prefix("weight=")
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| fail("WANT: present, absent or weight=N")),
        ),
    };
    let interval = Duration::from_millis(args.get(3).and_then(|a| a.parse().ok()).unwrap_or(10));
    let timeout = Duration::from_secs(args.get(4).and_then(|a| a.parse().ok()).unwrap_or(300));
    let key = ServiceKey::Addr {
        protocol: Protocol::Tcp,
        addr: svc.ip(),
        port: svc.port(),
    };
    let mut sock = IpvsSocket::open().unwrap_or_else(|e| fail(&e.to_string()));
    println!("ready");
    let _ = std::io::stdout().flush();
    let t0 = Instant::now();
    while t0.elapsed() < timeout {
        // a missing service or a failed dump is "not yet"
        if let Ok(dests) = sock.dests(&key) {
            let there = dests.iter().any(|(d, _, _)| {
                d.addr == dest.ip() && d.port == dest.port() && want.is_none_or(|w| d.weight == w)
            });
            // (an empty dump is also a missing service: "absent" needs the others there)
            let seen = if absent {
                !there && !dests.is_empty()
            } else {
                there
            };
            if seen {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default();
                println!("{}.{:06}", now.as_secs(), now.subsec_micros());
                return;
            }
        }
        std::thread::sleep(interval);
    }
    eprintln!("watch_dest: not seen within {} s", timeout.as_secs());
    std::process::exit(1);
}
