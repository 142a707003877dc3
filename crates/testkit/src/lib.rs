//! What the workspace's tests that need root share (network namespaces, raw sockets): one
//! decision whether such a test runs.
//!
//! Without root a test is skipped with a line saying so — a developer's machine — except in CI
//! (`CI` set, as `.ci/run` is run), where CI runs as root and a silent skip would hide a whole
//! suite: there the test fails.

/// Whether the process runs as root.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and touches no memory.
    unsafe { libc::geteuid() == 0 }
}

/// Whether a test that needs root may run; see the crate's documentation.
pub fn root_or_skip(test: &str) -> bool {
    if is_root() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{test} needs root: CI runs as root, so a skip here would hide the test"
    );
    eprintln!("skipped: {test} needs root (network namespaces)");
    false
}

/// Returns from the test unless it can run as root ([`root_or_skip`]).
#[macro_export]
macro_rules! need_root {
    () => {
        if !$crate::root_or_skip(module_path!()) {
            return;
        }
    };
}

/// Whether a test that needs a tool of the machine (keepalived as the interop peer) may run:
/// without it the test is skipped with a line saying so, except in CI, whose setup installs
/// every such tool: there a skip would hide the test, so it fails.
pub fn tool_or_skip(available: bool, tool: &str) -> bool {
    if available {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{tool} is not installed: CI's setup installs it, so a skip here would hide the test"
    );
    eprintln!("skipped: {tool} is not installed");
    false
}

/// A network namespace of a test, with `lo` up, deleted when dropped (also when the test
/// fails). Tests only ever send traffic to addresses inside namespaces like this one.
pub struct Netns {
    name: String,
}

static NEXT_NS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Runs a command (stdin closed), panicking when it cannot be started.
pub fn run(cmd: &[&str]) -> std::process::Output {
    std::process::Command::new(cmd[0])
        .args(&cmd[1..])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"))
}

/// Runs a command and panics with its stderr unless it succeeds; returns its stdout.
pub fn must(cmd: &[&str]) -> String {
    let o = run(cmd);
    assert!(
        o.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

impl Netns {
    /// A namespace named `PREFIX<pid>x<n>`: unique to this process and call, so tests run in
    /// parallel (and next to other runs) without meeting.
    pub fn new(prefix: &str) -> Netns {
        let n = NEXT_NS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Netns::named(&format!("{prefix}{}x{n}", std::process::id()))
    }

    /// A namespace with the caller's (unique) name.
    pub fn named(name: &str) -> Netns {
        must(&["ip", "netns", "add", name]);
        // from here on, drop deletes it
        let ns = Netns {
            name: name.to_string(),
        };
        must(&["ip", "-n", name, "link", "set", "lo", "up"]);
        ns
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `CMD` inside the namespace.
    pub fn exec(&self, cmd: &[&str]) -> std::process::Output {
        let mut full = vec!["ip", "netns", "exec", &self.name];
        full.extend_from_slice(cmd);
        run(&full)
    }

    /// `sh -c SCRIPT` inside the namespace.
    pub fn sh(&self, script: &str) -> std::process::Output {
        self.exec(&["sh", "-c", script])
    }

    /// `sh -c SCRIPT`, which must succeed; its stdout.
    pub fn must(&self, script: &str) -> String {
        let o = self.sh(script);
        assert!(o.status.success(), "{script}: {o:?}");
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = run(&["ip", "netns", "del", &self.name]);
    }
}
