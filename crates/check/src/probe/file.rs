//! FILE_CHECK: the integer in a `track_file`, times the weight, decides.
//!
//! The file is read at every check (no inotify here), the way `track_file` reads it
//! ([`lvsd_scripts::track_file::parse_value`], keepalived's `strtol(…, 0)`): opened non-blocking
//! (a FIFO cannot hang the check), at most 127 bytes, leading blanks, a sign, `0x` hex or `0`
//! octal, text after the number ignored. A missing, unreadable, empty or non-numeric file is
//! **0**. A number outside −2147483648 ..= 2147483648 is ignored: the last valid value read
//! from that file stays (0 before any).
//!
//! The rule, as keepalived applies a track_file to a real server (keepalived.conf(5) "Track
//! files" and FILE_CHECK; keepalived-behaviour §1.2, §1.7, §3.2; keepalived's trackers/
//! track_file.c, read for behaviour only):
//!
//! * **weight 0**: a non-zero value is a failure, 0 is success. With `reverse`, the opposite:
//!   0 fails, non-zero succeeds. No weight change.
//! * **weight W ≠ 0**: `result = value × W` (× −1 with `reverse`), clamped to the 32-bit range.
//!   A result of −2147483648 (or below, clamped) is a failure (keepalived's IPVS_WEIGHT_FAULT);
//!   anything else is success with [`Outcome::weight`] = `Some(result)`.
//!
//! **[`Outcome::weight`] here is a delta**: keepalived adds `result` to the real server's
//! configured weight (effective weight = configured + Σ results; IPVS then clamps it), whereas
//! MISC_CHECK's weight is absolute. keepalived's parser has no `dynamic` keyword in FILE_CHECK
//! (the man page documents one; a weighted FILE_CHECK always adjusts the weight), so a non-zero
//! weight always reports the delta and [`FileProbe::dynamic`] changes nothing here.

use super::{FileProbe, Outcome};
use lvsd_scripts::track_file::{parse_value, Reading};
use std::collections::HashMap;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

/// keepalived's fault value for a weighted track file on a real server (INT32_MIN).
pub const WEIGHT_FAULT: i64 = i32::MIN as i64;

/// Runs one FILE_CHECK.
pub async fn check(probe: &FileProbe) -> Outcome {
    let start = Instant::now();
    let (value, note) = current_value(&probe.path);
    let mut out = judge(probe, value);
    out.latency = start.elapsed();
    if let (Some(e), Some(note)) = (&mut out.error, note) {
        e.push_str(&format!(" ({note})"));
    }
    out
}

/// The verdict for `value`, by the rule above (latency zero).
pub fn judge(probe: &FileProbe, value: i64) -> Outcome {
    let zero = std::time::Duration::ZERO;
    let name = probe.path.display();
    if probe.weight == 0 {
        let fault = (value != 0) != probe.reverse;
        return if fault {
            let why = if probe.reverse {
                "0, a failure with weight 0 reverse".to_string()
            } else {
                format!("{value}, a failure with weight 0 (0 is success)")
            };
            Outcome::fail(zero, format!("track_file {name} holds {why}"))
        } else {
            Outcome::ok(zero)
        };
    }
    let result = weighted(value, probe.weight, probe.reverse);
    if i64::from(result) <= WEIGHT_FAULT {
        Outcome::fail(
            zero,
            format!(
                "track_file {name} holds {value}: {value} × weight {}{} reaches the fault limit {WEIGHT_FAULT}",
                probe.weight,
                if probe.reverse { " reverse" } else { "" }
            ),
        )
    } else {
        Outcome {
            weight: Some(result),
            ..Outcome::ok(zero)
        }
    }
}

/// `value × weight` (negated with `reverse`), clamped to i32.
pub fn weighted(value: i64, weight: i32, reverse: bool) -> i32 {
    let sign: i128 = if reverse { -1 } else { 1 };
    let r = i128::from(value) * i128::from(weight) * sign;
    r.clamp(i128::from(i32::MIN), i128::from(i32::MAX)) as i32
}

/// Reads the file; an out-of-range number keeps the last valid value of that path. Returns the
/// value and, when it is not a plain number from the file, why.
fn current_value(path: &Path) -> (i64, Option<String>) {
    static LAST: OnceLock<Mutex<HashMap<PathBuf, i64>>> = OnceLock::new();
    let last = LAST.get_or_init(Default::default);
    let reading = read(path);
    let mut map = last.lock().unwrap_or_else(|p| p.into_inner());
    match reading {
        Reading::Value(v, note) => {
            map.insert(path.to_path_buf(), v);
            (v, note)
        }
        Reading::Zero(why) => {
            map.insert(path.to_path_buf(), 0);
            (0, Some(format!("{why}: value 0")))
        }
        Reading::Ignored(why) => {
            let v = map.get(path).copied().unwrap_or(0);
            (v, Some(format!("{why}: ignored, value {v} kept")))
        }
    }
}

/// One read of the file, keepalived's way (non-blocking open, 127 bytes at most).
fn read(path: &Path) -> Reading {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path);
    let mut buf = Vec::with_capacity(128);
    match file {
        Ok(f) => {
            if let Err(e) = f.take(127).read_to_end(&mut buf) {
                if buf.is_empty() {
                    return Reading::Zero(format!("cannot be read: {e}"));
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Reading::Zero("the file does not exist".into())
        }
        Err(e) => return Reading::Zero(format!("cannot be opened: {e}")),
    }
    parse_value(&String::from_utf8_lossy(&buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(weight: i32, reverse: bool, dynamic: bool) -> FileProbe {
        FileProbe {
            path: "/nonexistent".into(),
            weight,
            reverse,
            dynamic,
        }
    }

    #[test]
    fn weight_zero() {
        assert!(judge(&probe(0, false, false), 0).ok);
        assert!(!judge(&probe(0, false, false), 3).ok);
        assert!(!judge(&probe(0, false, false), -1).ok);
        assert!(!judge(&probe(0, true, false), 0).ok);
        assert!(judge(&probe(0, true, false), 7).ok);
        assert_eq!(judge(&probe(0, false, false), 0).weight, None);
        assert_eq!(judge(&probe(0, false, true), 0).weight, None);
    }

    #[test]
    fn weighted_results() {
        assert_eq!(judge(&probe(2, false, false), 5).weight, Some(10));
        assert_eq!(judge(&probe(2, true, false), 5).weight, Some(-10));
        assert_eq!(judge(&probe(-3, false, true), 4).weight, Some(-12));
        assert_eq!(judge(&probe(1, false, false), 0).weight, Some(0));
        // The fault limit: −2^31 and anything clamped to it.
        assert!(!judge(&probe(1, false, false), -2147483648).ok);
        assert!(!judge(&probe(2, false, false), -2000000000).ok);
        assert!(judge(&probe(1, false, false), -2147483647).ok);
        // Clamped at the top: no fault.
        assert_eq!(
            judge(&probe(1000, false, false), 2147483648).weight,
            Some(i32::MAX)
        );
        assert!(!judge(&probe(1, true, false), 2147483648).ok);
    }
}
