//! Splitting one logical line of keepalived.conf into tokens.
//!
//! Rules (keepalived.conf(5), "Quoted strings"): whitespace separates tokens;
//! `"` and `'` quote, and a quote may start or end inside a word
//! (`abcd" efg "h` is one token); inside quotes the shell escapes `\a \b \E
//! \f \n \r \t \v \nnn \xHH \cC \C` apply; `{` and `}` outside quotes are
//! tokens of their own. Comments are cut off earlier, by [`strip_comment`],
//! because parameter substitution happens between the two steps.

use crate::diag::{Code, Diagnostic, Loc};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokKind {
    Word,
    Open,
    Close,
}

#[derive(Debug, Clone)]
pub struct Token {
    pub kind: TokKind,
    pub text: String,
    pub loc: Loc,
    /// Some part of the token was quoted.
    pub quoted: bool,
}

fn is_open_dquote(c: char) -> bool {
    c == '"' || c == '\u{201C}' || c == '\u{201D}'
}

fn is_open_squote(c: char) -> bool {
    c == '\'' || c == '\u{2018}' || c == '\u{2019}'
}

fn is_typographic(c: char) -> bool {
    matches!(c, '\u{201C}' | '\u{201D}' | '\u{2018}' | '\u{2019}')
}

fn closes(open: char, c: char) -> bool {
    if open == '"' || open == '\'' {
        c == open
    } else if is_open_dquote(open) {
        matches!(c, '\u{201C}' | '\u{201D}')
    } else {
        matches!(c, '\u{2018}' | '\u{2019}')
    }
}

/// What [`strip_comment`] found.
#[derive(Debug, Default)]
pub struct Stripped<'a> {
    pub text: &'a str,
    /// Character column (1-based) of a `\#` or `\!` that was read as a comment.
    pub escaped_comment: Option<u32>,
}

/// Cut `line` at the first `#` or `!` that is not inside quotes. A `\#` or
/// `\!` (Markdown-escaped comment, as in text copied from a web page) starts
/// a comment too, and is reported.
pub fn strip_comment(line: &str) -> Stripped<'_> {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut prev_backslash_at: Option<(usize, u32)> = None;
    for (col0, (i, c)) in line.char_indices().enumerate() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if closes(q, c) {
                quote = None;
            }
            continue;
        }
        match c {
            '#' | '!' => {
                if let Some((bi, bcol)) = prev_backslash_at {
                    if bi + 1 == i {
                        return Stripped {
                            text: &line[..bi],
                            escaped_comment: Some(bcol),
                        };
                    }
                }
                return Stripped {
                    text: &line[..i],
                    escaped_comment: None,
                };
            }
            '\\' => prev_backslash_at = Some((i, col0 as u32 + 1)),
            c if is_open_dquote(c) || is_open_squote(c) => quote = Some(c),
            _ => {}
        }
    }
    Stripped {
        text: line,
        escaped_comment: None,
    }
}

/// A space that is not ASCII (U+00A0 no-break space, pasted from web pages): lvsd reads it as
/// a space; keepalived 2.2.7 splits words on ASCII spaces only, so for it the character is part
/// of a word. The diagnostic says what keepalived does with this line.
pub fn unicode_space(text: &str, c: char, loc: Loc) -> Diagnostic {
    let mut words = text.split([' ', '\t']).filter(|w| !w.is_empty());
    let first = words.next().unwrap_or_default();
    let effect = if first.chars().any(|c| c.is_whitespace()) {
        format!(
            "keepalived 2.2.7 reads `{}` as one unknown keyword and ignores this line",
            first.escape_default()
        )
    } else {
        let arg = words
            .find(|w| w.chars().any(|c| c.is_whitespace()))
            .unwrap_or_default();
        format!(
            "keepalived 2.2.7 reads `{}` as one argument",
            arg.escape_default()
        )
    };
    Diagnostic::new(
        Code::UnicodeSpace,
        Some(loc),
        format!(
            "U+{:04X} ({}) read as a space; {effect}",
            c as u32,
            if c == '\u{a0}' {
                "no-break space"
            } else {
                "a non-ASCII space"
            }
        ),
    )
    .with_hint("replace it with a plain space (web pages and word processors insert it)")
}

/// Tokenize `text`. `base` is the location of the text's first character;
/// columns advance from it.
pub fn tokenize(text: &str, base: Loc, diags: &mut Vec<Diagnostic>) -> Vec<Token> {
    let mut toks = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let at = |col: usize, len: usize| Loc {
        file: base.file,
        line: base.line,
        col: base.col + col as u32,
        len: len.max(1) as u32,
    };
    let mut i = 0;
    let mut warned_typo = false;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '{' || c == '}' {
            toks.push(Token {
                kind: if c == '{' {
                    TokKind::Open
                } else {
                    TokKind::Close
                },
                text: c.to_string(),
                loc: at(i, 1),
                quoted: false,
            });
            i += 1;
            continue;
        }
        // A word, possibly with quoted parts.
        let start = i;
        let mut word = String::new();
        let mut quoted = false;
        while i < chars.len() {
            let c = chars[i];
            if c.is_whitespace() || c == '{' || c == '}' {
                break;
            }
            if c == '$' && chars.get(i + 1) == Some(&'{') {
                // An unreplaced ${NAME}: keep it whole.
                if let Some(end) = chars[i..].iter().position(|&x| x == '}') {
                    word.extend(&chars[i..i + end + 1]);
                    i += end + 1;
                    continue;
                }
            }
            if is_open_dquote(c) || is_open_squote(c) {
                if is_typographic(c) && !warned_typo {
                    warned_typo = true;
                    diags.push(
                        Diagnostic::new(
                            Code::TypographicQuote,
                            Some(at(i, 1)),
                            format!("typographic quote `{c}` read as a plain quote"),
                        )
                        .with_hint("use straight quotes \" or ' (word processors and web pages replace them)"),
                    );
                }
                quoted = true;
                let open_at = i;
                i += 1;
                let mut closed = false;
                while i < chars.len() {
                    let d = chars[i];
                    if closes(c, d) {
                        closed = true;
                        i += 1;
                        break;
                    }
                    if d == '\\' && i + 1 < chars.len() {
                        i = unescape(&chars, i + 1, &mut word);
                        continue;
                    }
                    word.push(d);
                    i += 1;
                }
                if !closed {
                    // keepalived 2.2.7 crashes on an unterminated quote in a script line; on
                    // any other it reads up to the end of the line and runs
                    let keyword = toks.first().map(|t: &Token| t.text.as_str()).unwrap_or("");
                    let script = keyword == "script"
                        || keyword.starts_with("notify")
                        || keyword.starts_with("quorum_")
                        || keyword.ends_with("_script")
                        || keyword == "misc_path";
                    let mut d = Diagnostic::new(
                        Code::UnterminatedQuote,
                        Some(at(open_at, 1)),
                        if script {
                            format!("quote `{c}` is not closed on this line (keepalived 2.2.7 crashes on it)")
                        } else {
                            format!("quote `{c}` is not closed on this line: read up to the end of the line, as keepalived 2.2.7 reads it")
                        },
                    )
                    .with_hint("close the quote before the end of the line");
                    if !script {
                        d = d.with_severity(crate::diag::Severity::Warning);
                    }
                    diags.push(d);
                }
                continue;
            }
            if c == '\\' {
                if let Some(&n) = chars.get(i + 1) {
                    if n.is_ascii_punctuation() && n != '\\' && n != '$' {
                        diags.push(
                            Diagnostic::new(
                                Code::MarkdownEscape,
                                Some(at(i, 2)),
                                format!("stray backslash before `{n}` outside quotes; read as `{n}`"),
                            )
                            .with_hint("text copied from a Markdown page often carries such escapes: remove the backslash"),
                        );
                        word.push(n);
                        i += 2;
                        continue;
                    }
                }
            }
            word.push(c);
            i += 1;
        }
        toks.push(Token {
            kind: TokKind::Word,
            text: word,
            loc: at(start, i - start),
            quoted,
        });
    }
    toks
}

/// Decode one escape whose first character (after the backslash) is at `i`;
/// push the result and return the index after it.
fn unescape(chars: &[char], i: usize, out: &mut String) -> usize {
    let c = chars[i];
    let simple = match c {
        'a' => Some('\x07'),
        'b' => Some('\x08'),
        'E' | 'e' => Some('\x1b'),
        'f' => Some('\x0c'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\x0b'),
        _ => None,
    };
    if let Some(s) = simple {
        out.push(s);
        return i + 1;
    }
    match c {
        '0'..='7' => {
            let mut v = 0u32;
            let mut j = i;
            while j < chars.len() && j < i + 3 && ('0'..='7').contains(&chars[j]) {
                v = v * 8 + chars[j].to_digit(8).unwrap_or(0);
                j += 1;
            }
            out.push(char::from_u32(v & 0xff).unwrap_or('?'));
            j
        }
        'x' => {
            let mut v = 0u32;
            let mut j = i + 1;
            while j < chars.len() && j < i + 3 && chars[j].is_ascii_hexdigit() {
                v = v * 16 + chars[j].to_digit(16).unwrap_or(0);
                j += 1;
            }
            if j == i + 1 {
                out.push('x');
            } else {
                out.push(char::from_u32(v).unwrap_or('?'));
            }
            j
        }
        'c' if i + 1 < chars.len() => {
            let ctl = (chars[i + 1] as u32) & 0x1f;
            out.push(char::from_u32(ctl).unwrap_or('?'));
            i + 2
        }
        other => {
            out.push(other);
            i + 1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        let mut d = Vec::new();
        tokenize(s, Loc::default(), &mut d)
            .into_iter()
            .map(|t| t.text)
            .collect()
    }

    #[test]
    fn comments_anywhere_outside_quotes() {
        assert_eq!(strip_comment("a b # c").text, "a b ");
        assert_eq!(strip_comment("a b ! c").text, "a b ");
        assert_eq!(strip_comment("a \"b # c\" d # e").text, "a \"b # c\" d ");
        assert_eq!(strip_comment("a 'b ! c'").text, "a 'b ! c'");
        let s = strip_comment("\\# 通知邮件");
        assert_eq!(s.text, "");
        assert_eq!(s.escaped_comment, Some(1));
    }

    #[test]
    fn quotes_join_and_group() {
        assert_eq!(
            words("abcd\" efg h jkl \"mnop"),
            vec!["abcd efg h jkl mnop"]
        );
        assert_eq!(
            words("abcd \"efg h jkl\" mnop"),
            vec!["abcd", "efg h jkl", "mnop"]
        );
        assert_eq!(words("'a b' c"), vec!["a b", "c"]);
    }

    #[test]
    fn escapes_in_quotes() {
        assert_eq!(
            words(r#""\a\b\E\f\n\r\t\v\101\x41\cA\q\\\"""#),
            vec!["\x07\x08\x1b\x0c\n\r\t\x0bAA\x01q\\\""]
        );
        // the man page's example: \\x20 stays \x20, f\x69le becomes file
        assert_eq!(
            words(r#""' spaces\\x20f\x69le '""#),
            vec![r"' spaces\x20file '"]
        );
    }

    #[test]
    fn braces_split_words() {
        assert_eq!(
            words("authentication { auth_type PASS }"),
            vec!["authentication", "{", "auth_type", "PASS", "}"]
        );
        assert_eq!(words("VI_1{"), vec!["VI_1", "{"]);
        assert_eq!(words("\"{\""), vec!["{"]);
        assert_eq!(words("${UNDEF}x"), vec!["${UNDEF}x"]);
    }

    #[test]
    fn typographic_quotes_are_quotes_with_a_warning() {
        let mut d = Vec::new();
        let t = tokenize(
            "notify_backup   “/etc/init.d/real-server start”",
            Loc::default(),
            &mut d,
        );
        assert_eq!(t[1].text, "/etc/init.d/real-server start");
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, Code::TypographicQuote);
    }

    #[test]
    fn unterminated_quote_is_an_error() {
        let mut d = Vec::new();
        let t = tokenize("script \"abc def", Loc::default(), &mut d);
        assert_eq!(t[1].text, "abc def");
        assert_eq!(d[0].code, Code::UnterminatedQuote);
    }

    #[test]
    fn markdown_escape_is_unescaped_with_a_warning() {
        let mut d = Vec::new();
        let t = tokenize("your-email\\@qq.com", Loc::default(), &mut d);
        assert_eq!(t[0].text, "your-email@qq.com");
        assert_eq!(d[0].code, Code::MarkdownEscape);
    }

    #[test]
    fn columns_are_characters() {
        let mut d = Vec::new();
        let t = tokenize(
            "从为 SLAVE",
            Loc {
                line: 3,
                col: 5,
                ..Loc::default()
            },
            &mut d,
        );
        assert_eq!(t[0].loc.col, 5);
        assert_eq!(t[1].loc.col, 8);
        assert_eq!(t[1].loc.len, 5);
    }
}
