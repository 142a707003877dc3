//! What an instance needs to know, independent of the keepalived.conf model.
//! [`crate::from_model`] builds these from the config crate's typed model.

use crate::packet::{Family, Version};
use crate::track::TrackerRef;
use std::net::IpAddr;
use std::time::Duration;

/// v2 authentication as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthConfig {
    None,
    /// The password, NUL-padded (and truncated) to 8 bytes.
    Pass([u8; 8]),
    /// IPsec AH (HMAC-MD5-96) keyed with the password.
    Ah(Vec<u8>),
}

/// What to do with an advert whose address list differs from ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum AddrMismatch {
    /// Count it, report it, accept the advert (keepalived ≥ 2.3.3, RFC 9568).
    Accept,
    /// Drop the advert (keepalived ≤ 2.3.2, including Debian 12's 2.2.7).
    Reject,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnicastPeer {
    pub addr: IpAddr,
    pub min_ttl: Option<u8>,
    pub max_ttl: Option<u8>,
}

/// Gratuitous ARP / unsolicited NA schedule of one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GarpConfig {
    /// Second burst after becoming master (0 = none).
    pub master_delay: Duration,
    pub master_repeat: u32,
    /// Periodic refresh while master (0 = none).
    pub master_refresh: Duration,
    pub master_refresh_repeat: u32,
    /// After hearing a lower priority advert as master.
    pub lower_prio_delay: Duration,
    pub lower_prio_repeat: u32,
}

impl Default for GarpConfig {
    /// keepalived's defaults: 5 at takeover and 5 more after 5 s; 5 + 5 on lower priority.
    fn default() -> Self {
        GarpConfig {
            master_delay: Duration::from_secs(5),
            master_repeat: 5,
            master_refresh: Duration::ZERO,
            master_refresh_repeat: 1,
            lower_prio_delay: Duration::from_secs(5),
            lower_prio_repeat: 5,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct InstanceConfig {
    pub name: String,
    /// The interface adverts are sent and received on (None: unicast with unicast_src_ip only).
    pub interface: Option<String>,
    pub vrid: u8,
    pub version: Version,
    pub family: Family,
    /// Configured priority, 1..=255; 255 is the address owner.
    pub priority: u8,
    /// `state MASTER`: only meaningful for an address owner (keepalived-behaviour §2.1).
    pub want_master: bool,
    /// Advertisement interval; v2 holds whole seconds, v3 centiseconds.
    pub advert_interval: Duration,
    pub nopreempt: bool,
    pub preempt_delay: Duration,
    pub auth: AuthConfig,
    /// Addresses carried in adverts.
    pub vips: Vec<IpAddr>,
    /// The address this instance compares in elections and sends from, when configured
    /// (`unicast_src_ip` / `mcast_src_ip`); otherwise the daemon reports the interface's
    /// primary address with [`crate::Event::SourceAddress`].
    pub src_addr: Option<IpAddr>,
    pub mcast_group: IpAddr,
    pub unicast_peers: Vec<UnicastPeer>,
    /// TTL of unicast adverts (keepalived `unicast_ttl`, default 255).
    pub unicast_ttl: u8,
    /// Drop unicast adverts whose source is not a configured peer (lvsd's default: on).
    pub check_unicast_src: bool,
    pub addr_mismatch: AddrMismatch,
    /// Skip the address-list check for adverts from the current master.
    pub skip_check_adv_addr: bool,
    /// N in Master_Down_Interval = N × interval + skew (RFC: 3).
    pub down_timer_adverts: u32,
    /// Do not answer a lower-priority advert with an advert of our own.
    pub lower_prio_no_advert: bool,
    /// Send one advert before yielding to a higher priority.
    pub higher_prio_send_advert: bool,
    /// An owner drops all adverts.
    pub owner_ignore_adverts: bool,
    /// v3 over IPv4: checksum without the pseudo-header (keepalived `v3_checksum_as_v2`).
    pub v3_checksum_as_v2: bool,
    pub garp: GarpConfig,
    pub trackers: Vec<TrackerRef>,
    /// Whether the instance's own interface going down drives FAULT.
    pub track_primary: bool,
}

impl InstanceConfig {
    /// A minimal multicast instance (used by tests and the simulator).
    pub fn new(name: &str, vrid: u8, priority: u8, version: Version, vips: Vec<IpAddr>) -> Self {
        let family = match vips.first() {
            Some(IpAddr::V6(_)) => Family::V6,
            _ => Family::V4,
        };
        let mcast_group = match family {
            Family::V4 => IpAddr::V4(crate::packet::GROUP_V4),
            Family::V6 => IpAddr::V6(crate::packet::GROUP_V6),
        };
        InstanceConfig {
            name: name.to_string(),
            interface: Some("eth0".to_string()),
            vrid,
            version,
            family,
            priority,
            want_master: priority == 255,
            advert_interval: Duration::from_secs(1),
            nopreempt: false,
            preempt_delay: Duration::ZERO,
            auth: AuthConfig::None,
            vips,
            src_addr: None,
            mcast_group,
            unicast_peers: Vec::new(),
            unicast_ttl: 255,
            check_unicast_src: true,
            addr_mismatch: AddrMismatch::Accept,
            skip_check_adv_addr: false,
            down_timer_adverts: 3,
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            owner_ignore_adverts: false,
            v3_checksum_as_v2: false,
            garp: GarpConfig::default(),
            trackers: Vec::new(),
            track_primary: true,
        }
    }

    /// The checksum pseudo-header of an advert from `src` to `dst`: none for v2 and for
    /// `v3_checksum_as_v2` over IPv4 (RFC 5798 §5.2.8).
    pub fn pseudo_header(&self, src: IpAddr, dst: IpAddr) -> Option<(IpAddr, IpAddr)> {
        match (self.version, self.family) {
            (Version::V2, _) => None,
            (Version::V3, Family::V4) if self.v3_checksum_as_v2 => None,
            (Version::V3, _) => Some((src, dst)),
        }
    }

    pub fn is_unicast(&self) -> bool {
        !self.unicast_peers.is_empty()
    }

    /// The advert interval as carried on the wire, in centiseconds.
    pub fn interval_cs(&self) -> u16 {
        let cs = self.advert_interval.as_millis() / 10;
        u16::try_from(cs).unwrap_or(u16::MAX)
    }
}
