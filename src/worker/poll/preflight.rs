//! Preflight runs for the builder: on their own task (the checks of one request run at
//! once and take a second or two), with each source's cache of results.

use std::sync::Arc;

use super::Poller;
use crate::backend::Connection;
use crate::preflight::{self, Cache};
use crate::request::TrainingJobRequest;
use crate::worker::Event;

/// One source's cache, shared with the running checks.
pub(super) type SharedCache = Arc<tokio::sync::Mutex<Cache>>;

impl Poller {
    /// Checks `request` against `source`'s account and sends the report.
    pub(super) fn preflight(
        &mut self,
        source: Connection,
        request: Box<TrainingJobRequest>,
        fresh: bool,
    ) {
        let Some(context) = self.backend(&source).and_then(|backend| backend.account()) else {
            return;
        };
        let cache = self.preflight.entry(source).or_default().clone();
        let out = self.out.clone();
        tokio::spawn(async move {
            let mut cache = cache.lock().await;
            let report = preflight::run(Arc::new(context), &request, &mut cache, fresh).await;
            out.send(Event::Preflight { request, report });
            out.flush();
        });
    }
}
