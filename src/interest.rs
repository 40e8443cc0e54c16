//! Interest: which lines the pass keeps as context, given the conflicting instances the
//! scan found. Each conflicting instance and each relative kept for it is a *key*, numbered
//! densely; the pass counts requests per key and keeps a line as an event when it falls in
//! a key's (or its parent's) time range.

use crate::detect::in_progress_conflict;
use crate::key_table::{KeyTable, Sought};
use crate::name_list::NameList;
use crate::record::{Micros, Request};
use crate::resource::{self, SplitPath, TemplateCache, Templater};
use crate::timestamp::MICROS_PER_SEC;
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};

/// The size of the keys' filter from which `Interest::prefetch_early` says so: a quarter of
/// the L2 cache of a current server core (1 MiB), which the line's other data shares.
const EARLY_FILTER_BYTES: usize = 256 << 10;

/// What the conflict scan finds: each conflicting instance's first and last conflict, and
/// the context spans of their parents, gathered as the conflicts are noted (in the scan's
/// workers, side by side, while the line is at hand). Under items (`/orders/1/items`) there
/// is a parent per instance: gathering a million of them after the scan, single-threaded,
/// took two seconds.
///
/// The instances are numbered as they come, and their table becomes `Interest`'s table of
/// keys as it is: building that again, one insert a name, took a third of a second after
/// the scan of a log of a million conflicting instances.
#[derive(Debug, Default)]
pub struct Conflicts {
    /// Each conflicting instance's number: its place in `noted`.
    instances: KeyTable,
    noted: Vec<Noted>,
    /// Bit `n` set when some instance `n` bytes long (255 for longer) is an item
    /// (`Interest::family_lens`).
    family_lens: [u64; 4],
    /// The parents, the root left out: most conflicting instances share their parent (a
    /// collection), which is named once; under items each has its own, and a `String` each
    /// was an allocation per conflicting instance (a million of them, ~100 bytes each).
    parents: KeyTable,
    /// Each parent's spans (all lines, triggers only), by its number in `parents`.
    parent_spans: Vec<(Span, Span)>,
}

/// What the scan notes of one conflicting instance.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Noted {
    first: Micros,
    last: Micros,
    /// Whether it is an item (`is_item`), whose children are then context too.
    item: bool,
}

/// Equal when they hold the same instances with the same spans, whatever their numbers
/// (which follow the order the scan's parts were noted and merged in).
impl PartialEq for Conflicts {
    fn eq(&self, o: &Conflicts) -> bool {
        let noted = |c: &Conflicts, k: u32| c.noted[k as usize];
        self.instances.len() == o.instances.len()
            && (self.instances.iter()).all(|(name, k)| {
                o.instances
                    .get(name)
                    .is_some_and(|j| noted(self, k) == noted(o, j))
            })
            && self.family_lens == o.family_lens
            && self.parents.len() == o.parents.len()
            && (self.parents.iter())
                .all(|(name, k)| o.parent_spans(name) == Some(self.parent_spans[k as usize]))
    }
}

impl Conflicts {
    /// Asks for the table's first place for `instance` ahead of `note`.
    #[inline]
    pub fn prefetch(&self, instance: &str) {
        self.instances.prefetch(instance);
    }

    /// Notes conflicts on `instance` from `first` to `last`.
    pub fn note(&mut self, instance: &str, first: Micros, last: Micros) {
        let item = match self.instances.insert(instance) {
            (k, false) => {
                let n = &mut self.noted[k as usize];
                if first >= n.first && last <= n.last {
                    // Within the instance's span, so within its parent's.
                    return;
                }
                n.first = n.first.min(first);
                n.last = n.last.max(last);
                n.item
            }
            (_, true) => {
                let item = is_item(instance);
                if item {
                    note_len(&mut self.family_lens, instance.len());
                }
                self.noted.push(Noted { first, last, item });
                item
            }
        };
        if let Some(p) = resource::parent(instance).filter(|p| *p != "/") {
            let (k, fresh) = self.parents.insert(p);
            if fresh {
                self.parent_spans.push((Span::NONE, Span::NONE));
            }
            let spans = &mut self.parent_spans[k as usize];
            let span = Span::around(first, last);
            if item {
                spans.1.widen(span);
            } else {
                spans.0.widen(span);
            }
        }
    }

    /// Two parts' conflicts as one: the smaller folded into the larger (its names are
    /// copied into the larger's buffer, no allocation a name: on a log whose every line
    /// conflicts on an instance of its own, a `String` copied a name made the merge as long
    /// as the scan). The instances and the parents are merged side by side: under items
    /// there are as many parents as instances, and each half took half the merge.
    pub fn merge(a: Conflicts, b: Conflicts) -> Conflicts {
        let (into, from) = if a.instances.len() >= b.instances.len() {
            (a, b)
        } else {
            (b, a)
        };
        let Conflicts {
            instances,
            noted,
            mut family_lens,
            parents,
            parent_spans,
        } = into;
        for (mine, theirs) in family_lens.iter_mut().zip(from.family_lens) {
            *mine |= theirs;
        }
        let ((instances, noted), (parents, parent_spans)) = rayon::join(
            || merge_instances((instances, noted), (&from.instances, &from.noted)),
            || merge_parents((parents, parent_spans), (from.parents, from.parent_spans)),
        );
        Conflicts {
            instances,
            noted,
            family_lens,
            parents,
            parent_spans,
        }
    }

    /// How many conflicting instances.
    pub fn len(&self) -> usize {
        self.instances.len()
    }

    pub fn is_empty(&self) -> bool {
        self.instances.is_empty()
    }

    /// The spans noted for parent `p` (all lines, triggers only), if it is one.
    fn parent_spans(&self, p: &str) -> Option<(Span, Span)> {
        (self.parents.get(p)).map(|k| self.parent_spans[k as usize])
    }
}

/// `from`'s names folded into `table`'s, each with its value: a name both hold gets the two
/// values combined, a new one is numbered after the rest with its own.
fn fold<T: Copy>(
    (mut table, mut values): (KeyTable, Vec<T>),
    (from, from_values): (&KeyTable, &[T]),
    combine: impl Fn(&mut T, T),
) -> (KeyTable, Vec<T>) {
    // Room for all of them at once: grown as they came, the table was rehashed at each
    // doubling, every rehash reading each name again (47 → 28 ms of a 300 MB log's scan).
    table.reserve(from.len(), from.bytes());
    table.insert_each(from.iter(), |k, j, fresh| {
        let theirs = from_values[k as usize];
        if fresh {
            values.push(theirs);
        } else {
            combine(&mut values[j as usize], theirs);
        }
    });
    (table, values)
}

/// Two parts' instances with what the scan noted of them as one.
fn merge_instances(
    into: (KeyTable, Vec<Noted>),
    from: (&KeyTable, &[Noted]),
) -> (KeyTable, Vec<Noted>) {
    fold(into, from, |n, theirs| {
        n.first = n.first.min(theirs.first);
        n.last = n.last.max(theirs.last);
    })
}

/// Two parts' parents with their spans as one, the smaller table folded into the larger.
fn merge_parents(
    a: (KeyTable, Vec<(Span, Span)>),
    b: (KeyTable, Vec<(Span, Span)>),
) -> (KeyTable, Vec<(Span, Span)>) {
    let (into, from) = if a.0.len() >= b.0.len() {
        (a, b)
    } else {
        (b, a)
    };
    fold(into, (&from.0, &from.1), |(all, triggers), (a, t)| {
        all.widen(a);
        triggers.widen(t);
    })
}

/// Lookback before an instance's first conflict for context lines.
const LOOKBACK: Micros = 24 * 3600 * MICROS_PER_SEC;
/// Context kept after an instance's last conflict.
const LOOKAHEAD: Micros = 15 * 60 * MICROS_PER_SEC;
/// Reads are kept only this close to the instance's conflicts: a re-read matters just
/// before or between conflicts (root-causes.md §7: 10 min), while writes that changed state
/// (locks, shipments) matter up to `LOOKBACK` before.
const READ_MARGIN: Micros = 15 * 60 * MICROS_PER_SEC;

/// Which instances the pass keeps lines for, and in which time range.
///
/// Kept: the conflicting instances, their parents, and the children of any of those whose
/// last segment is an identifier (`/orders/1/export`, `/orders/1/ship` as siblings of
/// `/orders/1/cancel`). Children of a collection (`/orders/*` under `/orders`) are not kept:
/// that would be every item of the collection. A collection kept only as the parent of
/// conflicting items keeps only its triggers (202s, successful DELETEs): that is all an
/// item's conflicts read from it (`in_progress_conflict`), and a busy collection's creates
/// would otherwise be most of the memory of a large log.
pub struct Interest {
    /// Each key's number: its place in `ranges` and in the per-key request counts.
    keys: KeyTable,
    /// Per key: the span in which every line is context (its own conflicts, or those of a
    /// child that reads its record: an action, `/orders/1/cancel`, reads `/orders/1`).
    ranges: Vec<Span>,
    /// The keys in whose span only triggers are context (collections, for the conflicts of
    /// their items): few keys, so kept apart from `ranges` (a span for every key was 16
    /// bytes a key of a million, and only trigger lines ask).
    triggers: FxHashMap<u32, Span>,
    /// Per key: whether lines on its children are context too.
    family: Vec<bool>,
    /// The conflicting instances' first and last conflicts as the scan found them, by key:
    /// they are numbered first, so a key below its length is one.
    scanned: Vec<(Micros, Micros)>,
    /// Bit `n` set when some key whose children are context (`family`) is `n` bytes long
    /// (255 for longer): most lines' parents are collections, shorter or longer than every
    /// such item, and are then not hashed to be looked up.
    family_lens: [u64; 4],
    /// The keys' templates (`learn_templates`), which tell the pass the lines it need not
    /// look up: every line is looked up until they are learned.
    templates: KeyTemplates,
    /// The route whose instances' requests the pass counts (`count_instances_of`).
    counted_route: Option<Box<str>>,
}

/// What a line's template says of the lookups it needs: whether the line may be on a key,
/// and whether its parent may be a key whose children are context. A path on a key has
/// that key's template; and templating goes segment by segment, so a path's template is
/// its parent's followed by one segment, and a parent's template is its child's up to the
/// last `/`. (Not so under user routes, which template whole paths: then every line is
/// looked up.) Worked out once for each template (`Looks`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Look(u8);

impl Look {
    const OWN: u8 = 1;
    const FAMILY: u8 = 2;
    /// Set in every look worked out, so that zero is "not yet" in `Looks`.
    const KNOWN: u8 = 4;
    /// The line is on an instance of the route whose instances are counted.
    const COUNTED: u8 = 8;
    /// Both lookups.
    pub const ALL: Look = Look(Look::OWN | Look::FAMILY | Look::KNOWN);

    /// Whether the line may be on a key.
    #[inline]
    pub fn own(self) -> bool {
        self.0 & Look::OWN != 0
    }

    /// Whether the line's parent may be a key whose children are context.
    #[inline]
    pub fn family(self) -> bool {
        self.0 & Look::FAMILY != 0
    }

    /// Whether the line's instance is counted (`Interest::count_instances_of`).
    #[inline]
    pub fn counted(self) -> bool {
        self.0 & Look::COUNTED != 0
    }
}

/// The templates of the keys, and of those keys whose children are context.
#[derive(Debug)]
struct KeyTemplates {
    own: FxHashSet<Box<str>>,
    family: FxHashSet<Box<str>>,
    /// Look every line up (user routes, or templates not learned).
    everything: bool,
}

impl Default for KeyTemplates {
    fn default() -> KeyTemplates {
        KeyTemplates {
            own: FxHashSet::default(),
            family: FxHashSet::default(),
            everything: true,
        }
    }
}

impl KeyTemplates {
    /// Learned, and none yet: no line is looked up.
    fn none() -> KeyTemplates {
        KeyTemplates {
            everything: false,
            ..KeyTemplates::default()
        }
    }

    /// The look of the lines of template `template`.
    fn look(&self, template: &str) -> Look {
        if self.everything {
            return Look::ALL;
        }
        let mut look = Look::KNOWN;
        if self.own.contains(template) {
            look |= Look::OWN;
        }
        // The root is no parent of interest (`lookup_sought`).
        let parent = crate::bytes::rfind(template.as_bytes(), b'/').filter(|&p| p > 0);
        if parent.is_some_and(|p| self.family.contains(&template[..p])) {
            look |= Look::FAMILY;
        }
        Look(look)
    }

    /// Adds `template`, of a key whose children are context or not.
    fn add(&mut self, template: &str, family: bool) {
        if !self.own.contains(template) {
            self.own.insert(template.into());
        }
        if family && !self.family.contains(template) {
            self.family.insert(template.into());
        }
    }
}

/// The `Look` of each template of one worker's `TemplateCache`, by number, worked out on
/// the template's first line.
#[derive(Debug, Default)]
pub struct Looks(Vec<Look>);

impl Looks {
    /// The look of the lines of template `id` of `templates`.
    #[inline]
    pub fn of(&mut self, id: u32, templates: &TemplateCache, interest: &Interest) -> Look {
        match self.0.get(id as usize) {
            Some(&look) if look.0 != 0 => look,
            _ => self.learn(id, templates, interest),
        }
    }

    #[cold]
    #[inline(never)]
    fn learn(&mut self, id: u32, templates: &TemplateCache, interest: &Interest) -> Look {
        let k = id as usize;
        if k >= self.0.len() {
            self.0.resize(k + 1, Look(0));
        }
        let name = templates.name(id);
        let mut look = interest.templates.look(name);
        if interest.counted_route.as_deref() == Some(name) {
            look.0 |= Look::COUNTED;
        }
        self.0[k] = look;
        look
    }
}

/// A time range of context, kept as the first and last conflict it is around: writes (and
/// everything else) from `LOOKBACK` before the first to `LOOKAHEAD` after the last, reads
/// only within `READ_MARGIN` of them. The margins are constants, so widening the conflicts
/// widens every bound alike, and two times are all a key keeps (a large log has hundreds of
/// thousands of keys).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Span {
    first: Micros,
    last: Micros,
}

impl Span {
    /// Holds nothing.
    const NONE: Span = Span {
        first: Micros::MAX,
        last: Micros::MIN,
    };
    /// Holds everything (`explain`): the bounds saturate.
    const ALL: Span = Span {
        first: Micros::MIN,
        last: Micros::MAX,
    };

    /// The context of conflicts from `first` to `last`.
    fn around(first: Micros, last: Micros) -> Span {
        Span { first, last }
    }

    fn widen(&mut self, o: Span) {
        self.first = self.first.min(o.first);
        self.last = self.last.max(o.last);
    }

    fn holds(&self, time: Micros, read: bool) -> bool {
        let (before, after) = if read {
            (READ_MARGIN, READ_MARGIN)
        } else {
            (LOOKBACK, LOOKAHEAD)
        };
        time >= self.first.saturating_sub(before) && time <= self.last.saturating_add(after)
    }
}

/// The per-key entries of key `name`, just added (`Interest`'s fields of those names): no
/// span yet, and its children context when it is an item.
fn added(name: &str, family_lens: &mut [u64; 4], ranges: &mut Vec<Span>, family: &mut Vec<bool>) {
    let item = is_item(name);
    if item {
        note_len(family_lens, name.len());
    }
    ranges.push(Span::NONE);
    family.push(item);
}

/// Sets the bit of length `len` (255 for longer) in `lens`.
fn note_len(lens: &mut [u64; 4], len: usize) {
    let n = len.min(255);
    lens[n / 64] |= 1 << (n % 64);
}

/// Is the last segment of `path` an identifier (an item, not a collection)?
fn is_item(path: &str) -> bool {
    // The crate's inline search: `rsplit`'s searcher was half of `Interest::new` on a log of
    // a million conflicting instances.
    let last = crate::bytes::rfind(path.as_bytes(), b'/').map_or(path, |p| &path[p + 1..]);
    resource::classify(last).is_some()
}

impl Interest {
    /// Takes the scan's conflicting instances (their names move into the keys).
    pub fn new(conflicts: Conflicts, extra: &[String]) -> Interest {
        let Conflicts {
            instances,
            noted,
            family_lens,
            parents,
            parent_spans,
        } = conflicts;
        // The conflicting instances keep the scan's numbers, so per-key arrays of what only
        // they have (`Tally::instances`) stop at `conflicting()`; their table is kept, with
        // room for the rest made at once (growing a table of a million names rehashes every
        // one of them each time it doubles).
        let size = noted.len() + parents.len() + extra.len();
        let mut keys = instances;
        let bytes = parents.bytes() + extra.iter().map(|n| n.len()).sum::<usize>();
        keys.reserve(parents.len() + extra.len(), bytes);
        let mut interest = Interest {
            keys,
            ranges: crate::huge_pages::with_capacity(size),
            triggers: FxHashMap::default(),
            family: Vec::with_capacity(size),
            scanned: Vec::with_capacity(noted.len()),
            family_lens,
            templates: KeyTemplates::default(),
            counted_route: None,
        };
        for n in noted {
            interest.ranges.push(Span::around(n.first, n.last));
            interest.family.push(n.item);
            interest.scanned.push((n.first, n.last));
        }
        debug_assert_eq!(interest.keys.len(), interest.scanned.len());
        // Most names are the conflicting instances: the filter is made for them now (see
        // `KeyTable::filter`) and takes in the parents' and `extra`'s as they come.
        interest.keys.filter();
        // All at once (`KeyTable::insert_each`): under items there is a parent for every
        // conflicting instance, a cache miss each when inserted one by one.
        let parents_named = parents.iter().map(|(p, n)| (p, (p, n)));
        interest
            .keys
            .insert_each(parents_named, |(p, n), k, fresh| {
                if fresh {
                    let (lens, family) = (&mut interest.family_lens, &mut interest.family);
                    added(p, lens, &mut interest.ranges, family);
                }
                let (all, triggers) = parent_spans[n as usize];
                interest.ranges[k as usize].widen(all);
                if triggers != Span::NONE {
                    (interest.triggers.entry(k))
                        .or_insert(Span::NONE)
                        .widen(triggers);
                }
            });
        // `explain`: every line of the instance itself.
        for e in extra {
            let fresh = interest.keys.get(e).is_none();
            let k = interest.key(e);
            interest.ranges[k] = Span::ALL;
            if fresh {
                interest.family[k] = false;
            }
        }
        interest
    }

    /// Has the pass count the requests on each instance of `route` (a template as the
    /// report prints it), unless the scan found conflicts on one: `explain` given a route
    /// suggests its instances with the most conflicts, else those with the most requests.
    /// (Counting every instance of a busy route by name took 0.6 s more on a 1 GiB log.)
    pub fn count_instances_of(&mut self, route: &str, templater: &Templater) {
        let mut cache = TemplateCache::default();
        let conflicting = self.scanned.len();
        let conflicted = (self.keys.iter())
            .filter(|&(_, k)| (k as usize) < conflicting)
            .any(|(name, _)| {
                let id = templater.template_id(name, &mut cache);
                cache.name(id) == route
            });
        if !conflicted {
            self.counted_route = Some(route.into());
        }
    }

    /// Whether some key as long as `path` has its children as context.
    #[inline]
    fn may_be_family(&self, path: &str) -> bool {
        let n = path.len().min(255);
        self.family_lens[n / 64] >> (n % 64) & 1 != 0
    }

    /// The number of key `k`, added when new.
    fn key(&mut self, k: &str) -> usize {
        let (i, fresh) = self.keys.insert(k);
        if fresh {
            added(k, &mut self.family_lens, &mut self.ranges, &mut self.family);
        }
        i as usize
    }

    /// How many keys there are (the length of per-key arrays).
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Whether key `k` is a conflicting instance (not only kept for another's sake).
    pub fn conflicted(&self, k: u32) -> bool {
        (k as usize) < self.scanned.len()
    }

    /// How many conflicting instances the scan found.
    pub fn conflicting(&self) -> usize {
        self.scanned.len()
    }

    /// The keys' names by number, the table freed.
    pub fn into_names(self) -> NameList {
        self.keys.into_names()
    }

    /// The scan's first and last conflict on key `k`, if it had any.
    pub fn conflicts(&self, k: u32) -> Option<(Micros, Micros)> {
        self.scanned.get(k as usize).copied()
    }

    /// Learns the keys' templates, by which the pass skips the lookups of lines that cannot
    /// be on a key or a relative of one (`Look`); every line is looked up before.
    pub fn learn_templates(&mut self, templater: &Templater) {
        if templater.has_routes() {
            self.templates = KeyTemplates::default();
            return;
        }
        let keys: Vec<(&str, bool)> = (self.keys.iter())
            .map(|(name, k)| (name, self.family[k as usize]))
            .collect();
        // In parts side by side: a log can have a million keys.
        let learned = keys
            .par_chunks(1 << 14)
            .map(|part| {
                let mut cache = TemplateCache::default();
                let mut templates = KeyTemplates::none();
                // What was added of each template, by number: most keys share a few
                // templates, and each is hashed into the sets once.
                let mut added: Vec<u8> = Vec::new();
                for &(name, family) in part {
                    let id = templater.template_id(name, &mut cache) as usize;
                    if id >= added.len() {
                        added.resize(id + 1, 0);
                    }
                    let adds = 1 | (family as u8) << 1;
                    if added[id] & adds != adds {
                        added[id] |= adds;
                        templates.add(cache.name(id as u32), family);
                    }
                }
                templates
            })
            .reduce_with(|mut a, b| {
                b.own.iter().for_each(|t| a.add(t, false));
                b.family.iter().for_each(|t| a.add(t, true));
                a
            });
        self.templates = learned.unwrap_or_else(KeyTemplates::none);
    }

    /// Whether the pass asks for a line's lookup before it templates the line's path (with
    /// `Look::ALL`, for every line) rather than after (only for lines whose template may be
    /// on a key). Asked after, the load had little work left to hide behind: that was
    /// enough while the keys' filter stays in the core's L2 cache; past that (a log with a
    /// few hundred thousand conflicting instances) each line's filter word came from L3
    /// late, a seventh of the pass (sampled). With a small filter, hashing the lines that
    /// need no lookup costs more than the earlier ask hides (~30 instructions a line).
    pub fn prefetch_early(&self) -> bool {
        self.keys.filter_bytes() >= EARLY_FILTER_BYTES
    }

    /// Asks for what `lookup_sought` will read of `instance`, for the work between to hide
    /// (`None`, and nothing asked for, when `look` says it cannot be on a key, or no
    /// instance is of interest).
    #[inline]
    pub fn prefetch<'a>(&self, instance: &'a str, look: Look) -> Option<Sought<'a>> {
        (look.own() && !self.keys.is_empty()).then(|| self.keys.prefetch(instance))
    }

    /// For a line on instance `path`: the key it is on, if any (its requests are counted),
    /// and whether it is context for some conflicting instance.
    pub fn lookup(&self, path: SplitPath<'_>, req: &Request<'_>) -> (Option<u32>, bool) {
        self.lookup_sought(path, self.prefetch(path.path, Look::ALL), Look::ALL, req)
    }

    /// `lookup`, given the look of `path`'s template and what `prefetch` returned for its
    /// instance.
    #[inline]
    pub fn lookup_sought(
        &self,
        path: SplitPath<'_>,
        sought: Option<Sought<'_>>,
        look: Look,
        req: &Request<'_>,
    ) -> (Option<u32>, bool) {
        if !look.family() && sought.is_none() {
            return (None, false);
        }
        let (time, read) = (req.time, req.method.is_read());
        // What an item's conflicts read from its collection (the detector also asks a
        // trigger not to be a lock call, which it can tell; keeping those too is harmless).
        let trigger = in_progress_conflict::may_trigger(req.method, req.status);
        let own = sought.and_then(|s| self.keys.get_sought(s));
        if own.is_some_and(|k| self.holds(k, time, read, trigger)) {
            return (own, true);
        }
        if !look.family() || self.keys.is_empty() {
            return (own, false);
        }
        let family = (path.parent())
            .filter(|p| *p != "/" && self.may_be_family(p))
            .and_then(|p| self.keys.get(p))
            .is_some_and(|k| self.family[k as usize] && self.holds(k, time, read, trigger));
        (own, family)
    }

    /// Whether a line at `time` (a read or not, a trigger or not) is in key `k`'s context.
    #[inline]
    fn holds(&self, k: u32, time: Micros, read: bool, trigger: bool) -> bool {
        self.ranges[k as usize].holds(time, read)
            || (trigger && (self.triggers.get(&k)).is_some_and(|t| t.holds(time, read)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Method;

    /// Conflicts noted in two parts and merged, either way round, are those noted in one:
    /// the instances and their parents' spans (an item's go to its collection's triggers,
    /// another child's to all of its parent's lines; the root is no parent).
    #[test]
    fn conflicts_merged_from_parts_are_the_whole() {
        let notes = [
            ("/orders/1", 50),
            ("/orders/1/items", 10),
            ("/orders/2/items", 70),
            ("/orders", 5),
            ("/orders/1", 20),
            ("/orders/2/items", 90),
            ("/carts/3", 40),
            ("/orders/1/items", 30),
            ("/x", 1),
        ];
        let mut whole = Conflicts::default();
        notes.iter().for_each(|&(i, t)| whole.note(i, t, t));
        let parts = |split: usize| {
            let (mut a, mut b) = (Conflicts::default(), Conflicts::default());
            notes[..split].iter().for_each(|&(i, t)| a.note(i, t, t));
            notes[split..]
                .iter()
                .rev()
                .for_each(|&(i, t)| b.note(i, t, t));
            (a, b)
        };
        for split in 0..=notes.len() {
            let (a, b) = parts(split);
            assert_eq!(Conflicts::merge(a, b), whole, "split {split}");
            let (a, b) = parts(split);
            assert_eq!(Conflicts::merge(b, a), whole, "split {split}");
        }
        // Numbered as they came, and told apart by what they hold, not by their numbers.
        assert_ne!(parts(3).0, parts(4).0);
        let (mut a, b) = parts(0);
        a.note("/orders/1", 60, 60);
        assert_ne!(Conflicts::merge(a, b), whole);
        assert_eq!(whole.len(), 6);
        let items: Vec<bool> = ["/orders/1", "/orders/1/items", "/orders", "/x", "/carts/3"]
            .iter()
            .map(|i| whole.noted[whole.instances.get(i).unwrap() as usize].item)
            .collect();
        assert_eq!(items, [true, false, false, false, true]);
        let mut lens = [0; 4];
        note_len(&mut lens, "/orders/1".len());
        note_len(&mut lens, "/carts/3".len());
        assert_eq!(whole.family_lens, lens);
        let spans = |p: &str| whole.parent_spans(p).unwrap();
        let none = Span::NONE;
        assert_eq!(spans("/orders"), (none, Span::around(20, 50)));
        assert_eq!(spans("/orders/1"), (Span::around(10, 30), none));
        assert_eq!(spans("/orders/2"), (Span::around(70, 90), none));
        assert_eq!(spans("/carts"), (none, Span::around(40, 40)));
        assert_eq!(whole.parents.len(), 4);
    }

    /// What the pass keeps around conflicts: the instance whole, an action's record whole,
    /// an item's collection only for its triggers, an item's siblings like the item.
    #[test]
    fn interest_keeps_collections_of_conflicting_items_for_their_triggers() {
        let at = 1_000_000 * MICROS_PER_SEC;
        let mut conflicts = Conflicts::default();
        conflicts.note("/orders/17", at, at + 60 * MICROS_PER_SEC);
        conflicts.note("/orders/18/cancel", at, at);
        let interest = Interest::new(conflicts, &["/carts/3".to_string()]);
        let req = |method: Method, status: u16, offset_s: i64| Request {
            method,
            status,
            time: at + offset_s * MICROS_PER_SEC,
            ..Request::default()
        };
        let hour = 3600;
        // The conflicting instances are numbered first, their relatives after.
        assert_eq!(interest.conflicting(), 2);
        let key = |instance| {
            interest
                .lookup(SplitPath::new(instance), &req(Method::Put, 200, 0))
                .0
                .unwrap()
        };
        assert!(key("/orders/17") < 2 && key("/orders/18/cancel") < 2);
        assert!(key("/orders") >= 2 && key("/orders/18") >= 2 && key("/carts/3") >= 2);
        // (instance, method, status, seconds from the first conflict, on a key, context)
        let cases: &[(&str, Method, u16, i64, bool, bool)] = &[
            // The conflicting item: writes a day back, reads only near the conflicts.
            ("/orders/17", Method::Put, 200, -23 * hour, true, true),
            ("/orders/17", Method::Get, 200, -23 * hour, true, false),
            ("/orders/17", Method::Get, 200, -60, true, true),
            ("/orders/17", Method::Put, 200, -25 * hour, true, false),
            // Its collection: triggers only, in the same span.
            ("/orders", Method::Post, 201, -60, true, false),
            ("/orders", Method::Post, 202, -60, true, true),
            ("/orders", Method::Delete, 204, -hour, true, true),
            ("/orders", Method::Delete, 404, -hour, true, false),
            ("/orders", Method::Post, 202, -25 * hour, true, false),
            // Its children and an action's siblings are context without being keys; the
            // action's record is a key, kept whole.
            ("/orders/17/export", Method::Post, 200, -60, false, true),
            ("/orders/18", Method::Put, 200, -hour, true, true),
            ("/orders/18/ship", Method::Post, 200, -hour, false, true),
            // Other items of the collection are not.
            ("/orders/19", Method::Put, 200, -60, false, false),
            // `explain` keeps every line of its instance, and not its children.
            ("/carts/3", Method::Get, 200, -99 * hour, true, true),
            ("/carts/3/items", Method::Put, 200, 0, false, false),
        ];
        for &(instance, method, status, offset_s, on_key, context) in cases {
            let (key, wanted) =
                interest.lookup(SplitPath::new(instance), &req(method, status, offset_s));
            assert_eq!(
                (key.is_some(), wanted),
                (on_key, context),
                "{method:?} {instance} {status} at {offset_s} s"
            );
        }
    }

    /// The lookup is asked for before templating only once the keys' filter outgrows a
    /// quarter of an L2 cache (~210 k conflicting instances), and what is asked then, kept
    /// for the lines whose template may be on a key, finds what the later ask finds.
    #[test]
    fn lookups_are_asked_for_early_only_past_a_large_filter() {
        let interest_of = |n: u32| {
            let mut conflicts = Conflicts::default();
            (0..n).for_each(|k| conflicts.note(&format!("/orders/{k}"), 0, 0));
            Interest::new(conflicts, &[])
        };
        assert!(!interest_of(200_000).prefetch_early());
        let interest = interest_of(220_000);
        assert!(interest.prefetch_early());
        let templater = Templater::default();
        let req = Request::default();
        for path in [
            "/orders/17",
            "/orders/219999",
            "/orders/220000",
            "/orders",
            "/users/3",
        ] {
            let look = look_of(&interest, &templater, path);
            let early = interest.prefetch(path, Look::ALL).filter(|_| look.own());
            let late = interest.prefetch(path, look);
            let split = SplitPath::new(path);
            assert_eq!(
                interest.lookup_sought(split, early, look, &req),
                interest.lookup_sought(split, late, look, &req),
                "{path}"
            );
            assert_eq!(
                interest.lookup_sought(split, early, look, &req),
                interest.lookup(split, &req),
                "{path}"
            );
        }
    }

    /// The look of a path's template in a worker's cache, as the pass finds it.
    fn look_of(interest: &Interest, templater: &Templater, path: &str) -> Look {
        let mut cache = TemplateCache::default();
        let id = templater.template_id_of(SplitPath::new(path), &mut cache);
        Looks::default().of(id, &cache, interest)
    }

    /// The interest of a log with one conflicting instance, `/api/orders/17`, and the
    /// templater without routes.
    fn one_conflict() -> (Interest, Templater) {
        let mut conflicts = Conflicts::default();
        conflicts.note("/api/orders/17", 0, 0);
        (Interest::new(conflicts, &[]), Templater::new(Vec::new()))
    }

    /// Lines whose template is no key's are not looked up, and children are looked up as
    /// family only where their parent's template is an item key's; under user routes, or
    /// before the templates are learned, every line is looked up.
    #[test]
    fn lines_of_templates_without_keys_are_not_looked_up() {
        let (mut interest, templater) = one_conflict();
        assert_eq!(look_of(&interest, &templater, "/api/products/3"), Look::ALL);
        interest.learn_templates(&templater);
        let look = |path| {
            let l = look_of(&interest, &templater, path);
            (l.own(), l.family())
        };
        assert_eq!(look("/api/orders/99"), (true, false));
        assert_eq!(look("/api/orders"), (true, false));
        assert_eq!(look("/api/orders/99/items"), (false, true));
        assert_eq!(look("/api/products/3"), (false, false));
        assert_eq!(look("/api/products/3/items"), (false, false));
        assert_eq!(look("/health"), (false, false));
        let routes = Templater::new(vec![resource::Route::parse("/api/{x}/{y}").unwrap()]);
        interest.learn_templates(&routes);
        assert_eq!(look_of(&interest, &routes, "/api/products/3"), Look::ALL);
    }

    /// The lines of the route `explain` was given are counted by instance, whether or not
    /// the keys' templates are learned, and no other line is; nor those of a route with
    /// conflicts.
    #[test]
    fn the_lines_of_a_counted_route_are_told() {
        let (mut interest, templater) = one_conflict();
        let counted = |interest: &Interest, path| look_of(interest, &templater, path).counted();
        assert!(!counted(&interest, "/api/products/3"));
        // A route with conflicts suggests its instances with the most.
        interest.count_instances_of("/api/orders/{id}", &templater);
        assert!(!counted(&interest, "/api/orders/17"));
        interest.count_instances_of("/api/products/{id}", &templater);
        for learned in [false, true] {
            if learned {
                interest.learn_templates(&templater);
            }
            assert!(counted(&interest, "/api/products/3"), "{learned}");
            assert!(!counted(&interest, "/api/products"), "{learned}");
            assert!(!counted(&interest, "/api/orders/17"), "{learned}");
            assert!(!counted(&interest, "/api/products/3/reviews"), "{learned}");
        }
    }

    proptest::proptest! {
        /// Two times say what the four bounds of the conflicts around them said: each bound
        /// is the widest of the conflicts' own, at any time and for reads and writes.
        #[test]
        fn a_span_holds_what_its_bounds_held(
            conflicts in proptest::collection::vec((0i64..100_000, 0i64..10_000), 1..5),
            at in -100_000i64..200_000,
            read in proptest::bool::ANY,
        ) {
            let s = MICROS_PER_SEC;
            let mut span = Span::NONE;
            let (mut lo, mut hi, mut read_lo, mut read_hi) =
                (Micros::MAX, Micros::MIN, Micros::MAX, Micros::MIN);
            for &(first, len) in &conflicts {
                let (first, last) = (first * s, (first + len) * s);
                span.widen(Span::around(first, last));
                lo = lo.min(first - LOOKBACK);
                hi = hi.max(last + LOOKAHEAD);
                read_lo = read_lo.min(first - READ_MARGIN);
                read_hi = read_hi.max(last + READ_MARGIN);
            }
            let t = at * s;
            let want = if read { t >= read_lo && t <= read_hi } else { t >= lo && t <= hi };
            proptest::prop_assert_eq!(span.holds(t, read), want);
            proptest::prop_assert!(!Span::NONE.holds(t, read));
            proptest::prop_assert!(Span::ALL.holds(t, read));
        }

        /// The lookups a line's template lets the pass skip change nothing: every path gets
        /// the key and the context that looking it up in full gives, for conflicts on any
        /// paths (items, collections, children, the root) and `explain`'s instances.
        #[test]
        fn skipped_lookups_find_what_full_lookups_find(
            paths in proptest::collection::vec(
                proptest::collection::vec(0usize..9, 0..5), 1..30),
            conflicting in proptest::collection::vec(0usize..30, 0..8),
            explained in proptest::collection::vec(0usize..30, 0..2),
            method in 0usize..4,
        ) {
            const SEGMENTS: [&str; 9] = [
                "orders", "items", "v1", "17", "42",
                "c2dedb9b-2bd1-4c9f-a931-00f85a786c56", "usr_f2d99427ca", "cancel", "",
            ];
            let paths: Vec<String> = paths
                .iter()
                .map(|segs| segs.iter().map(|&k| format!("/{}", SEGMENTS[k])).collect())
                .collect();
            let path = |k: usize| paths[k % paths.len()].as_str();
            let mut conflicts = Conflicts::default();
            for (n, &k) in conflicting.iter().enumerate() {
                conflicts.note(path(k), n as i64 * MICROS_PER_SEC, n as i64 * MICROS_PER_SEC);
            }
            let extra: Vec<String> = explained.iter().map(|&k| path(k).to_string()).collect();
            let mut interest = Interest::new(conflicts, &extra);
            let templater = Templater::new(Vec::new());
            interest.learn_templates(&templater);
            let method = [Method::Get, Method::Put, Method::Post, Method::Delete][method];
            let req = Request { method, status: 202, time: MICROS_PER_SEC, ..Request::default() };
            // Every path, and each one's children and parent.
            let mut all: Vec<String> = Vec::new();
            for p in &paths {
                all.push(p.clone());
                all.push(format!("{p}/items"));
                all.push(format!("{p}/17"));
                all.extend(resource::parent(p).map(str::to_string));
            }
            for p in &all {
                let look = look_of(&interest, &templater, p);
                let split = SplitPath::new(p);
                let skipping = interest.lookup_sought(split, interest.prefetch(p, look), look, &req);
                proptest::prop_assert_eq!(skipping, interest.lookup(split, &req), "{}", p);
            }
        }
    }
}
