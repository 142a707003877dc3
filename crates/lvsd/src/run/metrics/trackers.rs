//! The trackers' families: each tracker's last status, and the vrrp_scripts' runs by result
//! and their durations.

use super::families::{b, counters, gauges, Labels};
use super::Snapshot;
use lvsd_scripts::run_stats::RESULTS;
use lvsd_vrrp::track::{TrackerId, TrackerKind, TrackerStatus};
use prometheus_client::encoding::DescriptorEncoder;
use std::fmt;

fn kind(k: TrackerKind) -> &'static str {
    match k {
        TrackerKind::Script => "vrrp_script",
        TrackerKind::Interface => "track_interface",
        TrackerKind::File => "track_file",
        TrackerKind::Process => "track_process",
        TrackerKind::Bfd => "track_bfd",
    }
}

fn id(t: &TrackerId) -> Labels<'_> {
    vec![("kind", b(kind(t.kind))), ("tracker", b(&t.name))]
}

pub fn encode(enc: &mut DescriptorEncoder, s: &Snapshot) -> fmt::Result {
    gauges(
        enc,
        "lvsd_tracker_up",
        "1 while the tracker (vrrp_script, track_process, ...) says up, 0 while down.",
        s.trackers.iter().filter_map(|(t, st)| match st {
            TrackerStatus::Up => Some((id(t), 1i64)),
            TrackerStatus::Down => Some((id(t), 0)),
            TrackerStatus::Value(_) => None,
        }),
    )?;
    gauges(
        enc,
        "lvsd_track_file_value",
        "The value a track_file holds.",
        s.trackers.iter().filter_map(|(t, st)| match st {
            TrackerStatus::Value(v) => Some((id(t), *v)),
            _ => None,
        }),
    )?;
    counters(
        enc,
        "lvsd_vrrp_script_runs",
        "Runs of the vrrp_script, by result: success (exit 0), failure, timeout, cannot_run.",
        s.script_runs.iter().flat_map(|(name, r)| {
            RESULTS
                .iter()
                .zip(r.by_result)
                .map(move |(res, n)| (vec![("script", b(name)), ("result", b(res))], n))
        }),
    )?;
    counters(
        enc,
        "lvsd_vrrp_script_run_seconds",
        "Time the vrrp_script's runs took, in all (with lvsd_vrrp_script_runs_total: the mean).",
        s.script_runs
            .iter()
            .map(|(name, r)| (vec![("script", b(name))], r.seconds)),
    )?;
    gauges(
        enc,
        "lvsd_vrrp_script_last_run_seconds",
        "How long the vrrp_script's last run took.",
        s.script_runs
            .iter()
            .map(|(name, r)| (vec![("script", b(name))], r.last_seconds)),
    )?;
    Ok(())
}
