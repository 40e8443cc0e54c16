//! The pass: every line parsed and counted, the lines of conflicting instances and their
//! relatives kept as events (context for the detectors).

use super::line_reader::{LineReader, instance_of};
use super::{Job, PhaseClock, Reading, Settings, directive_at, per_worker};
use crate::agent::{Agent, AgentMemo};
use crate::aggregate::{Accounting, ClientIndex, Numbers, Observation, Tally};
use crate::format::Format;
use crate::input;
use crate::interest::{Interest, Look, Looks};
use crate::line_numbers::{BlockMarks, LineNumbers};
use crate::progress::Stage;
use crate::record::{Micros, Origin, Request, StatusSet};
use crate::resource::{self, Templater};
use crate::seek::Seek;
use crate::timeline::{Client, Event, EventFields, TimelineBuilder};
use rayon::prelude::*;

/// What the pass read: the counts, the events kept, the requests counted on each key, and
/// each input's line accounting with where its chunks' lines start.
pub(super) struct Read {
    pub tally: Tally,
    pub events: TimelineBuilder,
    /// Requests on each key, by key number.
    pub requests: Vec<u64>,
    pub accounts: Vec<Accounting>,
    pub line_numbers: LineNumbers,
}

/// The pass over every job: every line counted, the lines of conflicting instances and
/// their relatives kept as events. Each worker folds the chunks it takes into its own
/// `Collected` (its template numbering stays warm), and the few are merged at the end:
/// merging is order-independent (sums, unions, min/max; timelines are renumbered and sorted
/// by `build`). Line accounting is kept per chunk, in order, because skip examples and
/// events are numbered by line. The client table's lookups are freed once the workers are
/// done (`ClientIndex::forget_lookups`).
pub(super) fn read_every_line(
    reading: &Reading,
    seeks: &[Option<Seek>],
    templater: &Templater,
    bucket_us: Micros,
    interest: &Interest,
    clients: &mut ClientIndex,
    clock: &PhaseClock,
) -> Read {
    let jobs = reading.jobs;
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
    let shared: &ClientIndex = clients;
    for (accts, c, _) in per_worker(jobs, |state: &mut State, k, job| {
        let (accts, collected, arena) = state;
        arena.reset();
        let (inp, fmt) = &reading.opened[job.input];
        let (acct, marks) = pass(
            *fmt,
            inp.bytes(),
            arena,
            job,
            directive_at(&reading.directives[job.input], job.range.start),
            reading.settings,
            templater,
            reading.statuses,
            bucket_us,
            interest,
            shared,
            collected,
        );
        (collected.tally).flush_numbers(&mut numbers.lock().unwrap_or_else(|e| e.into_inner()));
        accts.push((k, acct, marks));
        reading.progressed(job);
    }) {
        chunk_accounts.extend(accts);
        collected.push(c);
    }
    clock.mark("pass (workers)");
    clients.forget_lookups();
    reading.stage(Stage::Finishing, 0);
    let Collected {
        mut tally, events, ..
    } = merge_collected(collected);
    tally.take_numbers(numbers.into_inner().unwrap_or_else(|e| e.into_inner()));
    let requests = std::mem::take(&mut tally.requests);
    chunk_accounts.sort_by_key(|(k, ..)| *k);
    let (accounts, line_numbers) = accounts_by_input(jobs, chunk_accounts, seeks);
    tally.seal();
    clock.mark("pass");
    Read {
        tally,
        events,
        requests,
        accounts,
        line_numbers,
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
        if look.counted() {
            out.tally.count_route_instance(instance);
        }
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
