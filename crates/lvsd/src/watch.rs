//! `lvsd events` and `lvsd status --watch`: a running daemon's event stream (VRRP transitions,
//! real servers up and down, quorum, reloads, drift repairs), one line per event, or JSON
//! lines as the daemon sends them.

use clap::Args;
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Args)]
pub struct EventsArgs {
    /// The daemon's control socket.
    #[arg(long, default_value = "/run/lvsd/lvsd.sock")]
    pub socket: PathBuf,
    /// Print the daemon's JSON lines as they come.
    #[arg(long)]
    pub json: bool,
}

/// UTC `YYYY-MM-DDTHH:MM:SS.mmmZ` of seconds since the epoch (the civil calendar from a day
/// count: March-based years, 400-year eras).
pub fn utc(t: f64) -> String {
    let ms = (t * 1e3).round() as i64;
    let (days, ms_of_day) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let s = ms_of_day / 1000;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        s / 3600,
        s / 60 % 60,
        s % 60,
        ms_of_day % 1000
    )
}

fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or("?")
}

fn up_down(v: &Value) -> &'static str {
    if v["up"].as_bool() == Some(true) {
        "UP"
    } else {
        "DOWN"
    }
}

/// One event as a line for people.
pub fn render(v: &Value) -> String {
    let what = match str_of(v, "kind") {
        "vrrp" => format!(
            "VRRP {} {} -> {} (priority {}; {})",
            str_of(v, "instance"),
            str_of(v, "from"),
            str_of(v, "to"),
            v["priority"],
            str_of(v, "reason")
        ),
        "vrrp_sync_group" => format!(
            "VRRP sync group {} {} -> {}",
            str_of(v, "group"),
            str_of(v, "from"),
            str_of(v, "to")
        ),
        "real_server" => format!(
            "real server {} of {} {}",
            str_of(v, "real_server"),
            str_of(v, "virtual_server"),
            up_down(v)
        ),
        "quorum" => format!(
            "virtual server {} quorum {} (alive weight {}, quorum {})",
            str_of(v, "virtual_server"),
            up_down(v),
            v["alive_weight"],
            v["quorum"]
        ),
        "weight" => format!(
            "real server {} of {} weight {}",
            str_of(v, "real_server"),
            str_of(v, "virtual_server"),
            v["weight"]
        ),
        "reload" if v["ok"].as_bool() == Some(true) => {
            let applied: Vec<&str> = v["changes"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            format!("reload applied: {}", applied.join("; "))
        }
        "reload" => format!(
            "reload refused ({} error line(s)); the running configuration stays",
            v["errors"]
        ),
        "drift_repair" => format!(
            "IPVS drift repaired: {} operation(s) ({})",
            v["operations"],
            v["first"]
                .as_array()
                .map(|a| a
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("; "))
                .unwrap_or_default()
        ),
        "lost" => format!("{} event(s) lost: this client read too slowly", v["count"]),
        other => format!("{other} {v}"),
    };
    format!("{} {what}", utc(v["time"].as_f64().unwrap_or(0.0)))
}

/// Follows the daemon's events until it stops (exit 0) or cannot be reached (2).
pub fn follow(socket: &Path, json: bool) -> ExitCode {
    follow_after(socket, json, || ExitCode::SUCCESS)
}

/// As [`follow`], running `first` once the subscription is in place (`status --watch` prints
/// the status there: nothing that happens after it is missed); its failure ends it.
pub fn follow_after(socket: &Path, json: bool, first: impl FnOnce() -> ExitCode) -> ExitCode {
    let mut s = match UnixStream::connect(socket) {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "lvsd events: cannot reach the daemon at {}: {e} (is `lvsd run` running? --socket)",
                socket.display()
            );
            return ExitCode::from(2);
        }
    };
    let req = format!(
        "{{\"v\":{},\"request\":\"events\"}}\n",
        crate::proto::VERSION
    );
    if let Err(e) = s.write_all(req.as_bytes()) {
        eprintln!("lvsd events: {}: {e}", socket.display());
        return ExitCode::from(2);
    }
    let out = std::io::stdout();
    let mut lines = BufReader::new(s).lines();
    // the daemon's first line says the subscription is in place
    let subscribed = match lines.next() {
        Some(Ok(l)) if l.contains("\"subscribed\"") => l,
        Some(Ok(l)) => {
            eprintln!("lvsd events: the daemon answered: {l}");
            return ExitCode::from(2);
        }
        _ => {
            eprintln!("lvsd events: {}: no answer", socket.display());
            return ExitCode::from(2);
        }
    };
    let code = first();
    if code != ExitCode::SUCCESS {
        return code;
    }
    if json {
        println!("{subscribed}");
    }
    for line in lines {
        let Ok(line) = line else { break };
        let mut o = out.lock();
        let r = if json {
            writeln!(o, "{line}")
        } else {
            match serde_json::from_str::<Value>(&line) {
                Ok(v) if v["kind"] == "subscribed" => Ok(()),
                Ok(v) if v.get("error").is_some() => {
                    eprintln!("lvsd events: the daemon says: {}", v["error"]);
                    return ExitCode::from(2);
                }
                Ok(v) => writeln!(o, "{}", render(&v)),
                Err(e) => writeln!(o, "(unreadable event: {e}: {line})"),
            }
        };
        if r.and_then(|()| o.flush()).is_err() {
            return ExitCode::SUCCESS; // stdout closed (| head)
        }
    }
    ExitCode::SUCCESS
}

pub fn run(args: &EventsArgs) -> ExitCode {
    follow(&args.socket, args.json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_calendar_dates() {
        assert_eq!(utc(0.0), "1970-01-01T00:00:00.000Z");
        // 2024-02-29 (a leap day) 12:34:56.789
        assert_eq!(utc(1_709_210_096.789), "2024-02-29T12:34:56.789Z");
        assert_eq!(utc(951_782_400.0), "2000-02-29T00:00:00.000Z");
        assert_eq!(utc(1_796_659_200.0), "2026-12-07T16:00:00.000Z");
    }

    #[test]
    fn events_render_as_one_line_each() {
        let v: Value = serde_json::from_str(
            r#"{"time":0.5,"kind":"vrrp","instance":"VI_1","from":"BACKUP","to":"MASTER","priority":150,"reason":"no advert for 3.6 s"}"#,
        )
        .unwrap();
        assert_eq!(
            render(&v),
            "1970-01-01T00:00:00.500Z VRRP VI_1 BACKUP -> MASTER (priority 150; no advert for 3.6 s)"
        );
        let v: Value = serde_json::from_str(
            r#"{"time":0,"kind":"real_server","virtual_server":"[10.0.0.1]:tcp:80","real_server":"[10.0.0.2]:tcp:80","up":false}"#,
        )
        .unwrap();
        assert!(render(&v).ends_with("real server [10.0.0.2]:tcp:80 of [10.0.0.1]:tcp:80 DOWN"));
    }
}
