//! Name positions: path segments that hold free words (slugs, user names, tags), learned from
//! a sample of the input so that `/blog/why-409s-happen/comments` and
//! `/blog/retry-storms/comments` share one template, `/blog/{name}/comments`.
//!
//! `resource::classify` tells identifiers by their shape (digits, hex, UUIDs, `usr_…`); a
//! word is kept as a literal because words are what routes are made of (`orders`, `cancel`,
//! `export`). A route has a handful of literal children, though, while a name position has
//! as many words as the site has posts or users. So a template prefix followed by more than
//! `MAX_LITERAL_CHILDREN` distinct words in the sample is a name position: every word after
//! it becomes `{name}`. Without that, each slug is a template of its own, the report's
//! resource tables list slugs one by one, and memory grows with the number of slugs.
//!
//! The decision is made once, before the pass, from lines at fixed offsets of the inputs
//! laid end to end (see `sample_ranges`), so it is the same for any thread count or chunk
//! size; inputs of at most `FIRST_SPAN` bytes in all are read whole, which makes the
//! decision exact on small logs.
//! It is made level by level: the words after `/blog/{name}` are counted over all slugs
//! together, so `/blog/{name}/comments` stays literal however many posts there are.
//! User routes (`--route`) win over it, as over every heuristic.

use crate::resource::{NUMBERED_MAX, Placeholder, classify};
use rustc_hash::{FxHashMap, FxHashSet};
use std::ops::Range;

/// More distinct words than this after one template prefix make it a name position. Route
/// tables have tens of literal children at one level (GitHub's `/repos/{owner}/{repo}/…`
/// has about sixty); slugs and user names run to thousands.
pub const MAX_LITERAL_CHILDREN: usize = 100;

/// Inputs are sampled in blocks of this size…
pub const SAMPLE_BLOCK: usize = 16 << 20;
/// …of which the lines starting in the first `SAMPLE_SPAN` bytes are read (1.6 %, about
/// 1 % of the run's time on a large log)…
pub const SAMPLE_SPAN: usize = 256 << 10;
/// …except in the first block, where more is read, so that small logs are read whole.
pub const FIRST_SPAN: usize = 1 << 20;

/// The template prefixes whose following word is a name (`/blog`, `/users/{name}/repos`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamePositions {
    prefixes: FxHashSet<Box<str>>,
    /// The longest prefix: longer ones are not looked up (a templated path asks once per
    /// segment, and hashing each of a deep path's prefixes would be quadratic).
    longest: usize,
}

impl NamePositions {
    /// Positions given directly (tests).
    pub fn from_prefixes<'a>(prefixes: impl IntoIterator<Item = &'a str>) -> NamePositions {
        let mut n = NamePositions::default();
        n.extend(prefixes.into_iter().map(Into::into));
        n
    }

    fn extend(&mut self, prefixes: impl IntoIterator<Item = Box<str>>) {
        for p in prefixes {
            self.longest = self.longest.max(p.len());
            self.prefixes.insert(p);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.prefixes.is_empty()
    }

    /// Is a word right after the template prefix `prefix` a name? `prefix` is the template
    /// text before the segment's slash: `""` for a first segment, `/blog` for the second.
    #[inline]
    pub fn follows(&self, prefix: &str) -> bool {
        prefix.len() <= self.longest && !self.prefixes.is_empty() && self.prefixes.contains(prefix)
    }

    /// The name positions as templates (`/blog/{name}`), sorted, for the report.
    pub fn templates(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .prefixes
            .iter()
            .map(|p| format!("{p}/{}", Placeholder::Name.as_str()))
            .collect();
        v.sort();
        v
    }

    /// Learns the name positions from sampled instances (paths without query), or from
    /// their templates without name positions: both teach the same, since a placeholder
    /// segment stands for an identifier either way.
    pub fn learn<'a>(instances: impl IntoIterator<Item = &'a str>) -> NamePositions {
        // Distinct paths are enough: counts do not enter the decision. Paths longer than
        // `NUMBERED_MAX` are no routes, and learning goes level by level over all paths, so
        // one very deep path would make it quadratic.
        let distinct: FxHashSet<&str> = instances
            .into_iter()
            .filter(|i| i.starts_with('/') && i.len() <= NUMBERED_MAX)
            .collect();
        // The order does not matter: each decision is a count of distinct words.
        let paths: Vec<&str> = distinct.into_iter().collect();
        // Each path's template so far, and where its next segment starts.
        let mut built: Vec<(String, usize)> = paths.iter().map(|_| (String::new(), 1)).collect();
        let mut learned = NamePositions::default();
        loop {
            // The distinct words following each prefix at this depth (capped: past the limit
            // the answer is known).
            let mut words: FxHashMap<&str, FxHashSet<&str>> = FxHashMap::default();
            let mut any = false;
            for (path, (prefix, start)) in paths.iter().zip(&built) {
                let Some(seg) = segment(path, *start) else {
                    continue;
                };
                any = true;
                if class(seg).is_none() {
                    let set = words.entry(prefix.as_str()).or_default();
                    if set.len() <= MAX_LITERAL_CHILDREN {
                        set.insert(seg);
                    }
                }
            }
            if !any {
                break;
            }
            let named: Vec<Box<str>> = words
                .into_iter()
                .filter(|(_, w)| w.len() > MAX_LITERAL_CHILDREN)
                .map(|(p, _)| p.into())
                .collect();
            learned.extend(named);
            for (path, (prefix, start)) in paths.iter().zip(built.iter_mut()) {
                let Some(seg) = segment(path, *start) else {
                    continue;
                };
                let next = match class(seg) {
                    Some(p) => p.as_str(),
                    None if learned.follows(prefix) => Placeholder::Name.as_str(),
                    None => seg,
                };
                prefix.push('/');
                prefix.push_str(next);
                *start += seg.len() + 1;
            }
        }
        learned
    }
}

/// What a segment is: an identifier (`classify`), a placeholder already (a template's
/// segment), or a word (`None`).
fn class(seg: &str) -> Option<Placeholder> {
    classify(seg).or_else(|| {
        [
            Placeholder::Id,
            Placeholder::Email,
            Placeholder::Date,
            Placeholder::Name,
        ]
        .into_iter()
        .find(|p| p.as_str() == seg)
    })
}

/// The segment of `path` starting at byte `start` (just after a `/`), up to the next `/`;
/// `None` past the last one.
fn segment(path: &str, start: usize) -> Option<&str> {
    let rest = path.get(start..)?;
    Some(rest.split('/').next().unwrap_or(rest))
}

/// The byte ranges of `data`, an input that starts `at` bytes into the run's inputs laid end
/// to end, whose lines are sampled: from each `SAMPLE_BLOCK`-sized block of the inputs laid
/// end to end, the lines starting in its first `SAMPLE_SPAN` bytes (`FIRST_SPAN` in the
/// first block; a block's first partial line belongs to the block before, an input's first
/// line to the input). A run of at most `FIRST_SPAN` bytes is sampled whole. Blocks of the
/// run, not of each input: a day of S3-delivered load balancer logs is thousands of small
/// files, each read whole before (4,103 gzipped 64 KiB files: a second parse of every line,
/// 0.1 s of a 0.8 s run).
pub fn sample_ranges(data: &[u8], at: usize) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let len = data.len();
    // Where blocks start and spans end, in the run; the rest in the input.
    let mut block = at / SAMPLE_BLOCK * SAMPLE_BLOCK;
    while block < at + len {
        let span_end = block + if block == 0 { FIRST_SPAN } else { SAMPLE_SPAN };
        let (from, to) = (block.max(at) - at, span_end.saturating_sub(at).min(len));
        if from < to {
            let start = if block <= at {
                0
            } else {
                match memchr::memchr(b'\n', &data[from..]) {
                    Some(p) => from + p + 1,
                    None => break,
                }
            };
            if start < to {
                // End after the line that holds the span's last byte.
                let end = if to == len {
                    len
                } else {
                    memchr::memchr(b'\n', &data[to..]).map_or(len, |p| to + p + 1)
                };
                out.push(start..end);
            }
        }
        block += SAMPLE_BLOCK;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::{TemplateCache, Templater};
    use proptest::prelude::*;

    fn learned(paths: &[String]) -> Vec<String> {
        NamePositions::learn(paths.iter().map(String::as_str)).templates()
    }

    /// `n` distinct slugs (`post-a-0`, …): words, no digits in them.
    fn slugs(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| {
                let mut s = String::from("post-");
                let mut k = i;
                loop {
                    s.push((b'a' + (k % 26) as u8) as char);
                    k /= 26;
                    if k == 0 {
                        break;
                    }
                }
                s
            })
            .collect()
    }

    #[test]
    fn many_words_after_a_prefix_are_names() {
        let paths: Vec<String> = slugs(MAX_LITERAL_CHILDREN + 1)
            .iter()
            .flat_map(|s| [format!("/blog/{s}/comments"), format!("/blog/{s}")])
            .chain(["/blog".to_string(), "/health".to_string()])
            .collect();
        // The words after `/blog/{name}` are counted over all slugs together: one.
        assert_eq!(learned(&paths), ["/blog/{name}"]);
    }

    #[test]
    fn up_to_the_limit_words_stay_literal() {
        let paths: Vec<String> = slugs(MAX_LITERAL_CHILDREN)
            .iter()
            .map(|s| format!("/blog/{s}"))
            .collect();
        assert!(learned(&paths).is_empty());
        // Identifiers are not words, however many.
        let ids: Vec<String> = (0..1000).map(|i| format!("/orders/{i}/cancel")).collect();
        assert!(learned(&ids).is_empty());
        // A route table: sixty actions under one repository stay sixty routes.
        let actions: Vec<String> = slugs(60)
            .iter()
            .map(|a| format!("/repos/rust-lang/rust/{a}"))
            .collect();
        assert!(learned(&actions).is_empty());
    }

    #[test]
    fn positions_nest_and_follow_identifiers() {
        let names = slugs(150);
        let mut paths = Vec::new();
        for (i, u) in names.iter().enumerate() {
            // Users and their repositories: both names.
            paths.push(format!("/users/{u}/repos/{}", names[(i * 7) % 150]));
            paths.push(format!(
                "/users/{u}/repos/{}/issues/{i}",
                names[(i * 11) % 150]
            ));
            // Tags under an order: a name position after an identifier.
            paths.push(format!("/orders/{}/tags/{u}", 1000 + i));
        }
        assert_eq!(
            learned(&paths),
            [
                "/orders/{id}/tags/{name}",
                "/users/{name}",
                "/users/{name}/repos/{name}"
            ]
        );
        // Learning from the templates (as the pass numbers them, without name positions)
        // teaches the same as learning from the instances.
        let mut cache = TemplateCache::default();
        let tm = Templater::default();
        for p in &paths {
            tm.template_id(p, &mut cache);
        }
        let templates: Vec<String> = cache.into_names().iter().map(|t| t.to_string()).collect();
        assert!(templates.iter().any(|t| t == "/orders/{id}/tags/post-a"));
        assert_eq!(learned(&templates), learned(&paths));
    }

    #[test]
    fn the_order_of_the_sample_does_not_matter() {
        let mut paths: Vec<String> = slugs(300)
            .iter()
            .enumerate()
            .map(|(i, s)| format!("/t/{}/{s}", ["a", "b"][i % 2]))
            .collect();
        let a = learned(&paths);
        paths.reverse();
        assert_eq!(learned(&paths), a);
        assert_eq!(a, ["/t/a/{name}", "/t/b/{name}"]);
    }

    fn log(lines: usize, width: usize) -> Vec<u8> {
        let mut v = Vec::new();
        for i in 0..lines {
            let body = format!("line {i} ");
            v.extend_from_slice(body.as_bytes());
            v.extend(std::iter::repeat_n(b'x', width.saturating_sub(body.len())));
            v.push(b'\n');
        }
        v
    }

    #[test]
    fn small_inputs_are_sampled_whole() {
        let data = log(1000, 100);
        assert_eq!(sample_ranges(&data, 0), vec![0..data.len()]);
        assert!(sample_ranges(b"", 0).is_empty());
        assert_eq!(sample_ranges(b"one line, no newline", 0), vec![0..20]);
    }

    #[test]
    fn large_inputs_are_sampled_in_whole_lines_at_fixed_offsets() {
        let data = log(400_000, 120); // 48 MB: three blocks
        let ranges = sample_ranges(&data, 0);
        assert_eq!(ranges.len(), data.len().div_ceil(SAMPLE_BLOCK));
        for (k, r) in ranges.iter().enumerate() {
            let block = k * SAMPLE_BLOCK;
            assert!(r.start >= block && r.start < block + 121, "{r:?}");
            assert!(r.start == 0 || data[r.start - 1] == b'\n');
            assert_eq!(data[r.end - 1], b'\n');
            let span = if k == 0 { FIRST_SPAN } else { SAMPLE_SPAN };
            assert!(
                r.end >= block + span && r.end <= block + span + 121,
                "{r:?}"
            );
        }
    }

    /// Many small inputs are sampled as one input of their length would be: the first
    /// `FIRST_SPAN` of the run whole, then `SAMPLE_SPAN` of each block (whole inputs where
    /// a span holds them, from the first line where a block starts inside one).
    #[test]
    fn small_inputs_are_sampled_as_one_run() {
        let one = log(600, 100); // 60,000 bytes
        let n = 3 * SAMPLE_BLOCK / one.len();
        let mut sampled = 0;
        for k in 0..n {
            let at = k * one.len();
            let ranges = sample_ranges(&one, at);
            sampled += ranges.iter().map(|r| r.len()).sum::<usize>();
            // Within the first span: whole.
            if at + one.len() <= FIRST_SPAN {
                assert_eq!(ranges, vec![0..one.len()]);
            }
            // An input that a span does not reach is not read.
            let block = at / SAMPLE_BLOCK * SAMPLE_BLOCK;
            let span = if block == 0 { FIRST_SPAN } else { SAMPLE_SPAN };
            let next = block + SAMPLE_BLOCK;
            if at >= block + span && at + one.len() <= next {
                assert!(ranges.is_empty(), "{k}: {ranges:?}");
            }
            for r in &ranges {
                assert!(r.start == 0 || one[r.start - 1] == b'\n');
                assert_eq!(one[r.end - 1], b'\n');
            }
        }
        // The run's spans to whole lines (of 100 bytes), not every input.
        let spans = FIRST_SPAN + 2 * SAMPLE_SPAN;
        assert!(
            sampled + 200 >= spans && sampled <= spans + 300,
            "{sampled}"
        );
        // One input alone is sampled as before.
        assert_eq!(sample_ranges(&one, 0), vec![0..one.len()]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever the data, ranges are in order, disjoint, within it, and made of lines.
        #[test]
        fn ranges_are_whole_lines(data in proptest::collection::vec(
            prop_oneof![Just(b'\n'), any::<u8>()], 0..4000), block_lines in 0usize..3) {
            let mut big = data.clone();
            // Stretch the data over a few blocks without making the test slow.
            for _ in 0..block_lines {
                big.resize(big.len() + SAMPLE_BLOCK, b'y');
                big.extend_from_slice(&data);
            }
            let ranges = sample_ranges(&big, 0);
            let mut last_end = 0;
            for r in ranges {
                prop_assert!(r.start >= last_end && r.start < r.end && r.end <= big.len());
                prop_assert!(r.start == 0 || big[r.start - 1] == b'\n');
                prop_assert!(r.end == big.len() || big[r.end - 1] == b'\n');
                last_end = r.end;
            }
        }
    }
}
