//! The probes a configuration asks for, identical ones merged: one [`Probe`] per distinct
//! [`ProbeSpec`] (what is checked, where, and on which timing), with every checker that asks
//! for it as a user — e.g. the same real server under two virtual servers with the same
//! TCP_CHECK is probed once.
//!
//! How a checker becomes a probe (keepalived-behaviour §1.6, §1.7, §3.1):
//! * target: `connect_ip`, else the real server's address; `connect_port`, else the real
//!   server's port, else the virtual server's (a group's when all its members share one);
//!   TCP_CHECK, HTTP_GET, SSL_GET and UDP_CHECK with no port at all (fwmark services) are
//!   errors; SMTP_CHECK then uses 25 (keepalived 1.x's SMTP_DEFAULT_PORT) and DNS_CHECK 53;
//!   `bindto`/`bind_port`, `bind_if`, `fwmark`; the timeout is `connect_timeout`. MISC_CHECK,
//!   FILE_CHECK and PING_CHECK carry the real server's address (MISC and FILE ignore it);
//! * SMTP_CHECK with the legacy `host` blocks: as keepalived 2.x, one probe per host (each
//!   host's options over the checker's), plus one for the checker's own options when the
//!   block sets `connect_ip` or `connect_port` itself. All of them have the same user: **the
//!   checker is up while all of its probes are up** (keepalived makes one checker per host,
//!   and a real server is alive while all its checkers are);
//! * BFD_CHECK is not implemented (an error).

use crate::health::CheckerId;
use crate::machine::{secs, Timing};
use crate::probe::{
    DnsProbe, FileProbe, HttpProbe, HttpVersion, MiscProbe, ProbeKind, SmtpProbe, Target,
    TlsParams, UdpProbe, UrlCheck,
};
use lvsd_config::model::{
    CheckOptions, CheckSpec, Checker, Config, HttpCheck, MiscCheck, RealServer, UdpCheck,
    VirtualServer, VsGroupMember, VsKey,
};
use lvsd_config::schema::CheckerKind;
use lvsd_scripts::ScriptUsers;
use serde::Serialize;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;

/// What a probe checks, where, and when.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ProbeSpec {
    pub kind: ProbeKind,
    pub target: Target,
    pub timing: Timing,
}

/// One probe to run, and the checkers it reports to.
#[derive(Debug, Clone)]
pub struct Probe {
    /// The identity of the probe: equal specs are the same probe.
    pub spec: ProbeSpec,
    /// The checkers this probe decides, in configuration order, without repetition.
    pub users: Vec<CheckerId>,
}

/// A checker that cannot be probed, with the line that says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    pub line: u32,
    pub message: String,
}

impl std::fmt::Display for SpecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// The probes of a configuration, identical ones merged, in configuration order; and the
/// checkers that cannot be probed.
pub fn probes(cfg: &Config, users: &ScriptUsers) -> (Vec<Probe>, Vec<SpecError>) {
    let mut out: Vec<Probe> = Vec::new();
    // by the spec itself (no serialised key: 10,000 probes would make ~3 MB of key strings)
    let mut index: HashMap<ProbeSpec, usize> = HashMap::new();
    let mut errors = Vec::new();
    for (vi, vs) in cfg.virtual_servers.iter().enumerate() {
        for (ri, rs) in vs.real_servers.iter().enumerate() {
            for (ci, c) in rs.checkers.iter().enumerate() {
                let id = CheckerId {
                    vs: vi,
                    rs: ri,
                    checker: ci,
                };
                let specs = match specs_of(cfg, vs, rs, c, users) {
                    Ok(s) => s,
                    Err(message) => {
                        errors.push(SpecError {
                            line: c.loc.line,
                            message,
                        });
                        continue;
                    }
                };
                for spec in specs {
                    match index.get(&spec) {
                        Some(&i) => {
                            if !out[i].users.contains(&id) {
                                out[i].users.push(id);
                            }
                        }
                        None => {
                            index.insert(spec.clone(), out.len());
                            out.push(Probe {
                                spec,
                                users: vec![id],
                            });
                        }
                    }
                }
            }
        }
    }
    (out, errors)
}

fn keyword(k: CheckerKind) -> &'static str {
    match k {
        CheckerKind::Tcp => "TCP_CHECK",
        CheckerKind::Http => "HTTP_GET",
        CheckerKind::Ssl => "SSL_GET",
        CheckerKind::Smtp => "SMTP_CHECK",
        CheckerKind::Dns => "DNS_CHECK",
        CheckerKind::Misc => "MISC_CHECK",
        CheckerKind::Udp => "UDP_CHECK",
        CheckerKind::Ping => "PING_CHECK",
        CheckerKind::File => "FILE_CHECK",
        CheckerKind::Bfd => "BFD_CHECK",
    }
}

fn describe(vs: &VirtualServer, rs: &RealServer) -> String {
    let v = match &vs.key {
        VsKey::Addr { ip, port } => format!("{ip} {port}"),
        VsKey::Fwmark { mark, .. } => format!("fwmark {mark}"),
        VsKey::Group { name } => format!("group {name}"),
    };
    format!("real_server {} of virtual_server {v}", rs.ip)
}

/// The virtual server's port: its own, or the one all members of its group share.
fn vs_port(cfg: &Config, vs: &VirtualServer) -> Option<u16> {
    match &vs.key {
        VsKey::Addr { port, .. } => Some(*port),
        VsKey::Fwmark { .. } => None,
        VsKey::Group { name } => {
            let g = cfg.virtual_server_groups.iter().find(|g| &g.name == name)?;
            let mut ports = g.members.iter().map(|m| match m {
                VsGroupMember::Range { port, .. } => Some(*port),
                VsGroupMember::Fwmark { .. } => None,
            });
            let first = ports.next()??;
            ports.all(|p| p == Some(first)).then_some(first)
        }
    }
    .filter(|p| *p != 0)
}

/// Where a network probe connects: `o` over the checker's own options over the real server.
fn target(
    cfg: &Config,
    vs: &VirtualServer,
    rs: &RealServer,
    c: &Checker,
    o: &CheckOptions,
) -> (Target, Option<u16>) {
    let ip = o.connect_ip.or(c.effective.connect_ip).unwrap_or(rs.ip);
    let port = o
        .connect_port
        .or(c.effective.connect_port)
        .or(rs.port)
        .or_else(|| vs_port(cfg, vs))
        .filter(|p| *p != 0);
    let bind_ip = o.bindto.or(c.options.bindto);
    let bind_port = o.bind_port.or(c.options.bind_port);
    let bind = match (bind_ip, bind_port) {
        (None, None) => None,
        (ip_, p) => {
            let unspecified = match ip {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            };
            Some(SocketAddr::new(ip_.unwrap_or(unspecified), p.unwrap_or(0)))
        }
    };
    let timeout = secs(o.connect_timeout.unwrap_or(c.effective.connect_timeout));
    (
        Target {
            addr: SocketAddr::new(ip, port.unwrap_or(0)),
            bind,
            bind_if: o.bind_if.clone().or_else(|| c.options.bind_if.clone()),
            fwmark: o.fwmark.or(c.options.fwmark),
            timeout,
        },
        port,
    )
}

fn specs_of(
    cfg: &Config,
    vs: &VirtualServer,
    rs: &RealServer,
    c: &Checker,
    users: &ScriptUsers,
) -> Result<Vec<ProbeSpec>, String> {
    let kw = keyword(c.kind);
    let timing = Timing::from_effective(&c.effective);
    let none = CheckOptions::default();
    let (mut target, port) = target(cfg, vs, rs, c, &none);
    let no_port = || {
        format!(
            "{kw} of {} has no port to connect to: add `connect_port`",
            describe(vs, rs)
        )
    };
    let spec = |kind: ProbeKind, target: Target| ProbeSpec {
        kind,
        target,
        timing: timing.clone(),
    };
    let kind = match &c.spec {
        CheckSpec::Tcp => {
            port.ok_or_else(no_port)?;
            ProbeKind::Tcp
        }
        CheckSpec::Http(h) => {
            port.ok_or_else(no_port)?;
            ProbeKind::Http(Box::new(http(
                cfg,
                vs,
                rs,
                c.kind == CheckerKind::Ssl,
                h,
                &target,
            )?))
        }
        CheckSpec::Smtp(s) => {
            let helo_name = s
                .helo_name
                .clone()
                // keepalived's check_smtp.h: SMTP_DEFAULT_HELO.
                .unwrap_or_else(|| "smtpchecker.keepalived.org".to_string());
            let kind = ProbeKind::Smtp(Box::new(SmtpProbe { helo_name }));
            let with_port = |(mut t, p): (Target, Option<u16>)| {
                if p.is_none() {
                    t.addr.set_port(25);
                }
                t
            };
            if s.hosts.is_empty() {
                return Ok(vec![spec(kind, with_port((target, port)))]);
            }
            let mut out = Vec::new();
            if c.options.connect_ip.is_some() || c.options.connect_port.is_some() {
                out.push(spec(kind.clone(), with_port((target, port))));
            }
            for h in &s.hosts {
                out.push(spec(
                    kind.clone(),
                    with_port(self::target(cfg, vs, rs, c, h)),
                ));
            }
            return Ok(out);
        }
        CheckSpec::Dns(d) => {
            if port.is_none() {
                target.addr.set_port(53);
            }
            ProbeKind::Dns(Box::new(DnsProbe {
                qtype: d.r#type.clone(),
                name: d.name.clone(),
            }))
        }
        CheckSpec::Misc(m) => ProbeKind::Misc(Box::new(misc(m, &c.effective, users)?)),
        CheckSpec::Udp(u) => {
            port.ok_or_else(no_port)?;
            ProbeKind::Udp(Box::new(udp(u)?))
        }
        CheckSpec::Ping => ProbeKind::Ping,
        CheckSpec::File(f) => {
            let name = f
                .track_file
                .as_deref()
                .ok_or_else(|| "FILE_CHECK has no `track_file`".to_string())?;
            let tf = cfg
                .track_files
                .iter()
                .find(|t| t.name == name)
                .ok_or_else(|| format!("FILE_CHECK: track_file `{name}` is not defined"))?;
            let path = tf
                .file
                .as_deref()
                .ok_or_else(|| format!("FILE_CHECK: track_file `{name}` has no `file`"))?;
            ProbeKind::File(Box::new(FileProbe {
                path: PathBuf::from(path),
                weight: f.weight.unwrap_or(1),
                reverse: f.reverse,
                dynamic: f.dynamic,
            }))
        }
        CheckSpec::Bfd(_) => return Err("BFD_CHECK is not implemented in lvsd".to_string()),
    };
    if matches!(
        kind,
        ProbeKind::Misc(_) | ProbeKind::File(_) | ProbeKind::Ping
    ) {
        // No port: the probe does not connect to one (PING) or anywhere (MISC, FILE).
        target.addr.set_port(0);
    }
    Ok(vec![spec(kind, target)])
}

/// `addr` as a Host header: IPv6 in brackets, with the port unless it is the scheme's default.
fn host_of(addr: SocketAddr, default_port: u16) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => format!("[{a}]"),
    };
    if addr.port() == default_port {
        ip
    } else {
        format!("{ip}:{}", addr.port())
    }
}

fn http(
    cfg: &Config,
    vs: &VirtualServer,
    rs: &RealServer,
    ssl: bool,
    h: &HttpCheck,
    target: &Target,
) -> Result<HttpProbe, String> {
    if h.urls.is_empty() {
        return Err(format!(
            "{} has no `url` block",
            if ssl { "SSL_GET" } else { "HTTP_GET" }
        ));
    }
    let default_port = if ssl { 443 } else { 80 };
    let vhost = h
        .virtualhost
        .as_deref()
        .or(rs.virtualhost.as_deref())
        .or(vs.virtualhost.as_deref());
    let urls: Vec<UrlCheck> = h
        .urls
        .iter()
        .map(|u| UrlCheck {
            path: u.path.clone().unwrap_or_else(|| "/".to_string()),
            host: u
                .virtualhost
                .as_deref()
                .or(vhost)
                .map(str::to_string)
                .unwrap_or_else(|| host_of(target.addr, default_port)),
            status: u.status_codes.clone(),
            digest: u.digest.as_ref().map(|d| d.to_ascii_lowercase()),
            regex: u.regex.clone(),
            regex_no_match: u.regex_no_match,
        })
        .collect();
    let version = match h.http_protocol.as_deref() {
        Some("1.0C") => HttpVersion::Http10Close,
        Some("1.1") => HttpVersion::Http11,
        _ => HttpVersion::Http10,
    };
    let tls = ssl.then(|| {
        // SNI is a host name: sni_name, else the (first) url's Host without a port; an
        // address is never sent as SNI (RFC 6066 forbids literal addresses).
        let sni = if h.enable_sni {
            h.sni_name.clone().or_else(|| {
                let host = urls.first().map(|u| u.host.as_str()).unwrap_or("");
                let name = strip_port(host);
                (!name.is_empty() && name.parse::<IpAddr>().is_err() && !name.starts_with('['))
                    .then(|| name.to_string())
            })
        } else {
            None
        };
        let ssl = cfg.ssl.as_ref();
        TlsParams {
            sni,
            verify: h.verify_certificate,
            ca: ssl.and_then(|s| s.ca.as_ref()).map(PathBuf::from),
            certificate: ssl.and_then(|s| s.certificate.as_ref()).map(PathBuf::from),
            key: ssl.and_then(|s| s.key.as_ref()).map(PathBuf::from),
        }
    });
    Ok(HttpProbe { urls, version, tls })
}

/// `name:port` → `name` (a bracketed IPv6 address keeps its brackets).
fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split_inclusive(']').next().unwrap_or(host);
    }
    match host.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') && p.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    }
}

fn misc(
    m: &MiscCheck,
    e: &lvsd_config::model::EffectiveCheck,
    users: &ScriptUsers,
) -> Result<MiscProbe, String> {
    let script = m
        .misc_path
        .as_ref()
        .ok_or_else(|| "MISC_CHECK has no `misc_path`".to_string())?;
    if script.argv.is_empty() {
        return Err("MISC_CHECK: `misc_path` is empty".to_string());
    }
    let (user, group) = match &m.user {
        Some(u) => (Some(u.as_str()), None),
        None => (script.user.as_deref(), script.group.as_deref()),
    };
    let creds = users
        .resolve(user, group)
        .map_err(|e| format!("MISC_CHECK: {e}"))?;
    // `enable_script_security`, as keepalived checks every script at load: a MISC_CHECK run as
    // root from a path a non-root user can write is not run (keepalived disables it; the real
    // server then counts on its other checkers). A missing program is left to each run, whose
    // failure says why.
    if users.security() {
        let cmd = lvsd_scripts::runner::Command {
            argv: script.argv.clone(),
            user: creds.clone(),
            security: true,
        };
        if let Err(e) = cmd.check() {
            if e.contains("enable_script_security") {
                return Err(format!("MISC_CHECK: {e}"));
            }
        }
    }
    let user = creds.map(|c| (c.uid, c.gid));
    Ok(MiscProbe {
        argv: script.argv.clone(),
        user,
        timeout: secs(m.misc_timeout.unwrap_or(e.delay_loop)),
        dynamic: m.misc_dynamic,
    })
}

/// Hex digits (an optional `0x`, spaces ignored) → bytes; with `wildcards`, an `X` nibble
/// matches anything: a byte with one or two `X` nibbles is a wildcard byte (None). A byte
/// with a single `X` (e.g. `4X`) thus matches more than in keepalived, which compares
/// nibbles; the probe's pattern is per byte.
fn hex(s: &str, wildcards: bool, what: &str) -> Result<Vec<Option<u8>>, String> {
    let t: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let t = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(&t);
    if t.len() & 1 == 1 {
        return Err(format!(
            "UDP_CHECK: `{what} {s}` has an odd number of hex digits"
        ));
    }
    let nibble = |c: u8| -> Result<Option<u8>, String> {
        match c {
            b'x' | b'X' if wildcards => Ok(None),
            _ => (c as char)
                .to_digit(16)
                .map(|d| Some(d as u8))
                .ok_or_else(|| format!("UDP_CHECK: `{what} {s}` is not hexadecimal")),
        }
    };
    t.as_bytes()
        .chunks(2)
        .map(|p| {
            Ok(match (nibble(p[0])?, nibble(p[1])?) {
                (Some(h), Some(l)) => Some(h << 4 | l),
                _ => None,
            })
        })
        .collect()
}

fn udp(u: &UdpCheck) -> Result<UdpProbe, String> {
    let payload = match &u.payload {
        Some(p) => hex(p, false, "payload")?
            .into_iter()
            .map(|b| b.unwrap_or(0))
            .collect(),
        None => Vec::new(),
    };
    let require_reply = match &u.require_reply {
        Some(r) => Some(hex(r, true, "require_reply")?),
        None => None,
    };
    Ok(UdpProbe {
        payload,
        require_reply,
        min_reply_length: u.min_reply_length,
        max_reply_length: u.max_reply_length,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_patterns() {
        assert_eq!(
            hex("0x01ff", false, "payload").unwrap(),
            vec![Some(1), Some(255)]
        );
        assert_eq!(
            hex("01 XX 4x", true, "require_reply").unwrap(),
            vec![Some(1), None, None]
        );
        assert!(hex("XX", false, "payload").is_err());
        assert!(hex("abc", true, "require_reply").is_err());
        assert_eq!(hex("", true, "require_reply").unwrap(), vec![]);
    }

    #[test]
    fn hosts() {
        let a: SocketAddr = "10.0.0.1:80".parse().unwrap();
        assert_eq!(host_of(a, 80), "10.0.0.1");
        assert_eq!(host_of(a, 443), "10.0.0.1:80");
        let b: SocketAddr = "[2001:db8::1]:8443".parse().unwrap();
        assert_eq!(host_of(b, 443), "[2001:db8::1]:8443");
        assert_eq!(strip_port("[2001:db8::1]:8443"), "[2001:db8::1]");
        assert_eq!(strip_port("www.example.com:8080"), "www.example.com");
        assert_eq!(strip_port("www.example.com"), "www.example.com");
    }
}
