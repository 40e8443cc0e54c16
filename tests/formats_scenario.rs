//! The same labelled conflict scenario (fixtures/formats/scenario.*, written by
//! gen_scenario.py) in combined, nginx JSON, HAProxy syslog and Caddy JSON must give the
//! same report counts: totals, per-instance conflicts and clients.

mod common;

use serde_json::Value;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    common::fixture(&format!("formats/{name}"))
}

fn report(file: &str, extra: &[&str]) -> Value {
    common::report(common::why409().arg(fixture(file)).args(extra))
}

/// The parts of a report that must not depend on the log format.
fn counts(r: &Value) -> Value {
    let pick = |arr: &Value, keys: &[&str]| -> Value {
        let mut v: Vec<Value> = arr
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                Value::Object(
                    keys.iter()
                        .map(|k| (k.to_string(), x[*k].clone()))
                        .collect(),
                )
            })
            .collect();
        v.sort_by_key(|x| x.to_string());
        Value::Array(v)
    };
    serde_json::json!({
        "totals": r["totals"],
        "instances": pick(&r["instances"], &["instance", "requests", "conflicts", "clients"]),
        "clients": pick(&r["clients"], &["client", "requests", "conflicts"]),
    })
}

#[test]
fn same_scenario_same_counts_in_every_format() {
    let base = report("scenario.combined.log", &[]);
    assert_eq!(base["inputs"][0]["format"], "combined");
    assert_eq!(base["totals"]["requests"], 13);
    assert_eq!(base["totals"]["conflicts"], 4);
    assert_eq!(base["totals"]["by_status"]["409"], 3);
    assert_eq!(base["totals"]["by_status"]["412"], 1);
    let expected = counts(&base);
    for (file, format, extra) in [
        ("scenario.nginx.json", "nginx-json", &[][..]),
        ("scenario.haproxy.log", "haproxy", &["--tz", "+01:00"][..]),
        ("scenario.caddy.json", "caddy", &[][..]),
    ] {
        let r = report(file, extra);
        assert_eq!(r["inputs"][0]["format"], format, "{file}");
        assert_eq!(counts(&r), expected, "{file}");
    }
    // Caddy's non-access line is skipped with its reason.
    let r = report("scenario.caddy.json", &[]);
    assert_eq!(r["inputs"][0]["skip_reasons"]["not_access_log"], 1);
}

#[test]
fn haproxy_tz_shifts_local_times() {
    let utc = report("scenario.haproxy.log", &[]);
    let cet = report("scenario.haproxy.log", &["--tz", "+01:00"]);
    assert_eq!(cet["period"]["start"], "2026-03-02T08:59:59.988Z");
    assert_eq!(utc["period"]["start"], "2026-03-02T09:59:59.988Z");
    // West of UTC, written as the help shows it: a value, not a flag.
    for west in [&["--tz", "-0500"][..], &["--tz", "-05:00"], &["--tz=-0500"]] {
        let r = report("scenario.haproxy.log", west);
        assert_eq!(r["period"]["start"], "2026-03-02T14:59:59.988Z", "{west:?}");
    }
    let bad = common::why409()
        .arg(fixture("scenario.haproxy.log"))
        .args(["--tz", "Mars/Olympus"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn filters_count_as_filtered() {
    let r = report(
        "scenario.combined.log",
        &["--method", "PUT,PATCH", "--path-prefix", "/api/v1/orders/"],
    );
    assert_eq!(r["totals"]["requests"], 4);
    assert_eq!(r["inputs"][0]["filtered"], 9);
    let r = report("scenario.caddy.json", &["--host", "API.example.com"]);
    assert_eq!(r["totals"]["requests"], 13);
    let r = report("scenario.caddy.json", &["--host", "other.example.com"]);
    assert_eq!(
        (
            r["totals"]["requests"].as_u64(),
            r["inputs"][0]["filtered"].as_u64()
        ),
        (Some(0), Some(13))
    );
}

#[test]
fn log_format_and_field_map_flags() {
    let r = report(
        "scenario.combined.log",
        &[
            "--log-format",
            r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time"#,
        ],
    );
    assert_eq!(r["inputs"][0]["format"], "nginx-custom");
    assert_eq!(counts(&r), counts(&report("scenario.combined.log", &[])));
    // The same lines by their Apache LogFormat, pasted from httpd.conf.
    let r = report(
        "scenario.combined.log",
        &[
            "--log-format",
            r#"LogFormat "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\" %T" combined_t"#,
        ],
    );
    assert_eq!(r["inputs"][0]["format"], "apache-custom");
    assert_eq!(counts(&r), counts(&report("scenario.combined.log", &[])));
    let r = report(
        "scenario.caddy.json",
        &[
            "--field",
            "time=ts,status=status,method=request.method,path=request.uri,client=request.client_ip,duration=duration",
        ],
    );
    assert_eq!(r["inputs"][0]["format"], "json-fields");
    assert_eq!(r["totals"]["requests"], 13);
    assert_eq!(r["inputs"][0]["skip_reasons"]["bad_status"], 1);
    // nginx JSON lines by a map of their keys: what the built-in reader finds.
    let r = report(
        "scenario.nginx.json",
        &[
            "--field",
            "time=time_local,remote=remote_addr,request=request,status=status,duration_s=request_time,user_agent=http_user_agent,xff=http_x_forwarded_for",
        ],
    );
    assert_eq!(r["inputs"][0]["format"], "json-fields");
    assert_eq!(counts(&r), counts(&report("scenario.nginx.json", &[])));
}
