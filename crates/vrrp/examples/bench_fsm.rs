//! State-machine throughput: events per second per core through `Router::handle`
//! (dispatch + receive validation + the instance state machine + timer bookkeeping), and the
//! simulator's speed. Run: `cargo run --release -p lvsd-vrrp --example bench_fsm`.

use lvsd_vrrp::event::{Action, Event, Received};
use lvsd_vrrp::packet::{Advert, Auth, Version};
use lvsd_vrrp::sim::{NodeSpec, Sim};
use lvsd_vrrp::{InstanceConfig, Router, Time};
use std::hint::black_box;
use std::net::IpAddr;
use std::time::{Duration, Instant};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn instances(n: usize, version: Version, prio: u8) -> Vec<InstanceConfig> {
    (0..n)
        .map(|i| {
            let vip = ip(&format!("10.1.{}.{}", i / 250, i % 250 + 1));
            let mut c = InstanceConfig::new(
                &format!("VI_{i}"),
                (i % 255 + 1) as u8,
                prio,
                version,
                vec![vip],
            );
            c.src_addr = Some(ip("10.0.0.2"));
            c
        })
        .collect()
}

fn advert_bytes(cfg: &InstanceConfig, prio: u8, src: IpAddr) -> Vec<u8> {
    let a = Advert {
        version: cfg.version,
        vrid: cfg.vrid,
        priority: prio,
        interval_cs: cfg.interval_cs(),
        auth: Auth::None,
        addrs: cfg.vips.clone(),
    };
    let mut b = Vec::new();
    let pseudo = (cfg.version == Version::V3).then_some((src, cfg.mcast_group));
    a.encode(pseudo, &mut b);
    b
}

/// A backup receiving adverts from its master: the steady state of every director.
fn backup_rx(n_instances: usize, version: Version) -> f64 {
    let cfgs = instances(n_instances, version, 90);
    let src = ip("10.0.0.1");
    let packets: Vec<Vec<u8>> = cfgs.iter().map(|c| advert_bytes(c, 100, src)).collect();
    let group = cfgs[0].mcast_group;
    let mut r = Router::new(cfgs, vec![]);
    let mut out: Vec<Action> = Vec::with_capacity(16);
    r.handle(Event::Startup, Time::ZERO, &mut out);
    let iters = 2_000_000u64;
    let start = Instant::now();
    for i in 0..iters {
        out.clear();
        let p = &packets[(i as usize) % packets.len()];
        let rx = Received {
            src,
            dst: group,
            ttl: 255,
            interface: Some("eth0"),
            ah: None,
            payload: p,
        };
        r.handle(Event::Advert(rx), Time::from_micros(i), &mut out);
        black_box(&out);
    }
    iters as f64 / start.elapsed().as_secs_f64()
}

/// A master's advert timer: build and emit one advert per event.
fn master_timer(version: Version) -> f64 {
    let mut cfgs = instances(1, version, 255);
    cfgs[0].want_master = true;
    let interval = cfgs[0].advert_interval;
    let mut r = Router::new(cfgs, vec![]);
    let mut out: Vec<Action> = Vec::with_capacity(16);
    r.handle(Event::Startup, Time::ZERO, &mut out);
    let iters = 2_000_000u64;
    let start = Instant::now();
    let mut t = Time::ZERO;
    for _ in 0..iters {
        out.clear();
        t = t + interval;
        r.handle(Event::Timer, t, &mut out);
        black_box(&out);
    }
    iters as f64 / start.elapsed().as_secs_f64()
}

/// Five routers, v3 at 10 ms, no loss: simulated seconds per wall-clock second.
fn simulator() -> (f64, u64) {
    let specs: Vec<NodeSpec> = (0..5)
        .map(|i| {
            let addr = ip(&format!("10.0.0.{}", i + 1));
            let mut c = InstanceConfig::new(
                "VI_1",
                51,
                100 + i as u8,
                Version::V3,
                vec![ip("10.0.0.100")],
            );
            c.src_addr = Some(addr);
            c.advert_interval = Duration::from_millis(10);
            NodeSpec {
                addr,
                instances: vec![c],
                groups: vec![],
            }
        })
        .collect();
    let mut sim = Sim::new(1, specs);
    let start = Instant::now();
    let simulated = Duration::from_secs(600);
    sim.run_until(Time::ZERO + simulated);
    let wall = start.elapsed().as_secs_f64();
    (simulated.as_secs_f64() / wall, sim.sent.len() as u64)
}

fn main() {
    println!("Router::handle, one thread; M events/s");
    for (name, v) in [("v2", Version::V2), ("v3", Version::V3)] {
        for n in [1, 16, 255] {
            println!(
                "  backup receives a valid advert, {name}, {n:>3} instances: {:6.2}",
                backup_rx(n, v) / 1e6
            );
        }
        println!(
            "  master advert timer (builds the advert), {name}:        {:6.2}",
            master_timer(v) / 1e6
        );
    }
    let (speed, adverts) = simulator();
    println!("simulator: 5 routers, v3 10 ms: {speed:.0}x real time ({adverts} adverts in 600 simulated s)");
}
