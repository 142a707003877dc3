//! MISC_CHECK: run a program; its exit status decides.
//!
//! keepalived's rules (keepalived-behaviour §1.7 and §3.1; keepalived.conf(5) MISC_CHECK):
//!
//! * exit 0: success ([`Outcome::weight`] None: the weight is not changed by this run);
//! * exit 1: failure;
//! * exit 2–255: with `misc_dynamic`, success, and the real server's weight becomes
//!   `code − 2` ([`Outcome::weight`] = `Some(code − 2)`, 0..=253, an absolute weight: keepalived
//!   adds `code − 2 − configured weight` to the effective weight, i.e. sets it to `code − 2`
//!   when this is the only weight-changing checker); without `misc_dynamic`, failure;
//! * killed by a signal that lvsd did not send: failure;
//! * running past `misc_timeout`: the process group gets SIGTERM, SIGKILL 2 s later
//!   ([`lvsd_scripts::runner`]), and the run is a failure ("killed after misc_timeout 3s");
//! * a program that cannot be started (missing, not executable for the user): failure with the
//!   reason.
//!
//! The program runs as `user` (uid, gid; no supplementary groups) or as lvsd itself, in its own
//! process group, stdin /dev/null. Its output is captured: the last non-empty line of stderr
//! (else of stdout) is appended to the error text of a failure, shortened.

use super::connect::fmt_duration as human;
use super::{MiscProbe, Outcome};
use lvsd_scripts::runner::{self, Command, Status};
use lvsd_scripts::user::{self, Credentials};

/// Longest script output quoted in an error text (characters).
const OUTPUT_QUOTE_MAX: usize = 120;

/// Runs one MISC_CHECK.
pub async fn check(probe: &MiscProbe) -> Outcome {
    let cmd = Command::new(probe.argv.iter().cloned()).as_user(probe.user.map(credentials));
    let run = runner::run(&cmd, probe.timeout, &[]).await;
    let latency = run.duration;
    let quote = last_line(&run.stderr).or_else(|| last_line(&run.stdout));
    let with_output = |text: String| match &quote {
        Some(q) => format!("{text}: {q}"),
        None => text,
    };
    match run.status {
        Status::Exited(0) => Outcome::ok(latency),
        Status::Exited(code) if probe.dynamic && (2..=255).contains(&code) => Outcome {
            weight: Some(code - 2),
            ..Outcome::ok(latency)
        },
        Status::Exited(code) => Outcome::fail(latency, with_output(format!("exit status {code}"))),
        Status::TimedOut => Outcome::fail(
            latency,
            with_output(format!(
                "killed after misc_timeout {}",
                human(probe.timeout)
            )),
        ),
        s @ Status::Signalled(_) => Outcome::fail(latency, with_output(s.to_string())),
        Status::SpawnFailed(why) => Outcome::fail(latency, why),
    }
}

/// The credentials for (uid, gid), with names when the system has them.
fn credentials((uid, gid): (u32, u32)) -> Credentials {
    user::lookup(&uid.to_string(), Some(&gid.to_string())).unwrap_or_else(|_| Credentials {
        uid,
        gid,
        user: uid.to_string(),
        group: gid.to_string(),
    })
}

/// The last non-empty line of `text`, trimmed and shortened; None if there is none.
fn last_line(text: &str) -> Option<String> {
    let line = text.lines().map(str::trim).rfind(|l| !l.is_empty())?;
    // The runner's note about output it did not keep is not the script's.
    if line.starts_with("[... ") && line.ends_with("bytes not kept]") {
        return last_line(&text[..text.rfind(line).unwrap_or(0)]);
    }
    Some(if line.chars().count() > OUTPUT_QUOTE_MAX {
        format!(
            "{}…",
            line.chars().take(OUTPUT_QUOTE_MAX).collect::<String>()
        )
    } else {
        line.to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_lines() {
        assert_eq!(last_line("a\nb\n\n  \n"), Some("b".into()));
        assert_eq!(last_line("  \n"), None);
        assert_eq!(
            last_line("x\nlast\n\n[... 10 more bytes not kept]"),
            Some("last".into())
        );
        let long = "y".repeat(300);
        assert_eq!(
            last_line(&long).unwrap().chars().count(),
            OUTPUT_QUOTE_MAX + 1
        );
    }

    #[test]
    fn numeric_credentials() {
        let c = credentials((4_000_123, 4_000_124));
        assert_eq!((c.uid, c.gid), (4_000_123, 4_000_124));
    }
}
