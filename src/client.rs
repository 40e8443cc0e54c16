//! Who made a request: the client key chosen with `--client`.
//!
//! The remote address is the default. `xff` takes the first X-Forwarded-For address (the
//! original client as the first proxy saw it); `api-key`, `consumer` and `user` take the
//! identity the gateway logged; `header:NAME` asks the format for a logged request header.
//! When the chosen field is missing on a line, the remote address stands in, so anonymous
//! requests are not merged into one giant client.

use crate::format::Format;
use crate::record::{Request, Text};
use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ClientKey {
    #[default]
    Ip,
    Xff,
    ApiKey,
    Consumer,
    User,
    Header(String),
}

impl std::str::FromStr for ClientKey {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "ip" | "remote" | "addr" => ClientKey::Ip,
            "xff" | "x-forwarded-for" => ClientKey::Xff,
            "api-key" | "apikey" | "key" => ClientKey::ApiKey,
            "consumer" => ClientKey::Consumer,
            "user" => ClientKey::User,
            _ => match s.strip_prefix("header:") {
                Some(name) if !name.is_empty() => ClientKey::Header(name.to_ascii_lowercase()),
                _ => {
                    return Err(format!(
                        "unknown client key '{s}' (use ip, xff, api-key, consumer, user or header:NAME)"
                    ));
                }
            },
        })
    }
}

impl ClientKey {
    /// Whether a lite read of `format`'s lines (`LineContext::lite`) gives this key's value
    /// as a full read does: the address always; the user where the format says so.
    pub fn lite_serves(&self, format: &dyn Format) -> bool {
        match self {
            ClientKey::Ip => true,
            ClientKey::User => format.lite_reads_user(),
            _ => false,
        }
    }

    /// The client of `r`, parsed from `line` by `format`.
    pub fn of<'a>(&self, r: &Request<'a>, line: &'a [u8], format: &dyn Format) -> Text<'a> {
        // The default key is the address itself: said here, inline on every line of the
        // pass, rather than by a call to `chosen` that has nothing to choose.
        let chosen = match self {
            ClientKey::Ip => None,
            _ => self.chosen(r, line, format),
        };
        match chosen {
            Some(c) => c,
            None if r.remote.is_empty() => Cow::Borrowed("-"),
            None => r.remote.clone(),
        }
    }

    /// The chosen key's own value on this line, if it is there (`of` falls back to the
    /// address when it is not); the address itself is never chosen.
    pub fn chosen<'a>(
        &self,
        r: &Request<'a>,
        line: &'a [u8],
        format: &dyn Format,
    ) -> Option<Text<'a>> {
        let chosen: Option<Text<'a>> = match self {
            ClientKey::Ip => None,
            ClientKey::Xff => r.xff.as_ref().and_then(|x| {
                let first = x.split(',').next().unwrap_or("").trim();
                (crate::record::is_logged(first) && first != "unknown").then(|| match x {
                    Cow::Borrowed(b) => Cow::Borrowed(b.split(',').next().unwrap_or("").trim()),
                    Cow::Owned(_) => Cow::Owned(first.to_string()),
                })
            }),
            ClientKey::ApiKey => r.api_key.clone(),
            ClientKey::Consumer => r.consumer.clone(),
            ClientKey::User => r.user.clone(),
            ClientKey::Header(name) => format.field(line, name),
        };
        chosen.filter(|c| crate::record::is_logged(c))
    }

    /// What the key is called on the command line.
    pub fn flag(&self) -> String {
        match self {
            ClientKey::Ip => "ip".into(),
            ClientKey::Xff => "xff".into(),
            ClientKey::ApiKey => "api-key".into(),
            ClientKey::Consumer => "consumer".into(),
            ClientKey::User => "user".into(),
            ClientKey::Header(name) => format!("header:{name}"),
        }
    }
}
