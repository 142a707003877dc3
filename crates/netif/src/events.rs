//! Link and address events (`ip monitor link address`) on a netlink socket of their own.

use crate::addr::Addr;
use crate::error::{Error, Result};
use crate::link::Link;
use crate::netlink::Netlink;
use futures::StreamExt;
use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::RouteNetlinkMessage;
use rtnetlink::MulticastGroup;
use std::collections::HashMap;
use tokio::sync::mpsc;

/// A change of an interface or of an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetEvent {
    /// An interface appeared, changed its name or state, or was removed (then `up` is false).
    /// `up`: `IFF_UP` and `IFF_LOWER_UP`. Sent once per change, not for every netlink message
    /// about the link.
    Link {
        index: u32,
        name: String,
        up: bool,
    },
    AddrAdded(Addr),
    AddrRemoved(Addr),
}

/// The last `(name, up)` reported for each link, so that only changes are reported.
type Seen = HashMap<u32, (String, bool)>;

fn link_event(seen: &mut Seen, l: Link) -> Option<NetEvent> {
    let now = (l.name.clone(), l.up);
    if seen.get(&l.index) == Some(&now) {
        return None;
    }
    seen.insert(l.index, now);
    Some(NetEvent::Link {
        index: l.index,
        name: l.name,
        up: l.up,
    })
}

/// What one netlink notification means.
enum Notification {
    Event(NetEvent),
    Overrun,
    Nothing,
}

fn convert(seen: &mut Seen, msg: NetlinkMessage<RouteNetlinkMessage>) -> Notification {
    let ev = match msg.payload {
        NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(m)) => {
            link_event(seen, Link::from_message(&m))
        }
        NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelLink(m)) => {
            let l = Link::from_message(&m);
            seen.remove(&l.index);
            Some(NetEvent::Link {
                index: l.index,
                name: l.name,
                up: false,
            })
        }
        NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewAddress(m)) => {
            Addr::from_message(&m).map(NetEvent::AddrAdded)
        }
        NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelAddress(m)) => {
            Addr::from_message(&m).map(NetEvent::AddrRemoved)
        }
        NetlinkPayload::Overrun(_) => return Notification::Overrun,
        NetlinkPayload::Error(e) if e.code.is_some() => {
            tracing::warn!(target: "netif", "netlink event socket: {}", e.to_io());
            None
        }
        _ => None,
    };
    ev.map_or(Notification::Nothing, Notification::Event)
}

/// After lost notifications: the links' current state, as events for what changed since the
/// last report (links gone are reported down).
fn resync_links(seen: &mut Seen, links: Vec<Link>) -> Vec<NetEvent> {
    let present: Vec<u32> = links.iter().map(|l| l.index).collect();
    let mut out: Vec<NetEvent> = links
        .into_iter()
        .filter_map(|l| link_event(seen, l))
        .collect();
    let gone: Vec<u32> = seen
        .keys()
        .filter(|i| !present.contains(i))
        .copied()
        .collect();
    for index in gone {
        if let Some((name, _)) = seen.remove(&index) {
            out.push(NetEvent::Link {
                index,
                name,
                up: false,
            });
        }
    }
    out
}

impl Netlink {
    /// Subscribes to link, IPv4 address and IPv6 address notifications on a new netlink socket
    /// (in the calling thread's network namespace). A task on the current tokio runtime turns
    /// them into [`NetEvent`]s; it ends when the receiver is dropped or the socket fails (the
    /// channel then closes).
    ///
    /// When the kernel drops notifications (socket overrun) the task re-reads the links and
    /// reports what changed; lost address notifications are logged, not replayed.
    pub async fn events(&self) -> Result<mpsc::UnboundedReceiver<NetEvent>> {
        let op = || "subscribe to link and address events".to_string();
        let rt = tokio::runtime::Handle::try_current().map_err(|e| Error::Invalid {
            op: op(),
            detail: format!("needs a tokio runtime: {e}"),
        })?;
        let (conn, _handle, mut messages) = rtnetlink::new_multicast_connection(&[
            MulticastGroup::Link,
            MulticastGroup::Ipv4Ifaddr,
            MulticastGroup::Ipv6Ifaddr,
        ])
        .map_err(|source| Error::Netlink { op: op(), source })?;
        let conn_task = rt.spawn(conn);
        let (tx, rx) = mpsc::unbounded_channel();
        let nl = self.clone();
        rt.spawn(async move {
            let mut seen = Seen::new();
            while let Some((msg, _from)) = messages.next().await {
                let events = match convert(&mut seen, msg) {
                    Notification::Event(ev) => vec![ev],
                    Notification::Nothing => continue,
                    Notification::Overrun => {
                        tracing::warn!(target: "netif",
                            "netlink events lost (overrun): links re-read, address changes may be missed");
                        match nl.links().await {
                            Ok(links) => resync_links(&mut seen, links),
                            Err(e) => {
                                tracing::error!(target: "netif", "after overrun: {e}");
                                continue;
                            }
                        }
                    }
                };
                for ev in events {
                    if tx.send(ev).is_err() {
                        conn_task.abort();
                        return;
                    }
                }
            }
            tracing::warn!(target: "netif", "netlink event socket closed");
        });
        Ok(rx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};

    fn link_msg(index: u32, name: &str, flags: LinkFlags) -> NetlinkMessage<RouteNetlinkMessage> {
        let mut m = LinkMessage::default();
        m.header.index = index;
        m.header.flags = flags;
        m.attributes.push(LinkAttribute::IfName(name.into()));
        NetlinkMessage::from(RouteNetlinkMessage::NewLink(m))
    }

    fn ev(seen: &mut Seen, m: NetlinkMessage<RouteNetlinkMessage>) -> Option<NetEvent> {
        match convert(seen, m) {
            Notification::Event(e) => Some(e),
            _ => None,
        }
    }

    fn link(index: u32, name: &str, up: bool) -> NetEvent {
        NetEvent::Link {
            index,
            name: name.into(),
            up,
        }
    }

    #[test]
    fn link_events_only_on_change() {
        let mut seen = Seen::new();
        let up = LinkFlags::Up | LinkFlags::LowerUp;
        assert_eq!(
            ev(&mut seen, link_msg(3, "eth0", up)),
            Some(link(3, "eth0", true))
        );
        assert_eq!(ev(&mut seen, link_msg(3, "eth0", up)), None);
        // Admin up without carrier is down.
        assert_eq!(
            ev(&mut seen, link_msg(3, "eth0", LinkFlags::Up)),
            Some(link(3, "eth0", false))
        );
        // A removed link is down.
        let mut m = LinkMessage::default();
        m.header.index = 3;
        m.attributes.push(LinkAttribute::IfName("eth0".into()));
        let del = NetlinkMessage::from(RouteNetlinkMessage::DelLink(m));
        assert_eq!(ev(&mut seen, del), Some(link(3, "eth0", false)));
        assert!(seen.is_empty());
    }

    #[test]
    fn resync_reports_changes_and_vanished_links() {
        let mut seen = Seen::new();
        seen.insert(2, ("eth0".into(), true));
        seen.insert(3, ("eth1".into(), true));
        let l = |index, name: &str, up| Link {
            index,
            name: name.into(),
            up,
            mac: None,
            mtu: 1500,
        };
        let out = resync_links(&mut seen, vec![l(2, "eth0", true), l(4, "eth2", false)]);
        assert_eq!(out, vec![link(4, "eth2", false), link(3, "eth1", false)]);
        assert!(!seen.contains_key(&3));
    }
}
