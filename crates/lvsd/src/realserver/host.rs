//! The host as rtnetlink shows it, and the judgement of a real server's setup.

use super::*;

// ---------------------------------------------------------------------------------------------
// The host
// ---------------------------------------------------------------------------------------------

/// Links and addresses, as dumped.
pub(super) struct Host {
    pub(super) links: Vec<Link>,
    pub(super) addrs: Vec<Addr>,
}

impl Host {
    pub(super) async fn load(nl: &Netlink) -> Result<Host, Fail> {
        let links = nl.links().await.map_err(nl_fail)?;
        let addrs = nl.addresses().await.map_err(nl_fail)?;
        Ok(Host { links, addrs })
    }

    pub(super) fn link(&self, name: &str) -> Option<&Link> {
        self.links.iter().find(|l| l.name == name)
    }

    pub(super) fn need(&self, name: &str) -> Result<&Link, Fail> {
        self.link(name)
            .ok_or_else(|| Fail(format!("no such device: {name}")))
    }

    pub(super) fn name_of(&self, index: u32) -> String {
        self.links
            .iter()
            .find(|l| l.index == index)
            .map(|l| l.name.clone())
            .unwrap_or_else(|| format!("#{index}"))
    }

    pub(super) fn on(&self, index: u32, ip: &IpAddr) -> Option<&Addr> {
        self.addrs
            .iter()
            .find(|a| a.ifindex == index && a.addr == *ip)
    }

    /// Other interfaces that have `ip`.
    pub(super) fn elsewhere(&self, index: u32, ip: &IpAddr) -> Vec<String> {
        self.addrs
            .iter()
            .filter(|a| a.ifindex != index && a.addr == *ip)
            .map(|a| self.name_of(a.ifindex))
            .collect()
    }
}

pub(super) fn nl_fail(e: lvsd_netif::Error) -> Fail {
    let errno = e.errno();
    if errno == Some(nix::errno::Errno::EPERM as i32)
        || errno == Some(nix::errno::Errno::EACCES as i32)
    {
        Fail(format!(
            "{e}: lvsd realserver must run as root (CAP_NET_ADMIN)"
        ))
    } else if errno == Some(nix::errno::Errno::ENODEV as i32) {
        Fail(format!("no such device: {e}"))
    } else {
        Fail(e.to_string())
    }
}

// ---------------------------------------------------------------------------------------------
// Observation and judgement (status, and warnings after up)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ArpRow {
    pub(super) iface: String,
    pub(super) arp_ignore: i64,
    pub(super) arp_announce: i64,
    /// max(all, iface): what the kernel uses.
    pub(super) eff_ignore: i64,
    pub(super) eff_announce: i64,
}

impl ArpRow {
    pub(super) fn eff(&self, name: &str) -> i64 {
        if name == ARP_IGNORE {
            self.eff_ignore
        } else {
            self.eff_announce
        }
    }

    pub(super) fn raw(&self, name: &str) -> i64 {
        if name == ARP_IGNORE {
            self.arp_ignore
        } else {
            self.arp_announce
        }
    }

    pub(super) fn to_json(&self) -> Value {
        json!({
            "interface": self.iface,
            "arp_ignore": self.arp_ignore,
            "arp_announce": self.arp_announce,
            "effective_arp_ignore": self.eff_ignore,
            "effective_arp_announce": self.eff_announce,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct VipObs {
    pub(super) vip: IpAddr,
    /// Prefix length and label when the VIP is on the device.
    pub(super) on_dev: Option<(u8, Option<String>)>,
    /// Other interfaces that have it.
    pub(super) elsewhere: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Observed {
    pub(super) dev: String,
    pub(super) dev_up: bool,
    pub(super) vips: Vec<VipObs>,
    /// Whether any VIP is IPv4 (only then ARP matters).
    pub(super) arp_needed: bool,
    /// `all`, the device, the `--iface` interfaces.
    pub(super) arp: Vec<ArpRow>,
    /// Other interfaces whose own value makes the effective one wrong.
    pub(super) overrides: Vec<ArpRow>,
}

pub(super) fn arp_row(sys: &Sysctl, iface: &str, all: Option<&ArpRow>) -> Result<ArpRow, Fail> {
    let ig = sys.read(iface, ARP_IGNORE)?;
    let an = sys.read(iface, ARP_ANNOUNCE)?;
    let (ai, aa) = all.map_or((ig, an), |a| (a.arp_ignore, a.arp_announce));
    Ok(ArpRow {
        iface: iface.to_string(),
        arp_ignore: ig,
        arp_announce: an,
        eff_ignore: ig.max(ai),
        eff_announce: an.max(aa),
    })
}

pub(super) fn observe(host: &Host, cx: &Cx<'_>) -> Result<Observed, Fail> {
    let dev = host.need(&cx.args.dev)?;
    let vips = cx
        .vips
        .iter()
        .map(|v| VipObs {
            vip: *v,
            on_dev: host
                .on(dev.index, v)
                .map(|a| (a.prefix_len, a.label.clone())),
            elsewhere: host.elsewhere(dev.index, v),
        })
        .collect();
    let arp_needed = cx.vips.iter().any(IpAddr::is_ipv4);
    let targets = sysctl_targets(&cx.args.dev, &cx.args.ifaces);
    let all = arp_row(cx.sys, "all", None)?;
    let mut arp = vec![all.clone()];
    for t in targets.iter().skip(1) {
        arp.push(arp_row(cx.sys, t, Some(&all))?);
    }
    let mut overrides = Vec::new();
    if arp_needed {
        for i in cx.sys.interfaces() {
            if targets.contains(&i) {
                continue;
            }
            // An interface may vanish while we look.
            if let Ok(r) = arp_row(cx.sys, &i, Some(&all)) {
                let broken = ARP_NAMES
                    .iter()
                    .any(|n| dr_ok(n, all.raw(n)) && !dr_ok(n, r.eff(n)));
                if broken {
                    overrides.push(r);
                }
            }
        }
    }
    Ok(Observed {
        dev: cx.args.dev.clone(),
        dev_up: dev.up,
        vips,
        arp_needed,
        arp,
        overrides,
    })
}

/// What keeps the host from being a correctly configured DR real server (empty: it is one).
pub(super) fn problems(o: &Observed) -> Vec<String> {
    let mut p = Vec::new();
    if !o.dev_up {
        p.push(format!("device {} is not up", o.dev));
    }
    for v in &o.vips {
        if v.on_dev.is_none() {
            p.push(format!("VIP {} is not on {}", v.vip, o.dev));
        }
        for e in &v.elsewhere {
            let what = if v.vip.is_ipv4() {
                "ARP"
            } else {
                "neighbour solicitations"
            };
            p.push(format!(
                "VIP {} is also on {e}: this host answers {what} for it there",
                v.vip
            ));
        }
    }
    if !o.arp_needed {
        return p;
    }
    for r in &o.arp {
        for n in ARP_NAMES {
            if dr_ok(n, r.eff(n)) {
                continue;
            }
            let want = if n == ARP_IGNORE { "1 (or 2, 8)" } else { "2" };
            if r.iface == "all" {
                p.push(format!(
                    "{} is {}, should be {want}",
                    key("all", n),
                    r.raw(n)
                ));
            } else {
                p.push(format!(
                    "{} is {} (effective {}, the larger of all's and {}'s), should be {want}",
                    key(&r.iface, n),
                    r.raw(n),
                    r.eff(n),
                    r.iface
                ));
            }
        }
    }
    for r in &o.overrides {
        for n in ARP_NAMES {
            if !dr_ok(n, r.eff(n)) {
                p.push(format!(
                    "{} is {}: it overrides all's value (the kernel uses the larger), so {} {}",
                    key(&r.iface, n),
                    r.raw(n),
                    r.iface,
                    if n == ARP_IGNORE {
                        "answers ARP for the VIPs"
                    } else {
                        "may announce a VIP as ARP source"
                    }
                ));
            }
        }
    }
    p
}

pub(super) fn v6_note(vip: &IpAddr) -> String {
    format!(
        "{vip} is IPv6: no ARP sysctls needed (Linux answers neighbour solicitations only for \
         addresses of the interface they arrive on)"
    )
}
