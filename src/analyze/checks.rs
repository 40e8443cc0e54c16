//! What the analysis says of what it read: each input's line accounting, the inputs of
//! which no line could be read, and the checks that the scan and the pass agree.

use super::{Settings, printable};
use crate::aggregate::{Accounting, ClientIndex, SkipExample, Tally};
use crate::format::Format;
use crate::input::Input;
use crate::interest::Interest;
use crate::record::Skip;
use anyhow::{Result, bail};

/// The inputs of which no line could be read in their format (every line skipped but
/// blank ones): an error for an input named, a warning for one found in a directory.
pub(super) fn check_some_line_read(
    opened: &[(Input, &dyn Format)],
    accounts: &[Accounting],
    warnings: &mut Vec<String>,
) -> Result<()> {
    for ((inp, fmt), acct) in opened.iter().zip(accounts) {
        if acct.parsed == 0 && acct.lines - acct.unread > acct.skip_reasons.get(Skip::BLANK.0) {
            // The first line skipped for what it holds: a header says little of why the
            // lines under it are not read.
            let told =
                |e: &&SkipExample| e.reason != Skip::BLANK.0 && e.reason != Skip::DIRECTIVE.0;
            let examples = &acct.skip_examples;
            let first = (examples.iter().find(told))
                .or_else(|| examples.iter().find(|e| e.reason != Skip::BLANK.0))
                .map(|e| {
                    format!(
                        "line {} ({}): \"{}\"",
                        e.line,
                        e.reason,
                        printable(e.text.as_bytes())
                    )
                })
                .unwrap_or_default();
            let reasons: Vec<String> = (acct.skip_reasons.iter())
                .map(|(reason, n)| format!("{n} {reason}"))
                .collect();
            let msg = format!(
                "{}: no line could be read as '{}' ({} {}, all skipped: {}); {first}",
                inp.name,
                fmt.name(),
                acct.lines,
                if acct.lines == 1 { "line" } else { "lines" },
                reasons.join(", "),
            );
            if inp.explicit {
                bail!(msg);
            }
            warnings.push(format!("skipped {msg}"));
        }
    }
    Ok(())
}

/// The scan finds what the pass counts, by construction (see `crate::scan`); if it ever did
/// not, context would be missing, and the report says so rather than hiding it.
pub(super) fn scan_and_pass_disagree(tally: &Tally, interest: &Interest) -> Option<String> {
    let agreeing = (tally.instances.iter())
        .filter(|(k, c)| interest.conflicts(*k) == Some((c.first, c.last)))
        .count();
    let counted = tally.instances.len() + tally.unkeyed.len();
    let scanned = interest.conflicting();
    let disagreeing = counted.max(scanned) - agreeing;
    (disagreeing > 0).then(|| format!(
        "internal: the conflict scan and the pass disagree on {disagreeing} conflicting instances; their context may be incomplete"
    ))
}

/// What the counts call for a word on: filters that left nothing (a --host the log does not
/// record, a range before the log make an empty report that looks like a quiet day), a
/// --client key the log lacks (clients named by address without a word otherwise), and
/// conflicting clients the scan missed (they would have no row).
pub(super) fn count_warnings(
    accounts: &[Accounting],
    tally: &Tally,
    clients: &ClientIndex,
    settings: &Settings,
) -> Vec<String> {
    let mut warnings = Vec::new();
    let parsed: u64 = accounts.iter().map(|a| a.parsed).sum();
    let unread: u64 = accounts.iter().map(|a| a.unread).sum();
    if parsed > 0 && accounts.iter().map(|a| a.filtered).sum::<u64>() == parsed {
        warnings.push(format!(
            "all {parsed} parsed requests were left out by the filters ({}): nothing is counted",
            settings.filters().join(", ")
        ));
    } else if parsed == 0 && unread > 0 {
        warnings.push(format!(
            "all {unread} lines are outside the time range ({}): nothing is counted",
            settings.filters().join(", ")
        ));
    }
    if clients.by_address > 0 {
        warnings.push(format!(
            "--client {}: {} of {} conflicts have no such value in the log; their clients are named by address",
            settings.client.flag(),
            clients.by_address,
            tally.totals.conflicts
        ));
    }
    let numbered: u64 = tally.clients.iter().map(|c| c.conflicts).sum();
    if numbered != tally.totals.conflicts {
        warnings.push(format!(
            "internal: the conflict scan found the clients of {numbered} of {} conflicts; the clients table lacks the others",
            tally.totals.conflicts
        ));
    }
    warnings
}
