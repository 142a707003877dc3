//! "Did you mean ...?": the nearest candidate by edit distance.

/// Levenshtein distance over characters, case-insensitive.
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The candidate closest to `word`, if it is close enough to be a typo:
/// at most half the length of a short word (values like `USIP`) or a third
/// of a longer one (keywords like `lib_algo`), and at least 1, edits away.
pub fn closest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    if word.chars().count() > 64 {
        return None;
    }
    let n = word.chars().count();
    let limit = if n <= 5 { n / 2 } else { n / 3 }.max(1);
    candidates
        .map(|c| (distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_typos_find_their_keyword() {
        let kws = ["lb_algo", "lb_kind", "delay_loop", "protocol"];
        assert_eq!(closest("lib_algo", kws.iter().copied()), Some("lb_algo"));
        assert_eq!(closest("lib_kind", kws.iter().copied()), Some("lb_kind"));
        let algos = ["rr", "wrr", "lc", "wlc"];
        assert_eq!(closest("wr1", algos.iter().copied()), Some("wrr"));
        let protos = ["TCP", "UDP", "SCTP"];
        assert_eq!(closest("USIP", protos.iter().copied()), Some("UDP"));
        assert_eq!(closest("completely_else", kws.iter().copied()), None);
    }
}
