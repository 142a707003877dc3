use super::{check, walk, Item};
use crate::diag::{Code, Diagnostic};
use crate::model::*;
use crate::schema::BlockKind;
use crate::tree::Node;
use std::collections::BTreeMap;
use std::net::IpAddr;

pub(crate) fn ssl(node: &Node, d: &mut Vec<Diagnostic>) -> SslContext {
    let mut s = SslContext::default();
    walk(node.children(), BlockKind::Ssl, d, |it| match it.kw() {
        "password" => s.password = it.string(),
        "ca" => s.ca = it.string(),
        "certificate" => s.certificate = it.string(),
        "key" => s.key = it.string(),
        _ => it.not_implemented(),
    });
    s
}

fn family(it: &mut Item<'_>) -> Option<Family> {
    match it.peek().map(|t| t.text.as_str()) {
        Some("inet") => {
            it.next();
            Some(Family::Inet)
        }
        Some("inet6") => {
            it.next();
            Some(Family::Inet6)
        }
        _ => None,
    }
}

pub(crate) fn vs_group(it: &mut Item<'_>) -> Option<VirtualServerGroup> {
    let name = it.need("a group name")?.text.clone();
    let mut g = VirtualServerGroup {
        name,
        loc: it.loc(),
        members: Vec::new(),
    };
    walk(it.node.children(), BlockKind::List, it.d, |it| {
        let tok = &it.node.keyword;
        let loc = tok.loc;
        if tok.text == "fwmark" {
            if let Some(mark) = it.int(1, u32::MAX as i128) {
                let family = family(it);
                g.members.push(VsGroupMember::Fwmark { mark, family, loc });
            }
            return;
        }
        // ADDRESS, ADDRESS-LAST_PART, or ADDRESS/PREFIX, then an optional port
        let text = tok.text.as_str();
        let (first, last) = if let Some((a, b)) = text.rsplit_once('-') {
            let Some(first) = it.ip_of_str(a, loc) else {
                return;
            };
            let last = range_end(first, b);
            match last {
                Some(l) => (first, l),
                None => {
                    it.emit(
                        Code::InvalidAddress,
                        loc,
                        format!("`{text}` is not a valid address range"),
                        "write a.b.c.d-e (the last part of the last address)",
                    );
                    return;
                }
            }
        } else if let Some((a, p)) = text.split_once('/') {
            let Some(first) = it.ip_of_str(a, loc) else {
                return;
            };
            // keepalived 2.2.7 skips /0 ("Invalid netmask") and an address with host bits
            // set ("Address mask bits not empty")
            let last = p
                .parse::<u8>()
                .ok()
                .filter(|&n| n > 0 && host_bits_clear(first, n))
                .and_then(|n| prefix_last(first, n));
            match last {
                Some(l) => (first, l),
                None => {
                    it.emit(
                        Code::OutOfRange,
                        loc,
                        format!("`/{p}` is not a valid prefix for {first}"),
                        "1-32 for IPv4, 1-128 for IPv6, with the address's host bits zero",
                    );
                    return;
                }
            }
        } else {
            let Some(ip) = it.ip_of(tok) else { return };
            (ip, ip)
        };
        let port = match it.next() {
            Some(t) => match it.int_of(t, 0, 65535) {
                Some(p) => p,
                None => return,
            },
            None => 0,
        };
        g.members.push(VsGroupMember::Range {
            first,
            last,
            port,
            loc,
        });
    });
    Some(g)
}

fn range_end(first: std::net::IpAddr, last_part: &str) -> Option<std::net::IpAddr> {
    use std::net::IpAddr;
    match first {
        IpAddr::V4(a) => {
            let n: u8 = last_part.parse().ok()?;
            let o = a.octets();
            (n >= o[3]).then(|| IpAddr::from([o[0], o[1], o[2], n]))
        }
        IpAddr::V6(a) => {
            let n = u16::from_str_radix(last_part, 16).ok()?;
            let mut s = a.segments();
            (n >= s[7]).then(|| {
                s[7] = n;
                IpAddr::from(s)
            })
        }
    }
}

fn host_bits_clear(a: std::net::IpAddr, p: u8) -> bool {
    match a {
        std::net::IpAddr::V4(a) => p >= 32 || u32::from(a) & (u32::MAX >> p) == 0,
        std::net::IpAddr::V6(a) => p >= 128 || u128::from(a) & (u128::MAX >> p) == 0,
    }
}

fn prefix_last(first: std::net::IpAddr, p: u8) -> Option<std::net::IpAddr> {
    use std::net::IpAddr;
    match first {
        IpAddr::V4(a) if p <= 32 => {
            let host = if p == 32 { 0 } else { u32::MAX >> p };
            Some(IpAddr::from(std::net::Ipv4Addr::from(u32::from(a) | host)))
        }
        IpAddr::V6(a) if p <= 128 => {
            let host = if p == 128 { 0 } else { u128::MAX >> p };
            Some(IpAddr::from(std::net::Ipv6Addr::from(u128::from(a) | host)))
        }
        _ => None,
    }
}

impl Item<'_> {
    pub(crate) fn ip_of_str(&mut self, s: &str, loc: crate::diag::Loc) -> Option<std::net::IpAddr> {
        match super::item::parse_ip(s) {
            Some(ip) => Some(ip),
            None => {
                self.emit(
                    Code::InvalidAddress,
                    loc,
                    format!("`{s}` is not a valid IP address"),
                    "write an IPv4 (a.b.c.d) or IPv6 address",
                );
                None
            }
        }
    }
}

/// `NAT|DR|TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]`
/// `unknown`: what keepalived 2.2.7 does with a method it does not know here (it compares the
/// names case-sensitively; lvsd reads `dr` as DR and says so).
pub(crate) fn lvs_method(it: &mut Item<'_>, unknown: &str) -> Option<LvsMethod> {
    let tok = it.need("a forwarding method (NAT, DR or TUN)")?;
    let text = tok.text.replace(['\u{2013}', '\u{2014}'], "-");
    let m = match text.to_ascii_uppercase().as_str() {
        "NAT" | "MASQ" => ForwardMethod::Nat,
        "DR" | "ROUTE" | "-G" => ForwardMethod::Dr,
        "TUN" | "TUNNEL" => ForwardMethod::Tun,
        _ => {
            let fixes =
                crate::parse::item::fix_alternatives(Some(&tok.text), &["NAT", "DR", "TUN"]);
            it.emit(
                Code::Ignored,
                tok.loc,
                format!(
                    "`{}` is not a forwarding method of Linux IPVS (NAT, DR, TUN): ignored; keepalived 2.2.7 reports an unknown routing method and {unknown}, and so does lvsd",
                    tok.text
                ),
                if fixes.is_empty() {
                    "write NAT, DR or TUN (FNAT needs a patched kernel and keepalived)".to_string()
                } else {
                    format!("did you mean: {fixes}?")
                },
            );
            return None;
        }
    };
    if !["NAT", "DR", "TUN"].contains(&text.as_str()) {
        // keepalived compares the method's name exactly
        let name = match m {
            ForwardMethod::Nat => "NAT",
            ForwardMethod::Dr => "DR",
            ForwardMethod::Tun => "TUN",
        };
        it.emit(
            Code::KeepalivedDiffers,
            tok.loc,
            format!(
                "`{}` read as {name}; keepalived 2.2.7 compares it case-sensitively: it reports an unknown routing method and {unknown}",
                tok.text
            ),
            format!("write `{name}` so that both read it alike"),
        );
    }
    let mut lm = LvsMethod {
        method: m,
        tun_type: None,
        tun_port: None,
        tun_flags: None,
    };
    if m == ForwardMethod::Tun {
        while let Some(t) = it.peek() {
            match t.text.as_str() {
                "type" => {
                    it.next();
                    lm.tun_type = it.choice(&["ipip", "gue", "gre"]).map(str::to_string);
                }
                "port" => {
                    it.next();
                    lm.tun_port = it.int(1, 65535);
                }
                "nocsum" | "csum" | "remcsum" => {
                    lm.tun_flags = Some(t.text.clone());
                    it.next();
                }
                _ => break,
            }
        }
        if lm.tun_type.as_deref() == Some("gue") && lm.tun_port.is_none() {
            let loc = it.loc();
            it.emit(
                Code::MissingArgument,
                loc,
                "TUN type gue needs a port",
                "write `TUN type gue port 6080`",
            );
        }
    }
    Some(lm)
}

fn sorry_server(it: &mut Item<'_>) -> Option<SorryServer> {
    let loc = it.loc();
    let Some(ip) = it.ip("an address") else {
        it.silence();
        return None;
    };
    let port = match it.next() {
        Some(t) => it.int_of(t, 0, 65535)?,
        None => 0,
    };
    Some(SorryServer { ip, port, loc })
}

pub(crate) fn virtual_server(it: &mut Item<'_>) -> Option<VirtualServer> {
    let loc = it.loc();
    let mut key_ok = true;
    let first = it.need("an address and port, `fwmark N` or `group NAME`")?;
    let key = match first.text.as_str() {
        "fwmark" => {
            if let Some(t) = it.peek().filter(|t| t.text == "0") {
                let loc = t.loc;
                it.emit(
                    Code::KeepalivedDiffers,
                    loc,
                    "fwmark 0 is the mark of every unmarked packet, not a mark a rule sets: lvsd skips this virtual_server; keepalived 2.2.7 accepts the value",
                    "use a mark from 1 up, the one the firewall rule sets",
                );
                it.silence();
                return None;
            }
            let mark = it.int(1, u32::MAX as i128)?;
            if let Some(t) = it.peek() {
                if t.text != "inet" && t.text != "inet6" {
                    let tl = t.loc;
                    let tt = t.text.clone();
                    it.next();
                    it.emit(Code::ExtraArguments, tl, format!("a fwmark service has no port: `{tt}` ignored"), "write `virtual_server fwmark N {` (the port is matched by the rule that sets the mark)");
                }
            }
            VsKey::Fwmark {
                mark,
                family: family(it),
            }
        }
        "group" => VsKey::Group {
            name: it.need("a group name")?.text.clone(),
        },
        _ => {
            let ip = it.ip_of(first);
            // No port: port 0, all ports (keepalived accepts it; IPVS wants it persistent).
            let port = match it.next() {
                Some(t) => it.int_of(t, 0, 65535),
                None => Some(0),
            };
            match (ip, port) {
                (Some(ip), Some(port)) => VsKey::Addr { ip, port },
                _ => {
                    it.silence();
                    key_ok = false;
                    VsKey::Addr {
                        ip: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
                        port: 0,
                    }
                }
            }
        }
    };
    let mut vs = VirtualServer {
        key,
        loc,
        delay_loop: 60.0,
        lb_algo: "wlc".into(),
        sched_flags: Vec::new(),
        lb_kind: LvsMethod {
            method: ForwardMethod::Nat,
            tun_type: None,
            tun_port: None,
            tun_flags: None,
        },
        persistence_timeout: None,
        persistence_granularity: None,
        persistence_engine: None,
        protocol: None,
        ip_family: None,
        ha_suspend: false,
        alpha: false,
        omega: false,
        quorum: 1,
        hysteresis: 0,
        quorum_up: None,
        quorum_down: None,
        sorry_server: None,
        sorry_server_inhibit: false,
        sorry_server_lvs_method: None,
        inhibit_on_failure: false,
        virtualhost: None,
        smtp_alert: None,
        weight: None,
        retry: None,
        delay_before_retry: None,
        warmup: None,
        connect_timeout: None,
        real_servers: Vec::new(),
        other: BTreeMap::new(),
    };
    let mut seen_kind = false;
    let mut seen_proto = None;
    let vs_port = match vs.key {
        VsKey::Addr { port, .. } => Some(port),
        _ => None,
    };
    walk(it.node.children(), BlockKind::VirtualServer, it.d, |it| {
        let kw = it.kw();
        match kw {
            "delay_loop" => {
                if let Some(v) = it.timer(0.000001, 4294.0) {
                    vs.delay_loop = v
                }
            }
            // keepalived documents lvs_sched / lvs_method; lb_algo / lb_kind are the older
            // names everyone writes. Both are accepted without a word.
            "lb_algo" | "lvs_sched" => {
                let written = it.peek().map(|t| (t.text.clone(), t.loc));
                let known = written
                    .as_ref()
                    .is_some_and(|(t, _)| SCHEDULERS.iter().any(|s| s.eq_ignore_ascii_case(t)));
                if let (false, Some((text, loc))) = (known, &written) {
                    it.next();
                    let fixes = crate::parse::item::fix_alternatives(Some(text), SCHEDULERS);
                    it.emit(
                        Code::Ignored,
                        *loc,
                        format!("`{text}` is not a scheduler: ignored, the service is scheduled with wlc, as keepalived 2.2.7 does (`Invalid lvs_scheduler`)"),
                        if fixes.is_empty() {
                            format!("write one of: {}", SCHEDULERS.join(", "))
                        } else {
                            format!("did you mean: {fixes}?")
                        },
                    );
                } else if let Some(a) = it.choice(SCHEDULERS) {
                    vs.lb_algo = a.into();
                    if let Some((text, loc)) = written.filter(|(t, _)| t != a) {
                        it.emit(
                            Code::KeepalivedDiffers,
                            loc,
                            format!("`{text}` read as {a}; keepalived 2.2.7 compares scheduler names case-sensitively: it ignores `{text}` and schedules with wlc"),
                            format!("write `{a}` so that both read it alike"),
                        );
                    }
                }
            }
            "lb_kind" | "lvs_method" => {
                if let Some(m) = lvs_method(it, "runs this service as NAT") {
                    vs.lb_kind = m;
                    seen_kind = true;
                }
            }
            "hashed" => {}
            "ops" | "flag-1" | "flag-2" | "flag-3" | "sh-port" | "sh-fallback" | "mh-port"
            | "mh-fallback" => {
                let needs = if kw.starts_with("sh-") {
                    Some("sh")
                } else if kw.starts_with("mh-") {
                    Some("mh")
                } else {
                    None
                };
                if let Some(alg) = needs {
                    if vs.lb_algo != alg {
                        let loc = it.loc();
                        it.emit(
                            Code::Ignored,
                            loc,
                            format!(
                                "`{kw}` applies only to `lb_algo {alg}` given before it; ignored"
                            ),
                            format!("put `lb_algo {alg}` before `{kw}`"),
                        );
                        return;
                    }
                }
                vs.sched_flags.push(kw.to_string());
            }
            "persistence_timeout" => {
                let zero_at = it.peek().filter(|t| t.text == "0").map(|t| t.loc);
                let value = match it.next() {
                    Some(t) => it.int_of(t, 0, 2_678_400),
                    None => Some(360),
                };
                // an invalid value is ignored: an earlier line's value stays
                if value.is_some() {
                    vs.persistence_timeout = value;
                }
                if value == Some(0) {
                    vs.persistence_timeout = None;
                    if let Some(loc) = zero_at {
                        it.emit(
                            Code::KeepalivedDiffers,
                            loc,
                            "`persistence_timeout 0` read as no persistence; keepalived 2.2.7 rejects 0 (its range is 1 to 2678400): it says `persistence_timeout invalid` and `keepalived -t` fails, then it runs the service without persistence as well",
                            "remove the line (no persistence is the default) so that `keepalived -t` passes too",
                        );
                    }
                }
            }
            "persistence_granularity" => vs.persistence_granularity = it.string(),
            "persistence_engine" => vs.persistence_engine = it.string(),
            "protocol" => {
                let loc = it.loc();
                // an invalid value is ignored: without another `protocol` line the
                // default (UDP, as keepalived 2.2.7) applies
                if let Some(p) = it.choice(&["TCP", "UDP", "SCTP"]) {
                    vs.protocol = Some(match p {
                        "TCP" => Protocol::Tcp,
                        "UDP" => Protocol::Udp,
                        _ => Protocol::Sctp,
                    });
                    seen_proto = Some(loc);
                }
            }
            "ip_family" => {
                vs.ip_family = family(it).or_else(|| {
                    let t = it.next()?;
                    let loc = t.loc;
                    it.emit(
                        Code::InvalidValue,
                        loc,
                        format!("`{}` is not an address family", t.text),
                        "inet or inet6",
                    );
                    None
                })
            }
            "ha_suspend" => vs.ha_suspend = true,
            "alpha" => vs.alpha = it.flag(),
            "omega" => vs.omega = it.flag(),
            // keepalived 2.2.7: "Setting to 1"
            "quorum" => {
                vs.quorum = it
                    .on_invalid("quorum 1")
                    .int(1, u32::MAX as i128)
                    .unwrap_or(1)
            }
            "hysteresis" => {
                if let Some(v) = it.int(0, u32::MAX as i128) {
                    vs.hysteresis = v
                }
            }
            "quorum_up" => vs.quorum_up = it.script(),
            "quorum_down" => vs.quorum_down = it.script(),
            "sorry_server" => vs.sorry_server = sorry_server(it),
            "sorry_server_inhibit" => vs.sorry_server_inhibit = it.flag(),
            "sorry_server_lvs_method" => {
                vs.sorry_server_lvs_method = lvs_method(
                    it,
                    "ignores the line (the sorry server gets the service's method)",
                )
            }
            "inhibit_on_failure" => vs.inhibit_on_failure = it.flag(),
            "virtualhost" => vs.virtualhost = it.string(),
            "smtp_alert" => vs.smtp_alert = Some(it.flag()),
            // keepalived 2.2.7: 1 and up ("Virtual server weight ... is outside range 1-")
            "weight" => vs.weight = it.int(1, i32::MAX as i128),
            "retry" => vs.retry = it.int(0, u32::MAX as i128),
            "delay_before_retry" => vs.delay_before_retry = it.timer(0.0, 4294.0),
            "warmup" => vs.warmup = it.timer(0.0, 4294.0),
            "connect_timeout" => vs.connect_timeout = it.timer(0.000001, 4294.0),
            "real_server" => it.silence(), // read below, once the defaults are known
            _ => {
                it.not_implemented();
                vs.other.insert(
                    kw.to_string(),
                    it.node.args.iter().map(|t| t.text.clone()).collect(),
                );
            }
        }
    });
    let rs_nodes = it
        .node
        .children()
        .iter()
        .filter(|n| n.name() == "real_server" && n.block.is_some());
    for node in rs_nodes {
        let mut item = Item::new(node, it.d);
        if let Some(rs) = real_server(&mut item, &vs, vs_port) {
            vs.real_servers.push(rs);
        }
        item.finish();
    }
    // kept for the daemon's life: no spare capacity (18 real servers would hold room for 32)
    vs.real_servers.shrink_to_fit();
    let fwmark = matches!(vs.key, VsKey::Fwmark { .. });
    match (fwmark, seen_proto) {
        (true, Some(ploc)) => {
            it.emit(
                Code::FwmarkProtocol,
                ploc,
                "`protocol` is ignored for a fwmark service",
                "the firewall rule that sets the mark selects the protocol: remove this line",
            );
            vs.protocol = None;
        }
        (false, None) => {
            vs.protocol = Some(Protocol::Udp);
            it.emit(
                Code::DefaultApplied,
                loc,
                "virtual_server has no `protocol`: UDP is used, as keepalived does",
                "add `protocol TCP` if this is a TCP service",
            );
        }
        _ => {}
    }
    if !seen_kind {
        it.emit(
            Code::DefaultApplied,
            loc,
            "virtual_server has no `lb_kind`: NAT is used, as keepalived does",
            "add `lb_kind DR`, `lb_kind NAT` or `lb_kind TUN`",
        );
    }
    key_ok.then_some(vs)
}

fn real_server(it: &mut Item<'_>, vs: &VirtualServer, vs_port: Option<u16>) -> Option<RealServer> {
    let loc = it.loc();
    let ip_ok = it.ip("an address");
    let ip = ip_ok.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    let mut port_ok = true;
    let port = match it.next() {
        Some(t) if ip_ok.is_some() => {
            let p = it.int_of(t, 0, 65535);
            port_ok = p.is_some();
            p
        }
        Some(_) => None,
        None => vs_port,
    };
    let mut rs = RealServer {
        ip,
        port,
        loc,
        weight: vs.weight.unwrap_or(1),
        lvs_method: None,
        uthreshold: None,
        lthreshold: None,
        inhibit_on_failure: None,
        notify_up: None,
        notify_down: None,
        alpha: None,
        check_defaults: None,
        smtp_alert: None,
        virtualhost: None,
        checkers: Vec::new(),
        other: BTreeMap::new(),
    };
    walk(it.node.children(), BlockKind::RealServer, it.d, |it| {
        let kw = it.kw();
        match kw {
            "weight" => {
                if let Some(v) = it.int(0, i32::MAX as i128) {
                    rs.weight = v
                }
            }
            "lvs_method" => {
                rs.lvs_method = lvs_method(
                    it,
                    "ignores the line (the real server keeps the service's method)",
                )
                .map(Box::new)
            }
            "uthreshold" => rs.uthreshold = it.int(0, u32::MAX as i128),
            "lthreshold" => rs.lthreshold = it.int(0, u32::MAX as i128),
            "inhibit_on_failure" => rs.inhibit_on_failure = Some(it.flag()),
            "notify_up" => rs.notify_up = it.script().map(Box::new),
            "notify_down" => rs.notify_down = it.script().map(Box::new),
            "alpha" => rs.alpha = Some(it.flag()),
            "retry" => rs.check_defaults_mut().retry = it.int(0, u32::MAX as i128),
            "delay_before_retry" => {
                rs.check_defaults_mut().delay_before_retry = it.timer(0.0, 4294.0)
            }
            "warmup" => rs.check_defaults_mut().warmup = it.timer(0.0, 4294.0),
            "connect_timeout" => {
                rs.check_defaults_mut().connect_timeout = it.timer(0.000001, 4294.0)
            }
            "delay_loop" => rs.check_defaults_mut().delay_loop = it.timer(0.000001, 4294.0),
            "smtp_alert" => rs.smtp_alert = Some(it.flag()),
            "virtualhost" => rs.virtualhost = it.string().map(String::into_boxed_str),
            k if crate::schema::CheckerKind::from_keyword(k).is_some() => it.silence(), // read below
            _ => {
                it.not_implemented();
                rs.other.insert(
                    kw.to_string(),
                    it.node.args.iter().map(|t| t.text.clone()).collect(),
                );
            }
        }
    });
    let checker_nodes = it.node.children().iter().filter(|n| {
        crate::schema::CheckerKind::from_keyword(n.name()).is_some() && n.block.is_some()
    });
    for node in checker_nodes {
        let mut item = Item::new(node, it.d);
        if let Some(c) = check::checker(&mut item, vs, &rs) {
            rs.checkers.push(c);
        }
        item.finish();
    }
    rs.checkers.shrink_to_fit();
    // An invalid address was reported; the block was still read for its own mistakes.
    ip_ok.filter(|_| port_ok).map(|_| rs)
}
