//! A log in every compressed and archived form why409 reads, damaged the ways files break
//! (bytes changed, cut short, junk written in, a run zeroed), never crashes the binary: each
//! run gives a report whose every line is parsed or skipped, or a one-line error, and every
//! message on stderr is why409's and names the damaged file. (A fuzzing run of 4,000 such
//! files found nothing; this keeps a deterministic share of it in the tests.)

mod common;

use common::{Rng, gzip, tar_of, zip_of};

use std::io::Write;
use std::path::Path;

/// The first `n` lines of the demo log.
fn text(n: usize) -> Vec<u8> {
    let demo = std::fs::read(common::fixture("demo/access.log")).unwrap();
    let lines: Vec<&[u8]> = demo.split_inclusive(|&c| c == b'\n').take(n).collect();
    lines.concat()
}

/// `text` in each form, by the file name it is given.
fn forms(text: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    // Three members of whole lines.
    let at_line = |from: usize| from + text[from..].iter().position(|&c| c == b'\n').unwrap() + 1;
    let (one, two) = (at_line(text.len() / 3), at_line(2 * text.len() / 3));
    let (a, b, c) = (&text[..one], &text[one..two], &text[two..]);
    let members: [(&str, &[u8]); 3] = [
        ("logs/access.log.2", a),
        ("logs/access.log.1", b),
        ("logs/access.log", c),
    ];
    let lz4 = {
        use lz4_flex::frame::{BlockSize, FrameInfo};
        let info = FrameInfo::new()
            .content_checksum(true)
            .block_size(BlockSize::Max64KB);
        let mut e = lz4_flex::frame::FrameEncoder::with_frame_info(info, Vec::new());
        e.write_all(text).unwrap();
        e.finish().unwrap()
    };
    let bz2 = {
        let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        e.write_all(text).unwrap();
        e.finish().unwrap()
    };
    vec![
        ("access.log.gz", gzip(text)),
        // As logrotate's `delaycompress` and a later append leave it: two members.
        ("two.log.gz", [gzip(a), gzip(&text[a.len()..])].concat()),
        ("access.log.zst", zstd::encode_all(text, 3).unwrap()),
        ("access.log.bz2", bz2),
        ("access.log.xz", liblzma::encode_all(text, 1).unwrap()),
        ("access.log.lz4", lz4),
        ("logs.tar", tar_of(&members)),
        ("logs.tgz", gzip(&tar_of(&members))),
        (
            "logs.zip",
            zip_of(&members, zip::CompressionMethod::Deflated),
        ),
        (
            "stored.zip",
            zip_of(&members, zip::CompressionMethod::Stored),
        ),
    ]
}

/// `data` damaged in one to three places.
fn damage(data: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut d = data.to_vec();
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(d.len());
        match rng.below(5) {
            0 => d.truncate(at),
            1 => {
                let junk: Vec<u8> = (0..1 + rng.below(16)).map(|_| rng.next() as u8).collect();
                d.splice(at..at, junk);
            }
            2 => {
                let end = (at + 32).min(d.len());
                d[at..end].fill(0);
            }
            _ if at < d.len() => d[at] ^= 1 << rng.below(8),
            _ => {}
        }
    }
    d
}

/// Runs why409 on `path` (a file or a directory) and checks the outcome; `name` is what
/// every message must mention.
fn check(path: &Path, name: &str, what: &str) {
    let out = common::why409()
        .args(["--output", "json", "--threads", "2"])
        .arg(path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    for line in err.lines() {
        assert!(
            line.starts_with("why409: ") && line.contains(name),
            "{what}: a message that is not why409's or does not name {name}: {line:?}"
        );
        assert!(!line.contains("panicked"), "{what}: {line}");
    }
    match out.status.code() {
        Some(0) => {
            let r: serde_json::Value = serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|e| panic!("{what}: the report is not JSON: {e}"));
            let inputs = r["inputs"].as_array().unwrap();
            assert!(!inputs.is_empty(), "{what}: a report of no input");
            for i in inputs {
                let n = |k: &str| i[k].as_u64().unwrap();
                assert_eq!(
                    n("parsed") + n("skipped"),
                    n("lines"),
                    "{what}: {} has lines neither parsed nor skipped",
                    i["path"]
                );
            }
        }
        Some(2) => assert_eq!(err.lines().count(), 1, "{what}: {err}"),
        other => panic!("{what}: exit code {other:?}: {err}"),
    }
}

#[test]
fn damaged_compressed_and_archived_logs_never_crash_and_say_which_file() {
    let dir = tempfile::tempdir().unwrap();
    let text = text(400);
    for (k, (name, data)) in forms(&text).into_iter().enumerate() {
        // Undamaged, each form is read whole.
        let path = dir.path().join(name);
        std::fs::write(&path, &data).unwrap();
        let r = common::json(&[path.to_str().unwrap()]);
        let lines: u64 = (r["inputs"].as_array().unwrap().iter())
            .map(|i| i["lines"].as_u64().unwrap())
            .sum();
        assert_eq!(lines, 400, "{name}");
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (k as u64 + 1));
        for round in 0..16 {
            std::fs::write(&path, damage(&data, &mut rng)).unwrap();
            check(&path, name, &format!("{name}, damage {round}"));
        }
        std::fs::remove_file(&path).unwrap();
    }
}

/// A directory of rotated logs, one `.gz` of them damaged: the others are read, and the
/// damaged one is either read up to its damage or skipped, said by name.
#[test]
fn a_damaged_rotated_log_among_good_ones_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let text = text(400);
    let half = (text.iter().enumerate())
        .filter(|(_, c)| **c == b'\n')
        .nth(199)
        .unwrap()
        .0;
    let (old, new) = text.split_at(half + 1);
    std::fs::write(dir.path().join("access.log"), new).unwrap();
    let good = gzip(old);
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for round in 0..16 {
        std::fs::write(dir.path().join("access.log.1.gz"), damage(&good, &mut rng)).unwrap();
        let out = common::why409()
            .args(["--output", "json"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "damage {round}");
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let read = (r["inputs"].as_array().unwrap().iter())
            .find(|i| i["path"].as_str().unwrap().ends_with("/access.log"))
            .map(|i| i["lines"].as_u64().unwrap());
        assert_eq!(
            read,
            Some(200),
            "damage {round}: the good log is read whole"
        );
        let err = String::from_utf8_lossy(&out.stderr);
        for line in err.lines() {
            assert!(
                line.starts_with("why409: ") && line.contains("access.log.1.gz"),
                "damage {round}: {line:?}"
            );
        }
    }
}

/// An archive cut short whose one file is no log: the damage is warned of and the file
/// skipped, which leaves nothing to analyse, an error (it was an empty report, exit 0, that
/// read as a quiet day).
#[test]
fn a_damaged_archive_with_nothing_to_read_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let notes = b"just some notes\n".repeat(100);
    let tgz = gzip(&tar_of(&[("notes.txt", &notes)]));
    let path = dir.path().join("notes.tgz");
    // Cut inside the tar's closing blocks: the file's text is whole, the archive is not.
    std::fs::write(&path, &tgz[..tgz.len() - 12]).unwrap();
    let out = common::why409().arg(&path).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("why409: no input could be read: "), "{err}");
    assert!(err.contains("notes.tgz: cannot decode past byte"), "{err}");
    assert!(
        err.contains("notes.tgz:notes.txt: not a log format"),
        "{err}"
    );
}
