//! Huge pages for large tables that are read at random.
//!
//! The tables the pass probes for every line (the key table's slots and filter, the keys'
//! spans of interest) are megabytes on a log with hundreds of thousands of conflicting
//! instances, and each probe lands on a page of its own: with 4 KiB pages nearly every probe
//! also missed the TLB. Where the kernel hands out transparent huge pages only on request
//! (`madvise`, the common default), such a table asks for them before it is first written.

/// A vector of `n` copies of `value`, backed by huge pages where the kernel grants them.
pub fn filled<T: Clone>(n: usize, value: T) -> Vec<T> {
    let mut v = with_capacity(n);
    v.resize(n, value);
    v
}

/// An empty vector with room for `n` items, backed by huge pages where the kernel grants
/// them (as they are pushed: the room is not written here).
pub fn with_capacity<T>(n: usize) -> Vec<T> {
    let v = Vec::with_capacity(n);
    advise(v.as_ptr() as usize, v.capacity() * std::mem::size_of::<T>());
    v
}

/// Asks for huge pages on the whole 2 MiB pages within `len` bytes at `start`: a hint, whose
/// failure (an old kernel, no THP) changes nothing but speed.
fn advise(start: usize, len: usize) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let from = start.next_multiple_of(HUGE);
        let to = (start + len) / HUGE * HUGE;
        if to > from {
            // SAFETY: the range lies within one live allocation of this process, and
            // MADV_HUGEPAGE only changes how the kernel backs it: its contents, its mapping
            // and its lifetime stay as they are.
            unsafe {
                libc::madvise(from as *mut libc::c_void, to - from, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (start, len);
}

#[cfg(test)]
mod tests {
    /// The vector is what `vec!` makes, small or large (large enough for the hint).
    #[test]
    fn filled_is_vec() {
        assert_eq!(super::filled(3, 7u64), vec![7u64; 3]);
        let big = super::filled(1 << 20, u64::MAX);
        assert_eq!(big.len(), 1 << 20);
        assert!(big.iter().all(|&x| x == u64::MAX));
        assert!(super::filled(0, 1u8).is_empty());
    }
}
