//! `sagedesk diagnose NAME [--json]`: why a failed or stopped job ended, in one line, with
//! the exception, the traceback mapped to the user's files and the next steps.

use super::Failure;
use crate::backend::Backend;
use crate::job::diagnosis::Diagnosis;

/// Prints the diagnosis of job `name`; exit 0, or 1 when the job did not fail or stop.
pub async fn diagnose(backend: &dyn Backend, name: &str, json: bool) -> Result<u8, Failure> {
    let home = super::local::config().ok().map(|c| c.home);
    let diagnosed =
        crate::backend::diagnose::diagnose_job_here(backend, name, home.as_deref()).await?;
    let Some(diagnosis) = diagnosed else {
        let detail = backend.describe_training_job(name).await?;
        eprintln!(
            "{name} did not fail or stop: it is {}",
            detail.summary.status
        );
        return Ok(1);
    };
    if json {
        let text = serde_json::to_string_pretty(&diagnosis).expect("a diagnosis serializes");
        println!("{text}");
    } else {
        print!("{}", text(&diagnosis));
    }
    Ok(0)
}

/// The diagnosis as the terminal shows it.
pub fn text(d: &Diagnosis) -> String {
    let mut out = format!("{}: {}\n", d.category.label(), d.summary);
    if let Some(host) = &d.host {
        out.push_str(&format!("  host       {host}\n"));
    }
    if let Some(exception) = &d.exception {
        out.push_str(&format!("  exception  {exception}\n"));
    }
    if !d.traceback.is_empty() {
        out.push_str("\nTraceback (most recent call last):\n");
        for frame in &d.traceback {
            let file = frame.local.as_deref().unwrap_or(&frame.file);
            out.push_str(&format!("  {file}:{} in {}\n", frame.line, frame.function));
        }
    }
    if !d.next_steps.is_empty() {
        out.push_str("\nNext steps:\n");
        for step in &d.next_steps {
            out.push_str(&format!("  - {step}\n"));
        }
    }
    out
}
