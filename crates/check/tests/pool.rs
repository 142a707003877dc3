//! The probe pool with real TCP probes in a namespace of the test: state changes are reported
//! once per change for every user of a probe, a reload keeps the state of a surviving probe
//! (also with a new timing) and stops removed ones, ha_suspend stops checking.

mod common;
use common::in_netns;
use lvsd_check::health::CheckerId;
use lvsd_check::machine::{CheckState, Timing};
use lvsd_check::pool::{Pool, PoolEvent};
use lvsd_check::probe::{ProbeKind, Target};
use lvsd_check::spec::{Probe, ProbeSpec};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

fn timing(delay_loop_ms: u64) -> Timing {
    Timing {
        delay_loop: Duration::from_millis(delay_loop_ms),
        retry: 1,
        delay_before_retry: Duration::from_millis(50),
        warmup: Duration::ZERO,
        alpha: false,
        rise: 1,
        fall: None,
    }
}

fn probe(port: u16, delay_loop_ms: u64, users: Vec<CheckerId>) -> Probe {
    let spec = ProbeSpec {
        kind: ProbeKind::Tcp,
        target: Target {
            addr: format!("127.0.0.1:{port}").parse().unwrap(),
            bind: None,
            bind_if: None,
            fwmark: None,
            timeout: Duration::from_secs(1),
        },
        timing: timing(delay_loop_ms),
    };
    Probe { spec, users }
}

fn id(vs: usize, rs: usize) -> CheckerId {
    CheckerId { vs, rs, checker: 0 }
}

async fn next_state(rx: &mut mpsc::UnboundedReceiver<PoolEvent>) -> (Vec<CheckerId>, CheckState) {
    let ev = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("an event within 5 s")
        .expect("pool alive");
    match ev {
        PoolEvent::State { users, state, .. } => (users, state),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn a_probe_reports_each_change_to_all_its_users() {
    in_netns(|| async {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let users = vec![id(0, 0), id(1, 0)];
        let pool = Pool::start(vec![probe(port, 100, users.clone())], tx);
        // Up from the start (no alpha): no event while the server answers.
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(rx.try_recv().is_err(), "no change, no event");
        let st = pool.status();
        assert_eq!(st.len(), 1);
        assert!(st[0].checks >= 2, "{st:?}");
        assert_eq!(st[0].last.as_ref().map(|o| o.ok), Some(true));
        // The server goes: refused, retried once, down: one event for both users.
        drop(l);
        let (u, s) = next_state(&mut rx).await;
        assert_eq!((u, s), (users.clone(), CheckState::Down));
        let st = pool.status();
        assert_eq!(st[0].state, CheckState::Down);
        assert!(st[0].consecutive_failures >= 2, "{st:?}");
        assert!(st[0].last.as_ref().unwrap().error.is_some());
        // Back: up at the next check.
        let _l = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let (u, s) = next_state(&mut rx).await;
        assert_eq!((u, s), (users, CheckState::Up));
    });
}

#[test]
fn reload_keeps_state_and_stops_removed_probes() {
    in_netns(|| async {
        // A port nobody listens on: the probe goes down.
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let dead = l.local_addr().unwrap().port();
        drop(l);
        let live = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = live.local_addr().unwrap().port();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut pool = Pool::start(
            vec![
                probe(dead, 100, vec![id(0, 0)]),
                probe(port, 100, vec![id(0, 1)]),
            ],
            tx,
        );
        let (u, s) = next_state(&mut rx).await;
        assert_eq!((u, s), (vec![id(0, 0)], CheckState::Down));
        // Reload: the dead probe with a new delay_loop and new users, the live one removed.
        let kept = pool.reload(vec![probe(dead, 150, vec![id(2, 3)])]);
        assert_eq!(kept.states.get(&id(2, 3)), Some(&CheckState::Down));
        assert_eq!(kept.states.len(), 1);
        assert_eq!(pool.len(), 1);
        let st = pool.status();
        assert_eq!(st[0].state, CheckState::Down, "state kept: {st:?}");
        assert_eq!(st[0].users, vec![id(2, 3)]);
        // Still down: no event (no spurious up/down after a reload).
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(rx.try_recv().is_err());
        // peek() answers like reload() without changing anything.
        let peek = pool.peek(&[probe(dead, 100, vec![id(9, 9)])]);
        assert_eq!(peek.states.get(&id(9, 9)), Some(&CheckState::Down));
        assert_eq!(pool.status()[0].users, vec![id(2, 3)]);
    });
}

#[test]
fn a_suspended_probe_does_not_check() {
    in_netns(|| async {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let pool = Pool::start(vec![probe(port, 100, vec![id(0, 0)])], tx);
        tokio::time::sleep(Duration::from_millis(250)).await;
        pool.suspend(&|c: &CheckerId| c.vs == 0, true);
        tokio::time::sleep(Duration::from_millis(150)).await;
        let before = pool.status()[0].checks;
        assert!(pool.status()[0].suspended);
        // The server goes away while suspended: nothing is noticed.
        drop(l);
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(pool.status()[0].checks, before);
        assert!(rx.try_recv().is_err());
        // Resumed: the failure is seen.
        pool.suspend(&|c: &CheckerId| c.vs == 0, false);
        let (_, s) = next_state(&mut rx).await;
        assert_eq!(s, CheckState::Down);
    });
}

/// The same address and port checked under two virtual servers with different delay_loop:
/// one probe decides both checkers (the first one's timing), across reloads too — no second
/// task that nothing could stop. (The test never yields to the runtime: no probe runs.)
#[tokio::test]
async fn checkers_of_one_target_with_different_timings_share_one_probe() {
    let (tx, _rx) = mpsc::unbounded_channel();
    let two = || vec![probe(9, 100, vec![id(0, 0)]), probe(9, 250, vec![id(1, 0)])];
    let mut pool = Pool::start(two(), tx);
    assert_eq!(pool.len(), 1);
    let st = pool.status();
    assert_eq!(st[0].users, vec![id(0, 0), id(1, 0)]);
    let kept = pool.reload(two());
    assert_eq!(pool.len(), 1);
    assert_eq!(kept.states.len(), 2, "both checkers keep the probe's state");
    assert_eq!(pool.status()[0].users, vec![id(0, 0), id(1, 0)]);
}

/// The pool runs TCP_CHECK itself (a connect on its epoll set, no task) and the other probes
/// as tasks: the verdicts and error texts are the probes' own — refused at once, a timeout
/// after connect_timeout, a bind error — and a MISC_CHECK's exit code decides its checker.
#[test]
fn the_pool_judges_every_kind_of_failure_like_the_probes() {
    in_netns(|| async {
        let ip = common::blackhole();
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let refused = l.local_addr().unwrap().port();
        drop(l);
        let live = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let up = live.local_addr().unwrap().port();
        let mut silent = probe(0, 100, vec![id(1, 0)]);
        silent.spec.target.addr = std::net::SocketAddr::new(ip, 80);
        silent.spec.target.timeout = Duration::from_millis(300);
        let mut bad_bind = probe(up, 100, vec![id(2, 0)]);
        bad_bind.spec.target.bind = Some("192.0.2.77:0".parse().unwrap());
        let misc = |argv: &str, user: CheckerId| {
            let mut p = probe(0, 100, vec![user]);
            p.spec.kind = ProbeKind::Misc(Box::new(lvsd_check::probe::MiscProbe {
                argv: vec![argv.to_string()],
                user: None,
                timeout: Duration::from_secs(5),
                dynamic: false,
            }));
            p
        };
        let mut all = vec![
            probe(refused, 100, vec![id(0, 0)]),
            silent,
            bad_bind,
            misc("/bin/false", id(3, 0)),
            probe(up, 100, vec![id(4, 0)]),
            misc("/bin/true", id(5, 0)),
        ];
        for p in &mut all {
            p.spec.timing.retry = 0; // the first failure decides
        }
        let (tx, mut rx) = mpsc::unbounded_channel();
        let pool = Pool::start(all, tx);
        let mut errors = std::collections::BTreeMap::new();
        while errors.len() < 4 {
            let ev = tokio::time::timeout(Duration::from_secs(5), rx.recv())
                .await
                .expect("four DOWN events within 5 s")
                .expect("pool alive");
            let PoolEvent::State {
                users,
                state,
                outcome,
                ..
            } = ev
            else {
                panic!("unexpected {ev:?}")
            };
            assert_eq!(state, CheckState::Down, "{users:?} {outcome:?}");
            errors.insert(users[0].vs, outcome.error.unwrap_or_default());
        }
        assert_eq!(errors[&0], "connect: connection refused");
        assert_eq!(errors[&1], "timeout after 300ms (connecting)");
        assert_eq!(
            errors[&2],
            "bind 192.0.2.77:0: cannot assign requested address"
        );
        assert!(errors[&3].contains("exit"), "{}", errors[&3]);
        // the live port and /bin/true stay up and keep being checked
        tokio::time::sleep(Duration::from_millis(400)).await;
        let st = pool.status();
        for vs in [4, 5] {
            let s = st.iter().find(|s| s.users[0].vs == vs).unwrap();
            assert_eq!(s.state, CheckState::Up, "{s:?}");
            assert!(s.checks >= 2, "{s:?}");
            assert_eq!(s.failures, 0, "{s:?}");
        }
        assert!(rx.try_recv().is_err(), "no other change");
    });
}

/// CPU time of the calling thread (the test's runtime and so the pool's driver run on it).
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid pointer to a timespec of ours.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(r, 0);
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// While the only probe is a check in flight (a MISC_CHECK that takes a second), the pool has
/// no deadline to wait for: it waits, it does not spin (it did: an elapsed timer is ready at
/// every poll). Generous bound: a spinning driver uses the whole second.
#[test]
fn a_pool_with_only_a_check_in_flight_waits_without_spinning() {
    in_netns(|| async {
        let mut p = probe(0, 60_000, vec![id(0, 0)]);
        p.spec.kind = ProbeKind::Misc(Box::new(lvsd_check::probe::MiscProbe {
            argv: vec!["/bin/sleep".into(), "1".into()],
            user: None,
            timeout: Duration::from_secs(5),
            dynamic: false,
        }));
        // the first check comes from the driver's timer (within 50 ms), which then has
        // nothing left to wait for
        p.spec.timing.warmup = Duration::from_millis(50);
        let (tx, _rx) = mpsc::unbounded_channel();
        let pool = Pool::start(vec![p], tx);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let cpu0 = thread_cpu();
        tokio::time::sleep(Duration::from_millis(700)).await;
        let used = thread_cpu() - cpu0;
        assert!(
            used < Duration::from_millis(300),
            "the driver used {used:?} in 0.7 s"
        );
        // and the check finished: one result, up
        tokio::time::sleep(Duration::from_millis(600)).await;
        let st = pool.status();
        assert_eq!(st[0].checks, 1, "{st:?}");
        assert_eq!(st[0].state, CheckState::Up);
    });
}

/// A probe whose next check is due at once (delay_loop 0) and whose check fails before any
/// I/O (a bind error) is checked again at the next turn of the driver, not in a loop that
/// never lets the runtime run anything else: status and reload still answer.
#[test]
fn a_zero_delay_probe_does_not_starve_the_runtime() {
    in_netns(|| async {
        let mut p = probe(9, 0, vec![id(0, 0)]);
        p.spec.target.bind = Some("192.0.2.77:0".parse().unwrap());
        p.spec.timing.delay_before_retry = Duration::ZERO;
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut pool = Pool::start(vec![p], tx);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let st = pool.status();
        assert!(st[0].checks >= 2, "{st:?}");
        assert_eq!(st[0].state, CheckState::Down);
        assert!(matches!(
            rx.try_recv(),
            Ok(PoolEvent::State {
                state: CheckState::Down,
                ..
            })
        ));
        let kept = pool.reload(vec![]);
        assert!(kept.states.is_empty());
        assert_eq!(pool.len(), 0);
    });
}

/// Results carry the configuration they name: those sent before a reload the old one's
/// generation (the health task drops them: their states are in the reload's `Kept`, and
/// their indices are the old configuration's), those after it the new one's, with the new
/// users.
#[test]
fn results_say_which_configuration_their_checkers_belong_to() {
    in_netns(|| async {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut pool = Pool::start(vec![probe(port, 100, vec![id(0, 0)])], tx);
        let ev = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("a result within 5 s")
            .expect("pool alive");
        let PoolEvent::State {
            generation, users, ..
        } = ev
        else {
            panic!("unexpected {ev:?}")
        };
        assert_eq!((generation, users), (0, vec![id(0, 0)]));
        // the same probe, now the checker of real server 1
        let kept = pool.reload(vec![probe(port, 100, vec![id(0, 1)])]);
        assert_eq!(kept.generation, 1);
        assert_eq!(kept.states.get(&id(0, 1)), Some(&CheckState::Down));
        let _l = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let ev = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("UP within 5 s")
            .expect("pool alive");
        let PoolEvent::State {
            generation,
            users,
            state,
            ..
        } = ev
        else {
            panic!("unexpected {ev:?}")
        };
        assert_eq!(
            (generation, users, state),
            (1, vec![id(0, 1)], CheckState::Up)
        );
    });
}
