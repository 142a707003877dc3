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

/// Whether real server `rs` of virtual server `vs` (indexes into the config) is up.
pub trait Health {
    fn up(&self, vs: usize, rs: usize) -> bool;
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

/// The desired table. Unhealthy real servers are left out, or kept at weight 0 with
/// `inhibit_on_failure`; with none up, the sorry server (weight 1) stands in.
pub fn from_config(cfg: &Config, health: &dyn Health) -> Result<Table, Vec<DesiredError>> {
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
                let method = rs.lvs_method.as_ref().unwrap_or(&vs.lb_kind);
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
                let up = health.up(vi, ri);
                let inhibit = rs.inhibit_on_failure.unwrap_or(vs.inhibit_on_failure);
                if !up && !inhibit {
                    continue;
                }
                // DR and TUN cannot change the port: the kernel (and keepalived, ipvsadm)
                // use the service's port, 0 for a fwmark service.
                let port = match fwd {
                    Forward::Route | Forward::Tunnel => vport,
                    _ => rs.port.unwrap_or(vport),
                };
                let mut d = Dest::new(rs.ip, port, fwd, if up { rs.weight } else { 0 });
                d.u_threshold = rs.uthreshold.unwrap_or(0);
                d.l_threshold = rs.lthreshold.unwrap_or(0);
                d.tun_type = tun_type;
                d.tun_port = tun_port;
                d.tun_flags = tun_flags;
                dests.insert(d.key(), d);
            }
            let any_up = dests.values().any(|d| d.weight > 0);
            if !any_up {
                if let Some(s) = &vs.sorry_server {
                    let method = vs.sorry_server_lvs_method.as_ref().unwrap_or(&vs.lb_kind);
                    let (fwd, tun_type, tun_port, tun_flags) = forward(method);
                    let port = match fwd {
                        Forward::Route | Forward::Tunnel => vport,
                        _ => s.port,
                    };
                    let mut d = Dest::new(s.ip, port, fwd, 1);
                    d.tun_type = tun_type;
                    d.tun_port = tun_port;
                    d.tun_flags = tun_flags;
                    dests.insert(d.key(), d);
                }
            }
            table.insert(key, (svc, dests));
        }
    }
    if errors.is_empty() {
        Ok(table)
    } else {
        Err(errors)
    }
}
