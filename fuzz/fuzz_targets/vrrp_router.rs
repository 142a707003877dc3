//! A director's VRRP router (v2 with PASS, v2 with AH, v3 over IPv4 and IPv6) fed a run of
//! arbitrary packets and timer ticks: whatever arrives, it must not panic. Each packet: one
//! byte of selector (family, source, time step), two of length, then that many bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use lvsd_vrrp::config::{AuthConfig, InstanceConfig};
use lvsd_vrrp::event::{AhRx, Event, InstanceId, Received};
use lvsd_vrrp::packet::{self, Version};
use lvsd_vrrp::{Router, Time};
use std::net::IpAddr;

fn router() -> Router {
    let v4 = |s: &str| -> IpAddr { s.parse().unwrap() };
    let mut a = InstanceConfig::new("V2_PASS", 51, 100, Version::V2, vec![v4("10.0.0.100")]);
    a.auth = AuthConfig::Pass(*b"secret\0\0");
    a.src_addr = Some(v4("10.0.0.1"));
    let mut b = InstanceConfig::new("V2_AH", 52, 150, Version::V2, vec![v4("10.0.0.101")]);
    b.auth = AuthConfig::Ah(b"secret".to_vec());
    b.src_addr = Some(v4("10.0.0.1"));
    let mut c = InstanceConfig::new("V3", 53, 255, Version::V3, vec![v4("10.0.0.102")]);
    c.src_addr = Some(v4("10.0.0.1"));
    let six: IpAddr = "fe80::1".parse().unwrap();
    let mut d = InstanceConfig::new(
        "V3_6",
        51,
        90,
        Version::V3,
        vec!["2001:db8::100".parse().unwrap()],
    );
    d.family = packet::Family::V6;
    d.mcast_group = "ff02::12".parse().unwrap();
    d.src_addr = Some(six);
    let mut r = Router::new(vec![a, b, c, d], vec![("G".into(), vec![0, 1])]);
    let mut out = Vec::new();
    r.handle(Event::Startup, Time::ZERO, &mut out);
    r
}

fuzz_target!(|data: &[u8]| {
    let mut r = router();
    let mut out = Vec::new();
    let mut now = 0u64;
    let mut rest = data;
    while let [sel, l0, l1, tail @ ..] = rest {
        let len = (usize::from(*l0) << 8 | usize::from(*l1)).min(tail.len());
        let (pkt, next) = tail.split_at(len);
        rest = next;
        now += u64::from(sel >> 4) * 250_000;
        let t = Time::from_micros(now);
        out.clear();
        if sel & 1 == 0 {
            // an IPv4 packet as received: parsed as the daemon does
            if let Ok(p) = packet::parse_ipv4(pkt) {
                let ah = p.ah.map(|h| AhRx {
                    packet: pkt,
                    seq: h.seq,
                });
                let rx = Received {
                    src: IpAddr::V4(p.src),
                    dst: IpAddr::V4(p.dst),
                    ttl: p.ttl,
                    interface: None,
                    ah,
                    payload: p.vrrp,
                };
                r.handle(Event::Advert(rx), t, &mut out);
            }
        } else {
            let src: IpAddr = if sel & 2 == 0 {
                "fe80::2".parse().unwrap()
            } else {
                "fe80::1".parse().unwrap()
            };
            let rx = Received {
                src,
                dst: "ff02::12".parse().unwrap(),
                ttl: 255,
                interface: None,
                ah: None,
                payload: pkt,
            };
            r.handle(Event::Advert(rx), t, &mut out);
        }
        if sel & 4 != 0 {
            r.handle(Event::Timer, t, &mut out);
        }
        if sel & 8 != 0 {
            r.handle(
                Event::Operator {
                    instance: InstanceId(u16::from(sel >> 6)),
                    op: lvsd_vrrp::Operator::Demote,
                },
                t,
                &mut out,
            );
        }
    }
});
