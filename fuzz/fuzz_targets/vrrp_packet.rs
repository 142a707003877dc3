//! The VRRP decoders: an IPv4 packet with or without AH, a VRRP message of either family.
#![no_main]
use libfuzzer_sys::fuzz_target;
use lvsd_vrrp::packet::{self, Advert, Family};

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = packet::parse_ipv4(data) {
        let _ = Advert::decode(p.vrrp, Family::V4);
    }
    let _ = packet::peek(data);
    let _ = Advert::decode(data, Family::V4);
    let _ = Advert::decode(data, Family::V6);
    if let Some(h) = packet::AhHeader::parse(data) {
        let _ = h.seq;
    }
});
