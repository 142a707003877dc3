//! Gratuitous ARP and unsolicited neighbour advertisements, as keepalived sends them when an
//! instance becomes MASTER: whole Ethernet frames on an `AF_PACKET` socket.
//!
//! - ARP: a *request* "who-has VIP tell VIP" to the broadcast MAC, sender MAC = the interface's
//!   MAC, target MAC = broadcast (ff:ff:ff:ff:ff:ff), 42 bytes (the NIC pads).
//! - NA: ICMPv6 type 136 from the VIP to ff02::1 (MAC 33:33:00:00:00:01), hop limit 255,
//!   Override flag set (Router flag when IPv6 forwarding is on for the interface), target = VIP,
//!   option "target link-layer address" = the interface's MAC.

use crate::error::ctx;
use crate::sys;
use socket2::{Domain, Socket, Type};
use std::io;
use std::mem;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, RawFd};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

const ETH_P_ARP: u16 = 0x0806;
const ETH_P_IPV6: u16 = 0x86dd;
const BROADCAST_MAC: [u8; 6] = [0xff; 6];
/// ff02::1 (all nodes).
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
const ALL_NODES_MAC: [u8; 6] = [0x33, 0x33, 0, 0, 0, 1];

/// Length of an ARP frame over Ethernet without padding.
pub const ARP_FRAME_LEN: usize = 42;
/// Length of the ICMPv6 NA message with one target link-layer address option.
pub const NA_PACKET_LEN: usize = 32;
/// Length of the Ethernet + IPv6 + NA frame.
pub const NA_FRAME_LEN: usize = 14 + 40 + NA_PACKET_LEN;

/// The gratuitous ARP frame for `ip` owned by `src_mac`.
pub fn arp_frame(src_mac: [u8; 6], ip: Ipv4Addr) -> [u8; ARP_FRAME_LEN] {
    let mut f = [0u8; ARP_FRAME_LEN];
    f[0..6].copy_from_slice(&BROADCAST_MAC);
    f[6..12].copy_from_slice(&src_mac);
    f[12..14].copy_from_slice(&ETH_P_ARP.to_be_bytes());
    f[14..16].copy_from_slice(&1u16.to_be_bytes()); // hardware type: Ethernet
    f[16..18].copy_from_slice(&0x0800u16.to_be_bytes()); // protocol type: IPv4
    f[18] = 6; // hardware address length
    f[19] = 4; // protocol address length
    f[20..22].copy_from_slice(&1u16.to_be_bytes()); // operation: request
    f[22..28].copy_from_slice(&src_mac); // sender hardware address
    f[28..32].copy_from_slice(&ip.octets()); // sender protocol address
    f[32..38].copy_from_slice(&BROADCAST_MAC); // target hardware address
    f[38..42].copy_from_slice(&ip.octets()); // target protocol address
    f
}

/// The ICMPv6 neighbour advertisement for `ip` owned by `src_mac`, sent from `ip` to ff02::1
/// (the checksum covers that pseudo-header).
pub fn na_packet(src_mac: [u8; 6], ip: Ipv6Addr, router: bool) -> [u8; NA_PACKET_LEN] {
    let mut p = [0u8; NA_PACKET_LEN];
    p[0] = 136; // type: neighbour advertisement
    p[1] = 0; // code
    p[4] = 0x20 | if router { 0x80 } else { 0 }; // Override (+ Router)
    p[8..24].copy_from_slice(&ip.octets()); // target
    p[24] = 2; // option: target link-layer address
    p[25] = 1; // length in units of 8 bytes
    p[26..32].copy_from_slice(&src_mac);
    let sum = icmpv6_checksum(&ip, &ALL_NODES, &p);
    p[2..4].copy_from_slice(&sum.to_be_bytes());
    p
}

/// The whole Ethernet frame of the unsolicited NA: Ethernet, IPv6 (hop limit 255, from `ip` to
/// ff02::1), [`na_packet`].
pub fn na_frame(src_mac: [u8; 6], ip: Ipv6Addr, router: bool) -> [u8; NA_FRAME_LEN] {
    let mut f = [0u8; NA_FRAME_LEN];
    f[0..6].copy_from_slice(&ALL_NODES_MAC);
    f[6..12].copy_from_slice(&src_mac);
    f[12..14].copy_from_slice(&ETH_P_IPV6.to_be_bytes());
    let ip6 = &mut f[14..54];
    ip6[0] = 0x60; // version 6, traffic class 0, flow label 0
    ip6[4..6].copy_from_slice(&(NA_PACKET_LEN as u16).to_be_bytes());
    ip6[6] = 58; // next header: ICMPv6
    ip6[7] = 255; // hop limit
    ip6[8..24].copy_from_slice(&ip.octets());
    ip6[24..40].copy_from_slice(&ALL_NODES.octets());
    f[54..].copy_from_slice(&na_packet(src_mac, ip, router));
    f
}

/// The ICMPv6 checksum of `msg` (its checksum field zero) from `src` to `dst`.
pub fn icmpv6_checksum(src: &Ipv6Addr, dst: &Ipv6Addr, msg: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut add = |b: &[u8]| {
        for c in b.chunks(2) {
            let w = if c.len() == 2 {
                u16::from_be_bytes([c[0], c[1]])
            } else {
                u16::from_be_bytes([c[0], 0])
            };
            sum += u32::from(w);
        }
    };
    add(&src.octets());
    add(&dst.octets());
    add(&(msg.len() as u32).to_be_bytes());
    add(&[0, 0, 0, 58]);
    add(msg);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Whether IPv6 forwarding is on for the interface (keepalived then sets the Router flag).
fn ipv6_forwarding(ifindex: u32) -> bool {
    let Ok(name) = sys::ifname(ifindex) else {
        return false;
    };
    std::fs::read_to_string(format!("/proc/sys/net/ipv6/conf/{name}/forwarding"))
        .map(|s| s.trim() == "1")
        .unwrap_or(false)
}

/// An `AF_PACKET` socket that sends gratuitous ARPs and unsolicited NAs on any interface.
/// It receives nothing (protocol 0).
#[derive(Debug)]
pub struct GarpSocket {
    fd: AsyncFd<Socket>,
}

impl GarpSocket {
    /// Opens the socket (in the calling thread's network namespace) on the current tokio
    /// runtime.
    pub fn open() -> io::Result<GarpSocket> {
        let sock = Socket::new(Domain::PACKET, Type::RAW, None)
            .map_err(|e| ctx(e, "AF_PACKET socket for gratuitous ARP/NA"))?;
        sock.set_nonblocking(true)
            .map_err(|e| ctx(e, "AF_PACKET socket: O_NONBLOCK"))?;
        let fd = sys::register(sock, "AF_PACKET socket")?;
        Ok(GarpSocket { fd })
    }

    /// Sends one gratuitous ARP for `ip` out of `ifindex` with `src_mac` (the interface's MAC).
    pub async fn send_garp(&self, ifindex: u32, src_mac: [u8; 6], ip: Ipv4Addr) -> io::Result<()> {
        let frame = arp_frame(src_mac, ip);
        self.send(ifindex, ETH_P_ARP, &BROADCAST_MAC, &frame)
            .await
            .map_err(|e| ctx(e, format!("gratuitous ARP for {ip} on ifindex {ifindex}")))
    }

    /// Sends one unsolicited neighbour advertisement for `ip` out of `ifindex` with `src_mac`.
    pub async fn send_unsolicited_na(
        &self,
        ifindex: u32,
        src_mac: [u8; 6],
        ip: Ipv6Addr,
    ) -> io::Result<()> {
        let frame = na_frame(src_mac, ip, ipv6_forwarding(ifindex));
        self.send(ifindex, ETH_P_IPV6, &ALL_NODES_MAC, &frame)
            .await
            .map_err(|e| ctx(e, format!("unsolicited NA for {ip} on ifindex {ifindex}")))
    }

    async fn send(&self, ifindex: u32, proto: u16, dst: &[u8; 6], frame: &[u8]) -> io::Result<()> {
        let sll = sockaddr_ll(ifindex, proto, dst);
        let n = self
            .fd
            .async_io(Interest::WRITABLE, |s| {
                sendto_ll(s.as_raw_fd(), frame, &sll)
            })
            .await?;
        check_len(n, frame.len())
    }
}

/// Sends one gratuitous ARP for `ip` out of `ifindex` with `src_mac` on a short-lived
/// `AF_PACKET` socket (synchronous and nonblocking: a full transmit queue is an error, not a
/// wait). [`GarpSocket`] keeps one socket for many.
pub fn send_garp(ifindex: u32, src_mac: [u8; 6], ip: Ipv4Addr) -> io::Result<()> {
    send_once(ifindex, ETH_P_ARP, &BROADCAST_MAC, &arp_frame(src_mac, ip))
        .map_err(|e| ctx(e, format!("gratuitous ARP for {ip} on ifindex {ifindex}")))
}

/// Sends one unsolicited neighbour advertisement for `ip` out of `ifindex` with `src_mac` on a
/// short-lived `AF_PACKET` socket (see [`send_garp`]).
pub fn send_unsolicited_na(ifindex: u32, src_mac: [u8; 6], ip: Ipv6Addr) -> io::Result<()> {
    let frame = na_frame(src_mac, ip, ipv6_forwarding(ifindex));
    send_once(ifindex, ETH_P_IPV6, &ALL_NODES_MAC, &frame)
        .map_err(|e| ctx(e, format!("unsolicited NA for {ip} on ifindex {ifindex}")))
}

fn send_once(ifindex: u32, proto: u16, dst: &[u8; 6], frame: &[u8]) -> io::Result<()> {
    let sock = Socket::new(Domain::PACKET, Type::RAW, None)?;
    sock.set_nonblocking(true)?;
    let n = sendto_ll(sock.as_raw_fd(), frame, &sockaddr_ll(ifindex, proto, dst))?;
    check_len(n, frame.len())
}

fn check_len(n: usize, want: usize) -> io::Result<()> {
    if n == want {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::WriteZero,
            format!("sent {n} of {want} bytes"),
        ))
    }
}

fn sockaddr_ll(ifindex: u32, proto: u16, dst: &[u8; 6]) -> libc::sockaddr_ll {
    // SAFETY: all-zero is a valid sockaddr_ll.
    let mut sll: libc::sockaddr_ll = unsafe { mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = proto.to_be();
    sll.sll_ifindex = ifindex as i32;
    sll.sll_halen = 6;
    sll.sll_addr[..6].copy_from_slice(dst);
    sll
}

impl AsRawFd for GarpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.get_ref().as_raw_fd()
    }
}

fn sendto_ll(fd: RawFd, frame: &[u8], sll: &libc::sockaddr_ll) -> io::Result<usize> {
    // SAFETY: `frame` and `sll` are live for the call, with the lengths given.
    let n = unsafe {
        libc::sendto(
            fd,
            frame.as_ptr().cast(),
            frame.len(),
            0,
            (sll as *const libc::sockaddr_ll).cast(),
            mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

    #[test]
    fn arp_frame_bytes() {
        let f = arp_frame(MAC, Ipv4Addr::new(192, 168, 1, 100));
        let want: [u8; 42] = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // dst: broadcast
            0x52, 0x54, 0x00, 0x12, 0x34, 0x56, // src: interface MAC
            0x08, 0x06, // ARP
            0x00, 0x01, 0x08, 0x00, 6, 4, // Ethernet / IPv4, lengths 6 and 4
            0x00, 0x01, // request
            0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 192, 168, 1, 100, // sender: MAC, VIP
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 192, 168, 1, 100, // target: broadcast, VIP
        ];
        assert_eq!(f, want);
    }

    #[test]
    fn na_packet_bytes_and_checksum() {
        let ip: Ipv6Addr = "2001:db8::100".parse().unwrap();
        let p = na_packet(MAC, ip, false);
        assert_eq!(p[0], 136);
        assert_eq!(p[1], 0);
        // Checksum computed independently (Python, RFC 1071 over pseudo-header + message).
        assert_eq!(&p[2..4], &[0x72, 0x71]);
        assert_eq!(&p[4..8], &[0x20, 0, 0, 0]);
        assert_eq!(&p[8..24], &ip.octets());
        assert_eq!(&p[24..32], &[2, 1, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
        // A correct checksum makes the sum over pseudo-header + message 0xffff (here: 0 after !).
        assert_eq!(icmpv6_checksum(&ip, &ALL_NODES, &p), 0);
        let r = na_packet(MAC, ip, true);
        assert_eq!(r[4], 0xa0);
        assert_eq!(&r[2..4], &[0xf2, 0x70]);
        assert_eq!(icmpv6_checksum(&ip, &ALL_NODES, &r), 0);
    }

    #[test]
    fn checksum_against_independent_sum() {
        // RFC 1071 sum done with 32-bit words over the concatenation, as a cross-check.
        let ip: Ipv6Addr = "fe80::5054:ff:fe12:3456".parse().unwrap();
        let p = na_packet(MAC, ip, false);
        let mut buf = Vec::new();
        buf.extend_from_slice(&ip.octets());
        buf.extend_from_slice(&ALL_NODES.octets());
        buf.extend_from_slice(&32u32.to_be_bytes());
        buf.extend_from_slice(&[0, 0, 0, 58]);
        buf.extend_from_slice(&p);
        let mut s: u64 = 0;
        for c in buf.chunks(2) {
            s += u64::from(u16::from_be_bytes([c[0], c[1]]));
        }
        while s > 0xffff {
            s = (s & 0xffff) + (s >> 16);
        }
        assert_eq!(s, 0xffff);
    }

    #[test]
    fn na_frame_bytes() {
        let ip: Ipv6Addr = "2001:db8::100".parse().unwrap();
        let f = na_frame(MAC, ip, false);
        assert_eq!(f.len(), 86);
        assert_eq!(&f[0..6], &[0x33, 0x33, 0, 0, 0, 1]);
        assert_eq!(&f[6..12], &MAC);
        assert_eq!(&f[12..14], &[0x86, 0xdd]);
        assert_eq!(&f[14..22], &[0x60, 0, 0, 0, 0, 32, 58, 255]);
        assert_eq!(&f[22..38], &ip.octets());
        assert_eq!(
            &f[38..54],
            &[0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
        );
        assert_eq!(&f[54..], &na_packet(MAC, ip, false));
    }
}
