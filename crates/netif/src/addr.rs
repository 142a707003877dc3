//! Interface addresses: dump, primary address, idempotent add and delete of VIPs.

use crate::error::{Error, Result};
use crate::netlink::{is_errno, Netlink};
use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope, CacheInfo,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

/// An address configured on an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addr {
    pub ifindex: u32,
    /// The local address (`IFA_LOCAL`, or `IFA_ADDRESS` when there is no local one).
    pub addr: IpAddr,
    pub prefix_len: u8,
    /// The IPv4 label (`eth0:1`); the kernel reports the interface name when none was set.
    pub label: Option<String>,
    /// `IFA_F_SECONDARY` (IPv4: not the first address of its subnet).
    pub secondary: bool,
    /// `rtm_scope`-style scope: 0 global, 200 site, 253 link, 254 host.
    pub scope: u8,
    /// The peer of a point-to-point address (`IFA_ADDRESS` differing from `IFA_LOCAL`).
    pub peer: Option<IpAddr>,
    /// IPv6 duplicate address detection has not finished (`IFA_F_TENTATIVE`).
    pub tentative: bool,
}

impl Addr {
    pub(crate) fn from_message(m: &AddressMessage) -> Option<Addr> {
        let mut local = None;
        let mut address = None;
        let mut label = None;
        let mut flags = u32::from(m.header.flags.bits());
        for a in &m.attributes {
            match a {
                AddressAttribute::Local(ip) => local = Some(*ip),
                AddressAttribute::Address(ip) => address = Some(*ip),
                AddressAttribute::Label(l) => label = Some(l.clone()),
                AddressAttribute::Flags(f) => flags = f.bits(),
                _ => {}
            }
        }
        let addr = local.or(address)?;
        let peer = match (local, address) {
            (Some(l), Some(a)) if l != a => Some(a),
            _ => None,
        };
        Some(Addr {
            ifindex: m.header.index,
            addr,
            prefix_len: m.header.prefix_len,
            label,
            secondary: flags & AddressFlags::Secondary.bits() != 0,
            scope: u8::from(m.header.scope),
            peer,
            tentative: flags & AddressFlags::Tentative.bits() != 0,
        })
    }
}

/// An address to add (a VIP: keepalived's `virtual_ipaddress` line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrSpec {
    pub ifindex: u32,
    pub addr: IpAddr,
    pub prefix_len: u8,
    /// IPv4 broadcast address (`brd`); none is sent when `None`.
    pub broadcast: Option<Ipv4Addr>,
    /// IPv4 label (`label eth0:1`); ignored for IPv6, which has no labels.
    pub label: Option<String>,
    /// Address scope (0 global, 200 site, 253 link, 254 host); global when `None`.
    pub scope: Option<u8>,
    /// Peer of a point-to-point address.
    pub peer: Option<IpAddr>,
    /// `IFA_F_NODAD` (IPv6: skip duplicate address detection).
    pub nodad: bool,
    /// `IFA_F_NOPREFIXROUTE`: no prefix route for the address.
    pub noprefixroute: bool,
    /// Preferred lifetime in seconds (valid lifetime stays forever). keepalived uses 0 for an
    /// IPv6 /128 VIP so that it is never chosen as a source address.
    pub preferred_lft: Option<u32>,
}

impl AddrSpec {
    /// `addr/prefix_len` on `ifindex`, nothing else set.
    pub fn new(ifindex: u32, addr: IpAddr, prefix_len: u8) -> AddrSpec {
        AddrSpec {
            ifindex,
            addr,
            prefix_len,
            broadcast: None,
            label: None,
            scope: None,
            peer: None,
            nodad: false,
            noprefixroute: false,
            preferred_lft: None,
        }
    }

    /// The `AddressMessage` that adds this address.
    pub(crate) fn to_message(&self) -> Result<AddressMessage> {
        let op = || format!("add address {self}");
        let v6 = self.addr.is_ipv6();
        let max = if v6 { 128 } else { 32 };
        if self.prefix_len > max {
            return Err(Error::Invalid {
                op: op(),
                detail: format!("prefix length {} > {max}", self.prefix_len),
            });
        }
        if let Some(p) = self.peer {
            if p.is_ipv6() != v6 {
                return Err(Error::Invalid {
                    op: op(),
                    detail: format!("peer {p} is not of the address's family"),
                });
            }
        }
        let mut m = AddressMessage::default();
        m.header.family = if v6 {
            AddressFamily::Inet6
        } else {
            AddressFamily::Inet
        };
        m.header.prefix_len = self.prefix_len;
        m.header.index = self.ifindex;
        m.header.scope = AddressScope::from(self.scope.unwrap_or(0));
        let mut flags = AddressFlags::empty();
        if self.nodad {
            flags |= AddressFlags::Nodad;
        }
        if self.noprefixroute {
            flags |= AddressFlags::Noprefixroute;
        }
        m.header.flags = AddressHeaderFlags::from_bits_retain((flags.bits() & 0xff) as u8);
        m.attributes.push(AddressAttribute::Local(self.addr));
        m.attributes
            .push(AddressAttribute::Address(self.peer.unwrap_or(self.addr)));
        if !v6 {
            if let Some(b) = self.broadcast {
                m.attributes.push(AddressAttribute::Broadcast(b));
            }
            if let Some(l) = &self.label {
                m.attributes.push(AddressAttribute::Label(l.clone()));
            }
        } else if self.label.is_some() {
            tracing::debug!(target: "netif", "{self}: IPv6 addresses have no label, ignored");
        }
        if !flags.is_empty() {
            m.attributes.push(AddressAttribute::Flags(flags));
        }
        if let Some(p) = self.preferred_lft {
            let mut ci = CacheInfo::default();
            ci.ifa_preferred = p;
            ci.ifa_valid = u32::MAX;
            m.attributes.push(AddressAttribute::CacheInfo(ci));
        }
        Ok(m)
    }
}

impl fmt::Display for AddrSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{} on ifindex {}",
            self.addr, self.prefix_len, self.ifindex
        )?;
        if let Some(l) = &self.label {
            write!(f, " label {l}")?;
        }
        Ok(())
    }
}

fn is_link_local_v6(ip: &IpAddr) -> bool {
    matches!(ip, IpAddr::V6(a) if (a.segments()[0] & 0xffc0) == 0xfe80)
}

impl Netlink {
    /// Every address of every interface (IPv4 and IPv6).
    pub async fn addresses(&self) -> Result<Vec<Addr>> {
        let op = || "dump addresses".to_string();
        let replies = self
            .dump(
                RouteNetlinkMessage::GetAddress(AddressMessage::default()),
                &op,
            )
            .await?;
        Ok(replies
            .iter()
            .filter_map(|r| match r {
                RouteNetlinkMessage::NewAddress(m) => Addr::from_message(m),
                _ => None,
            })
            .collect())
    }

    /// The address keepalived uses as an interface's own: for IPv4 the first address that is
    /// not secondary, for IPv6 the link-local (fe80::/10) one (one past DAD preferred).
    pub async fn primary_address(&self, ifindex: u32, v6: bool) -> Result<Option<IpAddr>> {
        let all = self.addresses().await?;
        let mine = all
            .iter()
            .filter(|a| a.ifindex == ifindex && a.addr.is_ipv6() == v6);
        if v6 {
            let ll: Vec<&Addr> = mine.filter(|a| is_link_local_v6(&a.addr)).collect();
            Ok(ll
                .iter()
                .find(|a| !a.tentative)
                .or(ll.first())
                .map(|a| a.addr))
        } else {
            Ok(mine.into_iter().find(|a| !a.secondary).map(|a| a.addr))
        }
    }

    /// Adds an address. `Ok(false)` when it is already there (`EEXIST`).
    pub async fn add_address(&self, a: &AddrSpec) -> Result<bool> {
        let msg = a.to_message()?;
        let op = || format!("add address {a}");
        match self
            .request(
                RouteNetlinkMessage::NewAddress(msg),
                NLM_F_CREATE | NLM_F_EXCL,
                &op,
            )
            .await
        {
            Ok(_) => {
                tracing::debug!(target: "netif", "added address {a}");
                Ok(true)
            }
            Err(e) if is_errno(&e, &[libc::EEXIST]) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Deletes an address. `Ok(false)` when it is not there.
    pub async fn del_address(&self, ifindex: u32, addr: IpAddr, prefix_len: u8) -> Result<bool> {
        let mut m = AddressMessage::default();
        m.header.family = if addr.is_ipv6() {
            AddressFamily::Inet6
        } else {
            AddressFamily::Inet
        };
        m.header.prefix_len = prefix_len;
        m.header.index = ifindex;
        m.attributes.push(AddressAttribute::Local(addr));
        let op = || format!("delete address {addr}/{prefix_len} on ifindex {ifindex}");
        match self
            .request(RouteNetlinkMessage::DelAddress(m), 0, &op)
            .await
        {
            Ok(_) => {
                tracing::debug!(target: "netif", "deleted address {addr}/{prefix_len} on ifindex {ifindex}");
                Ok(true)
            }
            Err(e)
                if is_errno(
                    &e,
                    &[libc::EADDRNOTAVAIL, libc::ENOENT, libc::ESRCH, libc::ENODEV],
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_message_has_local_address_label_broadcast() {
        let mut s = AddrSpec::new(3, "10.0.0.5".parse().unwrap(), 24);
        s.label = Some("eth0:1".into());
        s.broadcast = Some("10.0.0.255".parse().unwrap());
        let m = s.to_message().unwrap();
        assert_eq!(m.header.family, AddressFamily::Inet);
        assert_eq!(m.header.index, 3);
        assert_eq!(m.header.prefix_len, 24);
        assert!(m
            .attributes
            .contains(&AddressAttribute::Local("10.0.0.5".parse().unwrap())));
        assert!(m
            .attributes
            .contains(&AddressAttribute::Address("10.0.0.5".parse().unwrap())));
        assert!(m
            .attributes
            .contains(&AddressAttribute::Label("eth0:1".into())));
        assert!(m
            .attributes
            .contains(&AddressAttribute::Broadcast("10.0.0.255".parse().unwrap())));
        assert!(!m
            .attributes
            .iter()
            .any(|a| matches!(a, AddressAttribute::Flags(_))));
    }

    #[test]
    fn v6_message_flags_and_lifetime() {
        let mut s = AddrSpec::new(2, "2001:db8::7".parse().unwrap(), 128);
        s.nodad = true;
        s.noprefixroute = true;
        s.preferred_lft = Some(0);
        s.label = Some("ignored".into());
        let m = s.to_message().unwrap();
        assert_eq!(m.header.family, AddressFamily::Inet6);
        assert!(m.attributes.contains(&AddressAttribute::Flags(
            AddressFlags::Nodad | AddressFlags::Noprefixroute
        )));
        assert!(m
            .attributes
            .iter()
            .any(|a| matches!(a, AddressAttribute::CacheInfo(c) if c.ifa_preferred == 0 && c.ifa_valid == u32::MAX)));
        assert!(!m
            .attributes
            .iter()
            .any(|a| matches!(a, AddressAttribute::Label(_))));
    }

    #[test]
    fn bad_specs() {
        let s = AddrSpec::new(2, "10.0.0.1".parse().unwrap(), 33);
        assert!(s.to_message().is_err());
        let mut s = AddrSpec::new(2, "10.0.0.1".parse().unwrap(), 32);
        s.peer = Some("::1".parse().unwrap());
        assert!(s.to_message().is_err());
    }

    #[test]
    fn parse_dumped_address() {
        let mut m = AddressMessage::default();
        m.header.family = AddressFamily::Inet;
        m.header.index = 4;
        m.header.prefix_len = 24;
        m.header.flags = AddressHeaderFlags::Secondary;
        m.attributes
            .push(AddressAttribute::Address("10.1.1.2".parse().unwrap()));
        m.attributes
            .push(AddressAttribute::Local("10.1.1.2".parse().unwrap()));
        m.attributes.push(AddressAttribute::Label("eth0:1".into()));
        let a = Addr::from_message(&m).unwrap();
        assert_eq!(a.addr, "10.1.1.2".parse::<IpAddr>().unwrap());
        assert!(a.secondary);
        assert_eq!(a.peer, None);
        assert_eq!(a.label.as_deref(), Some("eth0:1"));
        assert!(is_link_local_v6(&"fe80::1".parse().unwrap()));
        assert!(!is_link_local_v6(&"fec0::1".parse().unwrap()));
    }
}
