//! The control socket (a Unix stream socket, mode 0600): one request line, one JSON reply.
//! `status` returns the engine's snapshot. `lvsd status` is its client.

use super::engine::{Control, Input};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixListener;
use tokio::sync::{mpsc, oneshot};

pub fn bind(path: &Path) -> std::io::Result<UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // A socket left by a previous run: remove it (only if it is a socket).
    if let Ok(md) = std::fs::symlink_metadata(path) {
        use std::os::unix::fs::FileTypeExt;
        if md.file_type().is_socket() {
            std::fs::remove_file(path)?;
        }
    }
    let l = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(l)
}

pub async fn serve(listener: UnixListener, engine: mpsc::UnboundedSender<Input>, path: PathBuf) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("control socket {}: {e}", path.display());
                continue;
            }
        };
        let engine = engine.clone();
        tokio::spawn(async move {
            let (r, mut w) = stream.into_split();
            let mut line = String::new();
            if BufReader::new(r).read_line(&mut line).await.is_err() {
                return;
            }
            let reply = match line.trim() {
                "status" => {
                    let (tx, rx) = oneshot::channel();
                    if engine.send(Input::Control(Control::Status(tx))).is_err() {
                        serde_json::json!({"error": "engine stopped"})
                    } else {
                        rx.await
                            .unwrap_or_else(|_| serde_json::json!({"error": "engine stopped"}))
                    }
                }
                other => serde_json::json!({"error": format!("unknown request `{other}`")}),
            };
            let mut text = reply.to_string();
            text.push('\n');
            let _ = w.write_all(text.as_bytes()).await;
        });
    }
}
