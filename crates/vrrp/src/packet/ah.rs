//! IPsec AH for VRRPv2, the way keepalived does it (`authentication { auth_type AH }`).
//!
//! RFC 3768 §5.3.6 lists IP Authentication Header as VRRPv2 authentication type 2; RFC 2338 §10.3
//! described it in detail. keepalived implements it without an IPsec stack, in the VRRP daemon:
//!
//! * the AH header (RFC 2402 §2) sits between the IPv4 header (protocol 51) and the VRRP message,
//!   whose own authentication type is 2 with 8 zero data bytes;
//! * next header 112, payload length 4, reserved 0;
//! * SPI = the sender's IPv4 source address (a receiver drops a packet whose SPI differs from its
//!   source address, after checking the ICV);
//! * sequence number: a per-instance counter starting at 0 and incremented before each advert, so
//!   the first advert carries 1; a receiver accepts only a sequence number greater than the
//!   highest it has seen (RFC 2402 §3.4.3 anti-replay);
//! * ICV = HMAC-MD5 (RFC 2104) truncated to its first 96 bits (RFC 2403 §2), keyed with the
//!   `auth_pass` NUL-padded (or truncated) to 8 bytes, computed over: the IPv4 header with TOS,
//!   flags + fragment offset and header checksum zeroed, and the TTL zeroed too **only for a
//!   unicast instance** (a multicast advert is authenticated with its TTL of 255: keepalived's
//!   variation on RFC 2402 §3.3.3.1.1.1, which treats the TTL as mutable); then the AH header with
//!   the ICV zeroed; then the VRRP message. The identification, total length, protocol and
//!   addresses are covered.
//!
//! A keepalived instance sends to its unicast peers exactly when it is a unicast instance, so the
//! TTL rule follows from the packet's destination: zeroed when it is not multicast
//! ([`zeroes_ttl`]). [`build_ipv4`](super::build_ipv4) and [`verify_ah`] apply that rule;
//! [`ah_icv`] takes it as an argument.
//!
//! Since HMAC pads its key with zero bytes to the MD5 block size (RFC 2104 §2), the 8-byte
//! NUL-padded key and the bare password give the same ICV; the key is passed as bytes here.

use std::net::Ipv4Addr;

use hmac::{Hmac, Mac};
use md5::Md5;

use super::ipv4::{parse_ipv4, AhHeader, Ipv4Packet, AH_HEADER_LEN, IPV4_HEADER_LEN};

type HmacMd5 = Hmac<Md5>;

/// Length of the HMAC-MD5-96 ICV (RFC 2403 §2).
pub const ICV_LEN: usize = 12;

/// What [`build_ipv4`](super::build_ipv4) needs to add keepalived's AH header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AhOut<'k> {
    /// The HMAC key: keepalived's `auth_pass`, NUL-padded to 8 bytes (or the bare password).
    pub key: &'k [u8],
    /// Security Parameters Index: keepalived uses the IPv4 source address (`u32::from(src)`).
    pub spi: u32,
    /// Sequence number: 1 for the first advert, then +1 per advert.
    pub seq: u32,
}

/// Whether keepalived's ICV zeroes the TTL of an advert sent to `dst`: for a unicast
/// destination (a unicast instance), not for a multicast one.
pub fn zeroes_ttl(dst: Ipv4Addr) -> bool {
    !dst.is_multicast()
}

/// HMAC-MD5 (RFC 2104) of the concatenation of `parts`, truncated to its first 96 bits
/// (HMAC-MD5-96, RFC 2403 §2).
pub fn hmac_md5_96(key: &[u8], parts: &[&[u8]]) -> [u8; ICV_LEN] {
    let Ok(mut mac) = HmacMd5::new_from_slice(key) else {
        return [0; ICV_LEN]; // unreachable: HMAC accepts keys of any length
    };
    for p in parts {
        mac.update(p);
    }
    truncate(&mac.finalize().into_bytes())
}

fn truncate(digest: &[u8]) -> [u8; ICV_LEN] {
    let mut icv = [0u8; ICV_LEN];
    if let Some(d) = digest.get(..ICV_LEN) {
        icv.copy_from_slice(d);
    }
    icv
}

/// The keyed MAC state after the ICV's input: the IPv4 header with the mutable fields zeroed, the
/// AH header with the ICV zeroed, the VRRP message.
fn icv_mac(
    key: &[u8],
    ip_header: &[u8],
    ah: &AhHeader,
    vrrp: &[u8],
    zero_ttl: bool,
) -> Option<HmacMd5> {
    let mut mac = HmacMd5::new_from_slice(key).ok()?;
    let mut fixed = [0u8; IPV4_HEADER_LEN];
    let n = ip_header.len().min(IPV4_HEADER_LEN);
    if let (Some(dst), Some(src)) = (fixed.get_mut(..n), ip_header.get(..n)) {
        dst.copy_from_slice(src);
    }
    fixed[1] = 0; // TOS
    fixed[6] = 0; // flags + fragment offset
    fixed[7] = 0;
    if zero_ttl {
        fixed[8] = 0;
    }
    fixed[10] = 0; // header checksum
    fixed[11] = 0;
    mac.update(fixed.get(..n).unwrap_or_default());
    // IPv4 options, if any, are covered as they are (keepalived sends none).
    mac.update(ip_header.get(IPV4_HEADER_LEN..).unwrap_or_default());
    let mut a = ah.to_bytes();
    if let Some(icv) = a.get_mut(AH_HEADER_LEN - ICV_LEN..) {
        icv.fill(0);
    }
    mac.update(&a);
    mac.update(vrrp);
    Some(mac)
}

/// The ICV of an AH-protected advert: HMAC-MD5-96 keyed with `key`, over `ip_header` (the IPv4
/// header as sent, options included) with TOS, flags + fragment offset, header checksum and, when
/// `zero_ttl` (keepalived: unicast instances), TTL zeroed; the AH header `ah` with its ICV
/// zeroed (its `icv` field is ignored); and the VRRP message `vrrp`.
pub fn ah_icv(
    key: &[u8],
    ip_header: &[u8],
    ah: &AhHeader,
    vrrp: &[u8],
    zero_ttl: bool,
) -> [u8; ICV_LEN] {
    icv_mac(key, ip_header, ah, vrrp, zero_ttl)
        .map_or([0; ICV_LEN], |m| truncate(&m.finalize().into_bytes()))
}

/// Computes `ah.icv` for the packet being built to `dst`.
pub(crate) fn fill_icv(
    out: &AhOut<'_>,
    dst: Ipv4Addr,
    ip_header: &[u8],
    ah: &mut AhHeader,
    vrrp: &[u8],
) {
    ah.icv = ah_icv(out.key, ip_header, ah, vrrp, zeroes_ttl(dst));
}

/// Whether the IPv4 packet `pkt` (as the raw socket delivered it, IPv4 header first) is a valid
/// AH-protected advert for `key`: it parses ([`parse_ipv4`]), carries AH, and its ICV is right
/// (compared in constant time), the TTL zeroed for the ICV when the destination is unicast
/// ([`zeroes_ttl`]).
///
/// Only the ICV is checked: the SPI ([`AhHeader::spi_is_source`]) and the sequence number
/// (anti-replay state) are the receiver's to check after it.
pub fn verify_ah(pkt: &[u8], key: &[u8]) -> bool {
    parse_ipv4(pkt).is_ok_and(|p| p.verify_ah(key))
}

impl Ipv4Packet<'_> {
    /// Whether this packet carries AH with a right ICV for `key` (see [`verify_ah`]); `false`
    /// without AH. The comparison is constant-time.
    pub fn verify_ah(&self, key: &[u8]) -> bool {
        self.verify_ah_ttl(key, zeroes_ttl(self.dst))
    }

    /// [`verify_ah`](Self::verify_ah) with the TTL rule given: `zero_ttl` as for [`ah_icv`].
    pub fn verify_ah_ttl(&self, key: &[u8], zero_ttl: bool) -> bool {
        let Some(ah) = &self.ah else {
            return false;
        };
        icv_mac(key, self.header, ah, self.vrrp, zero_ttl)
            .is_some_and(|m| m.verify_truncated_left(&ah.icv).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::ipv4::{build_ipv4, Ipv4Out, AH_PAYLOAD_LEN};
    use crate::packet::{internet_checksum, Advert, Auth, Family, Version, PROTO_AH, PROTO_VRRP};
    use std::net::{IpAddr, Ipv4Addr};

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 2202 §2, the seven HMAC-MD5 test cases, truncated to 96 bits.
    #[test]
    fn rfc2202_hmac_md5_vectors() {
        let cases: [(Vec<u8>, Vec<u8>, &str); 7] = [
            (
                vec![0x0b; 16],
                b"Hi There".to_vec(),
                "9294727a3638bb1c13f48ef8158bfc9d",
            ),
            (
                b"Jefe".to_vec(),
                b"what do ya want for nothing?".to_vec(),
                "750c783e6ab0b503eaa86e310a5db738",
            ),
            (
                vec![0xaa; 16],
                vec![0xdd; 50],
                "56be34521d144c88dbb8c733f0e8b3f6",
            ),
            (
                (1..=25).collect(),
                vec![0xcd; 50],
                "697eaf0aca3a3aea3a75164746ffaa79",
            ),
            (
                vec![0x0c; 16],
                b"Test With Truncation".to_vec(),
                "56461ef2342edc00f9bab995690efd4c",
            ),
            (
                vec![0xaa; 80],
                b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
                "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd",
            ),
            (
                vec![0xaa; 80],
                b"Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data"
                    .to_vec(),
                "6f630fad67cda0ee1fb1f562db3aa53e",
            ),
        ];
        for (key, data, digest) in cases {
            let want = hex(digest);
            assert_eq!(hmac_md5_96(&key, &[&data]), want[..12], "key {key:02x?}");
            // Split input gives the same MAC.
            let (a, b) = data.split_at(data.len() / 2);
            assert_eq!(hmac_md5_96(&key, &[a, b]), want[..12]);
        }
        // RFC 2202 test case 5 spells out the 96-bit truncation.
        assert_eq!(
            hmac_md5_96(&[0x0c; 16], &[b"Test With Truncation"]).to_vec(),
            hex("56461ef2342edc00f9bab995")
        );
    }

    #[test]
    fn nul_padded_key_equals_the_bare_password() {
        let data: &[&[u8]] = &[b"advert"];
        assert_eq!(
            hmac_md5_96(b"s3cret\0\0", data),
            hmac_md5_96(b"s3cret", data)
        );
    }

    /// An AH advert from 10.99.0.1 to the multicast group, or (unicast) to 10.99.0.2.
    fn ah_packet(unicast: bool) -> Vec<u8> {
        let src = Ipv4Addr::new(10, 99, 0, 1);
        let dst = if unicast {
            Ipv4Addr::new(10, 99, 0, 2)
        } else {
            crate::packet::GROUP_V4
        };
        let advert = Advert {
            version: Version::V2,
            vrid: 51,
            priority: 100,
            interval_cs: 100,
            auth: Auth::Ah,
            addrs: vec![IpAddr::from([10, 99, 0, 100])],
        };
        let mut vrrp = Vec::new();
        advert.encode(None, &mut vrrp);
        let mut pkt = Vec::new();
        build_ipv4(
            &Ipv4Out::keepalived(src, dst, 7),
            &vrrp,
            Some(AhOut {
                key: b"s3cret\0\0",
                spi: u32::from(src),
                seq: 1,
            }),
            &mut pkt,
        );
        pkt
    }

    #[test]
    fn build_parse_verify_round_trip() {
        for zero_ttl in [false, true] {
            let pkt = ah_packet(zero_ttl);
            assert_eq!(pkt.len(), 20 + 24 + 20);
            assert_eq!(zeroes_ttl(parse_ipv4(&pkt).unwrap().dst), zero_ttl);
            assert_eq!((pkt[9], pkt[3]), (PROTO_AH, 64));
            let p = parse_ipv4(&pkt).unwrap();
            let ah = p.ah.unwrap();
            assert_eq!(
                (ah.next_header, ah.payload_len, ah.reserved, ah.seq),
                (PROTO_VRRP, AH_PAYLOAD_LEN, 0, 1)
            );
            assert!(ah.spi_is_source(p.src));
            assert_eq!(&pkt[20..24], &[112, 4, 0, 0]);
            assert_eq!(&pkt[24..28], &[10, 99, 0, 1]);
            let a = Advert::decode(p.vrrp, Family::V4).unwrap();
            assert_eq!(a.auth, Auth::Ah);
            assert!(p.verify_ah(b"s3cret"));
            assert!(p.verify_ah_ttl(b"s3cret", zero_ttl));
            assert!(verify_ah(&pkt, b"s3cret\0\0"));
            assert!(!verify_ah(&pkt, b"s3cres"));
            // The two TTL rules authenticate a TTL of 255 differently.
            assert!(!p.verify_ah_ttl(b"s3cret", !zero_ttl));
            let icv = ah_icv(b"s3cret", p.header, &ah, p.vrrp, zero_ttl);
            assert_eq!(icv, ah.icv);
        }
    }

    /// Fixes the IPv4 header checksum after a change, as a forger could.
    fn fix_ip_checksum(pkt: &mut [u8]) {
        pkt[10] = 0;
        pkt[11] = 0;
        let c = internet_checksum(&pkt[..20]).to_be_bytes();
        pkt[10..12].copy_from_slice(&c);
    }

    #[test]
    fn any_tampered_byte_fails() {
        for zero_ttl in [false, true] {
            let pkt = ah_packet(zero_ttl);
            for i in 0..pkt.len() {
                for bit in 0..8 {
                    let mut t = pkt.clone();
                    t[i] ^= 1 << bit;
                    // Without fixing anything: the header checksum, a parse check or the ICV.
                    assert!(!verify_ah(&t, b"s3cret"), "byte {i} bit {bit}");
                    // With the IPv4 checksum fixed: only the mutable fields may change.
                    if i < 20 && i != 10 && i != 11 {
                        fix_ip_checksum(&mut t);
                    }
                    let mutable = matches!(i, 1 | 6 | 7 | 10 | 11) || (zero_ttl && i == 8);
                    let parses = parse_ipv4(&t).is_ok();
                    let ok = parse_ipv4(&t).is_ok_and(|p| p.verify_ah_ttl(b"s3cret", zero_ttl));
                    if mutable && parses {
                        assert!(ok, "mutable byte {i} bit {bit}");
                    } else {
                        assert!(!ok, "byte {i} bit {bit}");
                    }
                }
            }
            // Truncated at every length: never valid, never a panic.
            for len in 0..pkt.len() {
                assert!(!verify_ah(&pkt[..len], b"s3cret"));
            }
        }
    }

    #[test]
    fn no_ah_no_verify() {
        let mut vrrp = Vec::new();
        Advert {
            version: Version::V2,
            vrid: 1,
            priority: 1,
            interval_cs: 100,
            auth: Auth::None,
            addrs: vec![],
        }
        .encode(None, &mut vrrp);
        let mut pkt = Vec::new();
        build_ipv4(
            &Ipv4Out::keepalived(Ipv4Addr::new(10, 0, 0, 1), crate::packet::GROUP_V4, 1),
            &vrrp,
            None,
            &mut pkt,
        );
        assert!(!verify_ah(&pkt, b""));
    }
}
