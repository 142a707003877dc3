//! SMTP_CHECK: connect, read the banner (it must be 220; multi-line "220-..." replies are
//! read to their last line), send `HELO <helo_name>`, expect 250, send `QUIT` (its reply is
//! not waited for). The whole exchange runs within the target's timeout.

use super::connect::{self, io_text, Deadline};
use super::{Outcome, SmtpProbe, Target};
use std::io;
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The longest reply accepted (all its lines).
const REPLY_CAP: usize = 16 << 10;

/// One SMTP_CHECK run against `t`.
pub async fn check(p: &SmtpProbe, t: &Target) -> Outcome {
    let start = Instant::now();
    match run(p, t).await {
        Ok(()) => Outcome::ok(start.elapsed()),
        Err(e) => Outcome::fail(start.elapsed(), e),
    }
}

async fn run(p: &SmtpProbe, t: &Target) -> Result<(), String> {
    let deadline = Deadline::after(t.timeout);
    let mut s = connect::tcp_within(t, &deadline).await?;
    exchange(&mut s, &p.helo_name, &deadline).await
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    helo_name: &str,
    deadline: &Deadline,
) -> Result<(), String> {
    let mut buf = Vec::new();
    let (code, text) = deadline
        .within("reading the banner", reply(s, &mut buf, "banner"))
        .await??;
    if code != 220 {
        return Err(format!("banner: {code} {text} (want 220)"));
    }
    let helo = format!("HELO {helo_name}\r\n");
    send(s, &helo, "sending HELO", deadline).await?;
    let (code, text) = deadline
        .within(
            "waiting for the HELO reply",
            reply(s, &mut buf, "HELO reply"),
        )
        .await??;
    if code != 250 {
        return Err(format!("HELO rejected: {code} {text}"));
    }
    // QUIT is a courtesy: the check has passed whatever happens to it.
    let _ = send(s, "QUIT\r\n", "sending QUIT", deadline).await;
    let _ = deadline.within("closing", s.shutdown()).await;
    Ok(())
}

async fn send<S: AsyncWrite + Unpin>(
    s: &mut S,
    line: &str,
    phase: &str,
    deadline: &Deadline,
) -> Result<(), String> {
    deadline
        .within(phase, async {
            s.write_all(line.as_bytes()).await?;
            s.flush().await
        })
        .await?
        .map_err(|e| format!("{phase}: {}", io_text(&e)))
}

/// Reads one reply: lines "NNN-text" up to a final "NNN text" (or bare "NNN"). Returns the
/// code and the last line's text. `buf` holds bytes read past the reply.
async fn reply<S: AsyncRead + Unpin>(
    s: &mut S,
    buf: &mut Vec<u8>,
    what: &str,
) -> Result<(u16, String), String> {
    loop {
        // Complete lines in the buffer.
        let mut start = 0;
        while let Some(i) = buf[start..].iter().position(|&b| b == b'\n') {
            let line = String::from_utf8_lossy(&buf[start..start + i])
                .trim_end_matches('\r')
                .to_string();
            start += i + 1;
            let bytes = line.as_bytes();
            let code = (bytes.len() >= 3 && bytes[..3].iter().all(u8::is_ascii_digit))
                .then(|| line[..3].parse::<u16>().ok())
                .flatten();
            let Some(code) = code else {
                let shown: String = line.chars().take(80).collect();
                return Err(format!("{what}: malformed reply line `{shown}`"));
            };
            match bytes.get(3) {
                Some(b'-') => continue,
                None | Some(b' ') => {
                    buf.drain(..start);
                    return Ok((code, line.get(4..).unwrap_or("").to_string()));
                }
                Some(_) => {
                    let shown: String = line.chars().take(80).collect();
                    return Err(format!("{what}: malformed reply line `{shown}`"));
                }
            }
        }
        if buf.len() > REPLY_CAP {
            return Err(format!("{what}: reply longer than {} KiB", REPLY_CAP >> 10));
        }
        let len = buf.len();
        buf.resize(len + 4096, 0);
        let n = match s.read(&mut buf[len..]).await {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => 0,
            Err(e) => {
                buf.truncate(len);
                return Err(format!("reading the {what}: {}", io_text(&e)));
            }
        };
        buf.truncate(len + n);
        if n == 0 {
            return Err(format!("connection closed before the {what}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn talk(script: &'static [u8]) -> (Result<(), String>, Vec<u8>) {
        let (mut client, mut server) = tokio::io::duplex(64 << 10);
        server.write_all(script).await.unwrap();
        let d = Deadline::after(Duration::from_secs(2));
        let r = exchange(&mut client, "lvsd.test", &d).await;
        drop(client);
        let mut sent = Vec::new();
        server.read_to_end(&mut sent).await.unwrap();
        (r, sent)
    }

    #[tokio::test]
    async fn multi_line_banner() {
        let (r, sent) = talk(b"220-mx.example ESMTP\r\n220-more\r\n220 ready\r\n250 hi\r\n").await;
        assert_eq!(r, Ok(()));
        assert_eq!(sent, b"HELO lvsd.test\r\nQUIT\r\n");
    }

    #[tokio::test]
    async fn rejections() {
        let (r, _) = talk(b"554 no service\r\n").await;
        assert_eq!(r, Err("banner: 554 no service (want 220)".into()));
        let (r, _) = talk(b"220 ok\r\n550-go\r\n550 away\r\n").await;
        assert_eq!(r, Err("HELO rejected: 550 away".into()));
        let (r, _) = talk(b"hello\r\n").await;
        assert_eq!(r, Err("banner: malformed reply line `hello`".into()));
    }
}
