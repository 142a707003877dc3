//! The CMD_ATTR_DEST nested attribute: a destination (real server).
//!
//! Sent in the order ipvsadm/keepalived use: ADDR_FAMILY, ADDR, PORT, FWD_METHOD, WEIGHT,
//! the tunnel attributes, U_THRESH, L_THRESH. As keepalived does, the tunnel attributes are
//! sent only for tunnel forwarding: TUN_TYPE always, TUN_PORT for GUE, TUN_FLAGS for GUE and
//! GRE. (The kernel checks `tun_type == GUE && tun_port == 0` whatever the forwarding method,
//! and keeps what it is given, so other methods get zeros.)

use std::net::IpAddr;

use crate::types::{Dest, Family, Forward, Stats, TunType};

use super::attr::{get_be16, get_inet_addr, get_u16, get_u32, get_u8, table, AttrWriter};
use super::consts::{cmd_attr, dest_attr as da, TUN_TYPE_GRE, TUN_TYPE_GUE, TUN_TYPE_IPIP};
use super::error::DecodeError;
use super::stats;

/// Connection counters of a destination (read-only).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DestCounters {
    pub active: u32,
    pub inactive: u32,
    pub persist: u32,
}

fn tun_type_number(t: TunType) -> u8 {
    match t {
        TunType::Ipip => TUN_TYPE_IPIP,
        TunType::Gue => TUN_TYPE_GUE,
        TunType::Gre => TUN_TYPE_GRE,
    }
}

fn put_key_fields(w: &mut AttrWriter, addr: &IpAddr, port: u16) {
    w.put_u16(da::ADDR_FAMILY, Family::of(addr).af());
    w.put_inet_addr(da::ADDR, addr);
    w.put_be16(da::PORT, port);
}

/// CMD_ATTR_DEST with the identifying attributes only (DEL_DEST).
pub(crate) fn put_dest_key(w: &mut AttrWriter, addr: &IpAddr, port: u16) {
    let nest = w.begin_nest(cmd_attr::DEST);
    put_key_fields(w, addr, port);
    w.end_nest(nest);
}

/// CMD_ATTR_DEST with every attribute NEW_DEST / SET_DEST require.
pub(crate) fn put_dest(w: &mut AttrWriter, d: &Dest) {
    let nest = w.begin_nest(cmd_attr::DEST);
    put_key_fields(w, &d.addr, d.port);
    w.put_u32(da::FWD_METHOD, d.forward.flag());
    w.put_u32(da::WEIGHT, d.weight as u32);
    if d.forward == Forward::Tunnel {
        w.put_u8(da::TUN_TYPE, tun_type_number(d.tun_type));
        if d.tun_type == TunType::Gue {
            w.put_be16(da::TUN_PORT, d.tun_port);
        }
        if d.tun_type != TunType::Ipip {
            w.put_u16(da::TUN_FLAGS, d.tun_flags);
        }
    }
    w.put_u32(da::U_THRESH, d.u_threshold);
    w.put_u32(da::L_THRESH, d.l_threshold);
    w.end_nest(nest);
}

/// Parses the attributes inside CMD_ATTR_DEST. `service_family` is used when the kernel
/// does not send ADDR_FAMILY (kernels before 3.18).
pub fn parse_dest(
    nested: &[u8],
    service_family: Family,
) -> Result<(Dest, DestCounters, Stats), DecodeError> {
    let t = table::<{ da::TUN_FLAGS as usize + 1 }>(nested)?;
    let family = match t[da::ADDR_FAMILY as usize] {
        Some(v) => match get_u16("destination address family", v)? {
            2 => Family::V4,
            10 => Family::V6,
            n => {
                return Err(DecodeError::new(format!(
                    "destination: unknown address family {n}"
                )))
            }
        },
        None => service_family,
    };
    let (Some(addr), Some(port)) = (t[da::ADDR as usize], t[da::PORT as usize]) else {
        return Err(DecodeError::new("destination: no address or port"));
    };
    let addr = get_inet_addr("destination address", addr, family == Family::V6)?;
    let port = get_be16("destination port", port)?;
    let u32_or_0 = |kind: u16, what: &str| t[kind as usize].map_or(Ok(0), |v| get_u32(what, v));
    let forward = Forward::from_flag(u32_or_0(da::FWD_METHOD, "destination forwarding")?);
    let weight = u32_or_0(da::WEIGHT, "destination weight")? as i32;
    let tun_type = match t[da::TUN_TYPE as usize].map_or(Ok(0), |v| get_u8("tunnel type", v))? {
        TUN_TYPE_IPIP => TunType::Ipip,
        TUN_TYPE_GUE => TunType::Gue,
        TUN_TYPE_GRE => TunType::Gre,
        n => {
            return Err(DecodeError::new(format!(
                "destination: unknown tunnel type {n}"
            )))
        }
    };
    let tun_port = t[da::TUN_PORT as usize].map_or(Ok(0), |v| get_be16("tunnel port", v))?;
    let tun_flags = t[da::TUN_FLAGS as usize].map_or(Ok(0), |v| get_u16("tunnel flags", v))?;
    let dest = Dest {
        addr,
        port,
        forward,
        weight,
        u_threshold: u32_or_0(da::U_THRESH, "upper threshold")?,
        l_threshold: u32_or_0(da::L_THRESH, "lower threshold")?,
        tun_type,
        tun_port,
        tun_flags,
    };
    let counters = DestCounters {
        active: u32_or_0(da::ACTIVE_CONNS, "active connections")?,
        inactive: u32_or_0(da::INACT_CONNS, "inactive connections")?,
        persist: u32_or_0(da::PERSIST_CONNS, "persistent connections")?,
    };
    let stats = stats::pick(t[da::STATS64 as usize], t[da::STATS as usize])?;
    Ok((dest, counters, stats))
}

/// Parses a NEW_DEST message (one entry of a GET_DEST dump): its first-level attributes.
pub fn parse_dest_msg(
    attrs: &[u8],
    service_family: Family,
) -> Result<(Dest, DestCounters, Stats), DecodeError> {
    let t = table::<{ cmd_attr::DEST as usize + 1 }>(attrs)?;
    let nested = t[cmd_attr::DEST as usize]
        .ok_or_else(|| DecodeError::new("no destination attribute in the reply"))?;
    parse_dest(nested, service_family)
}
