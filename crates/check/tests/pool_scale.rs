//! Issue 15: a one-change reload of a large configuration (2,000 virtual servers x 18 real
//! servers, a TCP_CHECK each) keeps every probe: the new configuration is read reusing the
//! unchanged blocks, and the pool matches every surviving checker to its running probe. No
//! probe runs here (the test never yields to the runtime before the reload), so nothing is
//! sent anywhere; the targets are loopback ports anyway.

use lvsd_check::health::CheckerId;
use lvsd_check::machine::CheckState;
use lvsd_check::pool::Pool;
use lvsd_check::spec::probes;
use lvsd_config::blocks::{load_file_reusing, Previous};
use lvsd_scripts::ScriptUsers;
use std::fmt::Write as _;
use tokio::sync::mpsc;

/// 2,000 x 18 real servers, each checked on its own loopback port; `weight_of_first` for the
/// first real server, and one more real server in the last virtual server with `extra`.
fn big(weight_of_first: u32, extra: bool) -> String {
    let mut s = String::with_capacity(6 << 20);
    for v in 0..2000u32 {
        let _ = writeln!(
            s,
            "virtual_server 10.100.{}.{} 80 {{\n    delay_loop 3600\n    lb_algo wlc\n    lb_kind NAT\n    protocol TCP",
            v / 250,
            v % 250 + 1
        );
        let n = if v == 1999 && extra { 19 } else { 18 };
        for r in 0..n {
            let w = if v == 0 && r == 0 { weight_of_first } else { 1 };
            let port = 20000 + v * 19 + r;
            let _ = writeln!(
                s,
                "    real_server 172.16.{}.{} 8080 {{\n        weight {w}\n        TCP_CHECK {{\n            connect_ip 127.0.0.1\n            connect_port {port}\n        }}\n    }}",
                v % 250,
                r + 1
            );
        }
        s.push_str("}\n");
    }
    s
}

#[tokio::test]
async fn a_one_change_reload_of_36000_checkers_keeps_every_probe() {
    let dir = std::env::temp_dir().join(format!("lvsd-pool-scale-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("keepalived.conf");
    let users = ScriptUsers::current();
    std::fs::write(&path, big(1, false)).expect("write");
    let mut prev = load_file_reusing(&path, &Default::default(), None);
    assert!(prev.error_report().is_none());
    let (pa, errors) = probes(&prev.config, &users);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(pa.len(), 36_000);
    let (tx, _rx) = mpsc::unbounded_channel();
    let mut pool = Pool::start(pa, tx);
    assert_eq!(pool.len(), 36_000);

    for (text, reused, checkers) in [
        // one weight edited: the probe does not depend on the weight
        (big(7, false), 1999, 36_000),
        // and one real server added: one probe more, the others kept
        (big(7, true), 1999, 36_001),
    ] {
        std::fs::write(&path, text).expect("write");
        let b = load_file_reusing(
            &path,
            &Default::default(),
            Some(Previous {
                config: &prev.config,
                cache: &prev.blocks,
            }),
        );
        assert_eq!(b.reuse.reused, reused, "the unchanged blocks are reused");
        let (pb, _) = probes(&b.config, &users);
        assert_eq!(pb.len(), checkers);
        let kept = pool.reload(pb);
        // every checker that was there keeps its probe's state
        assert_eq!(kept.states.len(), 36_000);
        assert!(kept.states.values().all(|s| *s == CheckState::Up));
        assert!(kept.states.contains_key(&CheckerId {
            vs: 1999,
            rs: 17,
            checker: 0
        }));
        assert_eq!(pool.len(), checkers);
        prev = b;
    }
    std::fs::remove_dir_all(&dir).ok();
}
