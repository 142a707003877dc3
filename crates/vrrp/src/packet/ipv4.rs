//! The IPv4 layer of a VRRP advert, as keepalived writes and reads it.
//!
//! keepalived sends IPv4 adverts on a raw socket with `IP_HDRINCL`, writing the IPv4 header
//! (RFC 791 §3.1) itself, and its raw socket hands it back the whole IPv4 packet on receive. What
//! it writes, confirmed byte for byte against captures of keepalived 2.2.7:
//!
//! * version 4, IHL 5 (no options);
//! * TOS 0xc0 (precedence "internetwork control");
//! * total length: IPv4 header + (AH header) + VRRP message;
//! * identification: a per-instance counter that keepalived increments before each advert, so
//!   its first advert carries 1 (0 is skipped: the kernel would fill in its own);
//! * flags and fragment offset 0 (no DF);
//! * TTL 255 (RFC 3768 §5.2.3, RFC 5798 §5.1.1.3);
//! * protocol 112 (VRRP), or 51 (AH) when VRRPv2 uses `auth_type AH`;
//! * header checksum: left 0 by keepalived and filled in by the kernel, so the wire carries the
//!   RFC 791 checksum, which [`build_ipv4`] computes;
//! * source: the instance's address; destination 224.0.0.18 or the unicast peer.
//!
//! With AH (RFC 2402 §2, keepalived's VRRPv2 `auth_type AH`) a 24-byte AH header sits between the
//! IPv4 header and the VRRP message: next header 112, payload length 4 (the AH length in 32-bit
//! words minus 2, for a 96-bit ICV), reserved 0, SPI, sequence number, 12-byte ICV. See
//! [`ah`](super::ah) for the ICV (whose TTL rule depends on the destination).

use std::net::Ipv4Addr;

use super::ah::{fill_icv, AhOut, ICV_LEN};
use super::checksum::{fold, sum};
use super::{internet_checksum, PROTO_AH, PROTO_VRRP};

/// Length of an IPv4 header without options (IHL 5).
pub const IPV4_HEADER_LEN: usize = 20;
/// Length of keepalived's AH header: 12 fixed bytes and a 96-bit ICV (RFC 2402 §2).
pub const AH_HEADER_LEN: usize = 12 + ICV_LEN;
/// The AH "payload length" field for a 96-bit ICV: (12 + 12) / 4 - 2 (RFC 2402 §2.2).
pub const AH_PAYLOAD_LEN: u8 = 4;
/// keepalived's IPv4 TOS: precedence 6, internetwork control.
pub const TOS_NETWORK_CONTROL: u8 = 0xc0;
/// The TTL / hop limit VRRP sends and (for multicast) requires (RFC 5798 §5.1.1.3).
pub const VRRP_TTL: u8 = 255;

/// An IPsec AH header as keepalived writes it (RFC 2402 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AhHeader {
    /// Protocol of what follows: 112 (VRRP).
    pub next_header: u8,
    /// Length of the AH header in 32-bit words minus 2: 4 for keepalived's 96-bit ICV.
    pub payload_len: u8,
    /// Reserved, zero.
    pub reserved: u16,
    /// Security Parameters Index. keepalived puts the sender's IPv4 source address there and
    /// requires that on receive (see [`spi_is_source`](Self::spi_is_source)).
    pub spi: u32,
    /// Sequence number (RFC 2402 §2.5), anti-replay.
    pub seq: u32,
    /// Integrity Check Value: HMAC-MD5-96 (RFC 2403).
    pub icv: [u8; ICV_LEN],
}

impl AhHeader {
    /// Reads the 24-byte AH header at the start of `buf`; `None` when `buf` is shorter.
    pub fn parse(buf: &[u8]) -> Option<AhHeader> {
        let b: &[u8; AH_HEADER_LEN] = buf.get(..AH_HEADER_LEN)?.try_into().ok()?;
        let [nh, pl, r0, r1, s0, s1, s2, s3, q0, q1, q2, q3, icv @ ..] = *b;
        Some(AhHeader {
            next_header: nh,
            payload_len: pl,
            reserved: u16::from_be_bytes([r0, r1]),
            spi: u32::from_be_bytes([s0, s1, s2, s3]),
            seq: u32::from_be_bytes([q0, q1, q2, q3]),
            icv,
        })
    }

    /// The header's 24 bytes.
    pub fn to_bytes(&self) -> [u8; AH_HEADER_LEN] {
        let mut b = [0u8; AH_HEADER_LEN];
        b[0] = self.next_header;
        b[1] = self.payload_len;
        b[2..4].copy_from_slice(&self.reserved.to_be_bytes());
        b[4..8].copy_from_slice(&self.spi.to_be_bytes());
        b[8..12].copy_from_slice(&self.seq.to_be_bytes());
        b[12..].copy_from_slice(&self.icv);
        b
    }

    /// keepalived's SPI check: the SPI must equal the packet's IPv4 source address (keepalived
    /// sets the SPI to its source address, having no SA negotiation for multicast).
    pub fn spi_is_source(&self, src: Ipv4Addr) -> bool {
        self.spi == u32::from(src)
    }
}

/// A received IPv4 packet carrying VRRP (possibly behind AH), borrowed from the receive buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Packet<'a> {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    /// TTL: VRRP requires 255 on multicast (RFC 3768 §7.1, RFC 5798 §7.1).
    pub ttl: u8,
    pub tos: u8,
    pub id: u16,
    /// The flags and fragment offset field (0 for every VRRP advert keepalived sends).
    pub flags_fragment: u16,
    /// 112 (VRRP) or 51 (AH).
    pub protocol: u8,
    /// The IPv4 header, options included (IHL × 4 bytes).
    pub header: &'a [u8],
    /// The AH header, when `protocol` is 51.
    pub ah: Option<AhHeader>,
    /// The VRRP message: after the IPv4 (and AH) header, up to the IPv4 total length (any
    /// Ethernet padding beyond it is not part of it).
    pub vrrp: &'a [u8],
}

/// Why an IPv4 packet was not accepted as carrying VRRP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Ipv4Error {
    /// Shorter than a 20-byte IPv4 header.
    #[error("IPv4 packet truncated: {len} bytes")]
    Truncated { len: usize },
    /// The version nibble is not 4.
    #[error("not IPv4: version {0}")]
    Version(u8),
    /// IHL below 5 words, or a header longer than the packet.
    #[error("bad IPv4 header length {ihl_bytes} bytes (packet {len} bytes)")]
    HeaderLength { ihl_bytes: usize, len: usize },
    /// The header checksum does not verify (RFC 791 §3.1).
    #[error("bad IPv4 header checksum")]
    HeaderChecksum,
    /// Total length shorter than the header or longer than the bytes received.
    #[error("bad IPv4 total length {total} (header {ihl_bytes}, received {len} bytes)")]
    TotalLength {
        total: usize,
        ihl_bytes: usize,
        len: usize,
    },
    /// A fragment (MF set or a fragment offset): adverts are never fragmented.
    #[error("IPv4 fragment")]
    Fragment,
    /// Neither VRRP (112) nor AH (51).
    #[error("IP protocol {0} is neither VRRP nor AH")]
    Protocol(u8),
    /// Protocol AH but fewer than 24 bytes after the IPv4 header.
    #[error("AH header truncated: {len} bytes after the IPv4 header")]
    AhTruncated { len: usize },
    /// AH payload length other than 4 (a 96-bit ICV).
    #[error("AH payload length {0}, 4 expected (HMAC-MD5-96)")]
    AhLength(u8),
    /// AH next header other than 112.
    #[error("AH next header {0}, VRRP (112) expected")]
    AhNextHeader(u8),
}

impl Ipv4Error {
    /// Every name [`reason`](Self::reason) can return.
    pub const REASONS: [&'static str; 10] = [
        "ip-truncated",
        "ip-version",
        "ip-header-length",
        "ip-header-checksum",
        "ip-total-length",
        "ip-fragment",
        "ip-protocol",
        "ah-truncated",
        "ah-length",
        "ah-next-header",
    ];

    /// A stable kebab-case name for this kind of error (a drop-counter key).
    pub fn reason(&self) -> &'static str {
        match self {
            Ipv4Error::Truncated { .. } => "ip-truncated",
            Ipv4Error::Version(_) => "ip-version",
            Ipv4Error::HeaderLength { .. } => "ip-header-length",
            Ipv4Error::HeaderChecksum => "ip-header-checksum",
            Ipv4Error::TotalLength { .. } => "ip-total-length",
            Ipv4Error::Fragment => "ip-fragment",
            Ipv4Error::Protocol(_) => "ip-protocol",
            Ipv4Error::AhTruncated { .. } => "ah-truncated",
            Ipv4Error::AhLength(_) => "ah-length",
            Ipv4Error::AhNextHeader(_) => "ah-next-header",
        }
    }
}

#[inline]
fn be16(b: &[u8], at: usize) -> u16 {
    match b.get(at..at + 2) {
        Some(&[hi, lo]) => u16::from_be_bytes([hi, lo]),
        _ => 0,
    }
}

#[inline]
fn addr(b: &[u8], at: usize) -> Ipv4Addr {
    match b.get(at..at + 4) {
        Some(&[a, b, c, d]) => Ipv4Addr::new(a, b, c, d),
        _ => Ipv4Addr::UNSPECIFIED,
    }
}

/// Parses an IPv4 packet as a raw socket delivers it (RFC 791 §3.1), checking in this order: at
/// least 20 bytes, version 4, IHL ≥ 5 and within the packet (options are skipped, not read), the
/// header checksum, total length within the bytes received (bytes beyond it — Ethernet padding —
/// are dropped), not a fragment, protocol 112 or 51; with AH, a whole 24-byte AH header with
/// payload length 4 and next header 112.
///
/// Neither the TTL nor the addresses are judged here; the AH ICV is checked by
/// [`Ipv4Packet::verify_ah`].
pub fn parse_ipv4(pkt: &[u8]) -> Result<Ipv4Packet<'_>, Ipv4Error> {
    let len = pkt.len();
    let Some(&first) = pkt.first().filter(|_| len >= IPV4_HEADER_LEN) else {
        return Err(Ipv4Error::Truncated { len });
    };
    if first >> 4 != 4 {
        return Err(Ipv4Error::Version(first >> 4));
    }
    let ihl_bytes = usize::from(first & 0x0f) * 4;
    let header = match pkt.get(..ihl_bytes) {
        Some(h) if ihl_bytes >= IPV4_HEADER_LEN => h,
        _ => return Err(Ipv4Error::HeaderLength { ihl_bytes, len }),
    };
    if fold(sum(0, header)) != 0xffff {
        return Err(Ipv4Error::HeaderChecksum);
    }
    let total = usize::from(be16(pkt, 2));
    let payload = match pkt.get(ihl_bytes..total) {
        Some(p) => p,
        None => {
            return Err(Ipv4Error::TotalLength {
                total,
                ihl_bytes,
                len,
            })
        }
    };
    let flags_fragment = be16(pkt, 6);
    if flags_fragment & 0x3fff != 0 {
        return Err(Ipv4Error::Fragment);
    }
    let protocol = header.get(9).copied().unwrap_or_default();
    let (ah, vrrp) = match protocol {
        PROTO_VRRP => (None, payload),
        PROTO_AH => {
            let ah =
                AhHeader::parse(payload).ok_or(Ipv4Error::AhTruncated { len: payload.len() })?;
            if ah.payload_len != AH_PAYLOAD_LEN {
                return Err(Ipv4Error::AhLength(ah.payload_len));
            }
            if ah.next_header != PROTO_VRRP {
                return Err(Ipv4Error::AhNextHeader(ah.next_header));
            }
            (Some(ah), payload.get(AH_HEADER_LEN..).unwrap_or_default())
        }
        p => return Err(Ipv4Error::Protocol(p)),
    };
    Ok(Ipv4Packet {
        src: addr(header, 12),
        dst: addr(header, 16),
        ttl: header.get(8).copied().unwrap_or_default(),
        tos: header.get(1).copied().unwrap_or_default(),
        id: be16(header, 4),
        flags_fragment,
        protocol,
        header,
        ah,
        vrrp,
    })
}

/// The variable fields of the IPv4 header of an advert to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Out {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    /// [`VRRP_TTL`] (255); keepalived lets a unicast instance configure another TTL.
    pub ttl: u8,
    /// keepalived sends [`TOS_NETWORK_CONTROL`] (0xc0).
    pub tos: u8,
    /// Identification: keepalived counts 1, 2, 3, … per instance.
    pub id: u16,
}

impl Ipv4Out {
    /// keepalived's header fields: TOS 0xc0, TTL 255, with the given addresses and id.
    pub fn keepalived(src: Ipv4Addr, dst: Ipv4Addr, id: u16) -> Ipv4Out {
        Ipv4Out {
            src,
            dst,
            ttl: VRRP_TTL,
            tos: TOS_NETWORK_CONTROL,
            id,
        }
    }
}

/// Appends to `out` the IPv4 packet keepalived would send for the VRRP message `vrrp` (as
/// [`Advert::encode`](super::Advert::encode) wrote it): the 20-byte IPv4 header (see the module
/// documentation for every field; the header checksum is filled in as the kernel would), then,
/// with `ah`, the AH header with its ICV (protocol 51; see [`ah`](super::ah)), then the message.
pub fn build_ipv4(ip: &Ipv4Out, vrrp: &[u8], ah: Option<AhOut<'_>>, out: &mut Vec<u8>) {
    let ah_len = if ah.is_some() { AH_HEADER_LEN } else { 0 };
    let total = IPV4_HEADER_LEN + ah_len + vrrp.len();
    out.reserve(total);
    let [tl0, tl1] = u16::try_from(total).unwrap_or(u16::MAX).to_be_bytes();
    let [id0, id1] = ip.id.to_be_bytes();
    let [s0, s1, s2, s3] = ip.src.octets();
    let [d0, d1, d2, d3] = ip.dst.octets();
    let protocol = if ah.is_some() { PROTO_AH } else { PROTO_VRRP };
    let mut hdr = [
        0x45, ip.tos, tl0, tl1, id0, id1, 0, 0, ip.ttl, protocol, 0, 0, s0, s1, s2, s3, d0, d1, d2,
        d3,
    ];
    let [c0, c1] = internet_checksum(&hdr).to_be_bytes();
    hdr[10] = c0;
    hdr[11] = c1;
    out.extend_from_slice(&hdr);
    if let Some(ah) = ah {
        let mut h = AhHeader {
            next_header: PROTO_VRRP,
            payload_len: AH_PAYLOAD_LEN,
            reserved: 0,
            spi: ah.spi,
            seq: ah.seq,
            icv: [0; ICV_LEN],
        };
        fill_icv(&ah, ip.dst, &hdr, &mut h, vrrp);
        out.extend_from_slice(&h.to_bytes());
    }
    out.extend_from_slice(vrrp);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first advert of the vrrp2 capture (dir1 → 224.0.0.18).
    const PKT: [u8; 40] = [
        0x45, 0xc0, 0x00, 0x28, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0xd0, 0x2e, 10, 99, 0, 1, 224,
        0, 0, 18, 0x21, 0x33, 0x64, 0x01, 0x00, 0x01, 0x70, 0x03, 10, 99, 0, 100, 0, 0, 0, 0, 0, 0,
        0, 0,
    ];

    #[test]
    fn parses_and_rebuilds_a_captured_packet() {
        let mut padded = PKT.to_vec();
        padded.extend_from_slice(&[0; 6]); // Ethernet padding to 60 bytes
        let p = parse_ipv4(&padded).unwrap();
        assert_eq!(p.src, Ipv4Addr::new(10, 99, 0, 1));
        assert_eq!(p.dst, Ipv4Addr::new(224, 0, 0, 18));
        assert_eq!((p.ttl, p.tos, p.id, p.flags_fragment), (255, 0xc0, 1, 0));
        assert_eq!(p.vrrp, &PKT[20..]);
        assert_eq!(p.ah, None);
        let mut out = Vec::new();
        build_ipv4(
            &Ipv4Out::keepalived(p.src, p.dst, 1),
            p.vrrp,
            None,
            &mut out,
        );
        assert_eq!(out, PKT);
    }

    #[test]
    fn rejects_in_order() {
        assert_eq!(
            parse_ipv4(&PKT[..19]),
            Err(Ipv4Error::Truncated { len: 19 })
        );
        let mut b = PKT;
        b[0] = 0x65;
        assert_eq!(parse_ipv4(&b), Err(Ipv4Error::Version(6)));
        b[0] = 0x44;
        assert_eq!(
            parse_ipv4(&b),
            Err(Ipv4Error::HeaderLength {
                ihl_bytes: 16,
                len: 40
            })
        );
        b[0] = 0x4f;
        assert_eq!(
            parse_ipv4(&b),
            Err(Ipv4Error::HeaderLength {
                ihl_bytes: 60,
                len: 40
            })
        );
        let mut b = PKT;
        b[8] = 1; // TTL changed, checksum not fixed
        assert_eq!(parse_ipv4(&b), Err(Ipv4Error::HeaderChecksum));
        let fix = |b: &mut [u8; 40]| {
            b[10] = 0;
            b[11] = 0;
            let c = internet_checksum(&b[..20]).to_be_bytes();
            b[10..12].copy_from_slice(&c);
        };
        let mut b = PKT;
        b[3] = 41;
        fix(&mut b);
        assert_eq!(
            parse_ipv4(&b),
            Err(Ipv4Error::TotalLength {
                total: 41,
                ihl_bytes: 20,
                len: 40
            })
        );
        let mut b = PKT;
        b[6] = 0x20; // MF
        fix(&mut b);
        assert_eq!(parse_ipv4(&b), Err(Ipv4Error::Fragment));
        let mut b = PKT;
        b[6] = 0x40; // DF is fine
        fix(&mut b);
        assert!(parse_ipv4(&b).is_ok());
        let mut b = PKT;
        b[9] = 17;
        fix(&mut b);
        assert_eq!(parse_ipv4(&b), Err(Ipv4Error::Protocol(17)));
        let mut b = PKT;
        b[9] = PROTO_AH;
        fix(&mut b);
        assert_eq!(parse_ipv4(&b), Err(Ipv4Error::AhTruncated { len: 20 }));
    }

    #[test]
    fn honours_ihl() {
        // The same packet with 4 bytes of options (a NOP and an end-of-options list).
        let mut b = Vec::new();
        b.extend_from_slice(&PKT[..20]);
        b.extend_from_slice(&[1, 0, 0, 0]);
        b.extend_from_slice(&PKT[20..]);
        b[0] = 0x46;
        b[3] = 44;
        b[10] = 0;
        b[11] = 0;
        let c = internet_checksum(&b[..24]).to_be_bytes();
        b[10..12].copy_from_slice(&c);
        let p = parse_ipv4(&b).unwrap();
        assert_eq!(p.header.len(), 24);
        assert_eq!(p.vrrp, &PKT[20..]);
    }

    #[test]
    fn reasons_are_distinct() {
        let mut r = Ipv4Error::REASONS.to_vec();
        r.sort_unstable();
        r.dedup();
        assert_eq!(r.len(), Ipv4Error::REASONS.len());
        assert_eq!(Ipv4Error::Fragment.reason(), "ip-fragment");
    }
}
