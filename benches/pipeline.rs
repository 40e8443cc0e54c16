//! Criterion benchmark of the whole analysis (both passes, detectors, report model) on a
//! generated combined log, with 1 thread and with all cores.
//!
//! Run: `cargo bench --bench pipeline`

#[allow(dead_code)]
#[path = "genlog.rs"]
mod genlog;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use why409::analyze::{Settings, analyze};
use why409::report::Report;

fn pipeline(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.log");
    let cfg = genlog::parse_args_from(
        ["--lines", "300000", "--seed", "5"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
    );
    genlog::run(
        &cfg,
        std::io::BufWriter::new(std::fs::File::create(&path).unwrap()),
    )
    .unwrap();
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
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
