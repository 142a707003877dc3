//! The differential harness (issue 21): real keepalived.conf files from public repositories
//! (tests/corpus/, provenance in SOURCES.tsv) are read by `keepalived -t` (2.2.7, Debian's) and
//! by `lvsd check`; both verdicts are compared with the golden table tests/corpus/verdicts.tsv.
//!
//! keepalived's complaints about this machine (interfaces, scripts, users it cannot find) are
//! set apart from its complaints about the file. The rules:
//! - a file keepalived runs is never refused by lvsd (exit 2);
//! - every row must match the table; a new divergence fails until it is classified: run with
//!   `LVSD_BLESS=1` to rewrite the computed columns (notes are kept, new rows get a draft), then
//!   read the row and write its note (why lvsd differs, or what was fixed).
//!
//! Needs keepalived (CI installs it; elsewhere the test is skipped, in CI it fails).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus")
}

/// A keepalived message about this machine rather than the file.
fn environmental(m: &str) -> bool {
    const ENV: &[&str] = &[
        "doesn't exist",
        "does not exist",
        "Non-existent interface",
        "Unknown interface",
        "cannot use a loopback interface",
        "SECURITY VIOLATION",
        "not executable",
        "No such file or directory",
        "Disabling track script",
        "keepalived_script",
        "Unable to get uid",
        "unknown user",
        "Cannot find user",
        "setting default",
        "no scheduler set",
        "no forwarding method set",
        "IPVS",
        "modprobe",
        "Unable to set",
        "resolve",
        "Please install",
        "Removing",
        "not found",
        "has no address",
        "no IP address",
        "fell back to",
    ];
    // keepalived resolves an smtp_server name while it reads the file: whether that works
    // depends on this machine's resolver; a value that is no name at all (`**`) is the file's
    if let Some(rest) = m.split("Invalid smtp server ").nth(1) {
        let host = rest.split_whitespace().next().unwrap_or("");
        return host.contains('.')
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    }
    ENV.iter().any(|e| m.contains(e))
}

/// What keepalived 2.2.7 said about the file: (stops, complaints about the file).
fn keepalived(file: &Path) -> (bool, Vec<String>) {
    let o = Command::new("keepalived")
        .args(["-t", "-l", "-D", "-f"])
        .arg(file)
        .output()
        .expect("keepalived");
    let text =
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    let mut real = Vec::new();
    let mut stops = false;
    for l in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        // "(FILE: Line N) message" or "(Line N) message": keep "N: message"
        let msg = match l.find("Line ") {
            Some(p) if l.starts_with('(') => {
                let rest = &l[p + 5..];
                let (n, m) = rest.split_once(')').unwrap_or((rest, ""));
                format!("{n}:{}", m.trim_end())
            }
            _ => l.to_string(),
        };
        if msg.contains("fatal") || msg.contains("Stopping") || msg.contains("exiting") {
            stops = true;
        }
        if !environmental(&msg) {
            real.push(msg);
        }
    }
    (stops, real)
}

/// lvsd's exit status and its diagnostics as `line:code`.
fn lvsd(file: &Path) -> (i32, Vec<String>) {
    let o = Command::new(env!("CARGO_BIN_EXE_lvsd"))
        .args(["check", "--json", "--no-host", "-f"])
        .arg(file)
        .output()
        .expect("lvsd");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    let codes = v["diagnostics"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|d| {
                    format!(
                        "{}:{}",
                        d["line"].as_u64().unwrap_or(0),
                        d["code"].as_str().unwrap_or("?")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    (o.status.code().unwrap_or(-1), codes)
}

#[derive(Debug, Clone, PartialEq)]
struct Row {
    keepalived: String,
    complaints: usize,
    lvsd: i32,
    note: String,
}

impl Row {
    fn line(&self, file: &str) -> String {
        format!(
            "{file}\t{}\t{}\t{}\t{}",
            self.keepalived, self.complaints, self.lvsd, self.note
        )
    }
}

fn golden(path: &Path) -> BTreeMap<String, Row> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.splitn(5, '\t').collect();
            (
                f[0].to_string(),
                Row {
                    keepalived: f.get(1).unwrap_or(&"").to_string(),
                    complaints: f.get(2).and_then(|n| n.parse().ok()).unwrap_or(0),
                    lvsd: f.get(3).and_then(|n| n.parse().ok()).unwrap_or(-1),
                    note: f.get(4).unwrap_or(&"").to_string(),
                },
            )
        })
        .collect()
}

#[test]
fn keepalived_and_lvsd_read_the_corpus_as_the_table_says() {
    let have = Command::new("keepalived").arg("--version").output().is_ok();
    if !lvsd_testkit::tool_or_skip(have, "keepalived") {
        return;
    }
    let dir = corpus();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/corpus")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    files.sort();
    assert!(files.len() >= 20, "the corpus has {} files", files.len());
    let table = dir.join("verdicts.tsv");
    let want = golden(&table);
    let bless = std::env::var_os("LVSD_BLESS").is_some();
    let mut got = BTreeMap::new();
    let mut problems = Vec::new();
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let (stops, real) = keepalived(f);
        let (code, diags) = lvsd(f);
        let ka = if stops {
            "stops"
        } else if real.is_empty() {
            "clean"
        } else {
            "complains"
        };
        let old = want.get(&name);
        let note = match old {
            Some(r) => r.note.clone(),
            None => format!(
                "DRAFT: keepalived: {} | lvsd: {}",
                real.join(" / "),
                diags.join(" ")
            ),
        };
        let row = Row {
            keepalived: ka.to_string(),
            complaints: real.len(),
            lvsd: code,
            note,
        };
        if ka != "stops" && code == 2 {
            problems.push(format!(
                "{name}: keepalived runs it, lvsd refuses it (never allowed)\n  keepalived: {real:?}\n  lvsd: {diags:?}"
            ));
        }
        match old {
            Some(o) if *o == row => {}
            Some(o) => problems.push(format!(
                "{name}: the verdicts changed: table {:?}, now {:?}\n  keepalived: {real:?}\n  lvsd: {diags:?}",
                o.line(&name),
                row.line(&name)
            )),
            None => problems.push(format!(
                "{name}: not in verdicts.tsv (new file: classify it)\n  keepalived: {real:?}\n  lvsd: {diags:?}"
            )),
        }
        if row.note.starts_with("DRAFT") && !bless {
            problems.push(format!("{name}: its note is still a draft"));
        }
        got.insert(name, row);
    }
    for name in want.keys().filter(|n| !got.contains_key(*n)) {
        problems.push(format!("{name}: in verdicts.tsv but not in the corpus"));
    }
    if bless {
        let mut text = "file\tkeepalived\tcomplaints\tlvsd\tnote\n".to_string();
        for (name, r) in &got {
            text.push_str(&r.line(name));
            text.push('\n');
        }
        std::fs::write(&table, text).expect("write verdicts.tsv");
        return;
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
