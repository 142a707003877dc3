//! Directors that are also real servers (issue 8): which virtual servers list an address of
//! this host as a real server, and which VRRP instance carries their VIP. Sans-IO: the caller
//! says which addresses are local (`lvsd check` and `lvsd run` read them from the kernel).

use crate::diag::{Code, Diagnostic};
use crate::model::{Config, ForwardMethod, VirtualServer, VsKey};
use serde::Serialize;
use std::net::IpAddr;

/// The fwmarks lvsd gives the services its colocated guard covers (`colocated_directors
/// guard`): `GUARD_MARK_BASE ..= GUARD_MARK_BASE + 0xffff` ("LV" in the top half).
pub const GUARD_MARK_BASE: u32 = 0x4c56_0000;
pub const GUARD_MARK_SPAN: u32 = 0x1_0000;

/// One virtual server of which this host is also a real server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Colocation {
    /// Index into `cfg.virtual_servers`.
    pub vs: usize,
    /// Indexes of its real servers that are this host.
    pub real_servers: Vec<usize>,
    /// The VRRP instance whose virtual_ipaddress holds the virtual server's address (None for
    /// a fwmark service, whose address the configuration does not name, or when no instance
    /// holds it).
    pub instance: Option<String>,
}

/// The VRRP instance carrying `ip` as a virtual (or excluded) address.
pub fn instance_of(cfg: &Config, ip: IpAddr) -> Option<&str> {
    cfg.instances
        .iter()
        .find(|i| {
            i.virtual_ipaddress
                .iter()
                .chain(&i.virtual_ipaddress_excluded)
                .any(|a| a.addr == ip)
        })
        .map(|i| i.name.as_str())
}

fn is_vip(cfg: &Config, ip: IpAddr) -> bool {
    instance_of(cfg, ip).is_some()
}

/// Every virtual server with a real server that is an address of this host (a VIP is never
/// counted: it is local on the master by design).
pub fn find(cfg: &Config, is_local: &dyn Fn(IpAddr) -> bool) -> Vec<Colocation> {
    let mut out = Vec::new();
    for (vi, vs) in cfg.virtual_servers.iter().enumerate() {
        let real_servers: Vec<usize> = vs
            .real_servers
            .iter()
            .enumerate()
            .filter(|(_, r)| is_local(r.ip) && !is_vip(cfg, r.ip))
            .map(|(i, _)| i)
            .collect();
        if real_servers.is_empty() {
            continue;
        }
        let instance = match vs.key {
            VsKey::Addr { ip, .. } => instance_of(cfg, ip).map(str::to_string),
            _ => None,
        };
        out.push(Colocation {
            vs: vi,
            real_servers,
            instance,
        });
    }
    out
}

fn vs_text(vs: &VirtualServer) -> String {
    match &vs.key {
        VsKey::Addr { ip, port } => format!("virtual_server {ip} {port}"),
        VsKey::Fwmark { mark, .. } => format!("virtual_server fwmark {mark}"),
        VsKey::Group { name } => format!("virtual_server group {name}"),
    }
}

/// `lvsd check`'s findings about this host: a note per colocated real server naming the
/// instance that owns the VIP; an error when a DR/TUN service's VIP is held by no instance
/// (every director would balance packets other directors already balanced: a loop).
pub fn diagnostics(cfg: &Config, colocations: &[Colocation]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for c in colocations {
        let vs = &cfg.virtual_servers[c.vs];
        for &ri in &c.real_servers {
            let rs = &vs.real_servers[ri];
            let method = rs.lvs_method.as_deref().unwrap_or(&vs.lb_kind).method;
            let forwarded = matches!(method, ForwardMethod::Dr | ForwardMethod::Tun);
            let d = match (&c.instance, &vs.key) {
                (Some(inst), _) => Diagnostic::new(
                    Code::Colocated,
                    Some(rs.loc),
                    format!(
                        "real_server {} is this host: this director is also a real server of {}; VRRP instance {inst} holds its VIP",
                        rs.ip,
                        vs_text(vs)
                    ),
                )
                .with_hint(format!(
                    "while {inst} is MASTER this node balances (to itself too; by default as a fwmark service behind lvsd's nft guard); otherwise it serves as a real server with the VIP on lo"
                )),
                (None, VsKey::Fwmark { .. }) => Diagnostic::new(
                    Code::Colocated,
                    Some(rs.loc),
                    format!(
                        "real_server {} is this host: this director is also a real server of {} (the packets' marks decide what is balanced)",
                        rs.ip,
                        vs_text(vs)
                    ),
                )
                .with_hint("your mark rules win: lvsd's own mechanism (service only on the MASTER, VIP on lo, guard) does not apply to fwmark services; mark only packets that no other director forwarded, as seeds 000 and 002 do"),
                (None, _) if forwarded => Diagnostic::new(
                    Code::ColocatedWithoutVrrp,
                    Some(rs.loc),
                    format!(
                        "real_server {} is this host and no VRRP instance holds the VIP of {}: with {}, packets another director forwarded here would be balanced again (a loop)",
                        rs.ip,
                        vs_text(vs),
                        if method == ForwardMethod::Dr { "DR" } else { "TUN" }
                    ),
                )
                .with_hint("add the VIP to a vrrp_instance's virtual_ipaddress, or do not list this host as a real server"),
                (None, _) => Diagnostic::new(
                    Code::Colocated,
                    Some(rs.loc),
                    format!(
                        "real_server {} is this host: this director is also a real server of {}",
                        rs.ip,
                        vs_text(vs)
                    ),
                ),
            };
            out.push(d);
        }
    }
    let guarded = cfg.global.colocated_directors == crate::model::ColocatedMode::Guard
        && colocations.iter().any(|c| c.instance.is_some());
    if guarded {
        for vs in &cfg.virtual_servers {
            if let VsKey::Fwmark { mark, .. } = vs.key {
                if (GUARD_MARK_BASE..GUARD_MARK_BASE + GUARD_MARK_SPAN).contains(&mark) {
                    out.push(
                        Diagnostic::new(
                            Code::ReservedFwmark,
                            Some(vs.loc),
                            format!(
                                "{} uses a mark in the range lvsd's colocated guard gives its own services ({GUARD_MARK_BASE:#x}-{:#x})",
                                vs_text(vs),
                                GUARD_MARK_BASE + GUARD_MARK_SPAN - 1
                            ),
                        )
                        .with_hint("use another mark, or `colocated_directors master_only` in global_defs"),
                    );
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ColocatedMode;
    use crate::{load_str, LoadOptions};
    use std::path::Path;

    const BASE: &str =
        "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 9\n priority 100\n \
        virtual_ipaddress {\n 10.0.0.100/24\n }\n}\n\
        virtual_server 10.0.0.100 80 {\n lb_kind DR\n protocol TCP\n \
        real_server 10.0.0.1 80 {\n TCP_CHECK {\n }\n }\n \
        real_server 10.0.0.2 80 {\n TCP_CHECK {\n }\n }\n}\n";

    fn load(text: &str) -> Config {
        let l = load_str(Path::new("t"), text.as_bytes(), &LoadOptions::default());
        assert!(!l.has_errors(), "{:?}", l.diagnostics);
        l.config
    }

    fn local(ip: IpAddr) -> bool {
        ip == "10.0.0.1".parse::<IpAddr>().unwrap()
    }

    #[test]
    fn the_modes_parse_and_default_to_guard() {
        assert_eq!(load(BASE).global.colocated_directors, ColocatedMode::Guard);
        assert!(!load(BASE).global.colocated_on_stop_remove);
        let c = load(&format!(
            "global_defs {{\n colocated_directors master_only\n colocated_on_stop remove\n}}\n{BASE}"
        ));
        assert_eq!(c.global.colocated_directors, ColocatedMode::MasterOnly);
        assert!(c.global.colocated_on_stop_remove);
        let c = load(&format!(
            "global_defs {{\n colocated_directors off\n}}\n{BASE}"
        ));
        assert_eq!(c.global.colocated_directors, ColocatedMode::Off);
        let l = load_str(
            Path::new("t"),
            b"global_defs {\n colocated_directors gaurd\n}\n",
            &LoadOptions::default(),
        );
        assert!(
            l.diagnostics.iter().any(|d| d.code == Code::InvalidValue
                && d.hint
                    .as_deref()
                    .unwrap_or("")
                    .contains("`gaurd` → `guard`")),
            "{:?}",
            l.diagnostics
        );
    }

    #[test]
    fn a_fwmark_in_the_guard_range_is_reported_only_when_the_guard_applies() {
        let fw = |mark: u32| {
            format!(
                "virtual_server fwmark {mark} {{\n lb_kind DR\n real_server 10.0.0.3 80 {{\n TCP_CHECK {{\n }}\n }}\n}}\n"
            )
        };
        let reserved = |text: &str| {
            let cfg = load(text);
            let cols = find(&cfg, &local);
            diagnostics(&cfg, &cols)
                .iter()
                .filter(|d| d.code == Code::ReservedFwmark)
                .count()
        };
        assert_eq!(reserved(&format!("{BASE}{}", fw(GUARD_MARK_BASE + 7))), 1);
        assert_eq!(reserved(&format!("{BASE}{}", fw(2))), 0);
        // not colocated here (10.0.0.1 not local): no guard, no finding
        let cfg = load(&format!("{BASE}{}", fw(GUARD_MARK_BASE + 7)));
        assert_eq!(diagnostics(&cfg, &find(&cfg, &|_| false)).len(), 0);
        // master_only: no guard marks
        assert_eq!(
            reserved(&format!(
                "global_defs {{\n colocated_directors master_only\n}}\n{BASE}{}",
                fw(GUARD_MARK_BASE + 7)
            )),
            0
        );
    }

    #[test]
    fn a_users_fwmark_service_is_told_its_marks_win() {
        let text = format!(
            "{BASE}virtual_server fwmark 2 {{\n lb_kind DR\n real_server 10.0.0.1 3306 {{\n TCP_CHECK {{\n }}\n }}\n}}\n"
        );
        let cfg = load(&text);
        let cols = find(&cfg, &local);
        assert_eq!(cols.len(), 2);
        assert_eq!(cols[0].instance.as_deref(), Some("VI_1"));
        assert_eq!(cols[1].instance, None);
        let d = diagnostics(&cfg, &cols);
        assert_eq!(d.len(), 2);
        assert!(
            d[1].hint
                .as_deref()
                .unwrap_or("")
                .contains("your mark rules win"),
            "{d:?}"
        );
    }
}
