//! A cache hint: asks for the line at an address some work before it is read, so that a
//! read at random (a table's slot, a name in a list) finds it loaded, or on its way.

/// Asks for the cache line at `p`. Any address will do: a prefetch never faults, and one
/// past an allocation's end only wastes the hint.
#[inline(always)]
pub fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint: it never faults, and the address is only formed.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
