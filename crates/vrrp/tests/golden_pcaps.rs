//! Golden tests: real keepalived 2.2.7 adverts (tests/fixtures/pcaps/, see its README.md).
//!
//! Every advert of every capture is parsed (Ethernet, IPv4 with `parse_ipv4` or a fixed IPv6
//! header), decoded, checksum-verified, compared with what the capture is known to hold, and
//! re-encoded: `Advert::encode` must give the VRRP bytes and `build_ipv4` the IPv4 packet (AH ICV
//! included) byte for byte. Then every byte of real adverts is corrupted, every length truncated,
//! and proptest throws arbitrary bytes and arbitrary adverts at the codec.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use lvsd_vrrp::packet::ipv4::{TOS_NETWORK_CONTROL, VRRP_TTL};
use lvsd_vrrp::packet::{
    build_ipv4, checksum_ok, parse_ipv4, peek, verify_ah, Advert, AhHeader, AhOut, Auth, Family,
    Ipv4Out, Version, GROUP_V4, GROUP_V6, PROTO_AH, PROTO_VRRP,
};
use proptest::prelude::*;

const ETH_IPV4: u16 = 0x0800;
const ETH_IPV6: u16 = 0x86dd;
const ETH_VLAN: u16 = 0x8100;

fn pcap_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pcaps")
}

/// The frames of a classic pcap file (either byte order, micro- or nanosecond magic).
fn read_pcap(path: &Path) -> Vec<Vec<u8>> {
    let d = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(d.len() >= 24, "{}: no pcap header", path.display());
    let magic = [d[0], d[1], d[2], d[3]];
    let le = match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => true,
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => false,
        _ => panic!("{}: not a classic pcap file", path.display()),
    };
    let u32_at = |o: usize| {
        let b = [d[o], d[o + 1], d[o + 2], d[o + 3]];
        if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    assert_eq!(
        u32_at(20),
        1,
        "{}: link type must be Ethernet",
        path.display()
    );
    let mut frames = Vec::new();
    let mut off = 24;
    while off + 16 <= d.len() {
        let incl = u32_at(off + 8) as usize;
        let orig = u32_at(off + 12) as usize;
        assert_eq!(
            incl,
            orig,
            "{}: frame cut by the snap length",
            path.display()
        );
        off += 16;
        frames.push(d[off..off + incl].to_vec());
        off += incl;
    }
    assert_eq!(off, d.len(), "{}: trailing bytes", path.display());
    frames
}

/// One advert found in a capture, with the IP layer around it.
#[derive(Debug, Clone)]
struct Seen {
    family: Family,
    src: IpAddr,
    dst: IpAddr,
    /// TTL or hop limit.
    ttl: u8,
    /// IPv4 TOS or IPv6 traffic class.
    tos: u8,
    /// IPv4 identification (0 for IPv6).
    id: u16,
    flags_fragment: u16,
    ah: Option<AhHeader>,
    /// The whole IP packet (IPv4: header first, Ethernet padding removed).
    ip: Vec<u8>,
    /// The VRRP message.
    vrrp: Vec<u8>,
    advert: Advert,
}

/// The adverts of one capture, each checked for a valid checksum and re-encoded byte for byte.
fn adverts(file: &str) -> Vec<Seen> {
    let mut out = Vec::new();
    for (i, frame) in read_pcap(&pcap_dir().join(file)).iter().enumerate() {
        let ctx = format!("{file} frame {i}");
        let mut ethertype = u16::from_be_bytes([frame[12], frame[13]]);
        let mut l3 = &frame[14..];
        if ethertype == ETH_VLAN {
            ethertype = u16::from_be_bytes([l3[2], l3[3]]);
            l3 = &l3[4..];
        }
        let seen = match ethertype {
            ETH_IPV4 if l3[9] == PROTO_VRRP || l3[9] == PROTO_AH => {
                let p = parse_ipv4(l3).unwrap_or_else(|e| panic!("{ctx}: {e}"));
                let total = usize::from(u16::from_be_bytes([l3[2], l3[3]]));
                let advert =
                    Advert::decode(p.vrrp, Family::V4).unwrap_or_else(|e| panic!("{ctx}: {e}"));
                Seen {
                    family: Family::V4,
                    src: p.src.into(),
                    dst: p.dst.into(),
                    ttl: p.ttl,
                    tos: p.tos,
                    id: p.id,
                    flags_fragment: p.flags_fragment,
                    ah: p.ah,
                    ip: l3[..total].to_vec(),
                    vrrp: p.vrrp.to_vec(),
                    advert,
                }
            }
            ETH_IPV6 if l3[6] == PROTO_VRRP => {
                // The fixed IPv6 header (RFC 8200 §3); keepalived sends no extension header.
                assert_eq!(l3[0] >> 4, 6, "{ctx}");
                let tclass = (l3[0] << 4) | (l3[1] >> 4);
                let plen = usize::from(u16::from_be_bytes([l3[4], l3[5]]));
                let src = Ipv6Addr::from(<[u8; 16]>::try_from(&l3[8..24]).unwrap());
                let dst = Ipv6Addr::from(<[u8; 16]>::try_from(&l3[24..40]).unwrap());
                let vrrp = &l3[40..40 + plen];
                let advert =
                    Advert::decode(vrrp, Family::V6).unwrap_or_else(|e| panic!("{ctx}: {e}"));
                Seen {
                    family: Family::V6,
                    src: src.into(),
                    dst: dst.into(),
                    ttl: l3[7],
                    tos: tclass,
                    id: 0,
                    flags_fragment: 0,
                    ah: None,
                    ip: l3[..40 + plen].to_vec(),
                    vrrp: vrrp.to_vec(),
                    advert,
                }
            }
            _ => continue, // ARP, ICMPv6, ...
        };

        // peek agrees with the full decode.
        let h = peek(&seen.vrrp).unwrap();
        let v = match seen.advert.version {
            Version::V2 => 2,
            Version::V3 => 3,
        };
        assert_eq!(
            (h.version, h.kind, h.vrid, h.priority),
            (v, 1, seen.advert.vrid, seen.advert.priority),
            "{ctx}"
        );

        // The checksum: v2 over the message, v3 with the pseudo-header of the real addresses.
        let pseudo = Some((seen.src, seen.dst));
        let version = seen.advert.version;
        assert!(checksum_ok(&seen.vrrp, version, pseudo), "{ctx}: checksum");
        if version == Version::V3 {
            assert!(
                !checksum_ok(&seen.vrrp, version, None),
                "{ctx}: v3 checksum needs the pseudo-header"
            );
            let other = match seen.dst {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::new(224, 0, 0, 19)),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            };
            assert!(
                !checksum_ok(&seen.vrrp, version, Some((seen.src, other))),
                "{ctx}"
            );
        }

        // Re-encode the VRRP message.
        let mut enc = Vec::new();
        let enc_pseudo = match version {
            Version::V2 => None,
            Version::V3 => pseudo,
        };
        seen.advert.encode(enc_pseudo, &mut enc);
        assert_eq!(enc, seen.vrrp, "{ctx}: re-encoded VRRP message");
        assert_eq!(seen.advert.encoded_len(enc_pseudo), seen.vrrp.len());

        // Re-encode the IPv4 packet, header (and AH) byte for byte, the id taken from the capture.
        if let (IpAddr::V4(src), IpAddr::V4(dst)) = (seen.src, seen.dst) {
            let ah = seen.ah.map(|a| AhOut {
                key: b"s3cret",
                spi: a.spi,
                seq: a.seq,
            });
            let mut pkt = Vec::new();
            build_ipv4(&Ipv4Out::keepalived(src, dst, seen.id), &enc, ah, &mut pkt);
            assert_eq!(pkt, seen.ip, "{ctx}: re-encoded IPv4 packet");
            let fields = Ipv4Out {
                src,
                dst,
                ttl: seen.ttl,
                tos: seen.tos,
                id: seen.id,
            };
            let mut pkt2 = Vec::new();
            build_ipv4(&fields, &enc, ah, &mut pkt2);
            assert_eq!(pkt2, pkt);
        }
        out.push(seen);
    }
    out
}

/// The sources in order of first appearance (dir1, then dir2).
fn senders(seen: &[Seen]) -> Vec<IpAddr> {
    let mut s: Vec<IpAddr> = Vec::new();
    for a in seen {
        if !s.contains(&a.src) {
            s.push(a.src);
        }
    }
    s
}

fn dir(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 99, 0, n))
}

fn vip(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 99, 0, n))
}

/// What every IPv4 capture has in common: keepalived's header fields, VRID 51, priorities
/// 100 (dir1) / 90 (dir2) / 0, per-sender ids 1, 2, 3, ...
fn check_ipv4_common(file: &str, seen: &[Seen]) {
    assert_eq!(senders(seen), vec![dir(1), dir(2)], "{file}");
    let mut ids: BTreeMap<IpAddr, Vec<u16>> = BTreeMap::new();
    for a in seen {
        assert_eq!(a.family, Family::V4);
        assert_eq!(
            (a.ttl, a.tos, a.flags_fragment),
            (VRRP_TTL, TOS_NETWORK_CONTROL, 0),
            "{file}"
        );
        assert_eq!(a.ttl, 255);
        assert_eq!(a.tos, 0xc0);
        assert_eq!(a.advert.vrid, 51, "{file}");
        let own = if a.src == dir(1) { 100 } else { 90 };
        assert!(
            a.advert.priority == own || a.advert.priority == 0,
            "{file}: priority {}",
            a.advert.priority
        );
        ids.entry(a.src).or_default().push(a.id);
    }
    for (src, ids) in ids {
        let want: Vec<u16> = (1..=ids.len() as u16).collect();
        assert_eq!(ids, want, "{file}: IPv4 ids of {src} count from 1");
    }
}

fn check_multicast(file: &str, seen: &[Seen]) {
    for a in seen {
        assert_eq!(a.dst, IpAddr::V4(GROUP_V4), "{file}");
    }
}

fn check_unicast(file: &str, seen: &[Seen]) {
    for a in seen {
        let peer = if a.src == dir(1) { dir(2) } else { dir(1) };
        assert_eq!(a.dst, peer, "{file}: unicast destination");
    }
}

fn check_v2(file: &str, seen: &[Seen], auth: Auth, vips: &[IpAddr]) {
    for a in seen {
        assert_eq!(a.advert.version, Version::V2, "{file}");
        assert_eq!(a.advert.interval_cs, 100, "{file}: advert_int 1");
        assert_eq!(a.advert.auth, auth, "{file}");
        assert_eq!(a.advert.addrs, vips, "{file}");
    }
}

fn check_v3_ipv4(file: &str, seen: &[Seen]) {
    for a in seen {
        assert_eq!(a.advert.version, Version::V3, "{file}");
        assert_eq!(a.advert.interval_cs, 10, "{file}: advert_int 0.1");
        assert_eq!(a.advert.auth, Auth::None);
        assert_eq!(a.advert.addrs, vec![vip(100)], "{file}");
    }
}

/// Term captures: both directors end with a priority-0 advert. Kill and link-down captures: dir1
/// never sends one (it is gone), dir2 (stopped at the end) does.
fn check_priority_zero(file: &str, seen: &[Seen], dir1_sends_zero: bool) {
    let s = senders(seen);
    let zero_from = |src: IpAddr| seen.iter().any(|a| a.src == src && a.advert.priority == 0);
    assert_eq!(
        zero_from(s[0]),
        dir1_sends_zero,
        "{file}: priority 0 from dir1"
    );
    assert!(zero_from(s[1]), "{file}: priority 0 from dir2");
    // A priority-0 advert is its sender's last.
    for src in s {
        let last = seen.iter().rev().find(|a| a.src == src).unwrap();
        assert_eq!(last.advert.priority == 0, zero_from(src), "{file}");
    }
}

#[test]
fn vrrp2_term() {
    let f = "vrrp2-term.pcap";
    let seen = adverts(f);
    assert_eq!(seen.len(), 9);
    check_ipv4_common(f, &seen);
    check_multicast(f, &seen);
    check_v2(f, &seen, Auth::None, &[vip(100)]);
    check_priority_zero(f, &seen, true);
    // The first advert, byte for byte as on the wire.
    assert_eq!(
        seen[0].vrrp,
        [0x21, 0x33, 0x64, 0x01, 0x00, 0x01, 0x70, 0x03, 10, 99, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0]
    );
}

#[test]
fn vrrp2_kill() {
    let f = "vrrp2-kill.pcap";
    let seen = adverts(f);
    assert_eq!(seen.len(), 8);
    check_ipv4_common(f, &seen);
    check_multicast(f, &seen);
    check_v2(f, &seen, Auth::None, &[vip(100)]);
    check_priority_zero(f, &seen, false);
}

#[test]
fn vrrp3_term_kill_link() {
    for (f, n, dir1_zero) in [
        ("vrrp3-term.pcap", 59, true),
        ("vrrp3-kill.pcap", 58, false),
        ("vrrp3-link.pcap", 58, false),
    ] {
        let seen = adverts(f);
        assert_eq!(seen.len(), n, "{f}");
        check_ipv4_common(f, &seen);
        check_multicast(f, &seen);
        check_v3_ipv4(f, &seen);
        check_priority_zero(f, &seen, dir1_zero);
    }
}

#[test]
fn v2auth_term_carries_the_password() {
    let f = "v2auth-term.pcap";
    let seen = adverts(f);
    assert_eq!(seen.len(), 9);
    check_ipv4_common(f, &seen);
    check_multicast(f, &seen);
    check_v2(f, &seen, Auth::Pass(*b"s3cret\0\0"), &[vip(100), vip(101)]);
    check_priority_zero(f, &seen, true);
    assert_eq!(&seen[0].vrrp[16..], b"s3cret\0\0");
}

#[test]
fn v2unicast_term_goes_to_the_peer() {
    let f = "v2unicast-term.pcap";
    let seen = adverts(f);
    assert_eq!(seen.len(), 9);
    check_ipv4_common(f, &seen);
    check_unicast(f, &seen);
    check_v2(f, &seen, Auth::None, &[vip(100)]);
    check_priority_zero(f, &seen, true);
}

#[test]
fn v3ipv6_term() {
    let f = "v3ipv6-term.pcap";
    let seen = adverts(f);
    assert_eq!(seen.len(), 7);
    let ll = |n: u16| IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0x99, 0xff, 0xfe00, n));
    assert_eq!(senders(&seen), vec![ll(1), ll(2)]);
    for a in &seen {
        assert_eq!(a.family, Family::V6);
        assert!(
            matches!(a.src, IpAddr::V6(s) if s.segments()[0] == 0xfe80),
            "link-local source"
        );
        assert_eq!(a.dst, IpAddr::V6(GROUP_V6));
        assert_eq!(a.ttl, 255, "hop limit");
        assert_eq!(a.tos, 0xc0, "traffic class");
        assert_eq!(a.advert.version, Version::V3);
        assert_eq!(a.advert.vrid, 52);
        assert_eq!(a.advert.interval_cs, 100);
        assert_eq!(a.advert.auth, Auth::None);
        assert_eq!(
            a.advert.addrs,
            vec!["2001:db8:99::100".parse::<IpAddr>().unwrap()]
        );
        let own = if a.src == ll(1) { 100 } else { 90 };
        assert!(a.advert.priority == own || a.advert.priority == 0);
        // v2 over IPv6 does not exist.
        let mut v2 = a.vrrp.clone();
        v2[0] = 0x21;
        assert_eq!(
            Advert::decode(&v2, Family::V6),
            Err(lvsd_vrrp::packet::DecodeError::V2OverIpv6)
        );
    }
    check_priority_zero(f, &seen, true);
}

/// keepalived's AH: SPI = source address, sequence numbers 1, 2, ... and, for the new master,
/// continuing after the highest one it accepted; ICV re-computed byte for byte (in `adverts`),
/// with the TTL zeroed only for unicast.
fn check_ah(f: &str, seen: &[Seen], unicast: bool) {
    assert_eq!(seen.len(), 11, "{f}");
    check_ipv4_common(f, seen);
    if unicast {
        check_unicast(f, seen);
    } else {
        check_multicast(f, seen);
    }
    check_v2(f, seen, Auth::Ah, &[vip(100)]);
    check_priority_zero(f, seen, true);
    let seqs: Vec<u32> = seen.iter().map(|a| a.ah.unwrap().seq).collect();
    assert_eq!(
        seqs,
        (1..=11).collect::<Vec<u32>>(),
        "{f}: sequence numbers"
    );
    for a in seen {
        let ah = a.ah.unwrap();
        assert_eq!(
            (ah.next_header, ah.payload_len, ah.reserved),
            (PROTO_VRRP, 4, 0)
        );
        let IpAddr::V4(src) = a.src else {
            unreachable!()
        };
        assert!(ah.spi_is_source(src), "{f}: SPI is the source address");
        assert_eq!(a.ip[9], PROTO_AH);
        assert_eq!(a.ip.len(), 20 + 24 + 20);
        // The VRRP auth data of an AH advert is zero.
        assert_eq!(&a.vrrp[12..], &[0; 8]);
        assert!(verify_ah(&a.ip, b"s3cret"), "{f}");
        assert!(verify_ah(&a.ip, b"s3cret\0\0"), "{f}: the NUL-padded key");
        assert!(!verify_ah(&a.ip, b"s3cre"), "{f}: wrong key");
        let p = parse_ipv4(&a.ip).unwrap();
        assert!(p.verify_ah_ttl(b"s3cret", unicast));
        assert!(!p.verify_ah_ttl(b"s3cret", !unicast), "{f}: TTL rule");
    }
}

#[test]
fn v2ah_term() {
    check_ah("v2ah-term.pcap", &adverts("v2ah-term.pcap"), false);
}

#[test]
fn v2ahunicast_term() {
    check_ah(
        "v2ahunicast-term.pcap",
        &adverts("v2ahunicast-term.pcap"),
        true,
    );
}

#[test]
fn every_capture_is_covered_and_the_shared_ones_hold_217_adverts() {
    let mut files: Vec<String> = std::fs::read_dir(pcap_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".pcap"))
        .collect();
    files.sort();
    let counts: BTreeMap<&str, usize> = [
        ("v2ah-term.pcap", 11),
        ("v2ahunicast-term.pcap", 11),
        ("v2auth-term.pcap", 9),
        ("v2unicast-term.pcap", 9),
        ("v3ipv6-term.pcap", 7),
        ("vrrp2-kill.pcap", 8),
        ("vrrp2-term.pcap", 9),
        ("vrrp3-kill.pcap", 58),
        ("vrrp3-link.pcap", 58),
        ("vrrp3-term.pcap", 59),
    ]
    .into_iter()
    .collect();
    assert_eq!(
        files,
        counts.keys().map(|s| s.to_string()).collect::<Vec<_>>()
    );
    let mut shared = 0;
    for f in &files {
        let n = adverts(f).len();
        assert_eq!(n, counts[f.as_str()], "{f}");
        if !f.starts_with("v2ah") {
            shared += n;
        }
    }
    assert_eq!(shared, 217);
}

/// Whether a (possibly corrupted) VRRP message would pass as the original: it decodes to the
/// same advert and its checksum verifies.
fn accepted_as(vrrp: &[u8], a: &Seen) -> bool {
    Advert::decode(vrrp, a.family).is_ok_and(|d| d == a.advert)
        && checksum_ok(vrrp, a.advert.version, Some((a.src, a.dst)))
}

/// The first advert of each capture, and its first priority-0 advert.
fn samples() -> Vec<(String, Seen)> {
    let mut out = Vec::new();
    for f in std::fs::read_dir(pcap_dir()).unwrap() {
        let name = f.unwrap().file_name().into_string().unwrap();
        if !name.ends_with(".pcap") {
            continue;
        }
        let seen = adverts(&name);
        out.push((name.clone(), seen[0].clone()));
        if let Some(z) = seen.iter().find(|a| a.advert.priority == 0) {
            out.push((name, z.clone()));
        }
    }
    out
}

#[test]
fn every_corrupted_byte_is_caught() {
    for (f, a) in samples() {
        assert!(accepted_as(&a.vrrp, &a), "{f}");
        for i in 0..a.vrrp.len() {
            for bit in 0..8 {
                let mut b = a.vrrp.clone();
                b[i] ^= 1 << bit;
                let decoded = Advert::decode(&b, a.family);
                let ok = checksum_ok(&b, a.advert.version, Some((a.src, a.dst)));
                assert!(
                    decoded.is_err() || !ok,
                    "{f}: byte {i} bit {bit} went through"
                );
                assert!(!accepted_as(&b, &a), "{f}: byte {i} bit {bit}");
            }
            // Any other value of the byte, too.
            for v in 0..=255u8 {
                let mut b = a.vrrp.clone();
                if b[i] == v {
                    continue;
                }
                b[i] = v;
                assert!(!accepted_as(&b, &a), "{f}: byte {i} = {v:#04x}");
            }
        }
        // The whole IPv4 packet: a flipped bit is a parse error, a checksum failure, a different
        // header, or (AH) an ICV failure.
        if a.family == Family::V4 {
            for i in 0..a.ip.len() {
                for bit in 0..8 {
                    let mut b = a.ip.clone();
                    b[i] ^= 1 << bit;
                    let Ok(p) = parse_ipv4(&b) else { continue };
                    let same_ip = (IpAddr::from(p.src), IpAddr::from(p.dst), p.id, p.ttl, p.tos)
                        == (a.src, a.dst, a.id, a.ttl, a.tos);
                    let vrrp_ok = accepted_as(p.vrrp, &a);
                    let ah_ok = a.ah.is_none() || verify_ah(&b, b"s3cret");
                    assert!(
                        !(same_ip && vrrp_ok && ah_ok && p.ah == a.ah),
                        "{f}: IP byte {i} bit {bit}"
                    );
                }
            }
        }
    }
}

#[test]
fn every_truncation_and_extension_is_rejected() {
    for (f, a) in samples() {
        for len in 0..a.vrrp.len() {
            assert!(
                Advert::decode(&a.vrrp[..len], a.family).is_err(),
                "{f}: {len} bytes"
            );
            assert_eq!(peek(&a.vrrp[..len]).is_ok(), len >= 8);
        }
        let mut long = a.vrrp.clone();
        long.push(0);
        assert!(
            Advert::decode(&long, a.family).is_err(),
            "{f}: one byte more"
        );
        if a.family == Family::V4 {
            for len in 0..a.ip.len() {
                assert!(parse_ipv4(&a.ip[..len]).is_err(), "{f}: IP {len} bytes");
                assert!(!verify_ah(&a.ip[..len], b"s3cret"));
            }
            // Ethernet padding after the IP total length is not part of the message.
            let mut padded = a.ip.clone();
            padded.resize(padded.len().max(46) + 4, 0);
            let p = parse_ipv4(&padded).unwrap();
            assert_eq!(p.vrrp, &a.vrrp[..]);
            if a.ah.is_some() {
                assert!(verify_ah(&padded, b"s3cret"));
            }
        }
    }
}

fn arb_advert() -> impl Strategy<Value = (Advert, Family)> {
    let v4 = any::<[u8; 4]>().prop_map(|o| IpAddr::V4(Ipv4Addr::from(o)));
    let v6 = any::<[u8; 16]>().prop_map(|o| IpAddr::V6(Ipv6Addr::from(o)));
    let auth = prop_oneof![
        Just(Auth::None),
        any::<[u8; 8]>().prop_map(Auth::Pass),
        Just(Auth::Ah),
        (3u8..=255, any::<[u8; 8]>()).prop_map(|(t, d)| Auth::Other(t, d)),
    ];
    let v2 = (
        any::<u8>(),
        any::<u8>(),
        1u16..=255,
        auth,
        prop::collection::vec(v4.clone(), 0..=20),
    )
        .prop_map(|(vrid, priority, secs, auth, addrs)| {
            (
                Advert {
                    version: Version::V2,
                    vrid,
                    priority,
                    interval_cs: secs * 100,
                    auth,
                    addrs,
                },
                Family::V4,
            )
        });
    let v3 = (
        any::<u8>(),
        any::<u8>(),
        0u16..=4095,
        prop_oneof![
            prop::collection::vec(v4, 0..=20).prop_map(|a| (a, Family::V4)),
            prop::collection::vec(v6, 0..=20).prop_map(|a| (a, Family::V6)),
        ],
    )
        .prop_map(|(vrid, priority, interval_cs, (addrs, family))| {
            (
                Advert {
                    version: Version::V3,
                    vrid,
                    priority,
                    interval_cs,
                    auth: Auth::None,
                    addrs,
                },
                family,
            )
        });
    prop_oneof![v2, v3]
}

fn arb_pseudo(family: Family) -> BoxedStrategy<Option<(IpAddr, IpAddr)>> {
    match family {
        Family::V4 => prop::option::of(
            (any::<[u8; 4]>(), any::<[u8; 4]>())
                .prop_map(|(s, d)| (IpAddr::V4(Ipv4Addr::from(s)), IpAddr::V4(Ipv4Addr::from(d)))),
        )
        .boxed(),
        Family::V6 => prop::option::of(
            (any::<[u8; 16]>(), any::<[u8; 16]>())
                .prop_map(|(s, d)| (IpAddr::V6(Ipv6Addr::from(s)), IpAddr::V6(Ipv6Addr::from(d)))),
        )
        .boxed(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        for family in [Family::V4, Family::V6] {
            let _ = Advert::decode(&bytes, family);
        }
        let _ = peek(&bytes);
        let p = Some((IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V4(GROUP_V4)));
        let _ = checksum_ok(&bytes, Version::V3, p);
        let _ = checksum_ok(&bytes, Version::V2, None);
        let _ = parse_ipv4(&bytes);
        let _ = verify_ah(&bytes, b"s3cret");
    }

    /// Arbitrary bytes behind a plausible VRRP start, so that the decoder gets past its first
    /// checks often.
    #[test]
    fn decode_never_panics_on_near_valid_input(
        vt in prop_oneof![Just(0x21u8), Just(0x31u8), any::<u8>()],
        count in 0u8..=24,
        rest in prop::collection::vec(any::<u8>(), 0..420),
    ) {
        let mut b = vec![vt, 51, 100, count];
        b.extend_from_slice(&rest);
        for family in [Family::V4, Family::V6] {
            if let Ok(a) = Advert::decode(&b, family) {
                // Whatever decodes re-encodes to the same length.
                prop_assert_eq!(a.addrs.len(), usize::from(count));
                let mut out = Vec::new();
                a.encode(None, &mut out);
                prop_assert_eq!(out.len(), b.len());
            }
        }
        // The same bytes behind an IPv4 header (both protocols).
        for proto in [PROTO_VRRP, PROTO_AH] {
            let mut pkt = Vec::new();
            build_ipv4(&Ipv4Out::keepalived(Ipv4Addr::new(10, 0, 0, 1), GROUP_V4, 1), &b, None, &mut pkt);
            pkt[9] = proto;
            pkt[10] = 0;
            pkt[11] = 0;
            let c = lvsd_vrrp::packet::internet_checksum(&pkt[..20]).to_be_bytes();
            pkt[10..12].copy_from_slice(&c);
            if let Ok(p) = parse_ipv4(&pkt) {
                let _ = Advert::decode(p.vrrp, Family::V4);
                let _ = p.verify_ah(b"k");
            }
        }
    }

    #[test]
    fn decode_inverts_encode(
        (advert, family, pseudo) in arb_advert()
            .prop_flat_map(|(a, f)| (Just(a), Just(f), arb_pseudo(f))),
        seed in any::<u64>(),
    ) {
        let mut out = vec![0xaa, 0xbb];
        advert.encode(pseudo, &mut out);
        let msg = &out[2..];
        prop_assert_eq!(msg.len(), advert.encoded_len(pseudo));
        prop_assert_eq!(Advert::decode(msg, family), Ok(advert.clone()));
        prop_assert!(checksum_ok(msg, advert.version, pseudo));
        // Through the IPv4 layer too.
        if family == Family::V4 {
            let mut pkt = Vec::new();
            let src = Ipv4Addr::from(seed as u32);
            let ah = (advert.auth == Auth::Ah).then_some(AhOut { key: b"k", spi: u32::from(src), seq: (seed >> 32) as u32 });
            build_ipv4(&Ipv4Out::keepalived(src, GROUP_V4, seed as u16), msg, ah, &mut pkt);
            let p = parse_ipv4(&pkt).unwrap();
            prop_assert_eq!(p.vrrp, msg);
            prop_assert_eq!(p.ah.is_some(), ah.is_some());
            if ah.is_some() {
                prop_assert!(p.verify_ah(b"k"));
                prop_assert!(!p.verify_ah(b"K"));
            }
        }
    }
}
