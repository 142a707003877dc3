use super::{walk, Item};
use crate::diag::Code;
use crate::model::*;
use crate::schema::{BlockKind, CheckerKind};
use crate::tree::Node;

/// The options every checker shares; returns false if `kw` is not one.
fn common(it: &mut Item<'_>, o: &mut CheckOptions) -> bool {
    match it.kw() {
        "connect_ip" => o.connect_ip = it.ip("an address"),
        "connect_port" => o.connect_port = it.int(1, 65535),
        "bindto" => o.bindto = it.ip("an address"),
        "bind_port" => o.bind_port = it.int(1, 65535),
        "bind_if" => o.bind_if = it.string(),
        "connect_timeout" => o.connect_timeout = it.timer(0.000001, 4294.0),
        "fwmark" => o.fwmark = it.int(1, u32::MAX as i128),
        "retry" => o.retry = it.int(0, u32::MAX as i128),
        "delay_before_retry" => o.delay_before_retry = it.timer(0.0, 4294.0),
        "warmup" => o.warmup = it.timer(0.0, 4294.0),
        "delay_loop" => o.delay_loop = it.timer(0.000001, 4294.0),
        "alpha" => o.alpha = Some(it.flag()),
        "log_all_failures" => o.log_all_failures = Some(it.flag()),
        _ => return false,
    }
    true
}

fn nb_get_retry(it: &mut Item<'_>, o: &mut CheckOptions, kind: CheckerKind) {
    let loc = it.loc();
    let v = it.int(0, u32::MAX as i128);
    if kind == CheckerKind::Tcp {
        it.emit(
            Code::DeprecatedAlias,
            loc,
            format!(
                "`nb_get_retry` in TCP_CHECK: keepalived 2.x ignores it here (retry stays 1); lvsd honours it as `retry {}`",
                v.map(|n: u32| n.to_string()).unwrap_or_default()
            ),
            "rename it to `retry` so that keepalived and lvsd agree",
        );
    } else {
        it.emit(
            Code::DeprecatedAlias,
            loc,
            "`nb_get_retry` is the old name of `retry`",
            "rename it to `retry`",
        );
    }
    if o.retry.is_none() {
        o.retry = v;
    }
}

fn url(node: &Node, d: &mut Vec<crate::diag::Diagnostic>) -> Url {
    let mut u = Url {
        loc: node.keyword.loc,
        ..Url::default()
    };
    walk(node.children(), BlockKind::Url, d, |it| match it.kw() {
        "path" => u.path = it.string(),
        "digest" => {
            if let Some(t) = it.need("an MD5 digest (32 hex digits)") {
                if t.text.len() != 32 || !t.text.chars().all(|c| c.is_ascii_hexdigit()) {
                    let loc = t.loc;
                    it.emit(
                        Code::InvalidValue,
                        loc,
                        format!("`{}` is not an MD5 digest", t.text),
                        "32 hexadecimal digits, as `lvsd genhash` prints",
                    );
                } else {
                    u.digest = Some(t.text.to_ascii_lowercase());
                }
            }
        }
        "status_code" => {
            while let Some(t) = it.next() {
                let (a, b) = t.text.split_once('-').unwrap_or((&t.text, &t.text));
                match (a.parse::<u16>(), b.parse::<u16>()) {
                    (Ok(a), Ok(b))
                        if (100..=599).contains(&a) && (100..=599).contains(&b) && a <= b =>
                    {
                        u.status_codes.push((a, b))
                    }
                    _ => {
                        let loc = t.loc;
                        it.emit(
                            Code::InvalidValue,
                            loc,
                            format!("`{}` is not a status code or range", t.text),
                            "HTTP codes 100-599, or ranges such as 200-299",
                        );
                    }
                }
            }
        }
        "virtualhost" => u.virtualhost = it.string(),
        "regex" => u.regex = it.string(),
        "regex_no_match" => u.regex_no_match = true,
        "regex_options" => u.regex_options = it.rest(),
        "regex_min_offset" => u.regex_min_offset = it.int(0, u32::MAX as i128),
        "regex_max_offset" => u.regex_max_offset = it.int(0, u32::MAX as i128),
        _ => it.not_implemented(),
    });
    u
}

pub(crate) fn checker(it: &mut Item<'_>, vs: &VirtualServer, rs: &RealServer) -> Option<Checker> {
    let kind = CheckerKind::from_keyword(it.kw())?;
    let loc = it.loc();
    let mut o = CheckOptions::default();
    let mut spec = match kind {
        CheckerKind::Tcp => CheckSpec::Tcp,
        CheckerKind::Http | CheckerKind::Ssl => CheckSpec::Http(Box::default()),
        CheckerKind::Smtp => CheckSpec::Smtp(Box::default()),
        CheckerKind::Dns => CheckSpec::Dns(Box::new(DnsCheck {
            r#type: "SOA".into(),
            name: ".".into(),
        })),
        CheckerKind::Misc => CheckSpec::Misc(Box::default()),
        CheckerKind::Udp => CheckSpec::Udp(Box::default()),
        CheckerKind::Ping => CheckSpec::Ping,
        CheckerKind::File => CheckSpec::File(Box::default()),
        CheckerKind::Bfd => CheckSpec::Bfd(Box::default()),
    };
    walk(it.node.children(), BlockKind::Checker(kind), it.d, |it| {
        if it.kw() == "nb_get_retry" {
            nb_get_retry(it, &mut o, kind);
            return;
        }
        if kind != CheckerKind::Bfd {
            match it.kw() {
                "rise" => {
                    o.rise = it.int(1, u32::MAX as i128);
                    return;
                }
                "fall" => {
                    o.fall = it.int(1, u32::MAX as i128);
                    return;
                }
                _ => {}
            }
        }
        if kind != CheckerKind::Bfd && common(it, &mut o) {
            return;
        }
        match &mut spec {
            CheckSpec::Http(h) => match it.kw() {
                "url" => h.urls.push(url(it.node, it.d)),
                "http_protocol" => {
                    h.http_protocol = it.choice(&["1.0", "1.0C", "1.1"]).map(str::to_string)
                }
                "virtualhost" => h.virtualhost = it.string(),
                "enable_sni" => h.enable_sni = it.flag(),
                "sni_name" => h.sni_name = it.string(),
                "fast_recovery" => h.fast_recovery = it.flag(),
                "tls_compliant" => h.tls_compliant = it.flag(),
                "verify_certificate" => h.verify_certificate = it.flag(),
                _ => it.not_implemented(),
            },
            CheckSpec::Smtp(s) => match it.kw() {
                "helo_name" => s.helo_name = it.string(),
                "host" => {
                    let mut h = CheckOptions::default();
                    walk(it.node.children(), BlockKind::SmtpHost, it.d, |it| {
                        if !common(it, &mut h) {
                            it.not_implemented()
                        }
                    });
                    s.hosts.push(h);
                }
                _ => it.not_implemented(),
            },
            CheckSpec::Dns(dns) => match it.kw() {
                "type" => {
                    if let Some(t) = it.choice(&["A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA"]) {
                        dns.r#type = t.into()
                    }
                }
                "name" => {
                    if let Some(n) = it.string() {
                        dns.name = n
                    }
                }
                _ => it.not_implemented(),
            },
            CheckSpec::Misc(m) => match it.kw() {
                "misc_path" => m.misc_path = it.script(),
                "misc_timeout" => m.misc_timeout = it.timer(0.000001, 4294.0),
                "misc_dynamic" => m.misc_dynamic = true,
                "user" => m.user = it.string(),
                _ => it.not_implemented(),
            },
            CheckSpec::Udp(u) => match it.kw() {
                "payload" => u.payload = it.string(),
                "require_reply" => u.require_reply = Some(it.rest().join(" ")),
                "min_reply_length" => u.min_reply_length = it.int(0, 65535),
                "max_reply_length" => u.max_reply_length = it.int(0, 65535),
                _ => it.not_implemented(),
            },
            CheckSpec::File(f) => match it.kw() {
                "track_file" => f.track_file = it.string(),
                "weight" => {
                    f.weight = it.int(-254, 254);
                    while let Some(t) = it.next() {
                        match t.text.as_str() {
                            "reverse" => f.reverse = true,
                            "dynamic" => f.dynamic = true,
                            _ => {
                                let loc = t.loc;
                                it.emit(
                                    Code::InvalidValue,
                                    loc,
                                    format!("unexpected `{}`", t.text),
                                    "write `weight W [reverse] [dynamic]`",
                                );
                            }
                        }
                    }
                }
                _ => it.not_implemented(),
            },
            CheckSpec::Bfd(b) => match it.kw() {
                "name" => b.name = it.string(),
                "alpha" => o.alpha = Some(it.flag()),
                _ => it.not_implemented(),
            },
            CheckSpec::Tcp | CheckSpec::Ping => it.not_implemented(),
        }
    });
    // a checker keepalived 2.2.7 skips with a message is not run by lvsd either (said)
    if let CheckSpec::Misc(m) = &spec {
        if m.misc_path.is_none() {
            it.emit(
                Code::Ignored,
                loc,
                "MISC_CHECK has no `misc_path`: this checker is not run (keepalived 2.2.7 skips it too: `No script path has been specified for MISC_CHECKER - skipping`)",
                "add `misc_path \"/path/to/check args\"`",
            );
            return None;
        }
    }
    if let CheckSpec::Http(h) = &spec {
        if h.urls.is_empty() {
            it.emit(
                Code::Ignored,
                loc,
                format!("{} has no `url` block: this checker is not run (keepalived 2.2.7 skips it too: `HTTP/SSL_GET checker has no urls specified - ignoring`)", it.kw()),
                "add `url { path / }`",
            );
            return None;
        }
    }
    let delay_loop = o
        .delay_loop
        .or(rs.check_defaults().delay_loop)
        .unwrap_or(vs.delay_loop);
    let default_retry = match kind {
        CheckerKind::Dns => 3,
        CheckerKind::Misc => 0,
        _ => 1,
    };
    let default_dbr = match kind {
        CheckerKind::Http | CheckerKind::Ssl => 3.0,
        CheckerKind::Dns => delay_loop,
        _ => 1.0,
    };
    let effective = EffectiveCheck {
        connect_ip: o.connect_ip.or(Some(rs.ip)),
        connect_port: o.connect_port.or(rs.port),
        connect_timeout: o
            .connect_timeout
            .or(rs.check_defaults().connect_timeout)
            .or(vs.connect_timeout)
            .unwrap_or(5.0),
        retry: o
            .retry
            .or(rs.check_defaults().retry)
            .or(vs.retry)
            .unwrap_or(default_retry),
        delay_before_retry: o
            .delay_before_retry
            .or(rs.check_defaults().delay_before_retry)
            .or(vs.delay_before_retry)
            .unwrap_or(default_dbr),
        delay_loop,
        warmup: o
            .warmup
            .or(rs.check_defaults().warmup)
            .or(vs.warmup)
            .unwrap_or(delay_loop),
        alpha: o.alpha.or(rs.alpha).unwrap_or(vs.alpha),
        rise: o.rise.unwrap_or(1),
        fall: o.fall,
    };
    Some(Checker {
        kind,
        loc,
        options: shared_options(o),
        effective,
        spec,
    })
}

/// A checker's options, shared with the checker parsed before if they are the same (a large
/// configuration repeats the same few lines in every checker: one copy instead of 36,000).
fn shared_options(o: CheckOptions) -> std::sync::Arc<CheckOptions> {
    use std::cell::RefCell;
    use std::sync::Arc;
    thread_local! {
        static LAST: RefCell<Option<Arc<CheckOptions>>> = const { RefCell::new(None) };
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        match last.as_ref() {
            Some(a) if **a == o => a.clone(),
            _ => {
                let a = Arc::new(o);
                *last = Some(a.clone());
                a
            }
        }
    })
}
