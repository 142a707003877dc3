//! `up`, and the lines up and down print.

use super::*;

// ---------------------------------------------------------------------------------------------
// Output of up and down
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
pub(super) struct Out {
    pub(super) lines: Vec<String>,
    pub(super) notes: Vec<String>,
    pub(super) warnings: Vec<String>,
    pub(super) sysctls: Vec<Value>,
    pub(super) addresses: Vec<Value>,
    pub(super) changed: bool,
}

impl Out {
    pub(super) fn print(&self, action: Action, state_file: &Path, json: bool, extra: Value) {
        if json {
            let mut v = json!({
                "action": action.name(),
                "changed": self.changed,
                "sysctls": self.sysctls,
                "addresses": self.addresses,
                "notes": self.notes,
                "warnings": self.warnings,
                "state_file": state_file.display().to_string(),
            });
            if let (Some(m), Value::Object(e)) = (v.as_object_mut(), extra) {
                m.extend(e);
            }
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            return;
        }
        for l in &self.lines {
            println!("{l}");
        }
        for n in &self.notes {
            println!("note: {n}");
        }
        for w in &self.warnings {
            eprintln!("warning: {w}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// up
// ---------------------------------------------------------------------------------------------

pub(super) async fn up(cx: &Cx<'_>) -> Result<u8, Fail> {
    let args = cx.args;
    let host = Host::load(cx.nl).await?;
    let dev = host.need(&args.dev)?.clone();
    for i in &args.ifaces {
        host.need(i)?;
    }
    let existing = State::load(&args.state_file)?;
    let had_state = existing.is_some();
    let mut state = existing.unwrap_or_default();
    let before = state.clone();
    // Fail before changing anything when the state cannot be recorded.
    ensure_dir(&args.state_file)?;

    let mut out = Out::default();
    let result = apply_up(cx, &host, &dev, &mut state, &mut out).await;
    if state != before || (!had_state && result.is_ok()) {
        if let Err(Fail(m)) = state.save(&args.state_file) {
            return Err(Fail(format!(
                "{m}; the changes made are not recorded, `down` cannot undo them"
            )));
        }
    }
    if let Err(Fail(m)) = result {
        let undo = if state != before {
            format!(
                " (the changes made so far are recorded in {}: `down` undoes them)",
                args.state_file.display()
            )
        } else {
            String::new()
        };
        return Err(Fail(format!("{m}{undo}")));
    }

    // What `up` cannot fix.
    let after = Host::load(cx.nl).await?;
    let obs = observe(&after, cx)?;
    out.warnings.extend(problems(&obs));
    let s = args.state_file.display();
    out.lines.push(if out.changed {
        format!("up: done; changes recorded in {s}")
    } else {
        format!("up: nothing to change, the host was already configured ({s} unchanged)")
    });
    out.print(Action::Up, &args.state_file, args.json, json!({}));
    Ok(0)
}

pub(super) async fn apply_up(
    cx: &Cx<'_>,
    host: &Host,
    dev: &Link,
    state: &mut State,
    out: &mut Out,
) -> Result<(), Fail> {
    let args = cx.args;
    // Sysctls first: the VIPs must never be on while the host answers ARP for them.
    if cx.vips.iter().any(IpAddr::is_ipv4) {
        let targets = sysctl_targets(&args.dev, &args.ifaces);
        let mut current = Vec::new();
        for t in &targets {
            for n in ARP_NAMES {
                current.push((t, n, cx.sys.read(t, n)?));
            }
        }
        for (t, n, cur) in current {
            let k = key(t, n);
            if dr_ok(n, cur) {
                out.lines.push(format!("unchanged {k} = {cur}"));
                out.sysctls
                    .push(json!({"key": k, "value": cur, "changed": false}));
            } else {
                let v = dr_value(n);
                cx.sys.write(t, n, v)?;
                state.record_sysctl(t, n, cur, v);
                out.changed = true;
                out.lines.push(format!("set {k} = {v} (was {cur})"));
                out.sysctls
                    .push(json!({"key": k, "value": v, "previous": cur, "changed": true}));
            }
        }
    } else {
        out.notes
            .push("only IPv6 VIPs: no ARP sysctls needed, none changed".to_string());
    }

    for (vip, label) in cx.vips.iter().zip(cx.labels) {
        let len = host_len(vip);
        if vip.is_ipv6() {
            out.notes.push(v6_note(vip));
        }
        if let Some(a) = host.on(dev.index, vip) {
            if !state.has_addr(vip) && cx.adopt.ours(a) {
                state.addresses.push(AddrRec {
                    dev: args.dev.clone(),
                    addr: *vip,
                    prefix_len: a.prefix_len,
                    label: a.label.clone().filter(|_| vip.is_ipv4()),
                });
                out.changed = true;
                out.lines.push(format!(
                    "recorded {vip}/{} on {} (put there by lvsd)",
                    a.prefix_len, args.dev
                ));
                continue;
            }
            let why = if state.has_addr(vip) {
                "added by an earlier `up`"
            } else {
                "it was there before `up`; `down` keeps it"
            };
            out.lines.push(format!(
                "unchanged {vip}/{} on {} ({why})",
                a.prefix_len, args.dev
            ));
            out.addresses.push(json!({
                "address": vip.to_string(), "prefix_len": a.prefix_len,
                "label": a.label, "added": false,
            }));
            continue;
        }
        let mut spec = AddrSpec::new(dev.index, *vip, len);
        spec.label = label.clone();
        spec.nodad = vip.is_ipv6();
        let added = cx.nl.add_address(&spec).await.map_err(nl_fail)?;
        if added {
            if !state.has_addr(vip) {
                state.addresses.push(AddrRec {
                    dev: args.dev.clone(),
                    addr: *vip,
                    prefix_len: len,
                    label: label.clone(),
                });
            }
            out.changed = true;
            let l = label
                .as_ref()
                .map(|l| format!(" label {l}"))
                .unwrap_or_else(|| " nodad".to_string());
            out.lines
                .push(format!("added {vip}/{len} on {}{l}", args.dev));
        } else {
            out.lines.push(format!(
                "unchanged {vip}/{len} on {} (appeared meanwhile; not recorded)",
                args.dev
            ));
        }
        out.addresses.push(json!({
            "address": vip.to_string(), "prefix_len": len, "label": label, "added": added,
        }));
    }
    Ok(())
}
