//! Short names (at most 15 bytes: an IPv4 address, most client keys) numbered in a table
//! whose entries hold the name itself, packed into two words, beside its number.
//!
//! The conflict scan numbers each conflict's client, and the pass looks every line's client
//! up. In hashbrown's table each did two loads, a group of control bytes and then the
//! entry, from places only the table knew. Here one entry is read (or a few side by side),
//! and the place a lookup reads first is known from the name alone: the scan asks for it
//! as it reads a conflict and numbers the client a few conflicts later
//! (`ShortNames::prefetch`; on a log with a conflict every five lines, the client inserts
//! were a seventh of the scan, sampled, and are a twentieth).

use std::hash::Hasher;

/// A name of at most 15 bytes packed into two words (`packed`). Two `u64`s, not a `u128`:
/// a `u128` is aligned to 16 bytes, which made each entry 32 bytes where 24 hold it.
pub type Packed = (u64, u64);

/// A name of at most 15 bytes as two words, distinct for distinct names: the length in the
/// top byte of the second, then the bytes (for 8 to 15 bytes, the first eight and the last
/// seven, which together cover the name).
#[inline]
pub fn packed(s: &str) -> Option<Packed> {
    let b = s.as_bytes();
    let n = b.len();
    let word = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or([0; 8]));
    let len = (n as u64) << 56;
    match n {
        8..=15 => Some((word(0), (word(n - 8) >> 8) | len)),
        0..=7 => {
            let mut v = 0u64;
            for (i, &c) in b.iter().enumerate() {
                v |= (c as u64) << (8 * i);
            }
            Some((v, len))
        }
        _ => None,
    }
}

/// One slot: a packed name and its number, or `FREE`.
#[derive(Debug, Clone, Copy)]
struct Entry {
    name: Packed,
    number: u32,
}

/// The number of a free slot (no name is numbered `u32::MAX`: numbers count names).
const FREE: u32 = u32::MAX;

const EMPTY: Entry = Entry {
    name: (0, 0),
    number: FREE,
};

/// Packed names and their numbers in open addressing: a name's entry is in the first free
/// slot from the one its hash chooses (`home`) on, the table at most three quarters full.
#[derive(Debug, Clone)]
pub struct ShortNames {
    /// A power of two of slots.
    slots: Vec<Entry>,
    len: usize,
}

impl Default for ShortNames {
    fn default() -> ShortNames {
        ShortNames::with_capacity(0)
    }
}

impl ShortNames {
    /// Room for `names` names.
    fn with_capacity(names: usize) -> ShortNames {
        let n = (names.saturating_mul(4).div_ceil(3))
            .next_power_of_two()
            .max(8);
        ShortNames {
            slots: crate::huge_pages::filled(n, EMPTY),
            len: 0,
        }
    }

    /// How many names.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many names fit before the table must grow.
    fn capacity(&self) -> usize {
        self.slots.len() / 4 * 3
    }

    /// The slot `name` is looked for from.
    #[inline]
    fn home(&self, name: Packed) -> usize {
        let mut h = rustc_hash::FxHasher::default();
        h.write_u64(name.0);
        h.write_u64(name.1);
        // FxHash's low bits are weak: mixed again, its high bits choose the slot.
        (h.finish().wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize & (self.slots.len() - 1)
    }

    /// The slot that holds `name`, or the free one that ends its probe (`Err`).
    #[inline]
    fn find(&self, name: Packed) -> Result<usize, usize> {
        let mask = self.slots.len() - 1;
        let mut i = self.home(name);
        loop {
            let e = &self.slots[i];
            if e.number == FREE {
                return Err(i);
            }
            if e.name == name {
                return Ok(i);
            }
            i = (i + 1) & mask;
        }
    }

    /// The number of `name`, if it is in the table.
    #[inline]
    pub fn get(&self, name: Packed) -> Option<u32> {
        self.find(name).ok().map(|i| self.slots[i].number)
    }

    /// The number of `name`: its own if it is in the table, else `next`, which it is given.
    pub fn insert(&mut self, name: Packed, next: u32) -> u32 {
        debug_assert!(next != FREE);
        if self.len == self.capacity() {
            self.reserve(1);
        }
        match self.find(name) {
            Ok(i) => self.slots[i].number,
            Err(i) => {
                self.slots[i] = Entry { name, number: next };
                self.len += 1;
                next
            }
        }
    }

    /// Room for `more` names beyond those there are, made at once.
    pub fn reserve(&mut self, more: usize) {
        let names = self.len.saturating_add(more);
        if names <= self.capacity() {
            return;
        }
        let grown = ShortNames::with_capacity(names.max(self.capacity().saturating_mul(2)));
        let old = std::mem::replace(self, grown);
        for e in old.slots.into_iter().filter(|e| e.number != FREE) {
            // Names are distinct: the first free slot is the name's.
            if let Err(i) = self.find(e.name) {
                self.slots[i] = e;
                self.len += 1;
            }
        }
    }

    /// Asks for the slot `name` is looked for from, ahead of `get` or `insert`.
    #[inline]
    pub fn prefetch(&self, name: Packed) {
        crate::prefetch::prefetch(self.slots.as_ptr().wrapping_add(self.home(name)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_three_words() {
        assert_eq!(std::mem::size_of::<Entry>(), 24);
    }

    /// Names get the numbers they were first given, through growth; other names none.
    #[test]
    fn numbers_names_through_growth() {
        let mut t = ShortNames::default();
        let names: Vec<String> = (0..5000)
            .map(|k| format!("10.{}.{}.{}", k % 7, k / 256, k % 256))
            .collect();
        for (k, n) in names.iter().enumerate() {
            let p = packed(n).unwrap();
            t.prefetch(p);
            assert_eq!(t.insert(p, k as u32), k as u32);
            assert_eq!(t.insert(p, 9999), k as u32);
        }
        assert_eq!(t.len(), 5000);
        for (k, n) in names.iter().enumerate() {
            assert_eq!(t.get(packed(n).unwrap()), Some(k as u32));
        }
        assert_eq!(t.get(packed("10.9.9.9").unwrap()), None);
        assert_eq!(t.get(packed("").unwrap()), None);
        assert_eq!(ShortNames::default().get(packed("").unwrap()), None);
    }

    proptest::proptest! {
        /// Two different short names never pack to the same number (names differing only
        /// in one byte or in length are the likely collisions, so they are made often).
        #[test]
        fn packed_names_are_distinct(
            a in "[0-9a-f.:]{0,16}",
            at in 0usize..16,
            byte in proptest::num::u8::ANY,
            cut in proptest::bool::ANY,
        ) {
            let mut b = a.clone().into_bytes();
            if cut {
                b.truncate(at);
            } else if at < b.len() {
                b[at] = byte;
            } else {
                b.push(byte);
            }
            let b = String::from_utf8_lossy(&b).into_owned();
            match (packed(&a), packed(&b)) {
                (Some(x), Some(y)) => proptest::prop_assert_eq!(x == y, a == b),
                (x, y) => proptest::prop_assert!(
                    (x.is_none() == (a.len() > 15)) && (y.is_none() == (b.len() > 15))
                ),
            }
        }

        /// The table numbers names as a map does, whatever room was reserved on the way.
        #[test]
        fn numbers_names_as_a_map_would(
            names in proptest::collection::vec("[0-3]{0,3}|[0-9.]{7,15}", 0..300),
            reserve_at in 0usize..300,
            reserve in 0usize..100,
        ) {
            let mut t = ShortNames::default();
            let mut map = std::collections::HashMap::new();
            for (k, n) in names.iter().enumerate() {
                if k == reserve_at {
                    t.reserve(reserve);
                }
                let p = packed(n).unwrap();
                let next = map.len() as u32;
                let want = *map.entry(n.clone()).or_insert(next);
                proptest::prop_assert_eq!(t.insert(p, next), want);
            }
            proptest::prop_assert_eq!(t.len(), map.len());
            for (n, &k) in &map {
                proptest::prop_assert_eq!(t.get(packed(n).unwrap()), Some(k));
            }
        }
    }
}
