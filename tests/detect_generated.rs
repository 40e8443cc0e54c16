//! Precision and recall of the root-cause engine on logs from the benchmark generator
//! (`benches/genlog.rs`), generated in-process at several sizes, seeds and formats.
//!
//! The generator seeds one incident per cause and writes a manifest of what it wrote; the
//! background carries benign conflicts (409/412/428/423 → GET → 2xx by the same client, lone
//! create-if-absent 409s) at `--conflict-rate 0.005`. `idempotency_conflict` is written only
//! with `--format json` (the other formats do not log the Idempotency-Key header; their
//! manifest says so in a row of its own). The configuration sync loop
//! (`control_plane_conflict`) is told by its user agent, which every format logs. Each test
//! asserts the exact list of findings — cause and instance (or template), duplicates included,
//! so one incident reported as two fails — and that every incident but the route-wide deploy
//! regression claims exactly the manifest's conflict lines. `--no-incidents` logs must give no
//! incident-severity finding.

#[allow(dead_code)]
#[path = "../benches/genlog.rs"]
mod genlog;

use std::collections::BTreeMap;
use why409::analyze::{Settings, analyze};
use why409::detect::Severity;

/// One finding: (cause, instance or template, severity is incident, conflicts, summary).
type Row = (String, String, bool, u64, String);

struct Generated {
    findings: Vec<Row>,
    /// cause → (instance or template, conflict lines) from the generator's manifest.
    manifest: BTreeMap<String, (String, u64)>,
    /// The manifest as written.
    manifest_text: String,
}

fn generate(args: &[&str]) -> Generated {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("gen.log");
    let manifest = dir.path().join("manifest.md");
    let mut argv: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    argv.push("--manifest".into());
    argv.push(manifest.to_string_lossy().into_owned());
    let cfg = genlog::parse_args_from(argv);
    let f = std::fs::File::create(&log).unwrap();
    genlog::run(&cfg, std::io::BufWriter::new(f)).unwrap();
    let a = analyze(&Settings {
        paths: vec![log],
        ..Default::default()
    })
    .unwrap();
    let mut findings: Vec<Row> = a
        .findings
        .iter()
        .map(|f| {
            (
                f.cause.to_string(),
                f.instance.clone().unwrap_or_else(|| f.template.clone()),
                f.severity == Severity::Incident,
                f.conflicts(),
                f.summary.clone(),
            )
        })
        .collect();
    findings.sort();
    let text = std::fs::read_to_string(&manifest).unwrap_or_default();
    Generated {
        findings,
        manifest: parse_manifest(&text),
        manifest_text: text,
    }
}

/// Incident rows of the manifest table: `| cause | `resource` | … | conflict lines |`.
/// The resource may carry a method (`POST /api/v1/orders`) and an instance count
/// (`/api/v1/orders/{id}/cancel (14 instances)`); rows in parentheses are not incidents.
fn parse_manifest(text: &str) -> BTreeMap<String, (String, u64)> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 8 || cells[1] == "cause" || cells[1].starts_with('-') {
            continue;
        }
        if cells[1].starts_with('(') {
            continue;
        }
        let resource = cells[2].trim_matches('`');
        let resource = resource.split(" (").next().unwrap();
        let resource = resource.rsplit(' ').next().unwrap();
        let conflicts: u64 = cells[cells.len() - 2].parse().unwrap();
        out.insert(cells[1].to_string(), (resource.to_string(), conflicts));
    }
    out
}

/// The incidents seeded in every format, as (cause, instance or template).
const SEEDED: &[(&str, &str)] = &[
    ("deploy_regression", "/api/v1/carts/{id}"),
    ("duplicate_create", "/api/v1/orders"),
    ("hot_spot_edit", "/api/v1/inventory/94017"),
    ("in_progress_conflict", "/api/v1/orders/9310577"),
    (
        "lock_contention",
        "/api/v1/docs/b7e2d9c4-1f3a-4e6b-8c5d-9a0f1e2d3c4b",
    ),
    ("retry_storm", "/api/v1/orders/9310442"),
    (
        "stale_version",
        "/api/v1/docs/3f6c1a2e-8b4d-4c7e-9a15-2d9e7b3c5f01",
    ),
    ("state_transition", "/api/v1/orders/{id}/cancel"),
    // One ERP connector's PATCHes, one order each: a finding of its own, not a note.
    ("client_concentration", "/api/v1/orders/{id}"),
    // An ingress controller's sync failing on the same PUT every 30 s: named by its user
    // agent, not a retry storm or a permanent retry.
    ("control_plane_conflict", "/upstreams/billing-v2"),
    // A merge bot re-sending a merge every few minutes for over an hour, no other writer.
    (
        "permanent_retry",
        "/api/v1/docs/8d41f6a3-2c7b-4e90-b5d2-6f1a9c3e7b28/merge",
    ),
];

/// The incident seeded only in `--format json` logs, which carry the Idempotency-Key.
const SEEDED_JSON: (&str, &str) = ("idempotency_conflict", "/api/v1/payments");

/// Asserts the exact findings (`extra` are legitimate non-seeded ones) and the manifest's
/// conflict counts; `json`: the log carries Idempotency-Keys.
fn expect_seeded(g: &Generated, json: bool, extra: &[(&str, &str, bool)]) {
    let seeded: Vec<(&str, &str)> = SEEDED
        .iter()
        .copied()
        .chain(json.then_some(SEEDED_JSON))
        .collect();
    let mut want: Vec<(String, String, bool)> = seeded
        .iter()
        .map(|(c, k)| (c.to_string(), k.to_string(), true))
        .chain(
            extra
                .iter()
                .map(|(c, k, i)| (c.to_string(), k.to_string(), *i)),
        )
        .collect();
    want.sort();
    let got: Vec<(String, String, bool)> = g
        .findings
        .iter()
        .map(|(c, k, i, _, _)| (c.clone(), k.clone(), *i))
        .collect();
    assert_eq!(got, want, "findings: {:#?}", g.findings);
    // The manifest names the same incidents and resources, and says when the payments
    // incident was left out.
    assert_eq!(g.manifest.len(), seeded.len(), "{:?}", g.manifest);
    assert_eq!(
        g.manifest_text
            .contains("| (idempotency_conflict: not written, "),
        !json,
        "{}",
        g.manifest_text
    );
    for (cause, key) in &seeded {
        let (resource, lines) = &g.manifest[*cause];
        assert_eq!(resource, key, "{cause}");
        let claimed = g
            .findings
            .iter()
            .find(|f| f.0 == *cause)
            .map(|f| f.3)
            .unwrap();
        if *cause == "control_plane_conflict" {
            // The user agent made it through the format and names the tool.
            let summary = &g.findings.iter().find(|f| f.0 == *cause).unwrap().4;
            assert!(
                summary.starts_with("an ingress controller (198.51.100.101) sent PUT "),
                "{summary}"
            );
        }
        if *cause == "deploy_regression" {
            // Route-wide: it also takes the background's handled cart conflicts after the
            // change point, which nothing else claims.
            assert!(claimed >= *lines, "{cause}: {claimed} < {lines}");
        } else {
            assert_eq!(claimed, *lines, "{cause}");
        }
    }
}

fn expect_no_incidents(g: &Generated) {
    let incidents: Vec<&Row> = g.findings.iter().filter(|f| f.2).collect();
    assert!(incidents.is_empty(), "{incidents:#?}");
}

#[test]
fn seeded_incidents_300k_lines_seed_5() {
    // Before the precision fixes this log gave 14 findings: 5 × missing_precondition from
    // handled 428s, the hot spot split in two at a 12-s lull, and the stale-version sync job
    // (one PUT every ~35 s) reported as a retry storm.
    let g = generate(&["--lines", "300000", "--seed", "5"]);
    expect_seeded(&g, false, &[]);
}

#[test]
fn seeded_incidents_300k_lines_seed_1_extended() {
    // Seed 1's hot spot pauses 13 s between losses while the terminals keep writing.
    let g = generate(&["--lines", "300000", "--seed", "1", "--format", "extended"]);
    expect_seeded(&g, false, &[]);
}

#[test]
fn seeded_incidents_100k_lines_seed_5_json_with_expected_exists() {
    // 35 lone create-if-absent 409s are 30.4 % of the users route's conflicts, just over the
    // 30 % share: a real pattern, reported as info (at 300k lines the share is 26 %). The
    // format does not change what is generated, only how it is written; nginx JSON lines
    // carry the Idempotency-Key, so the payments retries are there too.
    let g = generate(&["--lines", "100000", "--seed", "5", "--format", "json"]);
    expect_seeded(
        &g,
        true,
        &[("expected_exists", "/api/v1/users/{id}", false)],
    );
}

#[test]
fn seeded_incidents_1m_lines_seed_7_extended() {
    // Logged durations move start times; same-second 428 → GET → 200 stay handled.
    let g = generate(&["--lines", "1000000", "--seed", "7", "--format", "extended"]);
    expect_seeded(&g, false, &[]);
}

#[test]
fn background_only_logs_have_no_incidents() {
    for args in [
        &["--lines", "300000", "--seed", "5", "--no-incidents"][..],
        &[
            "--lines",
            "1000000",
            "--seed",
            "5",
            "--no-incidents",
            "--format",
            "extended",
        ][..],
    ] {
        let g = generate(args);
        expect_no_incidents(&g);
        assert!(g.manifest.is_empty());
    }
}
