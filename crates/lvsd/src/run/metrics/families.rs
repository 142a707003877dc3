//! Writing metric families with prometheus-client's encoder: gauges, counters, infos. The
//! samples come from iterators and their labels borrow from the snapshot: a scrape holds one
//! sample's labels at a time, not a copy of every label of a family.

use prometheus_client::encoding::{
    DescriptorEncoder, EncodeCounterValue, EncodeGaugeValue, MetricEncoder, NoLabelSet,
};
use prometheus_client::metrics::MetricType;
use std::borrow::Cow;
use std::fmt;

pub type Labels<'a> = Vec<(&'static str, Cow<'a, str>)>;
pub type Rows<'a, V> = Vec<(Labels<'a>, V)>;

/// A label borrowed from the snapshot.
pub fn b(s: &str) -> Cow<'_, str> {
    Cow::Borrowed(s)
}

/// A label made for this sample.
pub fn o<'a>(s: impl ToString) -> Cow<'a, str> {
    Cow::Owned(s.to_string())
}

/// A family of `kind`: its descriptor, then `write` for each row; nothing is written for a
/// family without samples.
fn family<T>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    kind: MetricType,
    rows: impl IntoIterator<Item = T>,
    mut write: impl FnMut(&mut MetricEncoder<'_>, T) -> fmt::Result,
) -> fmt::Result {
    let mut rows = rows.into_iter().peekable();
    if rows.peek().is_none() {
        return Ok(());
    }
    let mut m = enc.encode_descriptor(name, help, None, kind)?;
    rows.try_for_each(|r| write(&mut m, r))
}

/// A family of gauges.
pub fn gauges<'a, V: EncodeGaugeValue>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: impl IntoIterator<Item = (Labels<'a>, V)>,
) -> fmt::Result {
    family(enc, name, help, MetricType::Gauge, rows, |m, (l, v)| {
        m.encode_family(&l)?.encode_gauge(&v)
    })
}

/// A family of counters (the name gets `_total`).
pub fn counters<'a, V: EncodeCounterValue>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: impl IntoIterator<Item = (Labels<'a>, V)>,
) -> fmt::Result {
    family(enc, name, help, MetricType::Counter, rows, |m, (l, v)| {
        m.encode_family(&l)?
            .encode_counter::<NoLabelSet, V, f64>(&v, None)
    })
}

/// An info family (the name gets `_info`, the value is 1).
pub fn infos<'a>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: impl IntoIterator<Item = Labels<'a>>,
) -> fmt::Result {
    family(enc, name, help, MetricType::Info, rows, |m, l| {
        m.encode_info(&l)
    })
}

/// A family of histograms: per label set, (sum, count, (upper bound, count in that bucket)).
pub fn histograms<'a>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: impl IntoIterator<Item = (Labels<'a>, (f64, u64, Vec<(f64, u64)>))>,
) -> fmt::Result {
    family(
        enc,
        name,
        help,
        MetricType::Histogram,
        rows,
        |m, (l, (sum, count, buckets))| {
            m.encode_family(&l)?
                .encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
        },
    )
}

/// A histogram without labels: `buckets` are (upper bound, count in that bucket).
pub fn histogram(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    sum: f64,
    count: u64,
    buckets: &[(f64, u64)],
) -> fmt::Result {
    let mut m = enc.encode_descriptor(name, help, None, MetricType::Histogram)?;
    m.encode_histogram::<NoLabelSet>(sum, count, buckets, None)
}
