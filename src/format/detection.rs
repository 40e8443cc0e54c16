//! Detection: which format reads an input, told by a sample of its lines.
//!
//! The format that accepts the most sampled lines wins; a tie goes to the one listed first
//! in `registry()` (the more specific). A wrapper (`docker+combined`) wins when it reads
//! more lines than any plain format, or as many for wrappers that win ties
//! (`Kind::wins_ties`). No format wins with fewer than half of the lines.
//!
//! Asking every format about every line cost 27 % of reading a directory of 80,000 small
//! logs, so each format is only asked while it could still win: once a format has read
//! every line, a later one cannot beat it and an earlier one is dropped at its first line
//! it does not read. The format that read a like input (`Guess`) is asked first; the answer
//! is the same whatever it is.

use super::wrapped::{self, Kind};
use super::{Format, text};
use std::sync::atomic::{AtomicUsize, Ordering};

/// How many of the sampled lines to look at when detecting.
pub const DETECT_SAMPLE_LINES: usize = 64;

/// The place in `registry()` of the format found for an input before, shared by the
/// inputs detected side by side: the files of one directory are mostly of one format.
#[derive(Default)]
pub struct Guess(AtomicUsize);

impl Guess {
    fn get(&self) -> Option<usize> {
        self.0.load(Ordering::Relaxed).checked_sub(1)
    }

    fn set(&self, at: usize) {
        self.0.store(at + 1, Ordering::Relaxed);
    }
}

/// Picks the format that accepts the most of `lines` (non-blank lines from the start of an
/// input), trying first the one `guess` names (and naming the plain format found, for the
/// next input). Returns `None` when no format accepts at least half of them.
pub fn detect<'f>(
    formats: &'f [Box<dyn Format>],
    lines: &[&[u8]],
    guess: &Guess,
) -> Option<&'f dyn Format> {
    let lines: Vec<&[u8]> = (lines.iter().copied())
        .filter(|l| !text::is_blank(l))
        .collect();
    if lines.is_empty() {
        return None;
    }
    // The plain format that reads most lines, first in `formats` among equals: (place,
    // score). The guess first, then the others in order.
    let mut plain: Option<(usize, usize)> = None;
    let guessed = guess.get().filter(|&g| g < formats.len());
    let order = guessed
        .into_iter()
        .chain((0..formats.len()).filter(|&i| Some(i) != guessed));
    for i in order {
        let f = &formats[i];
        let need = match plain {
            None => 1,
            Some((b, s)) => s + usize::from(i > b),
        };
        let Some(score) = score_at_least(&lines, need, |l| f.is_directive(l) || f.detect(l)) else {
            continue;
        };
        // Directives alone (a W3C header) say nothing of the requests below them.
        if lines.len() > 1 && lines.iter().all(|l| f.is_directive(l)) {
            continue;
        }
        plain = Some((i, score));
    }
    if let Some((i, _)) = plain {
        guess.set(i);
    }
    let mut best: Option<(&dyn Format, usize)> = plain.map(|(i, s)| (formats[i].as_ref(), s));
    // Then the wrappers, in `wrapped::all()`'s order: what a wrapped format must score.
    let mut wrapped_won = false;
    for kind in Kind::ALL {
        let need_now = |best: Option<(&dyn Format, usize)>, wrapped_won: bool| match best {
            None => 1,
            Some((_, s)) => s + usize::from(wrapped_won || !kind.wins_ties()),
        };
        let need = need_now(best, wrapped_won);
        let Some(unwrapped) = wrapped::unwrap_lines(kind, &lines, need) else {
            continue;
        };
        for (f, inner) in wrapped::of_kind(kind) {
            let need = need_now(best, wrapped_won);
            if let Some(score) = score_at_least(&unwrapped, need, |l| inner.detect(l)) {
                best = Some((f, score));
                wrapped_won = true;
            }
        }
    }
    best.filter(|(_, s)| *s * 2 >= lines.len()).map(|(f, _)| f)
}

/// How many of `lines` `reads` accepts, when at least `need`: `None` as soon as the lines
/// left cannot make up `need`.
fn score_at_least<L>(lines: &[L], need: usize, mut reads: impl FnMut(&L) -> bool) -> Option<usize> {
    let mut score = 0;
    for (k, l) in lines.iter().enumerate() {
        if score + (lines.len() - k) < need {
            return None;
        }
        score += usize::from(reads(l));
    }
    (score >= need).then_some(score)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::registry;

    /// Detection as first written: every format asked about every line, in order.
    fn detect_every<'f>(formats: &'f [Box<dyn Format>], lines: &[&[u8]]) -> Option<&'f dyn Format> {
        let lines: Vec<&[u8]> = (lines.iter().copied())
            .filter(|l| !text::is_blank(l))
            .collect();
        if lines.is_empty() {
            return None;
        }
        let mut best: Option<(&dyn Format, usize)> = None;
        for f in formats {
            let score = (lines.iter())
                .filter(|l| f.is_directive(l) || f.detect(l))
                .count();
            let directives_only = lines.iter().all(|l| f.is_directive(l));
            if score == 0 || directives_only && lines.len() > 1 {
                continue;
            }
            if best.is_none_or(|(_, s)| score > s) {
                best = Some((f.as_ref(), score));
            }
        }
        let mut plain = true;
        for f in wrapped::all() {
            let score = lines.iter().filter(|l| f.detect(l)).count();
            let wins = |(_, s): (&dyn Format, usize)| {
                score > s || score == s && plain && wrapped::wins_ties(f.as_ref())
            };
            if score > 0 && best.is_none_or(wins) {
                best = Some((f.as_ref(), score));
                plain = false;
            }
        }
        best.filter(|(_, s)| *s * 2 >= lines.len()).map(|(f, _)| f)
    }

    /// Lines of every shape detection meets: each format's sample, plain and in each
    /// wrapper, a W3C directive, lines of no format, blank ones.
    fn pool() -> Vec<String> {
        let mut pool: Vec<String> = (registry().iter().chain(wrapped::all()))
            .map(|f| f.sample().to_string())
            .collect();
        for f in registry() {
            let s = f.sample().replace('\\', "\\\\").replace('"', "\\\"");
            pool.push(format!(
                r#"{{"log":"{s}\n","stream":"stdout","time":"2026-03-02T09:14:05Z"}}"#
            ));
            pool.push(format!(
                "2026-03-02T09:14:05.123456789Z stdout F {}",
                f.sample()
            ));
            pool.push(format!("Mar  2 09:14:05 web1 nginx: {}", f.sample()));
            pool.push(format!("web  | {}", f.sample()));
        }
        pool.extend(
            [
                "#Fields: date time cs-method cs-uri-stem sc-status",
                "#Version: 1.0",
                "java.lang.IllegalStateException: conflict",
                "   ",
                "{\"level\":\"info\",\"msg\":\"started\"}",
            ]
            .map(String::from),
        );
        pool
    }

    proptest::proptest! {
        /// Asking each format only while it could still win, the guess first, picks what
        /// asking every format about every line picks: any lines, any guess.
        #[test]
        fn detection_is_detection_of_every_line(
            picks in proptest::collection::vec(0usize..1000, 1..12),
            guess in 0usize..25,
        ) {
            let (formats, pool) = (registry(), pool());
            let lines: Vec<&[u8]> = picks.iter().map(|&p| pool[p % pool.len()].as_bytes()).collect();
            let g = Guess::default();
            if guess < 24 {
                g.set(guess);
            }
            let got = detect(&formats, &lines, &g).map(|f| f.name());
            proptest::prop_assert_eq!(got, detect_every(&formats, &lines).map(|f| f.name()));
        }
    }

    /// Runs of one format's lines, as a directory of one format's logs gives them: the
    /// guess left by one input is the next input's format.
    #[test]
    fn the_format_found_is_the_next_guess() {
        let formats = registry();
        let guess = Guess::default();
        for f in registry() {
            let lines = [f.sample().as_bytes(); 3];
            let found = detect(&formats, &lines, &guess).map(|f| f.name());
            assert_eq!(found, detect_every(&formats, &lines).map(|f| f.name()));
            let at = formats.iter().position(|g| Some(g.name()) == found);
            assert_eq!(guess.get(), at, "{}", f.name());
        }
    }

    #[test]
    fn a_score_is_given_only_when_it_reaches_the_need() {
        let even = |n: &u32| n.is_multiple_of(2);
        assert_eq!(score_at_least(&[1, 2, 3, 4], 2, even), Some(2));
        assert_eq!(score_at_least(&[1, 2, 3, 4], 3, even), None);
        assert_eq!(score_at_least(&[2, 4], 1, even), Some(2));
        assert_eq!(score_at_least::<u32>(&[], 1, even), None);
    }
}
