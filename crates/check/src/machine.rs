//! The state machine of one check, sans-IO: it is told the result of each run and answers with
//! the delay until the next run and the state change, if any (keepalived-behaviour §3.1).
//!
//! keepalived's rules:
//! * a success resets the failure counter; a DOWN check comes UP at once (with the lvsd
//!   extension `rise N`: after N consecutive successes); the next run is after `delay_loop`;
//! * a failure while UP is retried `retry` times, `delay_before_retry` apart; the failure after
//!   that marks the check DOWN (retry + 1 consecutive failures; with the lvsd extension
//!   `fall N`: N consecutive failures), and the next run is after `delay_loop`;
//! * a failure while DOWN: the next run is after `delay_loop`;
//! * at start the check is UP (the real server is put in IPVS unchecked), and keepalived's retry
//!   counter is pre-set, so the first result decides: a failure marks it DOWN with no retries.
//!   With `alpha` it starts DOWN and needs a success (or `rise` successes). With an explicit
//!   `fall N`, the first failures are counted as any others (N are needed): that is what the
//!   user asked for.

use lvsd_config::model::EffectiveCheck;
use serde::Serialize;
use std::time::Duration;

/// The state of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum CheckState {
    Up,
    Down,
}

/// When a check runs and how many results change its state.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Timing {
    /// Between runs (and after a state change).
    pub delay_loop: Duration,
    /// Retries of a failing check while it is up (keepalived's `retry`).
    pub retry: u32,
    /// Between the retries.
    pub delay_before_retry: Duration,
    /// The first run is at a random point of [0, warmup].
    pub warmup: Duration,
    /// Start DOWN.
    pub alpha: bool,
    /// Consecutive successes to come up (>= 1; keepalived: 1).
    pub rise: u32,
    /// Consecutive failures to go down; None = keepalived's retry + 1.
    pub fall: Option<u32>,
}

pub(crate) fn secs(s: f64) -> Duration {
    if s.is_finite() && s > 0.0 {
        Duration::try_from_secs_f64(s).unwrap_or(Duration::MAX)
    } else {
        Duration::ZERO
    }
}

impl Timing {
    /// The timing of a configured checker (after inheritance).
    pub fn from_effective(e: &EffectiveCheck) -> Timing {
        Timing {
            delay_loop: secs(e.delay_loop),
            retry: e.retry,
            delay_before_retry: secs(e.delay_before_retry),
            warmup: secs(e.warmup),
            alpha: e.alpha,
            rise: e.rise.max(1),
            fall: e.fall.map(|f| f.max(1)),
        }
    }

    /// Consecutive failures that take an up check down.
    pub fn failures_to_fall(&self) -> u32 {
        self.fall.unwrap_or(self.retry.saturating_add(1)).max(1)
    }

    /// Consecutive successes that bring a down check up.
    pub fn successes_to_rise(&self) -> u32 {
        self.rise.max(1)
    }
}

/// What a result leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Run the check again after this long (`delay_loop` or `delay_before_retry`).
    pub next_in: Duration,
    /// The new state, if this result changed it.
    pub changed: Option<CheckState>,
}

/// One check's state and counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    timing: Timing,
    state: CheckState,
    /// Consecutive failures while up (keepalived's retry counter + 1).
    failures: u32,
    /// Consecutive successes while down (for `rise`).
    successes: u32,
    /// A result has been seen (keepalived's `has_run`).
    has_run: bool,
}

impl Machine {
    /// A new check: UP, or DOWN with `alpha`.
    pub fn new(t: Timing) -> Machine {
        let state = if t.alpha {
            CheckState::Down
        } else {
            CheckState::Up
        };
        Machine {
            timing: t,
            state,
            failures: 0,
            successes: 0,
            has_run: false,
        }
    }

    /// A check that keeps the state of one that ran before (reload).
    pub fn with_state(t: Timing, s: CheckState) -> Machine {
        Machine {
            timing: t,
            state: s,
            failures: 0,
            successes: 0,
            has_run: true,
        }
    }

    /// The delay before the first run: `warmup × random` (random in [0, 1)), as keepalived's
    /// random initial delay in [0, warmup].
    pub fn first_run_in(&self, random: f64) -> Duration {
        let r = if random.is_finite() {
            random.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self.timing.warmup.mul_f64(r)
    }

    /// Feeds the result of one run.
    pub fn on_result(&mut self, ok: bool) -> Step {
        let first = !self.has_run;
        self.has_run = true;
        let t = &self.timing;
        let mut changed = None;
        let next_in;
        if ok {
            self.failures = 0;
            match self.state {
                CheckState::Up => self.successes = 0,
                CheckState::Down => {
                    self.successes += 1;
                    if self.successes >= t.successes_to_rise() {
                        self.successes = 0;
                        self.state = CheckState::Up;
                        changed = Some(CheckState::Up);
                    }
                }
            }
            next_in = t.delay_loop;
        } else {
            self.successes = 0;
            match self.state {
                CheckState::Down => next_in = t.delay_loop,
                CheckState::Up => {
                    self.failures += 1;
                    // keepalived pre-sets the retry counter at start: the first result decides.
                    let presets = first && t.fall.is_none();
                    if presets || self.failures >= t.failures_to_fall() {
                        self.failures = 0;
                        self.state = CheckState::Down;
                        changed = Some(CheckState::Down);
                        next_in = t.delay_loop;
                    } else {
                        next_in = t.delay_before_retry;
                    }
                }
            }
        }
        Step { next_in, changed }
    }

    pub fn state(&self) -> CheckState {
        self.state
    }

    /// Consecutive failures while up (0 while down).
    pub fn consecutive_failures(&self) -> u32 {
        self.failures
    }

    pub fn timing(&self) -> &Timing {
        &self.timing
    }

    /// New timing (reload), same state. The counters stay; a lower `fall` or `retry` takes
    /// effect at the next failure.
    pub fn retune(&mut self, t: Timing) {
        self.timing = t;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> Timing {
        Timing {
            delay_loop: Duration::from_secs(6),
            retry: 1,
            delay_before_retry: Duration::from_secs(1),
            warmup: Duration::from_secs(6),
            alpha: false,
            rise: 1,
            fall: None,
        }
    }

    #[test]
    fn counts() {
        assert_eq!(t().failures_to_fall(), 2);
        assert_eq!(
            Timing {
                fall: Some(0),
                ..t()
            }
            .failures_to_fall(),
            1
        );
        assert_eq!(Timing { rise: 0, ..t() }.successes_to_rise(), 1);
    }

    #[test]
    fn secs_is_total() {
        assert_eq!(secs(-1.0), Duration::ZERO);
        assert_eq!(secs(f64::NAN), Duration::ZERO);
        assert_eq!(secs(1e300), Duration::MAX);
        assert_eq!(secs(1.5), Duration::from_millis(1500));
    }
}
