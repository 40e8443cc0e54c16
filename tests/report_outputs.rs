//! The HTML and CSV reports and `why409 diff`, run through the binary: the same numbers as
//! the JSON report, every row and finding there, and texts from the logs that cannot break
//! out of them.

mod common;

use common::{fixture, json, why409};
use serde_json::Value;

fn output(args: &[&str]) -> String {
    let out = why409().args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// Every `<name` opened is closed as often.
fn balanced(html: &str, name: &str) {
    let open =
        html.matches(&format!("<{name}>")).count() + html.matches(&format!("<{name} ")).count();
    let close = html.matches(&format!("</{name}>")).count();
    assert_eq!(open, close, "<{name}>: {open} opened, {close} closed");
}

#[test]
fn html_report_has_every_finding_with_its_evidence() {
    let demo = fixture("demo/access.log");
    let demo = demo.to_str().unwrap();
    let html = output(&[demo, "--output", "html"]);
    let r = json(&[demo]);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));
    for tag in [
        "html", "body", "table", "tr", "section", "pre", "svg", "details", "code",
    ] {
        balanced(&html, tag);
    }
    // Self-contained: no script, nothing fetched.
    assert!(!html.contains("<script") && !html.contains("src=") && !html.contains("href=\"http"));
    let findings = r["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 8);
    // The findings' conflicts are disjoint: their sum is what the causes explain.
    let explained: u64 = findings
        .iter()
        .map(|f| f["conflicts"].as_u64().unwrap())
        .sum();
    assert_eq!(r["totals"]["explained"], explained);
    assert!(explained <= r["totals"]["conflicts"].as_u64().unwrap());
    let said = format!(
        "<p>The causes above explain {explained} of the {} conflicts",
        r["totals"]["conflicts"]
    );
    assert!(html.contains(&said), "{said}");
    assert_eq!(html.matches("<section class=\"finding\"").count(), 8);
    for (k, f) in findings.iter().enumerate() {
        let cause = f["cause"].as_str().unwrap();
        let head = format!(
            "<h3>#{} <span class=\"badge incident\">incident</span> {cause} on",
            k + 1
        );
        assert!(html.contains(&head), "{head}");
        for e in f["evidence"].as_array().unwrap() {
            let located = format!("{demo}:{}:</span>", e["line"]);
            assert!(html.contains(&located), "{located}");
        }
    }
    // The findings' evidence, then the lines of the conflicts no cause explains.
    let quoted: usize = (findings.iter())
        .map(|f| f["evidence"].as_array().unwrap().len())
        .sum::<usize>()
        + (r["unexplained"].as_array().unwrap().iter())
            .map(|u| u["lines"].as_array().unwrap().len())
            .sum::<usize>();
    assert_eq!(
        html.matches(&format!("<span class=\"dim\">{demo}:"))
            .count(),
        quoted
    );
    // The tables hold the JSON's rows: the top client with its counts.
    let c = &r["clients"][0];
    let row = format!(
        "<tr><td class=\"name\"><code>{}</code></td><td class=\"n\">{}</td><td class=\"n\">{}</td>",
        c["client"].as_str().unwrap(),
        c["requests"],
        c["conflicts"]
    );
    assert!(html.contains(&row), "{row}");
    // One bar per window with requests, and one per window with conflicts.
    let timeline = r["timeline"].as_array().unwrap();
    let with = |k: &str| timeline.iter().filter(|w| w[k].as_u64() > Some(0)).count();
    assert_eq!(html.matches("<rect class=\"r\"").count(), with("requests"));
    assert_eq!(html.matches("<rect class=\"c\"").count(), with("conflicts"));
}

/// Markup and control characters in a logged path, client or skipped line are shown as
/// text, never run.
#[test]
fn html_report_escapes_texts_from_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("evil.log");
    let line = |i: u32| {
        format!(
            "10.0.0.{i} - - [02/Mar/2026:09:00:0{i} +0000] \"PUT /o/<script>alert(1)</script>\x1b[2J HTTP/1.1\" 409 5 \"-\" \"x\"\n"
        )
    };
    let mut log: String = (1..=6).map(line).collect();
    log.push_str("<img src=x onerror=alert(2)> not a log line\n");
    std::fs::write(&p, log).unwrap();
    let html = output(&[p.to_str().unwrap(), "--output", "html"]);
    assert!(
        !html.contains("<script") && !html.contains("<img"),
        "{html}"
    );
    assert!(html.contains("/o/&lt;script&gt;alert(1)&lt;/script&gt;\\x1b[2J"));
    assert!(html.contains("&lt;img src=x onerror=alert(2)&gt; not a log line"));
    assert!(!html.contains('\x1b'));
}

#[test]
fn csv_report_has_the_json_reports_rows() {
    let demo = fixture("demo/access.log");
    let demo = demo.to_str().unwrap();
    let text = output(&[demo, "--output", "csv"]);
    let r = json(&[demo]);
    let mut rd = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = rd.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header[..3], ["section", "rank", "name"]);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    assert!(rows.iter().all(|x| x.len() == header.len()));
    let section =
        |s: &str| -> Vec<&csv::StringRecord> { rows.iter().filter(|x| &x[0] == s).collect() };
    let n = |x: &csv::StringRecord, c: &str| x[col(c)].parse::<u64>().unwrap();
    for (s, list) in [
        ("finding", "findings"),
        ("resource", "resources"),
        ("instance", "instances"),
        ("client", "clients"),
        ("window", "timeline"),
    ] {
        assert_eq!(section(s).len(), r[list].as_array().unwrap().len(), "{s}");
    }
    let input = section("input")[0];
    assert_eq!(&input[col("name")], demo);
    assert_eq!(n(input, "lines"), r["inputs"][0]["lines"].as_u64().unwrap());
    let total = section("total")[0];
    for k in ["requests", "writes", "conflicts"] {
        assert_eq!(n(total, k), r["totals"][k].as_u64().unwrap(), "{k}");
    }
    assert_eq!(&total[col("start")], r["period"]["start"].as_str().unwrap());
    // The windows add up to the totals.
    let windows = section("window");
    let sum = |k: &str| windows.iter().map(|x| n(x, k)).sum::<u64>();
    assert_eq!(sum("requests"), n(total, "requests"));
    assert_eq!(sum("conflicts"), n(total, "conflicts"));
    // Findings in the JSON's order, with its counts.
    for (x, f) in section("finding")
        .iter()
        .zip(r["findings"].as_array().unwrap())
    {
        assert_eq!(&x[col("cause")], f["cause"].as_str().unwrap());
        assert_eq!(n(x, "conflicts"), f["conflicts"].as_u64().unwrap());
        assert_eq!(n(x, "clients"), f["client_count"].as_u64().unwrap());
        assert_eq!(&x[col("summary")], f["summary"].as_str().unwrap());
    }
    let top: &Value = &r["clients"][0];
    let first = section("client")[0];
    assert_eq!(&first[col("name")], top["client"].as_str().unwrap());
    assert_eq!(n(first, "requests"), top["requests"].as_u64().unwrap());
}

/// A path with a comma and quotes stays one field; a client named like a formula is not
/// one in a spreadsheet.
#[test]
fn csv_report_quotes_fields() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("odd.json");
    let line = |i: u32| {
        format!(
            r#"{{"time":"2026-03-02T09:00:0{i}+00:00","remote_addr":"10.0.0.{i}","request_method":"PUT","request_uri":"/o/a,\"b\"","status":409,"api_key":"=HYPERLINK(1)"}}"#
        ) + "\n"
    };
    std::fs::write(&p, (1..=6).map(line).collect::<String>()).unwrap();
    let text = output(&[
        p.to_str().unwrap(),
        "--output",
        "csv",
        "--client",
        "api-key",
    ]);
    let mut rd = csv::Reader::from_reader(text.as_bytes());
    let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    let instance = rows.iter().find(|x| &x[0] == "instance").unwrap();
    assert_eq!(&instance[2], "/o/a,\"b\"");
    let client = rows.iter().find(|x| &x[0] == "client").unwrap();
    assert_eq!(&client[2], "'=HYPERLINK(1)");
    // No cell starts a formula, whatever column it is in.
    for row in &rows {
        for field in row.iter() {
            assert!(!field.starts_with(['=', '+', '@']), "{row:?}");
        }
    }
}

/// The demo's reports before 09:30 and from 09:30 on, written in `dir`.
fn half_hour_reports(
    demo: &std::path::Path,
    dir: &std::path::Path,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let (before, after) = (dir.join("before.json"), dir.join("after.json"));
    for (flag, out) in [("--until", &before), ("--since", &after)] {
        why409()
            .arg(demo)
            .args([flag, "2026-03-02T09:30:00Z", "--output", "json", "-o"])
            .arg(out)
            .assert()
            .success();
    }
    (before, after)
}

/// The demo's two half hours: four incidents before 09:30, four after; each side's totals as
/// its own report has them.
#[test]
fn diff_tells_new_findings_from_gone_ones() {
    let dir = tempfile::tempdir().unwrap();
    let demo = fixture("demo/access.log");
    let (before, after) = half_hour_reports(&demo, dir.path());
    let out = why409()
        .arg("diff")
        .args([&before, &after])
        .args(["--output", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let d: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(d["schema"], "why409.diff/v1");
    let read = |p: &std::path::Path| -> Value {
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    };
    let (b, a) = (read(&before), read(&after));
    for k in ["requests", "writes", "conflicts"] {
        assert_eq!(d["totals"][k]["before"], b["totals"][k], "{k}");
        assert_eq!(d["totals"][k]["after"], a["totals"][k], "{k}");
    }
    let causes = |change: &str| -> Vec<&str> {
        let mut v: Vec<&str> = (d["findings"].as_array().unwrap().iter())
            .filter(|f| f["change"] == change)
            .map(|f| f["cause"].as_str().unwrap())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        causes("new"),
        [
            "deploy_regression",
            "in_progress_conflict",
            "lock_contention",
            "state_transition"
        ]
    );
    assert_eq!(
        causes("gone"),
        [
            "duplicate_create",
            "hot_spot_edit",
            "retry_storm",
            "stale_version"
        ]
    );
    assert!(causes("still").is_empty());
    // Every finding of either report is there once, with its conflicts on its side.
    let n = |r: &Value| r["findings"].as_array().unwrap().len();
    assert_eq!(n(&d), n(&b) + n(&a));
    let first_new = &d["findings"][0];
    let same = (a["findings"].as_array().unwrap().iter())
        .find(|f| f["cause"] == first_new["cause"] && f["template"] == first_new["template"])
        .unwrap();
    assert_eq!(first_new["conflicts"]["after"], same["conflicts"]);
    assert_eq!(first_new["conflicts"]["before"], Value::Null);
    // A resource without conflicts before, from a complete list: 0, not unknown.
    let carts = (d["resources"].as_array().unwrap().iter())
        .find(|r| r["name"] == "/api/v1/carts/{id}")
        .unwrap();
    assert_eq!(carts["conflicts"]["before"], 0);

    // The table: each period's start above its end, a date parted from its time only when
    // the column is narrower than the two.
    for (width, lines) in [("60", 4), ("100", 2), ("200", 2)] {
        let out = why409()
            .arg("diff")
            .args([&before, &after])
            .env("COLUMNS", width)
            .output()
            .unwrap();
        let s = String::from_utf8(out.stdout).unwrap();
        let rows: Vec<&str> = (s.lines())
            .skip_while(|l| !l.starts_with("│ period "))
            .take_while(|l| !l.starts_with("│ requests "))
            .collect();
        let side = |k: usize| -> Vec<&str> {
            (rows.iter())
                .map(|row| row.split(['│', '┆']).nth(k).unwrap().trim())
                .collect()
        };
        let (b, a) = (side(2), side(3));
        assert_eq!(b.len(), lines, "{width}: {s}");
        assert_eq!(b.join(" "), "2026-03-02 09:00:00 → 2026-03-02 09:29:58 UTC");
        assert_eq!(a.join(" "), "2026-03-02 09:30:00 → 2026-03-02 09:59:58 UTC");
        assert!(b.iter().any(|l| l.ends_with(" →")), "{b:?}");
    }

    // New incidents fail the run when asked; a report against itself has nothing new.
    why409()
        .arg("diff")
        .args([&before, &after])
        .args(["--fail-on", "new-incident"])
        .assert()
        .code(1);
    let same = why409()
        .arg("diff")
        .args([&after, &after])
        .args(["--fail-on", "new-finding", "--output", "markdown"])
        .output()
        .unwrap();
    assert_eq!(same.status.code(), Some(0));
    let md = String::from_utf8(same.stdout).unwrap();
    assert!(md.starts_with("# why409 diff"));
    assert_eq!(md.matches("| **still** |").count(), n(&a));
    assert!(!md.contains("Warning"));

    // Reports that count other statuses as conflicts are compared with a warning.
    let only409 = dir.path().join("409.json");
    why409()
        .arg(&demo)
        .args(["--status", "409", "--output", "json", "-o"])
        .arg(&only409)
        .assert()
        .success();
    let out = why409()
        .arg("diff")
        .args([&only409, &after])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("different statuses as conflicts (before: 409; after: 409,412,423,428)"),
        "{err}"
    );
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("Warning: the reports count")
    );
}

#[test]
fn diff_names_a_file_that_is_not_a_report() {
    let dir = tempfile::tempdir().unwrap();
    let log = fixture("basic/access.log");
    let other = dir.path().join("other.json");
    std::fs::write(&other, r#"{"schema": "why409.report/v9"}"#).unwrap();
    let out = why409().arg("diff").arg(&log).arg(&other).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("basic/access.log: not a why409 JSON report"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let report = dir.path().join("r.json");
    why409()
        .arg(&log)
        .args(["--output", "json", "-o"])
        .arg(&report)
        .assert()
        .success();
    let out = why409()
        .arg("diff")
        .arg(&report)
        .arg(&other)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("other.json: a report of schema 'why409.report/v9'"),
        "{err}"
    );
    std::fs::write(&other, "[1, 2]").unwrap();
    let out = why409()
        .arg("diff")
        .arg(&report)
        .arg(&other)
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("other.json: not a why409 JSON report"),
        "{err}"
    );
}

/// `explain` as Markdown and CSV: a row per request of the instance, as its JSON lists them,
/// conflicts in bold, and each request's place as `path:line` when several inputs are read.
#[test]
fn explain_as_markdown_and_csv() {
    let demo = fixture("demo/access.log");
    let basic = fixture("basic/access.log");
    let (demo, basic) = (demo.to_str().unwrap(), basic.to_str().unwrap());
    let explain = |args: &[&str]| {
        let mut all = vec!["explain", "--instance", "/api/v1/orders/9310442"];
        all.extend_from_slice(args);
        output(&all)
    };
    let j: Value = serde_json::from_str(&explain(&[demo, "--output", "json"])).unwrap();
    assert_eq!(
        (j["requests"].as_u64(), j["conflicts"].as_u64()),
        (Some(42), Some(40))
    );
    assert_eq!(j["inputs"], serde_json::json!([demo]));
    let events = j["events"].as_array().unwrap();

    let md = explain(&[demo, "--output", "markdown"]);
    assert!(md.starts_with("# why409 explain: `/api/v1/orders/9310442`"));
    assert!(md.contains("Template `/api/v1/orders/{id}`: 42 requests, 40 conflicts."));
    assert!(md.contains("- **finding:** retry_storm: 198.51.100.41 sent PUT"));
    let rows: Vec<&str> = md.lines().filter(|l| l.starts_with("| 2026-")).collect();
    assert_eq!(rows.len(), events.len());
    assert_eq!(
        rows.iter().filter(|r| r.contains(" | **409** | ")).count(),
        40
    );
    let first = &events[0];
    assert!(
        rows[0].ends_with(&format!(" | {} |", first["line"])),
        "{}",
        rows[0]
    );

    let text = explain(&[demo, "--output", "csv"]);
    let mut rd = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = rd.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header[..4], ["instance", "start", "time", "client"]);
    let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), events.len());
    for (row, ev) in rows.iter().zip(events) {
        assert_eq!(&row[1], ev["start"].as_str().unwrap());
        assert_eq!(&row[3], ev["client"].as_str().unwrap());
        assert_eq!(
            row[5].parse::<u64>().unwrap(),
            ev["status"].as_u64().unwrap()
        );
        let column = |name: &str| header.iter().position(|h| h == name).unwrap();
        assert_eq!(&row[column("input")], demo);
        assert_eq!(
            row[column("line")].parse::<u64>().unwrap(),
            ev["line"].as_u64().unwrap()
        );
        assert_eq!(&row[column("answered_by")], "");
        assert_eq!(&row[column("idempotency_key")], "");
    }

    // Two inputs: the place of a request names its file.
    let md = explain(&[demo, basic, "--output", "markdown"]);
    let located = format!(" | {demo}:{} |", first["line"]);
    assert!(md.contains(&located), "{located}");
}

/// A directory of many inputs (a month of S3-delivered logs is thousands): the table,
/// Markdown and HTML reports list the first nine and sum up the rest in one line (their
/// formats, bytes and line counts, as the JSON report's inputs add up), and their skipped
/// lines by reason, with the first example; JSON lists every input.
#[test]
fn many_inputs_are_summed_up_for_people() {
    let dir = tempfile::tempdir().unwrap();
    let demo = std::fs::read_to_string(fixture("demo/access.log")).unwrap();
    let lines: Vec<&str> = demo.lines().collect();
    for (k, part) in lines.chunks(lines.len() / 12 + 1).enumerate() {
        let mut text = part.join("\n") + "\n";
        if k >= 10 {
            // A line no format reads, in two of the inputs past the ninth.
            text = format!("garbage line {k}\n{text}");
        }
        std::fs::write(dir.path().join(format!("part.{k:02}.log")), text).unwrap();
    }
    for name in ["scenario.caddy.json", "scenario.haproxy.log"] {
        std::fs::copy(fixture(&format!("formats/{name}")), dir.path().join(name)).unwrap();
    }
    let path = dir.path().to_str().unwrap();
    let r = json(&[path]);
    let inputs = r["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 14);
    let rest = &inputs[9..];
    let sum = |k: &str| -> u64 { rest.iter().map(|i| i[k].as_u64().unwrap()).sum() };
    let skipped = sum("skipped");
    let malformed: u64 = (rest.iter())
        .map(|i| i["skip_reasons"]["malformed_line"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(malformed, 2);
    let line = format!(
        "5 more inputs (combined 3, caddy 1, haproxy 1, {} bytes): {} lines, {} parsed, {skipped} skipped; --output json lists each",
        sum("bytes"),
        sum("lines"),
        sum("parsed"),
    );

    let table = output(&[path, "--color", "never"]);
    let listed = |t: &str| {
        (t.lines())
            .filter(|l| l.starts_with("│ input ") && l.contains(" parsed, "))
            .count()
    };
    assert_eq!(listed(&table), 9, "{table}");
    assert!(table.contains(&line), "{table}");
    let more = table
        .lines()
        .find(|l| l.contains("5 more inputs "))
        .unwrap();
    assert!(more.starts_with("│ inputs "), "{more}");
    // The skipped lines of the inputs not listed: one row, two inputs, the first example.
    let skips = table.split("Skipped lines").nth(1).unwrap();
    let row = skips
        .lines()
        .find(|l| l.contains("┆ malformed_line "))
        .unwrap();
    assert!(row.starts_with("│ 2 more inputs "), "{row}");
    assert!(
        row.contains("┆     2 ┆ ") && row.contains("part.10.log:1: garbage line 10"),
        "{row}"
    );

    let md = output(&[path, "--output", "markdown"]);
    assert_eq!(md.matches("- **Input:** ").count(), 9);
    assert!(md.contains(&format!("- **Inputs:** {line}")), "{md}");

    let html = output(&[path, "--output", "html"]);
    assert_eq!(html.matches("<tr><th>input</th><td>").count(), 9);
    assert!(html.contains(&format!("<tr><th>inputs</th><td>{line}</td></tr>")));
    assert!(html.contains("<td>2 more inputs</td>"));
    assert!(
        html.contains("part.10.log:1: (malformed_line)</span> garbage line 10"),
        "{html}"
    );

    // Ten inputs are listed one by one.
    for name in [
        "part.10.log",
        "part.11.log",
        "scenario.caddy.json",
        "scenario.haproxy.log",
    ] {
        std::fs::remove_file(dir.path().join(name)).unwrap();
    }
    let table = output(&[path, "--color", "never"]);
    assert_eq!(listed(&table), 10, "{table}");
    assert!(!table.contains("more inputs"));
}

/// Tables, Markdown and HTML list the first 25 findings and group the rest by cause and
/// route (a client that retries blindly everywhere makes one finding per instance); JSON
/// lists every finding.
#[test]
fn many_findings_are_grouped_for_people() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = String::new();
    // 40 documents and 12 orders, each written once by one client and then retried six
    // times a second apart by another, blind: a retry storm each, an hour apart.
    let routes = (0..40)
        .map(|k| ("docs", k))
        .chain((0..12).map(|k| ("orders", k)));
    for (n, (route, k)) in routes.enumerate() {
        let at = |s: usize| {
            let t = 3600 * n + s;
            format!(
                "{:02}/Mar/2026:{:02}:{:02}:{:02} +0000",
                2 + t / 86400,
                t / 3600 % 24,
                t / 60 % 60,
                t % 60
            )
        };
        log += &format!(
            "10.0.0.{k} - - [{}] \"PUT /api/v1/{route}/{k} HTTP/1.1\" 200 5 \"-\" \"a\"\n",
            at(0)
        );
        for s in 1..=6 {
            log += &format!(
                "10.9.0.{k} - - [{}] \"PUT /api/v1/{route}/{k} HTTP/1.1\" 409 5 \"-\" \"b\"\n",
                at(s)
            );
        }
    }
    let path = dir.path().join("storms.log");
    std::fs::write(&path, log).unwrap();
    let path = path.to_str().unwrap();

    let r = json(&[path]);
    let findings = r["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 52);
    assert!(
        findings
            .iter()
            .all(|f| f["cause"] == "retry_storm" && f["conflicts"] == 6)
    );

    let note = "The first 25 findings are listed; the other 27 are grouped by cause and route; --output json lists every finding.";
    let table = output(&[path, "--color", "never"]);
    let causes = table.split("Overview").next().unwrap();
    let rows: Vec<&str> = causes
        .lines()
        .filter(|l| l.starts_with("│ retry_storm "))
        .collect();
    assert_eq!(rows.len(), 27, "{table}");
    assert!(
        rows[..25]
            .iter()
            .all(|r| r.contains("/api/v1/docs/") && r.contains("┆ instance "))
    );
    let cells = |row: &str| -> Vec<String> {
        (row.trim_matches('│').split('┆'))
            .map(|c| c.trim().to_string())
            .collect()
    };
    assert_eq!(
        cells(rows[25])[..5],
        [
            "retry_storm",
            "/api/v1/docs/{id} (15 findings)",
            "grouped",
            "90",
            ""
        ]
    );
    assert_eq!(
        cells(rows[26])[..5],
        [
            "retry_storm",
            "/api/v1/orders/{id} (12 findings)",
            "grouped",
            "72",
            ""
        ]
    );
    assert!(table.contains(note), "{table}");
    assert!(table.contains("(49 more findings: --output markdown shows the evidence of the first 25, --output json of all)"), "{table}");

    let md = output(&[path, "--output", "markdown"]);
    assert_eq!(md.matches("` | instance | 6 | 2 | ").count(), 25);
    assert!(
        md.contains("\n| retry_storm | `/api/v1/docs/{id}` (15 findings) | grouped | 90 |  | "),
        "{md}"
    );
    assert!(
        md.contains("\n| retry_storm | `/api/v1/orders/{id}` (12 findings) | grouped | 72 |  | "),
        "{md}"
    );
    assert!(md.contains(note));
    assert_eq!(md.matches("\n### retry_storm on ").count(), 25);

    let html = output(&[path, "--output", "html"]);
    assert_eq!(html.matches("<section class=\"finding\"").count(), 25);
    assert!(html.contains("<code>/api/v1/orders/{id} (12 findings)</code></td><td>grouped</td><td class=\"n\">72</td>"), "{html}");
    balanced(&html, "tr");
}

/// Scheduled reports are kept compressed, or come through a pipe: `diff` reads a `.gz` or
/// `.zst` report and stdin as it reads the file, refuses stdin twice, and names a report cut
/// short instead of comparing what was left of it.
#[test]
fn diff_reads_compressed_reports_and_stdin() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let demo = fixture("demo/access.log");
    let (before, after) = half_hour_reports(&demo, dir.path());
    let text = std::fs::read(&before).unwrap();
    let gz = dir.path().join("before.json.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&text).unwrap();
    let packed = enc.finish().unwrap();
    std::fs::write(&gz, &packed).unwrap();
    let zst = dir.path().join("before.json.zst");
    std::fs::write(&zst, zstd::encode_all(&text[..], 3).unwrap()).unwrap();
    let diff = |first: &std::path::Path, stdin: Option<&std::path::Path>| {
        let mut cmd = why409();
        cmd.arg("diff")
            .arg(first)
            .arg(&after)
            .args(["--output", "json"]);
        if let Some(p) = stdin {
            cmd.write_stdin(std::fs::read(p).unwrap());
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        out.stdout
    };
    let plain = diff(&before, None);
    let d: Value = serde_json::from_slice(&plain).unwrap();
    assert_eq!(d["findings"].as_array().unwrap().len(), 8);
    // The diff names the logs each report read, not the report's file: all the same.
    assert_eq!(diff(&gz, None), plain);
    assert_eq!(diff(&zst, None), plain);
    assert_eq!(diff(std::path::Path::new("-"), Some(&gz)), plain);

    let twice = why409()
        .args(["diff", "-", "-"])
        .write_stdin(text.clone())
        .output()
        .unwrap();
    assert_eq!(twice.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(twice.stderr).unwrap(),
        "why409: diff: only one of the two reports can come from stdin ('-')\n"
    );
    let cut = dir.path().join("cut.json.gz");
    std::fs::write(&cut, &packed[..packed.len() / 2]).unwrap();
    let out = why409().arg("diff").arg(&cut).arg(&after).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("cut.json.gz: the compressed data ends early"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// `-o report.json.gz` (or `.zst`, `.xz`, `.lz4`) writes the report its inner extension names,
/// compressed; `why409 diff` reads it back; a `.bz2` name is refused before any reading.
#[test]
fn reports_are_written_compressed_as_their_names_say() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let demo = fixture("demo/access.log");
    let plain = output(&[demo.to_str().unwrap(), "--output", "json"]);
    let gz = dir.path().join("r.json.gz");
    why409().arg(&demo).arg("-o").arg(&gz).assert().success();
    let mut back = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&gz).unwrap())
        .read_to_string(&mut back)
        .unwrap();
    assert_eq!(back, plain);
    let zst = dir.path().join("r.md.zst");
    why409().arg(&demo).arg("-o").arg(&zst).assert().success();
    let md = zstd::decode_all(std::fs::File::open(&zst).unwrap()).unwrap();
    assert!(
        String::from_utf8(md)
            .unwrap()
            .starts_with("# why409 report")
    );
    let out = why409()
        .arg("diff")
        .arg(&gz)
        .arg(&gz)
        .args(["--output", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let d: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        (d["findings"].as_array().unwrap().iter()).all(|f| f["change"] == "still"),
        "{d}"
    );
    let bz2 = dir.path().join("r.json.bz2");
    let out = why409()
        .arg("/no/such/log")
        .arg("-o")
        .arg(&bz2)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("r.json.bz2: why409 writes .gz, .zst, .xz and .lz4, not bzip2"),
        "{err}"
    );
    assert!(!bz2.exists());
}
