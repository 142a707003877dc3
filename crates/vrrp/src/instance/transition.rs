//! State changes and what each one does (keepalived-behaviour §2.8).

use super::Instance;
use crate::event::{Action, Reason, State};
use crate::time::Time;

impl Instance {
    fn notify(&mut self, from: State, to: State, reason: Reason, out: &mut Vec<Action>) {
        self.last_reason = reason.clone();
        match to {
            State::Backup => self.stats.became_backup += 1,
            State::Fault => self.stats.became_fault += 1,
            _ => {}
        }
        out.push(Action::Notify {
            instance: self.id,
            from,
            to,
            reason,
            priority: self.effective,
        });
    }

    /// Into BACKUP with a fresh Master_Down_Interval (RFC 5798 §6.4.1 (4)).
    pub(crate) fn enter_backup(&mut self, now: Time, reason: Reason, out: &mut Vec<Action>) {
        let from = self.state;
        if from == State::Master {
            self.release(out);
        }
        self.clear_timers();
        self.state = State::Backup;
        self.wants_master = false;
        self.master = None;
        self.master_adver_interval = self.cfg.advert_interval;
        self.down_at = Some(now + self.master_down_interval());
        self.down_reason = Reason::MasterDown;
        self.notify(from, State::Backup, reason, out);
    }

    /// Into FAULT. A master first says priority 0 so that a backup takes over at once.
    pub(crate) fn enter_fault(&mut self, _now: Time, reason: Reason, out: &mut Vec<Action>) {
        let from = self.state;
        if from == State::Master {
            if self.src_addr.is_some() && self.link_up {
                self.send_advert(0, out);
            }
            self.release(out);
        }
        self.clear_timers();
        self.force_preempt = false;
        self.state = State::Fault;
        self.wants_master = false;
        self.master = None;
        self.notify(from, State::Fault, reason, out);
    }

    /// Into MASTER (RFC 5798 §6.4.2): advert first, then addresses, then gratuitous ARP/NA.
    pub(crate) fn become_master(&mut self, now: Time, reason: Reason, out: &mut Vec<Action>) {
        let from = self.state;
        self.clear_timers();
        self.state = State::Master;
        self.wants_master = false;
        self.force_preempt = false;
        self.master = None;
        // keepalived continues the AH sequence from the highest number heard (captured:
        // the new master went on from the old master's 5 with 6), so receivers accept it.
        self.ah_seq_tx = self.ah_seq_tx.max(self.ah_seq_rx.unwrap_or(0));
        self.stats.became_master += 1;
        self.send_advert(self.effective, out);
        out.push(Action::AddAddresses { instance: self.id });
        self.gratuitous(out, self.cfg.garp.master_repeat);
        let g = &self.cfg.garp;
        if !g.master_delay.is_zero() {
            self.garp_at = Some((now + g.master_delay, g.master_repeat));
        }
        if !g.master_refresh.is_zero() {
            self.garp_refresh_at = Some(now + g.master_refresh);
        }
        self.advert_at = Some(now + self.cfg.advert_interval);
        self.notify(from, State::Master, reason, out);
    }

    /// Leaving MASTER: stop announcing and take the addresses down.
    fn release(&mut self, out: &mut Vec<Action>) {
        self.stats.released_master += 1;
        out.push(Action::RemoveAddresses { instance: self.id });
    }
}
