//! The probes of a configuration: targets, parameters and defaults, merged when identical.

use lvsd_check::health::CheckerId;
use lvsd_check::machine::Timing;
use lvsd_check::probe::{
    DnsProbe, FileProbe, HttpVersion, MiscProbe, ProbeKind, SmtpProbe, Target, TlsParams, UdpProbe,
};
use lvsd_check::spec::{probes, Probe, SpecError};
use lvsd_scripts::ScriptUsers;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn load(text: &str) -> lvsd_config::Config {
    let loaded = lvsd_config::load_str(Path::new("t.conf"), text.as_bytes(), &Default::default());
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    loaded.config
}

fn run(text: &str) -> (Vec<Probe>, Vec<SpecError>) {
    probes(&load(text), &ScriptUsers::current())
}

/// The probes of a configuration that has no spec errors.
fn ok(text: &str) -> Vec<Probe> {
    let (p, e) = run(text);
    assert!(e.is_empty(), "{e:?}");
    p
}

/// One virtual server 10.0.0.1 80 with one real server 10.0.0.2 80 holding `checker`.
fn one(checker: &str) -> String {
    format!(
        "virtual_server 10.0.0.1 80 {{\n delay_loop 6\n protocol TCP\n \
         real_server 10.0.0.2 80 {{\n{checker}\n }}\n}}\n"
    )
}

fn only(text: &str) -> Probe {
    let p = ok(text);
    assert_eq!(p.len(), 1, "{p:?}");
    p.into_iter().next().unwrap()
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn id(vs: usize, rs: usize, checker: usize) -> CheckerId {
    CheckerId { vs, rs, checker }
}

const S: fn(u64) -> Duration = Duration::from_secs;

#[test]
fn seed_001_probes_each_real_server_once() {
    let p =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/tests/fixtures/seeds/001-dr1.conf");
    let loaded = lvsd_config::load_file(&p, &Default::default());
    let (probes, errors) = probes(&loaded.config, &ScriptUsers::current());
    assert!(errors.is_empty(), "{errors:?}");
    // nb_get_retry 3 is honoured as retry 3 (lvsd; keepalived ignores it in TCP_CHECK).
    let timing = Timing {
        delay_loop: S(6),
        retry: 3,
        delay_before_retry: S(3),
        warmup: S(6),
        alpha: false,
        rise: 1,
        fall: None,
    };
    let target = |a: &str| Target {
        addr: addr(a),
        bind: None,
        bind_if: None,
        fwmark: None,
        timeout: S(3),
    };
    assert_eq!(probes.len(), 2, "{probes:?}");
    assert_eq!(probes[0].spec.kind, ProbeKind::Tcp);
    assert_eq!(probes[0].spec.target, target("192.168.20.9:80"));
    assert_eq!(probes[0].spec.timing, timing);
    assert_eq!(probes[0].users, vec![id(0, 0, 0)]);
    // 192.168.20.10:80 is a real server of both virtual servers (the second one's invalid
    // 192.168.1.20.9 is dropped by the parser): one probe, two users.
    assert_eq!(probes[1].spec.kind, ProbeKind::Tcp);
    assert_eq!(probes[1].spec.target, target("192.168.20.10:80"));
    assert_eq!(probes[1].spec.timing, timing);
    assert_eq!(probes[1].users, vec![id(0, 1, 0), id(1, 0, 0)]);
    assert_ne!(probes[0].spec, probes[1].spec);
}

#[test]
fn identical_checks_are_merged() {
    let rs = " real_server 10.0.0.2 80 {\n TCP_CHECK {\n connect_port 80\n }\n }\n";
    let text = format!(
        "virtual_server 10.0.0.1 80 {{\n protocol TCP\n{rs}}}\n\
         virtual_server 10.0.0.1 8080 {{\n protocol TCP\n{rs}}}\n\
         virtual_server 10.0.0.9 80 {{\n protocol TCP\n real_server 10.0.0.2 80 {{\n \
         TCP_CHECK {{\n }}\n TCP_CHECK {{\n }}\n }}\n}}\n"
    );
    let p = ok(&text);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(
        p[0].users,
        vec![id(0, 0, 0), id(1, 0, 0), id(2, 0, 0), id(2, 0, 1)]
    );
    // A different timing is another probe.
    let text = text.replacen("connect_port 80\n", "connect_port 80\n delay_loop 3\n", 1);
    let p = ok(&text);
    assert_eq!(p.len(), 2);
    assert_eq!(p[0].users, vec![id(0, 0, 0)]);
    assert_eq!(p[1].users, vec![id(1, 0, 0), id(2, 0, 0), id(2, 0, 1)]);
}

#[test]
fn keys_are_canonical() {
    let a = only(&one("TCP_CHECK {\n }"));
    let b = only(&one(
        "TCP_CHECK {\n connect_ip 10.0.0.2\n connect_port 80\n }",
    ));
    assert_eq!(a.spec, b.spec);
    let c = only(&one("TCP_CHECK {\n connect_timeout 4\n }"));
    assert_ne!(a.spec, c.spec);
}

#[test]
fn target_options() {
    let p = only(&one(
        "TCP_CHECK {\n connect_ip 10.0.0.7\n connect_port 8080\n bindto 10.0.0.1\n \
         bind_port 4000\n bind_if eth1\n fwmark 7\n connect_timeout 2.5\n }",
    ));
    assert_eq!(
        p.spec.target,
        Target {
            addr: addr("10.0.0.7:8080"),
            bind: Some(addr("10.0.0.1:4000")),
            bind_if: Some("eth1".into()),
            fwmark: Some(7),
            timeout: Duration::from_millis(2500),
        }
    );
    // bind_port alone binds the unspecified address; connect_timeout is inherited.
    let text = "virtual_server 2001:db8::1 443 {\n protocol TCP\n connect_timeout 7\n \
                real_server 2001:db8::2 443 {\n TCP_CHECK {\n bind_port 999\n }\n }\n}\n";
    let p = only(text);
    assert_eq!(p.spec.target.addr, addr("[2001:db8::2]:443"));
    assert_eq!(p.spec.target.bind, Some(addr("[::]:999")));
    assert_eq!(p.spec.target.timeout, S(7));
}

#[test]
fn the_port_comes_from_the_real_server_else_the_virtual_server() {
    let text = "virtual_server 10.0.0.1 80 {\n protocol TCP\n \
                real_server 10.0.0.2 {\n TCP_CHECK {\n }\n }\n \
                real_server 10.0.0.3 8080 {\n TCP_CHECK {\n }\n }\n}\n";
    let p = ok(text);
    assert_eq!(p[0].spec.target.addr, addr("10.0.0.2:80"));
    assert_eq!(p[1].spec.target.addr, addr("10.0.0.3:8080"));
}

#[test]
fn fwmark_service_needs_a_port() {
    let text = "virtual_server fwmark 1 {\n \
                real_server 10.0.0.2 {\n TCP_CHECK {\n }\n }\n \
                real_server 10.0.0.3 {\n TCP_CHECK {\n connect_port 443\n }\n }\n \
                real_server 10.0.0.4 25 {\n TCP_CHECK {\n }\n }\n \
                real_server 10.0.0.5 {\n PING_CHECK {\n }\n SMTP_CHECK {\n }\n DNS_CHECK {\n }\n \
                HTTP_GET {\n url {\n path /\n }\n }\n UDP_CHECK {\n }\n }\n}\n";
    let (p, e) = run(text);
    assert_eq!(e.len(), 3, "{e:?}");
    assert_eq!(e[0].line, 3);
    assert!(
        e[0].message.contains("TCP_CHECK") && e[0].message.contains("connect_port"),
        "{}",
        e[0].message
    );
    assert!(e[1].message.contains("HTTP_GET"), "{}", e[1].message);
    assert!(e[2].message.contains("UDP_CHECK"), "{}", e[2].message);
    let addrs: Vec<_> = p.iter().map(|p| p.spec.target.addr).collect();
    assert_eq!(
        addrs,
        vec![
            addr("10.0.0.3:443"),
            addr("10.0.0.4:25"),
            addr("10.0.0.5:0"),  // PING
            addr("10.0.0.5:25"), // SMTP default
            addr("10.0.0.5:53"), // DNS default
        ]
    );
}

#[test]
fn group_port() {
    let text = "virtual_server_group G {\n 10.0.0.1 80\n 10.0.0.8-9 80\n}\n\
                virtual_server_group H {\n 10.0.0.1 80\n 10.0.0.1 81\n}\n\
                virtual_server group G {\n protocol TCP\n real_server 10.0.0.2 {\n TCP_CHECK {\n }\n }\n}\n\
                virtual_server group H {\n protocol TCP\n real_server 10.0.0.3 {\n TCP_CHECK {\n }\n }\n}\n";
    let (p, e) = run(text);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].spec.target.addr, addr("10.0.0.2:80"));
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].message.contains("group H"), "{}", e[0].message);
}

fn http(p: &Probe) -> &lvsd_check::probe::HttpProbe {
    match &p.spec.kind {
        ProbeKind::Http(h) => h,
        k => panic!("not HTTP: {k:?}"),
    }
}

#[test]
fn http_get() {
    let p = only(&one(
        "HTTP_GET {\n url {\n path /health\n status_code 200 301-302\n \
         digest 0123456789ABCDEF0123456789abcdef\n }\n \
         url {\n path /x\n regex \"ok.*\"\n regex_no_match\n virtualhost u.example\n }\n url {\n }\n }",
    ));
    let h = http(&p);
    assert_eq!(p.spec.kind.keyword(), "HTTP_GET");
    assert_eq!(h.version, HttpVersion::Http10);
    assert_eq!(h.tls, None);
    assert_eq!(h.urls.len(), 3);
    let u = &h.urls[0];
    assert_eq!(u.path, "/health");
    assert_eq!(u.host, "10.0.0.2");
    assert_eq!(u.status, vec![(200, 200), (301, 302)]);
    assert_eq!(
        u.digest.as_deref(),
        Some("0123456789abcdef0123456789abcdef")
    );
    assert_eq!((u.regex.as_deref(), u.regex_no_match), (None, false));
    let u = &h.urls[1];
    assert_eq!(u.host, "u.example");
    assert_eq!((u.regex.as_deref(), u.regex_no_match), (Some("ok.*"), true));
    assert!(u.status.is_empty());
    assert_eq!(h.urls[2].path, "/");
    // Retry timing of HTTP: delay_before_retry 3 s.
    assert_eq!(p.spec.timing.delay_before_retry, S(3));
}

#[test]
fn http_host_header_precedence() {
    let text = |checker_vh: &str, rs_vh: &str, vs_vh: &str| {
        format!(
            "virtual_server 10.0.0.1 8080 {{\n protocol TCP\n{vs_vh}\n \
             real_server 10.0.0.2 8080 {{\n{rs_vh}\n HTTP_GET {{\n{checker_vh}\n \
             url {{\n path /\n }}\n url {{\n path /\n virtualhost url.example\n }}\n }}\n }}\n}}\n"
        )
    };
    let host = |t: String| {
        let p = only(&t);
        let h = http(&p);
        assert_eq!(h.urls[1].host, "url.example");
        h.urls[0].host.clone()
    };
    assert_eq!(host(text("", "", "")), "10.0.0.2:8080");
    assert_eq!(host(text("", "", " virtualhost vs.example")), "vs.example");
    assert_eq!(
        host(text(
            "",
            " virtualhost rs.example",
            " virtualhost vs.example"
        )),
        "rs.example"
    );
    assert_eq!(
        host(text(
            " virtualhost ck.example",
            " virtualhost rs.example",
            " virtualhost vs.example"
        )),
        "ck.example"
    );
    // IPv6 in brackets; the scheme's default port is left out.
    let v6 = "virtual_server 2001:db8::1 80 {\n protocol TCP\n real_server 2001:db8::2 80 {\n \
              HTTP_GET {\n url {\n path /\n }\n }\n HTTP_GET {\n connect_port 81\n url {\n path /\n }\n }\n }\n}\n";
    let p = ok(v6);
    assert_eq!(http(&p[0]).urls[0].host, "[2001:db8::2]");
    assert_eq!(http(&p[1]).urls[0].host, "[2001:db8::2]:81");
}

#[test]
fn http_protocol_versions() {
    for (v, want) in [
        ("1.0", HttpVersion::Http10),
        ("1.0C", HttpVersion::Http10Close),
        ("1.1", HttpVersion::Http11),
    ] {
        let p = only(&one(&format!(
            "HTTP_GET {{\n http_protocol {v}\n url {{\n path /\n }}\n }}"
        )));
        assert_eq!(http(&p).version, want);
    }
}

#[test]
fn ssl_get() {
    let text = |checker: &str, extra: &str| {
        format!(
            "{extra}virtual_server 10.0.0.1 443 {{\n protocol TCP\n \
             real_server 10.0.0.2 443 {{\n SSL_GET {{\n{checker}\n url {{\n path /\n }}\n }}\n }}\n}}\n"
        )
    };
    let p = only(&text("", ""));
    assert_eq!(p.spec.kind.keyword(), "SSL_GET");
    let h = http(&p);
    assert_eq!(h.urls[0].host, "10.0.0.2");
    assert_eq!(
        h.tls,
        Some(TlsParams {
            sni: None,
            verify: false,
            ca: None,
            certificate: None,
            key: None
        })
    );
    let sni = |checker: &str| {
        let p = only(&text(checker, ""));
        http(&p).tls.as_ref().unwrap().sni.clone()
    };
    // enable_sni: sni_name, else the Host; never an address.
    assert_eq!(
        sni(" enable_sni\n sni_name s.example"),
        Some("s.example".into())
    );
    assert_eq!(
        sni(" enable_sni\n virtualhost v.example"),
        Some("v.example".into())
    );
    assert_eq!(sni(" enable_sni"), None);
    assert_eq!(sni(" sni_name s.example"), None);
    // The SSL block's files.
    let p = only(&text(
        "",
        "SSL {\n ca /etc/ca.pem\n certificate /etc/c.pem\n key /etc/k.pem\n}\n",
    ));
    let t = http(&p).tls.clone().unwrap();
    assert_eq!(t.ca, Some(PathBuf::from("/etc/ca.pem")));
    assert_eq!(t.certificate, Some(PathBuf::from("/etc/c.pem")));
    assert_eq!(t.key, Some(PathBuf::from("/etc/k.pem")));
}

#[test]
fn smtp_check() {
    let p = only(&one("SMTP_CHECK {\n }"));
    // keepalived's default HELO name (check_smtp.h).
    assert_eq!(
        p.spec.kind,
        ProbeKind::Smtp(Box::new(SmtpProbe {
            helo_name: "smtpchecker.keepalived.org".into()
        }))
    );
    assert_eq!(p.spec.target.addr, addr("10.0.0.2:80"));
    let p = only(&one(
        "SMTP_CHECK {\n helo_name me.example\n connect_port 25\n }",
    ));
    assert_eq!(
        p.spec.kind,
        ProbeKind::Smtp(Box::new(SmtpProbe {
            helo_name: "me.example".into()
        }))
    );
    assert_eq!(p.spec.target.addr, addr("10.0.0.2:25"));
}

#[test]
fn smtp_host_blocks_are_probes_of_the_same_checker() {
    let p = ok(&one(
        "SMTP_CHECK {\n connect_timeout 2\n host {\n connect_ip 10.0.0.7\n connect_port 25\n }\n \
         host {\n connect_ip 10.0.0.8\n connect_port 2525\n connect_timeout 9\n }\n }",
    ));
    assert_eq!(p.len(), 2);
    assert_eq!(p[0].spec.target.addr, addr("10.0.0.7:25"));
    assert_eq!(p[0].spec.target.timeout, S(2));
    assert_eq!(p[1].spec.target.addr, addr("10.0.0.8:2525"));
    assert_eq!(p[1].spec.target.timeout, S(9));
    assert!(p.iter().all(|p| p.users == vec![id(0, 0, 0)]));
    // The checker's own connect_ip is one more host.
    let p = ok(&one(
        "SMTP_CHECK {\n connect_ip 10.0.0.6\n host {\n connect_ip 10.0.0.7\n }\n }",
    ));
    let addrs: Vec<_> = p.iter().map(|p| p.spec.target.addr).collect();
    assert_eq!(addrs, vec![addr("10.0.0.6:80"), addr("10.0.0.7:80")]);
}

#[test]
fn dns_check() {
    let p = only(&one("DNS_CHECK {\n }"));
    assert_eq!(
        p.spec.kind,
        ProbeKind::Dns(Box::new(DnsProbe {
            qtype: "SOA".into(),
            name: ".".into()
        }))
    );
    assert_eq!(p.spec.target.addr, addr("10.0.0.2:80"));
    assert_eq!(
        (p.spec.timing.retry, p.spec.timing.delay_before_retry),
        (3, S(6))
    );
    let p = only(&one(
        "DNS_CHECK {\n type A\n name www.example.com\n connect_port 53\n }",
    ));
    assert_eq!(
        p.spec.kind,
        ProbeKind::Dns(Box::new(DnsProbe {
            qtype: "A".into(),
            name: "www.example.com".into()
        }))
    );
    assert_eq!(p.spec.target.addr, addr("10.0.0.2:53"));
}

#[test]
fn misc_check() {
    let p = only(&one(
        "MISC_CHECK {\n misc_path \"/bin/sh -c 'exit 0'\"\n misc_dynamic\n }",
    ));
    assert_eq!(
        p.spec.kind,
        ProbeKind::Misc(Box::new(MiscProbe {
            argv: vec!["/bin/sh".into(), "-c".into(), "exit 0".into()],
            user: None,
            timeout: S(6),
            dynamic: true,
        }))
    );
    // MISC: retry 0 by default; the target is the real server's address, no port.
    assert_eq!(p.spec.timing.retry, 0);
    assert_eq!(p.spec.target.addr, addr("10.0.0.2:0"));
    let p = only(&one(
        "MISC_CHECK {\n misc_path /bin/true\n misc_timeout 2\n }",
    ));
    match &p.spec.kind {
        ProbeKind::Misc(m) => assert_eq!((m.timeout, m.dynamic), (S(2), false)),
        k => panic!("{k:?}"),
    }
}

#[test]
fn misc_check_user() {
    let (_, e) = run(&one(
        "MISC_CHECK {\n misc_path /bin/true\n user no-such-user-lvsd\n }",
    ));
    assert_eq!(e.len(), 1);
    assert!(
        e[0].message.contains("no-such-user-lvsd"),
        "{}",
        e[0].message
    );
    let Ok(nobody) = lvsd_scripts::user::lookup("nobody", None) else {
        return;
    };
    let me = lvsd_scripts::user::current();
    let p = only(&one("MISC_CHECK {\n misc_path /bin/true\n user nobody\n }"));
    let want = (nobody.uid != me.uid || nobody.gid != me.gid).then_some((nobody.uid, nobody.gid));
    match &p.spec.kind {
        ProbeKind::Misc(m) => assert_eq!(m.user, want),
        k => panic!("{k:?}"),
    }
    // The default user of the scripts applies when the checker names none.
    let users = ScriptUsers::with_default(Some(nobody.clone()), false);
    let (p, e) = probes(
        &load(&one("MISC_CHECK {\n misc_path /bin/true\n }")),
        &users,
    );
    assert!(e.is_empty());
    match &p[0].spec.kind {
        ProbeKind::Misc(m) => assert_eq!(m.user, Some((nobody.uid, nobody.gid))),
        k => panic!("{k:?}"),
    }
}

#[test]
fn udp_check() {
    let p = only(&one(
        "UDP_CHECK {\n payload 0a0B\n require_reply 01XX2x\n min_reply_length 3\n max_reply_length 9\n }",
    ));
    assert_eq!(
        p.spec.kind,
        ProbeKind::Udp(Box::new(UdpProbe {
            payload: vec![0x0a, 0x0b],
            require_reply: Some(vec![Some(1), None, None]),
            min_reply_length: Some(3),
            max_reply_length: Some(9),
        }))
    );
    let p = only(&one("UDP_CHECK {\n }"));
    assert_eq!(
        p.spec.kind,
        ProbeKind::Udp(Box::new(UdpProbe {
            payload: vec![],
            require_reply: None,
            min_reply_length: None,
            max_reply_length: None,
        }))
    );
    let (_, e) = run(&one("UDP_CHECK {\n payload 0g\n }"));
    assert_eq!(e.len(), 1);
    let (_, e) = run(&one("UDP_CHECK {\n require_reply 012\n }"));
    assert_eq!(e.len(), 1);
}

#[test]
fn ping_check() {
    let p = only(&one("PING_CHECK {\n retry 2\n }"));
    assert_eq!(p.spec.kind, ProbeKind::Ping);
    assert_eq!(p.spec.target.addr, addr("10.0.0.2:0"));
    assert_eq!(p.spec.timing.retry, 2);
}

#[test]
fn file_check() {
    let tf = "track_file ready {\n file /run/ready\n}\n";
    let p = only(&format!(
        "{tf}{}",
        one("FILE_CHECK {\n track_file ready\n }")
    ));
    assert_eq!(
        p.spec.kind,
        ProbeKind::File(Box::new(FileProbe {
            path: PathBuf::from("/run/ready"),
            weight: 1,
            reverse: false,
            dynamic: false,
        }))
    );
    let p = only(&format!(
        "{tf}{}",
        one("FILE_CHECK {\n track_file ready\n weight -2 reverse dynamic\n }")
    ));
    assert_eq!(
        p.spec.kind,
        ProbeKind::File(Box::new(FileProbe {
            path: PathBuf::from("/run/ready"),
            weight: -2,
            reverse: true,
            dynamic: true,
        }))
    );
    let (_, e) = run(&one("FILE_CHECK {\n track_file nope\n }"));
    assert_eq!(e.len(), 1);
    assert!(e[0].message.contains("`nope`"), "{}", e[0].message);
}

#[test]
fn bfd_check_is_not_implemented() {
    let (p, e) = run(&one("BFD_CHECK {\n name b1\n }\n TCP_CHECK {\n }"));
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].users, vec![id(0, 0, 1)]);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].line, 5);
    assert!(e[0].message.contains("not implemented"), "{}", e[0].message);
}

#[test]
fn rise_and_fall_reach_the_timing() {
    let p = only(&one("TCP_CHECK {\n rise 2\n fall 3\n alpha\n warmup 0\n }"));
    assert_eq!(
        (
            p.spec.timing.rise,
            p.spec.timing.fall,
            p.spec.timing.alpha,
            p.spec.timing.warmup
        ),
        (2, Some(3), true, Duration::ZERO)
    );
}

/// Issue 18: `enable_script_security` covers MISC_CHECK as keepalived's rules say: a program
/// run as root from a path a non-root user can write is not run (an error naming it); a safe
/// one is; without the setting both run.
#[test]
fn enable_script_security_holds_misc_check_to_keepalived_rules() {
    use std::os::unix::fs::PermissionsExt;
    if !lvsd_testkit::is_root() {
        eprintln!("skipped: needs root (a script run as root)");
        return;
    }
    let dir = std::env::temp_dir().join(format!("lvsd-misc-sec-{}", std::process::id()));
    let open = dir.join("open");
    let safe = dir.join("safe");
    for (d, mode) in [(&open, 0o777), (&safe, 0o755)] {
        std::fs::create_dir_all(d).unwrap();
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(mode)).unwrap();
        let f = d.join("check.sh");
        std::fs::write(&f, "#!/bin/sh\nexit 0\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let conf = |d: &Path| {
        load(&one(&format!(
            "MISC_CHECK {{\n misc_path {}\n }}",
            d.join("check.sh").display()
        )))
    };
    let secure = ScriptUsers::with_default(None, true);
    let (p, e) = probes(&conf(&open), &secure);
    assert!(p.is_empty(), "{p:?}");
    assert!(
        e.len() == 1
            && e[0].message.contains("unsafe permissions")
            && e[0].message.contains("enable_script_security"),
        "{e:?}"
    );
    let (p, e) = probes(&conf(&safe), &secure);
    assert!(e.is_empty() && p.len() == 1, "{e:?}");
    let (p, e) = probes(&conf(&open), &ScriptUsers::with_default(None, false));
    assert!(e.is_empty() && p.len() == 1, "{e:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
