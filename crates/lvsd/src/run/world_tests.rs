//! `desired` and the reconciler against a recording fake host: the exact operations, in
//! order, for takeover, handback, crash leftovers, split brain, reloads, dry runs.

use super::plan::{self, Plan};
use super::reconciler::{HostOps, Reconciler, Why};
use super::steps::{steps, Step};
use super::world::{desired, GuardRules, World};
use lvsd_check::health::{CheckerId, Health};
use lvsd_check::machine::CheckState;
use lvsd_ipvs::netlink::Op;
use lvsd_ipvs::{ServiceKey, SyncDaemon, SyncState, Table, Timeouts};
use lvsd_vrrp::State;
use std::net::IpAddr;

const VIP: &str = "10.99.0.100";
/// This host's own address: a real server of the colocated service.
const ME: &str = "10.99.0.1";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn config(mode: &str, services: &str) -> String {
    format!(
        "global_defs {{\n  colocated_directors {mode}\n}}\n\
         vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  \
         priority 100\n  unicast_peer {{\n    10.99.0.3\n  }}\n  virtual_ipaddress {{\n    {VIP}/24 dev eth0\n  }}\n}}\n{services}"
    )
}

fn colocated_vs(port: u16) -> String {
    format!(
        "virtual_server {VIP} {port} {{\n  lb_algo rr\n  lb_kind DR\n  protocol TCP\n  \
         real_server {ME} {port} {{\n    TCP_CHECK {{\n    }}\n  }}\n  \
         real_server 10.99.0.3 {port} {{\n    TCP_CHECK {{\n    }}\n  }}\n}}\n"
    )
}

/// A plain (not colocated) service on another VIP.
fn plain_vs() -> String {
    "virtual_server 10.99.0.200 443 {\n  lb_algo wrr\n  lb_kind DR\n  protocol TCP\n  \
     real_server 10.99.0.7 443 {\n    weight 3\n    TCP_CHECK {\n    }\n  }\n}\n"
        .to_string()
}

fn load(text: &str) -> Plan {
    let loaded = lvsd_config::load_str(
        std::path::Path::new("t.conf"),
        text.as_bytes(),
        &lvsd_config::LoadOptions::default(),
    );
    let errors: Vec<_> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == lvsd_config::Severity::Error)
        .map(|d| d.message.clone())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let mut found = lvsd_config::colocated::find(&loaded.config, &|a| a == ip(ME));
    if loaded.config.global.colocated_directors == lvsd_config::model::ColocatedMode::Off {
        for c in &mut found {
            c.instance = None;
        }
    }
    plan::plan(loaded.config, Vec::new(), found)
}

/// A kernel table, nft, the role and the sync daemon, recorded operation by operation.
#[derive(Default)]
struct Fake {
    table: Table,
    log: Vec<String>,
    guard_fails: bool,
    /// An earlier run's nft table is there.
    guard_left: bool,
    neighbours: Vec<lvsd_netif::Neighbour>,
    no_ipvs: bool,
}

fn key_text(k: &ServiceKey) -> String {
    match k {
        ServiceKey::Addr { addr, port, .. } => format!("{addr}:{port}"),
        ServiceKey::Fwmark { mark, .. } => format!("FWM {mark:#x}"),
    }
}

impl Fake {
    fn op(&mut self, op: &Op) -> Result<(), String> {
        let exists = self.table.contains_key(op.service());
        match op {
            Op::AddService(s) if exists => return Err(format!("EEXIST {}", key_text(&s.key))),
            Op::AddService(s) => {
                self.table.insert(s.key, (s.clone(), Default::default()));
            }
            _ if !exists => return Err(format!("ESRCH {}", key_text(op.service()))),
            Op::EditService(s) => self.table.get_mut(&s.key).unwrap().0 = s.clone(),
            Op::DelService(k) => {
                self.table.remove(k);
            }
            Op::AddDest(k, d) | Op::EditDest(k, d) => {
                self.table.get_mut(k).unwrap().1.insert(d.key(), d.clone());
            }
            Op::DelDest(k, a, p) => {
                self.table.get_mut(k).unwrap().1.remove(&(*a, *p));
            }
        }
        self.log.push(short_op(op));
        Ok(())
    }
}

fn short_op(op: &Op) -> String {
    match op {
        Op::AddService(s) => format!("add {}", key_text(&s.key)),
        Op::EditService(s) => format!("edit {}", key_text(&s.key)),
        Op::DelService(k) => format!("del {}", key_text(k)),
        Op::AddDest(k, d) => format!("add {} -> {}", key_text(k), d.addr),
        Op::EditDest(k, d) => format!("edit {} -> {} w{}", key_text(k), d.addr, d.weight),
        Op::DelDest(k, a, _) => format!("del {} -> {a}", key_text(k)),
    }
}

impl HostOps for Fake {
    fn has_ipvs(&self) -> bool {
        !self.no_ipvs
    }
    fn ipvs_table(&mut self) -> Result<Table, String> {
        Ok(self.table.clone())
    }
    fn ipvs_apply(&mut self, ops: &[Op]) -> Result<usize, (usize, String)> {
        for (i, op) in ops.iter().enumerate() {
            self.op(op).map_err(|e| (i, e))?;
        }
        Ok(ops.len())
    }
    fn ipvs_flush(&mut self) -> Result<(), String> {
        self.table.clear();
        self.log.push("flush".into());
        Ok(())
    }
    fn set_timeouts(&mut self, t: &Timeouts) -> Result<(), String> {
        self.log.push(format!("timeouts {}", t.tcp));
        Ok(())
    }
    fn sync_start(&mut self, d: &SyncDaemon) -> Result<(), String> {
        self.log.push(format!("sync start {:?}", d.state));
        Ok(())
    }
    fn sync_stop(&mut self, s: SyncState) -> Result<(), String> {
        self.log.push(format!("sync stop {s:?}"));
        Ok(())
    }
    fn role_up(&mut self, vip: IpAddr, _: Option<&str>) -> Result<Vec<String>, String> {
        self.log.push(format!("lo up {vip}"));
        Ok(Vec::new())
    }
    fn role_down(&mut self, vip: IpAddr) -> Result<Vec<String>, String> {
        self.log.push(format!("lo down {vip}"));
        Ok(Vec::new())
    }
    fn guard_install(&mut self, g: &GuardRules) -> Result<(), String> {
        if self.guard_fails {
            return Err("nft: not found".into());
        }
        self.log.push(format!(
            "guard {} svc {} mac",
            g.marks.len(),
            g.forwarders.len()
        ));
        Ok(())
    }
    fn guard_remove(&mut self) -> Result<(), String> {
        self.log.push("guard remove".into());
        Ok(())
    }
    fn guard_present(&mut self) -> bool {
        self.guard_left
    }
    fn neighbours(&mut self) -> Result<Vec<lvsd_netif::Neighbour>, String> {
        Ok(self.neighbours.clone())
    }
}

fn reconciler(text: &str) -> Reconciler<Fake> {
    Reconciler::new(Fake::default(), World::new(load(text)))
}

fn set_state(r: &mut Reconciler<Fake>, s: State) -> Vec<String> {
    r.host.log.clear();
    r.world.states.insert("VI_1".into(), s);
    r.converge(Why::Vrrp);
    std::mem::take(&mut r.host.log)
}

/// The FWM key the guard gives VIP:80.
fn fwm(r: &Reconciler<Fake>) -> String {
    let g = r.applied().guard.as_ref().expect("guard installed");
    key_text(&ServiceKey::Fwmark {
        family: lvsd_ipvs::Family::V4,
        mark: *g.marks.values().next().unwrap(),
    })
}

#[test]
fn start_as_backup_installs_the_guard_and_takes_the_real_server_role_only() {
    let mut r = reconciler(&config("guard", &colocated_vs(80)));
    r.start();
    assert_eq!(
        r.host.log,
        vec!["guard 1 svc 0 mac".to_string(), format!("lo up {VIP}")]
    );
    assert!(r.host.table.is_empty(), "no service while not MASTER");
}

#[test]
fn takeover_puts_the_service_in_before_the_vip_leaves_lo() {
    let mut r = reconciler(&config("guard", &colocated_vs(80)));
    r.start();
    let log = set_state(&mut r, State::Master);
    let f = fwm(&r);
    assert_eq!(
        log,
        vec![
            format!("add {f}"),
            format!("add {f} -> 10.99.0.1"),
            format!("add {f} -> 10.99.0.3"),
            format!("lo down {VIP}"),
        ]
    );
}

#[test]
fn handback_puts_the_vip_on_lo_before_the_service_leaves() {
    let mut r = reconciler(&config("guard", &colocated_vs(80)));
    r.start();
    set_state(&mut r, State::Master);
    let f = fwm(&r);
    let log = set_state(&mut r, State::Backup);
    assert_eq!(log, vec![format!("lo up {VIP}"), format!("del {f}")]);
    // FAULT is not MASTER either: nothing more to do
    assert!(set_state(&mut r, State::Fault).is_empty());
}

#[test]
fn a_guarded_service_left_by_a_killed_run_is_removed_at_start_and_takeover_succeeds() {
    // the killed run was MASTER: its FWM service is still in the kernel
    let mut first = reconciler(&config("guard", &colocated_vs(80)));
    first.start();
    set_state(&mut first, State::Master);
    let f = fwm(&first);
    let leftover = first.host.table.clone();
    assert_eq!(leftover.len(), 1);

    let mut r = reconciler(&config("guard", &colocated_vs(80)));
    r.host.table = leftover;
    r.start();
    assert!(r.host.log.contains(&format!("del {f}")), "{:?}", r.host.log);
    assert!(r.host.table.is_empty());
    let log = set_state(&mut r, State::Master);
    assert_eq!(log[0], format!("add {f}"), "{log:?}");
    assert_eq!(r.counters.failures, 0);
}

#[test]
fn a_leftover_master_service_is_adopted_without_a_flap() {
    // restarted while the same configuration's service is exactly in the kernel, as MASTER
    let mut first = reconciler(&config("off", &plain_vs()));
    first.start();
    let leftover = first.host.table.clone();
    let mut r = reconciler(&config("off", &plain_vs()));
    r.host.table = leftover;
    r.start();
    assert!(r.host.log.is_empty(), "{:?}", r.host.log);
}

#[test]
fn an_earlier_runs_guard_table_is_removed_when_no_longer_wanted() {
    let mut r = reconciler(&config("guard", &plain_vs()));
    r.host.guard_left = true;
    r.start();
    assert_eq!(r.host.log.last().unwrap(), "guard remove");
    let mut r = reconciler(&config("guard", &colocated_vs(80)));
    r.host.guard_left = true;
    r.start();
    assert_eq!(r.host.log[0], "guard 1 svc 0 mac", "replaced");
}

#[test]
fn services_of_other_tools_are_left_alone() {
    let mut other = reconciler(&config("off", &plain_vs()));
    other.start();
    let foreign = other.host.table.clone();
    let mut r = reconciler(&config("guard", &colocated_vs(80)));
    r.host.table = foreign.clone();
    r.start();
    set_state(&mut r, State::Master);
    set_state(&mut r, State::Backup);
    r.stop();
    assert_eq!(r.host.table, foreign);
}

#[test]
fn an_unexpected_kernel_state_is_repaired_from_a_fresh_dump() {
    let mut r = reconciler(&config("guard", &colocated_vs(80)));
    r.start();
    set_state(&mut r, State::Master);
    // someone deleted the service behind lvsd's back; a health change then edits it
    r.host.table.clear();
    r.host.log.clear();
    let mut events = Vec::new();
    let id = CheckerId {
        vs: 0,
        rs: 1,
        checker: 0,
    };
    r.world.health.checker(id, CheckState::Down, &mut events);
    r.converge(Why::Health);
    let f = fwm(&r);
    assert_eq!(
        r.host.log,
        vec![format!("add {f}"), format!("add {f} -> 10.99.0.1")],
        "the first op failed (ESRCH), the repair re-added what is desired"
    );
}

#[test]
fn split_brain_and_forwarders_learnt_change_only_the_guard() {
    let mut r = reconciler(&config("guard", &colocated_vs(80)));
    r.host.neighbours = vec![lvsd_netif::Neighbour {
        ifindex: 2,
        ip: ip("10.99.0.3"),
        mac: [2, 0, 0, 0, 0, 3],
        confirmed: true,
    }];
    r.start();
    assert_eq!(r.host.log[0], "guard 1 svc 1 mac");
    set_state(&mut r, State::Master);
    // both nodes MASTER (split brain): each has the guard with the peer's MAC; no loop
    assert!(r.applied().guard.as_ref().unwrap().forwarders.len() == 1);
    r.host.log.clear();
    assert!(!r.learn(), "nothing new");
    r.converge(Why::Forwarders);
    assert!(r.host.log.is_empty());
}

#[test]
fn without_nft_the_guarded_services_fall_back_to_master_only_address_services() {
    let mut r = reconciler(&config("guard", &colocated_vs(80)));
    r.host.guard_fails = true;
    r.start();
    assert_eq!(r.host.log, vec![format!("lo up {VIP}")]);
    let log = set_state(&mut r, State::Master);
    assert_eq!(
        log,
        vec![
            format!("add {VIP}:80"),
            format!("add {VIP}:80 -> 10.99.0.1"),
            format!("add {VIP}:80 -> 10.99.0.3"),
            format!("lo down {VIP}"),
        ]
    );
}

#[test]
fn a_no_op_reload_issues_zero_operations() {
    let text = config("guard", &(colocated_vs(80) + &plain_vs()));
    let mut r = reconciler(&text);
    r.start();
    set_state(&mut r, State::Master);
    r.host.log.clear();
    let p = load(&text);
    let h = r.world.health.clone();
    assert!(r.preview(&p, &h).is_empty());
    assert!(r.reload(p, h).is_empty());
    assert!(r.host.log.is_empty(), "{:?}", r.host.log);
}

#[test]
fn on_a_guarded_master_the_dry_run_is_what_the_reload_applies() {
    // the bug found by testing: the dry run printed "add the plain service, delete the FWM
    // one" and the apply did nothing
    let mut r = reconciler(&config("guard", &colocated_vs(80)));
    r.start();
    set_state(&mut r, State::Master);
    let new = load(&config("guard", &(colocated_vs(80) + &plain_vs())));
    let h = Health::new(&new.config);
    let planned = r.preview(&new, &h);
    r.host.log.clear();
    let done = r.reload(new, h);
    assert_eq!(planned, done);
    assert_eq!(
        r.host.log,
        vec![
            "add 10.99.0.200:443".to_string(),
            "add 10.99.0.200:443 -> 10.99.0.7".to_string()
        ]
    );
    let shown: Vec<String> = planned.iter().map(|s| s.to_string()).collect();
    assert!(shown.iter().all(|l| !l.contains("delete")), "{shown:?}");
}

#[test]
fn a_reload_that_removes_the_colocated_service_removes_its_role_and_guard() {
    let mut r = reconciler(&config("guard", &(colocated_vs(80) + &plain_vs())));
    r.start();
    r.host.log.clear();
    let new = load(&config("guard", &plain_vs()));
    let h = Health::new(&new.config);
    r.reload(new, h);
    assert_eq!(
        r.host.log,
        vec![format!("lo down {VIP}"), "guard remove".to_string()]
    );
}

#[test]
fn a_reload_that_adds_a_colocated_service_on_a_master_guards_it_first() {
    let mut r = reconciler(&config("guard", &plain_vs()));
    r.start();
    set_state(&mut r, State::Master);
    r.host.log.clear();
    let new = load(&config("guard", &(colocated_vs(80) + &plain_vs())));
    let h = Health::new(&new.config);
    r.reload(new, h);
    let f = fwm(&r);
    assert_eq!(r.host.log[0], "guard 1 svc 0 mac");
    assert_eq!(r.host.log[1], format!("add {f}"));
    assert!(
        !r.host.log.iter().any(|l| l.starts_with("lo ")),
        "MASTER: no role"
    );
}

#[test]
fn a_reload_from_master_only_to_guard_rekeys_the_service() {
    let mut r = reconciler(&config("master_only", &colocated_vs(80)));
    r.start();
    set_state(&mut r, State::Master);
    r.host.log.clear();
    let new = load(&config("guard", &colocated_vs(80)));
    let h = r.world.health.clone();
    let planned = r.preview(&new, &h);
    r.reload(new, h);
    let f = fwm(&r);
    assert_eq!(
        r.host.log,
        vec![
            "guard 1 svc 0 mac".to_string(),
            format!("add {f}"),
            format!("add {f} -> 10.99.0.1"),
            format!("add {f} -> 10.99.0.3"),
            format!("del {VIP}:80"),
        ]
    );
    assert_eq!(planned.len(), 5);
}

#[test]
fn a_checker_down_is_one_dest_operation() {
    let mut r = reconciler(&config("off", &plain_vs()));
    r.start();
    r.host.log.clear();
    let mut ev = Vec::new();
    r.world.health.checker(
        CheckerId {
            vs: 0,
            rs: 0,
            checker: 0,
        },
        CheckState::Down,
        &mut ev,
    );
    r.converge(Why::Health);
    assert_eq!(r.host.log, vec!["del 10.99.0.200:443 -> 10.99.0.7"]);
}

#[test]
fn the_sync_daemon_follows_its_instance() {
    let text = config("off", &plain_vs()).replace(
        "global_defs {\n",
        "global_defs {\n  lvs_sync_daemon eth0 VI_1\n",
    );
    let mut r = reconciler(&text);
    r.start();
    assert!(
        !r.host.log.iter().any(|l| l.starts_with("sync")),
        "INIT: none"
    );
    assert_eq!(set_state(&mut r, State::Backup), vec!["sync start Backup"]);
    assert_eq!(
        set_state(&mut r, State::Master),
        vec!["sync stop Backup", "sync start Master"]
    );
    r.host.log.clear();
    r.stop();
    assert_eq!(r.host.log[0], "sync stop Master");
}

#[test]
fn stop_deletes_lvsds_services_and_keeps_the_real_server_role() {
    let mut r = reconciler(&config("guard", &(colocated_vs(80) + &plain_vs())));
    r.start();
    set_state(&mut r, State::Master);
    r.host.log.clear();
    let f = fwm(&r);
    r.stop();
    assert!(r.host.table.is_empty());
    assert!(r.host.log.contains(&format!("del {f}")), "{:?}", r.host.log);
    assert!(r.host.log.contains(&"del 10.99.0.200:443".to_string()));
    assert_eq!(r.host.log.last().unwrap(), &format!("lo up {VIP}"));
    assert!(r.host.log.contains(&"guard remove".to_string()));
}

#[test]
fn desired_is_a_function_of_the_world_only() {
    let w = World::new(load(&config("guard", &(colocated_vs(80) + &plain_vs()))));
    let (a, b) = (desired(&w), desired(&w));
    assert_eq!(a, b);
    assert!(steps(&a, &b).is_empty());
    assert_eq!(a.lo_vips.len(), 1);
    // the colocated service is owned (deletable) under both keys, the plain one too
    assert_eq!(a.owned.len(), 3, "{:?}", a.owned);
    let mut m = w.clone();
    m.states.insert("VI_1".into(), State::Master);
    let d = desired(&m);
    assert!(d.lo_vips.is_empty());
    assert_eq!(d.ipvs.len(), 2);
    let order: Vec<&'static str> = steps(&a, &d)
        .iter()
        .map(|s| match s {
            Step::Ipvs(_) => "ipvs",
            Step::RoleDown { .. } => "role-down",
            _ => "other",
        })
        .collect();
    assert_eq!(order.last(), Some(&"role-down"));
}

#[test]
fn without_ipvs_the_role_and_guard_still_run() {
    let mut r = reconciler(&config("guard", &colocated_vs(80)));
    r.host.no_ipvs = true;
    r.start();
    assert_eq!(
        r.host.log,
        vec!["guard 1 svc 0 mac".to_string(), format!("lo up {VIP}")]
    );
    let log = set_state(&mut r, State::Master);
    assert_eq!(log, vec![format!("lo down {VIP}")]);
}

/// Issue 21 lets lvsd run files it used to refuse (an invalid value ignored, a real server
/// skipped, a block closed by recovery): every file of the corpus, the edge cases and the
/// seeds that lvsd accepts must build its plan, its checkers and its health view, and converge
/// as MASTER, BACKUP and FAULT without a panic.
#[test]
fn every_file_lvsd_accepts_plans_and_converges_in_every_role() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut accepted = 0;
    for dir in [
        "tests/corpus",
        "tests/corpus/edge",
        "crates/config/tests/fixtures/seeds",
    ] {
        let mut files: Vec<_> = std::fs::read_dir(root.join(dir))
            .expect("corpus dir")
            .flatten()
            .map(|e| e.path())
            .filter_map(|p| match p.extension().is_some_and(|e| e == "conf") {
                true => Some(p),
                // an include tree
                false => Some(p.join("keepalived.conf")).filter(|m| m.is_file()),
            })
            .collect();
        files.sort();
        for f in files {
            let loaded = lvsd_config::load_file(&f, &lvsd_config::LoadOptions::default());
            if loaded.has_errors() {
                continue;
            }
            accepted += 1;
            let p = plan::plan(loaded.config, Vec::new(), Vec::new());
            let users = lvsd_scripts::ScriptUsers::current();
            let _ = lvsd_check::spec::probes(&p.config, &users);
            let _ = lvsd_check::health::Health::new(&p.config);
            let names: Vec<String> = p.instances.iter().map(|i| i.name.clone()).collect();
            let mut r = Reconciler::new(Fake::default(), World::new(p));
            r.start();
            for s in [State::Master, State::Backup, State::Fault, State::Master] {
                for n in &names {
                    r.world.states.insert(n.clone(), s);
                }
                r.converge(Why::Vrrp);
            }
        }
    }
    assert!(accepted >= 60, "only {accepted} files accepted");
}

/// Issue 15's scale (2,000 virtual servers × 18 real servers = 36,000 destinations): a reload
/// that changes one weight, or adds one real server, is exactly one IPVS operation — the new
/// desired table is compared with the last applied one, not rebuilt in the kernel.
#[test]
fn a_one_change_reload_of_36000_destinations_is_one_ipvs_operation() {
    fn big(weight_of_first: u32, extra_rs: bool) -> String {
        let mut s = String::with_capacity(6 << 20);
        for v in 0..2000u32 {
            s += &format!(
                "virtual_server 10.100.{}.{} 80 {{\n  lb_algo wrr\n  lb_kind DR\n  protocol TCP\n",
                v / 250,
                v % 250 + 1
            );
            for r in 0..18u32 {
                let w = if v == 0 && r == 0 { weight_of_first } else { 1 };
                s += &format!(
                    "  real_server 10.200.{}.{} 80 {{\n    weight {w}\n  }}\n",
                    r,
                    v % 250 + 1
                );
            }
            if v == 1999 && extra_rs {
                s += "  real_server 10.201.0.1 80 {\n    weight 1\n  }\n";
            }
            s += "}\n";
        }
        s
    }
    let base = load(&big(1, false));
    let mut r = Reconciler::new(Fake::default(), World::new(base));
    r.start();
    assert_eq!(
        r.host.log.len(),
        2000 + 36000,
        "the start adds every service and destination"
    );
    for (text, want) in [
        (big(7, false), "edit 10.100.0.1:80 -> 10.200.0.1 w7"),
        (big(7, true), "add 10.100.7.250:80 -> 10.201.0.1"),
    ] {
        r.host.log.clear();
        let new = load(&text);
        let h = Health::new(&new.config);
        r.reload(new, h);
        assert_eq!(r.host.log, vec![want.to_string()]);
    }
}
