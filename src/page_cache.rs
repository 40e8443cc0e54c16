//! Reading the parts of a mapped file that are not in the page cache, before it is parsed.
//!
//! A file read through its map is read by page faults. When it is not cached, each fault
//! waits for the kernel's readahead, the names' samples (`names::sample_ranges`) fault in
//! at 64 places a GiB before the scan streams through, and the kernel caches what faults
//! bring in as small folios, which every later run maps a few pages a fault: a 1 GiB log
//! took 1.2–1.5 s the first time and 0.47–0.52 s each time after (0.1 s of it in the
//! kernel), where a sequential read (`sendfile` to /dev/null) brings the same file in in
//! 0.37 s, in large folios, after which a run takes 0.40–0.42 s (0.02 s in the kernel).
//!
//! So the stretches of a mapped log that are not cached are read first, in order, the way
//! `cat` reads, when the whole log is to be read (`input::open`; with a time range only
//! the range's lines are). It is only a hint: errors end it, and what is not read in is
//! faulted in as before, and the folios' size is the kernel's choice (with little free
//! memory in large blocks, right after a memory-hungry job, they come small). A log cached
//! already costs a `mincore` call per `PROBE`.

use std::fs::File;
use std::ops::Range;

/// A log is read in by stretches of this many bytes…
pub const STRETCH: usize = 8 << 20;
/// …each of which is read in unless the pages at every `PROBE` bytes of it are cached. A
/// file evicted in part under memory pressure keeps runs of pages: a stretch cached only at
/// its start would otherwise be faulted in page by page. (`mincore` over a whole 1 GiB map
/// takes 14–18 ms; a page every MiB, 1,024 calls, well under one.)
pub const PROBE: usize = 1 << 20;

/// The byte ranges of a `len`-byte file to read in, given whether each `STRETCH` from the
/// start is cached: the runs of stretches that are not, joined.
pub fn absent_runs(cached: impl IntoIterator<Item = bool>, len: usize) -> Vec<Range<usize>> {
    let mut runs: Vec<Range<usize>> = Vec::new();
    for (k, cached) in cached.into_iter().enumerate() {
        let start = k * STRETCH;
        if cached || start >= len {
            continue;
        }
        let end = (start + STRETCH).min(len);
        match runs.last_mut() {
            Some(r) if r.end == start => r.end = end,
            _ => runs.push(start..end),
        }
    }
    runs
}

/// Reads into the page cache the stretches of `file` (mapped at `map`) that are not all
/// there, within what the run's read-ins may still take (half the memory available at the
/// first), telling `done` the bytes read in as it goes.
pub fn read_in(file: &File, map: &[u8], done: &mut dyn FnMut(u64)) {
    #[cfg(target_os = "linux")]
    linux::read_in(file, map, done);
    #[cfg(not(target_os = "linux"))]
    let _ = (file, map, done);
}

/// Bytes read in a call at most, so that progress is told as the read goes.
const PIECE: usize = 64 << 20;

#[cfg(target_os = "linux")]
mod linux {
    use super::{PIECE, PROBE, STRETCH, absent_runs};
    use std::fs::File;
    use std::os::fd::AsRawFd;
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// What the run's read-ins may still take: half the memory the kernel reported
    /// available when the first was asked for. A set of inputs larger than that is not read
    /// in only to be evicted again before the scan reaches it.
    static BUDGET: OnceLock<AtomicU64> = OnceLock::new();

    fn budget() -> &'static AtomicU64 {
        BUDGET.get_or_init(|| AtomicU64::new(mem_available().unwrap_or(0) / 2))
    }

    /// `MemAvailable` of /proc/meminfo, in bytes.
    fn mem_available() -> Option<u64> {
        let info = std::fs::read_to_string("/proc/meminfo").ok()?;
        let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    }

    /// Takes `n` bytes of the budget, if they are left.
    fn reserve(n: u64) -> bool {
        let b = budget();
        b.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
            left.checked_sub(n)
        })
        .is_ok()
    }

    /// Whether the page at `p` (page-aligned, within a map) is cached; an error says yes,
    /// so that nothing is read on its account.
    fn cached(p: *const u8) -> bool {
        let mut v = 0u8;
        // SAFETY: `p` is the page-aligned start of a page of a live map, and `mincore` writes
        // one byte for the one page asked about.
        let r = unsafe { libc::mincore(p as *mut libc::c_void, 1, &mut v) };
        r != 0 || v & 1 == 1
    }

    pub fn read_in(file: &File, map: &[u8], done: &mut dyn FnMut(u64)) {
        // The map starts on a page, and `STRETCH` and `PROBE` are multiples of any page size.
        let stretches = (0..map.len()).step_by(STRETCH).map(|start| {
            let end = (start + STRETCH).min(map.len());
            (start..end)
                .step_by(PROBE)
                .all(|at| cached(map[at..].as_ptr()))
        });
        let runs = absent_runs(stretches, map.len());
        if runs.is_empty() {
            return;
        }
        let Ok(null) = File::options().write(true).open("/dev/null") else {
            return;
        };
        for r in runs {
            if !reserve(r.len() as u64) {
                return;
            }
            let mut at = r.start as libc::off_t;
            while (at as usize) < r.end {
                let n = (r.end - at as usize).min(PIECE);
                // SAFETY: both descriptors are open for the call; `at` is ours to update.
                let sent =
                    unsafe { libc::sendfile(null.as_raw_fd(), file.as_raw_fd(), &mut at, n) };
                if sent <= 0 {
                    return;
                }
                done(sent as u64);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_stretches_are_joined_and_cut_at_the_end() {
        let len = 3 * STRETCH + 100;
        assert!(absent_runs([true, true, true, true], len).is_empty());
        assert_eq!(absent_runs([false, false, false, false], len), vec![0..len]);
        assert_eq!(
            absent_runs([false, true, false, false], len),
            vec![0..STRETCH, 2 * STRETCH..len]
        );
        assert_eq!(
            absent_runs([true, false], STRETCH + 1),
            vec![STRETCH..STRETCH + 1]
        );
        // Probes past the end are no stretch.
        assert_eq!(absent_runs([false, false], 10), vec![0..10]);
    }

    /// A file read in is cached at every probe, also where only the first page of each
    /// stretch was (on a file system that evicts on request; tmpfs keeps every page, and
    /// then nothing is read).
    #[cfg(target_os = "linux")]
    #[test]
    fn a_file_read_in_is_cached() {
        use std::io::Write;
        use std::os::fd::AsRawFd;
        use std::os::unix::fs::FileExt;
        let mut f = tempfile::tempfile().unwrap();
        let block = vec![b'x'; 1 << 20];
        for _ in 0..20 {
            f.write_all(&block).unwrap();
        }
        f.sync_all().unwrap();
        // SAFETY: hints about a file only this test holds: dropped from the cache, then read
        // a page at a time without readahead.
        unsafe {
            libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED);
            libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_RANDOM);
        }
        for at in (0..20 << 20).step_by(STRETCH) {
            f.read_exact_at(&mut [0], at as u64).unwrap();
        }
        // SAFETY: the file is not changed while mapped.
        let map = unsafe { memmap2::Mmap::map(&f) }.unwrap();
        let pages = || {
            let mut pages = vec![0u8; map.len().div_ceil(4096)];
            // SAFETY: the vector has a byte for every 4 KiB page of the map (4 KiB or larger).
            let r = unsafe {
                libc::mincore(
                    map.as_ptr() as *mut libc::c_void,
                    map.len(),
                    pages.as_mut_ptr(),
                )
            };
            assert_eq!(r, 0);
            pages
        };
        let evicted = pages()[PROBE / 4096] & 1 == 0;
        let mut read = 0;
        read_in(&f, &map, &mut |n| read += n);
        // Every stretch lacked pages, and was read in whole, its progress told.
        assert_eq!(read, if evicted { map.len() as u64 } else { 0 });
        let pages = pages();
        for at in (0..map.len()).step_by(PROBE) {
            assert_eq!(pages[at / 4096] & 1, 1, "the page at {at} is not cached");
        }
        assert!(map.iter().step_by(4096).all(|&b| b == b'x'));
    }
}
