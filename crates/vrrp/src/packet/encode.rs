//! Encoding a VRRP message (RFC 3768 §5.1, RFC 5798 §5.1).

use std::net::IpAddr;

use super::{vrrp_checksum, Advert, Auth, Family, Version, ADVERT_TYPE};
use crate::packet::decode::message_len;

/// Largest value of the 12-bit VRRPv3 interval field, in centiseconds (RFC 5798 §5.2.7).
pub const V3_MAX_INTERVAL_CS: u16 = 0x0fff;

impl Advert {
    /// The address family of this advert: that of its first address, or, with no address, that
    /// of the pseudo-header's source when there is one, else IPv4.
    pub fn family(&self, pseudo: Option<(IpAddr, IpAddr)>) -> Family {
        match self.addrs.first().or(pseudo.as_ref().map(|(s, _)| s)) {
            Some(IpAddr::V6(_)) => Family::V6,
            _ => Family::V4,
        }
    }

    /// The length of the message [`encode`](Self::encode) writes.
    pub fn encoded_len(&self, pseudo: Option<(IpAddr, IpAddr)>) -> usize {
        let family = self.wire_family(pseudo);
        message_len(self.version, family, self.count(family))
    }

    /// The family of the encoded message: always IPv4 for v2 (RFC 3768 §1).
    fn wire_family(&self, pseudo: Option<(IpAddr, IpAddr)>) -> Family {
        match self.version {
            Version::V2 => Family::V4,
            Version::V3 => self.family(pseudo),
        }
    }

    /// Addresses of `family` that fit the 8-bit count field.
    fn count(&self, family: Family) -> usize {
        self.addrs
            .iter()
            .filter(|a| {
                matches!(
                    (family, a),
                    (Family::V4, IpAddr::V4(_)) | (Family::V6, IpAddr::V6(_))
                )
            })
            .count()
            .min(255)
    }

    /// Appends this advert to `out` as a VRRP message, checksum filled in (clearing `out` first is
    /// the caller's job). `pseudo = Some((source, destination))` gives the IP addresses of the
    /// VRRPv3 checksum's pseudo-header (RFC 5798 §5.2.8; `None`: keepalived's
    /// `v3_checksum_as_v2`); a v2 checksum never uses it (RFC 3768 §5.3.8).
    ///
    /// * v2 (RFC 3768 §5.3.7): the interval is written in whole seconds, `interval_cs / 100`
    ///   rounded to the nearest and clamped to 1..=255; then the addresses and the authentication
    ///   type and 8 data bytes (§5.3.6, §5.3.10): type 0 with zero data, type 1 with the password,
    ///   type 2 ([`Auth::Ah`]) with zero data, or [`Auth::Other`]'s type and data.
    /// * v3 (RFC 5798 §5.2.7): the interval is written in centiseconds in the 12-bit field
    ///   (clamped to 4095), the reserved bits zero; there is no authentication field.
    ///
    /// The message carries the addresses of the advert's [`family`](Self::family) (a v2 message,
    /// IPv4 only, carries its IPv4 addresses), at most 255 of them, in order; addresses of the
    /// other family are left out: they have no place in one message.
    pub fn encode(&self, pseudo: Option<(IpAddr, IpAddr)>, out: &mut Vec<u8>) {
        let family = self.wire_family(pseudo);
        let count = self.count(family);
        let start = out.len();
        out.reserve(message_len(self.version, family, count));

        let (b4, b5) = match self.version {
            Version::V2 => (v2_auth_type(&self.auth), v2_interval_secs(self.interval_cs)),
            Version::V3 => {
                let [hi, lo] = self.interval_cs.min(V3_MAX_INTERVAL_CS).to_be_bytes();
                (hi, lo)
            }
        };
        let version_nibble = match self.version {
            Version::V2 => 2u8,
            Version::V3 => 3u8,
        };
        out.extend_from_slice(&[
            (version_nibble << 4) | ADVERT_TYPE,
            self.vrid,
            self.priority,
            count as u8,
            b4,
            b5,
            0,
            0,
        ]);
        let mut written = 0;
        for addr in self.addrs.iter() {
            if written == count {
                break;
            }
            match (family, addr) {
                (Family::V4, IpAddr::V4(a)) => out.extend_from_slice(&a.octets()),
                (Family::V6, IpAddr::V6(a)) => out.extend_from_slice(&a.octets()),
                _ => continue,
            }
            written += 1;
        }
        if self.version == Version::V2 {
            let data = match self.auth {
                Auth::Pass(d) | Auth::Other(_, d) => d,
                Auth::None | Auth::Ah => [0; 8],
            };
            out.extend_from_slice(&data);
        }

        if let Some(msg) = out.get_mut(start..) {
            let csum = vrrp_checksum(msg, self.version, pseudo).to_be_bytes();
            if let Some(field) = msg.get_mut(6..8) {
                field.copy_from_slice(&csum);
            }
        }
    }
}

/// The v2 authentication type byte for `auth` (RFC 3768 §5.3.6).
fn v2_auth_type(auth: &Auth) -> u8 {
    match auth {
        Auth::None => 0,
        Auth::Pass(_) => 1,
        Auth::Ah => 2,
        Auth::Other(t, _) => *t,
    }
}

/// The v2 interval byte: whole seconds, rounded to the nearest, 1..=255 (RFC 3768 §5.3.7).
fn v2_interval_secs(interval_cs: u16) -> u8 {
    ((u32::from(interval_cs) + 50) / 100).clamp(1, 255) as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::{checksum_ok, DecodeError};
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn v4(a: [u8; 4]) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(a))
    }

    #[test]
    fn encodes_keepalived_v2_bytes() {
        // dir1 of the vrrp2 capture: VRID 51, priority 100, 1 s, no auth, VIP 10.99.0.100.
        let a = Advert {
            version: Version::V2,
            vrid: 51,
            priority: 100,
            interval_cs: 100,
            auth: Auth::None,
            addrs: vec![v4([10, 99, 0, 100])],
        };
        let mut out = vec![0xee]; // appends
        a.encode(None, &mut out);
        assert_eq!(
            out,
            [
                0xee, 0x21, 0x33, 0x64, 0x01, 0x00, 0x01, 0x70, 0x03, 10, 99, 0, 100, 0, 0, 0, 0,
                0, 0, 0, 0
            ]
        );
        assert_eq!(a.encoded_len(None), 20);
    }

    #[test]
    fn v2_interval_rounds_and_clamps() {
        assert_eq!(v2_interval_secs(0), 1);
        assert_eq!(v2_interval_secs(149), 1);
        assert_eq!(v2_interval_secs(150), 2);
        assert_eq!(v2_interval_secs(25_500), 255);
        assert_eq!(v2_interval_secs(u16::MAX), 255);
    }

    #[test]
    fn v3_ipv6_round_trip_and_foreign_addresses_left_out() {
        let s: IpAddr = "fe80::99:ff:fe00:1".parse::<Ipv6Addr>().unwrap().into();
        let d: IpAddr = crate::packet::GROUP_V6.into();
        let a = Advert {
            version: Version::V3,
            vrid: 52,
            priority: 100,
            interval_cs: 5000,
            auth: Auth::None,
            addrs: vec![
                "2001:db8:99::100".parse().unwrap(),
                v4([10, 0, 0, 1]),
                "2001:db8:99::101".parse().unwrap(),
            ],
        };
        let mut out = Vec::new();
        a.encode(Some((s, d)), &mut out);
        assert_eq!(out.len(), 8 + 32);
        assert!(checksum_ok(&out, Version::V3, Some((s, d))));
        let b = Advert::decode(&out, Family::V6).unwrap();
        assert_eq!(b.interval_cs, V3_MAX_INTERVAL_CS);
        assert_eq!(b.addrs, vec![a.addrs[0], a.addrs[2]]);
        assert_eq!(
            Advert::decode(&out, Family::V4),
            Err(DecodeError::Length {
                expected: 16,
                got: 40
            })
        );
    }

    #[test]
    fn at_most_255_addresses() {
        let a = Advert {
            version: Version::V3,
            vrid: 1,
            priority: 1,
            interval_cs: 100,
            auth: Auth::None,
            addrs: (0..300u32).map(|i| IpAddr::V4(Ipv4Addr::from(i))).collect(),
        };
        let mut out = Vec::new();
        a.encode(None, &mut out);
        assert_eq!(out.len(), 8 + 255 * 4);
        assert_eq!(out[3], 255);
        assert_eq!(Advert::decode(&out, Family::V4).unwrap().addrs.len(), 255);
    }
}
