//! Resources: from a logged request target to the concrete *instance* (`/api/v1/orders/1042`)
//! and its *template* (`/api/v1/orders/{id}`).
//!
//! The instance is the path without query string, scheme/host or trailing slash. The template
//! replaces segments that look like identifiers with placeholders while keeping words
//! (`api`, `v1`, `export`, `cancel`, `items`, `lock`). User routes (`--route`) win over the
//! heuristics.

use std::borrow::Cow;

/// The instance path of a request target: query and fragment removed, absolute-form
/// `http://host/path` reduced to the path, trailing slashes trimmed (but `/` stays).
pub fn instance(target: &str) -> &str {
    let mut t = target;
    if let Some(p) = memchr::memchr2(b'?', b'#', t.as_bytes()) {
        t = &t[..p];
    }
    if !t.starts_with('/') {
        if let Some(p) = t.find("://") {
            let after = &t[p + 3..];
            t = after.find('/').map_or("/", |s| &after[s..]);
        } else if t.is_empty() {
            return "";
        }
    }
    let trimmed = t.trim_end_matches('/');
    if trimmed.is_empty() && t.starts_with('/') {
        "/"
    } else {
        trimmed
    }
}

/// The parent instance: `/orders/1/items` → `/orders/1`; `None` at the root.
pub fn parent(instance: &str) -> Option<&str> {
    let p = instance.rfind('/')?;
    if p == 0 {
        return if instance.len() > 1 { Some("/") } else { None };
    }
    Some(&instance[..p])
}

/// What a path segment is, when it is not a plain word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    Id,
    Email,
    Date,
}

impl Placeholder {
    pub fn as_str(self) -> &'static str {
        match self {
            Placeholder::Id => "{id}",
            Placeholder::Email => "{email}",
            Placeholder::Date => "{date}",
        }
    }
}

/// Classifies one path segment: `Some(placeholder)` for identifiers, `None` for words.
pub fn classify(seg: &str) -> Option<Placeholder> {
    let b = seg.as_bytes();
    if b.is_empty() {
        return None;
    }
    // One pass over the bytes; most segments are short words and leave here.
    let (mut digits, mut letters, mut at) = (0usize, 0usize, false);
    for &c in b {
        if c.is_ascii_digit() {
            digits += 1;
        } else if c.is_ascii_alphabetic() {
            letters += 1;
        } else if c == b'@' || c == b'%' {
            at = true;
        }
    }
    if digits == 0 && !at && b.len() < 16 {
        return None;
    }
    // Numbers: 42, 00017, -1
    if digits == b.len() || (b[0] == b'-' && digits == b.len() - 1 && digits > 0) {
        return Some(Placeholder::Id);
    }
    // Nothing below matches fewer than 5 bytes (`v1`, `s3`, `md5` stay words).
    if b.len() < 5 {
        return None;
    }
    // Dates: 2026-03-02, 2026-03-02T09:00:00Z
    if b.len() >= 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[5..7].iter().all(u8::is_ascii_digit)
    {
        return Some(Placeholder::Date);
    }
    // Emails (possibly percent-encoded @)
    if (seg.contains('@') || seg.contains("%40")) && seg.contains('.') {
        return Some(Placeholder::Email);
    }
    // UUIDs
    if b.len() == 36
        && b.iter().enumerate().all(|(i, &c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
    {
        return Some(Placeholder::Id);
    }
    // Hex hashes and object ids: deadbeef01, 5f2b8c0e9a1d4e7f...
    if b.len() >= 8 && digits > 0 && b.iter().all(u8::is_ascii_hexdigit) {
        return Some(Placeholder::Id);
    }
    if b.len() >= 16 && b.iter().all(u8::is_ascii_hexdigit) {
        return Some(Placeholder::Id);
    }
    // ULIDs: 26 chars of Crockford base32, upper case.
    if b.len() == 26
        && digits > 0
        && b.iter()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
    {
        return Some(Placeholder::Id);
    }
    // Prefixed opaque ids: usr_729f65ff94, ord_318a95469e, cus-9KX2, SKU-00042
    if let Some(p) = seg.find(['_', '-']) {
        let (prefix, rest) = (&b[..p], &b[p + 1..]);
        let rest_digits = rest.iter().filter(|c| c.is_ascii_digit()).count();
        if !prefix.is_empty()
            && prefix.len() <= 12
            && prefix.iter().all(u8::is_ascii_alphabetic)
            && rest.len() >= 3
            && rest_digits > 0
            && rest
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-')
        {
            return Some(Placeholder::Id);
        }
    }
    // Long base64/base62-like tokens: mixes of letters and digits, ≥ 16 chars.
    if b.len() >= 16
        && digits > 0
        && letters > 0
        && b.iter().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'=' | b'+' | b'.' | b'~')
        })
    {
        return Some(Placeholder::Id);
    }
    // Shorter mixed tokens with several digits: ab12cd34, x9y8z7 (but not v1, oauth2, sha256).
    if b.len() >= 6
        && digits >= 3
        && letters >= 2
        && b.iter().all(u8::is_ascii_alphanumeric)
        && !looks_like_word_with_number(b)
    {
        return Some(Placeholder::Id);
    }
    None
}

/// `sha256`, `base64`, `http2`: letters followed by a short number are names, not ids.
fn looks_like_word_with_number(b: &[u8]) -> bool {
    let split = b.iter().position(u8::is_ascii_digit).unwrap_or(b.len());
    split >= 2
        && b.len() - split <= 3
        && b[split..].iter().all(u8::is_ascii_digit)
        && b[..split].iter().all(u8::is_ascii_alphabetic)
}

/// A user route (`--route /repos/{owner}/{repo}/pulls/{n}`): literal segments must match,
/// `{name}` matches any one segment, a trailing `{name*}` matches the rest.
#[derive(Debug, Clone)]
pub struct Route {
    text: String,
    segments: Vec<RouteSeg>,
}

#[derive(Debug, Clone, PartialEq)]
enum RouteSeg {
    Literal(String),
    Any,
    Rest,
}

impl Route {
    pub fn parse(s: &str) -> Result<Route, String> {
        if !s.starts_with('/') {
            return Err(format!("route '{s}' must start with '/'"));
        }
        let mut segments = Vec::new();
        let parts: Vec<&str> = s.trim_end_matches('/').split('/').skip(1).collect();
        for (i, p) in parts.iter().enumerate() {
            if p.starts_with('{') && p.ends_with('}') {
                if p.ends_with("*}") {
                    if i + 1 != parts.len() {
                        return Err(format!("route '{s}': {p} must be the last segment"));
                    }
                    segments.push(RouteSeg::Rest);
                } else {
                    segments.push(RouteSeg::Any);
                }
            } else if p.contains(['{', '}']) {
                return Err(format!(
                    "route '{s}': a placeholder must be a whole segment, not '{p}'"
                ));
            } else {
                segments.push(RouteSeg::Literal(p.to_string()));
            }
        }
        Ok(Route {
            text: s.trim_end_matches('/').to_string(),
            segments,
        })
    }

    pub fn matches(&self, instance: &str) -> bool {
        let mut parts = instance.split('/').skip(1).filter(|s| !s.is_empty());
        for seg in &self.segments {
            match seg {
                RouteSeg::Rest => return parts.next().is_some(),
                RouteSeg::Any => {
                    if parts.next().is_none() {
                        return false;
                    }
                }
                RouteSeg::Literal(l) => {
                    if parts.next() != Some(l.as_str()) {
                        return false;
                    }
                }
            }
        }
        parts.next().is_none()
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Turns instances into templates: user routes first (in the order given), then heuristics.
#[derive(Debug, Clone, Default)]
pub struct Templater {
    routes: Vec<Route>,
}

impl Templater {
    pub fn new(routes: Vec<Route>) -> Templater {
        Templater { routes }
    }

    pub fn template<'a>(&self, instance: &'a str) -> Cow<'a, str> {
        let mut out = String::new();
        if self.template_into(instance, &mut out) {
            Cow::Owned(out)
        } else {
            Cow::Borrowed(if instance.is_empty() {
                NO_PATH
            } else {
                instance
            })
        }
    }

    /// Writes the template of `instance` into `out` (cleared first) and returns true, or
    /// returns false when the template is the instance itself (nothing to replace) — the hot
    /// path, which then copies nothing.
    pub fn template_into(&self, instance: &str, out: &mut String) -> bool {
        out.clear();
        if instance.is_empty() {
            return false;
        }
        for r in &self.routes {
            if r.matches(instance) {
                out.push_str(&r.text);
                return true;
            }
        }
        let b = instance.as_bytes();
        let mut start = 0;
        let mut replaced = false;
        loop {
            let end = memchr::memchr(b'/', &b[start..]).map_or(b.len(), |p| start + p);
            let seg = &instance[start..end];
            if let Some(p) = classify(seg) {
                if !replaced {
                    out.push_str(&instance[..start]);
                    replaced = true;
                }
                out.push_str(p.as_str());
            } else if replaced {
                out.push_str(seg);
            }
            if end == b.len() {
                break;
            }
            if replaced {
                out.push('/');
            }
            start = end + 1;
        }
        if !replaced {
            out.clear();
        }
        replaced
    }
}

/// Remembers the templates of instance *parents* (`/api/v1/orders` for
/// `/api/v1/orders/8571015`), so the segments every line of a route shares are classified once
/// per chunk, not once per line. Bounded: it starts over past `TemplateCache::MAX` entries.
#[derive(Debug, Default)]
pub struct TemplateCache {
    /// parent instance → its template, or `None` when it is its own template.
    parents: rustc_hash::FxHashMap<Box<str>, Option<Box<str>>>,
}

impl TemplateCache {
    const MAX: usize = 16 * 1024;
}

impl Templater {
    /// Like `template_into`, using `cache` for the parent part when there are no user routes
    /// (a route can match a whole path only).
    pub fn template_cached(
        &self,
        instance: &str,
        cache: &mut TemplateCache,
        out: &mut String,
    ) -> bool {
        if !self.routes.is_empty() {
            return self.template_into(instance, out);
        }
        let Some(slash) = instance.rfind('/').filter(|&p| p > 0) else {
            return self.template_into(instance, out);
        };
        let (parent, last) = (&instance[..slash], &instance[slash + 1..]);
        let parent_template = match cache.parents.get(parent) {
            Some(t) => t.as_deref(),
            None => {
                if cache.parents.len() >= TemplateCache::MAX {
                    cache.parents.clear();
                }
                let mut t = String::new();
                let changed = self.template_into(parent, &mut t);
                cache
                    .parents
                    .entry(parent.into())
                    .or_insert(changed.then(|| t.into_boxed_str()))
                    .as_deref()
            }
        };
        let last_class = classify(last);
        out.clear();
        match (parent_template, last_class) {
            (None, None) => false,
            (pt, lc) => {
                out.push_str(pt.unwrap_or(parent));
                out.push('/');
                out.push_str(lc.map_or(last, |p| p.as_str()));
                true
            }
        }
    }
}

/// The template of requests without a usable request line (`"-"`, `""`, junk).
pub const NO_PATH: &str = "(no request line)";

#[cfg(test)]
mod tests {
    use super::*;

    fn t(path: &str) -> String {
        Templater::default().template(instance(path)).into_owned()
    }

    #[test]
    fn instances() {
        assert_eq!(instance("/orders/1?x=1"), "/orders/1");
        assert_eq!(instance("/orders/1/"), "/orders/1");
        assert_eq!(instance("/"), "/");
        assert_eq!(instance("http://api.example.com/orders/1?x"), "/orders/1");
        assert_eq!(instance(""), "");
        assert_eq!(parent("/orders/1/items"), Some("/orders/1"));
        assert_eq!(parent("/orders"), Some("/"));
        assert_eq!(parent("/"), None);
    }

    #[test]
    fn templates_keep_words_and_replace_ids() {
        assert_eq!(t("/api/v1/users/42"), "/api/v1/users/{id}");
        assert_eq!(t("/api/v1/orders/1042/items"), "/api/v1/orders/{id}/items");
        assert_eq!(
            t("/api/v1/orders/1042/cancel"),
            "/api/v1/orders/{id}/cancel"
        );
        assert_eq!(
            t("/api/v1/docs/3f2504e0-4f89-11d3-9a0c-0305e82c3301/lock"),
            "/api/v1/docs/{id}/lock"
        );
        assert_eq!(t("/api/v1/users/usr_729f65ff94"), "/api/v1/users/{id}");
        assert_eq!(t("/orders/ord_318a95469e/export"), "/orders/{id}/export");
        assert_eq!(t("/objects/01ARZ3NDEKTSV4RRFFQ69G5FAV"), "/objects/{id}");
        assert_eq!(t("/blobs/5f2b8c0e9a1d4e7fb3c6a2d1e0f9b8a7"), "/blobs/{id}");
        assert_eq!(t("/users/jane.doe@example.com"), "/users/{email}");
        assert_eq!(t("/reports/2026-03-02/export"), "/reports/{date}/export");
        assert_eq!(t("/tokens/dGhpcyBpcyBhIHRva2VuMTIz"), "/tokens/{id}");
        assert_eq!(t("/inventory/SKU-00042"), "/inventory/{id}");
        // Words, versions and names with numbers stay.
        assert_eq!(t("/api/v2/oauth2/token"), "/api/v2/oauth2/token");
        assert_eq!(t("/hash/sha256"), "/hash/sha256");
        assert_eq!(t("/api/v1/export"), "/api/v1/export");
        assert_eq!(t("/api/v1/items/lock"), "/api/v1/items/lock");
        assert_eq!(t("/read-me/cafe"), "/read-me/cafe");
        assert_eq!(t(""), NO_PATH);
    }

    #[test]
    fn cached_templates_equal_uncached() {
        let tm = Templater::default();
        let mut cache = TemplateCache::default();
        let mut a = String::new();
        let mut b = String::new();
        for p in [
            "/api/v1/orders/1",
            "/api/v1/orders/2/items",
            "/api/v1/orders/2/items/9",
            "/",
            "/health",
            "/api/v1/users/usr_729f65ff94",
            "/a//b",
            "/x/",
            "/orders/1/cancel",
            "/reports/2026-03-02/export",
        ] {
            let i = instance(p);
            let x = tm.template_into(i, &mut a);
            let y = tm.template_cached(i, &mut cache, &mut b);
            assert_eq!(x, y, "{p}");
            if x {
                assert_eq!(a, b, "{p}");
            }
        }
    }

    #[test]
    fn user_routes_take_precedence() {
        let tm = Templater::new(vec![
            Route::parse("/repos/{owner}/{repo}/pulls/{n}").unwrap(),
            Route::parse("/files/{path*}").unwrap(),
        ]);
        assert_eq!(
            tm.template("/repos/rust-lang/rust/pulls/123"),
            "/repos/{owner}/{repo}/pulls/{n}"
        );
        assert_eq!(tm.template("/files/a/b/c.txt"), "/files/{path*}");
        assert_eq!(
            tm.template("/repos/rust-lang/rust"),
            "/repos/rust-lang/rust"
        );
        assert!(Route::parse("repos").is_err());
        assert!(Route::parse("/a/x{id}").is_err());
    }
}
