//! Running one command, as keepalived does, but keeping its output (keepalived-behaviour §2.9).
//!
//! * argv is exec'd directly (a bare name is found in `$PATH`); a file without `#!` that is not a
//!   binary runs through `/bin/sh -c` ("Please add a #! shebang"), as do `</dev/tcp/…` tests.
//! * The child gets its own process group, stdin `/dev/null`, the parent-death signal SIGTERM,
//!   the configured user and group (no supplementary groups), lvsd's environment without `IFS`,
//!   `LD_PRELOAD` and `LD_LIBRARY_PATH`, plus the variables given.
//! * stdout and stderr are captured (the first [`OUTPUT_CAP`] bytes of each; keepalived sends them
//!   to /dev/null).
//! * On timeout the whole process group gets SIGTERM, and SIGKILL 2 s later (or as soon as the
//!   script itself has gone, so that its background children go with it).
//! * Dropping the future of [`run`] kills the process group (SIGKILL).
//! * A program that is missing or not executable is [`Status::SpawnFailed`], with the reason.
//!
//! A background process that a script leaves behind after a normal exit is not killed (notify
//! scripts start services that way); its output after the script's exit is not waited for.

use crate::program::{self, Program};
use crate::user::{Credentials, ScriptUsers, UserError};
use lvsd_config::model::Script;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::fmt;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::watch;
use tokio::time::Instant;

/// Bytes of stdout and of stderr kept per run.
pub const OUTPUT_CAP: usize = 4096;
/// Between SIGTERM and SIGKILL after a timeout (keepalived: 2 s).
pub const KILL_GRACE: Duration = Duration::from_secs(2);
/// How long output is still read after the script exited (a background child may hold the pipe).
const DRAIN_GRACE: Duration = Duration::from_millis(100);

/// What to run and as whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The program and its arguments (`argv[0]` as configured).
    pub argv: Vec<String>,
    /// None: run as the daemon's own user.
    pub user: Option<Credentials>,
    /// `enable_script_security`: refuse a script run as root from a path non-root can write.
    pub security: bool,
}

impl Command {
    /// A command run as the daemon's own user.
    pub fn new<I, S>(argv: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Command {
            argv: argv.into_iter().map(Into::into).collect(),
            user: None,
            security: false,
        }
    }

    /// Run as `user` (None: the daemon's own user).
    pub fn as_user(mut self, user: Option<Credentials>) -> Self {
        self.user = user;
        self
    }

    /// A configured script with its own `user [group]`, or the default user.
    pub fn from_script(script: &Script, users: &ScriptUsers) -> Result<Self, UserError> {
        Self::from_argv(
            &script.argv,
            script.user.as_deref(),
            script.group.as_deref(),
            users,
        )
    }

    /// argv with an optional `user [group]`, or the default user.
    pub fn from_argv(
        argv: &[String],
        user: Option<&str>,
        group: Option<&str>,
        users: &ScriptUsers,
    ) -> Result<Self, UserError> {
        Ok(Command {
            argv: argv.to_vec(),
            user: users.resolve(user, group)?,
            security: users.security(),
        })
    }

    /// This command with more arguments (the generic notify's four, a FIFO name).
    pub fn with_args<I, S>(&self, extra: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut c = self.clone();
        c.argv.extend(extra.into_iter().map(Into::into));
        c
    }

    /// Checks that the command can be started (the file exists, is executable for the user,
    /// passes the security rule). The error says exactly why not.
    pub fn check(&self) -> Result<Program, String> {
        let argv0 = self.argv.first().ok_or("the command is empty")?;
        let prog = program::resolve(argv0, self.user.as_ref())?;
        let runs_as_root = match &self.user {
            Some(c) => c.uid == 0 || c.gid == 0,
            None => nix::unistd::Uid::effective().is_root(),
        };
        if self.security && runs_as_root {
            if let Program::Exec(p) | Program::ShellScript(p) = &prog {
                if let Some((bad, why)) = program::insecure_component(p) {
                    return Err(format!(
                        "unsafe permissions for a script run as root: `{}` {why} (enable_script_security)",
                        bad.display()
                    ));
                }
            }
        }
        Ok(prog)
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.argv.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            if a.is_empty() || a.contains(|c: char| c.is_whitespace() || c == '\'' || c == '"') {
                write!(f, "{a:?}")?;
            } else {
                f.write_str(a)?;
            }
        }
        Ok(())
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Exited with this code.
    Exited(i32),
    /// Killed by this signal (not by lvsd's timeout).
    Signalled(i32),
    /// Ran past its timeout and was killed.
    TimedOut,
    /// Could not be started; the reason.
    SpawnFailed(String),
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Exited(c) => write!(f, "exit status {c}"),
            Status::Signalled(s) => match Signal::try_from(*s) {
                Ok(sig) => write!(f, "killed by signal {s} ({})", sig.as_str()),
                Err(_) => write!(f, "killed by signal {s}"),
            },
            Status::TimedOut => f.write_str("timed out (killed)"),
            Status::SpawnFailed(why) => write!(f, "could not be started: {why}"),
        }
    }
}

/// The result of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub status: Status,
    /// The first [`OUTPUT_CAP`] bytes, lossy UTF-8; a note is appended when more was written.
    pub stdout: String,
    pub stderr: String,
    /// From start to exit (or to the kill after a timeout).
    pub duration: Duration,
    /// The script's process id (also its process group), when it started.
    pub pid: Option<u32>,
}

impl Outcome {
    /// Exit status 0.
    pub fn success(&self) -> bool {
        self.status == Status::Exited(0)
    }

    fn failed_to_spawn(why: String) -> Self {
        Outcome {
            status: Status::SpawnFailed(why),
            stdout: String::new(),
            stderr: String::new(),
            duration: Duration::ZERO,
            pid: None,
        }
    }
}

/// One line for the log: status, duration and the output (trimmed, quoted).
impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} after {} ms", self.status, self.duration.as_millis())?;
        let out = self.stdout.trim_end();
        let err = self.stderr.trim_end();
        if !out.is_empty() {
            write!(f, ", stdout: {out:?}")?;
        }
        if !err.is_empty() {
            write!(f, ", stderr: {err:?}")?;
        }
        Ok(())
    }
}

/// Runs `cmd` with a time limit and extra environment variables.
pub async fn run(cmd: &Command, timeout: Duration, env: &[(String, String)]) -> Outcome {
    run_inner(cmd, Some(timeout), env).await
}

/// Runs `cmd` without a time limit (long-running readers such as `notify_fifo_script`).
pub async fn run_unlimited(cmd: &Command, env: &[(String, String)]) -> Outcome {
    run_inner(cmd, None, env).await
}

/// Kills the process group on drop unless the script was reaped normally.
struct GroupGuard {
    pgid: Option<Pid>,
}

impl GroupGuard {
    fn signal(&self, sig: Signal) {
        if let Some(pgid) = self.pgid {
            // ESRCH: the group is already empty.
            let _ = killpg(pgid, sig);
        }
    }
    fn disarm(&mut self) {
        self.pgid = None;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.signal(Signal::SIGKILL);
    }
}

async fn run_inner(cmd: &Command, timeout: Option<Duration>, env: &[(String, String)]) -> Outcome {
    let prog = match cmd.check() {
        Ok(p) => p,
        Err(why) => return Outcome::failed_to_spawn(why),
    };
    let mut command = match &prog {
        Program::Exec(path) => {
            let mut c = tokio::process::Command::new(path);
            c.arg0(&cmd.argv[0]).args(&cmd.argv[1..]);
            c
        }
        Program::ShellScript(_) | Program::Shell => {
            if let Program::ShellScript(path) = &prog {
                tracing::info!(
                    "`{}` has no #! line and is not a binary: running it through /bin/sh -c (please add a #! shebang)",
                    path.display()
                );
            }
            let mut c = tokio::process::Command::new("/bin/sh");
            c.arg("-c").arg(shell_line(&cmd.argv));
            c
        }
    };
    command
        .env_remove("IFS")
        .env_remove("LD_PRELOAD")
        .env_remove("LD_LIBRARY_PATH")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    if let Some(c) = &cmd.user {
        command.uid(c.uid).gid(c.gid);
    }
    // SAFETY: prctl(PR_SET_PDEATHSIG) is async-signal-safe and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(Signal::SIGTERM).map_err(std::io::Error::from)
        });
    }

    let mut started = Instant::now();
    let mut attempts = 0;
    let mut child = loop {
        match command.spawn() {
            Ok(c) => break c,
            // "Text file busy": the file is still open for writing somewhere (being replaced,
            // or a write descriptor inherited by a process that has not exec'd yet). Brief.
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && attempts < 10 => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
                started = Instant::now();
            }
            Err(e) => {
                return Outcome::failed_to_spawn(format!("cannot start `{}`: {e}", cmd.argv[0]));
            }
        }
    };
    let pid = child.id();
    let mut guard = GroupGuard {
        pgid: pid.map(|p| Pid::from_raw(p as i32)),
    };
    let (stop_tx, stop_rx) = watch::channel(None::<Instant>);
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();

    let waiter = async {
        let deadline = timeout.map(|t| started + t);
        let result = match wait_until(&mut child, deadline).await {
            Some(r) => Ok(r),
            None => {
                guard.signal(Signal::SIGTERM);
                let r = wait_until(&mut child, Some(Instant::now() + KILL_GRACE)).await;
                // The script has gone (or ignored SIGTERM): nothing of its group may stay.
                guard.signal(Signal::SIGKILL);
                if r.is_none() {
                    let _ = child.wait().await;
                }
                Err(())
            }
        };
        guard.disarm();
        let duration = started.elapsed();
        let _ = stop_tx.send(Some(Instant::now() + DRAIN_GRACE));
        (result, duration)
    };
    let ((result, duration), out, err) = tokio::join!(
        waiter,
        capture(stdout, stop_rx.clone()),
        capture(stderr, stop_rx)
    );
    let status = match result {
        Err(()) => Status::TimedOut,
        Ok(Ok(st)) => {
            use std::os::unix::process::ExitStatusExt;
            match (st.code(), st.signal()) {
                (Some(c), _) => Status::Exited(c),
                (None, Some(s)) => Status::Signalled(s),
                (None, None) => Status::Exited(-1),
            }
        }
        Ok(Err(e)) => Status::SpawnFailed(format!("waiting for the script failed: {e}")),
    };
    Outcome {
        status,
        stdout: out,
        stderr: err,
        duration,
        pid,
    }
}

/// Waits for the child until `deadline` (None: forever); None when the deadline passed.
async fn wait_until(
    child: &mut tokio::process::Child,
    deadline: Option<Instant>,
) -> Option<std::io::Result<std::process::ExitStatus>> {
    match deadline {
        None => Some(child.wait().await),
        Some(d) => tokio::time::timeout_at(d, child.wait()).await.ok(),
    }
}

/// Reads a pipe into a capped buffer until EOF or until the drain deadline sent on `stop`.
async fn capture<R: AsyncRead + Unpin>(
    pipe: Option<R>,
    mut stop: watch::Receiver<Option<Instant>>,
) -> String {
    let Some(mut pipe) = pipe else {
        return String::new();
    };
    let mut kept = Vec::new();
    let mut total = 0usize;
    let mut buf = [0u8; 4096];
    let mut sender_gone = false;
    loop {
        let deadline = *stop.borrow_and_update();
        tokio::select! {
            biased;
            r = pipe.read(&mut buf) => match r {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    total += n;
                    let room = OUTPUT_CAP.saturating_sub(kept.len());
                    kept.extend_from_slice(&buf[..n.min(room)]);
                }
            },
            _ = sleep_until_opt(deadline) => break,
            r = stop.changed(), if !sender_gone => if r.is_err() {
                sender_gone = true;
            },
        }
    }
    let mut s = String::from_utf8_lossy(&kept).into_owned();
    if total > kept.len() {
        s.push_str(&format!(
            "\n[... {} more bytes not kept]",
            total - kept.len()
        ));
    }
    s
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// The command line `/bin/sh -c` gets: each argument single-quoted (a `'` inside becomes `'\''`),
/// except a leading redirection (`</dev/tcp/…`), which must stay a redirection.
pub fn shell_line(argv: &[String]) -> String {
    let mut line = String::new();
    for (i, a) in argv.iter().enumerate() {
        if i > 0 {
            line.push(' ');
        }
        if i == 0 && (a.starts_with('<') || a.starts_with('>')) {
            line.push_str(a);
            continue;
        }
        line.push('\'');
        line.push_str(&a.replace('\'', r"'\''"));
        line.push('\'');
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting() {
        let argv = vec!["/x/a b".to_string(), "it's".to_string(), "".to_string()];
        assert_eq!(shell_line(&argv), r"'/x/a b' 'it'\''s' ''");
        let argv = vec!["</dev/tcp/127.0.0.1/80".to_string()];
        assert_eq!(shell_line(&argv), "</dev/tcp/127.0.0.1/80");
    }

    #[test]
    fn display_quotes_only_when_needed() {
        let c = Command::new(["/bin/echo", "a b", "c"]);
        assert_eq!(c.to_string(), r#"/bin/echo "a b" c"#);
    }
}
