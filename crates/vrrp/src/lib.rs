//! lvsd-vrrp: VRRP without I/O.
//!
//! Packets in, events and the current time in, actions out. No sockets, no threads, no clock:
//! the daemon (or the simulator in [`sim`]) owns time and the network.
//!
//! * [`packet`]: the VRRPv2/v3 codec, IPv4 header and IPsec AH.
//! * [`validate`]: receive validation in RFC order, with a counter per drop reason.
//! * [`Instance`]: one instance's state machine; [`Router`]: all instances, sync groups and
//!   dispatch.
//! * [`track`]: tracker weights and the effective priority.

pub mod config;
pub mod event;
pub mod from_model;
pub mod instance;
pub mod packet;
pub mod router;
pub mod sim;
pub mod time;
pub mod timers;
pub mod track;
pub mod validate;

pub use config::InstanceConfig;
pub use event::{Action, Event, GroupId, InstanceId, Operator, Reason, Received, State};
pub use instance::Instance;
pub use router::Router;
pub use time::Time;
