//! Receive validation (RFC 3768 §7.1, RFC 5798 §7.1, keepalived-behaviour §2.4), in order.
//! Every drop has a reason and a counter.

use crate::config::{AddrMismatch, AuthConfig, InstanceConfig};
use crate::event::Received;
use crate::packet::{self, Advert, Auth, Version};
use std::net::IpAddr;

macro_rules! drop_reasons {
    ($($variant:ident => $name:literal, $doc:literal;)*) => {
        /// Why an advert was dropped. The names are stable (metrics, logs, JSON).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        pub enum DropReason {
            $(#[doc = $doc] $variant,)*
        }

        impl DropReason {
            pub const ALL: &'static [DropReason] = &[$(DropReason::$variant,)*];

            pub fn name(self) -> &'static str {
                match self {
                    $(DropReason::$variant => $name,)*
                }
            }
        }
    };
}

drop_reasons! {
    Ttl => "ttl", "Multicast with TTL/hop limit other than 255, or outside a unicast peer's TTL bounds.";
    Version => "version", "Not VRRP version 2 or 3, or not this instance's version.";
    Type => "type", "Not an ADVERTISEMENT.";
    UnknownVrid => "unknown-vrid", "No instance with this VRID on this interface and family.";
    Length => "length", "Length does not match the address count, or the packet is truncated.";
    Checksum => "checksum", "Checksum mismatch.";
    Destination => "destination", "Unicast advert for a multicast instance, or the reverse.";
    AuthType => "auth-type", "v2 auth type (or AH presence) differs from ours.";
    AuthFailure => "auth-failure", "Wrong password or AH ICV.";
    AuthReplay => "auth-replay", "AH sequence number not newer than the last one accepted.";
    Interval => "interval", "v2 advert interval differs from ours.";
    OwnerIgnore => "owner-ignore", "An address owner with owner_ignore_adverts.";
    AddressList => "address-list", "Address list differs from ours (reject policy).";
    UnicastSource => "unicast-source", "Unicast source is not a configured peer.";
}

/// Per-instance counters (the RFC 6527 MIB's statistics, plus lvsd's reasons).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    pub adverts_rx: u64,
    pub adverts_tx: u64,
    pub priority_zero_rx: u64,
    pub priority_zero_tx: u64,
    pub became_master: u64,
    pub released_master: u64,
    /// Transitions into BACKUP (the start's included) and into FAULT.
    pub became_backup: u64,
    pub became_fault: u64,
    /// Rounds of gratuitous ARPs / unsolicited NAs asked for (each round: one per VIP).
    pub gratuitous_rounds: u64,
    pub address_list_mismatch: u64,
    /// Drops by reason; serialised as `{"ttl": 0, "checksum": 2, ...}`.
    #[serde(serialize_with = "drops_by_name")]
    drops: [u64; 14],
}

fn drops_by_name<S: serde::Serializer>(d: &[u64; 14], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(Some(DropReason::ALL.len()))?;
    for r in DropReason::ALL {
        m.serialize_entry(r.name(), &d[*r as usize])?;
    }
    m.end()
}

impl Stats {
    pub fn count_drop(&mut self, r: DropReason) {
        debug_assert_eq!(DropReason::ALL.len(), 14);
        self.drops[r as usize] += 1;
    }

    pub fn drops(&self, r: DropReason) -> u64 {
        self.drops[r as usize]
    }

    pub fn total_drops(&self) -> u64 {
        self.drops.iter().sum()
    }
}

/// A valid advert, plus what validation noticed without dropping it.
#[derive(Debug)]
pub struct Accepted {
    pub advert: Advert,
    pub address_mismatch: bool,
}

/// Whether an address is multicast.
pub fn is_multicast(a: &IpAddr) -> bool {
    a.is_multicast()
}

/// Router-level checks before the VRID is looked up: TTL for multicast, version, type.
pub fn precheck(rx: &Received<'_>) -> Result<packet::Header, DropReason> {
    if is_multicast(&rx.dst) && rx.ttl != 255 {
        return Err(DropReason::Ttl);
    }
    let h = packet::peek(rx.payload).map_err(|_| DropReason::Length)?;
    if h.version != 2 && h.version != 3 {
        return Err(DropReason::Version);
    }
    if h.kind != 1 {
        return Err(DropReason::Type);
    }
    Ok(h)
}

/// 8-byte comparison whose time does not depend on where the bytes differ.
fn same_password(a: &[u8; 8], b: &[u8; 8]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Instance-level checks, in order. `current_master` enables `skip_check_adv_addr`;
/// `last_ah_seq` is the last AH sequence number accepted from `rx.src`'s master.
pub fn check(
    cfg: &InstanceConfig,
    rx: &Received<'_>,
    current_master: Option<IpAddr>,
    last_ah_seq: &mut Option<u32>,
) -> Result<Accepted, DropReason> {
    let unicast_dst = !is_multicast(&rx.dst);
    let peer = cfg.unicast_peers.iter().find(|p| p.addr == rx.src);
    if unicast_dst {
        if let Some(p) = peer {
            if p.min_ttl.is_some_and(|m| rx.ttl < m) || p.max_ttl.is_some_and(|m| rx.ttl > m) {
                return Err(DropReason::Ttl);
            }
        }
    }
    let h = packet::peek(rx.payload).map_err(|_| DropReason::Length)?;
    let want = match cfg.version {
        Version::V2 => 2,
        Version::V3 => 3,
    };
    if h.version != want {
        return Err(DropReason::Version);
    }
    let advert = Advert::decode(rx.payload, cfg.family).map_err(|_| DropReason::Length)?;
    let pseudo = cfg.pseudo_header(rx.src, rx.dst);
    if !packet::checksum_ok(rx.payload, cfg.version, pseudo) {
        return Err(DropReason::Checksum);
    }
    if unicast_dst != cfg.is_unicast() {
        return Err(DropReason::Destination);
    }
    if cfg.version == Version::V2 {
        check_auth(cfg, rx, &advert, last_ah_seq)?;
        if advert.interval_cs != cfg.interval_cs() {
            return Err(DropReason::Interval);
        }
    }
    if cfg.owner_ignore_adverts && cfg.priority == 255 {
        return Err(DropReason::OwnerIgnore);
    }
    let skip_addr = cfg.skip_check_adv_addr && current_master == Some(rx.src);
    let mut address_mismatch = false;
    if !skip_addr && !same_addresses(&advert.addrs, &cfg.vips) {
        match cfg.addr_mismatch {
            AddrMismatch::Reject => return Err(DropReason::AddressList),
            AddrMismatch::Accept => address_mismatch = true,
        }
    }
    if unicast_dst && cfg.check_unicast_src && peer.is_none() {
        return Err(DropReason::UnicastSource);
    }
    Ok(Accepted {
        advert,
        address_mismatch,
    })
}

fn check_auth(
    cfg: &InstanceConfig,
    rx: &Received<'_>,
    advert: &Advert,
    last_ah_seq: &mut Option<u32>,
) -> Result<(), DropReason> {
    match (&cfg.auth, &advert.auth, rx.ah) {
        (AuthConfig::None, Auth::None, None) => Ok(()),
        (AuthConfig::Pass(ours), Auth::Pass(theirs), None) => {
            if same_password(ours, theirs) {
                Ok(())
            } else {
                Err(DropReason::AuthFailure)
            }
        }
        (AuthConfig::Ah(key), Auth::Ah, Some(ah)) => {
            if !packet::ah::verify_ah(ah.packet, key) {
                return Err(DropReason::AuthFailure);
            }
            // RFC 2402 §3.4.3 anti-replay, per master: the sequence must move forward.
            // A restarted master begins again at 1, so a sequence number that fell back to a
            // small value after a gap is accepted (as keepalived does on master change).
            if let Some(last) = *last_ah_seq {
                if ah.seq <= last && ah.seq > 1 {
                    return Err(DropReason::AuthReplay);
                }
            }
            *last_ah_seq = Some(ah.seq);
            Ok(())
        }
        _ => Err(DropReason::AuthType),
    }
}

/// The same set of addresses, in any order (RFC 9568 §7.1 compares the set).
fn same_addresses(theirs: &[IpAddr], ours: &[IpAddr]) -> bool {
    theirs.len() == ours.len() && ours.iter().all(|a| theirs.contains(a))
}
