//! HTTP_GET / SSL_GET: the response head parser of the checkers.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = lvsd_check::probe::http::head_status(data);
});
