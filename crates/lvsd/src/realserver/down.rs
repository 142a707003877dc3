//! `down`: undo what the state file records.

use super::*;

// ---------------------------------------------------------------------------------------------
// down
// ---------------------------------------------------------------------------------------------

pub(super) async fn down(cx: &Cx<'_>) -> Result<u8, Fail> {
    let args = cx.args;
    let host = Host::load(cx.nl).await?;
    let mut out = Out::default();
    let restored = match State::load(&args.state_file)? {
        None => {
            down_unrecorded(cx, &host, &mut out).await?;
            false
        }
        Some(state) => down_recorded(cx, &host, state, &mut out).await?,
    };
    out.lines.push(if out.changed {
        "down: done".to_string()
    } else {
        "down: nothing to change".to_string()
    });
    out.print(
        Action::Down,
        &args.state_file,
        args.json,
        json!({ "sysctls_restored": restored }),
    );
    Ok(0)
}

/// No state file: remove the given VIPs, leave the sysctls.
pub(super) async fn down_unrecorded(cx: &Cx<'_>, host: &Host, out: &mut Out) -> Result<(), Fail> {
    let args = cx.args;
    if cx.vips.is_empty() {
        return Err(Fail(format!(
            "no state file {} (was `up` run with this --state-file?) and no --vip: nothing to do",
            args.state_file.display()
        )));
    }
    let dev = host.need(&args.dev)?;
    for vip in cx.vips {
        match host.on(dev.index, vip) {
            Some(a) => {
                let gone = cx
                    .nl
                    .del_address(dev.index, *vip, a.prefix_len)
                    .await
                    .map_err(nl_fail)?;
                out.changed |= gone;
                out.lines
                    .push(format!("removed {vip}/{} from {}", a.prefix_len, args.dev));
                out.addresses.push(json!({
                    "address": vip.to_string(), "prefix_len": a.prefix_len, "removed": gone,
                }));
            }
            None => {
                out.lines
                    .push(format!("unchanged {vip}: not on {}", args.dev));
                out.addresses
                    .push(json!({"address": vip.to_string(), "removed": false}));
            }
        }
    }
    out.notes.push(format!(
        "no state file {}: cannot restore the ARP sysctls (arp_ignore, arp_announce), their \
         previous values were not recorded; they are left as they are",
        args.state_file.display()
    ));
    Ok(())
}

/// Undo what the state file records. Returns whether the sysctls were restored.
pub(super) async fn down_recorded(
    cx: &Cx<'_>,
    host: &Host,
    mut state: State,
    out: &mut Out,
) -> Result<bool, Fail> {
    let args = cx.args;
    let path = &args.state_file;
    let before = state.clone();
    let wanted = |a: &AddrRec| cx.vips.is_empty() || cx.vips.contains(&a.addr);
    let chosen: Vec<AddrRec> = state
        .addresses
        .iter()
        .filter(|a| wanted(a))
        .cloned()
        .collect();
    for a in chosen {
        let gone = match host.link(&a.dev) {
            None => {
                out.notes
                    .push(format!("{} is gone, and {} with it", a.dev, a.addr));
                false
            }
            Some(l) => match cx.nl.del_address(l.index, a.addr, a.prefix_len).await {
                Ok(g) => g,
                Err(e) => {
                    if state != before {
                        state.save(path)?;
                    }
                    return Err(nl_fail(e));
                }
            },
        };
        state.addresses.retain(|x| x != &a);
        out.changed |= gone;
        out.lines.push(if gone {
            format!("removed {}/{} from {}", a.addr, a.prefix_len, a.dev)
        } else {
            format!(
                "unchanged {}/{}: already gone from {}",
                a.addr, a.prefix_len, a.dev
            )
        });
        out.addresses.push(json!({
            "address": a.addr.to_string(), "prefix_len": a.prefix_len, "removed": gone,
        }));
    }
    // Given VIPs that `up` did not add: kept.
    let dev = host.link(&args.dev);
    for vip in cx.vips {
        if before.has_addr(vip) {
            continue;
        }
        let on = dev.and_then(|d| host.on(d.index, vip));
        out.lines.push(match on {
            Some(a) => format!(
                "kept {vip}/{} on {}: it was there before `up`",
                a.prefix_len, args.dev
            ),
            None => format!("unchanged {vip}: not on {}", args.dev),
        });
        out.addresses
            .push(json!({"address": vip.to_string(), "removed": false, "kept": on.is_some()}));
    }

    if !state.addresses.is_empty() {
        let rest: Vec<String> = state.addresses.iter().map(|a| a.addr.to_string()).collect();
        out.notes.push(format!(
            "ARP sysctls left set: VIPs added by `up` are still on ({}); `down` without --vip \
             removes them all",
            rest.join(", ")
        ));
        state.save(path)?;
        return Ok(false);
    }
    if state != before {
        state.save(path)?;
    }
    // The VIPs are off: put back the previous values.
    for r in &state.sysctls {
        let k = key(&r.iface, &r.name);
        if r.iface != "all" && !cx.sys.exists(&r.iface, &r.name) {
            out.notes
                .push(format!("{k}: {} is gone, nothing to restore", r.iface));
            continue;
        }
        let cur = cx.sys.read(&r.iface, &r.name)?;
        if cur == r.set && cur != r.previous {
            cx.sys.write(&r.iface, &r.name, r.previous)?;
            out.changed = true;
            out.lines
                .push(format!("restored {k} = {} (was {cur})", r.previous));
            out.sysctls
                .push(json!({"key": k, "value": r.previous, "previous": cur, "changed": true}));
        } else if cur == r.previous {
            out.lines.push(format!("unchanged {k} = {cur}"));
            out.sysctls
                .push(json!({"key": k, "value": cur, "changed": false}));
        } else {
            out.warnings.push(format!(
                "{k} is {cur}, not the {} that `up` set: changed by someone else since, left as \
                 is (it was {} before `up`)",
                r.set, r.previous
            ));
            out.sysctls
                .push(json!({"key": k, "value": cur, "changed": false}));
        }
    }
    remove_state(path)?;
    Ok(true)
}
