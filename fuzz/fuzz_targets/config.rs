//! The configuration reader: lexer, parser, validation, on any bytes. (An `include` would read
//! the machine's files: such inputs are skipped.)
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.windows(7).any(|w| w.eq_ignore_ascii_case(b"include")) {
        return;
    }
    let l = lvsd_config::load_str(
        std::path::Path::new("fuzz.conf"),
        data,
        &lvsd_config::LoadOptions {
            config_id: Some("fuzz".into()),
        },
    );
    // the diagnostics render too (the text `lvsd check` prints)
    for d in &l.diagnostics {
        let _ = lvsd_config::render::human(d, false);
    }
});
