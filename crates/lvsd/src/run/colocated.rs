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
