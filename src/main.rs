//! The `why409` binary: parses flags, runs the analysis, renders, and maps the outcome to an
//! exit code (0 ok, 1 a `--fail-on` rule fired, 2 error). A closed pipe (`why409 log | head`)
//! is success.

use anyhow::{Context, Result, anyhow, bail};
use clap::Parser;
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use why409::analyze::{self, Settings};
use why409::cli::{
    Cli, ColorChoice, Command, DiffFailOn, DiffOutput, ExplainOutput, InputArgs, Output,
};
use why409::detect::Thresholds;
use why409::format;
use why409::input;
use why409::progress::{Progress, Stage};
use why409::report::fail_on::FailRule;
use why409::report::{self, Report, table};
use why409::sink::Sink;

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
        writeln!(out, "{:<13} {}", f.name(), f.about())?;
        writeln!(out, "{:<13} e.g. {}\n", "", f.sample())?;
    }
    // Formats not detected but named, and the wrappers detected around the ones above.
    for (name, about) in [
        (
            "nginx-custom",
            "your nginx log_format: --log-format '$remote_addr [$time_local] \"$request\" $status ...'",
        ),
        (
            "apache-custom",
            "your Apache LogFormat: --log-format '%h %l %u %t \"%r\" %>s %b %D' (or the LogFormat line)",
        ),
        (
            "json-fields",
            "any JSON lines through a map: --field 'time=ts,status=response.code,path=req.uri'",
        ),
        (
            "docker+ cri+",
            "any format above inside a Docker json-file or CRI (kubectl logs) line; syslog+ and compose+ alike",
        ),
    ] {
        writeln!(out, "{name:<13} {about}")?;
    }
    Ok(0)
}

/// The analysis settings shared by the report and `explain`: the flags' (`cli::settings`),
/// stdin read when no path is given unless it is a terminal.
fn settings(input: &InputArgs) -> Result<Settings> {
    if input.paths.is_empty() && io::stdin().is_terminal() {
        bail!("no input: give log files or directories, or pipe a log into stdin (see --help)");
    }
    input.settings(jiff::Timestamp::now().as_microsecond())
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

/// How tables are laid out for this sink: its width and whether to colour.
fn table_style(color: ColorChoice, to_terminal: bool) -> table::Style {
    table::Style {
        width: table_width(to_terminal),
        color: use_color(color, to_terminal),
        ..Default::default()
    }
}

/// Width for tables: `COLUMNS`, else the terminal's (read only when writing to one), else
/// none: natural width in a file or a pipe.
fn table_width(to_terminal: bool) -> Option<u16> {
    let columns = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok());
    let terminal = (to_terminal && columns.is_none())
        .then(terminal_width)
        .flatten();
    width_of(columns, to_terminal, terminal)
}

/// `table_width` of `COLUMNS` (read as a number), whether the report goes to a terminal, and
/// that terminal's width: 100 where it cannot be read or reads as 0 (a pseudo-terminal given
/// no size), and at least 40.
fn width_of(columns: Option<u16>, to_terminal: bool, terminal: Option<u16>) -> Option<u16> {
    let width = match columns {
        Some(c) => c,
        None if to_terminal => terminal.filter(|&w| w > 0).unwrap_or(100),
        None => return None,
    };
    Some(width.max(40))
}

fn terminal_width() -> Option<u16> {
    comfy_table::Table::new().width()
}

/// Runs the analysis on `pool`, with a progress bar on stderr when it is a terminal and the
/// inputs are large: the stage, bytes done of the bytes to read, speed and time left.
fn analyse_with_progress(
    input: &InputArgs,
    settings: &mut Settings,
    pool: &rayon::ThreadPool,
) -> Result<analyze::Analysis> {
    if input.no_progress || !io::stderr().is_terminal() || !is_large(settings) {
        return pool.install(|| analyze::analyze(settings));
    }
    let progress = std::sync::Arc::new(Progress::default());
    settings.progress = Some(progress.clone());
    let bars = Bars::new();
    let done = std::sync::atomic::AtomicBool::new(false);
    let (analysis, pb) = std::thread::scope(|s| {
        let watcher = s.spawn(|| bars.follow(&progress, &done));
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

/// Whether the inputs are worth a progress bar: 64 MiB of text or more, a compressed file
/// counted as the six or so times its size it decodes to, a directory by its files (listed
/// again by the analysis, which reports errors), or a stream, whose size is not known until
/// it ends (`kubectl logs | why409`); looked at only until 64 MiB are found.
fn is_large(settings: &Settings) -> bool {
    let Ok((files, _)) = input::expand(&settings.paths, settings.recursive) else {
        return false;
    };
    let mut text = 0u64;
    files.iter().any(|(p, _)| {
        let compressed = input::Compression::by_name(p) != input::Compression::None;
        let len = input::file_size(p).unwrap_or(0);
        text += if compressed { 6 * len } else { len };
        text >= 64 << 20 || input::is_stream(p)
    })
}

/// How a stage shows. A bar per stage: each stage's speed and time left are its own. Until
/// a stage knows its total (the inputs are being listed), a spinner: a bar of 0 bytes reads
/// "100%". Opening a stream (stdin, a pipe), whose size is not known, is a spinner with the
/// bytes read.
#[derive(Clone, Copy, PartialEq)]
enum Look {
    Bar,
    Stream,
    Spinner,
}

impl Look {
    fn of(stage: Stage, at: u64, total: u64) -> Look {
        match stage {
            _ if total > 0 && stage != Stage::Finishing => Look::Bar,
            Stage::Opening if at > 0 => Look::Stream,
            _ => Look::Spinner,
        }
    }
}

/// The progress bar's three styles, one per `Look`.
struct Bars {
    bar: indicatif::ProgressStyle,
    stream: indicatif::ProgressStyle,
    spinner: indicatif::ProgressStyle,
}

impl Bars {
    fn new() -> Bars {
        let style = |t| indicatif::ProgressStyle::with_template(t).expect("a valid template");
        Bars {
            bar: style(
                "{spinner} {msg} [{wide_bar}] {percent:>3}% of {binary_total_bytes}, {binary_bytes_per_sec}, {eta} left",
            )
            .progress_chars("=> "),
            stream: style("{spinner} {msg} {binary_bytes} read, {binary_bytes_per_sec}"),
            spinner: style("{spinner} {msg}"),
        }
    }

    fn show(&self, stage: Stage, look: Look, at: u64, total: u64) -> indicatif::ProgressBar {
        let (style, msg) = match look {
            Look::Bar => (&self.bar, stage.name().to_string()),
            Look::Stream => (&self.stream, format!("{}…", stage.name())),
            Look::Spinner => (&self.spinner, format!("{}…", stage.name())),
        };
        let hidden = indicatif::ProgressDrawTarget::hidden();
        let pb = indicatif::ProgressBar::with_draw_target(Some(total), hidden)
            .with_style(style.clone())
            .with_message(msg)
            .with_position(at);
        // A stage shown late starts part done: its speed counts from there, not from 0 (the
        // bytes done before the bar would read as done in its first tick, at TiB/s).
        pb.tick();
        pb.reset_eta();
        pb.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        pb.enable_steady_tick(std::time::Duration::from_millis(120));
        pb
    }

    /// Shows `progress` until `done`, a new bar whenever the stage or its look changes;
    /// returns the last bar, for the caller to clear.
    fn follow(
        &self,
        progress: &Progress,
        done: &std::sync::atomic::AtomicBool,
    ) -> indicatif::ProgressBar {
        let mut shown = (Stage::Opening, Look::Spinner);
        let mut pb = self.show(Stage::Opening, Look::Spinner, 0, 0);
        while !done.load(std::sync::atomic::Ordering::Relaxed) {
            let (stage, at, total) = progress.get();
            let now = (stage, Look::of(stage, at, total));
            if now != shown {
                pb.finish_and_clear();
                (shown, pb) = (now, self.show(stage, now.1, at, total));
            }
            pb.set_length(total);
            pb.set_position(at);
            std::thread::park_timeout(std::time::Duration::from_millis(100));
        }
        pb
    }
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
    settings.window = cli.report.timeline_window()?;
    let rules = cli
        .report
        .fail_on
        .iter()
        .map(|r| FailRule::parse(r).map_err(|e| anyhow!(e)))
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
    let mut out = Sink::open(cli.report.out.as_deref())?;
    let to_terminal = out.to_terminal();
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
    out.finish()?;
    // The process is about to exit: freeing millions of timeline events and map entries one
    // by one would only delay it (inputs are unlinked temp files or read-only maps).
    std::mem::forget(report);
    std::mem::forget(analysis);
    Ok(code)
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
    if before.as_os_str() == "-" && after.as_os_str() == "-" {
        bail!("diff: only one of the two reports can come from stdin ('-')");
    }
    let d = Diff::build(&Side::load(before)?, &Side::load(after)?, top);
    for w in &d.warnings {
        say(w);
    }
    let mut w = Sink::open(out.as_deref())?;
    let to_terminal = w.to_terminal();
    match output {
        DiffOutput::Json => report::diff::render_json(&d, &mut w)?,
        DiffOutput::Markdown => report::diff::render_markdown(&d, &mut w)?,
        DiffOutput::Table => {
            let style = table_style(color, to_terminal);
            report::diff::render_table(&d, &style, &mut w)?
        }
    }
    w.finish()?;
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
    // A route (`/orders/{id}`) is no instance; its busiest instances are counted to be
    // suggested should none of them have had conflicts.
    if wanted.contains('{') {
        settings.counted_route = Some(wanted.clone());
    }
    let pool = thread_pool(input)?;
    let analysis = analyse_with_progress(input, &mut settings, &pool)?;
    for w in &analysis.warnings {
        say(w);
    }
    let ex = report::explain::Explanation::build(&analysis, &wanted);
    let mut w = Sink::open(out.as_deref())?;
    let to_terminal = w.to_terminal();
    match output {
        ExplainOutput::Json => report::explain::render_json(&ex, &mut w)?,
        ExplainOutput::Markdown => report::explain::render_markdown(&ex, &mut w)?,
        ExplainOutput::Csv => {
            report::explain::render_csv(&ex, &mut w)?;
            if let Some(note) = report::explain::csv_note(&ex) {
                say(&note);
            }
        }
        ExplainOutput::Table => {
            let style = table_style(color, to_terminal);
            report::explain::render_table(&ex, &style, &mut w)?
        }
    }
    w.finish()?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::width_of;

    /// `COLUMNS` wins, a terminal's width comes next, a terminal that reads as 0 columns
    /// gets 100, and nothing is narrower than 40; a file or pipe keeps natural width.
    #[test]
    fn tables_take_the_width_they_are_given() {
        let columns = |c: &str| c.parse::<u16>().ok();
        assert_eq!(width_of(columns("120"), false, None), Some(120));
        assert_eq!(width_of(columns("120"), true, Some(80)), Some(120));
        assert_eq!(width_of(columns("10"), true, None), Some(40));
        assert_eq!(width_of(columns("wide"), true, Some(80)), Some(80));
        assert_eq!(width_of(columns("wide"), false, None), None);
        assert_eq!(width_of(None, true, Some(80)), Some(80));
        assert_eq!(width_of(None, true, Some(0)), Some(100));
        assert_eq!(width_of(None, true, None), Some(100));
        assert_eq!(width_of(None, true, Some(20)), Some(40));
        assert_eq!(width_of(None, false, Some(80)), None);
    }
}
