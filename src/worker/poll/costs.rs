//! The list's cost column: what the listed finished jobs of each AWS source are billed
//! for, kept in the store once read (it never changes). Read with `Search`, a hundred jobs
//! a call and a page per tick, then (for jobs that finish later, or where `Search` is
//! refused) a few `DescribeTrainingJob` calls per tick, visible rows first; and the
//! on-demand price of each instance type seen.

use super::Poller;
use crate::backend::{Backend, Connection};
use crate::job::{Billing, JobSummary};
use crate::worker::Event;

/// Finished jobs described per tick for their billing, per remote source, once `Search`
/// has been read through or is refused.
const BILLING_PER_TICK: usize = 5;
/// `Search` pages (a hundred jobs each) read per tick, per remote source, while listed
/// finished jobs are not known: 10,000 jobs take 34 ticks.
const SEARCH_PAGES_PER_TICK: usize = 3;

/// How far a source's `Search` over every job has gone this run.
#[derive(Debug, Clone)]
pub(super) enum Sweep {
    /// The next page to read (`None`: the first).
    Page(Option<String>),
    /// Every page was read: jobs that finish later are described one by one.
    Finished,
    /// The source refused `Search` (permissions, a server without it): jobs are described
    /// one by one.
    Refused,
}

impl Default for Sweep {
    fn default() -> Self {
        Self::Page(None)
    }
}

impl Poller {
    /// Reads the billing of a few listed finished jobs of remote source `i` (the store's
    /// first), then the prices of their instance types.
    pub(super) async fn fetch_costs(&mut self, i: usize) {
        if !self.sources[i].backend.is_remote() {
            return;
        }
        let connection = self.sources[i].connection.clone();
        let backend = self.sources[i].backend.clone();
        let mut read = Vec::new();
        if !self.sources[i].billing_loaded {
            self.sources[i].billing_loaded = true;
            read = self.desk.kept_billing(&connection).await;
            self.sources[i]
                .billed
                .extend(read.iter().map(|(name, _)| name.clone()));
        }
        for _ in 0..SEARCH_PAGES_PER_TICK {
            let source = &self.sources[i];
            let unknown =
                |j: &JobSummary| j.status.is_terminal() && !source.billed.contains(&j.name);
            if source.wanted(1, unknown).is_empty() {
                break;
            }
            match self.sweeps.get(&connection).cloned().unwrap_or_default() {
                Sweep::Page(token) => self.search_page(i, token, &mut read).await,
                Sweep::Finished | Sweep::Refused => {
                    self.describe_some(i, &mut read).await;
                    break;
                }
            }
        }
        if read.is_empty() {
            return;
        }
        let mut types: Vec<String> = read
            .iter()
            .filter_map(|(_, b)| b.billed_instances().map(|(t, _)| t.to_string()))
            .collect();
        types.sort();
        types.dedup();
        self.out.send(Event::Billing {
            source: connection.clone(),
            billing: read,
        });
        for instance_type in types {
            self.ensure_price(&connection, backend.as_ref(), &instance_type)
                .await;
        }
    }

    /// Reads one page of `Search` (a hundred jobs' descriptions) on source `i`, keeping
    /// the billing of the finished jobs; a source that refuses `Search` falls back to
    /// describing jobs one by one.
    async fn search_page(
        &mut self,
        i: usize,
        token: Option<String>,
        read: &mut Vec<(String, Billing)>,
    ) {
        let connection = self.sources[i].connection.clone();
        let backend = self.sources[i].backend.clone();
        let next = match backend.search_training_jobs(token).await {
            Ok((jobs, next)) => {
                for detail in jobs.iter().filter(|d| d.summary.status.is_terminal()) {
                    let name = detail.summary.name.clone();
                    if self.sources[i].billed.insert(name.clone()) {
                        let billing = detail.billing();
                        self.desk
                            .keep_billing(&self.sources[i].job(&name), &billing)
                            .await;
                        read.push((name, billing));
                    }
                }
                next.map_or(Sweep::Finished, |t| Sweep::Page(Some(t)))
            }
            Err(e) => {
                tracing::debug!("Search on {connection:?}: {e}; describing jobs one by one");
                Sweep::Refused
            }
        };
        self.sweeps.insert(connection, next);
    }

    /// Describes a few listed finished jobs of source `i` whose billing is not known.
    async fn describe_some(&mut self, i: usize, read: &mut Vec<(String, Billing)>) {
        let backend = self.sources[i].backend.clone();
        let source = &self.sources[i];
        let wanted = source.wanted(BILLING_PER_TICK, |j| {
            j.status.is_terminal() && !source.billed.contains(&j.name)
        });
        for job in wanted {
            match backend.describe_training_job(&job.name).await {
                Ok(detail) => {
                    let billing = detail.billing();
                    self.desk
                        .keep_billing(&self.sources[i].job(&job.name), &billing)
                        .await;
                    self.sources[i].billed.insert(job.name.clone());
                    read.push((job.name, billing));
                }
                Err(e) => {
                    // Not reported per job: the cell keeps "reading…" and is tried again.
                    tracing::debug!("billing of {}: {e}", job.name);
                    break;
                }
            }
        }
    }

    /// Reads and sends the on-demand price of `instance_type` on a remote `source`, once
    /// a run per source and type (the store keeps it between runs).
    pub(super) async fn ensure_price(
        &mut self,
        source: &Connection,
        backend: &dyn Backend,
        instance_type: &str,
    ) {
        if !backend.is_remote()
            || !self
                .prices
                .insert((source.clone(), instance_type.to_string()))
        {
            return;
        }
        let price = self.desk.price(source, backend, instance_type).await;
        self.out.send(Event::Price {
            source: source.clone(),
            instance_type: instance_type.to_string(),
            price,
        });
    }
}
