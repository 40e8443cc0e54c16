//! Terminal renderer: root causes first, then their evidence, then the overview, top
//! resources / instances / clients, the timeline and the skipped-line summary.
//!
//! The caller decides the width and whether to colour (TTY and no `NO_COLOR`); this module
//! never looks at the terminal itself.

use super::{
    LISTED_FINDINGS, Report, ShownWindow, UNEXPLAINED_HINT, between, counted, one_day, percent,
    times,
};
use crate::timestamp::human_span;
use comfy_table::{
    Attribute, Cell, CellAlignment, Color, ColumnConstraint, ContentArrangement, Table, Width,
    presets,
};
use std::io::{self, Write};

/// How to lay tables out.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// Terminal width to fit; `None` lays tables out at their natural width.
    pub width: Option<u16>,
    pub color: bool,
    /// How many findings get their evidence printed.
    pub evidence_findings: usize,
}

impl Default for Style {
    fn default() -> Self {
        Style {
            width: None,
            color: false,
            evidence_findings: 3,
        }
    }
}

pub(super) fn table(style: &Style, header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED);
    t.force_no_tty();
    if style.color {
        t.enforce_styling();
    }
    match style.width {
        Some(w) => {
            t.set_content_arrangement(ContentArrangement::Dynamic);
            t.set_width(w);
        }
        None => {
            t.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    if header.iter().any(|h| !h.is_empty()) {
        t.set_header(
            header
                .iter()
                .map(|h| Cell::new(h).add_attribute(Attribute::Bold))
                .collect::<Vec<_>>(),
        );
    }
    t
}

pub(super) fn right(t: &mut Table, cols: &[usize]) {
    for &c in cols {
        if let Some(col) = t.column_mut(c) {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
}

/// What a column needs to read well in a table fitted to the terminal.
#[derive(Debug, Clone, Copy)]
pub(super) enum Fit {
    /// Numbers and short words: as wide as its widest cell or header, never cut.
    Fixed,
    /// Names (templates, instances, addresses): whole when there is room, cut only past
    /// `NAME_MIN`.
    Name,
    /// Prose and secondary texts: whatever is left, at least this wide (padding included)
    /// or as wide as its widest cell and header if that is less.
    Rest(usize),
    /// Times (`09:35:00 → 09:59:58`, `2026-03-02 09:23:30`): on one line when that hides no
    /// more columns than parting them would and leaves most names (nine in ten) whole;
    /// otherwise parted only where they part (after the arrow, or between a date and its
    /// time), the start above the end, never a time cut.
    Times,
}

/// Names keep at least this many columns before the table gives up keeping things whole.
const NAME_MIN: usize = 26;

/// In the narrowest layout, names keep at least this many columns (padding included: a
/// path's `/api/v1/` and `orders/{id}` each a line), or the table is written as records.
const NAME_SQUEEZED: usize = 16;

/// Fits `t` to `width`: numbers stay under their headers and names whole where they fit.
/// `drops` are the sets of columns to hide, least first (the first set is usually none);
/// the first that leaves the names `NAME_MIN` columns and prose its minimum is taken, and
/// the names share what is left before the prose gets the rest. When none does, the last
/// set is hidden, and where even then the names cannot keep `NAME_SQUEEZED` columns or the
/// numbers theirs, the table is to be written as records (`Shape::Records`), which show the
/// columns the first set leaves. Names wider than their column are broken where a path
/// parts (`wrap_names`).
///
/// Times (`Fit::Times`) are laid out whole, else the start above the end, else each date
/// and time a line: the first that hides no more columns than the last and leaves nine
/// names in ten whole (up to `NAME_MIN` columns); whole times also give way where they
/// would cut more names than one row in ten beyond parted ones, or make the table taller.
pub(super) fn fit(t: &mut Table, style: &Style, columns: &[Fit], drops: &[&[usize]]) -> Shape {
    let Some(width) = style.width.map(usize::from) else {
        return Shape::Table;
    };
    let content = content_widths(t);
    let times: Vec<usize> = (columns.iter().enumerate())
        .filter(|(_, f)| matches!(f, Fit::Times))
        .map(|(c, _)| c)
        .collect();
    let parted = |at: Part| {
        let mut widths = content.clone();
        for &c in &times {
            widths[c] = widths[c].min(part_width(t, c, at) + 2);
        }
        widths
    };
    let mut best = arrange(&parted(Part::Words), &times, width, columns, drops);
    if !times.is_empty() {
        // Times are parted no more than it takes to give most names (nine in ten) their room.
        let most = mostly_whole(t, columns);
        let fitting = |at: Part, split: &[usize]| {
            let a = arrange(&parted(at), split, width, columns, drops);
            let shown = drops.get(a.hidden).copied().unwrap_or_default();
            let need: usize = (most.iter().enumerate())
                .filter(|(c, _)| !shown.contains(c))
                .map(|(_, &w)| w)
                .sum();
            // Whole times are kept from being cut only by the constraints a squeezed
            // layout does not set.
            (a.hidden == best.hidden && a.room >= need && (a.set_all || !split.is_empty()))
                .then_some(a)
        };
        let whole = fitting(Part::Whole, &[]);
        let arrow = fitting(Part::Arrow, &times);
        // Nor do whole times cut more names than one row in ten beyond those parted
        // times would, or make the table taller (prose squeezed to many lines a row).
        let tenth = t.row_count() / 10;
        let cuts_more = |w: &Arrangement, a: &Arrangement| {
            cut_names(t, w, columns) > cut_names(t, a, columns) + tenth
        };
        let taller = |w: &Arrangement, a: &Arrangement| {
            a.set_all && height(t, w, columns, width) > height(t, a, columns, width)
        };
        best = match (whole, arrow) {
            (Some(w), Some(a)) if cuts_more(&w, &a) || taller(&w, &a) => a,
            (Some(w), _) => w,
            (None, Some(a)) => a,
            (None, None) => best,
        };
    }
    // A table without headers has no labels for records.
    let fits = best.set_all && needed(&best, columns.len()) <= width;
    let shape = match fits || t.header().is_none() {
        true => Shape::Table,
        false => Shape::Records,
    };
    if shape == Shape::Table {
        wrap_names(t, style, &best, columns);
    }
    // A record gives each value a line of its own: it shows what the roomiest table would,
    // not only what the narrowest could.
    let first = drops.first().copied().unwrap_or_default();
    let records = shape == Shape::Records;
    for (c, k) in best.constraints {
        if !(records && k == ColumnConstraint::Hidden && !first.contains(&c)) {
            set(t, c, k);
        }
    }
    shape
}

/// Breaks the names wider than the columns an arrangement gives them where a reader breaks
/// a path (`phrase_lines`: after a `/`), not where comfy-table would, at the column's last
/// character (`/api/v1/orders/{id}/canc` / `el`). comfy-table cannot change a cell, so the
/// table is built again with its header and rows: names are never styled, no table with
/// names sets a row's height, and callers set alignments after `fit` (the hidden columns
/// are the arrangement's).
fn wrap_names(t: &mut Table, style: &Style, a: &Arrangement, columns: &[Fit]) {
    if cut_names(t, a, columns) == 0 {
        return;
    }
    let inner = name_widths(a, columns);
    let mut wrapped = table(style, &[]);
    if let Some(header) = t.header() {
        wrapped.set_header(header.clone());
    }
    for row in t.row_iter() {
        let cells = (row.cell_iter().enumerate()).map(|(c, cell)| match inner[c] {
            Some(w) => wrapped_cell(cell, w),
            None => cell.clone(),
        });
        wrapped.add_row(cells.collect::<Vec<_>>());
    }
    *t = wrapped;
}

/// How a fitted table is written.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    /// Rows and columns.
    Table,
    /// One record a row (`records`): the table's numbers, headers and names cannot all
    /// have their width, and comfy-table would cut them mid-word.
    Records,
}

/// Writes `t` in the shape `fit` gave it.
pub(super) fn write_fitted(
    out: &mut dyn Write,
    t: &Table,
    shape: Shape,
    style: &Style,
) -> io::Result<()> {
    match shape {
        Shape::Table => writeln!(out, "{t}"),
        Shape::Records => super::records::write_records(out, t, style),
    }
}

/// The width the columns an arrangement sets take, with the borders of those it shows.
fn needed(a: &Arrangement, n: usize) -> usize {
    let (hidden, widths) = set_widths(a, n);
    let shown = hidden.iter().filter(|&&h| !h).count();
    let set: usize = (widths.iter().zip(&hidden))
        .filter(|(_, h)| !**h)
        .filter_map(|(w, _)| *w)
        .sum();
    set + shown + 1
}

/// The constraints `fit` sets on a table for one way of laying out its times, which of
/// `drops` they hide, the room left to the names, and whether every shown column got its
/// width (a squeezed table leaves its names and numbers to comfy-table).
struct Arrangement {
    constraints: Vec<(usize, ColumnConstraint)>,
    hidden: usize,
    room: usize,
    set_all: bool,
}

/// The arrangement of a table whose columns are `content` wide, with the times of columns
/// `parted` as wide as their widest part, so that each part is a line.
fn arrange(
    content: &[usize],
    parted: &[usize],
    width: usize,
    columns: &[Fit],
    drops: &[&[usize]],
) -> Arrangement {
    let l = layout(content, width, columns, drops);
    let mut a = Arrangement {
        constraints: Vec::new(),
        hidden: l.hidden,
        room: l.left.saturating_sub(l.rest),
        set_all: false,
    };
    let Some(hidden) = drops.get(l.hidden) else {
        return a;
    };
    for &c in hidden.iter() {
        a.constraints.push((c, ColumnConstraint::Hidden));
    }
    for &c in parted.iter().filter(|c| !hidden.contains(c)) {
        let w = Width::Fixed(content[c].min(999) as u16);
        a.constraints.push((c, ColumnConstraint::Absolute(w)));
    }
    // Names share the room left after the prose's minimum, in proportion to their
    // width; in the narrowest layout they take what there is, if anything.
    let (roomy, names, room) = (l.roomy, l.names, a.room);
    if room < NAME_SQUEEZED * l.count {
        return a;
    }
    for (c, &f) in columns.iter().enumerate() {
        if hidden.contains(&c) || parted.contains(&c) {
            continue;
        }
        let w = content.get(c).copied().unwrap_or(0);
        let w = match f {
            Fit::Fixed | Fit::Times => w,
            Fit::Name if roomy => w.min((room * w / names.max(1)).max(w.min(NAME_MIN))),
            Fit::Name => w.min(room * w / names.max(1)),
            Fit::Rest(_) => continue,
        };
        let w = Width::Fixed(w.min(999) as u16);
        a.constraints.push((c, ColumnConstraint::LowerBoundary(w)));
    }
    a.set_all = true;
    a
}

/// Which of `n` columns an arrangement hides, and the widths (padding included) it gives
/// those it sets.
fn set_widths(a: &Arrangement, n: usize) -> (Vec<bool>, Vec<Option<usize>>) {
    let (mut hidden, mut widths) = (vec![false; n], vec![None; n]);
    for (c, k) in &a.constraints {
        let (Some(h), Some(width)) = (hidden.get_mut(*c), widths.get_mut(*c)) else {
            continue;
        };
        match k {
            ColumnConstraint::Hidden => *h = true,
            ColumnConstraint::Absolute(Width::Fixed(w))
            | ColumnConstraint::LowerBoundary(Width::Fixed(w)) => *width = Some(*w as usize),
            _ => {}
        }
    }
    (hidden, widths)
}

/// The inner width (padding off) an arrangement gives each column of names it sets.
fn name_widths(a: &Arrangement, columns: &[Fit]) -> Vec<Option<usize>> {
    let (_, widths) = set_widths(a, columns.len());
    (columns.iter().zip(widths))
        .map(|(f, w)| {
            w.filter(|_| matches!(f, Fit::Name))
                .map(|w| w.saturating_sub(2))
        })
        .collect()
}

/// How many cells of the names' columns an arrangement gives fewer columns than a line of
/// theirs takes.
fn cut_names(t: &Table, a: &Arrangement, columns: &[Fit]) -> usize {
    (name_widths(a, columns).into_iter().enumerate())
        .filter_map(|(c, w)| Some((c, w?)))
        .map(|(c, w)| {
            (t.column_cells_iter(c).flatten())
                .filter(|cell| cell.content().lines().any(|l| l.chars().count() > w))
                .count()
        })
        .sum()
}

/// How many lines tall an arrangement's rows come out, each as tall as its tallest cell
/// wrapped at its column's width: the columns it sets, the prose sharing what they leave.
fn height(t: &Table, a: &Arrangement, columns: &[Fit], width: usize) -> usize {
    let (hidden, widths) = set_widths(a, columns.len());
    let prose = (columns.iter().enumerate())
        .filter(|&(c, f)| !hidden[c] && widths[c].is_none() && matches!(f, Fit::Rest(_)))
        .count();
    let left = width.saturating_sub(needed(a, columns.len())) / prose.max(1);
    (t.row_iter())
        .map(|row| {
            (row.cell_iter().enumerate())
                .filter(|(c, _)| !hidden.get(*c).copied().unwrap_or(true))
                .map(|(c, cell)| {
                    let w = widths[c].unwrap_or(left).saturating_sub(2);
                    cell.content().lines().map(|l| wrapped_lines(l, w)).sum()
                })
                .max()
                .unwrap_or(1)
        })
        .sum()
}

/// How many lines `text` takes wrapped between words at `width`, a longer word cut.
fn wrapped_lines(text: &str, width: usize) -> usize {
    let width = width.max(1);
    let (mut lines, mut at) = (1, 0);
    for word in text.split(' ') {
        let n = word.chars().count();
        at = match at {
            0 => n,
            _ if at + 1 + n <= width => at + 1 + n,
            _ => {
                lines += 1;
                n
            }
        };
        while at > width {
            lines += 1;
            at -= width;
        }
    }
    lines
}

/// For each `Fit::Name` column, the width (padding included) that holds nine of its cells
/// in ten, at most `NAME_MIN`; 0 for the others.
fn mostly_whole(t: &Table, columns: &[Fit]) -> Vec<usize> {
    let width = |cell: &Cell| cell.content().chars().count() + 2;
    (columns.iter().enumerate())
        .map(|(c, f)| {
            if !matches!(f, Fit::Name) {
                return 0;
            }
            let mut widths: Vec<usize> = t.column_cells_iter(c).flatten().map(width).collect();
            widths.sort_unstable();
            let nine_in_ten = widths.len().saturating_sub(1) * 9 / 10;
            widths.get(nine_in_ten).map_or(0, |&w| w.min(NAME_MIN))
        })
        .collect()
}

/// Where times part: nowhere, after the arrow between a start and an end, or at every
/// space (the arrow kept with the time before it). Headers part at every space.
#[derive(Clone, Copy)]
enum Part {
    Whole,
    Arrow,
    Words,
}

/// The widest part of column `c`'s cells, parted `at`, or of its header's words.
fn part_width(t: &Table, c: usize, at: Part) -> usize {
    let width = |s: &str| s.chars().count();
    let words = |s: &str| {
        let mut widest = 0;
        let mut last = 0;
        for word in s.split(' ') {
            last = if word == "→" { last + 2 } else { width(word) };
            widest = usize::max(widest, last);
        }
        widest
    };
    let cell = |row: &comfy_table::Row| row.cell_iter().nth(c).map(Cell::content);
    let parts = |text: String| match (at, text.split_once(" → ")) {
        (Part::Arrow, Some((start, end))) => (width(start) + 2).max(width(end)),
        (Part::Whole | Part::Arrow, _) => width(&text),
        (Part::Words, _) => words(&text),
    };
    let header = (t.header().and_then(cell)).map_or(0, |h| words(&h));
    (t.row_iter().filter_map(cell))
        .map(parts)
        .fold(header, usize::max)
}

/// Each column's widest cell, padding (a space either side) included.
fn content_widths(t: &Table) -> Vec<usize> {
    (t.column_max_content_widths().iter())
        .map(|&w| w as usize + 2)
        .collect()
}

/// The columns `fit` hides (an index into its `drops`), whether the names then have their
/// room, the width left for names and prose, the prose's minimum, and the names' total
/// width and count.
#[derive(Default)]
struct Layout {
    hidden: usize,
    roomy: bool,
    left: usize,
    rest: usize,
    names: usize,
    count: usize,
}

fn layout(content: &[usize], width: usize, columns: &[Fit], drops: &[&[usize]]) -> Layout {
    let mut last = Layout::default();
    for (k, hidden) in drops.iter().enumerate() {
        // Borders and padding-included widths; the names' wish and the prose's minimum.
        let (mut fixed, mut wanted, mut shown) = (0, 0, 0);
        last = Layout {
            hidden: k,
            ..Layout::default()
        };
        for (c, &f) in columns.iter().enumerate() {
            if hidden.contains(&c) {
                continue;
            }
            shown += 1;
            let w = content.get(c).copied().unwrap_or(0);
            match f {
                Fit::Fixed | Fit::Times => fixed += w,
                Fit::Name => {
                    wanted += w.min(NAME_MIN);
                    last.names += w;
                    last.count += 1;
                }
                // A column narrower than its minimum needs no more than its width.
                Fit::Rest(least) => last.rest += least.min(w),
            }
        }
        // Fixed columns wider than the terminal leave no room, however little is wanted.
        let borders = shown + 1;
        last.left = width.saturating_sub(fixed + borders);
        last.roomy = fixed + borders <= width && last.left >= wanted + last.rest;
        if last.roomy {
            break;
        }
    }
    last
}

fn set(t: &mut Table, col: usize, c: ColumnConstraint) {
    if let Some(col) = t.column_mut(col) {
        col.set_constraint(c);
    }
}

/// Writes `text` wrapped at the style's width (if any), each line after the first indented
/// like the first.
pub(super) fn para(out: &mut dyn Write, style: &Style, indent: &str, text: &str) -> io::Result<()> {
    para_ending(out, style, indent, text, "")
}

/// A paragraph whose last phrase, `end`, is not broken: it goes on the next line whole
/// when the line it would end has no room for it (`...; all on 2026-03-02 (UTC)`).
pub(super) fn para_ending(
    out: &mut dyn Write,
    style: &Style,
    indent: &str,
    text: &str,
    end: &str,
) -> io::Result<()> {
    let words = text.split(' ').chain((!end.is_empty()).then_some(end));
    for line in wrap_words(words, style.width, indent, indent) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// A paragraph that names a path to copy: one wider than the line breaks after a `/`
/// (prose keeps its words whole past the width; a path would be cut anywhere), as
/// `phrase_lines` breaks a cell's value.
pub(super) fn path_para(
    out: &mut dyn Write,
    style: &Style,
    indent: &str,
    text: &str,
) -> io::Result<()> {
    let room = style
        .width
        .map_or(usize::MAX, |w| usize::from(w).saturating_sub(indent.len()));
    for line in phrase_lines(text, room) {
        writeln!(out, "{indent}{line}")?;
    }
    Ok(())
}

/// A heading after a blank line; one wider than the terminal goes on at word breaks,
/// indented (a finding's heading names an instance, which can be long).
pub(super) fn heading(out: &mut dyn Write, style: &Style, text: &str) -> io::Result<()> {
    writeln!(out)?;
    for line in wrap(text, style.width, "", "   ") {
        if style.color {
            writeln!(out, "\x1b[1m{line}\x1b[0m")?;
        } else {
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}

/// `text` in lines of at most `width` columns for a table's cell, broken where a reader
/// expects: at spaces, a phrase of a list (`3806 parsed`, `gcp-lb 1`: what lies between
/// commas) moved whole to the next line when it fits there (unless that leaves alone the
/// last word of a phrase broken before it, `expire,`, where filling the line leaves no
/// word alone), and a word wider than the line (a path) after a `/` or a `-`, `_`, `.` or
/// `:` (`cut_word`). A date is never parted from its time, nor an arrow from the time
/// before it, nor words joined by a no-break space (written with a space).
pub(super) fn phrase_lines(text: &str, width: usize) -> Vec<String> {
    (lines_at(&bound(text), width.max(1)).into_iter())
        .map(|l| l.replace('\u{a0}', " "))
        .collect()
}

/// `phrase_lines` of a text whose no-break spaces are already set.
fn lines_at(text: &str, width: usize) -> Vec<String> {
    let len = |s: &str| s.chars().count();
    let words: Vec<&str> = text.split(' ').collect();
    // Where the phrase of each word starts: after a word that ends a list's item.
    let mut starts = Vec::with_capacity(words.len());
    for i in 0..words.len() {
        let start = match i {
            0 => 0,
            _ if words[i - 1].ends_with(',') => i,
            _ => starts[i - 1],
        };
        starts.push(start);
    }
    let phrase_end = |p: usize| {
        (p + 1..words.len())
            .find(|&k| starts[k] != p)
            .unwrap_or(words.len())
    };
    let phrase_len = |p: usize| {
        words[p..phrase_end(p)]
            .iter()
            .map(|w| len(w) + 1)
            .sum::<usize>()
            - 1
    };
    let (mut lines, mut line): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
    // The word the line starts with.
    let mut first = 0;
    let mut i = 0;
    while i < words.len() {
        let word = words[i];
        if line.is_empty() {
            first = i;
        }
        let used: usize = line.iter().map(|w| len(w) + 1).sum();
        if used + len(word) <= width {
            line.push(word.to_string());
            i += 1;
            continue;
        }
        if line.is_empty() {
            // Wider than a line alone: words bound together part at their spaces first.
            let mut pieces = match word.contains('\u{a0}') {
                true => lines_at(&word.replace('\u{a0}', " "), width),
                false => cut_word(word, width),
            };
            let last = pieces.pop().unwrap_or_default();
            lines.extend(pieces);
            line.push(last);
            i += 1;
            continue;
        }
        // The phrase this word is in moves whole if it began on this line and fits on one,
        // unless that leaves the last word of a phrase broken before it alone where the
        // line filled would leave no word alone.
        let p = starts[i];
        let on_line = i - p;
        // The phrase may have begun on a line before (then it does not move).
        let began_here = on_line > 0 && on_line < line.len();
        let lone_end = line.len() - on_line.min(line.len()) == 1
            && starts[first] != first
            && phrase_end(p) - i > 1;
        if began_here && !lone_end && phrase_len(p) <= width {
            line.truncate(line.len() - on_line);
            i = p;
        }
        lines.push(line.join(" "));
        line.clear();
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line.join(" "));
    }
    lines
}

/// A word wider than `width` in pieces that fit, cut after the last `/` that fits or the
/// last `-`, `_`, `.` or `:` (a UUID's groups, an address's parts), whichever leaves fewer
/// lines (the `/` when even), and at the width only where it has none of those.
fn cut_word(word: &str, width: usize) -> Vec<String> {
    let len = |s: &str| s.chars().count();
    let (mut pieces, mut rest) = (Vec::new(), word);
    while len(rest) > width {
        let head: String = rest.chars().take(width).collect();
        let after = |marks: &[char]| head.rfind(marks).filter(|&k| k > 0).map(|k| k + 1);
        let cuts = [after(&['/']), after(&['-', '_', '.', ':'])];
        let left = |k: usize| len(&rest[k..]).div_ceil(width);
        let fewest = cuts.iter().flatten().map(|&k| left(k)).min();
        let cut = (cuts.iter().flatten().copied())
            .find(|&k| Some(left(k)) == fewest)
            .unwrap_or(head.len());
        pieces.push(rest[..cut].to_string());
        rest = &rest[cut..];
    }
    pieces.push(rest.to_string());
    pieces
}

/// `value` wrapped to `width` as a table's cell is (`phrase_lines`: comfy-table would cut a
/// path anywhere, and part a date from its time). A value that fits is kept as it is, with
/// its colour (those coloured are words and numbers, which always fit).
pub(super) fn wrapped_cell(value: &Cell, width: usize) -> Cell {
    let content = value.content();
    if content.lines().all(|l| l.chars().count() <= width) {
        return value.clone();
    }
    let lines: Vec<String> = (content.lines())
        .flat_map(|l| phrase_lines(l, width))
        .collect();
    Cell::new(lines.join("\n"))
}

/// `text` with a no-break space between a date and its time and before an arrow, where
/// `phrase_lines` does not break.
fn bound(text: &str) -> String {
    let mut bound = String::with_capacity(text.len());
    let mut last = None;
    for word in text.split(' ') {
        if let Some(last) = last {
            let kept = (is_date(last) && is_time(word)) || word == "→";
            bound.push(if kept { '\u{a0}' } else { ' ' });
        }
        bound.push_str(word);
        last = Some(word);
    }
    bound
}

/// `text` broken at spaces into lines of at most `width` columns (at least 20 beyond
/// `first`; a longer word stands alone), the first line led by `first`, the others by
/// `hang`. Without a width, one line.
fn wrap(text: &str, width: Option<u16>, first: &str, hang: &str) -> Vec<String> {
    wrap_words(text.split(' '), width, first, hang)
}

/// `words` joined by spaces into lines as `wrap` makes them; a word may hold spaces, which
/// are not broken, and a date is kept with the time after it (`2026-03-02 09:24:11`).
fn wrap_words<'a>(
    words: impl Iterator<Item = &'a str>,
    width: Option<u16>,
    first: &str,
    hang: &str,
) -> Vec<String> {
    let room = width.map_or(usize::MAX, |w| (w as usize).max(first.chars().count() + 20));
    let mut lines = Vec::new();
    let mut lead = first;
    let mut line = String::new();
    let mut words = words.peekable();
    while let Some(word) = words.next() {
        let dated;
        let word = match words.peek() {
            Some(next) if is_date(word) && is_time(next) => {
                dated = format!("{word} {}", words.next().unwrap_or_default());
                dated.as_str()
            }
            _ => word,
        };
        let len = lead.chars().count() + line.chars().count();
        if !line.is_empty() && len + 1 + word.chars().count() > room {
            lines.push(format!("{lead}{line}"));
            line.clear();
            lead = hang;
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(format!("{lead}{line}"));
    lines
}

/// `2026-03-02` (a word that is a date, as the report writes them).
fn is_date(word: &str) -> bool {
    let b = word.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(k, &c)| match k {
            4 | 7 => c == b'-',
            _ => c.is_ascii_digit(),
        })
}

/// `09:24:11`, `09:24:11.5`, `09:24:11;` (a word that starts with a time).
fn is_time(word: &str) -> bool {
    let b = word.as_bytes();
    b.len() >= 8
        && b[..8].iter().enumerate().all(|(k, &c)| match k {
            2 | 5 => c == b':',
            _ => c.is_ascii_digit(),
        })
}

/// The columns a logged line's continuation rows are indented by under its location.
const EVIDENCE_HANG: usize = 6;

/// The most rows a logged line takes in the evidence: enough for a combined line's request,
/// status and user agent at 80 columns.
const EVIDENCE_ROWS: usize = 3;

/// `text` in at most `rows` pieces, the first at most `first` characters long, the others
/// `rest`; each ends at a space in its last quarter where there is one, and the last ends
/// with `…` when text is left over.
fn fold(text: &str, first: usize, rest: usize, rows: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut pieces = Vec::new();
    let mut at = 0;
    while at < chars.len() && pieces.len() < rows {
        let room = if pieces.is_empty() { first } else { rest }.max(2);
        let left = &chars[at..];
        if left.len() <= room {
            pieces.push(left.iter().collect());
            return pieces;
        }
        if pieces.len() + 1 == rows {
            let mut cut: String = left[..room - 1].iter().collect();
            cut.push('…');
            pieces.push(cut);
            return pieces;
        }
        // After the space (the one just past the row too), so the next piece starts
        // with a word.
        let end = (left[..=room].iter().rposition(|&c| c == ' '))
            .filter(|&k| k + 1 >= room - room / 4)
            .map_or(room, |k| k + 1);
        pieces.push(
            left[..end]
                .iter()
                .collect::<String>()
                .trim_end()
                .to_string(),
        );
        at += end;
    }
    pieces
}

/// The advice's first clause (up to `.`, `;` or `:`), at most `SHORT_ADVICE` characters cut
/// at a word, for the table; the evidence section prints it in full.
fn short_advice(a: &str) -> String {
    const SHORT_ADVICE: usize = 72;
    let end = a
        .find([';', ':'])
        .into_iter()
        .chain(a.find(". "))
        .min()
        .unwrap_or(a.len());
    let first = a[..end].trim_end_matches('.').trim();
    if first.chars().count() <= SHORT_ADVICE {
        return first.to_string();
    }
    let mut out = String::new();
    for word in first.split(' ') {
        if out.chars().count() + word.chars().count() + 1 > SHORT_ADVICE - 1 {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out.trim_end_matches(',').to_string() + "…"
}

/// A table's heading, with the day all its rows' times lie on (`one_day`), which its
/// rows then leave out: `Root causes (2026-03-02)`, `... instances (the first 10;
/// 2026-03-02)`.
fn on_day(heading: &str, day: Option<&str>) -> String {
    match (day, heading.strip_suffix(')')) {
        (Some(d), Some(open)) => format!("{open}; {d})"),
        (Some(d), None) => format!("{heading} ({d})"),
        (None, _) => heading.to_string(),
    }
}

/// A row's start and end: times only under a heading that names their day (`on_day`).
fn span(day: Option<&str>, start: &str, end: &str) -> String {
    match day {
        Some(_) => times(start, end),
        None => between(start, end),
    }
}

fn severity_color(severity: crate::detect::Severity) -> Color {
    if severity == crate::detect::Severity::Incident {
        Color::Red
    } else {
        Color::Yellow
    }
}

/// Writes the report as tables, a section each, in the order a reader needs them; a
/// section with nothing to show is left out.
pub fn render(r: &Report, style: &Style, out: &mut dyn Write) -> io::Result<()> {
    root_causes(r, style, out)?;
    overview(r, style, out)?;
    top_resources(r, style, out)?;
    top_instances(r, style, out)?;
    top_clients(r, style, out)?;
    unexplained(r, style, out)?;
    timeline(r, style, out)?;
    skipped_lines(r, style, out)
}

/// The findings, one row each (grouped past the first ones), and how many conflicts they
/// explain.
fn root_causes(r: &Report, style: &Style, out: &mut dyn Write) -> io::Result<()> {
    if r.findings.is_empty() {
        heading(out, style, "Root causes")?;
        return para(out, style, "", &r.explained());
    }
    let rows = r.finding_rows(LISTED_FINDINGS);
    let spans = (rows.listed.iter().map(|f| (&*f.start, &*f.end)))
        .chain(rows.groups.iter().map(|g| (g.start, g.end)));
    let day = one_day(spans);
    heading(out, style, &on_day("Root causes", day))?;
    let mut t = table(
        style,
        &[
            "cause",
            "resource",
            "scope",
            "conflicts",
            "clients",
            "when (UTC)",
            "conf.",
            "what to change",
        ],
    );
    for f in rows.listed {
        let mut cause = Cell::new(f.cause);
        if style.color {
            cause = cause.fg(severity_color(f.severity));
        }
        t.add_row(vec![
            cause,
            Cell::new(f.instance.as_deref().unwrap_or(&f.template)),
            Cell::new(f.scope.name()),
            Cell::new(f.conflicts),
            Cell::new(f.client_count),
            Cell::new(span(day, &f.start, &f.end)),
            Cell::new(format!("{:.2}", f.confidence)),
            Cell::new(short_advice(&f.advice)),
        ]);
    }
    for g in &rows.groups {
        let mut cause = Cell::new(g.cause);
        if style.color {
            cause = cause.fg(severity_color(g.severity));
        }
        t.add_row(vec![
            cause,
            Cell::new(format!("{} {}", g.template, g.count())),
            Cell::new("grouped"),
            Cell::new(g.conflicts),
            Cell::new(""),
            Cell::new(span(day, g.start, g.end)),
            Cell::new(""),
            Cell::new(short_advice(g.advice)),
        ]);
    }
    // A narrower terminal first drops the scope (a template's placeholders show it),
    // then the confidence and the advice (each finding's section below gives it whole),
    // then the clients (the summary below counts them), for the names' sake.
    let columns = [
        Fit::Fixed,
        Fit::Name,
        Fit::Fixed,
        Fit::Fixed,
        Fit::Fixed,
        Fit::Times,
        Fit::Fixed,
        Fit::Rest(24),
    ];
    let shape = fit(
        &mut t,
        style,
        &columns,
        &[&[], &[2], &[2, 6, 7], &[2, 4, 6, 7]],
    );
    right(&mut t, &[3, 4, 6]);
    write_fitted(out, &t, shape, style)?;
    if let Some(note) = rows.note() {
        para(out, style, "", &note)?;
    }
    para(out, style, "", &r.explained())?;
    evidence(r, style, out)
}

/// The first findings' summaries, the log lines that prove them and their advice.
fn evidence(r: &Report, style: &Style, out: &mut dyn Write) -> io::Result<()> {
    for (k, f) in r.findings.iter().take(style.evidence_findings).enumerate() {
        heading(
            out,
            style,
            &format!(
                "#{} {} on {}",
                k + 1,
                f.cause,
                f.instance.as_deref().unwrap_or(&f.template)
            ),
        )?;
        para(out, style, "  ", &f.summary)?;
        for e in &f.evidence {
            let path = r
                .inputs
                .get(e.input as usize)
                .map_or("?", |i| i.path.as_str());
            let width = style.width.map(|w| w as usize);
            // `    PATH:LINE: TEXT`, the text folded under it on a terminal so that the
            // request and status show at 80 columns too; when the path leaves less than
            // 30 columns, the text starts on a line of its own (long input paths must not
            // overflow the terminal).
            let prefix = 4 + path.chars().count() + 1 + e.line.to_string().len() + 2;
            let (own_line, rows) = match width {
                None => (false, fold(&e.text, 240, 0, 1)),
                Some(w) if w >= prefix + 30 => (
                    false,
                    fold(&e.text, w - prefix, w - EVIDENCE_HANG, EVIDENCE_ROWS),
                ),
                Some(w) => {
                    let w = w.saturating_sub(EVIDENCE_HANG).max(20);
                    (true, fold(&e.text, w, w, EVIDENCE_ROWS))
                }
            };
            let hang = format!("\n{:EVIDENCE_HANG$}", "");
            let sep = if own_line { &hang } else { " " };
            let text = rows.join(&hang);
            if style.color {
                writeln!(out, "    \x1b[2m{path}:{}:\x1b[0m{sep}{text}", e.line)?;
            } else {
                writeln!(out, "    {path}:{}:{sep}{text}", e.line)?;
            }
        }
        // One arrow for the advice; its other lines hang under its first word.
        for line in wrap(&f.advice, style.width, "  → ", "    ") {
            writeln!(out, "{line}")?;
        }
    }
    if r.findings.len() > style.evidence_findings {
        writeln!(out)?;
        para(
            out,
            style,
            "  ",
            &if r.findings.len() <= LISTED_FINDINGS {
                format!(
                    "({} more findings: --output json or --output markdown shows the evidence of all)",
                    r.findings.len() - style.evidence_findings
                )
            } else {
                format!(
                    "({} more findings: --output markdown shows the evidence of the first {LISTED_FINDINGS}, --output json of all)",
                    r.findings.len() - style.evidence_findings
                )
            },
        )?;
    }
    Ok(())
}

/// The inputs, the period, the name positions learned, the totals and what the context
/// lines log.
fn overview(r: &Report, style: &Style, out: &mut dyn Write) -> io::Result<()> {
    heading(out, style, "Overview")?;
    let mut rows: Vec<(&str, String)> = Vec::new();
    for i in r.listed_inputs() {
        let counts = i.line_counts();
        rows.push((
            "input",
            format!("{} ({}, {} bytes): {counts}", i.path, i.format, i.bytes),
        ));
    }
    if let Some(rest) = r.unlisted_inputs() {
        rows.push(("inputs", rest));
    }
    if let Some(line) = r.not_read_inputs(str::to_string) {
        rows.push(("not read", line));
    }
    let period = match (&r.period.start, &r.period.end) {
        (Some(s), Some(e)) => format!("{} (UTC)", super::period(s, e)),
        _ => "no requests".into(),
    };
    rows.push(("period", period));
    if !r.name_positions.is_empty() {
        rows.push((
            "names",
            format!(
                "{} (more than {} distinct words there; --route to name it otherwise)",
                r.name_positions.join(", "),
                crate::names::MAX_LITERAL_CHILDREN
            ),
        ));
    }
    rows.push(("requests", r.request_counts()));
    rows.push((
        "conflicts",
        format!(
            "{} = {} of requests ({})",
            r.totals.conflicts,
            percent(r.totals.conflict_rate),
            super::statuses(&r.totals.by_status)
        ),
    ));
    if let Some(note) = r.context_note() {
        rows.push(("context", note));
    }
    // The values are broken here, where paths and lists part well, to the room the
    // labels and the borders leave.
    let labels = rows
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    let room = style.width.map(|w| (w as usize).saturating_sub(labels + 7));
    let mut t = table(style, &["", ""]);
    for (label, value) in rows {
        let value = match room {
            Some(room) if room >= 20 => phrase_lines(&value, room).join("\n"),
            _ => value,
        };
        t.add_row(vec![Cell::new(label), Cell::new(value)]);
    }
    writeln!(out, "{t}")?;
    Ok(())
}

/// The templates with the most conflicts.
fn top_resources(r: &Report, style: &Style, out: &mut dyn Write) -> io::Result<()> {
    if r.resources.is_empty() {
        return Ok(());
    }
    heading(out, style, "Top resources by conflicts")?;
    let mut t = table(
        style,
        &[
            "template",
            "requests",
            "writes",
            "conflicts",
            "rate",
            "clients",
            "instances",
            "top instance",
        ],
    );
    for x in &r.resources {
        t.add_row(vec![
            Cell::new(&x.template),
            Cell::new(x.requests),
            Cell::new(x.writes),
            Cell::new(x.conflicts),
            Cell::new(percent(x.conflict_rate)),
            Cell::new(x.clients),
            Cell::new(x.instances),
            Cell::new(&x.top_instance),
        ]);
    }
    let columns = [
        Fit::Name,
        Fit::Fixed,
        Fit::Fixed,
        Fit::Fixed,
        Fit::Fixed,
        Fit::Fixed,
        Fit::Fixed,
        Fit::Rest(20),
    ];
    // The top instance goes first, then the writes and the instance count.
    let shape = fit(&mut t, style, &columns, &[&[], &[7], &[7, 2, 6]]);
    right(&mut t, &[1, 2, 3, 4, 5, 6]);
    write_fitted(out, &t, shape, style)?;
    Ok(())
}

/// The instances with the most conflicts.
fn top_instances(r: &Report, style: &Style, out: &mut dyn Write) -> io::Result<()> {
    if r.instances.is_empty() {
        return Ok(());
    }
    let day = one_day((r.instances.iter()).map(|x| (&*x.first_conflict, &*x.last_conflict)));
    heading(out, style, &on_day("Top instances by conflicts", day))?;
    let mut t = table(
        style,
        &[
            "instance",
            "requests",
            "conflicts",
            "clients",
            "first → last conflict (UTC)",
        ],
    );
    for x in &r.instances {
        t.add_row(vec![
            Cell::new(&x.instance),
            Cell::new(x.requests),
            Cell::new(x.conflicts),
            Cell::new(x.clients),
            Cell::new(span(day, &x.first_conflict, &x.last_conflict)),
        ]);
    }
    let columns = [
        Fit::Name,
        Fit::Fixed,
        Fit::Fixed,
        Fit::Fixed,
        // The two times, one above the other when the row is narrow.
        Fit::Rest(21),
    ];
    let shape = fit(&mut t, style, &columns, &[&[], &[1]]);
    right(&mut t, &[1, 2, 3]);
    write_fitted(out, &t, shape, style)?;
    Ok(())
}

/// The clients with the most conflicts.
fn top_clients(r: &Report, style: &Style, out: &mut dyn Write) -> io::Result<()> {
    if r.clients.is_empty() {
        return Ok(());
    }
    heading(out, style, "Top clients by conflicts")?;
    let mut t = table(style, &super::CLIENT_COLUMNS);
    // One line per client: a browser's user agent wrapped would take three, and its
    // start says enough (the JSON report has it whole).
    t.set_truncation_indicator("…");
    for x in &r.clients {
        let mut row = comfy_table::Row::from(vec![
            Cell::new(&x.client),
            Cell::new(x.requests),
            Cell::new(x.conflicts),
            Cell::new(percent(x.conflict_rate)),
            Cell::new(x.templates),
            Cell::new(x.user_agents_text()),
        ]);
        row.max_height(1);
        t.add_row(row);
    }
    // A client is whole or the table is not: cut to its row's one line, an address or an
    // API key names another client (`108.154.13.2…`). Its rate goes before that.
    let columns = [
        Fit::Fixed,
        Fit::Fixed,
        Fit::Fixed,
        Fit::Fixed,
        Fit::Fixed,
        Fit::Rest(16),
    ];
    let shape = fit(&mut t, style, &columns, &[&[], &[5], &[4, 5], &[3, 4, 5]]);
    right(&mut t, &[1, 2, 3, 4]);
    write_fitted(out, &t, shape, style)?;
    Ok(())
}

/// The conflicts no cause explains, by instance, and the command that shows them.
fn unexplained(r: &Report, style: &Style, out: &mut dyn Write) -> io::Result<()> {
    if r.unexplained.is_empty() {
        return Ok(());
    }
    let day = one_day((r.unexplained.iter()).map(|u| (&*u.first_conflict, &*u.last_conflict)));
    heading(out, style, &on_day(&r.unexplained_heading(), day))?;
    let mut t = table(
        style,
        &[
            "instance",
            "conflicts",
            "handled",
            "statuses",
            "clients",
            "when (UTC)",
            "first line",
        ],
    );
    for u in &r.unexplained {
        t.add_row(vec![
            Cell::new(&u.instance),
            Cell::new(u.conflicts),
            Cell::new(u.handled),
            Cell::new(super::statuses(&u.by_status)),
            Cell::new(u.client_count),
            Cell::new(span(day, &u.first_conflict, &u.last_conflict)),
            Cell::new(u.lines.first().map(|e| r.place(e)).unwrap_or_default()),
        ]);
    }
    let columns = [
        Fit::Name,
        Fit::Fixed,
        Fit::Fixed,
        Fit::Fixed,
        Fit::Fixed,
        Fit::Rest(21),
        // A location (`PATH:LINE`) is whole or not shown: cut, it could not be copied.
        Fit::Fixed,
    ];
    let shape = fit(&mut t, style, &columns, &[&[], &[6], &[3, 6], &[2, 3, 6]]);
    right(&mut t, &[1, 2, 4]);
    write_fitted(out, &t, shape, style)?;
    let fits = |c: &String| style.width.is_none_or(|w| c.chars().count() <= w as usize);
    let cmd = (r.unexplained_command(false).filter(fits)).or(r.unexplained_command(true));
    if let Some(cmd) = cmd {
        para(out, style, "", &format!("{UNEXPLAINED_HINT} {cmd}"))?;
    }
    Ok(())
}

/// Requests and conflicts per window, with a bar for the conflicts; the windows' times only
/// when they all start on one day, which the heading names.
fn timeline(r: &Report, style: &Style, out: &mut dyn Write) -> io::Result<()> {
    if r.timeline.is_empty() {
        return Ok(());
    }
    let day = one_day(r.timeline.iter().map(|x| (&*x.start, &*x.start)));
    let title = format!(
        "Timeline ({} windows, UTC)",
        human_span(r.window_seconds * 1_000_000)
    );
    heading(out, style, &on_day(&title, day))?;
    let start = |t: &str| span(day, t, t);
    // Each window's start, its counts, and what its last column shows.
    enum Last {
        Bar(u64),
        Run(String),
    }
    let mut rows: Vec<(String, u64, u64, Last)> = Vec::new();
    for shown in super::shown_timeline(&r.timeline) {
        match shown {
            ShownWindow::Window(x) => {
                let bar = Last::Bar(x.conflicts);
                rows.push((start(&x.start), x.requests, x.conflicts, bar));
            }
            ShownWindow::Empty {
                first,
                last,
                windows,
            } => {
                let (first, last) = (start(first), start(last));
                // The last's date only when the run goes on past its first's day (kept with
                // its time where the text is wrapped: `phrase_lines`).
                let last = match (first.split_once(' '), last.split_once(' ')) {
                    (Some((day, _)), Some((last_day, clock))) if day == last_day => clock,
                    _ => &last,
                };
                let run = format!("({windows} empty windows, the last from {last})");
                rows.push((first, 0, 0, Last::Run(run)));
            }
        }
    }
    let mut starts: Vec<String> = rows.iter_mut().map(|r| std::mem::take(&mut r.0)).collect();
    // Windows on several days: a start's date where the day changes, the times lined up.
    if day.is_none() {
        super::dates_where_they_change(&mut starts);
    }
    // The room the other columns leave the last (four columns, each padded a space either
    // side, between five borders): bars are scaled to it and a run's text is broken there
    // between its phrases, not where comfy-table would (at the last space that fits).
    let room = style.width.map(|w| {
        let widest = |texts: &mut dyn Iterator<Item = usize>| texts.max().unwrap_or(0);
        let start = widest(&mut starts.iter().map(|s| s.chars().count()));
        let requests = widest(&mut rows.iter().map(|r| r.1.to_string().len()));
        let conflicts = widest(&mut rows.iter().map(|r| r.2.to_string().len()));
        let others = start.max("window start".len())
            + requests.max("requests".len())
            + conflicts.max("conflicts".len());
        usize::from(w).saturating_sub(others + 4 * 2 + 5)
    });
    let max = rows.iter().map(|r| r.2).max().unwrap_or(0).max(1);
    let bar_width = room.map_or(30, |room| room.clamp(10, 30));
    let mut rows: Vec<Vec<Cell>> = (rows.into_iter())
        .map(|(_, requests, conflicts, last)| {
            let last = match last {
                Last::Bar(n) => {
                    let n = ((n as f64 / max as f64) * bar_width as f64).ceil() as usize;
                    let bar = Cell::new("█".repeat(n));
                    if style.color { bar.fg(Color::Red) } else { bar }
                }
                Last::Run(run) => {
                    // Too little room to break well: comfy-table wraps it.
                    let room = room.filter(|&r| r >= 20).unwrap_or(usize::MAX);
                    Cell::new(phrase_lines(&run, room).join("\n"))
                }
            };
            vec![Cell::new(requests), Cell::new(conflicts), last]
        })
        .collect();
    // Without a conflict or a run of empty windows the last column would be blank.
    let blank = rows.iter().all(|row| row[2].content().is_empty());
    let columns = ["window start", "requests", "conflicts", ""];
    let mut t = table(style, &columns[..if blank { 3 } else { 4 }]);
    for (start, row) in starts.into_iter().zip(&mut rows) {
        if blank {
            row.pop();
        }
        t.add_row(std::iter::once(Cell::new(start)).chain(row.drain(..)));
    }
    if day.is_none() {
        right(&mut t, &[0]);
    }
    right(&mut t, &[1, 2]);
    writeln!(out, "{t}")?;
    Ok(())
}

/// The lines skipped, by input and reason, with examples.
fn skipped_lines(r: &Report, style: &Style, out: &mut dyn Write) -> io::Result<()> {
    let skipped: u64 = r.inputs.iter().map(|i| i.skipped).sum();
    if skipped == 0 {
        return Ok(());
    }
    let unlisted = r.unlisted_skips();
    let mut with_skips = r.listed_inputs().iter().filter(|i| i.skipped > 0);
    // Lines skipped in one input: the heading names it, and its rows leave the room to the
    // examples; several: each input's name on its first row.
    let one = match (with_skips.next(), with_skips.next()) {
        (Some(i), None) if unlisted.is_empty() => Some(&i.path),
        _ => None,
    };
    match one {
        Some(path) => heading(out, style, &format!("Skipped lines in {path}"))?,
        None => heading(out, style, "Skipped lines")?,
    }
    let columns = ["input", "reason", "lines", "examples (line: text)"];
    let named = usize::from(one.is_some());
    let mut t = table(style, &columns[named..]);
    let text =
        |e: &crate::report::SkipExampleReport| -> String { e.text.chars().take(100).collect() };
    for i in r.listed_inputs() {
        for (k, (reason, n)) in i.skip_reasons.iter().enumerate() {
            let ex: Vec<String> = i
                .skip_examples
                .iter()
                .filter(|e| &e.reason == reason)
                .map(|e| format!("{}: {}", e.line, text(e)))
                .collect();
            let input = if k == 0 { &*i.path } else { "" };
            let row = [
                Cell::new(input),
                Cell::new(reason),
                Cell::new(n),
                Cell::new(ex.join("\n")),
            ];
            t.add_row(row.into_iter().skip(named));
        }
    }
    for u in unlisted {
        let ex = u.example.map_or(String::new(), |(path, e)| {
            format!("{path}:{}: {}", e.line, text(e))
        });
        t.add_row(vec![
            Cell::new(counted(u.inputs as u64, "more input", "more inputs")),
            Cell::new(u.reason),
            Cell::new(u.lines),
            Cell::new(ex),
        ]);
    }
    let fits = [Fit::Rest(24), Fit::Fixed, Fit::Fixed, Fit::Rest(24)];
    let shape = fit(&mut t, style, &fits[named..], &[&[]]);
    // The examples are what is read here: a path wraps to a third of the room rather
    // than leave them a few words a row.
    if let (Some(width), None) = (style.width.map(usize::from), one) {
        let content = content_widths(&t);
        // Less the reason, the count and the borders.
        let left = width.saturating_sub(content[1] + content[2] + content.len() + 1);
        let input = content[0].min((left.saturating_sub(content[3])).max(left / 3));
        if input >= 12 {
            set(
                &mut t,
                0,
                ColumnConstraint::Absolute(Width::Fixed(input as u16)),
            );
        }
    }
    right(&mut t, &[2 - named]);
    write_fitted(out, &t, shape, style)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table of a long name, a count and prose, fitted to `width` with the prose dropped
    /// first; its lines.
    fn fitted(width: u16) -> Vec<String> {
        let style = Style {
            width: Some(width),
            ..Style::default()
        };
        let mut t = table(&style, &["instance", "conflicts", "advice"]);
        let prose = "re-read the resource before each new attempt, with jittered backoff";
        t.add_row(vec!["/api/v1/docs/b7e2d9c4-1f3a-4e6b", "1234567", prose]);
        t.add_row(vec!["/api/v1/orders/9310442", "40", prose]);
        let _ = fit(
            &mut t,
            &style,
            &[Fit::Name, Fit::Fixed, Fit::Rest(24)],
            &[&[], &[2]],
        );
        t.to_string().lines().map(str::to_string).collect()
    }

    /// A column of times and one of clients, nine of them addresses of 13 characters and
    /// `long` of 36, fitted to `width`; its lines.
    fn times_and_clients(width: u16, long: usize) -> Vec<String> {
        let style = Style {
            width: Some(width),
            ..Style::default()
        };
        let mut t = table(&style, &["start (UTC)", "client", "status"]);
        for k in 0..10 {
            let client = if k < long {
                format!("2001:db8:85a3:8d3:1319:8a2e:370:73{k:02}")
            } else {
                format!("203.0.113.{}", 100 + k)
            };
            t.add_row(vec![
                format!("2026-03-02 09:00:0{k}.864"),
                client,
                "409".into(),
            ]);
        }
        let _ = fit(&mut t, &style, &[Fit::Times, Fit::Name, Fit::Fixed], &[&[]]);
        t.to_string().lines().map(str::to_string).collect()
    }

    /// Times stay whole when that leaves nine names in ten whole: one long address is cut
    /// rather than every row's time parted; with more, the times part.
    #[test]
    fn times_part_only_for_most_names() {
        let lines = times_and_clients(52, 1);
        let text = lines.join("\n");
        assert!(lines.iter().all(|l| l.chars().count() <= 52), "{text}");
        assert!(
            text.contains("│ 2026-03-02 09:00:09.864 ┆ 203.0.113.109 "),
            "{text}"
        );
        assert_eq!(lines.len(), 3 + 9 + 3 + 1, "{text}");
        let lines = times_and_clients(52, 2);
        let text = lines.join("\n");
        assert!(!text.contains("2026-03-02 09:00"), "{text}");
        assert!(text.contains("│ 2026-03-02   ┆ 203.0.113.109 "), "{text}");
        assert_eq!(lines.len(), 3 + 20 + 1, "{text}");
    }

    /// A table of three columns with `rows`, fitted to `width` as `columns` say.
    fn three_columns(
        width: u16,
        header: [&str; 3],
        rows: impl Iterator<Item = [String; 3]>,
        columns: [Fit; 3],
    ) -> String {
        let style = Style {
            width: Some(width),
            ..Style::default()
        };
        let mut t = table(&style, &header);
        for row in rows {
            t.add_row(row.to_vec());
        }
        let _ = fit(&mut t, &style, &columns, &[&[]]);
        t.to_string()
    }

    /// Whole times cutting every name that parted times keep whole part, though the names
    /// keep `NAME_MIN`; with room for both, they stay whole.
    #[test]
    fn times_part_rather_than_cut_every_name() {
        let lines = |width: u16| {
            let rows = (0..10).map(|k| {
                [
                    format!("09:00:0{k} → 09:10:0{k}"),
                    format!("/api/v1/orders/{{id}}/cancel/{k}"),
                    "409".into(),
                ]
            });
            let header = ["when", "instance", "n"];
            three_columns(width, header, rows, [Fit::Times, Fit::Name, Fit::Fixed])
        };
        let text = lines(56);
        assert!(
            text.contains("│ 09:00:03 → ┆ /api/v1/orders/{id}/cancel/3 ┆"),
            "{text}"
        );
        assert!(text.contains("│ 09:10:03   ┆"), "{text}");
        let text = lines(60);
        assert!(
            text.contains("│ 09:00:03 → 09:10:03 ┆ /api/v1/orders/{id}/cancel/3 ┆"),
            "{text}"
        );
    }

    /// Whole times that squeeze the prose beside them into more lines than parted times
    /// take part; with room for the prose on one line, they stay whole.
    #[test]
    fn times_part_rather_than_make_the_table_taller() {
        let lines = |width: u16| {
            let advice = "Re-read the resource before each new attempt and back off with \
                          jitter, bounded, and take the new version from the response of the \
                          write that won";
            let rows = (0..4).map(|k| {
                [
                    format!("2026-03-02 09:00:0{k} → 2026-03-03 10:00:0{k}"),
                    format!("/a/{k}"),
                    advice.into(),
                ]
            });
            let header = ["when", "instance", "advice"];
            three_columns(width, header, rows, [Fit::Times, Fit::Name, Fit::Rest(24)])
        };
        let text = lines(100);
        assert!(text.contains("│ 2026-03-02 09:00:01 → ┆ /a/1 "), "{text}");
        assert!(text.contains("│ 2026-03-03 10:00:01   ┆ "), "{text}");
        assert_eq!(text.lines().count(), 3 + 4 * 3 + 1, "{text}");
        let text = lines(160);
        assert!(
            text.contains("│ 2026-03-02 09:00:01 → 2026-03-03 10:00:01 ┆ /a/1 "),
            "{text}"
        );
        assert_eq!(text.lines().count(), 3 + 4 * 2 + 1, "{text}");
    }

    /// A cell's lines as comfy-table wraps it: between words, a word wider than the column
    /// cut.
    #[test]
    fn wrapped_lines_count_as_words_wrap() {
        for (text, width, lines) in [
            ("", 10, 1),
            ("one two three", 13, 1),
            ("one two three", 12, 2),
            ("one two three", 3, 4),
            ("one two six", 3, 3),
            ("abcdefghij", 4, 3),
            ("ab abcdefghij", 4, 4),
            ("a", 0, 1),
        ] {
            assert_eq!(wrapped_lines(text, width), lines, "{text:?} at {width}");
        }
    }

    /// A logged line folds at a space near a row's end, else where the row ends, and is
    /// cut with `…` past its last row; a short one is one row.
    #[test]
    fn logged_lines_fold_into_rows_and_are_cut_past_the_last() {
        let line = r#"203.0.113.20 - - [02/Mar/2026:09:06:05 +0000] "PUT /api/v1/inventory/94017 HTTP/1.1" 409 196 "-" "StorePOS/5.1.4""#;
        assert_eq!(
            fold(line, 44, 74, 3),
            [
                "203.0.113.20 - - [02/Mar/2026:09:06:05",
                "+0000] \"PUT /api/v1/inventory/94017 HTTP/1.1\" 409 196 \"-\" \"StorePOS/5.1.4\""
            ]
        );
        assert_eq!(
            fold(line, 44, 50, 3),
            [
                "203.0.113.20 - - [02/Mar/2026:09:06:05",
                "+0000] \"PUT /api/v1/inventory/94017 HTTP/1.1\" 409",
                "196 \"-\" \"StorePOS/5.1.4\""
            ]
        );
        // Only the spaces at the breaks are left out.
        assert_eq!(fold(line, 44, 50, 3).join(" "), line);
        // A space just past the row ends it as well.
        assert_eq!(
            fold(line, 45, 74, 2)[0],
            "203.0.113.20 - - [02/Mar/2026:09:06:05 +0000]"
        );
        assert_eq!(
            fold(line, 30, 30, 2),
            [
                "203.0.113.20 - - [02/Mar/2026:",
                "09:06:05 +0000] \"PUT /api/v1/…"
            ]
        );
        // No space in a row's last quarter: cut where the row ends.
        assert_eq!(fold("abcdefghij", 4, 4, 3), ["abcd", "efgh", "ij"]);
        assert_eq!(fold("abcd efgh", 4, 4, 3), ["abcd", "efgh"]);
        assert_eq!(fold("abcdefghijk", 4, 4, 2), ["abcd", "efg…"]);
        assert_eq!(fold("short", 40, 40, 3), ["short"]);
        assert_eq!(fold("", 40, 40, 3), Vec::<String>::new());
        assert_eq!(fold(line, 240, 0, 1), [line]);
    }

    /// A cell's value breaks between a list's phrases where one fits on the next line,
    /// and a path wider than the line after a `/`.
    #[test]
    fn cell_values_break_between_phrases_and_after_slashes() {
        let input = "fixtures/demo/access.log (combined, 709836 bytes): 3806 lines, 3806 \
                     parsed, 0 skipped";
        assert_eq!(
            phrase_lines(input, 80),
            [
                "fixtures/demo/access.log (combined, 709836 bytes): 3806 lines, 3806 parsed,",
                "0 skipped"
            ]
        );
        let path = "../shared/realdata/apache/elastic-examples-apache_logs.subset.log \
                    (combined, 88838 bytes)";
        assert_eq!(
            phrase_lines(path, 40),
            [
                "../shared/realdata/apache/",
                "elastic-examples-apache_logs.subset.log",
                "(combined, 88838 bytes)"
            ]
        );
        // A word without a slash is cut at the width; a phrase wider than a line breaks
        // at its spaces.
        assert_eq!(
            phrase_lines("abcdefghij klm", 4),
            ["abcd", "efgh", "ij", "klm"]
        );
        assert_eq!(
            phrase_lines("one two three four five six, seven", 12),
            ["one two", "three four", "five six,", "seven"]
        );
        // The end of a phrase broken over lines is not left alone: the next phrase fills
        // its line.
        assert_eq!(
            phrase_lines(
                "Give locks short leases that expire, release them in a finally block…",
                32
            ),
            [
                "Give locks short leases that",
                "expire, release them in a",
                "finally block…"
            ]
        );
        // A list's phrase still moves whole after one that fits.
        assert_eq!(
            phrase_lines("nginx 1, combined 2, apigw-json 3", 24),
            ["nginx 1, combined 2,", "apigw-json 3"]
        );
        assert_eq!(phrase_lines("", 10), [""]);
        // A date stays with its time, an arrow with the time before it.
        assert_eq!(
            phrase_lines("2026-03-02 09:00:00 → 2026-03-02 09:59:58 (UTC)", 34),
            ["2026-03-02 09:00:00 →", "2026-03-02 09:59:58 (UTC)"]
        );
        assert_eq!(
            phrase_lines("the last from 2026-03-03 09:00:00)", 20),
            ["the last from", "2026-03-03 09:00:00)"]
        );
        // Words joined by a no-break space stay together, written with a space; wider
        // than a line together, they part at their spaces.
        assert_eq!(
            phrase_lines("the last from 2026-03-03\u{a0}09:00:00)", 20),
            ["the last from", "2026-03-03 09:00:00)"]
        );
        assert_eq!(
            phrase_lines("2026-03-02 09:00:00 →", 12),
            ["2026-03-02", "09:00:00 →"]
        );
    }

    /// A name wider than its line is cut after a `/`, or after a `-`, `_`, `.` or `:` where
    /// that takes fewer lines; mid-word only where it has none of them.
    #[test]
    fn names_are_cut_between_their_parts() {
        let uuid = "/api/v1/docs/b7e2d9c4-1f3a-4e6b-8c5d-9a0f1e2d3c4b";
        assert_eq!(
            phrase_lines(uuid, 43),
            ["/api/v1/docs/", "b7e2d9c4-1f3a-4e6b-8c5d-9a0f1e2d3c4b"]
        );
        assert_eq!(
            phrase_lines(uuid, 27),
            ["/api/v1/docs/b7e2d9c4-1f3a-", "4e6b-8c5d-9a0f1e2d3c4b"]
        );
        assert_eq!(
            phrase_lines("/work/main/fixtures/demo/access.log", 18),
            ["/work/main/", "fixtures/demo/", "access.log"]
        );
        assert_eq!(
            phrase_lines("/api/v1/orders/{id}/cancel", 24),
            ["/api/v1/orders/{id}/", "cancel"]
        );
        assert_eq!(
            phrase_lines("2001:4860:1db9:a080:4f95:ec2:b172:dac3", 20),
            ["2001:4860:1db9:a080:", "4f95:ec2:b172:dac3"]
        );
        assert_eq!(phrase_lines("/verylongname", 5), ["/very", "longn", "ame"]);
    }

    proptest::proptest! {
        /// Every line fits, and the lines hold the text's every character but the spaces
        /// they were broken at.
        #[test]
        fn cell_values_fit_and_keep_their_text(
            text in "[a-z0-9/,é:._-]{0,200}|[a-z0-9/,é ]{0,200}",
            width in 1usize..60,
        ) {
            let lines = phrase_lines(&text, width);
            for line in &lines {
                proptest::prop_assert!(line.chars().count() <= width, "{lines:?}");
            }
            proptest::prop_assert_eq!(lines.concat().replace(' ', ""), text.replace(' ', ""));
        }
    }

    #[test]
    fn text_wraps_at_words_within_the_width() {
        let heading = "#3 hot_spot_edit on /api/v1/inventory/94017";
        assert_eq!(
            wrap(heading, Some(40), "", "   "),
            ["#3 hot_spot_edit on", "   /api/v1/inventory/94017"]
        );
        assert_eq!(wrap(heading, None, "", "   "), [heading]);
        // A paragraph keeps its indent on every line; a word longer than a line stands
        // alone; at least 20 columns are left beside the indent.
        let text = "re-read the resource before each attempt /a/very/long/path/that/cannot/break";
        assert!(
            wrap(text, Some(5), "    ", "    ")
                .iter()
                .all(|l| l.chars().count() <= 24 || !l.trim().contains(' '))
        );
        // A date stays with its time.
        let dated = "First attempt at 2026-03-02 09:24:11. It happened 2 times";
        for (text, width, lines) in [
            (
                text,
                30,
                &[
                    "  re-read the resource before",
                    "  each attempt",
                    "  /a/very/long/path/that/cannot/break",
                ][..],
            ),
            (
                dated,
                34,
                &[
                    "  First attempt at",
                    "  2026-03-02 09:24:11. It happened",
                    "  2 times",
                ],
            ),
        ] {
            assert_eq!(wrap(text, Some(width), "  ", "  "), lines);
        }
    }

    /// A paragraph's last phrase is never broken: whole on the line when it fits, on the
    /// next line otherwise, alone (and wider) when nothing holds it.
    #[test]
    fn a_last_phrase_stays_whole() {
        let para = |width: u16| {
            let style = Style {
                width: Some(width),
                ..Style::default()
            };
            let mut out = Vec::new();
            para_ending(
                &mut out,
                &style,
                "",
                "/a (/a): 2 requests;",
                "all on 2026-03-02 (UTC)",
            )
            .unwrap();
            String::from_utf8(out).unwrap()
        };
        let one = "/a (/a): 2 requests; all on 2026-03-02 (UTC)\n";
        assert_eq!(para(80), one);
        assert_eq!(para(44), one);
        assert_eq!(para(43), "/a (/a): 2 requests;\nall on 2026-03-02 (UTC)\n");
        assert_eq!(para(20), "/a (/a): 2 requests;\nall on 2026-03-02 (UTC)\n");
    }

    #[test]
    fn names_and_numbers_stay_whole_and_prose_goes_first() {
        for width in [100, 72] {
            let lines = fitted(width);
            let text = lines.join("\n");
            assert!(lines.iter().all(|l| l.chars().count() <= width as usize));
            assert!(
                text.contains("│ /api/v1/docs/b7e2d9c4-1f3a-4e6b ┆"),
                "{text}"
            );
            assert!(
                text.contains("┆ conflicts ┆") && text.contains("┆ 1234567   ┆"),
                "{text}"
            );
            assert!(text.contains("advice"), "{text}");
        }
        // No room for the prose's minimum beside the name: the prose is dropped.
        let text = fitted(60).join("\n");
        assert!(!text.contains("advice"), "{text}");
        assert!(
            text.contains("│ /api/v1/docs/b7e2d9c4-1f3a-4e6b ┆"),
            "{text}"
        );
        // Narrower still: everything is shared out, and nothing is wider than asked.
        assert!(fitted(30).iter().all(|l| l.chars().count() <= 30));
    }
}
