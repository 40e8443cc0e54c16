//! `--fail-on` rules: when a scheduled run exits 1. Each rule reads the report's totals or
//! findings, so what makes a run fail is what its report shows.

use super::Report;
use crate::detect::{self, Severity};

/// One `--fail-on` rule.
#[derive(Debug, Clone, PartialEq)]
pub enum FailRule {
    /// Any incident-severity finding.
    Incident,
    /// Any finding.
    Finding,
    /// More than N conflicts.
    Conflicts(u64),
    /// A conflict rate above R (0.01 is 1 %).
    Rate(f64),
    /// Any finding of this cause.
    Cause(&'static str),
    /// More than N conflicts no finding explains.
    Unexplained(u64),
}

impl FailRule {
    /// A rule as written on the command line: `incident`, `finding`, `conflicts=N`,
    /// `rate=R`, `unexplained=N` or `cause=NAME` (one of `detect::causes`). A threshold
    /// is "more than", so `conflicts>N` reads as `conflicts=N`; a rate is a fraction
    /// (`0.01`) or a percentage (`1%`).
    pub fn parse(s: &str) -> Result<FailRule, String> {
        let bad = || {
            format!(
                "--fail-on '{s}': use incident, finding, conflicts=N, rate=R, unexplained=N or cause=NAME"
            )
        };
        // `key=value`, or `key>value` for a threshold.
        let (key, sep, value) = match s.find(['=', '>']) {
            Some(at) => (s[..at].trim(), &s[at..=at], s[at + 1..].trim()),
            None => (s, "", ""),
        };
        let count = || value.parse::<u64>().map_err(|_| bad());
        Ok(match (key, sep) {
            ("incident", "") => FailRule::Incident,
            ("finding", "") => FailRule::Finding,
            ("conflicts", _) if !sep.is_empty() => FailRule::Conflicts(count()?),
            ("unexplained", _) if !sep.is_empty() => FailRule::Unexplained(count()?),
            ("rate", _) if !sep.is_empty() => {
                let rate = match value.strip_suffix('%') {
                    Some(pct) => pct.trim().parse::<f64>().map(|p| p / 100.0),
                    None => value.parse::<f64>(),
                };
                match rate {
                    Ok(rate) if (0.0..=1.0).contains(&rate) => FailRule::Rate(rate),
                    Ok(_) => {
                        return Err(format!(
                            "--fail-on '{s}': a rate is a fraction from 0 to 1 (0.01) or a percentage (1%)"
                        ));
                    }
                    Err(_) => return Err(bad()),
                }
            }
            ("cause", "=") => {
                let causes = detect::causes();
                match causes.iter().find(|c| **c == value) {
                    Some(c) => FailRule::Cause(c),
                    None => {
                        return Err(format!(
                            "--fail-on '{s}': no cause is named '{value}'; the causes: {}",
                            causes.join(", ")
                        ));
                    }
                }
            }
            _ => return Err(bad()),
        })
    }

    /// Whether the report crosses this rule's threshold.
    pub fn fires(&self, r: &Report) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_read_as_written() {
        assert_eq!(FailRule::parse("incident"), Ok(FailRule::Incident));
        assert_eq!(FailRule::parse("finding"), Ok(FailRule::Finding));
        assert_eq!(
            FailRule::parse("conflicts=100"),
            Ok(FailRule::Conflicts(100))
        );
        assert_eq!(FailRule::parse("rate= 0.01"), Ok(FailRule::Rate(0.01)));
        assert_eq!(
            FailRule::parse("unexplained=0"),
            Ok(FailRule::Unexplained(0))
        );
        assert_eq!(
            FailRule::parse("cause=retry_storm"),
            Ok(FailRule::Cause("retry_storm"))
        );
        // "More than", as the rules mean it, written as such; a rate as a percentage.
        assert_eq!(
            FailRule::parse("conflicts>100"),
            Ok(FailRule::Conflicts(100))
        );
        assert_eq!(
            FailRule::parse("unexplained > 5"),
            Ok(FailRule::Unexplained(5))
        );
        assert_eq!(FailRule::parse("rate>2.5%"), Ok(FailRule::Rate(0.025)));
        assert_eq!(FailRule::parse("rate=1"), Ok(FailRule::Rate(1.0)));
    }

    #[test]
    fn bad_rules_say_what_is_taken() {
        for bad in [
            "",
            "incidents",
            "conflicts=",
            "conflicts=-1",
            "rate=high",
            "x=1",
            "conflicts>=100",
            "rate>",
            "cause>retry_storm",
        ] {
            let e = FailRule::parse(bad).unwrap_err();
            assert!(
                e.ends_with(
                    "use incident, finding, conflicts=N, rate=R, unexplained=N or cause=NAME"
                ),
                "{e}"
            );
        }
        for over in ["rate=5", "rate=150%", "rate=-0.1"] {
            let e = FailRule::parse(over).unwrap_err();
            assert_eq!(
                e,
                format!(
                    "--fail-on '{over}': a rate is a fraction from 0 to 1 (0.01) or a percentage (1%)"
                )
            );
        }
        let e = FailRule::parse("cause=retry").unwrap_err();
        assert!(e.starts_with("--fail-on 'cause=retry': no cause is named 'retry'; the causes: "));
        assert!(e.contains("retry_storm"), "{e}");
    }
}
