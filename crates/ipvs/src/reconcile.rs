//! From what the kernel has to what lvsd wants, with the fewest operations (sans-IO).
//!
//! * Services first (so that destinations have a home), then destinations, then deletions.
//! * A changed scheduler, flag, persistence or engine is one SET_SERVICE; a changed weight,
//!   method or threshold one SET_DEST — never a delete and re-add (connections survive).
//! * Only services lvsd manages are touched: a service in the kernel that lvsd never declared
//!   (added by hand, or by another tool) is left alone.

use crate::netlink::Op;
use crate::types::{svc_flags, Dest, Service, ServiceKey, Table};
use std::collections::BTreeSet;

/// Whether two service definitions differ in anything SET_SERVICE changes.
fn service_differs(a: &Service, b: &Service) -> bool {
    let f = |s: &Service| s.flags & !svc_flags::HASHED;
    a.scheduler != b.scheduler
        || f(a) != f(b)
        || a.timeout != b.timeout
        || (a.flags & svc_flags::PERSISTENT != 0 && a.netmask != b.netmask)
        || a.pe_name != b.pe_name
}

fn dest_differs(a: &Dest, b: &Dest) -> bool {
    a.forward != b.forward
        || a.weight != b.weight
        || a.u_threshold != b.u_threshold
        || a.l_threshold != b.l_threshold
        || (a.forward == crate::types::Forward::Tunnel
            && (a.tun_type != b.tun_type || a.tun_port != b.tun_port || a.tun_flags != b.tun_flags))
}

/// The operations that turn `actual` into `desired`. Services in `actual` that are not
/// desired are deleted only if they are in `managed` (what lvsd declared before, e.g. a
/// virtual_server removed by a reload).
pub fn diff(desired: &Table, actual: &Table, managed: &BTreeSet<ServiceKey>) -> Vec<Op> {
    let mut services = Vec::new();
    let mut dests = Vec::new();
    let mut del_dests = Vec::new();
    let mut del_services = Vec::new();
    for (key, (svc, want)) in desired {
        match actual.get(key) {
            None => {
                services.push(Op::AddService(svc.clone()));
                for d in want.values() {
                    dests.push(Op::AddDest(*key, d.clone()));
                }
            }
            Some((have_svc, have)) => {
                if service_differs(svc, have_svc) {
                    services.push(Op::EditService(svc.clone()));
                }
                // both maps are sorted: one walk through the two (a lookup per destination
                // was a third of a 36,000-destination reload's diff)
                let mut w = want.iter().peekable();
                let mut h = have.iter().peekable();
                loop {
                    match (w.peek(), h.peek()) {
                        (Some((wk, d)), Some((hk, hd))) => match wk.cmp(hk) {
                            std::cmp::Ordering::Less => {
                                dests.push(Op::AddDest(*key, (*d).clone()));
                                w.next();
                            }
                            std::cmp::Ordering::Greater => {
                                del_dests.push(Op::DelDest(*key, hk.0, hk.1));
                                h.next();
                            }
                            std::cmp::Ordering::Equal => {
                                if dest_differs(d, hd) {
                                    dests.push(Op::EditDest(*key, (*d).clone()));
                                }
                                w.next();
                                h.next();
                            }
                        },
                        (Some((_, d)), None) => {
                            dests.push(Op::AddDest(*key, (*d).clone()));
                            w.next();
                        }
                        (None, Some((hk, _))) => {
                            del_dests.push(Op::DelDest(*key, hk.0, hk.1));
                            h.next();
                        }
                        (None, None) => break,
                    }
                }
            }
        }
    }
    for key in actual.keys() {
        if !desired.contains_key(key) && managed.contains(key) {
            del_services.push(Op::DelService(*key));
        }
    }
    services
        .into_iter()
        .chain(dests)
        .chain(del_dests)
        .chain(del_services)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Dest, Forward, Protocol};
    use std::collections::BTreeMap;
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn key(port: u16) -> ServiceKey {
        ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: ip("10.0.0.1"),
            port,
        }
    }

    fn svc(port: u16, sched: &str) -> Service {
        Service {
            key: key(port),
            scheduler: sched.into(),
            flags: 0,
            timeout: 0,
            netmask: 0xffff_ffff,
            pe_name: None,
        }
    }

    fn table(entries: &[(Service, Vec<Dest>)]) -> Table {
        entries
            .iter()
            .map(|(s, ds)| {
                let m: BTreeMap<_, _> = ds.iter().map(|d| (d.key(), d.clone())).collect();
                (s.key, (s.clone(), m))
            })
            .collect()
    }

    fn rs(last: u8, w: i32) -> Dest {
        Dest::new(ip(&format!("10.0.1.{last}")), 80, Forward::Masq, w)
    }

    #[test]
    fn from_empty_services_then_dests() {
        let want = table(&[(svc(80, "rr"), vec![rs(1, 1), rs(2, 1)])]);
        let ops = diff(&want, &Table::new(), &BTreeSet::new());
        assert!(matches!(ops[0], Op::AddService(_)));
        assert_eq!(ops.len(), 3);
    }

    #[test]
    fn nothing_to_do_when_equal() {
        let want = table(&[(svc(80, "rr"), vec![rs(1, 1)])]);
        let mut have = want.clone();
        // The kernel reports HASHED; that is not a difference.
        have.get_mut(&key(80)).unwrap().0.flags |= svc_flags::HASHED;
        assert!(diff(&want, &have, &BTreeSet::new()).is_empty());
    }

    #[test]
    fn one_weight_change_is_one_edit() {
        let want = table(&[(svc(80, "rr"), vec![rs(1, 5), rs(2, 1)])]);
        let have = table(&[(svc(80, "rr"), vec![rs(1, 1), rs(2, 1)])]);
        assert_eq!(
            diff(&want, &have, &BTreeSet::new()),
            [Op::EditDest(key(80), rs(1, 5))]
        );
    }

    #[test]
    fn scheduler_change_is_an_edit_not_a_readd() {
        let want = table(&[(svc(80, "wlc"), vec![rs(1, 1)])]);
        let have = table(&[(svc(80, "rr"), vec![rs(1, 1)])]);
        assert_eq!(
            diff(&want, &have, &BTreeSet::new()),
            [Op::EditService(svc(80, "wlc"))]
        );
    }

    #[test]
    fn removed_dest_and_unmanaged_services() {
        let want = table(&[(svc(80, "rr"), vec![rs(1, 1)])]);
        let have = table(&[
            (svc(80, "rr"), vec![rs(1, 1), rs(2, 1)]),
            (svc(443, "rr"), vec![rs(1, 1)]),
            (svc(8080, "rr"), vec![]),
        ]);
        let managed: BTreeSet<_> = [key(80), key(443)].into_iter().collect();
        let ops = diff(&want, &have, &managed);
        assert_eq!(
            ops,
            [
                Op::DelDest(key(80), ip("10.0.1.2"), 80),
                Op::DelService(key(443)),
            ],
            "8080 was never lvsd's: left alone"
        );
    }
}
