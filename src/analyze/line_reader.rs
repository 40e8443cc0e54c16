//! Reads a line of one format under the filters: what every reader of lines (the scan,
//! the pass, the period's estimate, the seek's probes) does first with a line.

use super::Settings;
use crate::format::{self, Format, LineContext};
use crate::input;
use crate::record::{Request, Skip};
use crate::resource;
use anyhow::Result;

/// Reads lines of one format under the filters, with what every line asks of them worked
/// out once for many lines: whether the format has directive lines and whether any filter
/// is set (asked of each line, they were a call and five tests a line).
pub(super) struct LineReader<'r> {
    fmt: &'r dyn Format,
    settings: &'r Settings,
    directives: bool,
    filtered: bool,
}

impl<'r> LineReader<'r> {
    pub(super) fn new(fmt: &'r dyn Format, settings: &'r Settings) -> LineReader<'r> {
        LineReader {
            fmt,
            settings,
            directives: fmt.has_directives(),
            filtered: settings.filters_lines(),
        }
    }

    /// Tells directive lines, too-long lines and blank lines apart before parsing.
    #[inline(always)]
    pub(super) fn skip(&self, line: &[u8]) -> Option<Skip> {
        if line.len() > input::MAX_LINE {
            return Some(Skip::TOO_LONG);
        }
        if format::text::is_blank(line) {
            return Some(Skip::BLANK);
        }
        if self.directives && self.fmt.is_directive(line) {
            return Some(Skip::DIRECTIVE);
        }
        None
    }

    /// Parses a line and applies the filters. `Ok(false)`: parsed but filtered out.
    // Always inlined: a call of its own on every line of the pass cost more than its body.
    #[inline(always)]
    pub(super) fn read<'a>(
        &self,
        line: &'a [u8],
        cx: &mut LineContext<'a>,
        req: &mut Request<'a>,
    ) -> Result<bool, Skip> {
        if let Some(s) = self.skip(line) {
            if s == Skip::DIRECTIVE {
                cx.directive = Some(line);
            }
            return Err(s);
        }
        self.fmt.parse(line, cx, req)?;
        let settings = self.settings;
        Ok(!self.filtered
            || (settings.since.is_none_or(|s| req.time >= s)
                && settings.until.is_none_or(|u| req.time < u)
                && settings.keeps(req)))
    }
}

/// The instance of a request: borrowed from the line unless its target had escapes.
pub(super) fn instance_of<'a>(req: &Request<'a>) -> std::borrow::Cow<'a, str> {
    match &req.target {
        std::borrow::Cow::Borrowed(t) => std::borrow::Cow::Borrowed(resource::instance(t)),
        std::borrow::Cow::Owned(t) => std::borrow::Cow::Owned(resource::instance(t).to_string()),
    }
}
