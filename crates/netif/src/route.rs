//! Routes of keepalived's `virtual_routes` / `static_routes`: the iproute2 words, the spec they
//! parse to, and idempotent add and delete.

use crate::error::{Error, ParseError, Result};
use crate::netlink::{is_errno, Netlink};
use crate::words::{
    note_family, parse_ip, parse_prefix, parse_protocol, parse_scope, parse_table, parse_u32,
    parse_u8, set_once, Family, Prefix, Words,
};
use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteHeader, RouteMessage, RouteMetric,
    RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::RouteNetlinkMessage;
use std::fmt;
use std::net::IpAddr;

/// The protocol keepalived marks its routes with (`RTPROT_KEEPALIVED`), used when the line
/// names none.
pub const RTPROT_KEEPALIVED: u8 = 18;

/// The route's type (`rtm_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RouteKind {
    #[default]
    Unicast,
    Local,
    Broadcast,
    Anycast,
    Multicast,
    Blackhole,
    Unreachable,
    Prohibit,
    Throw,
}

impl RouteKind {
    fn from_word(w: &str) -> Option<RouteKind> {
        Some(match w {
            "unicast" => RouteKind::Unicast,
            "local" => RouteKind::Local,
            "broadcast" => RouteKind::Broadcast,
            "anycast" => RouteKind::Anycast,
            "multicast" => RouteKind::Multicast,
            "blackhole" => RouteKind::Blackhole,
            "unreachable" => RouteKind::Unreachable,
            "prohibit" => RouteKind::Prohibit,
            "throw" => RouteKind::Throw,
            _ => return None,
        })
    }

    fn word(self) -> &'static str {
        match self {
            RouteKind::Unicast => "unicast",
            RouteKind::Local => "local",
            RouteKind::Broadcast => "broadcast",
            RouteKind::Anycast => "anycast",
            RouteKind::Multicast => "multicast",
            RouteKind::Blackhole => "blackhole",
            RouteKind::Unreachable => "unreachable",
            RouteKind::Prohibit => "prohibit",
            RouteKind::Throw => "throw",
        }
    }

    fn netlink(self) -> RouteType {
        match self {
            RouteKind::Unicast => RouteType::Unicast,
            RouteKind::Local => RouteType::Local,
            RouteKind::Broadcast => RouteType::Broadcast,
            RouteKind::Anycast => RouteType::Anycast,
            RouteKind::Multicast => RouteType::Multicast,
            RouteKind::Blackhole => RouteType::BlackHole,
            RouteKind::Unreachable => RouteType::Unreachable,
            RouteKind::Prohibit => RouteType::Prohibit,
            RouteKind::Throw => RouteType::Throw,
        }
    }

    /// Types that forward nowhere take no gateway or device.
    fn is_reject(self) -> bool {
        matches!(
            self,
            RouteKind::Blackhole | RouteKind::Unreachable | RouteKind::Prohibit | RouteKind::Throw
        )
    }
}

/// One route, as parsed from `virtual_routes` / `static_routes` words.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RouteSpec {
    pub family: Option<Family>,
    /// Set when the type was given explicitly (`blackhole 10.0.0.0/8`).
    pub kind: Option<RouteKind>,
    /// `None` is the default route.
    pub dst: Option<Prefix>,
    /// Source prefix (`from`, IPv6 source routing).
    pub from: Option<Prefix>,
    /// Gateway (`via`).
    pub via: Option<IpAddr>,
    /// Output interface (`dev`/`oif`).
    pub dev: Option<String>,
    /// Preferred source address (`src`).
    pub src: Option<IpAddr>,
    /// Routing table, `main` (254) when `None`.
    pub table: Option<u32>,
    /// `metric`/`priority`/`preference`.
    pub metric: Option<u32>,
    pub scope: Option<u8>,
    /// `proto`; keepalived's 18 when `None`.
    pub protocol: Option<u8>,
    pub tos: Option<u8>,
    pub onlink: bool,
    pub mtu: Option<u32>,
    pub mtu_lock: bool,
    pub advmss: Option<u32>,
    pub hoplimit: Option<u32>,
    pub initcwnd: Option<u32>,
    pub initrwnd: Option<u32>,
    pub window: Option<u32>,
    /// keepalived's `no_track` (the route's loss does not put the instance in FAULT).
    pub no_track: bool,
    /// keepalived's `track_group NAME`.
    pub track_group: Option<String>,
}

impl RouteSpec {
    /// The family: the one of its addresses, or given with `inet`/`inet6`/`-4`/`-6`; IPv4
    /// otherwise.
    pub fn family(&self) -> Family {
        self.family.unwrap_or(Family::V4)
    }

    /// The route type, `unicast` unless given.
    pub fn kind(&self) -> RouteKind {
        self.kind.unwrap_or_default()
    }

    /// The routing table, `main` unless given.
    pub fn table(&self) -> u32 {
        self.table.unwrap_or(254)
    }

    /// The route message to add (`delete == false`) or delete it, `oif` being the index of
    /// `dev`. Pure: this is what is sent.
    pub(crate) fn to_message(&self, oif: Option<u32>, delete: bool) -> RouteMessage {
        let family = self.family();
        let mut m = RouteMessage::default();
        let h = &mut m.header;
        h.address_family = family.netlink();
        h.destination_prefix_length = self.dst.map(|d| d.len).unwrap_or(0);
        h.source_prefix_length = self.from.map(|f| f.len).unwrap_or(0);
        h.tos = self.tos.unwrap_or(0);
        let table = self.table();
        h.table = if table < 256 {
            table as u8
        } else {
            RouteHeader::RT_TABLE_UNSPEC
        };
        h.protocol = RouteProtocol::from(self.protocol.unwrap_or(RTPROT_KEEPALIVED));
        if delete {
            // As iproute2: a scope and type not given match any (RT_SCOPE_NOWHERE, RTN_UNSPEC).
            h.scope = RouteScope::from(self.scope.unwrap_or(255));
            h.kind = self
                .kind
                .map(RouteKind::netlink)
                .unwrap_or(RouteType::Unspec);
        } else {
            let kind = self.kind();
            let default_scope = match kind {
                RouteKind::Local => 254,
                RouteKind::Broadcast | RouteKind::Multicast | RouteKind::Anycast => 253,
                RouteKind::Unicast if self.via.is_none() => 253,
                _ => 0,
            };
            h.scope = RouteScope::from(self.scope.unwrap_or(default_scope));
            h.kind = kind.netlink();
        }
        if self.onlink {
            h.flags |= RouteFlags::Onlink;
        }
        if let Some(d) = self.dst {
            m.attributes
                .push(RouteAttribute::Destination(RouteAddress::from(d.addr)));
        }
        if let Some(f) = self.from {
            m.attributes
                .push(RouteAttribute::Source(RouteAddress::from(f.addr)));
        }
        if let Some(s) = self.src {
            m.attributes
                .push(RouteAttribute::PrefSource(RouteAddress::from(s)));
        }
        if let Some(g) = self.via {
            m.attributes
                .push(RouteAttribute::Gateway(RouteAddress::from(g)));
        }
        if let Some(i) = oif {
            m.attributes.push(RouteAttribute::Oif(i));
        }
        if let Some(p) = self.metric {
            m.attributes.push(RouteAttribute::Priority(p));
        }
        if table >= 256 {
            m.attributes.push(RouteAttribute::Table(table));
        }
        let mut metrics = Vec::new();
        if let Some(v) = self.mtu {
            metrics.push(RouteMetric::Mtu(v));
            if self.mtu_lock {
                metrics.push(RouteMetric::Lock(1 << 2)); // 1 << RTAX_MTU
            }
        }
        if let Some(v) = self.window {
            metrics.push(RouteMetric::Window(v));
        }
        if let Some(v) = self.advmss {
            metrics.push(RouteMetric::Advmss(v));
        }
        if let Some(v) = self.hoplimit {
            metrics.push(RouteMetric::Hoplimit(v));
        }
        if let Some(v) = self.initcwnd {
            metrics.push(RouteMetric::InitCwnd(v));
        }
        if let Some(v) = self.initrwnd {
            metrics.push(RouteMetric::InitRwnd(v));
        }
        if !metrics.is_empty() && !delete {
            m.attributes.push(RouteAttribute::Metrics(metrics));
        }
        m
    }
}

impl fmt::Display for RouteSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(k) = self.kind {
            write!(f, "{} ", k.word())?;
        }
        match self.dst {
            Some(d) => write!(f, "{d}")?,
            None => f.write_str("default")?,
        }
        if let Some(p) = self.from {
            write!(f, " from {p}")?;
        }
        if let Some(g) = self.via {
            write!(f, " via {g}")?;
        }
        if let Some(d) = &self.dev {
            write!(f, " dev {d}")?;
        }
        if let Some(s) = self.src {
            write!(f, " src {s}")?;
        }
        if let Some(t) = self.table {
            write!(f, " table {t}")?;
        }
        if let Some(m) = self.metric {
            write!(f, " metric {m}")?;
        }
        if let Some(s) = self.scope {
            write!(f, " scope {s}")?;
        }
        if let Some(p) = self.protocol {
            write!(f, " proto {p}")?;
        }
        if self.onlink {
            f.write_str(" onlink")?;
        }
        Ok(())
    }
}

/// Parses the words of one `virtual_routes` / `static_routes` line (iproute2's `ip route`
/// syntax plus keepalived's `no_track` and `track_group`).
///
/// Covered: `[to] [TYPE] PREFIX|default|all|any`, types `unicast local broadcast anycast
/// multicast blackhole unreachable prohibit throw`, `from PREFIX`, `via [inet|inet6] ADDR` (and
/// keepalived's `gw`), `dev|oif IF`, `src ADDR`, `table|lookup ID`, `metric|priority|preference
/// N`, `scope S`, `proto|protocol P`, `tos|dsfield N`, `onlink`, `mtu [lock] N`, `advmss N`,
/// `hoplimit N`, `initcwnd N`, `initrwnd N`, `window N`, `inet`/`inet6`/`-4`/`-6`.
pub fn parse_route(words: &[String]) -> Result<RouteSpec, ParseError> {
    if words.is_empty() {
        return Err(ParseError::Empty);
    }
    let mut r = RouteSpec::default();
    let mut family: Option<Family> = None;
    let mut dst_seen = false;
    let mut w = Words::new(words);
    while let Some(word) = w.next_word() {
        match word {
            "inet" | "-4" => note_family(&mut family, Family::V4, word)?,
            "inet6" | "-6" => note_family(&mut family, Family::V6, word)?,
            "to" => {
                // `to [TYPE] PREFIX`
                let mut v = w.value("to")?;
                if let Some(k) = RouteKind::from_word(v) {
                    set_once(&mut r.kind, k, "route type")?;
                    v = w.value("to")?;
                }
                set_dst(&mut r, &mut family, &mut dst_seen, "to", v)?;
            }
            "from" => {
                let v = w.value("from")?;
                let p = parse_prefix("from", v)?;
                note_family(&mut family, p.family(), "from")?;
                set_once(&mut r.from, p, "from")?;
            }
            "via" | "gw" => {
                let mut v = w.value(word)?;
                if v == "inet" || v == "inet6" {
                    v = w.value(word)?;
                }
                let ip = parse_ip(word, v)?;
                note_family(&mut family, Family::of(&ip), word)?;
                set_once(&mut r.via, ip, "via")?;
            }
            "dev" | "oif" => {
                let v = w.value(word)?;
                set_once(&mut r.dev, v.to_string(), "dev")?;
            }
            "src" => {
                let v = w.value("src")?;
                let ip = parse_ip("src", v)?;
                note_family(&mut family, Family::of(&ip), "src")?;
                set_once(&mut r.src, ip, "src")?;
            }
            "table" | "lookup" => {
                let v = w.value(word)?;
                set_once(&mut r.table, parse_table(word, v)?, "table")?;
            }
            "metric" | "priority" | "preference" => {
                let v = w.value(word)?;
                set_once(&mut r.metric, parse_u32(word, v)?, "metric")?;
            }
            "scope" => {
                let v = w.value("scope")?;
                set_once(&mut r.scope, parse_scope("scope", v)?, "scope")?;
            }
            "proto" | "protocol" => {
                let v = w.value(word)?;
                set_once(&mut r.protocol, parse_protocol(word, v)?, "proto")?;
            }
            "tos" | "dsfield" => {
                let v = w.value(word)?;
                set_once(&mut r.tos, parse_u8(word, v)?, "tos")?;
            }
            "onlink" => r.onlink = true,
            "mtu" => {
                let mut v = w.value("mtu")?;
                if v == "lock" {
                    r.mtu_lock = true;
                    v = w.value("mtu")?;
                }
                set_once(&mut r.mtu, parse_u32("mtu", v)?, "mtu")?;
            }
            "advmss" => {
                let v = w.value(word)?;
                set_once(&mut r.advmss, parse_u32(word, v)?, word)?;
            }
            "hoplimit" => {
                let v = w.value(word)?;
                set_once(&mut r.hoplimit, parse_u32(word, v)?, word)?;
            }
            "initcwnd" => {
                let v = w.value(word)?;
                set_once(&mut r.initcwnd, parse_u32(word, v)?, word)?;
            }
            "initrwnd" => {
                let v = w.value(word)?;
                set_once(&mut r.initrwnd, parse_u32(word, v)?, word)?;
            }
            "window" => {
                let v = w.value(word)?;
                set_once(&mut r.window, parse_u32(word, v)?, word)?;
            }
            "no_track" => r.no_track = true,
            "track_group" => {
                let v = w.value(word)?;
                set_once(&mut r.track_group, v.to_string(), word)?;
            }
            "nexthop" => return Err(ParseError::Unsupported("multipath (nexthop)".into())),
            "encap" => return Err(ParseError::Unsupported("encap".into())),
            _ => {
                if let Some(k) = RouteKind::from_word(word) {
                    set_once(&mut r.kind, k, "route type")?;
                } else if looks_like_address(word) {
                    set_dst(&mut r, &mut family, &mut dst_seen, "destination", word)?;
                } else {
                    return Err(ParseError::Unknown(word.to_string()));
                }
            }
        }
    }
    if !dst_seen {
        return Err(ParseError::NoDestination);
    }
    if r.kind().is_reject() && r.via.is_some() {
        return Err(ParseError::invalid_hint(
            "via",
            &r.via.map(|v| v.to_string()).unwrap_or_default(),
            format!("a {} route has no gateway", r.kind().word()),
        ));
    }
    r.family = family;
    Ok(r)
}

/// A word that is meant as an address (so a parse failure is a bad value, not a bad keyword).
pub(crate) fn looks_like_address(word: &str) -> bool {
    matches!(word, "default" | "all" | "any")
        || word.contains(['.', ':', '/'])
        || word.chars().all(|c| c.is_ascii_digit())
}

fn set_dst(
    r: &mut RouteSpec,
    family: &mut Option<Family>,
    seen: &mut bool,
    keyword: &str,
    v: &str,
) -> Result<(), ParseError> {
    if *seen {
        return Err(ParseError::Duplicate("destination".into()));
    }
    *seen = true;
    if matches!(v, "default" | "all" | "any") {
        r.dst = None;
        return Ok(());
    }
    let p = parse_prefix(keyword, v)?;
    if p.has_host_bits() {
        return Err(ParseError::invalid_hint(
            keyword,
            v,
            "host bits set: the kernel refuses it (did you mean the network address?)",
        ));
    }
    note_family(family, p.family(), keyword)?;
    // 0.0.0.0/0 and ::/0 are the default route.
    r.dst = if p.len == 0 { None } else { Some(p) };
    Ok(())
}

impl Netlink {
    pub(crate) async fn resolve_dev(
        &self,
        dev: Option<&str>,
        op: &(dyn Fn() -> String + Sync),
    ) -> Result<Option<u32>> {
        match dev {
            None => Ok(None),
            Some(name) => match self.link_by_name(name).await? {
                Some(l) => Ok(Some(l.index)),
                None => Err(Error::NoSuchInterface {
                    op: op(),
                    name: name.to_string(),
                }),
            },
        }
    }

    /// Adds a route. `Ok(false)` when the same route is already there (`EEXIST`).
    pub async fn add_route(&self, r: &RouteSpec) -> Result<bool> {
        let op = || format!("add route {r}");
        let oif = self.resolve_dev(r.dev.as_deref(), &op).await?;
        let msg = r.to_message(oif, false);
        match self
            .request(
                RouteNetlinkMessage::NewRoute(msg),
                NLM_F_CREATE | NLM_F_EXCL,
                &op,
            )
            .await
        {
            Ok(_) => {
                tracing::debug!(target: "netif", "added route {r}");
                Ok(true)
            }
            Err(e) if is_errno(&e, &[libc::EEXIST]) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Deletes a route (only one with the spec's protocol, keepalived's 18 by default).
    /// `Ok(false)` when there is none (`ESRCH`), or when its device is gone.
    pub async fn del_route(&self, r: &RouteSpec) -> Result<bool> {
        let op = || format!("delete route {r}");
        let oif = match self.resolve_dev(r.dev.as_deref(), &op).await {
            Ok(i) => i,
            // No device, no route through it.
            Err(Error::NoSuchInterface { .. }) => return Ok(false),
            Err(e) => return Err(e),
        };
        let msg = r.to_message(oif, true);
        match self
            .request(RouteNetlinkMessage::DelRoute(msg), 0, &op)
            .await
        {
            Ok(_) => {
                tracing::debug!(target: "netif", "deleted route {r}");
                Ok(true)
            }
            Err(e) if is_errno(&e, &[libc::ESRCH, libc::ENOENT, libc::ENODEV]) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    fn p(s: &str) -> RouteSpec {
        parse_route(&w(s)).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn keepalived_sample_routes() {
        let r = p("src 192.168.100.1 to 192.168.109.0/24 via 192.168.200.254 dev eth1 table 1");
        assert_eq!(r.src, Some("192.168.100.1".parse().unwrap()));
        assert_eq!(r.dst.unwrap().to_string(), "192.168.109.0/24");
        assert_eq!(r.via, Some("192.168.200.254".parse().unwrap()));
        assert_eq!(r.dev.as_deref(), Some("eth1"));
        assert_eq!(r.table, Some(1));
        assert_eq!(r.family(), Family::V4);
        assert_eq!(r.kind(), RouteKind::Unicast);

        let r = p("blackhole 192.168.101.0/24");
        assert_eq!(r.kind, Some(RouteKind::Blackhole));
        assert_eq!(r.dst.unwrap().len, 24);

        let r = p("192.168.112.0/24 via 192.168.100.254 metric 10 scope global proto static");
        assert_eq!(r.metric, Some(10));
        assert_eq!(r.scope, Some(0));
        assert_eq!(r.protocol, Some(4));

        let r = p("to unreachable 10.3.0.0/16 table 20 no_track");
        assert_eq!(r.kind, Some(RouteKind::Unreachable));
        assert!(r.no_track);

        let r = p("prohibit 10.4.0.0/16");
        assert_eq!(r.kind, Some(RouteKind::Prohibit));
    }

    #[test]
    fn default_routes() {
        let r = p("default via 10.0.0.1");
        assert_eq!(r.dst, None);
        assert_eq!(r.via, Some("10.0.0.1".parse().unwrap()));
        let r = p("0.0.0.0/0 via 10.0.0.1 dev eth0 onlink");
        assert_eq!(r.dst, None);
        assert!(r.onlink);
        let r = p("default via inet6 fe80::1 dev eth0");
        assert_eq!(r.family(), Family::V6);
        let r = p("inet6 default dev eth0 metric 1024");
        assert_eq!(r.family(), Family::V6);
    }

    #[test]
    fn ipv6_and_names() {
        let r =
            p("2001:db8:1::/64 via 2001:db8::1 dev eth0 table main proto keepalived scope link");
        assert_eq!(r.family(), Family::V6);
        assert_eq!(r.table(), 254);
        assert_eq!(r.protocol, Some(18));
        assert_eq!(r.scope, Some(253));
        let r = p("10.9.0.0/16 dev eth0 lookup local scope host mtu lock 1400 advmss 1360");
        assert_eq!(r.table, Some(255));
        assert_eq!(r.scope, Some(254));
        assert_eq!(r.mtu, Some(1400));
        assert!(r.mtu_lock);
        assert_eq!(r.advmss, Some(1360));
        let r = p("10.9.0.0/16 dev eth0 table 1000 priority 7 tos 0x10 track_group g1");
        assert_eq!(r.table, Some(1000));
        assert_eq!(r.metric, Some(7));
        assert_eq!(r.tos, Some(0x10));
        assert_eq!(r.track_group.as_deref(), Some("g1"));
        let r = p("10.9.0.1 dev eth0");
        assert_eq!(r.dst.unwrap().len, 32);
    }

    #[test]
    fn route_errors() {
        let e = |s: &str| parse_route(&w(s)).unwrap_err();
        assert_eq!(e(""), ParseError::Empty);
        assert_eq!(
            e("10.0.0.0/8 frobnicate 3"),
            ParseError::Unknown("frobnicate".into())
        );
        assert_eq!(e("10.0.0.0/8 via"), ParseError::Missing("via".into()));
        assert!(matches!(
            e("10.0.0.0/8 metric ten"),
            ParseError::Invalid { .. }
        ));
        assert!(matches!(
            e("10.0.0.1/8 dev eth0"),
            ParseError::Invalid { .. }
        ));
        assert!(matches!(
            e("192.168.1.20.9 dev eth0"),
            ParseError::Invalid { .. }
        ));
        assert!(matches!(
            e("10.0.0.0/8 via 2001:db8::1"),
            ParseError::Family(_)
        ));
        assert!(matches!(
            e("10.0.0.0/8 20.0.0.0/8"),
            ParseError::Duplicate(_)
        ));
        assert!(matches!(
            e("10.0.0.0/8 table 1 table 2"),
            ParseError::Duplicate(_)
        ));
        assert_eq!(e("dev eth0 via 10.0.0.1"), ParseError::NoDestination);
        assert!(matches!(
            e("blackhole 10.0.0.0/8 via 10.0.0.1"),
            ParseError::Invalid { .. }
        ));
        assert!(matches!(
            e("10.0.0.0/8 nexthop via 10.0.0.1"),
            ParseError::Unsupported(_)
        ));
        assert!(matches!(
            e("10.0.0.0/8 scope planet"),
            ParseError::Invalid { .. }
        ));
    }

    #[test]
    fn route_messages() {
        let r = p("192.168.109.0/24 via 192.168.200.254 src 192.168.100.1 table 1000 metric 5");
        let m = r.to_message(Some(7), false);
        assert_eq!(m.header.destination_prefix_length, 24);
        assert_eq!(m.header.table, RouteHeader::RT_TABLE_UNSPEC);
        assert_eq!(m.header.protocol, RouteProtocol::KeepAlived);
        assert_eq!(m.header.scope, RouteScope::Universe);
        assert_eq!(m.header.kind, RouteType::Unicast);
        assert!(m.attributes.contains(&RouteAttribute::Table(1000)));
        assert!(m.attributes.contains(&RouteAttribute::Oif(7)));
        assert!(m.attributes.contains(&RouteAttribute::Priority(5)));
        assert!(m
            .attributes
            .contains(&RouteAttribute::Gateway(RouteAddress::Inet(
                "192.168.200.254".parse().unwrap()
            ))));
        assert!(m
            .attributes
            .contains(&RouteAttribute::PrefSource(RouteAddress::Inet(
                "192.168.100.1".parse().unwrap()
            ))));

        // No gateway: scope link, as iproute2.
        let m = p("10.1.0.0/16 dev eth0").to_message(Some(2), false);
        assert_eq!(m.header.scope, RouteScope::Link);
        assert_eq!(m.header.table, 254);

        // Delete: any scope, any type unless given.
        let m = p("10.1.0.0/16 dev eth0").to_message(Some(2), true);
        assert_eq!(m.header.scope, RouteScope::NoWhere);
        assert_eq!(m.header.kind, RouteType::Unspec);
        let m = p("blackhole 10.1.0.0/16").to_message(None, true);
        assert_eq!(m.header.kind, RouteType::BlackHole);

        // Default route: no destination attribute.
        let m = p("default via 10.0.0.1").to_message(None, false);
        assert_eq!(m.header.destination_prefix_length, 0);
        assert!(!m
            .attributes
            .iter()
            .any(|a| matches!(a, RouteAttribute::Destination(_))));
    }
}
