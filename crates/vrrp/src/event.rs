//! What goes into the core ([`Event`]) and what comes out ([`Action`]).

use crate::packet::Advert;
use crate::time::Time;
use crate::track::{TrackerId, TrackerStatus};
use crate::validate::DropReason;
use std::net::IpAddr;

/// Index of an instance inside its [`crate::Router`] (stable for the router's life).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct InstanceId(pub u16);

/// Index of a sync group inside its [`crate::Router`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct GroupId(pub u16);

/// Instance states. FAULT is keepalived's extension; STOP is the state after shutdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum State {
    Init,
    Backup,
    Master,
    Fault,
    Stop,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Init => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
            State::Stop => "STOP",
        }
    }
}

/// Why a transition happened; reported with every [`Action::Notify`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Reason {
    /// Startup into BACKUP (or FAULT when a fault already holds).
    Startup,
    /// An address owner with `state MASTER` takes over at once.
    Owner,
    /// Master_Down_Interval expired without a valid advert from a master.
    MasterDown,
    /// The master sent priority 0 and Skew_Time expired.
    PriorityZero,
    /// A higher priority (or an equal one from a higher address) was heard while master.
    Preempted { by: IpAddr, priority: u8 },
    /// Trackers, the link or the source address fault.
    Fault,
    /// The last fault cleared.
    FaultCleared,
    /// A sync-group member moved and this one follows.
    SyncGroup { member: String },
    /// Shutdown.
    Shutdown,
    /// Removed by a reload.
    Deleted,
    /// Kept across a reload.
    Reload,
    /// An operator demoted the instance (`lvsd vrrp demote`).
    Demoted,
}

/// What an operator asks of an instance (`lvsd vrrp demote|promote|release`, issue 17).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Operator {
    /// A master hands over at once (a priority-0 advert, as at a stop); the instance then
    /// stays BACKUP, whatever it hears, until promoted or released.
    Demote,
    /// Lifted, and the instance takes over if its priority is the best, even under
    /// `nopreempt` or `preempt_delay` (once).
    Promote,
    /// Lifted: the instance follows its configuration again.
    Release,
}

impl std::fmt::Display for Reason {
    /// For people: logs, `lvsd status`, `LVSD_REASON` of notify scripts.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Startup => f.write_str("startup"),
            Reason::Owner => f.write_str("address owner (priority 255)"),
            Reason::MasterDown => {
                f.write_str("no advert from a master within Master_Down_Interval")
            }
            Reason::PriorityZero => f.write_str("the master resigned (priority 0)"),
            Reason::Preempted { by, priority } => {
                write!(f, "preempted by {by} (priority {priority})")
            }
            Reason::Fault => f.write_str("fault (tracker, link or source address)"),
            Reason::FaultCleared => f.write_str("fault cleared"),
            Reason::SyncGroup { member } => write!(f, "sync group: {member} moved"),
            Reason::Shutdown => f.write_str("shutdown"),
            Reason::Deleted => f.write_str("removed by a reload"),
            Reason::Reload => f.write_str("kept across a reload"),
            Reason::Demoted => f.write_str("demoted by an operator"),
        }
    }
}

/// A reportable input to the router.
#[derive(Debug, Clone)]
pub enum Event<'a> {
    /// Start every instance (call once, after reporting interfaces and source addresses).
    Startup,
    /// A VRRP message received by the daemon.
    Advert(Received<'a>),
    /// Time passed; the router handles every deadline up to `now`.
    Timer,
    /// A tracker (script, interface, file, process, BFD) changed status.
    Tracker {
        id: TrackerId,
        status: TrackerStatus,
    },
    /// Link state of an interface.
    Interface { name: &'a str, up: bool },
    /// The address an instance sends from and compares in elections (None: lost).
    SourceAddress {
        instance: InstanceId,
        addr: Option<IpAddr>,
    },
    /// Graceful shutdown: priority-0 adverts, addresses removed, STOP notifies.
    Shutdown,
    /// An operator's demote, promote or release of one instance.
    Operator { instance: InstanceId, op: Operator },
}

/// An IPsec AH header that came with an IPv4 advert.
#[derive(Debug, Clone, Copy)]
pub struct AhRx<'a> {
    /// The whole IPv4 packet (needed to verify the ICV).
    pub packet: &'a [u8],
    pub seq: u32,
}

/// One received VRRP message and its IP metadata.
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// The interface it arrived on (None: unknown / unicast without interface).
    pub interface: Option<&'a str>,
    pub ah: Option<AhRx<'a>>,
    /// The VRRP message (after the IP and AH headers).
    pub payload: &'a [u8],
}

/// What the daemon must do, in order.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum Action {
    /// Send this advert (to the multicast group, or to every unicast peer).
    SendAdvert {
        instance: InstanceId,
        #[serde(skip)]
        advert: Advert,
        priority: u8,
        /// AH sequence number, when the instance uses AH.
        ah_seq: Option<u32>,
    },
    /// Install the instance's addresses, routes and rules.
    AddAddresses { instance: InstanceId },
    /// Remove them.
    RemoveAddresses { instance: InstanceId },
    /// Send `count` gratuitous ARPs (IPv4) or unsolicited NAs (IPv6) for every VIP.
    SendGratuitous { instance: InstanceId, count: u32 },
    /// A state change: run notify scripts, write the FIFO, log.
    Notify {
        instance: InstanceId,
        from: State,
        to: State,
        reason: Reason,
        priority: u8,
    },
    /// A sync group changed state.
    GroupNotify { group: GroupId, to: State },
    /// The effective priority changed (tracking).
    PriorityChanged {
        instance: InstanceId,
        from: u8,
        to: u8,
    },
    /// A master heard a lower priority (`notify_master_rx_lower_pri`).
    MasterRxLowerPriority {
        instance: InstanceId,
        from: IpAddr,
        priority: u8,
    },
    /// A backup ignored a lower-priority advert so that it can preempt.
    LowerPriorityIgnored {
        instance: InstanceId,
        from: IpAddr,
        priority: u8,
    },
    /// An advert accepted although its address list differs from ours (counted).
    AddressListMismatch { instance: InstanceId, from: IpAddr },
    /// An advert was dropped (counted; the daemon logs it, rate-limited).
    Dropped {
        instance: Option<InstanceId>,
        reason: DropReason,
        from: IpAddr,
    },
    /// A demoted backup heard no master for Master_Down_Interval and stays BACKUP: nobody
    /// holds its addresses (reported once per silence).
    HeldByDemote { instance: InstanceId },
    /// Wake the router at this time (the earliest deadline); replaces any earlier request.
    ArmTimer { at: Time },
}
