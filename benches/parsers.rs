//! Criterion benchmarks: lines per second for each log parser, on lines from the
//! deterministic generator (`benches/genlog.rs`), full and lite parse.
//!
//! Run: `cargo bench --bench parsers`

#[allow(dead_code)]
#[path = "genlog.rs"]
mod genlog;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use why409::format::{self, LineContext};
use why409::record::Request;

fn generated(format: &str, lines: usize) -> Vec<u8> {
    let args = [
        "--format",
        format,
        "--lines",
        &lines.to_string(),
        "--seed",
        "3",
    ];
    let cfg = genlog::parse_args_from(args.iter().map(|s| s.to_string()).collect());
    let mut out = Vec::new();
    genlog::run(&cfg, &mut out).unwrap();
    out
}

/// Benchmarks `parser` on generated `gen_format` lines, as the group `parse/{label}`.
fn bench_format(c: &mut Criterion, label: &str, gen_format: &str, parser: &str) {
    let data = generated(gen_format, 20_000);
    let lines: Vec<&[u8]> = data
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let Some(fmt) = format::by_name(parser) else {
        eprintln!("no parser named {parser}; skipped");
        return;
    };
    let mut group = c.benchmark_group(format!("parse/{label}"));
    group.throughput(Throughput::Bytes(data.len() as u64));
    for lite in [false, true] {
        group.bench_function(if lite { "lite" } else { "full" }, |b| {
            b.iter(|| {
                let mut cx = LineContext {
                    lite,
                    ..Default::default()
                };
                let mut ok = 0usize;
                for l in &lines {
                    let mut r = Request::default();
                    if fmt.parse(l, &mut cx, &mut r).is_ok() {
                        ok += r.status as usize;
                    }
                }
                black_box(ok)
            })
        });
    }
    group.finish();
}

fn parsers(c: &mut Criterion) {
    bench_format(c, "combined", "combined", "combined");
    bench_format(c, "extended", "extended", "combined");
    bench_format(c, "nginx-json", "json", "nginx-json");
}

criterion_group!(benches, parsers);
criterion_main!(benches);
