//! The `why409` binary: parses flags, runs the analysis, renders, and maps the outcome to an
//! exit code (0 ok, 1 a `--fail-on` rule fired, 2 error). A closed pipe (`why409 log | head`)
//! is success.

use anyhow::{Context, Result, anyhow, bail};
use clap::Parser;
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use why409::analyze::{self, Settings, Window};
use why409::cli::{
    Cli, ColorChoice, Command, DiffFailOn, DiffOutput, ExplainOutput, InputArgs, Output,
};
use why409::detect::{self, Severity, Thresholds};
use why409::input;
use why409::progress::{Progress, Stage};
use why409::report::{self, Report, table};
use why409::resource::Route;
use why409::{format, timestamp};

fn main() {
    fix_mmap_threshold();
    let code = match run() {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => 0,
        Err(e) => {
            say(format!("{e:#}"));
            2
        }
    };
    std::process::exit(code);
}

/// Prints a warning or error on stderr as one line, its control characters escaped as the
/// tables show them (`report::visible`): a newline or an ESC in a file's or an archive
/// member's name, or in a decoder's message quoting damaged bytes, would otherwise split
/// the message or drive the terminal.
fn say(msg: impl AsRef<str>) {
    eprintln!("why409: {}", report::visible(msg.as_ref()));
}

/// Keeps glibc's malloc from raising its mmap threshold. By default the first free of a
/// mapped block (any block over 128 KiB) raises the threshold to that block's size, up to
/// 32 MiB; from then on the workers' growing tables and event lists are carved out of their
/// arenas, where the space each growth leaves behind stays resident (at the end of the pass
/// over a generated 4 GiB log, `malloc_stats`: the two workers' arenas held 38 MB for 18 MB
/// in use). Fixed at 1 MiB, large blocks get mappings of their own, returned on free and
/// grown in place by mremap: peak RssAnon 89 → 74 MiB on that log, 26 → 23 MiB at 1 GiB.
/// The price is fresh pages for each large block: +11 % page faults on a log of a million
/// conflicting instances (none measurable in wall time on the generated logs).
fn fix_mmap_threshold() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a malloc parameter; called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn run() -> Result<i32> {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return Ok(code);
        }
    };
    match cli.command {
        Some(Command::Formats) => formats(),
        Some(Command::Explain {
            instance,
            input,
            output,
            out,
            color,
        }) => explain(&input, &instance, output, out, color),
        Some(Command::Diff {
            before,
            after,
            output,
            out,
            top,
            fail_on,
            color,
        }) => diff(&before, &after, output, out, top, fail_on, color),
        None => analyse(cli),
    }
}

fn formats() -> Result<i32> {
    let mut out = io::stdout().lock();
    for f in format::registry() {
        writeln!(out, "{:<12} {}", f.name(), f.about())?;
        writeln!(out, "{:<12} e.g. {}\n", "", f.sample())?;
    }
    Ok(0)
}

/// Builds the analysis settings shared by the report and `explain`.
fn settings(input: &InputArgs) -> Result<Settings> {
    let mut paths = input.paths.clone();
    if paths.is_empty() {
        if io::stdin().is_terminal() {
            bail!("no input: give log files or directories, or pipe a log into stdin (see --help)");
        }
        paths.push(PathBuf::from("-"));
    }
    let now = jiff::Timestamp::now().as_microsecond();
    let time = |s: &Option<String>, flag: &str| -> Result<Option<i64>> {
        s.as_deref()
            .map(|v| timestamp::parse_user_time(v, now).ok_or_else(|| anyhow!("{flag} '{v}': use RFC 3339 (2026-03-02T09:00:00Z), a date, or a span such as 2h")))
            .transpose()
    };
    let mut thresholds = Thresholds::default();
    for t in &input.thresholds {
        thresholds.set(t).map_err(|e| anyhow!(e))?;
    }
    if input.status.is_empty() {
        bail!("--status takes HTTP status codes such as 409,412,423,428");
    }
    let (since, until) = (
        time(&input.since, "--since")?,
        time(&input.until, "--until")?,
    );
    if let (Some(s), Some(u)) = (since, until)
        && s >= u
    {
        bail!(
            "--since {} is not before --until {} (which is exclusive): no request could be counted",
            timestamp::rfc3339(s),
            timestamp::rfc3339(u)
        );
    }
    if input.threads == Some(0) {
        bail!("--threads must be at least 1");
    }
    if input.chunk_size == 0 {
        bail!("--chunk-size must be at least 1");
    }
    Ok(Settings {
        paths,
        recursive: input.recursive,
        format: (input.format != "auto").then(|| input.format.clone()),
        statuses: input.status.clone(),
        client: input
            .client
            .parse()
            .map_err(|e: String| anyhow!("--client: {e}"))?,
        window: Window::Auto,
        routes: input
            .routes
            .iter()
            .map(|r| Route::parse(r).map_err(|e| anyhow!("--route: {e}")))
            .collect::<Result<_>>()?,
        since,
        until,
        last: match &input.last {
            None => None,
            Some(l) => Some(
                timestamp::parse_span(l)
                    .filter(|v| *v > 0)
                    .ok_or_else(|| anyhow!("--last '{l}': give a span such as 30m, 2h or 1d"))?,
            ),
        },
        seek: !input.no_seek,
        chunk_bytes: input.chunk_size,
        progress: None,
        thresholds,
        extra_instances: Vec::new(),
        log_format: input.log_format.clone(),
        field_map: (!input.fields.is_empty()).then(|| input.fields.join(",")),
        tz_offset_secs: parse_tz(&input.tz)?,
        host: match input.host.as_deref().map(str::trim) {
            Some("") => bail!("--host: give a host name such as api.example.com"),
            h => h.map(str::to_string),
        },
        // Paths as logged start at the root: `api/v1` means `/api/v1`.
        path_prefix: input.path_prefix.as_deref().map(|p| match p.starts_with('/') {
            true => p.to_string(),
            false => format!("/{p}"),
        }),
        methods: input
            .methods
            .iter()
            .map(|m| {
                let parsed = why409::record::Method::parse(m.trim().to_ascii_uppercase().as_bytes());
                if parsed == why409::record::Method::Other && !m.eq_ignore_ascii_case("other") {
                    bail!("--method '{m}': use GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, LOCK, UNLOCK or OTHER")
                }
                Ok(parsed)
            })
            .collect::<Result<_>>()?,
    })
}

/// `--tz`: UTC, Z, or a fixed offset such as +02:00, -0500, +05.
fn parse_tz(s: &str) -> Result<i64> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("utc") || t.eq_ignore_ascii_case("z") || t.eq_ignore_ascii_case("gmt")
    {
        return Ok(0);
    }
    timestamp::parse_offset(t.as_bytes())
        .ok_or_else(|| anyhow!("--tz '{s}': use UTC or a fixed offset such as +02:00 or -0500"))
}

fn thread_pool(input: &InputArgs) -> Result<rayon::ThreadPool> {
    let mut b = rayon::ThreadPoolBuilder::new();
    if let Some(n) = input.threads {
        b = b.num_threads(n);
    }
    b.build().context("starting worker threads")
}

fn use_color(choice: ColorChoice, to_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            to_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// Terminal width for tables: the real terminal, else `COLUMNS`, else natural width.
/// How tables are laid out for this sink: its width and whether to colour.
fn table_style(color: ColorChoice, to_terminal: bool) -> table::Style {
    table::Style {
        width: table_width(to_terminal),
        color: use_color(color, to_terminal),
        ..Default::default()
    }
}

fn table_width(to_terminal: bool) -> Option<u16> {
    if let Some(c) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<u16>().ok())
    {
        return Some(c.max(40));
    }
    if to_terminal {
        return terminal_width().or(Some(100));
    }
    None
}

fn terminal_width() -> Option<u16> {
    comfy_table::Table::new().width()
}

/// Where the report goes: a file or stdout.
fn sink(out: &Option<PathBuf>) -> Result<(Box<dyn Write>, bool)> {
    match out {
        Some(p) => {
            let f = std::fs::File::create(p)
                .with_context(|| format!("{}: cannot create", p.display()))?;
            Ok((Box::new(io::BufWriter::new(f)), false))
        }
        None => Ok((
            Box::new(io::BufWriter::new(io::stdout().lock())),
            io::stdout().is_terminal(),
        )),
    }
}

/// Runs the analysis on `pool`, with a progress bar on stderr when it is a terminal and the
/// inputs are large: the stage, bytes done of the bytes to read, speed and time left.
fn analyse_with_progress(
    input: &InputArgs,
    settings: &mut Settings,
    pool: &rayon::ThreadPool,
) -> Result<analyze::Analysis> {
    // Large: 64 MiB of text or more, a compressed file counted as the six or so times its
    // size it decodes to, a directory by its files (listed again by the analysis, which
    // reports errors), or a stream, whose size is not known until it ends (`kubectl logs |
    // why409`); looked at only for a terminal, and only until 64 MiB are found.
    let large = || {
        let Ok((files, _)) = input::expand(&settings.paths, settings.recursive) else {
            return false;
        };
        let mut text = 0u64;
        files.iter().any(|(p, _)| {
            let compressed = p
                .extension()
                .is_some_and(|e| ["gz", "zst", "bz2", "xz", "lz4"].iter().any(|c| e == *c));
            let len = input::file_size(p).unwrap_or(0);
            text += if compressed { 6 * len } else { len };
            text >= 64 << 20 || input::is_stream(p)
        })
    };
    if input.no_progress || !io::stderr().is_terminal() || !large() {
        return pool.install(|| analyze::analyze(settings));
    }
    let progress = std::sync::Arc::new(Progress::default());
    settings.progress = Some(progress.clone());
    let bar = indicatif::ProgressStyle::with_template(
        "{spinner} {msg} [{wide_bar}] {percent:>3}% of {binary_total_bytes}, {binary_bytes_per_sec}, {eta} left",
    )
    .expect("a valid template")
    .progress_chars("=> ");
    let spinner =
        indicatif::ProgressStyle::with_template("{spinner} {msg}").expect("a valid template");
    let stream = indicatif::ProgressStyle::with_template(
        "{spinner} {msg} {binary_bytes} read, {binary_bytes_per_sec}",
    )
    .expect("a valid template");
    // A bar per stage: each stage's speed and time left are its own. Until a stage knows its
    // total (the inputs are being listed), a spinner: a bar of 0 bytes reads "100%". Opening
    // a stream (stdin, a pipe), whose size is not known, is a spinner with the bytes read.
    #[derive(Clone, Copy, PartialEq)]
    enum Look {
        Bar,
        Stream,
        Spinner,
    }
    let look = |stage: Stage, at: u64, total: u64| match stage {
        _ if total > 0 && stage != Stage::Finishing => Look::Bar,
        Stage::Opening if at > 0 => Look::Stream,
        _ => Look::Spinner,
    };
    let show = |stage: Stage, look: Look, at: u64, total: u64| {
        let (style, msg) = match look {
            Look::Bar => (&bar, stage.name().to_string()),
            Look::Stream => (&stream, format!("{}…", stage.name())),
            Look::Spinner => (&spinner, format!("{}…", stage.name())),
        };
        let pb = indicatif::ProgressBar::new(total)
            .with_style(style.clone())
            .with_message(msg)
            .with_position(at);
        pb.enable_steady_tick(std::time::Duration::from_millis(120));
        pb
    };
    let done = std::sync::atomic::AtomicBool::new(false);
    let (analysis, pb) = std::thread::scope(|s| {
        let watcher = s.spawn(|| {
            let mut shown = (Stage::Opening, Look::Spinner);
            let mut pb = show(Stage::Opening, Look::Spinner, 0, 0);
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let (stage, at, total) = progress.get();
                let now = (stage, look(stage, at, total));
                if now != shown {
                    pb.finish_and_clear();
                    (shown, pb) = (now, show(stage, now.1, at, total));
                }
                pb.set_length(total);
                pb.set_position(at);
                std::thread::park_timeout(std::time::Duration::from_millis(100));
            }
            pb
        });
        let analysis = pool.install(|| analyze::analyze(settings));
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        watcher.thread().unpark();
        (analysis, watcher.join())
    });
    if let Ok(pb) = pb {
        pb.finish_and_clear();
    }
    settings.progress = None;
    analysis
}

fn analyse(cli: Cli) -> Result<i32> {
    if cli.report.list_thresholds {
        let mut out = io::stdout().lock();
        let thresholds = Thresholds::default();
        let width = thresholds.iter().map(|(n, ..)| n.len()).max().unwrap_or(0);
        for (name, value, about) in thresholds.iter() {
            writeln!(out, "{name:<width$}  {value:<8} {about}")?;
        }
        return Ok(0);
    }
    let mut settings = settings(&cli.input)?;
    settings.window = match cli.report.window.as_str() {
        "auto" => Window::Auto,
        w => Window::Fixed(
            timestamp::parse_span(w)
                .filter(|v| *v >= timestamp::MICROS_PER_SEC)
                .ok_or_else(|| {
                    anyhow!("--window '{w}': use auto or a span of at least 1s such as 30s, 5m, 1h")
                })?,
        ),
    };
    let rules = cli
        .report
        .fail_on
        .iter()
        .map(|r| FailRule::parse(r))
        .collect::<Result<Vec<_>>>()?;
    let output =
        why409::cli::output_format(cli.report.output, cli.report.out.as_deref(), Output::Table)
            .map_err(|e| anyhow!(e))?;
    let pool = thread_pool(&cli.input)?;
    let analysis = analyse_with_progress(&cli.input, &mut settings, &pool)?;
    for w in &analysis.warnings {
        say(w);
    }
    let mut report = Report::build(&analysis, cli.report.top);
    // The rules read counts and causes, which `into_visible` leaves as they are.
    let code = if rules.iter().any(|r| r.fires(&report)) {
        1
    } else {
        0
    };
    let (mut out, to_terminal) = sink(&cli.report.out)?;
    match output {
        Output::Json => report::json::render(&report, &mut out)?,
        Output::Csv => report::csv::render(&report, &mut out)?,
        Output::Markdown => {
            report = report.into_visible();
            report::markdown::render(&report, &mut out)?
        }
        Output::Html => {
            report = report.into_visible();
            report::html::render(&report, &mut out)?
        }
        Output::Table => {
            report = report.into_visible();
            let style = table_style(cli.report.color, to_terminal);
            table::render(&report, &style, &mut out)?
        }
    }
    out.flush()?;
    // The process is about to exit: freeing millions of timeline events and map entries one
    // by one would only delay it (inputs are unlinked temp files or read-only maps).
    std::mem::forget(report);
    std::mem::forget(analysis);
    Ok(code)
}

/// A `--fail-on` rule.
enum FailRule {
    Incident,
    Finding,
    Conflicts(u64),
    Rate(f64),
    Cause(&'static str),
    Unexplained(u64),
}

impl FailRule {
    fn parse(s: &str) -> Result<FailRule> {
        let bad = || {
            anyhow!(
                "--fail-on '{s}': use incident, finding, conflicts=N, rate=R, unexplained=N or cause=NAME"
            )
        };
        Ok(match s.split_once('=') {
            None if s == "incident" => FailRule::Incident,
            None if s == "finding" => FailRule::Finding,
            Some(("conflicts", n)) => FailRule::Conflicts(n.trim().parse().map_err(|_| bad())?),
            Some(("rate", r)) => FailRule::Rate(r.trim().parse().map_err(|_| bad())?),
            Some(("unexplained", n)) => FailRule::Unexplained(n.trim().parse().map_err(|_| bad())?),
            Some(("cause", name)) => {
                let causes = detect::causes();
                match causes.iter().find(|c| **c == name.trim()) {
                    Some(c) => FailRule::Cause(c),
                    None => bail!(
                        "--fail-on '{s}': no cause is named '{}'; the causes: {}",
                        name.trim(),
                        causes.join(", ")
                    ),
                }
            }
            _ => return Err(bad()),
        })
    }

    fn fires(&self, r: &Report) -> bool {
        match self {
            FailRule::Incident => r.findings.iter().any(|f| f.severity == Severity::Incident),
            FailRule::Finding => !r.findings.is_empty(),
            FailRule::Conflicts(n) => r.totals.conflicts > *n,
            FailRule::Rate(x) => r.totals.conflict_rate > *x,
            FailRule::Cause(c) => r.findings.iter().any(|f| f.cause == *c),
            FailRule::Unexplained(n) => r.totals.conflicts - r.totals.explained > *n,
        }
    }
}

fn diff(
    before: &std::path::Path,
    after: &std::path::Path,
    output: Option<DiffOutput>,
    out: Option<PathBuf>,
    top: usize,
    fail_on: Option<DiffFailOn>,
    color: ColorChoice,
) -> Result<i32> {
    use report::diff::{Diff, Side};
    let output = why409::cli::output_format(output, out.as_deref(), DiffOutput::Table)
        .map_err(|e| anyhow!(e))?;
    let d = Diff::build(&Side::load(before)?, &Side::load(after)?, top);
    for w in &d.warnings {
        say(w);
    }
    let (mut w, to_terminal) = sink(&out)?;
    match output {
        DiffOutput::Json => report::diff::render_json(&d, &mut w)?,
        DiffOutput::Markdown => report::diff::render_markdown(&d, &mut w)?,
        DiffOutput::Table => {
            let style = table_style(color, to_terminal);
            report::diff::render_table(&d, &style, &mut w)?
        }
    }
    w.flush()?;
    let fired = match fail_on {
        Some(DiffFailOn::NewIncident) => d.new_findings(true) > 0,
        Some(DiffFailOn::NewFinding) => d.new_findings(false) > 0,
        None => false,
    };
    Ok(if fired { 1 } else { 0 })
}

fn explain(
    input: &InputArgs,
    instance: &str,
    output: Option<ExplainOutput>,
    out: Option<PathBuf>,
    color: ColorChoice,
) -> Result<i32> {
    let output = why409::cli::output_format(output, out.as_deref(), ExplainOutput::Table)
        .map_err(|e| anyhow!(e))?;
    let mut settings = settings(input)?;
    let mut wanted = why409::resource::instance(instance).to_string();
    if !wanted.is_empty() && !wanted.starts_with('/') {
        // `api/v1/docs/42`, as copied from a URL without its host: logged targets start at
        // the root.
        wanted.insert(0, '/');
    }
    if wanted.is_empty() {
        bail!("--instance '{instance}': give a path such as /api/v1/docs/42");
    }
    settings.extra_instances.push(wanted.clone());
    let pool = thread_pool(input)?;
    let analysis = analyse_with_progress(input, &mut settings, &pool)?;
    for w in &analysis.warnings {
        say(w);
    }
    let ex = report::explain::Explanation::build(&analysis, &wanted);
    let (mut w, to_terminal) = sink(&out)?;
    match output {
        ExplainOutput::Json => report::explain::render_json(&ex, &mut w)?,
        ExplainOutput::Markdown => report::explain::render_markdown(&ex, &mut w)?,
        ExplainOutput::Csv => report::explain::render_csv(&ex, &mut w)?,
        ExplainOutput::Table => {
            let style = table_style(color, to_terminal);
            report::explain::render_table(&ex, &style, &mut w)?
        }
    }
    w.flush()?;
    Ok(0)
}
