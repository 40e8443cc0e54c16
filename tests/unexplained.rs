//! The conflicts no finding explains, listed by instance in every output: a retry storm the
//! engine explains beside four instances whose conflicts the clients handled (a 409 or 412,
//! a re-read, a successful write), and the quiet and fully explained cases.

mod common;

use common::{json, why409};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A line as nginx writes it, `sec` seconds after 09:00:00.
fn line(sec: u32, client: &str, method: &str, path: &str, status: u16) -> (u32, String) {
    let (h, m, s) = (9 + sec / 3600, sec % 3600 / 60, sec % 60);
    let text = format!(
        "{client} - - [02/Mar/2026:{h:02}:{m:02}:{s:02} +0000] \"{method} {path} HTTP/1.1\" {status} 12 \"-\" \"client/1.0\""
    );
    (sec, text)
}

/// Background reads on other orders; a storm of ten 409s on /api/orders/1 after another
/// client's write (explained: retry_storm) when `storm`; and, when `handled`, one handled 409
/// on each of /api/orders/2, 3 and 4 and two handled 412s from two clients on /api/docs/7.
fn write_log(dir: &Path, storm: bool, handled: bool) -> PathBuf {
    let mut lines = Vec::new();
    for k in (0..700).step_by(7) {
        let client = format!("192.0.2.{}", k % 50 + 1);
        lines.push(line(
            k,
            &client,
            "GET",
            &format!("/api/orders/{}", 100 + k),
            200,
        ));
    }
    if storm {
        lines.push(line(90, "10.0.0.2", "PUT", "/api/orders/1", 200));
        for s in [100, 100, 100, 101, 101, 101, 102, 102, 102, 103] {
            lines.push(line(s, "10.0.0.1", "PUT", "/api/orders/1", 409));
        }
    }
    if handled {
        let cases = [
            (200, "10.0.0.3", "/api/orders/2", 409),
            (300, "10.0.0.4", "/api/orders/3", 409),
            (400, "10.0.0.3", "/api/orders/4", 409),
            (500, "10.0.0.5", "/api/docs/7", 412),
            (600, "10.0.0.6", "/api/docs/7", 412),
        ];
        for (sec, client, path, status) in cases {
            lines.push(line(sec, client, "PUT", path, status));
            lines.push(line(sec, client, "GET", path, 200));
            lines.push(line(sec + 1, client, "PUT", path, 200));
        }
    }
    lines.sort_by_key(|l| l.0);
    let text: String = lines.iter().map(|l| l.1.clone() + "\n").collect();
    let path = dir.join("access.log");
    std::fs::write(&path, text).unwrap();
    path
}

fn output(args: &[&str]) -> String {
    let out = why409().args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn strs(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect()
}

#[test]
fn conflicts_no_cause_explains_are_listed_by_instance_with_their_lines() {
    let dir = tempfile::tempdir().unwrap();
    let log = write_log(dir.path(), true, true);
    let log = log.to_str().unwrap();
    let r = json(&[log]);
    let t = &r["totals"];
    assert_eq!(
        (t["conflicts"].as_u64(), t["explained"].as_u64()),
        (Some(15), Some(10))
    );
    assert_eq!(t["unexplained_instances"], 4);
    let findings: Vec<&str> = (r["findings"].as_array().unwrap().iter())
        .map(|f| f["cause"].as_str().unwrap())
        .collect();
    assert_eq!(findings, ["retry_storm"]);

    let rows = r["unexplained"].as_array().unwrap();
    let instances: Vec<&str> = rows
        .iter()
        .map(|u| u["instance"].as_str().unwrap())
        .collect();
    assert_eq!(
        instances,
        [
            "/api/docs/7",
            "/api/orders/2",
            "/api/orders/3",
            "/api/orders/4"
        ]
    );
    let conflicts: Vec<u64> = rows
        .iter()
        .map(|u| u["conflicts"].as_u64().unwrap())
        .collect();
    assert_eq!(conflicts, [2, 1, 1, 1]);
    // Each was followed by its client's own successful write.
    let handled: Vec<u64> = (rows.iter())
        .map(|u| u["handled"].as_u64().unwrap())
        .collect();
    assert_eq!(handled, [2, 1, 1, 1]);
    assert_eq!(r["totals"]["unexplained_handled"], 5);
    // They are exactly what the causes leave.
    assert_eq!(conflicts.iter().sum::<u64>(), 15 - 10);

    let docs = &rows[0];
    assert_eq!(docs["template"], "/api/docs/{id}");
    assert_eq!(docs["by_status"], serde_json::json!({"412": 2}));
    assert_eq!(strs(&docs["clients"]), ["10.0.0.5", "10.0.0.6"]);
    assert_eq!(docs["client_count"], 2);
    assert_eq!(docs["first_conflict"], "2026-03-02T09:08:20Z");
    assert_eq!(docs["last_conflict"], "2026-03-02T09:10:00Z");
    assert_eq!(rows[1]["by_status"], serde_json::json!({"409": 1}));
    assert_eq!(strs(&rows[1]["clients"]), ["10.0.0.3"]);

    // Each quoted line is the file's line at that number (`sed -n Np`), a conflict on the
    // instance it is listed under.
    let file = std::fs::read_to_string(log).unwrap();
    let file: Vec<&str> = file.lines().collect();
    for u in rows {
        let lines = u["lines"].as_array().unwrap();
        assert_eq!(lines.len() as u64, u["conflicts"].as_u64().unwrap());
        for l in lines {
            let n = l["line"].as_u64().unwrap() as usize;
            assert_eq!(l["input"], 0);
            assert_eq!(l["text"], file[n - 1]);
            let instance = u["instance"].as_str().unwrap();
            assert!(file[n - 1].contains(&format!("PUT {instance} HTTP/1.1\" 4")));
        }
    }

    // The table: the sentence under the root causes, the section, and the command to look
    // closer, which works as printed.
    let table = output(&[log]);
    assert!(table.contains(
        "The cause above explains 10 of the 15 conflicts (66.67%); the other 5, on 4 instances, are under \"Conflicts no cause explains\" (each followed by the same client's successful write: handled)."
    ));
    // All on one day: the heading names it, the rows give times only.
    assert!(table.contains("Conflicts no cause explains: 5 on 4 instances (2026-03-02)\n"));
    let at = table.find("Conflicts no cause explains: 5").unwrap();
    let section = &table[at..];
    let row = section
        .lines()
        .find(|l| l.contains("│ /api/docs/7 "))
        .unwrap();
    assert!(row.contains(" 09:08:20 → 09:10:00 "), "{row}");
    let order: Vec<usize> = (instances.iter())
        .map(|i| section.find(&format!("│ {i} ")).unwrap())
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{section}");
    let hint = format!("to see one in order: why409 explain {log} --instance /api/docs/7");
    assert!(section.contains(&hint), "{section}");
    let explained = output(&["explain", log, "--instance", "/api/docs/7"]);
    assert!(
        explained.starts_with("/api/docs/7 (/api/docs/{id}): 6 requests, 2 conflicts"),
        "{explained}"
    );

    // Markdown: the table and the lines themselves.
    let md = output(&[log, "--output", "markdown"]);
    assert!(md.contains("## Conflicts no cause explains: 5 on 4 instances\n"));
    assert!(md.contains(
        "| `/api/docs/7` | 2 | 2 | 412: 2 | 2 | 2026-03-02T09:08:20Z | 2026-03-02T09:10:00Z |"
    ));
    for u in rows {
        for l in u["lines"].as_array().unwrap() {
            let quoted = format!("{log}:{}: {}", l["line"], l["text"].as_str().unwrap());
            assert!(md.contains(&quoted), "{quoted}");
        }
    }

    // HTML and CSV hold the same rows.
    let html = output(&[log, "--output", "html"]);
    assert!(
        html.contains("<h2 id=\"unexplained\">Conflicts no cause explains: 5 on 4 instances</h2>")
    );
    assert!(html.contains(
        "<td class=\"name\"><code>/api/orders/3</code></td><td class=\"n\">1</td><td class=\"n\">1</td><td>409: 1</td>"
    ));
    let csv = output(&[log, "--output", "csv"]);
    let listed: Vec<&str> = csv
        .lines()
        .filter(|l| l.starts_with("unexplained,"))
        .collect();
    assert_eq!(listed.len(), 4);
    assert!(listed[0].starts_with("unexplained,1,/api/docs/7,/api/docs/{id},"));
    assert!(listed[0].ends_with(",412: 2,2,,,"), "{}", listed[0]);
}

/// `--top` cuts the list, not the count, and the heading says so.
#[test]
fn the_top_option_cuts_the_list_and_the_heading_says_how_many() {
    let dir = tempfile::tempdir().unwrap();
    let log = write_log(dir.path(), true, true);
    let log = log.to_str().unwrap();
    let r = json(&[log, "--top", "2"]);
    assert_eq!(r["unexplained"].as_array().unwrap().len(), 2);
    assert_eq!(r["totals"]["unexplained_instances"], 4);
    let table = output(&[log, "--top", "2"]);
    assert!(
        table.contains("Conflicts no cause explains: 5 on 4 instances (the first 2; 2026-03-02)\n")
    );
    assert!(!table.contains("│ /api/orders/3 "));
}

/// Nothing to list: no conflicts at all, or every conflict explained.
#[test]
fn nothing_is_listed_when_nothing_is_left() {
    let dir = tempfile::tempdir().unwrap();
    for (storm, said) in [
        (
            false,
            "No conflict responses (409, 412, 423, 428) among the 100 requests.",
        ),
        (true, "The cause above explains all 10 conflicts."),
    ] {
        let log = write_log(dir.path(), storm, false);
        let log = log.to_str().unwrap();
        let r = json(&[log]);
        assert_eq!(r["unexplained"], serde_json::json!([]));
        assert_eq!(r["totals"]["unexplained_instances"], 0);
        let table = output(&[log]);
        assert!(table.contains(said), "{table}");
        assert!(!table.contains("Conflicts no cause explains"), "{table}");
        let md = output(&[log, "--output", "markdown"]);
        assert!(!md.contains("Conflicts no cause explains"));
    }
}

/// No conflict at all: the sentence says among how many requests, or why there was no
/// request to look at (the filters, the time range, an empty log).
#[test]
fn no_conflicts_says_among_what() {
    let dir = tempfile::tempdir().unwrap();
    let log = write_log(dir.path(), false, false);
    let log = log.to_str().unwrap();
    let empty = dir.path().join("empty.log");
    std::fs::write(&empty, "").unwrap();
    let cases: [(&[&str], &str); 5] = [
        (
            &["--status", "418"],
            "No conflict responses (418) among the 100 requests.",
        ),
        (
            &["--path-prefix", "/api/docs"],
            "No requests to look at: the filters left out all 100 parsed.",
        ),
        // The log was written now: dated before 2100 by its last modification, it is
        // not read, unless asked.
        (
            &["--since", "2100-01-01"],
            "No requests read: every input is dated outside the time range (the Overview lists them).",
        ),
        (
            &["--since", "2100-01-01", "--no-seek"],
            "No requests to look at: the filters left out all 100 parsed.",
        ),
        (&[empty.to_str().unwrap()], "No requests in these logs."),
    ];
    for (args, said) in cases {
        let mut all = vec![log];
        if args[0].starts_with('-') {
            all.extend(args);
        } else {
            all = args.to_vec();
        }
        let table = output(&all);
        assert!(
            table.starts_with(&format!("\nRoot causes\n{said}\n")),
            "{args:?}: {table}"
        );
    }
    // The timeline of a log without conflicts has no bar column to leave blank.
    let table = output(&[log, "--window", "5m"]);
    let timeline = &table[table.find("Timeline").unwrap()..];
    assert!(
        timeline.contains("\n│ window start ┆ requests ┆ conflicts │\n"),
        "{timeline}"
    );
    assert!(
        timeline.contains("\n│ 09:00:00     ┆       43 ┆         0 │\n"),
        "{timeline}"
    );
}

/// Without any finding, the sentence says the conflicts look handled and where they are.
#[test]
fn handled_conflicts_alone_are_listed_without_a_cause() {
    let dir = tempfile::tempdir().unwrap();
    let log = write_log(dir.path(), false, true);
    let log = log.to_str().unwrap();
    let r = json(&[log]);
    assert_eq!(r["findings"], serde_json::json!([]));
    assert_eq!(r["unexplained"].as_array().unwrap().len(), 4);
    let table = output(&[log]);
    assert!(table.contains(
        "No root cause found: the 5 conflicts, on 4 instances, look like normal, handled behaviour: each was followed by the same client's successful write there (\"Conflicts no cause explains\" lists them)."
    ), "{table}");
}

/// Conflicts their client never followed with a successful write are not called handled:
/// the sentence and the counts say which are which.
#[test]
fn unhandled_conflicts_are_not_called_handled() {
    let dir = tempfile::tempdir().unwrap();
    let log = write_log(dir.path(), false, true);
    // Two more 409s on an order, a minute apart, that its client never got through.
    let mut text = std::fs::read_to_string(&log).unwrap();
    for sec in [650, 710] {
        text.push_str(&line(sec, "10.0.0.9", "PUT", "/api/orders/8", 409).1);
        text.push('\n');
    }
    std::fs::write(&log, text).unwrap();
    let log = log.to_str().unwrap();
    let r = json(&[log]);
    assert_eq!(r["findings"], serde_json::json!([]));
    assert_eq!(r["totals"]["unexplained_handled"], 5);
    let rows = r["unexplained"].as_array().unwrap();
    let orders8 = rows
        .iter()
        .find(|u| u["instance"] == "/api/orders/8")
        .unwrap();
    assert_eq!(
        (orders8["conflicts"].as_u64(), orders8["handled"].as_u64()),
        (Some(2), Some(0))
    );
    let table = output(&[log]);
    assert!(table.contains(
        "No root cause found for the 7 conflicts, on 5 instances: 5 were followed by the same client's successful write there (handled), the other 2 match no cause's signature (\"Conflicts no cause explains\" lists them)."
    ), "{table}");
    // Alone, none of them is handled.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.log");
    let text: String = [650, 710]
        .iter()
        .map(|&s| line(s, "10.0.0.9", "PUT", "/api/orders/8", 409).1 + "\n")
        .collect();
    std::fs::write(&path, text).unwrap();
    let table = output(&[path.to_str().unwrap()]);
    assert!(table.contains(
        "No root cause found for the 2 conflicts, on 1 instance: none was followed by the same client's successful write there, and they match no cause's signature (\"Conflicts no cause explains\" lists them)."
    ), "{table}");
}

/// One of a thing is told in the singular: one conflict (handled or not), the one cause
/// that explains some, the one conflict left, one line, one write.
#[test]
fn one_conflict_is_told_in_the_singular() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("one.log");
    let write = |lines: &[(u32, String)]| {
        let text: String = lines.iter().map(|l| l.1.clone() + "\n").collect();
        std::fs::write(&path, text).unwrap();
        output(&[path.to_str().unwrap()])
    };
    let conflict = line(650, "10.0.0.9", "PUT", "/api/orders/8", 409);
    let table = write(std::slice::from_ref(&conflict));
    for said in [
        "No root cause found for the 1 conflict, on 1 instance: it was not followed by the same client's successful write there, and it matches no cause's signature (\"Conflicts no cause explains\" lists it).",
        ": 1 line, 1 parsed, 0 skipped",
        "│ requests  ┆ 1 (1 write) ",
    ] {
        assert!(table.contains(said), "{said}: {table}");
    }
    let table = write(&[
        conflict.clone(),
        line(651, "10.0.0.9", "GET", "/api/orders/8", 200),
        line(652, "10.0.0.9", "PUT", "/api/orders/8", 200),
    ]);
    for said in [
        "No root cause found: the 1 conflict, on 1 instance, looks like normal, handled behaviour: the same client's successful write there followed it (\"Conflicts no cause explains\" lists it).",
        ": 3 lines, 3 parsed, 0 skipped",
        "│ requests  ┆ 3 (2 writes) ",
    ] {
        assert!(table.contains(said), "{said}: {table}");
    }
    // The storm's one cause explains ten; the eleventh conflict is left, not handled.
    let log = write_log(dir.path(), true, false);
    let mut text = std::fs::read_to_string(&log).unwrap();
    text.push_str(&(conflict.1.clone() + "\n"));
    std::fs::write(&log, text).unwrap();
    let table = output(&[log.to_str().unwrap()]);
    let said = "The cause above explains 10 of the 11 conflicts (90.91%); the other 1, on 1 instance, is under \"Conflicts no cause explains\" (not followed by the same client's successful write).";
    assert!(table.contains(said), "{table}");
}
