//! A network-namespace lab for end-to-end tests on the real kernel.
//!
//! Every lab has its own namespace names (`lvsd<pid>x<n>-<node>`), a bridge in a namespace of its
//! own, and one veth `eth0` per node. Processes it starts are killed by PID and the namespaces
//! deleted when the lab is dropped — also when a test fails. Traffic only ever goes to
//! addresses inside these namespaces.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static COUNTER: AtomicU32 = AtomicU32::new(0);

pub struct Lab {
    pub prefix: String,
    nodes: Vec<String>,
    /// Deleted when the lab is dropped, after its processes are killed (fields drop after
    /// `Drop::drop`).
    namespaces: Vec<lvsd_testkit::Netns>,
    pub dir: PathBuf,
    procs: Vec<(String, Child)>,
    macs: HashMap<String, String>,
}

use lvsd_testkit::{must, run};

impl Lab {
    /// `nodes`: (name, "addr/len" list). IPv6 is off unless `ipv6`.
    pub fn new(nodes: &[(&str, &[&str])], ipv6: bool) -> Lab {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let prefix = format!("lvsd{}x{n}", std::process::id());
        let dir = std::env::temp_dir().join(&prefix);
        // A directory from an earlier process with the same PID holds nothing of ours.
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("lab dir");
        let mut lab = Lab {
            prefix: prefix.clone(),
            nodes: Vec::new(),
            namespaces: Vec::new(),
            dir,
            procs: Vec::new(),
            macs: HashMap::new(),
        };
        let br = format!("{prefix}-br");
        lab.namespaces.push(lvsd_testkit::Netns::named(&br));
        lab.nodes.push("br".into());
        must(&["ip", "-n", &br, "link", "add", "br0", "type", "bridge"]);
        must(&[
            "ip",
            "-n",
            &br,
            "link",
            "set",
            "br0",
            "type",
            "bridge",
            "stp_state",
            "0",
            "forward_delay",
            "0",
        ]);
        must(&["ip", "-n", &br, "link", "set", "br0", "up"]);
        for (i, (name, addrs)) in nodes.iter().enumerate() {
            let ns = lab.ns(name);
            lab.namespaces.push(lvsd_testkit::Netns::named(&ns));
            lab.nodes.push(name.to_string());
            if !ipv6 {
                // Written through /proc (procps' sysctl may not be installed).
                must(&[
                    "ip",
                    "netns",
                    "exec",
                    &ns,
                    "sh",
                    "-c",
                    "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; \
                     echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6",
                ]);
            }
            let port = format!("v{i}");
            must(&[
                "ip", "-n", &br, "link", "add", &port, "type", "veth", "peer", "name", "eth0",
                "netns", &ns,
            ]);
            must(&["ip", "-n", &br, "link", "set", &port, "master", "br0", "up"]);
            let mac = format!("02:99:00:00:00:{:02x}", i + 1);
            must(&["ip", "-n", &ns, "link", "set", "eth0", "address", &mac]);
            lab.macs.insert(name.to_string(), mac);
            for a in addrs.iter() {
                must(&["ip", "-n", &ns, "addr", "add", a, "dev", "eth0"]);
            }
            must(&["ip", "-n", &ns, "link", "set", "eth0", "up"]);
            if ipv6 {
                // Wait for the link-local address to leave "tentative".
                let t0 = Instant::now();
                while t0.elapsed() < Duration::from_secs(5) {
                    let o = lab.exec(
                        name,
                        &["ip", "-6", "addr", "show", "dev", "eth0", "tentative"],
                    );
                    if o.stdout.is_empty() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
        lab
    }

    pub fn ns(&self, node: &str) -> String {
        format!("{}-{node}", self.prefix)
    }

    pub fn mac(&self, node: &str) -> &str {
        &self.macs[node]
    }

    pub fn exec(&self, node: &str, cmd: &[&str]) -> Output {
        let ns = self.ns(node);
        let mut full = vec!["ip", "netns", "exec", &ns];
        full.extend_from_slice(cmd);
        run(&full)
    }

    pub fn sh(&self, node: &str, script: &str) -> String {
        let o = self.exec(node, &["sh", "-c", script]);
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.join(name);
        std::fs::write(&p, text).expect("write");
        p
    }

    /// Starts a command in a node's namespace, stdout+stderr into `<dir>/<node>.<tag>.log`.
    pub fn spawn(&mut self, node: &str, tag: &str, cmd: &[&str]) -> u32 {
        let log = self.dir.join(format!("{node}.{tag}.log"));
        let f = std::fs::File::create(&log).expect("log");
        let ns = self.ns(node);
        let child = Command::new("ip")
            .args(["netns", "exec", &ns])
            .args(cmd)
            .stdin(Stdio::null())
            .stdout(f.try_clone().expect("log"))
            .stderr(f)
            .spawn()
            .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
        let pid = child.id();
        self.procs.push((format!("{node}.{tag}"), child));
        pid
    }

    /// `lvsd run` in a node with this configuration; returns the PID.
    pub fn lvsd(&mut self, node: &str, conf: &str) -> u32 {
        self.lvsd_with(node, conf, &[])
    }

    /// `lvsd run` with extra arguments.
    pub fn lvsd_with(&mut self, node: &str, conf: &str, extra: &[&str]) -> u32 {
        let path = self.write(&format!("{node}.conf"), conf);
        let sock = self.dir.join(format!("{node}.sock"));
        let state = self.dir.join(format!("{node}.realserver.json"));
        // the operators' overrides: this node's own (not the machine's /var/lib/lvsd)
        let overrides = self.dir.join(format!("{node}.state")).display().to_string();
        let bin = lvsd_bin();
        let (p, s) = (path.display().to_string(), sock.display().to_string());
        let st = state.display().to_string();
        self.spawn(
            node,
            "lvsd",
            &[
                &[
                    bin.as_str(),
                    "run",
                    "-f",
                    &p,
                    "--socket",
                    &s,
                    "--realserver-state",
                    &st,
                    "--state-dir",
                    &overrides,
                ],
                extra,
            ]
            .concat(),
        )
    }

    /// keepalived 2.2.7, VRRP only, foreground, in a node; returns the PID of its parent.
    pub fn keepalived(&mut self, node: &str, conf: &str) -> u32 {
        let path = self.write(&format!("{node}.ka.conf"), conf);
        let d = self.dir.display().to_string();
        let p = path.display().to_string();
        let pid = format!("{d}/{node}.ka.pid");
        let vpid = format!("{d}/{node}.ka.vrrp.pid");
        let cpid = format!("{d}/{node}.ka.chk.pid");
        self.spawn(
            node,
            "keepalived",
            &[
                "keepalived",
                "-n",
                "-l",
                "-D",
                "-G",
                "-P",
                "-f",
                &p,
                "-p",
                &pid,
                "-r",
                &vpid,
                "-c",
                &cpid,
            ],
        )
    }

    /// The PID keepalived's VRRP child wrote.
    pub fn keepalived_vrrp_pid(&self, node: &str) -> Option<i32> {
        let p = self.dir.join(format!("{node}.ka.vrrp.pid"));
        std::fs::read_to_string(p).ok()?.trim().parse().ok()
    }

    pub fn log(&self, node: &str, tag: &str) -> String {
        std::fs::read_to_string(self.dir.join(format!("{node}.{tag}.log"))).unwrap_or_default()
    }

    pub fn signal(&mut self, pid: u32, sig: nix::sys::signal::Signal) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), sig);
    }

    /// The process started as `pid` has exited (reaped).
    pub fn wait_exit(&mut self, pid: u32, timeout: Duration) -> Option<std::process::ExitStatus> {
        let t0 = Instant::now();
        let idx = self.procs.iter().position(|(_, c)| c.id() == pid)?;
        loop {
            if let Ok(Some(st)) = self.procs[idx].1.try_wait() {
                return Some(st);
            }
            if t0.elapsed() > timeout {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn has_addr(&self, node: &str, addr: &str) -> bool {
        let o = self.exec(node, &["ip", "-o", "addr", "show", "dev", "eth0"]);
        String::from_utf8_lossy(&o.stdout)
            .split_whitespace()
            .any(|w| w.split('/').next() == Some(addr))
    }

    /// Polls every 5 ms until `f` holds; returns how long it took.
    pub fn wait_for(&self, timeout: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
        let t0 = Instant::now();
        loop {
            if f() {
                return Some(t0.elapsed());
            }
            if t0.elapsed() > timeout {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Which nodes hold `addr` right now.
    /// Waits until `node` alone of `nodes` holds `addr` (at most `secs`); panics with the
    /// lab's state otherwise. Returns how long it took.
    pub fn only(&self, nodes: &[&str], addr: &str, node: &str, secs: f64) -> Duration {
        self.wait_for(Duration::from_secs_f64(secs), || {
            self.holders(nodes, addr) == [node]
        })
        .unwrap_or_else(|| {
            panic!(
                "{node} never held {addr} alone: {:?}\n{}",
                self.holders(nodes, addr),
                self.dump()
            )
        })
    }

    pub fn holders(&self, nodes: &[&str], addr: &str) -> Vec<String> {
        nodes
            .iter()
            .filter(|n| self.has_addr(n, addr))
            .map(|n| n.to_string())
            .collect()
    }

    pub fn link(&self, node: &str, up: bool) {
        let o = self.exec(
            node,
            &["ip", "link", "set", "eth0", if up { "up" } else { "down" }],
        );
        assert!(o.status.success());
    }

    /// Sends one UDP datagram from the node to `addr` (port 9, discard), which makes the
    /// node resolve `addr` with ARP. No ping needed.
    pub fn touch(&self, node: &str, addr: &str) {
        self.exec(
            node,
            &["bash", "-c", &format!("echo x > /dev/udp/{addr}/9")],
        );
    }

    /// The MAC address the node's neighbour table has for `addr`.
    pub fn neigh(&self, node: &str, addr: &str) -> Option<String> {
        let o = self.exec(node, &["ip", "neigh", "show", addr]);
        let s = String::from_utf8_lossy(&o.stdout).into_owned();
        let mut w = s.split_whitespace();
        while let Some(x) = w.next() {
            if x == "lladdr" {
                return w.next().map(str::to_string);
            }
        }
        None
    }

    /// Dumps every log of the lab (for failing tests).
    pub fn dump(&self) -> String {
        let mut s = String::new();
        if let Ok(rd) = std::fs::read_dir(&self.dir) {
            let mut files: Vec<_> = rd.flatten().map(|e| e.path()).collect();
            files.sort();
            for p in files
                .iter()
                .filter(|p| p.extension().is_some_and(|e| e == "log"))
            {
                s += &format!(
                    "==== {}\n{}\n",
                    p.display(),
                    std::fs::read_to_string(p).unwrap_or_default()
                );
            }
        }
        s
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for (_, c) in &mut self.procs {
            let pid = nix::unistd::Pid::from_raw(c.id() as i32);
            if let Ok(None) = c.try_wait() {
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
                let _ = c.wait();
            }
        }
        // keepalived's children (VRRP process) are not our direct children: kill by their PID
        // files, which only name processes this lab started.
        for n in self.nodes.clone() {
            for f in ["ka.vrrp.pid", "ka.pid", "ka.chk.pid"] {
                if let Ok(t) = std::fs::read_to_string(self.dir.join(format!("{n}.{f}"))) {
                    if let Ok(p) = t.trim().parse::<i32>() {
                        let _ = nix::sys::signal::kill(
                            nix::unistd::Pid::from_raw(p),
                            nix::sys::signal::Signal::SIGKILL,
                        );
                    }
                }
            }
        }
        // the namespaces go with `namespaces`
        if std::env::var_os("LVSD_KEEP_LAB_LOGS").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The lvsd binary: Cargo's for tests, else `LVSD_BIN`, else target/release/lvsd.
pub fn lvsd_bin() -> String {
    if let Some(b) = option_env!("CARGO_BIN_EXE_lvsd") {
        return b.to_string();
    }
    std::env::var("LVSD_BIN").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/release/lvsd").to_string()
    })
}

pub fn path_str(p: &Path) -> String {
    p.display().to_string()
}
