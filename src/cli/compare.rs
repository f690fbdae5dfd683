//! `sagedesk compare`: the Compare view's table for jobs from any source, or a comparison
//! the window exported as JSON.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use super::{EXIT_BAD_INPUT, Failure};
use crate::backend::sdk::AwsConnection;
use crate::backend::{Backend, Connection, read_metrics};
use crate::job::Cursor;
use crate::job::compare::{ComparedJob, Comparison};

/// Metric pages read per job.
const METRIC_PAGES: usize = 50;

/// How the comparison is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// Aligned text, one column per job.
    Text,
    /// CSV, one line per job.
    Csv,
    /// The JSON the window exports.
    Json,
}

fn bad_input(message: String) -> Failure {
    Failure {
        message,
        code: EXIT_BAD_INPUT,
    }
}

/// The source and name of a job argument: `local:NAME`, `aws:NAME` (on `connection`, else
/// the default AWS profile), or `NAME` on `connection` (else this machine).
pub fn parse_job(
    arg: &str,
    connection: Option<&Connection>,
) -> Result<(Connection, String), Failure> {
    let (source, name) = match arg.split_once(':') {
        Some(("local", name)) => (Connection::Local, name),
        Some(("aws", name)) => (
            match connection {
                Some(c @ Connection::Aws(_)) => c.clone(),
                _ => Connection::Aws(AwsConnection::default()),
            },
            name,
        ),
        _ => (connection.cloned().unwrap_or_default(), arg),
    };
    if !crate::request::is_valid_job_name(name) {
        return Err(bad_input(format!(
            "{arg:?} is not a job: give NAME, local:NAME or aws:NAME with a valid \
             TrainingJobName"
        )));
    }
    Ok((source, name.to_string()))
}

/// The largest comparison file read: far above what the window exports.
const MAX_COMPARISON_BYTES: u64 = 64 << 20;

/// Reads a comparison exported by the window.
fn read_file(path: &Path) -> Result<Comparison, Failure> {
    let text = crate::request::read_limited(path, MAX_COMPARISON_BYTES)
        .map_err(|e| bad_input(format!("{}: {e}", path.display())))?
        .map_err(|size| {
            bad_input(format!(
                "{}: {size} bytes or more is too large for a comparison (the limit is {} bytes)",
                path.display(),
                MAX_COMPARISON_BYTES
            ))
        })?;
    serde_json::from_str(&text).map_err(|e| {
        bad_input(format!(
            "{}: not a SageDesk comparison (line {}, column {}): {e}",
            path.display(),
            e.line(),
            e.column()
        ))
    })
}

/// One job's row: its description and the last point of each metric. Metrics that cannot
/// be read leave the service's final values, with a warning on stderr.
async fn compared(
    backend: &dyn Backend,
    source: &Connection,
    name: &str,
) -> Result<ComparedJob, Failure> {
    let detail = backend.describe_training_job(name).await?;
    let mut cursor = Cursor::default();
    let (series, error) = read_metrics(backend, name, &mut cursor, METRIC_PAGES).await;
    if let Some(e) = error {
        eprintln!(
            "warning: the metric series of {name} could not be read ({e}); final values from \
             DescribeTrainingJob"
        );
    }
    let last: BTreeMap<String, f64> = series
        .into_iter()
        .filter(|s| crate::job::parse_instance_series(&s.name).is_none())
        .filter_map(|s| Some((s.name, s.points.last()?.value)))
        .collect();
    let cost = estimated_cost(backend, &detail).await;
    Ok(ComparedJob::new(source.source_label(), &detail, &last).with_cost(cost))
}

/// A remote job's estimated cost from the Price List; a price that cannot be read is a
/// warning on stderr.
async fn estimated_cost(backend: &dyn Backend, detail: &crate::job::JobDetail) -> Option<f64> {
    if !backend.is_remote() {
        return None;
    }
    let billing = detail.billing();
    let (instance_type, _) = billing.billed_instances()?;
    match backend.instance_price(instance_type).await {
        Ok(price) => billing.estimated_cost(&price),
        Err(e) => {
            eprintln!(
                "warning: no price for {instance_type} ({e}); {} has no estimated cost",
                detail.summary.name
            );
            None
        }
    }
}

/// Prints the comparison of `jobs` (or of the one exported file given).
pub async fn compare(
    jobs: &[String],
    connection: Option<Connection>,
    output: Output,
) -> Result<u8, Failure> {
    let table = match jobs {
        [file] if file.ends_with(".json") && Path::new(file).is_file() => {
            read_file(Path::new(file))?
        }
        [_] | [] => {
            return Err(bad_input(
                "compare needs two jobs or more (or one file exported by the window)".into(),
            ));
        }
        _ => {
            let parsed = jobs
                .iter()
                .map(|arg| parse_job(arg, connection.as_ref()))
                .collect::<Result<Vec<_>, _>>()?;
            let mut backends: Vec<(Connection, Arc<dyn Backend>)> = Vec::new();
            let mut rows = Vec::new();
            for (source, name) in &parsed {
                let backend = match backends.iter().find(|(c, _)| c == source) {
                    Some((_, b)) => b.clone(),
                    None => {
                        let b = crate::backend::open(source).await?;
                        backends.push((source.clone(), b.clone()));
                        b
                    }
                };
                rows.push(compared(backend.as_ref(), source, name).await?);
            }
            Comparison::new(rows)
        }
    };
    match output {
        Output::Text => print!("{}", table.to_text()),
        Output::Csv => print!("{}", table.to_csv()),
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(&table).expect("a comparison serializes")
        ),
    }
    Ok(0)
}
