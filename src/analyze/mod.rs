//! The pipeline: inputs → format detection → conflict scan (which instances had conflicts,
//! from the few lines holding a conflict status's digits, see `crate::scan`) → the pass (every
//! line parsed and counted; the lines of conflicting instances and their relatives kept as
//! context) → timelines → detectors.
//!
//! The scan and the pass split every input into chunks at line boundaries and read them
//! with rayon; chunk results are combined in input order, so the analysis is the same for
//! any thread count or chunk size.
//!
//! Each step in a file of its own: `opening` (the inputs listed, opened, their formats
//! picked), `period` (when the requests are: the estimate before the pass, `--last`, the
//! seek's parts, the window), `conflict_scan`, `pass`, `checks` (what the analysis says of
//! what it read); `line_reader` is how each of them reads a line.

use crate::aggregate::{Accounting, ClientIndex, InstanceConflicts, Tally};
use crate::client::ClientKey;
use crate::detect::{self, Finding, Thresholds};
use crate::format::{self, Format, LineContext};
use crate::input::{self, Input};
use crate::interest::Interest;
use crate::line_numbers::{LineNumbers, MAX_CHUNK};
use crate::names::{self, NamePositions};
use crate::progress::{Progress, Stage};
use crate::record::{Method, Micros, Request, StatusSet};
use crate::resource::{self, Route, Templater};
use crate::seek::Seek;
use crate::timeline::{InstanceId, TimelineBuilder, Timelines};
use crate::timestamp;
use crate::unexplained::{self, Unexplained};
use anyhow::{Result, bail};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::cmp::Ordering;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

mod checks;
mod conflict_scan;
mod line_reader;
mod opening;
mod other_text;
mod pass;
mod period;

use checks::{check_some_line_read, count_warnings, scan_and_pass_disagree};
use conflict_scan::scan_jobs;
use line_reader::{LineReader, instance_of};
pub use opening::first_and_more;
use opening::{Listed, Picked, forced_format, sources};
pub use pass::IDEMPOTENCY_HEADERS;
use pass::{Read, read_every_line};
pub use period::round_window;
use period::{
    Ends, estimate_period, far_from_the_rest, resolve_last, route_bucket, seek_ranges,
    timeline_window,
};

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
    /// A route whose instances' requests the pass counts (`explain` given a route).
    pub counted_route: Option<String>,
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
            counted_route: None,
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

    /// Whether a time range is asked for (`--since`, `--until` or `--last`).
    fn has_range(&self) -> bool {
        self.since.is_some() || self.until.is_some() || self.last.is_some()
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

/// The directive in force at `offset`: the last directive line that starts before it.
fn directive_at<'a>(directives: &[(usize, &'a [u8])], offset: usize) -> Option<&'a [u8]> {
    let k = directives.partition_point(|(o, _)| *o < offset);
    k.checked_sub(1).map(|i| directives[i].1)
}

/// The directives (W3C/IIS/CloudFront `#Fields:`) of each input whose format has them, all
/// found before any line is read: a line is read under the one in force at its offset (IIS
/// starts a new header block at every restart, anywhere in a file).
fn directives_of<'a>(opened: &'a [(Input, &dyn Format)]) -> Vec<Vec<(usize, &'a [u8])>> {
    (opened.iter())
        .map(|(i, f)| match f.has_directives() {
            true => find_directives(*f, i.bytes()),
            false => Vec::new(),
        })
        .collect()
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

/// One chunk of one input, read by one worker.
struct Job {
    input: usize,
    range: Range<usize>,
}

/// What the scan and the pass read, and how: the inputs with their formats and directives,
/// cut into jobs at line boundaries, and what reading a line asks of the settings.
struct Reading<'a> {
    opened: &'a [(Input, &'a dyn Format)],
    /// Each input's directive lines (W3C/IIS/CloudFront `#Fields:`) and their offsets.
    directives: &'a [Vec<(usize, &'a [u8])>],
    jobs: &'a [Job],
    settings: &'a Settings,
    statuses: &'a StatusSet,
}

impl Reading<'_> {
    /// The bytes the jobs read.
    fn bytes(&self) -> u64 {
        self.jobs.iter().map(|j| j.range.len() as u64).sum()
    }

    /// Tells the progress bar that `job` was read.
    fn progressed(&self, job: &Job) {
        if let Some(p) = &self.settings.progress {
            p.add(job.range.len() as u64);
        }
    }

    /// Starts the progress bar's next stage.
    fn stage(&self, stage: Stage, total: u64) {
        if let Some(p) = &self.settings.progress {
            p.start(stage, total);
        }
    }
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
    let mut listed = Listed::new(settings, by_date, &mut warnings)?;
    let forced = forced_format(settings)?;
    let registry = format::registry();
    let Picked { opened, empties } =
        listed.open(settings, forced.as_deref(), &registry, &mut warnings)?;

    let statuses = StatusSet::new(&settings.statuses);
    let directives = directives_of(&opened);
    let period = estimate_period(&opened, &directives, settings);

    // --last: the range ends at the latest time at the inputs' ends.
    let resolved = match resolve_last(settings, period, &opened) {
        // No dated line at the ends of the files read: the unread ones may have them.
        Err(_) if listed.any_unread() => return analyze_inputs(settings, false),
        r => r?,
    };
    let asked = settings;
    let settings = resolved.as_ref().unwrap_or(settings);
    if settings.last.is_some() && listed.unread_may_hold(settings.since, settings.until) {
        drop(opened);
        return analyze_inputs(asked, false);
    }
    warnings.extend(listed.unread_warning(settings.last.is_some()));

    let bucket_us = route_bucket(period, settings);

    let templater = Templater::new(settings.routes.clone());
    let names = learn_names(&opened, &directives, settings, &templater);
    let templater = templater.with_names(names);
    let seeks = seek_ranges(&opened, &directives, settings);
    let jobs = jobs_of(&opened, &seeks, settings);
    let reading = Reading {
        opened: &opened,
        directives: &directives,
        jobs: &jobs,
        settings,
        statuses: &statuses,
    };
    clock.mark("open, names");

    let (
        Read {
            tally,
            events,
            requests,
            accounts,
            line_numbers,
        },
        interest,
        clients,
    ) = read_inputs(&reading, &seeks, &templater, bucket_us, &clock);
    if clock.on {
        eprintln!(
            "why409: kept {} events on {} keys",
            events.len(),
            interest.len()
        );
    }
    warnings.extend(scan_and_pass_disagree(&tally, &interest));
    check_some_line_read(&opened, &accounts, &mut warnings)?;
    // Nothing to analyse though inputs were given and none was empty or left unread by
    // date: an error, whatever the warnings were (an archive whose one file decodes to
    // garbage past its damage warns of the damage, then skips the file as no log).
    if opened.is_empty() && empties.is_empty() && !listed.is_empty() && !listed.any_unread() {
        bail!("no input could be read: {}", warnings.join("; "));
    }
    warnings.extend(count_warnings(&accounts, &tally, &clients, settings));
    clock.mark("checks");
    let (timelines, instance_requests) =
        build_timelines(events, interest, &tally, &requests, &clients);
    clock.mark("timelines");

    let ends = Ends::of(&opened, &accounts);
    let requested = ends.period();
    let period = requested.unwrap_or((0, 0));
    warnings.extend(far_from_the_rest(&tally.seconds, ends.places()));
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

    Ok(Analysis {
        sources: sources(opened, accounts, empties),
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
        inputs_not_read: listed.unread_paths(),
        warnings,
        period: requested,
        line_numbers,
    })
}

/// Which lines matter, then every line: the conflict scan (which instances had conflicts,
/// when, and which clients), the keys of interest it gives, and the pass.
fn read_inputs(
    reading: &Reading,
    seeks: &[Option<Seek>],
    templater: &Templater,
    bucket_us: Micros,
    clock: &PhaseClock,
) -> (Read, Interest, ClientIndex) {
    let settings = reading.settings;
    let to_read = reading.bytes();
    reading.stage(Stage::Scanning, to_read);
    let (conflicts, mut clients) = scan_jobs(reading);
    let min = settings
        .thresholds
        .get("client_concentration_min_conflicts");
    clients.choose_candidates(min.clamp(1.0, u32::MAX as f64) as u32);
    clock.mark("scan");
    reading.stage(Stage::Reading, to_read);
    let mut interest = Interest::new(conflicts, &settings.extra_instances);
    if let Some(route) = &settings.counted_route {
        interest.count_instances_of(route, templater);
    }
    // Templating the keys costs about what looking up a line does; with a key for every
    // few lines (a key per 2 KiB read: a line in ten or more), most lines are on keys'
    // templates anyway, and it would cost more than the lookups it saves (a log of 100,000
    // conflicting instances in 150,000 lines: 1.7 % more instructions).
    if (interest.len() as u64).saturating_mul(KEY_TEMPLATES_BYTES) <= to_read {
        interest.learn_templates(templater);
    }
    clock.mark("interest");
    let read = read_every_line(
        reading,
        seeks,
        templater,
        bucket_us,
        &interest,
        &mut clients,
        clock,
    );
    (read, interest, clients)
}

/// The jobs: each input (the part of it a seek kept) cut into chunks at line boundaries.
fn jobs_of(
    opened: &[(Input, &dyn Format)],
    seeks: &[Option<Seek>],
    settings: &Settings,
) -> Vec<Job> {
    opened
        .iter()
        .zip(seeks)
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
        .collect()
}

/// The timelines of the events kept, and the requests counted on each key. The keys' names
/// go to the timelines (which copy those of keys with events); those of conflicting keys
/// that kept no event (none, by construction) are kept aside first.
fn build_timelines(
    events: TimelineBuilder,
    interest: Interest,
    tally: &Tally,
    requests: &[u64],
    clients: &ClientIndex,
) -> (Timelines, InstanceRequests) {
    let names = interest.into_names();
    let unseen = (tally.instances.iter())
        .filter(|&(k, _)| !events.has_events(k))
        .map(|(k, _)| {
            let n = requests.get(k as usize).copied().unwrap_or(0);
            (k, (names[k as usize].to_string(), n))
        })
        .collect();
    let (timelines, instance_of) = events.build(names, clients.names());
    let mut by_instance = vec![0u64; timelines.instance_count()];
    for (&id, &n) in instance_of.iter().zip(requests) {
        if id != NO_INSTANCE {
            by_instance[id as usize] = n;
        }
    }
    let instance_requests = InstanceRequests {
        instance_of,
        by_instance,
        unseen,
    };
    (timelines, instance_requests)
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
