//! The Internet checksum (RFC 1071) and the VRRP checksums built on it.
//!
//! * VRRPv2 (RFC 3768 §5.3.8): over the whole VRRP message, authentication data included.
//! * VRRPv3 over IPv4 (RFC 5798 §5.2.8): over the IPv4 pseudo-header (source, destination, a zero
//!   byte, protocol 112, VRRP length: RFC 768's layout) followed by the VRRP message.
//! * VRRPv3 over IPv6 (RFC 5798 §5.2.8): over the IPv6 pseudo-header of RFC 8200 §8.1 (source,
//!   destination, 32-bit upper-layer length, three zero bytes, next header 112) and the message.
//!
//! keepalived's `v3_checksum_as_v2` option computes the v3 checksum without the pseudo-header;
//! callers ask for that with `pseudo = None`.
//!
//! The sum is a one's-complement sum kept in a `u64` with end-around carry, fed 8 bytes at a time
//! (RFC 1071 §2 (B): the sum is independent of the word size and of byte order as long as the
//! words are read in network order). No allocation, no per-byte loop.

use std::net::IpAddr;

use super::{Version, PROTO_VRRP};

/// One's-complement addition in 64 bits (end-around carry).
#[inline(always)]
fn add(acc: u64, x: u64) -> u64 {
    let (s, carry) = acc.overflowing_add(x);
    s + u64::from(carry)
}

/// Adds `data` to a running one's-complement sum. `data` must start at an even offset of the
/// checksummed stream (true of every caller: the pseudo-headers are 12 and 40 bytes long); an odd
/// final byte is padded with a zero byte on the right (RFC 1071 §4.1).
#[inline]
pub(crate) fn sum(mut acc: u64, data: &[u8]) -> u64 {
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        acc = add(acc, <[u8; 8]>::try_from(c).map_or(0, u64::from_be_bytes));
    }
    let rest = chunks.remainder();
    // At most 7 bytes remain: place them in the high bytes of one more 64-bit word.
    let mut last = [0u8; 8];
    if let Some(dst) = last.get_mut(..rest.len()) {
        dst.copy_from_slice(rest);
    }
    add(acc, u64::from_be_bytes(last))
}

/// Folds a 64-bit one's-complement sum to 16 bits (not complemented).
#[inline]
pub(crate) fn fold(acc: u64) -> u16 {
    let s = (acc & 0xffff_ffff) + (acc >> 32); // < 2^33
    let s = (s & 0xffff_ffff) + (s >> 32); // < 2^32
    let s = (s & 0xffff) + (s >> 16); // < 2^17
    let s = (s & 0xffff) + (s >> 16); // <= 0xffff
    s as u16
}

/// The Internet checksum of `data` (RFC 1071): the one's complement of the one's-complement sum
/// of its 16-bit words. Computed over a message whose checksum field is zero, it is the value to
/// store in that field; over a message with a correct checksum, it is 0.
pub fn internet_checksum(data: &[u8]) -> u16 {
    !fold(sum(0, data))
}

/// The sum of the pseudo-header for a VRRPv3 message of `len` bytes, if `pseudo` asks for one.
/// `Err(())` when the two addresses are of different families (no valid pseudo-header exists).
#[inline]
fn pseudo_sum(pseudo: Option<(IpAddr, IpAddr)>, len: usize) -> Result<u64, ()> {
    match pseudo {
        None => Ok(0),
        Some((IpAddr::V4(src), IpAddr::V4(dst))) => {
            // src(4) dst(4) zero(1) protocol(1) length(2): two 32-bit words and one more.
            let len16 = (len & 0xffff) as u64;
            let acc = add(u64::from(u32::from(src)), u64::from(u32::from(dst)));
            Ok(add(acc, (u64::from(PROTO_VRRP) << 16) | len16))
        }
        Some((IpAddr::V6(src), IpAddr::V6(dst))) => {
            // src(16) dst(16) length(4) zero(3) next header(1).
            let acc = sum(sum(0, &src.octets()), &dst.octets());
            let len32 = (len & 0xffff_ffff) as u64;
            Ok(add(acc, (len32 << 32) | u64::from(PROTO_VRRP)))
        }
        Some(_) => Err(()),
    }
}

/// The checksum to store in a VRRP message (`buf`, with its checksum field zero): for
/// [`Version::V2`] over the message alone (`pseudo` is not used); for [`Version::V3`] over the
/// pseudo-header of `pseudo = Some((source, destination))` and the message, or over the message
/// alone when `pseudo` is `None` (keepalived's `v3_checksum_as_v2`).
///
/// Mixed address families in `pseudo` have no pseudo-header: the v2-style sum is returned, which
/// [`checksum_ok`] will never accept with that `pseudo`.
pub fn vrrp_checksum(buf: &[u8], version: Version, pseudo: Option<(IpAddr, IpAddr)>) -> u16 {
    let acc = match version {
        Version::V2 => 0,
        Version::V3 => pseudo_sum(pseudo, buf.len()).unwrap_or(0),
    };
    !fold(sum(acc, buf))
}

/// Whether the checksum of the VRRP message `buf` (exactly the message: no IP header, no padding)
/// is correct, with the same rules as [`vrrp_checksum`]. `false` when `pseudo` mixes address
/// families (for v3).
pub fn checksum_ok(buf: &[u8], version: Version, pseudo: Option<(IpAddr, IpAddr)>) -> bool {
    let acc = match version {
        Version::V2 => Ok(0),
        Version::V3 => pseudo_sum(pseudo, buf.len()),
    };
    match acc {
        Ok(acc) => fold(sum(acc, buf)) == 0xffff,
        Err(()) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// The textbook definition: 16-bit big-endian words, summed in a u64, folded.
    fn reference(data: &[u8]) -> u16 {
        let mut s: u64 = 0;
        for pair in data.chunks(2) {
            let hi = u64::from(pair[0]) << 8;
            let lo = pair.get(1).map_or(0, |b| u64::from(*b));
            s += hi | lo;
        }
        while s >> 16 != 0 {
            s = (s & 0xffff) + (s >> 16);
        }
        !(s as u16)
    }

    #[test]
    fn matches_the_reference_on_all_lengths() {
        let mut data = Vec::new();
        let mut x: u32 = 0x1234_5678;
        for len in 0..300 {
            assert_eq!(internet_checksum(&data), reference(&data), "len {len}");
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            data.push((x >> 24) as u8);
        }
        // Worst case for carries.
        let ff = [0xffu8; 1001];
        for len in 0..ff.len() {
            assert_eq!(internet_checksum(&ff[..len]), reference(&ff[..len]));
        }
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(internet_checksum(&data), !0xddf2);
    }

    #[test]
    fn pseudo_headers_match_explicit_buffers() {
        let msg = [0x31u8, 51, 100, 1, 0, 10, 0, 0, 10, 99, 0, 100];
        let (s4, d4) = (Ipv4Addr::new(10, 99, 0, 1), Ipv4Addr::new(224, 0, 0, 18));
        let mut explicit = Vec::new();
        explicit.extend_from_slice(&s4.octets());
        explicit.extend_from_slice(&d4.octets());
        explicit.extend_from_slice(&[0, PROTO_VRRP, 0, msg.len() as u8]);
        explicit.extend_from_slice(&msg);
        assert_eq!(
            vrrp_checksum(&msg, Version::V3, Some((s4.into(), d4.into()))),
            reference(&explicit)
        );

        let s6: Ipv6Addr = "fe80::99:ff:fe00:1".parse().unwrap();
        let d6: Ipv6Addr = "ff02::12".parse().unwrap();
        let mut explicit = Vec::new();
        explicit.extend_from_slice(&s6.octets());
        explicit.extend_from_slice(&d6.octets());
        explicit.extend_from_slice(&(msg.len() as u32).to_be_bytes());
        explicit.extend_from_slice(&[0, 0, 0, PROTO_VRRP]);
        explicit.extend_from_slice(&msg);
        assert_eq!(
            vrrp_checksum(&msg, Version::V3, Some((s6.into(), d6.into()))),
            reference(&explicit)
        );

        // v2 ignores the pseudo-header; v3 without one is v2-style.
        assert_eq!(
            vrrp_checksum(&msg, Version::V2, Some((s4.into(), d4.into()))),
            reference(&msg)
        );
        assert_eq!(vrrp_checksum(&msg, Version::V3, None), reference(&msg));
    }

    #[test]
    fn checksum_ok_accepts_a_filled_in_checksum_and_rejects_mixed_families() {
        let mut msg = [0x31u8, 51, 100, 1, 0, 10, 0, 0, 10, 99, 0, 100];
        let p = Some((
            IpAddr::from(Ipv4Addr::new(10, 99, 0, 1)),
            IpAddr::from(Ipv4Addr::new(224, 0, 0, 18)),
        ));
        let c = vrrp_checksum(&msg, Version::V3, p);
        msg[6..8].copy_from_slice(&c.to_be_bytes());
        assert!(checksum_ok(&msg, Version::V3, p));
        assert!(!checksum_ok(&msg, Version::V3, None));
        let mixed = Some((
            IpAddr::from(Ipv4Addr::new(10, 99, 0, 1)),
            IpAddr::from(Ipv6Addr::LOCALHOST),
        ));
        assert!(!checksum_ok(&msg, Version::V3, mixed));
        assert!(!checksum_ok(&[], Version::V2, None));
    }
}
