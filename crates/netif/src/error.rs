//! Errors: netlink failures with the operation they belong to, parse errors of route and rule
//! words, and context for socket errors that keeps the errno.

use std::fmt;
use std::io;

/// An rtnetlink operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The kernel answered with an error (errno in `source`).
    #[error("{op}: {source}")]
    Netlink {
        /// What was asked, e.g. `add address 10.0.0.1/24 on ifindex 3`.
        op: String,
        #[source]
        source: io::Error,
    },
    /// The netlink connection task is gone (runtime shut down, socket closed).
    #[error("{op}: netlink connection closed")]
    Closed { op: String },
    /// A reply that is not what the request asks for.
    #[error("{op}: unexpected netlink reply: {detail}")]
    Unexpected { op: String, detail: String },
    /// An interface named in a spec does not exist.
    #[error("{op}: interface {name:?} not found")]
    NoSuchInterface { op: String, name: String },
    /// Route or rule words that do not parse.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A spec that cannot be sent (e.g. mixed address families).
    #[error("{op}: {detail}")]
    Invalid { op: String, detail: String },
}

impl Error {
    /// The errno of a kernel error, if this is one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Netlink { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }
}

/// Result of rtnetlink operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Words of a `virtual_routes` / `virtual_rules` / `static_routes` line that do not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("empty route/rule")]
    Empty,
    #[error("unknown keyword {0:?}")]
    Unknown(String),
    #[error("{0:?} needs a value")]
    Missing(String),
    #[error("invalid value {value:?} for {keyword:?}{}", hint.as_deref().map(|h| format!(": {h}")).unwrap_or_default())]
    Invalid {
        keyword: String,
        value: String,
        hint: Option<String>,
    },
    #[error("{0:?} given twice")]
    Duplicate(String),
    #[error("mixed address families: {0}")]
    Family(String),
    #[error("no destination")]
    NoDestination,
    #[error("{0} is not supported")]
    Unsupported(String),
}

impl ParseError {
    pub(crate) fn invalid(keyword: &str, value: &str) -> Self {
        ParseError::Invalid {
            keyword: keyword.to_string(),
            value: value.to_string(),
            hint: None,
        }
    }

    pub(crate) fn invalid_hint(keyword: &str, value: &str, hint: impl Into<String>) -> Self {
        ParseError::Invalid {
            keyword: keyword.to_string(),
            value: value.to_string(),
            hint: Some(hint.into()),
        }
    }
}

/// An `io::Error` with what was being done. Wrapped into the `io::Error` returned by the socket
/// functions: `kind()` is the original one and [`os_errno`] finds the errno.
#[derive(Debug)]
pub struct IoContext {
    pub context: String,
    pub source: io::Error,
}

impl fmt::Display for IoContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.context, self.source)
    }
}

impl std::error::Error for IoContext {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Adds context to an `io::Error`, keeping its kind and (through [`os_errno`]) its errno.
pub(crate) fn ctx(source: io::Error, context: impl fmt::Display) -> io::Error {
    let kind = source.kind();
    io::Error::new(
        kind,
        IoContext {
            context: context.to_string(),
            source,
        },
    )
}

/// The errno of an `io::Error` returned by this crate (looks through [`IoContext`]).
pub fn os_errno(e: &io::Error) -> Option<i32> {
    if let Some(n) = e.raw_os_error() {
        return Some(n);
    }
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<IoContext>())
        .and_then(|c| os_errno(&c.source))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_keeps_kind_and_errno() {
        let e = ctx(io::Error::from_raw_os_error(libc::ENODEV), "interface eth9");
        assert_eq!(e.kind(), io::Error::from_raw_os_error(libc::ENODEV).kind());
        assert_eq!(os_errno(&e), Some(libc::ENODEV));
        assert!(e.to_string().starts_with("interface eth9: "), "{e}");
        let e2 = ctx(e, "open VRRP socket");
        assert_eq!(os_errno(&e2), Some(libc::ENODEV));
    }
}
