//! The evidence a diagnosis reads, gathered through any backend: the job's detail, its
//! log's last lines (from the local store, or CloudWatch Logs read forward), where its code
//! folder is for the user, and the prices of the instance types a next step offers.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;

use super::{Backend, BackendError};
use crate::job::diagnosis::{Category, CodeFolder, Diagnosis, Evidence, Line, diagnose, family};
use crate::job::{Cursor, JobDetail};

/// Lines of the log's end a diagnosis reads.
const TAIL: u64 = 5_000;
/// Most lines read forward from a log that can only be read forward.
const FORWARD_LIMIT: usize = 200_000;

/// The diagnosis of job `name`, or `None` when it did not fail or stop.
pub async fn diagnose_job(
    backend: &dyn Backend,
    name: &str,
) -> Result<Option<Diagnosis>, BackendError> {
    diagnose_job_here(backend, name, None).await
}

/// [`diagnose_job`], with the frames of code SageDesk uploaded from the data folder `home`
/// mapped to the folder it was uploaded from.
pub async fn diagnose_job_here(
    backend: &dyn Backend,
    name: &str,
    home: Option<&std::path::Path>,
) -> Result<Option<Diagnosis>, BackendError> {
    let detail = backend.describe_training_job(name).await?;
    if !matches!(
        detail.summary.status,
        crate::job::Status::Failed | crate::job::Status::Stopped
    ) {
        return Ok(None);
    }
    let lines = log_tail(backend, name).await?;
    let mut evidence = Evidence {
        detail: &detail,
        lines: &lines,
        code: code_folder(&detail, home),
        prices: BTreeMap::new(),
    };
    let first = diagnose(&evidence);
    let wants_prices = first.as_ref().is_some_and(|d| {
        matches!(
            d.category,
            Category::Quota | Category::Capacity | Category::OutOfMemory
        )
    });
    if wants_prices && let Some(instance) = instance_type(&detail) {
        for candidate in family(&instance) {
            if let Ok(price) = backend.instance_price(&candidate).await {
                evidence.prices.insert(candidate, price.usd_per_hour);
            }
        }
        return Ok(diagnose(&evidence));
    }
    Ok(first)
}

fn instance_type(detail: &JobDetail) -> Option<String> {
    detail
        .request
        .resource_config
        .as_ref()
        .and_then(|r| r.instance_type.clone())
}

/// The log's last lines as `(host, text)`: the last [`TAIL`] rows where the backend keeps
/// them, else the end of what reading forward gives.
async fn log_tail(backend: &dyn Backend, name: &str) -> Result<Vec<Line>, BackendError> {
    let line = |l: crate::job::LogLine| Line {
        host: l.host,
        stderr: l.stream == crate::job::Stream::Stderr,
        text: l.text,
    };
    if let Some(size) = backend.log_size(name).await? {
        let rows = size.total.saturating_sub(TAIL)..size.total;
        let lines = backend.log_rows(name, None, rows).await?;
        return Ok(lines.into_iter().map(line).collect());
    }
    let mut cursor = Cursor::default();
    let mut kept: VecDeque<Line> = VecDeque::new();
    let mut read = 0;
    while read < FORWARD_LIMIT {
        let page = backend.get_log_events(name, &cursor, 10_000).await?;
        if page.lines.is_empty() {
            break;
        }
        read += page.lines.len();
        for l in page.lines {
            if kept.len() == TAIL as usize {
                kept.pop_front();
            }
            kept.push_back(line(l));
        }
        cursor = page.next_cursor;
    }
    Ok(kept.into())
}

/// The code folder of a job whose submit directory is a `file://` folder here, or code
/// SageDesk uploaded from a folder here (as recorded in `home`).
fn code_folder(detail: &JobDetail, home: Option<&std::path::Path>) -> CodeFolder {
    let uri = detail
        .request
        .hyper_parameters
        .as_ref()
        .and_then(|h| h.get(crate::request::SUBMIT_DIRECTORY))
        .map(|raw| serde_json::from_str::<String>(raw).unwrap_or_else(|_| raw.clone()));
    let here = uri.and_then(|uri| match uri.strip_prefix("file://") {
        Some(path) => Some(PathBuf::from(path)).filter(|p| p.is_dir()),
        None => home.and_then(|home| crate::uploads::folder_of(home, &uri)),
    });
    CodeFolder {
        logged: vec!["/opt/ml/code/".into()],
        here,
    }
}
