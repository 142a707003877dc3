//! Directors that are also real servers (issue 8): `lvsd check` finds them from this host's
//! addresses, in a network namespace of the test. Needs root; skipped otherwise.

mod lab;
use lab::{lvsd_bin, Lab};

fn conf(with_instance: bool, method: &str) -> String {
    let inst = if with_instance {
        "vrrp_instance VI_1 {\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  \
         priority 100\n  virtual_ipaddress {\n    10.99.0.100/24 dev eth0\n  }\n}\n"
    } else {
        ""
    };
    format!(
        "{inst}virtual_server 10.99.0.100 80 {{\n  lb_algo rr\n  lb_kind {method}\n  protocol TCP\n  \
         real_server 10.99.0.1 80 {{\n    TCP_CHECK {{\n    }}\n  }}\n  \
         real_server 10.99.0.3 80 {{\n    TCP_CHECK {{\n    }}\n  }}\n}}\n"
    )
}

fn check(lab: &Lab, text: &str, extra: &[&str]) -> (i32, serde_json::Value) {
    let path = lab.write("c.conf", text);
    let p = path.display().to_string();
    let mut cmd = vec![lvsd_bin(), "check".into(), "--json".into(), "-f".into(), p];
    cmd.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = cmd.iter().map(String::as_str).collect();
    let o = lab.exec("dir1", &args);
    let v = serde_json::from_slice(&o.stdout).expect("json");
    (o.status.code().unwrap_or(-1), v)
}

fn codes(v: &serde_json::Value) -> Vec<(String, u64)> {
    v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

#[test]
fn check_names_the_colocated_real_server_and_its_instance() {
    need_root!();
    let lab = Lab::new(&[("dir1", &["10.99.0.1/24"])], false);
    // 10.99.0.1 is dir1's own address: a note naming VI_1, only for that real server.
    let (code, v) = check(&lab, &conf(true, "DR"), &[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        codes(&v),
        vec![("colocated-director".to_string(), 14)],
        "{v}"
    );
    let msg = v["diagnostics"][0]["message"].as_str().unwrap();
    assert!(msg.contains("10.99.0.1") && msg.contains("VI_1"), "{msg}");
    // No instance holds the VIP, DR: an error (the loop cannot be avoided).
    let (code, v) = check(&lab, &conf(false, "DR"), &[]);
    assert_eq!(code, 2, "{v}");
    assert_eq!(
        codes(&v),
        vec![("colocated-without-vrrp".to_string(), 5)],
        "{v}"
    );
    // NAT: a note only.
    let (code, v) = check(&lab, &conf(false, "NAT"), &[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        codes(&v),
        vec![("colocated-director".to_string(), 5)],
        "{v}"
    );
    // --no-host: nothing about this host.
    let (code, v) = check(&lab, &conf(false, "DR"), &["--no-host"]);
    assert_eq!(code, 0, "{v}");
    assert!(codes(&v).is_empty(), "{v}");
}

#[test]
fn a_host_that_is_no_real_server_gets_no_finding() {
    need_root!();
    let lab = Lab::new(&[("dir1", &["10.99.0.2/24"])], false);
    let (code, v) = check(&lab, &conf(false, "DR"), &[]);
    assert_eq!(code, 0, "{v}");
    assert!(codes(&v).is_empty(), "{v}");
}

#[test]
fn status_shows_the_role_that_follows_vrrp() {
    need_root!();
    let mut lab = Lab::new(&[("dir1", &["10.99.0.1/24"])], false);
    lab.lvsd("dir1", &conf(true, "DR"));
    let sock = lab.dir.join("dir1.sock").display().to_string();
    let role = || -> Option<String> {
        let o = std::process::Command::new(lvsd_bin())
            .args(["status", "--json", "--socket", &sock])
            .output()
            .ok()?;
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).ok()?;
        v["virtual_servers"][0]["role"].as_str().map(str::to_string)
    };
    // BACKUP first (3 adverts without a master): a real server.
    let seen = lab.wait_for(std::time::Duration::from_secs(3), || {
        role().as_deref() == Some("real server")
    });
    assert!(seen.is_some(), "{:?}\n{}", role(), lab.log("dir1", "lvsd"));
    // Alone, it becomes MASTER: the director.
    let seen = lab.wait_for(std::time::Duration::from_secs(10), || {
        role().as_deref() == Some("director (also a real server)")
    });
    assert!(seen.is_some(), "{:?}\n{}", role(), lab.log("dir1", "lvsd"));
}
