//! The parsed request: what every log format is normalised to.
//!
//! A `Request<'a>` borrows from the log line wherever it can (`Cow::Borrowed`), so parsing a
//! line allocates nothing unless a field had escapes that must be undone. Times are
//! microseconds since the Unix epoch, UTC.

use std::borrow::Cow;

/// Microseconds since 1970-01-01T00:00:00Z.
pub type Micros = i64;

/// Text taken from a log line: borrowed unless unescaping was needed.
pub type Text<'a> = Cow<'a, str>;

/// The HTTP method, with the WebDAV lock verbs that matter for 423 analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
    Options,
    Lock,
    Unlock,
    /// Any other verb, including junk such as `PATCHp`.
    #[default]
    Other,
}

impl Method {
    pub fn parse(token: &[u8]) -> Method {
        match token {
            b"GET" => Method::Get,
            b"HEAD" => Method::Head,
            b"POST" => Method::Post,
            b"PUT" => Method::Put,
            b"PATCH" => Method::Patch,
            b"DELETE" => Method::Delete,
            b"OPTIONS" => Method::Options,
            b"LOCK" => Method::Lock,
            b"UNLOCK" => Method::Unlock,
            _ => {
                // Some formats log methods in lower case; accept that without allocating.
                if token.len() <= 7 && token.iter().any(u8::is_ascii_lowercase) {
                    let mut buf = [0u8; 7];
                    for (d, s) in buf.iter_mut().zip(token) {
                        *d = s.to_ascii_uppercase();
                    }
                    let up = &buf[..token.len()];
                    if up.iter().any(u8::is_ascii_lowercase) || up == token {
                        return Method::Other;
                    }
                    return Method::parse(up);
                }
                Method::Other
            }
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Lock => "LOCK",
            Method::Unlock => "UNLOCK",
            Method::Other => "OTHER",
        }
    }

    /// Writes change state: POST, PUT, PATCH, DELETE (and the WebDAV lock verbs).
    pub fn is_write(self) -> bool {
        matches!(
            self,
            Method::Post
                | Method::Put
                | Method::Patch
                | Method::Delete
                | Method::Lock
                | Method::Unlock
        )
    }

    /// Reads that show a client refreshed its view of a resource.
    pub fn is_read(self) -> bool {
        matches!(self, Method::Get | Method::Head)
    }
}

/// What the logged timestamp marks: when the request arrived or when it was logged (ended).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeAnchor {
    /// Apache `%t`, Envoy `START_TIME`, HAProxy accept date, ...
    Start,
    /// nginx `$time_local` (log write), ALB `time`, ...
    #[default]
    End,
}

/// Whether a log wrote a value in a field: not empty and not `-`, the usual "none".
pub fn is_logged(v: &str) -> bool {
    !v.is_empty() && v != "-"
}

/// One request as the gateway logged it.
#[derive(Debug, Clone, Default)]
pub struct Request<'a> {
    /// The logged timestamp (see `anchor`).
    pub time: Micros,
    pub anchor: TimeAnchor,
    /// Total time at the proxy, when logged.
    pub duration_us: Option<u64>,
    pub method: Method,
    /// The request target as logged (path and query, maybe absolute-form). Empty when the
    /// request line was missing or unparsable.
    pub target: Text<'a>,
    /// Status sent to the client.
    pub status: u16,
    /// Status returned by the upstream, when logged (the last one tried); `Some(0)` when the
    /// line says no upstream answered (`-`, empty or 0 where the format logs one, Kong's
    /// `source` `kong` or `exit`), `None` when the format does not log it.
    pub upstream_status: Option<u16>,
    /// The remote address (TCP peer or real-ip), without port.
    pub remote: Text<'a>,
    /// The raw X-Forwarded-For chain, when logged.
    pub xff: Option<Text<'a>>,
    pub user: Option<Text<'a>>,
    pub api_key: Option<Text<'a>>,
    pub consumer: Option<Text<'a>>,
    pub request_id: Option<Text<'a>>,
    pub host: Option<Text<'a>>,
    pub user_agent: Option<Text<'a>>,
    pub bytes_sent: Option<u64>,
    /// Where a lite read (`LineContext::lite`) stopped, for the format's `complete` to go on
    /// from: the end of the line that holds only fields a lite read leaves out. Empty after
    /// a full read, and for formats that read their lines again in full.
    pub unread: &'a [u8],
}

/// Who produced the response the client got, as far as the line tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Origin {
    /// The format does not log the upstream's status.
    #[default]
    Unknown,
    /// The upstream answered with the status the client got.
    Upstream,
    /// The gateway answered itself: no upstream answered.
    Gateway,
    /// The upstream answered with another status, which the gateway replaced.
    Rewritten,
}

impl Origin {
    /// The name reports give it; none when the log does not tell.
    pub fn name(self) -> Option<&'static str> {
        match self {
            Origin::Unknown => None,
            Origin::Upstream => Some("upstream"),
            Origin::Gateway => Some("gateway"),
            Origin::Rewritten => Some("rewritten"),
        }
    }
}

impl<'a> Request<'a> {
    /// Makes this `Request::default()` again, for the next line. The pass reuses one
    /// request: clearing it in place costs less than building a fresh one per line and
    /// dropping it through a call.
    #[inline]
    pub fn reset(&mut self) {
        // Destructured, so that a new field cannot be missed here.
        let Request {
            time,
            anchor,
            duration_us,
            method,
            target,
            status,
            upstream_status,
            remote,
            xff,
            user,
            api_key,
            consumer,
            request_id,
            host,
            user_agent,
            bytes_sent,
            unread,
        } = self;
        *time = 0;
        *anchor = TimeAnchor::default();
        *duration_us = None;
        *method = Method::default();
        *target = Text::Borrowed("");
        *status = 0;
        *upstream_status = None;
        *remote = Text::Borrowed("");
        *xff = None;
        *user = None;
        *api_key = None;
        *consumer = None;
        *request_id = None;
        *host = None;
        *user_agent = None;
        *bytes_sent = None;
        *unread = &[];
    }

    /// Who produced the response (see `upstream_status`).
    pub fn origin(&self) -> Origin {
        match self.upstream_status {
            None => Origin::Unknown,
            Some(0) => Origin::Gateway,
            Some(s) if s == self.status => Origin::Upstream,
            Some(_) => Origin::Rewritten,
        }
    }

    /// Start and end of the request, using the duration when logged.
    pub fn interval(&self) -> (Micros, Micros) {
        let d = self.duration_us.unwrap_or(0) as i64;
        match self.anchor {
            TimeAnchor::Start => (self.time, self.time.saturating_add(d)),
            TimeAnchor::End => (self.time.saturating_sub(d), self.time),
        }
    }
}

/// A set of HTTP statuses (the conflict statuses), asked once per line: one bit each.
#[derive(Debug, Clone, Default)]
pub struct StatusSet([u64; 16]);

impl StatusSet {
    pub fn new(statuses: &[u16]) -> StatusSet {
        let mut set = StatusSet::default();
        for &s in statuses.iter().filter(|&&s| s < 1024) {
            set.0[s as usize / 64] |= 1 << (s % 64);
        }
        set
    }

    #[inline]
    pub fn contains(&self, status: u16) -> bool {
        let s = status as usize;
        s < 1024 && self.0[s / 64] >> (s % 64) & 1 != 0
    }
}

/// Why a line was not turned into a `Request`. The reason is a stable snake_case key used in
/// the JSON report (`skip_reasons`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Skip(pub &'static str);

impl Skip {
    pub const BLANK: Skip = Skip("blank_line");
    pub const DIRECTIVE: Skip = Skip("header_or_comment");
    pub const BAD_TIME: Skip = Skip("bad_timestamp");
    pub const BAD_STATUS: Skip = Skip("bad_status");
    pub const MALFORMED: Skip = Skip("malformed_line");
    pub const TOO_LONG: Skip = Skip("line_too_long");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_set_holds_exactly_its_statuses() {
        let set = StatusSet::new(&[409, 412, 423, 428, 100, 999, 5000]);
        let held: Vec<u16> = (0..=u16::MAX).filter(|&s| set.contains(s)).collect();
        assert_eq!(held, [100, 409, 412, 423, 428, 999]);
        assert!(!StatusSet::new(&[]).contains(409));
    }

    #[test]
    fn a_reset_request_is_a_default_one() {
        let mut r = Request {
            time: 1,
            anchor: TimeAnchor::Start,
            duration_us: Some(2),
            method: Method::Put,
            target: Text::Owned("/a".into()),
            status: 409,
            upstream_status: Some(409),
            remote: Text::Borrowed("10.0.0.1"),
            xff: Some(Text::Owned("10.0.0.2".into())),
            user: Some(Text::Borrowed("u")),
            api_key: Some(Text::Borrowed("k")),
            consumer: Some(Text::Borrowed("c")),
            request_id: Some(Text::Borrowed("r")),
            host: Some(Text::Borrowed("h")),
            user_agent: Some(Text::Borrowed("ua")),
            bytes_sent: Some(3),
            unread: b"3 \"-\"",
        };
        r.reset();
        assert_eq!(format!("{r:?}"), format!("{:?}", Request::default()));
    }
}
