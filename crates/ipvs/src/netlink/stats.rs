//! The STATS / STATS64 nested attributes of services and destinations.
//!
//! The kernel (`ip_vs_genl_fill_stats`, `ip_vs_genl_fill_stats64`) sends both:
//! STATS with u32 counters and rates but u64 byte counts, STATS64 with everything u64
//! (and, where 64-bit values need aligning, zero-length PAD attributes). STATS64 is preferred.

use crate::types::Stats;

use super::attr::{get_counter, table};
use super::consts::stats_attr as sa;
use super::error::DecodeError;

pub(crate) fn parse_stats(nested: &[u8]) -> Result<Stats, DecodeError> {
    let t = table::<{ sa::PAD as usize }>(nested)?;
    let get = |kind: u16, what: &str| -> Result<u64, DecodeError> {
        t[kind as usize].map_or(Ok(0), |v| get_counter(what, v))
    };
    Ok(Stats {
        conns: get(sa::CONNS, "stats conns")?,
        inpkts: get(sa::INPKTS, "stats inpkts")?,
        outpkts: get(sa::OUTPKTS, "stats outpkts")?,
        inbytes: get(sa::INBYTES, "stats inbytes")?,
        outbytes: get(sa::OUTBYTES, "stats outbytes")?,
        cps: get(sa::CPS, "stats cps")?,
        inpps: get(sa::INPPS, "stats inpps")?,
        outpps: get(sa::OUTPPS, "stats outpps")?,
        inbps: get(sa::INBPS, "stats inbps")?,
        outbps: get(sa::OUTBPS, "stats outbps")?,
    })
}

/// STATS64 if present, else STATS, else zeros.
pub(crate) fn pick(stats64: Option<&[u8]>, stats: Option<&[u8]>) -> Result<Stats, DecodeError> {
    match (stats64, stats) {
        (Some(v), _) | (None, Some(v)) => parse_stats(v),
        (None, None) => Ok(Stats::default()),
    }
}
