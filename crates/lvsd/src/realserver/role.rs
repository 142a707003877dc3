//! The real-server role of `lvsd run` (issue 8), through the same state file.

use super::*;

// ---------------------------------------------------------------------------------------------
// The real-server role of `lvsd run` (issue 8)
// ---------------------------------------------------------------------------------------------

/// The arguments `lvsd realserver ACTION --vip VIP --dev lo ...` would have.
pub(super) fn role_args(
    action: Action,
    vip: IpAddr,
    label: Option<&str>,
    iface: Option<&str>,
    state_file: &Path,
) -> RealserverArgs {
    RealserverArgs {
        action,
        vips: vec![vip],
        dev: "lo".to_string(),
        label: label.map(str::to_string),
        ifaces: iface.into_iter().map(str::to_string).collect(),
        state_file: state_file.to_path_buf(),
        json: false,
    }
}

/// A colocated node's real-server role for one VIP, done exactly as `up` does it (sysctls
/// first, then the VIP on `lo` with `label`) and recorded in the same state file, so that
/// `lvsd realserver down` (or a later `role_down`) restores the host. A VIP already on `lo`
/// that lvsd did not add (a user's own, as in seed 002) is left alone and not recorded.
/// Returns what changed.
pub async fn role_up(
    nl: &Netlink,
    vip: IpAddr,
    label: &str,
    iface: Option<&str>,
    adopt: bool,
    state_file: &Path,
) -> Result<Vec<String>, String> {
    let args = role_args(Action::Up, vip, Some(label), iface, state_file);
    let vips = [vip];
    let labels = vip_labels("lo", Some(label), &vips).map_err(|Fail(m)| m)?;
    let sys = Sysctl {
        root: PathBuf::from(CONF_DIR),
    };
    let adopted = if adopt { &vips[..] } else { &[][..] };
    let cx = Cx {
        args: &args,
        vips: &vips,
        labels: &labels,
        nl,
        sys: &sys,
        adopt: Adopt {
            vips: adopted,
            label: Some(label),
        },
    };
    let inner = async {
        ensure_dir(state_file)?;
        let _lock = lock_state(state_file)?;
        let host = Host::load(nl).await?;
        let dev = host.need("lo")?.clone();
        let mut state = State::load(state_file)?.unwrap_or_default();
        let before = state.clone();
        ensure_dir(state_file)?;
        let mut out = Out::default();
        let result = apply_up(&cx, &host, &dev, &mut state, &mut out).await;
        if state != before {
            state.save(state_file)?;
        }
        result?;
        Ok::<_, Fail>(if out.changed { out.lines } else { Vec::new() })
    };
    inner.await.map_err(|Fail(m)| m)
}

/// Leaves the real-server role for one VIP: removes it from `lo` if lvsd recorded adding it,
/// and restores the recorded sysctls once no recorded VIP is left (as `down`). Returns what
/// changed.
pub async fn role_down(
    nl: &Netlink,
    vip: IpAddr,
    state_file: &Path,
) -> Result<Vec<String>, String> {
    let inner = async {
        let _lock = lock_state(state_file)?;
        let Some(state) = State::load(state_file)? else {
            return Ok(Vec::new());
        };
        if !state.has_addr(&vip) {
            return Ok(Vec::new());
        }
        let args = role_args(Action::Down, vip, None, None, state_file);
        let vips = [vip];
        let labels = [None];
        let sys = Sysctl {
            root: PathBuf::from(CONF_DIR),
        };
        let cx = Cx {
            args: &args,
            vips: &vips,
            labels: &labels,
            nl,
            sys: &sys,
            adopt: Adopt::default(),
        };
        let host = Host::load(nl).await?;
        let mut out = Out::default();
        down_recorded(&cx, &host, state, &mut out).await?;
        Ok::<_, Fail>(if out.changed { out.lines } else { Vec::new() })
    };
    inner.await.map_err(|Fail(m)| m)
}
