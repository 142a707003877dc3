//! The checker thread: the probe pool on a runtime of its own (one thread), so that thousands
//! of checks never delay VRRP adverts, notify scripts or the control socket. Its state changes
//! go to the health task on the main runtime.

use lvsd_check::health::CheckerId;
use lvsd_check::pool::{Kept, Pool, PoolEvent, ProbeStatus};
use lvsd_check::spec::Probe;
use tokio::sync::{mpsc, oneshot};

pub enum CheckInput {
    /// New probes; replies with the state of every checker whose probe survived.
    Reload(Vec<Probe>, oneshot::Sender<Kept>),
    /// What a reload would keep (dry run).
    Peek(Vec<Probe>, oneshot::Sender<Kept>),
    Status(oneshot::Sender<Vec<ProbeStatus>>),
    /// ha_suspend: suspend (true) or resume the probes whose checkers are all in `vs`.
    Suspend {
        vs: Vec<usize>,
        on: bool,
    },
    Stop,
}

pub struct Checks {
    tx: mpsc::UnboundedSender<CheckInput>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checks {
    /// Starts the thread with `probes`; their state changes go to `events`.
    pub fn start(
        probes: Vec<Probe>,
        events: mpsc::UnboundedSender<PoolEvent>,
    ) -> std::io::Result<Checks> {
        let (tx, mut rx) = mpsc::unbounded_channel::<CheckInput>();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let thread = std::thread::Builder::new()
            .name("lvsd-check".into())
            .spawn(move || {
                rt.block_on(async move {
                    let n = probes.len();
                    let mut pool = Pool::start(probes, events);
                    if n > 0 {
                        tracing::info!("checkers: {} probe(s) running", pool.len());
                    }
                    while let Some(input) = rx.recv().await {
                        match input {
                            CheckInput::Reload(probes, reply) => {
                                let kept = pool.reload(probes);
                                tracing::info!(
                                    "checkers: {} probe(s) after the reload ({} checker(s) kept their state)",
                                    pool.len(),
                                    kept.states.len()
                                );
                                let _ = reply.send(kept);
                            }
                            CheckInput::Peek(probes, reply) => {
                                let _ = reply.send(pool.peek(&probes));
                            }
                            CheckInput::Status(reply) => {
                                let _ = reply.send(pool.status());
                            }
                            CheckInput::Suspend { vs, on } => {
                                pool.suspend(&|c: &CheckerId| vs.contains(&c.vs), on)
                            }
                            CheckInput::Stop => break,
                        }
                    }
                    drop(pool);
                })
            })?;
        Ok(Checks {
            tx,
            thread: Some(thread),
        })
    }

    pub fn send(&self, input: CheckInput) {
        let _ = self.tx.send(input);
    }

    pub async fn reload(&self, probes: Vec<Probe>) -> Kept {
        let (tx, rx) = oneshot::channel();
        self.send(CheckInput::Reload(probes, tx));
        rx.await.unwrap_or_default()
    }

    pub async fn peek(&self, probes: Vec<Probe>) -> Kept {
        let (tx, rx) = oneshot::channel();
        self.send(CheckInput::Peek(probes, tx));
        rx.await.unwrap_or_default()
    }

    /// Asks for every probe's status; the answer comes on the returned receiver (awaited
    /// by whoever needs it, not by the task that asked).
    pub fn status(&self) -> oneshot::Receiver<Vec<ProbeStatus>> {
        let (tx, rx) = oneshot::channel();
        self.send(CheckInput::Status(tx));
        rx
    }

    /// Stops every probe and waits for the thread.
    pub async fn stop(mut self) {
        self.send(CheckInput::Stop);
        if let Some(t) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
    }
}
