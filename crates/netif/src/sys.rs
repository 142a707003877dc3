//! Thin wrappers over the libc calls that socket2 does not cover.

use crate::error::ctx;
use std::ffi::{CStr, CString};
use std::io;
use std::mem;
use std::os::fd::AsRawFd;

/// `setsockopt` with a plain value (an `int` or a C struct).
pub(crate) fn setsockopt<T>(
    fd: &impl AsRawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
) -> io::Result<()> {
    // SAFETY: `value` points to a live, initialised `T` of the given size for the whole call.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (value as *const T).cast(),
            mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `setsockopt` of an `int`, with the option's name in the error.
pub(crate) fn setsockopt_int(
    fd: &impl AsRawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
    what: &str,
) -> io::Result<()> {
    setsockopt(fd, level, name, &value).map_err(|e| ctx(e, format!("setsockopt {what}={value}")))
}

/// The index of the interface `name` (in the network namespace of the calling thread).
pub fn ifindex(name: &str) -> io::Result<u32> {
    let c = CString::new(name).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("interface name {name:?} contains NUL"),
        )
    })?;
    // SAFETY: `c` is a valid NUL-terminated string.
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if idx == 0 {
        Err(ctx(io::Error::last_os_error(), format!("interface {name}")))
    } else {
        Ok(idx)
    }
}

/// The name of the interface with index `index`.
pub fn ifname(index: u32) -> io::Result<String> {
    let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: `buf` has IF_NAMESIZE bytes as if_indextoname requires.
    let p = unsafe { libc::if_indextoname(index, buf.as_mut_ptr()) };
    if p.is_null() {
        return Err(ctx(
            io::Error::last_os_error(),
            format!("interface index {index}"),
        ));
    }
    // SAFETY: on success the buffer holds a NUL-terminated name.
    let name = unsafe { CStr::from_ptr(buf.as_ptr()) };
    Ok(name.to_string_lossy().into_owned())
}

/// Registers a nonblocking socket with the current tokio runtime's reactor (an error, not a
/// panic, when there is none).
pub(crate) fn register(
    sock: socket2::Socket,
    what: &str,
) -> io::Result<tokio::io::unix::AsyncFd<socket2::Socket>> {
    tokio::runtime::Handle::try_current()
        .map_err(|e| io::Error::other(format!("{what}: needs a tokio runtime: {e}")))?;
    // SAFETY: the `Socket` owns its descriptor, keeps it open until it is dropped together with
    // the `AsyncFd`, and `as_raw_fd` always returns that same descriptor.
    unsafe { tokio::io::unix::AsyncFd::register(sock) }
        .map_err(|e| ctx(io::Error::from(e), format!("{what}: register with tokio")))
}
