//! Why a VRRP message could not be decoded.

/// A VRRP message that [`peek`](super::peek) or [`Advert::decode`](super::Advert::decode)
/// rejected. The variants follow the receive checks of RFC 3768 §7.1 and RFC 5798 §7.1 that
/// concern the message's own layout, in the order the decoder applies them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum DecodeError {
    /// Shorter than the 8-byte fixed header.
    #[error("VRRP message truncated: {len} bytes, the fixed header alone is 8")]
    Truncated { len: usize },
    /// The version nibble is neither 2 (RFC 3768) nor 3 (RFC 5798).
    #[error("unsupported VRRP version {0}")]
    Version(u8),
    /// The type nibble is not 1 (ADVERTISEMENT), the only type defined.
    #[error("unknown VRRP packet type {0}")]
    Type(u8),
    /// A version-2 message received over IPv6: VRRPv2 is IPv4 only (RFC 3768 §1).
    #[error("VRRPv2 is defined for IPv4 only, received over IPv6")]
    V2OverIpv6,
    /// The length does not match the address count (plus, for v2, the 8 authentication bytes).
    #[error("VRRP message is {got} bytes, the address count makes it {expected}")]
    Length { expected: usize, got: usize },
}

impl DecodeError {
    /// Every reason name [`reason`](Self::reason) can return, e.g. to pre-create drop counters.
    pub const REASONS: [&'static str; 5] = [
        "truncated",
        "bad-version",
        "bad-type",
        "v2-over-ipv6",
        "bad-length",
    ];

    /// A stable kebab-case name for this kind of error (a drop-counter key; the numbers carried by
    /// the variant are not part of it).
    pub fn reason(&self) -> &'static str {
        match self {
            DecodeError::Truncated { .. } => "truncated",
            DecodeError::Version(_) => "bad-version",
            DecodeError::Type(_) => "bad-type",
            DecodeError::V2OverIpv6 => "v2-over-ipv6",
            DecodeError::Length { .. } => "bad-length",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::DecodeError;

    #[test]
    fn reasons_are_listed_and_kebab_case() {
        let all = [
            DecodeError::Truncated { len: 3 },
            DecodeError::Version(4),
            DecodeError::Type(2),
            DecodeError::V2OverIpv6,
            DecodeError::Length {
                expected: 20,
                got: 21,
            },
        ];
        for (e, name) in all.iter().zip(DecodeError::REASONS) {
            assert_eq!(e.reason(), name);
            assert!(name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
            assert!(!e.to_string().is_empty());
        }
    }
}
