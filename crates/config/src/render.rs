//! Showing diagnostics to a person (rustc-like) or to a program (JSON).

use crate::diag::{Diagnostic, Severity};
use std::fmt::Write;

/// Render one diagnostic:
/// ```text
/// error[invalid-address]: `192.168.1.20.9` is not a valid IP address
///   --> keepalived.conf:82:17
///    |
/// 82 |     real_server 192.168.1.20.9 80 {
///    |                 ^^^^^^^^^^^^^^
///    = hint: an IPv4 address has four numbers
/// ```
pub fn human(d: &Diagnostic, color: bool) -> String {
    let (c, reset) = if color {
        (
            match d.severity {
                Severity::Error => "\x1b[1;31m",
                Severity::Warning => "\x1b[1;33m",
                Severity::Note => "\x1b[1;36m",
            },
            "\x1b[0m",
        )
    } else {
        ("", "")
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{c}{}[{}]{reset}: {}",
        d.severity,
        d.code.name(),
        d.message
    );
    if let (Some(file), Some(loc)) = (&d.file, d.loc) {
        let num = loc.line.to_string();
        let pad = " ".repeat(num.len());
        let _ = writeln!(s, "{pad}--> {file}:{}:{}", loc.line, loc.col);
        if let Some(src) = &d.source_line {
            let _ = writeln!(s, "{pad} |");
            let _ = writeln!(s, "{num} | {}", src.replace('\t', " "));
            let lead: String = src
                .chars()
                .take(loc.col.saturating_sub(1) as usize)
                .map(|ch| {
                    if ch == '\t' {
                        ' '
                    } else if is_wide(ch) {
                        '\u{3000}'
                    } else {
                        ' '
                    }
                })
                .map(|ch| {
                    if ch == '\u{3000}' {
                        "  ".to_string()
                    } else {
                        ch.to_string()
                    }
                })
                .collect();
            let width: usize = src
                .chars()
                .skip(loc.col.saturating_sub(1) as usize)
                .take(loc.len.max(1) as usize)
                .map(|ch| if is_wide(ch) { 2 } else { 1 })
                .sum();
            let _ = writeln!(s, "{pad} | {lead}{c}{}{reset}", "^".repeat(width.max(1)));
        }
        if let Some(h) = &d.hint {
            let _ = writeln!(s, "{pad} = hint: {h}");
        }
    } else if let Some(h) = &d.hint {
        let _ = writeln!(s, "  = hint: {h}");
    }
    s
}

/// East Asian wide characters take two columns in a terminal.
fn is_wide(c: char) -> bool {
    matches!(c as u32, 0x1100..=0x115F | 0x2E80..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x20000..=0x3FFFD)
}

/// The summary line: "2 errors, 3 warnings".
pub fn summary(diags: &[Diagnostic]) -> String {
    let e = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let w = diags
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .count();
    let n = diags
        .iter()
        .filter(|d| d.severity == Severity::Note)
        .count();
    let plural = |k: usize, word: &str| format!("{k} {word}{}", if k == 1 { "" } else { "s" });
    format!(
        "{}, {}, {}",
        plural(e, "error"),
        plural(w, "warning"),
        plural(n, "note")
    )
}
