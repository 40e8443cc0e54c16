//! Per-instance timelines: the ordered requests on each resource instance that had conflicts
//! (and on its parent and children), which the detectors read.
//!
//! Events are sorted by start time (end − duration when the format logs a duration, else the
//! logged time), then by input and line, so files from several gateway instances interleave by
//! time and the order never depends on chunking.

use crate::agent::Agent;
use crate::name_list::NameList;
use crate::record::{Method, Micros, Origin};
use rustc_hash::FxHashMap;
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// Index of a client in `Timelines::clients`.
pub type ClientId = u32;
/// Index of an instance in `Timelines::instances`.
pub type InstanceId = u32;

/// One request on an instance of interest, in 40 bytes (a large log keeps millions): the
/// method, origin and the two flags are packed, and read through methods of their names
/// (`Event::new` takes them unpacked). The line is kept by its byte offset alone: its line
/// number and its end are found again from the input for the few lines a report quotes
/// (`LineNumbers`), which saved 8 bytes an event.
#[derive(Clone, PartialEq, Eq)]
pub struct Event {
    pub start: Micros,
    pub end: Micros,
    /// Byte offset of the line in the input, to quote it as evidence.
    offset: u64,
    pub client: ClientId,
    pub instance: InstanceId,
    /// Index into the report's inputs.
    pub input: u32,
    pub status: u16,
    /// The tool that sent a conflicting request, when its user agent names a known one
    /// (`Agent::OTHER` on other requests: the pass looks it up on conflicts only).
    pub agent: Agent,
    /// Method, origin, `timed` and `conflict` (see `Traits`).
    traits: u8,
}

/// An event's fields unpacked, for `Event::new`.
#[derive(Debug, Clone)]
pub struct EventFields {
    pub start: Micros,
    pub end: Micros,
    /// Whether `start`/`end` come from a logged duration (else both are the logged time).
    pub timed: bool,
    pub client: ClientId,
    pub method: Method,
    pub status: u16,
    pub instance: InstanceId,
    /// Index into the report's inputs.
    pub input: u32,
    /// Byte offset of the line in the input, to quote it as evidence.
    pub offset: u64,
    /// Whether the status is in the conflict family (`--status`).
    pub conflict: bool,
    /// Whether the upstream or the gateway produced the response, when the log tells.
    pub origin: Origin,
    pub agent: Agent,
}

/// The methods by their number (`Method as u8`), for `Event::method` to read from 4 bits
/// with one look (numbers past `Other`, the last, are never stored).
const METHODS: [Method; 16] = {
    use Method::*;
    [
        Get, Head, Post, Put, Patch, Delete, Options, Lock, Unlock, Other, Other, Other, Other,
        Other, Other, Other,
    ]
};
/// The origins by their number (`Origin as u8`), for `Event::origin`.
const ORIGINS: [Origin; 4] = [
    Origin::Unknown,
    Origin::Upstream,
    Origin::Gateway,
    Origin::Rewritten,
];
// Every method has its number in the 4 bits `Traits` gives it, every origin in its 2.
const _: () = assert!(Method::Other as usize == 9 && Origin::Rewritten as usize == 3);

/// The bits of `Event::traits`.
struct Traits;

impl Traits {
    const METHOD: u8 = 0b1111;
    const ORIGIN_SHIFT: u32 = 4;
    const TIMED: u8 = 1 << 6;
    const CONFLICT: u8 = 1 << 7;
}

impl Event {
    /// Packs `f`.
    pub fn new(f: EventFields) -> Event {
        let traits = f.method as u8
            | (f.origin as u8) << Traits::ORIGIN_SHIFT
            | if f.timed { Traits::TIMED } else { 0 }
            | if f.conflict { Traits::CONFLICT } else { 0 };
        Event {
            start: f.start,
            end: f.end,
            client: f.client,
            instance: f.instance,
            input: f.input,
            status: f.status,
            agent: f.agent,
            offset: f.offset,
            traits,
        }
    }

    /// Byte offset of the line in the input, to quote it as evidence (an input's lines are
    /// in the order of their offsets).
    pub fn offset(&self) -> u64 {
        self.offset
    }
    pub fn method(&self) -> Method {
        METHODS[(self.traits & Traits::METHOD) as usize]
    }
    /// Whether the upstream or the gateway produced the response, when the log tells.
    pub fn origin(&self) -> Origin {
        ORIGINS[(self.traits >> Traits::ORIGIN_SHIFT & 3) as usize]
    }
    /// Whether `start`/`end` come from a logged duration (else both are the logged time).
    pub fn timed(&self) -> bool {
        self.traits & Traits::TIMED != 0
    }
    /// Whether the status is in the conflict family (`--status`).
    pub fn conflict(&self) -> bool {
        self.traits & Traits::CONFLICT != 0
    }
    /// The fields unpacked (`Event::new` packs them again).
    pub fn fields(&self) -> EventFields {
        EventFields {
            start: self.start,
            end: self.end,
            timed: self.timed(),
            client: self.client,
            method: self.method(),
            status: self.status,
            instance: self.instance,
            input: self.input,
            offset: self.offset(),
            conflict: self.conflict(),
            origin: self.origin(),
            agent: self.agent,
        }
    }
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
    pub fn is_write(&self) -> bool {
        self.method().is_write()
    }
    pub fn duration(&self) -> Micros {
        self.end - self.start
    }
}

impl std::fmt::Debug for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.fields().fmt(f)
    }
}

/// What is kept of a resource instance of interest beside its path (`Timelines` keeps the
/// paths in one list: a `String` each took 24 bytes and a heap block, and copying a
/// million of them into their blocks was most of the timelines' build).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceTraits {
    /// Shared by the instances of one template (a large log has a hundred thousand).
    pub template: std::sync::Arc<str>,
    /// The parent instance, when it is also tracked.
    pub parent: Option<InstanceId>,
    /// Did this instance itself have conflicts (or is it only context)?
    pub conflicted: bool,
}

impl InstanceTraits {
    /// The instance these are the traits of, whose path is `path`.
    fn with_path<'a>(&'a self, path: &'a str) -> Instance<'a> {
        Instance {
            path,
            template: &self.template,
            parent: self.parent,
            conflicted: self.conflicted,
        }
    }
}

/// A resource instance of interest, as the timelines show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instance<'a> {
    pub path: &'a str,
    /// Shared by the instances of one template.
    pub template: &'a str,
    /// The parent instance, when it is also tracked.
    pub parent: Option<InstanceId>,
    /// Did this instance itself have conflicts (or is it only context)?
    pub conflicted: bool,
}

/// All timelines of one analysis.
#[derive(Debug, Default, Clone)]
pub struct Timelines {
    pub clients: NameList,
    /// The instances' paths by id, in byte order (ids follow the paths' order).
    paths: NameList,
    /// The rest of each instance, by id.
    traits: Vec<InstanceTraits>,
    /// Events of each instance, sorted (see module doc): `events[id]` is a slice.
    pub events: EventsByInstance,
    /// Whether any event carried a logged duration.
    pub timed: bool,
    /// Children of each instance (instances whose parent it is), computed once: those of
    /// instance `i` are `children[child_starts[i]..child_starts[i + 1]]`, in id order (one
    /// vector for all: a vector each took 24 bytes an instance, most of them empty).
    children: Vec<InstanceId>,
    child_starts: Vec<u32>,
    /// The idempotency keys events logged, by (input, byte offset): few logs carry one, so
    /// they are kept beside the events rather than in each.
    idempotency_keys: FxHashMap<(u32, u64), Box<str>>,
}

/// Every instance's events in one allocation, grouped by instance and sorted within each:
/// one vector instead of one per instance, sorted in place.
#[derive(Debug, Default, Clone)]
pub struct EventsByInstance {
    all: Vec<Event>,
    /// Instance `i`'s events are `all[starts[i]..starts[i + 1]]`.
    starts: Vec<usize>,
}

impl EventsByInstance {
    /// Groups events whose `instance` is below `instances`, sorting each group by
    /// (start, end, input, offset): a total order, since an input's line is one event.
    fn group(mut all: Vec<Event>, instances: usize) -> EventsByInstance {
        use rayon::prelude::*;
        all.par_sort_unstable_by_key(|e| (e.instance, e.start, e.end, e.input, e.offset()));
        let mut starts = vec![0usize; instances + 1];
        for e in &all {
            starts[e.instance as usize + 1] += 1;
        }
        for k in 1..starts.len() {
            starts[k] += starts[k - 1];
        }
        EventsByInstance { all, starts }
    }

    /// Each instance's events, in instance order.
    pub fn iter(&self) -> impl Iterator<Item = &[Event]> + '_ {
        self.starts.windows(2).map(|w| &self.all[w[0]..w[1]])
    }

    /// Number of instances.
    pub fn len(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }

    /// Number of events, of all instances.
    pub fn events(&self) -> usize {
        self.all.len()
    }

    /// The place of instance `id`'s event `index` among all events (below `events()`).
    pub fn place(&self, id: InstanceId, index: usize) -> usize {
        debug_assert!(index < self[id as usize].len());
        self.starts[id as usize] + index
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl std::ops::Index<usize> for EventsByInstance {
    type Output = [Event];
    fn index(&self, id: usize) -> &[Event] {
        &self.all[self.starts[id]..self.starts[id + 1]]
    }
}

impl Timelines {
    /// The idempotency key `e`'s line logged, if any.
    pub fn idempotency_key(&self, e: &Event) -> Option<&str> {
        if self.idempotency_keys.is_empty() {
            return None;
        }
        self.idempotency_keys
            .get(&(e.input, e.offset()))
            .map(|k| &**k)
    }

    /// Whether any event logged an idempotency key.
    pub fn has_idempotency_keys(&self) -> bool {
        !self.idempotency_keys.is_empty()
    }

    pub fn client(&self, id: ClientId) -> &str {
        &self.clients[id as usize]
    }
    pub fn instance(&self, id: InstanceId) -> Instance<'_> {
        let k = id as usize;
        self.traits[k].with_path(&self.paths[k])
    }
    /// Instance `id`'s path.
    pub fn path(&self, id: InstanceId) -> &str {
        &self.paths[id as usize]
    }
    /// Every instance, by id.
    pub fn instances(&self) -> impl ExactSizeIterator<Item = Instance<'_>> + Clone + '_ {
        (self.paths.iter().zip(&self.traits)).map(|(path, t)| t.with_path(path))
    }
    /// Number of instances.
    pub fn instance_count(&self) -> usize {
        self.traits.len()
    }
    /// Marks whether instance `id` itself had conflicts (tests build timelines without).
    #[cfg(test)]
    pub fn set_conflicted(&mut self, id: InstanceId, conflicted: bool) {
        self.traits[id as usize].conflicted = conflicted;
    }
    pub fn find_instance(&self, path: &str) -> Option<InstanceId> {
        // Instance ids follow their paths' byte order (`TimelineBuilder::build`).
        let (mut lo, mut hi) = (0, self.paths.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.paths[mid].cmp(path) {
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
                Ordering::Equal => return Some(mid as InstanceId),
            }
        }
        None
    }
    /// Children of an instance (instances whose parent it is).
    pub fn children(&self, id: InstanceId) -> impl Iterator<Item = InstanceId> + '_ {
        let k = id as usize;
        let range =
            (self.child_starts.get(k..k + 2)).map_or(0..0, |s| s[0] as usize..s[1] as usize);
        self.children[range].iter().copied()
    }
    /// Instances grouped by template, for route-wide detectors.
    pub fn by_template(&self) -> BTreeMap<&str, Vec<InstanceId>> {
        let mut m: BTreeMap<&str, Vec<InstanceId>> = BTreeMap::new();
        for (k, i) in self.traits.iter().enumerate() {
            m.entry(&*i.template).or_default().push(k as InstanceId);
        }
        m
    }
}

/// The indices of `names` in the names' byte order. Each is sorted by the 32 bytes that
/// follow the prefix all names share (a `Window`), kept beside its index; names whose
/// windows tie are sorted by their next 32 bytes, and so on (`settle_ties`). A large log has
/// a million instance paths (or client addresses), mostly alike up to an id: compared
/// through their pointers they missed the cache on nearly every step, and with one 16-byte
/// window, a log whose paths share only their `/` tied on millions of comparisons, each
/// settled in full. 32 bytes hold most paths whole past a `/`: with 16, 526 k of a log's
/// 547 k paths (`/api/v1/orders/4104409`) tied, and their runs took longer than the sort.
fn sorted_order<'a>(len: usize, name: impl Fn(usize) -> &'a str + Sync) -> Vec<u32> {
    use rayon::prelude::*;
    if len == 0 {
        return Vec::new();
    }
    let first = name(0).as_bytes();
    let shared = (0..len).fold(first.len(), |n, k| {
        first[..n]
            .iter()
            .zip(name(k).as_bytes())
            .take_while(|(a, b)| a == b)
            .count()
    });
    let mut keyed: Vec<(Window, u32)> = (0..len)
        .into_par_iter()
        .map(|k| (window(name(k), shared), k as u32))
        .collect();
    keyed.par_sort_unstable();
    // The runs of equal windows are settled apart, on every thread.
    keyed
        .par_chunk_by_mut(|a, b| a.0 == b.0)
        .filter(|run| run.len() > 1)
        .for_each(|run| settle_ties(run, shared + WINDOW, &name));
    keyed.into_iter().map(|(_, i)| i).collect()
}

/// The bytes of a name that `sorted_order` sorts by at a time.
const WINDOW: usize = 32;

/// `WINDOW` bytes as words, big-endian: compared word after word, they order as the bytes
/// do. Words of 8 bytes, not 16: a `u128` is aligned to 16, which made each sorted entry
/// 48 bytes where 40 hold it.
type Window = [u64; WINDOW / 8];

/// The `WINDOW` bytes of `s` from `from` on, with zero padding: windows order as the bytes
/// do, and a tie (equal bytes, or a shorter name padded with zeros) is settled by the bytes
/// after them.
fn window(s: &str, from: usize) -> Window {
    let mut k = [0u8; WINDOW];
    let tail = s.as_bytes().get(from..).unwrap_or_default();
    let n = tail.len().min(WINDOW);
    k[..n].copy_from_slice(&tail[..n]);
    std::array::from_fn(|i| u64::from_be_bytes(k[8 * i..8 * i + 8].try_into().unwrap_or([0; 8])))
}

/// Orders `sorted`, whose names' bytes up to `from` are in order, by the bytes after: each run
/// of equal windows by the names' next windows, run after run until none ties (iterated, not
/// recursive, as names may be as long as a line).
fn settle_ties<'a>(sorted: &mut [(Window, u32)], from: usize, name: &impl Fn(usize) -> &'a str) {
    let mut runs: Vec<(usize, usize, usize)> = vec![(0, sorted.len(), from)];
    while let Some((start, end, from)) = runs.pop() {
        let mut at = start;
        for run in sorted[start..end].chunk_by_mut(|a, b| a.0 == b.0) {
            let (i, j) = (at, at + run.len());
            at = j;
            if run.len() < 2 {
                continue;
            }
            if run.iter().all(|e| name(e.1 as usize).len() <= from) {
                // Alike but for trailing NULs or their lengths: compared in full.
                run.sort_unstable_by(|a, b| name(a.1 as usize).cmp(name(b.1 as usize)));
                continue;
            }
            // Past what all of them share: names alike up to a late byte would otherwise
            // take a round for every window.
            let first = name(run[0].1 as usize).as_bytes().get(from..);
            let first = first.unwrap_or_default();
            let from = from
                + run[1..].iter().fold(first.len(), |n, e| {
                    let other = name(e.1 as usize).as_bytes().get(from..);
                    (first[..n].iter().zip(other.unwrap_or_default()))
                        .take_while(|(a, b)| a == b)
                        .count()
                });
            for e in run.iter_mut() {
                e.0 = window(name(e.1 as usize), from);
            }
            run.sort_unstable();
            runs.push((i, j, from + WINDOW));
        }
    }
}

/// Each instance's children (those whose parent it is), in id order, all in one vector:
/// instance `i`'s are `children[starts[i]..starts[i + 1]]`.
fn children_by_parent(instances: &[InstanceTraits]) -> (Vec<InstanceId>, Vec<u32>) {
    let mut starts = vec![0u32; instances.len() + 1];
    for p in instances.iter().filter_map(|i| i.parent) {
        starts[p as usize + 1] += 1;
    }
    for k in 1..starts.len() {
        starts[k] += starts[k - 1];
    }
    let mut next = starts.clone();
    let mut children = vec![0; starts[instances.len()] as usize];
    for (k, inst) in instances.iter().enumerate() {
        if let Some(p) = inst.parent {
            children[next[p as usize] as usize] = k as InstanceId;
            next[p as usize] += 1;
        }
    }
    (children, starts)
}

/// Each instance's parent among `instances`, which are in their paths' byte order: found by
/// walking them in that order with the chain of instances that are prefixes of the current
/// one, not by a map of every path (a hundred bytes an instance at the peak of a log of a
/// million conflicting instances). A parent (`resource::parent`) is a prefix of its
/// child's path, and every path between a prefix and the child in byte order starts with
/// that prefix: none is dropped from the chain before its children come.
fn parents_in_order(paths: &NameList) -> Vec<Option<InstanceId>> {
    let mut chain: Vec<InstanceId> = Vec::new();
    let path = |id: InstanceId| &paths[id as usize];
    paths
        .iter()
        .enumerate()
        .map(|(id, here)| {
            while chain.last().is_some_and(|&c| !here.starts_with(path(c))) {
                chain.pop();
            }
            // The chain holds prefixes of `here`, longest last: the parent is the one as long.
            let parent = crate::resource::parent(here).and_then(|p| {
                (chain.iter().rev())
                    .map(|&c| (c, path(c).len()))
                    .take_while(|&(_, len)| len >= p.len())
                    .find(|&(_, len)| len == p.len())
                    .map(|(c, _)| c)
            });
            chain.push(id as InstanceId);
            parent
        })
        .collect()
}

/// Builds `Timelines` from events collected in any order: names are interned as they arrive
/// (one allocation per distinct client or instance, not per event; an instance with an
/// interest key is noted by its number alone), and `build` renumbers them in sorted order so
/// ids never depend on arrival order or chunking.
#[derive(Debug, Default)]
pub struct TimelineBuilder {
    /// Whether an event came from each numbered client (a client with conflicts, numbered
    /// by the analysis: `build` is given their names), by number. Nothing else is kept per
    /// such client: on a log whose every client conflicts, a map of names in each worker
    /// was a tenth of the memory.
    numbered_clients: Vec<bool>,
    /// The other clients' names and numbers; the name is kept here only (as other
    /// instances' paths are).
    client_ids: FxHashMap<Box<str>, u32>,
    /// Instances with an interest key (`crate::interest`), by key number: (template
    /// number, conflicted), `UNSEEN` until an event comes. Their paths are the keys' names,
    /// which `build` is given: nothing is kept per path here (a large log has a hundred
    /// thousand such instances in each worker).
    keyed: Vec<(u32, bool)>,
    /// The other instances (relatives kept without a key, and instances pushed by name):
    /// each path and number, the path kept here only.
    instance_ids: FxHashMap<Box<str>, u32>,
    /// (template number, conflicted), by number of the other instances.
    instances: Vec<(u32, bool)>,
    /// Templates by number: few, shared by many instances.
    templates: Vec<Box<str>>,
    template_ids: FxHashMap<Box<str>, u32>,
    /// Events with builder-local client and instance ids: a numbered client's or a key's
    /// number, or an other client's or instance's number with `OTHER` set.
    raw: Vec<Event>,
    /// Idempotency keys by the (input, byte offset) of their event's line.
    idempotency_keys: FxHashMap<(u32, u64), Box<str>>,
}

/// The template number of a key not yet seen (`TimelineBuilder::keyed`).
const UNSEEN: u32 = u32::MAX;
/// Marks a builder-local instance id as an other instance's, not a key's (and a client id
/// as an other client's, not a numbered one's).
const OTHER: u32 = 1 << 31;

/// Who sent an event (`TimelineBuilder::push_named`).
#[derive(Debug, Clone, Copy)]
pub enum Client<'a> {
    /// A client the analysis numbered (`build` is given the names by number).
    Numbered(u32),
    /// Any other client, by name.
    Named(&'a str),
}

/// An event with names instead of ids (tests and other callers that do not intern).
#[derive(Debug, Clone)]
pub struct RawEvent {
    pub start: Micros,
    pub end: Micros,
    pub timed: bool,
    pub client: String,
    pub method: Method,
    pub status: u16,
    pub instance: String,
    pub template: String,
    pub input: u32,
    pub offset: u64,
    pub conflict: bool,
    pub origin: Origin,
    pub agent: Agent,
}

impl RawEvent {
    /// The event without its names (client and instance 0, for the builder to number).
    fn event(&self) -> Event {
        Event::new(EventFields {
            start: self.start,
            end: self.end,
            timed: self.timed,
            client: 0,
            method: self.method,
            status: self.status,
            instance: 0,
            input: self.input,
            offset: self.offset,
            conflict: self.conflict,
            origin: self.origin,
            agent: self.agent,
        })
    }
}

impl TimelineBuilder {
    fn client_id(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.client_ids.get(name) {
            return id;
        }
        let id = self.client_ids.len() as u32;
        self.client_ids.insert(name.into(), id);
        id
    }

    /// Notes an event from numbered client `k`.
    fn numbered_client(&mut self, k: u32) -> u32 {
        *crate::aggregate::grown(&mut self.numbered_clients, k) = true;
        k
    }

    fn instance_id(&mut self, path: &str, template: &str, conflicted: bool) -> u32 {
        self.instance_by(path, conflicted, |b| b.template_id(template))
    }

    /// `instance_id`, the template's number given by `template` (asked for a new
    /// instance only).
    fn instance_by(
        &mut self,
        path: &str,
        conflicted: bool,
        template: impl FnOnce(&mut Self) -> u32,
    ) -> u32 {
        if let Some(&id) = self.instance_ids.get(path) {
            self.instances[id as usize].1 |= conflicted;
            return id;
        }
        let id = self.instances.len() as u32;
        let t = template(self);
        self.instances.push((t, conflicted));
        self.instance_ids.insert(path.into(), id);
        id
    }

    /// Notes an event on key `k`'s instance.
    fn keyed_id(&mut self, k: u32, template: &str, conflicted: bool) -> u32 {
        self.keyed_by(k, conflicted, |b| b.template_id(template))
    }

    /// Notes an event on key `k`'s instance, whose template number `template` gives (asked
    /// the first time only).
    fn keyed_by(
        &mut self,
        k: u32,
        conflicted: bool,
        template: impl FnOnce(&mut Self) -> u32,
    ) -> u32 {
        if k as usize >= self.keyed.len() {
            self.keyed.resize(k as usize + 1, (UNSEEN, false));
        }
        if self.keyed[k as usize].0 == UNSEEN {
            self.keyed[k as usize].0 = template(self);
        }
        self.keyed[k as usize].1 |= conflicted;
        k
    }

    fn template_id(&mut self, template: &str) -> u32 {
        if let Some(&t) = self.template_ids.get(template) {
            return t;
        }
        let t = self.templates.len() as u32;
        let template: Box<str> = template.into();
        self.templates.push(template.clone());
        self.template_ids.insert(template, t);
        t
    }

    /// Names (instance paths, clients) by number: the map gives them up.
    fn by_number(ids: FxHashMap<Box<str>, u32>) -> Vec<Box<str>> {
        let mut names: Vec<Box<str>> = vec![Box::from(""); ids.len()];
        for (p, id) in ids {
            names[id as usize] = p;
        }
        names
    }

    /// Adds an event given by names.
    pub fn push(&mut self, e: RawEvent, instance_conflicted: bool) {
        self.push_named(
            e.event(),
            Client::Named(&e.client),
            &e.instance,
            None,
            &e.template,
            instance_conflicted,
        );
    }

    /// Adds an event whose `client` and `instance` fields are ignored and given by `client`,
    /// and by name, or for an instance with an interest key, by its number `key` (then
    /// `build` must be given the keys' names); `template` is the instance's (kept the first
    /// time the instance is seen).
    pub fn push_named(
        &mut self,
        mut e: Event,
        client: Client<'_>,
        instance: &str,
        key: Option<u32>,
        template: &str,
        instance_conflicted: bool,
    ) {
        e.client = match client {
            Client::Numbered(k) => self.numbered_client(k),
            Client::Named(name) => self.client_id(name) | OTHER,
        };
        e.instance = match key {
            Some(k) => self.keyed_id(k, template, instance_conflicted),
            None => self.instance_id(instance, template, instance_conflicted) | OTHER,
        };
        self.raw.push(e);
    }

    /// Notes the idempotency key logged on the line of an event pushed (or to be pushed)
    /// with this input and offset.
    pub fn note_idempotency_key(&mut self, input: u32, offset: u64, key: &str) {
        self.idempotency_keys.insert((input, offset), key.into());
    }

    /// Appends another builder's events (e.g. a later chunk's).
    pub fn append(&mut self, other: TimelineBuilder) {
        self.idempotency_keys.extend(other.idempotency_keys);
        // Exactly what is needed: at millions of events, doubling would leave most of a
        // copy unused.
        self.raw.reserve_exact(other.raw.len());
        for (k, _) in (other.numbered_clients.iter().enumerate()).filter(|(_, seen)| **seen) {
            self.numbered_client(k as u32);
        }
        let cmap: Vec<u32> = (Self::by_number(other.client_ids).iter())
            .map(|c| self.client_id(c) | OTHER)
            .collect();
        let paths = Self::by_number(other.instance_ids);
        // Their template numbers as ours, once for all: a template is named by many keys,
        // and looked up by name for each, half a million keys' lookups were 2–4 ms of the
        // append's 20–28.
        let tmap: Vec<u32> = (other.templates.iter())
            .map(|t| self.template_id(t))
            .collect();
        for (k, &(t, c)) in other.keyed.iter().enumerate() {
            if t != UNSEEN {
                self.keyed_by(k as u32, c, |_| tmap[t as usize]);
            }
        }
        let imap: Vec<u32> = other
            .instances
            .into_iter()
            .zip(paths)
            .map(|((t, c), p)| self.instance_by(&p, c, |_| tmap[t as usize]) | OTHER)
            .collect();
        // Moved over from the end in pieces, each given back once moved, so that the two
        // copies never coexist (the order of `raw` does not matter: `build` sorts it).
        const PIECE: usize = 1 << 16;
        let mut theirs = other.raw;
        while !theirs.is_empty() {
            let from = theirs.len().saturating_sub(PIECE);
            self.raw.extend(theirs.drain(from..).map(|mut e| {
                if e.client & OTHER != 0 {
                    e.client = cmap[(e.client & !OTHER) as usize];
                }
                if e.instance & OTHER != 0 {
                    e.instance = imap[(e.instance & !OTHER) as usize];
                }
                e
            }));
            if theirs.capacity() > 2 * theirs.len() {
                theirs.shrink_to_fit();
            }
        }
    }

    /// Number of events pushed so far.
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Whether an event was pushed with key number `k`.
    pub fn has_events(&self, k: u32) -> bool {
        self.keyed
            .get(k as usize)
            .is_some_and(|&(t, _)| t != UNSEEN)
    }

    /// The timelines of the events pushed; `keys` names the interest keys by number (every
    /// key an event was pushed with; the timelines copy their names), `clients` the
    /// numbered clients (every one an event was pushed with). Also each key's instance id
    /// (`InstanceId::MAX` for a key no event was pushed with).
    pub fn build(self, keys: NameList, clients: &NameList) -> (Timelines, Vec<InstanceId>) {
        use rayon::prelude::*;
        // Every instance in one list: the keys seen (read from `keys` where they are, not
        // copied into a box each first), then the others.
        let (mut local, listed) = Listed::instances(&self.keyed, self.instance_ids, self.instances);
        let others = listed.seen.len();
        // Every client in one list likewise: the numbered ones seen, then the others.
        let (mut client_local, names, other_clients) =
            Self::clients_listed(&self.numbered_clients, self.client_ids, clients);
        // Final ids follow sorted names.
        let (corder, iorder) = rayon::join(
            || sorted_order(names.len(), |k| &names[k]),
            || sorted_order(listed.parts.len(), |k| listed.path(&keys, k)),
        );
        let (cfinal, ifinal) = (places(&corder), places(&iorder));
        // And a builder-local id's place in the list.
        for k in local.iter_mut().filter(|k| **k != UNSEEN) {
            *k = ifinal[*k as usize];
        }
        let ifinal_other = &ifinal[others..];
        for k in client_local.iter_mut().filter(|k| **k != UNSEEN) {
            *k = cfinal[*k as usize];
        }
        let cfinal_other = &cfinal[other_clients..];
        let clients: NameList = corder.iter().map(|&o| &names[o as usize]).collect();
        drop((names, corder));
        let templates: Vec<std::sync::Arc<str>> =
            self.templates.into_iter().map(Into::into).collect();
        let paths = listed.paths_in_order(&iorder, &keys);
        let mut traits: Vec<InstanceTraits> = iorder
            .par_iter()
            .map(|&o| {
                let (t, conflicted) = listed.parts[o as usize];
                InstanceTraits {
                    template: templates[t as usize].clone(),
                    parent: None,
                    conflicted,
                }
            })
            .collect();
        // Each list is given back as soon as it is used up: with a million instances and
        // clients they are megabytes each, and the events' grouping below allocates too.
        drop((keys, listed, iorder));
        let parents = parents_in_order(&paths);
        for (inst, p) in traits.iter_mut().zip(parents) {
            inst.parent = p;
        }
        let mut raw = self.raw;
        raw.par_iter_mut().for_each(|e| {
            e.client = if e.client & OTHER != 0 {
                cfinal_other[(e.client & !OTHER) as usize]
            } else {
                client_local[e.client as usize]
            };
            e.instance = if e.instance & OTHER != 0 {
                ifinal_other[(e.instance & !OTHER) as usize]
            } else {
                local[e.instance as usize]
            };
        });
        drop((cfinal, ifinal, client_local));
        let timed = raw.par_iter().any(|e| e.timed());
        let events = EventsByInstance::group(raw, traits.len());
        let (children, child_starts) = children_by_parent(&traits);
        let timelines = Timelines {
            clients,
            paths,
            traits,
            events,
            timed,
            children,
            child_starts,
            idempotency_keys: self.idempotency_keys,
        };
        (timelines, local)
    }

    /// Every client in one list: the numbered ones seen (named by `clients`), then the
    /// others; each numbered client's place in it (`UNSEEN` for those not seen), and how
    /// many were seen.
    fn clients_listed(
        numbered: &[bool],
        ids: FxHashMap<Box<str>, u32>,
        clients: &NameList,
    ) -> (Vec<u32>, NameList, usize) {
        let mut local = vec![UNSEEN; numbered.len()];
        let mut names = NameList::default();
        for (k, _) in (numbered.iter().enumerate()).filter(|(_, seen)| **seen) {
            local[k] = names.len() as u32;
            names.push(&clients[k]);
        }
        let seen = names.len();
        names.extend(Self::by_number(ids).iter().map(|n| &**n));
        (local, names, seen)
    }
}

/// A builder's instances in one list (`TimelineBuilder::build`): the keys seen, in key
/// order, then the instances pushed by name.
struct Listed {
    /// The keys seen, by place.
    seen: Vec<u32>,
    /// The paths of the instances pushed by name, by their number.
    other_paths: Vec<Box<str>>,
    /// Each instance's template number and whether it had conflicts, by place.
    parts: Vec<(u32, bool)>,
}

impl Listed {
    /// The list, and each key's place in it (`UNSEEN` for keys no event was pushed with).
    fn instances(
        keyed: &[(u32, bool)],
        ids: FxHashMap<Box<str>, u32>,
        named: Vec<(u32, bool)>,
    ) -> (Vec<u32>, Listed) {
        let mut local = vec![UNSEEN; keyed.len()];
        let mut seen: Vec<u32> = Vec::new();
        let mut parts: Vec<(u32, bool)> = Vec::new();
        for (k, &(t, c)) in keyed.iter().enumerate() {
            if t != UNSEEN {
                local[k] = seen.len() as u32;
                seen.push(k as u32);
                parts.push((t, c));
            }
        }
        let other_paths = TimelineBuilder::by_number(ids);
        parts.extend(named);
        let listed = Listed {
            seen,
            other_paths,
            parts,
        };
        (local, listed)
    }

    /// The path of the instance in place `k`, the keys named by `keys`.
    fn path<'a>(&'a self, keys: &'a NameList, k: usize) -> &'a str {
        match self.seen.get(k) {
            Some(&key) => &keys[key as usize],
            None => &self.other_paths[k - self.seen.len()],
        }
    }

    /// The paths in one list in the order `order` sorts them.
    ///
    /// Copied a piece on each thread, so that they lie in the order the detectors walk the
    /// instances (read in key order, the first look at each path missed the cache), and
    /// with no heap block each (copied into a `String` each, half a million paths took
    /// 0.2-0.3 s, most of it spent touching their fresh blocks). Read in this order, the
    /// paths are read at random, each in three steps that wait on one another (the key,
    /// where its name lies, the name): each step is asked for a few paths ahead of the next
    /// (a million paths: the copy took a quarter of the timelines' build, sampled).
    fn paths_in_order(&self, order: &[u32], keys: &NameList) -> NameList {
        use rayon::prelude::*;
        let (seen, other_paths, others) = (&self.seen, &self.other_paths, self.seen.len());
        let ask = |k: usize, step: usize| match (seen.get(k), step) {
            (Some(_), 0) => crate::prefetch::prefetch(seen.as_ptr().wrapping_add(k)),
            (Some(&key), 1) => keys.prefetch_bounds(key as usize),
            (Some(&key), _) => keys.prefetch_text(key as usize),
            (None, 0) => {}
            (None, 1) => crate::prefetch::prefetch(other_paths.as_ptr().wrapping_add(k - others)),
            (None, _) => {
                if let Some(p) = other_paths.get(k - others) {
                    crate::prefetch::prefetch(p.as_ptr());
                }
            }
        };
        let pieces: Vec<NameList> = order
            .par_chunks(1 << 14)
            .map(|piece| {
                let mut list = NameList::default();
                list.reserve(piece.len(), 0);
                for (j, &o) in piece.iter().enumerate() {
                    for (step, ahead) in [24, 16, 8].into_iter().enumerate() {
                        if let Some(&p) = piece.get(j + ahead) {
                            ask(p as usize, step);
                        }
                    }
                    list.push(self.path(keys, o as usize));
                }
                list
            })
            .collect();
        let mut paths = NameList::default();
        paths.reserve(order.len(), pieces.iter().map(NameList::bytes).sum());
        // Each piece given back once joined.
        for piece in pieces {
            paths.append(&piece);
        }
        paths
    }
}

/// Each item's place in `order` (the inverse of the permutation `order` is).
fn places(order: &[u32]) -> Vec<u32> {
    let mut place = vec![0u32; order.len()];
    for (new, old) in order.iter().enumerate() {
        place[*old as usize] = new as u32;
    }
    place
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Sorting by windows after the shared prefix, window after window on ties,
        /// is the names' byte order: names alike up to a long prefix (past several windows),
        /// prefixes of one another, NUL bytes, repeated names.
        #[test]
        fn sorted_order_is_byte_order(
            names in proptest::collection::vec(
                "(/api/v1/orders/)?((/items/)?[0-9a\\x00/]{0,20}){0,3}", 0..60,
            ),
        ) {
            let boxed: Vec<Box<str>> = names.iter().map(|s| s.as_str().into()).collect();
            let got: Vec<&str> = sorted_order(boxed.len(), |k| &boxed[k]).iter().map(|&i| &*boxed[i as usize]).collect();
            let mut want: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
            want.sort();
            proptest::prop_assert_eq!(got, want);
        }
    }

    /// Long names alike up to their last bytes, and prefixes of one another, sort in byte
    /// order (and at once: the tie is skipped, not walked a window a round).
    #[test]
    fn long_alike_names_sort_in_byte_order() {
        let stem = "/x".repeat(100_000);
        let mut names: Vec<String> = (0..300).rev().map(|k| format!("{stem}/{k}")).collect();
        names.push(stem.clone());
        names.push(format!("{stem}\0"));
        names.push("/a".into());
        let got: Vec<&str> = sorted_order(names.len(), |k| &names[k])
            .iter()
            .map(|&i| names[i as usize].as_str())
            .collect();
        let mut want: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
        want.sort();
        assert_eq!(got, want);
    }

    proptest::proptest! {
        /// The parents found by walking the sorted paths are those a map of every path
        /// finds: nested paths, prefixes that are not parents (`/o/1` of `/o/10`), trailing
        /// and doubled slashes, the root, paths without a slash.
        #[test]
        fn parents_in_order_are_the_mapped_parents(
            paths in proptest::collection::btree_set("(/|/o|/o/1|/o/10|/p)?(/[01a]{0,2}){0,4}/?", 0..80),
        ) {
            let list: NameList = paths.iter().map(|p| p.as_str()).collect();
            let by_path: FxHashMap<&str, InstanceId> = (paths.iter().enumerate())
                .map(|(k, p)| (p.as_str(), k as InstanceId))
                .collect();
            let want: Vec<Option<InstanceId>> = paths
                .iter()
                .map(|p| crate::resource::parent(p).and_then(|q| by_path.get(q).copied()))
                .collect();
            proptest::prop_assert_eq!(parents_in_order(&list), want);
        }
    }

    proptest::proptest! {
        /// The children in one vector are those a vector per instance held, in the same
        /// order: instances without a parent, parents with many children, none at all.
        #[test]
        fn children_in_one_vector_are_each_parents(
            parents in proptest::collection::vec(proptest::option::of(0u32..12), 0..40),
        ) {
            let instances: Vec<InstanceTraits> = (parents.iter())
                .map(|p| InstanceTraits {
                    template: "".into(),
                    parent: p.filter(|&p| (p as usize) < parents.len()),
                    conflicted: false,
                })
                .collect();
            let mut want = vec![Vec::new(); instances.len()];
            for (k, inst) in instances.iter().enumerate() {
                if let Some(p) = inst.parent {
                    want[p as usize].push(k as InstanceId);
                }
            }
            let (children, child_starts) = children_by_parent(&instances);
            let tl = Timelines { traits: instances, children, child_starts, ..Timelines::default() };
            for (id, w) in want.iter().enumerate() {
                proptest::prop_assert_eq!(&tl.children(id as InstanceId).collect::<Vec<_>>(), w);
            }
            proptest::prop_assert_eq!(tl.children(want.len() as InstanceId + 3).count(), 0);
        }
    }

    fn event(k: u64) -> RawEvent {
        // Scrambled times, three clients, seven instances.
        let start = ((k * 7919) % 1000) as Micros;
        RawEvent {
            start,
            end: start + (k % 3) as Micros,
            timed: k.is_multiple_of(2),
            client: format!("c{}", k % 3),
            method: Method::Put,
            status: if k.is_multiple_of(5) { 409 } else { 200 },
            instance: format!("/o/{}", k % 7),
            template: "/o/{id}".to_string(),
            input: (k % 2) as u32,
            offset: k * 100,
            conflict: k.is_multiple_of(5),
            origin: Origin::Unknown,
            agent: Agent::OTHER,
        }
    }

    /// More instances than one piece of the paths' list holds (16,384): the pieces, made
    /// side by side, join into one list in byte order, each path found again by its id, each
    /// event on its own instance, parents found across pieces.
    #[test]
    fn paths_made_in_pieces_are_one_list_in_order() {
        let n = 40_000u64;
        let mut b = TimelineBuilder::default();
        for k in 0..n {
            let mut e = event(k);
            e.instance = format!("/o/{}", (k * 7919) % n);
            b.push(e, false);
        }
        b.push(
            RawEvent {
                instance: "/o".into(),
                ..event(n)
            },
            false,
        );
        let (tl, _) = b.build(NameList::default(), &NameList::default());
        assert_eq!(tl.instance_count(), n as usize + 1);
        let paths: Vec<&str> = tl.instances().map(|i| i.path).collect();
        let mut want: Vec<String> = (0..n).map(|k| format!("/o/{k}")).collect();
        want.push("/o".into());
        want.sort();
        assert_eq!(paths, want);
        for (id, i) in tl.instances().enumerate() {
            let id = id as InstanceId;
            assert_eq!(tl.path(id), i.path);
            assert_eq!(tl.find_instance(i.path), Some(id));
            assert_eq!(i.template, "/o/{id}");
            for e in &tl.events[id as usize] {
                assert_eq!(e.instance, id);
            }
            let parent = (i.path != "/o").then(|| tl.find_instance("/o").unwrap());
            assert_eq!(i.parent, parent);
        }
        assert_eq!(tl.find_instance("/o/40000"), None);
    }

    #[test]
    fn an_event_stays_small() {
        // Millions are kept on big logs: every 8 bytes is ~6 MB at 4 GiB.
        assert_eq!(std::mem::size_of::<Event>(), 40);
    }

    proptest::proptest! {
        /// An event gives back every field it was made with: offsets past 4 G, every method
        /// and origin, the flags.
        #[test]
        fn an_event_keeps_its_fields(
            start in proptest::num::i64::ANY,
            end in proptest::num::i64::ANY,
            offset in proptest::num::u64::ANY,
            method in 0..=Method::Other as usize,
            origin in 0..ORIGINS.len(),
            (timed, conflict) in (proptest::bool::ANY, proptest::bool::ANY),
            (client, instance, input) in (
                proptest::num::u32::ANY, proptest::num::u32::ANY, proptest::num::u32::ANY,
            ),
            status in proptest::num::u16::ANY,
        ) {
            let fields = EventFields {
                start, end, timed, client, method: METHODS[method], status, instance, input,
                offset, conflict, origin: ORIGINS[origin], agent: Agent::OTHER,
            };
            let e = Event::new(fields.clone());
            proptest::prop_assert_eq!(format!("{:?}", e.fields()), format!("{fields:?}"));
            proptest::prop_assert_eq!(e.offset(), offset);
        }
    }

    /// Events pushed by instance name or by key number (three of the seven instances have
    /// keys, numbered out of path order), by client name or number, in two builders merged.
    #[test]
    fn events_from_several_builders_are_grouped_and_sorted() {
        // More events than `append` moves in one piece.
        let n = 150_000u64;
        let keys = ["/o/5", "/o/2", "/o/6"];
        let numbered = ["c2", "c0"];
        let (mut a, mut b) = (TimelineBuilder::default(), TimelineBuilder::default());
        for k in 0..n {
            // Instances 3 to 6 only in `b`, whose template numbers `append` maps to `a`'s.
            let builder = if k.is_multiple_of(4) && k % 7 < 3 {
                &mut a
            } else {
                &mut b
            };
            // Three templates (an instance's number mod 3), met in another order by each
            // builder, which numbers them as it meets them.
            let mut e = event(k);
            e.template = format!("/o/{{t{}}}", k % 7 % 3);
            let conflicted = k.is_multiple_of(5);
            // Two of the three clients numbered (out of name order), the third named.
            let client = match numbered.iter().position(|c| *c == e.client) {
                Some(k) => Client::Numbered(k as u32),
                None => Client::Named(&e.client),
            };
            match keys.iter().position(|p| *p == e.instance) {
                Some(key) => builder.push_named(
                    e.event(),
                    client,
                    &e.instance,
                    Some(key as u32),
                    &e.template,
                    conflicted,
                ),
                None if matches!(client, Client::Named(_)) => builder.push(e, conflicted),
                None => builder.push_named(
                    e.event(),
                    client,
                    &e.instance,
                    None,
                    &e.template,
                    conflicted,
                ),
            }
        }
        a.append(b);
        assert_eq!(a.len(), n as usize);
        let (tl, key_instances) = a.build(
            keys.iter().copied().collect(),
            &numbered.into_iter().collect(),
        );
        // Each key's instance, and every path found by its id (a binary search).
        assert_eq!(key_instances, [5, 2, 6]);
        for (id, i) in tl.instances().enumerate() {
            assert_eq!(tl.find_instance(i.path), Some(id as InstanceId));
        }
        assert_eq!(tl.find_instance("/o/7"), None);
        assert_eq!(tl.find_instance("/o"), None);
        for (id, i) in tl.instances().enumerate() {
            assert!(i.conflicted);
            assert_eq!(*i.template, format!("/o/{{t{}}}", id % 3), "{}", i.path);
        }
        let paths: Vec<&str> = tl.instances().map(|i| i.path).collect();
        assert_eq!(
            paths,
            ["/o/0", "/o/1", "/o/2", "/o/3", "/o/4", "/o/5", "/o/6"]
        );
        assert!(tl.clients.iter().eq(["c0", "c1", "c2"]));
        assert_eq!(tl.events.len(), 7);
        assert!(tl.timed);
        let mut total = 0;
        for (id, events) in tl.events.iter().enumerate() {
            assert_eq!(events.len(), tl.events[id].len());
            total += events.len();
            for e in events {
                assert_eq!(e.instance as usize, id);
                let k = e.offset() / 100;
                assert_eq!(tl.path(id as InstanceId), format!("/o/{}", k % 7));
                assert_eq!(tl.client(e.client), format!("c{}", k % 3));
            }
            let keys: Vec<_> = events
                .iter()
                .map(|e| (e.start, e.end, e.input, e.offset()))
                .collect();
            assert!(
                keys.windows(2).all(|w| w[0] < w[1]),
                "instance {id} unsorted"
            );
        }
        assert_eq!(total, n as usize);
    }
}
