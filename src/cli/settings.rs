//! From flags to the analysis they ask for: each flag's text checked and turned into the
//! `Settings` value it stands for, or the one-line error that names the flag and says what
//! it takes. Nothing here reads the terminal: `main` decides whether stdin is a log.

use super::{InputArgs, ReportArgs};
use crate::analyze::{Settings, Window};
use crate::detect::Thresholds;
use crate::record::Method;
use crate::record::Micros;
use crate::resource::Route;
use crate::timestamp::{self, MICROS_PER_SEC};
use anyhow::{Result, anyhow, bail};
use std::path::PathBuf;

impl InputArgs {
    /// The analysis settings these flags ask for. `now` (µs since the epoch) is what spans
    /// back from now (`--since 2h`) count from. Without a path, stdin (`-`) is read.
    pub fn settings(&self, now: Micros) -> Result<Settings> {
        let mut thresholds = Thresholds::default();
        for t in &self.thresholds {
            thresholds.set(t).map_err(|e| anyhow!(e))?;
        }
        let (since, until) = (
            user_time(&self.since, "--since", now)?,
            user_time(&self.until, "--until", now)?,
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
        if self.threads == Some(0) {
            bail!("--threads must be at least 1");
        }
        if self.chunk_size == 0 {
            bail!("--chunk-size must be at least 1");
        }
        Ok(Settings {
            paths: match self.paths.is_empty() {
                true => vec![PathBuf::from("-")],
                false => self.paths.clone(),
            },
            recursive: self.recursive,
            format: (self.format != "auto").then(|| self.format.clone()),
            statuses: self.status.clone(),
            client: (self.client.parse()).map_err(|e: String| anyhow!("--client: {e}"))?,
            window: Window::Auto,
            routes: (self.routes.iter())
                .map(|r| Route::parse(r).map_err(|e| anyhow!("--route: {e}")))
                .collect::<Result<_>>()?,
            since,
            until,
            last: self.last.as_deref().map(last_span).transpose()?,
            seek: !self.no_seek,
            chunk_bytes: self.chunk_size,
            progress: None,
            thresholds,
            extra_instances: Vec::new(),
            counted_route: None,
            log_format: self.log_format.clone(),
            field_map: (!self.fields.is_empty()).then(|| self.fields.join(",")),
            tz_offset_secs: tz_offset(&self.tz)?,
            host: match self.host.as_deref().map(str::trim) {
                Some("") => bail!("--host: give a host name such as api.example.com"),
                h => h.map(str::to_string),
            },
            // Paths as logged start at the root: `api/v1` means `/api/v1`.
            path_prefix: self
                .path_prefix
                .as_deref()
                .map(|p| match p.starts_with('/') {
                    true => p.to_string(),
                    false => format!("/{p}"),
                }),
            methods: self
                .methods
                .iter()
                .map(|m| method(m))
                .collect::<Result<_>>()?,
        })
    }
}

impl ReportArgs {
    /// `--window`: automatic, or a fixed span of a second or more.
    pub fn timeline_window(&self) -> Result<Window> {
        let w = self.window.as_str();
        if w == "auto" {
            return Ok(Window::Auto);
        }
        (timestamp::parse_span(w).filter(|v| *v >= MICROS_PER_SEC))
            .map(Window::Fixed)
            .ok_or_else(|| {
                anyhow!("--window '{w}': use auto or a span of at least 1s such as 30s, 5m, 1h")
            })
    }
}

/// `--since`/`--until`: RFC 3339, a date, or a span back from `now`.
fn user_time(given: &Option<String>, flag: &str, now: Micros) -> Result<Option<Micros>> {
    let Some(v) = given.as_deref() else {
        return Ok(None);
    };
    timestamp::parse_user_time(v, now).map(Some).ok_or_else(|| {
        anyhow!("{flag} '{v}': use RFC 3339 (2026-03-02T09:00:00Z, or 2026-03-02 09:00 in UTC), a date, epoch seconds, or a span such as 2h")
    })
}

/// `--last`: a span longer than nothing.
fn last_span(l: &str) -> Result<Micros> {
    (timestamp::parse_span(l).filter(|v| *v > 0))
        .ok_or_else(|| anyhow!("--last '{l}': give a span such as 30m, 2h or 1d"))
}

/// `--tz`: UTC, Z, GMT, or a fixed offset such as +02:00, -0500, +05; in seconds east.
fn tz_offset(s: &str) -> Result<i64> {
    let t = s.trim();
    if ["utc", "z", "gmt"]
        .iter()
        .any(|u| t.eq_ignore_ascii_case(u))
    {
        return Ok(0);
    }
    timestamp::parse_offset(t.as_bytes())
        .ok_or_else(|| anyhow!("--tz '{s}': use UTC or a fixed offset such as +02:00 or -0500"))
}

/// One `--method` name, in any case; `OTHER` stands for the methods without a name of
/// their own.
fn method(m: &str) -> Result<Method> {
    let parsed = Method::parse(m.trim().to_ascii_uppercase().as_bytes());
    if parsed == Method::Other && !m.trim().eq_ignore_ascii_case("other") {
        bail!(
            "--method '{m}': use GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, LOCK, UNLOCK or OTHER"
        )
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::Parser;

    /// 2026-03-02T12:00:00Z.
    const NOON: Micros = 1_772_452_800 * MICROS_PER_SEC;

    fn settings(args: &[&str]) -> Result<Settings> {
        let cli = Cli::try_parse_from([&["why409"], args].concat()).unwrap();
        cli.input.settings(NOON)
    }

    fn error(args: &[&str]) -> String {
        format!("{:#}", settings(args).unwrap_err())
    }

    #[test]
    fn defaults_read_stdin_for_the_usual_statuses() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.paths, vec![PathBuf::from("-")]);
        assert_eq!(s.statuses, vec![409, 412, 423, 428]);
        assert_eq!(
            (s.format, s.since, s.until, s.last),
            (None, None, None, None)
        );
        assert_eq!(s.tz_offset_secs, 0);
        assert!(s.seek);
        let s = settings(&["a.log", "b.log.gz"]).unwrap();
        assert_eq!(
            s.paths,
            vec![PathBuf::from("a.log"), PathBuf::from("b.log.gz")]
        );
    }

    #[test]
    fn times_are_dates_instants_or_spans_back_from_now() {
        let s = settings(&["--since", "2h", "--until", "2026-03-02T11:30:00Z"]).unwrap();
        assert_eq!(s.since, Some(NOON - 2 * 3600 * MICROS_PER_SEC));
        assert_eq!(s.until, Some(NOON - 1800 * MICROS_PER_SEC));
        let s = settings(&["--since", "2026-03-02"]).unwrap();
        assert_eq!(s.since, Some(NOON - 12 * 3600 * MICROS_PER_SEC));
        assert_eq!(
            error(&["--since", "2026-03-02", "--until", "2026-03-01"]),
            "--since 2026-03-02T00:00:00Z is not before --until 2026-03-01T00:00:00Z (which is \
             exclusive): no request could be counted"
        );
        assert!(error(&["--since", "yesterday"]).starts_with("--since 'yesterday': use RFC 3339"));
        assert_eq!(
            settings(&["--last", "30m"]).unwrap().last,
            Some(1800 * MICROS_PER_SEC)
        );
        assert_eq!(
            error(&["--last", "0s"]),
            "--last '0s': give a span such as 30m, 2h or 1d"
        );
    }

    #[test]
    fn offsets_are_seconds_east() {
        for (tz, secs) in [
            ("UTC", 0),
            ("z", 0),
            ("GMT", 0),
            ("+02:00", 7200),
            ("-0500", -18_000),
            ("+05", 18_000),
        ] {
            assert_eq!(tz_offset(tz).unwrap(), secs, "{tz}");
        }
        assert_eq!(
            error(&["--tz", "Europe/Paris"]),
            "--tz 'Europe/Paris': use UTC or a fixed offset such as +02:00 or -0500"
        );
    }

    #[test]
    fn filters_are_normalised_or_refused() {
        let s = settings(&[
            "--method",
            "put,Patch, delete ,other",
            "--path-prefix",
            "api/v1",
        ])
        .unwrap();
        assert_eq!(
            s.methods,
            vec![Method::Put, Method::Patch, Method::Delete, Method::Other]
        );
        assert_eq!(s.path_prefix.as_deref(), Some("/api/v1"));
        assert!(error(&["--method", "FETCH"]).starts_with("--method 'FETCH': use GET"));
        assert_eq!(
            error(&["--host", " "]),
            "--host: give a host name such as api.example.com"
        );
        assert_eq!(
            settings(&["--host", "api.example.com"])
                .unwrap()
                .host
                .as_deref(),
            Some("api.example.com")
        );
        assert_eq!(error(&["--threads", "0"]), "--threads must be at least 1");
        assert!(error(&["--client", "nope"]).starts_with("--client: "));
        assert!(error(&["--route", "no-slash"]).starts_with("--route: "));
    }

    #[test]
    fn windows_are_auto_or_a_second_or_more() {
        let window = |w: &str| {
            let cli = Cli::try_parse_from(["why409", "--window", w]).unwrap();
            cli.report.timeline_window()
        };
        assert_eq!(window("auto").unwrap(), Window::Auto);
        assert_eq!(window("5m").unwrap(), Window::Fixed(300 * MICROS_PER_SEC));
        for bad in ["0s", "500ms", "7x"] {
            assert!(window(bad).is_err(), "{bad}");
        }
    }
}
