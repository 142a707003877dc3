//! A deterministic simulator of VRRP routers on one L2 segment.
//!
//! Every router is a real [`Router`] (the same code the daemon runs); the network is a model
//! with loss, delay, jitter and partitions ([`network`]); time is virtual and the random
//! choices come from a seeded generator, so a seed replays exactly. Tests drive it with
//! [`Sim::run_until`] and inject crashes, restarts, shutdowns and tracker changes between runs.

pub mod network;

use crate::config::InstanceConfig;
use crate::event::{Action, Event, InstanceId, Reason, Received, State};
use crate::router::Router;
use crate::time::Time;
use crate::track::{TrackerId, TrackerStatus};
use network::Network;
use rand::rngs::ChaCha8Rng;
use rand::SeedableRng;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::IpAddr;

/// One router: its primary address and configuration.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    pub addr: IpAddr,
    pub instances: Vec<InstanceConfig>,
    pub groups: Vec<(String, Vec<usize>)>,
}

/// A state change seen in the simulation.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub at: Time,
    pub node: usize,
    pub vrid: u8,
    pub from: State,
    pub to: State,
    pub reason: Reason,
}

/// An advert put on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    pub at: Time,
    pub node: usize,
    pub vrid: u8,
    pub priority: u8,
}

struct Node {
    spec: NodeSpec,
    router: Option<Router>,
    /// Per instance: whether its addresses are installed.
    holds: Vec<bool>,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum What {
    Wake(usize),
    Deliver {
        to: usize,
        src: IpAddr,
        dst: IpAddr,
        bytes: Vec<u8>,
    },
}

pub struct Sim {
    now: Time,
    rng: ChaCha8Rng,
    pub net: Network,
    nodes: Vec<Node>,
    queue: BinaryHeap<Reverse<(Time, u64, What)>>,
    seq: u64,
    pub transitions: Vec<Transition>,
    pub sent: Vec<Sent>,
    /// Adverts dropped by validation (should stay 0 in a well-configured cluster).
    pub drops: u64,
    actions: Vec<Action>,
    buf: Vec<u8>,
}

impl Sim {
    pub fn new(seed: u64, nodes: Vec<NodeSpec>) -> Self {
        let n = nodes.len();
        let mut sim = Sim {
            now: Time::ZERO,
            rng: ChaCha8Rng::seed_from_u64(seed),
            net: Network::new(n),
            nodes: nodes
                .into_iter()
                .map(|spec| Node {
                    holds: vec![false; spec.instances.len()],
                    spec,
                    router: None,
                })
                .collect(),
            queue: BinaryHeap::new(),
            seq: 0,
            transitions: Vec::new(),
            sent: Vec::new(),
            drops: 0,
            actions: Vec::new(),
            buf: Vec::with_capacity(128),
        };
        for i in 0..n {
            sim.start(i);
        }
        sim
    }

    pub fn now(&self) -> Time {
        self.now
    }

    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.rng
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn alive(&self, node: usize) -> bool {
        self.nodes[node].router.is_some()
    }

    pub fn router(&self, node: usize) -> Option<&Router> {
        self.nodes[node].router.as_ref()
    }

    pub fn spec(&self, node: usize) -> &NodeSpec {
        &self.nodes[node].spec
    }

    /// Starts (or restarts) a node with a fresh router.
    pub fn start(&mut self, node: usize) {
        let spec = self.nodes[node].spec.clone();
        let mut r = Router::new(spec.instances.clone(), spec.groups.clone());
        let now = self.now;
        let mut out = std::mem::take(&mut self.actions);
        out.clear();
        for i in 0..spec.instances.len() {
            r.handle(
                Event::SourceAddress {
                    instance: InstanceId(i as u16),
                    addr: Some(spec.addr),
                },
                now,
                &mut out,
            );
        }
        r.handle(Event::Startup, now, &mut out);
        self.nodes[node].router = Some(r);
        self.apply(node, &mut out);
        self.actions = out;
    }

    /// kill -9: the node stops at once; its addresses stay configured (as with keepalived),
    /// but it no longer answers, so they are counted as not held.
    pub fn crash(&mut self, node: usize) {
        self.nodes[node].router = None;
        self.nodes[node].holds.iter_mut().for_each(|h| *h = false);
    }

    /// SIGTERM: priority-0 adverts, addresses removed, then the node is gone.
    pub fn shutdown(&mut self, node: usize) {
        self.event(node, Event::Shutdown);
        self.nodes[node].router = None;
    }

    pub fn tracker(&mut self, node: usize, id: TrackerId, status: TrackerStatus) {
        self.event(node, Event::Tracker { id, status });
    }

    /// An operator's demote, promote or release of the node's instance `instance`.
    pub fn operator(&mut self, node: usize, instance: u16, op: crate::event::Operator) {
        self.event(
            node,
            Event::Operator {
                instance: InstanceId(instance),
                op,
            },
        );
    }

    /// Link state of the interface of the node's first instance.
    pub fn link(&mut self, node: usize, up: bool) {
        let name = self.nodes[node].spec.instances[0]
            .interface
            .clone()
            .unwrap_or_default();
        self.event(node, Event::Interface { name: &name, up });
    }

    fn event(&mut self, node: usize, ev: Event<'_>) {
        let now = self.now;
        let mut out = std::mem::take(&mut self.actions);
        out.clear();
        if let Some(r) = self.nodes[node].router.as_mut() {
            r.handle(ev, now, &mut out);
        }
        self.apply(node, &mut out);
        self.actions = out;
    }

    fn push(&mut self, at: Time, what: What) {
        self.seq += 1;
        self.queue.push(Reverse((at, self.seq, what)));
    }

    /// Carries out a node's actions: adverts onto the network, addresses, transitions, timers.
    fn apply(&mut self, node: usize, out: &mut Vec<Action>) {
        for a in out.drain(..) {
            match a {
                Action::SendAdvert {
                    instance, advert, ..
                } => {
                    let cfg = &self.nodes[node].spec.instances[instance.0 as usize];
                    let src = self.nodes[node].spec.addr;
                    let dsts: Vec<(IpAddr, Option<(IpAddr, IpAddr)>)> = if cfg.is_unicast() {
                        cfg.unicast_peers.iter().map(|p| p.addr).collect()
                    } else {
                        vec![cfg.mcast_group]
                    }
                    .into_iter()
                    .map(|d| (d, cfg.pseudo_header(src, d)))
                    .collect();
                    self.sent.push(Sent {
                        at: self.now,
                        node,
                        vrid: advert.vrid,
                        priority: advert.priority,
                    });
                    for (dst, pseudo) in dsts {
                        self.buf.clear();
                        advert.encode(pseudo, &mut self.buf);
                        for to in 0..self.nodes.len() {
                            if to == node {
                                continue;
                            }
                            if !dst.is_multicast() && self.nodes[to].spec.addr != dst {
                                continue;
                            }
                            if let Some(d) = self.net.transit(node, to, &mut self.rng) {
                                let bytes = self.buf.clone();
                                self.push(
                                    self.now + d,
                                    What::Deliver {
                                        to,
                                        src,
                                        dst,
                                        bytes,
                                    },
                                );
                            }
                        }
                    }
                }
                Action::AddAddresses { instance } => {
                    self.nodes[node].holds[instance.0 as usize] = true
                }
                Action::RemoveAddresses { instance } => {
                    self.nodes[node].holds[instance.0 as usize] = false
                }
                Action::Notify {
                    instance,
                    from,
                    to,
                    reason,
                    ..
                } => {
                    let vrid = self.nodes[node].spec.instances[instance.0 as usize].vrid;
                    self.transitions.push(Transition {
                        at: self.now,
                        node,
                        vrid,
                        from,
                        to,
                        reason,
                    });
                }
                Action::ArmTimer { at } => self.push(at, What::Wake(node)),
                Action::Dropped { .. } => self.drops += 1,
                _ => {}
            }
        }
    }

    /// Runs every event up to and including `until`.
    pub fn run_until(&mut self, until: Time) {
        while let Some(Reverse((at, _, _))) = self.queue.peek() {
            if *at > until {
                break;
            }
            let Some(Reverse((at, _, what))) = self.queue.pop() else {
                break;
            };
            self.now = self.now.max(at);
            let now = self.now;
            let mut out = std::mem::take(&mut self.actions);
            out.clear();
            let node = match &what {
                What::Wake(n) => *n,
                What::Deliver { to, .. } => *to,
            };
            if let Some(r) = self.nodes[node].router.as_mut() {
                match &what {
                    What::Wake(_) => r.handle(Event::Timer, now, &mut out),
                    What::Deliver {
                        src, dst, bytes, ..
                    } => r.handle(
                        Event::Advert(Received {
                            src: *src,
                            dst: *dst,
                            ttl: 255,
                            interface: None,
                            ah: None,
                            payload: bytes,
                        }),
                        now,
                        &mut out,
                    ),
                }
            }
            self.apply(node, &mut out);
            self.actions = out;
        }
        self.now = self.now.max(until);
    }

    /// Live nodes whose instance with `vrid` is MASTER.
    pub fn masters(&self, vrid: u8) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&n| self.state(n, vrid) == Some(State::Master))
            .collect()
    }

    /// Live nodes holding the addresses of `vrid`.
    pub fn holders(&self, vrid: u8) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&n| {
                self.nodes[n]
                    .spec
                    .instances
                    .iter()
                    .zip(&self.nodes[n].holds)
                    .any(|(c, &h)| c.vrid == vrid && h)
            })
            .collect()
    }

    /// State of a live node's instance with `vrid`.
    pub fn state(&self, node: usize, vrid: u8) -> Option<State> {
        let r = self.nodes[node].router.as_ref()?;
        r.instances()
            .iter()
            .find(|i| i.config().vrid == vrid)
            .map(|i| i.state())
    }

    /// Effective priority of a live node's instance with `vrid`.
    pub fn priority(&self, node: usize, vrid: u8) -> Option<u8> {
        let r = self.nodes[node].router.as_ref()?;
        r.instances()
            .iter()
            .find(|i| i.config().vrid == vrid)
            .map(|i| i.effective_priority())
    }
}
