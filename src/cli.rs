//! Command-line flags: every flag is defined here once, with its documentation; `settings`
//! turns them into what the analysis is asked.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

mod settings;

/// Explains HTTP 409/412/423/428 conflicts in API-gateway access logs: which resources,
/// which clients, since when, and why.
#[derive(Debug, Parser)]
#[command(name = "why409", version, about, long_about = None, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print every request on one resource instance as a timeline, with the finding each
    /// conflict was attributed to.
    Explain {
        /// The instance to explain, e.g. /api/v1/docs/42 (query strings are ignored).
        #[arg(long, value_name = "PATH")]
        instance: String,
        #[command(flatten)]
        input: Box<InputArgs>,
        /// Output format [default: the -o file's extension's, else table].
        #[arg(long, value_enum)]
        output: Option<ExplainOutput>,
        /// Write the output to FILE instead of stdout (compressed when its name ends in .gz,
        /// .zst, .xz or .lz4).
        #[arg(short = 'o', long = "out", value_name = "FILE")]
        out: Option<PathBuf>,
        /// When to use colour: auto (a terminal without NO_COLOR), always, never.
        #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
        color: ColorChoice,
    },
    /// Compare two JSON reports (yesterday's and today's scheduled run; the hour before a
    /// release and the hour after): the findings that are new, still there or gone, the
    /// totals, and the resources and clients whose conflicts changed most.
    Diff {
        /// The earlier report (made with --output json; gzip, zstd, bzip2, xz or lz4
        /// compressed too; '-' reads stdin).
        before: PathBuf,
        /// The later report (the same forms).
        after: PathBuf,
        /// Output format [default: the -o file's extension's, else table].
        #[arg(long, value_enum)]
        output: Option<DiffOutput>,
        /// Write the output to FILE instead of stdout (compressed when its name ends in .gz,
        /// .zst, .xz or .lz4).
        #[arg(short = 'o', long = "out", value_name = "FILE")]
        out: Option<PathBuf>,
        /// Rows in the resources and clients tables.
        #[arg(long, value_name = "N", default_value_t = 10)]
        top: usize,
        /// Exit with status 1 when the later report has findings the earlier one has not:
        /// of incident severity (new-incident) or any (new-finding).
        #[arg(long, value_enum, value_name = "RULE")]
        fail_on: Option<DiffFailOn>,
        /// When to use colour: auto (a terminal without NO_COLOR), always, never.
        #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
        color: ColorChoice,
    },
    /// List the supported log formats, each with a sample line.
    Formats,
}

/// Which inputs to read and how to interpret them (shared by the analysis and `explain`).
#[derive(Debug, Args, Clone)]
pub struct InputArgs {
    /// Log files or directories (the files directly inside; see --recursive); '-' reads
    /// stdin. Gzip, zstd, bzip2, xz and lz4 input is decoded automatically. Without a path, stdin is
    /// read when it is not a terminal.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Read directories with their subdirectories, e.g. logs synced from S3
    /// (AWSLogs/ACCOUNT/elasticloadbalancing/REGION/YYYY/MM/DD/*.log.gz). Hidden files and
    /// directories are skipped; links to directories are not followed.
    #[arg(short = 'r', long)]
    pub recursive: bool,

    /// Log format; 'auto' detects it per file from its first lines. See `why409 formats`;
    /// wrapped lines are named WRAPPER+FORMAT (docker+, cri+, syslog+, compose+).
    #[arg(long, value_name = "NAME", default_value = "auto")]
    pub format: String,

    /// Parse lines with this nginx log_format (the format string, or the whole
    /// `log_format name '...';` directive; an escape=json template works too) or Apache
    /// LogFormat ('%h %l %u %t "%r" %>s %b %D', or the whole `LogFormat "..." name` line).
    #[arg(long, value_name = "FORMAT", conflicts_with = "fields")]
    pub log_format: Option<String>,

    /// Read JSON lines through a field map: ROLE=PATH pairs with dotted paths, e.g.
    /// 'time=ts,status=response.code,method=req.verb,path=req.uri,duration_ms=latency';
    /// idempotency_key=PATH, header:NAME=PATH and headers=PATH say where headers are.
    /// Repeatable; see docs/formats.md for the roles.
    #[arg(long = "field", value_name = "ROLE=PATH,...")]
    pub fields: Vec<String>,

    /// UTC offset of logs that write local time without a zone (HAProxy, IIS time-local):
    /// UTC, +02:00, -0500.
    // A west offset starts with a hyphen: `--tz -0500` is the offset, not another flag.
    #[arg(
        long,
        value_name = "OFFSET",
        default_value = "UTC",
        allow_hyphen_values = true
    )]
    pub tz: String,

    /// Only requests to this host (as logged: Host header, authority or URL host; the port
    /// is ignored).
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,

    /// Only requests whose path starts with PREFIX, e.g. /api/v1/orders.
    #[arg(long, value_name = "PREFIX")]
    pub path_prefix: Option<String>,

    /// Only requests with these methods (comma-separated, e.g. PUT,PATCH,DELETE).
    #[arg(long = "method", value_name = "LIST", value_delimiter = ',')]
    pub methods: Vec<String>,

    /// Statuses that count as conflicts (comma-separated).
    #[arg(
        long,
        value_name = "LIST",
        default_value = "409,412,423,428",
        value_delimiter = ',',
        value_parser = status_code
    )]
    pub status: Vec<u16>,

    /// Who a client is: ip (remote address), xff (first X-Forwarded-For address), api-key,
    /// consumer, user, or header:NAME. Falls back to the remote address where the field is
    /// not logged.
    #[arg(long, value_name = "KEY", default_value = "ip")]
    pub client: String,

    /// A route template that takes precedence over automatic templating, e.g.
    /// '/repos/{owner}/{repo}/pulls/{number}'. Repeatable; the first match wins. Automatic
    /// templating replaces identifiers, and words in positions that hold more than 100
    /// distinct words (slugs, user names) with {name}.
    #[arg(long = "route", value_name = "TEMPLATE")]
    pub routes: Vec<String>,

    /// Only requests at or after TIME: RFC 3339 ('2026-03-02T09:00:00Z'; '2026-03-02 09:00'
    /// works too, UTC without a zone), a date, epoch seconds, or a span back from now ('2h',
    /// '30m').
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,

    /// Only requests before TIME (same forms as --since; later than --since).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,

    /// Only the last SPAN of the logs ('30m', '2h', '1d'): requests at or after the latest
    /// time at the inputs' ends minus SPAN. For yesterday's logs, where --since 30m (back
    /// from now) would find nothing.
    #[arg(long, value_name = "SPAN", conflicts_with = "since")]
    pub last: Option<String>,

    /// Read every line even with --since/--until. By default a log in time order (checked at
    /// 64 points; an hour out of order is allowed) is searched for the range, and the lines
    /// outside it are counted but not read; files dated outside it, by their names (S3's load
    /// balancer and CloudFront logs, Cloud Logging's and Azure Monitor's storage exports) or
    /// last modification (rotated logs), are not opened.
    #[arg(long)]
    pub no_seek: bool,

    /// Change a detector threshold, NAME=VALUE (repeatable); `why409 --list-thresholds`
    /// shows them all.
    #[arg(long = "threshold", value_name = "NAME=VALUE")]
    pub thresholds: Vec<String>,

    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// Chunk size for parallel parsing, in bytes or with a unit (`4096`, `64KiB`, `1MiB`;
    /// for testing: results never depend on it).
    #[arg(long, value_name = "SIZE", hide = true, default_value_t = 4 << 20, value_parser = byte_size)]
    pub chunk_size: usize,

    /// Never show the progress bar (shown on a terminal for inputs over 64 MiB, and for
    /// stdin or a pipe).
    #[arg(long)]
    pub no_progress: bool,
}

/// How to present the analysis.
#[derive(Debug, Args, Clone)]
pub struct ReportArgs {
    /// Output format [default: the -o file's extension's (report.json, .md, .html, .csv),
    /// else table].
    #[arg(long, value_enum)]
    pub output: Option<Output>,

    /// Write the report to FILE instead of stdout; a name ending in .gz, .zst, .xz or .lz4
    /// compresses it (-o report.json.gz: JSON, gzipped).
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Timeline window: auto (60-120 windows over the period) or a span such as 1s, 30s, 1m,
    /// 5m, 1h, 1d.
    #[arg(long, value_name = "SPAN", default_value = "auto")]
    pub window: String,

    /// Rows in each ranked table (resources, instances, clients).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub top: usize,

    /// Exit with status 1 when the report crosses a threshold: 'incident' (any
    /// incident-severity finding), 'finding' (any finding), 'conflicts=N' (more than N
    /// conflicts; 'conflicts>N' alike), 'rate=R' (conflict rate above R, e.g. 0.01 or 1%),
    /// 'unexplained=N' (more than N conflicts no cause explains), 'cause=NAME' (any finding
    /// of that cause, e.g. cause=retry_storm). Repeatable: any rule that fires makes it 1.
    #[arg(long = "fail-on", value_name = "RULE")]
    pub fail_on: Vec<String>,

    /// When to use colour: auto (a terminal without NO_COLOR), always, never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Print the detector thresholds with their defaults and exit.
    #[arg(long)]
    pub list_thresholds: bool,
}

/// One `--status` code: any three-digit number, as gateways log codes past 599 too.
fn status_code(s: &str) -> Result<u16, String> {
    s.trim()
        .parse()
        .ok()
        .filter(|c| (100..=999).contains(c))
        .ok_or_else(|| {
            format!("'{s}' is not an HTTP status code: give codes such as 409,412,423,428")
        })
}

/// A size in bytes: a whole number, optionally followed by a binary unit (`K`/`KiB`,
/// `M`/`MiB`, `G`/`GiB`) or a decimal one (`KB`, `MB`, `GB`), `B` for bytes; case does not
/// matter, a space may come before the unit.
pub fn byte_size(s: &str) -> Result<usize, String> {
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(digits);
    let n: usize = n.parse().map_err(|_| {
        format!("'{s}' is not a size: give a whole number of bytes, e.g. 4096 or 64KiB")
    })?;
    let unit = unit.trim_start();
    let unit: usize = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        _ => {
            return Err(format!(
                "unknown unit '{unit}' in '{s}' (B, KiB, MiB, GiB, KB, MB or GB)"
            ));
        }
    };
    n.checked_mul(unit)
        .ok_or_else(|| format!("'{s}' is more bytes than this machine can address"))
}

/// The output format: the one `--output` gives, else the one `-o FILE`'s extension names
/// (`.json`, `.md` or `.markdown`, `.html` or `.htm`, `.csv`; before a compression's:
/// `report.json.gz`, or the name itself, `json.gz`), else `default`. A bare format name as
/// the file (`-o json`) is taken for the mistake it usually is, and a compression why409
/// does not write (`.bz2`) is refused.
pub fn output_format<T: ValueEnum + Copy>(
    given: Option<T>,
    out: Option<&std::path::Path>,
    default: T,
) -> Result<T, String> {
    if let Some(t) = given {
        return Ok(t);
    }
    let Some(out) = out else {
        return Ok(default);
    };
    let packed = crate::sink::compression_of(out)? != crate::input::Compression::None;
    let named = |name: &str| {
        let name = match name.to_ascii_lowercase().as_str() {
            "md" => "markdown".to_string(),
            "htm" => "html".to_string(),
            n => n.to_string(),
        };
        (T::value_variants().iter())
            .find(|v| v.to_possible_value().is_some_and(|p| p.get_name() == name))
            .copied()
    };
    if let Some(bare) = out.to_str().filter(|s| !s.contains(['/', '.']))
        && named(bare).is_some()
    {
        return Err(format!(
            "-o {bare} names the file to write, not the format: use --output {bare} (or -o report.{bare}); to write a file named {bare}, give ./{bare}"
        ));
    }
    // `report.json.gz` is JSON, compressed; so is `json.gz`, whose name is the format.
    let inner = if packed {
        out.with_extension("")
    } else {
        out.to_path_buf()
    };
    let by_extension = inner.extension().and_then(|e| e.to_str()).and_then(named);
    let by_name = || {
        let name = inner.file_name().and_then(|n| n.to_str());
        name.filter(|_| packed).and_then(named)
    };
    Ok(by_extension.or_else(by_name).unwrap_or(default))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Tables for a terminal.
    Table,
    /// The `why409.report/v1` report, every field (for scripts and scheduled runs).
    Json,
    /// The sections of the tables, the findings with their evidence (past 25, grouped by
    /// cause and route), for tickets and wikis.
    Markdown,
    /// One self-contained page (no script, nothing fetched) with a timeline chart.
    Html,
    /// Every table's rows in one file, the first column naming the table.
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExplainOutput {
    /// A table for a terminal.
    Table,
    /// The instance, its findings and every request with its fields.
    Json,
    /// A table of the requests, for a postmortem ticket.
    Markdown,
    /// One row per request.
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffOutput {
    /// Tables for a terminal.
    Table,
    /// The `why409.diff/v1` comparison (for scripts and scheduled runs).
    Json,
    /// The tables and the new findings' summaries, for tickets and wikis.
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFailOn {
    NewIncident,
    NewFinding,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `-o`'s name gives the format: its extension, or the one before a compression's (the
    /// name itself when nothing is left, `json.gz`); the directory never counts, a bare
    /// format name is refused as a mistyped `--output`, and bzip2 is not written.
    #[test]
    fn out_names_give_the_format() {
        let of = |p: &str| output_format(None, Some(std::path::Path::new(p)), Output::Table);
        assert_eq!(of("r.json"), Ok(Output::Json));
        assert_eq!(of("r.json.gz"), Ok(Output::Json));
        assert_eq!(of("reports/r.MD.zst"), Ok(Output::Markdown));
        assert_eq!(of("json.gz"), Ok(Output::Json));
        assert_eq!(of("out/json.gz"), Ok(Output::Json));
        assert_eq!(of("out.json/r.gz"), Ok(Output::Table));
        assert_eq!(of("report.gz"), Ok(Output::Table));
        assert_eq!(of("report"), Ok(Output::Table));
        assert_eq!(of("./json"), Ok(Output::Table));
        assert!(of("json").unwrap_err().contains("use --output json"));
        assert!(of("r.json.bz2").unwrap_err().contains("not bzip2"));
        assert_eq!(
            output_format(
                Some(Output::Csv),
                Some(std::path::Path::new("r.json.gz")),
                Output::Table
            ),
            Ok(Output::Csv)
        );
    }

    #[test]
    fn sizes_are_read_with_and_without_units() {
        assert_eq!(byte_size("4096"), Ok(4096));
        assert_eq!(byte_size("64KiB"), Ok(64 << 10));
        assert_eq!(byte_size("1 MiB"), Ok(1 << 20));
        assert_eq!(byte_size("2m"), Ok(2 << 20));
        assert_eq!(byte_size("1G"), Ok(1 << 30));
        assert_eq!(byte_size("5MB"), Ok(5_000_000));
        assert_eq!(byte_size("7b"), Ok(7));
        assert_eq!(byte_size("0"), Ok(0));
        assert!(byte_size("").is_err());
        assert!(byte_size("MiB").is_err());
        assert!(
            byte_size("1.5MiB")
                .unwrap_err()
                .contains("unknown unit '.5MiB'")
        );
        assert!(byte_size("-1").is_err());
        assert!(byte_size("3 parsecs").unwrap_err().contains("unknown unit"));
        assert!(byte_size("99999999999999999999").is_err());
        assert!(
            byte_size("99999999999G")
                .unwrap_err()
                .contains("more bytes")
        );
    }

    #[test]
    fn status_codes_are_three_digits() {
        assert_eq!(status_code("409"), Ok(409));
        assert_eq!(status_code(" 412"), Ok(412));
        assert_eq!(status_code("499"), Ok(499));
        assert_eq!(status_code("999"), Ok(999));
        for bad in ["", "0", "99", "1000", "4o9", "2xx", "-409", "70000"] {
            assert!(status_code(bad).is_err(), "{bad}");
        }
    }
}
