//! `include` and its variants: csh-style brace expansion, glob, and the
//! include_check rules of keepalived.conf(5).

use std::path::{Path, PathBuf};

/// The checks of `include_check` (and of includer/includem/includew/...).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IncludeCheck {
    pub readable: bool,
    pub matched: bool,
    pub wildcard_match: bool,
    pub brace_match: bool,
}

impl IncludeCheck {
    pub const ALL: IncludeCheck = IncludeCheck {
        readable: true,
        matched: true,
        wildcard_match: true,
        brace_match: true,
    };

    /// The extra checks an include variant adds to the current level.
    pub fn for_keyword(kw: &str, base: IncludeCheck) -> Option<IncludeCheck> {
        let mut c = base;
        match kw {
            "include" => {}
            "includer" => c.readable = true,
            "includem" => {
                c.matched = true;
                c.readable = true
            }
            "includew" => {
                c.wildcard_match = true;
                c.readable = true
            }
            "includeb" => {
                c.brace_match = true;
                c.readable = true
            }
            "includea" => c = IncludeCheck::ALL,
            _ => return None,
        }
        Some(c)
    }

    /// Apply `include_check [OPTIONS]`; returns the unknown option, if any.
    pub fn apply_options<'a>(&mut self, opts: &[&'a str]) -> Result<(), &'a str> {
        if opts.is_empty() {
            *self = IncludeCheck::ALL;
            return Ok(());
        }
        let mut add = true;
        let mut first = true;
        for o in opts {
            let mut name = *o;
            if let Some(r) = name.strip_prefix('+') {
                add = true;
                name = r;
            } else if let Some(r) = name.strip_prefix('-') {
                add = false;
                name = r;
            } else if first {
                *self = IncludeCheck::default();
            }
            first = false;
            match name {
                "readable" => self.readable = add,
                "match" => self.matched = add,
                "wildcard_match" => self.wildcard_match = add,
                "brace_match" => self.brace_match = add,
                "" => {}
                _ => return Err(o),
            }
            if add && name != "readable" && !name.is_empty() {
                self.readable = true;
            }
        }
        Ok(())
    }
}

/// csh-style brace expansion: `a{b,c{d,e}}f` → `abf acdf acef`. Unbalanced
/// braces are kept literally. The number of results is capped at `limit`.
pub fn expand_braces(s: &str, limit: usize) -> Vec<String> {
    let mut out = Vec::new();
    expand_into(s, &mut out, limit, 0);
    out
}

fn expand_into(s: &str, out: &mut Vec<String>, limit: usize, depth: usize) {
    if out.len() >= limit {
        return;
    }
    let b = s.as_bytes();
    // find first '{' with a matching '}' that contains a top-level ','
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'{' {
            let mut level = 0;
            let mut commas = Vec::new();
            let mut close = None;
            for (j, &c) in b.iter().enumerate().skip(i) {
                match c {
                    b'{' => level += 1,
                    b'}' => {
                        level -= 1;
                        if level == 0 {
                            close = Some(j);
                            break;
                        }
                    }
                    b',' if level == 1 => commas.push(j),
                    _ => {}
                }
            }
            if let Some(close) = close {
                if !commas.is_empty() && depth < 32 {
                    let pre = &s[..i];
                    let post = &s[close + 1..];
                    let mut start = i + 1;
                    let mut parts = Vec::new();
                    for &c in commas.iter().chain(std::iter::once(&close)) {
                        parts.push(&s[start..c]);
                        start = c + 1;
                    }
                    for p in parts {
                        expand_into(&format!("{pre}{p}{post}"), out, limit, depth + 1);
                        if out.len() >= limit {
                            return;
                        }
                    }
                    return;
                }
            }
        }
        i += 1;
    }
    out.push(s.to_string());
}

pub fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// One include pattern after brace expansion, with what it matched.
pub struct Alternative {
    pub pattern: String,
    pub wildcard: bool,
    pub files: Vec<PathBuf>,
}

/// Resolve `pattern` relative to `dir`.
pub fn resolve(pattern: &str, dir: &Path) -> Vec<Alternative> {
    let full = if Path::new(pattern).is_absolute() {
        pattern.to_string()
    } else {
        dir.join(pattern).display().to_string()
    };
    expand_braces(&full, 4096)
        .into_iter()
        .map(|p| {
            let wildcard = has_wildcard(&p);
            let files = if wildcard {
                let mut v: Vec<PathBuf> = glob::glob(&p)
                    .map(|g| g.filter_map(Result::ok).filter(|f| !f.is_dir()).collect())
                    .unwrap_or_default();
                v.sort();
                v
            } else if Path::new(&p).exists() {
                vec![PathBuf::from(&p)]
            } else {
                vec![]
            };
            Alternative {
                pattern: p,
                wildcard,
                files,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn braces_like_csh() {
        assert_eq!(
            expand_braces("{foo/{,cat,dog},bar}", 100),
            vec!["foo/", "foo/cat", "foo/dog", "bar"]
        );
        assert_eq!(
            expand_braces("a{b,c}d{1,2}", 100),
            vec!["abd1", "abd2", "acd1", "acd2"]
        );
        assert_eq!(expand_braces("no{brace", 100), vec!["no{brace"]);
        assert_eq!(expand_braces("x{single}y", 100), vec!["x{single}y"]);
    }

    #[test]
    fn brace_expansion_is_bounded() {
        let s = "{a,b}".repeat(40);
        assert_eq!(expand_braces(&s, 1000).len(), 1000);
    }

    #[test]
    fn include_check_options() {
        let mut c = IncludeCheck::default();
        c.apply_options(&[]).unwrap();
        assert_eq!(c, IncludeCheck::ALL);
        let mut c = IncludeCheck::default();
        c.apply_options(&["+match", "-wildcard_match"]).unwrap();
        assert!(c.matched && c.readable && !c.wildcard_match);
        assert_eq!(c.apply_options(&["bogus"]), Err("bogus"));
    }
}
