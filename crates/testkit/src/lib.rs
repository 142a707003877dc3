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
