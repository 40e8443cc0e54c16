//! Every real sample in ../shared/realdata (provenance: SOURCES.md there) whose format
//! why409 reads: the format is detected, ≥ 99% of the request lines parse (lines that are
//! not requests — blank, headers/comments, HAProxy TCP/startup lines, Caddy/Traefik
//! non-access lines — are skipped with their reason and not counted), and fields of chosen
//! lines match values read off the files by hand.
//!
//! Skips gracefully (with a printed note) when the directory is absent.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use why409::format::{self, Format, LineContext};
use why409::record::{Method, Request};
use why409::timestamp::rfc3339;

fn root() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/realdata");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("note: {} not found; real-data tests skipped", p.display());
        None
    }
}

/// Reasons that mark a line as not a request at all.
const NOT_REQUESTS: [&str; 4] = [
    "blank_line",
    "header_or_comment",
    "not_http_request",
    "not_access_log",
];

/// A parsed line, owned, for spot checks.
#[derive(Debug, Clone)]
struct Seen {
    line: usize,
    time: String,
    method: Method,
    target: String,
    status: u16,
    upstream: Option<u16>,
    remote: String,
    duration_us: Option<u64>,
    request_id: Option<String>,
    host: Option<String>,
    user: Option<String>,
    consumer: Option<String>,
}

struct Outcome {
    format: &'static str,
    parsed: Vec<Seen>,
    skips: BTreeMap<&'static str, usize>,
}

/// Detects the format like the pipeline and parses every line, passing directives on.
fn analyse(data: &[u8]) -> Outcome {
    let registry = format::registry();
    let text: Vec<&[u8]> = data
        .split(|&c| c == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .collect();
    let head: Vec<&[u8]> = text
        .iter()
        .take(format::DETECT_SAMPLE_LINES)
        .copied()
        .collect();
    let fmt: &dyn Format =
        format::detect(&registry, &head, &Default::default()).expect("a format is detected");
    let mut cx = LineContext::default();
    let (mut parsed, mut skips) = (Vec::new(), BTreeMap::new());
    let n = if data.ends_with(b"\n") {
        text.len() - 1
    } else {
        text.len()
    };
    for (i, line) in text[..n].iter().enumerate() {
        if format::text::trim(line).is_empty() {
            *skips.entry("blank_line").or_insert(0) += 1;
            continue;
        }
        if fmt.is_directive(line) {
            cx.directive = Some(line);
            *skips.entry("header_or_comment").or_insert(0) += 1;
            continue;
        }
        let mut r = Request::default();
        match fmt.parse(line, &mut cx, &mut r) {
            Ok(()) => parsed.push(Seen {
                line: i + 1,
                time: rfc3339(r.time),
                method: r.method,
                target: r.target.into_owned(),
                status: r.status,
                upstream: r.upstream_status,
                remote: r.remote.into_owned(),
                duration_us: r.duration_us,
                request_id: r.request_id.map(|x| x.into_owned()),
                host: r.host.map(|x| x.into_owned()),
                user: r.user.map(|x| x.into_owned()),
                consumer: r.consumer.map(|x| x.into_owned()),
            }),
            Err(s) => *skips.entry(s.0).or_insert(0) += 1,
        }
    }
    Outcome {
        format: fmt.name(),
        parsed,
        skips,
    }
}

/// A sample file, its expected format, and request lines allowed to fail (reason, count).
type Expect = (&'static str, &'static str, &'static [(&'static str, usize)]);

const FILES: &[Expect] = &[
    ("apache/beats-apache-access-test.log", "combined", &[]),
    (
        "apache/elastic-examples-apache_logs.subset.log",
        "combined",
        &[],
    ),
    ("aws-alb/beats-application-lb-http.log", "alb", &[]),
    ("aws-alb/beats-example-alb-http.log", "alb", &[]),
    (
        "aws-alb/logstash-patterns-core-aws_spec.classic-elb.samples.log",
        "elb",
        &[],
    ),
    (
        "aws-apigateway/integrations-test-apigateway-http.log",
        "apigw-json",
        &[],
    ),
    (
        "aws-apigateway/integrations-test-apigateway-rest.log",
        "apigw-json",
        &[],
    ),
    (
        "aws-cloudfront/integrations-test-cloudfront.log",
        "cloudfront",
        &[],
    ),
    (
        "aws-cloudfront/logstash-patterns-core-aws_spec.cloudfront.samples.log",
        "cloudfront",
        &[],
    ),
    (
        "azure-frontdoor/integrations-test-fdaccess.log",
        "azure",
        &[],
    ),
    ("caddy/lnav-logfile_caddy_log.0.log", "compose+caddy", &[]),
    ("caddy/lnav-logfile_caddy_log.1.log", "caddy", &[]),
    (
        "cloudflare/integrations-test-pipeline-http-request.subset.log",
        "cloudflare",
        &[],
    ),
    ("cloudflare/lnav-logfile_cloudflare.json", "cloudflare", &[]),
    ("envoy/beats-envoy.log", "envoy", &[]),
    (
        "envoy/beats-envoy-json-k8s-wrapped.log",
        "docker+envoy",
        &[],
    ),
    ("gcp-lb/integrations-test-load-balancer.log", "gcp-lb", &[]),
    ("haproxy/beats-haproxy.log", "haproxy", &[]),
    (
        "haproxy/beats-haproxy-httplog-no-headers.log",
        "haproxy",
        &[],
    ),
    ("haproxy/lnav-logfile_haproxy.0.log", "haproxy", &[]),
    (
        "haproxy/logstash-patterns-core-haproxy_spec.samples.log",
        "haproxy",
        &[],
    ),
    ("istio/integrations-test-access-logs.log", "envoy", &[]),
    ("istio/integrations-test-access-failed.log", "envoy", &[]),
    (
        "istio/integrations-test-access-json-logs.log",
        "envoy-json",
        &[],
    ),
    ("nginx/beats-nginx-access-test.log", "combined", &[]),
    ("nginx/beats-nginx-access.log", "combined", &[]),
    ("nginx/beats-nginx-test-with-host.log", "combined", &[]),
    ("nginx/lnav-logfile_shop_access_log.0.log", "combined", &[]),
    (
        "nginx-ingress/beats-ingress-controller-test.log",
        "combined",
        &[],
    ),
    ("traefik/beats-traefik-access-test.log", "traefik", &[]),
    (
        "traefik/integrations-test-format-common.log",
        "traefik",
        &[],
    ),
    (
        "traefik/integrations-test-format-json.log",
        "traefik-json",
        &[],
    ),
    (
        "w3c-iis/integrations-test-iis-access.noheader.log",
        "w3c",
        &[],
    ),
    (
        "w3c-iis/integrations-test-ipv6zone.noheader.log",
        "w3c",
        &[],
    ),
    (
        "w3c-iis/integrations-test-x-forward-for-extended.noheader.log",
        "w3c",
        &[],
    ),
    ("w3c-iis/lnav-logfile_w3c.0.log", "w3c", &[]),
    ("w3c-iis/lnav-logfile_w3c.1.log", "w3c", &[]),
    ("w3c-iis/lnav-logfile_w3c.3.log", "w3c", &[]),
    // Incapsula: the second record has an empty sc-status ("").
    (
        "w3c-iis/lnav-logfile_w3c.4.log",
        "w3c",
        &[("bad_status", 1)],
    ),
    ("w3c-iis/lnav-logfile_w3c.5.log", "w3c", &[]),
    ("w3c-iis/lnav-logfile_w3c.6.log", "w3c", &[]),
    ("w3c-iis/lnav-logfile_w3c_big.0.log", "w3c", &[]),
];

fn find(o: &Outcome, line: usize) -> &Seen {
    o.parsed
        .iter()
        .find(|s| s.line == line)
        .unwrap_or_else(|| panic!("line {line} was not parsed"))
}

#[test]
fn parse_rates() {
    let Some(root) = root() else { return };
    let mut report = Vec::new();
    for (file, format, allowed) in FILES {
        let data = std::fs::read(root.join(file)).unwrap();
        let o = analyse(&data);
        assert_eq!(o.format, *format, "{file}: detected format");
        let mut failed: BTreeMap<&str, usize> = o
            .skips
            .iter()
            .filter(|(k, _)| !NOT_REQUESTS.contains(k))
            .map(|(k, v)| (*k, *v))
            .collect();
        for (reason, n) in *allowed {
            let left = failed.get(reason).copied().unwrap_or(0);
            assert_eq!(left, *n, "{file}: expected {n} '{reason}' skips");
            failed.remove(reason);
        }
        let bad: usize = failed.values().sum();
        let requests = o.parsed.len() + bad;
        assert!(requests > 0, "{file}: no request lines");
        let rate = o.parsed.len() as f64 / requests as f64;
        report.push(format!(
            "{file:70} {format:14} {:>4}/{:<4} {:.1}% skips {:?}",
            o.parsed.len(),
            requests,
            rate * 100.0,
            o.skips
        ));
        assert!(
            rate >= 0.99,
            "{file}: parse rate {rate:.3}, failures {failed:?}"
        );
    }
    eprintln!("{}", report.join("\n"));
}

/// Kong's documentation samples are pretty-printed objects; a real file-log line is the
/// same object on one line.
#[test]
fn kong_doc_samples_compacted() {
    let Some(root) = root() else { return };
    for (file, consumer, status, dur_ms) in [
        (
            "kong/kong-docs-log-format-sample-2.2.json",
            Some("foo"),
            200,
            0,
        ),
        ("kong/kong-docs-log-format-sample-3.8.json", None, 200, 0),
    ] {
        let raw = std::fs::read_to_string(root.join(file)).unwrap();
        let v: serde_json::Value = serde_json::from_str(&raw).unwrap();
        let line = serde_json::to_string(&v).unwrap();
        let o = analyse(line.as_bytes());
        assert_eq!(o.format, "kong", "{file}");
        let s = find(&o, 1);
        assert_eq!(s.status, status, "{file}");
        assert_eq!(s.consumer.as_deref(), consumer, "{file}");
        let expected_ms = v["latencies"]["request"].as_u64().unwrap_or(dur_ms);
        assert_eq!(s.duration_us, Some(expected_ms * 1000), "{file}");
        assert_eq!(
            s.time,
            rfc3339(v["started_at"].as_i64().unwrap() * 1000),
            "{file}"
        );
    }
}

#[test]
fn spot_checks() {
    let Some(root) = root() else { return };
    let load = |f: &str| analyse(&std::fs::read(root.join(f)).unwrap());

    let o = load("aws-alb/beats-application-lb-http.log");
    let s = find(&o, 1);
    assert_eq!(
        (s.status, s.upstream, s.method, s.target.as_str()),
        // No target answered (`target_status_code` `-`): the load balancer did.
        (460, Some(0), Method::Get, "/")
    );
    assert_eq!(
        (s.remote.as_str(), s.time.as_str()),
        ("77.227.156.41", "2019-10-11T15:01:12.376735Z")
    );
    assert_eq!(s.duration_us, Some(5_719_735));

    let o = load("aws-alb/beats-example-alb-http.log");
    let s = find(&o, 2);
    assert_eq!(
        (s.status, s.upstream, s.duration_us),
        (200, Some(200), Some(171_000))
    );
    assert_eq!(s.host.as_deref(), Some("www.example.com"));

    let o = load("aws-alb/logstash-patterns-core-aws_spec.classic-elb.samples.log");
    let s = find(&o, 2);
    assert_eq!(
        (s.method, s.status, s.duration_us),
        (Method::Put, 408, None)
    );

    let o = load("aws-apigateway/integrations-test-apigateway-rest.log");
    let s = find(&o, 2);
    assert_eq!(
        (s.method, s.target.as_str(), s.status),
        (Method::Get, "/pets/{petId}", 200)
    );
    assert_eq!(
        (s.time.as_str(), s.request_id.as_deref()),
        (
            "2023-07-19T16:15:46Z",
            Some("caa4a500-2651-4476-aa1f-a639b858819b")
        )
    );

    let o = load("aws-cloudfront/integrations-test-cloudfront.log");
    let s = find(&o, 4);
    assert_eq!(
        (s.remote.as_str(), s.status, s.duration_us),
        ("2a02:cf40:add:4002:91f2:a9b2:e09a:6fc6", 200, Some(0))
    );
    let s = find(&o, 6);
    assert_eq!(
        (s.status, s.duration_us, s.time.as_str()),
        (502, Some(102_000), "2019-12-13T22:36:27Z")
    );

    let o = load("azure-frontdoor/integrations-test-fdaccess.log");
    let s = find(&o, 1);
    assert_eq!(
        (s.method, s.target.as_str(), s.status),
        (Method::Post, "/StockSetup/GetStockListByCir", 200)
    );
    assert_eq!(
        (s.remote.as_str(), s.duration_us, s.time.as_str()),
        (
            "89.160.20.128",
            Some(384_000),
            "2021-12-15T03:10:11.647971Z"
        )
    );

    let o = load("caddy/lnav-logfile_caddy_log.1.log");
    let s = find(&o, 1);
    assert_eq!(
        (s.method, s.status, s.remote.as_str()),
        (Method::Get, 200, "10.10.10.117")
    );
    assert_eq!(s.time, "2024-05-26T11:42:52.60148Z");

    let o = load("cloudflare/lnav-logfile_cloudflare.json");
    let s = find(&o, 1);
    assert_eq!(
        (s.method, s.status, s.upstream, s.remote.as_str()),
        (Method::Head, 301, None, "87.226.160.250")
    );
    assert_eq!(
        (s.time.as_str(), s.request_id.as_deref()),
        ("2022-10-30T00:00:02Z", Some("761fde4e984e5ab2"))
    );

    let o = load("envoy/beats-envoy.log");
    let s = find(&o, 2);
    assert_eq!(
        (s.method, s.target.as_str(), s.status, s.duration_us),
        (Method::Get, "/httpbin/ip", 200, Some(217_000))
    );
    assert_eq!(
        (s.remote.as_str(), s.time.as_str()),
        ("172.17.0.5", "2019-02-12T18:37:42.921Z")
    );

    let o = load("istio/integrations-test-access-failed.log");
    let s = find(&o, 8);
    assert_eq!(
        (s.status, s.remote.as_str(), s.duration_us),
        (0, "10.128.0.60", Some(746_000))
    );

    let o = load("istio/integrations-test-access-json-logs.log");
    let s = find(&o, 2);
    assert_eq!(
        (s.remote.as_str(), s.duration_us, s.status),
        ("2a02:cf40::4e36", Some(15_000), 200)
    );

    let o = load("gcp-lb/integrations-test-load-balancer.log");
    let s = find(&o, 1);
    assert_eq!(
        (s.status, s.remote.as_str(), s.target.as_str()),
        (304, "89.160.20.156", "/static/us/three-cats.jpg")
    );

    let o = load("haproxy/lnav-logfile_haproxy.0.log");
    let s = find(&o, 5);
    assert_eq!(
        (s.method, s.status, s.duration_us),
        (Method::Post, 200, Some(62_000))
    );
    assert_eq!(
        (s.remote.as_str(), s.time.as_str()),
        ("92.193.212.151", "2019-02-25T16:19:49.851Z")
    );

    let o = load("haproxy/logstash-patterns-core-haproxy_spec.samples.log");
    let s = find(&o, 5);
    assert_eq!(
        (s.duration_us, s.time.as_str()),
        (Some(99_627_000), "2013-12-09T12:59:46.633Z")
    );

    let o = load("traefik/integrations-test-format-common.log");
    let s = find(&o, 3);
    assert_eq!(
        (s.status, s.duration_us, s.time.as_str()),
        (200, Some(247_000), "2018-02-28T17:30:33Z")
    );
    let s = find(&o, 8);
    assert_eq!((s.status, s.remote.as_str()), (0, "::1"));

    let o = load("traefik/integrations-test-format-json.log");
    let s = find(&o, 2);
    assert_eq!(
        (s.status, s.upstream, s.duration_us),
        (200, Some(200), Some(100))
    );

    let o = load("w3c-iis/lnav-logfile_w3c_big.0.log");
    let s = find(&o, 5);
    assert_eq!(
        (s.method, s.target.as_str(), s.status, s.duration_us),
        (Method::Get, "/robots.txt", 404, Some(283_000))
    );
    assert_eq!(
        (s.remote.as_str(), s.time.as_str()),
        ("157.55.39.146", "2015-01-13T00:32:17Z")
    );

    let o = load("w3c-iis/lnav-logfile_w3c.1.log");
    let s = find(&o, 7);
    assert_eq!(
        (s.method, s.target.as_str(), s.status, s.user.as_deref()),
        (
            Method::Get,
            "/admin/images/oc_bottomleft.gif",
            200,
            Some("DMS.user")
        )
    );
}
