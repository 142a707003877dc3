//! The pool's deadline queue. Nearly every deadline is "now + a fixed delay" (delay_loop,
//! delay_before_retry, connect_timeout) with a clock that only moves forward, so the deadlines
//! of one delay arrive in order: each delay gets a FIFO lane, and the earliest deadline is the
//! earliest of a few lane fronts. Pushing and popping touch the ends of short arrays, not a
//! binary heap of every probe (at 10,000 checks a second the heap's pops, a cache miss per
//! level, were half of the checkers' user time). Deadlines of no lane (the random first run,
//! more distinct delays than lanes, a deadline earlier than its lane's last) go to a heap.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::{Duration, Instant};

/// At most this many distinct delays get a lane.
const LANES: usize = 16;

/// A queued deadline: when, for which probe slot, of which generation of that slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Wake {
    pub at: Instant,
    pub slot: u32,
    pub gen: u32,
}

#[derive(Default)]
pub(super) struct Queue {
    lanes: Vec<(Duration, VecDeque<Wake>)>,
    other: BinaryHeap<Reverse<Wake>>,
}

/// Where the earliest deadline is.
#[derive(Clone, Copy)]
enum From {
    Lane(usize),
    Other,
}

impl Queue {
    /// Queues `w`; `delay`: the fixed delay it was set with (`w.at` = now + delay), None for
    /// a deadline of no pattern.
    pub fn push(&mut self, w: Wake, delay: Option<Duration>) {
        if let Some(d) = delay {
            match self.lanes.iter().position(|(x, _)| *x == d) {
                Some(i) => {
                    let lane = &mut self.lanes[i].1;
                    if lane.back().is_none_or(|b| b.at <= w.at) {
                        lane.push_back(w);
                        return;
                    }
                }
                None if self.lanes.len() < LANES => {
                    self.lanes.push((d, VecDeque::from([w])));
                    return;
                }
                None => {}
            }
        }
        self.other.push(Reverse(w));
    }

    fn earliest(&self) -> Option<(From, Wake)> {
        let mut best = self.other.peek().map(|Reverse(w)| (From::Other, *w));
        for (i, (_, lane)) in self.lanes.iter().enumerate() {
            if let Some(w) = lane.front() {
                if best.is_none_or(|(_, b)| w < &b) {
                    best = Some((From::Lane(i), *w));
                }
            }
        }
        best
    }

    /// The earliest deadline.
    pub fn peek(&self) -> Option<Wake> {
        self.earliest().map(|(_, w)| w)
    }

    /// Removes and returns the earliest deadline.
    pub fn pop(&mut self) -> Option<Wake> {
        let (from, _) = self.earliest()?;
        match from {
            From::Lane(i) => self.lanes[i].1.pop_front(),
            From::Other => self.other.pop().map(|Reverse(w)| w),
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.other.len() + self.lanes.iter().map(|(_, l)| l.len()).sum::<usize>()
    }

    pub fn clear(&mut self) {
        self.lanes.clear();
        self.other.clear();
    }

    /// Gives back spare capacity (after a reload removed many probes).
    pub fn shrink(&mut self) {
        self.lanes.retain(|(_, l)| !l.is_empty());
        for (_, l) in &mut self.lanes {
            if l.capacity() > 2 * l.len() + 64 {
                l.shrink_to_fit();
            }
        }
        if self.other.capacity() > 2 * self.other.len() + 64 {
            self.other.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever is pushed, with or without a delay, in whatever order the clock allows,
        /// comes out in deadline order: the same order as a plain sort.
        #[test]
        fn pops_in_deadline_order(ops in proptest::collection::vec((0u64..50, 0u8..20, any::<bool>(), 0u64..3), 1..300)) {
            let base = Instant::now();
            let mut now = Duration::ZERO;
            let mut q = Queue::default();
            let mut all = Vec::new();
            for (i, (step, delay_ms, regular, pops)) in ops.into_iter().enumerate() {
                now += Duration::from_millis(step);
                let delay = Duration::from_millis(delay_ms as u64 * 10);
                let w = Wake { at: base + now + delay, slot: i as u32, gen: 0 };
                q.push(w, regular.then_some(delay));
                all.push(w);
                // pops of whatever is due interleave with pushes, as in the pool
                for _ in 0..pops {
                    if let Some(p) = q.peek() {
                        if p.at <= base + now {
                            let got = q.pop().unwrap();
                            prop_assert_eq!(got, p);
                            let min = *all.iter().min().unwrap();
                            prop_assert_eq!(got, min);
                            all.retain(|x| *x != got);
                        }
                    }
                }
            }
            all.sort();
            let mut rest = Vec::new();
            while let Some(w) = q.pop() {
                rest.push(w);
            }
            prop_assert_eq!(rest, all);
        }
    }

    #[test]
    fn more_delays_than_lanes_still_come_in_order() {
        let base = Instant::now();
        let mut q = Queue::default();
        for i in 0..100u32 {
            let d = Duration::from_millis(1000 - i as u64 * 7);
            q.push(
                Wake {
                    at: base + d,
                    slot: i,
                    gen: 0,
                },
                Some(d),
            );
        }
        assert_eq!(q.lanes.len(), LANES);
        assert_eq!(q.len(), 100);
        let mut last = base;
        while let Some(w) = q.pop() {
            assert!(w.at >= last);
            last = w.at;
        }
    }
}
