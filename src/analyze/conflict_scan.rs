//! The conflict scan, before the pass: which instances had conflicts, and when, and which
//! clients, read from the few lines that hold a conflict status's digits (`crate::scan`).

use super::line_reader::{LineReader, instance_of};
use super::{Reading, Settings, directive_at, per_worker};
use crate::aggregate::ClientIndex;
use crate::client::ClientKey;
use crate::format::{Format, LineContext};
use crate::input;
use crate::interest::Conflicts;
use crate::record::{Micros, Request, StatusSet};
use crate::scan::StatusDigits;
use rayon::prelude::*;

/// The conflict scan of every job: which instances had conflicts, and when, and which
/// clients; nothing when no conflict status can be found by its digits.
pub(super) fn scan_jobs(reading: &Reading) -> (Conflicts, ClientIndex) {
    let Reading {
        opened,
        directives,
        jobs,
        settings,
        statuses,
    } = *reading;
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
            reading.progressed(job);
        })
        .into_par_iter()
        // Pairwise and side by side, as the pass's results (`merge_collected`): on a
        // million conflicting instances from a million clients each merge took ~0.15 s.
        .reduce_with(|(a, ac), (b, bc)| rayon::join(|| Conflicts::merge(a, b), || ac.merged(bc)))
        .unwrap_or_default(),
    }
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
    let directive = directive_at(directives, base);
    let mut cx = settings.line_context(directive, true);
    let mut cx_full = settings.line_context(directive, false);
    let reader = ConflictReader::new(fmt, settings, statuses);
    let mut ahead = Ahead::default();
    if fmt.status_in_raw_line(chunk) {
        for line in digits.lines(chunk) {
            // The search skips lines, so a layout directive (W3C `#Fields:`) is not met in
            // turn: the one in force is looked up by offset.
            if !directives.is_empty() {
                let at = base + (line.as_ptr() as usize - chunk.as_ptr() as usize);
                cx.directive = directive_at(directives, at);
            }
            if let Some(f) = reader.read(line, &mut cx, &mut cx_full) {
                ahead.push(f, conflicts, clients);
            }
        }
    } else {
        for line in input::lines(chunk) {
            if let Some(f) = reader.read(line, &mut cx, &mut cx_full) {
                ahead.push(f, conflicts, clients);
            }
        }
    }
    ahead.finish(conflicts, clients);
}

/// Reads a line down to the conflict it holds, if any: its instance, time and client.
struct ConflictReader<'r> {
    fmt: &'r dyn Format,
    reader: LineReader<'r>,
    settings: &'r Settings,
    statuses: &'r StatusSet,
    /// Time, target, status and the filtered fields are all a lite parse leaves; the
    /// address is the client too (and the user, in some formats), else a conflict line's
    /// read is completed for its client (as the pass reads every line in full then).
    lite: bool,
}

impl<'r> ConflictReader<'r> {
    fn new(fmt: &'r dyn Format, settings: &'r Settings, statuses: &'r StatusSet) -> Self {
        ConflictReader {
            fmt,
            reader: LineReader::new(fmt, settings),
            settings,
            statuses,
            lite: settings.client.lite_serves(fmt),
        }
    }

    /// The conflict on `line`, read lite in `cx` and completed in `cx_full` when the
    /// client needs it.
    fn read<'a>(
        &self,
        line: &'a [u8],
        cx: &mut LineContext<'a>,
        cx_full: &mut LineContext<'a>,
    ) -> Option<Found<'a>> {
        let fmt = self.fmt;
        let mut req = Request::default();
        if self.reader.read(line, cx, &mut req) != Ok(true) || !self.statuses.contains(req.status) {
            return None;
        }
        let instance = instance_of(&req);
        let key = &self.settings.client;
        if *key == ClientKey::Ip {
            let client = ClientKey::Ip.of(&req, line, fmt);
            return Some(Found::new(instance, req.time, Some(client), false));
        }
        if !self.lite {
            cx_full.directive = cx.directive;
            if fmt.complete(line, cx_full, &mut req).is_err() {
                // The conflict stands; its client is not read.
                return Some(Found::new(instance, req.time, None, false));
            }
        }
        Some(match key.chosen(&req, line, fmt) {
            Some(name) => Found::new(instance, req.time, Some(name), false),
            None => Found::new(
                instance,
                req.time,
                Some(ClientKey::Ip.of(&req, line, fmt)),
                true,
            ),
        })
    }
}

/// Conflicts read and not yet noted: each is noted `Found::AHEAD` conflicts after it was
/// read, its places in the two tables asked for when it was read (a log of a million
/// conflicting instances, a line in five, met a cache miss in each table for each conflict,
/// one after another: two fifths of the scan, sampled).
#[derive(Default)]
struct Ahead<'a> {
    queue: std::collections::VecDeque<Found<'a>>,
}

impl<'a> Ahead<'a> {
    fn push(&mut self, f: Found<'a>, conflicts: &mut Conflicts, clients: &mut ClientIndex) {
        conflicts.prefetch(&f.instance);
        if let Some(c) = &f.client {
            clients.prefetch(c);
        }
        if self.queue.len() == Found::AHEAD
            && let Some(due) = self.queue.pop_front()
        {
            due.note(conflicts, clients);
        }
        self.queue.push_back(f);
    }

    /// Notes the conflicts still queued.
    fn finish(self, conflicts: &mut Conflicts, clients: &mut ClientIndex) {
        for due in self.queue {
            due.note(conflicts, clients);
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::find_directives;
    use crate::format;
    use crate::record::Skip;

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
