//! VRRP advertisement codec: VRRPv2 (RFC 3768) and VRRPv3 (RFC 5798), IPv4 and IPv6.
//!
//! The codec works on the VRRP message only (what follows the IP header, or the AH header).
//! The IPv4 layer (header and IPsec AH, which keepalived builds itself) lives in [`ipv4`].
//!
//! Layout of the codec (sans-IO: byte slices in, values and bytes out; nothing here panics on any
//! input):
//!
//! * [`peek`] reads the fixed first bytes ([`Header`]) so that a receiver can check the version,
//!   type and VRID before anything else;
//! * [`Advert::decode`] / [`Advert::encode`] handle the whole message (RFC 3768 §5.1,
//!   RFC 5798 §5.1), with [`DecodeError`] naming what is wrong;
//! * [`checksum_ok`] / [`vrrp_checksum`] are the VRRP checksums (RFC 3768 §5.3.8, RFC 5798 §5.2.8,
//!   built on the RFC 1071 Internet checksum in [`internet_checksum`]);
//! * [`ipv4`] parses and builds the IPv4 header keepalived writes itself, and carries the AH header;
//! * [`ah`] is keepalived's IPsec AH (HMAC-MD5-96, RFC 2402 / RFC 2403) for VRRPv2.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub mod ah;
mod checksum;
mod decode;
mod encode;
mod error;
mod header;
pub mod ipv4;

pub use ah::{ah_icv, hmac_md5_96, verify_ah, zeroes_ttl, AhOut, ICV_LEN};
pub use checksum::{checksum_ok, internet_checksum, vrrp_checksum};
pub use error::DecodeError;
pub use header::{peek, Header, ADVERT_TYPE, FIXED_LEN, V2_AUTH_LEN};
pub use ipv4::{build_ipv4, parse_ipv4, AhHeader, Ipv4Error, Ipv4Out, Ipv4Packet};

/// IP protocol number of VRRP.
pub const PROTO_VRRP: u8 = 112;
/// IP protocol number of IPsec AH.
pub const PROTO_AH: u8 = 51;
/// IPv4 multicast group of VRRP.
pub const GROUP_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// IPv6 multicast group of VRRP.
pub const GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Version {
    V2,
    V3,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Family {
    V4,
    V6,
}

/// The v2 authentication field (auth type + 8 bytes of auth data). Always `None` for v3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Auth {
    /// Auth type 0.
    None,
    /// Auth type 1: the password, NUL-padded to 8 bytes.
    Pass([u8; 8]),
    /// Auth type 2: IPsec AH carries the authentication; the 8 data bytes are zero.
    Ah,
    /// Any other auth type, with its data bytes (rejected by receive validation).
    Other(u8, [u8; 8]),
}

/// One decoded advertisement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advert {
    pub version: Version,
    pub vrid: u8,
    pub priority: u8,
    /// Advertisement interval in centiseconds. v2 carries whole seconds (1 s = 100 cs).
    pub interval_cs: u16,
    pub auth: Auth,
    /// The advertised addresses, all of the packet's family.
    pub addrs: Vec<IpAddr>,
}
