use super::{Checker, Script};
use crate::diag::Loc;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// How a virtual server is addressed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VsKey {
    Addr { ip: IpAddr, port: u16 },
    Fwmark { mark: u32, family: Option<Family> },
    Group { name: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Inet,
    Inet6,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

/// The IPVS schedulers.
pub const SCHEDULERS: &[&str] = &[
    "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ForwardMethod {
    Nat,
    Dr,
    Tun,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LvsMethod {
    pub method: ForwardMethod,
    /// TUN only: ipip (default), gue, gre.
    pub tun_type: Option<String>,
    pub tun_port: Option<u16>,
    /// nocsum, csum or remcsum.
    pub tun_flags: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VirtualServerGroup {
    pub name: String,
    pub loc: Loc,
    pub members: Vec<VsGroupMember>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VsGroupMember {
    /// An address, or a range `a.b.c.d-e` (last octet / group), with a port.
    Range {
        first: IpAddr,
        last: IpAddr,
        port: u16,
        loc: Loc,
    },
    Fwmark {
        mark: u32,
        family: Option<Family>,
        loc: Loc,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct SorryServer {
    pub ip: IpAddr,
    pub port: u16,
    pub loc: Loc,
}

#[derive(Debug, Clone, Serialize)]
pub struct VirtualServer {
    pub key: VsKey,
    pub loc: Loc,
    pub delay_loop: f64,
    pub lb_algo: String,
    pub sched_flags: Vec<String>,
    pub lb_kind: LvsMethod,
    /// Seconds; None = not persistent.
    pub persistence_timeout: Option<u32>,
    pub persistence_granularity: Option<String>,
    pub persistence_engine: Option<String>,
    /// None for fwmark services.
    pub protocol: Option<Protocol>,
    pub ip_family: Option<Family>,
    pub ha_suspend: bool,
    pub alpha: bool,
    pub omega: bool,
    pub quorum: u32,
    pub hysteresis: u32,
    pub quorum_up: Option<Script>,
    pub quorum_down: Option<Script>,
    pub sorry_server: Option<SorryServer>,
    pub sorry_server_inhibit: bool,
    pub sorry_server_lvs_method: Option<LvsMethod>,
    pub inhibit_on_failure: bool,
    pub virtualhost: Option<String>,
    pub smtp_alert: Option<bool>,
    pub weight: Option<i32>,
    /// Defaults that real servers and their checkers inherit.
    pub retry: Option<u32>,
    pub delay_before_retry: Option<f64>,
    pub warmup: Option<f64>,
    pub connect_timeout: Option<f64>,
    pub real_servers: Vec<RealServer>,
    pub other: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RealServer {
    pub ip: IpAddr,
    /// None = same as the virtual server's port.
    pub port: Option<u16>,
    pub loc: Loc,
    pub weight: i32,
    /// None = the virtual server's lb_kind.
    pub lvs_method: Option<Box<LvsMethod>>,
    pub uthreshold: Option<u32>,
    pub lthreshold: Option<u32>,
    pub inhibit_on_failure: Option<bool>,
    /// Boxed, as the other rare parts: a real server is small (36,000 of them are common).
    pub notify_up: Option<Box<Script>>,
    pub notify_down: Option<Box<Script>>,
    pub alpha: Option<bool>,
    /// What its checkers inherit, when written (read while the checkers are parsed).
    /// (serialised as its five fields, null when unset, as when they were fields of their own)
    #[serde(flatten, serialize_with = "all_defaults")]
    pub check_defaults: Option<Box<CheckDefaults>>,
    pub smtp_alert: Option<bool>,
    pub virtualhost: Option<Box<str>>,
    pub checkers: Vec<Checker>,
    pub other: BTreeMap<String, Vec<String>>,
}

fn all_defaults<S: serde::Serializer>(
    v: &Option<Box<CheckDefaults>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    v.as_deref().cloned().unwrap_or_default().serialize(s)
}

/// A real server's values for its checkers (`retry`, `delay_before_retry`, ...).
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckDefaults {
    pub retry: Option<u32>,
    pub delay_before_retry: Option<f64>,
    pub warmup: Option<f64>,
    pub connect_timeout: Option<f64>,
    pub delay_loop: Option<f64>,
}

impl RealServer {
    /// The checker defaults, created when the first is written.
    pub fn check_defaults_mut(&mut self) -> &mut CheckDefaults {
        self.check_defaults.get_or_insert_with(Default::default)
    }

    /// The checker defaults (all unset when none is written).
    pub fn check_defaults(&self) -> &CheckDefaults {
        static NONE: CheckDefaults = CheckDefaults {
            retry: None,
            delay_before_retry: None,
            warmup: None,
            connect_timeout: None,
            delay_loop: None,
        };
        self.check_defaults.as_deref().unwrap_or(&NONE)
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SslContext {
    pub password: Option<String>,
    pub ca: Option<String>,
    pub certificate: Option<String>,
    pub key: Option<String>,
}
