//! The keepalived.conf language for lvsd: reading (includes, conditionals,
//! parameters, generators), the block tree, the typed model with
//! keepalived's defaults, and diagnostics with file:line:col.
//!
//! ```no_run
//! let loaded = lvsd_config::load_file("/etc/keepalived/keepalived.conf".as_ref(), &Default::default());
//! for d in &loaded.diagnostics { eprintln!("{}", lvsd_config::render::human(d, false)); }
//! ```

pub mod blocks;
pub mod colocated;
pub mod diag;
pub mod include;
pub mod lexer;
pub mod model;
mod parse;
pub mod reader;
pub mod render;
pub mod schema;
pub mod source;
pub mod suggest;
pub mod tree;
pub mod validate;
mod vip_source;

pub use diag::{Code, Diagnostic, Loc, Severity};
pub use model::Config;
pub use source::SourceMap;

use std::path::Path;

/// Options of a load.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// The config id for `@ID` lines; None = the short host name.
    pub config_id: Option<String>,
}

/// The result of reading a configuration.
#[derive(Debug)]
pub struct Loaded {
    /// The typed configuration (also when there are errors: as far as it could be read).
    pub config: Config,
    pub diagnostics: Vec<Diagnostic>,
    pub sources: SourceMap,
    /// Number of logical lines after all expansion.
    pub logical_lines: usize,
    /// What the next load can reuse ([`blocks::load_file_reusing`]; empty after a full load).
    pub blocks: blocks::BlockCache,
    /// How much of this load was reused from the previous one.
    pub reuse: blocks::Reuse,
}

impl Loaded {
    /// The errors rendered as `lvsd check` shows them (no colour) with the summary line; None
    /// when there is none (the configuration runs). The one rendering of "refused" that
    /// `lvsd run`, `reload` and `ipvs apply` print.
    pub fn error_report(&self) -> Option<String> {
        let mut errors = self
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .peekable();
        errors.peek()?;
        let mut text: String = errors.map(|d| render::human(d, false)).collect();
        text += &render::summary(&self.diagnostics);
        Some(text)
    }
}

impl Loaded {
    /// Adds diagnostics found after loading (e.g. about this host), with their file and source
    /// line, in place order.
    pub fn add(&mut self, diags: Vec<Diagnostic>) {
        for mut d in diags {
            if let Some(loc) = d.loc {
                d.file = Some(self.sources.path(loc.file));
                d.source_line = self
                    .sources
                    .get(loc.file)
                    .and_then(|f| f.line(loc.line))
                    .map(str::to_string);
            }
            self.diagnostics.push(d);
        }
        self.diagnostics.sort_by_key(|d| {
            d.loc
                .map(|l| (l.file, l.line, l.col))
                .unwrap_or((u32::MAX, 0, 0))
        });
    }

    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
    pub fn worst(&self) -> Option<Severity> {
        self.diagnostics.iter().map(|d| d.severity).max()
    }
}

/// The short host name (the default config id, as keepalived's `uname -n` up to the first dot).
pub fn short_hostname() -> String {
    let h = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let h = h.trim();
    h.split('.').next().unwrap_or("").to_string()
}

pub(crate) fn read_options(opts: &LoadOptions) -> reader::ReadOptions {
    reader::ReadOptions {
        config_id: opts.config_id.clone().unwrap_or_else(short_hostname),
        random_seed: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1),
    }
}

/// Read and check the configuration in `path`.
pub fn load_file(path: &Path, opts: &LoadOptions) -> Loaded {
    let mut sources = SourceMap::default();
    let mut diags = Vec::new();
    let lines = {
        let mut r = reader::Reader::new(&mut sources, &mut diags, read_options(opts));
        r.read_root(path);
        std::mem::take(&mut r.out)
    };
    finish(lines, sources, diags)
}

/// Check configuration text (tests, fuzzing); `name` is used in locations and
/// as the base of relative includes.
pub fn load_str(name: &Path, text: &[u8], opts: &LoadOptions) -> Loaded {
    let mut sources = SourceMap::default();
    let mut diags = Vec::new();
    let lines = {
        let mut r = reader::Reader::new(&mut sources, &mut diags, read_options(opts));
        r.read_text(name, text);
        std::mem::take(&mut r.out)
    };
    finish(lines, sources, diags)
}

fn finish(
    lines: Vec<reader::LogicalLine>,
    sources: SourceMap,
    mut diags: Vec<Diagnostic>,
) -> Loaded {
    let logical_lines = lines.len();
    let mut config = Config::default();
    tree::build_streaming(lines, &mut diags, |node, d| {
        parse::top_level(std::slice::from_ref(&node), &mut config, d)
    });
    validate::validate(&mut config, &mut diags);
    finish_loaded(config, sources, diags, logical_lines)
}

/// File names and source lines attached to the diagnostics, ordered by place.
pub(crate) fn finish_loaded(
    config: Config,
    sources: SourceMap,
    mut diags: Vec<Diagnostic>,
    logical_lines: usize,
) -> Loaded {
    for d in &mut diags {
        if let Some(loc) = d.loc {
            d.file = Some(sources.path(loc.file));
            d.source_line = sources
                .get(loc.file)
                .and_then(|f| f.line(loc.line))
                .map(str::to_string);
        }
    }
    diags.sort_by_key(|d| {
        d.loc
            .map(|l| (l.file, l.line, l.col))
            .unwrap_or((u32::MAX, 0, 0))
    });
    Loaded {
        config,
        diagnostics: diags,
        sources,
        logical_lines,
        blocks: blocks::BlockCache::default(),
        reuse: blocks::Reuse::default(),
    }
}

/// The logical lines a configuration text expands to (after comments,
/// includes, conditionals, parameters and generators), with the diagnostics
/// of that step. For tests and for `lvsd check --expand`-style tooling.
pub fn expand_str(name: &Path, text: &[u8], config_id: &str) -> (Vec<String>, Vec<Diagnostic>) {
    let mut sources = SourceMap::default();
    let mut diags = Vec::new();
    let opts = reader::ReadOptions {
        config_id: config_id.to_string(),
        random_seed: 42,
    };
    let mut r = reader::Reader::new(&mut sources, &mut diags, opts);
    r.read_text(name, text);
    let lines = std::mem::take(&mut r.out)
        .into_iter()
        .map(|l| l.text)
        .collect();
    (lines, diags)
}
