//! Every format's sample line, mutated the ways real logs break (cut short, bytes changed,
//! dropped, inserted, a piece repeated, digits of a time or status turned into others), never
//! crashes the binary: each run succeeds and accounts for every line as parsed or skipped.
//! Fuzzing like this found a slice out of range in the syslog/CRI wrappers and a 42 GB
//! allocation from a timestamp turned into 1970.

mod common;

use common::Rng;

use why409::format;

const PIECES: &[&[u8]] = &[
    b"\"", b"\\", b"{", b"}", b"[", b"]", b" ", b"\t", b"\x00", b"\xff", b"\xc3", b"0", b"9", b"-",
    b":", b",", b"/", b"%", b"?", b"\\u00", b"\\\"", b"409", b"null", b"e9",
];

fn mutate(sample: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut b = sample.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(b.len() + 1);
        match rng.below(6) {
            0 => {
                let end = (at + 1 + rng.below(20)).min(b.len());
                b.drain(at.min(end)..end);
            }
            1 => {
                let piece = PIECES[rng.below(PIECES.len())];
                b.splice(at..at, piece.iter().copied());
            }
            2 if at < b.len() => b[at] = rng.next() as u8,
            3 => b.truncate(at),
            4 => {
                let from = rng.below(b.len() + 1);
                let piece: Vec<u8> = b[from..(from + rng.below(40)).min(b.len())].to_vec();
                b.splice(at..at, piece);
            }
            _ => {
                // A digit changed: times far away, statuses and sizes out of range.
                if let Some(p) = (at..b.len()).find(|&i| b[i].is_ascii_digit()) {
                    b[p] = b'0' + rng.below(10) as u8;
                }
            }
        }
    }
    b.iter()
        .map(|&c| if c == b'\n' { b' ' } else { c })
        .collect()
}

/// The sample inside one of the wrappers (container runtimes, syslog, compose), by `k`.
fn wrapped(k: usize, line: &[u8]) -> (&'static str, Vec<u8>) {
    let (kind, head): (&str, &[u8]) = match k % 4 {
        0 => ("cri", b"2026-03-02T09:14:05.123456789Z stdout F "),
        1 => ("syslog", b"Mar  2 09:14:05 web nginx: "),
        2 => ("compose", b"web-1  | "),
        _ => {
            let mut v = br#"{"log":""#.to_vec();
            for &c in line {
                if c == b'"' || c == b'\\' {
                    v.push(b'\\');
                }
                v.push(c);
            }
            v.extend_from_slice(br#"\n","stream":"stdout","time":"2026-03-02T09:14:05Z"}"#);
            return ("docker", v);
        }
    };
    (kind, [head, line].concat())
}

#[test]
fn mutated_samples_never_crash_and_every_line_is_accounted_for() {
    let dir = tempfile::tempdir().unwrap();
    let registry = format::registry();
    for (k, f) in registry.iter().enumerate() {
        for wrap in [false, true] {
            let sample = f.sample().as_bytes();
            let (name, sample) = if wrap {
                let (kind, line) = wrapped(k, sample);
                (format!("{kind}+{}", f.name()), line)
            } else {
                (f.name().to_string(), sample.to_vec())
            };
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (2 * k as u64 + wrap as u64 + 1));
            let mut log = Vec::new();
            for _ in 0..5 {
                log.extend_from_slice(&sample);
                log.push(b'\n');
            }
            for _ in 0..300 {
                log.extend(mutate(&sample, &mut rng));
                log.push(b'\n');
            }
            check(&dir, &name, &log);
        }
    }
}

/// Runs `log` as format `name` with each client key, and with detection.
fn check(dir: &tempfile::TempDir, name: &str, log: &[u8]) {
    let path = dir.path().join(format!("{name}.log"));
    std::fs::write(&path, log).unwrap();
    let p = path.to_str().unwrap();
    for client in ["ip", "xff", "api-key", "header:User-Agent"] {
        let r = common::json(&[p, "--format", name, "--client", client]);
        let i = &r["inputs"][0];
        assert_eq!(i["lines"], 305, "{name}");
        let parsed = i["parsed"].as_u64().unwrap();
        assert_eq!(parsed + i["skipped"].as_u64().unwrap(), 305, "{name}");
        // The five unchanged samples at least are read.
        assert!(parsed >= 5, "{name}: {parsed} parsed");
    }
    // Detection on the same lines: a report, or (when the mutations leave too few lines of
    // any one format) a one-line error that says so; never a crash.
    let out = common::why409().arg(p).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() || out.status.code() == Some(2) && err.lines().count() == 1,
        "{name}: {:?} {err}",
        out.status
    );
}
