//! The HTML and CSV reports, run through the binary: the same numbers as the JSON report,
//! every row and finding there, and texts from the logs that cannot break out of them.

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
    let quoted: usize = (findings.iter())
        .map(|f| f["evidence"].as_array().unwrap().len())
        .sum();
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
}
