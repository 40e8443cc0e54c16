//! Labelled scenarios for the root-cause engine: each writes a small nginx `combined` log (with
//! and without a trailing `$request_time`), runs the library's whole analysis on it and asserts
//! the exact set of findings — cause, scope and instance (or template) — no more, no fewer.
//!
//! Scenarios are written as requests with an end time in seconds; `Scenario::log` renders them
//! the way nginx does (timestamp = request end, whole seconds, lines in completion order).

use std::collections::BTreeSet;
use std::io::Write;
use why409::analyze::{Settings, analyze};
use why409::detect::Scope;

/// 2026-03-02T09:00:00Z.
const T0: i64 = 1_772_442_000;

#[derive(Clone)]
struct Req {
    end: f64,
    client: String,
    method: &'static str,
    path: String,
    status: u16,
    duration: f64,
    user_agent: &'static str,
}

#[derive(Default, Clone)]
struct Scenario {
    reqs: Vec<Req>,
    /// The user agent of the requests added next (`scenario/1.0` when empty).
    user_agent: &'static str,
}

impl Scenario {
    fn new() -> Scenario {
        Scenario::default()
    }

    /// A request ending at `end` seconds after T0, taking 40 ms.
    fn req(
        &mut self,
        end: f64,
        client: &str,
        method: &'static str,
        path: &str,
        status: u16,
    ) -> &mut Scenario {
        self.reqs.push(Req {
            end,
            client: client.to_string(),
            method,
            path: path.to_string(),
            status,
            duration: 0.04,
            user_agent: self.user_agent,
        });
        self
    }

    /// The user agent of the requests added from now on.
    fn agent(&mut self, user_agent: &'static str) -> &mut Scenario {
        self.user_agent = user_agent;
        self
    }

    /// A request with its own duration.
    fn slow(
        &mut self,
        end: f64,
        client: &str,
        method: &'static str,
        path: &str,
        status: u16,
        duration: f64,
    ) -> &mut Scenario {
        self.reqs.push(Req {
            end,
            client: client.to_string(),
            method,
            path: path.to_string(),
            status,
            duration,
            user_agent: self.user_agent,
        });
        self
    }

    fn extend(&mut self, other: &Scenario) -> &mut Scenario {
        self.reqs.extend(other.reqs.iter().cloned());
        self
    }

    /// Busy normal traffic over `[0, span]`: reads and successful writes by many clients on
    /// many products, deterministic.
    fn background(&mut self, span: f64, requests: usize) -> &mut Scenario {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            seed >> 33
        };
        for k in 0..requests {
            let t = span * k as f64 / requests as f64;
            let client = format!("100.64.{}.{}", next() % 4, next() % 200 + 1);
            let path = format!("/api/v1/products/{}", 1000 + next() % 300);
            let (method, status) = if next().is_multiple_of(4) {
                ("PUT", 200)
            } else {
                ("GET", 200)
            };
            self.req(t, &client, method, &path, status);
        }
        self
    }

    /// The log text: nginx combined, `timed` appends `$request_time`.
    fn log(&self, timed: bool) -> String {
        let mut reqs = self.reqs.clone();
        reqs.sort_by(|a, b| a.end.total_cmp(&b.end));
        let mut out = String::new();
        for r in reqs {
            let secs = T0 + r.end.floor() as i64;
            let ts = jiff::Timestamp::from_second(secs)
                .unwrap()
                .strftime("%d/%b/%Y:%H:%M:%S +0000");
            out.push_str(&format!(
                "{} - - [{ts}] \"{} {} HTTP/1.1\" {} 120 \"-\" \"{}\"",
                r.client,
                r.method,
                r.path,
                r.status,
                if r.user_agent.is_empty() {
                    "scenario/1.0"
                } else {
                    r.user_agent
                }
            ));
            if timed {
                out.push_str(&format!(" {:.3}", r.duration));
            }
            out.push('\n');
        }
        out
    }

    /// Runs the analysis.
    fn analysis(&self, timed: bool) -> why409::analyze::Analysis {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(self.log(timed).as_bytes()).unwrap();
        analyze(&Settings {
            paths: vec![file.path().to_path_buf()],
            ..Default::default()
        })
        .unwrap()
    }

    /// Runs the analysis and returns (cause, scope, instance or template).
    fn findings(&self, timed: bool) -> BTreeSet<(String, String, String)> {
        self.analysis(timed)
            .findings
            .iter()
            .map(|f| {
                let scope = match f.scope {
                    Scope::Instance => "instance",
                    Scope::Template => "template",
                };
                (
                    f.cause.to_string(),
                    scope.to_string(),
                    f.instance.clone().unwrap_or_else(|| f.template.clone()),
                )
            })
            .collect()
    }

    /// Asserts the exact findings, with and without logged durations.
    fn expect(&self, expected: &[(&str, &str, &str)]) {
        let want: BTreeSet<(String, String, String)> = expected
            .iter()
            .map(|(c, s, k)| (c.to_string(), s.to_string(), k.to_string()))
            .collect();
        for timed in [false, true] {
            assert_eq!(
                self.findings(timed),
                want,
                "timed = {timed}\n{}",
                self.log(timed)
            );
        }
    }
}

// --- Incidents -----------------------------------------------------------------------------

/// Six POS terminals updating one stock row: each reads, then writes after someone else did.
fn hot_spot(at: f64, scale: f64) -> Scenario {
    let mut s = Scenario::new();
    let path = "/api/v1/inventory/500";
    let clients = [
        "198.51.100.11",
        "198.51.100.12",
        "198.51.100.13",
        "198.51.100.14",
        "198.51.100.15",
        "198.51.100.16",
    ];
    for round in 0..6 {
        let t = at + round as f64 * 2.0 * scale;
        for (k, c) in clients.iter().enumerate() {
            s.req(t + 0.1 * k as f64 * scale, c, "GET", path, 200);
        }
        let winner = clients[round % clients.len()];
        s.req(t + 0.7 * scale, winner, "PUT", path, 200);
        for (k, c) in clients
            .iter()
            .enumerate()
            .filter(|(_, c)| **c != winner)
            .take(3)
        {
            s.req(t + (0.9 + 0.1 * k as f64) * scale, c, "PUT", path, 409);
        }
    }
    s
}

/// A sync job that read a doc long ago keeps sending its old ETag after an editor saved it.
fn stale(at: f64) -> Scenario {
    let mut s = Scenario::new();
    let path = "/api/v1/docs/7c1e2f30-8b4d-4c7e-9a15-2d9e7b3c5f02";
    s.req(at, "198.51.100.22", "GET", path, 200);
    s.req(at + 300.0, "198.51.100.21", "GET", path, 200).req(
        at + 330.0,
        "198.51.100.21",
        "PUT",
        path,
        200,
    );
    for k in 0..5 {
        s.req(
            at + 350.0 + 45.0 * k as f64,
            "198.51.100.22",
            "PUT",
            path,
            412,
        );
    }
    s.req(at + 600.0, "198.51.100.22", "GET", path, 200).req(
        at + 603.0,
        "198.51.100.22",
        "PUT",
        path,
        200,
    );
    s
}

/// Creates that time out at the gateway and are retried into "already exists".
fn duplicate(at: f64) -> Scenario {
    let mut s = Scenario::new();
    for k in 0..3 {
        let t = at + 200.0 * k as f64;
        s.slow(t, "198.51.100.31", "POST", "/api/v1/orders", 504, 30.0);
        s.req(t + 4.0, "198.51.100.31", "POST", "/api/v1/orders", 409);
        s.req(t + 6.0, "198.51.100.31", "GET", "/api/v1/orders", 200);
    }
    s
}

/// A client hammering a stale PUT five times a second.
fn storm(at: f64, scale: f64) -> Scenario {
    let mut s = Scenario::new();
    let path = "/api/v1/orders/9310442";
    s.req(at, "198.51.100.42", "GET", path, 200).req(
        at + 1.0 * scale,
        "198.51.100.42",
        "PUT",
        path,
        200,
    );
    for k in 0..30 {
        s.req(
            at + (40.0 + 0.2 * k as f64) * scale,
            "198.51.100.41",
            "PUT",
            path,
            409,
        );
    }
    s
}

/// An export job (202) makes edits of the order conflict until it finishes.
fn in_progress(at: f64) -> Scenario {
    let mut s = Scenario::new();
    let path = "/api/v1/orders/9310577";
    s.req(
        at,
        "198.51.100.51",
        "POST",
        "/api/v1/orders/9310577/export",
        202,
    );
    for (k, c) in [
        "198.51.100.52",
        "198.51.100.53",
        "198.51.100.52",
        "198.51.100.54",
        "198.51.100.53",
        "198.51.100.52",
    ]
    .iter()
    .enumerate()
    {
        s.req(at + 2.0 + 5.0 * k as f64, c, "PUT", path, 409);
    }
    s.req(at + 34.0, "198.51.100.52", "PUT", path, 200);
    s.req(at + 36.0, "198.51.100.53", "GET", path, 200).req(
        at + 37.0,
        "198.51.100.53",
        "PATCH",
        path,
        200,
    );
    s
}

/// A bulk import accepted on a collection (202) makes edits of its items conflict until it
/// finishes, while other clients keep creating in the collection all along. The collection
/// is kept only for its triggers (it has no conflicts of its own): the import must still be
/// seen.
fn collection_job(at: f64) -> Scenario {
    let mut s = Scenario::new();
    let files = "/api/v1/projects/7/files";
    for k in 0..300 {
        let c = format!("192.0.2.{}", 100 + k % 50);
        s.req(at - 1200.0 + 8.0 * k as f64, &c, "POST", files, 201);
    }
    s.req(at, "192.0.2.10", "POST", files, 202);
    let file = format!("{files}/93");
    for (k, c) in [
        "192.0.2.11",
        "192.0.2.12",
        "192.0.2.11",
        "192.0.2.13",
        "192.0.2.12",
    ]
    .iter()
    .enumerate()
    {
        s.req(at + 3.0 + 6.0 * k as f64, c, "PUT", &file, 409);
    }
    s.req(at + 40.0, "192.0.2.11", "PUT", &file, 200);
    s
}

/// An editor keeps a document lock for 7 minutes while others get 423.
fn lock(at: f64) -> Scenario {
    let mut s = Scenario::new();
    let doc = "/api/v1/docs/b7e2d9c4-1f3a-4e6b-8c5d-9a0f1e2d3c4b";
    let lock = format!("{doc}/lock");
    s.req(at, "203.0.113.61", "POST", &lock, 200);
    for (k, c) in [
        "203.0.113.62",
        "203.0.113.63",
        "203.0.113.62",
        "203.0.113.64",
        "203.0.113.63",
    ]
    .iter()
    .enumerate()
    {
        s.req(at + 50.0 + 70.0 * k as f64, c, "PUT", doc, 423);
    }
    s.req(at + 200.0, "203.0.113.61", "PUT", doc, 200);
    s.req(at + 420.0, "203.0.113.61", "DELETE", &lock, 204);
    s.req(at + 440.0, "203.0.113.62", "PUT", doc, 200);
    // A later, short hold: the usual hold time on this document.
    s.req(at + 500.0, "203.0.113.64", "POST", &lock, 200)
        .req(at + 505.0, "203.0.113.64", "PUT", doc, 200)
        .req(at + 508.0, "203.0.113.64", "DELETE", &lock, 204);
    s
}

/// Customers cancel orders that the warehouse already shipped.
fn transition(at: f64) -> Scenario {
    let mut s = Scenario::new();
    for k in 0..5 {
        let t = at + 60.0 * k as f64;
        let order = format!("/api/v1/orders/{}", 9_400_001 + k);
        s.req(t, "203.0.113.71", "POST", &format!("{order}/ship"), 200);
        s.req(t + 20.0, "203.0.113.72", "GET", &order, 200);
        s.req(
            t + 25.0,
            "203.0.113.72",
            "POST",
            &format!("{order}/cancel"),
            409,
        );
    }
    s
}

/// From `tau` on, a third of cart PATCHes get 409, across clients and carts; volume is flat.
fn regression(span: f64, tau: f64) -> Scenario {
    let mut s = Scenario::new();
    let mut k = 0usize;
    let mut t = 0.0;
    while t < span {
        let client = format!("100.72.0.{}", k % 12 + 1);
        let path = format!("/api/v1/carts/{}", 50_000 + k % 97);
        let status = if t >= tau && k.is_multiple_of(3) {
            409
        } else {
            200
        };
        s.req(t, &client, "PATCH", &path, status);
        k += 1;
        t += span / 240.0;
    }
    s
}

/// After the server started requiring If-Match, an old mobile app's writes get 428.
fn precondition_required(at: f64) -> Scenario {
    let mut s = Scenario::new();
    for k in 0..8 {
        let client = format!("100.70.0.{}", k % 4 + 1);
        let path = format!("/api/v1/profiles/{}", 700 + k);
        s.req(at + 30.0 * k as f64, &client, "GET", &path, 200);
        s.req(at + 30.0 * k as f64 + 2.0, &client, "PATCH", &path, 428);
    }
    s
}

/// A billing job writes accounts straight to the database: a support tool reads an account
/// and writes it back a moment later, and gets 409 every time, though no request in the log
/// wrote the account. `logged_writes` adds other accounts' successful writes, so the log shows
/// that the route's writes are logged.
fn invisible(at: f64, logged_writes: bool) -> Scenario {
    let mut s = Scenario::new();
    for k in 0..6 {
        let t = at + 90.0 * k as f64;
        s.req(t, "100.72.0.4", "GET", "/api/v1/accounts/48213", 200)
            .req(t + 0.3, "100.72.0.4", "PUT", "/api/v1/accounts/48213", 409);
        if logged_writes {
            let other = format!("/api/v1/accounts/{}", 50_100 + k);
            s.req(t + 20.0, "100.72.0.8", "GET", &other, 200).req(
                t + 21.0,
                "100.72.0.8",
                "PUT",
                &other,
                200,
            );
        }
    }
    s
}

/// A report job in six replicas, scheduled at second 0 of every minute without jitter: each
/// replica reads the daily report and writes it back; one wins, the other five get 409.
fn cron_replicas(at_minute: f64, minutes: usize) -> Scenario {
    let mut s = Scenario::new();
    let path = "/api/v1/reports/2026-03-02";
    for m in 0..minutes {
        let t = at_minute + 60.0 * m as f64;
        for k in 0..6 {
            s.req(
                t + 0.05 * k as f64,
                &format!("10.9.0.{}", k + 1),
                "GET",
                path,
                200,
            );
        }
        let winner = m % 6;
        s.req(t + 0.5, &format!("10.9.0.{}", winner + 1), "PUT", path, 200);
        for k in (0..6).filter(|&k| k != winner) {
            s.req(
                t + 0.8 + 0.1 * k as f64,
                &format!("10.9.0.{}", k + 1),
                "PUT",
                path,
                409,
            );
        }
    }
    s
}

/// A partner integration that sends stale PATCHes: every other one of its 60 writes to
/// products in the hour gets 409, each on a product of its own, while the shop's own
/// clients (`background`) write the products without a conflict.
fn broken_integration(writes: usize) -> Scenario {
    let mut s = Scenario::new();
    for k in 0..writes {
        let status = if k % 2 == 0 { 409 } else { 200 };
        let path = format!("/api/v1/products/{}", 2000 + k);
        s.req(
            30.0 + 58.0 * k as f64,
            "203.0.113.77",
            "PATCH",
            &path,
            status,
        );
    }
    s
}

/// Conflicts in step with writes: one integration (`broken_integration`'s client, writing
/// eight times as often) and four smaller ones all see one write in ten conflict.
fn conflicts_in_step_with_writes() -> Scenario {
    let mut s = Scenario::new();
    let clients = [
        "203.0.113.77",
        "203.0.113.81",
        "203.0.113.82",
        "203.0.113.83",
        "203.0.113.84",
    ];
    for (c, client) in clients.iter().enumerate() {
        let writes = if c == 0 { 400 } else { 50 };
        for k in 0..writes {
            let status = if k % 10 == 0 { 409 } else { 200 };
            let path = format!("/api/v1/products/{}", 3000 + 1000 * c + k);
            let t = 3.0 + 3500.0 * k as f64 / writes as f64 + c as f64;
            s.req(t, client, "PATCH", &path, status);
        }
    }
    s
}

// --- Normal behaviour ----------------------------------------------------------------------

/// Clients that resolve a conflict: 409 → GET → successful write, each on its own order.
fn handled(at: f64) -> Scenario {
    let mut s = Scenario::new();
    for k in 0..4 {
        let t = at + 300.0 * k as f64;
        let path = format!("/api/v1/orders/{}", 4_252_877 + k);
        let (other, me) = (
            format!("100.65.0.{}", 10 + k),
            format!("100.65.1.{}", 10 + k),
        );
        s.req(t - 2.0, &me, "GET", &path, 200)
            .req(t - 1.0, &other, "PUT", &path, 200);
        s.req(t, &me, "PUT", &path, 409)
            .req(t + 0.5, &me, "GET", &path, 200)
            .req(t + 1.0, &me, "PUT", &path, 200);
    }
    s
}

/// A create-if-absent probe answered 409 once; the client moves on.
fn probe(at: f64) -> Scenario {
    let mut s = Scenario::new();
    s.req(at, "100.66.0.5", "PUT", "/api/v1/users/usr_adff553311", 409)
        .req(
            at + 1.0,
            "100.66.0.5",
            "GET",
            "/api/v1/users/usr_adff553311",
            200,
        );
    s
}

/// One double-tap on a submit button.
fn double_tap(at: f64) -> Scenario {
    let mut s = Scenario::new();
    s.req(at, "100.67.0.9", "POST", "/api/v1/payments", 201)
        .req(at + 0.4, "100.67.0.9", "POST", "/api/v1/payments", 409);
    s
}

/// Busy keys: 2,000 successful writes from 5 clients on 4 keys, 2 conflicts (0.1 %).
fn busy_keys(span: f64) -> Scenario {
    let mut s = Scenario::new();
    for k in 0..2000 {
        let t = span * k as f64 / 2000.0;
        let path = format!("/api/v1/counters/{}", k % 4);
        let client = format!("100.68.0.{}", k % 5 + 1);
        let status = if k == 700 || k == 1500 { 409 } else { 200 };
        s.req(t, &client, "PUT", &path, status);
    }
    s
}

/// A lock taken and released promptly, with one waiter.
fn prompt_lock(at: f64) -> Scenario {
    let mut s = Scenario::new();
    s.req(at, "100.69.0.1", "LOCK", "/dav/reports/q1.xlsx", 200);
    s.req(at + 1.0, "100.69.0.2", "PUT", "/dav/reports/q1.xlsx", 423);
    s.req(
        at + 2.0,
        "100.69.0.1",
        "UNLOCK",
        "/dav/reports/q1.xlsx",
        204,
    );
    s.req(at + 3.0, "100.69.0.2", "PUT", "/dav/reports/q1.xlsx", 201);
    s
}

/// An ingress controller whose declared configuration conflicts: every 30 s it reads the
/// upstreams and re-sends the same PUT, answered 409, for `cycles` cycles.
fn sync_loop(at: f64, cycles: usize, user_agent: &'static str) -> Scenario {
    let mut s = Scenario::new();
    s.agent(user_agent);
    for k in 0..cycles {
        let t = at + 30.0 * k as f64;
        s.req(t, "10.1.0.5", "GET", "/upstreams", 200);
        s.req(t + 0.5, "10.1.0.5", "PUT", "/upstreams/billing", 409);
    }
    s
}

/// A merge bot retrying a merge that cannot succeed, every few minutes for 41 minutes,
/// reading the pull request each time.
fn merge_bot(at: f64) -> Scenario {
    let mut s = Scenario::new();
    s.agent("merge-bot/3.1");
    for m in [0.0, 6.0, 9.0, 15.0, 23.0, 25.0, 36.0, 41.0] {
        let t = at + m * 60.0;
        s.req(t, "203.0.113.80", "GET", "/repos/acme/shop/pulls/5466", 200);
        s.req(
            t + 1.0,
            "203.0.113.80",
            "PUT",
            "/repos/acme/shop/pulls/5466/merge",
            409,
        );
    }
    s
}

/// `terraform apply` changing six routes of one API at once, four answered 409; the
/// retries a few seconds later succeed.
fn terraform(at: f64, user_agent: &'static str) -> Scenario {
    let mut s = Scenario::new();
    s.agent(user_agent);
    for j in 0..6 {
        let path = format!("/v1/apis/1041/routes/{}", 31 + j);
        s.slow(
            at + 0.2 * j as f64,
            "10.2.0.9",
            "PUT",
            &path,
            if j < 4 { 409 } else { 200 },
            1.5,
        );
        if j < 4 {
            s.req(at + 8.0 + j as f64, "10.2.0.9", "PUT", &path, 200);
        }
    }
    s
}

const TERRAFORM: &str = "Terraform/1.6.2 (+https://www.terraform.io) terraform-provider-aws/5.31.0";

fn hour() -> Scenario {
    let mut s = Scenario::new();
    s.background(3600.0, 3000);
    s
}

// --- Single causes -------------------------------------------------------------------------

#[test]
fn hot_spot_edit_alone() {
    hour().extend(&hot_spot(600.0, 1.0)).expect(&[(
        "hot_spot_edit",
        "instance",
        "/api/v1/inventory/500",
    )]);
}

#[test]
fn stale_version_alone() {
    hour().extend(&stale(300.0)).expect(&[(
        "stale_version",
        "instance",
        "/api/v1/docs/7c1e2f30-8b4d-4c7e-9a15-2d9e7b3c5f02",
    )]);
}

#[test]
fn duplicate_create_alone() {
    hour()
        .extend(&duplicate(1000.0))
        .expect(&[("duplicate_create", "instance", "/api/v1/orders")]);
}

#[test]
fn retry_storm_alone() {
    hour().extend(&storm(1400.0, 1.0)).expect(&[(
        "retry_storm",
        "instance",
        "/api/v1/orders/9310442",
    )]);
}

/// root-causes D2's controller case: kube-controller-manager re-sends a Job's status update
/// 60 times in 2 s; four of them succeed and its next update conflicts with that success.
#[test]
fn controller_hot_loop_is_tagged() {
    let path = "/apis/batch/v1/namespaces/ci/jobs/build-7/status";
    let mut s = hour();
    s.agent("kube-controller-manager/v1.29.0 (linux/amd64) kubernetes/3f7a50f/system:serviceaccount:kube-system:job-controller");
    for k in 0..60 {
        let status = if k % 15 == 0 { 200 } else { 409 };
        s.req(1400.0 + k as f64 / 30.0, "10.0.0.10", "PUT", path, status);
    }
    s.expect(&[("retry_storm", "instance", path)]);
    for timed in [false, true] {
        let a = s.analysis(timed);
        let f = &a.findings[0];
        assert_eq!(f.claims.len(), 56);
        assert!(
            f.summary.contains("It conflicts with itself: 4 times its own successful write was followed within 2s by its own conflict"),
            "{}",
            f.summary
        );
        assert!(
            f.summary
                .contains("The client is kube-controller-manager, a Kubernetes controller"),
            "{}",
            f.summary
        );
        assert!(
            f.advice
                .starts_with("Requeue conflicts through the controller's rate-limited work queue")
        );
    }
}

#[test]
fn in_progress_conflict_alone() {
    hour().extend(&in_progress(1800.0)).expect(&[(
        "in_progress_conflict",
        "instance",
        "/api/v1/orders/9310577",
    )]);
}

#[test]
fn in_progress_conflict_from_a_collection_job() {
    hour().extend(&collection_job(1800.0)).expect(&[(
        "in_progress_conflict",
        "instance",
        "/api/v1/projects/7/files/93",
    )]);
}

#[test]
fn lock_contention_alone() {
    hour().extend(&lock(2200.0)).expect(&[(
        "lock_contention",
        "instance",
        "/api/v1/docs/b7e2d9c4-1f3a-4e6b-8c5d-9a0f1e2d3c4b",
    )]);
}

#[test]
fn state_transition_alone() {
    hour().extend(&transition(2500.0)).expect(&[(
        "state_transition",
        "template",
        "/api/v1/orders/{id}/cancel",
    )]);
}

#[test]
fn deploy_regression_alone() {
    hour().extend(&regression(3600.0, 2100.0)).expect(&[(
        "deploy_regression",
        "template",
        "/api/v1/carts/{id}",
    )]);
}

#[test]
fn missing_precondition_alone() {
    hour().extend(&precondition_required(2000.0)).expect(&[(
        "missing_precondition",
        "template",
        "/api/v1/profiles/{id}",
    )]);
}

#[test]
fn invisible_writer_alone() {
    hour().extend(&invisible(1000.0, true)).expect(&[(
        "invisible_writer",
        "instance",
        "/api/v1/accounts/48213",
    )]);
}

#[test]
fn scheduled_jobs_are_noted_on_their_finding() {
    let mut s = hour();
    s.extend(&cron_replicas(1200.0, 8));
    s.expect(&[("hot_spot_edit", "instance", "/api/v1/reports/2026-03-02")]);
    // Each run is one episode; the eight make one finding, which says so.
    for timed in [false, true] {
        let a = s.analysis(timed);
        assert_eq!(a.findings.len(), 1);
        let f = &a.findings[0];
        let at = f.schedule.expect("aligned to the minute");
        assert_eq!((at.boundary, at.share, f.conflicts()), ("minute", 1.0, 40));
        assert!(
            f.summary.contains(" It happened 8 times in all, from 09:"),
            "{}",
            f.summary
        );
        assert!(
            f.summary.ends_with(
                " (40 conflicts); the first is described. 100% of these 40 conflicts started in the first 5 seconds of a minute (10% expected by chance)."
            ),
            "{}",
            f.summary
        );
        assert!(f.advice.contains("add random jitter"), "{}", f.advice);
        // The quoted lines show the first run and the last.
        let minute = |r: &why409::detect::EventRef| {
            (a.timelines.events[r.instance as usize][r.index].end / 1_000_000 - T0) / 60
        };
        let shown: Vec<i64> = f.evidence.iter().take(5).map(minute).collect();
        assert_eq!((shown[0], shown.last()), (20, Some(&27)), "{shown:?}");
    }
    // The same job at staggered seconds (jitter) is the same race, without the note.
    let mut jittered = hour();
    for (k, r) in cron_replicas(1200.0, 8).reqs.chunks(12).enumerate() {
        let mut round = Scenario::new();
        for q in r {
            round.req(
                q.end + 7.0 * k as f64,
                &q.client,
                q.method,
                &q.path,
                q.status,
            );
        }
        jittered.extend(&round);
    }
    let a = jittered.analysis(false);
    assert_eq!(a.findings.len(), 1);
    assert_eq!(
        (a.findings[0].cause, a.findings[0].conflicts()),
        ("hot_spot_edit", 40)
    );
    assert!(
        a.findings[0].schedule.is_none(),
        "{}",
        a.findings[0].summary
    );
}

/// nginx JSON lines with `$upstream_status`: (seconds after T0, client, method, path, status,
/// upstream status as logged).
fn nginx_json(reqs: &[(f64, &str, &str, String, u16, &str)]) -> String {
    let mut out = String::new();
    for (t, client, method, path, status, upstream) in reqs {
        let ts = jiff::Timestamp::from_second(T0 + t.floor() as i64)
            .unwrap()
            .strftime("%d/%b/%Y:%H:%M:%S +0000");
        out.push_str(&format!(
            r#"{{"time_local":"{ts}","remote_addr":"{client}","request":"{method} {path} HTTP/1.1","status":{status},"request_time":0.012,"upstream_status":"{upstream}","http_user_agent":"shop/2.1"}}"#
        ));
        out.push('\n');
    }
    out
}

fn causes_of(log: &str) -> BTreeSet<(String, String)> {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(log.as_bytes()).unwrap();
    let a = analyze(&Settings {
        paths: vec![file.path().to_path_buf()],
        ..Default::default()
    })
    .unwrap();
    a.findings
        .iter()
        .map(|f| {
            let on = f.instance.clone().unwrap_or_else(|| f.template.clone());
            (f.cause.to_string(), on)
        })
        .collect()
}

/// A gateway plugin answers 409 to a payment's second submission while the first is in
/// flight (`upstream_status` `-`: nginx never passed it on), among ordinary traffic the
/// service answers. When the service itself answers the same 409s, the gateway is not named.
#[test]
fn conflicts_the_gateway_answered_itself() {
    let mut reqs = Vec::new();
    for k in 0..40 {
        let path = format!("/api/v1/carts/{}", 100 + k % 7);
        reqs.push((30.0 * k as f64, "100.73.0.9", "GET", path, 200, "200"));
    }
    let with = |upstream: &'static str| {
        let mut v = reqs.clone();
        for k in 0..6 {
            let path = format!("/api/v1/payments/{}", 5000 + k);
            let t = 100.0 + 120.0 * k as f64;
            v.push((t, "100.73.1.1", "PUT", path.clone(), 201, "201"));
            v.push((t + 0.2, "100.73.1.1", "PUT", path, 409, upstream));
        }
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        nginx_json(&v)
    };
    let gateway: BTreeSet<(String, String)> = [(
        "gateway_generated".to_string(),
        "/api/v1/payments/{id}".to_string(),
    )]
    .into();
    assert_eq!(causes_of(&with("-")), gateway);
    assert!(
        !causes_of(&with("409"))
            .iter()
            .any(|(cause, _)| cause == "gateway_generated")
    );
}

/// A shop backend whose HTTP client times out after 5 s retries three payments with the
/// same Idempotency-Key while the first request (12 s) is still running, and the payment
/// service answers 409; other clients' payments, each with a key of its own, succeed, and a
/// double-tap without a key gets one 409. The key is logged by an nginx `log_format` with
/// `$http_idempotency_key`.
#[test]
fn retries_with_the_key_of_a_running_request() {
    const FORMAT: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time "$http_idempotency_key""#;
    let mut lines: Vec<(f64, String)> = Vec::new();
    let mut line = |end: f64, client: &str, path: &str, status: u16, rt: f64, key: &str| {
        let ts = jiff::Timestamp::from_second(T0 + end.floor() as i64)
            .unwrap()
            .strftime("%d/%b/%Y:%H:%M:%S +0000");
        lines.push((
            end,
            format!(r#"{client} - - [{ts}] "POST {path} HTTP/1.1" {status} 310 "-" "shop/2.1" {rt:.3} "{key}""#),
        ));
    };
    for k in 0..30 {
        let key = format!("9c1e6a52-0b7d-4f1e-8a3c-{k:012}");
        line(
            20.0 * k as f64 + 1.0,
            &format!("100.74.0.{}", k % 9 + 1),
            "/api/v1/payments",
            201,
            0.3,
            &key,
        );
    }
    for k in 0..3 {
        let key = format!("5d0f3b9e-7a61-4c2d-9e84-{k:012}");
        let t = 100.0 + 200.0 * k as f64;
        line(
            t + 12.0,
            "203.0.113.50",
            "/api/v1/payments",
            201,
            12.004,
            &key,
        );
        line(
            t + 5.0,
            "203.0.113.50",
            "/api/v1/payments",
            409,
            0.002,
            &key,
        );
    }
    line(700.0, "100.74.1.1", "/api/v1/payments", 201, 0.2, "-");
    line(700.4, "100.74.1.1", "/api/v1/payments", 409, 0.01, "-");
    lines.sort_by(|a, b| a.0.total_cmp(&b.0));
    let text: String = lines.iter().map(|(_, l)| format!("{l}\n")).collect();
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    let a = analyze(&Settings {
        paths: vec![file.path().to_path_buf()],
        log_format: Some(FORMAT.to_string()),
        ..Default::default()
    })
    .unwrap();
    let found: Vec<(&str, &str, u64)> = (a.findings.iter())
        .map(|f| (f.cause, f.template.as_str(), f.conflicts()))
        .collect();
    assert_eq!(
        found,
        [("idempotency_conflict", "/api/v1/payments", 3)],
        "{text}"
    );
    let f = &a.findings[0];
    assert_eq!(a.timelines.client(f.clients[0]), "203.0.113.50");
    assert_eq!(f.clients.len(), 1);
    assert!((f.confidence - 0.85).abs() < 1e-9);
    assert!(f.summary.starts_with("3 requests on /api/v1/payments (1 client) reused an Idempotency-Key while the first request with that key was still running, and got 409. The retries came a median 5s after the original, which took a median 12s"), "{}", f.summary);
}

/// The same in a Caddy log, which logs every request header: the key is read from
/// `request.headers`, with no option given.
#[test]
fn caddy_logs_the_key_with_the_headers() {
    let rec = |end: f64, ip: &str, status: u16, duration: f64, key: &str| {
        serde_json::json!({
            "level": "info", "ts": T0 as f64 + end, "logger": "http.log.access.log0",
            "msg": "handled request",
            "request": {
                "remote_ip": ip, "client_ip": ip, "proto": "HTTP/1.1", "method": "POST",
                "host": "api.example.com", "uri": "/api/v1/payments",
                "headers": {"User-Agent": ["shop/2.1"], "Idempotency-Key": [key]}
            },
            "duration": duration, "size": 310, "status": status
        })
    };
    let mut lines: Vec<(f64, String)> = Vec::new();
    for k in 0..20 {
        let ip = format!("100.74.0.{}", k % 9 + 1);
        let end = 20.0 * k as f64 + 1.0;
        lines.push((end, rec(end, &ip, 201, 0.3, &format!("ok-{k}")).to_string()));
    }
    for k in 0..3 {
        let (t, key) = (100.0 + 200.0 * k as f64, format!("retry-{k}"));
        lines.push((
            t + 12.004,
            rec(t + 12.004, "203.0.113.50", 201, 12.004, &key).to_string(),
        ));
        lines.push((
            t + 5.0,
            rec(t + 5.0, "203.0.113.50", 409, 0.002, &key).to_string(),
        ));
    }
    lines.sort_by(|a, b| a.0.total_cmp(&b.0));
    let text: String = lines.iter().map(|(_, l)| format!("{l}\n")).collect();
    let causes = causes_of(&text);
    let want: BTreeSet<(String, String)> = [(
        "idempotency_conflict".to_string(),
        "/api/v1/payments".to_string(),
    )]
    .into();
    assert_eq!(causes, want);
}

/// The same in a JSON log whose keys no built-in format knows, read by a `--field` map: the
/// key is found where the map says (`idempotency_key=call.idem`); without that entry it is
/// not, and the retries read as duplicate creates.
#[test]
fn a_field_map_says_where_the_key_is_logged() {
    let rec = |end: f64, ip: &str, status: u16, took: f64, key: &str| {
        let at = jiff::Timestamp::from_second(T0 + end.floor() as i64).unwrap();
        serde_json::json!({
            "at": at.to_string(), "caller": {"ip": ip},
            "call": {"verb": "POST", "path": "/api/v1/payments", "idem": key},
            "code": status, "took_ms": took * 1000.0
        })
        .to_string()
    };
    let mut lines: Vec<(f64, String)> = Vec::new();
    for k in 0..20 {
        let ip = format!("100.74.0.{}", k % 9 + 1);
        let end = 20.0 * k as f64 + 1.0;
        lines.push((end, rec(end, &ip, 201, 0.3, &format!("ok-{k}"))));
    }
    for k in 0..3 {
        let (t, key) = (100.0 + 200.0 * k as f64, format!("retry-{k}"));
        lines.push((t + 12.0, rec(t + 12.0, "203.0.113.50", 201, 12.004, &key)));
        lines.push((t + 5.0, rec(t + 5.0, "203.0.113.50", 409, 0.002, &key)));
    }
    lines.sort_by(|a, b| a.0.total_cmp(&b.0));
    let text: String = lines.iter().map(|(_, l)| format!("{l}\n")).collect();
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    const MAP: &str =
        "time=at,client=caller.ip,method=call.verb,path=call.path,status=code,duration_ms=took_ms";
    let causes = |map: String| -> Vec<(&'static str, String, u64)> {
        let a = analyze(&Settings {
            paths: vec![file.path().to_path_buf()],
            field_map: Some(map),
            ..Default::default()
        })
        .unwrap();
        (a.findings.iter())
            .map(|f| (f.cause, f.template.clone(), f.conflicts()))
            .collect()
    };
    let payments = "/api/v1/payments".to_string();
    assert_eq!(
        causes(format!("{MAP},idempotency_key=call.idem")),
        [("idempotency_conflict", payments.clone(), 3)],
        "{text}"
    );
    assert_eq!(
        causes(format!("{MAP},header:Idempotency_Key=call.idem")),
        [("idempotency_conflict", payments.clone(), 3)]
    );
    assert_eq!(causes(MAP.to_string()), [("duplicate_create", payments, 3)]);
}

// --- Normal behaviour is not a finding ----------------------------------------------------

#[test]
fn client_concentration_alone() {
    let mut s = hour();
    s.extend(&broken_integration(60)).expect(&[(
        "client_concentration",
        "template",
        "/api/v1/products/{id}",
    )]);
    let a = s.analysis(false);
    let f = &a.findings[0];
    assert_eq!(
        (
            f.conflicts(),
            f.clients.len(),
            a.timelines.client(f.clients[0])
        ),
        (30, 1, "203.0.113.77")
    );
    // 754 writes by the shop's clients: reproducible with grep on the log.
    assert_eq!(
        f.summary,
        "203.0.113.77's writes on /api/v1/products/{id} conflicted 50% of the time (30 of 60), against 0.0% for the other clients; it made 100% of the route's conflicts with 7.4% of its writes."
    );
}

#[test]
fn a_client_whose_conflicts_follow_its_writes_is_not_concentration() {
    hour().extend(&conflicts_in_step_with_writes()).expect(&[]);
}

#[test]
fn conflicts_on_a_route_whose_writes_are_not_logged_are_not_called_invisible() {
    hour().extend(&invisible(1000.0, false)).expect(&[]);
}

#[test]
fn a_configuration_sync_loop_alone() {
    hour()
        .extend(&sync_loop(600.0, 12, "kong-ingress-controller/2.9.3"))
        .expect(&[("control_plane_conflict", "instance", "/upstreams/billing")]);
}

#[test]
fn the_same_loop_from_another_client_is_a_permanent_retry_once_it_lasts() {
    // Six minutes of it: not yet a finding of any kind.
    hour()
        .extend(&sync_loop(600.0, 12, "python-requests/2.31"))
        .expect(&[]);
    // Twenty minutes: a request that never succeeds, re-sent on a cadence.
    hour()
        .extend(&sync_loop(600.0, 40, "python-requests/2.31"))
        .expect(&[("permanent_retry", "instance", "/upstreams/billing")]);
}

#[test]
fn permanent_retry_alone() {
    hour().extend(&merge_bot(300.0)).expect(&[(
        "permanent_retry",
        "instance",
        "/repos/acme/shop/pulls/5466/merge",
    )]);
}

#[test]
fn infrastructure_as_code_changing_siblings_at_once() {
    hour().extend(&terraform(1500.0, TERRAFORM)).expect(&[(
        "control_plane_conflict",
        "template",
        "/v1/apis/{id}/routes/{id}",
    )]);
    // The same requests from a console: four single conflicts that were retried and
    // succeeded, which is handled behaviour.
    hour().extend(&terraform(1500.0, "console/1.0")).expect(&[]);
}

#[test]
fn handled_conflicts_are_not_findings() {
    hour().extend(&handled(300.0)).expect(&[]);
}

#[test]
fn a_create_if_absent_probe_is_not_a_finding() {
    hour().extend(&probe(900.0)).expect(&[]);
}

#[test]
fn a_single_double_tap_is_not_a_finding() {
    hour().extend(&double_tap(1200.0)).expect(&[]);
}

#[test]
fn rare_conflicts_on_busy_keys_are_not_findings() {
    hour().extend(&busy_keys(3600.0)).expect(&[]);
}

#[test]
fn a_promptly_released_lock_is_not_a_finding() {
    hour().extend(&prompt_lock(1500.0)).expect(&[]);
}

#[test]
fn constant_conflict_ratio_is_not_a_regression() {
    // The same cart traffic with 409s from the start: nothing changed at any point.
    hour().extend(&regression(3600.0, 0.0)).expect(&[]);
}

// --- Mixed logs ------------------------------------------------------------------------------

#[test]
fn every_cause_at_once_among_busy_normal_traffic() {
    let mut s = hour();
    s.extend(&hot_spot(200.0, 1.0))
        .extend(&stale(300.0))
        .extend(&duplicate(1000.0))
        .extend(&storm(1400.0, 1.0))
        .extend(&in_progress(1800.0))
        .extend(&lock(2200.0))
        .extend(&transition(2500.0))
        .extend(&regression(3600.0, 2100.0))
        .extend(&invisible(2000.0, true))
        .extend(&handled(500.0))
        .extend(&probe(900.0))
        .extend(&double_tap(1200.0))
        .extend(&busy_keys(3600.0))
        .extend(&prompt_lock(1500.0))
        .extend(&broken_integration(60))
        .extend(&sync_loop(2700.0, 12, "decK/v1.30.0"))
        .extend(&merge_bot(60.0))
        .extend(&terraform(3000.0, TERRAFORM));
    s.expect(&[
        ("client_concentration", "template", "/api/v1/products/{id}"),
        ("control_plane_conflict", "instance", "/upstreams/billing"),
        (
            "control_plane_conflict",
            "template",
            "/v1/apis/{id}/routes/{id}",
        ),
        (
            "permanent_retry",
            "instance",
            "/repos/acme/shop/pulls/5466/merge",
        ),
        ("deploy_regression", "template", "/api/v1/carts/{id}"),
        ("duplicate_create", "instance", "/api/v1/orders"),
        ("hot_spot_edit", "instance", "/api/v1/inventory/500"),
        ("in_progress_conflict", "instance", "/api/v1/orders/9310577"),
        ("invisible_writer", "instance", "/api/v1/accounts/48213"),
        (
            "lock_contention",
            "instance",
            "/api/v1/docs/b7e2d9c4-1f3a-4e6b-8c5d-9a0f1e2d3c4b",
        ),
        ("retry_storm", "instance", "/api/v1/orders/9310442"),
        (
            "stale_version",
            "instance",
            "/api/v1/docs/7c1e2f30-8b4d-4c7e-9a15-2d9e7b3c5f02",
        ),
        ("state_transition", "template", "/api/v1/orders/{id}/cancel"),
    ]);
    // None of them is a schedule's.
    for f in s.analysis(true).findings {
        assert!(f.schedule.is_none(), "{} {}", f.cause, f.summary);
    }
}

// --- Scale-free defaults ------------------------------------------------------------------

#[test]
fn a_three_second_hot_spot_in_a_one_minute_log() {
    let mut s = Scenario::new();
    s.background(60.0, 300);
    s.extend(&hot_spot(20.0, 0.25));
    s.expect(&[("hot_spot_edit", "instance", "/api/v1/inventory/500")]);
}

#[test]
fn a_two_hour_hot_spot_in_a_week_of_logs() {
    let mut s = Scenario::new();
    s.background(7.0 * 86_400.0, 6000);
    // Rounds every 20 minutes: the incident spans two hours.
    s.extend(&hot_spot(3.0 * 86_400.0, 600.0));
    s.expect(&[("hot_spot_edit", "instance", "/api/v1/inventory/500")]);
}

#[test]
fn retry_storms_at_both_scales() {
    let mut short = Scenario::new();
    short.background(60.0, 300).extend(&storm(5.0, 0.1));
    short.expect(&[("retry_storm", "instance", "/api/v1/orders/9310442")]);
    let mut long = Scenario::new();
    long.background(7.0 * 86_400.0, 6000)
        .extend(&storm(86_400.0, 200.0));
    long.expect(&[("retry_storm", "instance", "/api/v1/orders/9310442")]);
}

#[test]
fn thresholds_change_the_outcome() {
    // Raising the storm minimum above the 30 attempts turns the storm into a stale version
    // (the same client, no re-read, another client's write before).
    let mut s = hour();
    s.extend(&storm(1400.0, 1.0));
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(s.log(false).as_bytes()).unwrap();
    let mut settings = Settings {
        paths: vec![file.path().to_path_buf()],
        ..Default::default()
    };
    settings
        .thresholds
        .set("retry_storm_min_attempts=31")
        .unwrap();
    let a = analyze(&settings).unwrap();
    let causes: Vec<&str> = a.findings.iter().map(|f| f.cause).collect();
    assert_eq!(causes, vec!["stale_version"]);
}

// --- The demo log ----------------------------------------------------------------------------

#[test]
fn demo_log_yields_each_seeded_incident_and_nothing_else() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo/access.log");
    if !path.exists() {
        eprintln!("fixtures/demo/access.log not present; skipping");
        return;
    }
    let a = analyze(&Settings {
        paths: vec![path],
        ..Default::default()
    })
    .unwrap();
    let got: BTreeSet<(String, String)> = a
        .findings
        .iter()
        .map(|f| {
            (
                f.cause.to_string(),
                f.instance.clone().unwrap_or_else(|| f.template.clone()),
            )
        })
        .collect();
    let want: BTreeSet<(String, String)> = [
        ("hot_spot_edit", "/api/v1/inventory/94017"),
        (
            "stale_version",
            "/api/v1/docs/3f6c1a2e-8b4d-4c7e-9a15-2d9e7b3c5f01",
        ),
        ("duplicate_create", "/api/v1/orders"),
        ("retry_storm", "/api/v1/orders/9310442"),
        ("in_progress_conflict", "/api/v1/orders/9310577"),
        (
            "lock_contention",
            "/api/v1/docs/b7e2d9c4-1f3a-4e6b-8c5d-9a0f1e2d3c4b",
        ),
        ("state_transition", "/api/v1/orders/{id}/cancel"),
        ("deploy_regression", "/api/v1/carts/{id}"),
    ]
    .iter()
    .map(|(c, k)| (c.to_string(), k.to_string()))
    .collect();
    assert_eq!(got, want);
    let conflicts = |cause: &str| {
        a.findings
            .iter()
            .find(|f| f.cause == cause)
            .map(|f| f.conflicts())
    };
    assert_eq!(conflicts("hot_spot_edit"), Some(34));
    assert_eq!(conflicts("stale_version"), Some(7));
    assert_eq!(conflicts("duplicate_create"), Some(5));
    assert_eq!(conflicts("retry_storm"), Some(40));
    assert_eq!(conflicts("in_progress_conflict"), Some(12));
    assert_eq!(conflicts("lock_contention"), Some(11));
    assert_eq!(conflicts("state_transition"), Some(31));
    assert_eq!(conflicts("deploy_regression"), Some(47));
}
