//! Directors that are also real servers (issue 8): the node's real-server role for a
//! colocated virtual service. While the VRRP instance holding the VIP is not MASTER here, the
//! VIP is on `lo` (/32 or /128, label `lo:lvsd`) with arp_ignore=1 / arp_announce=2 on `all`
//! and the VRRP interface, so that packets another director forwarded (DR) are delivered to
//! the local application and ARP for the VIP is never answered; on MASTER the VRRP engine puts
//! the VIP on its interface and it leaves `lo`. The IPVS task also keeps the service out of
//! the kernel while not MASTER (docs/colocated.md: measured, no loop), so nothing is balanced
//! twice. On stop the VIP stays on `lo`: the node keeps serving as a real server.

use lvsd_netif::{AddrSpec, Netlink};
use std::net::IpAddr;

/// The virtual services of which this host (its current addresses) is also a real server.
pub fn find(cfg: &lvsd_config::Config) -> Vec<lvsd_config::colocated::Colocation> {
    let local = crate::check::local_addresses();
    lvsd_config::colocated::find(cfg, &|ip| local.contains(&ip))
}

/// The label lvsd gives a VIP it puts on `lo`.
pub const LABEL: &str = "lo:lvsd";

fn host_len(ip: &IpAddr) -> u8 {
    if ip.is_ipv4() {
        32
    } else {
        128
    }
}

fn sysctl(path: &str, value: &str) -> Result<(), String> {
    std::fs::write(path, value).map_err(|e| format!("{path}: {e}"))
}

/// The real-server side: VIP on lo, ARP quiet for it.
pub async fn real_server(nl: &Netlink, vip: IpAddr, iface: &str) -> Result<bool, String> {
    if vip.is_ipv4() {
        for dev in ["all", iface] {
            sysctl(&format!("/proc/sys/net/ipv4/conf/{dev}/arp_ignore"), "1")?;
            sysctl(&format!("/proc/sys/net/ipv4/conf/{dev}/arp_announce"), "2")?;
        }
    }
    let lo = nl
        .link_by_name("lo")
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no lo")?;
    let mut spec = AddrSpec::new(lo.index, vip, host_len(&vip));
    if vip.is_ipv4() {
        spec.label = Some(LABEL.to_string());
    } else {
        spec.nodad = true;
    }
    nl.add_address(&spec).await.map_err(|e| e.to_string())
}

/// The director side: the VIP leaves lo (the engine puts it on the VRRP interface).
pub async fn director(nl: &Netlink, vip: IpAddr) -> Result<bool, String> {
    let lo = nl
        .link_by_name("lo")
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no lo")?;
    nl.del_address(lo.index, vip, host_len(&vip))
        .await
        .map_err(|e| e.to_string())
}
