//! An IPv6 VIP that the kernel may choose as a source address towards the real servers.
//!
//! A VIP added as `fd90::100/64` on the interface whose prefix also holds the real servers is
//! a candidate source address for the director's own connections to them (its health checks).
//! A DR/TUN real server holds the VIP itself on `lo`, so its answer to such a connection is
//! delivered to itself: every check times out (measured in tests/vm/colocated-lvsd.sh, step 10,
//! before its VIP became a /128). keepalived and lvsd add an IPv6 /128 with `preferred_lft 0`
//! (deprecated: never chosen as a source); other prefix lengths only when written.

use crate::diag::{Code, Diagnostic};
use crate::model::{Config, ForwardMethod};
use std::net::IpAddr;

fn in_prefix(net: &IpAddr, len: u8, ip: &IpAddr) -> bool {
    match (net, ip) {
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let len = u32::from(len.min(128));
            if len == 0 {
                return true;
            }
            let mask = u128::MAX << (128 - len);
            (u128::from(*n) & mask) == (u128::from(*a) & mask)
        }
        _ => false,
    }
}

/// A warning per IPv6 VIP shorter than /128, not deprecated (`preferred_lft 0`), whose prefix
/// holds a DR or TUN real server.
pub fn check(cfg: &Config, d: &mut Vec<Diagnostic>) {
    for inst in &cfg.instances {
        for a in &inst.virtual_ipaddress {
            let deprecated = a
                .preferred_lft
                .as_deref()
                .and_then(|v| v.parse::<u32>().ok())
                == Some(0);
            if !a.addr.is_ipv6() || a.prefix_len >= 128 || deprecated {
                continue;
            }
            let hit = cfg.virtual_servers.iter().find_map(|vs| {
                vs.real_servers.iter().find(|r| {
                    let m = r.lvs_method.as_deref().unwrap_or(&vs.lb_kind).method;
                    matches!(m, ForwardMethod::Dr | ForwardMethod::Tun)
                        && r.ip != a.addr
                        && in_prefix(&a.addr, a.prefix_len, &r.ip)
                })
            });
            if let Some(r) = hit {
                d.push(
                    Diagnostic::new(
                        Code::VipAsSource,
                        Some(a.loc),
                        format!(
                            "{}/{} is in the prefix of real server {}: the kernel may use the VIP as the source address of this director's connections to the real servers (health checks), and a DR/TUN real server delivers the answer to its own VIP on lo",
                            a.addr, a.prefix_len, r.ip
                        ),
                    )
                    .with_hint("write the VIP as a /128, or add `preferred_lft 0` (never chosen as a source address)"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{load_str, LoadOptions};
    use std::path::Path;

    fn codes(vip: &str) -> usize {
        let text = format!(
            "vrrp_instance V {{\n interface eth0\n virtual_router_id 1\n priority 100\n \
             virtual_ipaddress {{\n {vip}\n }}\n}}\nvirtual_server fd90::100 80 {{\n lb_kind DR\n \
             protocol TCP\n real_server fd90::2 80 {{\n TCP_CHECK {{\n }}\n }}\n}}\n"
        );
        let l = load_str(Path::new("t"), text.as_bytes(), &LoadOptions::default());
        l.diagnostics
            .iter()
            .filter(|d| d.code == Code::VipAsSource)
            .count()
    }

    #[test]
    fn a_v6_vip_in_the_real_servers_prefix_is_reported_unless_deprecated() {
        assert_eq!(codes("fd90::100/64 dev eth0"), 1);
        assert_eq!(codes("fd90::100/128 dev eth0"), 0);
        assert_eq!(codes("fd90::100/64 dev eth0 preferred_lft 0"), 0);
        assert_eq!(codes("fd90::100/64 dev eth0 preferred_lft forever"), 1);
        // another prefix
        assert_eq!(codes("fd91::100/64 dev eth0"), 0);
        assert!(in_prefix(
            &"fd90::".parse().unwrap(),
            0,
            &"2001:db8::1".parse().unwrap()
        ));
    }
}
