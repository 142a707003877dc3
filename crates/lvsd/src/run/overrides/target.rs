//! Virtual and real servers as operators write them (`10.0.0.100:80`, `10.0.0.100 80 tcp`,
//! `fwmark 3`, `group web`; `192.168.1.10:80`, `192.168.1.10`), matched against the running
//! configuration, with an error that names the candidates when nothing or several match.
//! Sans-IO.

use lvsd_config::model::{Config, Protocol, VirtualServer, VsKey};
use std::net::IpAddr;

/// A virtual server as written: what it must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VsSel {
    key: SelKey,
    protocol: Option<Protocol>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum SelKey {
    Addr { ip: IpAddr, port: Option<u16> },
    Fwmark(u32),
    Group(String),
}

/// A real server as written: an address, with or without its port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RsSel {
    pub ip: IpAddr,
    pub port: Option<u16>,
}

fn protocol(word: &str) -> Option<Protocol> {
    match word.trim_start_matches('/').to_ascii_lowercase().as_str() {
        "tcp" => Some(Protocol::Tcp),
        "udp" => Some(Protocol::Udp),
        "sctp" => Some(Protocol::Sctp),
        _ => None,
    }
}

fn proto_name(p: Option<Protocol>) -> &'static str {
    match p {
        Some(Protocol::Udp) => "udp",
        Some(Protocol::Sctp) => "sctp",
        _ => "tcp",
    }
}

/// `IP`, `IP:PORT`, `[IPv6]:PORT`, `IPv6`.
fn addr_port(w: &str) -> Option<(IpAddr, Option<u16>)> {
    if let Ok(ip) = w.parse::<IpAddr>() {
        return Some((ip, None));
    }
    if let Ok(sa) = w.parse::<std::net::SocketAddr>() {
        return Some((sa.ip(), Some(sa.port())));
    }
    let inner = w.strip_prefix('[').and_then(|r| r.strip_suffix(']'))?;
    Some((inner.parse().ok()?, None))
}

const VS_FORMS: &str =
    "write it as in the configuration: `10.0.0.100:80`, `10.0.0.100 80`, `10.0.0.100:80 tcp`, `fwmark 3` or `group NAME`";

impl VsSel {
    /// Parses the words of a virtual server.
    pub fn parse(words: &[String]) -> Result<VsSel, String> {
        let mut protocol_word = None;
        let mut rest: Vec<&str> = Vec::new();
        for w in words.iter().flat_map(|w| w.split_whitespace()) {
            // `10.0.0.100:80/tcp`
            let (w, p) = match w.rsplit_once('/') {
                Some((a, p)) if protocol(p).is_some() => (a, protocol(p)),
                _ => (w, None),
            };
            if let Some(p) = p.or_else(|| protocol(w).filter(|_| !w.is_empty())) {
                if protocol_word.replace(p).is_some_and(|q| q != p) {
                    return Err("two different protocols".into());
                }
                if protocol(w).is_some() {
                    continue;
                }
            }
            if !w.is_empty() {
                rest.push(w);
            }
        }
        let key = match rest.as_slice() {
            [] => return Err(format!("no virtual server given; {VS_FORMS}")),
            [kw, mark] if kw.eq_ignore_ascii_case("fwmark") => SelKey::Fwmark(
                mark.parse()
                    .map_err(|_| format!("`{mark}` is not a firewall mark (a number)"))?,
            ),
            [kw, name] if kw.eq_ignore_ascii_case("group") => SelKey::Group(name.to_string()),
            [a] => match addr_port(a) {
                Some((ip, port)) => SelKey::Addr { ip, port },
                // a bare word: a virtual_server_group's name
                None if !a.contains([':', '.']) => SelKey::Group(a.to_string()),
                None => return Err(format!("`{a}` is not a virtual server; {VS_FORMS}")),
            },
            [a, p] => match (a.parse::<IpAddr>(), p.parse::<u16>()) {
                (Ok(ip), Ok(port)) => SelKey::Addr {
                    ip,
                    port: Some(port),
                },
                _ => return Err(format!("`{a} {p}` is not a virtual server; {VS_FORMS}")),
            },
            _ => {
                return Err(format!(
                    "`{}` is not a virtual server; {VS_FORMS}",
                    rest.join(" ")
                ))
            }
        };
        Ok(VsSel {
            key,
            protocol: protocol_word,
        })
    }

    fn matches(&self, v: &VirtualServer) -> bool {
        let key = match (&self.key, &v.key) {
            (SelKey::Addr { ip, port }, VsKey::Addr { ip: i, port: p }) => {
                ip == i && port.is_none_or(|port| port == *p)
            }
            (SelKey::Fwmark(m), VsKey::Fwmark { mark, .. }) => m == mark,
            (SelKey::Group(n), VsKey::Group { name }) => n == name,
            _ => false,
        };
        key && self
            .protocol
            .is_none_or(|p| v.protocol.is_none() || v.protocol == Some(p))
    }
}

impl RsSel {
    pub fn parse(word: &str) -> Result<RsSel, String> {
        match addr_port(word.trim()) {
            Some((ip, port)) => Ok(RsSel { ip, port }),
            None => Err(format!(
                "`{word}` is not a real server: write its address, with its port if the virtual server has it twice (`192.168.1.10:80`, `192.168.1.10`, `[2001:db8::10]:80`)"
            )),
        }
    }
}

/// The name lvsd shows and keeps a virtual server by: `10.0.0.100:80/tcp`, `fwmark 3`,
/// `group web` (with `/udp`... when the protocol is not TCP).
pub fn vs_id(v: &VirtualServer) -> String {
    match &v.key {
        VsKey::Addr { ip, port } => {
            let a = std::net::SocketAddr::new(*ip, *port);
            format!("{a}/{}", proto_name(v.protocol))
        }
        VsKey::Fwmark { mark, family } => match family {
            Some(lvsd_config::model::Family::Inet6) => format!("fwmark {mark}/inet6"),
            _ => format!("fwmark {mark}"),
        },
        VsKey::Group { name } => format!("group {name}/{}", proto_name(v.protocol)),
    }
}

/// The name lvsd shows and keeps a real server by: `192.168.1.10:80`, or its address alone
/// when it has no port of its own.
pub fn rs_id(v: &VirtualServer, rs: usize) -> String {
    let r = &v.real_servers[rs];
    match r.port {
        Some(p) => std::net::SocketAddr::new(r.ip, p).to_string(),
        None => r.ip.to_string(),
    }
}

/// The candidates, listed in an error (the first 20).
fn listed(names: impl Iterator<Item = String>) -> String {
    let all: Vec<String> = names.collect();
    let n = all.len();
    let mut s = all.into_iter().take(20).collect::<Vec<_>>().join(", ");
    if n > 20 {
        s += &format!(", and {} more", n - 20);
    }
    s
}

/// The one virtual server `sel` names.
pub fn find_vs(cfg: &Config, sel: &VsSel, written: &str) -> Result<usize, String> {
    let hits: Vec<usize> = cfg
        .virtual_servers
        .iter()
        .enumerate()
        .filter(|(_, v)| sel.matches(v))
        .map(|(i, _)| i)
        .collect();
    let named = |i: &usize| {
        let v = &cfg.virtual_servers[*i];
        format!("{} (line {})", vs_id(v), v.loc.line)
    };
    match hits.as_slice() {
        [one] => Ok(*one),
        [] if cfg.virtual_servers.is_empty() => {
            Err("the configuration has no virtual_server".to_string())
        }
        [] => Err(format!(
            "no virtual server matches `{written}`; the virtual servers are: {}",
            listed(
                cfg.virtual_servers
                    .iter()
                    .enumerate()
                    .map(|(i, _)| named(&i))
            )
        )),
        many => Err(format!(
            "`{written}` matches {} virtual servers: {}; say which (its port, or tcp/udp/sctp)",
            many.len(),
            listed(many.iter().map(named))
        )),
    }
}

/// The one real server of virtual server `vs` that `sel` names.
pub fn find_rs(cfg: &Config, vs: usize, sel: &RsSel, written: &str) -> Result<usize, String> {
    let v = &cfg.virtual_servers[vs];
    let hits: Vec<usize> = v
        .real_servers
        .iter()
        .enumerate()
        .filter(|(_, r)| r.ip == sel.ip && sel.port.is_none_or(|p| r.port.is_none_or(|q| q == p)))
        .map(|(i, _)| i)
        .collect();
    match hits.as_slice() {
        [one] => Ok(*one),
        [] => Err(format!(
            "virtual server {} has no real server `{written}`; its real servers are: {}",
            vs_id(v),
            if v.real_servers.is_empty() {
                "none".to_string()
            } else {
                listed((0..v.real_servers.len()).map(|r| rs_id(v, r)))
            }
        )),
        many => Err(format!(
            "`{written}` matches {} real servers of {}: {}; give the port",
            many.len(),
            vs_id(v),
            listed(many.iter().map(|r| rs_id(v, *r)))
        )),
    }
}

/// The virtual server whose kept name is `id`, and its real server whose kept name is `rs`.
pub fn find_ids(cfg: &Config, vs: &str, rs: &str) -> Option<(usize, usize)> {
    let vi = cfg.virtual_servers.iter().position(|v| vs_id(v) == vs)?;
    let v = &cfg.virtual_servers[vi];
    let ri = (0..v.real_servers.len()).find(|&r| rs_id(v, r) == rs)?;
    Some((vi, ri))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> Config {
        let text = "virtual_server 10.0.0.100 80 {\n protocol TCP\n real_server 192.168.1.10 80 {\n }\n real_server 192.168.1.11 80 {\n }\n}\n\
virtual_server 10.0.0.100 80 {\n protocol UDP\n real_server 192.168.1.10 80 {\n }\n}\n\
virtual_server fwmark 3 {\n real_server 192.168.1.20 {\n }\n real_server 192.168.1.21 {\n }\n}\n\
virtual_server 10.0.0.101 443 {\n protocol TCP\n lb_kind NAT\n real_server 192.168.1.30 8443 {\n }\n real_server 192.168.1.30 9443 {\n }\n}\n";
        let l = lvsd_config::load_str(
            std::path::Path::new("t.conf"),
            text.as_bytes(),
            &Default::default(),
        );
        assert!(!l.has_errors(), "{:?}", l.diagnostics);
        l.config
    }

    fn vs(c: &Config, w: &str) -> Result<usize, String> {
        let words: Vec<String> = w.split(' ').map(String::from).collect();
        find_vs(c, &VsSel::parse(&words)?, w)
    }

    #[test]
    fn virtual_servers_are_found_as_users_write_them() {
        let c = cfg();
        assert_eq!(vs(&c, "10.0.0.100:80 tcp"), Ok(0));
        assert_eq!(vs(&c, "10.0.0.100:80/udp"), Ok(1));
        assert_eq!(vs(&c, "10.0.0.100 80 UDP"), Ok(1));
        assert_eq!(vs(&c, "fwmark 3"), Ok(2));
        assert_eq!(vs(&c, "10.0.0.101:443"), Ok(3));
        assert_eq!(vs(&c, "10.0.0.101"), Ok(3));
        assert_eq!(vs_id(&c.virtual_servers[1]), "10.0.0.100:80/udp");
        assert_eq!(vs_id(&c.virtual_servers[2]), "fwmark 3");
    }

    #[test]
    fn nothing_or_several_matching_name_the_candidates() {
        let c = cfg();
        let e = vs(&c, "10.0.0.100:80").unwrap_err();
        assert!(
            e.contains("matches 2 virtual servers")
                && e.contains("10.0.0.100:80/tcp (line 1)")
                && e.contains("10.0.0.100:80/udp"),
            "{e}"
        );
        let e = vs(&c, "10.0.0.100:81").unwrap_err();
        assert!(
            e.starts_with("no virtual server matches `10.0.0.100:81`")
                && e.contains("fwmark 3 (line"),
            "{e}"
        );
        let e = vs(&c, "fwmark x").unwrap_err();
        assert!(e.contains("not a firewall mark"), "{e}");
        let e = vs(&c, "10.0.0.100:80 tcp udp").unwrap_err();
        assert!(e.contains("two different protocols"), "{e}");
        let e = vs(&c, "").unwrap_err();
        assert!(e.contains("no virtual server given"), "{e}");
    }

    #[test]
    fn real_servers_are_found_by_address_and_port_when_it_is_needed() {
        let c = cfg();
        let rs = |vs: usize, w: &str| find_rs(&c, vs, &RsSel::parse(w)?, w);
        assert_eq!(rs(0, "192.168.1.11"), Ok(1));
        assert_eq!(rs(0, "192.168.1.11:80"), Ok(1));
        assert_eq!(rs(2, "192.168.1.21"), Ok(1));
        assert_eq!(rs(3, "192.168.1.30:9443"), Ok(1));
        let e = rs(3, "192.168.1.30").unwrap_err();
        assert!(
            e.contains("matches 2 real servers") && e.contains("192.168.1.30:8443"),
            "{e}"
        );
        let e = rs(0, "192.168.1.99").unwrap_err();
        assert!(
            e.contains("has no real server `192.168.1.99`")
                && e.contains("192.168.1.10:80, 192.168.1.11:80"),
            "{e}"
        );
        assert!(RsSel::parse("web1")
            .unwrap_err()
            .contains("not a real server"));
        assert_eq!(
            find_ids(&c, "10.0.0.101:443/tcp", "192.168.1.30:9443"),
            Some((3, 1))
        );
        assert_eq!(find_ids(&c, "fwmark 3", "192.168.1.20"), Some((2, 0)));
    }
}
