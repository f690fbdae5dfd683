//! `sagedesk preflight JOB.json`: the builder's preflight checks from the command line, and
//! before `sagedesk run --aws` submits.

use std::fmt::Write;
use std::path::Path;
use std::sync::Arc;

use super::{EXIT_BAD_INPUT, EXIT_FAILED, Failure, report};
use crate::backend::aws::AwsBackend;
use crate::backend::{Backend, Connection};
use crate::preflight::{self, Cache, Outcome, Report};
use crate::request::TrainingJobRequest;

/// Runs every check of `request` on `connection` (else the default AWS profile).
pub async fn check(
    request: &TrainingJobRequest,
    connection: Option<Connection>,
) -> Result<Report, Failure> {
    let aws = match connection {
        Some(Connection::Aws(aws)) => aws,
        _ => Default::default(),
    };
    let backend = AwsBackend::connect(aws).await?;
    let context = Arc::new(backend.account().expect("an AWS connection has an account"));
    Ok(preflight::run(context, request, &mut Cache::default(), true).await)
}

/// The report as text: the summary, then each check with the call it made.
pub fn text(origin: &str, report: &Report) -> String {
    let mut out = format!("{origin}: {}\n", report.summary());
    for check in &report.checks {
        let (mark, what) = match &check.outcome {
            Outcome::Passed(what) => ("ok      ", what.clone()),
            Outcome::Problem(d) => (
                match d.severity {
                    crate::request::validate::Severity::Error => "error   ",
                    crate::request::validate::Severity::Warning => "warning ",
                },
                format!("{}: {}", d.code, d.message),
            ),
            Outcome::NotVerified(why) => ("unknown ", why.clone()),
        };
        let call = if check.call.is_empty() {
            String::new()
        } else {
            format!(" [{}]", check.call)
        };
        let _ = writeln!(out, "  {mark}{}{call}\n           {what}", check.path);
    }
    out
}

/// `sagedesk preflight FILE`: exit 0 without errors, 1 with, 2 when the file is unreadable.
pub async fn preflight_file(
    file: &Path,
    connection: Option<Connection>,
    json: bool,
) -> Result<u8, Failure> {
    let imported = crate::request::read_request_file(file)?;
    for notice in &imported.notices {
        eprintln!("note: {}: {notice}", file.display());
    }
    let report = check(&imported.request, connection).await?;
    if json {
        println!("{}", report::json(&report.diagnostics()));
    } else {
        print!("{}", text(&file.display().to_string(), &report));
    }
    Ok(if report.has_errors() { EXIT_FAILED } else { 0 })
}

/// Before `run --aws` submits: refuses a request preflight finds errors in.
pub async fn before_submit(
    request: &TrainingJobRequest,
    connection: Option<Connection>,
    origin: &str,
) -> Result<(), Failure> {
    let report = check(request, connection).await?;
    if report.has_errors() {
        return Err(Failure {
            message: format!(
                "preflight found what SageMaker would refuse or fail on (--no-preflight \
                 submits anyway)\n{}",
                text(origin, &report)
            ),
            code: EXIT_BAD_INPUT,
        });
    }
    eprintln!("{}", report.summary());
    Ok(())
}
