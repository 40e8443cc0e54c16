//! Per-instance timelines: the ordered requests on each resource instance that had conflicts
//! (and on its parent and children), which the detectors read.
//!
//! Events are sorted by start time (end − duration when the format logs a duration, else the
//! logged time), then by input and line, so files from several gateway instances interleave by
//! time and the order never depends on chunking.

use crate::record::{Method, Micros};
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

/// Builds `Timelines` from events collected in any order.
#[derive(Debug, Default)]
pub struct TimelineBuilder {
    clients: BTreeMap<String, ()>,
    instances: BTreeMap<String, (String, bool)>,
    raw: Vec<RawEvent>,
}

/// An event before ids are assigned.
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
    pub fn push(&mut self, e: RawEvent, instance_conflicted: bool) {
        self.clients.entry(e.client.clone()).or_default();
        let ent = self
            .instances
            .entry(e.instance.clone())
            .or_insert_with(|| (e.template.clone(), false));
        ent.1 |= instance_conflicted;
        self.raw.push(e);
    }

    pub fn build(self) -> Timelines {
        // Ids follow sorted names, so they never depend on the order events arrived in.
        let clients: Vec<String> = self.clients.into_keys().collect();
        let client_id: BTreeMap<&str, u32> = clients
            .iter()
            .enumerate()
            .map(|(i, c)| (c.as_str(), i as u32))
            .collect();
        let mut instances: Vec<Instance> = self
            .instances
            .iter()
            .map(|(p, (t, c))| Instance {
                path: p.clone(),
                template: t.clone(),
                parent: None,
                conflicted: *c,
            })
            .collect();
        let inst_id: BTreeMap<String, u32> = instances
            .iter()
            .enumerate()
            .map(|(i, x)| (x.path.clone(), i as u32))
            .collect();
        for inst in instances.iter_mut() {
            inst.parent = crate::resource::parent(&inst.path).and_then(|p| inst_id.get(p).copied());
        }
        let mut events: Vec<Vec<Event>> = vec![Vec::new(); instances.len()];
        let mut timed = false;
        for r in self.raw {
            timed |= r.timed;
            let iid = inst_id[&r.instance];
            events[iid as usize].push(Event {
                start: r.start,
                end: r.end,
                timed: r.timed,
                client: client_id[r.client.as_str()],
                method: r.method,
                status: r.status,
                upstream_status: r.upstream_status,
                instance: iid,
                input: r.input,
                line: r.line,
                offset: r.offset,
                len: r.len,
                conflict: r.conflict,
            });
        }
        for ev in events.iter_mut() {
            ev.sort_by_key(|e| (e.start, e.end, e.input, e.line));
        }
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
