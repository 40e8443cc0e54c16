//! genlog — deterministic synthetic API-gateway access-log generator for `why409`.
//!
//! It writes the access log of a REST API behind nginx (`combined`, an "extended"
//! combined with `$request_time "$request_id" "$http_x_api_key"`, or nginx
//! `escape=json`): realistic background traffic (~25 routes, Zipf-popular clients,
//! IPv4/IPv6, real user agents, 2xx/3xx/4xx/5xx/499 mix), benign handled conflicts
//! at `--conflict-rate` (409/412/428/423 → GET → 2xx by the same client, plus lone
//! create-if-absent 409s) and, unless `--no-incidents`, one seeded incident for each
//! why409 root cause: hot_spot_edit, stale_version, duplicate_create, retry_storm,
//! in_progress_conflict, lock_contention, state_transition, deploy_regression,
//! client_concentration, (`--format json` only: the other formats do not log the
//! Idempotency-Key header) idempotency_conflict, control_plane_conflict (an ingress
//! controller's configuration sync failing on the same PUT every 30 s) and permanent_retry
//! (a merge bot re-sending a merge that cannot succeed every few minutes). The demo log
//! (`--demo`, a bundled fixture) has the first eight only.
//! Incident clients use their own addresses (TEST-NET 198.51.100.0/24, 203.0.113.0/24),
//! user agents and API keys, so each incident is recognisable in the output. The last four
//! incidents each draw from a random stream of their own, so they leave the background and
//! the other incidents as they were (only the lines they add, and the request ids after
//! them, differ).
//!
//! The same arguments always give byte-identical output (seeded splitmix64 PRNG;
//! only std is used). It is used for benchmarks (`--size 1GiB`) and for the demo
//! fixture (`--demo`, see fixtures/demo/README.md).
//!
//! Run:
//!   cargo run --release --example genlog -- --help
//!   cargo run --release --example genlog -- --size 1GiB -o /tmp/1g.log
//!   cargo run --release --example genlog -- --demo -o fixtures/demo/access.log
//! Without cargo: `rustc -O --edition 2021 benches/genlog.rs -o /tmp/genlog`.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashSet};
use std::io::{self, BufWriter, Write};
use std::time::Instant;

const HELP: &str = "\
genlog - deterministic synthetic access-log generator for why409 benchmarks and fixtures

USAGE:
    cargo run --release --example genlog -- [OPTIONS]

OPTIONS:
    --format combined|extended|json   log format (default: combined)
                                        combined: nginx combined
                                        extended: combined + $request_time \"$request_id\" \"$http_x_api_key\"
                                        json:     nginx escape=json object per line; lines whose
                                                  request sent an Idempotency-Key end with
                                                  \"http_idempotency_key\":\"…\" (the others leave
                                                  the member out, where nginx would log \"\")
    --size SIZE          stop before the output would exceed SIZE bytes (default 1GiB unless
                         --lines is given). Units: B, KB/MB/GB (10^3), K/M/G, KiB/MiB/GiB (2^10)
    --lines N            stop after N lines
    --conflict-rate F    fraction of background lines that are benign 409-family conflicts
                         (default 0.005)
    --clients N          background clients, Zipf-popular (default 4000; a public API has
                         hundreds of thousands)
    --seed N             PRNG seed (default 42)
    --start TIME         first timestamp, RFC 3339 UTC (default 2026-03-02T09:00:00Z)
    --rate R             background requests per second (default: so that the log spans ~1 day)
    --incidents          seed one incident per root cause (default): hot_spot_edit,
                         stale_version, duplicate_create, retry_storm, in_progress_conflict,
                         lock_contention, state_transition, deploy_regression,
                         client_concentration (one ERP connector, 198.51.100.81, whose PATCHes
                         to /api/v1/orders/{id} get 412 three times in four, one order each,
                         spread over the log) and idempotency_conflict (a payments client,
                         198.51.100.91, retries POST /api/v1/payments with the same
                         Idempotency-Key while the original still runs and gets 409),
                         control_plane_conflict (an ingress controller, 198.51.100.101,
                         user agent kong-ingress-controller/2.9.3, reads GET /upstreams and
                         re-sends PUT /upstreams/billing-v2 every 30 s for 40 min, 409 every
                         time) and permanent_retry (a merge bot, 198.51.100.111, user agent
                         merge-bot/3.1, re-sends PUT /api/v1/docs/{uuid}/merge 13 times in
                         ~72 min at irregular gaps of 1-11 min, reading the doc before each,
                         409 every time; nobody else writes that doc).
                         idempotency_conflict is written with --format json only: combined and
                         extended do not log the header (the manifest says so)
    --no-incidents       background traffic only
    --demo               the ~4,000-line, 1-hour demo log with the first 8 incidents (not
                         client_concentration / idempotency_conflict / control_plane_conflict /
                         permanent_retry: the bundled fixture stays as it is; ignores
                         --size/--lines/--rate/--conflict-rate)
    --manifest FILE      write a Markdown table of the seeded incidents (what was written)
    -o, --output FILE    output file (default: stdout)
    -h, --help           this help

A one-line summary (lines, bytes, conflicts by status, throughput) goes to stderr.
The same arguments always produce byte-identical output.
";

// ---------------------------------------------------------------- PRNG

#[inline]
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// splitmix64
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(mix64(seed ^ 0x5DEE_CE66_D1CE_4E5B))
    }
    #[inline]
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.0)
    }
    /// uniform in 0..n
    #[inline]
    fn below(&mut self, n: u64) -> u64 {
        ((self.next() as u128 * n as u128) >> 64) as u64
    }
    /// uniform in lo..=hi
    #[inline]
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
    #[inline]
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    #[inline]
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

// ---------------------------------------------------------------- time

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

const MON: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

#[inline]
fn d2(out: &mut [u8], at: usize, v: i64) {
    out[at] = b'0' + (v / 10) as u8;
    out[at + 1] = b'0' + (v % 10) as u8;
}

struct Civil {
    y: i64,
    mo: i64,
    d: i64,
    h: i64,
    mi: i64,
    s: i64,
}

fn civil(sec: i64, off_min: i32) -> Civil {
    let local = sec + off_min as i64 * 60;
    let (y, mo, d) = civil_from_days(local.div_euclid(86_400));
    let sod = local.rem_euclid(86_400);
    Civil {
        y,
        mo,
        d,
        h: sod / 3600,
        mi: sod / 60 % 60,
        s: sod % 60,
    }
}

/// `02/Mar/2026:09:00:00 +0000`
fn fmt_clf(sec: i64, off_min: i32, out: &mut [u8; 26]) {
    let c = civil(sec, off_min);
    d2(out, 0, c.d);
    out[2] = b'/';
    out[3..6].copy_from_slice(MON[(c.mo - 1) as usize]);
    out[6] = b'/';
    d2(out, 7, c.y / 100);
    d2(out, 9, c.y % 100);
    out[11] = b':';
    d2(out, 12, c.h);
    out[14] = b':';
    d2(out, 15, c.mi);
    out[17] = b':';
    d2(out, 18, c.s);
    out[20] = b' ';
    out[21] = if off_min < 0 { b'-' } else { b'+' };
    let a = off_min.unsigned_abs() as i64;
    d2(out, 22, a / 60);
    d2(out, 24, a % 60);
}

/// `2026-03-02T09:00:00+00:00` (nginx $time_iso8601)
fn fmt_iso(sec: i64, off_min: i32, out: &mut [u8; 25]) {
    let c = civil(sec, off_min);
    d2(out, 0, c.y / 100);
    d2(out, 2, c.y % 100);
    out[4] = b'-';
    d2(out, 5, c.mo);
    out[7] = b'-';
    d2(out, 8, c.d);
    out[10] = b'T';
    d2(out, 11, c.h);
    out[13] = b':';
    d2(out, 14, c.mi);
    out[16] = b':';
    d2(out, 17, c.s);
    out[19] = if off_min < 0 { b'-' } else { b'+' };
    let a = off_min.unsigned_abs() as i64;
    d2(out, 20, a / 60);
    out[22] = b':';
    d2(out, 23, a % 60);
}

/// RFC 3339 UTC, seconds resolution: `2026-03-02T09:00:00Z`
fn rfc3339(ms: i64) -> String {
    let c = civil(ms.div_euclid(1000), 0);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        c.y, c.mo, c.d, c.h, c.mi, c.s
    )
}

fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 19 {
        return None;
    }
    let num = |a: usize, n: usize| -> Option<i64> { s.get(a..a + n)?.parse::<i64>().ok() };
    let (y, mo, d, h, mi, se) = (
        num(0, 4)?,
        num(5, 2)?,
        num(8, 2)?,
        num(11, 2)?,
        num(14, 2)?,
        num(17, 2)?,
    );
    if b[4] != b'-'
        || b[7] != b'-'
        || (b[10] != b'T' && b[10] != b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let rest = &s[19..];
    let off_min: i64 = if rest.is_empty() || rest == "Z" || rest == "z" {
        0
    } else if rest.len() == 6 && (rest.starts_with('+') || rest.starts_with('-')) {
        let v = rest[1..3].parse::<i64>().ok()? * 60 + rest[4..6].parse::<i64>().ok()?;
        if rest.starts_with('-') { -v } else { v }
    } else {
        return None;
    };
    Some(((days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se) - off_min * 60) * 1000)
}

fn parse_size(s: &str) -> Option<u64> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: f64 = n.parse().ok()?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        "k" | "kib" => 1024.0,
        "m" | "mib" => 1024.0 * 1024.0,
        "g" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tib" => 1024.0f64.powi(4),
        _ => return None,
    };
    Some((n * mult) as u64)
}

// ---------------------------------------------------------------- small writers

#[inline]
fn push_u(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = 20;
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// milliseconds as nginx seconds with 3 decimals: 42 -> `0.042`
#[inline]
fn push_secs(out: &mut Vec<u8>, ms: u32) {
    push_u(out, (ms / 1000) as u64);
    let r = ms % 1000;
    out.extend_from_slice(&[
        b'.',
        b'0' + (r / 100) as u8,
        b'0' + (r / 10 % 10) as u8,
        b'0' + (r % 10) as u8,
    ]);
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[inline]
fn push_hex64(out: &mut Vec<u8>, v: u64) {
    let mut b = [0u8; 16];
    for (i, x) in b.iter_mut().enumerate() {
        *x = HEX[((v >> (60 - 4 * i)) & 15) as usize];
    }
    out.extend_from_slice(&b);
}

/// Request path (+ query) kept inline so events need no heap allocation.
#[derive(Clone, Copy)]
struct P {
    b: [u8; 110],
    n: u8,
}

impl P {
    fn new() -> P {
        P { b: [0; 110], n: 0 }
    }
    fn of(s: &str) -> P {
        let mut p = P::new();
        p.s(s.as_bytes());
        p
    }
    #[inline]
    fn s(&mut self, x: &[u8]) -> &mut P {
        let n = self.n as usize;
        self.b[n..n + x.len()].copy_from_slice(x);
        self.n += x.len() as u8;
        self
    }
    #[inline]
    fn num(&mut self, mut v: u64) -> &mut P {
        let mut buf = [0u8; 20];
        let mut i = 20;
        loop {
            i -= 1;
            buf[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.s(&buf[i..])
    }
    #[inline]
    fn hex(&mut self, v: u64, digits: u32) -> &mut P {
        for i in (0..digits).rev() {
            let n = self.n as usize;
            self.b[n] = HEX[((v >> (4 * i)) & 15) as usize];
            self.n += 1;
        }
        self
    }
    fn bytes(&self) -> &[u8] {
        &self.b[..self.n as usize]
    }
    fn str(&self) -> String {
        String::from_utf8_lossy(self.bytes()).into_owned()
    }
}

// ---------------------------------------------------------------- model

#[derive(Clone, Copy, PartialEq)]
enum Fmt {
    Combined,
    Extended,
    Json,
}

struct Ua {
    clf: Vec<u8>,
    json: Vec<u8>,
    browser: bool,
}

fn ua_new(raw: &str) -> Ua {
    let mut clf = Vec::new();
    let mut json = Vec::new();
    for &c in raw.as_bytes() {
        match c {
            b'"' => {
                clf.extend_from_slice(b"\\x22");
                json.extend_from_slice(b"\\\"");
            }
            b'\\' => {
                clf.extend_from_slice(b"\\x5C");
                json.extend_from_slice(b"\\\\");
            }
            _ => {
                clf.push(c);
                json.push(c);
            }
        }
    }
    Ua {
        clf,
        json,
        browser: raw.starts_with("Mozilla/") && !raw.contains("compatible;"),
    }
}

struct Client {
    ip: Vec<u8>,
    ua: u16,
    key: Vec<u8>, // "-" = anonymous
    xff: Vec<u8>, // JSON $http_x_forwarded_for ("" = absent)
    h2: bool,
}

#[derive(Clone, Copy)]
struct Ev {
    t: i64, // log time (request end, as nginx writes it), ms since epoch UTC
    client: u32,
    method: &'static [u8],
    path: P,
    status: u16,
    bytes: u32,
    rt: u32,   // request time in ms
    tag: u8,   // 0 background, 1..=12 incident (CAUSES index + 1), 13 benign, 14 lone create
    tz: i16,   // display offset in minutes (demo only)
    junk: u8,  // 1: "-" request, 2: TLS bytes
    idem: u32, // Idempotency-Key sent (JSON only): the number its key is derived from; 0 none
}

const CAUSES: [&str; 12] = [
    "hot_spot_edit",
    "stale_version",
    "duplicate_create",
    "retry_storm",
    "in_progress_conflict",
    "lock_contention",
    "state_transition",
    "deploy_regression",
    "client_concentration",
    "idempotency_conflict",
    "control_plane_conflict",
    "permanent_retry",
];
const TAG_CONCENTRATION: u8 = 9;
const TAG_IDEMPOTENCY: u8 = 10;
const TAG_CONTROL_PLANE: u8 = 11;
const TAG_PERMANENT_RETRY: u8 = 12;
const TAG_BENIGN: u8 = 13;
const TAG_LONE: u8 = 14;
const NTAGS: usize = 15;

struct Pend {
    t: i64,
    seq: u64,
    ev: Ev,
}
impl PartialEq for Pend {
    fn eq(&self, o: &Self) -> bool {
        self.t == o.t && self.seq == o.seq
    }
}
impl Eq for Pend {}
impl PartialOrd for Pend {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Pend {
    // min-heap on (t, seq)
    fn cmp(&self, o: &Self) -> Ordering {
        o.t.cmp(&self.t).then(o.seq.cmp(&self.seq))
    }
}

const GET: &[u8] = b"GET";
const HEAD: &[u8] = b"HEAD";
const POST: &[u8] = b"POST";
const PUT: &[u8] = b"PUT";
const PATCH: &[u8] = b"PATCH";
const DELETE: &[u8] = b"DELETE";

// status tables: (status, cumulative weight out of 10000)
const ST_GET: &[(u16, u32)] = &[
    (200, 9050),
    (304, 9350),
    (404, 9700),
    (401, 9820),
    (429, 9850),
    (500, 9890),
    (502, 9930),
    (499, 10000),
];
const ST_UPDATE: &[(u16, u32)] = &[
    (200, 8900),
    (204, 9200),
    (400, 9450),
    (404, 9650),
    (401, 9750),
    (422, 9850),
    (429, 9870),
    (500, 9930),
    (502, 9960),
    (499, 10000),
];
const ST_CREATE: &[(u16, u32)] = &[
    (201, 9000),
    (400, 9400),
    (401, 9550),
    (422, 9800),
    (429, 9830),
    (500, 9910),
    (502, 9950),
    (499, 10000),
];
const ST_DELETE: &[(u16, u32)] = &[
    (204, 9300),
    (404, 9700),
    (401, 9850),
    (500, 9910),
    (502, 9950),
    (499, 10000),
];
const ST_ACTION: &[(u16, u32)] = &[
    (200, 9300),
    (404, 9600),
    (401, 9750),
    (422, 9850),
    (500, 9930),
    (499, 10000),
];

// route ids and default weights (per 10,000-ish)
const ROUTES: &[(u8, u32)] = &[
    (0, 1100), // GET /api/v1/orders/{id}
    (1, 420),  // GET /api/v1/orders?status=..
    (2, 260),  // POST /api/v1/orders
    (3, 200),  // PUT /api/v1/orders/{id}
    (4, 140),  // PATCH /api/v1/orders/{id}
    (5, 500),  // GET /api/v1/orders/{id}/items
    (6, 170),  // POST /api/v1/orders/{id}/items
    (7, 70),   // POST /api/v1/orders/{id}/ship
    (8, 45),   // POST /api/v1/orders/{id}/cancel
    (9, 650),  // GET /api/v1/users/usr_x
    (10, 170), // PUT /api/v1/users/usr_x
    (11, 600), // GET /api/v1/docs/{uuid}
    (12, 230), // PUT /api/v1/docs/{uuid}
    (13, 35),  // lock / edit / unlock sequence on /api/v1/docs/{uuid}
    (14, 550), // GET /api/v1/inventory/{id}
    (15, 170), // PUT /api/v1/inventory/{id}
    (16, 420), // GET /api/v1/carts/{ulid}
    (17, 330), // PATCH /api/v1/carts/{ulid}
    (18, 80),  // POST /api/v1/carts
    (19, 70),  // DELETE /api/v1/carts/{ulid}/items/{n}
    (20, 90),  // GET /api/v1/jobs/{ulid}
    (21, 20),  // POST /api/v1/orders/{id}/export (202)
    (22, 560), // GET /api/v1/products?q=
    (23, 520), // GET /api/v1/products/{n}
    (24, 330), // GET /api/v1/search?q=
    (25, 330), // POST /api/v1/auth/token
    (26, 250), // GET /health (kube-probe)
    (27, 40),  // HEAD /api/v1/products/{n}
];

const WORDS: &[&[u8]] = &[
    b"blue+widget",
    b"usb-c",
    b"charger",
    b"desk+lamp",
    b"coffee",
    b"mug",
    b"running+shoes",
    b"headphones",
    b"backpack",
    b"monitor",
    b"keyboard",
    b"standing+desk",
    b"tea",
    b"notebook",
    b"water+bottle",
    b"hdmi",
];
const ORDER_STATES: &[&[u8]] = &[b"open", b"paid", b"shipped", b"cancelled"];
const REFERERS: &[&[u8]] = &[
    b"https://shop.example.com/",
    b"https://shop.example.com/account/orders",
    b"https://shop.example.com/cart",
    b"https://shop.example.com/products?category=office",
    b"https://admin.example.com/orders",
    b"https://docs.example.com/editor",
];
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

const BROWSER_UAS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.6261.105 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36 Edg/122.0.2365.66",
];
const APP_UAS: &[&str] = &[
    "ShopApp/3.14.2 (iPhone; iOS 17.3.1; Scale/3.00)",
    "ShopApp/3.14.1 (Android 14; SM-S918B)",
    "okhttp/4.9.3",
    "okhttp/4.12.0",
    "Dart/3.3 (dart:io)",
];
const MACHINE_UAS: &[&str] = &[
    "python-requests/2.31.0",
    "python-httpx/0.27.0",
    "Go-http-client/1.1",
    "Go-http-client/2.0",
    "axios/1.6.7",
    "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
    "curl/8.5.0",
    "PostmanRuntime/7.36.3",
    "Apache-HttpClient/4.5.14 (Java/17.0.10)",
    "Java-http-client/17.0.10",
    "aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.0 md/GOOS#linux md/GOARCH#amd64",
    "Faraday v2.9.0",
];
/// rare: a user agent containing double quotes (nginx logs them as \x22)
const QUOTED_UA: &str =
    "Mozilla/5.0 (compatible; \"SiteChecker\"/2.1; +https://checker.example.net/bot)";
const V4_FIRST: &[u64] = &[
    23, 31, 37, 45, 46, 62, 66, 73, 77, 81, 84, 89, 91, 93, 98, 104, 108, 109, 141, 151, 176, 178,
    185, 188, 195, 212, 213, 217,
];
const V6_PREFIX: &[&str] = &[
    "2a02:cf40",
    "2a01:4f8",
    "2600:1700",
    "2001:4860",
    "2a00:1450",
    "2604:a880",
];

struct TagStat {
    lines: u64,
    conflicts: u64,
    first: i64,
    last: i64,
    cfirst: i64,
    clast: i64,
    clients: HashSet<u32>,
    cclients: HashSet<u32>,
    cpaths: HashSet<Vec<u8>>,
}

impl TagStat {
    fn new() -> TagStat {
        TagStat {
            lines: 0,
            conflicts: 0,
            first: i64::MAX,
            last: i64::MIN,
            cfirst: i64::MAX,
            clast: i64::MIN,
            clients: HashSet::new(),
            cclients: HashSet::new(),
            cpaths: HashSet::new(),
        }
    }
}

struct IncInfo {
    tag: u8,
    instance: String,
    note: String,
}

// ---------------------------------------------------------------- generator

struct Gen {
    rng: Rng,
    clients: Vec<Client>,
    uas: Vec<Ua>,
    zipf: Vec<u64>, // cumulative thresholds (scaled to 2^63) over background clients
    probe: u32,
    heap: BinaryHeap<Pend>,
    seq: u64,
    routes: Vec<(u32, u8)>, // cumulative weight, route id
    route_total: u64,
    p_conf: f64,
    junk_one_in: u64,
    tz_prob: f64,
    tau: i64,     // deploy_regression change point (i64::MAX: none)
    tau_end: i64, // ... and its end (rollback)
    incs: Vec<IncInfo>,
    key_seen: HashSet<Vec<u8>>,
    seed: u64,
}

impl Gen {
    fn new(seed: u64, n_clients: usize, demo: bool, p_conf: f64) -> Gen {
        let mut g = Gen {
            rng: Rng::new(seed),
            clients: Vec::new(),
            uas: Vec::new(),
            zipf: Vec::new(),
            probe: 0,
            heap: BinaryHeap::new(),
            seq: 0,
            routes: Vec::new(),
            route_total: 0,
            p_conf,
            junk_one_in: if demo { 0 } else { 200_000 },
            tz_prob: if demo { 0.002 } else { 0.0 },
            tau: i64::MAX,
            tau_end: i64::MAX,
            incs: Vec::new(),
            key_seen: HashSet::new(),
            seed,
        };
        let mut acc = 0u32;
        for &(id, w) in ROUTES {
            let w = if demo && id == 17 { 900 } else { w };
            acc += w;
            g.routes.push((acc, id));
        }
        g.route_total = acc as u64;
        for s in BROWSER_UAS.iter().chain(APP_UAS).chain(MACHINE_UAS) {
            g.uas.push(ua_new(s));
        }
        g.uas.push(ua_new(QUOTED_UA));
        let quoted = (g.uas.len() - 1) as u16;
        // background clients, rank 0 = most popular
        let mut seen_ip = HashSet::new();
        while g.clients.len() < n_clients {
            let r = g.rng.below(100);
            let ip = if r < 8 {
                let pre = V6_PREFIX[g.rng.below(V6_PREFIX.len() as u64) as usize];
                let a = g.rng.below(0x10000);
                let b = g.rng.below(0x10000);
                if g.rng.chance(0.5) {
                    format!("{}:{:x}:{:x}::{:x}", pre, a, b, g.rng.range(1, 0xfff))
                } else {
                    format!(
                        "{}:{:x}:{:x}:{:x}:{:x}:{:x}:{:x}",
                        pre,
                        a,
                        b,
                        g.rng.below(0x10000),
                        g.rng.below(0x10000),
                        g.rng.below(0x10000),
                        g.rng.range(1, 0xffff)
                    )
                }
            } else {
                let f = V4_FIRST[g.rng.below(V4_FIRST.len() as u64) as usize];
                format!(
                    "{}.{}.{}.{}",
                    f,
                    g.rng.below(256),
                    g.rng.below(256),
                    g.rng.range(1, 254)
                )
            };
            if !seen_ip.insert(ip.clone()) {
                continue;
            }
            let k = g.rng.below(100);
            let ua = if k < 35 {
                g.rng.below(BROWSER_UAS.len() as u64)
            } else if k < 60 {
                (BROWSER_UAS.len() as u64) + g.rng.below(APP_UAS.len() as u64)
            } else {
                (BROWSER_UAS.len() + APP_UAS.len()) as u64 + g.rng.below(MACHINE_UAS.len() as u64)
            } as u16;
            // a couple of unpopular clients use a UA with quotes in it
            let rank = g.clients.len();
            let ua = if rank == n_clients * 3 / 5 || rank == n_clients * 4 / 5 {
                quoted
            } else {
                ua
            };
            let key = if g.rng.chance(0.1) {
                b"-".to_vec()
            } else {
                g.fresh_key(4)
            };
            let xff = if g.rng.chance(0.1) {
                ip.clone().into_bytes()
            } else {
                Vec::new()
            };
            let h2 = g.uas[ua as usize].browser || g.rng.chance(0.2);
            g.clients.push(Client {
                ip: ip.into_bytes(),
                ua,
                key,
                xff,
                h2,
            });
        }
        // Zipf(s = 1.05) popularity over ranks
        let w: Vec<f64> = (0..n_clients)
            .map(|i| 1.0 / ((i + 1) as f64).powf(1.05))
            .collect();
        let tot: f64 = w.iter().sum();
        let mut c = 0.0;
        for x in &w {
            c += x / tot;
            g.zipf.push((c.min(1.0) * (1u64 << 63) as f64) as u64);
        }
        *g.zipf.last_mut().unwrap() = u64::MAX;
        let probe_ua = g.add_ua("kube-probe/1.29");
        g.probe = g.add_client("10.0.3.17", probe_ua, "-");
        g
    }

    fn fresh_key(&mut self, n: usize) -> Vec<u8> {
        const A: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        loop {
            let mut k = b"key_live_".to_vec();
            for _ in 0..n {
                k.push(A[self.rng.below(62) as usize]);
            }
            if self.key_seen.insert(k.clone()) {
                return k;
            }
        }
    }

    fn add_ua(&mut self, raw: &str) -> u16 {
        self.uas.push(ua_new(raw));
        (self.uas.len() - 1) as u16
    }

    /// incident client; key "" = generate a distinct 8-char key
    fn add_client(&mut self, ip: &str, ua: u16, key: &str) -> u32 {
        let key = if key.is_empty() {
            self.fresh_key(8)
        } else {
            key.as_bytes().to_vec()
        };
        let h2 = self.uas[ua as usize].browser;
        self.clients.push(Client {
            ip: ip.as_bytes().to_vec(),
            ua,
            key,
            xff: Vec::new(),
            h2,
        });
        (self.clients.len() - 1) as u32
    }

    #[inline]
    fn pick_client(&mut self) -> u32 {
        let x = self.rng.next() >> 1;
        self.zipf.partition_point(|&c| c < x) as u32
    }

    #[inline]
    fn pick_status(&mut self, t: &[(u16, u32)]) -> u16 {
        let x = self.rng.below(10_000) as u32;
        for &(s, c) in t {
            if x < c {
                return s;
            }
        }
        t[0].0
    }

    fn push(&mut self, ev: Ev) {
        self.seq += 1;
        self.heap.push(Pend {
            t: ev.t,
            seq: self.seq,
            ev,
        });
    }

    // ---- ids
    fn order_id(&mut self) -> u64 {
        self.rng.range(1_000_000, 8_999_999)
    }
    fn inv_id(&mut self) -> u64 {
        self.rng.range(10_000, 89_999)
    }
    fn p_order(&mut self, suffix: &[u8]) -> P {
        let id = self.order_id();
        let mut p = P::new();
        p.s(b"/api/v1/orders/").num(id).s(suffix);
        p
    }
    fn p_user(&mut self) -> P {
        let v = self.rng.next();
        let mut p = P::new();
        p.s(b"/api/v1/users/usr_").hex(v, 10);
        p
    }
    fn p_doc(&mut self, suffix: &[u8]) -> P {
        let a = self.rng.next();
        let b = self.rng.next();
        let mut p = P::new();
        p.s(b"/api/v1/docs/")
            .hex(a >> 32, 8)
            .s(b"-")
            .hex(a >> 16, 4)
            .s(b"-4")
            .hex(a, 3)
            .s(b"-")
            .hex(8 | (b >> 62), 1)
            .hex(b >> 48, 3)
            .s(b"-")
            .hex(b, 12)
            .s(suffix);
        p
    }
    fn ulid(&mut self, p: &mut P, ms: i64) {
        let ms = ms.max(0) as u64;
        for i in (0..10).rev() {
            p.s(&[CROCKFORD[((ms >> (5 * i)) & 31) as usize]]);
        }
        let r = self.rng.next();
        let r2 = self.rng.next();
        for i in 0..16 {
            let v = if i < 12 {
                r >> (5 * i)
            } else {
                r2 >> (5 * (i - 12))
            };
            p.s(&[CROCKFORD[(v & 31) as usize]]);
        }
    }
    fn p_cart(&mut self, t: i64, suffix: &[u8]) -> P {
        let created = t - self.rng.below(3 * 86_400_000) as i64;
        let mut p = P::new();
        p.s(b"/api/v1/carts/");
        self.ulid(&mut p, created);
        p.s(suffix);
        p
    }
    fn p_inv(&mut self) -> P {
        let id = self.inv_id();
        let mut p = P::new();
        p.s(b"/api/v1/inventory/").num(id);
        p
    }

    fn body_bytes(&mut self, method: &[u8], status: u16) -> u32 {
        (match status {
            200 if method == GET => self.rng.range(380, 6200),
            200 => self.rng.range(180, 1400),
            201 => self.rng.range(150, 900),
            202 => self.rng.range(60, 140),
            204 | 304 | 499 => 0,
            409 | 412 | 423 | 428 => self.rng.range(85, 240),
            502 => 157,
            504 => 167,
            500 | 503 => self.rng.range(60, 130),
            _ => self.rng.range(40, 190),
        }) as u32
    }

    fn req_ms(&mut self, method: &[u8], status: u16) -> u32 {
        let u = self.rng.unit();
        (match status {
            499 => 1500.0 + u * 28_000.0,
            504 => 60_000.0 + u * 4.0,
            502 => 5.0 + u * 3000.0,
            500 => 20.0 + u * 800.0,
            304 | 401 | 404 | 429 => 1.0 + u * 25.0,
            409 | 412 | 423 | 428 => 4.0 + u * 60.0,
            _ if method == GET || method == HEAD => 2.0 + u * u * u * 450.0,
            _ => 12.0 + u * u * 380.0,
        }) as u32
    }

    /// an event with status-dependent body size and duration
    fn mk(
        &mut self,
        t: i64,
        client: u32,
        method: &'static [u8],
        path: P,
        status: u16,
        tag: u8,
    ) -> Ev {
        let bytes = self.body_bytes(method, status);
        let rt = self.req_ms(method, status);
        Ev {
            t,
            client,
            method,
            path,
            status,
            bytes,
            rt,
            tag,
            tz: 0,
            junk: 0,
            idem: 0,
        }
    }

    fn at(&mut self, t: i64, client: u32, method: &'static [u8], path: &P, status: u16, tag: u8) {
        let ev = self.mk(t, client, method, *path, status, tag);
        self.push(ev);
    }

    #[allow(clippy::too_many_arguments)]
    fn at_rt(
        &mut self,
        t: i64,
        client: u32,
        method: &'static [u8],
        path: &P,
        status: u16,
        rt: u32,
        tag: u8,
    ) {
        let mut ev = self.mk(t, client, method, *path, status, tag);
        ev.rt = rt;
        self.push(ev);
    }

    // ---- background

    fn background(&mut self, t: i64) -> Ev {
        if self.junk_one_in > 0 && self.rng.below(self.junk_one_in) == 0 {
            let c = self.pick_client();
            let mut ev = self.mk(t, c, b"", P::new(), 400, 0);
            ev.bytes = 157;
            ev.rt = 0;
            ev.junk = 1 + self.rng.below(2) as u8;
            return ev;
        }
        let c = self.pick_client();
        if self.p_conf > 0.0 && self.rng.chance(self.p_conf) {
            return self.benign(t, c);
        }
        let x = self.rng.below(self.route_total) as u32;
        let id = self.routes[self.routes.partition_point(|&(cum, _)| cum <= x)].1;
        let mut ev = match id {
            0 => {
                let p = self.p_order(b"");
                let s = self.pick_status(ST_GET);
                self.mk(t, c, GET, p, s, 0)
            }
            1 => {
                let st = ORDER_STATES[self.rng.below(4) as usize];
                let pg = self.rng.range(1, 12);
                let mut p = P::new();
                p.s(b"/api/v1/orders?status=")
                    .s(st)
                    .s(b"&page=")
                    .num(pg)
                    .s(b"&limit=50");
                let s = self.pick_status(ST_GET);
                let mut ev = self.mk(t, c, GET, p, s, 0);
                if s == 200 {
                    ev.bytes = self.rng.range(4000, 42_000) as u32;
                }
                ev
            }
            2 => {
                let s = self.pick_status(ST_CREATE);
                self.mk(t, c, POST, P::of("/api/v1/orders"), s, 0)
            }
            3 | 4 => {
                let p = self.p_order(b"");
                let s = self.pick_status(ST_UPDATE);
                self.mk(t, c, if id == 3 { PUT } else { PATCH }, p, s, 0)
            }
            5 => {
                let p = self.p_order(b"/items");
                let s = self.pick_status(ST_GET);
                self.mk(t, c, GET, p, s, 0)
            }
            6 => {
                let p = self.p_order(b"/items");
                let s = self.pick_status(ST_CREATE);
                self.mk(t, c, POST, p, s, 0)
            }
            7 | 8 => {
                let p = self.p_order(if id == 7 { b"/ship" } else { b"/cancel" });
                let s = self.pick_status(ST_ACTION);
                self.mk(t, c, POST, p, s, 0)
            }
            9 => {
                let p = self.p_user();
                let s = self.pick_status(ST_GET);
                self.mk(t, c, GET, p, s, 0)
            }
            10 => {
                let p = self.p_user();
                let s = self.pick_status(ST_UPDATE);
                self.mk(t, c, PUT, p, s, 0)
            }
            11 => {
                let p = self.p_doc(b"");
                let s = self.pick_status(ST_GET);
                self.mk(t, c, GET, p, s, 0)
            }
            12 => {
                let p = self.p_doc(b"");
                let s = self.pick_status(ST_UPDATE);
                self.mk(t, c, PUT, p, s, 0)
            }
            13 => {
                // short, uncontended lock: lock 200, edit 200, unlock 204
                let doc = self.p_doc(b"");
                let mut lock = doc;
                lock.s(b"/lock");
                let t1 = t + self.rng.range(800, 4000) as i64;
                self.at(t1, c, PUT, &doc, 200, 0);
                let t2 = t1 + self.rng.range(200, 2000) as i64;
                self.at(t2, c, DELETE, &lock, 204, 0);
                self.mk(t, c, POST, lock, 200, 0)
            }
            14 => {
                let p = self.p_inv();
                let s = self.pick_status(ST_GET);
                self.mk(t, c, GET, p, s, 0)
            }
            15 => {
                let p = self.p_inv();
                let s = self.pick_status(ST_UPDATE);
                self.mk(t, c, PUT, p, s, 0)
            }
            16 => {
                let p = self.p_cart(t, b"");
                let s = self.pick_status(ST_GET);
                self.mk(t, c, GET, p, s, 0)
            }
            17 => {
                let p = self.p_cart(t, b"");
                let mut s = self.pick_status(ST_UPDATE);
                let mut tag = 0;
                if t >= self.tau && t < self.tau_end && self.rng.chance(0.3) {
                    s = 409;
                    tag = 8;
                }
                self.mk(t, c, PATCH, p, s, tag)
            }
            18 => {
                let s = self.pick_status(ST_CREATE);
                self.mk(t, c, POST, P::of("/api/v1/carts"), s, 0)
            }
            19 => {
                let n = self.rng.range(1, 9);
                let mut p = self.p_cart(t, b"/items/");
                p.num(n);
                let s = self.pick_status(ST_DELETE);
                self.mk(t, c, DELETE, p, s, 0)
            }
            20 => {
                let mut p = P::of("/api/v1/jobs/");
                let created = t - self.rng.range(1000, 600_000) as i64;
                self.ulid(&mut p, created);
                let s = self.pick_status(ST_GET);
                self.mk(t, c, GET, p, s, 0)
            }
            21 => {
                let p = self.p_order(b"/export");
                let mut job = P::of("/api/v1/jobs/");
                self.ulid(&mut job, t);
                let t1 = t + self.rng.range(3000, 20_000) as i64;
                self.at(t1, c, GET, &job, 200, 0);
                self.mk(t, c, POST, p, 202, 0)
            }
            22 => {
                let w = WORDS[self.rng.below(WORDS.len() as u64) as usize];
                let pg = self.rng.range(1, 5);
                let mut p = P::new();
                p.s(b"/api/v1/products?q=").s(w).s(b"&page=").num(pg);
                let s = self.pick_status(ST_GET);
                self.mk(t, c, GET, p, s, 0)
            }
            23 | 27 => {
                let n = self.rng.range(1000, 99_999);
                let mut p = P::new();
                p.s(b"/api/v1/products/").num(n);
                let s = self.pick_status(ST_GET);
                let mut ev = self.mk(t, c, if id == 23 { GET } else { HEAD }, p, s, 0);
                if id == 27 {
                    ev.bytes = 0;
                }
                ev
            }
            24 => {
                let w = WORDS[self.rng.below(WORDS.len() as u64) as usize];
                let mut p = P::new();
                p.s(b"/api/v1/search?q=").s(w).s(if self.rng.chance(0.5) {
                    b"&sort=relevance"
                } else {
                    b"&sort=price_asc"
                });
                let s = self.pick_status(ST_GET);
                self.mk(t, c, GET, p, s, 0)
            }
            25 => {
                let s = if self.rng.chance(0.06) { 401 } else { 200 };
                self.mk(t, c, POST, P::of("/api/v1/auth/token"), s, 0)
            }
            26 => {
                let mut ev = self.mk(t, self.probe, GET, P::of("/health"), 200, 0);
                ev.bytes = 15;
                ev.rt = 0;
                ev
            }
            _ => {
                let n = self.rng.range(1000, 99_999);
                let mut p = P::new();
                p.s(b"/api/v1/products/").num(n);
                self.mk(t, c, GET, p, 200, 0)
            }
        };
        if self.tz_prob > 0.0
            && ev.tag == 0
            && ev.client != self.probe
            && self.rng.chance(self.tz_prob)
        {
            ev.tz = if self.rng.chance(0.5) { 60 } else { -420 };
        }
        ev
    }

    /// A benign, handled conflict by client c at t; follow-ups go to the heap.
    fn benign(&mut self, t: i64, c: u32) -> Ev {
        let kind = self.rng.below(100);
        if kind < 5 {
            // lone create-if-absent: PUT to a new name, 409, client moves on
            let p = self.p_user();
            return self.mk(t, c, PUT, p, 409, TAG_LONE);
        }
        let status = if kind < 80 {
            409
        } else if kind < 93 {
            412
        } else if kind < 97 {
            428
        } else {
            423
        };
        self.handled(t, c, status, None)
    }

    /// conflict -> GET -> successful write (423: wait, then write again)
    fn handled(&mut self, t: i64, c: u32, status: u16, path: Option<(&'static [u8], P)>) -> Ev {
        let (m, p) = match path {
            Some(x) => x,
            None if status == 423 => (PUT, self.p_doc(b"")),
            None => match self.rng.below(6) {
                0 => (PUT, self.p_order(b"")),
                1 => (PATCH, self.p_order(b"")),
                2 => (PUT, self.p_user()),
                3 => (PUT, self.p_doc(b"")),
                4 => (PUT, self.p_inv()),
                _ => (PATCH, self.p_cart(t, b"")),
            },
        };
        let mut t1 = t + self.rng.range(1500, 4000) as i64;
        if status != 423 {
            let tg = t + self.rng.range(90, 900) as i64;
            self.at(tg, c, GET, &p, 200, TAG_BENIGN);
            t1 = tg + self.rng.range(150, 1500) as i64;
        }
        self.at(t1, c, m, &p, 200, TAG_BENIGN);
        self.mk(t, c, m, p, status, TAG_BENIGN)
    }

    fn info(&mut self, tag: u8, instance: String, note: &str) {
        self.incs.push(IncInfo {
            tag,
            instance,
            note: note.to_string(),
        });
    }

    // ---- incidents (times in ms; all events go to the heap)

    fn inc_hot_spot(&mut self, t0: i64) {
        const TAG: u8 = 1;
        let path = P::of("/api/v1/inventory/94017");
        let uas = [
            self.add_ua("StorePOS/5.2.0 (Android 13; TC52)"),
            self.add_ua("StorePOS/5.1.4 (Android 12; TC52)"),
        ];
        let mut cl = Vec::new();
        for i in 0..10 {
            let ip = format!("203.0.113.{}", 11 + i);
            cl.push(self.add_client(&ip, uas[i % 5 / 4], ""));
        }
        // each POS terminal: GET stock -> PUT new stock; the server accepts a PUT only if
        // nobody committed since that client's GET (optimistic concurrency), else 409
        let mut version = 0u32;
        let mut next: Vec<i64> = (0..10).map(|_| t0 + self.rng.below(6000) as i64).collect();
        let mut read_v = [0u32; 10];
        let mut want_put = [false; 10];
        let end = t0 + 62_000;
        loop {
            let (i, &tn) = next
                .iter()
                .enumerate()
                .min_by_key(|&(i, &t)| (t, i))
                .unwrap();
            if tn > end {
                break;
            }
            if !want_put[i] {
                self.at(tn, cl[i], GET, &path, 200, TAG);
                read_v[i] = version;
                want_put[i] = true;
                next[i] = tn + self.rng.range(150, 900) as i64;
            } else {
                want_put[i] = false;
                if read_v[i] == version {
                    version += 1;
                    self.at(tn, cl[i], PUT, &path, 200, TAG);
                    next[i] = tn + self.rng.range(7000, 16_000) as i64;
                } else {
                    self.at(tn, cl[i], PUT, &path, 409, TAG);
                    next[i] = tn + self.rng.range(800, 2500) as i64;
                }
            }
        }
        self.info(
            TAG,
            path.str(),
            "10 POS terminals GET→PUT one SKU; 409 after another terminal's 200",
        );
    }

    fn inc_stale_version(&mut self, t0: i64) {
        const TAG: u8 = 2;
        let path = P::of("/api/v1/docs/3f6c1a2e-8b4d-4c7e-9a15-2d9e7b3c5f01");
        let ua_w = self.add_ua(BROWSER_UAS[1]);
        let w = self.add_client("198.51.100.21", ua_w, "");
        let ua_s = self.add_ua("docs-sync/1.4.0 (python-requests/2.31.0)");
        let s = self.add_client("198.51.100.22", ua_s, "");
        self.at(t0 - 6 * 60_000 - 12_345, s, GET, &path, 200, TAG); // the stale copy
        self.at(t0 - 31_000, w, GET, &path, 200, TAG);
        self.at(t0, w, PUT, &path, 200, TAG);
        self.at(t0 + 71_000, w, GET, &path, 200, TAG);
        self.at(t0 + 96_000, w, PUT, &path, 200, TAG);
        let mut t = t0 + 20_000;
        for _ in 0..7 {
            self.at(t, s, PUT, &path, 412, TAG);
            t += self.rng.range(33_000, 47_000) as i64;
        }
        self.at(t + 20_000, s, GET, &path, 200, TAG);
        self.at(t + 22_500, s, PUT, &path, 200, TAG);
        self.info(
            TAG,
            path.str(),
            "sync client re-sends an old If-Match 7×, no re-read, after the editor's PUTs",
        );
    }

    fn inc_duplicate_create(&mut self, t0: i64) {
        const TAG: u8 = 3;
        let path = P::of("/api/v1/orders");
        let ua = self.add_ua("checkout-svc/2.8.1 (Java-http-client/17.0.10)");
        let c = self.add_client("198.51.100.31", ua, "");
        let mut t = t0;
        for i in 0..5 {
            let (st, rt) = if i % 2 == 0 {
                (504, 60_000 + self.rng.below(3) as u32)
            } else {
                (499, self.rng.range(9000, 15_000) as u32)
            };
            self.at_rt(t, c, POST, &path, st, rt, TAG);
            let tr = t + self.rng.range(1500, 6000) as i64;
            self.at(tr, c, POST, &path, 409, TAG);
            let mut q = P::of("/api/v1/orders?status=open&page=1&limit=50");
            if i == 2 {
                q = P::of("/api/v1/orders?status=paid&page=1&limit=50");
            }
            let tg = tr + self.rng.range(2000, 9000) as i64;
            self.at(tg, c, GET, &q, 200, TAG);
            t += self.rng.range(130_000, 170_000) as i64;
        }
        self.info(
            TAG,
            "POST /api/v1/orders".into(),
            "create times out (504/499), retried seconds later → 409 already exists; 5 pairs",
        );
    }

    fn inc_retry_storm(&mut self, t0: i64) {
        const TAG: u8 = 4;
        let path = P::of("/api/v1/orders/9310442");
        let ua_f = self.add_ua("fulfilment-svc/3.2.0 (okhttp/4.12.0)");
        let f = self.add_client("198.51.100.42", ua_f, "");
        let ua = self.add_ua("order-sync/0.9.2 Go-http-client/1.1");
        let c = self.add_client("198.51.100.41", ua, "");
        self.at(t0 - 41_000, f, GET, &path, 200, TAG);
        self.at(t0 - 40_000, f, PUT, &path, 200, TAG);
        let mut t = t0;
        for _ in 0..40 {
            let mut ev = self.mk(t, c, PUT, path, 409, TAG);
            ev.rt = self.rng.range(6, 19) as u32;
            self.push(ev);
            t += 200 + self.rng.range(0, 12) as i64 - 6;
        }
        self.info(
            TAG,
            path.str(),
            "same PUT 40× every ~200 ms, all 409, no GET",
        );
    }

    fn inc_in_progress(&mut self, t0: i64) {
        const TAG: u8 = 5;
        let path = P::of("/api/v1/orders/9310577");
        let export = P::of("/api/v1/orders/9310577/export");
        let mut job = P::of("/api/v1/jobs/");
        self.ulid(&mut job, t0 - 80);
        let ua_e = self.add_ua("reporting-batch/1.7.3 (python-httpx/0.27.0)");
        let e = self.add_client("198.51.100.51", ua_e, "");
        let ua_x = self.add_ua(BROWSER_UAS[2]);
        let x = self.add_client("198.51.100.52", ua_x, "");
        let ua_y = self.add_ua("order-admin-cli/0.4.1");
        let y = self.add_client("198.51.100.53", ua_y, "");
        let ua_z = self.add_ua("ShopApp/3.14.2 (iPhone; iOS 17.3.1; Scale/3.00)");
        let z = self.add_client("198.51.100.54", ua_z, "");
        self.at_rt(t0, e, POST, &export, 202, 84, TAG);
        for k in 1..=7 {
            let st = if k < 7 { 202 } else { 200 };
            self.at(t0 + k * 5000 + 40, e, GET, &job, st, TAG);
        }
        self.at(t0 - 9000, x, GET, &path, 200, TAG);
        self.at(t0 - 7000, y, GET, &path, 200, TAG);
        for &s in &[2_100i64, 6_300, 11_200, 17_400, 24_800] {
            self.at(t0 + s, x, PUT, &path, 409, TAG);
        }
        for &s in &[4_000i64, 9_500, 15_100, 22_600, 29_300] {
            self.at(t0 + s, y, PATCH, &path, 409, TAG);
        }
        self.at(t0 + 12_700, z, PUT, &path, 409, TAG);
        self.at(t0 + 26_900, z, PUT, &path, 409, TAG);
        // job finished at ~t0+31 s
        self.at(t0 + 33_200, x, PUT, &path, 200, TAG);
        self.at(t0 + 35_400, y, GET, &path, 200, TAG);
        self.at(t0 + 36_100, y, PATCH, &path, 200, TAG);
        self.info(
            TAG,
            path.str(),
            "export 202, job polled until 200; PUT/PATCH 409 from 3 clients for ~30 s, then 200",
        );
    }

    fn inc_lock(&mut self, t0: i64) {
        const TAG: u8 = 6;
        let doc = P::of("/api/v1/docs/b7e2d9c4-1f3a-4e6b-8c5d-9a0f1e2d3c4b");
        let lock = P::of("/api/v1/docs/b7e2d9c4-1f3a-4e6b-8c5d-9a0f1e2d3c4b/lock");
        let ua_a = self.add_ua("docs-editor/4.0.2 (Electron 28.2.1; Windows 10)");
        let a = self.add_client("203.0.113.61", ua_a, "");
        let ua_o = self.add_ua(BROWSER_UAS[0]);
        let b = self.add_client("203.0.113.62", ua_o, "");
        let c = self.add_client("203.0.113.63", ua_a, "");
        let ua_d = self.add_ua("docs-sync/1.4.0 (python-requests/2.31.0)");
        let d = self.add_client("203.0.113.64", ua_d, "");
        let m = 60_000i64;
        self.at(t0 - 20_000, a, GET, &doc, 200, TAG);
        self.at(t0, a, POST, &lock, 200, TAG);
        self.at(t0 + 41_000, a, PUT, &doc, 200, TAG);
        self.at(t0 + 3 * m + 5_000, a, PUT, &doc, 200, TAG);
        self.at(t0 + 5 * m + 31_000, a, PUT, &doc, 200, TAG);
        self.at(t0 + 7 * m, a, DELETE, &lock, 204, TAG);
        self.at(t0 + 45_000, b, GET, &doc, 200, TAG);
        for &s in &[
            52_000i64,
            2 * m + 10_000,
            3 * m + 40_000,
            5 * m + 2_000,
            6 * m + 20_000,
        ] {
            self.at(t0 + s, b, PUT, &doc, 423, TAG);
        }
        for &s in &[m + 55_000, 3 * m + 12_000, 4 * m + 48_000, 6 * m + 41_000] {
            self.at(t0 + s, c, PUT, &doc, 423, TAG);
        }
        self.at(t0 + 4 * m + 2_000, d, POST, &lock, 423, TAG);
        self.at(t0 + 5 * m + 14_000, d, PUT, &doc, 423, TAG);
        self.at(t0 + 7 * m + 18_000, b, PUT, &doc, 200, TAG);
        self.at(t0 + 7 * m + 50_000, c, GET, &doc, 200, TAG);
        self.at(t0 + 8 * m + 3_000, c, PUT, &doc, 200, TAG);
        self.at(t0 + 8 * m + 30_000, d, POST, &lock, 200, TAG);
        self.at(t0 + 8 * m + 36_000, d, PUT, &doc, 200, TAG);
        self.at(t0 + 8 * m + 38_000, d, DELETE, &lock, 204, TAG);
        self.info(TAG, doc.str(), "lock held 7 min by one client; writes/lock by 3 others get 423 until DELETE …/lock 204");
    }

    fn inc_state_transition(&mut self, t0: i64) {
        const TAG: u8 = 7;
        let ua_s = self.add_ua("fulfilment-svc/3.2.0 (okhttp/4.12.0)");
        let shipper = self.add_client("203.0.113.71", ua_s, "");
        let cancel_uas = [
            self.add_ua(BROWSER_UAS[0]),
            self.add_ua(BROWSER_UAS[1]),
            self.add_ua("ShopApp/3.14.2 (iPhone; iOS 17.3.1; Scale/3.00)"),
            self.add_ua("ShopApp/3.14.1 (Android 14; SM-S918B)"),
            self.add_ua("support-console/2.3.0 (axios/1.6.7)"),
        ];
        let cancellers: Vec<u32> = (0..5)
            .map(|i| {
                let ip = format!("203.0.113.{}", 72 + i);
                self.add_client(&ip, cancel_uas[i], "")
            })
            .collect();
        for k in 0..14u64 {
            let mut order = P::of("/api/v1/orders/");
            order.num(9_400_001 + k);
            let mut ship = order;
            ship.s(b"/ship");
            let mut cancel = order;
            cancel.s(b"/cancel");
            let ts = t0 + k as i64 * 60_000 + self.rng.below(20_000) as i64;
            self.at(ts, shipper, POST, &ship, 200, TAG);
            let n = 1 + self.rng.below(2);
            for _ in 0..n {
                let who = cancellers[self.rng.below(5) as usize];
                let tc = ts + self.rng.range(20_000, 240_000) as i64;
                let tg = tc - self.rng.range(3000, 20_000) as i64;
                self.at(tg, who, GET, &order, 200, TAG);
                self.at(tc, who, POST, &cancel, 409, TAG);
                if self.rng.chance(0.35) {
                    let tr = tc + self.rng.range(4000, 40_000) as i64;
                    self.at(tr, who, POST, &cancel, 409, TAG);
                }
            }
        }
        self.info(
            TAG,
            "/api/v1/orders/{id}/cancel".into(),
            "14 orders shipped (POST …/ship 200), then POST …/cancel 409 from 5 clients",
        );
    }

    fn inc_deploy(&mut self, tau: i64, tau_end: i64) {
        self.tau = tau;
        self.tau_end = tau_end;
        self.info(
            8,
            "PATCH /api/v1/carts/{id}".into(),
            "from τ on ~30% of cart PATCHes answer 409, flat volume, many clients/carts",
        );
    }

    /// Runs `f` with a random stream of its own (derived from the seed and `salt`) in place
    /// of the main one, which is left where it was: what `f` adds does not move the
    /// background or the incidents seeded before.
    fn with_own_rng<T>(&mut self, salt: u64, f: impl FnOnce(&mut Gen) -> T) -> T {
        let own = Rng::new(self.seed ^ mix64(salt));
        let main = std::mem::replace(&mut self.rng, own);
        let out = f(self);
        self.rng = main;
        out
    }

    /// One client that makes far more of a route's conflicts than its writes explain: an
    /// ERP connector PATCHes orders with the If-Match of its morning export and gets 412
    /// three times in four, never re-reading. Each PATCH goes to an order of its own (ids
    /// outside the background's), at random times from `from` to `to`, so no instance ever
    /// holds more than one of its conflicts and no instance-level cause (hot spot, stale
    /// version, retry storm, ...) can explain them: only `client_concentration` does. The
    /// route's other writers conflict ~4% of the time (handled background conflicts), so
    /// 75% is ~20× theirs; the check holds at the default --conflict-rate and up to about
    /// twice it.
    fn inc_client_concentration(&mut self, from: i64, to: i64) {
        const TAG: u8 = TAG_CONCENTRATION;
        const WRITES: u64 = 60;
        const CONFLICTS: u64 = 45;
        let ua = self.add_ua("erp-connector/1.3.7 (Apache-HttpClient/4.5.14 (Java/17.0.10))");
        let c = self.add_client("198.51.100.81", ua, "");
        let mut times: Vec<i64> = (0..WRITES)
            .map(|_| from + self.rng.below((to - from).max(1) as u64) as i64)
            .collect();
        times.sort_unstable();
        // which of the writes conflict: CONFLICTS of them, chosen at random
        let mut conflict = [false; WRITES as usize];
        let mut left = CONFLICTS;
        while left > 0 {
            let k = self.rng.below(WRITES) as usize;
            if !conflict[k] {
                conflict[k] = true;
                left -= 1;
            }
        }
        for (k, &t) in times.iter().enumerate() {
            let mut path = P::of("/api/v1/orders/");
            path.num(9_520_000 + k as u64 * 797 + self.rng.below(700));
            let status = if conflict[k] { 412 } else { 200 };
            self.at(t, c, PATCH, &path, status, TAG);
        }
        self.info(
            TAG,
            "PATCH /api/v1/orders/{id}".into(),
            &format!("ERP connector PATCHes orders with a stale If-Match: 412 on {CONFLICTS} of its {WRITES} writes, one order each, no re-read"),
        );
    }

    /// Retries that reuse an Idempotency-Key while the original is still running: a payments
    /// client creates ~60 payments in 90 minutes, each with a key of its own; for 20 minutes
    /// the payment provider is slow (9–14 s) and the client's timeout is 5 s, so it retries
    /// with the same key and gets 409 ("request in progress"); it backs off 10 s (then 20 s,
    /// ...), and once the original is done the stored 201 is replayed. One 409 per slow
    /// payment, ~5 s after its start. nginx runs the payments location with
    /// `proxy_ignore_client_abort on`, so the original is logged when it ends, with its
    /// 201 and full $request_time. Only `--format json` logs the key: the other formats
    /// leave this incident out.
    fn inc_idempotency(&mut self, t0: i64) {
        const TAG: u8 = TAG_IDEMPOTENCY;
        let path = P::of("/api/v1/payments");
        let ua = self.add_ua("checkout-payments/2.4.0 (Go-http-client/1.1)");
        let c = self.add_client("198.51.100.91", ua, "");
        let m = 60_000i64;
        let (slow_from, slow_to) = (t0 + 35 * m, t0 + 55 * m);
        let mut key = 0u32;
        let mut s = t0 + self.rng.below(60_000) as i64; // start of each payment
        while s < t0 + 90 * m {
            key += 1;
            if s < slow_from || s >= slow_to {
                let d = self.rng.range(250, 1_800) as u32;
                self.at_key(s + d as i64, c, POST, &path, 201, d, key);
                s += self.rng.range(60_000, 120_000) as i64;
                continue;
            }
            // the original: logged when it ends, with its duration
            let d = self.rng.range(9_000, 14_000) as i64;
            self.at_key(s + d, c, POST, &path, 201, d as u32, key);
            // the client times out after 5 s and retries with the same key
            let mut r = s + 5_000 + self.rng.below(300) as i64;
            let mut backoff = 10_000;
            loop {
                // Logged times are whole seconds: a retry that gets 409 starts 1.5 s
                // before the original ends at the latest, so that the overlap shows.
                if r + 1_500 < s + d {
                    let rt = self.rng.range(8, 30) as u32;
                    self.at_key(r + rt as i64, c, POST, &path, 409, rt, key);
                    r += rt as i64 + backoff + self.rng.below(1_000) as i64;
                    backoff *= 2;
                } else {
                    // the original is done: its 201 is replayed
                    let r = r.max(s + d + 300);
                    let rt = self.rng.range(15, 40) as u32;
                    self.at_key(r + rt as i64, c, POST, &path, 201, rt, key);
                    break;
                }
            }
            s += self.rng.range(60_000, 120_000) as i64;
        }
        self.info(
            TAG,
            "POST /api/v1/payments".into(),
            "payments slow (9–14 s) for 20 min, client timeout 5 s: its retry with the same Idempotency-Key gets 409 while the original runs (json only)",
        );
    }

    /// A configuration sync loop (control_plane_conflict): an ingress controller re-applies
    /// its declared Kong configuration every 30 s; one upstream in it (`billing-v2`) clashes
    /// with a uniqueness rule (its name is taken by an upstream created by hand), so each
    /// cycle reads the upstreams (GET 200) and sends the same `PUT /upstreams/billing-v2`,
    /// answered 409, for 40 minutes: it never succeeds, and the loop ends when the entity is
    /// taken out of the declared configuration. Steady interval (jitter of a few hundred ms,
    /// gap coefficient of variation ~0.01), a sync tool's user agent, a Kong admin path:
    /// nobody else touches `/upstreams`.
    fn inc_sync_loop(&mut self, t0: i64) {
        const TAG: u8 = TAG_CONTROL_PLANE;
        const CYCLES: i64 = 80;
        let list = P::of("/upstreams");
        let path = P::of("/upstreams/billing-v2");
        let ua = self.add_ua("kong-ingress-controller/2.9.3");
        let c = self.add_client("198.51.100.101", ua, "");
        for k in 0..CYCLES {
            let t = t0 + k * 30_000 + self.rng.below(400) as i64;
            let mut ev = self.mk(t, c, GET, list, 200, TAG);
            ev.rt = self.rng.range(3, 25) as u32;
            self.push(ev);
            let tp = t + self.rng.range(120, 600) as i64;
            self.at(tp, c, PUT, &path, 409, TAG);
        }
        self.info(
            TAG,
            format!("PUT {}", path.str()),
            "ingress controller re-sends the same PUT every 30 s for 40 min after reading the upstreams; 409 every cycle, never succeeds",
        );
    }

    /// A permanent retry: a merge bot merges a doc's draft with `PUT /api/v1/docs/{uuid}/merge`
    /// and gets 409 (the draft conflicts with the published version: only a person can
    /// resolve it). It reads the doc before each attempt and re-sends the same merge 13 times
    /// at irregular gaps of 1 to 11 minutes (0, 6, 9, 15, 23, … minutes, plus seconds of
    /// jitter) for ~72 minutes, never succeeding. Nobody else writes the doc or its merge
    /// (another writer's success would make it stale_version's or state_transition's); the
    /// bot is not a sync or infrastructure-as-code tool (that would be
    /// control_plane_conflict's).
    fn inc_permanent_retry(&mut self, t0: i64) {
        const TAG: u8 = TAG_PERMANENT_RETRY;
        const MINUTES: [i64; 13] = [0, 6, 9, 15, 23, 25, 36, 41, 47, 52, 61, 64, 72];
        let doc = P::of("/api/v1/docs/8d41f6a3-2c7b-4e90-b5d2-6f1a9c3e7b28");
        let mut merge = doc;
        merge.s(b"/merge");
        let ua = self.add_ua("merge-bot/3.1");
        let c = self.add_client("198.51.100.111", ua, "");
        for m in MINUTES {
            let t = t0 + m * 60_000 + self.rng.below(50_000) as i64;
            let tg = t - self.rng.range(400, 2_500) as i64;
            self.at(tg, c, GET, &doc, 200, TAG);
            self.at(t, c, PUT, &merge, 409, TAG);
        }
        self.info(
            TAG,
            format!("PUT {}", merge.str()),
            "merge bot re-sends the same merge 13× at irregular 1–11 min gaps over ~72 min, reading the doc before each; 409 every time, no other writer",
        );
    }

    /// An event at `t` (its end) with duration `rt` ms and Idempotency-Key number `idem`.
    #[allow(clippy::too_many_arguments)]
    fn at_key(
        &mut self,
        t: i64,
        client: u32,
        method: &'static [u8],
        path: &P,
        status: u16,
        rt: u32,
        idem: u32,
    ) {
        let mut ev = self.mk(t, client, method, *path, status, TAG_IDEMPOTENCY);
        ev.rt = rt;
        ev.idem = idem;
        self.push(ev);
    }
}

// ---------------------------------------------------------------- output

struct Out<W: Write> {
    w: W,
    fmt: Fmt,
    line: Vec<u8>,
    sec: i64,
    clf: [u8; 26],
    iso: [u8; 25],
    lines: u64,
    bytes: u64,
    max_lines: u64,
    max_bytes: u64,
    by_status: [u64; 4],
    rid_seed: u64,
    stats: Vec<TagStat>,
    first_t: i64,
    last_t: i64,
}

impl<W: Write> Out<W> {
    /// Writes one event; Ok(false) when a --lines/--size limit is reached.
    fn emit(&mut self, ev: &Ev, g: &Gen) -> io::Result<bool> {
        if self.lines >= self.max_lines {
            return Ok(false);
        }
        let sec = ev.t.div_euclid(1000);
        if sec != self.sec {
            self.sec = sec;
            fmt_clf(sec, 0, &mut self.clf);
            fmt_iso(sec, 0, &mut self.iso);
        }
        let c = &g.clients[ev.client as usize];
        let ua = &g.uas[c.ua as usize];
        let l = &mut self.line;
        l.clear();
        match self.fmt {
            Fmt::Combined | Fmt::Extended => {
                l.extend_from_slice(&c.ip);
                l.extend_from_slice(b" - - [");
                if ev.tz != 0 {
                    let mut b = [0u8; 26];
                    fmt_clf(sec, ev.tz as i32, &mut b);
                    l.extend_from_slice(&b);
                } else {
                    l.extend_from_slice(&self.clf);
                }
                l.extend_from_slice(b"] \"");
                match ev.junk {
                    0 => {
                        l.extend_from_slice(ev.method);
                        l.push(b' ');
                        l.extend_from_slice(ev.path.bytes());
                        l.extend_from_slice(if c.h2 {
                            b" HTTP/2.0\" "
                        } else {
                            b" HTTP/1.1\" "
                        });
                    }
                    1 => l.extend_from_slice(b"-\" "),
                    _ => l.extend_from_slice(
                        b"\\x16\\x03\\x01\\x02\\x00\\x01\\x00\\x01\\xFC\\x03\\x03\" ",
                    ),
                }
                push_u(l, ev.status as u64);
                l.push(b' ');
                push_u(l, ev.bytes as u64);
                l.extend_from_slice(b" \"");
                if ua.browser && ev.junk == 0 {
                    l.extend_from_slice(
                        REFERERS
                            [((ev.t as u64 >> 10) ^ ev.client as u64) as usize % REFERERS.len()],
                    );
                } else {
                    l.push(b'-');
                }
                l.extend_from_slice(b"\" \"");
                if ev.junk == 0 {
                    l.extend_from_slice(&ua.clf);
                } else {
                    l.push(b'-');
                }
                l.push(b'"');
                if self.fmt == Fmt::Extended {
                    l.push(b' ');
                    push_secs(l, ev.rt);
                    l.extend_from_slice(b" \"");
                    let a = mix64(self.rid_seed ^ self.lines.wrapping_mul(0x9E37_79B9_7F4A_7C15));
                    push_hex64(l, a);
                    push_hex64(l, mix64(a ^ 0xD6E8_FEB8_6659_FD93));
                    l.extend_from_slice(b"\" \"");
                    l.extend_from_slice(if ev.junk == 0 { &c.key } else { b"-" });
                    l.push(b'"');
                }
                l.push(b'\n');
            }
            Fmt::Json => {
                l.extend_from_slice(b"{\"time\":\"");
                if ev.tz != 0 {
                    let mut b = [0u8; 25];
                    fmt_iso(sec, ev.tz as i32, &mut b);
                    l.extend_from_slice(&b);
                } else {
                    l.extend_from_slice(&self.iso);
                }
                l.extend_from_slice(b"\",\"remote_addr\":\"");
                l.extend_from_slice(&c.ip);
                l.extend_from_slice(b"\",\"request_method\":\"");
                if ev.junk == 0 {
                    l.extend_from_slice(ev.method);
                }
                l.extend_from_slice(b"\",\"request_uri\":\"");
                if ev.junk == 0 {
                    l.extend_from_slice(ev.path.bytes());
                }
                l.extend_from_slice(b"\",\"status\":");
                push_u(l, ev.status as u64);
                l.extend_from_slice(b",\"body_bytes_sent\":");
                push_u(l, ev.bytes as u64);
                l.extend_from_slice(b",\"request_time\":");
                push_secs(l, ev.rt);
                l.extend_from_slice(b",\"http_user_agent\":\"");
                if ev.junk == 0 {
                    l.extend_from_slice(&ua.json);
                }
                l.extend_from_slice(b"\",\"request_id\":\"");
                let a = mix64(self.rid_seed ^ self.lines.wrapping_mul(0x9E37_79B9_7F4A_7C15));
                push_hex64(l, a);
                push_hex64(l, mix64(a ^ 0xD6E8_FEB8_6659_FD93));
                l.extend_from_slice(b"\",\"api_key\":\"");
                if ev.junk == 0 && c.key.as_slice() != b"-" {
                    l.extend_from_slice(&c.key);
                }
                l.extend_from_slice(b"\",\"http_x_forwarded_for\":\"");
                l.extend_from_slice(&c.xff);
                if ev.idem != 0 {
                    // a UUID v4, the same for every request of one operation
                    l.extend_from_slice(b"\",\"http_idempotency_key\":\"");
                    let a = mix64(self.rid_seed ^ 0x1DE4_7E4C_EB00_0000 ^ ev.idem as u64);
                    let b = mix64(a ^ 0xD6E8_FEB8_6659_FD93);
                    let mut h = Vec::with_capacity(32);
                    push_hex64(&mut h, a);
                    push_hex64(&mut h, b);
                    h[12] = b'4';
                    h[16] = HEX[8 | (b >> 62) as usize];
                    for (k, part) in [0..8, 8..12, 12..16, 16..20, 20..32]
                        .into_iter()
                        .enumerate()
                    {
                        if k > 0 {
                            l.push(b'-');
                        }
                        l.extend_from_slice(&h[part]);
                    }
                }
                l.extend_from_slice(b"\"}\n");
            }
        }
        if self.bytes + l.len() as u64 > self.max_bytes {
            return Ok(false);
        }
        self.w.write_all(l)?;
        self.bytes += l.len() as u64;
        self.lines += 1;
        if self.first_t == i64::MIN {
            self.first_t = ev.t;
        }
        self.last_t = ev.t;
        let conflict = match ev.status {
            409 => Some(0),
            412 => Some(1),
            423 => Some(2),
            428 => Some(3),
            _ => None,
        };
        if let Some(i) = conflict {
            self.by_status[i] += 1;
        }
        if ev.tag != 0 {
            let s = &mut self.stats[ev.tag as usize];
            s.lines += 1;
            s.first = s.first.min(ev.t);
            s.last = s.last.max(ev.t);
            if ev.tag != 8 {
                s.clients.insert(ev.client);
            }
            if conflict.is_some() {
                s.conflicts += 1;
                s.cfirst = s.cfirst.min(ev.t);
                s.clast = s.clast.max(ev.t);
                s.cclients.insert(ev.client);
                if ev.tag as usize <= CAUSES.len() {
                    s.cpaths.insert(ev.path.bytes().to_vec());
                }
            }
        }
        Ok(true)
    }
}

// ---------------------------------------------------------------- main

pub struct Cfg {
    fmt: Fmt,
    size: Option<u64>,
    lines: Option<u64>,
    conflict_rate: f64,
    clients: usize,
    seed: u64,
    start_ms: i64,
    rate: Option<f64>,
    incidents: bool,
    demo: bool,
    out: Option<String>,
    manifest: Option<String>,
}

fn die(msg: &str) -> ! {
    eprintln!("genlog: {msg}\nTry --help.");
    std::process::exit(2)
}

/// Parses genlog's command line (without the program name); the tests call this too.
pub fn parse_args_from(args: Vec<String>) -> Cfg {
    let mut c = Cfg {
        fmt: Fmt::Combined,
        size: None,
        lines: None,
        conflict_rate: 0.005,
        clients: 4000,
        seed: 42,
        start_ms: parse_rfc3339("2026-03-02T09:00:00Z").unwrap(),
        rate: None,
        incidents: true,
        demo: false,
        out: None,
        manifest: None,
    };
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (a, None),
        };
        let val = |i: &mut usize| -> String {
            if let Some(v) = inline.clone() {
                return v;
            }
            *i += 1;
            args.get(*i)
                .cloned()
                .unwrap_or_else(|| die(&format!("{name} needs a value")))
        };
        match name {
            "-h" | "--help" => {
                print!("{HELP}");
                std::process::exit(0)
            }
            "--format" => {
                c.fmt = match val(&mut i).as_str() {
                    "combined" => Fmt::Combined,
                    "extended" => Fmt::Extended,
                    "json" => Fmt::Json,
                    v => die(&format!("unknown format {v:?} (combined|extended|json)")),
                }
            }
            "--size" => {
                let v = val(&mut i);
                c.size = Some(parse_size(&v).unwrap_or_else(|| die(&format!("bad size {v:?}"))))
            }
            "--lines" => {
                let v = val(&mut i);
                c.lines = Some(
                    v.replace('_', "")
                        .parse()
                        .unwrap_or_else(|_| die(&format!("bad line count {v:?}"))),
                )
            }
            "--conflict-rate" => {
                let v = val(&mut i);
                c.conflict_rate = v
                    .parse()
                    .unwrap_or_else(|_| die(&format!("bad rate {v:?}")));
                if !(0.0..0.3).contains(&c.conflict_rate) {
                    die("--conflict-rate must be in [0, 0.3)")
                }
            }
            "--clients" => {
                let v = val(&mut i);
                c.clients = v
                    .parse()
                    .ok()
                    .filter(|&n: &usize| (1..=2_000_000).contains(&n))
                    .unwrap_or_else(|| die(&format!("bad client count {v:?} (1 to 2000000)")));
            }
            "--seed" => {
                let v = val(&mut i);
                c.seed = v
                    .parse()
                    .unwrap_or_else(|_| die(&format!("bad seed {v:?}")))
            }
            "--start" => {
                let v = val(&mut i);
                c.start_ms = parse_rfc3339(&v).unwrap_or_else(|| {
                    die(&format!("bad --start {v:?} (want 2026-03-02T09:00:00Z)"))
                })
            }
            "--rate" => {
                let v = val(&mut i);
                let r: f64 = v
                    .parse()
                    .unwrap_or_else(|_| die(&format!("bad --rate {v:?}")));
                if r.is_nan() || r <= 0.0 {
                    die("--rate must be > 0")
                }
                c.rate = Some(r)
            }
            "--incidents" => c.incidents = true,
            "--no-incidents" => c.incidents = false,
            "--demo" => c.demo = true,
            "--manifest" => c.manifest = Some(val(&mut i)),
            "-o" | "--output" => c.out = Some(val(&mut i)),
            _ => die(&format!("unknown argument {a:?}")),
        }
        i += 1;
    }
    c
}

/// measured mean line length of the background traffic per format
fn avg_line(fmt: Fmt) -> f64 {
    match fmt {
        Fmt::Combined => 185.0,
        Fmt::Extended => 241.0,
        Fmt::Json => 378.0,
    }
}

#[allow(dead_code)] // used as the example's entry point, not when included by the tests
fn main() {
    let cfg = parse_args_from(std::env::args().skip(1).collect());
    let res = match &cfg.out {
        Some(p) => {
            let f = std::fs::File::create(p)
                .unwrap_or_else(|e| die(&format!("cannot create {p}: {e}")));
            run(&cfg, BufWriter::with_capacity(4 << 20, f))
        }
        None => run(&cfg, BufWriter::with_capacity(4 << 20, io::stdout().lock())),
    };
    if let Err(e) = res {
        if e.kind() == io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("genlog: write error: {e}");
        std::process::exit(1);
    }
}

/// Writes the log described by `cfg` to `w`.
pub fn run<W: Write>(cfg: &Cfg, w: W) -> io::Result<()> {
    let started = Instant::now();
    let t0 = cfg.start_ms;
    let (mut g, rate, until, max_lines, max_bytes, diurnal) = if cfg.demo {
        let g = Gen::new(cfg.seed, 150, true, 0.0);
        (g, 1.0, Some(t0 + 3_600_000), u64::MAX, u64::MAX, false)
    } else {
        let (max_lines, max_bytes) = match (cfg.lines, cfg.size) {
            (None, None) => (u64::MAX, 1u64 << 30),
            (l, s) => (l.unwrap_or(u64::MAX), s.unwrap_or(u64::MAX)),
        };
        let est_lines = if max_lines != u64::MAX {
            max_lines as f64
        } else {
            max_bytes as f64 / avg_line(cfg.fmt)
        };
        let rate = cfg.rate.unwrap_or((est_lines / 86_400.0).max(1e-6));
        let p = cfg.conflict_rate;
        // a handled conflict adds two follow-up lines: p_start / (1 + 2 p_start) = rate
        let p_start = p / (1.0 - 1.9 * p);
        let g = Gen::new(cfg.seed, cfg.clients, false, p_start);
        (g, rate, None, max_lines, max_bytes, cfg.rate.is_none())
    };

    // ---- incidents
    if cfg.incidents {
        if cfg.demo {
            let m = 60_000i64;
            g.inc_hot_spot(t0 + 6 * m + 4_000);
            g.inc_stale_version(t0 + 12 * m + 9_000);
            g.inc_duplicate_create(t0 + 17 * m + 40_000);
            g.inc_retry_storm(t0 + 24 * m + 11_000);
            g.inc_in_progress(t0 + 30 * m + 7_000);
            g.inc_deploy(t0 + 35 * m, i64::MAX);
            g.inc_lock(t0 + 37 * m + 30_000);
            g.inc_state_transition(t0 + 40 * m + 15_000);
        } else {
            let est_lines = if max_lines != u64::MAX {
                max_lines as f64
            } else {
                max_bytes as f64 / avg_line(cfg.fmt)
            };
            let span = (est_lines / rate * 1000.0) as i64;
            // never before --start: some incidents have context up to ~7 min before their time
            let at = |f: f64| t0 + (span as f64 * f) as i64 + 10 * 60_000;
            g.inc_hot_spot(at(0.08));
            g.inc_stale_version(at(0.17));
            g.inc_duplicate_create(at(0.26));
            g.inc_retry_storm(at(0.35));
            g.inc_in_progress(at(0.44));
            g.inc_lock(at(0.53));
            g.inc_state_transition(at(0.60));
            g.inc_deploy(at(0.70), at(0.70) + (span / 8).max(30 * 60_000)); // ~3 h on a 1-day log, then rolled back
            // These four draw from streams of their own: the lines above stay as they were.
            g.with_own_rng(0xC0C0_0009, |g| {
                g.inc_client_concentration(at(0.02), at(0.90))
            });
            if cfg.fmt == Fmt::Json {
                g.with_own_rng(0x1DE4_000A, |g| g.inc_idempotency(at(0.47)));
            } else {
                // only JSON lines carry the key: noted in the manifest, nothing written
                g.info(
                    TAG_IDEMPOTENCY,
                    "POST /api/v1/payments".into(),
                    "not written: this format does not log the Idempotency-Key header",
                );
            }
            g.with_own_rng(0xC7A1_000B, |g| g.inc_sync_loop(at(0.13)));
            g.with_own_rng(0x9E7A_000C, |g| g.inc_permanent_retry(at(0.31)));
        }
    }
    if cfg.demo {
        // a handful of benign handled conflicts (409/412 -> GET -> 2xx by the same client)
        let m = 60_000i64;
        for (k, &(off, st)) in [
            (3 * m + 17_000, 409u16),
            (15 * m + 42_000, 409),
            (27 * m + 5_000, 412),
            (41 * m + 33_000, 409),
            (52 * m + 48_000, 409),
        ]
        .iter()
        .enumerate()
        {
            let c = [0u32, 2, 1, 4, 3][k];
            let path = if k == 2 {
                (PUT, g.p_doc(b""))
            } else if k == 4 {
                (PATCH, g.p_order(b""))
            } else {
                (PUT, g.p_order(b""))
            };
            let ev = g.handled(t0 + off, c, st, Some(path));
            g.push(ev);
        }
        // one lone create-if-absent 409
        let p = g.p_user();
        let ev = g.mk(t0 + 21 * m + 17_000, 5, PUT, p, 409, TAG_LONE);
        g.push(ev);
        // one junk line
        let mut ev = g.mk(t0 + 33 * m + 7_000, 60, b"", P::new(), 400, 0);
        ev.junk = 1;
        ev.bytes = 157;
        ev.rt = 0;
        g.push(ev);
    }

    let mut out = Out {
        w,
        fmt: cfg.fmt,
        line: Vec::with_capacity(1024),
        sec: i64::MIN,
        clf: [0; 26],
        iso: [0; 25],
        lines: 0,
        bytes: 0,
        max_lines,
        max_bytes,
        by_status: [0; 4],
        rid_seed: mix64(cfg.seed.wrapping_add(0x1234_5678)),
        stats: (0..NTAGS).map(|_| TagStat::new()).collect(),
        first_t: i64::MIN,
        last_t: i64::MIN,
    };

    // ---- main loop: background arrivals merged with pending events, in time order
    let mut tf = t0 as f64;
    let base_ms = 1000.0 / rate;
    'outer: loop {
        let u = g.rng.unit();
        let mut gap = -(1.0 - u).ln() * base_ms;
        if diurnal {
            // mild day/night cycle (+-25%), trough at night UTC
            let h = (tf / 3_600_000.0) % 24.0;
            gap /= 1.0 + 0.25 * ((h - 9.0) / 24.0 * std::f64::consts::TAU).sin();
        }
        tf += gap;
        let t = tf as i64;
        if let Some(u) = until.filter(|u| t >= *u) {
            while let Some(p) = g.heap.pop() {
                if p.t >= u || !out.emit(&p.ev, &g)? {
                    break;
                }
            }
            break;
        }
        while g.heap.peek().is_some_and(|p| p.t <= t) {
            let p = g.heap.pop().unwrap();
            if !out.emit(&p.ev, &g)? {
                break 'outer;
            }
        }
        let ev = g.background(t);
        if !out.emit(&ev, &g)? {
            break;
        }
    }
    out.w.flush()?;

    let el = started.elapsed().as_secs_f64();
    let [c409, c412, c423, c428] = out.by_status;
    let span = if out.lines > 0 {
        format!("{}..{}", rfc3339(out.first_t), rfc3339(out.last_t))
    } else {
        "-".into()
    };
    eprintln!(
        "genlog: lines={} bytes={} conflicts={} (409={} 412={} 423={} 428={}) span={} time={:.2}s ({:.0} MB/s)",
        out.lines,
        out.bytes,
        c409 + c412 + c423 + c428,
        c409,
        c412,
        c423,
        c428,
        span,
        el,
        out.bytes as f64 / 1e6 / el.max(1e-9)
    );
    if let Some(path) = &cfg.manifest {
        std::fs::write(path, manifest(&g, &out))
            .unwrap_or_else(|e| die(&format!("cannot write {path}: {e}")));
    }
    Ok(())
}

fn manifest<W: Write>(g: &Gen, out: &Out<W>) -> String {
    let mut s = String::from(
        "| cause | resource instance | clients with conflicts | other clients | conflicts span (UTC) | lines | conflict lines |\n|---|---|---|---|---|---|---|\n",
    );
    let ips = |set: &HashSet<u32>| -> String {
        let mut v: Vec<&u32> = set.iter().collect();
        v.sort();
        if v.len() > 8 {
            return format!("{} clients", v.len());
        }
        v.iter()
            .map(|&&c| String::from_utf8_lossy(&g.clients[c as usize].ip).into_owned())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut rows: Vec<(u8, String, String)> = g
        .incs
        .iter()
        .map(|i| (i.tag, i.instance.clone(), i.note.clone()))
        .collect();
    rows.sort_by_key(|r| r.0);
    rows.push((
        TAG_BENIGN,
        "(random instances)".into(),
        "benign handled conflicts".into(),
    ));
    rows.push((
        TAG_LONE,
        "(random PUT /api/v1/users/usr_…)".into(),
        "lone create-if-absent 409".into(),
    ));
    for (tag, inst, _note) in rows {
        let st = &out.stats[tag as usize];
        if st.lines == 0 {
            if tag == TAG_IDEMPOTENCY && out.fmt != Fmt::Json {
                s.push_str(&format!(
                    "| (idempotency_conflict: not written, {} lines do not log the Idempotency-Key header; see --format json) | `{inst}` | - | - | - | 0 | 0 |\n",
                    if out.fmt == Fmt::Combined { "combined" } else { "extended" }
                ));
            }
            continue;
        }
        let cause = match tag {
            TAG_BENIGN => "(benign, no finding)".to_string(),
            TAG_LONE => "(expected_exists, no finding)".to_string(),
            t => CAUSES[t as usize - 1].to_string(),
        };
        let inst = if tag == 7 || tag == 8 || tag == TAG_CONCENTRATION {
            format!("{inst} ({} instances)", st.cpaths.len())
        } else {
            inst
        };
        let others: HashSet<u32> = st.clients.difference(&st.cclients).copied().collect();
        let span = if st.conflicts > 0 {
            format!("{} – {}", rfc3339(st.cfirst), rfc3339(st.clast))
        } else {
            "-".into()
        };
        let lines = if tag == 8 {
            "-".to_string()
        } else {
            st.lines.to_string()
        };
        s.push_str(&format!(
            "| {cause} | `{inst}` | {} | {} | {span} | {lines} | {} |\n",
            ips(&st.cclients),
            if tag == 8 { "-".into() } else { ips(&others) },
            st.conflicts
        ));
    }
    s
}
