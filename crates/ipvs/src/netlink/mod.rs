//! The IPVS generic netlink family: message codec and a blocking client.
//!
//! * [`Request`]: every request lvsd sends, with [`Request::encode`] giving its bytes
//!   (pure: golden tests need no kernel);
//! * parsers of the kernel's answers from bytes: [`messages`] splits a datagram,
//!   [`Message::reply`] classifies a message, [`parse_service_msg`], [`parse_dest_msg`],
//!   [`parse_daemon_msg`], [`parse_info`], [`parse_timeouts`] read the attributes;
//! * [`IpvsSocket`]: the client (family resolution, requests, dumps, pipelined [`Op`]s);
//! * [`Error`]: kernel errnos explained with the object concerned.
//!
//! The wire format is the kernel's `include/uapi/linux/ip_vs.h` (see [`consts`]); what the
//! kernel requires and answers is from `net/netfilter/ipvs/ip_vs_ctl.c`.

mod attr;
mod config;
pub mod consts;
mod daemon;
mod dest;
mod error;
mod family;
mod message;
mod op;
mod request;
mod service;
mod socket;
mod stats;

pub use config::{parse_info, parse_timeouts, Info};
pub use daemon::{parse_daemon, parse_daemon_msg};
pub use dest::{parse_dest, parse_dest_msg, DestCounters};
pub use error::{
    describe_addr, describe_service, errno_name, explain, DecodeError, Error, MODPROBE_HINT,
};
pub use family::{encode_get_family, parse_get_family_reply, FamilyReply, GENL_ID_CTRL};
pub use message::{encode_request, messages, Message, Messages, Reply};
pub use op::Op;
pub use request::Request;
pub use service::{parse_service, parse_service_msg};
pub use socket::{IpvsSocket, Snapshot};
