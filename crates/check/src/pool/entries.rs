//! The running probes by their identity across reloads: what they check (kind and target),
//! not how often. Found by the identity's hash, then compared with the probe's own spec: no
//! copy of the identity per probe.

use crate::spec::ProbeSpec;
use std::collections::HashMap;

pub(super) fn identity_hash(spec: &ProbeSpec) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    spec.kind.hash(&mut h);
    spec.target.hash(&mut h);
    h.finish()
}

pub(super) fn same_identity(a: &ProbeSpec, b: &ProbeSpec) -> bool {
    a.kind == b.kind && a.target == b.target
}

/// Identity → slot of the pool's probe table. The caller resolves a slot to its spec.
#[derive(Default)]
pub(super) struct Index {
    by_hash: HashMap<u64, u32>,
    /// The rare probe whose identity hashes like another's.
    overflow: Vec<(u64, u32)>,
}

impl Index {
    /// Adds `slot` for `spec` (the caller made sure no probe of this identity is there).
    pub fn insert(&mut self, spec: &ProbeSpec, slot: u32) {
        let h = identity_hash(spec);
        match self.by_hash.entry(h) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(slot);
            }
            std::collections::hash_map::Entry::Occupied(_) => self.overflow.push((h, slot)),
        }
    }

    /// The slot of the probe with `spec`'s identity; `spec_of` gives a slot's spec.
    pub fn get<'a>(
        &self,
        spec: &ProbeSpec,
        spec_of: impl Fn(u32) -> Option<&'a ProbeSpec>,
    ) -> Option<u32> {
        let h = identity_hash(spec);
        let first = self.by_hash.get(&h).copied();
        std::iter::once(first)
            .flatten()
            .chain(
                self.overflow
                    .iter()
                    .filter(|(x, _)| *x == h)
                    .map(|(_, s)| *s),
            )
            .find(|s| spec_of(*s).is_some_and(|o| same_identity(o, spec)))
    }

    /// Forgets `slot` (holding `spec`).
    pub fn remove(&mut self, spec: &ProbeSpec, slot: u32) {
        let h = identity_hash(spec);
        if self.by_hash.get(&h) == Some(&slot) {
            self.by_hash.remove(&h);
            // an overflow entry of the same hash takes the main place
            if let Some(i) = self.overflow.iter().position(|(x, _)| *x == h) {
                let (_, s) = self.overflow.swap_remove(i);
                self.by_hash.insert(h, s);
            }
        } else {
            self.overflow.retain(|(x, s)| !(*x == h && *s == slot));
        }
    }

    pub fn clear(&mut self) {
        self.by_hash.clear();
        self.overflow.clear();
    }
}
