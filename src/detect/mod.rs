//! Root-cause detectors: one file per cause, each behind the small `Detector` trait.
//!
//! A detector reads the per-instance timelines (and per-route counts) and returns findings;
//! each finding *claims* the conflict events it explains. `run` arbitrates so that every
//! conflict line is attributed to at most one primary cause: findings are visited in the
//! detectors' priority order and a claimed event is not handed to a later finding.
//! Adding a cause is adding a file and listing it in `registry()`.

use crate::aggregate::RouteBuckets;
use crate::record::Micros;
use crate::timeline::{InstanceId, Timelines};
use serde::Serialize;
use std::collections::BTreeMap;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Incident,
    Info,
}

/// Whether a finding is about one instance or a whole route template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Instance,
    Template,
}

/// A reference to one event of one instance's timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventRef {
    pub instance: InstanceId,
    pub index: usize,
}

/// A root cause found in the log.
#[derive(Debug, Clone)]
pub struct Finding {
    pub cause: &'static str,
    pub severity: Severity,
    pub scope: Scope,
    pub template: String,
    /// The instance, for instance-scope findings.
    pub instance: Option<String>,
    /// Affected instances (up to 20 are reported).
    pub instances: Vec<String>,
    pub start: Micros,
    pub end: Micros,
    /// Client names involved (the conflicting clients first).
    pub clients: Vec<String>,
    pub confidence: f64,
    pub summary: String,
    pub advice: String,
    /// Events that prove it, in the order to show them (up to 5 are reported).
    pub evidence: Vec<EventRef>,
    /// The conflict events this finding explains.
    pub claims: Vec<EventRef>,
}

impl Finding {
    /// Number of conflicts attributed to this finding.
    pub fn conflicts(&self) -> u64 {
        self.claims.len() as u64
    }
}

/// Thresholds the detectors use; every one can be changed with `--threshold NAME=VALUE`.
#[derive(Debug, Clone)]
pub struct Thresholds {
    values: BTreeMap<&'static str, (f64, &'static str)>,
}

impl Default for Thresholds {
    fn default() -> Self {
        let mut values = BTreeMap::new();
        for (name, value, about) in DEFAULT_THRESHOLDS {
            values.insert(*name, (*value, *about));
        }
        Thresholds { values }
    }
}

/// Name, default value and meaning of every threshold.
pub const DEFAULT_THRESHOLDS: &[(&str, f64, &str)] = &[(
    "min_conflicts",
    3.0,
    "conflicts on one instance before any instance-scope finding",
)];

impl Thresholds {
    pub fn get(&self, name: &str) -> f64 {
        self.values
            .get(name)
            .map(|v| v.0)
            .unwrap_or_else(|| panic!("unknown threshold {name}"))
    }

    /// Sets `NAME=VALUE`; the name must be a known threshold.
    pub fn set(&mut self, spec: &str) -> Result<(), String> {
        let (name, value) = spec
            .split_once('=')
            .ok_or_else(|| format!("threshold '{spec}' must be NAME=VALUE"))?;
        let value: f64 = value
            .trim()
            .parse()
            .map_err(|_| format!("threshold '{spec}': '{value}' is not a number"))?;
        match self.values.get_mut(name.trim()) {
            Some(v) => {
                v.0 = value;
                Ok(())
            }
            None => Err(format!(
                "unknown threshold '{name}' (known: {})",
                self.values.keys().copied().collect::<Vec<_>>().join(", ")
            )),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, f64, &'static str)> + '_ {
        self.values.iter().map(|(k, (v, a))| (*k, *v, *a))
    }
}

/// What detectors read.
pub struct Context<'a> {
    pub timelines: &'a Timelines,
    /// Per-template counts by bucket (all requests, pass 1).
    pub routes: &'a RouteBuckets,
    pub bucket_us: i64,
    /// First and last request time of the whole analysis.
    pub period: (Micros, Micros),
    pub thresholds: &'a Thresholds,
}

/// One root cause.
pub trait Detector: Sync {
    /// The `cause` name (a contract: users' scripts match on it).
    fn cause(&self) -> &'static str;
    fn detect(&self, cx: &Context<'_>) -> Vec<Finding>;
}

/// Every detector, in arbitration priority order (earlier claims conflicts first).
pub fn registry() -> Vec<Box<dyn Detector>> {
    vec![]
}

/// Runs every detector and arbitrates overlapping claims. Findings come back sorted by
/// conflicts (descending), then cause, template and instance.
pub fn run(cx: &Context<'_>) -> Vec<Finding> {
    let detectors = registry();
    let mut claimed = std::collections::HashSet::new();
    let mut out = Vec::new();
    for d in &detectors {
        for mut f in d.detect(cx) {
            let had = f.claims.len();
            f.claims.retain(|c| !claimed.contains(c));
            if had > 0 && f.claims.is_empty() {
                continue;
            }
            claimed.extend(f.claims.iter().copied());
            out.push(f);
        }
    }
    sort_findings(&mut out);
    out
}

/// Stable order for findings: by conflicts (descending), then cause, template, instance.
pub fn sort_findings(v: &mut [Finding]) {
    v.sort_by(|a, b| {
        b.conflicts().cmp(&a.conflicts()).then_with(|| {
            (a.severity, a.cause, &a.template, &a.instance).cmp(&(
                b.severity,
                b.cause,
                &b.template,
                &b.instance,
            ))
        })
    });
}
