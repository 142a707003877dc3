//! Test support: every test runs in a network namespace of its own, created with
//! unshare(CLONE_NEWNET) on a fresh thread. Nothing is named, nothing leaks: the namespace goes
//! away with the thread. Traffic stays inside it (loopback and dummy links made here).
#![allow(dead_code)]

use std::future::Future;
use std::process::Command;

/// Runs `f` on a new thread inside a new, private network namespace (lo up) with a
/// current-thread tokio runtime. Needs root (CI runs as root); otherwise the test is skipped
/// with a message, as the other root tests of the workspace do.
pub fn in_netns<F, Fut>(f: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    if !lvsd_testkit::root_or_skip("a network namespace") {
        return;
    }
    let h = std::thread::spawn(move || {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).expect("unshare(CLONE_NEWNET)");
        sh("ip link set lo up");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(f());
    });
    if let Err(e) = h.join() {
        std::panic::resume_unwind(e);
    }
}

/// Runs a shell command in the calling thread's namespace (children inherit it); panics with
/// its output if it fails.
pub fn sh(cmd: &str) {
    let out = Command::new("sh").arg("-c").arg(cmd).output().expect("sh");
    assert!(
        out.status.success(),
        "`{cmd}` failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An address nobody answers: 10.255.0.2 behind a veth link whose far end has no address,
/// with a permanent neighbour entry (no ARP needed): packets to it vanish, so a connect times
/// out instead of being refused. (veth, not dummy: some kernels lack the dummy module.)
pub fn blackhole() -> std::net::IpAddr {
    sh("ip link add bh0 type veth peer name bh1 && ip link set bh1 up && ip link set bh0 up");
    sh("ip addr add 10.255.0.1/24 dev bh0");
    sh("ip neigh add 10.255.0.2 lladdr 02:00:00:00:00:02 dev bh0 nud permanent");
    "10.255.0.2".parse().unwrap()
}

/// A probe target with no bind options.
pub fn target(
    addr: std::net::SocketAddr,
    timeout: std::time::Duration,
) -> lvsd_check::probe::Target {
    lvsd_check::probe::Target {
        addr,
        bind: None,
        bind_if: None,
        fwmark: None,
        timeout,
    }
}
