//! Validation of a request against the SageMaker API model (lengths, patterns, ranges,
//! enums, required members) and hand-written cross-field rules, for AWS or for local mode.

mod messages;
pub mod model;
mod rules;
mod tuning;
mod walk;

pub use tuning::{MAX_RANGES, placed_definitions, validate_tuning_value};

use serde::Serialize;
use serde_json::Value;

use super::TrainingJobRequest;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The request would be refused.
    Error,
    /// The request would run, but probably not as meant.
    Warning,
}

/// One problem found in a request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnostic {
    /// Member path such as `InputDataConfig[1].DataSource.S3DataSource.S3Uri`.
    pub path: String,
    /// Error or warning.
    pub severity: Severity,
    /// A stable code: `required`, `pattern`, `max_length`, `spot_max_wait`, ...
    pub code: &'static str,
    /// What is wrong, in the user's terms.
    pub message: String,
}

impl Diagnostic {
    /// An error.
    pub fn error(path: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            severity: Severity::Error,
            code,
            message: message.into(),
        }
    }

    /// A warning.
    pub fn warning(
        path: impl Into<String>,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(path, code, message)
        }
    }
}

/// What the request is checked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Target {
    /// What the SageMaker service accepts.
    #[default]
    Aws,
    /// What local mode can run; what only the service would refuse becomes a warning.
    Local,
}

/// What a runtime that will run a request adds to the model's checks: what it cannot do
/// with a request the service would accept (local mode implements it). The request model
/// defines it so that it never depends on a runtime.
pub trait RuntimeChecks: Send + Sync + std::fmt::Debug {
    /// Problems with `request` for this runtime.
    fn check(&self, request: &TrainingJobRequest) -> Vec<Diagnostic>;
}

/// Every diagnostic of `request` for `target` (with `runtime`'s own checks), errors first,
/// then by path.
pub fn validate(
    request: &TrainingJobRequest,
    target: Target,
    runtime: Option<&dyn RuntimeChecks>,
) -> Vec<Diagnostic> {
    let mut out = model_diagnostics(&request.to_value(), target);
    if let Some(runtime) = runtime {
        add_runtime(&mut out, runtime.check(request));
    }
    sorted(out)
}

/// Validates a request given as JSON (any JSON: it never panics). `runtime`'s checks run
/// when the JSON reads as a request (wrong member types are reported by the model check).
pub fn validate_value(
    value: &Value,
    target: Target,
    runtime: Option<&dyn RuntimeChecks>,
) -> Vec<Diagnostic> {
    let mut out = model_diagnostics(value, target);
    if let Some(runtime) = runtime
        && let Ok(imported) = super::request_from_value(value.clone(), "request")
    {
        add_runtime(&mut out, runtime.check(&imported.request));
    }
    sorted(out)
}

/// Adds the runtime's diagnostics; a member the runtime refuses is reported once, by its
/// more specific error, without the model's warning that the service would refuse it too.
fn add_runtime(out: &mut Vec<Diagnostic>, runtime: Vec<Diagnostic>) {
    out.retain(|d| {
        d.severity == Severity::Error
            || !runtime
                .iter()
                .any(|r| r.severity == Severity::Error && r.path == d.path)
    });
    out.extend(runtime);
}

fn sorted(mut out: Vec<Diagnostic>) -> Vec<Diagnostic> {
    out.sort_by(|a, b| {
        a.severity
            .cmp(&b.severity)
            .then_with(|| a.path.cmp(&b.path))
    });
    out
}

/// The model's and the cross-field rules' diagnostics; for local mode what only the
/// service would refuse becomes a warning.
fn model_diagnostics(value: &Value, target: Target) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    walk::walk(value, target, &mut out);
    let mut ruled = Vec::new();
    rules::check(value, &mut ruled);
    // A rule's message is more specific than the model's plain "required" on the same member.
    out.retain(|d| {
        !(matches!(d.code, "required" | "min_entries") && ruled.iter().any(|r| r.path == d.path))
    });
    out.extend(ruled);
    for_target(&mut out, target);
    out
}

/// For local mode, what only the service would refuse becomes a warning; a member of the
/// wrong type cannot run anywhere and stays an error.
fn for_target(out: &mut [Diagnostic], target: Target) {
    if target == Target::Local {
        for d in out
            .iter_mut()
            .filter(|d| d.severity == Severity::Error && d.code != "type")
        {
            d.severity = Severity::Warning;
            d.message.push_str(" (the service would refuse this)");
        }
    }
}

/// `1 error`, `3 errors`: a count with its noun, plural where it is.
pub fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// `job.json: 2 errors, 1 warning (target: aws)`, or `job.json: valid (target: aws)`.
pub fn summary(origin: &str, diagnostics: &[Diagnostic], target: Target) -> String {
    let errors = error_count(diagnostics);
    let warnings = diagnostics.len() - errors;
    let target = match target {
        Target::Aws => "aws",
        Target::Local => "local",
    };
    if diagnostics.is_empty() {
        format!("{origin}: valid (target: {target})")
    } else {
        format!(
            "{origin}: {}, {} (target: {target})",
            count(errors, "error"),
            count(warnings, "warning")
        )
    }
}

/// How many diagnostics are errors.
pub fn error_count(diagnostics: &[Diagnostic]) -> usize {
    diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count()
}

/// `parent.member`, or `member` at the top.
pub fn join(parent: &str, member: &str) -> String {
    if parent.is_empty() {
        member.to_string()
    } else {
        format!("{parent}.{member}")
    }
}

/// `parent.key` for plain map keys, `parent["odd key"]` otherwise.
pub fn join_key(parent: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == ':');
    if plain {
        join(parent, key)
    } else {
        format!("{parent}[{}]", Value::String(key.to_string()))
    }
}

/// Looks up a dotted path (`A.B.C`) of plain members.
pub fn get<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(value, |v, member| v.get(member))
        .filter(|v| !v.is_null())
}
