//! TCP_CHECK: the check passes when a TCP connection to the target completes within
//! connect_timeout. The connection is closed right after it is established, as keepalived
//! does. A refusal (RST) or an ICMP unreachable fails at once, not after the timeout.

use super::{connect, Outcome, Target};
use std::time::Instant;

/// One TCP_CHECK run against `t`.
pub async fn check(t: &Target) -> Outcome {
    let start = Instant::now();
    match connect::tcp(t).await {
        Ok(stream) => {
            // Closed with a reset (SO_LINGER 0), as HAProxy's checks do: one packet instead of
            // a FIN exchange, and no TIME_WAIT socket left per check (10,000 checks a second
            // would keep ~600,000 of them).
            let _ = socket2::SockRef::from(&stream).set_linger(Some(std::time::Duration::ZERO));
            drop(stream);
            Outcome::ok(start.elapsed())
        }
        Err(e) => Outcome::fail(start.elapsed(), e),
    }
}
