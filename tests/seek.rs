//! `--since`/`--until` on a log in time order: the range is found by seeking, the lines
//! outside it are counted as not read, and the report is the one reading every line gives
//! (`--no-seek`), line numbers included.

mod common;

use common::{gzip, json, why409};
use serde_json::Value;
use std::fmt::Write as _;

/// 06:00 to 12:00 on 2026-03-02, a line every 200 ms (108,000 lines): orders read and
/// written by many clients, a retry storm at 06:30, 09:20 and 11:30, a junk line at 06:40,
/// 09:40 and 11:40, and every 500th line stamped 20 minutes early (a long request logged
/// with its start time, as Envoy does). Each line with the second it was written at.
fn day_part() -> Vec<(u64, String)> {
    let base = 6 * 3600;
    let mut lines = Vec::new();
    let mut seed: u64 = 42;
    let mut next = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        seed >> 33
    };
    for k in 0..108_000u64 {
        let ms = k * 200;
        let secs = base + ms / 1000;
        let stamped = if k % 500 == 499 { secs - 1200 } else { secs };
        let stamp = |s: u64| {
            format!(
                "02/Mar/2026:{:02}:{:02}:{:02} +0000",
                s / 3600,
                s / 60 % 60,
                s % 60
            )
        };
        let r = next();
        let (method, status) = if r % 4 == 0 {
            ("PUT", 200)
        } else {
            ("GET", 200)
        };
        let line = format!(
            "10.0.{}.{} - - [{}] \"{method} /api/v1/orders/{} HTTP/1.1\" {status} 512 \"-\" \"app/1.0\"",
            r % 200,
            next() % 250,
            stamp(stamped),
            1000 + next() % 5000
        );
        lines.push((secs, line));
        let second = ms % 1000 == 0;
        for storm in [6 * 3600 + 1800, 9 * 3600 + 1200, 11 * 3600 + 1800] {
            if second && (storm..storm + 20).contains(&secs) {
                let line = format!(
                    "198.51.100.7 - - [{}] \"PUT /api/v1/orders/{} HTTP/1.1\" 409 90 \"-\" \"sync/2.0\"",
                    stamp(secs),
                    storm
                );
                lines.push((secs, line));
            }
        }
        for junk in [6 * 3600 + 2400, 9 * 3600 + 2400, 11 * 3600 + 2400] {
            if ms % 1000 == 0 && secs == junk {
                lines.push((secs, "\u{1}\u{2} not a log line".to_string()));
            }
        }
    }
    lines
}

fn write(dir: &tempfile::TempDir, name: &str, lines: &[(u64, String)]) -> String {
    let mut text = String::new();
    for (_, l) in lines {
        writeln!(text, "{l}").unwrap();
    }
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

const RANGE: [&str; 4] = [
    "--since",
    "2026-03-02T09:00:00Z",
    "--until",
    "2026-03-02T09:45:00Z",
];

fn report(path: &str, extra: &[&str]) -> Value {
    let mut args = vec![path];
    args.extend(RANGE);
    args.extend(extra);
    json(&args)
}

/// The report without its inputs, which say how the lines were read.
fn without_inputs(mut r: Value) -> Value {
    r.as_object_mut().unwrap().remove("inputs");
    r
}

#[test]
fn a_range_of_a_log_in_time_order_reads_its_part_and_reports_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let lines = day_part();
    let path = write(&dir, "access.log", &lines);
    let sought = report(&path, &[]);
    let whole = report(&path, &["--no-seek"]);
    let (s, w) = (&sought["inputs"][0], &whole["inputs"][0]);
    let n = |v: &Value, k: &str| v[k].as_u64().unwrap();

    assert_eq!(n(s, "lines"), lines.len() as u64);
    assert_eq!(n(w, "lines"), lines.len() as u64);
    assert_eq!(n(w, "unread"), 0);
    assert_eq!(n(w, "skipped"), 3);
    // The junk at 06:40 and 11:40 is far outside the range: not read, not skipped.
    assert_eq!(n(s, "skipped"), 1);
    assert_eq!(
        n(s, "parsed") + n(s, "skipped") + n(s, "unread"),
        n(s, "lines")
    );
    // The lines read are one run, and the rest are the unread.
    let (first, last) = (
        s["read_lines"][0].as_u64().unwrap(),
        s["read_lines"][1].as_u64().unwrap(),
    );
    assert_eq!(n(s, "unread"), first - 1 + n(s, "lines") - last);
    assert!(
        lines[first as usize - 1].1.contains("[02/Mar/2026:07:5"),
        "{}",
        lines[first as usize - 1].1
    );
    assert_eq!(w["read_lines"], Value::Null);
    // Not read: at most the lines written more than an hour beyond either bound, and not
    // much less (the search stops within 64 KiB, some 700 lines).
    let far = (lines.iter())
        .filter(|(s, _)| !(8 * 3600..10 * 3600 + 2700).contains(s))
        .count() as u64;
    assert!(n(s, "unread") <= far, "{} > {far}", n(s, "unread"));
    assert!(
        n(s, "unread") + 2 * 800 >= far,
        "{} ≪ {far}",
        n(s, "unread")
    );

    // Same findings, evidence lines and counts as reading every line.
    assert_eq!(without_inputs(sought.clone()), without_inputs(whole));
    let causes: Vec<&str> = (sought["findings"].as_array().unwrap().iter())
        .map(|f| f["cause"].as_str().unwrap())
        .collect();
    assert_eq!(causes, vec!["retry_storm"]);
    assert_eq!(sought["totals"]["conflicts"], 20);
    let evidence = &sought["findings"][0]["evidence"];
    let line = evidence[1]["line"].as_u64().unwrap() as usize;
    assert_eq!(lines[line - 1].1, evidence[1]["text"].as_str().unwrap());

    // Any chunking of the part read gives the same report.
    let chunked = report(&path, &["--chunk-size", "10000"]);
    assert_eq!(chunked, sought);
}

#[test]
fn a_log_out_of_time_order_is_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let lines = day_part();
    // The later half first, as `cat access.log access.log.1` would put it.
    let (a, b) = lines.split_at(lines.len() / 2);
    let swapped: Vec<(u64, String)> = b.iter().chain(a).cloned().collect();
    let path = write(&dir, "concatenated.log", &swapped);
    let r = report(&path, &[]);
    assert_eq!(r["inputs"][0]["unread"], 0);
    assert_eq!(r, report(&path, &["--no-seek"]));
}

#[test]
fn the_overview_says_how_many_lines_were_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "access.log", &day_part());
    let unread = report(&path, &[])["inputs"][0]["unread"].as_u64().unwrap();
    let out = why409().arg(&path).args(RANGE).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(&format!(
            "{unread} not read (outside the time range in a log in time order; lines "
        )),
        "{text}"
    );
}

#[test]
fn a_range_after_the_log_counts_nothing_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "access.log", &day_part());
    let out = why409()
        .arg(&path)
        .args(["--since", "2026-03-05T00:00:00Z", "--output", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["totals"]["requests"], 0);
    let input = &r["inputs"][0];
    assert_eq!(
        input["parsed"].as_u64().unwrap() + input["unread"].as_u64().unwrap(),
        input["lines"].as_u64().unwrap() - input["skipped"].as_u64().unwrap()
    );
    let warned = String::from_utf8(out.stderr).unwrap();
    assert!(warned.contains("nothing is counted"), "{warned}");
}

/// `--since` analyses the range as the part cut out of the log would be: same findings, in
/// the same words (the route buckets' resolution comes from the range, not the whole log).
#[test]
fn a_range_is_analysed_as_the_part_cut_out_would_be() {
    let demo = common::fixture("demo/access.log");
    let text = std::fs::read_to_string(&demo).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cut: Vec<(u64, String)> = (text.lines())
        .filter(|l| {
            l.split('[')
                .nth(1)
                .is_some_and(|t| t >= "02/Mar/2026:09:30:00")
        })
        .map(|l| (0, l.to_string()))
        .collect();
    let part = json(&[&write(&dir, "part.log", &cut)]);
    let since = json(&[demo.to_str().unwrap(), "--since", "2026-03-02T09:30:00Z"]);
    let findings = |r: &Value| -> Vec<(String, String, u64)> {
        (r["findings"].as_array().unwrap().iter())
            .map(|f| {
                (
                    f["cause"].as_str().unwrap().to_string(),
                    f["summary"].as_str().unwrap().to_string(),
                    f["conflicts"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(findings(&part), findings(&since));
    assert_eq!(findings(&since).len(), 4);
    assert_eq!(part["totals"]["conflicts"], since["totals"]["conflicts"]);
}

/// `--last 45m` is `--since` 45 minutes before the latest logged time (the generated log
/// ends at 11:59:59), in the same report; it takes a positive span and no `--since`.
#[test]
fn last_counts_back_from_the_end_of_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "access.log", &day_part());
    let last = json(&[&path, "--last", "45m"]);
    let since = json(&[&path, "--since", "2026-03-02T11:14:59Z"]);
    assert_eq!(last, since);
    assert_eq!(last["period"]["start"], "2026-03-02T11:14:59Z");
    assert_eq!(last["totals"]["conflicts"], 20);
    assert!(last["inputs"][0]["unread"].as_u64().unwrap() > 50_000);
    for (args, message) in [
        (
            vec!["--last", "0m"],
            "--last '0m': give a span such as 30m, 2h or 1d",
        ),
        (vec!["--last", "soon"], "--last 'soon'"),
        (vec!["--last", "1h", "--since", "2h"], "cannot be used with"),
    ] {
        why409()
            .arg(&path)
            .args(args)
            .assert()
            .code(2)
            .stderr(predicates::str::contains(message));
    }
}

/// A real log (four days of an Apache site, ../shared/realdata; skipped when absent): one
/// day's range is sought in, the days before it are not read, and the report is the one
/// reading every line gives.
#[test]
fn a_real_log_is_sought_in_and_reports_the_same() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/realdata/apache/elastic-examples-apache_logs.subset.log");
    if !path.is_file() {
        eprintln!("note: {} not found; skipped", path.display());
        return;
    }
    let day = [
        path.to_str().unwrap(),
        "--status",
        "404",
        "--since",
        "2015-05-18T00:00:00Z",
        "--until",
        "2015-05-19T00:00:00Z",
    ];
    let sought = json(&day);
    let whole = json(&[&day[..], &["--no-seek"]].concat());
    let input = &sought["inputs"][0];
    assert_eq!(input["lines"], 360);
    // The 17th of May is lines 1–317: the search stops within 64 KiB of the range's start.
    assert!(input["unread"].as_u64().unwrap() > 100, "{input}");
    assert!(input["read_lines"][0].as_u64().unwrap() <= 318);
    assert_eq!(sought["totals"]["requests"], 7);
    assert_eq!(without_inputs(sought), without_inputs(whole));
}

/// A day part delivered as S3 delivers load balancer logs: a file every five minutes, named
/// with the end of its interval, in the day's folder.
fn delivered(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let day = dir
        .path()
        .join("AWSLogs/123456789012/elasticloadbalancing/us-east-2/2026/03/02");
    std::fs::create_dir_all(&day).unwrap();
    let lines = day_part();
    for end in (6 * 3600 + 300..=12 * 3600).step_by(300) {
        let part: Vec<(u64, String)> = (lines.iter())
            .filter(|(s, _)| (end - 300..end).contains(s))
            .cloned()
            .collect();
        let name = format!(
            "123456789012_elasticloadbalancing_us-east-2_app.shop.0123456789abcdef_20260302T{:02}{:02}Z_10.0.3.7_k{end}.log",
            end / 3600,
            end / 60 % 60
        );
        let path = write(dir, "part", &part);
        std::fs::rename(path, day.join(name)).unwrap();
    }
    dir.path().join("AWSLogs")
}

/// The paths of the inputs read.
fn paths(r: &Value) -> Vec<&str> {
    (r["inputs"].as_array().unwrap().iter())
        .map(|i| i["path"].as_str().unwrap())
        .collect()
}

/// The report without what says how the lines were read: its inputs (read and not) and
/// warnings, and with each evidence line's input named by its path (`by_path`) or only its
/// text.
fn without_reading(mut r: Value, by_path: bool) -> Value {
    let paths: Vec<Value> = (r["inputs"].as_array().unwrap().iter())
        .map(|i| i["path"].clone())
        .collect();
    let o = r.as_object_mut().unwrap();
    o.remove("inputs");
    o.remove("inputs_not_read");
    o.remove("warnings");
    let named = |l: &mut Value| {
        let input = l["input"].as_u64().unwrap() as usize;
        let l = l.as_object_mut().unwrap();
        if by_path {
            l.insert("input".into(), paths[input].clone());
        } else {
            l.remove("input");
            l.remove("line");
        }
    };
    for (list, lines) in [("findings", "evidence"), ("unexplained", "lines")] {
        for item in o[list].as_array_mut().unwrap() {
            item[lines]
                .as_array_mut()
                .unwrap()
                .iter_mut()
                .for_each(named);
        }
    }
    r
}

/// Files whose names date them (load balancer, CloudFront, start and end) are not read when
/// their period, an hour either side, is outside the range; the warning says how many and
/// names the first; the report is the one reading every file gives, and the one of the log
/// they were cut from.
#[test]
fn files_named_by_time_outside_the_range_are_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let tree = delivered(&dir);
    let tree = tree.to_str().unwrap();
    let r = report(tree, &["-r"]);
    // 72 files end at 06:05 … 12:00; each holds the five minutes before its end, an hour
    // either side: the ones ending 08:00 … 10:45 may hold 09:00–09:45.
    let read = paths(&r);
    assert_eq!(read.len(), 34);
    assert!(read[0].contains("_20260302T0800Z_"), "{}", read[0]);
    assert!(read[33].contains("_20260302T1045Z_"), "{}", read[33]);
    let warnings: Vec<&str> = (r["warnings"].as_array().unwrap().iter())
        .map(|w| w.as_str().unwrap())
        .collect();
    let warning = warnings
        .iter()
        .find(|w| {
            w.starts_with(
                "not read: 38 files dated (by name or last modification) outside --since/--until",
            )
        })
        .unwrap_or_else(|| panic!("{warnings:?}"));
    assert!(warning.contains("_20260302T0605Z_"), "{warning}");
    assert!(warning.ends_with(" and 36 more"), "{warning}");
    // The report lists them, in order, and the Overview counts them.
    let not_read: Vec<&str> = (r["inputs_not_read"].as_array().unwrap().iter())
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(not_read.len(), 38);
    assert!(not_read[0].contains("_20260302T0605Z_"), "{}", not_read[0]);
    assert!(
        not_read[37].contains("_20260302T1200Z_"),
        "{}",
        not_read[37]
    );
    let out = why409()
        .arg(tree)
        .args(["-r"])
        .args(RANGE)
        .output()
        .unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.contains(
            "38 inputs dated outside the time range by name or last modification, not opened: "
        ),
        "{table}"
    );
    let rendered = |output: &str| {
        let out = (why409()
            .arg(tree)
            .args(["-r", "--output", output])
            .args(RANGE))
        .output()
        .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let markdown = rendered("markdown");
    assert!(
        markdown.contains("- **Not read:** 38 inputs dated outside the time range by name or last modification, not opened: `"),
        "{markdown}"
    );
    let html = rendered("html");
    assert!(
        html.contains("<tr><th>not read</th><td>38 inputs dated outside"),
        "{html}"
    );

    let every = report(tree, &["-r", "--no-seek"]);
    assert_eq!(paths(&every).len(), 72);
    assert_eq!(every["inputs_not_read"], serde_json::json!([]));
    let warned = |r: &Value| r["warnings"].to_string().contains("not read:");
    assert!(!warned(&every));
    assert_eq!(
        without_reading(r.clone(), true),
        without_reading(every, true)
    );
    let whole = write(&dir, "access.log", &day_part());
    assert_eq!(
        without_reading(r.clone(), false),
        without_reading(report(&whole, &[]), false)
    );
    assert_eq!(r["totals"]["conflicts"], 20);

    // Without a range every file is read; with one no file holds, none is, and the report
    // says so and counts nothing.
    let all = json(&[tree, "-r"]);
    assert_eq!(paths(&all).len(), 72);
    assert!(!warned(&all));
    let none = json(&[tree, "-r", "--since", "2026-03-05T00:00:00Z"]);
    assert_eq!(paths(&none).len(), 0);
    assert_eq!(none["totals"]["requests"], 0);
    assert!(none["warnings"].to_string().contains("not read: 72 files"));
}

/// `--last` leaves unread the files dated well before the latest-dated file (its span and
/// the leeway twice: the latest file's lines come after its start less the leeway), and
/// gives the report of the log they were cut from. When the latest-dated file has no dated
/// line, the range cannot be known that way, and every file is read.
#[test]
fn last_leaves_unread_the_files_named_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let tree = delivered(&dir);
    let tree_path = tree.to_str().unwrap();
    let whole = write(&dir, "access.log", &day_part());
    let from_whole = json(&[&whole, "--last", "45m"]);
    let last = json(&[tree_path, "-r", "--last", "45m"]);
    // The latest file starts at 11:55: files ending 09:10 … 12:00 are read.
    let read = paths(&last);
    assert_eq!(read.len(), 35);
    assert!(read[0].contains("_20260302T0910Z_"), "{}", read[0]);
    assert!((last["warnings"].to_string()).contains(
        "not read: 37 files dated (by name or last modification) before the range --last gives"
    ));
    assert_eq!(last["period"]["start"], "2026-03-02T11:14:59Z");
    assert_eq!(
        without_reading(last, false),
        without_reading(from_whole.clone(), false)
    );

    // A file dated six hours later holding no request: every file is read.
    let day = tree.join("123456789012/elasticloadbalancing/us-east-2/2026/03/02");
    std::fs::write(
        day.join("123456789012_elasticloadbalancing_us-east-2_app.shop.0123456789abcdef_20260302T1800Z_10.0.3.7_k.log"),
        "\u{1}\u{2} not a log line\n",
    )
    .unwrap();
    let last = json(&[tree_path, "-r", "--last", "45m"]);
    assert_eq!(paths(&last).len(), 72);
    assert!(!last["warnings"].to_string().contains("not read:"));
    assert_eq!(
        without_reading(last, false),
        without_reading(from_whole, false)
    );
}

/// A directory of rotated logs (`access.log`, `access.log.1`, `access.log.2.gz`, a day
/// each), each last modified at its last line, as logrotate leaves them.
fn rotated(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let logs = dir.path().join("nginx");
    std::fs::create_dir(&logs).unwrap();
    let day = |d: &str| -> String {
        let mut text = String::new();
        for (_, l) in day_part() {
            writeln!(text, "{}", l.replace("02/Mar/2026", d)).unwrap();
        }
        text
    };
    std::fs::write(logs.join("access.log"), day("02/Mar/2026")).unwrap();
    std::fs::write(logs.join("access.log.1"), day("01/Mar/2026")).unwrap();
    std::fs::write(
        logs.join("access.log.2.gz"),
        gzip(day("28/Feb/2026").as_bytes()),
    )
    .unwrap();
    for (name, modified) in [
        ("access.log", "2026-03-02T12:00:00Z"),
        ("access.log.1", "2026-03-01T12:00:00Z"),
        ("access.log.2.gz", "2026-02-28T12:00:00Z"),
    ] {
        set_modified(&logs.join(name), modified);
    }
    logs
}

fn set_modified(path: &std::path::Path, t: &str) {
    let s = t.parse::<jiff::Timestamp>().unwrap().as_second() as u64;
    let f = std::fs::File::options().append(true).open(path).unwrap();
    f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(s))
        .unwrap();
}

/// Rotated logs last modified before the range (less the leeway) are not opened, with
/// `--since` and with `--last`; the report is the one of the current log alone. A file
/// modified later than its lines (a copy) is read; and when a file left unread with `--last`
/// turns out to be within reach of the range, every file is read.
#[test]
fn rotated_logs_last_modified_before_the_range_are_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let logs = rotated(&dir);
    let logs_path = logs.to_str().unwrap();
    let current = logs.join("access.log");
    let current = current.to_str().unwrap();

    let r = report(logs_path, &[]);
    assert_eq!(paths(&r), vec![current]);
    let warnings = r["warnings"].to_string();
    assert!(
        warnings.contains(
            "not read: 2 files dated (by name or last modification) outside --since/--until"
        ),
        "{warnings}"
    );
    assert!(warnings.contains("access.log.1, "), "{warnings}");
    assert!(warnings.contains("access.log.2.gz\""), "{warnings}");
    assert_eq!(
        without_reading(r.clone(), true),
        without_reading(report(current, &[]), true)
    );
    assert_eq!(
        without_reading(r, false),
        without_reading(report(logs_path, &["--no-seek"]), false)
    );

    let last = json(&[logs_path, "--last", "45m"]);
    assert_eq!(paths(&last).len(), 1);
    assert!(last["warnings"].to_string().contains("not read: 2 files"));
    assert_eq!(last["period"]["start"], "2026-03-02T11:14:59Z");
    assert_eq!(
        without_reading(last, true),
        without_reading(json(&[current, "--last", "45m"]), true)
    );

    // Copied since: read.
    set_modified(&logs.join("access.log.2.gz"), "2026-11-02T00:00:00Z");
    let r = report(logs_path, &[]);
    assert_eq!(paths(&r).len(), 2);
    assert!(r["warnings"].to_string().contains("not read: 1 file dated"));
    // The current log touched days later, yesterday's rotated an hour late: with --last,
    // yesterday's is left unread against the current log's time, then found within reach
    // of the range its lines give, and every file is read.
    set_modified(&logs.join("access.log.2.gz"), "2026-02-28T12:00:00Z");
    set_modified(&logs.join("access.log"), "2026-03-05T00:00:00Z");
    set_modified(&logs.join("access.log.1"), "2026-03-02T10:30:00Z");
    let last = json(&[logs_path, "--last", "45m"]);
    assert_eq!(paths(&last).len(), 3);
    assert!(!last["warnings"].to_string().contains("not read:"));
}

/// The rotated logs in a tar (plain or gzipped) or a zip: the files the archive dates
/// (its kept modification times) before the range are not decoded, named `ARCHIVE:MEMBER`
/// among those not read, and the report is the current log's, with `--since` and `--last`;
/// with `--last`, a member found within reach of the range after all has every file read.
#[test]
fn rotated_logs_in_an_archive_dated_before_the_range_are_not_read() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let logs = rotated(&dir);
    let current = logs.join("access.log");
    let current = current.to_str().unwrap();
    let archives = |name: &str| {
        // The tar keeps each file's modification time (the builder's `HeaderMode::Complete`).
        let mut b = tar::Builder::new(Vec::new());
        b.append_dir_all("nginx", &logs).unwrap();
        let tar = b.into_inner().unwrap();
        // A zip made by Info-ZIP keeps them in UTC too.
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for file in ["access.log", "access.log.1", "access.log.2.gz"] {
            let path = logs.join(file);
            let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
            let seconds = modified
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            let options = zip::write::SimpleFileOptions::default()
                .with_extended_timestamp(Some(seconds as u32), None, None)
                .unwrap();
            zip.start_file(format!("nginx/{file}"), options).unwrap();
            zip.write_all(&std::fs::read(&path).unwrap()).unwrap();
        }
        let zip = zip.finish().unwrap().into_inner();
        let tgz = gzip(&tar);
        let named = [("tar", tar), ("tgz", tgz), ("zip", zip)];
        named.map(|(ext, bytes)| {
            let path = dir.path().join(format!("{name}.{ext}"));
            std::fs::write(&path, bytes).unwrap();
            path.to_str().unwrap().to_string()
        })
    };
    for archive in archives("rotated") {
        let r = report(&archive, &[]);
        assert_eq!(paths(&r), [format!("{archive}:nginx/access.log")]);
        let warnings = r["warnings"].to_string();
        assert!(
            warnings.contains(&format!(
                "not read: 2 files dated (by name or last modification) outside --since/--until (an hour either side allowed; --no-seek reads them): {archive}:nginx/access.log.1, {archive}:nginx/access.log.2.gz\""
            )),
            "{warnings}"
        );
        assert_eq!(
            r["inputs_not_read"],
            serde_json::json!([
                format!("{archive}:nginx/access.log.1"),
                format!("{archive}:nginx/access.log.2.gz")
            ])
        );
        assert_eq!(
            without_reading(r, false),
            without_reading(report(current, &[]), false)
        );
        let every = report(&archive, &["--no-seek"]);
        assert_eq!(paths(&every).len(), 3, "{archive}");

        let last = json(&[&archive, "--last", "45m"]);
        assert_eq!(paths(&last).len(), 1, "{archive}");
        assert_eq!(last["period"]["start"], "2026-03-02T11:14:59Z");
        assert_eq!(
            without_reading(last, false),
            without_reading(json(&[current, "--last", "45m"]), false)
        );
    }
    // The current log archived days after its last line, yesterday's an hour late: with
    // --last, yesterday's is left unread against the current log's time, then found within
    // reach of the range its lines give, and every file is read.
    set_modified(&logs.join("access.log"), "2026-03-05T00:00:00Z");
    set_modified(&logs.join("access.log.1"), "2026-03-02T10:30:00Z");
    for archive in archives("touched") {
        let last = json(&[&archive, "--last", "45m"]);
        assert_eq!(paths(&last).len(), 3, "{archive}");
        assert!(!last["warnings"].to_string().contains("not read:"));
    }
}

/// A day part line's request as the fields of a JSON record: (RFC 3339 time, method, path,
/// status, client, user agent); `None` for a junk line.
fn fields(line: &str) -> Option<(String, &str, &str, &str, &str, &str)> {
    let parts: Vec<&str> = line.split('"').collect();
    let [head, request, status, _, _, agent, ..] = parts[..] else {
        return None;
    };
    let client = head.split(' ').next()?;
    let clock = head.split("02/Mar/2026:").nth(1)?.get(..8)?;
    let (method, path) = request.split_once(' ')?;
    let path = path.split(' ').next()?;
    let status = status.split_whitespace().next()?;
    let time = format!("2026-03-02T{clock}Z");
    Some((time, method, path, status, client, agent))
}

/// Writes `lines` to `path` (and the folders above it), each through `record`; junk lines
/// stay as they are.
fn export(path: &std::path::Path, lines: &[&(u64, String)], record: fn(&str) -> Option<String>) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut text = String::new();
    for (_, l) in lines {
        writeln!(text, "{}", record(l).unwrap_or_else(|| l.clone())).unwrap();
    }
    std::fs::write(path, text).unwrap();
}

/// The day part as Cloud Logging routes Google Cloud load balancer logs to Cloud Storage:
/// `requests/2026/03/02/HH:00:00_HH:59:59_Sn.json` for the entries stamped in each hour, in
/// two shards, and `…_A0.json` for the entries that came after their hour (the ones stamped
/// 20 minutes early, written in the next hour).
fn routed_to_cloud_storage(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let day = dir.path().join("bucket/requests/2026/03/02");
    let lines = day_part();
    let stamped_hour = |l: &str| fields(l).map(|f| f.0[11..13].parse::<u64>().unwrap());
    let gcp = |l: &str| {
        let (time, method, path, status, client, agent) = fields(l)?;
        Some(format!(
            r#"{{"insertId":"x","httpRequest":{{"requestMethod":"{method}","requestUrl":"https://shop.example{path}","status":{status},"userAgent":"{agent}","remoteIp":"{client}"}},"resource":{{"type":"http_load_balancer"}},"timestamp":"{time}"}}"#
        ))
    };
    for hour in 5..12u64 {
        let file = |shard: &str| day.join(format!("{hour:02}:00:00_{hour:02}:59:59_{shard}.json"));
        for (shard, k) in [("S0", 0), ("S1", 1)] {
            let part: Vec<&(u64, String)> = (lines.iter().enumerate())
                .filter(|(i, (s, l))| {
                    s / 3600 == hour && stamped_hour(l).is_none_or(|h| h == hour) && i % 2 == k
                })
                .map(|(_, l)| l)
                .collect();
            if !part.is_empty() {
                export(&file(shard), &part, gcp);
            }
        }
        let late: Vec<&(u64, String)> = (lines.iter())
            .filter(|(s, l)| s / 3600 == hour + 1 && stamped_hour(l) == Some(hour))
            .collect();
        if !late.is_empty() {
            export(&file("A0"), &late, gcp);
        }
    }
    dir.path().join("bucket")
}

/// Google Cloud load balancer logs routed to Cloud Storage and Azure Front Door logs
/// archived to a storage account are dated by their folders and names: the files whose
/// period, an hour either side, misses the range are not opened, and the report is the one
/// reading every file gives. A file named relative to the day's folder is dated too.
#[test]
fn cloud_exports_are_dated_by_their_folders() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = routed_to_cloud_storage(&dir);
    let bucket = bucket.to_str().unwrap();
    let every = report(bucket, &["-r", "--no-seek"]);
    // S0 and S1 for 06 … 11, A0 for 05 … 10.
    assert_eq!(paths(&every).len(), 18);
    assert!(
        every["inputs"][0]["format"] == "gcp-lb",
        "{}",
        every["inputs"][0]
    );
    // 09:00–09:45 with an hour either side: the hours 07 … 10.
    let r = report(bucket, &["-r"]);
    let read = paths(&r);
    assert_eq!(read.len(), 12, "{read:?}");
    assert!(
        read[0].ends_with("/07:00:00_07:59:59_A0.json"),
        "{}",
        read[0]
    );
    assert!(
        read[11].ends_with("/10:00:00_10:59:59_S1.json"),
        "{}",
        read[11]
    );
    assert_eq!(r["inputs_not_read"].as_array().unwrap().len(), 6);
    assert_eq!(r["totals"]["conflicts"], 20);
    assert_eq!(
        without_reading(r, true),
        without_reading(every.clone(), true)
    );
    // From the day's folder, by relative names.
    let day = std::path::Path::new(bucket).join("requests/2026/03/02");
    let relative = common::report(
        why409()
            .current_dir(&day)
            .args(["06:00:00_06:59:59_S0.json", "09:00:00_09:59:59_S0.json"])
            .args(RANGE),
    );
    assert_eq!(paths(&relative), vec!["09:00:00_09:59:59_S0.json"]);
    assert_eq!(
        relative["inputs_not_read"],
        serde_json::json!(["06:00:00_06:59:59_S0.json"])
    );

    // Azure: a PT1H.json an hour, of the events received in it.
    let azure = |l: &str| {
        let (time, method, path, status, client, agent) = fields(l)?;
        Some(format!(
            r#"{{"category":"FrontDoorAccessLog","operationName":"Microsoft.Cdn/Profiles/AccessLog/Write","properties":{{"httpMethod":"{method}","requestUri":"https://shop.example:443{path}","userAgent":"{agent}","clientIp":"{client}","httpStatusCode":"{status}"}},"time":"{time}"}}"#
        ))
    };
    let root = dir.path().join("insights-logs-frontdooraccesslog/resourceId=/SUBSCRIPTIONS/0000/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.CDN/PROFILES/SHOP");
    let lines = day_part();
    for hour in 6..12u64 {
        let part: Vec<&(u64, String)> = lines.iter().filter(|(s, _)| s / 3600 == hour).collect();
        let file = root.join(format!("y=2026/m=03/d=02/h={hour:02}/m=00/PT1H.json"));
        export(&file, &part, azure);
    }
    let root = root.to_str().unwrap();
    let early = [
        "--since",
        "2026-03-02T06:00:00Z",
        "--until",
        "2026-03-02T06:45:00Z",
    ];
    let every = json(&[&[root, "-r", "--no-seek"][..], &early].concat());
    assert_eq!(paths(&every).len(), 6);
    assert_eq!(every["inputs"][0]["format"], "azure");
    let r = json(&[&[root, "-r"][..], &early].concat());
    // Received by 08:59:59, so possibly stamped from 06:00 - 1 h: the hours 06 … 08.
    let read = paths(&r);
    assert_eq!(read.len(), 3, "{read:?}");
    assert!(read[2].ends_with("/h=08/m=00/PT1H.json"), "{}", read[2]);
    assert_eq!(r["totals"]["conflicts"], 20);
    assert_eq!(without_reading(r, true), without_reading(every, true));
}
