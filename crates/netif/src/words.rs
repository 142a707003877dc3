//! The pieces of iproute2's grammar that routes and rules share: prefixes, numbers, table,
//! protocol and scope names, address family.

use crate::error::ParseError;
use std::fmt;
use std::net::IpAddr;

/// IPv4 or IPv6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn of(ip: &IpAddr) -> Family {
        if ip.is_ipv6() {
            Family::V6
        } else {
            Family::V4
        }
    }

    pub(crate) fn max_len(self) -> u8 {
        match self {
            Family::V4 => 32,
            Family::V6 => 128,
        }
    }

    pub(crate) fn netlink(self) -> netlink_packet_route::AddressFamily {
        match self {
            Family::V4 => netlink_packet_route::AddressFamily::Inet,
            Family::V6 => netlink_packet_route::AddressFamily::Inet6,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::V4 => "inet",
            Family::V6 => "inet6",
        })
    }
}

/// An address with a prefix length (`10.0.0.0/8`, `2001:db8::1/128`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Prefix {
    pub addr: IpAddr,
    pub len: u8,
}

impl Prefix {
    pub fn family(&self) -> Family {
        Family::of(&self.addr)
    }

    /// True if bits past `len` are set (the kernel refuses such route destinations).
    pub fn has_host_bits(&self) -> bool {
        match self.addr {
            IpAddr::V4(a) => {
                let v = u32::from(a);
                let mask = if self.len == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(self.len.min(32)))
                };
                v & !mask != 0
            }
            IpAddr::V6(a) => {
                let v = u128::from(a);
                let mask = if self.len == 0 {
                    0
                } else {
                    u128::MAX << (128 - u32::from(self.len.min(128)))
                };
                v & !mask != 0
            }
        }
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// `ADDR[/LEN]`; a bare address is a host prefix.
pub(crate) fn parse_prefix(keyword: &str, s: &str) -> Result<Prefix, ParseError> {
    let (a, l) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let addr: IpAddr = a
        .parse()
        .map_err(|_| ParseError::invalid_hint(keyword, s, "not an IP address"))?;
    let max = Family::of(&addr).max_len();
    let len = match l {
        None => max,
        Some(l) => match l.parse::<u8>() {
            Ok(n) if n <= max => n,
            _ => {
                return Err(ParseError::invalid_hint(
                    keyword,
                    s,
                    format!("prefix length must be 0..={max}"),
                ))
            }
        },
    };
    Ok(Prefix { addr, len })
}

pub(crate) fn parse_ip(keyword: &str, s: &str) -> Result<IpAddr, ParseError> {
    s.parse()
        .map_err(|_| ParseError::invalid_hint(keyword, s, "not an IP address"))
}

/// A number as iproute2 reads it (`strtoul` base 0: decimal, `0x` hex, leading-0 octal).
pub(crate) fn parse_u32(keyword: &str, s: &str) -> Result<u32, ParseError> {
    let r = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u32::from_str_radix(h, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        u32::from_str_radix(&s[1..], 8)
    } else {
        s.parse::<u32>()
    };
    r.map_err(|_| ParseError::invalid_hint(keyword, s, "not a number"))
}

pub(crate) fn parse_u8(keyword: &str, s: &str) -> Result<u8, ParseError> {
    let n = parse_u32(keyword, s)?;
    u8::try_from(n).map_err(|_| ParseError::invalid_hint(keyword, s, "must be 0..=255"))
}

/// A routing table: `main` (254), `local` (255), `default` (253), a number, or a name from
/// iproute2's `rt_tables`.
pub(crate) fn parse_table(keyword: &str, s: &str) -> Result<u32, ParseError> {
    match s {
        "main" => return Ok(254),
        "local" => return Ok(255),
        "default" => return Ok(253),
        "unspec" => return Ok(0),
        _ => {}
    }
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        return parse_u32(keyword, s);
    }
    lookup_name("rt_tables", s)
        .ok_or_else(|| ParseError::invalid_hint(keyword, s, "unknown table name"))
}

/// A route protocol: a number, a well-known name, or a name from iproute2's `rt_protos`.
pub(crate) fn parse_protocol(keyword: &str, s: &str) -> Result<u8, ParseError> {
    let known = [
        ("unspec", 0),
        ("redirect", 1),
        ("kernel", 2),
        ("boot", 3),
        ("static", 4),
        ("gated", 8),
        ("ra", 9),
        ("mrt", 10),
        ("zebra", 11),
        ("bird", 12),
        ("dnrouted", 13),
        ("xorp", 14),
        ("ntk", 15),
        ("dhcp", 16),
        ("mrouted", 17),
        ("keepalived", 18),
        ("babel", 42),
        ("openr", 99),
        ("bgp", 186),
        ("isis", 187),
        ("ospf", 188),
        ("rip", 189),
        ("eigrp", 192),
    ];
    if let Some((_, n)) = known.iter().find(|(name, _)| *name == s) {
        return Ok(*n);
    }
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        return parse_u8(keyword, s);
    }
    lookup_name("rt_protos", s)
        .and_then(|n| u8::try_from(n).ok())
        .ok_or_else(|| ParseError::invalid_hint(keyword, s, "unknown protocol name"))
}

/// A scope: `global`/`universe` (0), `site` (200), `link` (253), `host` (254), `nowhere` (255)
/// or a number.
pub(crate) fn parse_scope(keyword: &str, s: &str) -> Result<u8, ParseError> {
    match s {
        "global" | "universe" => Ok(0),
        "site" => Ok(200),
        "link" => Ok(253),
        "host" => Ok(254),
        "nowhere" => Ok(255),
        _ if s.starts_with(|c: char| c.is_ascii_digit()) => parse_u8(keyword, s),
        _ => lookup_name("rt_scopes", s)
            .and_then(|n| u8::try_from(n).ok())
            .ok_or_else(|| {
                ParseError::invalid_hint(
                    keyword,
                    s,
                    "expected host, link, site, global or a number",
                )
            }),
    }
}

/// Looks `name` up in iproute2's `NUMBER NAME` files (`/etc/iproute2/FILE`, its `FILE.d/*.conf`,
/// and the distribution defaults).
fn lookup_name(file: &str, name: &str) -> Option<u32> {
    let mut paths = Vec::new();
    for dir in ["/etc/iproute2", "/usr/share/iproute2", "/usr/lib/iproute2"] {
        paths.push(std::path::PathBuf::from(format!("{dir}/{file}")));
        if let Ok(rd) = std::fs::read_dir(format!("{dir}/{file}.d")) {
            let mut more: Vec<_> = rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "conf"))
                .collect();
            more.sort();
            paths.extend(more);
        }
    }
    for p in paths {
        let Ok(text) = std::fs::read_to_string(&p) else {
            continue;
        };
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("");
            let mut it = line.split_whitespace();
            if let (Some(num), Some(n)) = (it.next(), it.next()) {
                if n == name {
                    if let Ok(v) = parse_u32("", num) {
                        return Some(v);
                    }
                }
            }
        }
    }
    None
}

/// Records the family implied by an address, or fails if it contradicts an earlier one.
pub(crate) fn note_family(
    family: &mut Option<Family>,
    f: Family,
    what: &str,
) -> Result<(), ParseError> {
    match family {
        None => {
            *family = Some(f);
            Ok(())
        }
        Some(g) if *g == f => Ok(()),
        Some(g) => Err(ParseError::Family(format!(
            "{what} is {f}, the rest is {g}"
        ))),
    }
}

/// A cursor over the words of one line.
pub(crate) struct Words<'a> {
    words: &'a [String],
    pos: usize,
}

impl<'a> Words<'a> {
    pub(crate) fn new(words: &'a [String]) -> Self {
        Words { words, pos: 0 }
    }

    pub(crate) fn next_word(&mut self) -> Option<&'a str> {
        let w = self.words.get(self.pos)?;
        self.pos += 1;
        Some(w.as_str())
    }

    /// The value after `keyword`.
    pub(crate) fn value(&mut self, keyword: &str) -> Result<&'a str, ParseError> {
        self.next_word()
            .ok_or_else(|| ParseError::Missing(keyword.to_string()))
    }
}

/// Sets an option once.
pub(crate) fn set_once<T>(slot: &mut Option<T>, v: T, keyword: &str) -> Result<(), ParseError> {
    if slot.is_some() {
        return Err(ParseError::Duplicate(keyword.to_string()));
    }
    *slot = Some(v);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        let p = parse_prefix("to", "10.1.0.0/16").unwrap();
        assert_eq!(p.to_string(), "10.1.0.0/16");
        assert!(!p.has_host_bits());
        assert_eq!(parse_prefix("to", "10.1.2.3").unwrap().len, 32);
        assert!(parse_prefix("to", "10.1.2.3/24").unwrap().has_host_bits());
        assert_eq!(parse_prefix("to", "2001:db8::/32").unwrap().len, 32);
        assert!(parse_prefix("to", "2001:db8::1/64")
            .unwrap()
            .has_host_bits());
        assert!(!parse_prefix("to", "0.0.0.0/0").unwrap().has_host_bits());
        assert!(parse_prefix("to", "10.1.2.3/33").is_err());
        assert!(parse_prefix("to", "10.1.2/24").is_err());
        assert!(parse_prefix("to", "192.168.1.20.9").is_err());
    }

    #[test]
    fn numbers_and_names() {
        assert_eq!(parse_u32("metric", "10").unwrap(), 10);
        assert_eq!(parse_u32("fwmark", "0x10").unwrap(), 16);
        assert_eq!(parse_u32("fwmark", "010").unwrap(), 8);
        assert_eq!(parse_u32("fwmark", "0").unwrap(), 0);
        assert!(parse_u32("metric", "ten").is_err());
        assert!(parse_u8("tos", "256").is_err());
        assert_eq!(parse_table("table", "main").unwrap(), 254);
        assert_eq!(parse_table("table", "local").unwrap(), 255);
        assert_eq!(parse_table("table", "1000").unwrap(), 1000);
        assert!(parse_table("table", "no-such-table-name-xyz").is_err());
        assert_eq!(parse_protocol("proto", "keepalived").unwrap(), 18);
        assert_eq!(parse_protocol("proto", "static").unwrap(), 4);
        assert_eq!(parse_protocol("proto", "99").unwrap(), 99);
        assert!(parse_protocol("proto", "300").is_err());
        assert_eq!(parse_scope("scope", "host").unwrap(), 254);
        assert_eq!(parse_scope("scope", "link").unwrap(), 253);
        assert_eq!(parse_scope("scope", "global").unwrap(), 0);
        assert!(parse_scope("scope", "planet").is_err());
    }
}
