//! DNS_CHECK's judgement of a reply datagram.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let id = data.first().copied().unwrap_or(0) as u16;
    let _ = lvsd_check::probe::dns::verdict(data, id);
});
