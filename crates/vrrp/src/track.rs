//! Trackers and the effective priority (keepalived-behaviour §2.7).
//!
//! The core does not run scripts or watch links: the daemon reports each tracker's status and
//! this module turns the statuses into a priority adjustment and a fault flag.
//!
//! Per tracker, with weight `w` and `m = -1` when `reverse` is set, else `1`:
//! * `w == 0`: binary. Failing (or OK, when reversed) drives FAULT.
//! * `w > 0`: contributes `w × m` while OK, nothing while failing.
//! * `w < 0`: contributes `w × m` while failing, nothing while OK.
//! * files report a value: the contribution is `value × w × m`; at or below −254 it is a fault.
//!   With `w == 0` a non-zero value (zero, when reversed) is a fault.
//!
//! A tracker that has not reported yet contributes nothing. A weight-0 one holds the instance
//! in INIT until it reports, as keepalived does.
//!
//! The sum is added to the base priority and clamped to 1..=254; an address owner (255) is
//! never adjusted.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum TrackerKind {
    Script,
    Interface,
    File,
    Process,
    Bfd,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct TrackerId {
    pub kind: TrackerKind,
    pub name: String,
}

impl TrackerId {
    pub fn new(kind: TrackerKind, name: &str) -> Self {
        TrackerId {
            kind,
            name: name.to_string(),
        }
    }
}

/// A tracker attached to an instance, with its effective weight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackerRef {
    pub id: TrackerId,
    pub weight: i32,
    pub reverse: bool,
}

/// What the daemon reports about a tracker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum TrackerStatus {
    Up,
    Down,
    /// A track_file value.
    Value(i64),
}

/// Contributions at or below this are a fault (keepalived: −254).
const FILE_FAULT: i64 = -254;

#[derive(Debug, Clone)]
struct Slot {
    tracker: TrackerRef,
    status: Option<TrackerStatus>,
}

/// The trackers of one instance and their last reported statuses.
#[derive(Debug, Clone, Default)]
pub struct Tracking {
    slots: Vec<Slot>,
}

/// The outcome of all trackers together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TrackSummary {
    /// Sum of the weighted contributions (before clamping).
    pub adjustment: i64,
    /// Trackers currently driving FAULT.
    pub faults: u32,
    /// Weight-0 trackers that have not reported yet.
    pub pending: u32,
}

impl Tracking {
    pub fn new(trackers: &[TrackerRef]) -> Self {
        Tracking {
            slots: trackers
                .iter()
                .map(|t| Slot {
                    tracker: t.clone(),
                    status: None,
                })
                .collect(),
        }
    }

    /// Records a status; returns whether this instance tracks `id`.
    pub fn set(&mut self, id: &TrackerId, status: TrackerStatus) -> bool {
        let mut hit = false;
        for slot in self.slots.iter_mut().filter(|s| &s.tracker.id == id) {
            slot.status = Some(status);
            hit = true;
        }
        hit
    }

    pub fn tracks(&self, id: &TrackerId) -> bool {
        self.slots.iter().any(|s| &s.tracker.id == id)
    }

    /// Keeps the statuses of trackers that are still configured (a reload).
    pub fn carry_over(&mut self, old: &Tracking) {
        for slot in &mut self.slots {
            if let Some(prev) = old.slots.iter().find(|s| s.tracker.id == slot.tracker.id) {
                slot.status = prev.status;
            }
        }
    }

    pub fn summary(&self) -> TrackSummary {
        let mut sum = TrackSummary::default();
        for slot in &self.slots {
            let w = i64::from(slot.tracker.weight);
            let m: i64 = if slot.tracker.reverse { -1 } else { 1 };
            match slot.status {
                None => {
                    if w == 0 {
                        sum.pending += 1;
                    }
                }
                Some(TrackerStatus::Up) | Some(TrackerStatus::Down) => {
                    let ok = slot.status == Some(TrackerStatus::Up);
                    if w == 0 {
                        if ok != (m == 1) {
                            sum.faults += 1;
                        }
                    } else if (w > 0 && ok) || (w < 0 && !ok) {
                        sum.adjustment += w * m;
                    }
                }
                Some(TrackerStatus::Value(v)) => {
                    if w == 0 {
                        if (v != 0) == (m == 1) {
                            sum.faults += 1;
                        }
                    } else {
                        let c = v.saturating_mul(w).saturating_mul(m);
                        if c <= FILE_FAULT {
                            sum.faults += 1;
                        } else {
                            sum.adjustment = sum.adjustment.saturating_add(c);
                        }
                    }
                }
            }
        }
        sum
    }
}

/// The effective priority: base plus adjustments, clamped to 1..=254; 255 stays 255.
pub fn effective_priority(base: u8, adjustment: i64) -> u8 {
    if base == 255 {
        return 255;
    }
    let p = i64::from(base).saturating_add(adjustment).clamp(1, 254);
    p as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracking(weight: i32, reverse: bool) -> (Tracking, TrackerId) {
        let id = TrackerId::new(TrackerKind::Script, "chk");
        let t = Tracking::new(&[TrackerRef {
            id: id.clone(),
            weight,
            reverse,
        }]);
        (t, id)
    }

    #[test]
    fn weights_follow_keepalived() {
        // (weight, reverse, status) -> (adjustment, faults)
        let cases = [
            (-40, false, TrackerStatus::Down, -40, 0),
            (-40, false, TrackerStatus::Up, 0, 0),
            (20, false, TrackerStatus::Up, 20, 0),
            (20, false, TrackerStatus::Down, 0, 0),
            (20, true, TrackerStatus::Up, -20, 0),
            (20, true, TrackerStatus::Down, 0, 0),
            (-20, true, TrackerStatus::Down, 20, 0),
            (-20, true, TrackerStatus::Up, 0, 0),
            (0, false, TrackerStatus::Down, 0, 1),
            (0, false, TrackerStatus::Up, 0, 0),
            (0, true, TrackerStatus::Up, 0, 1),
            (0, true, TrackerStatus::Down, 0, 0),
        ];
        for (w, rev, st, adj, faults) in cases {
            let (mut t, id) = tracking(w, rev);
            assert!(t.set(&id, st));
            let s = t.summary();
            assert_eq!((s.adjustment, s.faults), (adj, faults), "{w} {rev} {st:?}");
        }
    }

    #[test]
    fn unreported_weight_zero_is_pending() {
        let (t, _) = tracking(0, false);
        assert_eq!(t.summary().pending, 1);
        let (t, _) = tracking(-10, false);
        assert_eq!(t.summary(), TrackSummary::default());
    }

    #[test]
    fn files_multiply_and_fault_below_minus_253() {
        let id = TrackerId::new(TrackerKind::File, "f");
        let mut t = Tracking::new(&[TrackerRef {
            id: id.clone(),
            weight: 2,
            reverse: false,
        }]);
        t.set(&id, TrackerStatus::Value(-10));
        assert_eq!(t.summary().adjustment, -20);
        t.set(&id, TrackerStatus::Value(-127));
        assert_eq!(t.summary().faults, 1);
    }

    #[test]
    fn clamping_and_owner() {
        assert_eq!(effective_priority(100, -200), 1);
        assert_eq!(effective_priority(100, 200), 254);
        assert_eq!(effective_priority(255, -100), 255);
        assert_eq!(effective_priority(100, -40), 60);
    }
}
