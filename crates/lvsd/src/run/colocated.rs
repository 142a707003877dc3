//! Directors that are also real servers (issue 8): the node's real-server role for a
//! colocated virtual service. While the VRRP instance holding the VIP is not MASTER here, the
//! VIP is on `lo` (/32 or /128, label `lo:lvsd`) with arp_ignore=1 / arp_announce=2 on `all`
//! and the VRRP interface, so that packets another director forwarded (DR) are delivered to
//! the local application and ARP for the VIP is never answered; on MASTER the VRRP engine puts
//! the VIP on its interface and it leaves `lo`. The IPVS task also keeps the service out of
//! the kernel while not MASTER (docs/colocated.md: measured, no loop), so nothing is balanced
//! twice. On stop the VIP stays on `lo`: the node keeps serving as a real server.

/// The virtual services of which this host (its current addresses) is also a real server.
/// With `colocated_directors off` no instance is named: lvsd then treats them as any other
/// service (keepalived's behaviour; the user's own rules must avoid the loop).
pub fn find(cfg: &lvsd_config::Config) -> Vec<lvsd_config::colocated::Colocation> {
    let local = crate::check::local_addresses();
    let mut found = lvsd_config::colocated::find(cfg, &|ip| local.contains(&ip));
    if cfg.global.colocated_directors == lvsd_config::model::ColocatedMode::Off {
        for c in &mut found {
            c.instance = None;
        }
    }
    found
}

/// The label lvsd gives a VIP it puts on `lo`.
pub const LABEL: &str = "lo:lvsd";

/// The VIPs of the colocated address services (`colocations`, from [`find`]) whose VIP
/// instance `name` holds, with the instance's interface (none with `colocated_directors off`).
pub fn vips_of(
    cfg: &lvsd_config::Config,
    colocations: &[lvsd_config::colocated::Colocation],
    name: &str,
) -> Vec<(std::net::IpAddr, Option<String>)> {
    let mut out: Vec<(std::net::IpAddr, Option<String>)> = Vec::new();
    for c in colocations {
        if c.instance.as_deref() != Some(name) {
            continue;
        }
        let lvsd_config::model::VsKey::Addr { ip, .. } = cfg.virtual_servers[c.vs].key else {
            continue;
        };
        if out.iter().all(|(v, _)| *v != ip) {
            let iface = cfg
                .instances
                .iter()
                .find(|i| i.name == name)
                .and_then(|i| i.interface.clone());
            out.push((ip, iface));
        }
    }
    out
}
