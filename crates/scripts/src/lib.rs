//! lvsd-scripts: running users' scripts reliably, and the trackers built on them.
//!
//! * [`runner`]: one run of a command — its own process group, the configured user, stdin
//!   /dev/null, output captured, a time limit (SIGTERM to the group, SIGKILL 2 s later).
//! * [`vrrp_script`]: `vrrp_script` trackers with rise/fall (fail-closed when the script cannot
//!   run).
//! * [`track_file`]: `track_file` values through inotify.
//! * [`track_process`]: `vrrp_track_process` by scanning /proc, with quorum and delays.
//! * [`notify`]: notify scripts, in order per instance and sync group.
//! * [`fifo`]: `notify_fifo` / `vrrp_notify_fifo` lines as keepalived writes them.
//! * [`user`]: who scripts run as (`script_user`, `keepalived_script`, per-script `user`).
//!
//! Trackers report `(TrackerId, TrackerStatus)` on a tokio mpsc channel, the input of
//! `lvsd_vrrp::Event::Tracker`. Everything here needs a tokio runtime with the time and process
//! drivers (`enable_all`), and must not run on the VRRP runtime (scripts must not delay adverts).

pub mod fifo;
pub mod notify;
pub mod program;
pub mod run_stats;
pub mod runner;
pub mod smtp;
pub mod track_file;
pub mod track_process;
pub mod user;
pub mod vrrp_script;

pub use fifo::{FifoSink, FifoWriter, Fifos};
pub use notify::{Notifier, NotifierOptions, Target};
pub use runner::{run, Command, Outcome, Status};
pub use smtp::SmtpAlerter;
pub use track_file::spawn_track_file;
pub use track_process::{spawn_track_process, spawn_track_processes};
pub use user::{Credentials, ScriptUsers};
pub use vrrp_script::{spawn_vrrp_script, spawn_vrrp_script_resumed};
