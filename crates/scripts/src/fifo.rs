//! `notify_fifo` / `vrrp_notify_fifo` (keepalived-behaviour §1.8, §2.9).
//!
//! Lines are exactly keepalived's: `INSTANCE "VI_1" MASTER 100\n`, `GROUP "G" BACKUP 0\n`
//! (`TYPE "NAME" EVENT PRIORITY`, one write per line). VRRP lines go to both `notify_fifo` and
//! `vrrp_notify_fifo` when both are set.
//!
//! The FIFO is created if missing (mode 0600; given to the reader script's user when that is
//! another user). An existing path must be a FIFO owned by lvsd or by that user, and is not
//! followed if it is a symlink. It is opened read-write and non-blocking, as keepalived does: a
//! missing reader never blocks lvsd, lines wait in the pipe (64 KiB) for a reader, and once the
//! pipe is full new lines are dropped, counted ([`FifoWriter::dropped`]) and logged.
//! A FIFO lvsd created is removed when its writer is dropped.
//!
//! `*_notify_fifo_script` is started by lvsd with the FIFO's path as its last argument. It is
//! meant to run as long as lvsd: if it exits it is logged and restarted (after 1 s, doubling up to
//! 60 s while it keeps exiting quickly); keepalived does not restart it.

use crate::runner::{self, Command};
use crate::user::{Credentials, ScriptUsers};
use lvsd_config::model::{Fifo, GlobalDefs};
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

#[derive(Debug, thiserror::Error)]
pub enum FifoError {
    #[error("cannot create the FIFO `{path}`: {source}")]
    Create {
        path: PathBuf,
        source: nix::errno::Errno,
    },
    #[error("cannot open the FIFO `{path}`: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{path}` exists and is not a FIFO; not using it")]
    NotFifo { path: PathBuf },
    #[error(
        "the FIFO `{path}` is owned by uid {uid}, not by lvsd or the reader's user; not using it"
    )]
    Owner { path: PathBuf, uid: u32 },
}

/// keepalived's VRRP line: `INSTANCE "VI_1" MASTER 100\n` (`kind` is INSTANCE or GROUP; `event`
/// MASTER, BACKUP, FAULT, STOP, DELETED, MASTER_RX_LOWER_PRI, MASTER_PRIORITY or BACKUP_PRIORITY).
pub fn vrrp_line(kind: &str, name: &str, event: &str, priority: u8) -> String {
    format!("{kind} \"{name}\" {event} {priority}\n")
}

/// One open FIFO.
#[derive(Debug)]
pub struct FifoWriter {
    path: PathBuf,
    file: std::fs::File,
    created: bool,
    dropped: AtomicU64,
    /// A line was dropped and no write succeeded since (log once per stretch).
    dropping: AtomicBool,
}

impl FifoWriter {
    /// Creates (if missing) and opens the FIFO at `path`. `reader` is the reader script's user:
    /// a FIFO lvsd creates is handed to it; an existing FIFO may belong to it.
    pub fn open(path: impl AsRef<Path>, reader: Option<&Credentials>) -> Result<Self, FifoError> {
        let path = path.as_ref().to_path_buf();
        let mut created = false;
        match nix::unistd::mkfifo(&path, Mode::S_IRUSR | Mode::S_IWUSR) {
            Ok(()) => {
                created = true;
                if let Some(c) = reader {
                    if let Err(e) = nix::unistd::chown(
                        &path,
                        Some(nix::unistd::Uid::from_raw(c.uid)),
                        Some(nix::unistd::Gid::from_raw(c.gid)),
                    ) {
                        tracing::warn!(
                            "FIFO `{}`: cannot give it to {c}: {e}; its reader may not open it",
                            path.display()
                        );
                    }
                }
            }
            Err(nix::errno::Errno::EEXIST) => {}
            Err(source) => return Err(FifoError::Create { path, source }),
        }
        let file = match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags((OFlag::O_NONBLOCK | OFlag::O_NOFOLLOW).bits())
            .open(&path)
        {
            Ok(f) => f,
            Err(source) => {
                if created {
                    let _ = std::fs::remove_file(&path);
                }
                return Err(FifoError::Open { path, source });
            }
        };
        let meta = file.metadata().map_err(|source| FifoError::Open {
            path: path.clone(),
            source,
        })?;
        if !meta.file_type().is_fifo() {
            return Err(FifoError::NotFifo { path });
        }
        let me = nix::unistd::Uid::effective().as_raw();
        if meta.uid() != me && reader.is_none_or(|c| c.uid != meta.uid()) {
            return Err(FifoError::Owner {
                path,
                uid: meta.uid(),
            });
        }
        Ok(FifoWriter {
            path,
            file,
            created,
            dropped: AtomicU64::new(0),
            dropping: AtomicBool::new(false),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes one line without blocking; false (and counted) when it was dropped.
    pub fn write_line(&self, line: &str) -> bool {
        match (&self.file).write(line.as_bytes()) {
            Ok(n) if n == line.len() => {
                if self.dropping.swap(false, Ordering::Relaxed) {
                    tracing::info!(
                        "FIFO `{}`: writing again ({} line(s) dropped so far)",
                        self.path.display(),
                        self.dropped()
                    );
                }
                true
            }
            r => {
                let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if !self.dropping.swap(true, Ordering::Relaxed) {
                    let why = match r {
                        Ok(k) => format!("only {k} of {} bytes written", line.len()),
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            "the pipe is full: nothing is reading it".to_string()
                        }
                        Err(e) => e.to_string(),
                    };
                    tracing::warn!(
                        "FIFO `{}`: dropping {:?} ({why}); {n} line(s) dropped so far",
                        self.path.display(),
                        line.trim_end()
                    );
                }
                false
            }
        }
    }

    /// Lines dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Bytes written and not yet read by anyone.
    pub fn unread(&self) -> usize {
        use std::os::fd::AsRawFd;
        let mut n: libc::c_int = 0;
        // SAFETY: FIONREAD writes one c_int through the pointer, which is valid for the call.
        let r = unsafe { libc::ioctl(self.file.as_raw_fd(), libc::FIONREAD, &mut n) };
        if r == 0 {
            n.max(0) as usize
        } else {
            0
        }
    }
}

impl Drop for FifoWriter {
    fn drop(&mut self) {
        // Removed first, so that a reader that reopens it in a loop cannot find it again.
        if self.created {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Where one kind of event goes: the FIFOs that take it (cheap to clone, shared writers).
#[derive(Debug, Clone, Default)]
pub struct FifoSink {
    writers: Vec<Arc<FifoWriter>>,
}

impl FifoSink {
    /// Nowhere.
    pub fn none() -> Self {
        FifoSink::default()
    }

    pub fn from_writers(writers: Vec<Arc<FifoWriter>>) -> Self {
        FifoSink { writers }
    }

    pub fn is_empty(&self) -> bool {
        self.writers.is_empty()
    }

    /// Writes a line to every FIFO of the sink, without blocking.
    pub fn write_line(&self, line: &str) {
        for w in &self.writers {
            w.write_line(line);
        }
    }

    pub fn writers(&self) -> &[Arc<FifoWriter>] {
        &self.writers
    }
}

/// The configured FIFOs and their reader scripts: `notify_fifo` (VRRP and LVS events),
/// `vrrp_notify_fifo` (VRRP) and `lvs_notify_fifo` (LVS).
#[derive(Debug, Default)]
pub struct Fifos {
    global: Option<Arc<FifoWriter>>,
    vrrp: Option<Arc<FifoWriter>>,
    lvs: Option<Arc<FifoWriter>>,
    readers: Vec<JoinHandle<()>>,
}

impl Fifos {
    /// No FIFO.
    pub fn none() -> Self {
        Fifos::default()
    }

    /// Opens the FIFOs of global_defs and starts their reader scripts. A FIFO that cannot be
    /// used is logged as an error and left out (as keepalived). Call inside a tokio runtime.
    pub fn open(global: &GlobalDefs, users: &ScriptUsers) -> Self {
        let mut f = Fifos::none();
        let mut open = |label: &str, fifo: &Option<Fifo>| -> Option<Arc<FifoWriter>> {
            let fifo = fifo.as_ref()?;
            match open_one(label, fifo, users) {
                Ok((w, reader)) => {
                    f.readers.extend(reader);
                    Some(Arc::new(w))
                }
                Err(e) => {
                    tracing::error!("{label}: {e}");
                    None
                }
            }
        };
        let global_fifo = open("notify_fifo", &global.notify_fifo);
        let vrrp = open("vrrp_notify_fifo", &global.vrrp_notify_fifo);
        let lvs = open("lvs_notify_fifo", &global.lvs_notify_fifo);
        f.global = global_fifo;
        f.vrrp = vrrp;
        f.lvs = lvs;
        f
    }

    /// Where VRRP lines go: `notify_fifo` and `vrrp_notify_fifo`.
    pub fn vrrp(&self) -> FifoSink {
        FifoSink::from_writers(self.global.iter().chain(&self.vrrp).cloned().collect())
    }

    /// Where LVS (checker) lines go: `notify_fifo` and `lvs_notify_fifo`.
    pub fn lvs(&self) -> FifoSink {
        FifoSink::from_writers(self.global.iter().chain(&self.lvs).cloned().collect())
    }

    /// Lets the readers drain what was written (up to `grace`), then stops them. The FIFOs
    /// close (and those lvsd created are removed) when the last sink is dropped.
    pub async fn close(mut self, grace: Duration) {
        if !self.readers.is_empty() {
            let writers: Vec<_> = [&self.global, &self.vrrp, &self.lvs]
                .into_iter()
                .flatten()
                .cloned()
                .collect();
            let until = tokio::time::Instant::now() + grace;
            while writers.iter().any(|w| w.unread() > 0) && tokio::time::Instant::now() < until {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        for h in self.readers.drain(..) {
            h.abort();
            let _ = h.await;
        }
    }
}

impl Drop for Fifos {
    fn drop(&mut self) {
        for h in self.readers.drain(..) {
            h.abort();
        }
    }
}

/// Opens one configured FIFO and starts its reader script.
fn open_one(
    label: &str,
    fifo: &Fifo,
    users: &ScriptUsers,
) -> Result<(FifoWriter, Option<JoinHandle<()>>), String> {
    let reader = match &fifo.script {
        Some(s) => {
            Some(Command::from_script(s, users).map_err(|e| format!("{label}_script: {e}"))?)
        }
        None => None,
    };
    let w = FifoWriter::open(&fifo.path, reader.as_ref().and_then(|c| c.user.as_ref()))
        .map_err(|e| e.to_string())?;
    tracing::info!("{label}: writing events to `{}`", w.path().display());
    let h = reader.map(|cmd| {
        // keepalived passes the FIFO's name as the last argument.
        spawn_reader(
            format!("{label}_script"),
            cmd.with_args([fifo.path.clone()]),
        )
    });
    Ok((w, h))
}

/// Runs a FIFO reader script for as long as the task lives (aborting the task kills it).
pub fn spawn_reader(label: String, cmd: Command) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut backoff = Duration::from_secs(1);
        loop {
            tracing::info!("{label}: starting `{cmd}`");
            let started = tokio::time::Instant::now();
            let outcome = runner::run_unlimited(&cmd, &[]).await;
            if started.elapsed() > Duration::from_secs(60) {
                backoff = Duration::from_secs(1);
            }
            tracing::warn!(
                "{label}: `{cmd}` ended: {outcome}; restarting it in {} s",
                backoff.as_secs()
            );
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(60));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_keepalived_s() {
        assert_eq!(
            vrrp_line("INSTANCE", "VI_1", "MASTER", 100),
            "INSTANCE \"VI_1\" MASTER 100\n"
        );
        assert_eq!(
            vrrp_line("GROUP", "G", "BACKUP", 0),
            "GROUP \"G\" BACKUP 0\n"
        );
    }
}
