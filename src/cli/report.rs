//! The validation report, as text grouped by member or as JSON.

use std::fmt::Write;

use crate::request::validate::{Diagnostic, Severity, Target};

pub use crate::request::validate::summary;

/// The report as text: a summary line, then each member with its diagnostics.
pub fn text(origin: &str, diagnostics: &[Diagnostic], target: Target) -> String {
    let mut out = summary(origin, diagnostics, target);
    out.push('\n');
    let mut sorted: Vec<&Diagnostic> = diagnostics.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path).then(a.severity.cmp(&b.severity)));
    let mut last: Option<&str> = None;
    for d in sorted {
        if last != Some(d.path.as_str()) {
            let _ = writeln!(
                out,
                "\n{}",
                if d.path.is_empty() {
                    "(top level)"
                } else {
                    &d.path
                }
            );
            last = Some(&d.path);
        }
        let severity = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let _ = writeln!(out, "  {severity:<8} {:<24} {}", d.code, d.message);
    }
    out
}

/// The report as a JSON array of `{path, severity, code, message}`.
pub fn json(diagnostics: &[Diagnostic]) -> String {
    serde_json::to_string_pretty(diagnostics).expect("diagnostics serialize")
}
