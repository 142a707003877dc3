//! Raw sockets for VRRP adverts (IP protocol 112, and 51 for keepalived's IPsec-AH adverts).
//!
//! IPv4: lvsd builds the whole IPv4 header (`IP_HDRINCL`) and receives it back with every
//! packet. IPv6: the kernel builds the header; the payload's checksum is computed and checked by
//! the kernel (`IPV6_CHECKSUM` at offset 6), and the receive side reports source, destination,
//! hop limit and interface from the packet's control messages.

use crate::error::ctx;
use crate::sys::{self, setsockopt, setsockopt_int};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, Socket, Type};
use std::io;
use std::mem;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4};
use std::os::fd::{AsRawFd, RawFd};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// IP protocol number of VRRP.
pub const IPPROTO_VRRP: u8 = 112;
/// IP protocol number of IPsec AH (keepalived's `authentication { auth_type AH }`).
pub const IPPROTO_AH: u8 = 51;
/// The VRRP IPv4 multicast group.
pub const VRRP_GROUP_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// The VRRP IPv6 multicast group.
pub const VRRP_GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

/// A packet received by [`VrrpSocket::recv_v6`]: the VRRP payload is in the buffer, the IPv6
/// header's fields the checks need are here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recv6 {
    /// Bytes of payload written to the buffer (the VRRP packet, without IPv6 header).
    pub len: usize,
    pub src: Ipv6Addr,
    /// The destination address of the packet (from `IPV6_PKTINFO`); `::` if the kernel gave none.
    pub dst: Ipv6Addr,
    /// The hop limit of the packet (from `IPV6_HOPLIMIT`); 0 if the kernel gave none.
    pub hop_limit: u8,
    /// The interface it arrived on; 0 if the kernel gave none.
    pub ifindex: u32,
}

/// A nonblocking raw socket for VRRP (or AH) adverts, registered with the tokio reactor of the
/// runtime it was created in.
#[derive(Debug)]
pub struct VrrpSocket {
    fd: AsyncFd<Socket>,
    v6: bool,
    protocol: u8,
    ifindex: u32,
    what: String,
}

impl VrrpSocket {
    /// Opens an IPv4 raw socket for protocol 112 with `IP_HDRINCL`: bound to `ifname`
    /// (`SO_BINDTODEVICE`) when given, member of each group in `groups` on that interface,
    /// multicast loop off, multicast sent out of `ifname`.
    pub fn open_v4(ifname: Option<&str>, groups: &[Ipv4Addr]) -> io::Result<Self> {
        Self::open_v4_proto(ifname, groups, IPPROTO_VRRP)
    }

    /// The same as [`open_v4`](Self::open_v4) for IP protocol 51 (keepalived's AH adverts).
    pub fn open_v4_ah(ifname: Option<&str>, groups: &[Ipv4Addr]) -> io::Result<Self> {
        Self::open_v4_proto(ifname, groups, IPPROTO_AH)
    }

    fn open_v4_proto(ifname: Option<&str>, groups: &[Ipv4Addr], proto: u8) -> io::Result<Self> {
        let (sock, ifindex, what) = raw_socket(false, ifname, proto)?;
        sock.set_header_included_v4(true)
            .map_err(|e| ctx(e, format!("{what}: IP_HDRINCL")))?;
        if let Some(name) = ifname {
            sock.bind_device(Some(name.as_bytes()))
                .map_err(|e| ctx(e, format!("{what}: SO_BINDTODEVICE")))?;
        }
        sock.set_multicast_loop_v4(false)
            .map_err(|e| ctx(e, format!("{what}: IP_MULTICAST_LOOP")))?;
        // Only the groups this socket joined, not every group any socket of the host joined.
        sock.set_multicast_all_v4(false)
            .map_err(|e| ctx(e, format!("{what}: IP_MULTICAST_ALL")))?;
        if ifindex != 0 {
            let mreqn = libc::ip_mreqn {
                imr_multiaddr: libc::in_addr { s_addr: 0 },
                imr_address: libc::in_addr { s_addr: 0 },
                imr_ifindex: ifindex as libc::c_int,
            };
            setsockopt(&sock, libc::IPPROTO_IP, libc::IP_MULTICAST_IF, &mreqn)
                .map_err(|e| ctx(e, format!("{what}: IP_MULTICAST_IF")))?;
        }
        for group in groups {
            if !group.is_multicast() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{what}: {group} is not a multicast group"),
                ));
            }
            sock.join_multicast_v4_n(group, &InterfaceIndexOrAddress::Index(ifindex))
                .map_err(|e| ctx(e, format!("{what}: join {group}")))?;
        }
        sock.set_nonblocking(true)
            .map_err(|e| ctx(e, format!("{what}: O_NONBLOCK")))?;
        let fd = sys::register(sock, &what)?;
        tracing::debug!(target: "netif", "opened {what}, groups {groups:?}");
        Ok(VrrpSocket {
            fd,
            v6: false,
            protocol: proto,
            ifindex,
            what,
        })
    }

    /// Opens an IPv6 raw socket for protocol 112: kernel checksum at offset 6, hop limits 255,
    /// multicast loop off, multicast out of `ifname`, member of `groups` on it, hop limit and
    /// packet info reported on receive, bound to `ifname` when given.
    pub fn open_v6(ifname: Option<&str>, groups: &[Ipv6Addr]) -> io::Result<Self> {
        let proto = IPPROTO_VRRP;
        let (sock, ifindex, what) = raw_socket(true, ifname, proto)?;
        setsockopt_int(
            &sock,
            libc::IPPROTO_IPV6,
            libc::IPV6_CHECKSUM,
            6,
            "IPV6_CHECKSUM",
        )
        .map_err(|e| ctx(e, &what))?;
        sock.set_multicast_hops_v6(255)
            .map_err(|e| ctx(e, format!("{what}: IPV6_MULTICAST_HOPS")))?;
        sock.set_unicast_hops_v6(255)
            .map_err(|e| ctx(e, format!("{what}: IPV6_UNICAST_HOPS")))?;
        sock.set_multicast_loop_v6(false)
            .map_err(|e| ctx(e, format!("{what}: IPV6_MULTICAST_LOOP")))?;
        // Kernels before 4.20 lack IPV6_MULTICAST_ALL: not fatal.
        if let Err(e) = sock.set_multicast_all_v6(false) {
            tracing::debug!(target: "netif", "{what}: IPV6_MULTICAST_ALL: {e}");
        }
        if let Some(name) = ifname {
            sock.bind_device(Some(name.as_bytes()))
                .map_err(|e| ctx(e, format!("{what}: SO_BINDTODEVICE")))?;
        }
        if ifindex != 0 {
            sock.set_multicast_if_v6(ifindex)
                .map_err(|e| ctx(e, format!("{what}: IPV6_MULTICAST_IF")))?;
        }
        for group in groups {
            if !group.is_multicast() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{what}: {group} is not a multicast group"),
                ));
            }
            sock.join_multicast_v6(group, ifindex)
                .map_err(|e| ctx(e, format!("{what}: join {group}")))?;
        }
        setsockopt_int(
            &sock,
            libc::IPPROTO_IPV6,
            libc::IPV6_RECVHOPLIMIT,
            1,
            "IPV6_RECVHOPLIMIT",
        )
        .map_err(|e| ctx(e, &what))?;
        setsockopt_int(
            &sock,
            libc::IPPROTO_IPV6,
            libc::IPV6_RECVPKTINFO,
            1,
            "IPV6_RECVPKTINFO",
        )
        .map_err(|e| ctx(e, &what))?;
        sock.set_nonblocking(true)
            .map_err(|e| ctx(e, format!("{what}: O_NONBLOCK")))?;
        let fd = sys::register(sock, &what)?;
        tracing::debug!(target: "netif", "opened {what}, groups {groups:?}");
        Ok(VrrpSocket {
            fd,
            v6: true,
            protocol: proto,
            ifindex,
            what,
        })
    }

    /// The interface the socket is bound to (0 if none).
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// The IP protocol (112 or 51).
    pub fn protocol(&self) -> u8 {
        self.protocol
    }

    /// True for an IPv6 socket.
    pub fn is_v6(&self) -> bool {
        self.v6
    }

    /// Receives one IPv4 packet, IP header included. A packet longer than `buf` is an error
    /// (`InvalidData`, the packet is consumed).
    pub async fn recv_v4(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.expect_family(false, "recv_v4")?;
        let n = self
            .fd
            .async_io(Interest::READABLE, |s| recv_trunc(s.as_raw_fd(), buf))
            .await
            .map_err(|e| ctx(e, format!("{}: recv", self.what)))?;
        if n > buf.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{}: packet of {n} bytes truncated to {}",
                    self.what,
                    buf.len()
                ),
            ));
        }
        Ok(n)
    }

    /// Sends one IPv4 packet whose header lvsd built (`IP_HDRINCL`) to `dst`.
    pub async fn send_v4(&self, packet: &[u8], dst: Ipv4Addr) -> io::Result<()> {
        self.expect_family(false, "send_v4")?;
        let addr = SockAddr::from(SocketAddrV4::new(dst, 0));
        let n = self
            .fd
            .async_io(Interest::WRITABLE, |s| s.send_to(packet, &addr))
            .await
            .map_err(|e| ctx(e, format!("{}: send to {dst}", self.what)))?;
        if n != packet.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                format!("{}: sent {n} of {} bytes to {dst}", self.what, packet.len()),
            ));
        }
        Ok(())
    }

    /// Receives one VRRP payload (no IPv6 header) with its source, destination, hop limit and
    /// interface.
    pub async fn recv_v6(&self, buf: &mut [u8]) -> io::Result<Recv6> {
        self.expect_family(true, "recv_v6")?;
        let r = self
            .fd
            .async_io(Interest::READABLE, |s| recvmsg_v6(s.as_raw_fd(), buf))
            .await
            .map_err(|e| ctx(e, format!("{}: recvmsg", self.what)))?;
        if r.len > buf.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{}: packet of {} bytes from {} truncated to {}",
                    self.what,
                    r.len,
                    r.src,
                    buf.len()
                ),
            ));
        }
        Ok(r)
    }

    /// Sends a VRRP payload to `dst` from `src` (`::` lets the kernel choose) out of `ifindex`
    /// (0: the socket's interface or the routing table's choice). The kernel fills the checksum.
    pub async fn send_v6(
        &self,
        payload: &[u8],
        src: Ipv6Addr,
        dst: Ipv6Addr,
        ifindex: u32,
    ) -> io::Result<()> {
        self.expect_family(true, "send_v6")?;
        let ifindex = if ifindex == 0 { self.ifindex } else { ifindex };
        let n = self
            .fd
            .async_io(Interest::WRITABLE, |s| {
                sendmsg_v6(s.as_raw_fd(), payload, src, dst, ifindex)
            })
            .await
            .map_err(|e| ctx(e, format!("{}: send from {src} to {dst}", self.what)))?;
        if n != payload.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                format!(
                    "{}: sent {n} of {} bytes to {dst}",
                    self.what,
                    payload.len()
                ),
            ));
        }
        Ok(())
    }

    fn expect_family(&self, v6: bool, op: &str) -> io::Result<()> {
        if self.v6 == v6 {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{}: {op} on a socket of the other address family",
                    self.what
                ),
            ))
        }
    }
}

impl AsRawFd for VrrpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.get_ref().as_raw_fd()
    }
}

/// `recv` that reports the datagram's real length (`MSG_TRUNC`).
fn recv_trunc(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
    let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_TRUNC) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Control-message buffer, aligned for `cmsghdr`.
#[repr(C, align(8))]
struct CmsgBuf([u8; 128]);

fn recvmsg_v6(fd: RawFd, buf: &mut [u8]) -> io::Result<Recv6> {
    // SAFETY: all-zero is a valid sockaddr_in6 / msghdr.
    let mut name: libc::sockaddr_in6 = unsafe { mem::zeroed() };
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut cbuf = CmsgBuf([0; 128]);
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_name = (&mut name as *mut libc::sockaddr_in6).cast();
    msg.msg_namelen = mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.0.as_mut_ptr().cast();
    msg.msg_controllen = cbuf.0.len() as _;
    // SAFETY: msg points to live buffers of the sizes given.
    let n = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_TRUNC) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut r = Recv6 {
        len: n as usize,
        src: Ipv6Addr::from(name.sin6_addr.s6_addr),
        dst: Ipv6Addr::UNSPECIFIED,
        hop_limit: 0,
        ifindex: 0,
    };
    // SAFETY: the kernel filled msg_control/msg_controllen; the CMSG_* macros walk within it
    // and the data are read unaligned with the types the options define.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            let h = &*c;
            if h.cmsg_level == libc::IPPROTO_IPV6 {
                if h.cmsg_type == libc::IPV6_HOPLIMIT {
                    let v: libc::c_int = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                    r.hop_limit = v.clamp(0, 255) as u8;
                } else if h.cmsg_type == libc::IPV6_PKTINFO {
                    let p: libc::in6_pktinfo = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                    r.dst = Ipv6Addr::from(p.ipi6_addr.s6_addr);
                    r.ifindex = p.ipi6_ifindex;
                }
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok(r)
}

fn sendmsg_v6(
    fd: RawFd,
    payload: &[u8],
    src: Ipv6Addr,
    dst: Ipv6Addr,
    ifindex: u32,
) -> io::Result<usize> {
    // SAFETY: all-zero is a valid sockaddr_in6 / msghdr.
    let mut name: libc::sockaddr_in6 = unsafe { mem::zeroed() };
    name.sin6_family = libc::AF_INET6 as libc::sa_family_t;
    name.sin6_addr.s6_addr = dst.octets();
    if is_link_scope(&dst) {
        name.sin6_scope_id = ifindex;
    }
    let mut iov = libc::iovec {
        iov_base: payload.as_ptr() as *mut libc::c_void,
        iov_len: payload.len(),
    };
    let info = libc::in6_pktinfo {
        ipi6_addr: libc::in6_addr {
            s6_addr: src.octets(),
        },
        ipi6_ifindex: ifindex,
    };
    let mut cbuf = CmsgBuf([0; 128]);
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_name = (&mut name as *mut libc::sockaddr_in6).cast();
    msg.msg_namelen = mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    // SAFETY: CMSG_SPACE of in6_pktinfo (32 bytes) fits the 128-byte aligned buffer; the
    // header and data are written inside it.
    unsafe {
        let space = libc::CMSG_SPACE(mem::size_of::<libc::in6_pktinfo>() as u32) as usize;
        msg.msg_control = cbuf.0.as_mut_ptr().cast();
        msg.msg_controllen = space as _;
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::IPPROTO_IPV6;
        (*c).cmsg_type = libc::IPV6_PKTINFO;
        (*c).cmsg_len = libc::CMSG_LEN(mem::size_of::<libc::in6_pktinfo>() as u32) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(c).cast(), info);
    }
    // SAFETY: msg points to live buffers of the sizes given.
    let n = unsafe { libc::sendmsg(fd, &msg, 0) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Link-local unicast (fe80::/10) or a multicast address of interface- or link-local scope.
fn is_link_scope(a: &Ipv6Addr) -> bool {
    let s = a.segments();
    (s[0] & 0xffc0) == 0xfe80 || (a.is_multicast() && matches!(s[0] & 0x000f, 1 | 2))
}

/// A raw socket of `proto` for the family, the index of `ifname` (0: none) and a description
/// for error messages.
fn raw_socket(v6: bool, ifname: Option<&str>, proto: u8) -> io::Result<(Socket, u32, String)> {
    let what = format!(
        "{} raw socket (protocol {proto}) on {}",
        if v6 { "IPv6" } else { "IPv4" },
        ifname.unwrap_or("any interface")
    );
    let ifindex = match ifname {
        Some(name) => sys::ifindex(name).map_err(|e| ctx(e, &what))?,
        None => 0,
    };
    let domain = if v6 { Domain::IPV6 } else { Domain::IPV4 };
    let sock = Socket::new(domain, Type::RAW, Some(Protocol::from(i32::from(proto))))
        .map_err(|e| ctx(e, format!("{what}: socket")))?;
    Ok((sock, ifindex, what))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_scope() {
        assert!(is_link_scope(&VRRP_GROUP_V6));
        assert!(is_link_scope(&"fe80::1".parse().unwrap()));
        assert!(!is_link_scope(&"2001:db8::1".parse().unwrap()));
        assert!(!is_link_scope(&"ff05::12".parse().unwrap()));
    }
}
