//! Log rate limiting: at most one line per key and period, with the number suppressed.

use lvsd_vrrp::event::InstanceId;
use std::collections::HashMap;
use std::time::{Duration, Instant};

pub struct RateLimit {
    period: Duration,
    last: HashMap<(Option<InstanceId>, &'static str), (Instant, u64)>,
}

impl RateLimit {
    pub fn new(period: Duration) -> Self {
        RateLimit {
            period,
            last: HashMap::new(),
        }
    }

    /// Whether to log now; logs the count of suppressed lines when a period has passed.
    pub fn allow(&mut self, instance: Option<InstanceId>, what: &'static str) -> bool {
        let now = Instant::now();
        match self.last.get_mut(&(instance, what)) {
            Some((at, suppressed)) if now.duration_since(*at) < self.period => {
                *suppressed += 1;
                false
            }
            Some((at, suppressed)) => {
                if *suppressed > 0 {
                    tracing::warn!("{what}: {suppressed} more in the last {:?}", self.period);
                }
                *at = now;
                *suppressed = 0;
                true
            }
            None => {
                self.last.insert((instance, what), (now, 0));
                true
            }
        }
    }
}
