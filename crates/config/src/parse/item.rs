//! One keyword line being read: typed accessors for its arguments, each
//! reporting precisely what is wrong, and a check for extra arguments.

use crate::diag::{Code, Diagnostic, Loc};
use crate::lexer::Token;
use crate::model::Script;
use crate::tree::Node;
use std::net::IpAddr;

pub struct Item<'n> {
    pub node: &'n Node,
    pub d: &'n mut Vec<Diagnostic>,
    used: usize,
    silenced: bool,
    /// What keepalived 2.2.7 sets when this keyword's value is invalid (it resets some
    /// keywords to their default instead of ignoring the line): the message says so.
    fallback: Option<&'static str>,
    /// The line's main value is read; what follows are options: an invalid one is ignored
    /// and the rest of the line stands (keepalived 2.2.7 does the same).
    options: bool,
}

/// The values an enumerated keyword accepts, for hints.
pub fn value_domain(kw: &str) -> Option<&'static [&'static str]> {
    Some(match kw {
        "lb_algo" | "lvs_sched" => crate::model::SCHEDULERS,
        "lb_kind" | "lvs_method" | "sorry_server_lvs_method" => &["NAT", "DR", "TUN"],
        "protocol" => &["TCP", "UDP", "SCTP"],
        "state" => &["MASTER", "BACKUP"],
        "auth_type" => &["PASS", "AH"],
        _ => return None,
    })
}

/// For a value like `rr|wr1|cln1c`, name the fix of each alternative that is
/// not valid: "`wr1` → `wrr`".
pub fn fix_alternatives(value: Option<&str>, domain: &[&str]) -> String {
    let Some(v) = value else { return String::new() };
    v.split('|')
        .filter(|a| !a.is_empty() && !domain.iter().any(|d| d.eq_ignore_ascii_case(a)))
        .filter_map(|a| {
            crate::suggest::closest(a, domain.iter().copied()).map(|s| format!("`{a}` → `{s}`"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn parse_ip(s: &str) -> Option<IpAddr> {
    s.parse().ok()
}

fn ip_hint(s: &str) -> String {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() > 4 && parts.iter().all(|p| p.parse::<u8>().is_ok()) {
        format!(
            "an IPv4 address has four numbers; `{s}` has {}",
            parts.len()
        )
    } else if parts
        .iter()
        .any(|p| p.parse::<u32>().is_ok_and(|n| n > 255))
    {
        "each number of an IPv4 address is 0-255".into()
    } else {
        "write an IPv4 (a.b.c.d) or IPv6 address".into()
    }
}

impl<'n> Item<'n> {
    pub fn new(node: &'n Node, d: &'n mut Vec<Diagnostic>) -> Self {
        Item {
            node,
            d,
            used: 0,
            silenced: false,
            fallback: None,
            options: false,
        }
    }

    pub fn kw(&self) -> &'n str {
        &self.node.keyword.text
    }

    pub fn loc(&self) -> Loc {
        self.node.keyword.loc
    }

    pub fn remaining(&self) -> usize {
        self.node.args.len().saturating_sub(self.used)
    }

    pub fn peek(&self) -> Option<&'n Token> {
        self.node.args.get(self.used)
    }

    pub fn next(&mut self) -> Option<&'n Token> {
        let t = self.node.args.get(self.used)?;
        self.used += 1;
        Some(t)
    }

    pub fn emit(&mut self, code: Code, loc: Loc, msg: impl Into<String>, hint: impl Into<String>) {
        let mut msg = msg.into();
        if matches!(
            code,
            Code::InvalidAddress | Code::InvalidNumber | Code::OutOfRange | Code::InvalidValue
        ) {
            msg.push_str(&self.effect());
        }
        self.d
            .push(Diagnostic::new(code, Some(loc), msg).with_hint(hint));
    }

    /// What becomes of a line with an invalid value: keepalived 2.2.7 logs it and goes on
    /// without the value ("- ignoring"), or without the whole block when the value is in the
    /// block's header ("- skipping"); lvsd reads it the same way (issue 21: never refuse a
    /// file keepalived runs).
    fn effect(&self) -> String {
        if let Some(v) = self.fallback {
            return format!("; {v} is used instead, as keepalived 2.2.7 sets it");
        }
        if self.options {
            return "; this option is ignored and the rest of the line stands, as in keepalived 2.2.7"
                .into();
        }
        if self.node.block.is_some() {
            format!(
                "; this `{}` block is skipped, as keepalived 2.2.7 skips it",
                self.kw()
            )
        } else {
            "; the line is ignored, as keepalived 2.2.7 ignores it".into()
        }
    }

    /// The next argument, or an error naming what is missing.
    pub fn need(&mut self, what: &str) -> Option<&'n Token> {
        match self.next() {
            Some(t) => Some(t),
            None => {
                let kw = self.kw();
                let loc = self.loc();
                // keepalived 2.2.7 exits on most keywords without their value (lib/parser.c
                // strvec_slot); these few it checks, logs and ignores
                const IGNORED_BY_KEEPALIVED: &[&str] = &[
                    "router_id",
                    "notification_email_from",
                    "smtp_helo_name",
                    "default_interface",
                    "virtualhost",
                    "http_protocol",
                ];
                if IGNORED_BY_KEEPALIVED.contains(&kw) {
                    self.d.push(
                        Diagnostic::new(
                            Code::MissingArgument,
                            Some(loc),
                            format!("`{kw}` needs {what}; the line is ignored, as keepalived 2.2.7 ignores it"),
                        )
                        .with_hint(format!("write `{kw} <{what}>`"))
                        .with_severity(crate::diag::Severity::Warning),
                    );
                    return None;
                }
                self.emit(
                    Code::MissingArgument,
                    loc,
                    format!("`{kw}` needs {what} (keepalived 2.2.7 exits on most such lines)"),
                    format!("write `{kw} <{what}>`"),
                );
                None
            }
        }
    }

    pub fn string(&mut self) -> Option<String> {
        self.need("a value").map(|t| t.text.clone())
    }

    /// All remaining arguments.
    pub fn rest(&mut self) -> Vec<String> {
        let mut v = Vec::new();
        while let Some(t) = self.next() {
            v.push(t.text.clone());
        }
        v
    }

    fn number<T: TryFrom<i128>>(&mut self, tok: &Token, min: i128, max: i128) -> Option<T> {
        let kw = self.kw();
        let s = tok.text.as_str();
        let parsed = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            i128::from_str_radix(h, 16).ok()
        } else {
            s.parse::<i128>().ok()
        };
        // keepalived 2.2.7 at run time (not under -t) takes the leading number of `80x`
        // (lib/parser.c read_int_func with ignore_error): so does lvsd, and says so
        let sign = usize::from(s.starts_with('-'));
        let lead = (parsed.is_none() && s[sign..].starts_with(|c: char| c.is_ascii_digit()))
            .then(|| {
                let end = sign
                    + (s[sign..].len()
                        - s[sign..]
                            .trim_start_matches(|c: char| c.is_ascii_digit())
                            .len());
                s[..end].parse::<i128>().ok()
            })
            .flatten()
            .filter(|v| *v >= min && *v <= max);
        if let Some(v) = lead {
            self.d.push(
                Diagnostic::new(
                    Code::InvalidNumber,
                    Some(tok.loc),
                    format!("`{s}` is not a whole number (for `{kw}`): read as {v}, its leading number, as keepalived 2.2.7 reads it when it runs (`keepalived -t` reports the line)"),
                )
                .with_hint(format!("write `{kw} {v}`")),
            );
            return T::try_from(v).ok();
        }
        match parsed {
            None => {
                self.emit(
                    Code::InvalidNumber,
                    tok.loc,
                    format!("`{s}` is not a whole number (for `{kw}`)"),
                    format!("`{kw}` takes a number from {min} to {max}"),
                );
                None
            }
            Some(v) if v < min || v > max => {
                self.emit(
                    Code::OutOfRange,
                    tok.loc,
                    format!("{v} is out of range for `{kw}`"),
                    format!("`{kw}` takes a number from {min} to {max}"),
                );
                None
            }
            Some(v) => T::try_from(v).ok(),
        }
    }

    /// From here on the line's words are options (see `options`).
    pub fn options_follow(&mut self) {
        self.options = true;
    }

    /// The value keepalived 2.2.7 sets when this keyword's value is invalid: the caller sets
    /// it, the message names it.
    pub fn on_invalid(&mut self, value: &'static str) -> &mut Self {
        self.fallback = Some(value);
        self
    }

    /// A whole number in [min, max].
    pub fn int<T: TryFrom<i128>>(&mut self, min: i128, max: i128) -> Option<T> {
        let tok = self.need("a number")?;
        self.number(tok, min, max)
    }

    /// An integer argument that is already taken (e.g. a port after an address).
    pub fn int_of<T: TryFrom<i128>>(&mut self, tok: &Token, min: i128, max: i128) -> Option<T> {
        self.number(tok, min, max)
    }

    /// A time in seconds, with fractions, in [min, max].
    pub fn timer(&mut self, min: f64, max: f64) -> Option<f64> {
        let tok = self.need("a time in seconds")?;
        self.timer_of(tok, min, max)
    }

    pub fn timer_of(&mut self, tok: &Token, min: f64, max: f64) -> Option<f64> {
        let kw = self.kw();
        match tok.text.parse::<f64>() {
            Ok(v) if v.is_finite() && v >= min && v <= max => Some(v),
            Ok(v) if v.is_finite() => {
                self.emit(
                    Code::OutOfRange,
                    tok.loc,
                    format!("{v} is out of range for `{kw}`"),
                    format!("`{kw}` takes seconds from {min} to {max}"),
                );
                None
            }
            _ => {
                self.emit(
                    Code::InvalidNumber,
                    tok.loc,
                    format!("`{}` is not a time in seconds (for `{kw}`)", tok.text),
                    "write seconds, with a fraction if needed: 3 or 0.5",
                );
                None
            }
        }
    }

    /// An optional BOOL argument; the keyword alone means true.
    pub fn flag(&mut self) -> bool {
        let Some(tok) = self.peek() else { return true };
        match tok.text.to_ascii_lowercase().as_str() {
            "on" | "true" | "yes" => {
                self.used += 1;
                true
            }
            "off" | "false" | "no" => {
                self.used += 1;
                false
            }
            _ => true,
        }
    }

    pub fn ip(&mut self, what: &str) -> Option<IpAddr> {
        let tok = self.need(what)?;
        self.ip_of(tok)
    }

    pub fn ip_of(&mut self, tok: &Token) -> Option<IpAddr> {
        match parse_ip(&tok.text) {
            Some(ip) => Some(ip),
            None => {
                let kw = self.kw();
                self.emit(
                    Code::InvalidAddress,
                    tok.loc,
                    format!("`{}` is not a valid IP address (in `{kw}`)", tok.text),
                    ip_hint(&tok.text),
                );
                None
            }
        }
    }

    /// One of `values` (case-insensitive). Reports an invalid value with a
    /// suggestion.
    pub fn choice(&mut self, values: &[&'static str]) -> Option<&'static str> {
        let tok = self.need(&format!("one of {}", values.join(", ")))?;
        self.choice_of(tok, values)
    }

    pub fn choice_of(&mut self, tok: &Token, values: &[&'static str]) -> Option<&'static str> {
        if let Some(v) = values.iter().find(|v| v.eq_ignore_ascii_case(&tok.text)) {
            return Some(v);
        }
        let kw = self.kw();
        let mut hint = format!("`{kw}` takes one of: {}", values.join(", "));
        let fixes = fix_alternatives(Some(&tok.text), values);
        if !fixes.is_empty() {
            hint = format!("did you mean: {fixes}? ({hint})");
        }
        if tok.text.contains('|') {
            hint.push_str("; `a|b` in documentation lists choices: write one of them");
        }
        self.emit(
            Code::InvalidValue,
            tok.loc,
            format!("`{}` is not a valid value for `{kw}`", tok.text),
            hint,
        );
        None
    }

    /// A script: "command args" [user [group]].
    pub fn script(&mut self) -> Option<Script> {
        let tok = self.need("a command")?;
        let command = tok.text.clone();
        let argv = split_command(&command);
        let user = self.next().map(|t| t.text.clone());
        let group = self
            .next()
            .map(|t| t.text.trim_start_matches(':').to_string());
        let script = Script {
            command,
            argv,
            user,
            group,
            loc: tok.loc,
        };
        crate::validate::check_script_file(&script, self.d);
        Some(script)
    }

    /// The keyword is recognised but has no effect in lvsd.
    pub fn not_implemented(&mut self) {
        let kw = self.kw();
        let loc = self.loc();
        self.used = self.node.args.len();
        self.emit(
            Code::NotImplemented,
            loc,
            format!("`{kw}` is accepted but has no effect in lvsd yet"),
            "the configuration still runs; this setting is not applied",
        );
    }

    /// Accept and ignore the remaining arguments without an extra-arguments warning.
    pub fn silence(&mut self) {
        self.silenced = true;
    }

    /// Warn about arguments nobody read.
    pub fn finish(self) {
        if self.silenced || self.used >= self.node.args.len() {
            return;
        }
        let extra = &self.node.args[self.used..];
        let first = extra[0].loc;
        let last = extra[extra.len() - 1].loc;
        let len = if first.line == last.line {
            last.col + last.len - first.col
        } else {
            first.len
        };
        let text: Vec<&str> = extra.iter().map(|t| t.text.as_str()).collect();
        let kw = self.kw();
        let next_is_keyword = extra[0]
            .text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '_')
            && extra[0].text.len() > 3;
        let hint = if next_is_keyword {
            format!(
                "keepalived reads one keyword per line: put `{}` on a line of its own",
                extra[0].text
            )
        } else {
            "keepalived drops such text silently; start a comment with `#` or `!`".to_string()
        };
        self.d.push(
            Diagnostic::new(
                Code::ExtraArguments,
                Some(Loc { len, ..first }),
                format!("extra text after `{kw}` ignored: `{}`", text.join(" ")),
            )
            .with_hint(hint),
        );
    }
}

/// Split a command line at unquoted whitespace; single quotes group and are
/// removed (keepalived.conf(5), "Quoted strings").
pub fn split_command(cmd: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_q = false;
    let mut has = false;
    for c in cmd.chars() {
        match c {
            '\'' => {
                in_q = !in_q;
                has = true;
            }
            c if c.is_whitespace() && !in_q => {
                if has {
                    out.push(std::mem::take(&mut cur));
                    has = false;
                }
            }
            c => {
                cur.push(c);
                has = true;
            }
        }
    }
    if has {
        out.push(cur);
    }
    out
}
