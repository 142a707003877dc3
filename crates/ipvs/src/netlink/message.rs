//! Netlink framing: the request header, and the messages of a received datagram.
//!
//! `struct nlmsghdr` is `u32 len, u16 type, u16 flags, u32 seq, u32 pid` in host order;
//! `struct genlmsghdr` is `u8 cmd, u8 version, u16 reserved`.

use netlink_packet_core::{ErrorBuffer, NetlinkBuffer};

use super::attr::{align4, get_str, table};
use super::consts::{
    GENL_HDRLEN, GENL_VERSION, NLMSGERR_ATTR_MSG, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN,
    NLMSG_NOOP, NLMSG_OVERRUN, NLM_F_ACK_TLVS, NLM_F_CAPPED,
};
use super::error::DecodeError;

/// A generic netlink request: nlmsghdr + genlmsghdr (version 1) + `attrs`.
/// The port id is 0 (the kernel fills in the sender's).
pub fn encode_request(family: u16, cmd: u8, flags: u16, seq: u32, attrs: &[u8]) -> Vec<u8> {
    let len = NLMSG_HDRLEN + GENL_HDRLEN + attrs.len();
    let mut b = Vec::with_capacity(len);
    b.extend_from_slice(&(len as u32).to_ne_bytes());
    b.extend_from_slice(&family.to_ne_bytes());
    b.extend_from_slice(&flags.to_ne_bytes());
    b.extend_from_slice(&seq.to_ne_bytes());
    b.extend_from_slice(&0u32.to_ne_bytes());
    b.push(cmd);
    b.push(GENL_VERSION);
    b.extend_from_slice(&[0, 0]);
    b.extend_from_slice(attrs);
    b
}

/// One netlink message of a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    pub kind: u16,
    pub flags: u16,
    pub seq: u32,
    pub port: u32,
    /// What follows the nlmsghdr.
    pub payload: &'a [u8],
}

/// What a message means to the IPVS client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply<'a> {
    /// A generic netlink message of the IPVS family: its command and attributes.
    Data { cmd: u8, attrs: &'a [u8] },
    /// NLMSG_ERROR with error 0: the request succeeded.
    Ack,
    /// NLMSG_ERROR with a (positive) errno, and the extended-ack text if any.
    Error { errno: i32, ext_msg: Option<String> },
    /// NLMSG_DONE: the end of a dump (an errno if the dump failed midway).
    Done { errno: i32 },
    /// NLMSG_NOOP / NLMSG_OVERRUN / a message of another family.
    Other(u16),
}

/// The messages of a received datagram.
pub fn messages(buf: &[u8]) -> Messages<'_> {
    Messages { buf, pos: 0 }
}

pub struct Messages<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<Message<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let rest = &self.buf[self.pos..];
        let nl = match NetlinkBuffer::new_checked(rest) {
            Ok(nl) => nl,
            Err(e) => {
                self.pos = self.buf.len();
                return Some(Err(DecodeError::new(format!("netlink header: {e}"))));
            }
        };
        // new_checked: NLMSG_HDRLEN <= length <= rest.len().
        let len = nl.length() as usize;
        let msg = Message {
            kind: nl.message_type(),
            flags: nl.flags(),
            seq: nl.sequence_number(),
            port: nl.port_number(),
            payload: &rest[NLMSG_HDRLEN..len],
        };
        self.pos = self.pos.saturating_add(align4(len));
        Some(Ok(msg))
    }
}

impl<'a> Message<'a> {
    /// Interprets the message; `family` is the IPVS family id.
    pub fn reply(&self, family: u16) -> Result<Reply<'a>, DecodeError> {
        match self.kind {
            NLMSG_ERROR => {
                let eb = ErrorBuffer::new_checked(self.payload)
                    .map_err(|e| DecodeError::new(format!("NLMSG_ERROR: {e}")))?;
                match eb.code() {
                    None => Ok(Reply::Ack),
                    Some(code) => Ok(Reply::Error {
                        errno: code.get().saturating_abs(),
                        ext_msg: self.ext_ack_msg(),
                    }),
                }
            }
            NLMSG_DONE => {
                let errno = match self.payload.get(..4) {
                    Some(b) => i32::from_ne_bytes([b[0], b[1], b[2], b[3]]).saturating_abs(),
                    None => 0,
                };
                Ok(Reply::Done { errno })
            }
            NLMSG_NOOP | NLMSG_OVERRUN => Ok(Reply::Other(self.kind)),
            k if k == family => {
                if self.payload.len() < GENL_HDRLEN {
                    return Err(DecodeError::length(
                        "genetlink header",
                        GENL_HDRLEN,
                        self.payload.len(),
                    ));
                }
                Ok(Reply::Data {
                    cmd: self.payload[0],
                    attrs: &self.payload[GENL_HDRLEN..],
                })
            }
            k => Ok(Reply::Other(k)),
        }
    }

    /// The NLMSGERR_ATTR_MSG text of an NLMSG_ERROR carrying extended-ack TLVs.
    fn ext_ack_msg(&self) -> Option<String> {
        if self.flags & NLM_F_ACK_TLVS == 0 {
            return None;
        }
        // int error, then the echoed request: only its header when capped.
        let echoed = if self.flags & NLM_F_CAPPED != 0 {
            NLMSG_HDRLEN
        } else {
            let b = self.payload.get(4..8)?;
            u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as usize
        };
        let tlvs = self
            .payload
            .get(4usize.checked_add(echoed.checked_add(3)? & !3)?..)?;
        let t = table::<2>(tlvs).ok()?;
        t[NLMSGERR_ATTR_MSG as usize].and_then(|v| get_str("extack", v).ok())
    }
}
