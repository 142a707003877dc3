//! DNS_CHECK: one query over UDP; the server must answer it without an error.
//!
//! keepalived's rules (keepalived-behaviour §1.7; keepalived.conf(5) DNS_CHECK; its check_dns
//! source, read for behaviour only):
//!
//! * The query has a random id, RD (recursion desired) set, one question `name`/`type`/IN
//!   (`type` A, NS, CNAME, SOA, MX, TXT, AAAA, RRSIG or DNSKEY, default SOA; `name` default `.`).
//! * A reply shorter than a DNS header, with another id, or without the QR flag is ignored and
//!   the check keeps waiting for the right reply until the timeout.
//! * The reply with our id and QR decides: rcode 0 (NOERROR) passes, any other rcode fails.
//!   **Answers are not required**: an empty NOERROR answer (NODATA) passes, as in keepalived,
//!   which looks at the header only.
//! * No decisive reply within `connect_timeout` fails; an ICMP error (port, host, network
//!   unreachable) fails at once.

use super::connect::fmt_duration as human;
use super::udp::{icmp_error, recv, send_error, socket};
use super::{DnsProbe, Outcome, Target};
use hickory_proto::op::{Message, Query};
use hickory_proto::rr::{Name, RecordType};
use tokio::time::Instant;

/// The DNS header length.
const HEADER_LEN: usize = 12;

/// Runs one DNS_CHECK against `target`.
pub async fn check(probe: &DnsProbe, target: &Target) -> Outcome {
    let start = Instant::now();
    let deadline = start + target.timeout;
    let id = fastrand::u16(..);
    let query = match build_query(probe, id) {
        Ok(q) => q,
        Err(e) => return Outcome::fail(start.elapsed(), e),
    };
    let sock = match socket(target) {
        Ok(s) => s,
        Err(e) => return Outcome::fail(start.elapsed(), e),
    };
    let timeout = || {
        Outcome::fail(
            start.elapsed(),
            format!("timeout after {}", human(target.timeout)),
        )
    };
    match tokio::time::timeout_at(deadline, sock.send(&query)).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => return Outcome::fail(start.elapsed(), send_error(&e)),
        Err(_) => return timeout(),
    }
    let mut buf = vec![0u8; 4096];
    loop {
        let n = match tokio::time::timeout_at(deadline, recv(&sock, &mut buf)).await {
            Err(_) => return timeout(),
            Ok(Err(e)) => return Outcome::fail(start.elapsed(), icmp_error(&e)),
            Ok(Ok(n)) => n,
        };
        match verdict(&buf[..n], id) {
            Verdict::Ignore => continue,
            Verdict::Ok => return Outcome::ok(start.elapsed()),
            Verdict::Rcode(rc) => {
                return Outcome::fail(start.elapsed(), format!("DNS rcode {}", rcode_name(rc)))
            }
        }
    }
}

/// What a received datagram means for the query with `id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Not the reply to our query (too short, another id, QR not set): keep waiting.
    Ignore,
    /// Our reply, rcode NOERROR.
    Ok,
    /// Our reply with this (non-zero, 4-bit header) rcode.
    Rcode(u8),
}

/// Judges a datagram by its header, as keepalived does.
pub fn verdict(reply: &[u8], id: u16) -> Verdict {
    if reply.len() < HEADER_LEN {
        return Verdict::Ignore;
    }
    let rid = u16::from_be_bytes([reply[0], reply[1]]);
    let flags = u16::from_be_bytes([reply[2], reply[3]]);
    if rid != id || flags & 0x8000 == 0 {
        return Verdict::Ignore;
    }
    match (flags & 0x000f) as u8 {
        0 => Verdict::Ok,
        rc => Verdict::Rcode(rc),
    }
}

/// The query datagram: id, RD, one question.
pub fn build_query(probe: &DnsProbe, id: u16) -> Result<Vec<u8>, String> {
    let rtype = record_type(&probe.qtype)?;
    let name = if probe.name.is_empty() || probe.name == "." {
        Name::root()
    } else {
        let mut n = Name::from_ascii(&probe.name)
            .map_err(|e| format!("invalid DNS name {:?}: {e}", probe.name))?;
        n.set_fqdn(true);
        n
    };
    let mut msg = Message::new();
    msg.set_id(id)
        .set_recursion_desired(true)
        .add_query(Query::query(name, rtype));
    msg.to_vec()
        .map_err(|e| format!("cannot encode the DNS query: {e}"))
}

/// keepalived's query types (case-insensitive).
pub fn record_type(qtype: &str) -> Result<RecordType, String> {
    Ok(match qtype.to_ascii_uppercase().as_str() {
        "A" => RecordType::A,
        "NS" => RecordType::NS,
        "CNAME" => RecordType::CNAME,
        "" | "SOA" => RecordType::SOA,
        "MX" => RecordType::MX,
        "TXT" => RecordType::TXT,
        "AAAA" => RecordType::AAAA,
        "RRSIG" => RecordType::RRSIG,
        "DNSKEY" => RecordType::DNSKEY,
        _ => {
            return Err(format!(
                "unknown DNS type {qtype:?} (A, NS, CNAME, SOA, MX, TXT, AAAA, RRSIG, DNSKEY)"
            ))
        }
    })
}

/// The mnemonic of a header rcode (RFC 1035, RFC 2136).
pub fn rcode_name(rc: u8) -> String {
    match rc {
        0 => "NOERROR".into(),
        1 => "FORMERR".into(),
        2 => "SERVFAIL".into(),
        3 => "NXDOMAIN".into(),
        4 => "NOTIMP".into(),
        5 => "REFUSED".into(),
        6 => "YXDOMAIN".into(),
        7 => "YXRRSET".into(),
        8 => "NXRRSET".into(),
        9 => "NOTAUTH".into(),
        10 => "NOTZONE".into(),
        n => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(qtype: &str, name: &str) -> DnsProbe {
        DnsProbe {
            qtype: qtype.into(),
            name: name.into(),
        }
    }

    #[test]
    fn query_layout() {
        let q = build_query(&probe("SOA", "."), 0x1234).unwrap();
        // id, flags (RD only), QDCOUNT 1, no other records.
        assert_eq!(&q[..12], &[0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
        // root name, type SOA (6), class IN (1).
        assert_eq!(&q[12..], &[0, 0, 6, 0, 1]);
        let q = build_query(&probe("aaaa", "example.org"), 7).unwrap();
        assert_eq!(&q[12..], b"\x07example\x03org\x00\x00\x1c\x00\x01");
        assert!(build_query(&probe("PTR", "."), 1).is_err());
    }

    #[test]
    fn verdicts() {
        let mut r = [0u8; 12];
        r[0] = 0x12;
        r[1] = 0x34;
        assert_eq!(verdict(&r, 0x1234), Verdict::Ignore, "QR not set");
        r[2] = 0x81;
        r[3] = 0x80;
        assert_eq!(verdict(&r, 0x1234), Verdict::Ok);
        assert_eq!(verdict(&r, 0x1235), Verdict::Ignore, "other id");
        assert_eq!(verdict(&r[..11], 0x1234), Verdict::Ignore, "short");
        r[3] = 0x83;
        assert_eq!(verdict(&r, 0x1234), Verdict::Rcode(3));
        assert_eq!(rcode_name(3), "NXDOMAIN");
    }
}
