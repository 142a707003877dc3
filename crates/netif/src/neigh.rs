//! The neighbour table (ARP / NDP cache): which link-layer address an IP address has.

use crate::error::Result;
use crate::netlink::Netlink;
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourMessage, NeighbourState,
};
use netlink_packet_route::RouteNetlinkMessage;
use std::net::IpAddr;

/// One entry of the neighbour table that has an Ethernet address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbour {
    pub ifindex: u32,
    pub ip: IpAddr,
    pub mac: [u8; 6],
    /// Confirmed recently (`REACHABLE`, `PERMANENT`, `NOARP`), as opposed to `STALE` and the
    /// like, which still name the last address the host answered with.
    pub confirmed: bool,
}

impl Neighbour {
    fn from_message(m: &NeighbourMessage) -> Option<Neighbour> {
        if matches!(
            m.header.state,
            NeighbourState::Incomplete | NeighbourState::Failed | NeighbourState::None
        ) {
            return None;
        }
        let mut ip = None;
        let mut mac = None;
        for a in &m.attributes {
            match a {
                NeighbourAttribute::Destination(NeighbourAddress::Inet(v4)) => {
                    ip = Some(IpAddr::V4(*v4))
                }
                NeighbourAttribute::Destination(NeighbourAddress::Inet6(v6)) => {
                    ip = Some(IpAddr::V6(*v6))
                }
                NeighbourAttribute::LinkLayerAddress(b) if b.len() == 6 => {
                    mac = <[u8; 6]>::try_from(b.as_slice()).ok()
                }
                _ => {}
            }
        }
        Some(Neighbour {
            ifindex: m.header.ifindex,
            ip: ip?,
            mac: mac.filter(|m| *m != [0; 6])?,
            confirmed: matches!(
                m.header.state,
                NeighbourState::Reachable | NeighbourState::Permanent | NeighbourState::Noarp
            ),
        })
    }
}

impl Netlink {
    /// Every IPv4 and IPv6 neighbour entry with an Ethernet address (incomplete and failed
    /// entries are left out).
    pub async fn neighbours(&self) -> Result<Vec<Neighbour>> {
        let op = || "dump neighbours".to_string();
        let replies = self
            .dump(
                RouteNetlinkMessage::GetNeighbour(NeighbourMessage::default()),
                &op,
            )
            .await?;
        Ok(replies
            .iter()
            .filter_map(|r| match r {
                RouteNetlinkMessage::NewNeighbour(m) => Neighbour::from_message(m),
                _ => None,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_route::AddressFamily;
    use std::net::Ipv4Addr;

    fn msg(state: NeighbourState, lladdr: &[u8]) -> NeighbourMessage {
        let mut m = NeighbourMessage::default();
        m.header.family = AddressFamily::Inet;
        m.header.ifindex = 3;
        m.header.state = state;
        m.attributes
            .push(NeighbourAttribute::Destination(NeighbourAddress::Inet(
                Ipv4Addr::new(10, 0, 0, 2),
            )));
        m.attributes
            .push(NeighbourAttribute::LinkLayerAddress(lladdr.to_vec()));
        m
    }

    #[test]
    fn entries_with_a_mac_are_kept_and_incomplete_ones_dropped() {
        let mac = [0x52, 0x54, 0, 1, 2, 3];
        let n = Neighbour::from_message(&msg(NeighbourState::Stale, &mac)).unwrap();
        assert_eq!(n.ip, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)));
        assert_eq!((n.ifindex, n.mac, n.confirmed), (3, mac, false));
        assert!(
            Neighbour::from_message(&msg(NeighbourState::Reachable, &mac))
                .unwrap()
                .confirmed
        );
        assert_eq!(
            Neighbour::from_message(&msg(NeighbourState::Incomplete, &mac)),
            None
        );
        assert_eq!(
            Neighbour::from_message(&msg(NeighbourState::Failed, &mac)),
            None
        );
        // no link-layer address (a tunnel) or an all-zero one: nothing to learn
        assert_eq!(
            Neighbour::from_message(&msg(NeighbourState::Reachable, &[1, 2, 3, 4])),
            None
        );
        assert_eq!(
            Neighbour::from_message(&msg(NeighbourState::Reachable, &[0; 6])),
            None
        );
    }
}
