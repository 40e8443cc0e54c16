//! Requests and conflicts per whole second of the log, for the report's timeline and for
//! telling requests dated far from the rest (`analyze::far_from_the_rest`).
//!
//! The seconds are kept in order as a byte stream, each one its gap from the one before, its
//! requests and, when it has any, its conflicts, in LEB128 varints: about 2 bytes a second of
//! steady traffic. A month-long log has ~2.6 M distinct seconds (a year ~31 M); as a hash map
//! they cost ~26 bytes each in every worker, as a vector of 16-byte entries 16.
//!
//! Lines come mostly in time order, so a second is counted in `open`, the latest, and
//! written to the stream when a later one comes. The few that come out of order wait among
//! the `strays` and are merged into the stream, in one walk, once they are as many as the
//! stream's seconds (or a thousand). Two parts merge in one walk of both streams.

/// One second's counts, while they are not in the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Second {
    at: i64,
    requests: u64,
    conflicts: u64,
}

/// Requests and conflicts by whole second since the epoch.
#[derive(Debug, Default, Clone)]
pub struct PerSecond {
    /// The seconds in order, one entry each (see `Stream`).
    stream: Stream,
    /// The latest second added in order (after the stream's last), still being counted.
    open: Option<Second>,
    /// Seconds added out of order, unsorted.
    strays: Vec<Second>,
}

impl PerSecond {
    /// Strays wait until they are this many, or as many as the stream's seconds (fewer in
    /// tests, so that their few thousand seconds settle several times).
    const MIN_STRAYS: usize = if cfg!(test) { 16 } else { 1024 };

    /// Adds `requests` requests and `conflicts` conflicts at second `at`.
    pub fn add(&mut self, at: i64, requests: u64, conflicts: u64) {
        if requests == 0 && conflicts == 0 {
            return;
        }
        let new = Second {
            at,
            requests,
            conflicts,
        };
        match &mut self.open {
            Some(o) if o.at == at => {
                o.requests += requests;
                o.conflicts += conflicts;
            }
            Some(o) if o.at < at => {
                self.stream.push(*o);
                *o = new;
            }
            None if self.stream.last.is_none_or(|l| l < at) => self.open = Some(new),
            _ => {
                self.strays.push(new);
                if self.strays.len() >= self.stream.len.max(Self::MIN_STRAYS) {
                    self.settle();
                }
            }
        }
    }

    /// Writes the open second and the strays into the stream.
    fn settle(&mut self) {
        let mut loose = std::mem::take(&mut self.strays);
        loose.extend(self.open.take());
        if loose.is_empty() {
            return;
        }
        loose.sort_unstable_by_key(|s| s.at);
        let stream = std::mem::take(&mut self.stream);
        self.stream = Stream::merged(stream.iter(), loose.into_iter(), stream.bytes.len());
    }

    /// Adds another part's counts.
    pub fn merge(&mut self, mut other: PerSecond) {
        self.settle();
        other.settle();
        let (a, b) = (std::mem::take(&mut self.stream), other.stream);
        let room = a.bytes.len() + b.bytes.len();
        self.stream = Stream::merged(a.iter(), b.iter(), room);
    }

    /// Puts the counts in order, one entry a second (`iter` needs it).
    pub fn seal(&mut self) {
        self.settle();
        self.stream.bytes.shrink_to_fit();
    }

    /// Each second with requests, in order, with its requests and conflicts (after `seal`
    /// or `merge`; before, the seconds not yet in order come after the others).
    pub fn iter(&self) -> impl Iterator<Item = (i64, u64, u64)> + '_ {
        (self.stream.iter())
            .chain(self.open)
            .chain(self.strays.iter().copied())
            .map(|s| (s.at, s.requests, s.conflicts))
    }
}

/// Seconds in order, one entry each: the gap from the previous second (from 0 for the
/// first, as two's complement), then the requests shifted left by one with the low bit set
/// when conflicts follow, then the conflicts if any; each an LEB128 varint.
#[derive(Debug, Default, Clone)]
struct Stream {
    bytes: Vec<u8>,
    /// How many seconds.
    len: usize,
    /// The last second written.
    last: Option<i64>,
}

impl Stream {
    /// Writes `s`, which comes after every second written.
    fn push(&mut self, s: Second) {
        let gap = (s.at as u64).wrapping_sub(self.last.unwrap_or(0) as u64);
        varint(&mut self.bytes, gap);
        // Counts are line counts, far below 2^63: the shift loses nothing.
        varint(
            &mut self.bytes,
            s.requests << 1 | u64::from(s.conflicts != 0),
        );
        if s.conflicts != 0 {
            varint(&mut self.bytes, s.conflicts);
        }
        (self.len, self.last) = (self.len + 1, Some(s.at));
    }

    /// The seconds, in order.
    fn iter(&self) -> impl Iterator<Item = Second> + '_ {
        let (mut bytes, mut at) = (&self.bytes[..], 0u64);
        std::iter::from_fn(move || {
            if bytes.is_empty() {
                return None;
            }
            at = at.wrapping_add(read_varint(&mut bytes));
            let counts = read_varint(&mut bytes);
            let conflicts = if counts & 1 != 0 {
                read_varint(&mut bytes)
            } else {
                0
            };
            Some(Second {
                at: at as i64,
                requests: counts >> 1,
                conflicts,
            })
        })
    }

    /// The stream of two runs of seconds in order, in one walk; a second in both, or
    /// repeated in one, is one entry of their sums. `room`: bytes to reserve.
    fn merged(
        a: impl Iterator<Item = Second>,
        b: impl Iterator<Item = Second>,
        room: usize,
    ) -> Stream {
        let mut out = Stream {
            bytes: Vec::with_capacity(room),
            ..Stream::default()
        };
        let mut pending: Option<Second> = None;
        let (mut a, mut b) = (a.peekable(), b.peekable());
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) if y.at < x.at => b.next(),
                (Some(_), _) => a.next(),
                (None, _) => b.next(),
            };
            let Some(s) = next else { break };
            match &mut pending {
                Some(p) if p.at == s.at => {
                    p.requests += s.requests;
                    p.conflicts += s.conflicts;
                }
                _ => {
                    if let Some(p) = pending.replace(s) {
                        out.push(p);
                    }
                }
            }
        }
        if let Some(p) = pending {
            out.push(p);
        }
        out
    }
}

/// Appends `v` as an LEB128 varint (7 bits a byte, low first, high bit: more follow).
fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads an LEB128 varint off the front of `bytes` (only what `varint` wrote: never short).
fn read_varint(bytes: &mut &[u8]) -> u64 {
    let (mut v, mut shift) = (0u64, 0);
    while let Some((&b, rest)) = bytes.split_first() {
        *bytes = rest;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            break;
        }
        shift += 7;
    }
    v
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

    /// Counts past `u32::MAX` and seconds at the ends of `i64` (gaps wrapping) are kept.
    #[test]
    fn extremes_are_kept() {
        let big = 1u64 << 61;
        let mut a = PerSecond::default();
        a.add(i64::MAX, big, 1);
        a.add(i64::MIN, 1, big);
        a.add(0, 300, 0);
        a.add(i64::MIN, big, 2);
        a.seal();
        let got: Vec<_> = a.iter().collect();
        assert_eq!(
            got,
            [
                (i64::MIN, big + 1, big + 2),
                (0, 300, 0),
                (i64::MAX, big, 1)
            ]
        );
    }

    /// A second's counts past `u32::MAX` are summed.
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
