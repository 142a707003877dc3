//! The rtnetlink handle: one connection task on the current tokio runtime, requests and dumps.

use crate::error::{Error, Result};
use futures::StreamExt;
use netlink_packet_core::{NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};
use netlink_packet_route::RouteNetlinkMessage;
use std::io;

/// A connection to the kernel's routing netlink (links, addresses, routes, rules).
///
/// Created in (and bound to) the network namespace of the calling thread; its connection task
/// runs on the current tokio runtime.
#[derive(Debug, Clone)]
pub struct Netlink {
    pub(crate) handle: rtnetlink::Handle,
}

impl Netlink {
    /// Opens a netlink socket and spawns its connection task on the current tokio runtime.
    pub fn new() -> io::Result<Netlink> {
        let rt = tokio::runtime::Handle::try_current().map_err(|e| {
            io::Error::other(format!("rtnetlink connection needs a tokio runtime: {e}"))
        })?;
        let (conn, handle, _unsolicited) = rtnetlink::new_connection()
            .map_err(|e| crate::error::ctx(e, "open rtnetlink socket"))?;
        rt.spawn(conn);
        Ok(Netlink { handle })
    }

    /// Sends a request with `NLM_F_ACK` (and `extra_flags`) and collects the replies. A kernel
    /// error becomes [`Error::Netlink`] with its errno.
    pub(crate) async fn request(
        &self,
        msg: RouteNetlinkMessage,
        extra_flags: u16,
        op: &(dyn Fn() -> String + Sync),
    ) -> Result<Vec<RouteNetlinkMessage>> {
        self.send(msg, NLM_F_REQUEST | NLM_F_ACK | extra_flags, op)
            .await
    }

    /// A dump request (`NLM_F_DUMP`).
    pub(crate) async fn dump(
        &self,
        msg: RouteNetlinkMessage,
        op: &(dyn Fn() -> String + Sync),
    ) -> Result<Vec<RouteNetlinkMessage>> {
        self.send(msg, NLM_F_REQUEST | NLM_F_DUMP, op).await
    }

    async fn send(
        &self,
        msg: RouteNetlinkMessage,
        flags: u16,
        op: &(dyn Fn() -> String + Sync),
    ) -> Result<Vec<RouteNetlinkMessage>> {
        let mut req = NetlinkMessage::from(msg);
        req.header.flags = flags;
        let mut handle = self.handle.clone();
        let mut replies = handle
            .request(req)
            .map_err(|_| Error::Closed { op: op() })?;
        let mut out = Vec::new();
        while let Some(reply) = replies.next().await {
            match reply.payload {
                NetlinkPayload::InnerMessage(m) => out.push(m),
                NetlinkPayload::Error(e) if e.code.is_some() => {
                    return Err(Error::Netlink {
                        op: op(),
                        source: e.to_io(),
                    });
                }
                NetlinkPayload::Overrun(_) => {
                    return Err(Error::Unexpected {
                        op: op(),
                        detail: "netlink overrun".into(),
                    })
                }
                // Acks, Done, Noop.
                _ => {}
            }
        }
        Ok(out)
    }
}

/// True when `e` is a kernel error with one of `errnos`.
pub(crate) fn is_errno(e: &Error, errnos: &[i32]) -> bool {
    e.errno().is_some_and(|n| errnos.contains(&n))
}
