//! A reload that reads only what changed (issue 15): the `virtual_server` blocks of a file are
//! found by a scan that does not build tokens, and a block whose text is the same as at the
//! previous load is not parsed again: its virtual server is copied from the previous
//! configuration (moved to its new line). Only new or edited blocks, and the rest of the file
//! (global_defs, VRRP, groups: a few lines), go through the reader, the tree and the parser.
//!
//! The result is the same as a full load ([`crate::load_file`]) by construction, and the tests
//! compare the two: the fast path is taken only for files it can split exactly — one file,
//! no `include`, no `$` parameter, no `@` conditional, no `~SEQ`/`~LST` generator, no `\#`
//! comment escape, every block closing on a line of its own, valid UTF-8. Anything else is
//! read in full. A block is reused only if it parsed without any diagnostic (a message may
//! name a line, which a moved block would no longer match).

use crate::diag::{Diagnostic, Loc};
use crate::lexer::{strip_comment, tokenize, TokKind};
use crate::model::{Config, VirtualServer};
use crate::source::SourceMap;
use crate::{parse, reader, tree, validate, LoadOptions, Loaded};
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::path::Path;
use std::sync::Arc;
use xxhash_rust::xxh3::xxh3_128_with_seed;

/// What a load remembers of its `virtual_server` blocks, for the next load.
#[derive(Debug, Clone, Default)]
pub struct BlockCache {
    /// The seed of the blocks' hashes (random per process).
    seed: u64,
    /// (128-bit hash of the block's text, its length) -> the block's virtual server.
    entries: HashMap<(u128, usize), Entry>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Index into the configuration the cache belongs to.
    vs: usize,
    /// The block's first line then.
    line: u32,
    /// Logical lines of the block.
    logical: usize,
    /// The virtual server names a script (whose file is checked again at each load).
    scripts: bool,
}

impl BlockCache {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The previous load: its configuration (as loaded, before the daemon used it) and its cache.
#[derive(Clone, Copy)]
pub struct Previous<'a> {
    pub config: &'a Config,
    pub cache: &'a BlockCache,
}

/// How much of a load was reused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reuse {
    /// The file was split into blocks (else it was read in full).
    pub incremental: bool,
    pub blocks: usize,
    /// Blocks copied from the previous configuration.
    pub reused: usize,
}

/// One `virtual_server` block: its first line (1-based) and its text, whole lines.
struct Block<'t> {
    line: u32,
    text: &'t str,
    /// Its last line and its logical lines (lines with a token), for a virtual_server block.
    last: u32,
    logical: usize,
}

/// A file split into `virtual_server` blocks and the rest.
struct Split<'t> {
    blocks: Vec<Block<'t>>,
    /// The other lines, as runs of consecutive lines.
    rest: Vec<Block<'t>>,
}

/// What a byte is to [`read_line`]'s fast path.
const WORD: u8 = 0;
const SPACE: u8 = 1;
const OPEN: u8 = 2;
const CLOSE: u8 = 3;
/// A comment, a quote, an escape, a parameter or a non-ASCII character: the lexer decides.
const SPECIAL: u8 = 4;
const NEWLINE: u8 = 5;

const fn byte_classes() -> [u8; 256] {
    let mut t = [WORD; 256];
    let mut b = 0x80;
    while b < 256 {
        t[b] = SPECIAL;
        b += 1;
    }
    t[b' ' as usize] = SPACE;
    t[b'\t' as usize] = SPACE;
    t[b'\r' as usize] = SPACE;
    t[0x0b] = SPACE;
    t[0x0c] = SPACE;
    t[b'{' as usize] = OPEN;
    t[b'}' as usize] = CLOSE;
    t[b'#' as usize] = SPECIAL;
    t[b'!' as usize] = SPECIAL;
    t[b'"' as usize] = SPECIAL;
    t[b'\'' as usize] = SPECIAL;
    t[b'\\' as usize] = SPECIAL;
    t[b'$' as usize] = SPECIAL;
    t[b'\n' as usize] = NEWLINE;
    t
}

static CLASS: [u8; 256] = byte_classes();

/// One line: where it ends and where the next one starts.
struct Line<'t> {
    /// Where the next line starts.
    next: usize,
    first_word: &'t str,
}

/// The line of `text` that starts at byte `from`: its tokens as the lexer would make them
/// (kinds only, into `ev`) and its first word; None for a line whose meaning may depend on
/// other lines (a parameter, a conditional, a generator, an include, an escaped comment). One
/// pass over a plain line (no comment, quote, escape, `$` or non-ASCII character), a table
/// lookup per byte; other lines go through the lexer's own functions.
fn read_line<'t>(text: &'t str, from: usize, ev: &mut Vec<TokKind>) -> Option<Line<'t>> {
    ev.clear();
    let bytes = text.as_bytes();
    let n = bytes.len();
    let mut first: Option<(usize, usize)> = None;
    let mut plain = true;
    let mut i = from;
    let mut end = n;
    while i < n {
        match CLASS[usize::from(bytes[i])] {
            WORD => {
                let s = i;
                i += 1;
                while i < n && CLASS[usize::from(bytes[i])] == WORD {
                    i += 1;
                }
                ev.push(TokKind::Word);
                if first.is_none() {
                    first = Some((s, i));
                }
            }
            SPACE => i += 1,
            OPEN => {
                ev.push(TokKind::Open);
                i += 1;
            }
            CLOSE => {
                ev.push(TokKind::Close);
                i += 1;
            }
            NEWLINE => {
                end = i;
                break;
            }
            _ => {
                plain = false;
                end = memchr::memchr(b'\n', &bytes[i..]).map_or(n, |k| i + k);
                break;
            }
        }
    }
    let next = if end < n { end + 1 } else { n };
    let line = &text[from..end];
    let line = line.strip_suffix('\r').unwrap_or(line);
    let word = if plain {
        first.map_or("", |(s, e)| &text[s..e])
    } else {
        let st = strip_comment(line);
        if st.escaped_comment.is_some() {
            return None;
        }
        let t = st.text.trim();
        if t.contains('$') {
            return None;
        }
        ev.clear();
        let mut sink = Vec::new();
        let toks = tokenize(t, Loc::default(), &mut sink);
        ev.extend(toks.iter().map(|k| k.kind));
        t.split_whitespace().next().unwrap_or("")
    };
    if word.starts_with(['@', '~']) || word.starts_with("include") {
        return None;
    }
    Some(Line {
        next,
        first_word: word,
    })
}

/// Splits `text` into its `virtual_server` blocks and the rest; None when the file has anything
/// that makes a line's meaning depend on another line, or a block that does not open on its
/// first line and close on a line of its own.
fn split(text: &str) -> Option<Split<'_>> {
    let mut blocks = Vec::new();
    let mut rest: Vec<Block<'_>> = Vec::new();
    // the run of other lines being collected: first line, byte offset
    let mut run: Option<(u32, usize)> = None;
    let mut depth = 0usize;
    // Some(first line, byte offset, logical lines) while inside a virtual_server block
    let mut block: Option<(u32, usize, usize)> = None;
    let mut ev = Vec::new();
    let mut offset = 0usize;
    let mut i = 0usize;
    while offset < text.len() {
        if i >= reader::MAX_LINES {
            return None; // the reader's limit applies to the whole file
        }
        i += 1;
        let lineno = u32::try_from(i).ok()?;
        let start = offset;
        let Line { next, first_word } = read_line(text, start, &mut ev)?;
        offset = next;
        let mut ends_run = |run: &mut Option<(u32, usize)>| {
            if let Some((first, from)) = run.take() {
                rest.push(Block {
                    line: first,
                    text: &text[from..start],
                    last: 0,
                    logical: 0,
                });
            }
        };
        if depth == 0 && block.is_none() && ev.first() == Some(&TokKind::Open) {
            // a `{` opening the block of the statement before it: that may be a line before a
            // virtual_server block, which the split would take out from between them
            return None;
        }
        if depth == 0 && block.is_none() {
            let starts_vs = ev.first() == Some(&TokKind::Word) && first_word == "virtual_server";
            if starts_vs {
                for (k, e) in ev.iter().enumerate() {
                    match e {
                        TokKind::Open => depth += 1,
                        TokKind::Close => depth = depth.checked_sub(1)?,
                        TokKind::Word => {}
                    }
                    if depth == 0 && ev[..=k].contains(&TokKind::Open) {
                        return None; // a one-line block
                    }
                }
                if depth == 0 {
                    return None; // `{` on a later line
                }
                ends_run(&mut run);
                block = Some((lineno, start, 1));
                continue;
            }
        }
        if let Some((first, from, logical)) = block {
            let logical = logical + usize::from(!ev.is_empty());
            block = Some((first, from, logical));
            for (k, e) in ev.iter().enumerate() {
                match e {
                    TokKind::Open => depth += 1,
                    TokKind::Close => depth = depth.checked_sub(1)?,
                    TokKind::Word => {}
                }
                if depth == 0 && k + 1 != ev.len() {
                    return None; // something after the closing brace
                }
            }
            if depth == 0 {
                blocks.push(Block {
                    line: first,
                    text: &text[from..offset],
                    last: lineno,
                    logical,
                });
                block = None;
            }
            continue;
        }
        for (k, e) in ev.iter().enumerate() {
            match e {
                TokKind::Open => depth += 1,
                TokKind::Close => depth = depth.checked_sub(1)?,
                TokKind::Word => {}
            }
            if depth == 0 && k + 1 != ev.len() && matches!(e, TokKind::Close) {
                return None; // another block starts after a closing brace
            }
        }
        run.get_or_insert((lineno, start));
    }
    if depth != 0 || block.is_some() {
        return None;
    }
    if let Some((first, from)) = run {
        rest.push(Block {
            line: first,
            text: &text[from..],
            last: 0,
            logical: 0,
        });
    }
    Some(Split { blocks, rest })
}

fn shift(loc: &mut Loc, delta: i64) {
    loc.line = (i64::from(loc.line) + delta).max(1) as u32;
}

/// Every location in a virtual server moved by `delta` lines.
fn shift_vs(vs: &mut VirtualServer, delta: i64) {
    if delta == 0 {
        return;
    }
    shift(&mut vs.loc, delta);
    if let Some(s) = &mut vs.sorry_server {
        shift(&mut s.loc, delta);
    }
    for s in [&mut vs.quorum_up, &mut vs.quorum_down]
        .into_iter()
        .flatten()
    {
        shift(&mut s.loc, delta);
    }
    for r in &mut vs.real_servers {
        shift(&mut r.loc, delta);
        for s in [&mut r.notify_up, &mut r.notify_down].into_iter().flatten() {
            shift(&mut s.loc, delta);
        }
        for c in &mut r.checkers {
            shift(&mut c.loc, delta);
            match &mut c.spec {
                crate::model::CheckSpec::Http(h) => {
                    for u in &mut h.urls {
                        shift(&mut u.loc, delta);
                    }
                }
                crate::model::CheckSpec::Misc(m) => {
                    if let Some(s) = &mut m.misc_path {
                        shift(&mut s.loc, delta);
                    }
                }
                _ => {}
            }
        }
    }
}

/// Every script of a virtual server, in the order the parse checks them.
fn for_each_script<'v>(vs: &'v VirtualServer, mut f: impl FnMut(&'v crate::model::Script)) {
    vs.quorum_up.iter().for_each(&mut f);
    vs.quorum_down.iter().for_each(&mut f);
    for r in &vs.real_servers {
        r.notify_up.as_deref().into_iter().for_each(&mut f);
        r.notify_down.as_deref().into_iter().for_each(&mut f);
        for c in &r.checkers {
            if let crate::model::CheckSpec::Misc(m) = &c.spec {
                m.misc_path.iter().for_each(&mut f);
            }
        }
    }
}

fn has_scripts(vs: &VirtualServer) -> bool {
    let mut any = false;
    for_each_script(vs, |_| any = true);
    any
}

/// The logical lines of parts of one file, each read on its own at its place.
fn read_parts(
    path: &Path,
    parts: &[Block<'_>],
    opts: &LoadOptions,
    diags: &mut Vec<Diagnostic>,
) -> Vec<reader::LogicalLine> {
    let mut sources = SourceMap::default();
    let mut r = reader::Reader::new(&mut sources, diags, crate::read_options(opts));
    for p in parts {
        r.read_part(path, p.text.as_bytes(), p.line);
    }
    let mut lines = std::mem::take(&mut r.out);
    drop(r);
    // every part is of the one file (the reader counted each as a file of its own)
    for l in &mut lines {
        l.loc.file = 0;
    }
    for d in diags.iter_mut() {
        if let Some(l) = &mut d.loc {
            l.file = 0;
        }
    }
    lines
}

/// Parses logical lines into `cfg`; returns their number and the top-level statements' names.
fn parse_lines(
    lines: Vec<reader::LogicalLine>,
    cfg: &mut Config,
    diags: &mut Vec<Diagnostic>,
) -> (usize, Vec<String>) {
    let n = lines.len();
    let mut names = Vec::new();
    tree::build_streaming(lines, diags, |node, d| {
        names.push(node.name().to_string());
        parse::top_level(std::slice::from_ref(&node), cfg, d)
    });
    (n, names)
}

/// One block parsed on its own: its virtual server (lines of the file) and diagnostics.
fn parse_block(
    path: &Path,
    b: &Block<'_>,
    opts: &LoadOptions,
) -> Option<(Option<Arc<VirtualServer>>, Vec<Diagnostic>, usize)> {
    let mut cfg = Config::default();
    let mut diags = Vec::new();
    let lines = read_parts(path, std::slice::from_ref(b), opts, &mut diags);
    let (logical, names) = parse_lines(lines, &mut cfg, &mut diags);
    if names.len() != 1 || names[0] != "virtual_server" {
        // not one block after all (a missing `}` lets a later keyword out of it): read the
        // file in full
        return None;
    }
    let vs = cfg.virtual_servers.pop();
    Some((vs, diags, logical))
}

/// A full read of `text`, with the cache of its blocks: a block is kept for reuse when its
/// virtual server starts on its first line and no diagnostic points into it.
fn first_load(path: &Path, opts: &LoadOptions, text: &str, split: &Split<'_>) -> Loaded {
    let mut loaded = crate::load_str(path, text.as_bytes(), opts);
    let at: HashMap<u32, usize> = loaded
        .config
        .virtual_servers
        .iter()
        .enumerate()
        .map(|(i, v)| (v.loc.line, i))
        .collect();
    let mut marked: Vec<u32> = loaded
        .diagnostics
        .iter()
        .filter_map(|d| d.loc.map(|l| l.line))
        .collect();
    marked.sort_unstable();
    let has_diagnostic = |b: &Block<'_>| {
        let first = marked.partition_point(|&l| l < b.line);
        marked.get(first).is_some_and(|&l| l <= b.last)
    };
    // a block the split may have misread says so with a diagnostic (a keyword out of place, a
    // missing `}`): such a block is read on its own, and if it is not one virtual_server the
    // file is not split (as at a reload)
    for b in split.blocks.iter().filter(|b| has_diagnostic(b)) {
        if parse_block(path, b, opts).is_none() {
            return loaded;
        }
    }
    let seed = RandomState::new().hash_one(0u64);
    let entries = split
        .blocks
        .iter()
        .filter_map(|b| {
            if has_diagnostic(b) {
                return None;
            }
            let vs = *at.get(&b.line)?;
            let key = (xxh3_128_with_seed(b.text.as_bytes(), seed), b.text.len());
            let scripts = has_scripts(&loaded.config.virtual_servers[vs]);
            Some((
                key,
                Entry {
                    vs,
                    line: b.line,
                    logical: b.logical,
                    scripts,
                },
            ))
        })
        .collect();
    loaded.blocks = BlockCache { seed, entries };
    loaded.reuse = Reuse {
        incremental: true,
        blocks: split.blocks.len(),
        reused: 0,
    };
    loaded
}

/// Loads `path`, reusing the unchanged `virtual_server` blocks of `prev`. Falls back to a full
/// load when the file cannot be split exactly. The new cache is in [`Loaded::blocks`].
pub fn load_file_reusing(path: &Path, opts: &LoadOptions, prev: Option<Previous<'_>>) -> Loaded {
    let full = || {
        let mut l = crate::load_file(path, opts);
        l.reuse = Reuse::default();
        l
    };
    let Ok(bytes) = std::fs::read(path) else {
        return full();
    };
    let Ok(text) = String::from_utf8(bytes) else {
        return full();
    };
    let Some(split) = split(&text) else {
        return full();
    };
    if split.blocks.is_empty() {
        return full();
    }
    let Some(prev) = prev else {
        // nothing to reuse (the start): one full read is faster than a read per block; the
        // cache is built from it
        return first_load(path, opts, &text, &split);
    };
    let prev = Some(prev);
    let mut diags = Vec::new();
    let mut cfg = Config::default();
    // the rest: every run of other lines read at its place, parsed as one sequence
    let lines = read_parts(path, &split.rest, opts, &mut diags);
    let (rest_logical, _) = parse_lines(lines, &mut cfg, &mut diags);
    if !cfg.virtual_servers.is_empty() {
        return full();
    }
    // the previous load's seed (its keys are of it), or a new one when it kept no blocks (a
    // full read after a file the split could not read)
    let seed = match prev {
        Some(p) if !p.cache.entries.is_empty() => p.cache.seed,
        _ => RandomState::new().hash_one(0u64),
    };
    let mut reuse = Reuse {
        incremental: true,
        blocks: split.blocks.len(),
        reused: 0,
    };
    let mut logical = rest_logical;
    // per block: its key and, when it parsed cleanly, where its virtual server went
    // (key, first line, logical lines, names a script)
    let mut keep: Vec<((u128, usize), u32, usize, bool)> = Vec::new();
    for b in &split.blocks {
        let key = (xxh3_128_with_seed(b.text.as_bytes(), seed), b.text.len());
        let old = prev.and_then(|p| {
            let e = p.cache.entries.get(&key)?;
            Some((e, p.config.virtual_servers.get(e.vs)?))
        });
        if let Some((e, v)) = old {
            // the same virtual server, shared with the previous configuration unless it moved
            let mut v = Arc::clone(v);
            let delta = i64::from(b.line) - i64::from(e.line);
            if delta != 0 {
                shift_vs(Arc::make_mut(&mut v), delta);
            }
            keep.push((key, b.line, e.logical, e.scripts));
            // what the parse checks outside the text: the scripts on disk (one may have been
            // removed since); the walk over the real servers only for a block that names one
            if e.scripts {
                for_each_script(&v, |sc| validate::check_script_file(sc, &mut diags));
            }
            cfg.virtual_servers.push(v);
            logical += e.logical;
            reuse.reused += 1;
            continue;
        }
        let Some((vs, mut d, n)) = parse_block(path, b, opts) else {
            return full();
        };
        logical += n;
        if let Some(v) = vs {
            if d.is_empty() {
                keep.push((key, b.line, n, has_scripts(&v)));
            }
            cfg.virtual_servers.push(v);
        }
        diags.append(&mut d);
    }
    validate::validate(&mut cfg, &mut diags);
    // the virtual servers validate kept, by their first line
    let at: HashMap<u32, usize> = cfg
        .virtual_servers
        .iter()
        .enumerate()
        .map(|(i, v)| (v.loc.line, i))
        .collect();
    let entries = keep
        .into_iter()
        .filter_map(|(key, line, logical, scripts)| {
            let vs = *at.get(&line)?;
            Some((
                key,
                Entry {
                    vs,
                    line,
                    logical,
                    scripts,
                },
            ))
        })
        .collect();
    let mut sources = SourceMap::default();
    sources.add(path, text);
    let mut loaded = crate::finish_loaded(cfg, sources, diags, logical);
    loaded.blocks = BlockCache { seed, entries };
    loaded.reuse = reuse;
    loaded
}
