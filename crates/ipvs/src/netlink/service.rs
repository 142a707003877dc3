//! The CMD_ATTR_SERVICE nested attribute: a service's identity, its options, its counters.
//!
//! Identity: AF, then FWMARK, or PROTOCOL + ADDR + PORT. A full entry (NEW/SET_SERVICE) adds
//! SCHED_NAME, PE_NAME (only when set), FLAGS, TIMEOUT and NETMASK, in the order ipvsadm uses.
//! FLAGS is sent with mask 0xffffffff (the kernel applies `(old & !mask) | (flags & mask)`)
//! and without IP_VS_SVC_F_HASHED, which the kernel manages.

use crate::types::{svc_flags, Family, Protocol, Service, ServiceKey, Stats};

use super::attr::{
    get_be16, get_be32, get_inet_addr, get_str, get_u16, get_u32, table, AttrWriter,
};
use super::consts::{cmd_attr, svc_attr as sa};
use super::error::DecodeError;
use super::stats;

fn put_key_fields(w: &mut AttrWriter, key: &ServiceKey) {
    w.put_u16(sa::AF, key.family().af());
    match key {
        ServiceKey::Fwmark { mark, .. } => w.put_u32(sa::FWMARK, *mark),
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            w.put_u16(sa::PROTOCOL, protocol.number());
            w.put_inet_addr(sa::ADDR, addr);
            w.put_be16(sa::PORT, *port);
        }
    }
}

/// CMD_ATTR_SERVICE with the identifying attributes only.
pub(crate) fn put_service_key(w: &mut AttrWriter, key: &ServiceKey) {
    let nest = w.begin_nest(cmd_attr::SERVICE);
    put_key_fields(w, key);
    w.end_nest(nest);
}

/// The wire value of NETMASK: an IPv4 mask is a be32; the IPv6 prefix length is read by the
/// kernel as the raw (host-order) value of that be32.
fn netmask_bytes(family: Family, netmask: u32) -> [u8; 4] {
    match family {
        Family::V4 => netmask.to_be_bytes(),
        Family::V6 => netmask.to_ne_bytes(),
    }
}

/// CMD_ATTR_SERVICE with every attribute NEW_SERVICE / SET_SERVICE require.
pub(crate) fn put_service(w: &mut AttrWriter, s: &Service) {
    let nest = w.begin_nest(cmd_attr::SERVICE);
    put_key_fields(w, &s.key);
    w.put_str(sa::SCHED_NAME, &s.scheduler);
    if let Some(pe) = s.pe_name.as_deref().filter(|pe| !pe.is_empty()) {
        w.put_str(sa::PE_NAME, pe);
    }
    let mut flags = [0u8; 8];
    flags[..4].copy_from_slice(&(s.flags & !svc_flags::HASHED).to_ne_bytes());
    flags[4..].copy_from_slice(&u32::MAX.to_ne_bytes());
    w.put(sa::FLAGS, &flags);
    w.put_u32(sa::TIMEOUT, s.timeout);
    w.put(sa::NETMASK, &netmask_bytes(s.key.family(), s.netmask));
    w.end_nest(nest);
}

fn family_of(af: u16) -> Result<Family, DecodeError> {
    match af {
        2 => Ok(Family::V4),
        10 => Ok(Family::V6),
        _ => Err(DecodeError::new(format!(
            "service: unknown address family {af}"
        ))),
    }
}

/// Parses the attributes inside CMD_ATTR_SERVICE.
pub fn parse_service(nested: &[u8]) -> Result<(Service, Stats), DecodeError> {
    let t = table::<{ sa::STATS64 as usize + 1 }>(nested)?;
    let af = t[sa::AF as usize].ok_or_else(|| DecodeError::new("service: no address family"))?;
    let family = family_of(get_u16("service af", af)?)?;
    let key = if let Some(v) = t[sa::FWMARK as usize] {
        ServiceKey::Fwmark {
            family,
            mark: get_u32("service fwmark", v)?,
        }
    } else {
        let (Some(proto), Some(addr), Some(port)) = (
            t[sa::PROTOCOL as usize],
            t[sa::ADDR as usize],
            t[sa::PORT as usize],
        ) else {
            return Err(DecodeError::new(
                "service: neither a firewall mark nor protocol, address and port",
            ));
        };
        let n = get_u16("service protocol", proto)?;
        let protocol = Protocol::from_number(n)
            .ok_or_else(|| DecodeError::new(format!("service: unsupported protocol {n}")))?;
        ServiceKey::Addr {
            protocol,
            addr: get_inet_addr("service address", addr, family == Family::V6)?,
            port: get_be16("service port", port)?,
        }
    };
    let scheduler = match t[sa::SCHED_NAME as usize] {
        Some(v) => get_str("service scheduler", v)?,
        None => return Err(DecodeError::new("service: no scheduler name")),
    };
    let flags = match t[sa::FLAGS as usize] {
        Some(v) => get_u32("service flags", v)? & !svc_flags::HASHED,
        None => 0,
    };
    let timeout = t[sa::TIMEOUT as usize].map_or(Ok(0), |v| get_u32("service timeout", v))?;
    let netmask = match (t[sa::NETMASK as usize], family) {
        (None, _) => 0,
        (Some(v), Family::V4) => get_be32("service netmask", v)?,
        (Some(v), Family::V6) => get_u32("service netmask", v)?,
    };
    let pe_name = match t[sa::PE_NAME as usize] {
        Some(v) => Some(get_str("service persistence engine", v)?).filter(|s| !s.is_empty()),
        None => None,
    };
    let stats = stats::pick(t[sa::STATS64 as usize], t[sa::STATS as usize])?;
    Ok((
        Service {
            key,
            scheduler,
            flags,
            timeout,
            netmask,
            pe_name,
        },
        stats,
    ))
}

/// Parses a NEW_SERVICE message (the answer to GET_SERVICE): its first-level attributes.
pub fn parse_service_msg(attrs: &[u8]) -> Result<(Service, Stats), DecodeError> {
    let t = table::<{ cmd_attr::SERVICE as usize + 1 }>(attrs)?;
    let nested = t[cmd_attr::SERVICE as usize]
        .ok_or_else(|| DecodeError::new("no service attribute in the reply"))?;
    parse_service(nested)
}
