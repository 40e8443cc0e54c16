//! Line numbers of the lines a report quotes, found again from their byte offsets.
//!
//! An event keeps only its line's byte offset: the line number and the line's length were 8
//! of its 48 bytes, and a 4 GiB log keeps ~700,000 events, a log of a million conflicting
//! instances a million. The pass counts the lines of each chunk it reads and so learns the
//! number of each chunk's first line; that table is kept here, and a line's number is its
//! chunk's first plus the newlines between the chunk's start and the line. A chunk's
//! newlines are counted once per 4 KiB block the first time a line in it is asked for, so
//! quoting thousands of lines (`why409 explain` on a busy instance) reads each chunk once,
//! and each line costs at most a block's count after that.

use std::ops::Range;
use std::sync::OnceLock;

/// Newlines are counted ahead per block of this many bytes: a quoted line then counts at
/// most this many bytes more. Blocks of 64 KiB made the lookups a fifth of the run on a log
/// of 50,000 findings (250,000 quoted lines, 32 KiB counted for each); at 4 KiB a chunk of
/// 4 MiB keeps 8 KiB of counts, made only for chunks a report quotes from.
const BLOCK: usize = 4 << 10;

/// A chunk the pass read.
#[derive(Debug)]
struct Chunk {
    range: Range<usize>,
    /// Lines of the input before the chunk (its first line is line `before + 1`).
    before: u64,
    /// Newlines between the chunk's start and the start of each of its blocks.
    blocks: OnceLock<Box<[u64]>>,
}

/// The chunks the pass read, by input, with the line each starts at.
#[derive(Debug, Default)]
pub struct LineNumbers {
    inputs: Vec<Vec<Chunk>>,
}

impl LineNumbers {
    /// Notes that the pass read `range` of input `input` and that `before` lines of that
    /// input come before it. An input's chunks are noted in order.
    pub fn add_chunk(&mut self, input: usize, range: Range<usize>, before: u64) {
        if self.inputs.len() <= input {
            self.inputs.resize_with(input + 1, Vec::new);
        }
        let chunks = &mut self.inputs[input];
        debug_assert!(chunks.last().is_none_or(|c| c.range.end <= range.start));
        chunks.push(Chunk {
            range,
            before,
            blocks: OnceLock::new(),
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
        let blocks = c.blocks.get_or_init(|| {
            let mut n = 0;
            let end = c.range.end.clamp(start, data.len());
            (data[start..end].chunks(BLOCK))
                .map(|b| {
                    let before = n;
                    n += newlines(b);
                    before
                })
                .collect()
        });
        // A line past the chunk's last block is counted on from that block.
        let b = ((offset - start) / BLOCK).min(blocks.len().saturating_sub(1));
        let counted = blocks.get(b).copied().unwrap_or(0);
        c.before + counted + newlines(&data[start + b * BLOCK..offset]) + 1
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
                index.add_chunk(0, starts[l]..end, l as u64);
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
        index.add_chunk(0, 2..5, 1);
        assert_eq!(index.line(0, data, 4), 3);
        assert_eq!(index.line(0, data, 99), 3);
        assert_eq!(index.line(0, data, u64::MAX), 3);
        assert_eq!(index.line(7, data, 2), 2);
        assert_eq!(line_at(data, 99), b"");
        assert_eq!(index.line(0, b"", 0), 1);
    }
}
