//! Criterion benchmarks: lines per second for each log parser, on lines from the
//! deterministic generator (`benches/genlog.rs`), full and lite parse: the detected
//! readers, and the ones a user builds (`--log-format` in nginx's and Apache's syntax, a
//! `--field` map) for the same lines.
//!
//! Run: `cargo bench --bench parsers`

#[allow(dead_code)]
#[path = "genlog.rs"]
mod genlog;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use why409::format::{self, Format, LineContext};
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
    let Some(fmt) = format::by_name(parser) else {
        eprintln!("no parser named {parser}; skipped");
        return;
    };
    bench_parser(c, label, gen_format, fmt.as_ref());
}

/// Benchmarks `fmt` on generated `gen_format` lines, as the group `parse/{label}`.
fn bench_parser(c: &mut Criterion, label: &str, gen_format: &str, fmt: &dyn Format) {
    let data = generated(gen_format, 20_000);
    let lines: Vec<&[u8]> = data
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
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
    let built = [
        (
            "log-format-nginx",
            "combined",
            format::nginx_custom::compile(NGINX_COMBINED),
        ),
        (
            "log-format-apache",
            "combined",
            format::apache_custom::compile(APACHE_COMBINED),
        ),
        (
            "field-map",
            "json",
            format::json_fields::JsonFields::parse(JSON_MAP)
                .map(|f| Box::new(f) as Box<dyn Format>),
        ),
    ];
    for (label, gen_format, fmt) in built {
        match fmt {
            Ok(fmt) => bench_parser(c, label, gen_format, fmt.as_ref()),
            Err(e) => eprintln!("{label}: {e}; skipped"),
        }
    }
}

/// The combined format as nginx and Apache write it, and a map of nginx JSON's keys: the
/// generated lines read by the formats a user builds.
const NGINX_COMBINED: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent""#;
const APACHE_COMBINED: &str = r#"%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i""#;
const JSON_MAP: &str = "time=time,remote=remote_addr,method=request_method,path=request_uri,status=status,duration_s=request_time,user_agent=http_user_agent,request_id=request_id,api_key=api_key";

criterion_group!(benches, parsers);
criterion_main!(benches);
