//! From files to logical lines: comments, `include`, `@conditional` lines,
//! `$PARAMETERS`, multi-line parameters and the `~SEQ`/`~LST` generators
//! (keepalived.conf(5), "ADVANCED CONFIGURATION").
//!
//! Everything here is bounded: include depth, parameter recursion, line length
//! and the total number of lines a configuration may expand to. Exceeding a
//! bound is an error diagnostic, never a hang or a stack overflow.

use crate::diag::{Code, Diagnostic, Loc};
use crate::include::{self, IncludeCheck};
use crate::lexer::strip_comment;
use crate::source::SourceMap;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Limits that keep a hostile or mistaken configuration from hanging us.
pub const MAX_INCLUDE_DEPTH: usize = 32;
pub const MAX_EXPANSION_DEPTH: usize = 64;
pub const MAX_SUBSTITUTION_PASSES: usize = 64;
pub const MAX_LINE_LEN: usize = 1 << 20;
pub const MAX_LINES: usize = 5_000_000;

/// Options of one read.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// The config id that `@ID` lines are compared with (default: short host name).
    pub config_id: String,
    /// Seed of `${_RANDOM}`.
    pub random_seed: u64,
}

/// One logical line, ready for the tokenizer.
#[derive(Debug, Clone)]
pub struct LogicalLine {
    /// Where the text starts. When `expanded` is false, columns of tokens map
    /// to columns of the source line.
    pub loc: Loc,
    pub text: String,
    /// The text came out of a parameter, a generator or a multi-line parameter.
    pub expanded: bool,
}

#[derive(Debug, Clone)]
enum Param {
    Single(String),
    Multi(Vec<String>),
}

pub struct Reader<'a> {
    pub sources: &'a mut SourceMap,
    pub diags: &'a mut Vec<Diagnostic>,
    opts: ReadOptions,
    params: HashMap<String, Param>,
    warned_undefined: HashSet<String>,
    pub out: Vec<LogicalLine>,
    stack: Vec<PathBuf>,
    dirs: Vec<PathBuf>,
    processed: usize,
    aborted: bool,
    rng: u64,
    /// The line number of the first line read (`read_part`).
    first_line: u32,
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `$NAME=VALUE` → (NAME, VALUE).
fn parse_def(s: &str) -> Option<(&str, &str)> {
    let rest = s.strip_prefix('$')?;
    let eq = rest.find('=')?;
    let name = &rest[..eq];
    let mut cs = name.chars();
    if !cs.next().is_some_and(is_name_start) || !cs.all(is_name_char) {
        return None;
    }
    Some((name, rest[eq + 1..].trim()))
}

/// `$NAME` or `${NAME}` alone → NAME.
fn lone_param(s: &str) -> Option<&str> {
    let n = if let Some(r) = s.strip_prefix("${") {
        r.strip_suffix('}')?
    } else {
        s.strip_prefix('$')?
    };
    let mut cs = n.chars();
    (cs.next().is_some_and(is_name_start) && cs.all(is_name_char)).then_some(n)
}

impl<'a> Reader<'a> {
    pub fn new(
        sources: &'a mut SourceMap,
        diags: &'a mut Vec<Diagnostic>,
        opts: ReadOptions,
    ) -> Self {
        let rng = opts.random_seed | 1;
        Reader {
            sources,
            diags,
            opts,
            params: HashMap::new(),
            warned_undefined: HashSet::new(),
            out: Vec::new(),
            stack: Vec::new(),
            dirs: Vec::new(),
            processed: 0,
            aborted: false,
            rng,
            first_line: 1,
        }
    }

    fn diag(&mut self, code: Code, loc: Loc, msg: impl Into<String>, hint: Option<&str>) {
        let mut d = Diagnostic::new(code, Some(loc), msg);
        d.hint = hint.map(str::to_string);
        self.diags.push(d);
    }

    /// Read the top-level file.
    pub fn read_root(&mut self, path: &Path) -> bool {
        match std::fs::read(path) {
            Ok(bytes) => {
                self.read_bytes(path, &bytes, IncludeCheck::default(), None);
                true
            }
            Err(e) => {
                self.diags.push(
                    Diagnostic::new(
                        Code::FileError,
                        None,
                        format!("cannot read {}: {e}", path.display()),
                    )
                    .with_hint("give the configuration file with -f FILE"),
                );
                false
            }
        }
    }

    /// Read configuration text that did not come from a file (tests, fuzzing).
    pub fn read_text(&mut self, name: &Path, text: &[u8]) {
        self.read_bytes(name, text, IncludeCheck::default(), None);
    }

    /// Read whole lines of a file that start on its line `first_line` (a part read on its
    /// own: crate::blocks).
    pub fn read_part(&mut self, name: &Path, text: &[u8], first_line: u32) {
        self.first_line = first_line;
        self.read_bytes(name, text, IncludeCheck::default(), None);
        self.first_line = 1;
    }

    fn read_bytes(
        &mut self,
        path: &Path,
        bytes: &[u8],
        mut check: IncludeCheck,
        _from: Option<Loc>,
    ) {
        let text = String::from_utf8_lossy(bytes).into_owned();
        let file = self.sources.add(path, text);
        if std::str::from_utf8(bytes).is_err() {
            let line = match std::str::from_utf8(bytes) {
                Err(e) => {
                    bytes[..e.valid_up_to()]
                        .iter()
                        .filter(|&&b| b == b'\n')
                        .count() as u32
                        + 1
                }
                Ok(_) => 1,
            };
            self.diag(
                Code::InvalidUtf8,
                Loc {
                    file,
                    line,
                    col: 1,
                    len: 1,
                },
                "the file is not valid UTF-8; invalid bytes were replaced by U+FFFD",
                Some("save the file as UTF-8"),
            );
        }
        let canon = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        self.stack.push(canon);
        let dir = path
            .parent()
            .map(|p| {
                if p.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    p
                }
            })
            .unwrap_or(Path::new("."))
            .to_path_buf();
        self.dirs.push(dir);
        let text = self
            .sources
            .get(file)
            .map(|f| f.text.clone())
            .unwrap_or_default();
        let lines: Vec<&str> = text
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .collect();
        let mut i = 0;
        let mut escaped_comments = 0usize;
        let mut first_escaped = 0usize;
        while i < lines.len() && !self.aborted {
            let lineno = i as u32 + self.first_line;
            let loc = Loc {
                file,
                line: lineno,
                col: 1,
                len: 1,
            };
            let stripped = strip_comment(lines[i]);
            if stripped.escaped_comment.is_some() {
                escaped_comments += 1;
            }
            if let (Some(col), 1) = (stripped.escaped_comment, escaped_comments) {
                first_escaped = self.diags.len();
                self.diag(
                    Code::MarkdownEscape,
                    Loc { col, len: 2, ..loc },
                    "`\\#` (or `\\!`) read as the start of a comment",
                    Some("text copied from a Markdown page often carries such escapes: remove the backslash"),
                );
            }
            if let Some((col, c)) = stripped
                .text
                .chars()
                .enumerate()
                .find(|(_, c)| c.is_whitespace() && !c.is_ascii())
            {
                let at = Loc {
                    col: col as u32 + 1,
                    ..loc
                };
                self.diags
                    .push(crate::lexer::unicode_space(stripped.text, c, at));
            }
            let text = stripped.text.trim_end().to_string();
            i += 1;
            // Multi-line parameter definition: `$NAME= \` then lines ending in `\`.
            let t = text.trim_start();
            let t_uncond = self.conditional(t, loc).map(str::to_string);
            if let Some(tu) = &t_uncond {
                if let Some((name, first)) = parse_def(tu) {
                    if let Some(first) = first.strip_suffix('\\') {
                        let name = name.to_string();
                        let mut body = Vec::new();
                        if !first.trim().is_empty() {
                            body.push(first.trim().to_string());
                        }
                        while i < lines.len() {
                            let l = strip_comment(lines[i]).text.trim().to_string();
                            i += 1;
                            if let Some(cont) = l.strip_suffix('\\') {
                                if !cont.trim().is_empty() {
                                    body.push(cont.trim().to_string());
                                }
                            } else {
                                if !l.is_empty() {
                                    body.push(l);
                                }
                                break;
                            }
                        }
                        self.params.insert(name, Param::Multi(body));
                        continue;
                    }
                }
            } else {
                continue; // conditional line for another config id
            }
            // include and include_check are recognised before anything else.
            let mut words = t.split_whitespace();
            let first = words.next().unwrap_or("");
            if let Some(c) = IncludeCheck::for_keyword(first, check) {
                let args: Vec<&str> = words.collect();
                self.include(&args, c, loc);
                continue;
            }
            if first == "include_check" {
                let args: Vec<&str> = words.collect();
                if let Err(bad) = check.apply_options(&args) {
                    self.diag(
                        Code::InvalidValue,
                        loc,
                        format!("unknown include_check option `{bad}`"),
                        Some("options: readable, match, wildcard_match, brace_match (with + or -)"),
                    );
                }
            }
            let col = (text.chars().count() - t.chars().count()) as u32 + 1;
            self.process(t.to_string(), Loc { col, ..loc }, 0, false);
        }
        if escaped_comments > 1 {
            if let Some(d) = self.diags.get_mut(first_escaped) {
                d.message.push_str(&format!(
                    " (and on {} more lines of this file)",
                    escaped_comments - 1
                ));
            }
        }
        self.stack.pop();
        self.dirs.pop();
    }

    fn include(&mut self, args: &[&str], check: IncludeCheck, loc: Loc) {
        let Some(pat) = args.first() else {
            self.diag(
                Code::MissingArgument,
                loc,
                "include needs a file name",
                None,
            );
            return;
        };
        let pat = pat.trim_matches(['"', '\'']);
        if args.len() > 1 {
            self.diag(
                Code::ExtraArguments,
                loc,
                format!(
                    "include takes one file name; `{}` ignored",
                    args[1..].join(" ")
                ),
                Some("quote a file name that contains spaces"),
            );
        }
        let dir = self
            .dirs
            .last()
            .cloned()
            .unwrap_or_else(|| PathBuf::from("."));
        let alts = include::resolve(pat, &dir);
        let braced = alts.len() > 1;
        let mut any = false;
        let mut files = Vec::new();
        for a in &alts {
            any |= !a.files.is_empty();
            if a.files.is_empty() {
                let fail = if a.wildcard {
                    check.wildcard_match
                } else {
                    check.matched || (braced && check.brace_match) || (!braced && check.readable)
                };
                if fail {
                    self.diag(
                        Code::IncludeError,
                        loc,
                        format!("include: no file matches `{}`", a.pattern),
                        Some(
                            "the include_check level (or the include variant) makes this an error",
                        ),
                    );
                }
            }
            files.extend(a.files.iter().cloned());
        }
        if !any && !check.matched && !check.wildcard_match && !check.brace_match && !check.readable
        {
            self.diag(
                Code::IncludeNoMatch,
                loc,
                format!("include: no file matches `{pat}`; nothing was included"),
                Some("keepalived ignores this silently; use includea to make it an error"),
            );
        }
        for f in files {
            if self.aborted {
                return;
            }
            let canon = std::fs::canonicalize(&f).unwrap_or_else(|_| f.clone());
            if self.stack.contains(&canon) {
                self.diag(
                    Code::IncludeLoop,
                    loc,
                    format!(
                        "include loop: {} includes itself; this include is skipped",
                        f.display()
                    ),
                    Some("remove the include that leads back to a file being read"),
                );
                continue;
            }
            if self.stack.len() >= MAX_INCLUDE_DEPTH {
                self.diag(
                    Code::IncludeLoop,
                    loc,
                    format!("includes nested more than {MAX_INCLUDE_DEPTH} deep; this include is skipped"),
                    None,
                );
                continue;
            }
            match std::fs::read(&f) {
                Ok(bytes) => self.read_bytes(&f, &bytes, check, Some(loc)),
                Err(e) => {
                    let code = if check.readable {
                        Code::IncludeError
                    } else {
                        Code::IncludeNoMatch
                    };
                    self.diag(
                        code,
                        loc,
                        format!("include: cannot read {}: {e}", f.display()),
                        None,
                    );
                }
            }
        }
    }

    /// Evaluate a leading `@ID` / `@^ID`. None = the line is for another id.
    fn conditional<'s>(&self, s: &'s str, _loc: Loc) -> Option<&'s str> {
        let Some(rest) = s.strip_prefix('@') else {
            return Some(s);
        };
        let (neg, rest) = match rest.strip_prefix('^') {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let id = &rest[..end];
        let matches = id == self.opts.config_id;
        (matches != neg).then(|| rest[end..].trim_start())
    }

    fn budget(&mut self, loc: Loc) -> bool {
        self.processed += 1;
        if self.processed > MAX_LINES && !self.aborted {
            self.aborted = true;
            self.diag(
                Code::GeneratorError,
                loc,
                format!(
                    "the configuration expands to more than {MAX_LINES} lines; reading stopped"
                ),
                Some("check ~SEQ/~LST ranges and multi-line parameters for runaway expansion"),
            );
            // a file cut off here is not what anyone meant to run
            if let Some(d) = self.diags.last_mut() {
                d.severity = crate::diag::Severity::Error;
            }
        }
        !self.aborted
    }

    /// Process one line: conditionals, definitions, generators, multi-line
    /// parameters and substitution; emit what remains.
    fn process(&mut self, text: String, loc: Loc, depth: usize, expanded: bool) {
        if !self.budget(loc) {
            return;
        }
        if depth > MAX_EXPANSION_DEPTH {
            self.diag(
                Code::ParamRecursion,
                loc,
                format!("parameters and generators nest more than {MAX_EXPANSION_DEPTH} deep"),
                Some("a multi-line parameter probably uses itself"),
            );
            return;
        }
        let mut s = text;
        let mut loc = loc;
        let mut expanded = expanded;
        for pass in 0.. {
            let t = s.trim();
            if t.is_empty() {
                return;
            }
            let lead = (s.chars().count() - s.trim_start().chars().count()) as u32;
            let trimmed_len = t.chars().count() as u32;
            let Some(t) = self.conditional(t, loc) else {
                return;
            };
            if !expanded {
                // t is a suffix of the trimmed text: shift the column by what was cut
                loc.col += lead + trimmed_len - t.chars().count() as u32;
            }
            let t = t.to_string();
            if let Some((name, value)) = parse_def(&t) {
                self.params
                    .insert(name.to_string(), Param::Single(value.to_string()));
                return;
            }
            if t.starts_with("~SEQ") || t.starts_with("~LST") {
                self.generator(&t, loc, depth);
                return;
            }
            if let Some(name) = lone_param(&t) {
                if let Some(Param::Multi(lines)) = self.params.get(name).cloned() {
                    for l in lines {
                        self.process(l, loc, depth + 1, true);
                        if self.aborted {
                            return;
                        }
                    }
                    return;
                }
            }
            let sub = self.substitute(&t, loc);
            if sub.len() > MAX_LINE_LEN {
                self.diag(
                    Code::ParamRecursion,
                    loc,
                    format!("a line grows beyond {MAX_LINE_LEN} bytes by parameter substitution"),
                    Some("a parameter probably refers to itself"),
                );
                return;
            }
            if sub == t {
                s = t;
                break;
            }
            if pass >= MAX_SUBSTITUTION_PASSES {
                self.diag(
                    Code::ParamRecursion,
                    loc,
                    "parameter substitution does not terminate (a parameter refers to itself)",
                    Some("break the cycle between the $PARAMETER definitions"),
                );
                return;
            }
            s = sub;
            expanded = true;
        }
        self.out.push(LogicalLine {
            loc,
            text: s,
            expanded,
        });
    }

    fn builtin(&mut self, body: &str) -> Option<String> {
        let mut parts = body.split_whitespace();
        let name = parts.next()?;
        Some(match name {
            "_PWD" => self
                .dirs
                .last()
                .map(|d| {
                    std::fs::canonicalize(d)
                        .unwrap_or_else(|_| d.clone())
                        .display()
                        .to_string()
                })
                .unwrap_or_default(),
            "_INSTANCE" => self.opts.config_id.clone(),
            "_HASH" => "#".into(),
            "_BANG" => "!".into(),
            "_ENV" => parts
                .next()
                .and_then(|v| std::env::var(v).ok())
                .unwrap_or_default(),
            "_RANDOM" => {
                let min: u64 = parts.next().and_then(|v| v.parse().ok()).unwrap_or(0);
                let max: u64 = parts.next().and_then(|v| v.parse().ok()).unwrap_or(32767);
                // xorshift64*: reproducible with random_seed
                self.rng ^= self.rng >> 12;
                self.rng ^= self.rng << 25;
                self.rng ^= self.rng >> 27;
                let r = self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D);
                let span = max.saturating_sub(min).saturating_add(1);
                (min + r % span.max(1)).to_string()
            }
            _ => return None,
        })
    }

    /// One pass of substitution of `${NAME}` and `$NAME<whitespace|end>`.
    fn substitute(&mut self, s: &str, loc: Loc) -> String {
        if !s.contains('$') {
            return s.to_string();
        }
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(p) = rest.find('$') {
            out.push_str(&rest[..p]);
            let after = &rest[p + 1..];
            if let Some(inner) = after.strip_prefix('{') {
                if let Some(close) = inner.find('}') {
                    let body = &inner[..close];
                    let value = if body.starts_with('_') {
                        self.builtin(body)
                    } else {
                        match self.params.get(body) {
                            Some(Param::Single(v)) => Some(v.clone()),
                            Some(Param::Multi(v)) => Some(v.join(" ")),
                            None => None,
                        }
                    };
                    match value {
                        Some(v) => out.push_str(&v),
                        None => {
                            if self.warned_undefined.insert(body.to_string()) {
                                self.diag(
                                    Code::UndefinedParameter,
                                    loc,
                                    format!(
                                        "parameter `${{{body}}}` is not defined; left as it is"
                                    ),
                                    Some("define it before use with $NAME=value"),
                                );
                            }
                            out.push_str(&rest[p..p + 2 + close + 1]);
                        }
                    }
                    rest = &inner[close + 1..];
                    continue;
                }
            }
            let name_len = after
                .char_indices()
                .take_while(|&(i, c)| {
                    if i == 0 {
                        is_name_start(c)
                    } else {
                        is_name_char(c)
                    }
                })
                .count();
            let name = &after[..name_len];
            let next = after[name_len..].chars().next();
            if name_len > 0 && next.is_none_or(char::is_whitespace) {
                if let Some(Param::Single(v)) = self.params.get(name) {
                    out.push_str(&v.clone());
                    rest = &after[name_len..];
                    continue;
                }
            }
            out.push('$');
            rest = after;
        }
        out.push_str(rest);
        out
    }

    fn generator(&mut self, t: &str, loc: Loc, depth: usize) {
        let (kind, after) = if let Some(r) = t.strip_prefix("~SEQx(") {
            ("SEQx", r)
        } else if let Some(r) = t.strip_prefix("~SEQ(") {
            ("SEQ", r)
        } else if let Some(r) = t.strip_prefix("~LST(") {
            ("LST", r)
        } else {
            self.diag(
                Code::GeneratorError,
                loc,
                format!("unknown generator in `{t}`; the line is not read"),
                Some("use ~SEQ(...), ~SEQx(...) or ~LST(...)"),
            );
            return;
        };
        // find the closing parenthesis, skipping {...}
        let mut level = 0i32;
        let mut close = None;
        for (i, c) in after.char_indices() {
            match c {
                '{' => level += 1,
                '}' => level -= 1,
                ')' if level == 0 => {
                    close = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let Some(close) = close else {
            self.diag(
                Code::GeneratorError,
                loc,
                format!("~{kind}( has no closing parenthesis; the line is not read"),
                None,
            );
            return;
        };
        let spec = &after[..close];
        let body = after[close + 1..].trim().to_string();
        let result = if kind == "LST" {
            parse_lst(spec)
        } else {
            parse_seq(spec, kind == "SEQx")
        };
        let (vars, rows) = match result {
            Ok(v) => v,
            Err(e) => {
                self.diag(
                    Code::GeneratorError,
                    loc,
                    format!("~{kind}({spec}): {e}; the line is not read, as keepalived 2.2.7 does not read it"),
                    Some("see keepalived.conf(5), Sequence blocks and List blocks"),
                );
                return;
            }
        };
        for row in rows {
            for (v, val) in vars.iter().zip(row) {
                self.params.insert(v.clone(), Param::Single(val));
            }
            self.process(body.clone(), loc, depth + 1, true);
            if self.aborted {
                return;
            }
        }
    }
}

type Rows = (Vec<String>, Vec<Vec<String>>);

fn parse_int(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let (neg, u) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t),
    };
    let v = if let Some(h) = u.strip_prefix("0x").or_else(|| u.strip_prefix("0X")) {
        i64::from_str_radix(h, 16)
    } else {
        u.parse::<i64>()
    }
    .map_err(|_| format!("`{t}` is not an integer"))?;
    Ok(if neg { -v } else { v })
}

/// Longest sequence a single ~SEQ may produce.
pub const MAX_SEQ: i64 = 1_000_000;

fn parse_seq(spec: &str, hex: bool) -> Result<Rows, String> {
    let parts: Vec<&str> = spec.split(',').map(str::trim).collect();
    let var = parts[0];
    if var.is_empty() || !var.chars().all(is_name_char) {
        return Err(format!("`{var}` is not a variable name"));
    }
    let nums = parts[1..]
        .iter()
        .map(|p| parse_int(p))
        .collect::<Result<Vec<_>, _>>()?;
    let (start, step, end) = match nums.as_slice() {
        [end] => {
            let start = (*end).signum();
            (start, if *end >= start { 1 } else { -1 }, *end)
        }
        [start, end] => (*start, if end >= start { 1 } else { -1 }, *end),
        [start, step, end] => (*start, *step, *end),
        _ => return Err("expected (var, [start,] [step,] end)".into()),
    };
    if step == 0 {
        return Err("step is 0: the sequence would never end".into());
    }
    let count = if (step > 0 && end < start) || (step < 0 && end > start) {
        0
    } else {
        (end as i128 - start as i128) / step as i128 + 1
    };
    if count > MAX_SEQ as i128 {
        return Err(format!("{count} values is more than the {MAX_SEQ} allowed"));
    }
    let rows = (0..count as i64)
        .map(|k| {
            let v = start + k * step;
            vec![if hex {
                if v < 0 {
                    format!("-{:x}", -v)
                } else {
                    format!("{v:x}")
                }
            } else {
                v.to_string()
            }]
        })
        .collect();
    Ok((vec![var.to_string()], rows))
}

/// Split at top-level commas (outside `{...}`).
fn split_top(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut level = 0;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '{' => level += 1,
            '}' => level -= 1,
            ',' if level == 0 => {
                out.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(s[start..].trim());
    out
}

fn group(s: &str) -> Vec<String> {
    match s.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
        Some(inner) => inner.split(',').map(|x| x.trim().to_string()).collect(),
        None => vec![s.to_string()],
    }
}

fn parse_lst(spec: &str) -> Result<Rows, String> {
    let parts = split_top(spec);
    let vars = group(parts[0]);
    if vars
        .iter()
        .any(|v| v.is_empty() || !v.chars().all(is_name_char))
    {
        return Err(format!(
            "`{}` is not a variable name or a {{...}} list of them",
            parts[0]
        ));
    }
    if parts.len() < 2 {
        return Err("no values".into());
    }
    let mut rows = Vec::new();
    for p in &parts[1..] {
        let vals = group(p);
        if vals.len() != vars.len() {
            return Err(format!(
                "`{p}` has {} values for {} variables",
                vals.len(),
                vars.len()
            ));
        }
        rows.push(vals);
    }
    Ok((vars, rows))
}
