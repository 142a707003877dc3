//! `track_file` trackers (keepalived-behaviour §1.2, §2.7).
//!
//! The file holds an integer that is sent as [`TrackerStatus::Value`] (the VRRP core multiplies
//! it by the weight). As keepalived: the number is read like `strtol(…, 0)` (leading blanks, a
//! sign, `0x` hex or `0` octal, anything after the number ignored); a missing, empty or
//! non-numeric file is 0; a value outside the 32-bit range is ignored (the previous value stays).
//! lvsd logs each of these cases.
//!
//! The file's directory is watched with inotify (`IN_CLOSE_WRITE`, `IN_MOVED_TO`,
//! `IN_MOVED_FROM`, `IN_DELETE`), so files replaced by rename (editors, `mv tmp file`) are seen;
//! a partly written file is never read (no `IN_MODIFY`). A symlink is resolved once at start.
//! If the directory goes away, the value is 0 and the watch is retried every second.
//!
//! `init_file [V] [overwrite]`: at startup (not at a reload) the file is created with `V\n`
//! (default 0) if it does not exist, or rewritten if `overwrite` is given.

use futures_util::StreamExt;
use inotify::{EventMask, Inotify, WatchMask};
use lvsd_config::model::TrackFile;
use lvsd_vrrp::track::{TrackerId, TrackerKind, TrackerStatus};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Whether `init_file` is applied (at startup) or not (at a reload, as keepalived).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Init {
    Apply,
    Skip,
}

/// What reading the file gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    /// A number (with a note when part of the text was ignored).
    Value(i64, Option<String>),
    /// Treated as 0, with the reason (missing, empty, not a number).
    Zero(String),
    /// Out of range: ignored, the previous value stays.
    Ignored(String),
}

/// Parses the file's text as keepalived does (`strtol` with base 0, 32-bit range).
pub fn parse_value(text: &str) -> Reading {
    let t = text.trim_start();
    let (neg, rest) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (radix, digits_start) =
        if (rest.starts_with("0x") || rest.starts_with("0X")) && rest.len() > 2 {
            if rest.as_bytes()[2].is_ascii_hexdigit() {
                (16, &rest[2..])
            } else {
                (10, rest)
            }
        } else if rest.starts_with('0') && rest.len() > 1 {
            (8, rest)
        } else {
            (10, rest)
        };
    let end = digits_start
        .find(|c: char| !c.is_digit(radix))
        .unwrap_or(digits_start.len());
    let digits = &digits_start[..end];
    if digits.is_empty() {
        return if t.is_empty() {
            Reading::Zero("the file is empty".into())
        } else {
            Reading::Zero(format!("{:?} is not a number", short(text)))
        };
    }
    let mag = match i128::from_str_radix(digits, radix) {
        Ok(v) => v,
        Err(_) => return Reading::Ignored(format!("{:?} is out of range", short(text))),
    };
    let v = if neg { -mag } else { mag };
    // keepalived accepts INT32_MIN ..= INT32_MAX + 1.
    if v < i128::from(i32::MIN) || v > i128::from(i32::MAX) + 1 {
        return Reading::Ignored(format!(
            "{v} is outside the range {}..={}",
            i32::MIN,
            i64::from(i32::MAX) + 1
        ));
    }
    let tail = digits_start[end..].trim();
    let note = (!tail.is_empty()).then(|| format!("ignored {:?} after the number", short(tail)));
    Reading::Value(v as i64, note)
}

fn short(s: &str) -> String {
    let s = s.trim_end();
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s.to_string()
    }
}

/// Reads the file now.
pub fn read_value(path: &Path) -> Reading {
    use std::io::Read;
    let mut buf = Vec::with_capacity(128);
    match std::fs::File::open(path) {
        Ok(f) => {
            // keepalived reads at most 127 bytes.
            if let Err(e) = f.take(127).read_to_end(&mut buf) {
                return Reading::Zero(format!("cannot be read: {e}"));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Reading::Zero("the file does not exist".into());
        }
        Err(e) => return Reading::Zero(format!("cannot be opened: {e}")),
    }
    parse_value(&String::from_utf8_lossy(&buf))
}

/// Applies `init_file`: writes `V\n` if the file is missing, or always with `overwrite`.
/// Returns whether the file was written.
pub fn init_file(tf: &TrackFile) -> std::io::Result<bool> {
    let (Some(file), Some(init)) = (&tf.file, &tf.init_file) else {
        return Ok(false);
    };
    let path = Path::new(file);
    match std::fs::metadata(path) {
        Ok(m) if !init.overwrite => {
            let _ = m;
            return Ok(false);
        }
        Ok(m) if !m.is_file() => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("`{file}` is not a regular file; not overwriting it"),
            ));
        }
        _ => {}
    }
    std::fs::write(path, format!("{}\n", init.value))?;
    Ok(true)
}

/// The tracker id a `track_file` reports under.
pub fn tracker_id(tf: &TrackFile) -> TrackerId {
    TrackerId::new(TrackerKind::File, &tf.name)
}

/// Starts the tracker task: applies `init_file` (with [`Init::Apply`]), sends the value at once,
/// then on every change. It ends when `tx` is closed.
pub fn spawn_track_file(
    tf: &TrackFile,
    init: Init,
    tx: mpsc::Sender<(TrackerId, TrackerStatus)>,
) -> JoinHandle<()> {
    let tf = tf.clone();
    tokio::spawn(async move { track(tf, init, tx).await })
}

/// The file to watch, split into its (resolved) directory and its name.
fn locate(file: &str) -> Result<(PathBuf, OsString), String> {
    let path = Path::new(file);
    // A symlink is followed once, as keepalived resolves the real path at start.
    let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let name = target
        .file_name()
        .ok_or_else(|| format!("`{file}` names no file"))?
        .to_os_string();
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let dir = std::fs::canonicalize(&dir)
        .map_err(|e| format!("the directory `{}` of the file: {e}", dir.display()))?;
    Ok((dir, name))
}

struct Tracker {
    name: String,
    id: TrackerId,
    tx: mpsc::Sender<(TrackerId, TrackerStatus)>,
    last: Option<i64>,
}

impl Tracker {
    /// Sends `v` if it changed; false when the receiver is gone.
    async fn set(&mut self, v: i64, why: &str) -> bool {
        if self.last == Some(v) {
            return true;
        }
        match self.last {
            None => tracing::info!("track_file {}: value {v} ({why})", self.name),
            Some(old) => tracing::info!("track_file {}: value {old} -> {v} ({why})", self.name),
        }
        self.last = Some(v);
        self.tx
            .send((self.id.clone(), TrackerStatus::Value(v)))
            .await
            .is_ok()
    }

    async fn read(&mut self, path: &Path) -> bool {
        match read_value(path) {
            Reading::Value(v, note) => {
                if let Some(n) = note {
                    tracing::warn!("track_file {}: `{}`: {n}", self.name, path.display());
                }
                self.set(v, "read from the file").await
            }
            Reading::Zero(why) => {
                if self.last != Some(0) || why != "the file does not exist" {
                    tracing::warn!(
                        "track_file {}: `{}`: {why}; using 0",
                        self.name,
                        path.display()
                    );
                }
                self.set(0, &why).await
            }
            Reading::Ignored(why) => {
                tracing::warn!(
                    "track_file {}: `{}`: {why}; value ignored",
                    self.name,
                    path.display()
                );
                if self.last.is_none() {
                    return self.set(0, "no valid value yet").await;
                }
                true
            }
        }
    }
}

async fn track(tf: TrackFile, init: Init, tx: mpsc::Sender<(TrackerId, TrackerStatus)>) {
    let mut t = Tracker {
        name: tf.name.clone(),
        id: tracker_id(&tf),
        tx,
        last: None,
    };
    let Some(file) = tf.file.clone() else {
        tracing::error!(
            "track_file {}: no `file` is configured; it reports nothing",
            t.name
        );
        t.tx.closed().await;
        return;
    };
    if init == Init::Apply {
        match init_file(&tf) {
            Ok(true) => tracing::info!(
                "track_file {}: initialised `{file}` with {}",
                t.name,
                tf.init_file.as_ref().map_or(0, |i| i.value)
            ),
            Ok(false) => {}
            Err(e) => tracing::error!("track_file {}: cannot initialise `{file}`: {e}", t.name),
        }
    }
    loop {
        let (dir, fname) = match locate(&file) {
            Ok(x) => x,
            Err(e) => {
                tracing::error!(
                    "track_file {}: {e}; using 0 and retrying every second",
                    t.name
                );
                if !t.set(0, "the directory is missing").await {
                    return;
                }
                if wait_or_closed(&t.tx, Duration::from_secs(1)).await {
                    return;
                }
                continue;
            }
        };
        let path = dir.join(&fname);
        match watch(&mut t, &dir, &fname, &path).await {
            Ok(()) => return, // receiver gone
            Err(e) => {
                tracing::error!(
                    "track_file {}: watching `{}`: {e}; using 0 and retrying every second",
                    t.name,
                    dir.display()
                );
                if !t.set(0, "the watch was lost").await {
                    return;
                }
                if wait_or_closed(&t.tx, Duration::from_secs(1)).await {
                    return;
                }
            }
        }
    }
}

/// Sleeps; true when the receiver went away meanwhile.
async fn wait_or_closed<T>(tx: &mpsc::Sender<T>, d: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => false,
        _ = tx.closed() => true,
    }
}

/// Watches `dir` for `fname` until the receiver goes away (Ok) or the watch fails (Err).
async fn watch(t: &mut Tracker, dir: &Path, fname: &OsString, path: &Path) -> Result<(), String> {
    let inotify = Inotify::init().map_err(|e| format!("inotify: {e}"))?;
    inotify
        .watches()
        .add(
            dir,
            WatchMask::CLOSE_WRITE
                | WatchMask::MOVED_TO
                | WatchMask::MOVED_FROM
                | WatchMask::DELETE
                | WatchMask::DELETE_SELF
                | WatchMask::MOVE_SELF
                | WatchMask::ONLYDIR,
        )
        .map_err(|e| e.to_string())?;
    let mut events = inotify
        .into_event_stream([0u8; 4096])
        .map_err(|e| e.to_string())?;
    // Read after the watch is in place, so no change is missed.
    if !t.read(path).await {
        return Ok(());
    }
    loop {
        let ev = tokio::select! {
            ev = events.next() => ev,
            _ = t.tx.closed() => return Ok(()),
        };
        let ev = match ev {
            None => return Err("the inotify stream ended".into()),
            Some(Err(e)) => return Err(e.to_string()),
            Some(Ok(ev)) => ev,
        };
        if ev.mask.contains(EventMask::Q_OVERFLOW) {
            tracing::warn!(
                "track_file {}: inotify queue overflow; re-reading the file",
                t.name
            );
            if !t.read(path).await {
                return Ok(());
            }
            continue;
        }
        if ev
            .mask
            .intersects(EventMask::DELETE_SELF | EventMask::MOVE_SELF | EventMask::IGNORED)
        {
            return Err("the directory was removed or moved".into());
        }
        if ev.mask.contains(EventMask::ISDIR) || ev.name.as_deref() != Some(fname.as_os_str()) {
            continue;
        }
        let alive = if ev
            .mask
            .intersects(EventMask::MOVED_FROM | EventMask::DELETE)
        {
            // Gone (a rename over it comes as MOVED_TO next): 0, as keepalived.
            t.set(0, "the file was removed").await
        } else {
            t.read(path).await
        };
        if !alive {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtol_like_parsing() {
        assert_eq!(parse_value("5\n"), Reading::Value(5, None));
        assert_eq!(parse_value("  -12"), Reading::Value(-12, None));
        assert_eq!(parse_value("+7"), Reading::Value(7, None));
        assert_eq!(parse_value("0x1f"), Reading::Value(31, None));
        assert_eq!(parse_value("010"), Reading::Value(8, None));
        assert_eq!(parse_value("0"), Reading::Value(0, None));
        assert!(matches!(parse_value("42abc"), Reading::Value(42, Some(_))));
        assert!(matches!(parse_value(""), Reading::Zero(_)));
        assert!(matches!(parse_value("abc"), Reading::Zero(_)));
        assert!(matches!(parse_value("99999999999"), Reading::Ignored(_)));
        assert_eq!(parse_value("2147483648"), Reading::Value(2147483648, None));
        assert!(matches!(parse_value("2147483649"), Reading::Ignored(_)));
    }
}
