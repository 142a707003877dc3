//! Every configuration of the user's documents gets exactly its expected
//! diagnostics (line, severity, code). Fixtures: tests/fixtures/seeds/.
//! Set LVSD_BLESS=1 to rewrite the .expected files after a deliberate change.

use lvsd_config::{load_file, LoadOptions};
use std::path::Path;

fn actual(conf: &Path) -> String {
    let loaded = load_file(
        conf,
        &LoadOptions {
            config_id: Some("test".into()),
        },
    );
    loaded
        .diagnostics
        .iter()
        .map(|d| format!("{} {} {}\n", d.line(), d.severity, d.code.name()))
        .collect()
}

#[test]
fn seed_configs_give_exactly_their_diagnostics() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seeds");
    let mut confs: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    confs.sort();
    assert!(confs.len() >= 11, "seed fixtures missing");
    let mut failures = Vec::new();
    for conf in confs {
        let exp_path = conf.with_extension("expected");
        let got = actual(&conf);
        if std::env::var_os("LVSD_BLESS").is_some() {
            std::fs::write(&exp_path, &got).expect("write expected");
            continue;
        }
        let want = std::fs::read_to_string(&exp_path).unwrap_or_default();
        if got != want {
            failures.push(format!(
                "{}:\n--- expected\n{want}--- got\n{got}",
                conf.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn codes_at(conf: &str, line: u32) -> Vec<&'static str> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/seeds")
        .join(conf);
    load_file(
        &p,
        &LoadOptions {
            config_id: Some("test".into()),
        },
    )
    .diagnostics
    .iter()
    .filter(|d| d.line() == line)
    .map(|d| d.code.name())
    .collect()
}

#[test]
fn seed_001_defects_are_named_where_they_are() {
    // `state MASTER  从为SLAVE`: the Chinese note is ignored, and said so; the line is indented
    // with U+00A0, so keepalived 2.2.7 drops it altogether (issue 21), also said
    assert_eq!(
        codes_at("001-dr1.conf", 16),
        vec!["unicode-space", "extra-arguments"]
    );
    // the invalid address and the real_server whose `}` is missing
    let l64 = codes_at("001-dr1.conf", 64);
    assert!(
        l64.contains(&"invalid-address") && l64.contains(&"missing-close-brace"),
        "{l64:?}"
    );
}

#[test]
fn seed_003_reference_gets_did_you_mean() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seeds/003-reference.conf");
    let l = load_file(&p, &LoadOptions::default());
    let hint = |line: u32| {
        l.diagnostics
            .iter()
            .find(|d| d.line() == line)
            .and_then(|d| d.hint.clone())
            .unwrap_or_default()
    };
    assert!(
        hint(3).contains("`lb_algo`") && hint(3).contains("`wr1` → `wrr`"),
        "{}",
        hint(3)
    );
    assert!(hint(4).contains("`lb_kind`"), "{}", hint(4));
    assert!(hint(6).contains("`USIP` → `UDP`"), "{}", hint(6));
}

#[test]
fn seed_001_effective_config_honours_nb_get_retry_and_defaults() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seeds/001-dr1.conf");
    let l = load_file(&p, &LoadOptions::default());
    let vs = &l.config.virtual_servers[0];
    assert_eq!(vs.lb_algo, "wlc");
    assert_eq!(vs.persistence_timeout, Some(50));
    let c = &vs.real_servers[1].checkers[0];
    assert_eq!(c.effective.retry, 3);
    assert_eq!(c.effective.connect_timeout, 3.0);
    assert_eq!(c.effective.delay_loop, 6.0);
    assert_eq!(c.effective.connect_port, Some(80));
    let i = &l.config.instances[0];
    assert_eq!((i.priority, i.virtual_router_id), (100, Some(51)));
    assert_eq!(
        i.authentication
            .as_ref()
            .and_then(|a| a.auth_pass.clone())
            .as_deref(),
        Some("1111")
    );
    assert_eq!(i.virtual_ipaddress.len(), 2);
    // the second virtual server keeps its valid real server after the repaired brace
    assert_eq!(l.config.virtual_servers[1].real_servers.len(), 1);
}
