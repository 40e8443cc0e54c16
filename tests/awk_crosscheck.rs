//! Cross-checks the report against an independent awk count on a generated 1,000,000-line
//! combined log: totals, conflicts by status, conflicts per listed client and per listed
//! instance must equal awk's, and no unlisted client or instance may have more conflicts than
//! a listed one.

mod common;
#[allow(dead_code)]
#[path = "../benches/genlog.rs"]
mod genlog;

use serde_json::Value;
use std::collections::HashMap;
use std::process::Command;

/// awk counting what why409 counts, written independently of the Rust code: field 9 is the
/// status in combined lines whose request line has three parts; the instance is field 7 up to
/// `?`. Lines with another shape (junk request lines) are counted as requests but never
/// conflicts, which the generator guarantees for its junk lines.
const AWK: &str = r#"
{ req++ }
$6 ~ /^"(POST|PUT|PATCH|DELETE)$/ { writes++ }
$9 ~ /^(409|412|423|428)$/ {
    conf++; st[$9]++; cl[$1]++
    split($7, p, "?"); inst[p[1]]++
}
END {
    print "T", req, writes, conf
    for (s in st) print "S", s, st[s]
    for (c in cl) print "C", c, cl[c]
    for (i in inst) print "I", i, inst[i]
}
"#;

fn awk_binary() -> Option<&'static str> {
    ["mawk", "awk", "gawk"].into_iter().find(|a| {
        Command::new(a)
            .arg("BEGIN{}")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

#[test]
fn one_million_lines_agree_with_awk() {
    let Some(awk) = awk_binary() else {
        panic!("no awk on PATH: .ci/run installs mawk");
    };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("gen.log");
    let cfg = genlog::parse_args_from(
        [
            "--lines",
            "1000000",
            "--conflict-rate",
            "0.005",
            "--seed",
            "7",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
    );
    let f = std::fs::File::create(&log).unwrap();
    genlog::run(&cfg, std::io::BufWriter::new(f)).unwrap();

    let r: Value = common::json(&[log.to_str().unwrap(), "--top", "25"]);

    let awk_out = Command::new(awk).arg(AWK).arg(&log).output().unwrap();
    assert!(awk_out.status.success());
    let text = String::from_utf8(awk_out.stdout).unwrap();
    let mut clients: HashMap<String, u64> = HashMap::new();
    let mut instances: HashMap<String, u64> = HashMap::new();
    let mut statuses: HashMap<String, u64> = HashMap::new();
    let mut totals = (0u64, 0u64, 0u64);
    for line in text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        match f[0] {
            "T" => {
                totals = (
                    f[1].parse().unwrap(),
                    f[2].parse().unwrap(),
                    f[3].parse().unwrap(),
                )
            }
            "S" => {
                statuses.insert(f[1].into(), f[2].parse().unwrap());
            }
            "C" => {
                clients.insert(f[1].into(), f[2].parse().unwrap());
            }
            "I" => {
                instances.insert(f[1].into(), f[2].parse().unwrap());
            }
            _ => unreachable!("awk printed {line}"),
        }
    }

    let input = &r["inputs"][0];
    assert_eq!(input["lines"], 1_000_000);
    assert_eq!(input["skipped"], 0, "skips: {}", input["skip_reasons"]);
    assert_eq!(r["totals"]["requests"].as_u64().unwrap(), totals.0);
    assert_eq!(r["totals"]["writes"].as_u64().unwrap(), totals.1);
    assert_eq!(r["totals"]["conflicts"].as_u64().unwrap(), totals.2);
    assert!(
        totals.2 > 4000,
        "the generator should have produced conflicts"
    );
    for s in ["409", "412", "423", "428"] {
        assert_eq!(
            r["totals"]["by_status"][s].as_u64().unwrap(),
            statuses.get(s).copied().unwrap_or(0),
            "status {s}"
        );
    }

    let check = |list: &Value, key: &str, awk: &HashMap<String, u64>| {
        let rows = list.as_array().unwrap();
        assert_eq!(rows.len(), 25);
        let mut min_listed = u64::MAX;
        for row in rows {
            let name = row[key].as_str().unwrap();
            let n = row["conflicts"].as_u64().unwrap();
            assert_eq!(Some(n), awk.get(name).copied(), "{key} {name}");
            min_listed = min_listed.min(n);
        }
        let listed: Vec<&str> = rows.iter().map(|r| r[key].as_str().unwrap()).collect();
        for (name, n) in awk {
            if !listed.contains(&name.as_str()) {
                assert!(
                    *n <= min_listed,
                    "unlisted {key} {name} has {n} conflicts, more than a listed one ({min_listed})"
                );
            }
        }
    };
    check(&r["clients"], "client", &clients);
    check(&r["instances"], "instance", &instances);
}
