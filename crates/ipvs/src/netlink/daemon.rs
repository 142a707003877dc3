//! The CMD_ATTR_DAEMON nested attribute: the in-kernel connection sync daemon.
//!
//! NEW_DAEMON needs STATE, MCAST_IFN and SYNC_ID; SYNC_MAXLEN, MCAST_PORT, MCAST_TTL and the
//! group (MCAST_GROUP for IPv4, MCAST_GROUP6 for IPv6) are optional (Linux 4.3+) and sent
//! only when set, in the order ipvsadm uses. DEL_DAEMON needs only STATE.
//! Byte order: MCAST_PORT and SYNC_MAXLEN are host-order u16 (the kernel converts the port
//! itself); MCAST_GROUP is the address in network order.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::types::{SyncDaemon, SyncState};

use super::attr::{get_str, get_u16, get_u32, get_u8, table, AttrWriter};
use super::consts::{cmd_attr, daemon_attr as da, STATE_BACKUP, STATE_MASTER};
use super::error::DecodeError;

fn state_number(s: SyncState) -> u32 {
    match s {
        SyncState::Master => STATE_MASTER,
        SyncState::Backup => STATE_BACKUP,
    }
}

pub(crate) fn put_daemon(w: &mut AttrWriter, d: &SyncDaemon) {
    let nest = w.begin_nest(cmd_attr::DAEMON);
    w.put_u32(da::STATE, state_number(d.state));
    w.put_str(da::MCAST_IFN, &d.ifname);
    w.put_u32(da::SYNC_ID, u32::from(d.syncid));
    if let Some(maxlen) = d.sync_maxlen {
        w.put_u16(da::SYNC_MAXLEN, maxlen);
    }
    if let Some(port) = d.mcast_port {
        w.put_u16(da::MCAST_PORT, port);
    }
    if let Some(ttl) = d.mcast_ttl {
        w.put_u8(da::MCAST_TTL, ttl);
    }
    match d.mcast_group {
        Some(IpAddr::V6(g)) => w.put(da::MCAST_GROUP6, &g.octets()),
        Some(IpAddr::V4(g)) => w.put(da::MCAST_GROUP, &g.octets()),
        None => {}
    }
    w.end_nest(nest);
}

pub(crate) fn put_daemon_state(w: &mut AttrWriter, s: SyncState) {
    let nest = w.begin_nest(cmd_attr::DAEMON);
    w.put_u32(da::STATE, state_number(s));
    w.end_nest(nest);
}

/// Parses the attributes inside CMD_ATTR_DAEMON.
pub fn parse_daemon(nested: &[u8]) -> Result<SyncDaemon, DecodeError> {
    let t = table::<{ da::MCAST_TTL as usize + 1 }>(nested)?;
    let (Some(state), Some(ifn), Some(syncid)) = (
        t[da::STATE as usize],
        t[da::MCAST_IFN as usize],
        t[da::SYNC_ID as usize],
    ) else {
        return Err(DecodeError::new(
            "sync daemon: no state, interface or sync id",
        ));
    };
    let state = match get_u32("sync daemon state", state)? {
        STATE_MASTER => SyncState::Master,
        STATE_BACKUP => SyncState::Backup,
        n => return Err(DecodeError::new(format!("sync daemon: unknown state {n}"))),
    };
    let syncid = get_u32("sync id", syncid)?;
    let syncid = u8::try_from(syncid)
        .map_err(|_| DecodeError::new(format!("sync daemon: sync id {syncid} above 255")))?;
    let mcast_group = if let Some(v) = t[da::MCAST_GROUP as usize] {
        let b: [u8; 4] = v
            .get(..4)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| DecodeError::length("sync daemon group", 4, v.len()))?;
        Some(IpAddr::V4(Ipv4Addr::from(b)))
    } else if let Some(v) = t[da::MCAST_GROUP6 as usize] {
        let b: [u8; 16] = v
            .get(..16)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| DecodeError::length("sync daemon group", 16, v.len()))?;
        Some(IpAddr::V6(Ipv6Addr::from(b)))
    } else {
        None
    };
    Ok(SyncDaemon {
        state,
        ifname: get_str("sync daemon interface", ifn)?,
        syncid,
        sync_maxlen: t[da::SYNC_MAXLEN as usize]
            .map(|v| get_u16("sync maxlen", v))
            .transpose()?,
        mcast_group,
        mcast_port: t[da::MCAST_PORT as usize]
            .map(|v| get_u16("sync port", v))
            .transpose()?,
        mcast_ttl: t[da::MCAST_TTL as usize]
            .map(|v| get_u8("sync ttl", v))
            .transpose()?,
    })
}

/// Parses a NEW_DAEMON message (one entry of a GET_DAEMON dump).
pub fn parse_daemon_msg(attrs: &[u8]) -> Result<SyncDaemon, DecodeError> {
    let t = table::<{ cmd_attr::DAEMON as usize + 1 }>(attrs)?;
    let nested = t[cmd_attr::DAEMON as usize]
        .ok_or_else(|| DecodeError::new("no sync daemon attribute in the reply"))?;
    parse_daemon(nested)
}
