//! Issue 18: the checkers' decoders of what a real server sends (a DNS reply, an HTTP response
//! head) on arbitrary bytes: a verdict or an error, never a panic. The same decoders run
//! under libFuzzer in fuzz/ (nightly); these property tests keep them covered on stable in CI.

use lvsd_check::probe::{dns, http};
use proptest::prelude::*;

proptest! {
    #[test]
    fn any_dns_reply_gets_a_verdict(bytes in proptest::collection::vec(any::<u8>(), 0..600), id in any::<u16>()) {
        let _ = dns::verdict(&bytes, id);
    }

    #[test]
    fn any_http_head_is_a_status_or_an_error(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = http::head_status(&bytes);
    }

    /// Heads made of real header lines in any order and value.
    #[test]
    fn header_lines_in_any_combination(
        status in "HTTP/1\\.[01] [0-9]{1,4}( [A-Za-z]{0,8})?",
        headers in proptest::collection::vec(
            ("(?i)(content-length|transfer-encoding|location|x-a)", "[ -~]{0,24}"), 0..6),
    ) {
        let mut h = status.clone();
        for (n, v) in &headers {
            h.push_str(&format!("\r\n{n}: {v}"));
        }
        h.push_str("\r\n\r\n");
        if let Ok(code) = http::head_status(h.as_bytes()) {
            prop_assert!(status.contains(&code.to_string()));
        }
    }
}

#[test]
fn a_head_says_its_status_and_a_bad_one_why() {
    assert_eq!(
        http::head_status(b"HTTP/1.1 204 No Content\r\n\r\n"),
        Ok(204)
    );
    let e = http::head_status(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")
        .unwrap_err();
    assert!(e.contains("conflicting Content-Length"), "{e}");
    assert!(http::head_status(b"SSH-2.0-OpenSSH\r\n")
        .unwrap_err()
        .contains("malformed status line"));
}
