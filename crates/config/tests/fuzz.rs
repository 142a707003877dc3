//! Property tests: the reader, the tree builder and the typed parser never
//! panic and always terminate, on arbitrary bytes and on mutations of real
//! configurations. CI runs proptest's default number of cases; run long with
//!   PROPTEST_CASES=200000 cargo test --release -p lvsd-config --test fuzz

use lvsd_config::{load_str, LoadOptions};
use proptest::prelude::*;
use std::path::Path;

fn corpus() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seeds");
    let mut v: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .map(|r| {
            r.filter_map(|e| e.ok())
                .filter(|e| e.path().extension().is_some_and(|x| x == "conf"))
                .filter_map(|e| std::fs::read(e.path()).ok())
                .collect()
        })
        .unwrap_or_default();
    v.push(b"$A=1\n~SEQ(I,0,3) x ${A}.$I\n@main y\n~LST({a,b},{1,2}) $a$b\n".to_vec());
    v.sort();
    v
}

fn check(bytes: &[u8]) {
    // "/nonexistent" keeps relative includes from reaching real files
    let l = load_str(
        Path::new("/nonexistent/fuzz.conf"),
        bytes,
        &LoadOptions {
            config_id: Some("main".into()),
        },
    );
    for d in &l.diagnostics {
        assert!(!d.message.is_empty());
        if let Some(loc) = d.loc {
            assert!(loc.line >= 1, "{d:?}");
        }
    }
}

const TOKENS: &[&str] = &[
    "{",
    "}",
    "\"",
    "'",
    "“",
    "”",
    "#",
    "!",
    "\\",
    "$",
    "${",
    "@",
    "@^",
    "~SEQ(",
    "~LST(",
    ")",
    "\n",
    " ",
    "vrrp_instance",
    "virtual_server",
    "real_server",
    "TCP_CHECK",
    "include",
    "$X=",
    "${X}",
    "1",
    "-1",
    "999999999999",
    "0x",
    "192.168.1.1",
    "::1",
    "/",
    ",",
];

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check(&bytes);
    }

    #[test]
    fn token_soup_never_panics(parts in proptest::collection::vec(0..TOKENS.len(), 0..200)) {
        let s: String = parts.iter().map(|&i| TOKENS[i]).collect();
        check(s.as_bytes());
    }

    #[test]
    fn mutated_real_configs_never_panic(
        which in 0usize..64,
        edits in proptest::collection::vec((any::<u16>(), 0..TOKENS.len(), any::<bool>()), 1..12),
    ) {
        let corpus = corpus();
        let mut bytes = corpus[which % corpus.len()].clone();
        for (pos, tok, delete) in edits {
            if bytes.is_empty() { break; }
            let p = pos as usize % bytes.len();
            if delete {
                let end = (p + 1 + (pos as usize % 7)).min(bytes.len());
                bytes.drain(p..end);
            } else {
                bytes.splice(p..p, TOKENS[tok].bytes());
            }
        }
        check(&bytes);
    }
}
