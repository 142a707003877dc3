//! lvsd-check: health checks of real servers.
//!
//! * [`machine`]: the sans-IO state machine of one check (delay_loop, retry,
//!   delay_before_retry, warmup, alpha; optional rise/fall) — keepalived's rules.
//! * [`health`]: sans-IO aggregation: a real server is alive while all its checkers are up;
//!   quorum with hysteresis per virtual server; the sorry server; the events that drive
//!   notify_up/notify_down, quorum_up/quorum_down, the LVS FIFO and SMTP alerts.
//! * [`spec`]: the probes a configuration asks for, identical probes merged (one probe feeds
//!   every checker that asks for the same thing).
//! * [`probe`]: the async probes on tokio (TCP, HTTP/SSL, SMTP, DNS, MISC, UDP, PING, FILE).
//! * [`pool`]: runs every probe on its schedule and reports state changes.

pub mod health;
pub mod machine;
pub mod pool;
pub mod probe;
pub mod spec;
