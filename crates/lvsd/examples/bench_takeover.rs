//! Takeover time of lvsd and keepalived 2.2.7 in the same namespace lab, side by side.
//!
//! `cargo build --release && cargo run --release -p lvsd --example bench_takeover [RUNS]`
//! (root; keepalived installed). For each daemon, scenario and protocol: the master (priority
//! 100) is stopped (SIGTERM) or crashed (SIGKILL; keepalived's VRRP child is SIGSTOPped first),
//! and the time until the backup (priority 90, the same daemon) holds the VIP is measured by
//! polling `ip addr` every 2 ms. Also prints the resident memory of each daemon.

#[path = "../tests/lab/mod.rs"]
mod lab;

use lab::Lab;
use nix::sys::signal::Signal;
use std::time::Duration;

const VIP: &str = "10.99.0.100";

#[derive(Clone, Copy, PartialEq)]
enum Daemon {
    Lvsd,
    Keepalived,
}

fn conf(version: u8, prio: u8) -> String {
    let int = if version == 2 { "1" } else { "0.05" };
    format!(
        "global_defs {{\n  vrrp_version {version}\n  vrrp_garp_master_delay 0\n}}\n\
         vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  \
         priority {prio}\n  advert_int {int}\n  virtual_ipaddress {{\n    {VIP}/24 dev eth0\n  }}\n}}\n"
    )
}

fn start(lab: &mut Lab, d: Daemon, node: &str, c: &str) -> u32 {
    match d {
        Daemon::Lvsd => lab.lvsd(node, c),
        Daemon::Keepalived => lab.keepalived(node, c),
    }
}

fn rss_kib(pid: i32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Returns the takeover time, and the RSS (KiB) of the backup daemon.
fn one(d: Daemon, version: u8, crash: bool) -> Option<(Duration, u64)> {
    let mut lab = Lab::new(
        &[("dir1", &["10.99.0.1/24"]), ("dir2", &["10.99.0.2/24"])],
        false,
    );
    let m = start(&mut lab, d, "dir1", &conf(version, 100));
    let b = start(&mut lab, d, "dir2", &conf(version, 90));
    let settle = if version == 2 { 8.0 } else { 2.0 };
    lab.wait_for(Duration::from_secs_f64(settle), || {
        lab.holders(&["dir1", "dir2"], VIP) == ["dir1"]
    })?;
    std::thread::sleep(Duration::from_millis(if version == 2 { 1300 } else { 300 }));
    // The backup's memory: keepalived's parent plus its VRRP child.
    let rss = match d {
        Daemon::Lvsd => rss_kib(b as i32),
        Daemon::Keepalived => {
            let parent = std::fs::read_to_string(lab.dir.join("dir2.ka.pid")).ok()?;
            rss_kib(parent.trim().parse().ok()?) + rss_kib(lab.keepalived_vrrp_pid("dir2")?)
        }
    };
    if crash {
        if d == Daemon::Keepalived {
            if let Some(c) = lab.keepalived_vrrp_pid("dir1") {
                lab.signal(c as u32, Signal::SIGSTOP);
            }
        }
        lab.signal(m, Signal::SIGKILL);
    } else {
        lab.signal(m, Signal::SIGTERM);
    }
    let t = lab.wait_for(Duration::from_secs(8), || lab.has_addr("dir2", VIP))?;
    Some((t, rss))
}

fn stats(v: &mut [Duration]) -> (f64, f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    (ms(v[0]), ms(v[v.len() / 2]), ms(v[v.len() - 1]))
}

fn main() {
    if !lvsd_testkit::is_root() {
        eprintln!("needs root");
        std::process::exit(1);
    }
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    println!("takeover time, ms: min / median / max over {runs} runs (poll resolution ~2-4 ms)");
    println!(
        "{:<26} {:>24} {:>24} {:>8}",
        "scenario", "lvsd", "keepalived", "ratio"
    );
    let mut rss = (0u64, 0u64);
    for (version, crash, bound) in [
        (2u8, false, "skew 648"),
        (2, true, "MDI 3648 - U(0,1000)"),
        (3, false, "skew 32"),
        (3, true, "MDI 182 - U(0,50)"),
    ] {
        let mut res = Vec::new();
        for d in [Daemon::Lvsd, Daemon::Keepalived] {
            let mut times = Vec::new();
            for _ in 0..runs {
                if let Some((t, r)) = one(d, version, crash) {
                    times.push(t);
                    match d {
                        Daemon::Lvsd => rss.0 = rss.0.max(r),
                        Daemon::Keepalived => rss.1 = rss.1.max(r),
                    }
                }
            }
            res.push(times);
        }
        let name = format!(
            "v{version} {} {}",
            if version == 2 { "1 s" } else { "50 ms" },
            if crash { "crash" } else { "SIGTERM" }
        );
        if res.iter().any(|r| r.is_empty()) {
            println!("{name:<26} (no takeover measured)");
            continue;
        }
        let l = stats(&mut res[0]);
        let k = stats(&mut res[1]);
        println!(
            "{name:<26} {:>7.1} {:>7.1} {:>7.1}  {:>7.1} {:>7.1} {:>7.1} {:>8.2}   RFC: {bound}",
            l.0,
            l.1,
            l.2,
            k.0,
            k.1,
            k.2,
            l.1 / k.1
        );
    }
    println!(
        "RSS of the backup daemon: lvsd {} KiB, keepalived (parent + VRRP child) {} KiB",
        rss.0, rss.1
    );
}
