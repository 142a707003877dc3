//! A check that would need a descriptor beyond the process's open files limit waits for one;
//! it is never a failure of the real server (a director short of descriptors used to mark
//! thousands of healthy servers down: "socket: too many open files"). Alone in its test binary:
//! it lowers the limit of the whole process.

mod common;
use common::in_netns;
use lvsd_check::health::CheckerId;
use lvsd_check::machine::{CheckState, Timing};
use lvsd_check::pool::{Pool, PoolEvent};
use lvsd_check::probe::{ProbeKind, Target};
use lvsd_check::spec::{Probe, ProbeSpec};
use std::time::Duration;
use tokio::sync::mpsc;

#[test]
fn checks_beyond_the_open_files_limit_wait_instead_of_failing() {
    in_netns(|| async {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        // accept and close, so that the listener's backlog never fills
        tokio::spawn(async move {
            while let Ok((s, _)) = l.accept().await {
                drop(s);
            }
        });
        // 64 descriptors for the whole process: 300 probes all due at once would need 300
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: valid pointers to an rlimit of ours.
        unsafe {
            assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
            let low = libc::rlimit {
                rlim_cur: 64,
                rlim_max: lim.rlim_max,
            };
            assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &low), 0);
        }
        let probes: Vec<Probe> = (0..300)
            .map(|i| Probe {
                spec: ProbeSpec {
                    kind: ProbeKind::Tcp,
                    target: Target {
                        addr,
                        // distinct probes of one listener: distinct source ports
                        bind: Some(format!("127.0.0.{}:0", 1 + i % 200).parse().unwrap()),
                        bind_if: None,
                        fwmark: Some(i as u32 + 1),
                        timeout: Duration::from_secs(2),
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
            })
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
        // SAFETY: as above.
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
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
