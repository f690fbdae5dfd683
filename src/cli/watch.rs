//! `sagedesk run --watch`: the same request runs again whenever the code folder changes
//! (the run before stopped if it is still going, its logs kept as a job of its own), as
//! [`crate::code_watch`] tells.

use std::time::Duration;

use super::follow::{self, Naming, Outcome};
use super::{EXIT_BAD_INPUT, Failure};
use crate::backend::Backend;
use crate::code_watch::{CodeWatch, LOOK, code_folder};
use crate::request::TrainingJobRequest;

/// Runs `request`, then again after every settled change of its `file://` code folder,
/// until Ctrl+C; the exit code of the last run.
pub async fn run_watching(
    backend: &dyn Backend,
    mut request: TrainingJobRequest,
    follow: bool,
    stop_grace: Option<Duration>,
) -> Result<u8, Failure> {
    let folder = code_folder(&request).ok_or_else(|| Failure {
        message: format!(
            "--watch needs HyperParameters.{} to be a file:// folder to watch",
            crate::request::SUBMIT_DIRECTORY
        ),
        code: EXIT_BAD_INPUT,
    })?;
    let base = crate::request::strip_stamp(request.name()).to_string();
    let mut code = CodeWatch::new(folder.clone());
    loop {
        request.training_job_name = Some(crate::request::unique_name(&base));
        let outcome = follow::run_until(
            backend,
            request.clone(),
            Naming::Unique,
            follow,
            stop_grace,
            &mut || code.changed(),
        )
        .await?;
        let exit = match outcome {
            Outcome::Changed => {
                follow::say_err("the code changed: running again".into());
                continue;
            }
            Outcome::Left(exit) => return Ok(exit),
            Outcome::Ended(exit) => exit,
        };
        follow::say_err(format!(
            "watching {} for changes (Ctrl+C to quit)",
            folder.display()
        ));
        // One listener for the whole wait: a Ctrl+C during a look at the folder is kept.
        let mut interrupt = super::interrupt::Interrupts::listen();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(LOOK) => {
                    if code.changed() {
                        follow::say_err("the code changed: running again".into());
                        break;
                    }
                }
                _ = interrupt.next() => return Ok(exit),
            }
        }
    }
}
