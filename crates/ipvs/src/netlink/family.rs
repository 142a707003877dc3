//! Resolving the "IPVS" family id with nlctrl's CTRL_CMD_GETFAMILY (the request is built
//! with netlink-packet-generic).

use netlink_packet_core::{NetlinkMessage, NLM_F_REQUEST};
use netlink_packet_generic::ctrl::nlas::GenlCtrlAttrs;
use netlink_packet_generic::ctrl::{GenlCtrl, GenlCtrlCmd};
use netlink_packet_generic::GenlMessage;

use super::attr::{get_u16, table};
use super::consts::{GENL_HDRLEN, NLMSG_ERROR};
use super::error::DecodeError;
use super::message::{messages, Reply};

/// nlctrl's fixed family id (`GENL_ID_CTRL`).
pub const GENL_ID_CTRL: u16 = 0x10;
/// `CTRL_ATTR_FAMILY_ID`.
const CTRL_ATTR_FAMILY_ID: u16 = 1;

/// The answer to CTRL_CMD_GETFAMILY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FamilyReply {
    /// The family's id (the nlmsg_type of its messages).
    Id(u16),
    /// An errno (positive); ENOENT: no such family in this kernel.
    Errno(i32),
}

/// A CTRL_CMD_GETFAMILY request for `name`.
pub fn encode_get_family(name: &str, seq: u32) -> Vec<u8> {
    let mut genl = GenlMessage::from_payload(GenlCtrl {
        cmd: GenlCtrlCmd::GetFamily,
        nlas: vec![GenlCtrlAttrs::FamilyName(name.to_owned())],
    });
    genl.finalize();
    let mut nl = NetlinkMessage::from(genl);
    nl.header.flags = NLM_F_REQUEST;
    nl.header.sequence_number = seq;
    nl.finalize();
    let mut buf = vec![0; nl.buffer_len()];
    nl.serialize(&mut buf);
    buf
}

/// Parses the first message of the answer to [`encode_get_family`].
///
/// Read by hand rather than with netlink-packet-generic's `GenlCtrl` parser: a property
/// test found malformed nlctrl attributes that make that parser panic (an unchecked
/// `NlaBuffer::value`), and all we need is CTRL_ATTR_FAMILY_ID.
pub fn parse_get_family_reply(buf: &[u8]) -> Result<FamilyReply, DecodeError> {
    parse_by_hand(buf)
}

fn parse_by_hand(buf: &[u8]) -> Result<FamilyReply, DecodeError> {
    let msg = messages(buf)
        .next()
        .ok_or_else(|| DecodeError::new("empty nlctrl reply"))??;
    if msg.kind == NLMSG_ERROR {
        return match msg.reply(GENL_ID_CTRL)? {
            Reply::Error { errno, .. } => Ok(FamilyReply::Errno(errno)),
            _ => Err(DecodeError::new("nlctrl acknowledged without a reply")),
        };
    }
    if msg.kind != GENL_ID_CTRL || msg.payload.len() < GENL_HDRLEN {
        return Err(DecodeError::new("unexpected nlctrl reply"));
    }
    let t = table::<{ CTRL_ATTR_FAMILY_ID as usize + 1 }>(&msg.payload[GENL_HDRLEN..])?;
    let id = t[CTRL_ATTR_FAMILY_ID as usize]
        .ok_or_else(|| DecodeError::new("nlctrl reply without a family id"))?;
    Ok(FamilyReply::Id(get_u16("family id", id)?))
}
