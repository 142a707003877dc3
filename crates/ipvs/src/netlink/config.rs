//! GET_INFO (version, connection table size) and GET/SET_CONFIG (timeouts): first-level
//! u32 attributes, no nesting.

use crate::types::Timeouts;

use super::attr::{get_u32, table, AttrWriter};
use super::consts::{cmd_attr, info_attr};
use super::error::DecodeError;

/// What GET_INFO answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Info {
    /// `IP_VS_VERSION_CODE`, e.g. 0x010201.
    pub version: u32,
    /// Size of the connection hash table (`ip_vs_conn_tab_size`).
    pub conn_tab_size: u32,
}

impl Info {
    /// "1.2.1".
    pub fn version_string(&self) -> String {
        let v = self.version;
        format!("{}.{}.{}", (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff)
    }
}

/// SET_CONFIG attributes. All three are sent; the kernel leaves a 0 unchanged.
pub(crate) fn put_timeouts(w: &mut AttrWriter, t: &Timeouts) {
    w.put_u32(cmd_attr::TIMEOUT_TCP, t.tcp);
    w.put_u32(cmd_attr::TIMEOUT_TCP_FIN, t.tcp_fin);
    w.put_u32(cmd_attr::TIMEOUT_UDP, t.udp);
}

/// Parses a SET_CONFIG message (the answer to GET_CONFIG). A timeout the kernel omits
/// (protocol support not built) is 0.
pub fn parse_timeouts(attrs: &[u8]) -> Result<Timeouts, DecodeError> {
    let t = table::<{ cmd_attr::TIMEOUT_UDP as usize + 1 }>(attrs)?;
    let get = |k: u16, what: &str| t[k as usize].map_or(Ok(0), |v| get_u32(what, v));
    Ok(Timeouts {
        tcp: get(cmd_attr::TIMEOUT_TCP, "tcp timeout")?,
        tcp_fin: get(cmd_attr::TIMEOUT_TCP_FIN, "tcp fin timeout")?,
        udp: get(cmd_attr::TIMEOUT_UDP, "udp timeout")?,
    })
}

/// Parses a SET_INFO message (the answer to GET_INFO).
pub fn parse_info(attrs: &[u8]) -> Result<Info, DecodeError> {
    let t = table::<{ info_attr::CONN_TAB_SIZE as usize + 1 }>(attrs)?;
    let (Some(v), Some(s)) = (
        t[info_attr::VERSION as usize],
        t[info_attr::CONN_TAB_SIZE as usize],
    ) else {
        return Err(DecodeError::new("info: no version or table size"));
    };
    Ok(Info {
        version: get_u32("version", v)?,
        conn_tab_size: get_u32("connection table size", s)?,
    })
}
