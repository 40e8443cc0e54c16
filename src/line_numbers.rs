//! Line numbers of the lines a report quotes, found again from their byte offsets.
//!
//! An event keeps only its line's byte offset: the line number and the line's length were 8
//! of its 48 bytes, and a 4 GiB log keeps ~700,000 events, a log of a million conflicting
//! instances a million. The pass counts the lines of each chunk it reads, and as it goes it
//! notes how many newlines come before each 4 KiB block of the chunk (`BlockMarks`); that
//! table is kept here, and a line's number is its chunk's first, plus the newlines before
//! its block, plus those between the block's start and the line: at most a block's count.
//! (Counted when a report first quoted from a chunk, the chunks' newlines were 1.6 % of a
//! run's instructions on a 1 GiB log, and all of them run one after another at its end.)

use std::ops::Range;

/// Newlines are counted per block of this many bytes: a quoted line then counts at most
/// this many bytes more. Blocks of 64 KiB made the lookups a fifth of the run on a log of
/// 50,000 findings (250,000 quoted lines, 32 KiB counted for each); at 4 KiB the marks of
/// a 1 GiB input take 1 MiB.
const BLOCK: usize = 4 << 10;

/// The largest chunk size the analysis asks for: a chunk is at most this long plus one
/// line, so its newlines, and its marks, fit in a `u32`.
pub const MAX_CHUNK: usize = 1 << 31;

/// A chunk the pass read.
#[derive(Debug)]
struct Chunk {
    range: Range<usize>,
    /// Lines of the input before the chunk (its first line is line `before + 1`).
    before: u64,
    /// Newlines between the chunk's start and the start of each of its blocks.
    blocks: Box<[u32]>,
}

/// The chunks the pass read, by input, with the line each starts at.
#[derive(Debug, Default)]
pub struct LineNumbers {
    inputs: Vec<Vec<Chunk>>,
}

/// The newlines before each block of a chunk, noted from the lines read in turn: the pass
/// reads every line and knows where each starts, so a compare a line gives what a count of
/// the chunk's bytes afterwards gave.
#[derive(Debug)]
pub struct BlockMarks {
    /// Newlines before each block whose start is behind the last line noted.
    blocks: Vec<u32>,
    /// The start of the first block not yet in `blocks`.
    next: usize,
}

impl BlockMarks {
    /// Marks for a chunk of `len` bytes (its newlines must fit in `u32`: see `MAX_CHUNK`).
    pub fn new(len: usize) -> BlockMarks {
        BlockMarks {
            blocks: Vec::with_capacity(len.div_ceil(BLOCK)),
            next: 0,
        }
    }

    /// Notes that line `index` (from 0) of the chunk starts at byte `at`. Every line is
    /// noted, in order, blank ones too.
    #[inline(always)]
    pub fn line(&mut self, at: usize, index: u64) {
        if at > self.next {
            self.passed(at, index);
        }
    }

    /// The blocks that start before `at`, where line `index` starts: the line before it
    /// is the last to start at or before them, so `index - 1` newlines come before each
    /// (one before each line's start but the first's).
    #[cold]
    #[inline(never)]
    fn passed(&mut self, at: usize, index: u64) {
        let before = index.saturating_sub(1) as u32;
        while self.next < at {
            self.blocks.push(before);
            self.next += BLOCK;
        }
    }

    /// The marks of a chunk of `len` bytes, `lines` lines of which were noted.
    pub fn finish(mut self, len: usize, lines: u64) -> Box<[u32]> {
        if len > self.next {
            // The blocks after the last line's start; its own newline, the chunk's last
            // byte, is before none of them.
            self.passed(len, lines);
        }
        self.blocks.into_boxed_slice()
    }

    /// The marks of `chunk` noted from its lines, as the pass notes them.
    #[cfg(test)]
    pub fn of(chunk: &[u8]) -> Box<[u32]> {
        let mut marks = BlockMarks::new(chunk.len());
        let mut lines = 0;
        for line in crate::input::lines(chunk) {
            marks.line(line.as_ptr() as usize - chunk.as_ptr() as usize, lines);
            lines += 1;
        }
        marks.finish(chunk.len(), lines)
    }
}

impl LineNumbers {
    /// Notes that the pass read `range` of input `input`, that `before` lines of that
    /// input come before it, and the newlines before each of its blocks (`BlockMarks`). An
    /// input's chunks are noted in order.
    pub fn add_chunk(
        &mut self,
        input: usize,
        range: Range<usize>,
        before: u64,
        blocks: Box<[u32]>,
    ) {
        if self.inputs.len() <= input {
            self.inputs.resize_with(input + 1, Vec::new);
        }
        let chunks = &mut self.inputs[input];
        debug_assert!(chunks.last().is_none_or(|c| c.range.end <= range.start));
        debug_assert_eq!(blocks.len(), range.len().div_ceil(BLOCK));
        chunks.push(Chunk {
            range,
            before,
            blocks,
        });
    }

    /// The 1-based number of the line that starts at `offset` in input `input`, whose bytes
    /// are `data`. A line outside the chunks read (none that an event quotes) is counted
    /// from the input's start.
    pub fn line(&self, input: u32, data: &[u8], offset: u64) -> u64 {
        let offset = usize::try_from(offset).map_or(data.len(), |o| o.min(data.len()));
        let chunks = self
            .inputs
            .get(input as usize)
            .map_or(&[][..], Vec::as_slice);
        let k = chunks.partition_point(|c| c.range.start <= offset);
        let Some(c) = k.checked_sub(1).map(|k| &chunks[k]) else {
            return newlines(&data[..offset]) + 1;
        };
        let start = c.range.start.min(data.len());
        // A line past the chunk's last block is counted on from that block.
        let b = ((offset - start) / BLOCK).min(c.blocks.len().saturating_sub(1));
        let counted = c.blocks.get(b).copied().map_or(0, u64::from);
        let from = (start + b * BLOCK).min(offset);
        c.before + counted + newlines(&data[from..offset]) + 1
    }
}

fn newlines(b: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', b).count() as u64
}

/// The line that starts at `offset` of `data`, without its terminator (`\n`, `\r\n`), as
/// the pass reads it (`input::lines`).
pub fn line_at(data: &[u8], offset: u64) -> &[u8] {
    let s = usize::try_from(offset).map_or(data.len(), |o| o.min(data.len()));
    let e = memchr::memchr(b'\n', &data[s..]).map_or(data.len(), |p| s + p);
    let line = &data[s..e];
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Every line's number and text, found from its offset, are those of a split at
        /// every newline, for chunks of any sizes at line boundaries (some far larger than a
        /// block), lines before the first chunk (a seek) and a last line without a newline.
        #[test]
        fn lines_found_from_offsets_are_those_read(
            lines in proptest::collection::vec(
                proptest::prop_oneof![
                    6 => proptest::string::string_regex("[a-z\r]{0,12}").unwrap(),
                    1 => proptest::string::string_regex("x{30000,70000}").unwrap(),
                ],
                1..40,
            ),
            cuts in proptest::collection::vec(proptest::num::usize::ANY, 0..6),
            skipped in 0usize..3,
            final_newline in proptest::bool::ANY,
        ) {
            let mut data = Vec::new();
            let mut starts = Vec::new();
            for (k, l) in lines.iter().enumerate() {
                starts.push(data.len());
                data.extend_from_slice(l.as_bytes());
                if k + 1 < lines.len() || final_newline {
                    data.push(b'\n');
                }
            }
            // Chunks start at lines `skipped` (lines before it were not read) and at the cuts.
            let first = skipped.min(lines.len() - 1);
            let mut at: Vec<usize> = cuts.iter().map(|c| first + c % (lines.len() - first)).collect();
            at.push(first);
            at.sort_unstable();
            at.dedup();
            let mut index = LineNumbers::default();
            for (k, &l) in at.iter().enumerate() {
                let end = at.get(k + 1).map_or(data.len(), |&n| starts[n]);
                let range = starts[l]..end;
                let marks = BlockMarks::of(&data[range.clone()]);
                // As counted afterwards, block by block.
                let counted: Vec<u32> = (data[range.clone()].chunks(BLOCK))
                    .scan(0, |n, b| {
                        let before = *n;
                        *n += newlines(b) as u32;
                        Some(before)
                    })
                    .collect();
                proptest::prop_assert_eq!(&marks[..], &counted[..]);
                index.add_chunk(0, range, l as u64, marks);
            }
            for (k, &s) in starts.iter().enumerate().rev() {
                proptest::prop_assert_eq!(index.line(0, &data, s as u64), k as u64 + 1);
                let want = lines[k].as_bytes();
                let want = want.strip_suffix(b"\r").unwrap_or(want);
                proptest::prop_assert_eq!(line_at(&data, s as u64), want);
            }
        }
    }

    #[test]
    fn offsets_past_the_data_and_unknown_inputs_do_not_panic() {
        let data = b"a\nb\nc";
        let mut index = LineNumbers::default();
        index.add_chunk(0, 2..5, 1, BlockMarks::of(&data[2..5]));
        assert_eq!(index.line(0, data, 4), 3);
        assert_eq!(index.line(0, data, 99), 3);
        assert_eq!(index.line(0, data, u64::MAX), 3);
        assert_eq!(index.line(7, data, 2), 2);
        assert_eq!(line_at(data, 99), b"");
        assert_eq!(index.line(0, b"", 0), 1);
    }
}
