//! lvsd-ipvs: the kernel's IPVS table.
//!
//! * [`types`]: services, destinations, options.
//! * [`reconcile`]: the minimal ordered operations from what the kernel has to what lvsd wants
//!   (sans-IO).

pub mod desired;
pub mod list;
pub mod netlink;
pub mod reconcile;
pub mod types;

pub use types::*;
