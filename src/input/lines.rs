//! Lines: an input cut into chunks at line ends for the workers, the lines of a chunk (the
//! hot path's split, from newline masks of 64-byte blocks), and the first lines sampled to
//! tell a format by.

use std::ops::Range;

/// Splits `data` into ranges of about `target` bytes that end just after a `\n` (or at the
/// end). Every byte belongs to exactly one range; a range never splits a line.
pub fn chunks(data: &[u8], target: usize) -> Vec<Range<usize>> {
    let target = target.max(1);
    let mut out = Vec::with_capacity(data.len() / target + 1);
    let mut start = 0;
    while start < data.len() {
        let want = start.saturating_add(target);
        if want >= data.len() {
            out.push(start..data.len());
            break;
        }
        let end = match memchr::memchr(b'\n', &data[want..]) {
            Some(p) => want + p + 1,
            None => data.len(),
        };
        out.push(start..end);
        start = end;
    }
    out
}

/// Iterates the lines of a chunk without their terminators (`\n`, `\r\n`).
pub fn lines(chunk: &[u8]) -> Lines<'_> {
    Lines {
        data: chunk,
        start: 0,
        block: 0,
        newlines: 0,
        batch: 0,
        scanned: 0,
        masks: [0; BATCH],
        taken: 0,
        filled: 0,
    }
}

/// How far ahead of the batch being split the next bytes are asked for: the next batch. A
/// mapped page of the page cache is not next to the one before, so the hardware's streaming
/// prefetch stops at every 4 KiB and the loads of a block were most of the split's time;
/// asked for ahead, they arrive while the lines before are parsed (5–8 % of the pass on one
/// thread in interleaved runs, asked for 2 KiB ahead a block at a time; 1 and 4 KiB did no
/// better).
const PREFETCH: usize = BATCH * 64;

/// The 64-byte blocks whose newline masks `Lines` finds at once (4 KiB, ~20 lines of an
/// access log): one call per batch, which lets the masks be found 32 bytes a step where
/// the CPU has AVX2, costs less than the blocks' masks found one at a time inline, 16 bytes
/// a step.
const BATCH: usize = 64;

/// The lines of a chunk, found from masks of the newlines in 64-byte blocks: one mask
/// serves the three or so lines that end in its block, where a `memchr` per line paid its
/// setup and dispatch on every line (7 % of the pass). The masks are found a batch of blocks
/// at a time (`newline_masks`).
pub struct Lines<'a> {
    data: &'a [u8],
    /// Where the next line starts.
    start: usize,
    /// Where the block of `newlines` starts.
    block: usize,
    /// Bit `k` set for a newline at `block + k` not yet returned.
    newlines: u64,
    /// Where the batch of `masks` starts.
    batch: usize,
    /// How far blocks have been read.
    scanned: usize,
    /// The newline masks of the batch's blocks, `filled` of them, `taken` of which are (or
    /// were) `newlines`.
    masks: [u64; BATCH],
    taken: usize,
    filled: usize,
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    // Always inlined: the pass asks for every line, and a call per line cost more than
    // the split itself does for most lines.
    #[inline(always)]
    fn next(&mut self) -> Option<&'a [u8]> {
        let d = self.data;
        while self.newlines == 0 {
            if self.taken < self.filled {
                self.block = self.batch + 64 * self.taken;
                self.newlines = self.masks[self.taken];
                self.taken += 1;
                crate::prefetch::prefetch(d.as_ptr().wrapping_add(self.block + PREFETCH));
                continue;
            }
            let at = self.scanned;
            let blocks = ((d.len() - at) / 64).min(BATCH);
            if blocks > 0 {
                let batch = &d[at..at + 64 * blocks];
                self.filled = newline_masks(batch, &mut self.masks);
                (self.batch, self.taken) = (at, 0);
                self.scanned = at + 64 * blocks;
            } else if at < d.len() {
                // Less than a block left: its mask, bit by bit.
                self.newlines = (d[at..].iter().enumerate())
                    .fold(0, |m, (k, &c)| m | ((c == b'\n') as u64) << k);
                self.block = at;
                self.scanned = d.len();
            } else {
                if self.start >= d.len() {
                    return None;
                }
                let line = &d[self.start..];
                self.start = d.len();
                return Some(line.strip_suffix(b"\r").unwrap_or(line));
            }
        }
        let end = self.block + self.newlines.trailing_zeros() as usize;
        self.newlines &= self.newlines - 1;
        let line = &d[self.start..end];
        self.start = end + 1;
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    }
}

/// The newline mask of each whole 64-byte block of `batch` (bit `k` for a newline at byte
/// `k` of the block) into `masks`, in order; how many blocks there were (at most `BATCH`).
fn newline_masks(batch: &[u8], masks: &mut [u64; BATCH]) -> usize {
    let (blocks, _) = batch.as_chunks::<64>();
    let blocks = &blocks[..blocks.len().min(BATCH)];
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        unsafe { newline_masks_avx2(blocks, masks) };
        return blocks.len();
    }
    newline_masks_sse2(blocks, masks);
    blocks.len()
}

/// `newline_masks` 16 bytes a step (`bytes::mask`).
fn newline_masks_sse2(blocks: &[[u8; 64]], masks: &mut [u64; BATCH]) {
    for (block, mask) in blocks.iter().zip(masks.iter_mut()) {
        let m = |k: usize| crate::bytes::mask(block, k, b'\n', b'\n') as u64;
        *mask = m(0) | m(16) << 16 | m(32) << 32 | m(48) << 48;
    }
}

/// `newline_masks` 32 bytes a step.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn newline_masks_avx2(blocks: &[[u8; 64]], masks: &mut [u64; BATCH]) {
    use std::arch::x86_64::{
        __m256i, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_movemask_epi8, _mm256_set1_epi8,
    };
    let newline = _mm256_set1_epi8(b'\n' as i8);
    for (block, mask) in blocks.iter().zip(masks.iter_mut()) {
        // SAFETY: both loads are within the 64-byte block; unaligned loads have no
        // alignment need.
        let (lo, hi) = unsafe {
            (
                _mm256_loadu_si256(block.as_ptr().cast::<__m256i>()),
                _mm256_loadu_si256(block.as_ptr().add(32).cast::<__m256i>()),
            )
        };
        let m = |w| _mm256_movemask_epi8(_mm256_cmpeq_epi8(w, newline)) as u32 as u64;
        *mask = m(lo) | m(hi) << 32;
    }
}

/// Lines longer than this are skipped (`line_too_long`) rather than parsed: no format's
/// line is near it, and every table of the analysis may count a line's length in 32 bits.
pub const MAX_LINE: usize = 256 * 1024;

/// How far into an input the lines sampled for format detection may start: past lines too
/// long to be read (a pasted dump, a request with a megabyte of query), and no further, so
/// a file of nothing but such lines is told quickly.
pub const DETECT_SPAN: usize = 16 << 20;

/// The first `n` lines of `data` from its first line that is not blank, for format
/// detection: a log may open with any number of blank lines, and detecting on those alone
/// called a log of requests empty. Only blank lines when every line is. Lines longer than
/// `MAX_LINE` are left out, as the analysis skips them: three of them opening a log called
/// it no log at all. Empty when every line starting in the first `DETECT_SPAN` is too long.
pub fn head_lines(data: &[u8], n: usize) -> Vec<&[u8]> {
    let mut at = first_text_line(data).unwrap_or(0);
    let span = data.len().min(at.saturating_add(DETECT_SPAN));
    let mut sample = Vec::with_capacity(n.min(64));
    while sample.len() < n && at < span {
        let rest = &data[at..];
        // A line's end is looked for no further than the longest line read can reach.
        let (line, next) = match memchr::memchr(b'\n', &rest[..rest.len().min(MAX_LINE + 2)]) {
            Some(len) => (&rest[..len], at + len + 1),
            None if rest.len() <= MAX_LINE + 1 => (rest, data.len()),
            None => {
                // Too long: passed over to its end.
                at = memchr::memchr(b'\n', &data[at..span]).map_or(span, |p| at + p + 1);
                continue;
            }
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() <= MAX_LINE {
            sample.push(line);
        }
        at = next;
    }
    sample
}

/// Like `head_lines`, from the first line that starts after `offset` and within
/// `DETECT_SPAN` of it: a file of zero bytes (a sparse file, a disk image) has no line
/// after its middle, and looking for one read half of it.
pub fn lines_after(data: &[u8], offset: usize, n: usize) -> Vec<&[u8]> {
    let offset = offset.min(data.len());
    let near = &data[offset..data.len().min(offset.saturating_add(DETECT_SPAN))];
    match memchr::memchr(b'\n', near) {
        Some(p) => head_lines(&data[offset + p + 1..], n),
        None => Vec::new(),
    }
}

/// Where the first line with something other than spaces, tabs and carriage returns starts
/// (what `format::text::trim` leaves of a blank line is nothing); `None` when there is none.
pub fn first_text_line(data: &[u8]) -> Option<usize> {
    let blank = |c: u8| matches!(c, b' ' | b'\t' | b'\r' | b'\n');
    // Blocks of 64 bytes first, folded without an early exit so the compiler vectorises it:
    // a byte at a time, a GiB of blank lines took 0.5 s to be called empty (twice).
    let whole = (data.chunks_exact(64))
        .take_while(|b| b.iter().fold(true, |all, &c| all & blank(c)))
        .count();
    let from = whole * 64;
    let p = from + data[from..].iter().position(|&c| !blank(c))?;
    Some(memchr::memrchr(b'\n', &data[..p]).map_or(0, |n| n + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The lines are those of a split at every newline, at every length and
        /// wherever the newlines fall around the 64-byte blocks.
        #[test]
        fn lines_are_the_split_at_newlines(
            data in proptest::collection::vec(proptest::sample::select(b"ab\r\n".to_vec()), 0..300),
        ) {
            let mut want: Vec<&[u8]> = data.split(|&c| c == b'\n').collect();
            if data.last().is_none_or(|&c| c == b'\n') {
                want.pop(); // nothing after the last newline is no line
            }
            let want: Vec<&[u8]> = want
                .into_iter()
                .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
                .collect();
            let got: Vec<&[u8]> = lines(&data).collect();
            proptest::prop_assert_eq!(got, want);
        }

        /// The same over several batches of blocks (`BATCH`), with lines of any length up
        /// to a batch and more.
        #[test]
        fn lines_across_batches_are_the_split_at_newlines(
            lens in proptest::collection::vec(
                proptest::prop_oneof![8 => 0usize..300, 1 => 3000usize..9000],
                0..60,
            ),
            crlf in proptest::bool::ANY,
            last_newline in proptest::bool::ANY,
        ) {
            let mut data = Vec::new();
            let mut want = Vec::new();
            for (k, &n) in lens.iter().enumerate() {
                let line: Vec<u8> = (0..n).map(|i| b'a' + ((i + k) % 26) as u8).collect();
                data.extend_from_slice(&line);
                want.push(line);
                if k + 1 < lens.len() || last_newline {
                    data.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
                }
            }
            if !last_newline && want.last().is_some_and(|l| l.is_empty()) {
                want.pop(); // nothing after the last newline is no line
            }
            let got: Vec<Vec<u8>> = lines(&data).map(<[u8]>::to_vec).collect();
            proptest::prop_assert_eq!(got, want);
        }

        /// Each way of finding a batch's newline masks gives each block's newlines, bit
        /// for bit.
        #[test]
        fn newline_masks_are_the_newlines_of_each_block(
            data in proptest::collection::vec(proptest::sample::select(b"ab\r\n".to_vec()), 0..5000),
        ) {
            let (blocks, _) = data.as_chunks::<64>();
            let blocks = &blocks[..blocks.len().min(BATCH)];
            let want: Vec<u64> = (blocks.iter())
                .map(|b| (b.iter().enumerate()).fold(0, |m, (k, &c)| m | u64::from(c == b'\n') << k))
                .collect();
            let mut masks = [0; BATCH];
            proptest::prop_assert_eq!(newline_masks(&data, &mut masks), blocks.len());
            proptest::prop_assert_eq!(&masks[..blocks.len()], &want[..]);
            let mut masks = [0; BATCH];
            newline_masks_sse2(blocks, &mut masks);
            proptest::prop_assert_eq!(&masks[..blocks.len()], &want[..]);
        }
    }

    proptest::proptest! {
        /// Read by blocks, the first line with text is where a byte-at-a-time look finds
        /// it: blank runs of any length (across blocks' ends), then text or nothing.
        #[test]
        fn the_first_line_with_text_is_found_across_blocks(
            blank in proptest::collection::vec(proptest::sample::select(b" \t\r\n".to_vec()), 0..300),
            text in proptest::option::of(proptest::collection::vec(proptest::num::u8::ANY, 1..4)),
        ) {
            let mut data = blank;
            data.extend(text.into_iter().flatten());
            let want = (data.iter())
                .position(|c| !matches!(c, b' ' | b'\t' | b'\r' | b'\n'))
                .map(|p| memchr::memrchr(b'\n', &data[..p]).map_or(0, |n| n + 1));
            proptest::prop_assert_eq!(first_text_line(&data), want);
        }
    }

    #[test]
    fn detection_reads_from_the_first_line_with_text() {
        let mut data = b"\n \r\n\t\n".repeat(100);
        assert_eq!(first_text_line(&data), None);
        assert!(
            head_lines(&data, 3)
                .iter()
                .all(|l| l.iter().all(|c| c.is_ascii_whitespace()))
        );
        let at = data.len();
        data.extend_from_slice(b"  first line\nsecond\n");
        assert_eq!(first_text_line(&data), Some(at));
        assert_eq!(head_lines(&data, 5), [&b"  first line"[..], b"second"]);
        assert_eq!(first_text_line(b"x"), Some(0));
        assert_eq!(first_text_line(b""), None);
    }

    #[test]
    fn lines_too_long_to_read_are_no_sample() {
        let long = |c: u8, n: usize| vec![c; n];
        let mut data = long(b'a', MAX_LINE + 1);
        data.push(b'\n');
        data.extend(long(b'b', MAX_LINE));
        data.extend_from_slice(b"\r\n");
        data.extend(long(b'c', 3 * MAX_LINE));
        data.extend_from_slice(b"\nshort\r\n");
        data.extend(long(b'd', MAX_LINE + 2));
        let sample = head_lines(&data, 9);
        assert_eq!(sample.len(), 2);
        assert_eq!(sample[0], &long(b'b', MAX_LINE)[..]);
        assert_eq!(sample[1], b"short");
        assert_eq!(head_lines(&data, 1).len(), 1);
        // Nothing but lines too long, the last without its newline: no sample.
        assert!(head_lines(&long(b'e', MAX_LINE + 1), 9).is_empty());
        assert!(head_lines(&data[..MAX_LINE + 1], 9).is_empty());
        // Lines starting past the span are not looked for.
        let mut far = long(b'f', DETECT_SPAN + 1);
        far.extend_from_slice(b"\nshort\n");
        assert!(head_lines(&far, 9).is_empty());
        // A last line without its newline is a line.
        assert_eq!(head_lines(b"one\ntwo", 9), [&b"one"[..], b"two"]);
    }

    #[test]
    fn lines_after_start_at_the_next_whole_line() {
        let data = b"one\ntwo\n\nthree\nfour";
        // Blank lines after the first with text stay (detection passes over them).
        assert_eq!(lines_after(data, 0, 2), [&b"two"[..], b""]);
        assert_eq!(lines_after(data, 4, 9), [&b"three"[..], b"four"]);
        assert_eq!(lines_after(data, 3, 1), [&b"two"[..]]);
        assert!(lines_after(data, 15, 9).is_empty());
        assert!(lines_after(data, 99, 9).is_empty());
        // No newline within the span after the offset: no sample (and no search past it).
        let mut far = vec![0u8; DETECT_SPAN + 10];
        far.extend_from_slice(b"\nlate\n");
        assert!(lines_after(&far, 5, 9).is_empty());
        assert_eq!(lines_after(&far, 11, 9), [&b"late"[..]]);
    }

    #[test]
    fn chunks_cover_everything_at_line_boundaries() {
        let data = b"a\nbb\nccc\ndddd\n\nlast";
        for target in 1..25 {
            let cs = chunks(data, target);
            assert_eq!(cs.first().unwrap().start, 0);
            assert_eq!(cs.last().unwrap().end, data.len());
            for w in cs.windows(2) {
                assert_eq!(w[0].end, w[1].start);
                assert_eq!(data[w[0].end - 1], b'\n');
            }
            let n: usize = cs.iter().map(|r| lines(&data[r.clone()]).count()).sum();
            assert_eq!(n, 6);
        }
        assert!(chunks(b"", 10).is_empty());
    }

    #[test]
    fn crlf_and_no_final_newline() {
        let v: Vec<&[u8]> = lines(b"a\r\nb\n\nc").collect();
        assert_eq!(v, vec![&b"a"[..], b"b", b"", b"c"]);
    }
}
