//! The reload plan's list of changes (reload_plan.rs): complete, and what each change says.

use super::plan::{self, Plan};
use super::reload_plan::{instance_effect, vrrp_changes, Change, Effect};
use super::world::States;
use lvsd_vrrp::State;

fn load(text: &str) -> Plan {
    let l = lvsd_config::load_str(
        std::path::Path::new("t.conf"),
        text.as_bytes(),
        &lvsd_config::LoadOptions::default(),
    );
    assert!(!l.has_errors(), "{:?}", l.diagnostics);
    plan::plan(l.config, Vec::new(), Vec::new())
}

const BASE: &str = "vrrp_script chk {\n script /bin/true\n interval 2\n}\n\
vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 150\n advert_int 1\n \
track_script {\n  chk\n }\n virtual_ipaddress {\n  10.99.0.100/24\n }\n}\n";

fn changes(new: &str, state: State) -> Vec<Change> {
    let states: States = [("VI_1".to_string(), state)].into();
    vrrp_changes(&load(BASE), &load(new), &states)
}

#[test]
fn every_keyword_of_an_instance_and_of_global_defs_has_a_stated_effect() {
    let p = load(BASE);
    let inst = serde_json::to_value(&p.config.instances[0]).unwrap();
    let glob = serde_json::to_value(&p.config.global).unwrap();
    let known_inst: Vec<&str> = super::reload_plan::INSTANCE_KEYS
        .iter()
        .map(|(k, _)| *k)
        .collect();
    let known_glob: Vec<&str> = super::reload_plan::GLOBAL_KEYS
        .iter()
        .map(|(k, _)| *k)
        .collect();
    for k in inst.as_object().unwrap().keys() {
        assert!(
            known_inst.contains(&k.as_str()),
            "vrrp_instance key `{k}` has no reload effect in reload_plan.rs"
        );
    }
    for k in glob.as_object().unwrap().keys() {
        assert!(
            known_glob.contains(&k.as_str()),
            "global_defs key `{k}` has no reload effect in reload_plan.rs"
        );
    }
}

#[test]
fn nothing_changed_is_an_empty_plan() {
    assert_eq!(changes(BASE, State::Master), vec![]);
}

#[test]
fn a_priority_change_applies_at_once_in_both_roles() {
    let new = BASE.replace("priority 150", "priority 90");
    for s in [State::Master, State::Backup] {
        let c = changes(&new, s);
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!((c[0].what.as_str(), c[0].effect), ("priority", Effect::Now));
        assert_eq!(c[0].detail, "150 -> 90");
        assert!(!c[0].installs_now());
    }
}

#[test]
fn an_added_excluded_address_is_installed_and_announced_on_a_master_only() {
    let new = BASE.replace(
        " }\n}\n",
        " }\n virtual_ipaddress_excluded {\n  10.99.0.110/24\n }\n}\n",
    );
    let m = changes(&new, State::Master);
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(m[0].installs_now() && m[0].announces(), "{m:?}");
    assert_eq!(m[0].detail, "+10.99.0.110/24 dev eth0");
    assert!(m[0].to_string().contains("installed at once"), "{}", m[0]);
    let b = changes(&new, State::Backup);
    assert!(!b[0].installs_now(), "{b:?}");
    assert!(b[0]
        .to_string()
        .contains("when this instance becomes MASTER"));
    // a removed route is installed (removed) but not announced
    let with_route = BASE.replace(
        " }\n}\n",
        " }\n virtual_routes {\n  10.98.0.0/16 dev eth0\n }\n}\n",
    );
    let states: States = [("VI_1".to_string(), State::Master)].into();
    let c = vrrp_changes(&load(&with_route), &load(BASE), &states);
    assert_eq!(c.len(), 1, "{c:?}");
    assert!(c[0].installs_now() && !c[0].announces(), "{c:?}");
    assert!(c[0].detail.starts_with('-'), "{c:?}");
}

#[test]
fn another_vrid_recreates_the_instance_and_says_it_is_a_transition() {
    let c = changes(
        &BASE.replace("virtual_router_id 51", "virtual_router_id 52"),
        State::Master,
    );
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!(c[0].effect, Effect::Recreate);
    assert!(c[0].to_string().contains("a transition"), "{}", c[0]);
    // a global that changes every instance's version is the same
    let c = changes(
        &format!("global_defs {{\n vrrp_version 3\n}}\n{BASE}"),
        State::Backup,
    );
    assert!(c.iter().any(|c| c.effect == Effect::Recreate), "{c:?}");
}

#[test]
fn scripts_notify_garp_and_the_initial_state_say_when_they_apply() {
    let c = changes(&BASE.replace("interval 2", "interval 5"), State::Master);
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!(c[0].scope, "vrrp_script chk");
    let c = changes(
        &BASE.replace(
            " priority 150\n",
            " priority 150\n notify_master /bin/true\n state BACKUP\n",
        ),
        State::Master,
    );
    let effects: Vec<(&str, Effect)> = c.iter().map(|c| (c.what.as_str(), c.effect)).collect();
    assert!(
        effects.contains(&("notify", Effect::NextTransition)),
        "{effects:?}"
    );
    assert!(
        effects.contains(&("state", Effect::StartOnly)),
        "{effects:?}"
    );
    assert_eq!(instance_effect("garp"), Some(Effect::NextTransition));
}

#[test]
fn instances_added_and_removed() {
    let two = format!(
        "{BASE}vrrp_instance VI_2 {{\n interface eth0\n virtual_router_id 52\n priority 100\n \
         virtual_ipaddress {{\n  10.99.0.101/24\n }}\n}}\n"
    );
    let c = changes(&two, State::Master);
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!((c[0].scope.as_str(), c[0].effect), ("VI_2", Effect::Added));
    let states: States = [("VI_2".to_string(), State::Master)].into();
    let c = vrrp_changes(&load(&two), &load(BASE), &states);
    assert_eq!(c.len(), 1, "{c:?}");
    assert!(
        c[0].to_string().contains("its addresses are removed"),
        "{}",
        c[0]
    );
}
