//! The fixed first bytes of a VRRP message, read without decoding the rest.

use super::DecodeError;

/// Length of the fixed part of a VRRP message, before the addresses (RFC 3768 §5.1,
/// RFC 5798 §5.1).
pub const FIXED_LEN: usize = 8;
/// Length of the VRRPv2 authentication data that follows the addresses (RFC 3768 §5.3.10).
pub const V2_AUTH_LEN: usize = 8;
/// The only VRRP packet type: ADVERTISEMENT (RFC 3768 §5.3.2, RFC 5798 §5.2.2).
pub const ADVERT_TYPE: u8 = 1;

/// The fields of the first bytes of a VRRP message, as raw numbers and unchecked, so that a
/// receiver can drop a message for the wrong version, type or VRID before a full decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// The version nibble (2 or 3 for a valid message).
    pub version: u8,
    /// The type nibble (1, ADVERTISEMENT, for a valid message).
    pub kind: u8,
    /// The Virtual Router Identifier.
    pub vrid: u8,
    /// The sender's priority (0: the master stops; 255: the address owner).
    pub priority: u8,
}

/// Reads the [`Header`] of a VRRP message. Only fails when `buf` is shorter than the 8-byte fixed
/// header ([`DecodeError::Truncated`]); the fields are returned as they are.
pub fn peek(buf: &[u8]) -> Result<Header, DecodeError> {
    match buf {
        [vt, vrid, priority, _, _, _, _, _, ..] => Ok(Header {
            version: vt >> 4,
            kind: vt & 0x0f,
            vrid: *vrid,
            priority: *priority,
        }),
        _ => Err(DecodeError::Truncated { len: buf.len() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peek_reads_the_first_bytes() {
        let h = peek(&[0x31, 51, 100, 1, 0, 10, 0, 0]).unwrap();
        assert_eq!(
            h,
            Header {
                version: 3,
                kind: 1,
                vrid: 51,
                priority: 100
            }
        );
        // Anything goes in the nibbles: peek does not judge.
        let h = peek(&[0xf7, 1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
        assert_eq!((h.version, h.kind), (15, 7));
        for len in 0..FIXED_LEN {
            assert_eq!(peek(&[0x21; 8][..len]), Err(DecodeError::Truncated { len }));
        }
    }
}
