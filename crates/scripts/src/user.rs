//! Which user a script runs as (keepalived-behaviour §1.2 `script_user`, §1.3 `user`).
//!
//! keepalived's rule, kept here: a script with its own `user U [G]` runs as U (group G, else U's
//! primary group); otherwise as `script_user` from global_defs; otherwise as the user
//! `keepalived_script` if it exists; otherwise as the daemon itself (root). With
//! `enable_script_security` and none of these, the default user is an error.
//!
//! Names are looked up once (when a tracker starts or a [`ScriptUsers`] is built), not at every run.

use lvsd_config::model::GlobalDefs;
use nix::unistd::{Gid, Group, Uid, User};

/// The user keepalived runs scripts as when `script_user` is not set.
pub const DEFAULT_SCRIPT_USER: &str = "keepalived_script";

/// A resolved user and group to run a script as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub uid: u32,
    pub gid: u32,
    /// The user's name (for logs).
    pub user: String,
    /// The group's name, or its number when it has none.
    pub group: String,
}

impl std::fmt::Display for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{} (uid {}, gid {})",
            self.user, self.group, self.uid, self.gid
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    #[error("user `{0}` does not exist")]
    NoSuchUser(String),
    #[error("group `{0}` does not exist")]
    NoSuchGroup(String),
    #[error("cannot look up `{name}`: {reason}")]
    Lookup { name: String, reason: String },
    #[error(
        "enable_script_security is set but neither script_user nor the user `{DEFAULT_SCRIPT_USER}` exists; \
         set `script_user` in global_defs or create the user"
    )]
    NoDefaultUser,
}

/// Looks up `user` (a name or a number) and `group` (a name or a number; default: the user's
/// primary group).
pub fn lookup(user: &str, group: Option<&str>) -> Result<Credentials, UserError> {
    let found = match user.parse::<u32>() {
        Ok(n) => User::from_uid(Uid::from_raw(n)),
        Err(_) => User::from_name(user),
    }
    .map_err(|e| UserError::Lookup {
        name: user.to_string(),
        reason: e.to_string(),
    })?;
    let (uid, user_name, primary) = match found {
        Some(u) => (u.uid.as_raw(), u.name, u.gid.as_raw()),
        // A bare number that has no passwd entry is still a valid uid (as for chown).
        None => match user.parse::<u32>() {
            Ok(n) => (n, n.to_string(), n),
            Err(_) => return Err(UserError::NoSuchUser(user.to_string())),
        },
    };
    let (gid, group_name) = match group.filter(|g| !g.is_empty()) {
        None => (primary, group_name_of(primary)),
        Some(g) => {
            let found = match g.parse::<u32>() {
                Ok(n) => Group::from_gid(Gid::from_raw(n)),
                Err(_) => Group::from_name(g),
            }
            .map_err(|e| UserError::Lookup {
                name: g.to_string(),
                reason: e.to_string(),
            })?;
            match found {
                Some(gr) => (gr.gid.as_raw(), gr.name),
                None => match g.parse::<u32>() {
                    Ok(n) => (n, n.to_string()),
                    Err(_) => return Err(UserError::NoSuchGroup(g.to_string())),
                },
            }
        }
    };
    Ok(Credentials {
        uid,
        gid,
        user: user_name,
        group: group_name,
    })
}

fn group_name_of(gid: u32) -> String {
    match Group::from_gid(Gid::from_raw(gid)) {
        Ok(Some(g)) => g.name,
        _ => gid.to_string(),
    }
}

/// The daemon's own credentials.
pub fn current() -> Credentials {
    let uid = Uid::current().as_raw();
    let gid = Gid::current().as_raw();
    let user = match User::from_uid(Uid::from_raw(uid)) {
        Ok(Some(u)) => u.name,
        _ => uid.to_string(),
    };
    Credentials {
        uid,
        gid,
        user,
        group: group_name_of(gid),
    }
}

/// The users scripts run as: the default from global_defs and the per-script overrides.
#[derive(Debug, Clone)]
pub struct ScriptUsers {
    /// None: the daemon's own user.
    default: Option<Credentials>,
    /// `enable_script_security`: refuse scripts run as root from a path non-root can write.
    security: bool,
}

impl ScriptUsers {
    /// Scripts run as the daemon itself, without security checks (tests, tools).
    pub fn current() -> Self {
        ScriptUsers {
            default: None,
            security: false,
        }
    }

    /// keepalived's default: `script_user [group]`, else `keepalived_script` if it exists,
    /// else the daemon itself (an error with `enable_script_security`).
    pub fn from_global(global: &GlobalDefs) -> Result<Self, UserError> {
        Self::from_settings(
            global.script_user.as_deref(),
            global.script_group.as_deref(),
            global.enable_script_security,
        )
    }

    /// As [`ScriptUsers::from_global`], from the individual settings.
    pub fn from_settings(
        script_user: Option<&str>,
        script_group: Option<&str>,
        security: bool,
    ) -> Result<Self, UserError> {
        let default = match script_user {
            Some(u) => Some(lookup(u, script_group)?),
            None => match lookup(DEFAULT_SCRIPT_USER, None) {
                Ok(c) => Some(c),
                Err(UserError::NoSuchUser(_)) if security => return Err(UserError::NoDefaultUser),
                Err(UserError::NoSuchUser(_)) => None,
                Err(e) => return Err(e),
            },
        };
        let me = current();
        // Running as ourselves needs no switch.
        let default = default.filter(|c| c.uid != me.uid || c.gid != me.gid);
        Ok(ScriptUsers { default, security })
    }

    /// Scripts run as `creds` unless they name their own user.
    pub fn with_default(creds: Option<Credentials>, security: bool) -> Self {
        ScriptUsers {
            default: creds,
            security,
        }
    }

    /// The default user (None: the daemon's own).
    pub fn default_user(&self) -> Option<&Credentials> {
        self.default.as_ref()
    }

    /// Whether `enable_script_security` is on.
    pub fn security(&self) -> bool {
        self.security
    }

    /// The credentials for a script with an optional `user [group]` of its own
    /// (None: the daemon's own user).
    pub fn resolve(
        &self,
        user: Option<&str>,
        group: Option<&str>,
    ) -> Result<Option<Credentials>, UserError> {
        match user.filter(|u| !u.is_empty()) {
            None => Ok(self.default.clone()),
            Some(u) => {
                let c = lookup(u, group)?;
                let me = current();
                Ok(if c.uid == me.uid && c.gid == me.gid {
                    None
                } else {
                    Some(c)
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_by_name_and_number() {
        let by_name = lookup("root", None).unwrap();
        assert_eq!((by_name.uid, by_name.gid), (0, 0));
        assert_eq!(by_name.user, "root");
        let by_number = lookup("0", Some("0")).unwrap();
        assert_eq!((by_number.uid, by_number.gid), (0, 0));
    }

    #[test]
    fn unknown_user_and_group() {
        assert_eq!(
            lookup("no-such-user-lvsd", None),
            Err(UserError::NoSuchUser("no-such-user-lvsd".into()))
        );
        assert_eq!(
            lookup("root", Some("no-such-group-lvsd")),
            Err(UserError::NoSuchGroup("no-such-group-lvsd".into()))
        );
    }

    #[test]
    fn script_user_overrides_default() {
        let users = ScriptUsers::from_settings(Some("nobody"), None, false).unwrap();
        let nobody = lookup("nobody", None).unwrap();
        if current().uid != nobody.uid {
            assert_eq!(users.default_user(), Some(&nobody));
        }
        // An explicit per-script user wins.
        let r = users.resolve(Some("root"), None).unwrap();
        if current().uid == 0 {
            assert_eq!(r, None);
        }
    }
}
