//! The tuning job the window shows: described, with its trials, at each tick of its
//! source; the window is told when either changed, and a failure is said once.

use serde_json::Value;

use super::{Event, Outbox};
use crate::backend::Backend;
use crate::job::JobRef;

/// A tuning job followed for its detail.
pub(super) struct FollowedTuning {
    /// The tuning job (its source and name).
    pub job: JobRef,
    last: Option<(Value, Vec<Value>)>,
    reported: Option<String>,
}

impl FollowedTuning {
    /// `job`, not read yet.
    pub fn new(job: JobRef) -> Self {
        Self {
            job,
            last: None,
            reported: None,
        }
    }

    /// Describes the tuning job and lists its trials; sends them when they changed.
    pub async fn poll(&mut self, backend: &dyn Backend, out: &Outbox) {
        // The description shows without the trials when they cannot be listed.
        let read = async {
            let described = backend.describe_tuning_job(&self.job.name).await?;
            let trials = match backend.list_tuning_trials(&self.job.name).await {
                Ok(trials) => trials,
                Err(e) => {
                    self.say_once(
                        out,
                        format!("Listing the training jobs of tuning job {}", self.job),
                        e,
                    );
                    Vec::new()
                }
            };
            Ok::<_, crate::backend::BackendError>((described, trials))
        };
        match read.await {
            Ok(now) => {
                if self.last.as_ref() != Some(&now) {
                    self.last = Some(now.clone());
                    out.send(Event::Tuning {
                        job: self.job.clone(),
                        described: Box::new(now.0),
                        trials: now.1,
                    });
                }
            }
            Err(e) => self.say_once(out, format!("Reading tuning job {}", self.job), e),
        }
    }

    /// Reports `e` unless it was the last error reported.
    fn say_once(&mut self, out: &Outbox, context: String, e: crate::backend::BackendError) {
        if self.reported.as_deref() != Some(e.message.as_str()) {
            self.reported = Some(e.message.clone());
            out.error(context, e);
        }
    }
}
