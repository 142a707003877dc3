//! The daemon's event stream (`lvsd events`, `lvsd status --watch`): VRRP transitions, real
//! servers up and down, quorum, reloads, drift repairs, as JSON lines, to every client of the
//! control socket that asked for them.
//!
//! One bus for the process (the VRRP engine, the health task, the main loop and the
//! reconciler's thread all publish on it); an event costs nothing while no client listens. A
//! client that reads too slowly loses the oldest events and is told how many (a `lost` event):
//! the daemon never waits for it.

use serde_json::{json, Map, Value};
use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::broadcast;

/// Events kept for a slow client before it loses the oldest.
const BACKLOG: usize = 4096;

fn bus() -> &'static broadcast::Sender<Arc<str>> {
    static BUS: OnceLock<broadcast::Sender<Arc<str>>> = OnceLock::new();
    BUS.get_or_init(|| broadcast::channel(BACKLOG).0)
}

pub fn subscribe() -> broadcast::Receiver<Arc<str>> {
    bus().subscribe()
}

/// Seconds since the epoch, with microseconds.
fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| (d.as_micros() as f64) / 1e6)
        .unwrap_or(0.0)
}

/// The line of one event: `{"time":..,"kind":..,<fields>}`.
pub fn line(kind: &str, fields: Value) -> String {
    let mut m = Map::new();
    m.insert("time".into(), json!(now()));
    m.insert("kind".into(), json!(kind));
    if let Value::Object(f) = fields {
        m.extend(f);
    }
    Value::Object(m).to_string()
}

/// Publishes one event (`fields`: a JSON object, made only when a client listens).
pub fn emit(kind: &str, fields: impl FnOnce() -> Value) {
    let b = bus();
    if b.receiver_count() == 0 {
        return;
    }
    let _ = b.send(Arc::from(line(kind, fields())));
}

/// The line a client gets in place of `n` events it was too slow to read.
pub fn lost(n: u64) -> String {
    line("lost", json!({ "count": n }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_reaches_every_subscriber_and_a_slow_one_is_told_what_it_lost() {
        let mut a = subscribe();
        let mut b = subscribe();
        // (other tests of this binary may publish on the bus meanwhile: found by kind)
        emit("test-reload", || json!({"ok": true}));
        for r in [&mut a, &mut b] {
            let v = std::iter::from_fn(|| r.try_recv().ok())
                .map(|l| serde_json::from_str::<Value>(&l).unwrap())
                .find(|v| v["kind"] == "test-reload")
                .expect("the event");
            assert_eq!(v["ok"], true);
            assert!(v["time"].as_f64().unwrap() > 1e9);
        }
        for i in 0..BACKLOG + 10 {
            emit("n", || json!({ "i": i }));
        }
        match a.try_recv() {
            Err(broadcast::error::TryRecvError::Lagged(n)) => assert!(n >= 10, "{n}"),
            other => panic!("{other:?}"),
        }
        let v: Value = serde_json::from_str(&lost(10)).unwrap();
        assert_eq!(
            (v["kind"].as_str(), v["count"].as_u64()),
            (Some("lost"), Some(10))
        );
    }
}
