//! What a text that no access-log format reads is, where its first line tells: an nginx or
//! Apache error log (which sits beside the access log in `/var/log/nginx/`, so a run on the
//! directory meets it), Apache's mod_ssl request log (beside it too, without a status), or
//! a JSON document where a log of one object a line belongs (a pretty-printed
//! documentation sample, a log UI's export as one array). The message then says what the
//! file is and what to do, instead of listing every format tried.
//!
//! ```text
//! 2026/03/02 09:14:05 [error] 1234#1234: *5678 upstream timed out (110: Connection timed out) …
//! [Mon Mar 02 09:14:05.123456 2026] [proxy:error] [pid 1234:tid 140] (111)Connection refused: …
//! [Mon Mar 02 09:14:05 2026] [error] [client 203.0.113.7] File does not exist: /var/www/favicon.ico
//! [02/Mar/2026:09:14:05 +0000] 203.0.113.7 TLSv1.3 TLS_AES_256_GCM_SHA384 "PUT /api/v1/orders/1042 HTTP/1.1" 157
//! ```

/// What a file is, told by its first line, and what to do with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Told {
    /// What the file is: `an nginx error log, not an access log`.
    pub what: &'static str,
    /// What to do, after the quoted line, if there is something to.
    pub then: Option<&'static str>,
    /// What files of the kind are, where several found in a directory are named in one
    /// warning (a rotated set of error logs).
    pub many: Option<&'static str>,
}

/// The kind of text that `first`, a file's first line with text, opens, if it is one of
/// those told apart.
pub(super) fn kind_of(first: &[u8]) -> Option<Told> {
    let line = first.trim_ascii();
    if nginx_error(line) {
        return Some(Told {
            what: "an nginx error log, not an access log",
            then: None,
            many: Some("nginx error logs, not access logs"),
        });
    }
    if apache_error(line) {
        return Some(Told {
            what: "an Apache error log, not an access log",
            then: None,
            many: Some("Apache error logs, not access logs"),
        });
    }
    if ssl_request(line) {
        return Some(Told {
            what: "an Apache mod_ssl request log (ssl_request_log), which logs no status",
            then: Some("the access log beside it has the statuses"),
            many: Some("Apache mod_ssl request logs, which log no status"),
        });
    }
    json_document(line)
}

/// The error levels nginx and Apache write (Apache 2.4 has eight trace levels past debug).
const LEVELS: [&str; 16] = [
    "debug", "info", "notice", "warn", "error", "crit", "alert", "emerg", "trace1", "trace2",
    "trace3", "trace4", "trace5", "trace6", "trace7", "trace8",
];

/// `2026/03/02 09:14:05 [error] ` (nginx's `ngx_log_error`: local time, then the level).
fn nginx_error(line: &[u8]) -> bool {
    let Some((stamp, rest)) = line.split_at_checked(20) else {
        return false;
    };
    let shape = b"dddd/dd/dd dd:dd:dd ";
    let stamped = (stamp.iter().zip(shape)).all(|(&c, &s)| match s {
        b'd' => c.is_ascii_digit(),
        _ => c == s,
    });
    stamped && leveled(rest)
}

/// `[Mon Mar 02 09:14:05.123456 2026] [proxy:error] ` (Apache 2.4: the module before the
/// level) or `[Mon Mar 02 09:14:05 2026] [error] ` (2.2).
fn apache_error(line: &[u8]) -> bool {
    let Some((stamp, rest)) = bracketed(line) else {
        return false;
    };
    let words: Vec<&[u8]> = stamp
        .split(|&c| c == b' ')
        .filter(|w| !w.is_empty())
        .collect();
    let dated = words.len() == 5
        && words[0].len() == 3
        && words[0].iter().all(u8::is_ascii_alphabetic)
        && words[1].len() == 3
        && words[3].contains(&b':')
        && words[4].len() == 4
        && words[4].iter().all(u8::is_ascii_digit);
    dated && leveled(rest.trim_ascii_start())
}

/// `[02/Mar/2026:09:14:05 +0000] 203.0.113.7 TLSv1.3 TLS_AES_256_GCM_SHA384 "PUT …" 157`:
/// mod_ssl's `%t %h %{SSL_PROTOCOL}x %{SSL_CIPHER}x "%r" %b`, its default `ssl_request_log`.
fn ssl_request(line: &[u8]) -> bool {
    let Some((stamp, rest)) = bracketed(line) else {
        return false;
    };
    let clf_time = stamp.len() >= 26 && stamp[2] == b'/' && stamp[6] == b'/' && stamp[11] == b':';
    let mut words = rest.split(|&c| c == b' ').filter(|w| !w.is_empty());
    let (_client, protocol) = (words.next(), words.next().unwrap_or_default());
    let tls = [&b"TLSv"[..], b"SSLv"]
        .iter()
        .any(|p| protocol.starts_with(p));
    let request = words.nth(1).is_some_and(|w| w.starts_with(b"\""));
    clf_time && tls && request
}

/// Whether `text` starts with a level in brackets: `[error]`, or `[module:error]`.
fn leveled(text: &[u8]) -> bool {
    let Some((tag, _)) = bracketed(text) else {
        return false;
    };
    let level = match tag.iter().rposition(|&c| c == b':') {
        Some(colon) => &tag[colon + 1..],
        None => tag,
    };
    LEVELS.iter().any(|l| l.as_bytes() == level)
}

/// What `[` … `]` at the start of `text` holds, and what follows.
fn bracketed(text: &[u8]) -> Option<(&[u8], &[u8])> {
    let inner = text.strip_prefix(b"[")?;
    let end = inner.iter().position(|&c| c == b']')?;
    Some((&inner[..end], &inner[end + 1..]))
}

/// An object or an array written over several lines, or an array on one line.
fn json_document(line: &[u8]) -> Option<Told> {
    const OBJECTS: &str = "where a log has one JSON object a line: `jq -c . FILE | why409 -`";
    const ELEMENTS: &str = "where a log has one JSON object a line: `jq -c '.[]' FILE | why409 -`";
    let (open, rest) = line.split_first()?;
    let what = match (open, rest.trim_ascii_start().first()) {
        (b'{', None) => "a JSON object written over several lines",
        (b'[', None) => "a JSON array written over several lines",
        (b'[', Some(b'{')) => "a JSON array",
        _ => return None,
    };
    let (then, many) = match open {
        b'{' => (
            OBJECTS,
            "JSON objects written over several lines, where a log has one object a line (`jq -c . FILE | why409 -` reads one)",
        ),
        _ => (
            ELEMENTS,
            "JSON arrays, where a log has one JSON object a line (`jq -c '.[]' FILE | why409 -` reads one)",
        ),
    };
    Some(Told {
        what,
        then: Some(then),
        many: Some(many),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn what(line: &str) -> Option<&'static str> {
        kind_of(line.as_bytes()).map(|t| t.what)
    }

    #[test]
    fn error_logs_are_told_by_their_stamp_and_level() {
        let nginx = "2026/03/02 09:14:05 [error] 1234#1234: *5678 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 203.0.113.7";
        assert_eq!(what(nginx), Some("an nginx error log, not an access log"));
        assert_eq!(what("2026/03/02 09:14:06 [warn] 1#1: a"), what(nginx));
        assert_eq!(what("2026/03/02 09:14:06 [emerg] 1#1: a"), what(nginx));
        let trace = "[Mon Mar 02 09:14:05.123456 2026] [http2:trace4] [pid 9:tid 3] h2_stream.c(548): AH03082: h2_stream(1-1,open): ...";
        assert_eq!(what(trace), Some("an Apache error log, not an access log"));
        let apache = "[Mon Mar 02 09:14:05.123456 2026] [proxy:error] [pid 1234:tid 140] (111)Connection refused: AH00957";
        assert_eq!(what(apache), Some("an Apache error log, not an access log"));
        let apache22 = "[Mon Mar 02 09:14:05 2026] [error] [client 203.0.113.7] File does not exist: /var/www/favicon.ico";
        assert_eq!(what(apache22), what(apache));
        assert_eq!(
            what("[Mon Mar  2 09:14:05 2026] [notice] Apache configured"),
            what(apache)
        );
        // Access logs, and look-alikes with another level or shape, are not.
        for not in [
            "203.0.113.7 - - [02/Mar/2026:09:14:05 +0000] \"PUT /api/v1/orders/1042 HTTP/1.1\" 409 157 \"-\" \"curl/8.5.0\"",
            "2026/03/02 09:14:05 [fatal] 1#1: a",
            "2026/03/02 09:14:05 error 1#1: a",
            "2026-03-02 09:14:05 [error] 1#1: a",
            "[Mon Mar 02 09:14:05 2026] [oops] x",
            "[Mon Mar 02 09:14:05 2026]",
            "",
        ] {
            assert_eq!(what(not), None, "{not}");
        }
    }

    #[test]
    fn ssl_request_logs_are_told_as_logging_no_status() {
        let told = what(
            "[02/Mar/2026:09:14:05 +0000] 203.0.113.7 TLSv1.3 TLS_AES_256_GCM_SHA384 \"PUT /api/v1/orders/1042 HTTP/1.1\" 157",
        );
        assert_eq!(
            told,
            Some("an Apache mod_ssl request log (ssl_request_log), which logs no status")
        );
        let ipv6_old_tls =
            "[16/Oct/2019:11:53:47 +0200] 2001:db8::7 SSLv3 RC4-SHA \"GET / HTTP/1.0\" -";
        assert_eq!(what(ipv6_old_tls), told);
        for not in [
            // A CLF time first, but the request where the protocol would be.
            "[02/Mar/2026:09:14:05 +0000] 203.0.113.7 \"GET / HTTP/1.1\" 409 157",
            // The cipher not followed by a request.
            "[02/Mar/2026:09:14:05 +0000] 203.0.113.7 TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256",
            "[02/Mar/2026] 203.0.113.7 TLSv1.2 ECDHE \"GET / HTTP/1.1\" 1",
        ] {
            assert_eq!(what(not), None, "{not}");
        }
    }

    #[test]
    fn json_documents_are_told_with_their_jq_filter() {
        let of = |l: &str| kind_of(l.as_bytes());
        let object = of("{").unwrap();
        assert_eq!(object.what, "a JSON object written over several lines");
        assert!(object.then.unwrap().contains("`jq -c . FILE | why409 -`"));
        assert_eq!(of("  { \r"), of("{"));
        let array = of("[").unwrap();
        assert_eq!(array.what, "a JSON array written over several lines");
        assert!(
            array
                .then
                .unwrap()
                .contains("`jq -c '.[]' FILE | why409 -`")
        );
        assert_eq!(of("[{\"a\":1},{\"a\":2}]").unwrap().what, "a JSON array");
        assert_eq!(of("[ {"), of("[{}]"));
        for not in [
            "{\"status\":409}",
            "[02/Mar/2026:09:00:00 +0000] x",
            "",
            "[]x",
            "-",
        ] {
            assert_eq!(of(not), None, "{not}");
        }
    }
}
