//! Benchmark: parse + validate a generated configuration of 2,000 virtual
//! servers × 18 real servers (36,000 real servers, each with a TCP_CHECK).
//! Prints wall time (best and median of several runs), peak RSS, and — when
//! keepalived is installed — the time `keepalived -t` takes on the same file.
//!
//!   cargo run --release -p lvsd-config --example bench_parse [VS] [RS] [RUNS]

use std::fmt::Write as _;
use std::time::Instant;

fn generate(vs: usize, rs: usize) -> String {
    let mut s = String::with_capacity(vs * rs * 200);
    s.push_str("global_defs {\n router_id BENCH\n}\n");
    for v in 0..vs {
        let _ = writeln!(s, "virtual_server 10.{}.{}.1 80 {{", v / 250, v % 250);
        s.push_str(
            " delay_loop 6\n lb_algo wlc\n lb_kind DR\n persistence_timeout 50\n protocol TCP\n",
        );
        for r in 0..rs {
            let _ = writeln!(
                s,
                " real_server 172.{}.{}.{} 80 {{",
                16 + v / 250,
                v % 250,
                r + 1
            );
            s.push_str("  weight 1\n  TCP_CHECK {\n   connect_timeout 3\n   retry 3\n   delay_before_retry 3\n   connect_port 80\n  }\n }\n");
        }
        s.push_str("}\n");
    }
    s
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let (vs, rs, runs) = (
        args.first().copied().unwrap_or(2000),
        args.get(1).copied().unwrap_or(18),
        args.get(2).copied().unwrap_or(5),
    );
    let text = generate(vs, rs);
    let path = std::env::temp_dir().join(format!("lvsd-bench-{}.conf", std::process::id()));
    std::fs::write(&path, &text).expect("write config");
    let rss_before = peak_rss_kib();
    let mut times = Vec::new();
    let mut rs_count = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let l = lvsd_config::load_file(
            &path,
            &lvsd_config::LoadOptions {
                config_id: Some("bench".into()),
            },
        );
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        rs_count = l
            .config
            .virtual_servers
            .iter()
            .map(|v| v.real_servers.len())
            .sum();
        assert!(!l.has_errors(), "generated config has errors");
    }
    times.sort_by(|a, b| a.total_cmp(b));
    let peak = peak_rss_kib();
    println!("config: {vs} virtual servers x {rs} real servers = {rs_count} real servers with TCP_CHECK, {} lines, {:.1} MiB", text.lines().count(), text.len() as f64 / 1048576.0);
    println!(
        "lvsd parse+validate: best {:.1} ms, median {:.1} ms over {runs} runs (target < 500 ms)",
        times[0],
        times[times.len() / 2]
    );
    println!(
        "peak RSS: {:.1} MiB (before parsing: {:.1} MiB; target < 200 MiB)",
        peak as f64 / 1024.0,
        rss_before as f64 / 1024.0
    );
    if let Ok(out) = std::process::Command::new("keepalived")
        .arg("--version")
        .output()
    {
        if out.status.success() || !out.stderr.is_empty() {
            let t = Instant::now();
            let st = std::process::Command::new("keepalived")
                .args(["-t", "-l", "-n", "-f"])
                .arg(&path)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            if let Ok(st) = st {
                println!("keepalived -t on the same file: {ms:.1} ms (exit {}); ratio keepalived/lvsd = {:.2}", st.code().unwrap_or(-1), ms / times[times.len() / 2]);
            }
        }
    }
    let _ = std::fs::remove_file(&path);
}
