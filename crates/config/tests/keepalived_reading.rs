//! Issue 21: a line keepalived 2.2.7 ignores ("- ignoring") or a block it skips ("- skipping")
//! is read the same way by lvsd: a warning that says so, and an effective configuration equal
//! to the one without those lines (they are blanked, so line numbers stay put).

use lvsd_config::{load_str, LoadOptions, Severity};
use std::path::Path;

const BASE: &str = "\
global_defs {
  router_id lb1
  @BAD_GLOBAL@
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority 100
  @BAD_VRRP@
  virtual_ipaddress {
    10.9.9.9
    @BAD_VIP@
  }
}
virtual_server 10.9.9.9 80 {
  lb_algo rr
  lb_kind DR
  protocol TCP
  persistence_timeout 50
  @BAD_VS@
  real_server 10.9.9.10 80 {
    weight 2
    @BAD_RS@
    TCP_CHECK {
      connect_timeout 3
    }
  }
  @BAD_BLOCK@
}
";

const PLACES: [&str; 6] = [
    "@BAD_GLOBAL@",
    "@BAD_VRRP@",
    "@BAD_VIP@",
    "@BAD_VS@",
    "@BAD_RS@",
    "@BAD_BLOCK@",
];

/// (placeholder, the bad text, the codes it must produce)
const CASES: &[(&str, &str, &str)] = &[
    (
        "@BAD_GLOBAL@",
        "vrrp_garp_master_delay abc",
        "invalid-number",
    ),
    ("@BAD_VRRP@", "advert_int abc", "invalid-number"),
    ("@BAD_VRRP@", "priority 300", "out-of-range"),
    ("@BAD_VRRP@", "preempt_delay -4", "out-of-range"),
    ("@BAD_VIP@", "10.9.9.300", "invalid-address"),
    ("@BAD_VS@", "persistence_timeout xyz", "invalid-number"),
    ("@BAD_VS@", "delay_loop 0", "out-of-range"),
    ("@BAD_VS@", "quorum 0", "out-of-range"),
    ("@BAD_VS@", "lb_algo nope", "ignored"),
    ("@BAD_RS@", "weight abc", "invalid-number"),
    ("@BAD_RS@", "weight -1", "out-of-range"),
    (
        "@BAD_BLOCK@",
        "real_server 10.9.9.300 80 {\n    weight 1\n  }",
        "invalid-address",
    ),
    (
        "@BAD_BLOCK@",
        "real_server 10.9.9.11 99999 {\n    weight 1\n  }",
        "out-of-range",
    ),
    (
        "@BAD_BLOCK@",
        "}\nvirtual_server 10.9.9.900 80 {\n  lb_algo rr\n  protocol TCP",
        "invalid-address",
    ),
];

fn fill(ph: &str, bad: &str) -> String {
    let mut text = BASE.to_string();
    for p in PLACES {
        text = text.replace(p, if p == ph { bad } else { "#" });
    }
    text
}

fn blanked(ph: &str, bad: &str) -> String {
    let mut text = BASE.to_string();
    for p in PLACES {
        let n = if p == ph { bad.lines().count() } else { 1 };
        text = text.replace(p, &vec!["#"; n].join("\n"));
    }
    text
}

#[test]
fn an_invalid_line_is_ignored_and_an_invalid_header_skips_its_block() {
    let opts = LoadOptions {
        config_id: Some("t".into()),
    };
    for (ph, bad, code) in CASES {
        let with = load_str(Path::new("t.conf"), fill(ph, bad).as_bytes(), &opts);
        // (the virtual_server case closes the first block early and opens a second one that
        // the base's last `}` closes: blanked, the first block is closed by that `}`)
        let without = load_str(Path::new("t.conf"), blanked(ph, bad).as_bytes(), &opts);
        assert!(
            without.diagnostics.is_empty(),
            "the base has findings: {:?}",
            without.diagnostics
        );
        let found: Vec<_> = with.diagnostics.iter().map(|d| d.code.name()).collect();
        assert!(found.contains(code), "{bad}: {found:?}");
        assert!(
            with.diagnostics
                .iter()
                .all(|d| d.severity != Severity::Error),
            "{bad}: lvsd refuses a line keepalived 2.2.7 ignores: {:?}",
            with.diagnostics
        );
        let said = with
            .diagnostics
            .iter()
            .find(|d| d.code.name() == *code)
            .map(|d| d.message.clone())
            .unwrap_or_default();
        assert!(
            said.contains("keepalived 2.2.7"),
            "{bad}: the message does not say what keepalived does: {said}"
        );
        let a = serde_json::to_value(&with.config).unwrap();
        let b = serde_json::to_value(&without.config).unwrap();
        assert_eq!(
            a, b,
            "{bad}: lvsd did not read the file as if the line were not there"
        );
    }
}

/// keepalived 2.2.7, when it runs (not under -t), reads the leading number of `5x`; an
/// unterminated quote outside a script runs to the end of the line; a few keywords without
/// their value are ignored rather than fatal; an invalid option leaves the rest of its line.
#[test]
fn what_keepalived_reads_when_it_runs_lvsd_reads_too() {
    let opts = LoadOptions {
        config_id: Some("t".into()),
    };
    let text = "global_defs {\n  router_id \"lb01\n  smtp_helo_name\n}\n\
                virtual_server 10.9.9.9 80 {\n  lb_kind DR\n  protocol TCP\n  \
                real_server 10.9.9.10 80x {\n    weight 5x\n  }\n}\n\
                vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  \
                virtual_ipaddress {\n    10.9.9.9/24 dev eth0 bogus_option\n  }\n}\n";
    let l = load_str(Path::new("t.conf"), text.as_bytes(), &opts);
    assert!(
        l.diagnostics.iter().all(|d| d.severity != Severity::Error),
        "{:?}",
        l.diagnostics
    );
    assert_eq!(l.config.global.router_id.as_deref(), Some("lb01"));
    let rs = &l.config.virtual_servers[0].real_servers[0];
    assert_eq!((rs.port, rs.weight), (Some(80), 5));
    let vip = &l.config.instances[0].virtual_ipaddress[0];
    assert_eq!(vip.dev.as_deref(), Some("eth0"));
    let option = l
        .diagnostics
        .iter()
        .find(|d| d.message.contains("bogus_option"))
        .expect("the unknown option is reported");
    assert!(
        option.message.contains("rest of the line stands"),
        "{}",
        option.message
    );
    // fwmark 0 is skipped, and the message says keepalived accepts it
    let l = load_str(
        Path::new("t.conf"),
        b"virtual_server fwmark 0 {\n  lb_kind DR\n}\n",
        &opts,
    );
    assert!(l.config.virtual_servers.is_empty());
    assert!(l
        .diagnostics
        .iter()
        .any(|d| d.code.name() == "keepalived-differs" && d.message.contains("fwmark 0")));
    // a script's unterminated quote stays an error: keepalived 2.2.7 crashes on it
    let l = load_str(
        Path::new("t.conf"),
        b"vrrp_script chk {\n  script \"/bin/true\n}\n",
        &opts,
    );
    assert!(l.has_errors(), "{:?}", l.diagnostics);
}
