//! Diagnostics: every problem found in a configuration, with a stable code,
//! a severity, a location and a hint.

use serde::Serialize;
use std::fmt;

/// How bad a diagnostic is. The order matters: `Error` > `Warning` > `Note`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational: the configuration runs as written.
    Note,
    /// The configuration runs, but not exactly as written.
    Warning,
    /// The daemon would refuse this configuration.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// Where something is: a file of the [`crate::SourceMap`], a 1-based line and
/// a 1-based column counted in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Loc {
    #[serde(skip)]
    pub file: u32,
    pub line: u32,
    pub col: u32,
    /// Width of the marked text in characters (at least 1 when rendered).
    #[serde(skip)]
    pub len: u32,
}

macro_rules! codes {
    ($( $variant:ident = $name:literal, $sev:ident; )*) => {
        /// Stable diagnostic codes. The string form is part of lvsd's interface
        /// (JSON output, tests, documentation): never rename one.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code { $( $variant, )* }

        impl Code {
            /// The stable name, e.g. `unknown-keyword`.
            pub fn name(self) -> &'static str {
                match self { $( Code::$variant => $name, )* }
            }
            /// The severity a diagnostic with this code has (before `--strict`).
            pub fn severity(self) -> Severity {
                match self { $( Code::$variant => Severity::$sev, )* }
            }
            /// Every code, for documentation and tests.
            pub const ALL: &'static [Code] = &[ $( Code::$variant, )* ];
        }
    };
}

codes! {
    // --- errors: the configuration would not run (keepalived 2.2.7 stops, crashes or hangs on
    // these too, or they are lvsd's own keywords): lvsd refuses to start or reload
    UnterminatedQuote = "unterminated-quote", Error;
    TooDeep = "nesting-too-deep", Error;
    MissingArgument = "missing-argument", Error;
    MissingRequired = "missing-required", Error;
    DuplicateVrid = "duplicate-vrid", Error;
    ParamRecursion = "parameter-recursion", Error;
    FileError = "file-error", Error;
    // an include that the include_check level (or includea/includer/...) asked to be checked
    IncludeError = "include-error", Error;
    ColocatedWithoutVrrp = "colocated-without-vrrp", Error;
    // --- warnings: it runs, but not as written. The first group were errors before issue 21:
    // keepalived 2.2.7 runs such a file (it ignores the line or skips the block), so lvsd
    // runs it the same way and the message says what is lost; `--strict` refuses them
    UnclosedBlock = "unclosed-block", Warning;
    MissingCloseBrace = "missing-close-brace", Warning;
    UnexpectedCloseBrace = "unexpected-close-brace", Warning;
    UnexpectedOpenBrace = "unexpected-open-brace", Warning;
    BlockExpected = "block-expected", Warning;
    InvalidAddress = "invalid-address", Warning;
    InvalidNumber = "invalid-number", Warning;
    OutOfRange = "out-of-range", Warning;
    InvalidValue = "invalid-value", Warning;
    DuplicateName = "duplicate-name", Warning;
    UndefinedReference = "undefined-reference", Warning;
    IncludeLoop = "include-loop", Warning;
    GeneratorError = "generator-error", Warning;
    // --- warnings: it runs, but not as written
    UnknownKeyword = "unknown-keyword", Warning;
    ExtraArguments = "extra-arguments", Warning;
    UnexpectedBlock = "unexpected-block", Warning;
    TypographicQuote = "typographic-quote", Warning;
    UnicodeSpace = "unicode-space", Warning;
    // lvsd reads the line differently from keepalived 2.2.7 on purpose; the message says
    // what keepalived does with it
    KeepalivedDiffers = "keepalived-differs", Warning;
    MarkdownEscape = "markdown-escape", Warning;
    DeprecatedAlias = "deprecated-alias", Warning;
    NopreemptWithMaster = "nopreempt-with-master", Warning;
    FwmarkProtocol = "fwmark-protocol", Warning;
    ReservedFwmark = "reserved-fwmark", Warning;
    VipAsSource = "vip-as-source", Warning;
    ScriptNotExecutable = "script-not-executable", Warning;
    UnusedScript = "unused-script", Warning;
    DefaultApplied = "default-applied", Warning;
    ValueAdjusted = "value-adjusted", Warning;
    Ignored = "ignored", Warning;
    // runs as written (in keepalived too, which says the same), but is probably not what
    // was meant
    LikelyMistake = "likely-mistake", Warning;
    Overridden = "overridden", Warning;
    UndefinedParameter = "undefined-parameter", Warning;
    IncludeNoMatch = "include-no-match", Warning;
    InvalidUtf8 = "invalid-utf8", Warning;
    // --- notes
    NotImplemented = "not-implemented", Note;
    Colocated = "colocated-director", Note;
}

/// One finding.
#[derive(Debug, Clone, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    #[serde(serialize_with = "ser_code")]
    pub code: Code,
    /// Path of the file (as the user named it, or as an include resolved it).
    pub file: Option<String>,
    #[serde(flatten)]
    pub loc: Option<Loc>,
    pub message: String,
    pub hint: Option<String>,
    /// The source line the location points into (filled in by the loader).
    pub source_line: Option<String>,
}

fn ser_code<S: serde::Serializer>(c: &Code, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(c.name())
}

impl Diagnostic {
    pub fn new(code: Code, loc: Option<Loc>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: code.severity(),
            code,
            file: None,
            loc,
            message: message.into(),
            hint: None,
            source_line: None,
        }
    }

    /// The same finding with another severity (a code's severity is its usual one; a few
    /// sites know better, e.g. a value whose loss keepalived 2.2.7 cannot run without).
    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn line(&self) -> u32 {
        self.loc.map(|l| l.line).unwrap_or(0)
    }
}
