//! The state machine of one check follows keepalived's rules (keepalived-behaviour §3.1) and
//! the lvsd extensions rise/fall.

use lvsd_check::machine::{CheckState, Machine, Step, Timing};
use proptest::prelude::*;
use std::path::Path;
use std::time::Duration;

const S: fn(u64) -> Duration = Duration::from_secs;

/// retry 3, delay_before_retry 3 s, delay_loop 6 s.
fn t() -> Timing {
    Timing {
        delay_loop: S(6),
        retry: 3,
        delay_before_retry: S(3),
        warmup: S(6),
        alpha: false,
        rise: 1,
        fall: None,
    }
}

fn step(next: u64, changed: Option<CheckState>) -> Step {
    Step {
        next_in: S(next),
        changed,
    }
}

/// Feeds results; returns the steps.
fn run(m: &mut Machine, results: &[bool]) -> Vec<Step> {
    results.iter().map(|ok| m.on_result(*ok)).collect()
}

#[test]
fn starts_up_or_down_with_alpha() {
    assert_eq!(Machine::new(t()).state(), CheckState::Up);
    let m = Machine::new(Timing { alpha: true, ..t() });
    assert_eq!(m.state(), CheckState::Down);
    assert_eq!(m.consecutive_failures(), 0);
    assert_eq!(m.timing(), &Timing { alpha: true, ..t() });
}

#[test]
fn down_after_retry_plus_one_failures_with_retry_gaps() {
    // The keepalived sequence: retry 3, dbr 3, delay_loop 6 → down after 4 failures, gaps
    // 3, 3, 3, then 6.
    let mut m = Machine::new(t());
    assert_eq!(m.on_result(true), step(6, None));
    let steps = run(&mut m, &[false, false, false, false]);
    assert_eq!(
        steps,
        vec![
            step(3, None),
            step(3, None),
            step(3, None),
            step(6, Some(CheckState::Down))
        ]
    );
    assert_eq!(m.state(), CheckState::Down);
    assert_eq!(m.consecutive_failures(), 0);
}

#[test]
fn failures_are_counted_while_retrying() {
    let mut m = Machine::new(t());
    m.on_result(true);
    m.on_result(false);
    m.on_result(false);
    assert_eq!(m.consecutive_failures(), 2);
}

#[test]
fn failure_while_down_waits_delay_loop() {
    let mut m = Machine::new(Timing { alpha: true, ..t() });
    assert_eq!(run(&mut m, &[false, false]), vec![step(6, None); 2]);
    assert_eq!(m.state(), CheckState::Down);
}

#[test]
fn one_success_brings_a_down_check_up() {
    let mut m = Machine::new(t());
    m.on_result(true);
    run(&mut m, &[false; 4]);
    assert_eq!(m.on_result(true), step(6, Some(CheckState::Up)));
    assert_eq!(m.on_result(true), step(6, None));
}

#[test]
fn success_resets_the_retry_counter() {
    let mut m = Machine::new(t());
    m.on_result(true);
    run(&mut m, &[false, false, false]);
    assert_eq!(m.on_result(true), step(6, None));
    assert_eq!(m.consecutive_failures(), 0);
    // Four failures again are needed.
    let steps = run(&mut m, &[false; 4]);
    assert_eq!(steps[2], step(3, None));
    assert_eq!(steps[3], step(6, Some(CheckState::Down)));
}

#[test]
fn first_failure_at_startup_marks_down_without_retries() {
    // keepalived pre-sets the retry counter when the check starts (not alpha).
    let mut m = Machine::new(t());
    assert_eq!(m.on_result(false), step(6, Some(CheckState::Down)));
    // After that, the normal rules: one success up, four failures down.
    assert_eq!(m.on_result(true), step(6, Some(CheckState::Up)));
    assert_eq!(m.on_result(false), step(3, None));
}

#[test]
fn alpha_first_success_brings_up() {
    let mut m = Machine::new(Timing { alpha: true, ..t() });
    assert_eq!(m.on_result(true), step(6, Some(CheckState::Up)));
    // Then the retries apply (no pre-set counter).
    assert_eq!(m.on_result(false), step(3, None));
}

#[test]
fn retry_zero_goes_down_at_the_first_failure() {
    // MISC_CHECK's default retry 0.
    let mut m = Machine::new(Timing { retry: 0, ..t() });
    m.on_result(true);
    assert_eq!(m.on_result(false), step(6, Some(CheckState::Down)));
}

#[test]
fn rise_needs_consecutive_successes() {
    let mut m = Machine::new(Timing {
        alpha: true,
        rise: 3,
        ..t()
    });
    assert_eq!(run(&mut m, &[true, true]), vec![step(6, None); 2]);
    // A failure while down restarts the count.
    assert_eq!(m.on_result(false), step(6, None));
    assert_eq!(run(&mut m, &[true, true]), vec![step(6, None); 2]);
    assert_eq!(m.on_result(true), step(6, Some(CheckState::Up)));
    // rise does not delay staying up.
    assert_eq!(m.on_result(true), step(6, None));
}

#[test]
fn rise_after_a_fall() {
    let mut m = Machine::new(Timing { rise: 2, ..t() });
    assert_eq!(m.on_result(false), step(6, Some(CheckState::Down)));
    assert_eq!(m.on_result(true), step(6, None));
    assert_eq!(m.on_result(true), step(6, Some(CheckState::Up)));
}

#[test]
fn fall_counts_consecutive_failures_spaced_by_delay_before_retry() {
    let mut m = Machine::new(Timing {
        fall: Some(2),
        ..t()
    });
    // With an explicit fall, the first failures count as any others (no pre-set).
    assert_eq!(m.on_result(false), step(3, None));
    assert_eq!(m.on_result(false), step(6, Some(CheckState::Down)));
    assert_eq!(m.on_result(true), step(6, Some(CheckState::Up)));
    // fall 1: down at the first failure.
    let mut m = Machine::new(Timing {
        fall: Some(1),
        ..t()
    });
    m.on_result(true);
    assert_eq!(m.on_result(false), step(6, Some(CheckState::Down)));
    // fall 5 overrides retry 3.
    let mut m = Machine::new(Timing {
        fall: Some(5),
        ..t()
    });
    let steps = run(&mut m, &[false; 5]);
    assert_eq!(steps[..4], vec![step(3, None); 4][..]);
    assert_eq!(steps[4], step(6, Some(CheckState::Down)));
}

#[test]
fn with_state_keeps_a_surviving_state() {
    let mut m = Machine::with_state(t(), CheckState::Down);
    assert_eq!(m.state(), CheckState::Down);
    assert_eq!(m.on_result(true), step(6, Some(CheckState::Up)));
    // A surviving Up check has run already: its first failure is retried.
    let mut m = Machine::with_state(Timing { alpha: true, ..t() }, CheckState::Up);
    assert_eq!(m.state(), CheckState::Up);
    assert_eq!(m.on_result(false), step(3, None));
}

#[test]
fn first_run_is_a_random_part_of_warmup() {
    let m = Machine::new(t());
    assert_eq!(m.first_run_in(0.0), Duration::ZERO);
    assert_eq!(m.first_run_in(0.5), S(3));
    assert!(m.first_run_in(0.999_999) < S(6));
    // Out-of-range values are clamped.
    assert_eq!(m.first_run_in(-1.0), Duration::ZERO);
    assert_eq!(m.first_run_in(f64::NAN), Duration::ZERO);
    assert!(m.first_run_in(7.0) <= S(6));
    let m = Machine::new(Timing {
        warmup: Duration::ZERO,
        ..t()
    });
    assert_eq!(m.first_run_in(0.7), Duration::ZERO);
}

#[test]
fn retune_keeps_state() {
    let mut m = Machine::new(t());
    m.on_result(false);
    assert_eq!(m.state(), CheckState::Down);
    let faster = Timing {
        delay_loop: S(2),
        ..t()
    };
    m.retune(faster.clone());
    assert_eq!(m.state(), CheckState::Down);
    assert_eq!(m.timing(), &faster);
    assert_eq!(m.on_result(false), step(2, None));
    assert_eq!(m.on_result(true), step(2, Some(CheckState::Up)));
}

fn timing_of(checker_body: &str) -> Timing {
    let text = format!(
        "virtual_server 10.0.0.1 80 {{\n delay_loop 6\n protocol TCP\n \
         real_server 10.0.0.2 80 {{\n {checker_body}\n }}\n}}\n"
    );
    let loaded = lvsd_config::load_str(Path::new("t.conf"), text.as_bytes(), &Default::default());
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let c = &loaded.config.virtual_servers[0].real_servers[0].checkers[0];
    Timing::from_effective(&c.effective)
}

#[test]
fn timing_from_the_configuration() {
    assert_eq!(
        timing_of("TCP_CHECK {\n connect_timeout 3\n }"),
        Timing {
            delay_loop: S(6),
            retry: 1,
            delay_before_retry: S(1),
            warmup: S(6),
            alpha: false,
            rise: 1,
            fall: None,
        }
    );
    assert_eq!(
        timing_of(
            "TCP_CHECK {\n retry 2\n delay_before_retry 0.5\n warmup 2\n alpha\n rise 3\n fall 4\n }"
        ),
        Timing {
            delay_loop: S(6),
            retry: 2,
            delay_before_retry: Duration::from_millis(500),
            warmup: S(2),
            alpha: true,
            rise: 3,
            fall: Some(4),
        }
    );
    // HTTP: delay_before_retry 3 s; DNS: retry 3, delay_before_retry = delay_loop; MISC: retry 0.
    let h = timing_of("HTTP_GET {\n url {\n path /\n }\n }");
    assert_eq!((h.retry, h.delay_before_retry), (1, S(3)));
    let d = timing_of("DNS_CHECK {\n }");
    assert_eq!((d.retry, d.delay_before_retry), (3, S(6)));
    let m = timing_of("MISC_CHECK {\n misc_path /bin/true\n rise 2\n }");
    assert_eq!((m.retry, m.rise), (0, 2));
}

#[test]
fn rise_and_fall_are_checker_keywords_only() {
    for bad in ["rise 0", "fall 0"] {
        let text = format!(
            "virtual_server 10.0.0.1 80 {{\n protocol TCP\n real_server 10.0.0.2 80 {{\n \
             TCP_CHECK {{\n {bad}\n }}\n }}\n}}\n"
        );
        let loaded =
            lvsd_config::load_str(Path::new("t.conf"), text.as_bytes(), &Default::default());
        // reported and ignored, as keepalived 2.2.7 ignores it (issue 21): the default stays
        assert!(
            loaded
                .diagnostics
                .iter()
                .any(|d| d.code.name() == "out-of-range" && d.message.contains("ignored")),
            "{bad} accepted silently: {:?}",
            loaded.diagnostics
        );
        let c = &loaded.config.virtual_servers[0].real_servers[0].checkers[0].effective;
        assert_eq!((c.rise, c.fall), (1, None), "{bad}");
    }
    let text = "virtual_server 10.0.0.1 80 {\n protocol TCP\n real_server 10.0.0.2 80 {\n \
                BFD_CHECK {\n name b\n rise 2\n }\n }\n}\n";
    let loaded = lvsd_config::load_str(Path::new("t.conf"), text.as_bytes(), &Default::default());
    assert!(loaded
        .diagnostics
        .iter()
        .any(|d| d.code.name() == "unknown-keyword"));
}

/// An independent model of the rules, for the property test.
struct Model {
    up: bool,
    fails: u32,
    oks: u32,
    first: bool,
}

proptest! {
    #[test]
    fn follows_the_rules(
        retry in 0u32..5,
        dl in 1u64..20,
        dbr in 1u64..20,
        alpha: bool,
        rise in 1u32..4,
        fall in proptest::option::of(1u32..6),
        results in proptest::collection::vec(any::<bool>(), 0..60),
    ) {
        let t = Timing {
            delay_loop: S(dl),
            retry,
            delay_before_retry: S(dbr),
            warmup: S(dl),
            alpha,
            rise,
            fall,
        };
        let mut m = Machine::new(t.clone());
        let mut model = Model { up: !alpha, fails: 0, oks: 0, first: true };
        let fall_n = fall.unwrap_or(retry + 1);
        for ok in results {
            let before = m.state();
            let s = m.on_result(ok);
            // next_in is always delay_loop or delay_before_retry.
            prop_assert!(s.next_in == t.delay_loop || s.next_in == t.delay_before_retry);
            // A change is reported exactly when the state changed.
            prop_assert_eq!(s.changed.is_some(), m.state() != before);
            if let Some(c) = s.changed {
                prop_assert_eq!(c, m.state());
            }
            // The model.
            let mut next = S(dl);
            if ok {
                model.fails = 0;
                if !model.up {
                    model.oks += 1;
                    if model.oks >= rise {
                        model.up = true;
                        model.oks = 0;
                    }
                }
            } else {
                model.oks = 0;
                if model.up {
                    model.fails += 1;
                    if (model.first && fall.is_none()) || model.fails >= fall_n {
                        model.up = false;
                        model.fails = 0;
                    } else {
                        next = S(dbr);
                    }
                }
            }
            model.first = false;
            // Up only on a success, down only on a failure.
            if s.changed == Some(CheckState::Up) { prop_assert!(ok); }
            if s.changed == Some(CheckState::Down) { prop_assert!(!ok); }
            prop_assert_eq!(m.state() == CheckState::Up, model.up);
            prop_assert_eq!(s.next_in, next);
            prop_assert_eq!(m.consecutive_failures(), model.fails);
        }
    }
}
