//! Requests and conflicts per whole second of the log, for the report's timeline and for
//! telling requests dated far from the rest (`analyze::far_from_the_rest`).
//!
//! A sorted vector of seconds, 16 bytes each, where a hash map by second took ~26 (with its
//! empty room, up to twice that) in each worker and again in their merge: a 4 GiB log of one
//! day held ~10 MB of them at the end of the pass, and a month of logs (2.6 M seconds) would
//! hold ~75 MB a worker. Lines come mostly in time order, so a second is added at the end or
//! onto the last one; the few that come out of order are appended and the vector is sorted
//! and its equal seconds summed once it has grown to twice its size at the last such pass.

/// One second's counts (a second whose counts pass `u32::MAX` takes several entries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Second {
    at: i64,
    requests: u32,
    conflicts: u32,
}

/// Requests and conflicts by whole second since the epoch.
#[derive(Debug, Default, Clone)]
pub struct PerSecond {
    seconds: Vec<Second>,
    /// How many of `seconds`, from the start, are sorted with their equal seconds summed.
    compact: usize,
    /// Whether every entry is in order (entries after `compact` may repeat a second).
    in_order: bool,
}

impl PerSecond {
    /// Adds `requests` requests and `conflicts` conflicts at second `at`.
    pub fn add(&mut self, at: i64, mut requests: u64, mut conflicts: u64) {
        if self.seconds.is_empty() {
            self.in_order = true;
        }
        if let Some(last) = self.seconds.last_mut()
            && last.at == at
        {
            let r = requests.min(u64::from(u32::MAX - last.requests));
            let c = conflicts.min(u64::from(u32::MAX - last.conflicts));
            // Both fit in `u32` by the `min`s.
            last.requests += r as u32;
            last.conflicts += c as u32;
            (requests, conflicts) = (requests - r, conflicts - c);
            if requests == 0 && conflicts == 0 {
                return;
            }
        }
        if self.seconds.last().is_some_and(|l| l.at > at) {
            self.in_order = false;
        }
        while requests > 0 || conflicts > 0 {
            let (r, c) = (
                requests.min(u32::MAX.into()),
                conflicts.min(u32::MAX.into()),
            );
            self.seconds.push(Second {
                at,
                requests: r as u32,
                conflicts: c as u32,
            });
            (requests, conflicts) = (requests - r, conflicts - c);
        }
        if !self.in_order && self.seconds.len() >= (2 * self.compact).max(1024) {
            self.compact();
        }
    }

    /// Sorts the entries and sums those of one second (as far as `u32` holds).
    fn compact(&mut self) {
        if !self.in_order {
            self.seconds.sort_unstable_by_key(|s| s.at);
        }
        let mut kept = 0;
        for k in 0..self.seconds.len() {
            let s = self.seconds[k];
            if kept > 0 {
                let last = &mut self.seconds[kept - 1];
                if last.at == s.at
                    && let (Some(r), Some(c)) = (
                        last.requests.checked_add(s.requests),
                        last.conflicts.checked_add(s.conflicts),
                    )
                {
                    (last.requests, last.conflicts) = (r, c);
                    continue;
                }
            }
            self.seconds[kept] = s;
            kept += 1;
        }
        self.seconds.truncate(kept);
        (self.compact, self.in_order) = (kept, true);
    }

    /// Adds another part's counts.
    pub fn merge(&mut self, mut other: PerSecond) {
        if self.seconds.len() < other.seconds.len() {
            std::mem::swap(self, &mut other);
        }
        self.compact();
        other.compact();
        // Both sorted: merged in one walk from the ends, in the room reserved at the end.
        let (n, m) = (self.seconds.len(), other.seconds.len());
        self.seconds.reserve_exact(m);
        let filler = Second {
            at: 0,
            requests: 0,
            conflicts: 0,
        };
        self.seconds.resize(n + m, filler);
        let (mut i, mut j) = (n, m);
        for out in (0..n + m).rev() {
            let take_other = j > 0 && (i == 0 || other.seconds[j - 1].at > self.seconds[i - 1].at);
            self.seconds[out] = if take_other {
                j -= 1;
                other.seconds[j]
            } else {
                i -= 1;
                self.seconds[i]
            };
        }
        self.in_order = true;
        self.compact();
    }

    /// Puts the counts in order, one entry a second where they fit (`iter` needs it).
    pub fn seal(&mut self) {
        self.compact();
        self.seconds.shrink_to_fit();
    }

    /// Each second with requests, in order, with its requests and conflicts (after `seal`
    /// or `merge`; unsealed counts are given in the order added).
    pub fn iter(&self) -> impl Iterator<Item = (i64, u64, u64)> + '_ {
        let mut k = 0;
        std::iter::from_fn(move || {
            let first = self.seconds.get(k)?;
            let (mut r, mut c) = (u64::from(first.requests), u64::from(first.conflicts));
            k += 1;
            while let Some(s) = self.seconds.get(k).filter(|s| s.at == first.at) {
                r += u64::from(s.requests);
                c += u64::from(s.conflicts);
                k += 1;
            }
            Some((first.at, r, c))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn map_of(p: &PerSecond) -> BTreeMap<i64, (u64, u64)> {
        let mut m = BTreeMap::new();
        for (at, r, c) in p.iter() {
            assert!(m.insert(at, (r, c)).is_none(), "second {at} given twice");
        }
        m
    }

    proptest::proptest! {
        /// Counts added in any order and split among parts in any way, merged and sealed,
        /// are each second's sums, in order: seconds in order, out of order, repeated, far
        /// apart (1970 and 2100), enough to compact several times.
        #[test]
        fn seconds_are_summed_in_order(
            adds in proptest::collection::vec(
                (
                    proptest::prop_oneof![
                        8 => 1_772_400_000i64..1_772_400_600,
                        1 => proptest::sample::select(vec![0i64, -5, 4_102_444_800]),
                    ],
                    0u64..5,
                    0u64..3,
                ),
                0..3000,
            ),
            sorted in proptest::bool::ANY,
            parts in 1usize..4,
        ) {
            let mut adds = adds;
            if sorted {
                adds.sort_by_key(|a| a.0);
            }
            let mut want: BTreeMap<i64, (u64, u64)> = BTreeMap::new();
            let mut split: Vec<PerSecond> = vec![PerSecond::default(); parts];
            for (k, &(at, r, c)) in adds.iter().enumerate() {
                if r + c == 0 {
                    continue;
                }
                let e = want.entry(at).or_default();
                (e.0, e.1) = (e.0 + r, e.1 + c);
                split[(k / 100) % parts].add(at, r, c);
            }
            let mut all = split.pop().unwrap();
            for p in split {
                all.merge(p);
            }
            all.seal();
            proptest::prop_assert_eq!(map_of(&all), want);
        }
    }

    /// A second's counts past `u32::MAX` take more entries and are summed when read.
    #[test]
    fn counts_past_u32_are_kept() {
        let big = u64::from(u32::MAX);
        let mut a = PerSecond::default();
        a.add(7, big, 1);
        a.add(7, 5, big + 3);
        a.add(3, 1, 0);
        let mut b = PerSecond::default();
        b.add(7, 2 * big, 0);
        a.merge(b);
        a.seal();
        let got: Vec<_> = a.iter().collect();
        assert_eq!(got, [(3, 1, 0), (7, 3 * big + 5, big + 4)]);
    }

    #[test]
    fn nothing_added_is_nothing_given() {
        let mut a = PerSecond::default();
        a.merge(PerSecond::default());
        a.seal();
        assert_eq!(a.iter().count(), 0);
    }
}
