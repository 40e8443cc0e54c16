//! The pipeline: inputs → format detection → conflict scan (which instances had conflicts,
//! from the few lines holding a conflict status's digits, see `scan.rs`) → the pass (every
//! line parsed and counted; the lines of conflicting instances and their relatives kept as
//! context) → timelines → detectors.
//!
//! The scan and the pass split every input into chunks at line boundaries and read them
//! with rayon; chunk results are combined in input order, so the analysis is the same for
//! any thread count or chunk size.

use crate::agent::{Agent, AgentMemo};
use crate::aggregate::{Accounting, ClientIndex, InstanceConflicts, Numbers, Observation, Tally};
use crate::client::ClientKey;
use crate::detect::{self, Finding, Thresholds};
use crate::file_period::{self, FilePeriod};
use crate::format::{self, Format, LineContext};
use crate::input::{self, Input};
use crate::interest::{Conflicts, Interest, Look, Looks};
use crate::line_numbers::{BlockMarks, LineNumbers, MAX_CHUNK};
use crate::names::{self, NamePositions};
use crate::per_second::PerSecond;
use crate::progress::{Progress, Stage};
use crate::record::{Method, Micros, Origin, Request, Skip, StatusSet};
use crate::resource::{self, Route, Templater};
use crate::scan::StatusDigits;
use crate::seek::{self, Seek};
use crate::timeline::{Client, Event, EventFields, InstanceId, TimelineBuilder, Timelines};
use crate::timestamp::{self, MICROS_PER_SEC};
use crate::unexplained::{self, Unexplained};
use anyhow::{Result, bail};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::cmp::Ordering;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

/// How the report's timeline windows are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Window {
    /// A round window giving 60–120 windows over the period.
    #[default]
    Auto,
    Fixed(Micros),
}

/// Everything that shapes an analysis (the CLI fills it; tests and benches too).
#[derive(Debug, Clone)]
pub struct Settings {
    pub paths: Vec<PathBuf>,
    /// Whether directories are read with their subdirectories.
    pub recursive: bool,
    pub format: Option<String>,
    pub statuses: Vec<u16>,
    pub client: ClientKey,
    pub window: Window,
    pub routes: Vec<Route>,
    pub since: Option<Micros>,
    pub until: Option<Micros>,
    /// `--last`: only this span before the latest time at the inputs' ends (sets `since`).
    pub last: Option<Micros>,
    /// Whether a time-ordered input is sought in for `since..until` (`seek`) instead of
    /// read whole (`--no-seek`).
    pub seek: bool,
    pub chunk_bytes: usize,
    /// Counted as the analysis goes, for a progress display.
    pub progress: Option<Arc<Progress>>,
    pub thresholds: Thresholds,
    /// Instances whose every line the pass keeps, conflicts or not (`explain`).
    pub extra_instances: Vec<String>,
    /// `--log-format`: an nginx log_format to compile instead of a named format.
    pub log_format: Option<String>,
    /// `--field`: a JSON field map (ROLE=PATH,...) instead of a named format.
    pub field_map: Option<String>,
    /// `--tz`: seconds east of UTC for formats logging local time without an offset.
    pub tz_offset_secs: i64,
    /// `--host`, `--path-prefix`, `--method` filters.
    pub host: Option<String>,
    pub path_prefix: Option<String>,
    pub methods: Vec<Method>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            paths: Vec::new(),
            recursive: false,
            format: None,
            statuses: vec![409, 412, 423, 428],
            client: ClientKey::Ip,
            window: Window::Auto,
            routes: Vec::new(),
            since: None,
            until: None,
            last: None,
            seek: true,
            chunk_bytes: 4 << 20,
            progress: None,
            thresholds: Thresholds::default(),
            extra_instances: Vec::new(),
            log_format: None,
            field_map: None,
            tz_offset_secs: 0,
            host: None,
            path_prefix: None,
            methods: Vec::new(),
        }
    }
}

impl Settings {
    /// How lines are read under these settings, after `directive` (W3C `#Fields`), in a
    /// lite parse (time, target, status, filtered fields) or in full.
    fn line_context<'a>(&self, directive: Option<&'a [u8]>, lite: bool) -> LineContext<'a> {
        LineContext {
            directive,
            local_offset_secs: self.tz_offset_secs,
            lite,
            ..Default::default()
        }
    }

    /// The filters in force, as given on the command line.
    fn filters(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(t) = self.since {
            out.push(format!("--since {}", timestamp::rfc3339(t)));
        }
        if let Some(t) = self.until {
            out.push(format!("--until {}", timestamp::rfc3339(t)));
        }
        if let Some(h) = &self.host {
            out.push(format!("--host {h}"));
        }
        if let Some(p) = &self.path_prefix {
            out.push(format!("--path-prefix {p}"));
        }
        if !self.methods.is_empty() {
            let names: Vec<&str> = self.methods.iter().map(|m| m.as_str()).collect();
            out.push(format!("--method {}", names.join(",")));
        }
        out
    }

    /// Whether any filter that `LineReader::read` applies is set (`--since`, `--until` and
    /// those of `keeps`: every one `filters` names). Asked once a chunk.
    fn filters_lines(&self) -> bool {
        !self.filters().is_empty()
    }

    /// The `--host`, `--path-prefix` and `--method` filters.
    #[inline(always)] // Asked on every line, where mostly none is set: no call for that.
    fn keeps(&self, req: &Request<'_>) -> bool {
        if !self.methods.is_empty() && !self.methods.contains(&req.method) {
            return false;
        }
        if let Some(h) = &self.host {
            let logged = req
                .host
                .as_deref()
                .map(|x| std::str::from_utf8(format::text::strip_port(x.as_bytes())).unwrap_or(x));
            if !logged.is_some_and(|x| x.eq_ignore_ascii_case(h)) {
                return false;
            }
        }
        if let Some(p) = &self.path_prefix {
            let t: &str = &req.target;
            let path = if t.starts_with('/') {
                t
            } else {
                t.find("://")
                    .and_then(|i| t[i + 3..].find('/').map(|j| &t[i + 3 + j..]))
                    .unwrap_or("")
            };
            if !path.starts_with(p.as_str()) {
                return false;
            }
        }
        true
    }
}

/// One analysed input.
pub struct Source {
    pub input: Input,
    pub format: &'static str,
    pub accounting: Accounting,
}

/// The result of an analysis, before it becomes a report.
pub struct Analysis {
    pub sources: Vec<Source>,
    pub tally: Tally,
    /// The clients with conflicts, numbered as in `tally.clients`.
    pub clients: ClientIndex,
    /// Requests per conflicting instance and per context key.
    pub instance_requests: InstanceRequests,
    pub timelines: Timelines,
    pub findings: Vec<Finding>,
    /// The conflicts no finding claims, by instance, most first.
    pub unexplained: Vec<Unexplained>,
    pub window_us: Micros,
    pub bucket_us: Micros,
    pub statuses: Vec<u16>,
    /// Learned name positions, as templates (`/blog/{name}`), sorted.
    pub name_positions: Vec<String>,
    /// Inputs not opened: dated outside the range by their names or last modification
    /// (`file_period`).
    pub inputs_not_read: Vec<String>,
    /// Warnings for the user (skipped files inside directories, empty files).
    pub warnings: Vec<String>,
    /// The first and the last request's time; `None` without requests.
    pub period: Option<(Micros, Micros)>,
    /// The line numbers of events' lines, from their offsets.
    pub line_numbers: LineNumbers,
}

/// A conflicting instance, named through the timelines when it is there: instance ids follow
/// their paths' byte order, so two of those are put in name order without reading their
/// names (a million conflicting instances' names are scattered over memory).
#[derive(Debug, Clone, Copy)]
pub enum InstanceName<'a> {
    Timeline(InstanceId),
    Text(&'a str),
}

impl Analysis {
    /// Every conflicting instance with its conflicts, in no particular order (`instance_name`
    /// gives its path).
    pub fn conflicting_instances(
        &self,
    ) -> impl Iterator<Item = (InstanceName<'_>, &InstanceConflicts)> {
        let r = &self.instance_requests;
        let keyed = self.tally.instances.iter().filter_map(move |(k, c)| {
            let name = match r.instance_of.get(k as usize) {
                Some(&id) if id != NO_INSTANCE => InstanceName::Timeline(id),
                _ => InstanceName::Text(r.unseen.get(&k)?.0.as_str()),
            };
            Some((name, c))
        });
        keyed.chain((self.tally.unkeyed.iter()).map(|(n, c)| (InstanceName::Text(n.as_str()), c)))
    }

    /// The path an `InstanceName` stands for.
    pub fn instance_name<'a>(&'a self, n: InstanceName<'a>) -> &'a str {
        match n {
            InstanceName::Timeline(id) => self.timelines.instance(id).path,
            InstanceName::Text(t) => t,
        }
    }

    /// Two instances in their paths' byte order.
    pub fn cmp_instance_names(&self, a: InstanceName<'_>, b: InstanceName<'_>) -> Ordering {
        match (a, b) {
            (InstanceName::Timeline(x), InstanceName::Timeline(y)) => x.cmp(&y),
            _ => self.instance_name(a).cmp(self.instance_name(b)),
        }
    }

    /// Requests counted on a conflicting instance (or another interest key), when any were.
    pub fn requests_on(&self, instance: &str) -> Option<u64> {
        let r = &self.instance_requests;
        let n = match self.timelines.find_instance(instance) {
            Some(id) => r.by_instance.get(id as usize).copied(),
            None => (r.unseen.values()).find_map(|(name, n)| (name == instance).then_some(*n)),
        };
        n.filter(|&n| n > 0)
    }

    /// The text of the line at `offset` of input `input`, for evidence.
    pub fn line_text(&self, input: u32, offset: u64) -> String {
        let b = self.sources[input as usize].input.bytes();
        String::from_utf8_lossy(crate::line_numbers::line_at(b, offset)).into_owned()
    }

    /// The 1-based number of the line at `offset` of input `input`.
    pub fn line_number(&self, input: u32, offset: u64) -> u64 {
        let b = self.sources[input as usize].input.bytes();
        self.line_numbers.line(input, b, offset)
    }
}

/// The interest keys (conflicting instances and the context kept for them) past the pass,
/// through the timelines, which name every key that kept an event: the keys' own map of
/// names is dropped before the detectors run (a million conflicting instances made it
/// ~100 MB). 12 bytes per key.
#[derive(Debug, Default)]
pub struct InstanceRequests {
    /// Each key's instance in the timelines (`NO_INSTANCE`: it kept no event).
    instance_of: Vec<InstanceId>,
    /// Requests counted on each timeline instance that is a key, by instance id.
    by_instance: Vec<u64>,
    /// Conflicting keys that kept no event, by key number: name and requests. Every conflict
    /// line is an event, so none in practice; kept so that no conflicting instance can go
    /// unnamed.
    unseen: FxHashMap<u32, (String, u64)>,
}

/// No instance in the timelines.
const NO_INSTANCE: InstanceId = InstanceId::MAX;

/// Says how many requests are dated far from the rest (a clock reset to 1970, a year typed
/// wrong): they are counted, and they stretch the period and the timeline, which a reader
/// should know. "Far" is beyond the span of the middle 99.8 % of requests (at least a day) on
/// either side of it; logs under a thousand requests are too small to tell. `ends` says
/// where the earliest and the latest request are (`a.log line 7`), for a reader to look.
fn far_from_the_rest(
    seconds: &PerSecond,
    ends: (Option<String>, Option<String>),
) -> Option<String> {
    // In time order, one entry a second; walked a few times rather than copied (a month of
    // logs has millions of seconds).
    let by_time = || seconds.iter().map(|(s, r, _)| (s, r));
    let total: u64 = by_time().map(|(_, r)| r).sum();
    if total < 1000 {
        return None;
    }
    // The second at which the `n`-th request (0-based) falls.
    let at = |n: u64| {
        let mut seen = 0;
        by_time()
            .find(|&(_, r)| {
                seen += r;
                seen > n
            })
            .map_or(0, |(s, _)| s)
    };
    let (lo, hi) = (at(total / 1000), at(total - 1 - total / 1000));
    let margin = (hi - lo).max(86_400);
    // Requests and the first second (last, after) dated that far before and after.
    let (mut before, mut after) = ((0u64, None), (0u64, None));
    for (s, r) in by_time() {
        if s < lo - margin {
            before = (before.0 + r, before.1.or(Some(s)));
        } else if s > hi + margin {
            after = (after.0 + r, Some(s));
        }
    }
    let (n_before, n_after) = (before.0, after.0);
    if n_before + n_after == 0 {
        return None;
    }
    let t = |s: i64| timestamp::rfc3339(s * MICROS_PER_SEC);
    let mut far = Vec::new();
    if let Some(s) = before.1 {
        let at = ends.0.map(|a| format!(" at {a}")).unwrap_or_default();
        far.push(format!("{n_before} dated from {}{at}", t(s)));
    }
    if let Some(s) = after.1 {
        let at = ends.1.map(|a| format!(" at {a}")).unwrap_or_default();
        far.push(format!("{n_after} dated up to {}{at}", t(s)));
    }
    let n = n_before + n_after;
    let (are, they, them) = if n == 1 {
        ("request is", "it is", "it")
    } else {
        ("requests are", "they are", "them")
    };
    Some(format!(
        "{n} {are} dated far from the rest of the log, which lies within {} to {} ({}); {they} counted, and the period and the timeline stretch to include {them}",
        t(lo),
        t(hi),
        far.join(", "),
    ))
}

/// Round window sizes, smallest first (the last two, 30 and 365 days, only for periods
/// stretched over years, such as by a line dated 1970).
const ROUND_WINDOWS: &[i64] = &[
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
    172800, 604800, 2_592_000, 31_536_000,
];

/// A fixed `--window` giving more windows than this over the period is widened.
const MAX_WINDOWS: i64 = 100_000;

/// The smallest round window that cuts `span` into at most `max` windows.
pub fn round_window(span: Micros, max: i64) -> Micros {
    let span_s = (span + MICROS_PER_SEC - 1) / MICROS_PER_SEC;
    for &w in ROUND_WINDOWS {
        if (span_s + w - 1) / w <= max {
            return w * MICROS_PER_SEC;
        }
    }
    *ROUND_WINDOWS.last().unwrap() * MICROS_PER_SEC
}

/// The directive in force at `offset`: the last directive line that starts before it.
fn directive_at<'a>(directives: &[(usize, &'a [u8])], offset: usize) -> Option<&'a [u8]> {
    let k = directives.partition_point(|(o, _)| *o < offset);
    k.checked_sub(1).map(|i| directives[i].1)
}

/// All directive lines of an input (only for formats that have them).
fn find_directives<'a>(format: &dyn Format, data: &'a [u8]) -> Vec<(usize, &'a [u8])> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let end = memchr::memchr(b'\n', &data[pos..]).map_or(data.len(), |p| pos + p);
        let line = &data[pos..end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.first() == Some(&b'#') && format.is_directive(line) {
            out.push((pos, line));
        }
        pos = end + 1;
        // The next line may be one too (IIS: `#Software`, `#Version`, `#Date`, `#Fields`);
        // else jump to the next line starting with '#'.
        if data.get(pos) == Some(&b'#') {
            continue;
        }
        match memchr::memmem::find(&data[pos.min(data.len())..], b"\n#") {
            Some(p) => pos += p + 1,
            None => break,
        }
    }
    out
}

/// The warnings of files found in directories that no format reads: each in full when they
/// are few; past `NOT_LOGS_IN_FULL`, the first ones in full and the rest named in one line
/// (`why409 -r` on a tree of logs and notes, manifests, checksums would otherwise say the
/// formats it tried once a file).
fn not_logs_warnings(not_logs: Vec<(String, String)>) -> Vec<String> {
    const NOT_LOGS_IN_FULL: usize = 5;
    if not_logs.len() <= NOT_LOGS_IN_FULL {
        return not_logs.into_iter().map(|(_, w)| w).collect();
    }
    let shown = NOT_LOGS_IN_FULL - 2;
    let names: Vec<&str> = not_logs[shown..].iter().map(|(n, _)| n.as_str()).collect();
    let mut out: Vec<String> = not_logs[..shown].iter().map(|(_, w)| w.clone()).collect();
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

struct Job {
    input: usize,
    range: Range<usize>,
}

/// Input bytes read per key below which the keys' templates are not learned (see
/// `Interest::learn_templates`).
const KEY_TEMPLATES_BYTES: u64 = 2048;

/// Runs the whole analysis.
pub fn analyze(settings: &Settings) -> Result<Analysis> {
    analyze_inputs(settings, settings.seek)
}

/// The analysis, leaving unread the inputs dated outside the range (by their names or last
/// modification, `file_period`) when `by_date`.
fn analyze_inputs(settings: &Settings, by_date: bool) -> Result<Analysis> {
    let clock = PhaseClock::new();
    let mut warnings = Vec::new();
    let (mut expanded, notes) = input::expand(&settings.paths, settings.recursive)?;
    warnings.extend(notes);
    warnings.extend(input::drop_repeats(&mut expanded));
    // The inputs dated outside the range are not opened. With --last, the range is not
    // known before the latest line is read: those dated more than its span (and the leeway)
    // before the latest-dated input's last line (`last_line_from`) are left unread, and that
    // is checked once the range is known; where it fails (that input had no dated line), the
    // analysis is run again reading every input.
    let ranged = settings.since.is_some() || settings.until.is_some() || settings.last.is_some();
    let mut dated_out = (by_date && ranged).then(|| {
        let periods: Vec<Option<FilePeriod>> = (expanded.par_iter())
            // `-` is stdin, whatever a file of that name says.
            .map(|(path, _)| (path.as_os_str() != "-").then(|| file_period::of(path))?)
            .collect();
        let mut unread = UnreadByDate::new(settings);
        let read = unread.sort_out(
            &periods,
            |i| expanded[i].0.display().to_string(),
            |i| input::archive_name(&expanded[i].0),
        );
        let mut read = read.into_iter();
        expanded.retain(|_| read.next().unwrap_or(true));
        unread
    });
    let forced = forced_format(settings)?;
    let registry = format::registry();

    // Open inputs and pick their formats.
    // Opened side by side: compressed inputs (rotated `.gz` logs) are decoded while opened,
    // one core each; results are taken in the given order, so errors and warnings are too.
    if let Some(p) = &settings.progress {
        let sizes = expanded
            .iter()
            .filter_map(|(path, _)| input::file_size(path));
        p.start(Stage::Opening, sizes.sum());
    }
    let spools = input::Spools::for_inputs(expanded.iter().map(|(path, _)| path.as_path()));
    // With a time range, a log in time order is read only where the range lies (`seek`).
    let whole = !(settings.seek && ranged);
    let progress = settings.progress.as_ref();
    let inputs: Vec<Result<Input>> = expanded
        .par_iter()
        .map(|(path, explicit)| input::open(path, *explicit, progress, &spools, whole))
        .collect();
    let inputs = spools.seal(inputs);
    // Tar and zip archives are read as the files they hold, each an input as a directory's are.
    let inputs: Vec<input::Opened> = (expanded.iter().zip(inputs))
        .map(|((path, explicit), inp)| (path.display().to_string(), *explicit, inp))
        .collect();
    let mut members_by_date = |periods: &[Option<FilePeriod>], names: &[&str]| {
        let archive = |i: usize| input::archive_name(std::path::Path::new(names[i]));
        (dated_out.as_mut())
            .map(|unread| unread.sort_out(periods, |i| names[i].to_string(), archive))
    };
    let inputs = input::unpack(inputs, &mut warnings, &mut members_by_date, progress);
    let Picked { opened, empties } =
        pick_formats(inputs, forced.as_deref(), &registry, &mut warnings)?;

    let statuses = StatusSet::new(&settings.statuses);

    // The directives (W3C/IIS/CloudFront `#Fields:`) of inputs whose format has them, all
    // found first: a line is read under the one in force at its offset (IIS starts a new
    // header block at every restart, anywhere in a file).
    let directives: Vec<Vec<(usize, &[u8])>> = opened
        .iter()
        .map(|(i, f)| {
            if f.has_directives() {
                find_directives(*f, i.bytes())
            } else {
                Vec::new()
            }
        })
        .collect();
    let period = estimate_period(&opened, &directives, settings);

    // --last: the range ends at the latest time at the inputs' ends.
    let unread_any = dated_out.as_ref().is_some_and(|u| !u.unread.is_empty());
    let resolved = match resolve_last(settings, period, &opened) {
        // No dated line at the ends of the files read: the unread ones may have them.
        Err(_) if unread_any => return analyze_inputs(settings, false),
        r => r?,
    };
    let asked = settings;
    let settings = resolved.as_ref().unwrap_or(settings);
    if let Some(unread) = &dated_out {
        if settings.last.is_some() && unread.any_may_hold(settings.since, settings.until) {
            drop(opened);
            return analyze_inputs(asked, false);
        }
        let outside = match settings.last {
            Some(_) => "before the range --last gives",
            None => "outside --since/--until",
        };
        warnings.extend(unread.warning(outside));
    }

    // Route buckets need a resolution before the pass: estimate the period from the ends of
    // each input, within --since/--until (the last hour of a day's log is analysed as that
    // hour cut out would be, not in the day's five-minute buckets).
    let estimate = period.and_then(|(a, b)| {
        let a = settings.since.map_or(a, |s| a.max(s));
        let b = settings.until.map_or(b, |u| b.min(u));
        (a <= b).then_some((a, b))
    });
    let bucket_us = estimate.map_or(60 * MICROS_PER_SEC, |(a, b)| round_window(b - a, 600));

    let templater = Templater::new(settings.routes.clone());
    let names = learn_names(&opened, &directives, settings, &templater);
    let templater = templater.with_names(names);
    let seeks = seek_ranges(&opened, &directives, settings);
    let jobs: Vec<Job> = opened
        .iter()
        .zip(&seeks)
        .enumerate()
        .flat_map(|(k, ((i, _), seek))| {
            let part = seek
                .as_ref()
                .map_or(0..i.bytes().len(), |s| s.range.clone());
            input::chunks(
                &i.bytes()[part.clone()],
                settings.chunk_bytes.min(MAX_CHUNK),
            )
            .into_iter()
            .map(move |r| Job {
                input: k,
                range: part.start + r.start..part.start + r.end,
            })
        })
        .collect();

    clock.mark("open, names");
    let to_read: u64 = jobs.iter().map(|j| j.range.len() as u64).sum();
    let progress = |stage, total| {
        if let Some(p) = &settings.progress {
            p.start(stage, total);
        }
    };
    let progressed = |job: &Job| {
        if let Some(p) = &settings.progress {
            p.add(job.range.len() as u64);
        }
    };
    progress(Stage::Scanning, to_read);
    // The conflict scan: which instances had conflicts, and when, and which clients.
    let (conflicts, mut clients) = scan_jobs(
        &jobs,
        &opened,
        &directives,
        settings,
        &statuses,
        &progressed,
    );
    let min = settings
        .thresholds
        .get("client_concentration_min_conflicts");
    clients.choose_candidates(min.clamp(1.0, u32::MAX as f64) as u32);
    clock.mark("scan");
    progress(Stage::Reading, to_read);
    let mut interest = Interest::new(conflicts, &settings.extra_instances);
    // Templating the keys costs about what looking up a line does; with a key for every
    // few lines (a key per 2 KiB read: a line in ten or more), most lines are on keys'
    // templates anyway, and it would cost more than the lookups it saves (a log of 100,000
    // conflicting instances in 150,000 lines: 1.7 % more instructions).
    if (interest.len() as u64).saturating_mul(KEY_TEMPLATES_BYTES) <= to_read {
        interest.learn_templates(&templater);
    }
    clock.mark("interest");

    // The pass: every line counted, the lines of conflicting instances and their relatives
    // kept as events. Each worker folds the chunks it takes into its own `Collected` (its
    // template numbering stays warm), and the few are merged at the end: merging is
    // order-independent (sums, unions, min/max; timelines are renumbered and sorted by
    // `build`). Line accounting is kept per chunk, in order, because skip examples and
    // events are numbered by line.
    let mut chunk_accounts: Vec<(usize, Accounting, Box<[u32]>)> = Vec::with_capacity(jobs.len());
    let mut collected: Vec<Collected> = Vec::new();
    // What conflicts note by client and key number: one copy, which each chunk is folded
    // into at its end (see `aggregate::Numbers`), not one per thread.
    let numbers = std::sync::Mutex::new(Numbers::with_room(interest.conflicting(), clients.len()));
    // Text a parser makes (a Docker envelope's unescaped line) is kept in the worker's arena
    // for as long as its chunk: emptied for the next, its memory is reused (a new arena for
    // each chunk faulted its memory in afresh: a fifth of a Docker log's time).
    type State = (
        Vec<(usize, Accounting, Box<[u32]>)>,
        Collected,
        bumpalo::Bump,
    );
    for (accts, c, _) in per_worker(&jobs, |state: &mut State, k, job| {
        let (accts, collected, arena) = state;
        arena.reset();
        let (inp, fmt) = &opened[job.input];
        let (acct, marks) = pass(
            *fmt,
            inp.bytes(),
            arena,
            job,
            directive_at(&directives[job.input], job.range.start),
            settings,
            &templater,
            &statuses,
            bucket_us,
            &interest,
            &clients,
            collected,
        );
        (collected.tally).flush_numbers(&mut numbers.lock().unwrap_or_else(|e| e.into_inner()));
        accts.push((k, acct, marks));
        progressed(job);
    }) {
        chunk_accounts.extend(accts);
        collected.push(c);
    }
    clock.mark("pass (workers)");
    clients.forget_lookups();
    progress(Stage::Finishing, 0);
    let collected = merge_collected(collected);
    let Collected {
        mut tally,
        events: builder,
        ..
    } = collected;
    tally.take_numbers(numbers.into_inner().unwrap_or_else(|e| e.into_inner()));
    let requests = std::mem::take(&mut tally.requests);
    chunk_accounts.sort_by_key(|(k, ..)| *k);

    let (accounts, line_numbers) = accounts_by_input(&jobs, chunk_accounts, &seeks);
    tally.seal();
    clock.mark("pass");
    if clock.on {
        eprintln!(
            "why409: kept {} events on {} keys",
            builder.len(),
            interest.len()
        );
    }
    // The scan finds what the pass counts, by construction (see `scan.rs`); if it ever did
    // not, context would be missing, and the report says so rather than hiding it.
    let agreeing = (tally.instances.iter())
        .filter(|(k, c)| interest.conflicts(*k) == Some((c.first, c.last)))
        .count();
    let counted = tally.instances.len() + tally.unkeyed.len();
    let scanned = interest.conflicting();
    let disagreeing = counted.max(scanned) - agreeing;
    if disagreeing > 0 {
        warnings.push(format!(
            "internal: the conflict scan and the pass disagree on {disagreeing} conflicting instances; their context may be incomplete"
        ));
    }

    check_some_line_read(&opened, &accounts, &mut warnings)?;
    // Nothing to analyse though inputs were given and none was empty or left unread by
    // date: an error, whatever the warnings were (an archive whose one file decodes to
    // garbage past its damage warns of the damage, then skips the file as no log).
    let unread_by_date = dated_out.as_ref().is_some_and(|u| !u.unread.is_empty());
    if opened.is_empty() && empties.is_empty() && !expanded.is_empty() && !unread_by_date {
        bail!("no input could be read: {}", warnings.join("; "));
    }

    // Filters that leave nothing (a --host the log does not record, a range before the
    // log) make an empty report that looks like a quiet day: say so.
    let parsed: u64 = accounts.iter().map(|a| a.parsed).sum();
    let unread: u64 = accounts.iter().map(|a| a.unread).sum();
    if parsed > 0 && accounts.iter().map(|a| a.filtered).sum::<u64>() == parsed {
        warnings.push(format!(
            "all {parsed} parsed requests were left out by the filters ({}): nothing is counted",
            settings.filters().join(", ")
        ));
    } else if parsed == 0 && unread > 0 {
        warnings.push(format!(
            "all {unread} lines are outside the time range ({}): nothing is counted",
            settings.filters().join(", ")
        ));
    }

    // A --client key the log lacks names clients by address without a word otherwise.
    if clients.by_address > 0 {
        warnings.push(format!(
            "--client {}: {} of {} conflicts have no such value in the log; their clients are named by address",
            settings.client.flag(),
            clients.by_address,
            tally.totals.conflicts
        ));
    }

    // Likewise for clients: a conflicting client the scan missed would have no row.
    let numbered: u64 = tally.clients.iter().map(|c| c.conflicts).sum();
    if numbered != tally.totals.conflicts {
        warnings.push(format!(
            "internal: the conflict scan found the clients of {numbered} of {} conflicts; the clients table lacks the others",
            tally.totals.conflicts
        ));
    }
    clock.mark("checks");
    // The keys' names go to the timelines (which copy those of keys with events); those of
    // conflicting keys that kept no event (none, by construction) are kept aside first.
    let names = interest.into_names();
    let unseen = (tally.instances.iter())
        .filter(|&(k, _)| !builder.has_events(k))
        .map(|(k, _)| {
            let n = requests.get(k as usize).copied().unwrap_or(0);
            (k, (names[k as usize].to_string(), n))
        })
        .collect();
    let (timelines, instance_of) = builder.build(names, clients.names());
    let mut by_instance = vec![0u64; timelines.instance_count()];
    for (&id, &n) in instance_of.iter().zip(&requests) {
        if id != NO_INSTANCE {
            by_instance[id as usize] = n;
        }
    }
    let instance_requests = InstanceRequests {
        instance_of,
        by_instance,
        unseen,
    };
    clock.mark("timelines");

    // The earliest and the latest request, and where they are (first input first on ties).
    let end = |time: fn(&Accounting) -> Option<(Micros, u64)>, later: bool| {
        let mut best: Option<(Micros, u64, &str)> = None;
        for ((inp, _), acct) in opened.iter().zip(&accounts) {
            if let Some((t, line)) = time(acct)
                && best.is_none_or(|(b, ..)| if later { t > b } else { t < b })
            {
                best = Some((t, line, &inp.name));
            }
        }
        best
    };
    let (earliest, latest) = (end(|a| a.earliest, false), end(|a| a.latest, true));
    let requested = earliest.zip(latest).map(|(e, l)| (e.0, l.0));
    let period = requested.unwrap_or((0, 0));
    let at =
        |e: Option<(Micros, u64, &str)>| e.map(|(_, line, name)| format!("{name} line {line}"));
    let ends = (at(earliest), at(latest));
    if let Some(w) = far_from_the_rest(&tally.seconds, ends) {
        warnings.push(w);
    }
    let window_us = timeline_window(settings.window, period, &mut warnings);
    let cx = detect::Context {
        timelines: &timelines,
        routes: &tally.routes,
        route_clients: &tally.route_clients,
        candidates: &clients.candidate_names(),
        bucket_us,
        period,
        thresholds: &settings.thresholds,
    };
    let findings = detect::run(&cx);
    let unexplained = unexplained::unexplained(&timelines, &findings);
    clock.mark("detectors");

    let mut sources: Vec<Source> = opened
        .into_iter()
        .zip(accounts)
        .map(|((input, fmt), accounting)| Source {
            input,
            format: fmt.name(),
            accounting,
        })
        .collect();
    sources.extend(empties.into_iter().map(empty_source));
    Ok(Analysis {
        sources,
        tally,
        clients,
        instance_requests,
        timelines,
        findings,
        unexplained,
        window_us,
        bucket_us,
        statuses: settings.statuses.clone(),
        name_positions: templater.names().templates(),
        inputs_not_read: dated_out.map_or_else(Vec::new, |u| u.paths()),
        warnings,
        period: requested,
        line_numbers,
    })
}

/// The conflict scan of every job: which instances had conflicts, and when, and which
/// clients; nothing when no conflict status can be found by its digits.
fn scan_jobs(
    jobs: &[Job],
    opened: &[(Input, &dyn Format)],
    directives: &[Vec<(usize, &[u8])>],
    settings: &Settings,
    statuses: &StatusSet,
    progressed: &(dyn Fn(&Job) + Sync),
) -> (Conflicts, ClientIndex) {
    match StatusDigits::new(&settings.statuses) {
        None => Default::default(),
        Some(digits) => per_worker(jobs, |found: &mut (Conflicts, ClientIndex), _, job| {
            let (inp, fmt) = &opened[job.input];
            scan(
                *fmt,
                &inp.bytes()[job.range.clone()],
                job.range.start,
                &directives[job.input],
                settings,
                statuses,
                &digits,
                found,
            );
            progressed(job);
        })
        .into_par_iter()
        // Pairwise and side by side, as the pass's results (`merge_collected`): on a
        // million conflicting instances from a million clients each merge took ~0.15 s.
        .reduce_with(|(a, ac), (b, bc)| rayon::join(|| Conflicts::merge(a, b), || ac.merged(bc)))
        .unwrap_or_default(),
    }
}

/// The format named by the flags (`--log-format`, `--field`, `--format`), if any; `None`
/// detects each input's.
fn forced_format(settings: &Settings) -> Result<Option<Box<dyn Format>>> {
    Ok(match &settings.format {
        _ if settings.log_format.is_some() => Some(
            format::nginx_custom::compile(settings.log_format.as_deref().unwrap_or_default())
                .map_err(|e| anyhow::anyhow!(e))?,
        ),
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
struct Picked<'f> {
    opened: Vec<(Input, &'f dyn Format)>,
    /// Empty inputs (no byte but spaces and line ends) are reported, their blank lines
    /// counted as skipped, but have no format and no chunks.
    empties: Vec<Input>,
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
    let mut opened: Vec<(Input, &dyn Format)> = Vec::new();
    let mut empties: Vec<Input> = Vec::new();
    // Each input's format, found side by side as the inputs were opened (a day of
    // S3-delivered ALB logs is thousands of small inputs), the format found for one asked
    // first for the next (`format::Guess`): `None` where the input failed, is blank, or no
    // format reads it (told below, in order). And whether it is blank, found once (a GiB of
    // blank lines is walked in 0.16 s).
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
    let detected: Vec<(bool, Option<&dyn Format>)> = (inputs.par_iter())
        .map(|(_, _, inp)| match inp {
            Ok(inp) if input::first_text_line(inp.bytes()).is_none() => (true, None),
            Ok(inp) if forced.is_none() => (false, sampled(inp)),
            _ => (false, None),
        })
        .collect();
    // Files found in directories that no format reads, as their warnings (grouped below).
    let mut not_logs: Vec<(String, String)> = Vec::new();
    for ((name, explicit, inp), (blank, detected)) in inputs.into_iter().zip(detected) {
        let inp = match inp {
            Ok(i) => i,
            Err(e) if !explicit => {
                // Most errors start with the input's name already.
                let e = format!("{e:#}");
                let named = e
                    .strip_prefix(name.as_str())
                    .is_some_and(|e| e.starts_with(':'));
                warnings.push(match named {
                    true => format!("skipped {e}"),
                    false => format!("skipped {name}: {e}"),
                });
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
            not_logs.push((inp.name.clone(), format!("skipped {msg}")));
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
                    let msg = no_format(&inp);
                    if inp.explicit {
                        bail!(damaged(msg));
                    }
                    not_logs.push((inp.name.clone(), format!("skipped {msg}")));
                    continue;
                }
            },
        };
        opened.push((inp, fmt));
    }
    warnings.extend(not_logs_warnings(not_logs));
    Ok(Picked { opened, empties })
}

/// Why no format reads `inp`: a file of zero bytes, of lines too long to sample, or of text
/// no format reads, with its first line (by number) shown.
fn no_format(inp: &Input) -> String {
    let data = inp.bytes();
    let head = input::head_lines(data, format::DETECT_SAMPLE_LINES);
    // The first line sampled, or the first with text when every line is too long to be
    // sampled, by its number.
    let at = match head.first() {
        Some(l) => l.as_ptr() as usize - data.as_ptr() as usize,
        None => input::first_text_line(data).unwrap_or(0),
    };
    let line = memchr::memchr_iter(b'\n', &data[..at]).count() + 1;
    let first = head.first().copied().unwrap_or(&data[at..]);
    let shown = printable(&first[..first.len().min(120)]);
    let near = &data[at..data.len().min(at + input::DETECT_SPAN)];
    match head.is_empty() {
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
        false => format!(
            "{}: not a log format why409 reads (tried: {}); line {line}: \"{shown}\" (name the format with --format, or an nginx layout with --log-format)",
            inp.name,
            format::names().join(", "),
        ),
    }
}

/// Each input's line accounting from its chunks' (in order, `chunk_accounts` sorted by
/// job), with the lines a seek left out counted before and after, so that line numbers are
/// the file's; and where each chunk's lines start, to number any line again.
fn accounts_by_input(
    jobs: &[Job],
    chunk_accounts: Vec<(usize, Accounting, Box<[u32]>)>,
    seeks: &[Option<Seek>],
) -> (Vec<Accounting>, LineNumbers) {
    let unread = |n: u64| Accounting {
        lines: n,
        unread: n,
        ..Default::default()
    };
    let mut accounts: Vec<Accounting> = (seeks.iter())
        .map(|s| unread(s.as_ref().map_or(0, |s| s.lines_before)))
        .collect();
    let mut line_numbers = LineNumbers::default();
    for (job, (_, acct, marks)) in jobs.iter().zip(chunk_accounts) {
        line_numbers.add_chunk(
            job.input,
            job.range.clone(),
            accounts[job.input].lines,
            marks,
        );
        accounts[job.input].append(acct);
    }
    for (acct, seek) in accounts.iter_mut().zip(seeks) {
        if let Some(s) = seek {
            acct.append(unread(s.lines_after));
            acct.read_lines = Some((s.lines_before + 1, acct.lines - s.lines_after));
        }
    }
    (accounts, line_numbers)
}

/// The inputs of which no line could be read in their format (every line skipped but
/// blank ones): an error for an input named, a warning for one found in a directory.
fn check_some_line_read(
    opened: &[(Input, &dyn Format)],
    accounts: &[Accounting],
    warnings: &mut Vec<String>,
) -> Result<()> {
    for ((inp, fmt), acct) in opened.iter().zip(accounts) {
        if acct.parsed == 0 && acct.lines - acct.unread > acct.skip_reasons.get(Skip::BLANK.0) {
            let first = acct
                .skip_examples
                .iter()
                .find(|e| e.reason != Skip::BLANK.0)
                .map(|e| {
                    format!(
                        "line {} ({}): \"{}\"",
                        e.line,
                        e.reason,
                        printable(e.text.as_bytes())
                    )
                })
                .unwrap_or_default();
            let msg = format!(
                "{}: no line could be read as '{}' ({} lines, all skipped); {first}",
                inp.name,
                fmt.name(),
                acct.lines
            );
            if inp.explicit {
                bail!(msg);
            }
            warnings.push(format!("skipped {msg}"));
        }
    }
    Ok(())
}

/// The timeline's window over `period`: fixed, or chosen (`auto`). A fixed window over a
/// period stretched by a line dated far away (a clock reset to 1970) would be millions of
/// rows: widened, and said.
fn timeline_window(window: Window, period: (Micros, Micros), warnings: &mut Vec<String>) -> Micros {
    let span = period.1 - period.0;
    match window {
        Window::Fixed(w) if span / w >= MAX_WINDOWS => {
            let wider = round_window(span, MAX_WINDOWS).max(w);
            warnings.push(format!(
                "--window {}: the period {} to {} would make {} windows; windows of {} are used instead",
                timestamp::human_span(w),
                timestamp::rfc3339(period.0),
                timestamp::rfc3339(period.1),
                span / w + 1,
                timestamp::human_span(wider),
            ));
            wider
        }
        Window::Fixed(w) => w,
        Window::Auto => round_window(span, 120),
    }
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

/// Phase timings on stderr when `WHY409_TIMINGS` is set (for profiling; not a user flag),
/// with the private memory (RssAnon) held at the end of each phase where Linux tells it.
struct PhaseClock {
    on: bool,
    last: std::cell::Cell<std::time::Instant>,
}

impl PhaseClock {
    fn new() -> PhaseClock {
        PhaseClock {
            on: std::env::var_os("WHY409_TIMINGS").is_some(),
            last: std::cell::Cell::new(std::time::Instant::now()),
        }
    }
    fn mark(&self, phase: &str) {
        if self.on {
            let now = std::time::Instant::now();
            let anon = std::fs::read_to_string("/proc/self/status")
                .ok()
                .and_then(|s| {
                    s.lines()
                        .find_map(|l| l.strip_prefix("RssAnon:"))
                        .map(|v| format!(", RssAnon {}", v.trim()))
                })
                .unwrap_or_default();
            eprintln!(
                "why409: {phase}: {:.3}s{anon}",
                (now - self.last.get()).as_secs_f64()
            );
            self.last.set(now);
        }
    }
}

/// A line shown in an error message: printable ASCII kept, everything else as `\xHH`.
pub fn printable(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len());
    for &c in b {
        if (0x20..0x7f).contains(&c) {
            s.push(c as char);
        } else {
            s.push_str(&format!("\\x{c:02X}"));
        }
    }
    s
}

/// Learns the name positions (`crate::names`) from the sampled lines of every input: each
/// sample block templates its lines as the pass would without name positions, and the
/// distinct templates of all blocks are what is learned from.
fn learn_names(
    opened: &[(Input, &dyn Format)],
    directives: &[Vec<(usize, &[u8])>],
    settings: &Settings,
    templater: &Templater,
) -> NamePositions {
    // Each input's place among the inputs laid end to end, in the order given.
    let starts = opened.iter().scan(0, |at, (i, _)| {
        let start = *at;
        *at += i.bytes().len();
        Some(start)
    });
    let blocks: Vec<(usize, Range<usize>)> = (opened.iter().zip(starts))
        .enumerate()
        .flat_map(|(k, ((i, _), at))| {
            names::sample_ranges(i.bytes(), at)
                .into_iter()
                .map(move |r| (k, r))
        })
        .collect();
    let templates: Vec<Vec<Box<str>>> = blocks
        .par_iter()
        .map(|(k, range)| {
            let (inp, fmt) = &opened[*k];
            let mut cx = settings.line_context(directive_at(&directives[*k], range.start), true);
            let mut cache = resource::TemplateCache::default();
            let reader = LineReader::new(*fmt, settings);
            for line in input::lines(&inp.bytes()[range.clone()]) {
                let mut req = Request::default();
                if reader.read(line, &mut cx, &mut req) == Ok(true) {
                    templater.template_id(&instance_of(&req), &mut cache);
                }
            }
            cache.into_names()
        })
        .collect();
    NamePositions::learn(templates.iter().flatten().map(|t| &**t))
}

/// First and last timestamp among the first and last lines of each input (its first and
/// last 64 KiB, one part when it is no longer), the inputs side by side: a day of small
/// files was read twice over, on one thread (4,103 files of 64 KiB: 0.17 s).
fn estimate_period(
    opened: &[(Input, &dyn Format)],
    directives: &[Vec<(usize, &[u8])>],
    settings: &Settings,
) -> Option<(Micros, Micros)> {
    (opened.par_iter().zip(directives))
        .filter_map(|((inp, fmt), directives)| input_period(inp, *fmt, directives, settings))
        .reduce_with(|(a, b), (c, d)| (a.min(c), b.max(d)))
}

/// `estimate_period` of one input.
fn input_period(
    inp: &Input,
    fmt: &dyn Format,
    directives: &[(usize, &[u8])],
    settings: &Settings,
) -> Option<(Micros, Micros)> {
    const END: usize = 64 * 1024;
    let data = inp.bytes();
    let tail_start = match data.len().saturating_sub(END) {
        0 => 0,
        t => memchr::memchr(b'\n', &data[t..]).map_or(data.len(), |p| t + p + 1),
    };
    let head = &data[..data.len().min(END)];
    let tail = (tail_start > 0).then(|| (tail_start, &data[tail_start..]));
    let mut period: Option<(Micros, Micros)> = None;
    for (at, part) in std::iter::once((0, head)).chain(tail) {
        let mut cx = settings.line_context(directive_at(directives, at), true);
        let reader = LineReader::new(fmt, settings);
        for line in input::lines(part) {
            let mut r = Request::default();
            if let Some(s) = reader.skip(line) {
                if s == Skip::DIRECTIVE {
                    cx.directive = Some(line);
                }
            } else if fmt.parse(line, &mut cx, &mut r).is_ok() {
                period = Some(period.map_or((r.time, r.time), |(lo, hi)| {
                    (lo.min(r.time), hi.max(r.time))
                }));
            }
        }
    }
    period
}

/// The settings `--last` makes: `since` the span before `period`'s end. `None` without
/// `--last`.
fn resolve_last(
    settings: &Settings,
    period: Option<(Micros, Micros)>,
    opened: &[(Input, &dyn Format)],
) -> Result<Option<Settings>> {
    let Some(span) = settings.last else {
        return Ok(None);
    };
    match period {
        Some((_, end)) => Ok(Some(Settings {
            since: Some(end.saturating_sub(span)),
            ..settings.clone()
        })),
        None if opened.is_empty() => Ok(None),
        None => {
            let names: Vec<&str> = opened.iter().map(|(i, _)| i.name.as_str()).collect();
            bail!(
                "--last: no line at the ends of {} has a time to count back from",
                names.join(", ")
            )
        }
    }
}

/// With --since/--until, the part of each time-ordered input that can hold the range
/// (`seek`); `None` for an input read whole. Inputs with directives are read whole: a probe
/// would need the directive before it.
fn seek_ranges(
    opened: &[(Input, &dyn Format)],
    directives: &[Vec<(usize, &[u8])>],
    settings: &Settings,
) -> Vec<Option<Seek>> {
    let ranged = settings.since.is_some() || settings.until.is_some();
    opened
        .par_iter()
        .zip(directives)
        .map(|((inp, fmt), directives)| {
            if !settings.seek || !ranged || !directives.is_empty() {
                return None;
            }
            seek::range(inp.bytes(), settings.since, settings.until, |line| {
                line_time(*fmt, line, settings)
            })
        })
        .collect()
}

/// A line's time as the pass would read it, for `seek`: none for lines it skips.
fn line_time(fmt: &dyn Format, line: &[u8], settings: &Settings) -> Option<Micros> {
    if LineReader::new(fmt, settings).skip(line).is_some() {
        return None;
    }
    let mut cx = settings.line_context(None, true);
    let mut r = Request::default();
    fmt.parse(line, &mut cx, &mut r).ok().map(|()| r.time)
}

/// Reads lines of one format under the filters, with what every line asks of them worked
/// out once for many lines: whether the format has directive lines and whether any filter
/// is set (asked of each line, they were a call and five tests a line).
struct LineReader<'r> {
    fmt: &'r dyn Format,
    settings: &'r Settings,
    directives: bool,
    filtered: bool,
}

impl<'r> LineReader<'r> {
    fn new(fmt: &'r dyn Format, settings: &'r Settings) -> LineReader<'r> {
        LineReader {
            fmt,
            settings,
            directives: fmt.has_directives(),
            filtered: settings.filters_lines(),
        }
    }

    /// Tells directive lines, too-long lines and blank lines apart before parsing.
    #[inline(always)]
    fn skip(&self, line: &[u8]) -> Option<Skip> {
        if line.len() > input::MAX_LINE {
            return Some(Skip::TOO_LONG);
        }
        if format::text::is_blank(line) {
            return Some(Skip::BLANK);
        }
        if self.directives && self.fmt.is_directive(line) {
            return Some(Skip::DIRECTIVE);
        }
        None
    }

    /// Parses a line and applies the filters. `Ok(false)`: parsed but filtered out.
    // Always inlined: a call of its own on every line of the pass cost more than its body.
    #[inline(always)]
    fn read<'a>(
        &self,
        line: &'a [u8],
        cx: &mut LineContext<'a>,
        req: &mut Request<'a>,
    ) -> Result<bool, Skip> {
        if let Some(s) = self.skip(line) {
            if s == Skip::DIRECTIVE {
                cx.directive = Some(line);
            }
            return Err(s);
        }
        self.fmt.parse(line, cx, req)?;
        let settings = self.settings;
        Ok(!self.filtered
            || (settings.since.is_none_or(|s| req.time >= s)
                && settings.until.is_none_or(|u| req.time < u)
                && settings.keeps(req)))
    }
}

/// The instance of a request: borrowed from the line unless its target had escapes.
fn instance_of<'a>(req: &Request<'a>) -> std::borrow::Cow<'a, str> {
    match &req.target {
        std::borrow::Cow::Borrowed(t) => std::borrow::Cow::Borrowed(resource::instance(t)),
        std::borrow::Cow::Owned(t) => std::borrow::Cow::Owned(resource::instance(t).to_string()),
    }
}

/// Runs `work` on every job, each worker thread of the pool taking the next job in order and
/// folding it into a state of its own: one state per worker, so the merges afterwards are
/// few (a fold over rayon's splits makes one state per split, dozens per run).
fn per_worker<S: Default + Send>(
    jobs: &[Job],
    work: impl Fn(&mut S, usize, &Job) + Sync,
) -> Vec<S> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    rayon::broadcast(|_| {
        let mut state = S::default();
        loop {
            let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(job) = jobs.get(k) else {
                break;
            };
            work(&mut state, k, job);
        }
        state
    })
}

/// Merges the workers' results, pairwise and side by side. Each merge folds into one of the
/// two (never into an empty start, which would copy everything once more at the peak).
fn merge_collected(all: Vec<Collected>) -> Collected {
    let merged = all.into_par_iter().reduce_with(|mut a, b| {
        let Collected { tally, events, .. } = b;
        rayon::join(|| a.tally.merge(tally), || a.events.append(events));
        a
    });
    merged.unwrap_or_default()
}

/// The conflict scan of one chunk: parses only the lines holding a conflict status's digits
/// (all lines for formats where that is not enough, see `Format::status_in_raw_line`) and
/// notes the conflicting instances, so the pass knows which lines are context, and the
/// clients that had conflicts, whose requests the pass counts.
#[inline(never)] // a frame of its own in profiles
#[allow(clippy::too_many_arguments)]
fn scan<'a>(
    fmt: &dyn Format,
    chunk: &'a [u8],
    base: usize,
    directives: &[(usize, &'a [u8])],
    settings: &Settings,
    statuses: &StatusSet,
    digits: &StatusDigits,
    (conflicts, clients): &mut (Conflicts, ClientIndex),
) {
    // Time, target, status and the filtered fields are all a lite parse leaves; the
    // address is the client too (and the user, in some formats), else a conflict line's
    // read is completed for its client (as the pass reads every line in full then).
    let lite = settings.client.lite_serves(fmt);
    let directive = directive_at(directives, base);
    let mut cx = settings.line_context(directive, true);
    let mut cx_full = settings.line_context(directive, false);
    let reader = LineReader::new(fmt, settings);
    let read = |line: &'a [u8], cx: &mut LineContext<'a>, cx_full: &mut LineContext<'a>| {
        let mut req = Request::default();
        if reader.read(line, cx, &mut req) != Ok(true) || !statuses.contains(req.status) {
            return None;
        }
        let instance = instance_of(&req);
        if settings.client == ClientKey::Ip {
            let client = ClientKey::Ip.of(&req, line, fmt);
            return Some(Found::new(instance, req.time, Some(client), false));
        }
        if !lite {
            cx_full.directive = cx.directive;
            if fmt.complete(line, cx_full, &mut req).is_err() {
                // The conflict stands; its client is not read.
                return Some(Found::new(instance, req.time, None, false));
            }
        }
        Some(match settings.client.chosen(&req, line, fmt) {
            Some(name) => Found::new(instance, req.time, Some(name), false),
            None => Found::new(
                instance,
                req.time,
                Some(ClientKey::Ip.of(&req, line, fmt)),
                true,
            ),
        })
    };
    // Each conflict is noted a few conflicts after it was read, its places in the two tables
    // asked for when it was read: a log of a million conflicting instances (a line in five)
    // met a cache miss in each table for each conflict, one after another (two fifths of
    // the scan, sampled).
    let mut ahead: std::collections::VecDeque<Found<'a>> =
        std::collections::VecDeque::with_capacity(Found::AHEAD);
    let mut found = |f: Option<Found<'a>>| {
        let Some(f) = f else { return };
        conflicts.prefetch(&f.instance);
        if let Some(c) = &f.client {
            clients.prefetch(c);
        }
        if ahead.len() == Found::AHEAD
            && let Some(due) = ahead.pop_front()
        {
            due.note(conflicts, clients);
        }
        ahead.push_back(f);
    };
    if fmt.status_in_raw_line(chunk) {
        for line in digits.lines(chunk) {
            // The search skips lines, so a layout directive (W3C `#Fields:`) is not met in
            // turn: the one in force is looked up by offset.
            if !directives.is_empty() {
                let at = base + (line.as_ptr() as usize - chunk.as_ptr() as usize);
                cx.directive = directive_at(directives, at);
            }
            found(read(line, &mut cx, &mut cx_full));
        }
    } else {
        for line in input::lines(chunk) {
            found(read(line, &mut cx, &mut cx_full));
        }
    }
    for due in ahead {
        due.note(conflicts, clients);
    }
}

/// A conflict the scan read: the instance, when, and who (named by address for want of
/// the `--client` key, when `by_address`; unknown when the rest of the line could not be
/// read for it).
struct Found<'a> {
    instance: std::borrow::Cow<'a, str>,
    time: Micros,
    client: Option<std::borrow::Cow<'a, str>>,
    by_address: bool,
}

impl<'a> Found<'a> {
    /// How many conflicts after its own a conflict is noted: enough reads between to
    /// cover a load from memory.
    const AHEAD: usize = 8;

    fn new(
        instance: std::borrow::Cow<'a, str>,
        time: Micros,
        client: Option<std::borrow::Cow<'a, str>>,
        by_address: bool,
    ) -> Found<'a> {
        Found {
            instance,
            time,
            client,
            by_address,
        }
    }

    fn note(self, conflicts: &mut Conflicts, clients: &mut ClientIndex) {
        conflicts.note(&self.instance, self.time, self.time);
        if let Some(c) = &self.client {
            clients.by_address += u64::from(self.by_address);
            clients.insert(c);
        }
    }
}

/// The request headers that carry an idempotency key (IETF draft, Stripe; `X-` in older
/// APIs), read on the lines kept as events by formats that log headers.
pub const IDEMPOTENCY_HEADERS: [&str; 2] = ["idempotency-key", "x-idempotency-key"];

/// What the pass over one chunk adds to: the counts, and the context lines of conflicting
/// instances with the requests counted on them.
#[derive(Default)]
struct Collected {
    tally: Tally,
    templates: resource::TemplateCache,
    /// What each of `templates` says of the key lookups its lines need.
    looks: Looks,
    /// Events with line numbers relative to their chunk (see `TimelineBuilder::rebase_lines`).
    events: TimelineBuilder,
    /// The agents of the user agents conflicts came with lately.
    agents: AgentMemo,
}

/// The pass over one chunk: parses every line, counts it, and keeps it as an event when it
/// is context for a conflicting instance.
#[allow(clippy::too_many_arguments)]
#[inline(never)] // a frame of its own in profiles
fn pass<'a>(
    fmt: &dyn Format,
    data: &'a [u8],
    arena: &'a bumpalo::Bump,
    job: &Job,
    directive: Option<&'a [u8]>,
    settings: &Settings,
    templater: &Templater,
    statuses: &StatusSet,
    bucket_us: Micros,
    interest: &Interest,
    clients: &ClientIndex,
    out: &mut Collected,
) -> (Accounting, Box<[u32]>) {
    let mut acct = Accounting::default();
    // Counting needs the user agent and appended fields only for client keys a lite read
    // does not serve; a context line's lite read is completed (`Format::complete`).
    let lite = settings.client.lite_serves(fmt);
    let mut cx = settings.line_context(directive, lite);
    let mut cx_full = settings.line_context(directive, false);
    (cx.arena, cx_full.arena) = (Some(arena), Some(arena));
    // One request for the chunk, reset per line (see `Request::reset`).
    let mut req = Request::default();
    let reader = LineReader::new(fmt, settings);
    let chunk = &data[job.range.clone()];
    let mut marks = BlockMarks::new(chunk.len());
    let early = interest.prefetch_early();
    for line in input::lines(chunk) {
        marks.line(line.as_ptr() as usize - chunk.as_ptr() as usize, acct.lines);
        acct.lines += 1;
        req.reset();
        match reader.read(line, &mut cx, &mut req) {
            Ok(true) => {}
            Ok(false) => {
                acct.parsed += 1;
                acct.filtered += 1;
                continue;
            }
            Err(s) => {
                acct.skip(s, acct.lines, line);
                continue;
            }
        }
        acct.parsed += 1;
        acct.dated(req.time, acct.lines);
        // The client is numbered before the path is templated: its table (every client
        // with conflicts, 100 k in a log with 10 % conflicts) is read at random, and the
        // templating's work then goes on while the load is under way (numbered after, its
        // load stalled a fifth of the pass there, sampled; asked for before templating
        // and looked up after, the pass took 1-2 % longer on a log of 4 k clients).
        let client = settings.client.of(&req, line, fmt);
        let client_number = clients.number(&client);
        let instance = instance_of(&req);
        let instance: &str = &instance;
        let asked = early
            .then(|| interest.prefetch(instance, Look::ALL))
            .flatten();
        let path = resource::SplitPath::new(instance);
        let template_id = templater.template_id_of(path, &mut out.templates);
        // Lines whose template is no key's (nor a key's child's) are not looked up. The
        // others' table load is asked for here, unless it was asked for above
        // (`Interest::prefetch_early`).
        let look = out.looks.of(template_id, &out.templates, interest);
        let sought = if early {
            asked.filter(|_| look.own())
        } else {
            interest.prefetch(instance, look)
        };
        let conflict = statuses.contains(req.status);
        let (key, wanted) = interest.lookup_sought(path, sought, look, &req);
        out.tally.observe(
            &Observation {
                time: req.time,
                template_id,
                template: out.templates.name(template_id),
                instance,
                key,
                client: &client,
                client_number,
                candidate: client_number.and_then(|k| clients.candidate(k)),
                status: req.status,
                write: req.method.is_write(),
                conflict,
            },
            bucket_us,
        );
        if let Some(k) = key {
            out.tally.count_request(k);
        }
        if !wanted {
            continue;
        }
        // The rest of a lite read, which every reader accepts as the full read would (the
        // formats' tests check it), and which the filters do not read.
        if lite {
            cx_full.directive = cx.directive;
            if fmt.complete(line, &mut cx_full, &mut req).is_err() {
                continue;
            }
        }
        let req = &req;
        let (start, end) = req.interval();
        let offset = (line.as_ptr() as usize - data.as_ptr() as usize) as u64;
        // Formats that log request headers may carry the operation's idempotency key.
        if let Some(k) = (IDEMPOTENCY_HEADERS.iter()).find_map(|h| fmt.field(line, h))
            && crate::record::is_logged(&k)
        {
            out.events
                .note_idempotency_key(job.input as u32, offset, &k);
            acct.context.idempotency_key += 1;
        }
        if conflict && let Some(k) = client_number {
            out.tally.note_agent(
                k,
                (req.time, job.input as u32, offset),
                req.user_agent.as_deref(),
            );
        }
        let origin = req.origin();
        acct.context.lines += 1;
        acct.context.durations += u64::from(req.duration_us.is_some());
        acct.context.upstream_status += u64::from(origin != Origin::Unknown);
        acct.context.user_agent +=
            u64::from((req.user_agent.as_deref()).is_some_and(crate::record::is_logged));
        // `client` stands: a lite parse is only used when it reads the client's field as a
        // full read does, and completing it keeps that field.
        out.events.push_named(
            Event::new(EventFields {
                start,
                end,
                timed: req.duration_us.is_some(),
                client: 0,
                method: req.method,
                status: req.status,
                instance: 0,
                input: job.input as u32,
                offset,
                conflict,
                origin,
                // Looked up on conflicts only, the requests the detectors ask it of: most
                // kept lines are context.
                agent: match &req.user_agent {
                    Some(ua) if conflict => out.agents.of(ua),
                    _ => Agent::OTHER,
                },
            }),
            match client_number {
                Some(k) => Client::Numbered(k),
                None => Client::Named(&client),
            },
            instance,
            key,
            // The template numbered above (the same text `template` gives, tested in
            // `resource`): templating the path again cost more than the rest of the event.
            out.templates.name(template_id),
            key.is_some_and(|k| interest.conflicted(k)),
        );
    }
    let marks = marks.finish(chunk.len(), acct.lines);
    (acct, marks)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Requests dated far from the rest are told apart only when they are few among many
    /// and far beyond the span of the others (at least a day).
    #[test]
    fn requests_far_from_the_rest() {
        let seconds = |spread: &[(i64, u64)]| -> PerSecond {
            let mut p = PerSecond::default();
            spread.iter().for_each(|&(s, r)| p.add(s, r, 0));
            p.seal();
            p
        };
        let day = 86_400;
        let t0 = 1_772_442_000;
        // An hour of traffic, two requests from a clock reset and one from a typo'd year.
        let mut hour: Vec<(i64, u64)> = (0..3600).map(|s| (t0 + s, 2)).collect();
        let no_ends = || (None, None);
        assert_eq!(far_from_the_rest(&seconds(&hour), no_ends()), None);
        hour.extend([(0, 2), (4_102_444_800, 1)]);
        assert_eq!(
            far_from_the_rest(&seconds(&hour), no_ends()).unwrap(),
            "3 requests are dated far from the rest of the log, which lies within \
             2026-03-02T09:00:02Z to 2026-03-02T09:59:56Z (2 dated from 1970-01-01T00:00:00Z, 1 \
             dated up to 2100-01-01T00:00:00Z); they are counted, and the period and the \
             timeline stretch to include them"
        );
        let ends = (Some("a.log line 9".into()), Some("b.log line 2".into()));
        assert_eq!(
            far_from_the_rest(&seconds(&hour), ends).unwrap(),
            "3 requests are dated far from the rest of the log, which lies within \
             2026-03-02T09:00:02Z to 2026-03-02T09:59:56Z (2 dated from 1970-01-01T00:00:00Z at \
             a.log line 9, 1 dated up to 2100-01-01T00:00:00Z at b.log line 2); they are \
             counted, and the period and the timeline stretch to include them"
        );
        // Three evenly busy days, or a sparse log spread over years: nothing stands out.
        let days: Vec<(i64, u64)> = (0..3 * 24).map(|h| (t0 + h * 3600, 30)).collect();
        assert_eq!(far_from_the_rest(&seconds(&days), no_ends()), None);
        let years: Vec<(i64, u64)> = (0..1000).map(|k| (t0 - k * 40 * day, 1)).collect();
        assert_eq!(far_from_the_rest(&seconds(&years), no_ends()), None);
        // Too few requests to tell.
        let small: Vec<(i64, u64)> = (0..500).map(|s| (t0 + s, 1)).chain([(0, 1)]).collect();
        assert_eq!(far_from_the_rest(&seconds(&small), no_ends()), None);
    }

    #[test]
    fn auto_windows_are_round() {
        assert_eq!(round_window(50 * MICROS_PER_SEC, 120), MICROS_PER_SEC);
        assert_eq!(
            round_window(86_400 * MICROS_PER_SEC, 120),
            900 * MICROS_PER_SEC
        );
        assert_eq!(
            round_window(3600 * MICROS_PER_SEC, 120),
            30 * MICROS_PER_SEC
        );
        assert_eq!(round_window(0, 120), MICROS_PER_SEC);
    }

    /// A format that has the conflict scan parse every line, as if its status could not be
    /// found by its digits.
    struct EveryLine<'f>(&'f dyn Format);

    impl Format for EveryLine<'_> {
        fn name(&self) -> &'static str {
            self.0.name()
        }
        fn about(&self) -> &'static str {
            self.0.about()
        }
        fn sample(&self) -> &'static str {
            self.0.sample()
        }
        fn detect(&self, line: &[u8]) -> bool {
            self.0.detect(line)
        }
        fn is_directive(&self, line: &[u8]) -> bool {
            self.0.is_directive(line)
        }
        fn has_directives(&self) -> bool {
            self.0.has_directives()
        }
        fn status_in_raw_line(&self, _: &[u8]) -> bool {
            false
        }
        fn parse<'a>(
            &self,
            line: &'a [u8],
            cx: &mut LineContext<'a>,
            out: &mut Request<'a>,
        ) -> Result<(), Skip> {
            self.0.parse(line, cx, out)
        }
    }

    fn scanned_by(
        fmt: &dyn Format,
        data: &[u8],
        statuses: &[u16],
        client: ClientKey,
    ) -> (Conflicts, Vec<String>) {
        let settings = Settings {
            statuses: statuses.to_vec(),
            client,
            ..Settings::default()
        };
        scanned_in_parts(fmt, data, &[], &settings)
    }

    /// The scan of `data` cut into chunks at `cuts` (byte offsets at line starts), merged.
    fn scanned_in_parts(
        fmt: &dyn Format,
        data: &[u8],
        cuts: &[usize],
        settings: &Settings,
    ) -> (Conflicts, Vec<String>) {
        let set = StatusSet::new(&settings.statuses);
        let digits = StatusDigits::new(&settings.statuses).unwrap();
        let directives = if fmt.has_directives() {
            find_directives(fmt, data)
        } else {
            Vec::new()
        };
        let bounds: Vec<usize> = [0].into_iter().chain(cuts.iter().copied()).collect();
        let mut parts = Vec::new();
        for (k, &start) in bounds.iter().enumerate() {
            let end = bounds.get(k + 1).copied().unwrap_or(data.len());
            let mut out: (Conflicts, ClientIndex) = Default::default();
            let chunk = &data[start..end];
            scan(
                fmt,
                chunk,
                start,
                &directives,
                settings,
                &set,
                &digits,
                &mut out,
            );
            parts.push(out);
        }
        let (conflicts, clients) = (parts.into_iter())
            .reduce(|(a, ac), (b, bc)| (Conflicts::merge(a, b), ac.merged(bc)))
            .unwrap_or_default();
        let mut clients: Vec<String> = clients.names().iter().map(|n| n.to_string()).collect();
        clients.sort();
        (conflicts, clients)
    }

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
        let files = |n: usize| -> Vec<(String, String)> {
            (0..n)
                .map(|k| (format!("d/n{k}.txt"), format!("skipped d/n{k}.txt: why")))
                .collect()
        };
        assert_eq!(
            not_logs_warnings(files(5)),
            files(5).into_iter().map(|(_, w)| w).collect::<Vec<_>>()
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

    /// Directive lines among other `#` lines, first or not, with `\r\n` ends, are all found
    /// at their offsets.
    #[test]
    fn directives_are_found_among_comment_lines() {
        let fmt = format::by_name("w3c").unwrap();
        let data = b"#Fields: a\n#Version: 1.0\n#Fields: b\r\nx\n#Date: 1\n#Fields: c\n#Fields: d";
        let found: Vec<(usize, &[u8])> = find_directives(fmt.as_ref(), data);
        assert_eq!(
            found,
            [
                (0, &b"#Fields: a"[..]),
                (25, b"#Fields: b"),
                (48, b"#Fields: c"),
                (59, b"#Fields: d"),
            ]
        );
        assert!(find_directives(fmt.as_ref(), b"x\n#Version: 1\n").is_empty());
    }

    /// An IIS log whose header block changes mid-file (a restart with other fields: the
    /// status column moves, and the old status column holds `409` as bytes sent), cut into
    /// two chunks at every line: the digit search under the directive in force at each line
    /// finds what parsing every line in turn finds.
    #[test]
    fn directives_are_in_force_wherever_the_scan_starts() {
        let log = "#Software: Microsoft Internet Information Services 10.0\n\
#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) sc-status sc-substatus sc-win32-status sc-bytes time-taken\n\
2026-03-02 09:00:01 10.0.0.5 PUT /api/v1/orders/1 - 443 - 203.0.113.7 okhttp/4.9 409 0 0 120 15\n\
2026-03-02 09:00:02 10.0.0.5 PUT /api/v1/orders/2 - 443 - 203.0.113.8 okhttp/4.9 200 0 0 409 15\n\
#Software: Microsoft Internet Information Services 10.0\n\
#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) sc-bytes sc-status sc-substatus sc-win32-status time-taken\n\
2026-03-02 09:10:01 10.0.0.5 PUT /api/v1/orders/3 - 443 - 203.0.113.9 okhttp/4.9 409 200 0 0 15\n\
2026-03-02 09:10:02 10.0.0.5 PUT /api/v1/orders/4 - 443 - 203.0.113.10 okhttp/4.9 120 409 0 0 15\n\
2026-03-02 09:10:03 10.0.0.5 PATCH /api/v1/orders/409 - 443 - 203.0.113.11 okhttp/4.9 88 412 0 0 15\n";
        let fmt = format::by_name("w3c").unwrap();
        let settings = Settings {
            statuses: vec![409, 412],
            ..Settings::default()
        };
        let data = log.as_bytes();
        let whole = scanned_in_parts(&EveryLine(fmt.as_ref()), data, &[], &settings);
        // `/orders/1`, `/orders/4` and `/orders/409`.
        assert_eq!(whole.0.len(), 3);
        assert_eq!(whole.1, ["203.0.113.10", "203.0.113.11", "203.0.113.7"]);
        let starts = std::iter::once(0).chain(memchr::memchr_iter(b'\n', data).map(|p| p + 1));
        for cut in starts.filter(|&c| c < data.len()) {
            let cuts: &[usize] = if cut == 0 { &[] } else { &[cut] };
            let parts = scanned_in_parts(fmt.as_ref(), data, cuts, &settings);
            assert_eq!(parts, whole, "cut at {cut}");
        }
    }

    fn scanned(fmt: &dyn Format, data: &[u8], statuses: &[u16]) -> Conflicts {
        scanned_by(fmt, data, statuses, ClientKey::Ip).0
    }

    /// Real-shaped inputs of several formats: the digit search finds exactly the conflicting
    /// instances (and their first and last times) and clients that parsing every line
    /// finds, whatever names the client.
    #[test]
    fn the_digit_search_finds_what_parsing_every_line_finds() {
        for (f, data, fmt) in format::testing::fixtures() {
            for statuses in [&[409, 412, 423, 428][..], &[409], &[428, 412], &[200]] {
                for key in [ClientKey::Ip, ClientKey::ApiKey, ClientKey::User] {
                    let fast = scanned_by(fmt.as_ref(), &data, statuses, key.clone());
                    let all = scanned_by(&EveryLine(fmt.as_ref()), &data, statuses, key);
                    assert_eq!(fast, all, "{f} {statuses:?}");
                    if statuses.contains(&409) || statuses.contains(&200) {
                        assert!(!fast.0.is_empty() && !fast.1.is_empty(), "{f} {statuses:?}");
                    }
                }
            }
        }
    }

    /// Docker's envelope is unescaped before parsing, so `\u0034\u00309` (or, read
    /// leniently, `\4\09`) is a 409 there: a chunk holding such an escape is scanned line
    /// by line, one without by its digits, and either way the scan finds what parsing every
    /// line finds.
    #[test]
    fn an_unescaped_envelope_is_scanned_line_by_line_where_a_digit_is_escaped() {
        let fmt = format::by_name("docker+combined").unwrap();
        let line = |status: &str, path: &str| {
            format!(
                r#"{{"log":"10.0.0.1 - - [02/Mar/2026:09:14:05 +0000] \"PUT {path} HTTP/1.1\" {status} 87 \"-\" \"curl/8\"\n","stream":"stdout"}}"#
            )
        };
        let plain = [line("409", "/a/1"), line("200", "/a/2")].join("\n");
        let escaped = [
            line("409", "/a/1"),
            line(r"\u0034\u00309", "/a/2"),
            line(r"\4\09", "/a/3"),
            line("200", "/a/4"),
        ]
        .join("\n");
        assert!(fmt.status_in_raw_line(plain.as_bytes()));
        assert!(!fmt.status_in_raw_line(escaped.as_bytes()));
        for (data, conflicting) in [(&plain, 1), (&escaped, 3)] {
            let fast = scanned(fmt.as_ref(), data.as_bytes(), &[409]);
            let all = scanned(&EveryLine(fmt.as_ref()), data.as_bytes(), &[409]);
            assert_eq!((fast.len(), &fast), (conflicting, &all));
        }
        let cri = format::by_name("cri+combined").unwrap();
        assert!(cri.status_in_raw_line(br"2026-03-02T09:14:05Z stdout F \u0034"));
    }

    /// Each format's own example line, with its status made a conflict.
    #[test]
    fn every_format_sample_is_found_by_its_status() {
        for fmt in format::registry() {
            let mut req = Request::default();
            let line = fmt.sample().as_bytes();
            let mut cx = LineContext::default();
            fmt.parse(line, &mut cx, &mut req).unwrap();
            let status = req.status;
            let fast = scanned(fmt.as_ref(), line, &[status]);
            let all = scanned(&EveryLine(fmt.as_ref()), line, &[status]);
            assert_eq!(fast, all, "{}", fmt.name());
            assert_eq!(fast.len(), 1, "{}", fmt.name());
        }
    }
}
