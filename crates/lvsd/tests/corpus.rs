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

/// Messages of `keepalived -t` about a file that keepalived 2.2.7 cannot run: the test mode
/// goes on, but at run time the process exits with KEEPALIVED_EXIT_CONFIG (vrrp.c:
/// chk_min_cfg, check_vrid_conflicts and vrrp_complete_instance return false; parser.c exits
/// on a missing parameter).
const STOPS_AT_RUN_TIME: &[&str] = &[
    "the virtual router id must be set",
    "both use VRID",
    "is missing a parameter",
    "No VIP specified; at least one is required",
    "Unicast peers are not supported in strict mode",
    "Unicast instances must have unicast_src_ip or interface",
    "Non link-local address required",
];

/// What keepalived 2.2.7 said about the file: (stops, complaints about the file). `netns`:
/// run it in that namespace (where the file's interfaces exist).
fn keepalived_in(netns: Option<&str>, file: &Path) -> (bool, Vec<String>) {
    let mut cmd = match netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns]);
            c
        }
        None => Command::new("env"),
    };
    // keepalived 2.2.7 hangs on a recursive parameter: give it a bound
    let o = cmd
        .args(["timeout", "10", "keepalived", "-t", "-l", "-D", "-f"])
        .arg(file)
        .output()
        .expect("keepalived");
    // killed (a crash, the time bound) or exited with KEEPALIVED_EXIT_CONFIG (2)
    let died = !matches!(o.status.code(), Some(0 | 4 | 5 | 6));
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
        if msg.contains("fatal")
            || msg.contains("Stopping")
            || msg.contains("exiting")
            || STOPS_AT_RUN_TIME.iter().any(|s| msg.contains(s))
        {
            stops = true;
        }
        if !environmental(&msg) {
            real.push(msg);
        }
    }
    (stops || died, real)
}

fn keepalived(file: &Path) -> (bool, Vec<String>) {
    keepalived_in(None, file)
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
    // a file, or an include tree: a directory whose keepalived.conf includes the rest
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/corpus")
        .flatten()
        .map(|e| e.path())
        .filter_map(|p| {
            if p.extension().is_some_and(|e| e == "conf") {
                Some(p)
            } else {
                Some(p.join("keepalived.conf")).filter(|m| m.is_file())
            }
        })
        .collect();
    files.sort();
    assert!(files.len() >= 20, "the corpus has {} files", files.len());
    let table = dir.join("verdicts.tsv");
    let want = golden(&table);
    let bless = std::env::var_os("LVSD_BLESS").is_some();
    let mut got = BTreeMap::new();
    let mut problems = Vec::new();
    for f in &files {
        let name = match f.file_name().is_some_and(|n| n == "keepalived.conf") {
            // an include tree is named after its directory
            true => format!(
                "{}/",
                f.parent().unwrap().file_name().unwrap().to_string_lossy()
            ),
            false => f.file_name().unwrap().to_string_lossy().into_owned(),
        };
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

/// Synthetic edge cases (tests/corpus/edge/, one finding each, the first line says which) and
/// the user's seed configurations: read by keepalived in a namespace where their interface
/// `eth0` exists, so that only the file decides. A file keepalived runs is never refused by
/// lvsd; a file keepalived cannot run is refused by lvsd too (it would not run as written).
#[test]
fn lvsd_refuses_exactly_what_keepalived_cannot_run() {
    let have = Command::new("keepalived").arg("--version").output().is_ok();
    if !lvsd_testkit::tool_or_skip(have, "keepalived")
        || !lvsd_testkit::root_or_skip("lvsd_refuses_exactly_what_keepalived_cannot_run")
    {
        return;
    }
    let ns = lvsd_testkit::Netns::new("lvsdedge");
    ns.must(
        "ip link add eth0 type veth peer name eth1 && ip link set eth0 up && ip link set eth1 up \
         && ip addr add 10.9.9.1/24 dev eth0",
    );
    let edge = corpus().join("edge");
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/tests/fixtures/seeds");
    let mut files: Vec<(bool, PathBuf)> = Vec::new();
    for (is_edge, dir) in [(true, &edge), (false, &seeds)] {
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
            .expect("corpus dir")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "conf"))
            .collect();
        v.sort();
        files.extend(v.into_iter().map(|p| (is_edge, p)));
    }
    assert!(files.len() >= 30, "{} files", files.len());
    let mut problems = Vec::new();
    let mut stopped = 0;
    for (is_edge, f) in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let (stops, real) = keepalived_in(Some(ns.name()), f);
        let (code, diags) = lvsd(f);
        stopped += usize::from(stops);
        if !stops && code == 2 {
            problems.push(format!(
                "{name}: keepalived runs it, lvsd refuses it\n  keepalived: {real:?}\n  lvsd: {diags:?}"
            ));
        }
        // the seeds are the user's files: lvsd reads their typographic mistakes with intent
        // (e.g. U+00A0 indentation) where keepalived loses whole blocks, so only the first rule
        // holds for them
        if *is_edge && stops && code != 2 {
            problems.push(format!(
                "{name}: keepalived cannot run it, lvsd does (exit {code}) without an error\n  keepalived: {real:?}\n  lvsd: {diags:?}"
            ));
        }
        if name == "ok.conf" && (stops || !real.is_empty() || code != 0) {
            problems.push(format!(
                "ok.conf is clean, yet keepalived stops={stops} {real:?}, lvsd exit {code} {diags:?}: the harness misreads"
            ));
        }
    }
    // the edge set has files of both kinds, so both rules were exercised
    assert!(stopped >= 5, "only {stopped} files stop keepalived");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
