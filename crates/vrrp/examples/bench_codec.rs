//! Codec throughput, one core: `cargo run --release -p lvsd-vrrp --example bench_codec [ITERATIONS]`.
//!
//! For three adverts (VRRPv2 with a password and 2 VIPs, VRRPv3 over IPv4, VRRPv3 over IPv6) it
//! measures, in adverts per second: `encode` (into a reused buffer, checksum included),
//! `checksum_ok` + `decode` (what a receiver does), and the two together. A last line gives the
//! cost of keepalived's IPsec AH (HMAC-MD5-96) for a v2 advert: build the IPv4 packet with its
//! ICV, then parse it and verify the ICV.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use lvsd_vrrp::packet::{
    build_ipv4, checksum_ok, parse_ipv4, Advert, AhOut, Auth, Family, Ipv4Out, Version, GROUP_V4,
    GROUP_V6,
};

struct Case {
    name: &'static str,
    advert: Advert,
    family: Family,
    pseudo: Option<(IpAddr, IpAddr)>,
}

fn cases() -> Vec<Case> {
    let v4 = |d| IpAddr::V4(Ipv4Addr::new(10, 99, 0, d));
    let src6: IpAddr = "fe80::99:ff:fe00:1"
        .parse::<Ipv6Addr>()
        .unwrap_or(Ipv6Addr::LOCALHOST)
        .into();
    let vip6: IpAddr = "2001:db8:99::100"
        .parse::<Ipv6Addr>()
        .unwrap_or(Ipv6Addr::LOCALHOST)
        .into();
    vec![
        Case {
            name: "v2 PASS, 2 VIPs",
            advert: Advert {
                version: Version::V2,
                vrid: 51,
                priority: 100,
                interval_cs: 100,
                auth: Auth::Pass(*b"s3cret\0\0"),
                addrs: vec![v4(100), v4(101)],
            },
            family: Family::V4,
            pseudo: None,
        },
        Case {
            name: "v3 IPv4, 1 VIP",
            advert: Advert {
                version: Version::V3,
                vrid: 51,
                priority: 100,
                interval_cs: 10,
                auth: Auth::None,
                addrs: vec![v4(100)],
            },
            family: Family::V4,
            pseudo: Some((v4(1), IpAddr::V4(GROUP_V4))),
        },
        Case {
            name: "v3 IPv6, 1 VIP",
            advert: Advert {
                version: Version::V3,
                vrid: 52,
                priority: 100,
                interval_cs: 100,
                auth: Auth::None,
                addrs: vec![vip6],
            },
            family: Family::V6,
            pseudo: Some((src6, IpAddr::V6(GROUP_V6))),
        },
    ]
}

fn rate(iterations: u64, d: Duration) -> f64 {
    iterations as f64 / d.as_secs_f64() / 1e6
}

fn main() {
    let iterations: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);
    println!("{iterations} iterations per measurement, one thread; M adverts/s (ns/advert)");
    println!(
        "{:<18} {:>18} {:>22} {:>26}",
        "advert", "encode", "checksum + decode", "encode + check + decode"
    );
    let mut failures = 0u64;
    for case in cases() {
        let mut buf = Vec::with_capacity(64);
        case.advert.encode(case.pseudo, &mut buf);
        let wire = buf.clone();
        assert!(checksum_ok(&wire, case.advert.version, case.pseudo));

        // encode
        let t = Instant::now();
        for _ in 0..iterations {
            buf.clear();
            black_box(&case.advert).encode(black_box(case.pseudo), &mut buf);
            black_box(&buf);
        }
        let enc = t.elapsed();

        // checksum + decode
        let t = Instant::now();
        for _ in 0..iterations {
            let msg = black_box(&wire[..]);
            if checksum_ok(msg, case.advert.version, black_box(case.pseudo)) {
                match Advert::decode(msg, case.family) {
                    Ok(a) => {
                        black_box(a);
                    }
                    Err(_) => failures += 1,
                }
            } else {
                failures += 1;
            }
        }
        let dec = t.elapsed();

        // all three, as a sender and a receiver of the same advert
        let t = Instant::now();
        for _ in 0..iterations {
            buf.clear();
            black_box(&case.advert).encode(black_box(case.pseudo), &mut buf);
            let msg = black_box(&buf[..]);
            if checksum_ok(msg, case.advert.version, case.pseudo) {
                match Advert::decode(msg, case.family) {
                    Ok(a) => {
                        black_box(a);
                    }
                    Err(_) => failures += 1,
                }
            } else {
                failures += 1;
            }
        }
        let all = t.elapsed();

        let cell = |d: Duration| {
            format!(
                "{:6.1} ({:5.1} ns)",
                rate(iterations, d),
                d.as_nanos() as f64 / iterations as f64
            )
        };
        println!(
            "{:<18} {:>18} {:>22} {:>26}",
            case.name,
            cell(enc),
            cell(dec),
            cell(all)
        );
    }

    // IPsec AH: two MD5 compressions of keyed pads plus the message, each way.
    let ah_iterations = (iterations / 10).max(1);
    let advert = Advert {
        version: Version::V2,
        vrid: 51,
        priority: 100,
        interval_cs: 100,
        auth: Auth::Ah,
        addrs: vec![IpAddr::V4(Ipv4Addr::new(10, 99, 0, 100))],
    };
    let src = Ipv4Addr::new(10, 99, 0, 1);
    let mut vrrp = Vec::with_capacity(64);
    let mut pkt = Vec::with_capacity(128);
    let t = Instant::now();
    for seq in 0..ah_iterations {
        vrrp.clear();
        pkt.clear();
        black_box(&advert).encode(None, &mut vrrp);
        let ah = AhOut {
            key: black_box(b"s3cret"),
            spi: u32::from(src),
            seq: seq as u32,
        };
        build_ipv4(
            &Ipv4Out::keepalived(src, GROUP_V4, seq as u16),
            &vrrp,
            Some(ah),
            &mut pkt,
        );
        match parse_ipv4(black_box(&pkt)) {
            Ok(p) if p.verify_ah(b"s3cret") => {
                black_box(Advert::decode(p.vrrp, Family::V4).is_ok());
            }
            _ => failures += 1,
        }
    }
    let d = t.elapsed();
    println!(
        "{:<18} {:>18} {:>22} {:>26}",
        "v2 AH (64 bytes)",
        "",
        "",
        format!(
            "{:6.2} ({:5.0} ns)",
            rate(ah_iterations, d),
            d.as_nanos() as f64 / ah_iterations as f64
        )
    );
    if failures != 0 {
        eprintln!("{failures} adverts failed to validate");
        std::process::exit(1);
    }
}
