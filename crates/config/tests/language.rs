//! The keepalived.conf language, feature by feature, mostly with the
//! examples of keepalived.conf(5) and the output the manual gives for them.

use lvsd_config::{expand_str, load_file, load_str, Code, LoadOptions};
use std::path::Path;

fn expand(text: &str) -> Vec<String> {
    let (lines, diags) = expand_str(Path::new("t.conf"), text.as_bytes(), "main");
    assert!(
        diags
            .iter()
            .all(|d| d.severity != lvsd_config::Severity::Error),
        "{diags:?}"
    );
    lines
}

fn codes(text: &str) -> Vec<(u32, &'static str)> {
    load_str(
        Path::new("t.conf"),
        text.as_bytes(),
        &LoadOptions {
            config_id: Some("main".into()),
        },
    )
    .diagnostics
    .iter()
    .map(|d| (d.line(), d.code.name()))
    .collect()
}

#[test]
fn comments_hash_and_bang_anywhere() {
    assert_eq!(
        expand("a 1 # c\n! whole\nb 2 ! c\n\"q # not\" x"),
        vec!["a 1", "b 2", "\"q # not\" x"]
    );
}

#[test]
fn conditional_lines() {
    let text =
        "@main router_id main_router\n@backup router_id backup_router\n@^main p1\n@^backup p2\n";
    assert_eq!(expand(text), vec!["router_id main_router", "p2"]);
}

#[test]
fn parameters_are_substituted_at_use_time() {
    let text = "$ADDRESS_BASE=10.2.${ADDRESS_BASE_SUB}\n$ADDRESS_BASE_SUB=0\n${ADDRESS_BASE}.100/32\n$ADDRESS_BASE_SUB=10\n${ADDRESS_BASE}.100/32\n";
    assert_eq!(expand(text), vec!["10.2.0.100/32", "10.2.10.100/32"]);
}

#[test]
fn parameters_with_conditionals() {
    assert_eq!(
        expand("@main $PRIORITY=240\n@backup $PRIORITY=200\npriority $PRIORITY\n"),
        vec!["priority 240"]
    );
    assert_eq!(
        expand("$IF_MAIN=@main\n$IF_MAIN priority 240\n"),
        vec!["priority 240"]
    );
    assert_eq!(
        expand("$IF_B=@backup\n$IF_B priority 240\n"),
        Vec::<String>::new()
    );
}

#[test]
fn dollar_name_needs_whitespace_after_it() {
    // `$4` in an awk script and `$NAMEx` are not parameter uses
    assert_eq!(
        expand("$N=1\nx $N ${N}y $Nz awk '{print $4}'\n"),
        vec!["x 1 1y $Nz awk '{print $4}'"]
    );
}

#[test]
fn undefined_parameter_is_kept_and_reported() {
    let (lines, diags) = expand_str(Path::new("t"), b"a ${UNDEF} b\n", "x");
    assert_eq!(lines, vec!["a ${UNDEF} b"]);
    assert_eq!(diags[0].code, Code::UndefinedParameter);
}

#[test]
fn builtins() {
    assert_eq!(expand("a${_HASH}b ${_BANG}\n"), vec!["a#b !"]);
    assert_eq!(expand("id ${_INSTANCE}\n"), vec!["id main"]);
    std::env::set_var("LVSD_TEST_ENV", "v1");
    assert_eq!(expand("e ${_ENV LVSD_TEST_ENV}\n"), vec!["e v1"]);
    let r: u32 = expand("${_RANDOM 5 7}\n")[0].parse().unwrap();
    assert!((5..=7).contains(&r));
    let pwd = expand("${_PWD}\n");
    assert!(Path::new(&pwd[0]).is_absolute(), "{pwd:?}");
}

#[test]
fn multiline_parameters_nest() {
    let text = "$RS= \\\nreal_server 192.168.${VS_NUM}.${RS_NUM} 80 { \\\nweight 1 \\\n}\n$VS= \\\nvirtual_server 10.0.${VS_NUM}.4 80 { \\\n$RS_NUM=1 \\\n$RS \\\n$RS_NUM=2 \\\n$RS \\\n}\n$VS_NUM=0\n$VS\n";
    assert_eq!(
        expand(text),
        vec![
            "virtual_server 10.0.0.4 80 {",
            "real_server 192.168.0.1 80 {",
            "weight 1",
            "}",
            "real_server 192.168.0.2 80 {",
            "weight 1",
            "}",
            "}"
        ]
    );
}

#[test]
fn seq_as_in_the_manual() {
    assert_eq!(
        expand("~SEQ(SUBNET, 0, 3) ip_address 10.0.${SUBNET}.1\n"),
        vec![
            "ip_address 10.0.0.1",
            "ip_address 10.0.1.1",
            "ip_address 10.0.2.1",
            "ip_address 10.0.3.1"
        ]
    );
    let hex = vec![
        "ip_address fe80::20:90:1",
        "ip_address fe80::20:a0:1",
        "ip_address fe80::20:b0:1",
        "ip_address fe80::20:c0:1",
    ];
    assert_eq!(
        expand("~SEQx(SUBNET, 144, 16, 192) ip_address fe80::20:${SUBNET}:1\n"),
        hex
    );
    assert_eq!(
        expand("~SEQx(SUBNET, 0x90, 0x10, 0xc0) ip_address fe80::20:${SUBNET}:1\n"),
        hex
    );
    let two =
        expand("~SEQx(AD2, 0x90, 0x10, 0xc0) ~SEQx(AD1, 0x12, -1, 0x0c) fe81::10:${AD2}:${AD1}\n");
    assert_eq!(two.len(), 4 * 7);
    assert_eq!(two[0], "fe81::10:90:12");
    assert_eq!(two[6], "fe81::10:90:c");
    assert_eq!(expand("~SEQ(I, 3) x$I\n").len(), 3);
}

#[test]
fn seq_over_multiline_parameter_makes_many_instances() {
    let text = "$VI4= \\\nvrrp_instance vrrp4.${IF}.${NUM}.${ID} { \\\nvirtual_router_id ${ID} \\\n}\n~SEQ(IF,0,7) ~SEQ(NUM,0,31) ~SEQ(ID,1,254) $VI4\n";
    let lines = expand(text);
    assert_eq!(lines.len(), 65024 * 3);
    assert_eq!(lines[0], "vrrp_instance vrrp4.0.0.1 {");
    assert_eq!(lines[lines.len() - 3], "vrrp_instance vrrp4.7.31.254 {");
}

#[test]
fn lst_as_in_the_manual() {
    assert_eq!(
        expand("~LST({IP, IP1}, {10,1},{20,4},{5,6},{12,8}) 192.168.${IP}.${IP1}\n"),
        vec![
            "192.168.10.1",
            "192.168.20.4",
            "192.168.5.6",
            "192.168.12.8"
        ]
    );
    let nested = expand("~LST(IP, 1, 2, 3, 4) ~LST(IP1, 5,6,7) 192.169.${IP}.${IP1}\n");
    assert_eq!(nested.len(), 12);
    assert_eq!(nested[3], "192.169.2.5");
    let mixed = expand("~LST({IP,  IP1},  {10,1},{20,4},{5,6},{12,8})   ~SEQ(IP2,168,2,172) 192.${IP2}.${IP}.${IP1}\n");
    assert_eq!(
        &mixed[..4],
        &[
            "192.168.10.1",
            "192.170.10.1",
            "192.172.10.1",
            "192.168.20.4"
        ]
    );
}

#[test]
fn runaway_and_recursive_input_is_an_error_not_a_hang() {
    let (_, d) = expand_str(Path::new("t"), b"~SEQ(I, 1, 0, 10) x\n", "x");
    assert_eq!(d[0].code, Code::GeneratorError);
    let (_, d) = expand_str(Path::new("t"), b"~SEQ(I, 0, 1, 99999999999) x\n", "x");
    assert_eq!(d[0].code, Code::GeneratorError);
    let (_, d) = expand_str(Path::new("t"), b"$A=${B}\n$B=${A}\nx ${A}\n", "x");
    assert_eq!(d[0].code, Code::ParamRecursion);
    let (_, d) = expand_str(Path::new("t"), b"$A=${A}${A}\nx ${A}\n", "x");
    assert_eq!(d[0].code, Code::ParamRecursion);
    let (_, d) = expand_str(Path::new("t"), b"$M= \\\n$M\n$M\n", "x");
    assert_eq!(d[0].code, Code::ParamRecursion);
    // nested generators multiplying past the global bound
    let (_, d) = expand_str(
        Path::new("t"),
        b"~SEQ(A,0,999999) ~SEQ(B,0,999999) x\n",
        "x",
    );
    assert_eq!(d.last().unwrap().code, Code::GeneratorError);
}

#[test]
fn braces_split_lines_and_unbalanced_braces_are_located() {
    assert_eq!(
        codes("vrrp_instance VI_1 { state BACKUP\n interface eth0\n virtual_router_id 51\n authentication { auth_type PASS\n auth_pass 1 }\n virtual_ipaddress { 10.0.0.1 }\n}\n"),
        vec![]
    );
    assert_eq!(
        codes("global_defs {\n router_id x\n"),
        vec![(1, "unclosed-block")]
    );
    assert_eq!(
        codes("global_defs {\n}\n}\n"),
        vec![(3, "unexpected-close-brace")]
    );
    // a lab case: two keywords on one line — the second one is named
    let c = codes("vrrp_instance V { interface eth0\n virtual_router_id 51 priority 100\n}\n");
    assert_eq!(c, vec![(1, "likely-mistake"), (2, "extra-arguments")]);
}

#[test]
fn deep_nesting_is_bounded() {
    let text = "a {\n".repeat(100_000);
    let c = codes(&text);
    assert!(c.iter().any(|(_, k)| *k == "nesting-too-deep"));
}

fn tmpdir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("lvsd-lang-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("conf.d")).unwrap();
    d
}

#[test]
fn include_glob_brace_relative_and_loops() {
    let d = tmpdir("inc");
    std::fs::write(
        d.join("main.conf"),
        "include conf.d/*.conf\ninclude {x,y}.inc\ninclude nothing-*.conf\n",
    )
    .unwrap();
    std::fs::write(d.join("conf.d/a.conf"), "global_defs {\n router_id A\n}\n").unwrap();
    std::fs::write(d.join("conf.d/b.conf"), "include ../x.inc\n").unwrap();
    std::fs::write(d.join("x.inc"), "vrrp_script s { script /bin/true\n}\n").unwrap();
    std::fs::write(d.join("y.inc"), "include main.conf\n").unwrap();
    let l = load_file(&d.join("main.conf"), &LoadOptions::default());
    assert_eq!(l.config.global.router_id.as_deref(), Some("A"));
    // x.inc read twice (from b.conf and from main.conf): the script is defined twice
    assert_eq!(l.config.vrrp_scripts.len(), 2);
    let codes: Vec<_> = l.diagnostics.iter().map(|d| d.code.name()).collect();
    assert!(codes.contains(&"include-loop"), "{codes:?}");
    assert!(codes.contains(&"include-no-match"), "{codes:?}");
    // includea makes a missing file an error
    std::fs::write(d.join("strict.conf"), "includea missing.conf\n").unwrap();
    let l = load_file(&d.join("strict.conf"), &LoadOptions::default());
    assert!(l.diagnostics.iter().any(|d| d.code == Code::IncludeError));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn defaults_are_keepalived_defaults() {
    let text = "vrrp_instance V {\n interface eth0\n virtual_router_id 9\n}\nvirtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n  TCP_CHECK {\n  }\n }\n}\n";
    let l = load_str(Path::new("t"), text.as_bytes(), &LoadOptions::default());
    let i = &l.config.instances[0];
    assert_eq!((i.priority, i.advert_int, i.version), (100, 1.0, 2));
    let vs = &l.config.virtual_servers[0];
    assert_eq!(vs.lb_algo, "wlc");
    assert_eq!(vs.delay_loop, 60.0);
    assert_eq!(format!("{:?}", vs.lb_kind.method), "Nat");
    assert_eq!(format!("{:?}", vs.protocol), "Some(Udp)");
    let c = &vs.real_servers[0].checkers[0].effective;
    assert_eq!(
        (c.connect_timeout, c.retry, c.delay_before_retry, c.warmup),
        (5.0, 1, 1.0, 60.0)
    );
    let codes: Vec<_> = l.diagnostics.iter().map(|d| d.code.name()).collect();
    // (its instance has no virtual_ipaddress: likely a mistake, as keepalived says too)
    assert_eq!(
        codes,
        vec!["likely-mistake", "default-applied", "default-applied"]
    );
}

#[test]
fn values_and_their_errors() {
    let c = codes("vrrp_instance V {\n interface eth0\n virtual_router_id 300\n priority 100\n state SLAVE\n authentication {\n  auth_type PASS\n  auth_pass 123456789\n }\n}\n");
    // the invalid id is reported, and so is the instance left without one
    assert_eq!(
        c,
        vec![
            (1, "missing-required"),
            (1, "likely-mistake"),
            (3, "out-of-range"),
            (5, "invalid-value"),
            (8, "value-adjusted")
        ]
    );
    // an unknown scheduler is ignored (wlc), as keepalived 2.2.7 does: a warning, not a refusal
    let c = codes("virtual_server 10.0.0.1 80 {\n lb_algo wr1\n lb_kind DR\n protocol TCP\n persistence_timeout\n}\n");
    assert_eq!(c, vec![(2, "ignored")]);
    let c = codes("vrrp_instance A {\n interface eth0\n virtual_router_id 5\n}\nvrrp_instance B {\n interface eth0\n virtual_router_id 5\n track_script {\n  nope\n }\n}\n");
    assert_eq!(
        c,
        vec![
            (1, "likely-mistake"),
            (5, "likely-mistake"),
            (5, "duplicate-vrid"),
            (9, "undefined-reference")
        ]
    );
    let c = codes("vrrp_instance A {\n interface eth0\n state MASTER\n priority 50\n nopreempt\n virtual_router_id 5\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n");
    assert_eq!(c, vec![(1, "nopreempt-with-master")]);
    let c = codes("vrrp_instance A {\n state BACKUP\n}\n");
    assert_eq!(
        c,
        vec![
            (1, "missing-required"),
            (1, "missing-required"),
            (1, "likely-mistake")
        ]
    );
}

#[test]
fn persistence_timeout_without_value_is_360() {
    let l = load_str(
        Path::new("t"),
        b"virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_kind DR\n persistence_timeout\n}\n",
        &LoadOptions::default(),
    );
    assert_eq!(l.config.virtual_servers[0].persistence_timeout, Some(360));
}

#[test]
fn unknown_keywords_suggest_the_right_one() {
    let l = load_str(
        Path::new("t"),
        b"virtual_server 10.0.0.1 80 {\n lib_kind DR\n protocol USIP\n}\n",
        &LoadOptions::default(),
    );
    let hints: Vec<String> = l
        .diagnostics
        .iter()
        .filter_map(|d| d.hint.clone())
        .collect();
    assert!(hints.iter().any(|h| h.contains("`lb_kind`")), "{hints:?}");
    assert!(
        hints.iter().any(|h| h.contains("`USIP` → `UDP`")),
        "{hints:?}"
    );
}

/// keepalived reads a `{` alone on the line after a block's keyword as that block's opening
/// (issue 21): at the top level (`vrrp_script chk` + `{`, `virtual_server IP PORT` + `{`) and
/// inside a block (`real_server IP PORT` + `{`).
#[test]
fn an_opening_brace_on_the_next_line_opens_the_block() {
    let text = "vrrp_script chk\n{\n  script \"/bin/true\"\n  interval 2\n}\n\
                vrrp_instance VI_1\n{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  \
                priority 100\n  virtual_ipaddress {\n    10.0.0.100/24\n  }\n  track_script\n  {\n    chk\n  }\n}\n\
                virtual_server 10.0.0.100 80\n{\n  lb_algo rr\n  lb_kind DR\n  protocol TCP\n  \
                real_server 10.0.0.1 80\n  {\n    TCP_CHECK\n    {\n      connect_timeout 3\n    }\n  }\n}\n";
    assert_eq!(codes(text), vec![]);
    let loaded = load_str(
        Path::new("t.conf"),
        text.as_bytes(),
        &LoadOptions::default(),
    );
    assert_eq!(loaded.config.vrrp_scripts.len(), 1);
    assert_eq!(loaded.config.instances[0].track.scripts[0].name, "chk");
    let vs = &loaded.config.virtual_servers[0];
    assert_eq!(vs.real_servers.len(), 1);
    assert_eq!(vs.real_servers[0].checkers.len(), 1);
}

/// U+00A0 pasted from a web page (issue 21): lvsd reads it as a space and says what keepalived
/// 2.2.7 does with the line (drops it, or garbles an argument).
#[test]
fn a_no_break_space_is_read_as_a_space_with_keepaliveds_reading() {
    let text = "virtual_server 10.0.0.100 80 {\n  real_server 10.0.0.1 80 {\n    TCP_CHECK {\n\
                \u{a0}\u{a0}\u{a0}\u{a0}connect_timeout 3\n      retry\u{a0}2\n    }\n  }\n}\n";
    let loaded = load_str(
        Path::new("t.conf"),
        text.as_bytes(),
        &LoadOptions::default(),
    );
    let d: Vec<_> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.code == Code::UnicodeSpace)
        .collect();
    assert_eq!(d.len(), 2, "{:?}", loaded.diagnostics);
    assert_eq!(d[0].line(), 4);
    assert!(
        d[0].message.contains("U+00A0 (no-break space)"),
        "{}",
        d[0].message
    );
    assert!(
        d[0].message.contains("ignores this line"),
        "keepalived drops the leading-NBSP line: {}",
        d[0].message
    );
    assert!(
        d[1].message.contains("ignores this line"),
        "{}",
        d[1].message
    );
    let c = &loaded.config.virtual_servers[0].real_servers[0].checkers[0];
    assert_eq!(c.options.connect_timeout, Some(3.0));
    assert_eq!(c.options.retry, Some(2));
}

/// keepalived 2.2.7 compares `lb_kind` and `lb_algo` case-sensitively (issue 21): `lb_kind dr`
/// is an unknown routing method and the service runs as NAT; `lb_algo RR` is ignored (wlc).
/// lvsd reads the evident intent and says what keepalived does instead.
#[test]
fn method_and_scheduler_case_is_read_as_meant_and_the_difference_said() {
    let text = "virtual_server 10.0.0.100 80 {\n  lb_algo RR\n  lb_kind dr\n  protocol TCP\n  \
                real_server 10.0.0.1 80 {\n    lvs_method Tun\n    TCP_CHECK {\n    }\n  }\n}\n";
    let loaded = load_str(
        Path::new("t.conf"),
        text.as_bytes(),
        &LoadOptions::default(),
    );
    let d: Vec<(u32, &str)> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.code == Code::KeepalivedDiffers)
        .map(|d| (d.line(), d.message.as_str()))
        .collect();
    assert_eq!(d.len(), 3, "{d:?}");
    assert!(d[0].1.contains("schedules with wlc"), "{d:?}");
    assert!(d[1].1.contains("runs this service as NAT"), "{d:?}");
    assert!(d[2].1.contains("keeps the service's method"), "{d:?}");
    let vs = &loaded.config.virtual_servers[0];
    assert_eq!(vs.lb_algo, "rr");
    assert_eq!(vs.lb_kind.method, lvsd_config::model::ForwardMethod::Dr);
    // written as keepalived reads it: no word
    let exact = text
        .replace("RR", "rr")
        .replace(" dr", " DR")
        .replace("Tun", "TUN");
    assert!(codes(&exact)
        .iter()
        .all(|(_, c)| *c != "keepalived-differs"));
}

/// Values keepalived 2.2.7 rejects and replaces, one-line unknown blocks, obsolete keywords
/// (issue 21): each runs (as keepalived runs it) and each is said, with keepalived's reading.
#[test]
fn what_keepalived_rejects_and_runs_is_said_not_refused() {
    let text = "global_defs {\n  vrrp_garp_interval 0\n  vrrp_gna_interval 0\n  smtp_server **\n  \
                lvs_id LVS_1\n}\nvirtual_server 10.0.0.100 80 {\n  persistence_timeout 0\n  lb_kind DR\n  \
                protocol TCP\n  real_server 10.0.0.1 80 {\n    foo {}\n    TCP_CHECK {\n    }\n  }\n}\n\
                vrrp_instance VI_1 {\n  interface averyveryverylongname0\n  virtual_router_id 5\n  \
                priority 100\n  virtual_ipaddress {\n    10.0.0.100/24\n  }\n}\n";
    let got = codes(text);
    let want = [
        (2, "keepalived-differs"),
        (3, "keepalived-differs"),
        (4, "ignored"),
        (5, "unknown-keyword"),
        (8, "keepalived-differs"),
        (12, "keepalived-differs"),
        (12, "unknown-keyword"),
        (18, "keepalived-differs"),
    ];
    for w in want {
        assert!(got.contains(&w), "{w:?} missing from {got:?}");
    }
    let loaded = load_str(
        Path::new("t.conf"),
        text.as_bytes(),
        &LoadOptions::default(),
    );
    assert_ne!(
        loaded.worst(),
        Some(lvsd_config::Severity::Error),
        "{got:?}"
    );
    assert!(loaded.config.global.smtp_server.is_none());
    assert_eq!(loaded.config.virtual_servers[0].persistence_timeout, None);
    // the real server keeps its checker (keepalived's reading would lose it: said at line 12)
    assert_eq!(
        loaded.config.virtual_servers[0].real_servers[0]
            .checkers
            .len(),
        1
    );
}

#[test]
fn lvsd_metrics_listen_takes_an_address_and_port() {
    let load = |t: &str| load_str(Path::new("t.conf"), t.as_bytes(), &LoadOptions::default());
    let l = load("global_defs {\n lvsd_metrics_listen [::]:9650\n}\n");
    assert!(!l.has_errors(), "{:?}", l.diagnostics);
    assert_eq!(
        l.config.global.metrics_listen,
        Some("[::]:9650".parse().unwrap())
    );
    assert_eq!(load("").config.global.metrics_listen, None);
    // a bad value is an error on its line, not silence
    assert_eq!(
        codes("global_defs {\n lvsd_metrics_listen 9650\n}\n"),
        vec![(2, Code::InvalidValue.name())]
    );
    assert_eq!(
        codes("global_defs {\n lvsd_metrics_listen\n}\n"),
        vec![(2, Code::MissingArgument.name())]
    );
}
