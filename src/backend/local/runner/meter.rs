//! Progress of a long stage (downloads, copies, uploads) written into the job's status
//! message twice a second, as the service's "Downloading input data" messages move.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::task::JoinHandle;

use super::PROGRESS_EVERY;
use crate::backend::local::off_thread;
use crate::backend::s3::SharedProgress;
use crate::job::{SecondaryStatus, Status};
use crate::store::{Store, now_ms};

/// Bytes done and in all, shared with the transfers that move them.
#[derive(Default)]
struct Counts {
    done: AtomicU64,
    total: AtomicU64,
    stop: tokio::sync::Notify,
}

/// Writes "`label`: done of total" into the job's status message while a stage runs.
pub(super) struct Meter {
    counts: Arc<Counts>,
    task: JoinHandle<()>,
}

impl Meter {
    /// Starts writing progress for `job` in `secondary`.
    pub(super) fn start(
        database: PathBuf,
        job: String,
        secondary: SecondaryStatus,
        label: &'static str,
    ) -> Self {
        let counts = Arc::new(Counts::default());
        let seen = counts.clone();
        let task = tokio::spawn(async move {
            let mut last = (0, 0);
            loop {
                tokio::select! {
                    _ = seen.stop.notified() => return,
                    _ = tokio::time::sleep(PROGRESS_EVERY) => {}
                }
                let now = (
                    seen.done.load(Ordering::Relaxed),
                    seen.total.load(Ordering::Relaxed),
                );
                if now == last || now.1 == 0 {
                    continue;
                }
                last = now;
                let message = format!(
                    "{label}: {} of {}",
                    crate::job::bytes(now.0),
                    crate::job::bytes(now.1)
                );
                let (database, job) = (database.clone(), job.clone());
                let _ = off_thread(move || {
                    Store::open(&database)?.transition(
                        &job,
                        Status::InProgress,
                        secondary,
                        &message,
                        now_ms(),
                    )
                })
                .await;
            }
        });
        Self { counts, task }
    }

    /// A callback the transfers report `(done, total)` to.
    pub(super) fn progress(&self) -> SharedProgress {
        let counts = self.counts.clone();
        Arc::new(move |done, total| {
            counts.done.store(done, Ordering::Relaxed);
            counts.total.store(total, Ordering::Relaxed);
        })
    }

    /// Stops writing, once any write under way has landed (so it cannot overwrite the
    /// status of the stage that follows).
    pub(super) async fn finish(self) {
        self.counts.stop.notify_one();
        let _ = self.task.await;
    }
}
