//! Counts: by template, client with conflicts, conflicting instance and second, plus line
//! accounting.
//!
//! Each worker fills its own `Tally`, and tallies are merged, so the result does not depend
//! on how the input was chunked or how many threads ran; what conflicts note by client and
//! key number goes, at the end of each chunk, into one `Numbers` for all workers. Memory is
//! bounded by the number of templates, *conflicting* clients and *conflicting* instances —
//! never by the number of lines, nor by the number of addresses a public API's log holds.

use crate::name_list::NameList;
use crate::per_second::PerSecond;
use crate::record::{Micros, Skip};
use crate::short_names::{ShortNames, packed};
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Requests, writes and conflicts.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub requests: u64,
    pub writes: u64,
    pub conflicts: u64,
}

impl Counts {
    pub fn add(&mut self, o: &Counts) {
        self.requests += o.requests;
        self.writes += o.writes;
        self.conflicts += o.conflicts;
    }
}

/// The user agents a client sent its conflicts with: the first conflict's (earliest time, then
/// input and offset, so any chunking picks the same one) and how many distinct ones, counted by
/// hash up to `ClientAgents::COUNTED`. 40 bytes per conflicting client (a log can have a
/// million); the texts are kept once per distinct agent, in `AgentTexts`.
#[derive(Debug, Clone)]
pub struct ClientAgents {
    /// (time, input, offset) of the first conflict with a user agent, and that agent's hash
    /// (0 before one).
    first: (Micros, u32, u64),
    first_hash: u64,
    /// The distinct agents' hashes (never 0) other than `first_hash`, which counts as one
    /// of them: boxed, as most clients send one.
    more: Option<Box<MoreAgents>>,
}

#[derive(Debug, Clone, Default)]
struct MoreAgents {
    seen: Vec<u64>,
    /// More distinct agents than `ClientAgents::COUNTED` were seen.
    over: bool,
}

/// The text of each user agent by hash: only those that were some client's first.
pub type AgentTexts = FxHashMap<u64, Box<str>>;

impl Default for ClientAgents {
    fn default() -> Self {
        ClientAgents {
            first: (Micros::MAX, u32::MAX, u64::MAX),
            first_hash: 0,
            more: None,
        }
    }
}

impl ClientAgents {
    /// Distinct user agents are counted up to this many.
    pub const COUNTED: usize = 64;
    /// A user agent is kept to this many bytes (cut at a character boundary).
    const KEPT: usize = 256;

    /// Notes a conflict at `at` (time, input, offset) sent with `user_agent` (`None` or `-`:
    /// not logged, which is not counted as a user agent); a new first agent's text goes into
    /// `texts`.
    pub fn note(
        &mut self,
        at: (Micros, u32, u64),
        user_agent: Option<&str>,
        texts: &mut AgentTexts,
    ) {
        let Some(ua) = user_agent.filter(|u| crate::record::is_logged(u)) else {
            return;
        };
        let hash = std::hash::BuildHasher::hash_one(&rustc_hash::FxBuildHasher, ua) | 1;
        if at < self.first {
            self.first = at;
            self.make_first(hash);
            texts.entry(hash).or_insert_with(|| {
                let cut = (0..=ua.len().min(Self::KEPT))
                    .rev()
                    .find(|&k| ua.is_char_boundary(k))
                    .unwrap_or(0);
                ua[..cut].into()
            });
        } else {
            self.count(hash);
        }
    }

    /// Makes `hash` the first conflict's agent; the one it replaces stays counted.
    fn make_first(&mut self, hash: u64) {
        let old = std::mem::replace(&mut self.first_hash, hash);
        if old == hash {
            return;
        }
        if let Some(m) = &mut self.more
            && let Some(p) = m.seen.iter().position(|&h| h == hash)
        {
            m.seen.swap_remove(p);
        }
        if old != 0 {
            self.count(old);
        }
    }

    /// Counts agent `hash` among the distinct ones (a note after the first's).
    fn count(&mut self, hash: u64) {
        if self.first_hash == hash {
            return;
        }
        let more = self.more.get_or_insert_default();
        if !more.seen.contains(&hash) {
            if more.seen.len() + 1 < Self::COUNTED {
                more.seen.push(hash);
            } else {
                more.over = true;
            }
        }
    }

    /// Takes in another part's notes on the same client.
    pub fn absorb(&mut self, o: ClientAgents) {
        if o.first < self.first {
            self.first = o.first;
            self.make_first(o.first_hash);
        } else if o.first_hash != 0 {
            self.count(o.first_hash);
        }
        if let Some(m) = o.more {
            m.seen.into_iter().for_each(|h| self.count(h));
            if m.over {
                self.more.get_or_insert_default().over = true;
            }
        }
    }

    /// The first conflict's user agent, if any was logged.
    pub fn first<'a>(&self, texts: &'a AgentTexts) -> Option<&'a str> {
        (self.first_hash != 0)
            .then(|| texts.get(&self.first_hash).map(|t| &**t))
            .flatten()
    }

    /// Distinct user agents, and whether there were more than `COUNTED`.
    pub fn distinct(&self) -> (usize, bool) {
        let more = self.more.as_deref();
        (
            usize::from(self.first_hash != 0) + more.map_or(0, |m| m.seen.len()),
            more.is_some_and(|m| m.over),
        )
    }
}

/// How many examples of each skip reason are kept.
pub const SKIP_EXAMPLES: usize = 3;

/// A skipped line kept as an example: 1-based line number (chunk-local until merged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkipExample {
    pub reason: &'static str,
    pub line: u64,
    pub text: String,
}

/// Of the lines kept as context for conflicting instances (the lines the detectors read),
/// how many logged each field some causes need: without durations overlaps are only
/// possible, without the upstream's status `gateway_generated` cannot be told, without an
/// idempotency key `idempotency_conflict` cannot be found, without a user agent
/// `control_plane_conflict` sees only admin paths.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ContextFields {
    pub lines: u64,
    pub durations: u64,
    pub upstream_status: u64,
    pub idempotency_key: u64,
    pub user_agent: u64,
}

impl ContextFields {
    pub fn add(&mut self, o: &ContextFields) {
        self.lines += o.lines;
        self.durations += o.durations;
        self.upstream_status += o.upstream_status;
        self.idempotency_key += o.idempotency_key;
        self.user_agent += o.user_agent;
    }
}

/// Skipped lines by reason, in the order first met. A line skipped is counted here: a
/// log of junk or blank lines counts millions, and a map's string compares were a quarter
/// of a GiB of blank lines' time. The reasons are few; the last one is most often the next.
#[derive(Debug, Default, Clone)]
pub struct SkipCounts(Vec<(&'static str, u64)>);

impl SkipCounts {
    /// Counts `n` more lines skipped for `reason`; returns its count.
    #[inline]
    pub fn add(&mut self, reason: &'static str, n: u64) -> u64 {
        // The same constant is usually the same address: compared first, cheaply.
        let same = |r: &&str| std::ptr::eq(*r, reason) || *r == reason;
        let slot = match self.0.iter().rposition(|(r, _)| same(r)) {
            Some(k) => &mut self.0[k].1,
            None => {
                self.0.push((reason, 0));
                &mut self.0.last_mut().expect("just pushed").1
            }
        };
        *slot += n;
        *slot
    }

    /// The lines skipped for `reason`.
    pub fn get(&self, reason: &str) -> u64 {
        self.0
            .iter()
            .find(|(r, _)| *r == reason)
            .map_or(0, |&(_, n)| n)
    }

    /// Each reason and its count, in the order first met.
    pub fn iter(&self) -> std::slice::Iter<'_, (&'static str, u64)> {
        self.0.iter()
    }
}

/// Line accounting for one input (or one chunk of it).
#[derive(Debug, Default, Clone)]
pub struct Accounting {
    pub lines: u64,
    pub parsed: u64,
    /// Parsed but outside `--since/--until` or another filter.
    pub filtered: u64,
    pub skipped: u64,
    /// Lines not read: outside `--since/--until` by their place in a time-ordered input
    /// (`seek`). Counted in `lines`, neither parsed nor skipped.
    pub unread: u64,
    /// The first and last line read when a seek left lines unread (the last is before the
    /// first when no line was read).
    pub read_lines: Option<(u64, u64)>,
    pub skip_reasons: SkipCounts,
    pub skip_examples: Vec<SkipExample>,
    /// The earliest and the latest counted request: its time and 1-based line (the first
    /// such line on ties). The analysis period is theirs, and a request dated far from the
    /// rest can be pointed at.
    pub earliest: Option<(Micros, u64)>,
    pub latest: Option<(Micros, u64)>,
    pub context: ContextFields,
}

impl Accounting {
    pub fn skip(&mut self, reason: Skip, line_no: u64, text: &[u8]) {
        self.skipped += 1;
        let n = self.skip_reasons.add(reason.0, 1);
        if n as usize <= SKIP_EXAMPLES {
            let shown = &text[..text.len().min(300)];
            self.skip_examples.push(SkipExample {
                reason: reason.0,
                line: line_no,
                text: String::from_utf8_lossy(shown).into_owned(),
            });
        }
    }

    /// Notes a counted request's time on line `line_no`.
    #[inline]
    pub fn dated(&mut self, time: Micros, line_no: u64) {
        if self.earliest.is_none_or(|(t, _)| time < t) {
            self.earliest = Some((time, line_no));
        }
        if self.latest.is_none_or(|(t, _)| time > t) {
            self.latest = Some((time, line_no));
        }
    }

    /// Appends a later chunk whose line numbers start after `self.lines`.
    pub fn append(&mut self, o: Accounting) {
        let base = self.lines;
        if let Some((t, line)) = o.earliest
            && self.earliest.is_none_or(|(e, _)| t < e)
        {
            self.earliest = Some((t, base + line));
        }
        if let Some((t, line)) = o.latest
            && self.latest.is_none_or(|(l, _)| t > l)
        {
            self.latest = Some((t, base + line));
        }
        self.lines += o.lines;
        self.parsed += o.parsed;
        self.filtered += o.filtered;
        self.context.add(&o.context);
        self.skipped += o.skipped;
        self.unread += o.unread;
        for &(r, n) in o.skip_reasons.iter() {
            self.skip_reasons.add(r, n);
        }
        for mut e in o.skip_examples {
            let kept = self
                .skip_examples
                .iter()
                .filter(|x| x.reason == e.reason)
                .count();
            if kept < SKIP_EXAMPLES {
                e.line += base;
                self.skip_examples.push(e);
            }
        }
    }
}

/// Conflicts seen on one instance.
#[derive(Debug, Clone)]
pub struct InstanceConflicts {
    /// Shared by the instances of one template (a large log has a hundred thousand
    /// conflicting instances and a few dozen templates). An `Arc<String>`, not an
    /// `Arc<str>`: a thin pointer, which makes a conflicting instance's entry 56 bytes
    /// where it was 64 (a million of them: 8 MB).
    pub template: Arc<String>,
    pub conflicts: u64,
    pub first: Micros,
    pub last: Micros,
    pub clients: ClientSet,
}

impl InstanceConflicts {
    fn new(template: &Arc<String>, time: Micros) -> InstanceConflicts {
        InstanceConflicts {
            template: Arc::clone(template),
            conflicts: 0,
            first: time,
            last: time,
            clients: ClientSet::new(),
        }
    }

    fn observe(&mut self, time: Micros, client_number: Option<u32>, client: &str) {
        self.conflicts += 1;
        self.first = self.first.min(time);
        self.last = self.last.max(time);
        self.clients.insert(client_number, client);
    }

    /// Takes in another part's conflicts on the same instance.
    fn absorb(&mut self, o: InstanceConflicts) {
        self.conflicts += o.conflicts;
        self.first = self.first.min(o.first);
        self.last = self.last.max(o.last);
        self.clients.extend(o.clients);
    }
}

/// Conflicts on keyed instances, by key number: a slot per key (4 bytes) and the conflicts
/// of the keys met only (a place for every key cost 72 bytes a key). The analysis keeps
/// one (`Numbers`); a chunk notes its keys' conflicts in a map (`ChunkNumbers`).
#[derive(Debug, Default, Clone)]
pub struct KeyedConflicts {
    /// Per key number: 1 + its place in `met`, 0 when not met.
    slots: Vec<u32>,
    met: Vec<(u32, InstanceConflicts)>,
}

impl KeyedConflicts {
    /// Room for `n` keys, each of which will be met (the conflicting instances: the pass
    /// meets each of the scan's): made once and exactly, where growing by doubling held
    /// room for up to as many again.
    fn expect_keys(&mut self, n: usize) {
        if self.slots.len() < n {
            self.slots.resize(n, 0);
        }
        self.met.reserve_exact(n.saturating_sub(self.met.len()));
    }

    /// Where key `key`'s conflicts are in `met`, if it was met.
    fn place(&self, key: u32) -> Option<usize> {
        match self.slots.get(key as usize) {
            Some(&s) if s > 0 => Some(s as usize - 1),
            _ => None,
        }
    }

    /// The conflicts on key `key`, if any were met.
    pub fn get(&self, key: u32) -> Option<&InstanceConflicts> {
        self.place(key).map(|p| &self.met[p].1)
    }

    /// The keys met and their conflicts, in the order met.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &InstanceConflicts)> {
        self.met.iter().map(|(k, c)| (*k, c))
    }

    /// How many keys were met.
    pub fn len(&self) -> usize {
        self.met.len()
    }

    pub fn is_empty(&self) -> bool {
        self.met.is_empty()
    }

    fn get_or_insert_with(
        &mut self,
        key: u32,
        new: impl FnOnce() -> InstanceConflicts,
    ) -> &mut InstanceConflicts {
        let k = key as usize;
        if k >= self.slots.len() {
            self.slots.resize(k + 1, 0);
        }
        if self.slots[k] == 0 {
            self.met.push((key, new()));
            self.slots[k] = self.met.len() as u32;
        }
        &mut self.met[self.slots[k] as usize - 1].1
    }

    fn absorb(&mut self, mut o: KeyedConflicts) {
        // Into the larger: a million conflicting instances copied into an empty start
        // were two copies at the peak.
        if self.met.len() < o.met.len() {
            std::mem::swap(self, &mut o);
        }
        for (key, c) in o.met {
            self.absorb_one(key, c);
        }
    }

    /// Takes in another part's conflicts on key `key`.
    fn absorb_one(&mut self, key: u32, c: InstanceConflicts) {
        match self.place(key) {
            Some(p) => self.met[p].1.absorb(c),
            None => {
                self.get_or_insert_with(key, || c);
            }
        }
    }
}

/// The distinct clients of one instance's conflicts. Most instances have one, and a log
/// has up to a million such instances, so a client is kept by its number in the analysis's
/// `ClientIndex` (the conflict scan numbers the clients of conflicts), the first inline and
/// the rest boxed: a list of packed names with a heap block each was 64 bytes an instance.
/// A client without a number (observed outside an analysis) is kept by name.
#[derive(Debug, Clone)]
pub struct ClientSet {
    /// The first numbered client, `NO_CLIENT` until one comes.
    first: u32,
    more: Option<Box<MoreClients>>,
}

#[derive(Debug, Clone, Default)]
struct MoreClients {
    /// Numbered clients other than `first`.
    numbers: FxHashSet<u32>,
    names: FxHashSet<Box<str>>,
}

/// `ClientSet::first` before a numbered client comes.
const NO_CLIENT: u32 = u32::MAX;

impl Default for ClientSet {
    fn default() -> ClientSet {
        ClientSet::new()
    }
}

impl ClientSet {
    fn new() -> ClientSet {
        ClientSet {
            first: NO_CLIENT,
            more: None,
        }
    }

    /// Notes a client: by its number when it has one, else by name.
    pub fn insert(&mut self, number: Option<u32>, name: &str) {
        match number {
            Some(k) => self.insert_number(k),
            None => {
                let names = &mut self.more.get_or_insert_default().names;
                if !names.contains(name) {
                    names.insert(name.into());
                }
            }
        }
    }

    fn insert_number(&mut self, k: u32) {
        if self.first == NO_CLIENT {
            self.first = k;
            return;
        }
        if self.first != k {
            self.more.get_or_insert_default().numbers.insert(k);
        }
    }

    /// How many distinct clients.
    pub fn len(&self) -> usize {
        let first = usize::from(self.first != NO_CLIENT);
        first
            + self
                .more
                .as_ref()
                .map_or(0, |m| m.numbers.len() + m.names.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes in the clients of `other`.
    pub fn extend(&mut self, other: ClientSet) {
        if other.first != NO_CLIENT {
            self.insert_number(other.first);
        }
        if let Some(o) = other.more {
            let MoreClients { numbers, names } = *o;
            numbers.into_iter().for_each(|k| self.insert_number(k));
            if !names.is_empty() {
                self.more.get_or_insert_default().names.extend(names);
            }
        }
    }
}

/// Per-bucket counts of one template, for route-wide change detection.
pub type RouteBuckets = FxHashMap<String, BTreeMap<i64, Counts>>;

/// Everything the pass counts for one chunk (or, merged, for all inputs).
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub totals: Counts,
    /// Conflicts by status.
    pub by_status: BTreeMap<u16, u64>,
    pub templates: FxHashMap<String, Counts>,
    /// Per template: the clients with conflicts on it, the writes and conflicts of the
    /// clients with enough conflicts to be compared with the rest of the route
    /// (`client_concentration`), and whether others wrote there.
    pub route_clients: FxHashMap<String, RouteClients>,
    /// Requests, writes and conflicts of each client with conflicts, by its number in the
    /// analysis's `ClientIndex` (`Observation::client_number`), folded in from each chunk's
    /// `Slots` at its end (`flush_numbers`, `seal`).
    pub clients: Vec<Counts>,
    /// The user agents of each client's conflicts, by the same number (empty until the first).
    pub client_agents: Vec<ClientAgents>,
    /// The texts of the agents `client_agents` holds first.
    pub agent_texts: AgentTexts,
    /// Conflicts on each conflicting instance, by the instance's key number
    /// (`Observation::key`): no name is kept per instance and part.
    pub instances: KeyedConflicts,
    /// Requests on each interest key, by its number (`Observation::key`), folded in like
    /// `clients`.
    pub requests: Vec<u64>,
    /// Conflicts on instances observed without a key number, by name.
    pub unkeyed: FxHashMap<String, InstanceConflicts>,
    /// Requests on each instance of the route `explain` was given (`Look::counted`), by
    /// name; empty otherwise.
    pub route_instances: FxHashMap<Box<str>, u64>,
    /// What this chunk's conflicts noted by client or key number (user agents, instances'
    /// conflicts; see `ChunkNumbers`), until `flush_numbers` or `seal` folds it in.
    chunk: ChunkNumbers,
    /// Requests and conflicts per whole second.
    pub seconds: PerSecond,
    /// Per-template counts in buckets of `bucket_us`.
    pub routes: RouteBuckets,
    /// Counts not yet folded into `templates`, `routes` and `seconds`, by the template's
    /// number in the worker's `TemplateCache`: no hash lookup per line, and lines arrive
    /// mostly in time order. `seal` folds them.
    pending: Vec<Option<PendingTemplate>>,
    pending_second: Option<(i64, u64, u64)>,
    slot: TimeSlot,
}

/// The second and the bucket of the last line observed, and the span of times in both:
/// lines arrive mostly in time order, so most fall in it and need no division.
#[derive(Debug, Default, Clone, Copy)]
struct TimeSlot {
    /// `from..to`: the times in both (empty at first).
    from: i64,
    to: i64,
    bucket_us: i64,
    sec: i64,
    bucket: i64,
}

impl TimeSlot {
    /// `time`'s second and its bucket of `bucket_us`.
    #[inline]
    fn of(&mut self, time: i64, bucket_us: i64) -> (i64, i64) {
        if time >= self.from && time < self.to && bucket_us == self.bucket_us {
            return (self.sec, self.bucket);
        }
        let width = bucket_us.max(1);
        let (sec, bucket) = (time.div_euclid(1_000_000), time.div_euclid(width));
        *self = TimeSlot {
            // Saturating: near the ends of `i64` a second or a bucket reaches past them.
            from: (sec.saturating_mul(1_000_000)).max(bucket.saturating_mul(width)),
            to: ((sec + 1).saturating_mul(1_000_000)).min((bucket + 1).saturating_mul(width)),
            bucket_us,
            sec,
            bucket,
        };
        (sec, bucket)
    }
}

/// The clients that had conflicts (the conflict scan finds them), numbered. The report
/// shows no other client, so the pass counts requests for these only, by number, in a
/// vector (`Tally::clients`): a line's lookup meets a table of thousands, not the hundreds
/// of thousands of addresses of a public API's log, and nothing is kept for the rest. A
/// name of at most 15 bytes (an address) is looked up packed into two words (`packed`).
#[derive(Debug, Default, Clone)]
pub struct ClientIndex {
    short: ShortNames,
    long: FxHashMap<String, u32>,
    /// In one buffer (a million clients with conflicts: a heap block each was 32 MB more).
    names: NameList,
    /// Conflict lines of each client, by number.
    conflicts: Vec<u32>,
    /// The clients with enough conflicts to be compared with their routes' other clients
    /// (`client_concentration`), numbered from 0 in number order; `u32::MAX` for the others.
    candidate: Vec<u32>,
    candidates: Vec<u32>,
    /// Conflicts on which the `--client` key was missing, so the address named the client.
    pub by_address: u64,
}

impl ClientIndex {
    /// Notes a conflict of `name`, numbering it if it is new.
    pub fn insert(&mut self, name: &str) {
        self.insert_n(name, 1);
    }

    /// Notes `conflicts` of `name`.
    fn insert_n(&mut self, name: &str, conflicts: u32) {
        let next = self.names.len() as u32;
        let number = match packed(name) {
            Some(k) => self.short.insert(k, next),
            None => match self.long.get(name) {
                Some(&k) => k,
                None => {
                    self.long.insert(name.to_string(), next);
                    next
                }
            },
        };
        if number == next {
            self.names.push(name);
            self.conflicts.push(0);
        }
        let c = &mut self.conflicts[number as usize];
        *c = c.saturating_add(conflicts);
    }

    /// Both indexes' names as one: the smaller taken into the larger (`extend`).
    pub fn merged(self, other: ClientIndex) -> ClientIndex {
        let (mut into, from) = if self.names.len() >= other.names.len() {
            (self, other)
        } else {
            (other, self)
        };
        into.extend(from);
        into
    }

    /// Takes in the names of `other`. Numbers depend on the order names came in, which
    /// nothing shown depends on (the report orders clients by conflicts and name).
    pub fn extend(&mut self, other: ClientIndex) {
        // Room for all of them at once: grown as they came, the tables were rehashed at
        // each doubling (a log of a million clients with conflicts).
        self.short.reserve(other.short.len());
        self.long.reserve(other.long.len());
        self.names.reserve(other.names.len(), other.names.bytes());
        self.conflicts.reserve(other.conflicts.len());
        for (n, c) in other.names.iter().zip(other.conflicts) {
            self.insert_n(n, c);
        }
        self.by_address += other.by_address;
    }

    /// Numbers the clients with at least `min` conflicts as candidates (`candidate`).
    pub fn choose_candidates(&mut self, min: u32) {
        self.candidates.clear();
        self.candidate = (self.conflicts.iter().enumerate())
            .map(|(k, &c)| {
                if c < min {
                    return u32::MAX;
                }
                self.candidates.push(k as u32);
                self.candidates.len() as u32 - 1
            })
            .collect();
    }

    /// The candidate number of client `number` (see `choose_candidates`).
    #[inline]
    pub fn candidate(&self, number: u32) -> Option<u32> {
        self.candidate
            .get(number as usize)
            .copied()
            .filter(|&c| c != u32::MAX)
    }

    /// The candidates' names, by candidate number.
    pub fn candidate_names(&self) -> Vec<String> {
        (self.candidates.iter())
            .map(|&k| self.names[k as usize].to_string())
            .collect()
    }

    /// The number of `name`, if it is a client with conflicts.
    #[inline]
    pub fn number(&self, name: &str) -> Option<u32> {
        if self.names.is_empty() {
            return None;
        }
        match packed(name) {
            Some(k) => self.short.get(k),
            None => self.long.get(name).copied(),
        }
    }

    /// Asks for the table's first place for `name` ahead of `insert`: the scan asks as it
    /// reads a conflict, and notes it a few conflicts later (the load under way meanwhile).
    #[inline]
    pub fn prefetch(&self, name: &str) {
        if let Some(k) = packed(name) {
            self.short.prefetch(k);
        }
    }

    /// Frees the tables that number names (`number` knows no name after it), keeping the
    /// names: the analysis calls it after the pass, the last to look names up, so the
    /// timelines are built without them (a million clients: 52 MB).
    pub fn forget_lookups(&mut self) {
        self.short = ShortNames::default();
        self.long = FxHashMap::default();
    }

    /// Every client's name, by number.
    pub fn names(&self) -> &NameList {
        &self.names
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

#[derive(Debug, Default, Clone)]
struct PendingTemplate {
    name: Arc<String>,
    counts: Counts,
    /// (bucket, counts) runs in arrival order.
    buckets: Vec<(i64, Counts)>,
    clients: RouteClients,
}

/// One route's clients: those with conflicts on it, the writes and conflicts of the clients
/// with enough conflicts to be compared with the rest (`ClientIndex::choose_candidates`),
/// and the first few distinct writers of any kind.
#[derive(Debug, Default, Clone)]
pub struct RouteClients {
    /// The clients (by number) with conflicts on this route.
    pub conflicting: FxHashSet<u32>,
    /// Writes and conflicts of each candidate, by candidate number: in a vector, which each
    /// write of a busy client reaches without a hash lookup (there are at most as many
    /// candidates as conflicts over `client_concentration_min_conflicts`).
    pub candidates: Vec<WritesConflicts>,
    pub writers: Writers,
}

impl RouteClients {
    fn absorb(&mut self, o: RouteClients) {
        self.conflicting.extend(o.conflicting);
        if self.candidates.len() < o.candidates.len() {
            self.candidates
                .resize(o.candidates.len(), WritesConflicts::default());
        }
        for (mine, theirs) in self.candidates.iter_mut().zip(o.candidates) {
            mine.add(theirs);
        }
        self.writers.absorb(&o.writers);
    }
}

/// One client's writes and conflicts on one route; the counts stop at `u32::MAX` (four
/// billion writes by one client on one route).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WritesConflicts {
    pub writes: u32,
    pub conflicts: u32,
}

impl WritesConflicts {
    fn add(&mut self, o: WritesConflicts) {
        self.writes = self.writes.saturating_add(o.writes);
        self.conflicts = self.conflicts.saturating_add(o.conflicts);
    }
}

/// The first `Writers::KEPT` distinct clients that wrote to a route, by a hash of their name:
/// enough to tell whether a client had at least three peers there, for a look at a few
/// words per write until the set is full and none after.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Writers {
    hashes: [u64; Writers::KEPT],
    len: u8,
}

impl Writers {
    pub const KEPT: usize = 4;

    fn hash(name: &str) -> u64 {
        use std::hash::BuildHasher;
        rustc_hash::FxBuildHasher.hash_one(name)
    }

    #[inline]
    pub fn note(&mut self, name: &str) {
        if (self.len as usize) < Self::KEPT {
            self.insert(Self::hash(name));
        }
    }

    fn insert(&mut self, h: u64) {
        let n = self.len as usize;
        if n < Self::KEPT && !self.hashes[..n].contains(&h) {
            self.hashes[n] = h;
            self.len += 1;
        }
    }

    fn absorb(&mut self, o: &Writers) {
        o.hashes[..o.len as usize]
            .iter()
            .for_each(|&h| self.insert(h));
    }

    /// How many distinct writers other than `name` there were, counted up to
    /// `KEPT - 1` (more may have written once the set was full).
    pub fn others_than(&self, name: &str) -> usize {
        let h = Self::hash(name);
        let kept = &self.hashes[..self.len as usize];
        if kept.len() == Self::KEPT {
            Self::KEPT - 1
        } else {
            kept.iter().filter(|&&k| k != h).count()
        }
    }
}

/// What one parsed request contributes.
pub struct Observation<'a> {
    pub time: Micros,
    /// The template's number: the same number must always come with the same template
    /// between two `seal`s.
    pub template_id: u32,
    pub template: &'a str,
    pub instance: &'a str,
    /// The instance's key number (see `interest`), when it has one: its conflicts are then
    /// counted by that number rather than by name.
    pub key: Option<u32>,
    pub client: &'a str,
    /// The client's number in the `ClientIndex`, if it had conflicts: its requests are
    /// counted only then.
    pub client_number: Option<u32>,
    /// Its candidate number (`ClientIndex::candidate`): its writes are counted per route.
    pub candidate: Option<u32>,
    pub status: u16,
    pub write: bool,
    pub conflict: bool,
}

/// What one chunk notes on conflicts by client or key number, in maps. A chunk meets few of
/// the numbers (the lines of 4 MiB), while a vector by number would give every worker a
/// place for every conflicting client and key (a log of a million conflicting instances
/// took 87 MiB more with each thread). The chunk's maps are folded, at its end, into the
/// analysis's one `Numbers`, and the same maps serve the next chunk. The counts that every
/// request of a conflicting client or key adds to are in `Slots`: a map there cost 1 % more
/// instructions on the generated log, and vectors of the counts by number took 32 bytes a
/// number in each worker (~40 MB a thread on a log of a million conflicting clients).
#[derive(Debug, Default, Clone)]
struct ChunkNumbers {
    agents: FxHashMap<u32, ClientAgents>,
    instances: FxHashMap<u32, InstanceConflicts>,
    clients: Slots<Counts>,
    requests: Slots<u64>,
}

/// Counts by number for one chunk, without a hash per request: a 4-byte place by number
/// (`Slots::NOT_MET` until the chunk meets it) and the counts of the numbers met, in the order
/// met, which `drain` gives and forgets for the next chunk.
#[derive(Debug, Default, Clone)]
struct Slots<T> {
    place: Vec<u32>,
    met: Vec<(u32, T)>,
}

impl<T: Default> Slots<T> {
    const NOT_MET: u32 = u32::MAX;

    /// Number `k`'s counts, zero when the chunk first meets it.
    #[inline]
    fn get(&mut self, k: u32) -> &mut T {
        let i = k as usize;
        if i >= self.place.len() {
            self.place.resize(i + 1, Self::NOT_MET);
        }
        let p = match self.place[i] {
            Self::NOT_MET => {
                self.place[i] = self.met.len() as u32;
                self.met.push((k, T::default()));
                self.met.len() - 1
            }
            p => p as usize,
        };
        &mut self.met[p].1
    }

    /// The numbers met and their counts; none are met after (even if not all are taken).
    fn drain(&mut self) -> std::vec::Drain<'_, (u32, T)> {
        for (k, _) in &self.met {
            self.place[*k as usize] = Self::NOT_MET;
        }
        self.met.drain(..)
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.met.is_empty()
    }
}

/// The counts that go by client or key number, in vectors by number: the analysis's one
/// copy of those noted on conflicts, which the workers fold their chunks into
/// (`Tally::flush_numbers`); `Tally` keeps its own, which merge (`Tally::take_numbers`).
#[derive(Debug, Default)]
pub struct Numbers {
    clients: Vec<Counts>,
    client_agents: Vec<ClientAgents>,
    instances: KeyedConflicts,
    requests: Vec<u64>,
}

impl Numbers {
    /// Room for `conflicting` conflicting keys and `clients` clients with conflicts, made
    /// once: their numbers are known before the pass.
    pub fn with_room(conflicting: usize, clients: usize) -> Numbers {
        let mut n = Numbers {
            client_agents: vec![ClientAgents::default(); clients],
            ..Default::default()
        };
        n.instances.expect_keys(conflicting);
        n
    }

    /// Takes in a chunk's counts, leaving its maps empty (and their room for the next).
    fn absorb_chunk(&mut self, chunk: &mut ChunkNumbers) {
        for (k, a) in chunk.agents.drain() {
            grown(&mut self.client_agents, k).absorb(a);
        }
        for (k, c) in chunk.instances.drain() {
            self.instances.absorb_one(k, c);
        }
        for (k, c) in chunk.clients.drain() {
            grown(&mut self.clients, k).add(&c);
        }
        for (k, n) in chunk.requests.drain() {
            *grown(&mut self.requests, k) += n;
        }
    }

    /// Takes in another part's counts.
    fn absorb(&mut self, mut o: Numbers) {
        if self.clients.len() < o.clients.len() {
            std::mem::swap(&mut self.clients, &mut o.clients);
        }
        for (mine, theirs) in self.clients.iter_mut().zip(&o.clients) {
            mine.add(theirs);
        }
        if self.client_agents.len() < o.client_agents.len() {
            std::mem::swap(&mut self.client_agents, &mut o.client_agents);
        }
        for (mine, theirs) in self.client_agents.iter_mut().zip(o.client_agents) {
            mine.absorb(theirs);
        }
        self.instances.absorb(o.instances);
        if self.requests.len() < o.requests.len() {
            std::mem::swap(&mut self.requests, &mut o.requests);
        }
        for (mine, theirs) in self.requests.iter_mut().zip(&o.requests) {
            *mine += theirs;
        }
    }
}

/// The place of number `k` in `v`, made if `v` is shorter.
pub(crate) fn grown<T: Default + Clone>(v: &mut Vec<T>, k: u32) -> &mut T {
    let k = k as usize;
    if k >= v.len() {
        v.resize(k + 1, T::default());
    }
    &mut v[k]
}

impl Tally {
    /// Notes the user agent of a conflict of client number `client` at `at` (time, input,
    /// offset).
    pub fn note_agent(&mut self, client: u32, at: (Micros, u32, u64), user_agent: Option<&str>) {
        (self.chunk.agents.entry(client).or_default()).note(at, user_agent, &mut self.agent_texts);
    }

    /// Counts a request on `instance`, of the route whose instances are counted.
    pub fn count_route_instance(&mut self, instance: &str) {
        match self.route_instances.get_mut(instance) {
            Some(n) => *n += 1,
            None => {
                self.route_instances.insert(instance.into(), 1);
            }
        }
    }

    /// Counts a request on interest key number `key`.
    pub fn count_request(&mut self, key: u32) {
        *self.chunk.requests.get(key) += 1;
    }

    /// Folds what this chunk counted by number into `into` (the analysis's one copy).
    pub fn flush_numbers(&mut self, into: &mut Numbers) {
        into.absorb_chunk(&mut self.chunk);
    }

    /// Takes in counts by number folded elsewhere (`flush_numbers`).
    pub fn take_numbers(&mut self, o: Numbers) {
        let mut mine = self.own_numbers();
        mine.absorb(o);
        self.set_numbers(mine);
    }

    /// The counts by number, moved out of this tally's fields.
    fn own_numbers(&mut self) -> Numbers {
        Numbers {
            clients: std::mem::take(&mut self.clients),
            client_agents: std::mem::take(&mut self.client_agents),
            instances: std::mem::take(&mut self.instances),
            requests: std::mem::take(&mut self.requests),
        }
    }

    fn set_numbers(&mut self, n: Numbers) {
        self.clients = n.clients;
        self.client_agents = n.client_agents;
        self.instances = n.instances;
        self.requests = n.requests;
    }

    // Inlined into the pass: its one caller per line there, and the observation it reads
    // need not be written out first.
    #[inline(always)]
    pub fn observe(&mut self, o: &Observation<'_>, bucket_us: i64) {
        let c = Counts {
            requests: 1,
            writes: o.write as u64,
            conflicts: o.conflict as u64,
        };
        self.totals.add(&c);
        if let Some(k) = o.client_number {
            self.chunk.clients.get(k).add(&c);
        }
        let (sec, bucket) = self.slot.of(o.time, bucket_us);
        match &mut self.pending_second {
            Some((s, r, k)) if *s == sec => {
                *r += 1;
                *k += c.conflicts;
            }
            slot => {
                if let Some((s, r, k)) = slot.take() {
                    self.seconds.add(s, r, k);
                }
                *slot = Some((sec, 1, c.conflicts));
            }
        }
        let k = o.template_id as usize;
        if k >= self.pending.len() {
            self.pending.resize(k + 1, None);
        }
        let t = self.pending[k].get_or_insert_with(|| PendingTemplate {
            name: Arc::new(o.template.to_string()),
            ..Default::default()
        });
        t.counts.add(&c);
        match t.buckets.last_mut() {
            Some((b, bc)) if *b == bucket => bc.add(&c),
            _ => t.buckets.push((bucket, c)),
        }
        if o.write {
            t.clients.writers.note(o.client);
        }
        if let Some(k) = o.candidate
            && (o.write || o.conflict)
        {
            let v = &mut t.clients.candidates;
            if k as usize >= v.len() {
                v.resize(k as usize + 1, WritesConflicts::default());
            }
            v[k as usize].add(WritesConflicts {
                writes: o.write as u32,
                conflicts: o.conflict as u32,
            });
        }
        if o.conflict {
            *self.by_status.entry(o.status).or_insert(0) += 1;
            if let Some(k) = o.client_number {
                t.clients.conflicting.insert(k);
            }
            let new = || InstanceConflicts::new(&t.name, o.time);
            let inst = match o.key {
                Some(key) => self.chunk.instances.entry(key).or_insert_with(new),
                None => self
                    .unkeyed
                    .entry(o.instance.to_string())
                    .or_insert_with(new),
            };
            inst.observe(o.time, o.client_number, o.client);
        }
    }

    /// Folds the pending per-line counts into the public maps.
    pub fn seal(&mut self) {
        let mut mine = self.own_numbers();
        mine.absorb_chunk(&mut self.chunk);
        self.set_numbers(mine);
        // The chunk's places by number (4 bytes a number) are not needed once sealed.
        self.chunk = ChunkNumbers::default();
        if let Some((s, r, k)) = self.pending_second.take() {
            self.seconds.add(s, r, k);
        }
        self.seconds.seal();
        for p in std::mem::take(&mut self.pending).into_iter().flatten() {
            if !p.clients.conflicting.is_empty()
                || !p.clients.candidates.is_empty()
                || p.clients.writers.len > 0
            {
                (self.route_clients.entry(p.name.to_string()).or_default()).absorb(p.clients);
            }
            let route = self.routes.entry(p.name.to_string()).or_default();
            for (b, c) in p.buckets {
                route.entry(b).or_default().add(&c);
            }
            self.templates
                .entry(p.name.to_string())
                .or_default()
                .add(&p.counts);
        }
    }

    pub fn merge(&mut self, mut o: Tally) {
        self.seal();
        o.seal();
        self.take_numbers(o.own_numbers());
        self.totals.add(&o.totals);
        for (s, n) in o.by_status {
            *self.by_status.entry(s).or_insert(0) += n;
        }
        for (k, v) in o.templates {
            self.templates.entry(k).or_default().add(&v);
        }
        for (t, clients) in o.route_clients {
            self.route_clients.entry(t).or_default().absorb(clients);
        }
        for (h, text) in o.agent_texts {
            self.agent_texts.entry(h).or_insert(text);
        }
        for (k, v) in o.unkeyed {
            match self.unkeyed.get_mut(&k) {
                Some(i) => i.absorb(v),
                None => {
                    self.unkeyed.insert(k, v);
                }
            }
        }
        for (i, n) in o.route_instances {
            *self.route_instances.entry(i).or_insert(0) += n;
        }
        self.seconds.merge(o.seconds);
        for (t, buckets) in o.routes {
            let mine = self.routes.entry(t).or_default();
            for (b, c) in buckets {
                mine.entry(b).or_default().add(&c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Skips are counted by reason text, whatever its address, in the order first met;
    /// chunks' counts add up; examples are kept for the first few of each reason.
    #[test]
    fn skipped_lines_are_counted_by_reason() {
        let leaked: &'static str = String::from("malformed_line").leak();
        let mut a = Accounting::default();
        a.skip(Skip::BLANK, 1, b"");
        a.skip(Skip::MALFORMED, 2, b"junk");
        a.skip(Skip(leaked), 3, b"more junk");
        a.skip(Skip::BLANK, 4, b"");
        let mut b = Accounting::default();
        for line in 1..=5 {
            b.skip(Skip::MALFORMED, line, b"x");
        }
        a.lines = 4;
        a.append(b);
        let counts: Vec<(&str, u64)> = a.skip_reasons.iter().copied().collect();
        assert_eq!(counts, [("blank_line", 2), ("malformed_line", 7)]);
        assert_eq!(a.skip_reasons.get("malformed_line"), 7);
        assert_eq!(a.skip_reasons.get("bad_time"), 0);
        assert_eq!(a.skipped, 9);
        let lines: Vec<u64> = (a.skip_examples.iter())
            .filter(|e| e.reason == "malformed_line")
            .map(|e| e.line)
            .collect();
        assert_eq!(lines, [2, 3, 5]);
    }

    /// The first conflict's user agent is the earliest by (time, input, offset) in whatever
    /// order the parts are noted and merged; `-` and empty are no user agent; a long one is cut
    /// at a character boundary; distinct ones are counted up to `COUNTED`.
    #[test]
    fn client_agents_first_and_distinct() {
        let notes = [
            ((20, 0, 500), Some("sync/2.0")),
            ((10, 1, 0), Some("sync/1.0")),
            ((10, 0, 900), Some("sync/1.1")),
            ((5, 0, 0), Some("-")),
            ((5, 0, 1), None),
            ((30, 0, 10), Some("sync/1.0")),
        ];
        let mut texts = AgentTexts::default();
        let mut whole = ClientAgents::default();
        notes
            .iter()
            .for_each(|&(at, ua)| whole.note(at, ua, &mut texts));
        assert_eq!(whole.first(&texts), Some("sync/1.1"));
        assert_eq!(whole.distinct(), (3, false));
        for split in 0..=notes.len() {
            let (mut a, mut b) = (ClientAgents::default(), ClientAgents::default());
            let (mut ta, mut tb) = (AgentTexts::default(), AgentTexts::default());
            notes[..split]
                .iter()
                .for_each(|&(at, ua)| a.note(at, ua, &mut ta));
            notes[split..]
                .iter()
                .rev()
                .for_each(|&(at, ua)| b.note(at, ua, &mut tb));
            b.absorb(a);
            tb.extend(ta);
            assert_eq!(
                (b.first(&tb), b.distinct()),
                (whole.first(&texts), whole.distinct())
            );
        }
        let mut many = ClientAgents::default();
        let mut a = ClientAgents::default();
        for k in 0..100 {
            let ua = format!("bot/{k}");
            many.note((k, 0, 0), Some(&ua), &mut texts);
            if k < 40 {
                a.note((k, 0, 0), Some(&ua), &mut texts);
            }
        }
        assert_eq!(many.distinct(), (ClientAgents::COUNTED, true));
        assert_eq!(a.distinct(), (40, false));
        a.absorb(many.clone());
        assert_eq!(a.distinct(), (ClientAgents::COUNTED, true));
        let mut long = ClientAgents::default();
        let ua = format!("{}é", "a".repeat(ClientAgents::KEPT - 1));
        long.note((0, 0, 0), Some(&ua), &mut texts);
        assert_eq!(
            long.first(&texts),
            Some(&*"a".repeat(ClientAgents::KEPT - 1))
        );
        let mut none = ClientAgents::default();
        none.note((0, 0, 0), Some("-"), &mut texts);
        assert_eq!((none.first(&texts), none.distinct()), (None, (0, false)));
        assert_eq!(std::mem::size_of::<ClientAgents>(), 40);
    }

    /// A log can have a million conflicting instances and clients: a byte of these entries
    /// is a megabyte there.
    #[test]
    fn per_instance_and_per_client_entries_stay_small() {
        assert_eq!(std::mem::size_of::<(u32, InstanceConflicts)>(), 56);
        assert_eq!(std::mem::size_of::<Box<str>>(), 16);
    }

    /// Few short names (so they repeat), names around the 15-byte packing limit (the
    /// client index packs names up to 15 bytes), and many distinct ones.
    const NAME: &str = "[0-2]{0,2}|[0-9a-f.:]{14,17}|10\\.0\\.[0-9]{1,2}";

    proptest::proptest! {
        /// A client set counts distinct clients, numbered or named (as the analysis gives
        /// them: a name has a number always or never), few or many, and a merge counts the
        /// union.
        #[test]
        fn client_sets_count_distinct_clients(
            a in proptest::collection::vec(NAME, 0..60),
            b in proptest::collection::vec(NAME, 0..60),
        ) {
            let distinct = |v: &[String]| v.iter().collect::<std::collections::BTreeSet<_>>().len();
            // Names of even length are numbered, in the order first met.
            let mut numbers: FxHashMap<String, u32> = FxHashMap::default();
            let mut number = |n: &str| {
                let next = numbers.len() as u32;
                n.len().is_multiple_of(2).then(|| *numbers.entry(n.to_string()).or_insert(next))
            };
            let mut x = ClientSet::default();
            a.iter().for_each(|n| x.insert(number(n), n));
            proptest::prop_assert_eq!(x.len(), distinct(&a));
            let mut y = ClientSet::default();
            b.iter().for_each(|n| y.insert(number(n), n));
            proptest::prop_assert_eq!(y.len(), distinct(&b));
            x.extend(y);
            let both: Vec<String> = a.iter().chain(&b).cloned().collect();
            proptest::prop_assert_eq!(x.len(), distinct(&both));
        }
    }

    proptest::proptest! {
        /// A client index numbers each distinct name once, short (packed) or long, gives
        /// the names back as they came, and knows no other name; merged, it numbers the
        /// union.
        #[test]
        fn client_index_numbers_distinct_names(
            a in proptest::collection::vec("[0-2]{0,2}|[0-9a-f.:]{6,17}|\\PC{0,16}", 0..60),
            b in proptest::collection::vec("[0-2]{0,2}|[0-9a-f.:]{6,17}|\\PC{0,16}", 0..60),
            other in "[0-9a-f.:]{0,17}",
        ) {
            let index = |v: &[String]| {
                let mut x = ClientIndex::default();
                v.iter().for_each(|n| x.insert(n));
                x
            };
            let mut x = index(&a);
            let distinct: std::collections::BTreeSet<&String> = a.iter().collect();
            proptest::prop_assert_eq!(x.len(), distinct.len());
            for n in &a {
                let k = x.number(n).unwrap();
                proptest::prop_assert_eq!(&x.names()[k as usize], n.as_str());
            }
            x.extend(index(&b));
            let union: std::collections::BTreeSet<&String> = a.iter().chain(&b).collect();
            proptest::prop_assert_eq!(x.len(), union.len());
            for n in &union {
                let k = x.number(n).unwrap();
                proptest::prop_assert_eq!(&x.names()[k as usize], n.as_str());
            }
            proptest::prop_assert_eq!(x.number(&other).is_some(), union.contains(&other));
        }
    }

    fn obs<'a>(t: i64, inst: &'a str, client: &'a str, status: u16) -> Observation<'a> {
        Observation {
            time: t,
            template_id: 0,
            template: "/o/{id}",
            instance: inst,
            key: None,
            client,
            // Clients `a` and `b` are numbered, `c` is not: its requests are not counted.
            client_number: match client {
                "a" => Some(0),
                "b" => Some(1),
                _ => None,
            },
            // `b` alone is a candidate (number 0).
            candidate: (client == "b").then_some(0),
            status,
            write: true,
            conflict: status == 409,
        }
    }

    /// A chunk's slots give each number met once with its sum, in the order met, and meet
    /// nothing after a drain, even one not taken to its end.
    #[test]
    fn slots_sum_by_number_per_chunk() {
        let mut slots: Slots<u64> = Slots::default();
        for k in [7, 2, 7, 0, 7, 2] {
            *slots.get(k) += u64::from(k) + 1;
        }
        let got: Vec<(u32, u64)> = slots.drain().collect();
        assert_eq!(got, [(7, 24), (2, 6), (0, 1)]);
        assert!(slots.is_empty());
        *slots.get(2) += 5;
        *slots.get(9) += 1;
        assert_eq!(slots.drain().next(), Some((2, 5)));
        assert!(slots.is_empty());
        *slots.get(9) += 4;
        *slots.get(2) += 1;
        assert_eq!(slots.drain().collect::<Vec<_>>(), [(9, 4), (2, 1)]);
    }

    /// Merged parts count what one tally counts, whether instances come with key numbers
    /// (as in the pass) or by name.
    #[test]
    fn merge_is_the_same_as_one_tally() {
        let events = [
            (1, "/o/1", "a", 200),
            (2, "/o/1", "b", 409),
            (3, "/o/2", "a", 409),
            (4_000_000, "/o/1", "b", 409),
            (5_000_000, "/o/3", "c", 409),
        ];
        for keyed in [false, true] {
            let observe = |t: &mut Tally, e: &(i64, &str, &str, u16)| {
                let mut o = obs(e.0, e.1, e.2, e.3);
                if keyed {
                    o.key = e.1[3..].parse::<u32>().ok();
                }
                t.observe(&o, 1_000_000);
            };
            let mut whole = Tally::default();
            events.iter().for_each(|e| observe(&mut whole, e));
            let mut a = Tally::default();
            let mut b = Tally::default();
            events[..2].iter().for_each(|e| observe(&mut a, e));
            events[2..].iter().for_each(|e| observe(&mut b, e));
            a.merge(b);
            a.seal();
            whole.seal();
            assert_eq!(a.totals, whole.totals);
            assert_eq!(
                a.totals,
                Counts {
                    requests: 5,
                    writes: 5,
                    conflicts: 4
                }
            );
            let o1 = if keyed {
                assert!(a.unkeyed.is_empty());
                assert_eq!(a.instances.len(), 3);
                assert!(a.instances.get(0).is_none() && a.instances.get(2).is_some());
                assert!(a.instances.get(4).is_none());
                a.instances.get(1).cloned().unwrap()
            } else {
                assert!(a.instances.is_empty());
                assert_eq!(a.unkeyed.len(), 3);
                a.unkeyed["/o/1"].clone()
            };
            assert_eq!((o1.conflicts, o1.first, o1.last), (2, 2, 4_000_000));
            assert_eq!((o1.clients.len(), o1.template.as_str()), (1, "/o/{id}"));
            assert!(a.seconds.iter().eq(whole.seconds.iter()));
            // (template, numbered client) pairs with conflicts: `c` has no number.
            let route = &a.route_clients["/o/{id}"];
            assert_eq!(route.conflicting, FxHashSet::from_iter([0, 1]));
            // Writes and conflicts per route of candidates; three writers in all.
            let b = route.candidates[0];
            assert_eq!((route.candidates.len(), b.writes, b.conflicts), (1, 2, 2));
            assert_eq!(route.writers, whole.route_clients["/o/{id}"].writers);
            assert_eq!(route.writers.others_than("a"), 2);
            assert_eq!(route.writers.others_than("z"), 3);
            // Requests of numbered clients only, by number.
            assert_eq!(a.clients, whole.clients);
            let (a_counts, b_counts) = (a.clients[0], a.clients[1]);
            assert_eq!((a_counts.requests, a_counts.conflicts), (2, 1));
            assert_eq!((b_counts.requests, b_counts.conflicts), (2, 2));
            assert_eq!(a.clients.len(), 2);

            // Chunks folded into one `Numbers` at their ends, as the pass's workers do, count
            // what one tally does.
            let agents = [(1, "curl/8"), (0, "app/1"), (1, "app/1")];
            let mut whole = Tally::default();
            events.iter().for_each(|e| observe(&mut whole, e));
            for (t, &(client, ua)) in agents.iter().enumerate() {
                whole.note_agent(client, (t as i64, 0, 0), Some(ua));
            }
            whole.seal();
            let mut numbers = Numbers::with_room(0, 0);
            let mut f = Tally::default();
            for (part, notes) in [(&events[..2], &agents[..1]), (&events[2..], &agents[1..])] {
                part.iter().for_each(|e| observe(&mut f, e));
                for &(client, ua) in notes {
                    let t = agents.iter().position(|a| *a == (client, ua)).unwrap();
                    f.note_agent(client, (t as i64, 0, 0), Some(ua));
                }
                f.flush_numbers(&mut numbers);
                assert!(f.chunk.agents.is_empty() && f.chunk.instances.is_empty());
                assert!(f.chunk.clients.is_empty() && f.chunk.requests.is_empty());
            }
            f.seal();
            f.take_numbers(numbers);
            let summary = |t: &Tally| {
                let mut v: Vec<_> = (t.instances.iter())
                    .map(|(k, c)| (k, c.conflicts, c.first, c.last, c.clients.len()))
                    .collect();
                v.sort();
                let agents: Vec<_> = (t.client_agents.iter())
                    .map(|a| (a.first(&t.agent_texts).map(str::to_string), a.distinct()))
                    .collect();
                (v, agents, t.clients.clone(), t.totals)
            };
            assert_eq!(summary(&f), summary(&whole));
            let (_, agents, ..) = summary(&f);
            assert_eq!(agents[0], (Some("app/1".to_string()), (1, false)));
            assert_eq!(agents[1], (Some("curl/8".to_string()), (2, false)));
            assert_eq!(f.instances.len(), if keyed { 3 } else { 0 });
        }
    }

    /// The writers' set keeps the first four distinct names; past that every client has at
    /// least three others.
    #[test]
    fn writers_count_others_up_to_three() {
        let mut w = Writers::default();
        for name in ["a", "b", "a", "b"] {
            w.note(name);
        }
        assert_eq!((w.others_than("a"), w.others_than("c")), (1, 2));
        let mut v = Writers::default();
        for name in ["c", "d", "e", "f", "g"] {
            v.note(name);
        }
        w.absorb(&v);
        assert_eq!((w.others_than("a"), w.others_than("g")), (3, 3));
    }

    #[test]
    fn accounting_renumbers_examples() {
        let mut a = Accounting {
            lines: 10,
            ..Default::default()
        };
        let mut b = Accounting {
            lines: 5,
            ..Default::default()
        };
        b.skip(Skip::MALFORMED, 2, b"junk");
        a.append(b);
        assert_eq!(a.skip_examples[0].line, 12);
        assert_eq!(a.skipped, 1);
        assert_eq!(a.lines, 15);
    }
}
