//! Criterion benchmark of the whole analysis (both passes, detectors, report model) on a
//! generated combined log, with 1 thread and with all cores; on a log where every line
//! is on one hot record (the detectors' worst case: each conflict has the whole timeline as
//! context, which once made them quadratic); on a record edited by 200 clients at once (tens
//! of thousands of episodes of one cause); on 20,000 findings; on a public API's log (many clients); and on a
//! log where every line is a conflict on an instance of its own (the most state per line);
//! and the generated log's last hour (`--since`), sought in and read whole.
//!
//! Run: `cargo bench --bench pipeline`

#[allow(dead_code)]
#[path = "genlog.rs"]
mod genlog;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use why409::analyze::{Settings, analyze};
use why409::report::Report;

/// Writes the log `genlog ARGS` makes to `path`.
fn generate(path: &std::path::Path, args: &[&str]) {
    let cfg = genlog::parse_args_from(args.iter().map(|s| s.to_string()).collect());
    genlog::run(
        &cfg,
        std::io::BufWriter::new(std::fs::File::create(path).unwrap()),
    )
    .unwrap();
}

fn pipeline(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.log");
    generate(&path, &["--lines", "300000", "--seed", "5"]);
    let bytes = std::fs::metadata(&path).unwrap().len();
    let settings = Settings {
        paths: vec![path.clone()],
        ..Default::default()
    };

    let mut group = c.benchmark_group("pipeline/combined-300k");
    group.throughput(Throughput::Bytes(bytes));
    group.sample_size(10);
    for threads in [1usize, 0] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let name = if threads == 1 {
            "1-thread".to_string()
        } else {
            format!("{}-threads", pool.current_num_threads())
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                let a = pool.install(|| analyze(&settings)).unwrap();
                Report::build(&a, 10).totals.conflicts
            })
        });
    }
    group.finish();

    // The log's last hour: found by seeking, and read whole (`--no-seek`).
    let end = Report::build(&analyze(&settings).unwrap(), 10).period.end;
    let end: jiff::Timestamp = end.unwrap().parse().unwrap();
    let since = Settings {
        since: Some(end.as_microsecond() - 3_600_000_000),
        ..settings.clone()
    };
    let mut group = c.benchmark_group("pipeline/combined-300k-last-hour");
    group.throughput(Throughput::Bytes(bytes));
    group.sample_size(10);
    for (name, seek) in [("seek", true), ("no-seek", false)] {
        let settings = Settings {
            seek,
            ..since.clone()
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                let a = analyze(&settings).unwrap();
                Report::build(&a, 10).totals.requests
            })
        });
    }
    group.finish();
}

/// 200 k lines, 20 per second, all on one order: 409s on edits and on cancels, successful
/// ships, reads, lock traffic and 202 exports, from 50 clients.
fn hot_record_log(path: &std::path::Path) -> u64 {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for i in 0..200_000u64 {
        // xorshift: deterministic and dependency-free.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let t = jiff::Timestamp::from_second(1_772_442_000 + (i / 20) as i64).unwrap();
        let time = t.strftime("%d/%b/%Y:%H:%M:%S +0000");
        let (request, status) = match state % 20 {
            0..=5 => ("PUT /api/v1/orders/1", 409),
            6..=7 => ("POST /api/v1/orders/1/cancel", 409),
            8 => ("POST /api/v1/orders/1/ship", 200),
            9 => ("PUT /api/v1/orders/1", 200),
            10 => ("POST /api/v1/orders/1/lock", 423),
            11 => ("POST /api/v1/orders/1/export", 202),
            12 => ("PATCH /api/v1/orders/1", 428),
            _ => ("GET /api/v1/orders/1", 200),
        };
        let c = i % 50;
        writeln!(
            out,
            "10.0.{c}.1 - - [{time}] \"{request} HTTP/1.1\" {status} 12 \"-\" \"client/{c}\""
        )
        .unwrap();
    }
    out.flush().unwrap();
    std::fs::metadata(path).unwrap().len()
}

fn hot_record(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hot.log");
    let bytes = hot_record_log(&path);
    let settings = Settings {
        paths: vec![path.clone()],
        ..Default::default()
    };
    let mut group = c.benchmark_group("pipeline/hot-record-200k");
    group.throughput(Throughput::Bytes(bytes));
    group.sample_size(10);
    group.bench_function("all-threads", |b| {
        b.iter(|| {
            let a = analyze(&settings).unwrap();
            Report::build(&a, 10).findings.len()
        })
    });
    group.finish();
}

/// 200 k lines, 100 per second, on one order edited by 200 clients at once (90 % writes,
/// 60 % answered 409): tens of thousands of episodes of one cause on one record, which the
/// merge of recurring findings once sorted anew at each (7 minutes for a million lines).
fn edited_all_day(c: &mut Criterion) {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let second = |i: u64| 1_772_442_000 + (i / 100) as i64;
    whole_written(
        c,
        "pipeline/edited-all-day-200k",
        200_000,
        second,
        |_, time| {
            let c = next() % 200;
            let status = if next() % 10 < 6 { 409 } else { 200 };
            let method = if next() % 10 < 9 { "PUT" } else { "GET" };
            format!(
                "10.1.0.{c} - - [{time}] \"{method} /api/v1/orders/42 HTTP/1.1\" {status} 57 \"-\" \"curl/8.0\""
            )
        },
    );
}

/// 20,000 documents, each written once and then retried six times a second apart, blind,
/// by another client: 20,000 findings, whose evidence (100,000 quoted lines) the report
/// numbers by line.
fn many_findings(c: &mut Criterion) {
    // Seven lines a document, one document every 8 s, so that their retries do not overlap.
    let second = |i: u64| 1_772_442_000 + (8 * (i / 7) + i % 7) as i64;
    whole_written(
        c,
        "pipeline/many-findings-140k",
        140_000,
        second,
        |i, time| {
            let k = i / 7;
            let (client, status) = if i % 7 == 0 { (1, 200) } else { (2, 409) };
            format!(
                "10.{client}.{}.{} - - [{time}] \"PUT /api/v1/docs/{k} HTTP/1.1\" {status} 5 \"-\" \"x\"",
                k / 250 % 250,
                k % 250
            )
        },
    );
}

/// Times the whole analysis of the log at `path` (all threads) as group `name`.
fn whole(c: &mut Criterion, name: &str, path: &std::path::Path) {
    let bytes = std::fs::metadata(path).unwrap().len();
    let settings = Settings {
        paths: vec![path.to_path_buf()],
        ..Default::default()
    };
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Bytes(bytes));
    group.sample_size(10);
    group.bench_function("all-threads", |b| {
        b.iter(|| {
            let a = analyze(&settings).unwrap();
            Report::build(&a, 10).totals.conflicts
        })
    });
    group.finish();
}

/// Times the whole analysis (all threads) of a combined log of `n` lines as group `name`:
/// line `i` is `line(i, time)`, with `time` its second `second(i)` as the format writes it.
fn whole_written(
    c: &mut Criterion,
    name: &str,
    n: u64,
    second: impl Fn(u64) -> i64,
    mut line: impl FnMut(u64, &str) -> String,
) {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.log");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    for i in 0..n {
        let t = jiff::Timestamp::from_second(second(i)).unwrap();
        let time = t.strftime("%d/%b/%Y:%H:%M:%S +0000").to_string();
        writeln!(out, "{}", line(i, &time)).unwrap();
    }
    out.flush().unwrap();
    drop(out);
    whole(c, name, &path);
}

/// 300 k generated lines from 200 k Zipf-popular addresses (a public API): the per-client
/// counting and its merge.
fn many_clients(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clients.log");
    generate(
        &path,
        &["--lines", "300000", "--seed", "5", "--clients", "200000"],
    );
    whole(c, "pipeline/many-clients-300k", &path);
}

/// 100 k lines, each a 409 on an order of its own from a client of its own: every line is a
/// conflicting instance, kept with its context through the detectors.
fn conflicting_instances(c: &mut Criterion) {
    let second = |i: u64| 1_772_442_000 + (i / 50) as i64;
    whole_written(
        c,
        "pipeline/conflicting-instances-100k",
        100_000,
        second,
        |i, time| {
            let (a, b) = (i / 256 % 256, i % 256);
            format!(
                "10.{}.{a}.{b} - - [{time}] \"PUT /api/v1/orders/{} HTTP/1.1\" 409 12 \"-\" \"x\"",
                i / 65_536,
                1_000_000 + i * 7919 % 1_000_000
            )
        },
    );
}

/// 200 k lines on a busy collection and its 20,000 orders, 20 a second from 60,000 clients:
/// creates on the collection (a third accepted with 202, some 409), edits, actions and
/// DELETEs on the orders, nearly half answered 409. Each order's conflicts once tried every
/// 202 of the collection (`in_progress_conflict`), each create's retry searched back through
/// the collection's creates (`duplicate_create`), and each rejected action grouped a state
/// key of its own (`state_transition`).
fn busy_collection(c: &mut Criterion) {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let second = |i: u64| 1_772_442_000 + (i / 20) as i64;
    whole_written(
        c,
        "pipeline/busy-collection-200k",
        200_000,
        second,
        |_, time| {
            let client = next(60_000);
            let order = next(20_000);
            let (method, path, status) = match next(10) {
                0..=2 => (
                    "POST",
                    "/api/v1/orders".to_string(),
                    [202, 201, 409][next(3) as usize],
                ),
                3..=5 => (
                    "PUT",
                    format!("/api/v1/orders/{order}"),
                    [200, 409][next(2) as usize],
                ),
                6 => (
                    "POST",
                    format!("/api/v1/orders/{order}/cancel"),
                    [200, 409][next(2) as usize],
                ),
                7 => (
                    "DELETE",
                    format!("/api/v1/orders/{order}"),
                    [204, 409][next(2) as usize],
                ),
                _ => ("GET", format!("/api/v1/orders/{order}"), 200),
            };
            format!(
                "10.{}.{}.{} - - [{time}] \"{method} {path} HTTP/1.1\" {status} 12 \"-\" \"x\"",
                client >> 16,
                client >> 8 & 255,
                client & 255
            )
        },
    );
}

criterion_group!(
    benches,
    pipeline,
    hot_record,
    edited_all_day,
    many_findings,
    many_clients,
    conflicting_instances,
    busy_collection
);
criterion_main!(benches);
