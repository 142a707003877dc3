//! A scrape's HTTP body: the text in pieces as the encoding thread writes it, or an error
//! that aborts the response (a scrape cut short must not look complete: the text format has
//! no end marker, and Prometheus would take a partial scrape for a whole one).

use bytes::Bytes;
use hyper::body::Frame;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

/// The size of the pieces a scrape is sent in.
pub const CHUNK: usize = 64 * 1024;

pub type Piece = Result<Bytes, std::io::Error>;

pub struct Chunks(pub mpsc::Receiver<Piece>);

impl hyper::body::Body for Chunks {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        self.0.poll_recv(cx).map(|c| c.map(|p| p.map(Frame::data)))
    }
}

/// Where the encoder writes: pieces of [`CHUNK`] bytes to the body, waiting while the client
/// has not read the previous ones (the connection's deadline ends a client that stops
/// reading: the body is dropped and the next piece fails).
pub struct ChunkWriter {
    buf: String,
    tx: mpsc::Sender<Piece>,
}

impl ChunkWriter {
    pub fn new(tx: mpsc::Sender<Piece>) -> ChunkWriter {
        ChunkWriter {
            buf: String::with_capacity(CHUNK + 1024),
            tx,
        }
    }

    fn send(&mut self) -> std::fmt::Result {
        let full = std::mem::replace(&mut self.buf, String::with_capacity(CHUNK + 1024));
        self.tx
            .blocking_send(Ok(Bytes::from(full)))
            .map_err(|_| std::fmt::Error) // the client went away
    }

    /// The rest.
    pub fn finish(mut self) -> std::fmt::Result {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.send()
    }
}

impl std::fmt::Write for ChunkWriter {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.buf.push_str(s);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(())
    }
}
