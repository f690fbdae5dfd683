//! Preflight: read-only calls that catch, in seconds and before submission, what SageMaker
//! would refuse or fail on minutes into a job — a role it cannot assume, an empty input
//! prefix, a bucket in another region, an image that is not there, a subnet that does not
//! exist, no quota for the instance type, a job name already used. Each result is a
//! diagnostic on the member it concerns, like the validator's; a check that cannot be made
//! (no permission to make it, throttled, a service not offered) is "not verified", never an
//! error against the job. Nothing here writes.

pub mod frameworks;
mod image;
mod plan;
mod quota;
mod role;
mod storage;
mod vpc;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

pub use self::plan::Plan;
use crate::backend::BackendError;
use crate::request::TrainingJobRequest;
use crate::request::validate::{Diagnostic, Severity};

/// How long a check's result is reused while the values it looked at are unchanged.
const CACHE_FOR: Duration = Duration::from_secs(300);

/// What a check found.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "detail")]
pub enum Outcome {
    /// Verified: what was found.
    Passed(String),
    /// A problem with the job.
    Problem(Diagnostic),
    /// The check could not be made: why.
    NotVerified(String),
}

/// One check: the member it concerns, the call it made, and what it found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// Member path such as `RoleArn` or `InputDataConfig[0].DataSource.S3DataSource.S3Uri`.
    pub path: String,
    /// The call made, such as `iam:GetRole`.
    pub call: String,
    /// What it found.
    pub outcome: Outcome,
}

impl Check {
    /// A passed check.
    pub fn passed(path: &str, call: &str, what: impl Into<String>) -> Self {
        Self::new(path, call, Outcome::Passed(what.into()))
    }

    /// A failed check: an error on `path`.
    pub fn error(path: &str, call: &str, code: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            path,
            call,
            Outcome::Problem(Diagnostic::error(path, code, message)),
        )
    }

    /// A check that found something probably not meant: a warning on `path`.
    pub fn warning(path: &str, call: &str, code: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            path,
            call,
            Outcome::Problem(Diagnostic::warning(path, code, message)),
        )
    }

    /// A check that could not be made because `call` failed with `e`.
    pub fn not_verified(path: &str, call: &str, e: &BackendError) -> Self {
        let why = if e.code.contains("AccessDenied") || e.code.contains("Unauthorized") {
            format!(
                "not verified: your credentials may not call {call} ({}: {})",
                e.code, e.message
            )
        } else {
            format!("not verified: {call} answered {}: {}", e.code, e.message)
        };
        Self::new_not_verified(path, call, why)
    }

    /// A check whose answer came back in a form that says nothing: never a pass.
    pub fn malformed(path: &str, call: &str, missing: &str) -> Self {
        Self::new_not_verified(
            path,
            call,
            format!(
                "not verified: {call} answered without {missing}; the endpoint is not \
                 answering as AWS does"
            ),
        )
    }

    /// A check that could not be made, with why.
    pub fn new_not_verified(path: &str, call: &str, why: String) -> Self {
        Self::new(path, call, Outcome::NotVerified(why))
    }

    fn new(path: &str, call: &str, outcome: Outcome) -> Self {
        Self {
            path: path.to_string(),
            call: call.to_string(),
            outcome,
        }
    }

    /// The check as a diagnostic: its problem, or a warning when it was not verified.
    pub fn diagnostic(&self) -> Option<Diagnostic> {
        match &self.outcome {
            Outcome::Passed(_) => None,
            Outcome::Problem(d) => Some(d.clone()),
            Outcome::NotVerified(why) => {
                Some(Diagnostic::warning(&self.path, "not_verified", why.clone()))
            }
        }
    }
}

/// Every check of one request, and how long they took together.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// The checks, in the order planned.
    pub checks: Vec<Check>,
    /// Wall time of the run, in milliseconds.
    pub millis: u64,
    /// Checks answered from the cache.
    pub cached: usize,
}

impl Report {
    /// The problems and unverified checks, as the validator reports diagnostics.
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        self.checks.iter().filter_map(Check::diagnostic).collect()
    }

    /// `Preflight: 9 checks passed, 1 warning, 0 errors (2.1 s)`.
    pub fn summary(&self) -> String {
        let passed = self
            .checks
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Passed(_)))
            .count();
        let diagnostics = self.diagnostics();
        let errors = diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        let warnings = diagnostics.len() - errors;
        format!(
            "Preflight: {} passed, {}, {} ({:.1} s)",
            crate::request::validate::count(passed, "check"),
            crate::request::validate::count(warnings, "warning"),
            crate::request::validate::count(errors, "error"),
            self.millis as f64 / 1000.0
        )
    }

    /// Whether any check found an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics()
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}

/// What the checks need: the connection's clients, region and account.
pub use crate::backend::sdk::Account as Context;

/// Results of checks already made, by the values they looked at.
#[derive(Debug, Default)]
pub struct Cache {
    entries: HashMap<String, (Instant, Vec<Check>)>,
}

/// Runs every check of `request` at once; checks whose values are unchanged since a run
/// less than five minutes ago are answered from `cache` unless `fresh`.
pub async fn run(
    context: Arc<Context>,
    request: &TrainingJobRequest,
    cache: &mut Cache,
    fresh: bool,
) -> Report {
    let started = Instant::now();
    let plans = plan::plans(request);
    let mut results: Vec<Option<Vec<Check>>> = vec![None; plans.len()];
    let mut tasks = tokio::task::JoinSet::new();
    let mut cached = 0;
    for (i, plan) in plans.iter().enumerate() {
        let key = plan.key();
        match cache.entries.get(&key) {
            Some((at, checks)) if !fresh && at.elapsed() < CACHE_FOR => {
                results[i] = Some(checks.clone());
                cached += 1;
            }
            _ => {
                let (plan, context) = (plan.clone(), context.clone());
                tasks.spawn(async move { (i, plan.run(&context).await) });
            }
        }
    }
    while let Some(joined) = tasks.join_next().await {
        if let Ok((i, checks)) = joined {
            cache
                .entries
                .insert(plans[i].key(), (Instant::now(), checks.clone()));
            results[i] = Some(checks);
        }
    }
    Report {
        checks: results.into_iter().flatten().flatten().collect(),
        millis: started.elapsed().as_millis() as u64,
        cached,
    }
}
