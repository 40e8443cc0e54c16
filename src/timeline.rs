//! Per-instance timelines: the ordered requests on each resource instance that had conflicts
//! (and on its parent and children), which the detectors read.
//!
//! Events are sorted by start time (end − duration when the format logs a duration, else the
//! logged time), then by input and line, so files from several gateway instances interleave by
//! time and the order never depends on chunking.

use crate::record::{Method, Micros};
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;

/// Index of a client in `Timelines::clients`.
pub type ClientId = u32;
/// Index of an instance in `Timelines::instances`.
pub type InstanceId = u32;

/// One request on an instance of interest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub start: Micros,
    pub end: Micros,
    /// Whether `start`/`end` come from a logged duration (else both are the logged time).
    pub timed: bool,
    pub client: ClientId,
    pub method: Method,
    pub status: u16,
    pub upstream_status: Option<u16>,
    pub instance: InstanceId,
    /// Index into the report's inputs.
    pub input: u32,
    /// 1-based line number in that input.
    pub line: u64,
    /// Byte offset of the line in the input, to quote it as evidence.
    pub offset: u64,
    pub len: u32,
    /// Whether the status is in the conflict family (`--status`).
    pub conflict: bool,
}

impl Event {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
    pub fn is_write(&self) -> bool {
        self.method.is_write()
    }
    pub fn duration(&self) -> Micros {
        self.end - self.start
    }
}

/// A resource instance of interest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub path: String,
    pub template: String,
    /// The parent instance, when it is also tracked.
    pub parent: Option<InstanceId>,
    /// Did this instance itself have conflicts (or is it only context)?
    pub conflicted: bool,
}

/// All timelines of one analysis.
#[derive(Debug, Default, Clone)]
pub struct Timelines {
    pub clients: Vec<String>,
    pub instances: Vec<Instance>,
    /// Events of each instance, sorted (see module doc).
    pub events: Vec<Vec<Event>>,
    /// Whether any event carried a logged duration.
    pub timed: bool,
    /// Children of each instance (instances whose parent it is), computed once.
    children: Vec<Vec<InstanceId>>,
}

impl Timelines {
    pub fn client(&self, id: ClientId) -> &str {
        &self.clients[id as usize]
    }
    pub fn instance(&self, id: InstanceId) -> &Instance {
        &self.instances[id as usize]
    }
    pub fn find_instance(&self, path: &str) -> Option<InstanceId> {
        self.instances
            .iter()
            .position(|i| i.path == path)
            .map(|p| p as InstanceId)
    }
    /// Children of an instance (instances whose parent it is).
    pub fn children(&self, id: InstanceId) -> impl Iterator<Item = InstanceId> + '_ {
        self.children
            .get(id as usize)
            .into_iter()
            .flatten()
            .copied()
    }
    /// Instances grouped by template, for route-wide detectors.
    pub fn by_template(&self) -> BTreeMap<&str, Vec<InstanceId>> {
        let mut m: BTreeMap<&str, Vec<InstanceId>> = BTreeMap::new();
        for (k, i) in self.instances.iter().enumerate() {
            m.entry(i.template.as_str())
                .or_default()
                .push(k as InstanceId);
        }
        m
    }
}

/// Builds `Timelines` from events collected in any order: names are interned as they arrive
/// (one allocation per distinct client or instance, not per event), and `build` renumbers
/// them in sorted order so ids never depend on arrival order or chunking.
#[derive(Debug, Default)]
pub struct TimelineBuilder {
    client_ids: FxHashMap<String, u32>,
    clients: Vec<String>,
    instance_ids: FxHashMap<String, u32>,
    /// (path, template, conflicted)
    instances: Vec<(String, String, bool)>,
    /// Events with builder-local client and instance ids.
    raw: Vec<Event>,
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
    pub upstream_status: Option<u16>,
    pub instance: String,
    pub template: String,
    pub input: u32,
    pub line: u64,
    pub offset: u64,
    pub len: u32,
    pub conflict: bool,
}

impl TimelineBuilder {
    fn client_id(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.client_ids.get(name) {
            return id;
        }
        let id = self.clients.len() as u32;
        self.clients.push(name.to_string());
        self.client_ids.insert(name.to_string(), id);
        id
    }

    fn instance_id(
        &mut self,
        path: &str,
        template: impl FnOnce() -> String,
        conflicted: bool,
    ) -> u32 {
        if let Some(&id) = self.instance_ids.get(path) {
            self.instances[id as usize].2 |= conflicted;
            return id;
        }
        let id = self.instances.len() as u32;
        self.instances
            .push((path.to_string(), template(), conflicted));
        self.instance_ids.insert(path.to_string(), id);
        id
    }

    /// Adds an event given by names.
    pub fn push(&mut self, e: RawEvent, instance_conflicted: bool) {
        let client = self.client_id(&e.client);
        let template = e.template;
        let instance = self.instance_id(&e.instance, || template, instance_conflicted);
        self.raw.push(Event {
            start: e.start,
            end: e.end,
            timed: e.timed,
            client,
            method: e.method,
            status: e.status,
            upstream_status: e.upstream_status,
            instance,
            input: e.input,
            line: e.line,
            offset: e.offset,
            len: e.len,
            conflict: e.conflict,
        });
    }

    /// Adds an event whose `client` and `instance` fields are ignored and given by name;
    /// `template` is only called the first time an instance is seen.
    pub fn push_named(
        &mut self,
        mut e: Event,
        client: &str,
        instance: &str,
        template: impl FnOnce() -> String,
        instance_conflicted: bool,
    ) {
        e.client = self.client_id(client);
        e.instance = self.instance_id(instance, template, instance_conflicted);
        self.raw.push(e);
    }

    /// Appends another builder's events (e.g. a later chunk's).
    pub fn append(&mut self, other: TimelineBuilder) {
        let cmap: Vec<u32> = other.clients.iter().map(|c| self.client_id(c)).collect();
        let imap: Vec<u32> = other
            .instances
            .into_iter()
            .map(|(p, t, c)| self.instance_id(&p, || t, c))
            .collect();
        self.raw.extend(other.raw.into_iter().map(|mut e| {
            e.client = cmap[e.client as usize];
            e.instance = imap[e.instance as usize];
            e
        }));
    }

    /// Adds to each event's line number the base `base(input, offset)` gives: events pushed
    /// with line numbers relative to their chunk become numbered within their input.
    pub fn rebase_lines(&mut self, base: impl Fn(u32, u64) -> u64 + Sync) {
        use rayon::prelude::*;
        self.raw
            .par_iter_mut()
            .for_each(|e| e.line += base(e.input, e.offset));
    }

    /// Number of events pushed so far.
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    pub fn build(self) -> Timelines {
        use rayon::prelude::*;
        // Final ids follow sorted names.
        let mut corder: Vec<u32> = (0..self.clients.len() as u32).collect();
        let mut iorder: Vec<u32> = (0..self.instances.len() as u32).collect();
        rayon::join(
            || corder.par_sort_by(|a, b| self.clients[*a as usize].cmp(&self.clients[*b as usize])),
            || {
                iorder.par_sort_by(|a, b| {
                    self.instances[*a as usize]
                        .0
                        .cmp(&self.instances[*b as usize].0)
                })
            },
        );
        let mut cfinal = vec![0u32; self.clients.len()];
        for (new, old) in corder.iter().enumerate() {
            cfinal[*old as usize] = new as u32;
        }
        let mut ifinal = vec![0u32; self.instances.len()];
        for (new, old) in iorder.iter().enumerate() {
            ifinal[*old as usize] = new as u32;
        }
        let mut client_names: Vec<Option<String>> = self.clients.into_iter().map(Some).collect();
        let clients: Vec<String> = corder
            .iter()
            .map(|&o| client_names[o as usize].take().unwrap_or_default())
            .collect();
        let mut inst_parts: Vec<Option<(String, String, bool)>> =
            self.instances.into_iter().map(Some).collect();
        let mut instances: Vec<Instance> = iorder
            .iter()
            .map(|&o| {
                let (path, template, conflicted) =
                    inst_parts[o as usize].take().unwrap_or_default();
                Instance {
                    path,
                    template,
                    parent: None,
                    conflicted,
                }
            })
            .collect();
        let by_path: FxHashMap<&str, u32> = instances
            .iter()
            .enumerate()
            .map(|(i, x)| (x.path.as_str(), i as u32))
            .collect();
        let parents: Vec<Option<u32>> = instances
            .iter()
            .map(|i| crate::resource::parent(&i.path).and_then(|p| by_path.get(p).copied()))
            .collect();
        drop(by_path);
        for (inst, p) in instances.iter_mut().zip(parents) {
            inst.parent = p;
        }
        let mut events: Vec<Vec<Event>> = vec![Vec::new(); instances.len()];
        let mut timed = false;
        for mut e in self.raw {
            timed |= e.timed;
            e.client = cfinal[e.client as usize];
            e.instance = ifinal[e.instance as usize];
            events[e.instance as usize].push(e);
        }
        events
            .par_iter_mut()
            .for_each(|ev| ev.sort_by_key(|e| (e.start, e.end, e.input, e.line)));
        let mut children = vec![Vec::new(); instances.len()];
        for (k, inst) in instances.iter().enumerate() {
            if let Some(p) = inst.parent {
                children[p as usize].push(k as InstanceId);
            }
        }
        Timelines {
            clients,
            instances,
            events,
            timed,
            children,
        }
    }
}
