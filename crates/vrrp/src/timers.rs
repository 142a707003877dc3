//! The protocol timers of RFC 3768 §6.1 and RFC 5798 §6.1.

use crate::packet::Version;
use std::time::Duration;

/// Skew_Time for an effective priority.
///
/// * v2 (RFC 3768 §6.1): `(256 - Priority) / 256` seconds, whatever the advert interval.
/// * v3 (RFC 5798 §6.1): `((256 - Priority) * Master_Adver_Interval) / 256`.
pub fn skew(version: Version, priority: u8, master_adver_interval: Duration) -> Duration {
    let factor = 256 - u64::from(priority);
    match version {
        Version::V2 => Duration::from_micros(factor * 1_000_000 / 256),
        Version::V3 => {
            let us = u64::try_from(master_adver_interval.as_micros()).unwrap_or(u64::MAX);
            Duration::from_micros(factor.saturating_mul(us) / 256)
        }
    }
}

/// Master_Down_Interval = N × Master_Adver_Interval + Skew_Time, with N = 3 in the RFCs
/// (keepalived's `down_timer_adverts` changes N).
pub fn master_down(
    version: Version,
    priority: u8,
    master_adver_interval: Duration,
    down_timer_adverts: u32,
) -> Duration {
    master_adver_interval * down_timer_adverts + skew(version, priority, master_adver_interval)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_skew_ignores_interval() {
        // Lab: priority 90 took over 0.649 s after the priority-0 advert.
        assert_eq!(
            skew(Version::V2, 90, Duration::from_secs(1)).as_micros(),
            648_437
        );
        assert_eq!(
            skew(Version::V2, 90, Duration::from_secs(5)).as_micros(),
            648_437
        );
        assert_eq!(
            master_down(Version::V2, 90, Duration::from_secs(1), 3).as_micros(),
            3_648_437
        );
    }

    #[test]
    fn v3_skew_scales_with_interval() {
        let i = Duration::from_millis(100);
        assert_eq!(skew(Version::V3, 90, i).as_micros(), 64_843);
        assert_eq!(master_down(Version::V3, 90, i, 3).as_micros(), 364_843);
        assert_eq!(skew(Version::V3, 255, i).as_micros(), 390);
    }
}
