//! Decoding a VRRP message (RFC 3768 §5.1, RFC 5798 §5.1).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{Advert, Auth, DecodeError, Family, Version, ADVERT_TYPE, FIXED_LEN, V2_AUTH_LEN};

/// The exact length of a message of `version` over `family` carrying `count` addresses:
/// 8 + 4n + 8 (v2), 8 + 4n (v3, IPv4) or 8 + 16n (v3, IPv6).
pub(crate) fn message_len(version: Version, family: Family, count: usize) -> usize {
    let addr_len = match family {
        Family::V4 => 4,
        Family::V6 => 16,
    };
    let auth = match version {
        Version::V2 => V2_AUTH_LEN,
        Version::V3 => 0,
    };
    FIXED_LEN + addr_len * count + auth
}

impl Advert {
    /// Decodes one VRRP message: `buf` is exactly the message (what follows the IPv4 header, or
    /// the AH header, or the IPv6 header), `family` the IP version it arrived over.
    ///
    /// Checks, in this order: at least the 8-byte fixed header ([`DecodeError::Truncated`]);
    /// version 2 or 3 (RFC 3768 §7.1, RFC 5798 §7.1: [`DecodeError::Version`]); type 1
    /// ([`DecodeError::Type`]); no v2 over IPv6 ([`DecodeError::V2OverIpv6`]); the exact length
    /// the address count gives ([`DecodeError::Length`], shorter or longer: Ethernet padding is
    /// removed by the IP layer, see [`parse_ipv4`](super::parse_ipv4)).
    ///
    /// The checksum is *not* verified here: receive validation checks it later, with
    /// [`checksum_ok`](super::checksum_ok). Neither are the VRID, the priority, the interval or the
    /// authentication compared with any configuration.
    ///
    /// Field conversions: the v2 advertisement interval is whole seconds (RFC 3768 §5.3.7), so
    /// `interval_cs = seconds * 100`; the v3 interval is the 12 low bits of its 16-bit field, in
    /// centiseconds, the 4 reserved bits ignored (RFC 5798 §5.2.7). v2 authentication types 0, 1
    /// and 2 become [`Auth::None`], [`Auth::Pass`] and [`Auth::Ah`] (RFC 3768 §5.3.6, whose
    /// type 0 and type 2 data bytes are not kept), any other becomes [`Auth::Other`]. A v3 message
    /// has [`Auth::None`].
    pub fn decode(buf: &[u8], family: Family) -> Result<Advert, DecodeError> {
        let [vt, vrid, priority, count, b4, b5, _csum_hi, _csum_lo, rest @ ..] = buf else {
            return Err(DecodeError::Truncated { len: buf.len() });
        };
        let version = match vt >> 4 {
            2 => Version::V2,
            3 => Version::V3,
            v => return Err(DecodeError::Version(v)),
        };
        if vt & 0x0f != ADVERT_TYPE {
            return Err(DecodeError::Type(vt & 0x0f));
        }
        if version == Version::V2 && family == Family::V6 {
            return Err(DecodeError::V2OverIpv6);
        }
        let count = usize::from(*count);
        let expected = message_len(version, family, count);
        if buf.len() != expected {
            return Err(DecodeError::Length {
                expected,
                got: buf.len(),
            });
        }

        let mut addrs = Vec::with_capacity(count);
        let (addr_bytes, auth_bytes) = rest
            .split_at_checked(rest.len().saturating_sub(auth_len(version)))
            .unwrap_or((rest, &[]));
        match family {
            Family::V4 => {
                for a in addr_bytes.chunks_exact(4) {
                    if let Ok(o) = <[u8; 4]>::try_from(a) {
                        addrs.push(IpAddr::V4(Ipv4Addr::from(o)));
                    }
                }
            }
            Family::V6 => {
                for a in addr_bytes.chunks_exact(16) {
                    if let Ok(o) = <[u8; 16]>::try_from(a) {
                        addrs.push(IpAddr::V6(Ipv6Addr::from(o)));
                    }
                }
            }
        }

        let (interval_cs, auth) = match version {
            Version::V2 => {
                let data = <[u8; 8]>::try_from(auth_bytes).unwrap_or_default();
                let auth = match b4 {
                    0 => Auth::None,
                    1 => Auth::Pass(data),
                    2 => Auth::Ah,
                    t => Auth::Other(*t, data),
                };
                (u16::from(*b5) * 100, auth)
            }
            Version::V3 => (u16::from_be_bytes([*b4, *b5]) & 0x0fff, Auth::None),
        };

        Ok(Advert {
            version,
            vrid: *vrid,
            priority: *priority,
            interval_cs,
            auth,
            addrs,
        })
    }
}

/// Bytes of authentication data at the end of a message of `version`.
fn auth_len(version: Version) -> usize {
    match version {
        Version::V2 => V2_AUTH_LEN,
        Version::V3 => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V2: [u8; 20] = [
        0x21, 0x33, 0x64, 0x01, 0x00, 0x01, 0x70, 0x03, 10, 99, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0,
    ];

    #[test]
    fn decodes_a_v2_advert() {
        let a = Advert::decode(&V2, Family::V4).unwrap();
        assert_eq!(a.version, Version::V2);
        assert_eq!((a.vrid, a.priority, a.interval_cs), (51, 100, 100));
        assert_eq!(a.auth, Auth::None);
        assert_eq!(a.addrs, vec![IpAddr::from([10, 99, 0, 100])]);
    }

    #[test]
    fn checks_in_order() {
        assert_eq!(
            Advert::decode(&V2[..7], Family::V4),
            Err(DecodeError::Truncated { len: 7 })
        );
        let mut b = V2;
        b[0] = 0x41; // version 4 and a wrong length: the version is reported
        assert_eq!(
            Advert::decode(&b[..9], Family::V4),
            Err(DecodeError::Version(4))
        );
        b[0] = 0x22;
        assert_eq!(Advert::decode(&b, Family::V4), Err(DecodeError::Type(2)));
        assert_eq!(
            Advert::decode(&V2[..9], Family::V6),
            Err(DecodeError::V2OverIpv6)
        );
        assert_eq!(
            Advert::decode(&V2[..19], Family::V4),
            Err(DecodeError::Length {
                expected: 20,
                got: 19
            })
        );
        let mut long = V2.to_vec();
        long.push(0);
        assert_eq!(
            Advert::decode(&long, Family::V4),
            Err(DecodeError::Length {
                expected: 20,
                got: 21
            })
        );
    }

    #[test]
    fn v3_interval_ignores_reserved_bits_and_auth_types_map() {
        let msg = [0x31, 1, 255, 0, 0xf0, 0x0a, 0, 0];
        let a = Advert::decode(&msg, Family::V6).unwrap();
        assert_eq!((a.interval_cs, a.addrs.len()), (10, 0));
        let mut b = V2;
        for (t, want) in [
            (1, Auth::Pass([0; 8])),
            (2, Auth::Ah),
            (7, Auth::Other(7, [0; 8])),
        ] {
            b[4] = t;
            assert_eq!(Advert::decode(&b, Family::V4).unwrap().auth, want);
        }
    }
}
