//! Idle wake-ups: how often a director that has nothing to do is scheduled, lvsd against
//! keepalived 2.2.7 on the same configuration in the same namespace lab (issue 14: the IPVS
//! task used to poll its channel every 20 ms).
//!
//! `cargo build --release && cargo run --release -p lvsd --example bench_idle [SECONDS] [RUNS]`
//! (root; keepalived installed). `LVSD_BIN=path` measures another lvsd binary (an older
//! build) in the same way.
//!
//! The configuration: one VRRP instance (VRRPv2, advert 1 s, MASTER alone) and one virtual
//! server with two real servers and no checker (no probe timers), so what remains is the
//! protocol's own timer and whatever the daemon adds. The figure is the number of context
//! switches (voluntary + involuntary, every thread of every process of the daemon) per second
//! over the window, after a 3-s settling time; each thread's share is printed for lvsd.

#[path = "../tests/lab/mod.rs"]
mod lab;

use lab::Lab;
use std::time::Duration;

const CONF: &str = "global_defs {\n  vrrp_garp_master_delay 0\n}\n\
vrrp_instance VI_1 {\n  state MASTER\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  \
advert_int 1\n  virtual_ipaddress {\n    10.99.0.100/24 dev eth0\n  }\n}\n\
virtual_server 10.99.0.100 80 {\n  delay_loop 5\n  lb_algo rr\n  lb_kind DR\n  protocol TCP\n  \
real_server 10.99.0.11 80 {\n    weight 1\n  }\n  real_server 10.99.0.12 80 {\n    weight 1\n  }\n}\n";

/// (thread name, context switches) of every thread of `pid`.
fn switches(pid: u32) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for t in dir.flatten() {
        let Ok(s) = std::fs::read_to_string(t.path().join("status")) else {
            continue;
        };
        let field = |k: &str| {
            s.lines()
                .find(|l| l.starts_with(k))
                .and_then(|l| l.split_whitespace().nth(1))
                .map(str::to_string)
        };
        let n: u64 = ["voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:"]
            .iter()
            .filter_map(|k| field(k)?.parse::<u64>().ok())
            .sum();
        let tid = t.file_name().to_string_lossy().into_owned();
        out.push((format!("{} ({tid})", field("Name:").unwrap_or_default()), n));
    }
    out
}

fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// The daemon's processes: the PID and (keepalived) its children.
fn processes(pid: u32) -> Vec<u32> {
    let mut all = vec![pid];
    all.extend(children(pid));
    all
}

fn total(pids: &[u32]) -> (u64, Vec<(String, u64)>) {
    let per: Vec<(String, u64)> = pids.iter().flat_map(|p| switches(*p)).collect();
    (per.iter().map(|(_, n)| n).sum(), per)
}

/// Wake-ups per second of the daemon started by `start`, and per thread.
fn measure(keepalived: bool, secs: f64) -> (f64, Vec<(String, f64)>) {
    let mut lab = Lab::new(&[("dir1", &["10.99.0.1/24"])], false);
    let pid = if keepalived {
        // both of keepalived's subsystems (the lab's helper runs VRRP only)
        let path = lab.write("ka.conf", CONF).display().to_string();
        let d = lab.dir.display().to_string();
        let (p, v, c) = (
            format!("{d}/ka.pid"),
            format!("{d}/ka.vrrp.pid"),
            format!("{d}/ka.chk.pid"),
        );
        lab.spawn(
            "dir1",
            "keepalived",
            &[
                "keepalived",
                "-n",
                "-l",
                "-D",
                "-f",
                &path,
                "-p",
                &p,
                "-r",
                &v,
                "-c",
                &c,
            ],
        )
    } else {
        lab.lvsd("dir1", CONF)
    };
    std::thread::sleep(Duration::from_secs(3));
    let pids = processes(pid);
    let (a, before) = total(&pids);
    std::thread::sleep(Duration::from_secs_f64(secs));
    let (b, after) = total(&pids);
    let per = after
        .iter()
        .map(|(name, n)| {
            let was = before
                .iter()
                .find(|(m, _)| m == name)
                .map(|(_, x)| *x)
                .unwrap_or(0);
            (name.clone(), (n - was) as f64 / secs)
        })
        .collect();
    ((b - a) as f64 / secs, per)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    if !lvsd_testkit::is_root() {
        eprintln!("needs root");
        std::process::exit(1);
    }
    let mut args = std::env::args().skip(1);
    let secs: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10.0);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    println!(
        "idle wake-ups per second over {secs} s, median of {runs} runs (lvsd: {})",
        lab::lvsd_bin()
    );
    let (mut l, mut k) = (Vec::new(), Vec::new());
    let mut threads = Vec::new();
    for _ in 0..runs {
        let (n, per) = measure(false, secs);
        l.push(n);
        threads = per;
        k.push(measure(true, secs).0);
    }
    let (lm, km) = (median(&mut l), median(&mut k));
    println!("lvsd       {lm:8.1} /s   runs {l:.1?}");
    println!("keepalived {km:8.1} /s   runs {k:.1?}");
    println!("ratio lvsd/keepalived {:.2}", lm / km.max(0.001));
    println!("lvsd's threads (last run):");
    threads.sort_by(|a, b| b.1.total_cmp(&a.1));
    for (name, n) in threads {
        println!("  {name:<32} {n:8.1} /s");
    }
}
