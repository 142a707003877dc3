//! Writing metric families with prometheus-client's encoder: gauges, counters, infos.

use prometheus_client::encoding::{DescriptorEncoder, EncodeGaugeValue, NoLabelSet};
use prometheus_client::metrics::MetricType;
use std::fmt;

pub type Labels = Vec<(&'static str, String)>;
pub type Rows<V> = Vec<(Labels, V)>;

/// A family of gauges; nothing is written for a family without samples.
pub fn gauges<V: EncodeGaugeValue>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: Rows<V>,
) -> fmt::Result {
    if rows.is_empty() {
        return Ok(());
    }
    let mut m = enc.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (labels, v) in &rows {
        m.encode_family(labels)?.encode_gauge(v)?;
    }
    Ok(())
}

/// A family of counters (the name gets `_total`).
pub fn counters(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: Rows<u64>,
) -> fmt::Result {
    if rows.is_empty() {
        return Ok(());
    }
    let mut m = enc.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (labels, v) in &rows {
        m.encode_family(labels)?
            .encode_counter::<NoLabelSet, u64, f64>(v, None)?;
    }
    Ok(())
}

/// An info family (the name gets `_info`, the value is 1).
pub fn infos(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: Vec<Labels>,
) -> fmt::Result {
    if rows.is_empty() {
        return Ok(());
    }
    let mut m = enc.encode_descriptor(name, help, None, MetricType::Info)?;
    for labels in &rows {
        m.encode_info(labels)?;
    }
    Ok(())
}
