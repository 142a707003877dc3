//! `lvsd realserver`: its arguments checked (VIPs, interface names, labels).

use super::*;

// ---------------------------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------------------------

/// `--vip`: one host address that can be a VIP.
pub(super) fn parse_vip(s: &str) -> Result<IpAddr, String> {
    let (ip_s, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let ip: IpAddr = ip_s
        .parse()
        .map_err(|_| format!("`{ip_s}` is not an IPv4 or IPv6 address"))?;
    let host = host_len(&ip);
    if let Some(l) = len {
        if l.parse::<u8>().ok() != Some(host) {
            return Err(format!(
                "a VIP on a DR real server is a single address (/{host}), not /{l}"
            ));
        }
    }
    let bad = match ip {
        IpAddr::V4(a) if a.is_unspecified() => Some("the unspecified address"),
        IpAddr::V4(a) if a.is_loopback() => {
            Some("a loopback address (127.0.0.0/8 is local already)")
        }
        IpAddr::V4(a) if a.is_broadcast() => Some("the broadcast address"),
        IpAddr::V4(a) if a.is_multicast() => Some("a multicast address"),
        IpAddr::V6(a) if a.is_unspecified() => Some("the unspecified address"),
        IpAddr::V6(a) if a.is_loopback() => Some("the loopback address"),
        IpAddr::V6(a) if a.is_multicast() => Some("a multicast address"),
        IpAddr::V6(a) if a.segments()[0] & 0xffc0 == 0xfe80 => Some("a link-local address"),
        IpAddr::V6(a) if a.to_ipv4_mapped().is_some() => {
            Some("an IPv4-mapped IPv6 address (give the IPv4 address)")
        }
        _ => None,
    };
    match bad {
        Some(what) => Err(format!("{ip} is {what}, not a VIP")),
        None => Ok(ip),
    }
}

pub(super) fn host_len(ip: &IpAddr) -> u8 {
    if ip.is_ipv4() {
        32
    } else {
        128
    }
}

/// The kernel's `dev_valid_name`.
pub(super) fn check_ifname(opt: &str, name: &str) -> Result<(), Fail> {
    let ok = !name.is_empty()
        && name.len() <= NAME_MAX
        && name != "."
        && name != ".."
        && !name.contains(|c: char| c == '/' || c == ':' || c.is_whitespace());
    if ok {
        Ok(())
    } else {
        Err(Fail(format!(
            "{opt} {name:?} is not a valid interface name (1 to {NAME_MAX} characters, no `/`, `:` or spaces)"
        )))
    }
}

/// The label of each VIP (IPv6 ones have none). `base` (default `DEV:0`) must be `DEV` or
/// `DEV:...`; when it ends in `:N`, the n-th IPv4 VIP gets `:N+n`, otherwise all get `base`.
pub(super) fn vip_labels(
    dev: &str,
    base: Option<&str>,
    vips: &[IpAddr],
) -> Result<Vec<Option<String>>, Fail> {
    let base = base
        .map(str::to_string)
        .unwrap_or_else(|| format!("{dev}:0"));
    if base != dev && !base.starts_with(&format!("{dev}:")) {
        return Err(Fail(format!(
            "--label {base:?} must be {dev:?} or start with \"{dev}:\" (a label names an alias of the device)"
        )));
    }
    let numbered = base.rsplit_once(':').and_then(|(stem, n)| {
        let digits = !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit());
        match n.parse::<u32>() {
            Ok(n) if digits && base != dev => Some((stem.to_string(), n)),
            _ => None,
        }
    });
    let mut out = Vec::with_capacity(vips.len());
    let mut n = 0u32;
    for v in vips {
        if v.is_ipv6() {
            out.push(None);
            continue;
        }
        let label = match &numbered {
            Some((stem, start)) => format!("{stem}:{}", start + n),
            None => base.clone(),
        };
        n += 1;
        if label.len() > NAME_MAX {
            return Err(Fail(format!(
                "label {label:?} is longer than {NAME_MAX} characters (the kernel's limit)"
            )));
        }
        out.push(Some(label));
    }
    Ok(out)
}
