//! Replay harness: one router, timed inputs, the exact actions as compact strings.
#![allow(dead_code)]

use lvsd_vrrp::config::InstanceConfig;
use lvsd_vrrp::event::{Action, Event, InstanceId, Received};
use lvsd_vrrp::packet::{Advert, Auth, Family, Version};
use lvsd_vrrp::track::{TrackerId, TrackerStatus};
use lvsd_vrrp::{Router, Time};
use std::net::IpAddr;

pub const ME: &str = "10.0.0.2";
pub const LOWER: &str = "10.0.0.1";
pub const HIGHER: &str = "10.0.0.3";
pub const VIP: &str = "10.0.0.100";

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A v2 multicast instance, VRID 51, one VIP, advert_int 1 s.
pub fn v2(priority: u8) -> InstanceConfig {
    let mut c = InstanceConfig::new("VI_1", 51, priority, Version::V2, vec![ip(VIP)]);
    c.src_addr = Some(ip(ME));
    c
}

pub fn v3(priority: u8, interval_ms: u64) -> InstanceConfig {
    let mut c = InstanceConfig::new("VI_1", 51, priority, Version::V3, vec![ip(VIP)]);
    c.src_addr = Some(ip(ME));
    c.advert_interval = std::time::Duration::from_millis(interval_ms);
    c
}

pub struct Replay {
    pub router: Router,
    out: Vec<Action>,
}

/// A received advert as a peer would send it.
pub struct Peer {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub ttl: u8,
    pub advert: Advert,
}

impl Peer {
    pub fn new(from: &str, cfg: &InstanceConfig, priority: u8) -> Peer {
        Peer {
            src: ip(from),
            dst: cfg.mcast_group,
            ttl: 255,
            advert: Advert {
                version: cfg.version,
                vrid: cfg.vrid,
                priority,
                interval_cs: cfg.interval_cs(),
                auth: match cfg.auth {
                    lvsd_vrrp::config::AuthConfig::Pass(p) => Auth::Pass(p),
                    _ => Auth::None,
                },
                addrs: cfg.vips.clone(),
            },
        }
    }

    pub fn bytes(&self) -> Vec<u8> {
        let mut b = Vec::new();
        let pseudo = match (self.advert.version, self.src) {
            (Version::V2, _) => None,
            _ => Some((self.src, self.dst)),
        };
        self.advert.encode(pseudo, &mut b);
        b
    }
}

pub fn secs(s: f64) -> Time {
    Time::from_micros((s * 1e6).round() as u64)
}

impl Replay {
    pub fn new(cfg: InstanceConfig) -> Replay {
        Replay::group(vec![cfg], vec![])
    }

    pub fn group(cfgs: Vec<InstanceConfig>, groups: Vec<(String, Vec<usize>)>) -> Replay {
        Replay {
            router: Router::new(cfgs, groups),
            out: Vec::new(),
        }
    }

    pub fn event(&mut self, t: f64, ev: Event<'_>) -> Vec<String> {
        self.out.clear();
        self.router.handle(ev, secs(t), &mut self.out);
        self.out.iter().map(|a| show(&self.router, a)).collect()
    }

    pub fn start(&mut self, t: f64) -> Vec<String> {
        self.event(t, Event::Startup)
    }

    pub fn timer(&mut self, t: f64) -> Vec<String> {
        self.event(t, Event::Timer)
    }

    pub fn recv(&mut self, t: f64, p: &Peer) -> Vec<String> {
        let bytes = p.bytes();
        self.recv_bytes(t, p, &bytes)
    }

    pub fn recv_bytes(&mut self, t: f64, p: &Peer, bytes: &[u8]) -> Vec<String> {
        self.event(
            t,
            Event::Advert(Received {
                src: p.src,
                dst: p.dst,
                ttl: p.ttl,
                interface: Some("eth0"),
                ah: None,
                payload: bytes,
            }),
        )
    }

    pub fn track(&mut self, t: f64, id: &TrackerId, st: TrackerStatus) -> Vec<String> {
        self.event(
            t,
            Event::Tracker {
                id: id.clone(),
                status: st,
            },
        )
    }

    pub fn state(&self, i: u16) -> lvsd_vrrp::State {
        self.router.instance(InstanceId(i)).state()
    }
}

/// `send 100`, `add`, `notify BACKUP->MASTER MasterDown`, `arm 3.609375`, ...
pub fn show(r: &Router, a: &Action) -> String {
    let name = |i: &InstanceId| r.instance(*i).name().to_string();
    let multi = r.instances().len() > 1;
    let pre = |i: &InstanceId| {
        if multi {
            format!("{} ", name(i))
        } else {
            String::new()
        }
    };
    match a {
        Action::SendAdvert {
            instance, priority, ..
        } => format!("{}send {priority}", pre(instance)),
        Action::AddAddresses { instance } => format!("{}add", pre(instance)),
        Action::RemoveAddresses { instance } => format!("{}remove", pre(instance)),
        Action::SendGratuitous { instance, count } => format!("{}garp {count}", pre(instance)),
        Action::Notify {
            instance,
            from,
            to,
            reason,
            ..
        } => {
            let reason = format!("{reason:?}");
            let reason = reason.split([' ', '{']).next().unwrap_or("");
            format!(
                "{}notify {}->{} {reason}",
                pre(instance),
                from.name(),
                to.name()
            )
        }
        Action::GroupNotify { to, .. } => format!("group {}", to.name()),
        Action::PriorityChanged { instance, from, to } => {
            format!("{}prio {from}->{to}", pre(instance))
        }
        Action::MasterRxLowerPriority { from, priority, .. } => {
            format!("rx-lower {from} {priority}")
        }
        Action::LowerPriorityIgnored { from, priority, .. } => {
            format!("ignore-lower {from} {priority}")
        }
        Action::AddressListMismatch { from, .. } => format!("addr-mismatch {from}"),
        Action::Dropped { reason, .. } => format!("drop {}", reason.name()),
        Action::HeldByDemote { instance } => format!("{}held-by-demote", pre(instance)),
        Action::ArmTimer { at } => format!("arm {at}"),
    }
}

pub fn family(c: &InstanceConfig) -> Family {
    c.family
}
