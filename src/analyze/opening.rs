//! The inputs opened and their formats picked: those dated outside the range by name or
//! modification time left unread, each input's format named by the flags or detected from
//! its first lines, and why an input no format reads is skipped.

use super::other_text::{self, Told};
use super::{Settings, Source, printable};
use crate::aggregate::Accounting;
use crate::file_period::{self, FilePeriod};
use crate::format::{self, Format};
use crate::input::{self, Input};
use crate::progress::Stage;
use crate::record::{Micros, Skip};
use crate::seek;
use anyhow::{Result, bail};
use rayon::prelude::*;
use std::path::PathBuf;

/// The inputs named on the command line, with the files of the directories among them, and
/// which of them are left unread for their dates.
pub(super) struct Listed {
    /// Each path, and whether it was named (not found in a directory).
    paths: Vec<(PathBuf, bool)>,
    /// With a time range, when inputs are sorted out by date: those left unread.
    dated_out: Option<UnreadByDate>,
}

impl Listed {
    /// Lists the inputs, leaving unread those dated outside the range (by their names or last
    /// modification, `file_period`) when `by_date`. With --last, the range is not known
    /// before the latest line is read: those dated more than its span (and the leeway) before
    /// the latest-dated input's last line (`last_line_from`) are left unread, and that is
    /// checked once the range is known (`unread_may_hold`).
    pub(super) fn new(
        settings: &Settings,
        by_date: bool,
        warnings: &mut Vec<String>,
    ) -> Result<Listed> {
        let (mut paths, notes) = input::expand(&settings.paths, settings.recursive)?;
        warnings.extend(notes);
        warnings.extend(input::drop_repeats(&mut paths));
        let dated_out = (by_date && settings.has_range()).then(|| {
            let periods: Vec<Option<FilePeriod>> = (paths.par_iter())
                // `-` is stdin, whatever a file of that name says.
                .map(|(path, _)| (path.as_os_str() != "-").then(|| file_period::of(path))?)
                .collect();
            let mut unread = UnreadByDate::new(settings);
            let read = unread.sort_out(
                &periods,
                |i| paths[i].0.display().to_string(),
                |i| input::archive_name(&paths[i].0),
            );
            let mut read = read.into_iter();
            paths.retain(|_| read.next().unwrap_or(true));
            unread
        });
        Ok(Listed { paths, dated_out })
    }

    /// Opens the inputs listed and picks their formats (`forced`, else detected). Opened side
    /// by side: compressed inputs (rotated `.gz` logs) are decoded while opened, one core
    /// each; results are taken in the given order, so errors and warnings are too. Tar and
    /// zip archives are read as the files they hold, each an input as a directory's are,
    /// those dated outside the range left unread as they are listed.
    pub(super) fn open<'f>(
        &mut self,
        settings: &Settings,
        forced: Option<&'f dyn Format>,
        registry: &'f [Box<dyn Format>],
        warnings: &mut Vec<String>,
    ) -> Result<Picked<'f>> {
        let paths = &self.paths;
        if let Some(p) = &settings.progress {
            let sizes = paths.iter().filter_map(|(path, _)| input::file_size(path));
            p.start(Stage::Opening, sizes.sum());
        }
        let spools = input::Spools::for_inputs(paths.iter().map(|(path, _)| path.as_path()));
        // With a time range, a log in time order is read only where the range lies (`seek`).
        let whole = !(settings.seek && settings.has_range());
        let progress = settings.progress.as_ref();
        let inputs: Vec<Result<Input>> = paths
            .par_iter()
            .map(|(path, explicit)| input::open(path, *explicit, progress, &spools, whole))
            .collect();
        let inputs = spools.seal(inputs);
        let inputs: Vec<input::Opened> = (paths.iter().zip(inputs))
            .map(|((path, explicit), inp)| (path.display().to_string(), *explicit, inp))
            .collect();
        let dated_out = &mut self.dated_out;
        let mut members_by_date = |periods: &[Option<FilePeriod>], names: &[&str]| {
            let archive = |i: usize| input::archive_name(std::path::Path::new(names[i]));
            (dated_out.as_mut())
                .map(|unread| unread.sort_out(periods, |i| names[i].to_string(), archive))
        };
        let inputs = input::unpack(inputs, warnings, &mut members_by_date, progress);
        pick_formats(inputs, forced, registry, warnings)
    }

    /// No input was listed.
    pub(super) fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// Some input (or file in an archive) was left unread for its date.
    pub(super) fn any_unread(&self) -> bool {
        (self.dated_out.as_ref()).is_some_and(|u| !u.unread.is_empty())
    }

    /// Whether an input left unread may hold a line of `since..until` after all (--last's
    /// range, known once the latest line is read).
    pub(super) fn unread_may_hold(&self, since: Option<Micros>, until: Option<Micros>) -> bool {
        (self.dated_out.as_ref()).is_some_and(|u| u.any_may_hold(since, until))
    }

    /// The warning that says how many inputs were left unread, outside the range --last
    /// gives (`last`) or --since/--until.
    pub(super) fn unread_warning(&self, last: bool) -> Option<String> {
        let outside = match last {
            true => "before the range --last gives",
            false => "outside --since/--until",
        };
        self.dated_out.as_ref()?.warning(outside)
    }

    /// The inputs left unread for their dates.
    pub(super) fn unread_paths(&self) -> Vec<String> {
        self.dated_out.as_ref().map_or_else(Vec::new, |u| u.paths())
    }
}

/// A file found in a directory that no format reads.
struct NotALog {
    name: String,
    warning: String,
    /// What files of its kind are, where several are named in one warning (`Told::many`).
    many: Option<&'static str>,
}

/// The warnings of files found in directories that no format reads: those of a kind told
/// apart (`other_text`) named in one line a kind when there are several (the error log
/// and its rotations beside the access logs); the others each in full when they are few,
/// past `NOT_LOGS_IN_FULL` the first ones in full and the rest named in one line (`why409
/// -r` on a tree of logs and notes, manifests, checksums would otherwise say the formats
/// it tried once a file).
fn not_logs_warnings(all: Vec<NotALog>) -> Vec<String> {
    const NOT_LOGS_IN_FULL: usize = 5;
    let mut kinds: Vec<(&str, Vec<NotALog>)> = Vec::new();
    let mut not_logs: Vec<NotALog> = Vec::new();
    for n in all {
        match n.many {
            Some(k) => match kinds.iter_mut().find(|(kind, _)| *kind == k) {
                Some((_, files)) => files.push(n),
                None => kinds.push((k, vec![n])),
            },
            None => not_logs.push(n),
        }
    }
    let mut out = Vec::new();
    for (kind, files) in kinds {
        match files.len() {
            1 => out.extend(files.into_iter().map(|n| n.warning)),
            n => {
                let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
                out.push(format!("skipped {n} {kind}: {}", names.join(", ")));
            }
        }
    }
    if not_logs.len() <= NOT_LOGS_IN_FULL {
        out.extend(not_logs.into_iter().map(|n| n.warning));
        return out;
    }
    let shown = NOT_LOGS_IN_FULL - 2;
    let names: Vec<&str> = not_logs[shown..].iter().map(|n| n.name.as_str()).collect();
    out.extend(not_logs[..shown].iter().map(|n| n.warning.clone()));
    out.push(format!(
        "skipped {} more files that are not a log format why409 reads: {}",
        names.len(),
        names.join(", ")
    ));
    out
}

/// The inputs left unread because their names or modification times date them outside the
/// range (`file_period`), with a file's period widened by `seek::LEEWAY` either side, as
/// `seek` allows inside a file: each one's name and period. Files inside archives are sorted
/// out as they are listed (`input::unpack`), after the files named or found in directories.
struct UnreadByDate {
    unread: Vec<(String, FilePeriod)>,
    since: Option<Micros>,
    until: Option<Micros>,
    /// --last's span, counted back from `latest`: the latest time an input dated so far is
    /// likely to have its last line from (`FilePeriod::last_line_from`).
    last: Option<Micros>,
    latest: Option<Micros>,
}

impl UnreadByDate {
    fn new(settings: &Settings) -> Self {
        UnreadByDate {
            unread: Vec::new(),
            since: settings.since,
            until: settings.until,
            last: settings.last,
            latest: None,
        }
    }

    /// Of inputs with these `periods` (`None` where nothing dates one), which to read: those
    /// that may hold a line of the range. The others are noted, by their `name`. An
    /// `archive`'s time is when it was made, not a line's: it dates the archive, but does not
    /// say where --last counts back from (its files do, as they are listed).
    fn sort_out(
        &mut self,
        periods: &[Option<FilePeriod>],
        name: impl Fn(usize) -> String,
        archive: impl Fn(usize) -> bool,
    ) -> Vec<bool> {
        let latest = (periods.iter().enumerate())
            .filter_map(|(i, p)| p.filter(|_| !archive(i)))
            .map(|p| p.last_line_from())
            .max();
        self.latest = self.latest.max(latest);
        let since = self.since.or_else(|| {
            (self.last.zip(self.latest)).map(|(span, latest)| latest - seek::LEEWAY - span)
        });
        (periods.iter().enumerate())
            .map(|(i, p)| match p {
                Some(p) if !p.may_hold(since, self.until, seek::LEEWAY) => {
                    self.unread.push((name(i), *p));
                    false
                }
                _ => true,
            })
            .collect()
    }

    /// Whether one of them may hold a line of `since..until` after all.
    fn any_may_hold(&self, since: Option<Micros>, until: Option<Micros>) -> bool {
        (self.unread.iter()).any(|(_, p)| p.may_hold(since, until, seek::LEEWAY))
    }

    fn paths(&self) -> Vec<String> {
        self.unread.iter().map(|(name, _)| name.clone()).collect()
    }

    /// The warning that says how many were not read and names the first of them.
    fn warning(&self, outside: &str) -> Option<String> {
        let n = self.unread.len();
        (n > 0).then(|| {
            format!(
                "not read: {n} {} dated (by name or last modification) {outside} (an hour either side allowed; --no-seek reads them): {}",
                if n == 1 { "file" } else { "files" },
                first_and_more(&self.paths(), 2)
            )
        })
    }
}

/// `names` for a sentence: all of them when they are `shown` at most, else the first `shown`
/// and how many more (`a.log, b.log and 36 more`).
pub fn first_and_more(names: &[String], shown: usize) -> String {
    match names.len().checked_sub(shown) {
        None | Some(0) => names.join(", "),
        Some(more) => format!("{} and {more} more", names[..shown].join(", ")),
    }
}

/// The format named by the flags (`--log-format`, `--field`, `--format`), if any; `None`
/// detects each input's.
pub(super) fn forced_format(settings: &Settings) -> Result<Option<Box<dyn Format>>> {
    Ok(match &settings.format {
        _ if settings.log_format.is_some() => {
            let spec = settings.log_format.as_deref().unwrap_or_default();
            let compiled = match format::apache_custom::is_apache(spec) {
                true => format::apache_custom::compile(spec),
                false => format::nginx_custom::compile(spec),
            };
            Some(compiled.map_err(|e| anyhow::anyhow!(e))?)
        }
        _ if settings.field_map.is_some() => Some(Box::new(
            format::json_fields::JsonFields::parse(
                settings.field_map.as_deref().unwrap_or_default(),
            )
            .map_err(|e| anyhow::anyhow!(e))?,
        )),
        Some(name) => Some(format::by_name(name).ok_or_else(|| {
            anyhow::anyhow!(
                "unknown format '{name}' (known: {})",
                format::names().join(", ")
            )
        })?),
        None => None,
    })
}

/// The inputs opened, each with its format, and those with nothing but blank lines.
pub(super) struct Picked<'f> {
    pub opened: Vec<(Input, &'f dyn Format)>,
    /// Empty inputs (no byte but spaces and line ends) are reported, their blank lines
    /// counted as skipped, but have no format and no chunks.
    pub empties: Vec<Input>,
}

/// Each input's format (`forced`, else detected among `registry`'s): inputs that failed to
/// open, or that no format reads, are warnings when found in a directory and errors when
/// named.
fn pick_formats<'f>(
    inputs: Vec<input::Opened>,
    forced: Option<&'f dyn Format>,
    registry: &'f [Box<dyn Format>],
    warnings: &mut Vec<String>,
) -> Result<Picked<'f>> {
    let detected = detect_formats(&inputs, forced, registry);
    let mut opened: Vec<(Input, &dyn Format)> = Vec::new();
    let mut empties: Vec<Input> = Vec::new();
    // Files found in directories that no format reads, as their warnings (grouped below).
    let mut not_logs: Vec<NotALog> = Vec::new();
    for ((name, explicit, inp), (blank, detected)) in inputs.into_iter().zip(detected) {
        let inp = match inp {
            Ok(i) => i,
            Err(e) if !explicit => {
                warnings.push(skipped(&name, &e));
                continue;
            }
            Err(e) => return Err(e),
        };
        if let Some(damage) = &inp.damage {
            warnings.push(format!("{}: {damage}", inp.name));
        }
        // The error of a named input ends the run, its damage warning unseen: a text cut
        // short may be too short to tell, so the error says where it stops.
        let damaged = |msg: String| input::Damage::explaining(inp.damage.as_ref(), msg);
        if let Some(what) = input::not_a_log(inp.bytes()) {
            let msg = format!("{}: {what}", inp.name);
            if inp.explicit {
                bail!(damaged(msg));
            }
            not_logs.push(NotALog {
                name: inp.name.clone(),
                warning: format!("skipped {msg}"),
                many: None,
            });
            continue;
        }
        if blank {
            // Blank lines are counted as skipped; the file is not called empty for them.
            let what = match inp.bytes().is_empty() {
                true => "empty",
                false => "only blank lines",
            };
            warnings.push(format!("{}: {what}, nothing to analyse", inp.name));
            empties.push(inp);
            continue;
        }
        let fmt: &dyn Format = match forced {
            Some(f) => f,
            None => match detected {
                Some(f) => f,
                None => {
                    let (msg, many) = no_format(&inp);
                    if inp.explicit {
                        bail!(damaged(msg));
                    }
                    not_logs.push(NotALog {
                        name: inp.name.clone(),
                        warning: format!("skipped {msg}"),
                        many,
                    });
                    continue;
                }
            },
        };
        opened.push((inp, fmt));
    }
    warnings.extend(not_logs_warnings(not_logs));
    Ok(Picked { opened, empties })
}

/// Each input's format, found side by side as the inputs were opened (a day of
/// S3-delivered ALB logs is thousands of small inputs), the format found for one asked first
/// for the next (`format::Guess`): `None` where the input failed, is blank, or no format
/// reads it (`pick_formats` tells which, in order). And whether it is blank, found once (a
/// GiB of blank lines is walked in 0.16 s).
fn detect_formats<'f>(
    inputs: &[input::Opened],
    forced: Option<&'f dyn Format>,
    registry: &'f [Box<dyn Format>],
) -> Vec<(bool, Option<&'f dyn Format>)> {
    let guess = format::Guess::default();
    let sampled = |inp: &Input| -> Option<&dyn Format> {
        let head = input::head_lines(inp.bytes(), format::DETECT_SAMPLE_LINES);
        format::detect(registry, &head, &guess).or_else(|| {
            // A log may open with lines of something else (a banner, a pasted stack
            // trace): a sample from its middle decides then, and the lines the format
            // does not read are counted as skipped.
            let middle = inp.bytes().len() / 2;
            let sample = input::lines_after(inp.bytes(), middle, format::DETECT_SAMPLE_LINES);
            format::detect(registry, &sample, &guess)
        })
    };
    (inputs.par_iter())
        .map(|(_, _, inp)| match inp {
            Ok(inp) if input::first_text_line(inp.bytes()).is_none() => (true, None),
            Ok(inp) if forced.is_none() => (false, sampled(inp)),
            _ => (false, None),
        })
        .collect()
}

/// `#Software: …`, `#Fields: …`: a W3C extended log's directive (a name, a colon), not a
/// comment of another text (`# Notes`).
fn w3c_directive(line: &[u8]) -> bool {
    let Some(rest) = line.strip_prefix(b"#") else {
        return false;
    };
    let name = rest
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'-');
    let n = name.count();
    n > 0 && rest.get(n) == Some(&b':')
}

/// The warning for an input found in a directory that failed to open: `skipped NAME: why`
/// (most errors start with the input's name already).
fn skipped(name: &str, e: &anyhow::Error) -> String {
    let e = format!("{e:#}");
    let named = (e.strip_prefix(name)).is_some_and(|e| e.starts_with(':'));
    match named {
        true => format!("skipped {e}"),
        false => format!("skipped {name}: {e}"),
    }
}

/// Why no format reads `inp`: a file of zero bytes, of lines too long to sample, or of text
/// no format reads, with its first line (by number) shown; and what files of its kind are,
/// where several are named in one warning.
fn no_format(inp: &Input) -> (String, Option<&'static str>) {
    let data = inp.bytes();
    let head = input::head_lines(data, format::DETECT_SAMPLE_LINES);
    // The first line sampled (past a W3C header, which says little of why its lines are
    // not read), or the first with text when every line is too long to be sampled, by its
    // number.
    let shown_line = match head.first().is_some_and(|l| w3c_directive(l)) {
        true => head.iter().find(|l| !l.starts_with(b"#")).or(head.first()),
        false => head.first(),
    };
    let at = match shown_line {
        Some(l) => l.as_ptr() as usize - data.as_ptr() as usize,
        None => input::first_text_line(data).unwrap_or(0),
    };
    let line = memchr::memchr_iter(b'\n', &data[..at]).count() + 1;
    let first = shown_line.copied().unwrap_or(&data[at..]);
    let shown = printable(&first[..first.len().min(120)]);
    let near = &data[at..data.len().min(at + input::DETECT_SPAN)];
    let why = match head.is_empty() {
        true if near.iter().all(|&b| b == 0) => format!(
            "{}: nothing but zero bytes from line {line} on, as far as {} MiB in (a sparse or preallocated file, or one cut short under its writer?): no line to read",
            inp.name,
            input::DETECT_SPAN >> 20,
        ),
        true => format!(
            "{}: no line to tell its format by: every line from line {line} on (as far as {} MiB in) is longer than the {} KiB a line may be (lines that long are skipped as line_too_long); line {line}: \"{shown}\"",
            inp.name,
            input::DETECT_SPAN >> 20,
            input::MAX_LINE / 1024,
        ),
        false => match other_text::kind_of(first) {
            Some(Told { what, then, many }) => {
                let then = then.map(|t| format!(", {t}")).unwrap_or_default();
                let why = format!("{}: {what} (line {line}: \"{shown}\"){then}", inp.name);
                return (why, many);
            }
            None => format!(
                "{}: not a log format why409 reads (tried: {}); line {line}: \"{shown}\" (name the format with --format, or an nginx layout with --log-format)",
                inp.name,
                format::names().join(", "),
            ),
        },
    };
    (why, None)
}

/// The report's sources: each input read, with its format and line accounting, then the
/// empty ones.
pub(super) fn sources(
    opened: Vec<(Input, &dyn Format)>,
    accounts: Vec<Accounting>,
    empties: Vec<Input>,
) -> Vec<Source> {
    let read = (opened.into_iter().zip(accounts)).map(|((input, fmt), accounting)| Source {
        input,
        format: fmt.name(),
        accounting,
    });
    read.chain(empties.into_iter().map(empty_source)).collect()
}

/// The report's source for an input of blank lines only: no format, its lines read and
/// skipped like anywhere else.
fn empty_source(input: Input) -> Source {
    let mut accounting = Accounting::default();
    for line in input::lines(input.bytes()) {
        accounting.lines += 1;
        accounting.skip(Skip::BLANK, accounting.lines, line);
    }
    Source {
        input,
        format: "empty",
        accounting,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names for a sentence: all when `shown` at most, else the first `shown` and a count.
    #[test]
    fn first_names_and_how_many_more() {
        let names = |n: usize| -> Vec<String> { (0..n).map(|k| format!("p{k}.log")).collect() };
        assert_eq!(first_and_more(&names(0), 2), "");
        assert_eq!(first_and_more(&names(2), 2), "p0.log, p1.log");
        assert_eq!(first_and_more(&names(3), 2), "p0.log, p1.log and 1 more");
        assert_eq!(first_and_more(&names(38), 2), "p0.log, p1.log and 36 more");
    }

    /// Up to five files that are not logs are warned of in full; past five, three in full
    /// and the rest named in one line, in order.
    #[test]
    fn many_files_that_are_not_logs_are_named_in_one_warning() {
        let files = |n: usize| -> Vec<NotALog> {
            (0..n)
                .map(|k| NotALog {
                    name: format!("d/n{k}.txt"),
                    warning: format!("skipped d/n{k}.txt: why"),
                    many: None,
                })
                .collect()
        };
        assert_eq!(
            not_logs_warnings(files(5)),
            files(5).into_iter().map(|n| n.warning).collect::<Vec<_>>()
        );
        assert_eq!(
            not_logs_warnings(files(7)),
            [
                "skipped d/n0.txt: why",
                "skipped d/n1.txt: why",
                "skipped d/n2.txt: why",
                "skipped 4 more files that are not a log format why409 reads: d/n3.txt, d/n4.txt, d/n5.txt, d/n6.txt",
            ]
        );
        assert!(not_logs_warnings(Vec::new()).is_empty());
    }

    /// Files of a kind told apart (an error log and its rotations) are named in one line a
    /// kind, before the others; one of a kind keeps its warning in full.
    #[test]
    fn error_logs_are_named_in_one_warning_a_kind() {
        let error_log = |name: &str, kind: &'static str| NotALog {
            name: name.into(),
            warning: format!("skipped {name}: {kind} (line 1: ...)"),
            many: Some(kind),
        };
        let nginx = "nginx error logs, not access logs";
        let apache = "Apache error logs, not access logs";
        let mut all = vec![
            NotALog {
                name: "d/notes.txt".into(),
                warning: "skipped d/notes.txt: why".into(),
                many: None,
            },
            error_log("d/error.log", nginx),
            error_log("d/apache/error_log", apache),
            error_log("d/error.log.1", nginx),
        ];
        all.push(error_log("d/error.log.2.gz", nginx));
        assert_eq!(
            not_logs_warnings(all),
            [
                "skipped 3 nginx error logs, not access logs: d/error.log, d/error.log.1, d/error.log.2.gz",
                "skipped d/apache/error_log: Apache error logs, not access logs (line 1: ...)",
                "skipped d/notes.txt: why",
            ]
        );
    }
}
