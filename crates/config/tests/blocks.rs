//! A load that reuses the previous load's unchanged `virtual_server` blocks
//! (`blocks::load_file_reusing`) gives exactly what a full load gives: the same configuration
//! (every field and line number) and the same diagnostics, on every file of the corpus and on
//! a generated file through a series of edits; and it reuses what did not change.

use lvsd_config::blocks::{load_file_reusing, Previous, Reuse};
use lvsd_config::{load_file, LoadOptions, Loaded};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn opts() -> LoadOptions {
    LoadOptions {
        config_id: Some("lvsd-test".into()),
    }
}

/// Everything a load says, as text: the configuration and each diagnostic with its place.
fn fingerprint(l: &Loaded) -> String {
    let mut s = serde_json::to_string_pretty(&l.config).expect("config serialises");
    for d in &l.diagnostics {
        let _ = writeln!(
            s,
            "{:?} {} {:?} {:?} {} {:?} {:?}",
            d.severity,
            d.code.name(),
            d.file,
            d.loc.map(|l| (l.file, l.line, l.col, l.len)),
            d.message,
            d.hint,
            d.source_line
        );
    }
    s
}

fn same_as_full(path: &Path, prev: Option<&Loaded>) -> Loaded {
    let full = load_file(path, &opts());
    let inc = load_file_reusing(
        path,
        &opts(),
        prev.map(|p| Previous {
            config: &p.config,
            cache: &p.blocks,
        }),
    );
    let (a, b) = (fingerprint(&full), fingerprint(&inc));
    if a != b {
        let line = a
            .lines()
            .zip(b.lines())
            .position(|(x, y)| x != y)
            .unwrap_or(0);
        panic!(
            "{}: the incremental load differs from the full load at line {line} of the fingerprint:\nfull: {:?}\nincr: {:?}",
            path.display(),
            a.lines().nth(line),
            b.lines().nth(line)
        );
    }
    assert_eq!(full.logical_lines, inc.logical_lines, "{}", path.display());
    inc
}

fn corpus_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus");
    let mut out = Vec::new();
    for dir in [root.clone(), root.join("edge")] {
        for e in std::fs::read_dir(&dir).expect("corpus") {
            let p = e.expect("entry").path();
            if p.extension().is_some_and(|x| x == "conf") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_corpus_file_loads_the_same_incrementally_and_in_full() {
    let files = corpus_files();
    assert!(
        files.len() > 50,
        "the corpus is there ({} files)",
        files.len()
    );
    let mut incremental = 0;
    for f in &files {
        let first = same_as_full(f, None);
        // and once more on top of itself: every clean block reused
        let again = same_as_full(f, Some(&first));
        if first.reuse.incremental {
            incremental += 1;
            assert_eq!(again.reuse.reused, first.blocks.len(), "{}", f.display());
        }
    }
    // the corpus has real-world files the fast path takes (no include, no parameter)
    assert!(incremental >= 10, "{incremental} files read incrementally");
}

/// `n` virtual servers of `rs` real servers, with a VRRP instance and a group around them.
fn generate(n: usize, rs: usize, weight_of: impl Fn(usize, usize) -> u32) -> String {
    let mut s = String::from(
        "global_defs {\n    router_id GEN\n}\nvrrp_instance VI_1 {\n    state MASTER\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        10.0.0.100/24\n    }\n}\n",
    );
    for v in 0..n {
        let _ = writeln!(
            s,
            "virtual_server 10.1.{}.{} 80 {{  # service {v}\n    delay_loop 5\n    lb_algo wlc\n    lb_kind NAT\n    protocol TCP",
            v / 250,
            v % 250 + 1
        );
        for r in 0..rs {
            let _ = writeln!(
                s,
                "    real_server 172.16.{v}.{} 8080 {{\n        weight {}\n        TCP_CHECK {{\n            connect_timeout 3\n        }}\n    }}",
                r + 1,
                weight_of(v, r)
            );
        }
        s.push_str("}\n");
    }
    s
}

struct Step {
    what: &'static str,
    text: String,
    reused: usize,
}

#[test]
fn a_series_of_edits_reuses_the_unchanged_blocks_and_loads_what_a_full_load_loads() {
    let dir = std::env::temp_dir().join(format!("lvsd-blocks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("keepalived.conf");
    let base = generate(40, 3, |_, _| 1);
    let weight = generate(40, 3, |v, r| if (v, r) == (17, 1) { 7 } else { 1 });
    let added = base.replacen(
        "    real_server 172.16.20.1 8080 {",
        "    real_server 172.16.20.99 8080 {\n        weight 2\n    }\n    real_server 172.16.20.1 8080 {",
        1,
    );
    let shifted = format!("# a comment line on top moves every block\n\n{added}");
    let removed = {
        let start = shifted.find("virtual_server 10.1.0.6 80").expect("vs 5");
        let end = start + shifted[start..].find("\n}\n").expect("end") + 3;
        format!("{}{}", &shifted[..start], &shifted[end..])
    };
    let duplicate_rs = removed.replacen(
        "    real_server 172.16.30.2 8080 {",
        "    real_server 172.16.30.1 8080 {\n    }\n    real_server 172.16.30.2 8080 {",
        1,
    );
    let broken = duplicate_rs.replacen("        weight 1\n", "        weight x1\n", 1);
    let steps = [
        Step {
            what: "the first load",
            text: base.clone(),
            reused: 0,
        },
        Step {
            what: "one weight edited",
            text: weight,
            reused: 39,
        },
        Step {
            what: "back, one real server added",
            text: added.clone(),
            reused: 38,
        },
        Step {
            what: "two lines inserted above every block",
            text: shifted,
            reused: 40,
        },
        Step {
            what: "a virtual server removed",
            text: removed,
            reused: 39,
        },
        Step {
            what: "a duplicate real server (a warning: that block is not kept for reuse)",
            text: duplicate_rs.clone(),
            reused: 38,
        },
        Step {
            what: "the same again",
            text: duplicate_rs,
            reused: 38,
        },
        Step {
            what: "a value keepalived reads as 0 (a warning in the first block)",
            text: broken,
            reused: 37,
        },
    ];
    let mut prev: Option<Loaded> = None;
    for s in &steps {
        std::fs::write(&path, &s.text).expect("write");
        let l = same_as_full(&path, prev.as_ref());
        assert!(l.reuse.incremental, "{}: read incrementally", s.what);
        assert_eq!(
            l.reuse,
            Reuse {
                incremental: true,
                blocks: l.reuse.blocks,
                reused: s.reused
            },
            "{}",
            s.what
        );
        prev = Some(l);
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn files_the_split_cannot_read_exactly_are_read_in_full() {
    let dir = std::env::temp_dir().join(format!("lvsd-blocks-full-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("keepalived.conf");
    let vs = "virtual_server 10.1.0.1 80 {\n    real_server 172.16.0.1 80 {\n    }\n}\n";
    let cases = [
        ("a parameter", format!("$W=3\n{vs}")),
        (
            "a conditional line",
            format!("@lvsd-test global_defs {{\n}}\n{vs}"),
        ),
        ("a generator", format!("~SEQ(i,1,2) $i\n{vs}")),
        ("an include", format!("include /nonexistent/*.conf\n{vs}")),
        (
            "a one-line block",
            "virtual_server 10.1.0.1 80 { lb_algo rr }\n".to_string(),
        ),
        (
            "a block opened on the next line",
            "virtual_server 10.1.0.1 80\n{\n    lb_algo rr\n}\n".to_string(),
        ),
        (
            "a block after a closing brace",
            format!("global_defs {{\n}} {vs}"),
        ),
        (
            "an unclosed block",
            "virtual_server 10.1.0.1 80 {\n".to_string(),
        ),
        ("a stray closing brace", format!("}}\n{vs}")),
        ("an escaped comment", format!("\\# note\n{vs}")),
        (
            "a `{` after a virtual_server block, for the statement before it",
            format!("vrrp_script chk\n{vs}{{\n    script /bin/true\n}}\n"),
        ),
        (
            "a top-level keyword inside a virtual_server block",
            "virtual_server 10.1.0.1 80 {\n    vrrp_instance VI_1 {\n        interface eth0\n        virtual_router_id 5\n        priority 100\n        virtual_ipaddress {\n            10.1.0.1\n        }\n    }\n}\n".to_string(),
        ),
    ];
    for (what, text) in cases {
        std::fs::write(&path, &text).expect("write");
        let first = same_as_full(&path, None);
        assert!(!first.reuse.incremental, "{what}: read in full");
        same_as_full(&path, Some(&first));
    }
    // quotes and braces inside them go through the lexer: still split exactly
    let quoted = "virtual_server 10.1.0.1 80 {\n    lb_kind NAT\n    protocol TCP\n    real_server 172.16.0.1 80 {\n        HTTP_GET {\n            url {\n                path \"/a{b}\"\n                status_code 200\n            }\n        }\n    }\n}\n";
    std::fs::write(&path, quoted).expect("write");
    let first = same_as_full(&path, None);
    assert!(first.reuse.incremental);
    let again = same_as_full(&path, Some(&first));
    assert_eq!(again.reuse.reused, 1);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_reused_block_checks_its_scripts_on_disk_again() {
    let dir = std::env::temp_dir().join(format!("lvsd-blocks-script-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let script = dir.join("up.sh");
    std::fs::write(&script, "#!/bin/sh\n").expect("script");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = dir.join("keepalived.conf");
    let text = format!(
        "virtual_server 10.1.0.1 80 {{\n    lb_kind NAT\n    protocol TCP\n    real_server 172.16.0.1 80 {{\n        notify_up {}\n    }}\n}}\n",
        script.display()
    );
    std::fs::write(&path, &text).expect("write");
    let first = same_as_full(&path, None);
    assert_eq!(first.blocks.len(), 1, "{:?}", first.diagnostics);
    // the script goes away; the block's text does not change
    std::fs::remove_file(&script).expect("rm");
    let again = same_as_full(&path, Some(&first));
    assert_eq!(again.reuse.reused, 1);
    assert!(
        again
            .diagnostics
            .iter()
            .any(|d| d.message.contains("up.sh")),
        "the missing script is reported: {:?}",
        again.diagnostics
    );
    std::fs::remove_dir_all(&dir).ok();
}
