//! The table lvsd wants, from the configuration's virtual_server blocks and the health of each
//! real server (all healthy for `lvsd ipvs apply`).

use crate::types::{
    svc_flags, Dest, Family, Forward, Protocol, Service, ServiceKey, Table, TunType,
};
use lvsd_config::model::{self, Config, LvsMethod, VirtualServer, VsGroupMember, VsKey};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// A virtual_server that cannot be programmed, with the line that says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredError {
    pub line: u32,
    pub message: String,
}

impl std::fmt::Display for DesiredError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// The health of the real servers (`vs`, `rs`: indexes into the config's virtual_servers and
/// their real_servers).
/// What an operator asked of a real server (`lvsd rs drain|disable`, issue 17).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Admin {
    /// As its checks say.
    #[default]
    None,
    /// In the table with weight 0: no new connections, the existing ones go on.
    Drain,
    /// Out of the table (disabled, or drained).
    Out,
}

pub trait Health {
    /// Whether the real server is alive (all its checkers up, and no operator holds it out).
    fn up(&self, vs: usize, rs: usize) -> bool;
    /// What an operator asked of the real server.
    fn admin(&self, _vs: usize, _rs: usize) -> Admin {
        Admin::None
    }
    /// Whether the real server's checks pass (its operator's hold aside).
    fn checks_up(&self, vs: usize, rs: usize) -> bool {
        self.up(vs, rs)
    }
    /// A weight set by a check (misc_dynamic, FILE_CHECK dynamic); None = the configured one.
    fn weight(&self, _vs: usize, _rs: usize) -> Option<i32> {
        None
    }
    /// Whether the virtual server has lost its quorum; None = decide from the weight of the
    /// alive real servers with keepalived's thresholds ([`quorum_limits`], [`quorum_lost`]),
    /// starting from "quorum up".
    fn quorum_lost(&self, _vs: usize) -> Option<bool> {
        None
    }
}

/// keepalived's quorum thresholds of a virtual server: `quorum` capped at the total weight of
/// its real servers, `hysteresis` capped at quorum − 1.
pub fn quorum_limits(vs: &VirtualServer) -> (i64, i64) {
    let total: i64 = vs
        .real_servers
        .iter()
        .map(|r| i64::from(r.weight.max(0)))
        .sum();
    let quorum = i64::from(vs.quorum).min(total);
    let hysteresis = i64::from(vs.hysteresis).min((quorum - 1).max(0));
    (quorum, hysteresis)
}

/// keepalived's quorum rule: whether quorum is lost after a change of `weight_sum` (the
/// weights of the alive real servers), given whether it was lost before. Lost while up when
/// weight_sum < quorum − hysteresis or weight_sum = 0; gained while lost when
/// weight_sum >= quorum + hysteresis (and weight_sum > 0).
pub fn quorum_lost(was_lost: bool, weight_sum: i64, quorum: i64, hysteresis: i64) -> bool {
    if was_lost {
        !(weight_sum > 0 && weight_sum >= quorum + hysteresis)
    } else {
        weight_sum <= 0 || weight_sum < quorum - hysteresis
    }
}

/// Every real server healthy (`lvsd ipvs apply`).
pub struct AllUp;

impl Health for AllUp {
    fn up(&self, _: usize, _: usize) -> bool {
        true
    }
}

fn family(f: Option<model::Family>) -> Option<Family> {
    f.map(|f| match f {
        model::Family::Inet => Family::V4,
        model::Family::Inet6 => Family::V6,
    })
}

fn protocol(p: Option<model::Protocol>) -> Protocol {
    match p {
        Some(model::Protocol::Udp) => Protocol::Udp,
        Some(model::Protocol::Sctp) => Protocol::Sctp,
        _ => Protocol::Tcp,
    }
}

/// The service keys a virtual_server stands for (a group stands for several).
fn keys(cfg: &Config, vs: &VirtualServer) -> Result<Vec<ServiceKey>, String> {
    let fw_family = |f: Option<model::Family>| {
        family(f)
            .or(family(vs.ip_family))
            .or_else(|| vs.real_servers.first().map(|r| Family::of(&r.ip)))
            .unwrap_or(Family::V4)
    };
    match &vs.key {
        VsKey::Addr { ip, port } => Ok(vec![ServiceKey::Addr {
            protocol: protocol(vs.protocol),
            addr: *ip,
            port: *port,
        }]),
        VsKey::Fwmark { mark, family: f } => Ok(vec![ServiceKey::Fwmark {
            family: fw_family(*f),
            mark: *mark,
        }]),
        VsKey::Group { name } => {
            let g = cfg
                .virtual_server_groups
                .iter()
                .find(|g| &g.name == name)
                .ok_or_else(|| format!("virtual_server_group `{name}` is not defined"))?;
            let mut out = Vec::new();
            for m in &g.members {
                match m {
                    VsGroupMember::Range {
                        first, last, port, ..
                    } => {
                        for addr in range(*first, *last) {
                            out.push(ServiceKey::Addr {
                                protocol: protocol(vs.protocol),
                                addr,
                                port: *port,
                            });
                        }
                    }
                    VsGroupMember::Fwmark {
                        mark, family: f, ..
                    } => out.push(ServiceKey::Fwmark {
                        family: fw_family(*f),
                        mark: *mark,
                    }),
                }
            }
            Ok(out)
        }
    }
}

/// The addresses first..=last (the last octet/group varies; bounded to 65,536).
/// The IPVS services `cfg.virtual_servers[vs]` stands for (several for a group).
pub fn service_keys(cfg: &Config, vs: usize) -> Result<Vec<ServiceKey>, String> {
    let v = cfg
        .virtual_servers
        .get(vs)
        .ok_or_else(|| format!("no virtual server #{vs}"))?;
    keys(cfg, v)
}

fn range(first: IpAddr, last: IpAddr) -> Vec<IpAddr> {
    match (first, last) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let (a, b) = (u32::from(a), u32::from(b));
            (a..=b.max(a))
                .take(65_536)
                .map(|x| IpAddr::V4(x.into()))
                .collect()
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let (a, b) = (u128::from(a), u128::from(b));
            (a..=b.max(a))
                .take(65_536)
                .map(|x| IpAddr::V6(x.into()))
                .collect()
        }
        _ => vec![first],
    }
}

/// The port of real server `ri` in the kernel's destination of service `key`: DR and TUN
/// cannot change the port, so the kernel (and keepalived, ipvsadm) use the service's port, 0
/// for a fwmark service; NAT uses the real server's port (the service's when it has none).
pub fn dest_port(vs: &VirtualServer, ri: usize, key: &ServiceKey) -> u16 {
    let rs = &vs.real_servers[ri];
    let vport = match key {
        ServiceKey::Addr { port, .. } => *port,
        ServiceKey::Fwmark { .. } => 0,
    };
    let method = rs.lvs_method.as_deref().unwrap_or(&vs.lb_kind);
    match forward(method).0 {
        Forward::Route | Forward::Tunnel => vport,
        _ => rs.port.unwrap_or(vport),
    }
}

fn forward(m: &LvsMethod) -> (Forward, TunType, u16, u16) {
    match m.method {
        model::ForwardMethod::Nat => (Forward::Masq, TunType::Ipip, 0, 0),
        model::ForwardMethod::Dr => (Forward::Route, TunType::Ipip, 0, 0),
        model::ForwardMethod::Tun => {
            let t = match m.tun_type.as_deref() {
                Some("gue") => TunType::Gue,
                Some("gre") => TunType::Gre,
                _ => TunType::Ipip,
            };
            let flags = match m.tun_flags.as_deref() {
                Some("csum") => 1,
                Some("remcsum") => 2,
                _ => 0,
            };
            (Forward::Tunnel, t, m.tun_port.unwrap_or(0), flags)
        }
    }
}

fn netmask(vs: &VirtualServer, fam: Family) -> Result<u32, String> {
    let Some(g) = vs.persistence_granularity.as_deref() else {
        return Ok(match fam {
            Family::V4 => 0xffff_ffff,
            Family::V6 => 128,
        });
    };
    match fam {
        Family::V4 => g
            .parse::<std::net::Ipv4Addr>()
            .map(u32::from)
            .or_else(|_| {
                g.trim_start_matches('/')
                    .parse::<u32>()
                    .ok()
                    .filter(|l| *l <= 32)
                    .map(|l| if l == 0 { 0 } else { u32::MAX << (32 - l) })
                    .ok_or(())
            })
            .map_err(|_| format!("persistence_granularity `{g}` is not an IPv4 netmask")),
        Family::V6 => g
            .trim_start_matches('/')
            .parse::<u32>()
            .ok()
            .filter(|l| *l <= 128)
            .ok_or_else(|| format!("persistence_granularity `{g}` is not an IPv6 prefix length")),
    }
}

fn service(vs: &VirtualServer, key: ServiceKey) -> Result<Service, String> {
    let mut flags = 0;
    if vs.persistence_timeout.is_some() {
        flags |= svc_flags::PERSISTENT;
    }
    for f in &vs.sched_flags {
        flags |= match f.as_str() {
            "sh-fallback" | "mh-fallback" | "flag-1" => svc_flags::SCHED1,
            "sh-port" | "mh-port" | "flag-2" => svc_flags::SCHED2,
            "flag-3" => svc_flags::SCHED3,
            "ops" => svc_flags::ONEPACKET,
            other => return Err(format!("unknown scheduler flag `{other}`")),
        };
    }
    Ok(Service {
        key,
        scheduler: vs.lb_algo.clone(),
        flags,
        timeout: vs.persistence_timeout.unwrap_or(0),
        netmask: netmask(vs, key.family())?,
        pe_name: vs.persistence_engine.clone(),
    })
}

/// `lvs_timeouts` as the kernel takes them (0 = leave unchanged); none when nothing is set.
pub fn timeouts(cfg: &Config) -> Option<crate::Timeouts> {
    let t = &cfg.global.lvs_timeouts;
    (t.tcp.is_some() || t.tcpfin.is_some() || t.udp.is_some()).then(|| crate::Timeouts {
        tcp: t.tcp.unwrap_or(0),
        tcp_fin: t.tcpfin.unwrap_or(0),
        udp: t.udp.unwrap_or(0),
    })
}

/// The desired table, as keepalived programs it (keepalived-behaviour §3.2, §3.3):
/// * a real server that is down is left out, or kept at weight 0 with `inhibit_on_failure`;
///   an alive one has its dynamic weight if a check set one, else its configured weight;
/// * quorum lost and a `sorry_server`: the sorry server stands in (weight 1, its
///   `sorry_server_lvs_method`) and every real server is out (at weight 0 with
///   `inhibit_on_failure`); quorum lost and no sorry server: the alive real servers stay;
/// * `sorry_server_inhibit`: the sorry server is present at weight 0 while quorum is up.
pub fn from_config(cfg: &Config, health: &dyn Health) -> Result<Table, Vec<DesiredError>> {
    let (table, errors) = from_config_partial(cfg, health);
    if errors.is_empty() {
        Ok(table)
    } else {
        Err(errors)
    }
}

/// As [`from_config`], but what can be programmed is returned with the errors: a service
/// whose keys cannot be formed, or a real server whose family does not fit, is left out and
/// reported; the rest of the table stands (a daemon keeps serving the other services).
pub fn from_config_partial(cfg: &Config, health: &dyn Health) -> (Table, Vec<DesiredError>) {
    let mut table = Table::new();
    let mut errors = Vec::new();
    for (vi, vs) in cfg.virtual_servers.iter().enumerate() {
        let line = vs.loc.line;
        let keys = match keys(cfg, vs) {
            Ok(k) => k,
            Err(message) => {
                errors.push(DesiredError { line, message });
                continue;
            }
        };
        let weight_of = |ri: usize, configured: i32| health.weight(vi, ri).unwrap_or(configured);
        let lost = health.quorum_lost(vi).unwrap_or_else(|| {
            let (quorum, hysteresis) = quorum_limits(vs);
            let sum = vs
                .real_servers
                .iter()
                .enumerate()
                .filter(|(ri, _)| health.up(vi, *ri))
                .map(|(ri, r)| i64::from(weight_of(ri, r.weight).max(0)))
                .sum();
            quorum_lost(false, sum, quorum, hysteresis)
        });
        let sorry_active = lost && vs.sorry_server.is_some();
        for key in keys {
            let svc = match service(vs, key) {
                Ok(s) => s,
                Err(message) => {
                    errors.push(DesiredError { line, message });
                    continue;
                }
            };
            let vport = match key {
                ServiceKey::Addr { port, .. } => port,
                ServiceKey::Fwmark { .. } => 0,
            };
            let mut dests = BTreeMap::new();
            for (ri, rs) in vs.real_servers.iter().enumerate() {
                let method = rs.lvs_method.as_deref().unwrap_or(&vs.lb_kind);
                let (fwd, tun_type, tun_port, tun_flags) = forward(method);
                if Family::of(&rs.ip) != key.family() && fwd != Forward::Tunnel {
                    errors.push(DesiredError {
                        line: rs.loc.line,
                        message: format!(
                            "real_server {} is {} but the virtual server is {}: only TUN may mix families",
                            rs.ip,
                            if rs.ip.is_ipv4() { "IPv4" } else { "IPv6" },
                            if key.family() == Family::V4 { "IPv4" } else { "IPv6" }
                        ),
                    });
                    continue;
                }
                let inhibit = rs.inhibit_on_failure.unwrap_or(vs.inhibit_on_failure);
                let weight = match health.admin(vi, ri) {
                    Admin::Out => continue,
                    // draining: weight 0 where it would be in the table (a failed one stays
                    // out), until it leaves
                    Admin::Drain if (!sorry_active && health.checks_up(vi, ri)) || inhibit => 0,
                    Admin::Drain => continue,
                    Admin::None if !sorry_active && health.up(vi, ri) => {
                        weight_of(ri, rs.weight).max(0)
                    }
                    Admin::None if inhibit => 0,
                    Admin::None => continue,
                };
                let port = dest_port(vs, ri, &key);
                let mut d = Dest::new(rs.ip, port, fwd, weight);
                d.u_threshold = rs.uthreshold.unwrap_or(0);
                d.l_threshold = rs.lthreshold.unwrap_or(0);
                d.tun_type = tun_type;
                d.tun_port = tun_port;
                d.tun_flags = tun_flags;
                dests.insert(d.key(), d);
            }
            if let Some(s) = &vs.sorry_server {
                if lost || vs.sorry_server_inhibit {
                    let method = vs.sorry_server_lvs_method.as_ref().unwrap_or(&vs.lb_kind);
                    let (fwd, tun_type, tun_port, tun_flags) = forward(method);
                    let port = match fwd {
                        Forward::Route | Forward::Tunnel => vport,
                        _ => s.port,
                    };
                    let mut d = Dest::new(s.ip, port, fwd, if lost { 1 } else { 0 });
                    d.tun_type = tun_type;
                    d.tun_port = tun_port;
                    d.tun_flags = tun_flags;
                    if lost {
                        dests.insert(d.key(), d);
                    } else {
                        // An inhibited sorry server never hides a real server of the same address.
                        dests.entry(d.key()).or_insert(d);
                    }
                }
            }
            table.insert(key, (svc, dests));
        }
    }
    (table, errors)
}
