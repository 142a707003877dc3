//! What a valid advert does in each state (RFC 3768 §6.4.2–3, RFC 5798 §6.4.2–3,
//! keepalived-behaviour §2.5–2.6).

use super::{Instance, Signal};
use crate::event::{Action, Reason, Received, State};
use crate::packet::{Advert, Version};
use crate::time::Time;
use crate::validate;
use std::net::IpAddr;
use std::time::Duration;

impl Instance {
    /// Validates and handles one advert addressed to this instance.
    pub fn on_advert(
        &mut self,
        rx: &Received<'_>,
        now: Time,
        out: &mut Vec<Action>,
    ) -> Option<Signal> {
        let current = self.master.map(|m| m.0);
        let accepted = match validate::check(&self.cfg, rx, current, &mut self.ah_seq_rx) {
            Ok(a) => a,
            Err(reason) => {
                self.stats.count_drop(reason);
                out.push(Action::Dropped {
                    instance: Some(self.id),
                    reason,
                    from: rx.src,
                });
                return None;
            }
        };
        self.stats.adverts_rx += 1;
        if accepted.address_mismatch {
            self.stats.address_list_mismatch += 1;
            out.push(Action::AddressListMismatch {
                instance: self.id,
                from: rx.src,
            });
        }
        let adv = accepted.advert;
        if adv.priority == 0 {
            self.stats.priority_zero_rx += 1;
        }
        match self.state {
            State::Backup => {
                self.backup_rx(&adv, rx.src, now, out);
                None
            }
            State::Master => self.master_rx(&adv, rx.src, now, out),
            // INIT, FAULT and STOP ignore adverts (RFC 5798 §6.4.1: only Backup/Master listen).
            _ => None,
        }
    }

    /// RFC 5798 §6.4.2, with keepalived's nopreempt and preempt_delay (§2.5).
    fn backup_rx(&mut self, adv: &Advert, src: IpAddr, now: Time, out: &mut Vec<Action>) {
        if adv.priority == 0 {
            // The master resigned: take over after Skew_Time.
            self.down_at = Some(now + self.skew());
            self.down_reason = Reason::PriorityZero;
            return;
        }
        let preempt_delay = !self.cfg.preempt_delay.is_zero() && !self.force_preempt;
        let delay_running = preempt_delay && self.preempt_until.is_none_or(|t| now < t);
        if adv.priority >= self.effective {
            // a promote cannot win against this master
            self.force_preempt = false;
        }
        let nopreempt = self.cfg.nopreempt && !self.force_preempt;
        if nopreempt || adv.priority >= self.effective || delay_running || self.demoted {
            if self.cfg.version == Version::V3 {
                // RFC 5798 §6.4.2: Master_Adver_Interval := the advert's interval.
                self.master_adver_interval = Duration::from_millis(u64::from(adv.interval_cs) * 10);
            }
            self.down_at = Some(now + self.master_down_interval());
            self.down_reason = Reason::MasterDown;
            self.master = Some((src, adv.priority));
            self.wants_master = false;
            if preempt_delay {
                if adv.priority >= self.effective {
                    self.preempt_until = None;
                } else if self.preempt_until.is_none() {
                    self.preempt_until = Some(now + self.cfg.preempt_delay);
                }
            }
        } else {
            // Lower priority and preemption allowed: ignore it, let the down timer run out.
            out.push(Action::LowerPriorityIgnored {
                instance: self.id,
                from: src,
                priority: adv.priority,
            });
        }
    }

    /// RFC 5798 §6.4.3 with RFC 9568's "forcing new election" reply (§2.6).
    fn master_rx(
        &mut self,
        adv: &Advert,
        src: IpAddr,
        now: Time,
        out: &mut Vec<Action>,
    ) -> Option<Signal> {
        if adv.priority == 0 {
            // Another router resigned: announce ourselves at once.
            self.send_advert(self.effective, out);
            self.advert_at = Some(now + self.cfg.advert_interval);
            return None;
        }
        let ours = self.src_addr;
        let higher = adv.priority > self.effective
            || (adv.priority == self.effective && ours.is_some_and(|o| addr_greater(src, o)));
        if higher {
            if self.cfg.higher_prio_send_advert {
                self.send_advert(self.effective, out);
            }
            self.enter_backup(
                now,
                Reason::Preempted {
                    by: src,
                    priority: adv.priority,
                },
                out,
            );
            if self.cfg.version == Version::V3 {
                self.master_adver_interval = Duration::from_millis(u64::from(adv.interval_cs) * 10);
            }
            self.down_at = Some(now + self.master_down_interval());
            self.master = Some((src, adv.priority));
            return Some(Signal::SteppedDown);
        }
        // Lower priority (or equal from a lower address): we stay master.
        out.push(Action::MasterRxLowerPriority {
            instance: self.id,
            from: src,
            priority: adv.priority,
        });
        if !self.cfg.lower_prio_no_advert {
            self.send_advert(self.effective, out);
            self.advert_at = Some(now + self.cfg.advert_interval);
            let (repeat, delay) = (
                self.cfg.garp.lower_prio_repeat,
                self.cfg.garp.lower_prio_delay,
            );
            if repeat > 0 {
                self.gratuitous(out, repeat);
                if !delay.is_zero() {
                    self.garp_at = Some((now + delay, repeat));
                }
            }
        }
        None
    }
}

/// RFC 5798 §6.4.3: addresses compare as unsigned integers in network byte order.
pub(crate) fn addr_greater(a: IpAddr, b: IpAddr) -> bool {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => a.octets() > b.octets(),
        (IpAddr::V6(a), IpAddr::V6(b)) => a.octets() > b.octets(),
        _ => false,
    }
}
