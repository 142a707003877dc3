//! The checks' durations per virtual server, kept monotonic across reloads: each scrape adds
//! what every probe counted since the previous scrape. Summing the probes' lifetime counts
//! directly would go down when a reload removes a checker (read by Prometheus as a counter
//! reset: `rate()` would spike) and jump when it adds one whose probe already ran elsewhere.

use crate::proto::LvsStatus;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

/// A virtual server's histogram: counts per bucket, sum of seconds.
pub type Hist = (Vec<u64>, f64);

#[derive(Debug, Default)]
pub struct Totals {
    /// (virtual server label, checker kind, target) -> the probe's counts at the last scrape.
    seen: HashMap<(String, String, String), (Vec<u32>, f64)>,
    /// Virtual server label -> what its checks added up to.
    per_vs: HashMap<String, Hist>,
}

impl Totals {
    /// Adds what each virtual server's checkers counted since the last scrape; returns each
    /// virtual server's totals (None: it has no running checker), in `lvs`'s order.
    pub fn update(&mut self, lvs: &LvsStatus, labels: &[Cow<'_, str>]) -> Vec<Option<Hist>> {
        let mut seen = HashMap::new();
        let mut out = Vec::with_capacity(lvs.virtual_servers.len());
        let mut live = HashSet::new();
        for (v, label) in lvs.virtual_servers.iter().zip(labels) {
            let known = self.per_vs.contains_key(label.as_ref());
            let mut mine: Option<Hist> = None;
            let mut once = HashSet::new();
            for c in v.real_servers.iter().flat_map(|r| &r.checkers) {
                let (Some((d, s)), Some(target)) = (&c.durations, &c.target) else {
                    continue;
                };
                // two checkers of one probe count once
                if !once.insert((c.kind.as_str(), target.as_str())) {
                    continue;
                }
                let key = (label.to_string(), c.kind.clone(), target.clone());
                let total = mine.get_or_insert_with(|| {
                    self.per_vs
                        .get(label.as_ref())
                        .cloned()
                        .unwrap_or_else(|| (vec![0; d.len()], 0.0))
                });
                let (add, add_s): (Vec<u64>, f64) = match self.seen.get(&key) {
                    // counted since the last scrape (fewer: the probe started again)
                    Some((p, ps)) if d.iter().zip(p).all(|(n, o)| n >= o) && *s >= *ps => (
                        d.iter().zip(p).map(|(n, o)| u64::from(n - o)).collect(),
                        s - ps,
                    ),
                    Some(_) => (d.iter().map(|&n| u64::from(n)).collect(), *s),
                    // a checker a reload added to a virtual server already counted: from now
                    None if known => (vec![0; d.len()], 0.0),
                    // a virtual server seen for the first time: its probes' counts so far
                    None => (d.iter().map(|&n| u64::from(n)).collect(), *s),
                };
                for (t, a) in total.0.iter_mut().zip(add) {
                    *t += a;
                }
                total.1 += add_s;
                seen.insert(key, (d.clone(), *s));
            }
            if let Some(h) = &mine {
                self.per_vs.insert(label.to_string(), h.clone());
                live.insert(label.to_string());
            }
            out.push(mine);
        }
        self.per_vs.retain(|l, _| live.contains(l));
        self.seen = seen;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{CheckerStatus, Role, RsStatus, VsStatus};

    fn rs(checkers: Vec<(&str, Vec<u32>, f64)>) -> RsStatus {
        RsStatus {
            address: "rs".into(),
            id: "rs".into(),
            alive: true,
            weight: 1,
            kernel_weight: None,
            failed_checkers: 0,
            active_conns: None,
            admin: None,
            in_state_s: 0.0,
            checkers: checkers
                .into_iter()
                .map(|(t, d, s)| CheckerStatus {
                    kind: "TCP_CHECK".into(),
                    target: Some(t.into()),
                    durations: Some((d, s)),
                    ..Default::default()
                })
                .collect(),
        }
    }

    fn lvs(real_servers: Vec<RsStatus>) -> LvsStatus {
        LvsStatus {
            virtual_servers: vec![VsStatus {
                name: "vs".into(),
                id: "vs".into(),
                role: Role::Director,
                line: 1,
                scheduler: "rr".into(),
                quorum: 1,
                quorum_up: true,
                alive_weight: 1,
                sorry_server: None,
                in_kernel: None,
                guard_fwmark: None,
                real_servers,
            }],
            probes: 0,
            ipvs_readable: false,
        }
    }

    #[test]
    fn totals_only_grow_as_checkers_come_and_go() {
        let labels = [Cow::Borrowed("vs")];
        let mut t = Totals::default();
        // first scrape: the probes' counts so far
        let a = t.update(&lvs(vec![rs(vec![("a", vec![2, 0], 0.2)])]), &labels);
        assert_eq!(a[0].as_ref().unwrap().0, [2, 0]);
        // a checker added by a reload (its probe ran elsewhere: 5 checks) counts from now;
        // the same probe twice in one virtual server counts once
        let b = t.update(
            &lvs(vec![
                rs(vec![("a", vec![3, 0], 0.3)]),
                rs(vec![("b", vec![5, 5], 9.0), ("b", vec![5, 5], 9.0)]),
            ]),
            &labels,
        );
        assert_eq!(b[0].as_ref().unwrap().0, [3, 0]);
        let c = t.update(
            &lvs(vec![
                rs(vec![("a", vec![3, 1], 1.3)]),
                rs(vec![("b", vec![6, 5], 9.1)]),
            ]),
            &labels,
        );
        assert_eq!(c[0].as_ref().unwrap().0, [4, 1]);
        // a checker removed: nothing goes down
        let d = t.update(&lvs(vec![rs(vec![("a", vec![4, 1], 1.4)])]), &labels);
        assert_eq!(d[0].as_ref().unwrap().0, [5, 1]);
        assert!((d[0].as_ref().unwrap().1 - 1.5).abs() < 1e-9);
    }
}
