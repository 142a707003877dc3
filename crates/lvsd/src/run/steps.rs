//! From the host lvsd last made to the host it wants: the ordered steps (pure).
//!
//! The order is the safety rule of a colocated director (issue 8): lvsd's nft table before a
//! service that needs its marks; the VIP on `lo` before the service that balanced it leaves
//! (a connection forwarded meanwhile is served locally); the service in before the VIP leaves
//! `lo` (takeover); lvsd's nft table last, after the services went back to address keys.
//! `lvsd reload --dry-run` prints exactly these steps; the apply executes them.

use super::world::{DesiredHost, GuardRules};
use lvsd_ipvs::netlink::Op;
use lvsd_ipvs::{reconcile, ServiceKey, SyncDaemon, SyncState, Timeouts};
use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;

#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// lvsd's nft table `inet lvsd`, created or replaced in one transaction.
    GuardInstall(GuardRules),
    /// The real-server role for a VIP: ARP sysctls, then the VIP on `lo` (recorded).
    RoleUp {
        vip: IpAddr,
        iface: Option<String>,
    },
    Timeouts(Timeouts),
    Ipvs(Op),
    SyncStop(SyncState),
    SyncStart(SyncDaemon),
    /// The VIP lvsd put on `lo` leaves it; the sysctls are restored with the last one.
    RoleDown {
        vip: IpAddr,
    },
    /// lvsd's nft table is deleted.
    GuardRemove,
}

/// Which services a diff may delete: what either side owns.
fn managed(last: &DesiredHost, want: &DesiredHost) -> BTreeSet<ServiceKey> {
    last.owned.union(&want.owned).copied().collect()
}

/// The steps that turn `last` into `want`, in the order they must be carried out.
pub fn steps(last: &DesiredHost, want: &DesiredHost) -> Vec<Step> {
    let mut out = Vec::new();
    if let Some(g) = &want.guard {
        if last.guard.as_ref() != Some(g) {
            out.push(Step::GuardInstall(g.clone()));
        }
    }
    for (vip, iface) in &want.lo_vips {
        if last.lo_vips.get(vip) != Some(iface) {
            out.push(Step::RoleUp {
                vip: *vip,
                iface: iface.clone(),
            });
        }
    }
    if let Some(t) = want.timeouts {
        if last.timeouts != Some(t) {
            out.push(Step::Timeouts(t));
        }
    }
    out.extend(
        reconcile::diff(&want.ipvs, &last.ipvs, &managed(last, want))
            .into_iter()
            .map(Step::Ipvs),
    );
    if want.sync != last.sync {
        if let Some(s) = &last.sync {
            out.push(Step::SyncStop(s.state));
        }
        if let Some(s) = &want.sync {
            out.push(Step::SyncStart(s.clone()));
        }
    }
    for vip in last.lo_vips.keys() {
        if !want.lo_vips.contains_key(vip) {
            out.push(Step::RoleDown { vip: *vip });
        }
    }
    if last.guard.is_some() && want.guard.is_none() {
        out.push(Step::GuardRemove);
    }
    out
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::GuardInstall(g) => write!(
                f,
                "guard: nft table inet {} with {} service(s), {} forwarder MAC(s)",
                super::guard::TABLE,
                g.marks.len(),
                g.forwarders.len()
            ),
            Step::RoleUp { vip, .. } => write!(f, "real-server role: {vip} on lo"),
            Step::Timeouts(t) => write!(
                f,
                "IPVS: timeouts tcp {} tcpfin {} udp {}",
                t.tcp, t.tcp_fin, t.udp
            ),
            Step::Ipvs(op) => write!(f, "IPVS: {op}"),
            Step::SyncStop(s) => write!(f, "IPVS: stop the sync daemon ({s:?})"),
            Step::SyncStart(d) => write!(
                f,
                "IPVS: start the sync daemon {:?} on {} (syncid {})",
                d.state, d.ifname, d.syncid
            ),
            Step::RoleDown { vip } => write!(f, "director role: {vip} leaves lo"),
            Step::GuardRemove => write!(f, "guard: nft table inet {} removed", super::guard::TABLE),
        }
    }
}
