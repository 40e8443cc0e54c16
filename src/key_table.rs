//! Key table: instance paths numbered densely in the order they come, kept in one buffer.
//!
//! The conflict scan numbers each conflicting instance it meets and `Interest` looks every
//! line's instance (and parent) up among them. A log can have a million conflicting
//! instances: as a map of boxed names each cost a 24-byte table entry (at a load under one
//! half, 48 bytes) and a heap block of its own. Here a name is a record in one buffer (its
//! length, its number, its bytes) and the table holds the record's place: 8 bytes an entry.
//! A lookup that finds its key reads the table, then the record — the two reads the boxed
//! map made (its entry, then the box).

use crate::bytes::same;
use hashbrown::HashTable;
use std::hash::Hasher;

/// Names numbered 0, 1, 2, … in the order they were added.
#[derive(Debug, Default, Clone)]
pub struct KeyTable {
    /// Each name's record's place in `records`.
    table: HashTable<u64>,
    /// The records, in number order: the name's length (u32, little-endian), its number
    /// (u32), its bytes.
    records: Vec<u8>,
}

/// A record's length and number, before its bytes.
const HEAD: usize = 8;

fn hash(name: &[u8]) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    h.write(name);
    h.finish()
}

/// The name and number of the record at `at`.
#[inline]
fn record(records: &[u8], at: u64) -> (&[u8], u32) {
    let at = at as usize;
    let word = |i: usize| u32::from_le_bytes(records[i..i + 4].try_into().unwrap_or([0; 4]));
    let (len, number) = (word(at) as usize, word(at + 4));
    (&records[at + HEAD..at + HEAD + len], number)
}

impl KeyTable {
    /// How many names.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The number of `name`, if it is in the table.
    #[inline]
    pub fn get(&self, name: &str) -> Option<u32> {
        let name = name.as_bytes();
        let records = &self.records;
        (self.table)
            .find(hash(name), |&at| same(record(records, at).0, name))
            .map(|&at| record(records, at).1)
    }

    /// The number of `name`, and whether it was added now (numbered `len()` before the call).
    pub fn insert(&mut self, name: &str) -> (u32, bool) {
        let bytes = name.as_bytes();
        let h = hash(bytes);
        let records = &self.records;
        if let Some(&at) = self.table.find(h, |&at| same(record(records, at).0, bytes)) {
            return (record(records, at).1, false);
        }
        let number = self.table.len() as u32;
        let at = self.records.len() as u64;
        // Lengths fit in 32 bits: a line longer than `analyze::MAX_LINE` is skipped whole.
        self.records
            .extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        self.records.extend_from_slice(&number.to_le_bytes());
        self.records.extend_from_slice(bytes);
        let records = &self.records;
        self.table
            .insert_unique(h, at, |&at| hash(record(records, at).0));
        (number, true)
    }

    /// Room for `names` more names of `bytes` bytes in all, made at once (growing by
    /// doubling rehashed every name at each step).
    pub fn reserve(&mut self, names: usize, bytes: usize) {
        self.records.reserve(bytes + names * HEAD);
        let records = &self.records;
        self.table.reserve(names, |&at| hash(record(records, at).0));
    }

    /// Bytes the names take, their records' heads left out (what `reserve` takes to copy
    /// them all: it adds the heads itself).
    pub fn bytes(&self) -> usize {
        self.records.len() - self.len() * HEAD
    }

    /// The names and their numbers, in number order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u32)> {
        let mut at = 0u64;
        std::iter::from_fn(move || {
            if at as usize >= self.records.len() {
                return None;
            }
            let (name, number) = record(&self.records, at);
            at += (HEAD + name.len()) as u64;
            // Records hold whole `&str`s, so the split never falls inside a character.
            Some((std::str::from_utf8(name).unwrap_or_default(), number))
        })
    }

    /// The names, by number.
    pub fn into_names(self) -> Vec<Box<str>> {
        let mut names = Vec::with_capacity(self.len());
        names.extend(self.iter().map(|(name, _)| Box::<str>::from(name)));
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    proptest::proptest! {
        /// Numbers come in the order names were first added; every name is found with its
        /// number, no other name is; the names come back by number.
        #[test]
        fn numbers_names_as_a_map_would(
            names in proptest::collection::vec("[a-z/0-9é]{0,12}", 0..60),
            others in proptest::collection::vec("[a-z/0-9é]{0,12}", 0..20),
        ) {
            let mut table = KeyTable::default();
            let mut map: HashMap<String, u32> = HashMap::new();
            for n in &names {
                let fresh = !map.contains_key(n);
                let next = map.len() as u32;
                let want = *map.entry(n.clone()).or_insert(next);
                proptest::prop_assert_eq!(table.insert(n), (want, fresh));
            }
            proptest::prop_assert_eq!(table.len(), map.len());
            for n in names.iter().chain(&others) {
                proptest::prop_assert_eq!(table.get(n), map.get(n).copied());
            }
            let by_number: Vec<(String, u32)> =
                table.iter().map(|(n, k)| (n.to_string(), k)).collect();
            for (k, (n, number)) in by_number.iter().enumerate() {
                proptest::prop_assert_eq!(*number as usize, k);
                proptest::prop_assert_eq!(map[n], *number);
            }
            let names_back = table.clone().into_names();
            proptest::prop_assert_eq!(names_back.len(), map.len());
            for (n, &k) in &map {
                proptest::prop_assert_eq!(&*names_back[k as usize], n.as_str());
            }
        }
    }

    /// Reserving keeps every name findable, and a name as long as a line may be is kept.
    #[test]
    fn reserve_and_long_names() {
        let mut table = KeyTable::default();
        let long = "x".repeat(300_000);
        assert_eq!(table.insert("/a"), (0, true));
        table.reserve(1000, 100_000);
        assert_eq!(table.insert(&long), (1, true));
        for k in 0..1000 {
            table.insert(&format!("/orders/{k}"));
        }
        assert_eq!(table.get("/a"), Some(0));
        assert_eq!(table.get(&long), Some(1));
        assert_eq!(table.get("/orders/999"), Some(1001));
        assert_eq!(table.get(""), None);
        assert_eq!(table.insert(""), (1002, true));
        assert_eq!(table.get(""), Some(1002));
        let names: usize = table.iter().map(|(n, _)| n.len()).sum();
        assert_eq!(table.bytes(), names);
    }
}
