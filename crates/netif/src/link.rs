//! Interfaces (links): index, name, state, MAC, MTU.

use crate::error::Result;
use crate::netlink::{is_errno, Netlink};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::RouteNetlinkMessage;

/// One network interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    /// Administratively up (`IFF_UP`) and with carrier (`IFF_LOWER_UP`).
    pub up: bool,
    /// The hardware address when it is a 6-byte (Ethernet) one.
    pub mac: Option<[u8; 6]>,
    pub mtu: u32,
}

impl Link {
    pub(crate) fn from_message(m: &LinkMessage) -> Link {
        let mut link = Link {
            index: m.header.index,
            name: String::new(),
            up: m.header.flags.contains(LinkFlags::Up)
                && m.header.flags.contains(LinkFlags::LowerUp),
            mac: None,
            mtu: 0,
        };
        for a in &m.attributes {
            match a {
                LinkAttribute::IfName(n) => link.name = n.clone(),
                LinkAttribute::Address(b) => {
                    link.mac = <[u8; 6]>::try_from(b.as_slice()).ok();
                }
                LinkAttribute::Mtu(mtu) => link.mtu = *mtu,
                _ => {}
            }
        }
        link
    }
}

impl Netlink {
    /// The interface named `name`, or `None` if there is none.
    pub async fn link_by_name(&self, name: &str) -> Result<Option<Link>> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        self.get_link(msg, &|| format!("get link {name}")).await
    }

    /// The interface with index `index`, or `None` if there is none.
    pub async fn link_by_index(&self, index: u32) -> Result<Option<Link>> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        self.get_link(msg, &|| format!("get link #{index}")).await
    }

    /// One RTM_GETLINK; "no such device" is `None`, not an error.
    async fn get_link(
        &self,
        msg: LinkMessage,
        op: &(dyn Fn() -> String + Sync),
    ) -> Result<Option<Link>> {
        match self.request(RouteNetlinkMessage::GetLink(msg), 0, op).await {
            Ok(replies) => Ok(replies.iter().find_map(|r| match r {
                RouteNetlinkMessage::NewLink(m) => Some(Link::from_message(m)),
                _ => None,
            })),
            Err(e) if is_errno(&e, &[libc::ENODEV, libc::ENOENT]) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every interface.
    pub async fn links(&self) -> Result<Vec<Link>> {
        let op = || "dump links".to_string();
        let replies = self
            .dump(RouteNetlinkMessage::GetLink(LinkMessage::default()), &op)
            .await?;
        Ok(replies
            .iter()
            .filter_map(|r| match r {
                RouteNetlinkMessage::NewLink(m) => Some(Link::from_message(m)),
                _ => None,
            })
            .collect())
    }
}
