//! Benchmark: a reload's read of a large configuration, full and reusing the previous load's
//! unchanged virtual_server blocks (crates/config/src/blocks.rs).
//!
//!   cargo run --release -p lvsd-config --example bench_reload FILE EDITED_FILE [RUNS]
//!
//! FILE and EDITED_FILE: e.g. big.conf and big-weight.conf of tests/vm-bench/gen.sh. Prints the
//! median time of a full load of FILE, of a load of EDITED_FILE reusing FILE's load, and the
//! throughput of each over the file's size.

use lvsd_config::blocks::{load_file_reusing, Previous};
use lvsd_config::{load_file, LoadOptions};
use std::path::PathBuf;
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(a), Some(b)) = (args.first(), args.get(1)) else {
        eprintln!("usage: bench_reload FILE EDITED_FILE [RUNS]");
        std::process::exit(2);
    };
    let runs: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(9);
    let (a, b) = (PathBuf::from(a), PathBuf::from(b));
    let size = std::fs::metadata(&b).map(|m| m.len()).unwrap_or(0) as f64;
    let opts = LoadOptions::default();
    let mut full = Vec::new();
    let mut inc = Vec::new();
    let mut reused = (0, 0);
    for _ in 0..runs {
        let t = Instant::now();
        let first = load_file(&a, &opts);
        full.push(t.elapsed().as_secs_f64());
        drop(first);
        let first = load_file_reusing(&a, &opts, None);
        let t = Instant::now();
        let next = load_file_reusing(
            &b,
            &opts,
            Some(Previous {
                config: &first.config,
                cache: &first.blocks,
            }),
        );
        inc.push(t.elapsed().as_secs_f64());
        reused = (next.reuse.reused, next.reuse.blocks);
    }
    let (f, i) = (median(full), median(inc));
    println!(
        "full load:        {:8.1} ms  {:7.0} MB/s",
        f * 1e3,
        size / f / 1e6
    );
    println!(
        "reusing load:     {:8.1} ms  {:7.0} MB/s  ({} of {} blocks reused)",
        i * 1e3,
        size / i / 1e6,
        reused.0,
        reused.1
    );
    println!("ratio reusing / full: {:.3}", i / f);
}
