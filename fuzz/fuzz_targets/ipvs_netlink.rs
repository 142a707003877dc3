//! The IPVS generic-netlink decoders, on a datagram as the kernel would send it and on the
//! attributes of each kind of message.
#![no_main]
use libfuzzer_sys::fuzz_target;
use lvsd_ipvs::netlink;

fuzz_target!(|data: &[u8]| {
    for m in netlink::messages(data) {
        let Ok(m) = m else { break };
        let _ = m.reply(0x20);
    }
    let _ = netlink::parse_get_family_reply(data);
    let _ = netlink::parse_service_msg(data);
    let _ = netlink::parse_service(data);
    let _ = netlink::parse_daemon_msg(data);
    let _ = netlink::parse_daemon(data);
    let _ = netlink::parse_info(data);
    let _ = netlink::parse_timeouts(data);
    let _ = netlink::parse_dest_msg(data, lvsd_ipvs::Family::V4);
    let _ = netlink::parse_dest_msg(data, lvsd_ipvs::Family::V6);
    let _ = netlink::parse_dest(data, lvsd_ipvs::Family::V4);
});
