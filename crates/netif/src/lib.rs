//! Linux network I/O for lvsd's VRRP engine.
//!
//! - [`VrrpSocket`]: raw IPv4/IPv6 sockets for VRRP (protocol 112) and AH (51) adverts.
//! - [`Netlink`]: rtnetlink links, addresses (VIPs), routes and rules, and link/address
//!   [events](Netlink::events).
//! - [`GarpSocket`]: gratuitous ARP and unsolicited neighbour advertisements.
//!
//! Everything is async on tokio (the engine runs a current-thread runtime on its own thread)
//! and works in the network namespace of the thread that creates it.

mod addr;
mod error;
mod events;
pub mod garp;
mod link;
mod neigh;
mod netlink;
mod route;
mod rule;
mod sys;
mod vrrp_socket;
mod words;

pub use addr::{Addr, AddrSpec};
pub use error::{os_errno, Error, IoContext, ParseError, Result};
pub use events::NetEvent;
pub use garp::{arp_frame, na_frame, na_packet, send_garp, send_unsolicited_na, GarpSocket};
pub use link::Link;
pub use neigh::Neighbour;
pub use netlink::Netlink;
pub use route::{parse_route, RouteKind, RouteSpec, RTPROT_KEEPALIVED};
pub use rule::{parse_rule, RuleAction, RuleSpec};
pub use sys::{ifindex, ifname};
pub use vrrp_socket::{Recv6, VrrpSocket, IPPROTO_AH, IPPROTO_VRRP, VRRP_GROUP_V4, VRRP_GROUP_V6};
pub use words::{Family, Prefix};

/// The futures of the public async API are `Send` (the daemon may `tokio::spawn` them).
#[cfg(test)]
mod send_check {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    fn is_send<T: Send>(_: T) {}

    #[allow(dead_code, unused_must_use)]
    async fn all_send(nl: &Netlink, s: &VrrpSocket, g: &GarpSocket, r: &RouteSpec, u: &RuleSpec) {
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let mut buf = [0u8; 16];
        is_send(nl.links());
        is_send(nl.link_by_name("x"));
        is_send(nl.link_by_index(1));
        is_send(nl.addresses());
        is_send(nl.primary_address(1, false));
        is_send(nl.add_address(&AddrSpec::new(1, ip, 32)));
        is_send(nl.del_address(1, ip, 32));
        is_send(nl.add_route(r));
        is_send(nl.del_route(r));
        is_send(nl.add_rule(u));
        is_send(nl.del_rule(u));
        is_send(nl.events());
        is_send(nl.neighbours());
        is_send(s.recv_v4(&mut buf));
        is_send(s.send_v4(&[], Ipv4Addr::LOCALHOST));
        is_send(s.recv_v6(&mut buf));
        is_send(s.send_v6(&[], Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST, 0));
        is_send(g.send_garp(1, [0; 6], Ipv4Addr::LOCALHOST));
        is_send(g.send_unsolicited_na(1, [0; 6], Ipv6Addr::LOCALHOST));
    }
}
