//! Policy-routing rules of keepalived's `virtual_rules`: the iproute2 words, the spec they parse
//! to, and idempotent add and delete.

use crate::error::{ParseError, Result};
use crate::netlink::{is_errno, Netlink};
use crate::route::looks_like_address;
use crate::words::{
    note_family, parse_prefix, parse_protocol, parse_table, parse_u32, parse_u8, set_once, Family,
    Prefix, Words,
};
use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::route::RouteProtocol;
use netlink_packet_route::rule::{
    RuleAction as NlAction, RuleAttribute, RuleFlags, RuleMessage, RulePortRange, RuleUidRange,
};
use netlink_packet_route::{IpProtocol, RouteNetlinkMessage};
use std::fmt;
use std::net::IpAddr;

/// What a matching packet gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleAction {
    /// `table N` / `lookup N`.
    Table(u32),
    /// `goto PRIORITY`.
    Goto(u32),
    Nop,
    Blackhole,
    Unreachable,
    Prohibit,
}

/// One rule, as parsed from `virtual_rules` words.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuleSpec {
    pub family: Option<Family>,
    /// `None`: `from all`.
    pub from: Option<Prefix>,
    /// `None`: `to all`.
    pub to: Option<Prefix>,
    /// `not`: invert the selector.
    pub not: bool,
    pub tos: Option<u8>,
    pub fwmark: Option<u32>,
    pub fwmask: Option<u32>,
    /// `iif`/`dev`.
    pub iif: Option<String>,
    pub oif: Option<String>,
    /// `priority`/`pref`/`preference`/`order`.
    pub priority: Option<u32>,
    /// `table main` when adding and none given.
    pub action: Option<RuleAction>,
    pub suppress_prefixlength: Option<u32>,
    pub suppress_ifgroup: Option<u32>,
    pub protocol: Option<u8>,
    pub ipproto: Option<u8>,
    pub sport: Option<(u16, u16)>,
    pub dport: Option<(u16, u16)>,
    pub uidrange: Option<(u32, u32)>,
    pub l3mdev: bool,
    /// keepalived's `no_track`.
    pub no_track: bool,
    /// keepalived's `track_group NAME`.
    pub track_group: Option<String>,
}

impl RuleSpec {
    /// The family of its addresses, or given with `inet`/`inet6`; IPv4 otherwise.
    pub fn family(&self) -> Family {
        self.family.unwrap_or(Family::V4)
    }

    /// The rule message to add (`delete == false`) or delete it. Pure: this is what is sent.
    pub(crate) fn to_message(&self, delete: bool) -> RuleMessage {
        let mut m = RuleMessage::default();
        let h = &mut m.header;
        h.family = self.family().netlink();
        h.src_len = self.from.map(|p| p.len).unwrap_or(0);
        h.dst_len = self.to.map(|p| p.len).unwrap_or(0);
        h.tos = self.tos.unwrap_or(0);
        if self.not {
            h.flags |= RuleFlags::Invert;
        }
        let action = match (self.action, delete) {
            (Some(a), _) => Some(a),
            (None, false) => Some(RuleAction::Table(254)),
            (None, true) => None,
        };
        let mut table = None;
        h.action = match action {
            None => NlAction::Unspec,
            Some(RuleAction::Table(t)) => {
                table = Some(t);
                NlAction::ToTable
            }
            Some(RuleAction::Goto(_)) => NlAction::Goto,
            Some(RuleAction::Nop) => NlAction::Nop,
            Some(RuleAction::Blackhole) => NlAction::Blackhole,
            Some(RuleAction::Unreachable) => NlAction::Unreachable,
            Some(RuleAction::Prohibit) => NlAction::Prohibit,
        };
        if let Some(t) = table {
            h.table = if t < 256 { t as u8 } else { 0 };
        }
        let a = &mut m.attributes;
        if let Some(p) = self.from {
            a.push(RuleAttribute::Source(p.addr));
        }
        if let Some(p) = self.to {
            a.push(RuleAttribute::Destination(p.addr));
        }
        if let Some(p) = self.priority {
            a.push(RuleAttribute::Priority(p));
        }
        if let Some(t) = table {
            if t >= 256 {
                a.push(RuleAttribute::Table(t));
            }
        }
        if let Some(RuleAction::Goto(g)) = action {
            a.push(RuleAttribute::Goto(g));
        }
        if let Some(v) = self.fwmark {
            a.push(RuleAttribute::FwMark(v));
        }
        if let Some(v) = self.fwmask {
            a.push(RuleAttribute::FwMask(v));
        }
        if let Some(v) = &self.iif {
            a.push(RuleAttribute::Iifname(v.clone()));
        }
        if let Some(v) = &self.oif {
            a.push(RuleAttribute::Oifname(v.clone()));
        }
        if let Some(v) = self.suppress_prefixlength {
            a.push(RuleAttribute::SuppressPrefixLen(v));
        }
        if let Some(v) = self.suppress_ifgroup {
            a.push(RuleAttribute::SuppressIfGroup(v));
        }
        if let Some(v) = self.protocol {
            a.push(RuleAttribute::Protocol(RouteProtocol::from(v)));
        }
        if let Some(v) = self.ipproto {
            a.push(RuleAttribute::IpProtocol(IpProtocol::from(v)));
        }
        if let Some((start, end)) = self.sport {
            a.push(RuleAttribute::SourcePortRange(RulePortRange { start, end }));
        }
        if let Some((start, end)) = self.dport {
            a.push(RuleAttribute::DestinationPortRange(RulePortRange {
                start,
                end,
            }));
        }
        if let Some((start, end)) = self.uidrange {
            a.push(RuleAttribute::UidRange(RuleUidRange { start, end }));
        }
        if self.l3mdev {
            a.push(RuleAttribute::L3MDev(true));
        }
        m
    }
}

impl fmt::Display for RuleSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.not {
            f.write_str("not ")?;
        }
        match self.from {
            Some(p) => write!(f, "from {p}")?,
            None => f.write_str("from all")?,
        }
        if let Some(p) = self.to {
            write!(f, " to {p}")?;
        }
        if let Some(v) = self.fwmark {
            write!(f, " fwmark {v:#x}")?;
            if let Some(m) = self.fwmask {
                write!(f, "/{m:#x}")?;
            }
        }
        if let Some(v) = &self.iif {
            write!(f, " iif {v}")?;
        }
        if let Some(v) = &self.oif {
            write!(f, " oif {v}")?;
        }
        if let Some(v) = self.priority {
            write!(f, " priority {v}")?;
        }
        match self.action {
            Some(RuleAction::Table(t)) => write!(f, " table {t}")?,
            Some(RuleAction::Goto(g)) => write!(f, " goto {g}")?,
            Some(RuleAction::Nop) => f.write_str(" nop")?,
            Some(RuleAction::Blackhole) => f.write_str(" blackhole")?,
            Some(RuleAction::Unreachable) => f.write_str(" unreachable")?,
            Some(RuleAction::Prohibit) => f.write_str(" prohibit")?,
            None => {}
        }
        Ok(())
    }
}

fn parse_port_range(keyword: &str, v: &str) -> Result<(u16, u16), ParseError> {
    let bad = || ParseError::invalid_hint(keyword, v, "expected PORT or PORT-PORT");
    let (a, b) = match v.split_once('-') {
        Some((a, b)) => (a, b),
        None => (v, v),
    };
    let a: u16 = a.parse().map_err(|_| bad())?;
    let b: u16 = b.parse().map_err(|_| bad())?;
    if a > b {
        return Err(bad());
    }
    Ok((a, b))
}

fn parse_ipproto(keyword: &str, v: &str) -> Result<u8, ParseError> {
    Ok(match v {
        "icmp" => 1,
        "tcp" => 6,
        "udp" => 17,
        "gre" => 47,
        "esp" => 50,
        "ah" => 51,
        "ipv6-icmp" | "icmpv6" => 58,
        "sctp" => 132,
        _ => parse_u8(keyword, v)?,
    })
}

/// Parses the words of one `virtual_rules` line (iproute2's `ip rule` syntax plus keepalived's
/// `no_track` and `track_group`).
///
/// Covered: `inet|inet6`, `not`, `from PREFIX|all`, `to PREFIX|all`, `tos|dsfield N`,
/// `fwmark N[/M]`, `iif|dev IF`, `oif IF`, `priority|pref|preference|order N`,
/// `table|lookup ID`, `goto N`, `nop`, `blackhole`, `unreachable`, `prohibit` (also as
/// `type X`), `suppress_prefixlength|sup_pl N`, `suppress_ifgroup|sup_group N`,
/// `protocol P`, `ipproto P`, `sport P[-P]`, `dport P[-P]`, `uidrange A-B`, `l3mdev`.
pub fn parse_rule(words: &[String]) -> Result<RuleSpec, ParseError> {
    if words.is_empty() {
        return Err(ParseError::Empty);
    }
    let mut r = RuleSpec::default();
    let mut family: Option<Family> = None;
    let mut w = Words::new(words);
    while let Some(word) = w.next_word() {
        match word {
            "inet" | "-4" => note_family(&mut family, Family::V4, word)?,
            "inet6" | "-6" => note_family(&mut family, Family::V6, word)?,
            "not" => r.not = true,
            "from" | "to" => {
                let v = w.value(word)?;
                let p = if matches!(v, "all" | "any" | "default") {
                    None
                } else {
                    let p = parse_prefix(word, v)?;
                    note_family(&mut family, p.family(), word)?;
                    Some(p)
                };
                let slot = if word == "from" {
                    &mut r.from
                } else {
                    &mut r.to
                };
                if let Some(p) = p {
                    set_once(slot, p, word)?;
                }
            }
            "tos" | "dsfield" => {
                let v = w.value(word)?;
                set_once(&mut r.tos, parse_u8(word, v)?, "tos")?;
            }
            "fwmark" => {
                let v = w.value(word)?;
                let (mark, mask) = match v.split_once('/') {
                    Some((a, b)) => (parse_u32(word, a)?, Some(parse_u32(word, b)?)),
                    None => (parse_u32(word, v)?, None),
                };
                set_once(&mut r.fwmark, mark, word)?;
                r.fwmask = mask;
            }
            "iif" | "dev" => {
                let v = w.value(word)?;
                set_once(&mut r.iif, v.to_string(), "iif")?;
            }
            "oif" => {
                let v = w.value(word)?;
                set_once(&mut r.oif, v.to_string(), "oif")?;
            }
            "priority" | "pref" | "preference" | "order" => {
                let v = w.value(word)?;
                set_once(&mut r.priority, parse_u32(word, v)?, "priority")?;
            }
            "table" | "lookup" => {
                let v = w.value(word)?;
                let t = parse_table(word, v)?;
                set_once(&mut r.action, RuleAction::Table(t), "action")?;
            }
            "goto" => {
                let v = w.value(word)?;
                set_once(
                    &mut r.action,
                    RuleAction::Goto(parse_u32(word, v)?),
                    "action",
                )?;
            }
            "type" => {
                let v = w.value(word)?;
                let a = match v {
                    "nop" => RuleAction::Nop,
                    "blackhole" => RuleAction::Blackhole,
                    "unreachable" => RuleAction::Unreachable,
                    "prohibit" => RuleAction::Prohibit,
                    _ => return Err(ParseError::invalid(word, v)),
                };
                set_once(&mut r.action, a, "action")?;
            }
            "nop" => set_once(&mut r.action, RuleAction::Nop, "action")?,
            "blackhole" => set_once(&mut r.action, RuleAction::Blackhole, "action")?,
            "unreachable" => set_once(&mut r.action, RuleAction::Unreachable, "action")?,
            "prohibit" => set_once(&mut r.action, RuleAction::Prohibit, "action")?,
            "suppress_prefixlength" | "sup_pl" => {
                let v = w.value(word)?;
                set_once(&mut r.suppress_prefixlength, parse_u32(word, v)?, word)?;
            }
            "suppress_ifgroup" | "sup_group" => {
                let v = w.value(word)?;
                set_once(&mut r.suppress_ifgroup, parse_u32(word, v)?, word)?;
            }
            "protocol" | "proto" => {
                let v = w.value(word)?;
                set_once(&mut r.protocol, parse_protocol(word, v)?, "protocol")?;
            }
            "ipproto" => {
                let v = w.value(word)?;
                set_once(&mut r.ipproto, parse_ipproto(word, v)?, word)?;
            }
            "sport" => {
                let v = w.value(word)?;
                set_once(&mut r.sport, parse_port_range(word, v)?, word)?;
            }
            "dport" => {
                let v = w.value(word)?;
                set_once(&mut r.dport, parse_port_range(word, v)?, word)?;
            }
            "uidrange" => {
                let v = w.value(word)?;
                let bad = || ParseError::invalid_hint(word, v, "expected UID-UID");
                let (a, b) = v.split_once('-').ok_or_else(bad)?;
                let a: u32 = a.parse().map_err(|_| bad())?;
                let b: u32 = b.parse().map_err(|_| bad())?;
                set_once(&mut r.uidrange, (a, b), word)?;
            }
            "l3mdev" => r.l3mdev = true,
            "no_track" => r.no_track = true,
            "track_group" => {
                let v = w.value(word)?;
                set_once(&mut r.track_group, v.to_string(), word)?;
            }
            "realms" | "tun_id" | "tunnel-id" | "nat" | "map-to" => {
                return Err(ParseError::Unsupported(format!("rule option {word:?}")))
            }
            _ if looks_like_address(word) => {
                return Err(ParseError::invalid_hint(
                    "rule",
                    word,
                    "an address needs `from` or `to` before it",
                ))
            }
            _ => return Err(ParseError::Unknown(word.to_string())),
        }
    }
    if r.fwmask.is_some() && r.fwmark.is_none() {
        return Err(ParseError::Missing("fwmark".into()));
    }
    r.family = family;
    Ok(r)
}

/// The fields that make two rules the same rule, normalised the way the kernel dumps them.
#[derive(Debug, PartialEq, Eq)]
struct RuleKey {
    family: u8,
    src: Option<(IpAddr, u8)>,
    dst: Option<(IpAddr, u8)>,
    tos: u8,
    action: u8,
    table: u32,
    invert: bool,
    goto: Option<u32>,
    mark: Option<(u32, u32)>,
    iif: Option<String>,
    oif: Option<String>,
    suppress_prefixlen: Option<u32>,
    suppress_ifgroup: Option<u32>,
    ipproto: Option<u8>,
    sport: Option<(u16, u16)>,
    dport: Option<(u16, u16)>,
    uid: Option<(u32, u32)>,
    l3mdev: bool,
}

fn key_of(m: &RuleMessage) -> (RuleKey, Option<u32>, Option<u8>) {
    let h = &m.header;
    let mut k = RuleKey {
        family: u8::from(h.family),
        src: None,
        dst: None,
        tos: h.tos,
        action: u8::from(h.action),
        table: u32::from(h.table),
        invert: h.flags.contains(RuleFlags::Invert),
        goto: None,
        mark: None,
        iif: None,
        oif: None,
        suppress_prefixlen: None,
        suppress_ifgroup: None,
        ipproto: None,
        sport: None,
        dport: None,
        uid: None,
        l3mdev: false,
    };
    let mut prio = None;
    let mut proto = None;
    let (mut mark, mut mask) = (0u32, None);
    for a in &m.attributes {
        match a {
            RuleAttribute::Source(ip) => k.src = Some((*ip, h.src_len)),
            RuleAttribute::Destination(ip) => k.dst = Some((*ip, h.dst_len)),
            RuleAttribute::Priority(p) => prio = Some(*p),
            RuleAttribute::Table(t) => k.table = *t,
            RuleAttribute::Goto(g) => k.goto = Some(*g),
            RuleAttribute::FwMark(v) => mark = *v,
            RuleAttribute::FwMask(v) => mask = Some(*v),
            RuleAttribute::Iifname(s) => k.iif = Some(s.clone()),
            RuleAttribute::Oifname(s) => k.oif = Some(s.clone()),
            RuleAttribute::SuppressPrefixLen(v) if *v != u32::MAX => {
                k.suppress_prefixlen = Some(*v)
            }
            RuleAttribute::SuppressIfGroup(v) if *v != u32::MAX => k.suppress_ifgroup = Some(*v),
            RuleAttribute::IpProtocol(p) => k.ipproto = Some(u8::from(*p)),
            RuleAttribute::SourcePortRange(p) => k.sport = Some((p.start, p.end)),
            RuleAttribute::DestinationPortRange(p) => k.dport = Some((p.start, p.end)),
            RuleAttribute::UidRange(u) if !(u.start == 0 && u.end == u32::MAX) => {
                k.uid = Some((u.start, u.end))
            }
            RuleAttribute::L3MDev(b) => k.l3mdev = *b,
            RuleAttribute::Protocol(p) => proto = Some(u8::from(*p)),
            _ => {}
        }
    }
    if mark != 0 || mask.is_some_and(|m| m != 0) {
        // The kernel stores a mark without mask as mask 0xffffffff.
        k.mark = Some((mark, mask.unwrap_or(u32::MAX)));
    }
    if k.src.is_some_and(|(_, l)| l == 0) {
        k.src = None;
    }
    if k.dst.is_some_and(|(_, l)| l == 0) {
        k.dst = None;
    }
    (k, prio, proto)
}

/// Whether the dumped rule `have` is the rule `want` describes (priority and protocol compared
/// only when `want` gives them).
fn same_rule(want: &RuleMessage, have: &RuleMessage) -> bool {
    let (wk, wp, wproto) = key_of(want);
    let (hk, hp, hproto) = key_of(have);
    wk == hk && (wp.is_none() || wp == hp) && (wproto.is_none() || wproto == hproto)
}

impl Netlink {
    async fn find_rule(&self, want: &RuleMessage, family: Family) -> Result<Option<RuleMessage>> {
        let mut q = RuleMessage::default();
        q.header.family = family.netlink();
        let op = || format!("dump {family} rules");
        let replies = self.dump(RouteNetlinkMessage::GetRule(q), &op).await?;
        Ok(replies.into_iter().find_map(|r| match r {
            RouteNetlinkMessage::NewRule(m) if same_rule(want, &m) => Some(m),
            _ => None,
        }))
    }

    /// Adds a rule. `Ok(false)` when the same rule is already there (found in a dump, or
    /// `EEXIST`).
    pub async fn add_rule(&self, r: &RuleSpec) -> Result<bool> {
        let op = || format!("add rule {r}");
        let msg = r.to_message(false);
        if self.find_rule(&msg, r.family()).await?.is_some() {
            return Ok(false);
        }
        match self
            .request(
                RouteNetlinkMessage::NewRule(msg),
                NLM_F_CREATE | NLM_F_EXCL,
                &op,
            )
            .await
        {
            Ok(_) => {
                tracing::debug!(target: "netif", "added rule {r}");
                Ok(true)
            }
            Err(e) if is_errno(&e, &[libc::EEXIST]) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Deletes the rule that matches the spec exactly (a wider match is never deleted).
    /// `Ok(false)` when there is none.
    pub async fn del_rule(&self, r: &RuleSpec) -> Result<bool> {
        let op = || format!("delete rule {r}");
        let want = r.to_message(false);
        let Some(found) = self.find_rule(&want, r.family()).await? else {
            return Ok(false);
        };
        let mut msg = r.to_message(true);
        // Pin the exact rule by its priority.
        let prio = key_of(&found).1;
        if let Some(p) = prio {
            msg.attributes
                .retain(|a| !matches!(a, RuleAttribute::Priority(_)));
            msg.attributes.push(RuleAttribute::Priority(p));
        }
        if want.header.action != NlAction::Unspec {
            msg.header.action = want.header.action;
            msg.header.table = want.header.table;
            if let Some(t) = want.attributes.iter().find_map(|a| match a {
                RuleAttribute::Table(t) => Some(*t),
                _ => None,
            }) {
                msg.attributes.push(RuleAttribute::Table(t));
            }
        }
        match self
            .request(RouteNetlinkMessage::DelRule(msg), 0, &op)
            .await
        {
            Ok(_) => {
                tracing::debug!(target: "netif", "deleted rule {r}");
                Ok(true)
            }
            Err(e) if is_errno(&e, &[libc::ENOENT, libc::ESRCH]) => Ok(false),
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

    fn p(s: &str) -> RuleSpec {
        parse_rule(&w(s)).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn keepalived_sample_rules() {
        let r = p("from 192.168.2.0/24 table 1");
        assert_eq!(r.from.unwrap().to_string(), "192.168.2.0/24");
        assert_eq!(r.action, Some(RuleAction::Table(1)));
        assert_eq!(r.family(), Family::V4);

        let r = p("to 192.168.2.0/24 lookup 2 priority 100");
        assert_eq!(r.to.unwrap().len, 24);
        assert_eq!(r.priority, Some(100));

        let r = p("from all fwmark 0x10/0xff table main pref 32000 iif eth0 oif eth1");
        assert_eq!(r.from, None);
        assert_eq!(r.fwmark, Some(0x10));
        assert_eq!(r.fwmask, Some(0xff));
        assert_eq!(r.action, Some(RuleAction::Table(254)));
        assert_eq!(r.priority, Some(32000));
        assert_eq!(r.iif.as_deref(), Some("eth0"));
        assert_eq!(r.oif.as_deref(), Some("eth1"));

        let r = p("inet6 fwmark 3 table 100 no_track");
        assert_eq!(r.family(), Family::V6);
        assert!(r.no_track);
        let r = p("from 2001:db8::/32 blackhole");
        assert_eq!(r.family(), Family::V6);
        assert_eq!(r.action, Some(RuleAction::Blackhole));
        let r = p("not from 10.0.0.0/8 goto 1000 order 5");
        assert!(r.not);
        assert_eq!(r.action, Some(RuleAction::Goto(1000)));
        assert_eq!(r.priority, Some(5));
        let r =
            p("from 10.0.0.0/8 ipproto tcp dport 80-90 sport 1024 uidrange 100-200 type prohibit");
        assert_eq!(r.ipproto, Some(6));
        assert_eq!(r.dport, Some((80, 90)));
        assert_eq!(r.sport, Some((1024, 1024)));
        assert_eq!(r.uidrange, Some((100, 200)));
        assert_eq!(r.action, Some(RuleAction::Prohibit));
    }

    #[test]
    fn rule_errors() {
        let e = |s: &str| parse_rule(&w(s)).unwrap_err();
        assert_eq!(e(""), ParseError::Empty);
        assert_eq!(
            e("from 10.0.0.0/8 jump 3"),
            ParseError::Unknown("jump".into())
        );
        assert_eq!(e("from"), ParseError::Missing("from".into()));
        assert!(matches!(
            e("from 10.0.0.0/8 to 2001:db8::/32"),
            ParseError::Family(_)
        ));
        assert!(matches!(e("inet6 from 10.0.0.0/8"), ParseError::Family(_)));
        assert!(matches!(
            e("from 10.0.0.0/8 table 1 lookup 2"),
            ParseError::Duplicate(_)
        ));
        assert!(matches!(e("fwmark x table 1"), ParseError::Invalid { .. }));
        assert!(matches!(
            e("10.0.0.0/8 table 1"),
            ParseError::Invalid { .. }
        ));
        assert!(matches!(
            e("dport 90-80 table 1"),
            ParseError::Invalid { .. }
        ));
        assert!(matches!(e("type frob"), ParseError::Invalid { .. }));
    }

    #[test]
    fn rule_messages() {
        let m = p("from 10.1.0.0/16 table 1000 priority 50 fwmark 7").to_message(false);
        assert_eq!(m.header.src_len, 16);
        assert_eq!(m.header.action, NlAction::ToTable);
        assert_eq!(m.header.table, 0);
        assert!(m.attributes.contains(&RuleAttribute::Table(1000)));
        assert!(m.attributes.contains(&RuleAttribute::Priority(50)));
        assert!(m.attributes.contains(&RuleAttribute::FwMark(7)));

        // No action: table main on add, any on delete.
        let m = p("from 10.1.0.0/16").to_message(false);
        assert_eq!(m.header.action, NlAction::ToTable);
        assert_eq!(m.header.table, 254);
        let m = p("from 10.1.0.0/16").to_message(true);
        assert_eq!(m.header.action, NlAction::Unspec);
        assert_eq!(m.header.table, 0);

        let m = p("not to 10.2.0.0/16 goto 99").to_message(false);
        assert!(m.header.flags.contains(RuleFlags::Invert));
        assert_eq!(m.header.action, NlAction::Goto);
        assert!(m.attributes.contains(&RuleAttribute::Goto(99)));
    }

    #[test]
    fn matching_dumped_rules() {
        let want = p("from 10.1.0.0/16 fwmark 7 table 1000").to_message(false);
        // What the kernel dumps back: table as attribute, mask filled in, priority, protocol,
        // suppress_prefixlength -1.
        let mut have = want.clone();
        have.header.table = 252; // RT_TABLE_COMPAT
        have.attributes.push(RuleAttribute::FwMask(u32::MAX));
        have.attributes.push(RuleAttribute::Priority(32765));
        have.attributes
            .push(RuleAttribute::Protocol(RouteProtocol::from(3)));
        have.attributes
            .push(RuleAttribute::SuppressPrefixLen(u32::MAX));
        assert!(same_rule(&want, &have));
        let other = p("from 10.1.0.0/16 fwmark 8 table 1000").to_message(false);
        assert!(!same_rule(&other, &have));
        let with_prio = p("from 10.1.0.0/16 fwmark 7 table 1000 pref 10").to_message(false);
        assert!(!same_rule(&with_prio, &have));
    }
}
