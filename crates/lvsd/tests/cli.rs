//! `lvsd check` as a user runs it: exit codes, --strict, --json, --dump, --config-id.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn check(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lvsd"))
        .arg("check")
        .args(args)
        .current_dir(root())
        .output()
        .expect("run lvsd");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const SEEDS: &str = "crates/config/tests/fixtures/seeds";

#[test]
fn exit_codes_say_whether_it_runs() {
    assert_eq!(check(&["-f", "examples/keepalived.conf"]).0, 0);
    assert_eq!(check(&["-f", &format!("{SEEDS}/004-backup.conf")]).0, 1);
    // seed 001's invalid real server address: skipped, as keepalived 2.2.7 skips it; it runs
    let (code, _, err) = check(&["-f", &format!("{SEEDS}/001-dr1.conf")]);
    assert_eq!(code, 1);
    assert!(err.contains("001-dr1.conf:64:17"), "{err}");
    assert!(
        err.contains("`192.168.1.20.9` is not a valid IP address")
            && err.contains("block is skipped, as keepalived 2.2.7 skips it"),
        "{err}"
    );
    // what keepalived cannot run either is refused
    let (code, _, err) = check(&["-f", "tests/corpus/edge/vrrp-no-vrid.conf"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("error[missing-required]"), "{err}");
    assert_eq!(check(&["-f", "/nonexistent/keepalived.conf"]).0, 2);
}

#[test]
fn strict_turns_warnings_into_errors() {
    assert_eq!(
        check(&["--strict", "-f", &format!("{SEEDS}/004-backup.conf")]).0,
        2
    );
    assert_eq!(check(&["--strict", "-f", "examples/keepalived.conf"]).0, 0);
}

#[test]
fn json_and_dump() {
    let (code, out, _) = check(&["--json", "--dump", "-f", &format!("{SEEDS}/001-dr1.conf")]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["exit_code"], 1);
    // the second virtual_server keeps the real server after the skipped 192.168.1.20.9 one
    let rs = &v["config"]["virtual_servers"][1]["real_servers"];
    assert_eq!(rs.as_array().map(Vec::len), Some(1), "{rs}");
    assert_eq!(rs[0]["ip"], "192.168.20.10");
    // the first diagnostics are the U+00A0 indentation (unicode-space, from line 2 on)
    let diags = v["diagnostics"].as_array().expect("diagnostics");
    assert_eq!(diags[0]["code"], "unicode-space");
    let d = diags
        .iter()
        .find(|d| d["code"] == "extra-arguments")
        .expect("extra-arguments");
    assert_eq!(d["line"], 16);
    assert_eq!(v["config"]["instances"][0]["name"], "VI_1");
    assert_eq!(v["config"]["virtual_servers"][0]["lb_algo"], "wlc");
}

#[test]
fn config_id_selects_conditional_lines() {
    let dir = std::env::temp_dir().join(format!("lvsd-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("k.conf");
    std::fs::write(
        &f,
        "global_defs {\n@main router_id main\n@backup router_id backup\n}\n",
    )
    .unwrap();
    let (_, out, _) = check(&[
        "--json",
        "--dump",
        "--config-id",
        "backup",
        "-f",
        f.to_str().unwrap(),
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["config"]["global"]["router_id"], "backup");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn log_format_json_writes_one_object_per_line() {
    let run = |fmt: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_lvsd"))
            .args([
                "run",
                "-f",
                "/nonexistent/keepalived.conf",
                "--log-format",
                fmt,
            ])
            .output()
            .expect("run lvsd");
        assert_eq!(out.status.code(), Some(2));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    // every line is a JSON object (the configuration's error report included, as a field)
    let err = run("json");
    for l in err.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value =
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}\n{err}"));
        assert!(v["level"].is_string(), "{l}");
    }
    assert!(
        err.contains("cannot read /nonexistent/keepalived.conf"),
        "{err}"
    );
    // the refusal is logged as a JSON object with its level and message
    let line = err
        .lines()
        .find(|l| l.contains("not starting"))
        .unwrap_or_else(|| panic!("no refusal in:\n{err}"));
    let v: serde_json::Value = serde_json::from_str(line).expect(line);
    assert_eq!(v["level"], "ERROR", "{line}");
    let msg = v["fields"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("not starting"), "{line}");
    assert!(v["timestamp"].is_string(), "{line}");
    // text by default: no JSON
    assert!(!run("text").lines().any(|l| l.starts_with('{')));
}
