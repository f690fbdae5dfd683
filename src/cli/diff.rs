//! `sagedesk diff A B`: two jobs' requests (or request files) member by member, for "why
//! did the AWS run fail when the local one worked".

use super::compare::parse_job;
use super::{EXIT_BAD_INPUT, Failure};
use crate::backend::Connection;
use crate::request::TrainingJobRequest;
use crate::request::diff::{diff as differences, shown};

/// Prints where the requests of `a` and `b` differ; exit 0 either way.
pub async fn diff(
    a: &str,
    b: &str,
    connection: Option<Connection>,
    json: bool,
) -> Result<u8, Failure> {
    let left = request_of(a, connection.as_ref()).await?;
    let right = request_of(b, connection.as_ref()).await?;
    let found = differences(&left, &right);
    if json {
        let rows: Vec<serde_json::Value> = found
            .iter()
            .map(|d| serde_json::json!({"path": d.path, "a": d.a, "b": d.b}))
            .collect();
        let text = serde_json::to_string_pretty(&rows).expect("JSON values serialize");
        println!("{text}");
        return Ok(0);
    }
    if found.is_empty() {
        println!("the requests of {a} and {b} are the same (but for their names)");
        return Ok(0);
    }
    let rows: Vec<(String, String, String)> = found
        .iter()
        .map(|d| (d.path.clone(), shown(&d.a), shown(&d.b)))
        .collect();
    let width = |i: usize| {
        rows.iter()
            .map(|r| [&r.0, &r.1, &r.2][i].chars().count())
            .chain([[("member"), a, b][i].chars().count()])
            .max()
            .unwrap_or(0)
            .min(60)
    };
    let (w0, w1) = (width(0), width(1));
    println!("{:w0$}  {:w1$}  {b}", "member", a);
    for (path, x, y) in rows {
        println!("{path:w0$}  {x:w1$}  {y}");
    }
    Ok(0)
}

/// The request of a job argument (`NAME`, `local:NAME`, `aws:NAME`) or of a request file.
async fn request_of(
    arg: &str,
    connection: Option<&Connection>,
) -> Result<TrainingJobRequest, Failure> {
    let path = std::path::Path::new(arg);
    if arg.ends_with(".json") && path.is_file() {
        return crate::request::read_request_file(path)
            .map(|imported| imported.request)
            .map_err(|e| Failure {
                message: e.to_string(),
                code: EXIT_BAD_INPUT,
            });
    }
    let (source, name) = parse_job(arg, connection)?;
    let backend = crate::backend::open(&source).await?;
    Ok(backend.describe_training_job(&name).await?.request)
}
