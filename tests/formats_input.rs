//! Compressed and streamed input gives the same report as the plain file, and a rotated set
//! (`access.log`, `access.log.1`, `access.log.2.gz`) is analysed as one period.

mod common;

use assert_cmd::Command;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};

fn scenario() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/formats/scenario.combined.log")
}

/// The report of `cmd` without the input paths, which differ between the ways of reading.
fn run(cmd: &mut Command) -> Value {
    let mut v = common::report(cmd);
    for i in v["inputs"].as_array_mut().unwrap() {
        i.as_object_mut().unwrap().remove("path");
    }
    v
}

/// `text` as `lz4` writes it: a frame with its content's checksum.
fn lz4(text: &[u8]) -> Vec<u8> {
    let info = lz4_flex::frame::FrameInfo::new().content_checksum(true);
    let mut e = lz4_flex::frame::FrameEncoder::with_frame_info(info, Vec::new());
    e.write_all(text).unwrap();
    e.finish().unwrap()
}

fn report(path: &Path) -> Value {
    run(common::why409().arg(path))
}

#[test]
fn compressed_and_stdin_match_plain() {
    let plain = std::fs::read(scenario()).unwrap();
    let expected = report(&scenario());
    assert_eq!(expected["totals"]["conflicts"], 4);
    let dir = tempfile::tempdir().unwrap();

    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&plain).unwrap();
    let zst = zstd::encode_all(&plain[..], 3).unwrap();
    let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    bz.write_all(&plain).unwrap();
    for (name, bytes) in [
        ("a.log.gz", gz.finish().unwrap()),
        ("a.log.zst", zst),
        ("a.log.bz2", bz.finish().unwrap()),
        ("a.log.xz", liblzma::encode_all(&plain[..], 6).unwrap()),
        ("a.log.lz4", lz4(&plain)),
        ("pzstd.zst", with_skippable_frames(&zstd_frames(&plain))),
        (
            "skips.lz4",
            with_skippable_frames(&[lz4(&plain[..300]), lz4(&plain[300..])]),
        ),
    ] {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        assert_eq!(report(&p), expected, "{name}");
    }
    let stdin = run(common::why409().arg("-").write_stdin(plain));
    assert_eq!(stdin, expected, "stdin");
}

/// Bytes after the end of compressed data (trailing garbage; zeros after a `.bz2`, which
/// `bzcat` warns of) leave the report the plain file's, with one warning that says all of
/// the text was analysed; zeros after a `.gz` are ignored as `zcat` ignores them.
#[test]
fn bytes_after_the_end_are_told_and_the_text_is_whole() {
    let plain = std::fs::read(scenario()).unwrap();
    let mut expected = report(&scenario());
    let dir = tempfile::tempdir().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&plain).unwrap();
    let gz = gz.finish().unwrap();
    let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    bz.write_all(&plain).unwrap();
    let bz = bz.finish().unwrap();
    let garbage = b"<html>404 Not Found</html>\n";
    let zeros = [0u8; 512];
    for (name, bytes, told) in [
        ("g.log.gz", [&gz[..], garbage].concat(), true),
        ("z.log.gz", [&gz[..], &zeros].concat(), false),
        ("z.log.bz2", [&bz[..], &zeros].concat(), true),
        (
            "g.log.zst",
            [&zstd::encode_all(&plain[..], 3).unwrap()[..], garbage].concat(),
            true,
        ),
        (
            "g.log.xz",
            [&liblzma::encode_all(&plain[..], 6).unwrap()[..], garbage].concat(),
            true,
        ),
        ("g.log.lz4", [&lz4(&plain)[..], garbage].concat(), true),
    ] {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let mut got = report(&p);
        let warnings = got.as_object_mut().unwrap().remove("warnings").unwrap();
        let warnings = warnings.as_array().unwrap();
        if told {
            assert_eq!(warnings.len(), 1, "{name}: {warnings:?}");
            let w = warnings[0].as_str().unwrap();
            let whole = format!(
                "; they are ignored, and all of its text ({} bytes) is analysed",
                plain.len()
            );
            assert!(
                w.starts_with(&format!("{}: ", p.display())) && w.ends_with(&whole),
                "{w}"
            );
        } else {
            assert!(warnings.is_empty(), "{name}: {warnings:?}");
        }
        expected.as_object_mut().unwrap().remove("warnings");
        assert_eq!(got, expected, "{name}");
    }
}

/// `plain` as zstd frames of 500 bytes of text, as `pzstd` writes them (in parallel).
fn zstd_frames(plain: &[u8]) -> Vec<Vec<u8>> {
    (plain.chunks(500))
        .map(|part| zstd::encode_all(part, 3).unwrap())
        .collect()
}

/// `frames` one after another, each after a skippable frame (which zstd and LZ4 share)
/// giving its size, as `pzstd` writes them; one more, empty, at the end.
fn with_skippable_frames(frames: &[Vec<u8>]) -> Vec<u8> {
    let skippable = |content: &[u8]| {
        let mut f = vec![0x50, 0x2a, 0x4d, 0x18];
        f.extend((content.len() as u32).to_le_bytes());
        f.extend(content);
        f
    };
    let mut out = Vec::new();
    for frame in frames {
        out.extend(skippable(&(frame.len() as u32).to_le_bytes()));
        out.extend(frame);
    }
    out.extend(skippable(b""));
    out
}

/// Streamed in, bzip2 and xz of several blocks (the demo log: seven of bzip2's at its
/// fastest, eleven xz blocks of 64 KiB) are decoded on the threads given: the report is the
/// plain file's either way.
#[test]
fn bz2_and_xz_blocks_on_threads_match_plain() {
    let plain = std::fs::read(demo()).unwrap();
    let expected = report(&demo());
    let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    bz.write_all(&plain).unwrap();
    let blocks = liblzma::stream::MtStreamBuilder::new()
        .threads(2)
        .block_size(64 << 10)
        .preset(1)
        .encoder()
        .unwrap();
    let mut xz = liblzma::write::XzEncoder::new_stream(Vec::new(), blocks);
    xz.write_all(&plain).unwrap();
    for (name, bytes) in [("bz2", bz.finish().unwrap()), ("xz", xz.finish().unwrap())] {
        for threads in ["1", "2"] {
            let args = ["--threads", threads, "-"];
            let got = run(common::why409().args(args).write_stdin(bytes.clone()));
            assert_eq!(got, expected, "{name} on {threads} threads");
        }
    }
}

#[test]
fn rotated_set_is_one_period() {
    let plain = std::fs::read_to_string(scenario()).unwrap();
    let lines: Vec<&str> = plain.lines().collect();
    // Oldest lines in access.log.2.gz, then .1, newest in access.log.
    let (old, rest) = lines.split_at(4);
    let (mid, new) = rest.split_at(5);
    let dir = tempfile::tempdir().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all((old.join("\n") + "\n").as_bytes()).unwrap();
    std::fs::write(dir.path().join("access.log.2.gz"), gz.finish().unwrap()).unwrap();
    std::fs::write(dir.path().join("access.log.1"), mid.join("\n") + "\n").unwrap();
    std::fs::write(dir.path().join("access.log"), new.join("\n") + "\n").unwrap();

    let all = report(dir.path());
    let single = report(&scenario());
    assert_eq!(all["inputs"].as_array().unwrap().len(), 3);
    for k in ["totals", "period", "instances", "clients", "resources"] {
        assert_eq!(all[k], single[k], "{k}");
    }
}

fn demo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo/access.log")
}

/// Cuts the demo log into parts of 37 lines under `dir`, part `k` at the path `name(k)`
/// gives (directories made), gzip, zstd and plain in turn. Returns the number of parts.
fn cut_demo(dir: &Path, name: impl Fn(usize) -> String) -> usize {
    let plain = std::fs::read_to_string(demo()).unwrap();
    let lines: Vec<&str> = plain.lines().collect();
    let parts: Vec<&[&str]> = lines.chunks(37).collect();
    for (k, part) in parts.iter().enumerate() {
        let text = part.join("\n") + "\n";
        let path = dir.join(name(k));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        match k % 3 {
            0 => {
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                gz.write_all(text.as_bytes()).unwrap();
                std::fs::write(path.with_extension("gz"), gz.finish().unwrap()).unwrap();
            }
            1 => std::fs::write(
                path.with_extension("zst"),
                zstd::encode_all(text.as_bytes(), 3).unwrap(),
            )
            .unwrap(),
            _ => std::fs::write(path, text).unwrap(),
        }
    }
    parts.len()
}

/// `all`, the report of the demo log's `parts` parts, is the demo log's report: every line
/// read, the same totals, period, instances, clients, resources, timeline and findings
/// (but for the evidence, which names other files and lines).
fn assert_is_the_demo(all: &Value, parts: usize) {
    let single = report(&demo());
    let lines = std::fs::read_to_string(demo()).unwrap().lines().count();
    assert_eq!(all["inputs"].as_array().unwrap().len(), parts);
    let lines_read: u64 = (all["inputs"].as_array().unwrap().iter())
        .map(|i| i["lines"].as_u64().unwrap())
        .sum();
    assert_eq!(lines_read, lines as u64);
    for k in [
        "totals",
        "period",
        "instances",
        "clients",
        "resources",
        "timeline",
    ] {
        assert_eq!(all[k], single[k], "{k}");
    }
    let causes = |v: &Value| -> Vec<(String, Value)> {
        (v["findings"].as_array().unwrap().iter())
            .map(|f| {
                let mut f = f.clone();
                f.as_object_mut().unwrap().remove("evidence");
                (f["cause"].to_string(), f)
            })
            .collect()
    };
    assert_eq!(causes(all), causes(&single));
    assert_eq!(causes(&single).len(), 8, "{:?}", causes(&single));
}

/// A directory of many small inputs (S3 delivers a day of ALB or CloudFront logs as
/// thousands of small `.gz` files), each kept in memory rather than in a temporary file,
/// compressed or not, is analysed as the one file they were cut from.
#[test]
fn many_small_inputs_are_one_log() {
    let dir = tempfile::tempdir().unwrap();
    // Names sort in the log's order (natural order: part.9 before part.10).
    let parts = cut_demo(dir.path(), |k| format!("part.{k}.log"));
    assert!(parts > 60);
    assert_is_the_demo(&report(dir.path()), parts);
}

/// Logs synced from S3 lie in a directory a day (`AWSLogs/ACCOUNT/elasticloadbalancing/
/// REGION/YYYY/MM/DD/`): `--recursive` reads them all as the one file they were cut from,
/// and skips hidden files and directories; without it, the directory is an error that says how to read it, and a
/// directory with files and subdirectories warns of the subdirectories left unread.
#[test]
fn recursive_reads_a_tree_of_days() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = "AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2026/03";
    // Eleven parts a day.
    let parts = cut_demo(dir.path(), |k| {
        format!("{prefix}/{}/part_{k}.log", k / 11 + 1)
    });
    assert!(parts > 100);
    std::fs::create_dir_all(dir.path().join(format!("{prefix}/.staging"))).unwrap();
    std::fs::write(
        dir.path().join(format!("{prefix}/.staging/x.log")),
        "junk\n",
    )
    .unwrap();
    std::fs::write(dir.path().join(format!("{prefix}/.DS_Store")), "junk\n").unwrap();
    let all = run(common::why409().arg("--recursive").arg(dir.path()));
    assert_is_the_demo(&all, parts);
    assert_eq!(run(common::why409().arg("-r").arg(dir.path())), all);

    common::why409()
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "directory has no files to read (it has a subdirectory: --recursive reads it)",
        ));
    let month = dir.path().join(prefix);
    std::fs::copy(demo(), month.join("extra.log")).unwrap();
    let out = common::why409().arg(&month).output().unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{}: only the files directly inside are read (it has {} subdirectories: --recursive reads them)",
            month.display(),
            parts.div_ceil(11)
        )),
        "{stderr}"
    );
}

/// Kubernetes (CRI) and syslog wrappers are found by detection, not taken for W3C lines
/// (whose first field is also a date) nor, for CRI, read by CLF's lenient prefix (its tag
/// became the client of `--client xff`), and a wrapped line that stops after its timestamp
/// is a counted skip, not a crash (it was an out-of-range slice).
#[test]
fn wrapped_logs_are_detected_and_cut_lines_skipped() {
    let json = r#"{"time_local":"02/Mar/2026:09:14:05 +0000","remote_addr":"203.0.113.7","request":"PUT /api/v1/orders/1042 HTTP/1.1","status":409,"body_bytes_sent":87,"request_time":0.042}"#;
    let clf =
        r#"10.0.0.1 - - [02/Mar/2026:09:14:05 +0000] "PUT /a/1 HTTP/1.1" 409 87 "-" "curl/8""#;
    let cases = [
        (
            format!(
                "2026-03-02T09:14:05.1Z stdout F {json}\n2026-03-02T09:14:05.2Z stdout F {json}\n2026-03-02T09:14:06.3Z\n"
            ),
            "cri+nginx-json",
        ),
        (
            format!(
                "2026-03-02T09:14:05.1Z stdout F {clf}\n2026-03-02T09:14:05.2Z stdout F {clf}\n2026-03-02T09:14:06.3Z\n"
            ),
            "cri+combined",
        ),
        (
            format!(
                "2026-03-02T09:14:05Z web nginx: {json}\n2026-03-02T09:14:05Z web nginx: {json}\n2026-03-02T09:14:06Z\n"
            ),
            "syslog+nginx-json",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (k, (text, format)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("wrapped{k}.log"));
        std::fs::write(&path, text).unwrap();
        let v = report(&path);
        let input = &v["inputs"][0];
        assert_eq!(input["format"], *format, "{text}");
        assert_eq!(
            (&input["lines"], &input["parsed"], &input["skipped"]),
            (&Value::from(3), &Value::from(2), &Value::from(1)),
            "{text}"
        );
        assert_eq!(v["totals"]["conflicts"], 2, "{text}");
        // The wrapper's prefix is no part of the request: not a vhost, not an address list.
        let v = run(common::why409().arg(&path).args(["--client", "xff"]));
        let client = &v["clients"][0]["client"];
        assert!(
            client == "10.0.0.1" || client == "203.0.113.7",
            "{client} {text}"
        );
    }
}

/// A `.gz` cut short (copied while logrotate compressed it, a download cut off): the lines
/// that decode are analysed, as `zcat` prints them before its error, and a warning names the
/// file and where its text stops.
#[test]
fn a_truncated_gzip_is_analysed_up_to_the_cut() {
    use std::io::Read;
    let demo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo/access.log");
    let plain = std::fs::read(&demo).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&plain).unwrap();
    let gz = gz.finish().unwrap();
    let cut = &gz[..gz.len() * 2 / 3];
    let mut zcat = Vec::new();
    assert!(
        flate2::read::MultiGzDecoder::new(cut)
            .read_to_end(&mut zcat)
            .is_err()
    );
    let lines = zcat
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .count();

    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("access.log.1.gz");
    std::fs::write(&p, cut).unwrap();
    let out = common::why409()
        .arg(&p)
        .arg("--output")
        .arg("json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let said = format!(
        "why409: {}: cannot decode past byte {} of its text",
        p.display(),
        zcat.len()
    );
    assert!(stderr.starts_with(&said), "{stderr}");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let input = &r["inputs"][0];
    assert_eq!(input["bytes"], zcat.len() as u64);
    assert_eq!(input["lines"], lines as u64);
    assert_eq!(
        input["parsed"].as_u64().unwrap() + input["skipped"].as_u64().unwrap(),
        lines as u64
    );
    assert!(input["parsed"].as_u64().unwrap() >= lines as u64 - 1);
    assert!(
        r["warnings"][0]
            .as_str()
            .unwrap()
            .contains("cannot decode past byte")
    );

    // In a directory beside a whole log, both are read.
    std::fs::copy(&demo, dir.path().join("access.log")).unwrap();
    let r = common::report(common::why409().arg(dir.path()));
    assert_eq!(r["inputs"].as_array().unwrap().len(), 2);
}

/// A directory of logs of several formats, interleaved (each format the last input's guess
/// is wrong for): each file is told its own format, and read as it is read alone.
#[test]
fn a_directory_of_mixed_formats_tells_each_file_its_own() {
    let combined = std::fs::read_to_string(scenario()).unwrap();
    // The combined scenario as Docker's json-file driver logs it.
    let docker: String = (combined.lines())
        .map(|l| {
            let escaped = l.replace('\\', "\\\\").replace('"', "\\\"");
            format!("{{\"log\":\"{escaped}\\n\",\"stream\":\"stdout\",\"time\":\"2026-03-02T09:14:05Z\"}}\n")
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let copy = |name: &str, fixture: &str| {
        std::fs::copy(common::fixture(fixture), dir.path().join(name)).unwrap();
    };
    copy("01.log", "formats/scenario.combined.log");
    copy("02.log", "formats/scenario.nginx.json");
    copy("03.log", "formats/scenario.combined.log");
    std::fs::write(dir.path().join("04.log"), &docker).unwrap();
    copy("05.log", "formats/scenario.haproxy.log");
    copy("06.log", "formats/scenario.caddy.json");
    copy("07.log", "formats/scenario.combined.log");
    copy("08.log", "formats/scenario.nginx.json");
    let all = report(dir.path());
    let inputs = all["inputs"].as_array().unwrap();
    let formats: Vec<&str> = inputs
        .iter()
        .map(|i| i["format"].as_str().unwrap())
        .collect();
    assert_eq!(
        formats,
        [
            "combined",
            "nginx-json",
            "combined",
            "docker+combined",
            "haproxy",
            "caddy",
            "combined",
            "nginx-json"
        ]
    );
    for (k, input) in inputs.iter().enumerate() {
        let alone = report(&dir.path().join(format!("{:02}.log", k + 1)));
        assert_eq!(input, &alone["inputs"][0], "input {}", k + 1);
    }
}
