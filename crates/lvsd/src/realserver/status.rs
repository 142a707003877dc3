//! `status`: judge a real server's setup.

use super::*;

// ---------------------------------------------------------------------------------------------
// status
// ---------------------------------------------------------------------------------------------

pub(super) async fn status(cx: &Cx<'_>) -> Result<u8, Fail> {
    let args = cx.args;
    let host = Host::load(cx.nl).await?;
    for i in &args.ifaces {
        host.need(i)?;
    }
    let obs = observe(&host, cx)?;
    let probs = problems(&obs);
    let ok = probs.is_empty();
    let state = State::load(&args.state_file);
    let state_summary = match &state {
        Ok(Some(s)) => format!(
            "{}: `up` added {} address(es), changed {} sysctl(s)",
            args.state_file.display(),
            s.addresses.len(),
            s.sysctls.len()
        ),
        Ok(None) => format!("{}: none (no `up` recorded)", args.state_file.display()),
        Err(Fail(m)) => m.clone(),
    };
    let notes: Vec<String> = cx
        .vips
        .iter()
        .filter(|v| v.is_ipv6())
        .map(v6_note)
        .collect();

    if args.json {
        let v = json!({
            "dev": obs.dev,
            "dev_up": obs.dev_up,
            "vips": obs.vips.iter().map(|v| json!({
                "vip": v.vip.to_string(),
                "family": if v.vip.is_ipv4() { "ipv4" } else { "ipv6" },
                "on_dev": v.on_dev.is_some(),
                "prefix_len": v.on_dev.as_ref().map(|o| o.0),
                "label": v.on_dev.as_ref().and_then(|o| o.1.clone()),
                "also_on": v.elsewhere,
            })).collect::<Vec<_>>(),
            "arp_needed": obs.arp_needed,
            "arp": obs.arp.iter().map(ArpRow::to_json).collect::<Vec<_>>(),
            "arp_overrides": obs.overrides.iter().map(ArpRow::to_json).collect::<Vec<_>>(),
            "state": match &state {
                Ok(Some(s)) => s.to_json(),
                _ => Value::Null,
            },
            "state_file": args.state_file.display().to_string(),
            "configured": ok,
            "problems": probs,
            "notes": notes,
        });
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return Ok(if ok { 0 } else { 1 });
    }

    println!(
        "device {}: {}",
        obs.dev,
        if obs.dev_up { "up" } else { "DOWN" }
    );
    for v in &obs.vips {
        let where_ = match &v.on_dev {
            Some((len, label)) => format!(
                "on {} ({}/{len}{})",
                obs.dev,
                v.vip,
                label
                    .as_ref()
                    .filter(|l| **l != obs.dev)
                    .map(|l| format!(", label {l}"))
                    .unwrap_or_default()
            ),
            None => format!("NOT on {}", obs.dev),
        };
        let also = if v.elsewhere.is_empty() {
            String::new()
        } else {
            format!("; also on {}", v.elsewhere.join(", "))
        };
        println!("  VIP {}: {where_}{also}", v.vip);
    }
    if obs.arp_needed {
        println!("ARP sysctls (the kernel uses the larger of all's and the interface's value):");
        for r in &obs.arp {
            let eff = if r.iface != "all"
                && (r.eff_ignore != r.arp_ignore || r.eff_announce != r.arp_announce)
            {
                format!(" (effective {}/{})", r.eff_ignore, r.eff_announce)
            } else {
                String::new()
            };
            println!(
                "  {:<16} arp_ignore={} arp_announce={}{eff}",
                r.iface, r.arp_ignore, r.arp_announce
            );
        }
    } else {
        println!("ARP sysctls: not needed (IPv6 VIPs only)");
    }
    for n in &notes {
        println!("note: {n}");
    }
    println!("state file {state_summary}");
    if ok {
        println!("DR real server: correctly configured");
    } else {
        println!("DR real server: NOT correctly configured");
        for p in &probs {
            println!("  - {p}");
        }
    }
    Ok(if ok { 0 } else { 1 })
}
