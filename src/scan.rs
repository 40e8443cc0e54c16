//! The conflict scan: finds the lines that may hold a conflict status by searching the raw
//! bytes for the statuses' digits, so that only those lines are parsed before the main pass.
//!
//! Every format reads its status from three digits as they stand in the line (`409` in
//! `" 409 87`, `"status":409`, `"status":"409"`), so a line whose parsed status is 409
//! always contains the bytes `409`. Searching for them finds every conflict line plus some
//! others (`/orders/74091`, `"bytes":1409`), which the parse then rejects: a superset, never
//! a miss. Formats for which this does not hold (an envelope that unescapes the line, a
//! layout declared by earlier lines) say so with `Format::status_in_raw_line`, and their
//! lines are all parsed.
//!
//! The search is a SIMD multi-substring search (aho-corasick's Teddy) over the whole chunk:
//! about 100 ms per GiB on one core, where parsing every line costs ten times as much.

use aho_corasick::AhoCorasick;
use aho_corasick::packed;

/// The digits of the conflict statuses, ready to search for.
pub enum StatusDigits {
    /// Teddy, when the CPU has it (x86-64 with SSSE3/AVX2, aarch64 NEON).
    Teddy(packed::Searcher),
    /// The portable automaton otherwise.
    Automaton(AhoCorasick),
}

/// The statuses as decimal text, each once; empty when there are none.
fn needles(statuses: &[u16]) -> Vec<String> {
    let mut needles: Vec<String> = statuses.iter().map(u16::to_string).collect();
    needles.sort();
    needles.dedup();
    needles
}

impl StatusDigits {
    /// `None` when there is nothing to search for.
    pub fn new(statuses: &[u16]) -> Option<StatusDigits> {
        let needles = needles(statuses);
        if needles.is_empty() {
            return None;
        }
        match packed::Searcher::new(&needles) {
            Some(teddy) => Some(StatusDigits::Teddy(teddy)),
            None => Self::portable(&needles),
        }
    }

    fn portable(needles: &[String]) -> Option<StatusDigits> {
        AhoCorasick::new(needles).ok().map(StatusDigits::Automaton)
    }

    /// The start of the first match in `hay[from..]`, as an index into `hay`.
    fn find(&self, hay: &[u8], from: usize) -> Option<usize> {
        match self {
            StatusDigits::Teddy(t) => t.find_in(hay, aho_corasick::Span::from(from..hay.len())),
            StatusDigits::Automaton(a) => {
                a.find(aho_corasick::Input::new(hay).range(from..hay.len()))
            }
        }
        .map(|m| m.start())
    }

    /// The lines of `chunk` that contain one of the statuses' digits, each once and in
    /// order, without their terminators.
    pub fn lines<'h>(&self, chunk: &'h [u8]) -> impl Iterator<Item = &'h [u8]> {
        let mut from = 0;
        std::iter::from_fn(move || {
            let at = self.find(chunk, from)?;
            let start = memchr::memrchr(b'\n', &chunk[from..at]).map_or(from, |p| from + p + 1);
            let end = memchr::memchr(b'\n', &chunk[at..]).map_or(chunk.len(), |p| at + p);
            from = (end + 1).min(chunk.len());
            let line = &chunk[start..end];
            Some(line.strip_suffix(b"\r").unwrap_or(line))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts<'h>(lines: impl Iterator<Item = &'h [u8]>) -> Vec<String> {
        lines
            .map(|l| String::from_utf8(l.to_vec()).unwrap())
            .collect()
    }

    fn found(statuses: &[u16], chunk: &str) -> Vec<String> {
        texts(StatusDigits::new(statuses).unwrap().lines(chunk.as_bytes()))
    }

    #[test]
    fn finds_each_line_with_the_digits_once() {
        let chunk = "a 200 b\nx 409 409 412\r\n\nc 4090\n409";
        assert_eq!(
            found(&[409, 412], chunk),
            ["x 409 409 412", "c 4090", "409"]
        );
        assert!(found(&[423], chunk).is_empty());
        assert!(StatusDigits::new(&[]).is_none());
    }

    #[test]
    fn the_portable_search_finds_the_same_lines() {
        let chunk = "a 200 b\nx 409 409 412\r\n\nc 4090\n409\n";
        let portable = StatusDigits::portable(&needles(&[409, 412])).unwrap();
        assert!(matches!(portable, StatusDigits::Automaton(_)));
        assert_eq!(
            texts(portable.lines(chunk.as_bytes())),
            found(&[409, 412], chunk)
        );
        assert_eq!(found(&[409, 412], chunk).len(), 3);
    }

    #[test]
    fn lines_agree_with_a_plain_search() {
        // Every line holding the digits, and no other, on a larger mixed chunk.
        let mut chunk = String::new();
        for i in 0..5000u32 {
            chunk.push_str(&format!(
                "{} - [{}] \"PUT /o/{} HTTP/1.1\" {}\n",
                i,
                i * 7,
                i * 13,
                200 + i % 300
            ));
        }
        let want: Vec<String> = chunk
            .lines()
            .filter(|l| l.contains("409") || l.contains("428"))
            .map(str::to_string)
            .collect();
        assert_eq!(found(&[409, 428], &chunk), want);
        assert!(!want.is_empty());
    }
}
