//! A check that would need a descriptor beyond the process's open files limit waits for one;
//! it is never a failure of the real server (a director short of descriptors used to mark
//! thousands of healthy servers down: "socket: too many open files"). In a test binary of their
//! own, one test at a time: they lower the limit of the whole process.

mod common;
use common::in_netns;
use lvsd_check::health::CheckerId;
use lvsd_check::machine::{CheckState, Timing};
use lvsd_check::pool::{Pool, PoolEvent};
use lvsd_check::probe::{ProbeKind, Target};
use lvsd_check::spec::{Probe, ProbeSpec};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::mpsc;

/// One test at a time in this binary (the open files limit is the process's).
static LIMIT: Mutex<()> = Mutex::new(());

fn get_limit() -> libc::rlimit {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: a valid pointer to an rlimit of ours.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    lim
}

fn set_soft_limit(n: u64, old: &libc::rlimit) {
    let l = libc::rlimit {
        rlim_cur: n,
        rlim_max: old.rlim_max,
    };
    // SAFETY: a valid pointer to an rlimit of ours.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &l) }, 0);
}

/// A TCP probe of `addr` from a source address of its own (`i`), for user `i`.
fn tcp_probe(i: usize, addr: std::net::SocketAddr, timeout: Duration) -> Probe {
    Probe {
        spec: ProbeSpec {
            kind: ProbeKind::Tcp,
            target: Target {
                addr,
                bind: Some(format!("127.0.0.{}:0", 1 + i % 200).parse().unwrap()),
                bind_if: None,
                fwmark: Some(i as u32 + 1),
                timeout,
            },
            timing: Timing {
                delay_loop: Duration::from_secs(60),
                retry: 0,
                delay_before_retry: Duration::from_secs(1),
                warmup: Duration::ZERO,
                alpha: false,
                rise: 1,
                fall: None,
            },
        },
        users: vec![CheckerId {
            vs: i,
            rs: 0,
            checker: 0,
        }],
    }
}

async fn accept_all() -> std::net::SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    // accept and close (an accept that fails for lack of descriptors is tried again)
    tokio::spawn(async move {
        loop {
            match l.accept().await {
                Ok((s, _)) => drop(s),
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
    });
    addr
}

/// The limit drops under a running pool (its cap was computed from the high one): the
/// sockets it cannot open put the checks off, none fails, all are checked.
#[test]
fn a_socket_refused_for_lack_of_descriptors_puts_the_check_off() {
    let _one = LIMIT.lock().unwrap_or_else(|e| e.into_inner());
    in_netns(|| async {
        let addr = accept_all().await;
        let old = get_limit();
        let probes = (0..300)
            .map(|i| tcp_probe(i, addr, Duration::from_secs(2)))
            .collect();
        let (tx, mut rx) = mpsc::unbounded_channel();
        // the pool starts under the high limit; nothing runs before the first await
        let pool = Pool::start(probes, tx);
        set_soft_limit(64, &old);
        let mut done = false;
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if pool.status().iter().all(|s| s.checks >= 1) {
                done = true;
                break;
            }
        }
        set_soft_limit(old.rlim_cur, &old);
        let st = pool.status();
        let failed: Vec<_> = st.iter().filter(|s| s.failures > 0).collect();
        assert!(
            failed.is_empty(),
            "{} failed, e.g. {:?}",
            failed.len(),
            failed[0].last
        );
        assert!(done, "every probe checked once within 5 s");
        while let Ok(ev) = rx.try_recv() {
            assert!(!matches!(ev, PoolEvent::State { .. }), "{ev:?}");
        }
    });
}

/// At the cap, checks that time out still end on time: the checks held behind them do not
/// keep their deadlines from coming (they did: nothing was checked until the kernel gave up
/// on the unanswered connects, ~2 minutes).
#[test]
fn held_checks_do_not_delay_the_timeouts_of_checks_in_flight() {
    let _one = LIMIT.lock().unwrap_or_else(|e| e.into_inner());
    in_netns(|| async {
        let silent = common::blackhole();
        let addr = accept_all().await;
        let old = get_limit();
        // a cap of 8 checks in flight: 8 silent targets fill it
        set_soft_limit(64, &old);
        let mut probes: Vec<Probe> = (0..8)
            .map(|i| {
                let mut p = tcp_probe(
                    i,
                    std::net::SocketAddr::new(silent, 80),
                    Duration::from_millis(300),
                );
                p.spec.target.bind = None;
                p
            })
            .collect();
        probes.extend((8..40).map(|i| tcp_probe(i, addr, Duration::from_secs(2))));
        let (tx, mut rx) = mpsc::unbounded_channel();
        let pool = Pool::start(probes, tx);
        let mut downs = 0;
        let t0 = std::time::Instant::now();
        while downs < 8 && t0.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(PoolEvent::State { state, outcome, .. })) =
                tokio::time::timeout(Duration::from_millis(100), rx.recv()).await
            {
                assert_eq!(state, CheckState::Down);
                assert_eq!(
                    outcome.error.as_deref(),
                    Some("timeout after 300ms (connecting)")
                );
                downs += 1;
            }
        }
        for _ in 0..40 {
            if pool.status().iter().all(|s| s.checks >= 1) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        set_soft_limit(old.rlim_cur, &old);
        assert_eq!(downs, 8, "the silent targets time out on time");
        let st = pool.status();
        for s in st.iter().filter(|s| s.users[0].vs >= 8) {
            assert_eq!(s.failures, 0, "{s:?}");
            assert!(s.checks >= 1, "{s:?}");
        }
    });
}

#[test]
fn checks_beyond_the_open_files_limit_wait_instead_of_failing() {
    let _one = LIMIT.lock().unwrap_or_else(|e| e.into_inner());
    in_netns(|| async {
        let addr = accept_all().await;
        // 64 descriptors for the whole process before the pool starts: 300 probes all due at
        // once would need 300
        let lim = get_limit();
        set_soft_limit(64, &lim);
        let probes: Vec<Probe> = (0..300)
            .map(|i| tcp_probe(i, addr, Duration::from_secs(2)))
            .collect();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let pool = Pool::start(probes, tx);
        let mut done = false;
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if pool.status().iter().all(|s| s.checks >= 1) {
                done = true;
                break;
            }
        }
        set_soft_limit(lim.rlim_cur, &lim);
        let st = pool.status();
        let failed: Vec<_> = st.iter().filter(|s| s.failures > 0).collect();
        assert!(
            failed.is_empty(),
            "{} failed, e.g. {:?}",
            failed.len(),
            failed[0].last
        );
        assert!(done, "every probe checked once within 5 s");
        assert!(st.iter().all(|s| s.state == CheckState::Up));
        while let Ok(ev) = rx.try_recv() {
            assert!(!matches!(ev, PoolEvent::State { .. }), "{ev:?}");
        }
    });
}
