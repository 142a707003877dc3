//! Numbers of the IPVS generic-netlink family, as the kernel's uapi header
//! `include/uapi/linux/ip_vs.h` defines them (the enums count from 0 = UNSPEC).

/// Generic netlink family name and version (`IPVS_GENL_NAME`, `IPVS_GENL_VERSION`).
pub const GENL_NAME: &str = "IPVS";
pub const GENL_VERSION: u8 = 1;

/// Commands (`IPVS_CMD_*`).
pub mod cmd {
    pub const NEW_SERVICE: u8 = 1;
    pub const SET_SERVICE: u8 = 2;
    pub const DEL_SERVICE: u8 = 3;
    pub const GET_SERVICE: u8 = 4;
    pub const NEW_DEST: u8 = 5;
    pub const SET_DEST: u8 = 6;
    pub const DEL_DEST: u8 = 7;
    pub const GET_DEST: u8 = 8;
    pub const NEW_DAEMON: u8 = 9;
    pub const DEL_DAEMON: u8 = 10;
    pub const GET_DAEMON: u8 = 11;
    pub const SET_CONFIG: u8 = 12;
    pub const GET_CONFIG: u8 = 13;
    /// Only used as the command of the GET_INFO reply.
    pub const SET_INFO: u8 = 14;
    pub const GET_INFO: u8 = 15;
    pub const ZERO: u8 = 16;
    pub const FLUSH: u8 = 17;
}

/// First-level attributes (`IPVS_CMD_ATTR_*`).
pub mod cmd_attr {
    pub const SERVICE: u16 = 1;
    pub const DEST: u16 = 2;
    pub const DAEMON: u16 = 3;
    pub const TIMEOUT_TCP: u16 = 4;
    pub const TIMEOUT_TCP_FIN: u16 = 5;
    pub const TIMEOUT_UDP: u16 = 6;
}

/// Attributes nested in `CMD_ATTR_SERVICE` (`IPVS_SVC_ATTR_*`).
pub mod svc_attr {
    /// u16: AF_INET / AF_INET6.
    pub const AF: u16 = 1;
    /// u16: IPPROTO_*.
    pub const PROTOCOL: u16 = 2;
    /// 16 bytes (`union nf_inet_addr`), IPv4 in the first 4.
    pub const ADDR: u16 = 3;
    /// be16.
    pub const PORT: u16 = 4;
    /// u32.
    pub const FWMARK: u16 = 5;
    /// NUL-terminated string, at most 15 characters.
    pub const SCHED_NAME: u16 = 6;
    /// `struct ip_vs_flags { u32 flags; u32 mask; }`.
    pub const FLAGS: u16 = 7;
    /// u32 seconds.
    pub const TIMEOUT: u16 = 8;
    /// be32 IPv4 mask, or the IPv6 prefix length as a host-order u32.
    pub const NETMASK: u16 = 9;
    /// Nested 32-bit counters (read-only).
    pub const STATS: u16 = 10;
    /// NUL-terminated string.
    pub const PE_NAME: u16 = 11;
    /// Nested 64-bit counters (read-only).
    pub const STATS64: u16 = 12;
}

/// Attributes nested in `CMD_ATTR_DEST` (`IPVS_DEST_ATTR_*`).
pub mod dest_attr {
    pub const ADDR: u16 = 1;
    /// be16.
    pub const PORT: u16 = 2;
    /// u32 (IP_VS_CONN_F_FWD_MASK bits).
    pub const FWD_METHOD: u16 = 3;
    /// u32 (an int in the kernel).
    pub const WEIGHT: u16 = 4;
    pub const U_THRESH: u16 = 5;
    pub const L_THRESH: u16 = 6;
    pub const ACTIVE_CONNS: u16 = 7;
    pub const INACT_CONNS: u16 = 8;
    pub const PERSIST_CONNS: u16 = 9;
    pub const STATS: u16 = 10;
    /// u16.
    pub const ADDR_FAMILY: u16 = 11;
    pub const STATS64: u16 = 12;
    /// u8: 0 ipip, 1 gue, 2 gre.
    pub const TUN_TYPE: u16 = 13;
    /// be16.
    pub const TUN_PORT: u16 = 14;
    /// u16.
    pub const TUN_FLAGS: u16 = 15;
}

/// Attributes nested in `CMD_ATTR_DAEMON` (`IPVS_DAEMON_ATTR_*`).
pub mod daemon_attr {
    /// u32: 1 master, 2 backup.
    pub const STATE: u16 = 1;
    /// NUL-terminated string, at most 15 characters.
    pub const MCAST_IFN: u16 = 2;
    /// u32.
    pub const SYNC_ID: u16 = 3;
    /// u16.
    pub const SYNC_MAXLEN: u16 = 4;
    /// be32 (`nla_get_in_addr`): the address octets in order.
    pub const MCAST_GROUP: u16 = 5;
    /// 16 bytes.
    pub const MCAST_GROUP6: u16 = 6;
    /// u16 in host order.
    pub const MCAST_PORT: u16 = 7;
    /// u8.
    pub const MCAST_TTL: u16 = 8;
}

/// Attributes nested in the STATS / STATS64 attributes (`IPVS_STATS_ATTR_*`).
pub mod stats_attr {
    pub const CONNS: u16 = 1;
    pub const INPKTS: u16 = 2;
    pub const OUTPKTS: u16 = 3;
    pub const INBYTES: u16 = 4;
    pub const OUTBYTES: u16 = 5;
    pub const CPS: u16 = 6;
    pub const INPPS: u16 = 7;
    pub const OUTPPS: u16 = 8;
    pub const INBPS: u16 = 9;
    pub const OUTBPS: u16 = 10;
    /// Alignment padding for 64-bit values (no payload).
    pub const PAD: u16 = 11;
}

/// First-level attributes of the GET_INFO reply (`IPVS_INFO_ATTR_*`).
pub mod info_attr {
    /// u32, e.g. 0x010201 for 1.2.1.
    pub const VERSION: u16 = 1;
    /// u32.
    pub const CONN_TAB_SIZE: u16 = 2;
}

/// `IP_VS_SCHEDNAME_MAXLEN`, `IP_VS_PENAME_MAXLEN`, `IP_VS_IFNAME_MAXLEN` (including the NUL).
pub const NAME_MAXLEN: usize = 16;

/// `IP_VS_STATE_MASTER` / `IP_VS_STATE_BACKUP`.
pub const STATE_MASTER: u32 = 1;
pub const STATE_BACKUP: u32 = 2;

/// `IP_VS_CONN_F_TUNNEL_TYPE_*`.
pub const TUN_TYPE_IPIP: u8 = 0;
pub const TUN_TYPE_GUE: u8 = 1;
pub const TUN_TYPE_GRE: u8 = 2;

/// Netlink header sizes: `struct nlmsghdr` (16) and `struct genlmsghdr` (4).
pub const NLMSG_HDRLEN: usize = 16;
pub const GENL_HDRLEN: usize = 4;

/// Netlink message types and flags used here (`linux/netlink.h`).
pub const NLMSG_NOOP: u16 = 1;
pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;
pub const NLMSG_OVERRUN: u16 = 4;
pub const NLM_F_REQUEST: u16 = 0x0001;
pub const NLM_F_MULTI: u16 = 0x0002;
pub const NLM_F_ACK: u16 = 0x0004;
/// NLM_F_ROOT | NLM_F_MATCH.
pub const NLM_F_DUMP: u16 = 0x0300;
/// In an NLMSG_ERROR: the echoed request was cut to its header.
pub const NLM_F_CAPPED: u16 = 0x0100;
/// In an NLMSG_ERROR: extended-ack TLVs follow.
pub const NLM_F_ACK_TLVS: u16 = 0x0200;
/// `NLMSGERR_ATTR_MSG`: the extended-ack text.
pub const NLMSGERR_ATTR_MSG: u16 = 1;
