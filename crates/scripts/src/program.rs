//! Finding the program a script names, before it is started (keepalived-behaviour §2.9).
//!
//! * A bare name (no `/`) is looked up in `$PATH` (`killall -0 nginx` works).
//! * The file must exist, be a regular file and be executable for the user the script runs as.
//! * A file that is neither an ELF binary nor starts with `#!` cannot be exec'd directly:
//!   keepalived then says "Please add a #! shebang" and runs it through `/bin/sh -c`; so does lvsd.
//! * A command starting with `<` or `>` (`</dev/tcp/127.0.0.1/80`) is a shell redirection test
//!   and goes through the shell as written.
//! * With `enable_script_security`, a script run as root must not sit in a path that a non-root
//!   user can write (every directory up to `/` and the file itself).

use crate::user::Credentials;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The default search path when `$PATH` is unset (glibc's `_CS_PATH` plus the sbin directories).
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// How a command will be started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Program {
    /// exec this file directly with the command's arguments.
    Exec(PathBuf),
    /// No `#!` and not a binary: run the file through `/bin/sh -c` (as keepalived does).
    ShellScript(PathBuf),
    /// A redirection such as `</dev/tcp/host/port`: `/bin/sh -c` with the command as written.
    Shell,
}

/// Finds what `argv0` names, for `user` (None: the daemon's own user).
///
/// The error says exactly why the script cannot run (it is logged as is).
pub fn resolve(argv0: &str, user: Option<&Credentials>) -> Result<Program, String> {
    let trimmed = argv0.trim_start();
    if trimmed.starts_with('<') || trimmed.starts_with('>') {
        return Ok(Program::Shell);
    }
    if argv0.is_empty() {
        return Err("the command is empty".into());
    }
    let path = if argv0.contains('/') {
        let p = PathBuf::from(argv0);
        check_file(&p, user)?;
        p
    } else {
        search_path(argv0, user)?
    };
    if is_binary_or_shebang(&path) {
        Ok(Program::Exec(path))
    } else {
        Ok(Program::ShellScript(path))
    }
}

fn search_path(name: &str, user: Option<&Credentials>) -> Result<PathBuf, String> {
    let path_var = std::env::var("PATH").unwrap_or_else(|_| DEFAULT_PATH.to_string());
    let mut denied = None;
    for dir in path_var.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let candidate = Path::new(dir).join(name);
        match std::fs::metadata(&candidate) {
            Ok(m) if m.is_file() => match check_file(&candidate, user) {
                Ok(()) => return Ok(candidate),
                Err(e) => {
                    denied.get_or_insert(e);
                }
            },
            _ => {}
        }
    }
    Err(match denied {
        Some(e) => e,
        None => format!("`{name}` was not found in PATH ({path_var})"),
    })
}

/// The file exists, is a regular file and `user` may execute it.
fn check_file(path: &Path, user: Option<&Credentials>) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!("`{}` does not exist", path.display()),
        std::io::ErrorKind::PermissionDenied => {
            format!("`{}` cannot be accessed: {e}", path.display())
        }
        _ => format!("`{}`: {e}", path.display()),
    })?;
    if meta.is_dir() {
        return Err(format!("`{}` is a directory", path.display()));
    }
    if !meta.is_file() {
        return Err(format!("`{}` is not a regular file", path.display()));
    }
    let mode = meta.permissions().mode();
    let ok = match user {
        Some(c) => executable_by(mode, meta.uid(), meta.gid(), c.uid, c.gid),
        None => nix::unistd::access(path, nix::unistd::AccessFlags::X_OK).is_ok(),
    };
    if ok {
        Ok(())
    } else {
        let who = match user {
            Some(c) => c.to_string(),
            None => format!("{}", crate::user::current()),
        };
        Err(format!(
            "`{}` is not executable for {who} (mode {:04o}, owner {}:{}); chmod +x it",
            path.display(),
            mode & 0o7777,
            meta.uid(),
            meta.gid()
        ))
    }
}

/// Execute permission as the kernel grants it to a process with only `uid` and `gid` (scripts
/// run without supplementary groups, as keepalived's default).
fn executable_by(mode: u32, owner: u32, group: u32, uid: u32, gid: u32) -> bool {
    if uid == 0 {
        return mode & 0o111 != 0;
    }
    if uid == owner {
        return mode & 0o100 != 0;
    }
    if gid == group {
        return mode & 0o010 != 0;
    }
    mode & 0o001 != 0
}

/// ELF (`\x7fELF`) or `#!`. An unreadable file is assumed to be executable as is (exec decides).
fn is_binary_or_shebang(path: &Path) -> bool {
    let mut head = [0u8; 4];
    let n = match std::fs::File::open(path).and_then(|mut f| read_up_to(&mut f, &mut head)) {
        Ok(n) => n,
        Err(_) => return true,
    };
    let head = &head[..n];
    head.starts_with(b"#!") || head.starts_with(b"\x7fELF")
}

fn read_up_to(f: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// keepalived's script-security rule: every directory from `/` down to the file, and the file,
/// must be owned by root and not writable by a non-root group or by others (a directory with
/// the sticky bit, such as /tmp, may be world-writable). Returns the first offending path.
pub fn insecure_component(path: &Path) -> Option<(PathBuf, String)> {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(path)
    };
    let mut cur = PathBuf::new();
    for comp in abs.components() {
        cur.push(comp);
        let meta = match std::fs::symlink_metadata(&cur) {
            Ok(m) => m,
            Err(e) => return Some((cur, format!("cannot be checked: {e}"))),
        };
        let mode = meta.mode();
        let sticky_dir = meta.is_dir() && mode & 0o1000 != 0;
        if meta.uid() != 0 {
            return Some((cur, format!("is owned by uid {}, not root", meta.uid())));
        }
        if !sticky_dir && !meta.file_type().is_symlink() {
            if meta.gid() != 0 && mode & 0o020 != 0 {
                return Some((
                    cur,
                    format!(
                        "is writable by group {} (mode {:04o})",
                        meta.gid(),
                        mode & 0o7777
                    ),
                ));
            }
            if mode & 0o002 != 0 {
                return Some((
                    cur,
                    format!("is writable by everyone (mode {:04o})", mode & 0o7777),
                ));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_bits_follow_the_kernel() {
        // root: any x bit.
        assert!(executable_by(0o001, 5, 5, 0, 0));
        assert!(!executable_by(0o644, 5, 5, 0, 0));
        // owner uses only the owner bits.
        assert!(!executable_by(0o011, 5, 5, 5, 7));
        assert!(executable_by(0o700, 5, 5, 5, 7));
        // group, then others.
        assert!(executable_by(0o010, 5, 7, 6, 7));
        assert!(!executable_by(0o001, 5, 7, 6, 7));
        assert!(executable_by(0o001, 5, 7, 6, 8));
    }

    #[test]
    fn bare_names_are_found_in_path() {
        match resolve("sh", None).unwrap() {
            Program::Exec(p) | Program::ShellScript(p) => assert!(p.ends_with("sh")),
            Program::Shell => panic!("sh is a program"),
        }
        let e = resolve("no-such-program-lvsd", None).unwrap_err();
        assert!(e.contains("not found in PATH"), "{e}");
    }

    #[test]
    fn redirections_go_through_the_shell() {
        assert_eq!(resolve("</dev/tcp/127.0.0.1/1", None), Ok(Program::Shell));
    }

    #[test]
    fn missing_and_directories_are_explained() {
        let e = resolve("/nonexistent/lvsd/check.sh", None).unwrap_err();
        assert!(e.contains("does not exist"), "{e}");
        let e = resolve("/tmp", None).unwrap_err();
        assert!(e.contains("is a directory"), "{e}");
    }
}
