//! Netlink attributes (TLVs): a small writer with nesting, and bounds-checked readers.
//!
//! An attribute is `u16 len` (header + value, without padding), `u16 type`, the value, then
//! zero padding to a multiple of 4. Integers are in host order unless the kernel reads them
//! as `be16`/`be32` (ports, IPv4 netmasks, IPv4 multicast group).
//!
//! Nested attributes are written without the `NLA_F_NESTED` flag, as ipvsadm does; the
//! kernel's IPVS parser (`nla_parse_nested_deprecated`) accepts both.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::NlasIterator;

use super::error::DecodeError;

/// Rounds up to the 4-byte netlink alignment.
pub(crate) const fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Appends attributes to a byte buffer.
#[derive(Debug, Default)]
pub(crate) struct AttrWriter {
    buf: Vec<u8>,
}

impl AttrWriter {
    pub(crate) fn new() -> AttrWriter {
        AttrWriter {
            buf: Vec::with_capacity(128),
        }
    }

    pub(crate) fn put(&mut self, kind: u16, value: &[u8]) {
        let len = 4 + value.len();
        debug_assert!(len <= u16::MAX as usize);
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(value);
        self.pad();
    }

    pub(crate) fn put_u8(&mut self, kind: u16, v: u8) {
        self.put(kind, &[v]);
    }

    pub(crate) fn put_u16(&mut self, kind: u16, v: u16) {
        self.put(kind, &v.to_ne_bytes());
    }

    pub(crate) fn put_be16(&mut self, kind: u16, v: u16) {
        self.put(kind, &v.to_be_bytes());
    }

    pub(crate) fn put_u32(&mut self, kind: u16, v: u32) {
        self.put(kind, &v.to_ne_bytes());
    }

    /// A NUL-terminated string.
    pub(crate) fn put_str(&mut self, kind: u16, s: &str) {
        let mut v = Vec::with_capacity(s.len() + 1);
        v.extend_from_slice(s.as_bytes());
        v.push(0);
        self.put(kind, &v);
    }

    /// `union nf_inet_addr`: 16 bytes, an IPv4 address in the first 4, the rest zero.
    pub(crate) fn put_inet_addr(&mut self, kind: u16, a: &IpAddr) {
        self.put(kind, &inet_addr_bytes(a));
    }

    /// Opens a nested attribute; returns the offset to give to [`AttrWriter::end_nest`].
    pub(crate) fn begin_nest(&mut self, kind: u16) -> usize {
        let start = self.buf.len();
        self.buf.extend_from_slice(&[0, 0]);
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        start
    }

    pub(crate) fn end_nest(&mut self, start: usize) {
        let len = self.buf.len() - start;
        debug_assert!(len <= u16::MAX as usize);
        self.buf[start..start + 2].copy_from_slice(&(len as u16).to_ne_bytes());
    }

    fn pad(&mut self) {
        let padded = align4(self.buf.len());
        self.buf.resize(padded, 0);
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

pub(crate) fn inet_addr_bytes(a: &IpAddr) -> [u8; 16] {
    let mut b = [0u8; 16];
    match a {
        IpAddr::V4(v4) => b[..4].copy_from_slice(&v4.octets()),
        IpAddr::V6(v6) => b.copy_from_slice(&v6.octets()),
    }
    b
}

/// Indexes the attributes of `buf` by type (types `>= N` are skipped; for a repeated type the
/// last one wins, as in the kernel's `nla_parse`).
pub(crate) fn table<const N: usize>(buf: &[u8]) -> Result<[Option<&[u8]>; N], DecodeError> {
    let mut t: [Option<&[u8]>; N] = [None; N];
    for nla in NlasIterator::new(buf) {
        let nla = nla.map_err(|e| DecodeError::new(format!("attribute: {e}")))?;
        let kind = nla.kind() as usize;
        // `new_checked` (inside the iterator) made sure that 4 <= length <= the bytes left.
        let len = nla.length() as usize;
        let rest: &[u8] = nla.into_inner();
        if kind < N {
            t[kind] = Some(&rest[4..len]);
        }
    }
    Ok(t)
}

pub(crate) fn get_u8(what: &str, v: &[u8]) -> Result<u8, DecodeError> {
    match v {
        [b, ..] => Ok(*b),
        [] => Err(DecodeError::length(what, 1, 0)),
    }
}

fn fixed<const L: usize>(what: &str, v: &[u8]) -> Result<[u8; L], DecodeError> {
    v.get(..L)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| DecodeError::length(what, L, v.len()))
}

pub(crate) fn get_u16(what: &str, v: &[u8]) -> Result<u16, DecodeError> {
    Ok(u16::from_ne_bytes(fixed(what, v)?))
}

pub(crate) fn get_be16(what: &str, v: &[u8]) -> Result<u16, DecodeError> {
    Ok(u16::from_be_bytes(fixed(what, v)?))
}

pub(crate) fn get_u32(what: &str, v: &[u8]) -> Result<u32, DecodeError> {
    Ok(u32::from_ne_bytes(fixed(what, v)?))
}

pub(crate) fn get_be32(what: &str, v: &[u8]) -> Result<u32, DecodeError> {
    Ok(u32::from_be_bytes(fixed(what, v)?))
}

/// A counter sent either as u32 or as u64 (the kernel uses both in STATS).
pub(crate) fn get_counter(what: &str, v: &[u8]) -> Result<u64, DecodeError> {
    match v.len() {
        4 => Ok(u64::from(get_u32(what, v)?)),
        8 => Ok(u64::from_ne_bytes(fixed(what, v)?)),
        n => Err(DecodeError::length(what, 8, n)),
    }
}

/// A string up to its first NUL (or the end of the value).
pub(crate) fn get_str(what: &str, v: &[u8]) -> Result<String, DecodeError> {
    let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
    std::str::from_utf8(&v[..end])
        .map(str::to_owned)
        .map_err(|_| DecodeError::new(format!("{what}: not UTF-8")))
}

pub(crate) fn get_inet_addr(what: &str, v: &[u8], v6: bool) -> Result<IpAddr, DecodeError> {
    if v6 {
        Ok(IpAddr::V6(Ipv6Addr::from(fixed::<16>(what, v)?)))
    } else {
        Ok(IpAddr::V4(Ipv4Addr::from(fixed::<4>(what, v)?)))
    }
}
