//! The simulated network: one L2 segment with per-direction loss, delay and partitions.

use rand::rngs::ChaCha8Rng;
use rand::RngExt;
use std::time::Duration;

/// Conditions of the link from one node to another.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Link {
    /// Probability that a packet is lost, 0.0..=1.0.
    pub loss: f64,
    /// Fixed one-way delay.
    pub delay: Duration,
    /// Extra random delay, uniformly 0..jitter.
    pub jitter: Duration,
    /// Cut: nothing passes.
    pub cut: bool,
}

impl Default for Link {
    fn default() -> Self {
        Link {
            loss: 0.0,
            delay: Duration::from_micros(200),
            jitter: Duration::ZERO,
            cut: false,
        }
    }
}

/// Directed links between `n` nodes.
#[derive(Debug, Clone)]
pub struct Network {
    n: usize,
    links: Vec<Link>,
}

impl Network {
    pub fn new(n: usize) -> Self {
        Network {
            n,
            links: vec![Link::default(); n * n],
        }
    }

    pub fn link(&self, from: usize, to: usize) -> &Link {
        &self.links[from * self.n + to]
    }

    pub fn link_mut(&mut self, from: usize, to: usize) -> &mut Link {
        &mut self.links[from * self.n + to]
    }

    /// Every link, both directions.
    pub fn set_all(&mut self, link: Link) {
        self.links.iter_mut().for_each(|l| *l = link);
    }

    /// Splits the nodes into two sides that cannot hear each other.
    pub fn partition(&mut self, side_a: &[usize]) {
        for a in 0..self.n {
            for b in 0..self.n {
                if side_a.contains(&a) != side_a.contains(&b) {
                    self.link_mut(a, b).cut = true;
                }
            }
        }
    }

    pub fn heal(&mut self) {
        self.links.iter_mut().for_each(|l| l.cut = false);
    }

    /// When a packet sent now from `from` reaches `to`, or None if it is lost.
    pub fn transit(&self, from: usize, to: usize, rng: &mut ChaCha8Rng) -> Option<Duration> {
        let l = self.link(from, to);
        if l.cut || (l.loss > 0.0 && rng.random_bool(l.loss.clamp(0.0, 1.0))) {
            return None;
        }
        let jitter = if l.jitter.is_zero() {
            Duration::ZERO
        } else {
            Duration::from_micros(rng.random_range(0..l.jitter.as_micros() as u64))
        };
        Some(l.delay + jitter)
    }
}
