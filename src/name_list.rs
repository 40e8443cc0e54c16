//! Name list: names numbered 0, 1, 2, … in the order added, kept in one buffer.
//!
//! A log can have a million clients with conflicts, each named in the client index and again
//! in the timelines. As `Box<str>` or `String` each name took 16 or 24 bytes and a heap block
//! of its own (32 bytes for an address, with the allocator's header and rounding); here it
//! takes its bytes and the 8 bytes that say where it ends.

use std::ops::Index;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct NameList {
    /// Every name, one after another.
    text: String,
    /// Where each name ends in `text`.
    ends: Vec<usize>,
}

impl NameList {
    /// Adds `name`, numbered `len()` before the call.
    pub fn push(&mut self, name: &str) {
        self.text.push_str(name);
        self.ends.push(self.text.len());
    }

    /// The list of the names in `text` that end where `ends` says, in order (each at a
    /// character boundary, the last at `text`'s end).
    pub fn joined(text: String, ends: Vec<usize>) -> NameList {
        debug_assert!(ends.is_sorted() && ends.last().is_none_or(|&e| e == text.len()));
        debug_assert!(ends.iter().all(|&e| text.is_char_boundary(e)));
        NameList { text, ends }
    }

    /// Adds `other`'s names after these, in their order (lists made side by side, joined).
    pub fn append(&mut self, other: &NameList) {
        let base = self.text.len();
        self.text.push_str(&other.text);
        self.ends.extend(other.ends.iter().map(|e| base + e));
    }

    /// Makes room for `names` more names of `bytes` bytes in all.
    pub fn reserve(&mut self, names: usize, bytes: usize) {
        self.ends.reserve(names);
        self.text.reserve(bytes);
    }

    /// Name `k`, if there are more than `k`.
    pub fn get(&self, k: usize) -> Option<&str> {
        let end = *self.ends.get(k)?;
        let start = k.checked_sub(1).map_or(0, |j| self.ends[j]);
        Some(&self.text[start..end])
    }

    /// Asks for where name `k` starts and ends, ahead of `prefetch_text` (which reads
    /// them) or of indexing.
    #[inline]
    pub fn prefetch_bounds(&self, k: usize) {
        crate::prefetch::prefetch(self.ends.as_ptr().wrapping_add(k.saturating_sub(1)));
    }

    /// Asks for name `k`'s first bytes, reading where it starts (asked for earlier by
    /// `prefetch_bounds`); nothing for a `k` past the names.
    #[inline]
    pub fn prefetch_text(&self, k: usize) {
        if k < self.ends.len() {
            let start = k.checked_sub(1).map_or(0, |j| self.ends[j]);
            crate::prefetch::prefetch(self.text.as_ptr().wrapping_add(start));
        }
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The bytes of all names.
    pub fn bytes(&self) -> usize {
        self.text.len()
    }

    /// The names in number order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + Clone + '_ {
        (self.ends.iter().enumerate()).map(|(k, &end)| {
            let start = k.checked_sub(1).map_or(0, |j| self.ends[j]);
            &self.text[start..end]
        })
    }
}

impl Index<usize> for NameList {
    type Output = str;

    /// Name `k`; panics if there are not more than `k`, as a slice does.
    fn index(&self, k: usize) -> &str {
        match self.get(k) {
            Some(name) => name,
            None => panic!("name {k} of a list of {}", self.len()),
        }
    }
}

impl<'a> FromIterator<&'a str> for NameList {
    fn from_iter<I: IntoIterator<Item = &'a str>>(names: I) -> NameList {
        let mut list = NameList::default();
        list.extend(names);
        list
    }
}

impl<'a> Extend<&'a str> for NameList {
    fn extend<I: IntoIterator<Item = &'a str>>(&mut self, names: I) {
        for name in names {
            self.push(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hints are asked for any number, on any list, and change nothing.
    #[test]
    fn prefetches_take_any_number() {
        let empty = NameList::default();
        let list: NameList = ["a", "", "bc"].into_iter().collect();
        for l in [&empty, &list] {
            for k in [0, 1, 2, 3, 1000, usize::MAX] {
                l.prefetch_bounds(k);
                l.prefetch_text(k);
            }
        }
        assert_eq!(list.iter().collect::<Vec<_>>(), ["a", "", "bc"]);
    }

    proptest::proptest! {
        /// A list gives back the names pushed, by number and in order: empty names,
        /// repeated ones, multi-byte characters.
        #[test]
        fn names_come_back_as_pushed(names in proptest::collection::vec("[a-zé0-9.:]{0,12}", 0..50)) {
            let list: NameList = names.iter().map(|n| n.as_str()).collect();
            proptest::prop_assert_eq!(list.len(), names.len());
            proptest::prop_assert_eq!(list.bytes(), names.iter().map(|n| n.len()).sum::<usize>());
            for (k, n) in names.iter().enumerate() {
                proptest::prop_assert_eq!(&list[k], n.as_str());
                proptest::prop_assert_eq!(list.get(k), Some(n.as_str()));
            }
            proptest::prop_assert_eq!(list.get(names.len()), None);
            proptest::prop_assert!(list.iter().eq(names.iter().map(|n| n.as_str())));
            // Split anywhere and joined again, the same list.
            let cut = names.len() / 2;
            let mut joined: NameList = names[..cut].iter().map(|n| n.as_str()).collect();
            joined.append(&names[cut..].iter().map(|n| n.as_str()).collect());
            proptest::prop_assert_eq!(joined, list);
        }
    }
}
