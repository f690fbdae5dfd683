//! Which rows the job list shows and in which order: every source's jobs filtered by
//! source, status and name, sorted by column, optionally grouped by name prefix or tag;
//! recomputed only when its inputs change.

use std::collections::HashMap;

use chrono::Utc;

use super::super::cost::{Estimate, Total};
use super::super::data::Data;
use super::super::state::{GroupBy, SortColumn, State};
use crate::job::JobSummary;
use crate::job::{Connection, JobRef};
use crate::request::strip_stamp;

/// A row of the list: a group header or a job (source index, job index).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Row {
    /// The header of group `i` of [`ListCache::groups`].
    Group(usize),
    /// Job `job` of source `source`.
    Job {
        /// Index into `Data::sources`.
        source: u32,
        /// Index into that source's jobs.
        job: u32,
    },
}

/// A group of rows and its jobs.
#[derive(Debug, Clone, Default)]
pub struct Group {
    /// The shared name prefix, tag value or tuning job name.
    pub key: String,
    /// The source of its first job (for a tuning job: the source that lists it).
    pub source: Option<u32>,
    /// Its jobs, as rows.
    pub jobs: Vec<(u32, u32)>,
    /// The estimated cost of its jobs (while the cost column is shown).
    pub total: Total,
}

type ListKey = (
    u64,
    Option<String>,
    String,
    SortColumn,
    bool,
    Option<Connection>,
    GroupBy,
    bool,
);

/// Which rows are shown, in which order; recomputed only when its inputs change.
#[derive(Default)]
pub struct ListCache {
    key: Option<ListKey>,
    /// The rows, in display order.
    pub order: Vec<Row>,
    /// The groups, when grouping.
    pub groups: Vec<Group>,
    /// Jobs the filters let through.
    pub shown: usize,
    /// The estimated cost of the jobs the filters let through.
    pub total: Total,
    /// Jobs of the rows drawn in the last frame.
    pub visible: Vec<JobRef>,
}

impl ListCache {
    /// Brings `order` up to date.
    pub fn update(&mut self, data: &Data, state: &State) {
        let key = (
            data.jobs_version,
            state.status_filter.clone(),
            state.search.clone(),
            state.sort,
            state.ascending,
            state.source_filter.clone(),
            state.group_by.clone(),
            state.show_cost,
        );
        if self.key.as_ref() == Some(&key) {
            return;
        }
        let needle = state.search.to_lowercase();
        let now = Utc::now();
        let mut jobs: Vec<(u32, u32)> = Vec::new();
        for (s, source) in data.sources.iter().enumerate() {
            if !shows(state, &source.connection) {
                continue;
            }
            jobs.extend(
                source
                    .jobs
                    .iter()
                    .enumerate()
                    .filter(|(_, j)| {
                        state
                            .status_filter
                            .as_deref()
                            .is_none_or(|s| j.status.as_str() == s)
                            && (needle.is_empty() || j.name.to_lowercase().contains(&needle))
                    })
                    .map(|(i, _)| (s as u32, i as u32)),
            );
        }
        let get = |&(s, i): &(u32, u32)| &data.sources[s as usize].jobs[i as usize];
        // Estimates only while the cost column is shown or sorts the list: once per change
        // of the rows, one per row, in the rows' order.
        let selected = state.selection.as_ref();
        let costs: Vec<Option<Estimate>> = if state.show_cost || state.sort == SortColumn::Cost {
            let estimators: Vec<_> = data
                .sources
                .iter()
                .map(|s| data.estimator(&s.connection, selected))
                .collect();
            jobs.iter()
                .map(|row| {
                    let job = get(row);
                    estimators[row.0 as usize](&job.name, job.status)
                })
                .collect()
        } else {
            Vec::new()
        };
        self.total = Total::default();
        for estimate in costs.iter().flatten() {
            self.total.add(estimate);
        }
        let direction = |ord: std::cmp::Ordering| if state.ascending { ord } else { ord.reverse() };
        let mut sorted: Vec<usize> = (0..jobs.len()).collect();
        if state.sort == SortColumn::Cost {
            // One integer per row, made once: known costs by amount, then what waits, then
            // the rest (local jobs), whatever the direction; ties in the rows' order (which
            // is their source's and position's).
            let keys: Vec<u128> = costs
                .iter()
                .enumerate()
                .map(|(i, c)| cost_key(c.as_ref(), i as u32, state.ascending))
                .collect();
            sorted.sort_unstable_by_key(|&i| keys[i]);
        } else {
            sorted.sort_unstable_by(|&a, &b| {
                let (ja, jb) = (get(&jobs[a]), get(&jobs[b]));
                let ord = match state.sort {
                    SortColumn::Name => ja.name.cmp(&jb.name),
                    SortColumn::Status => ja.status.as_str().cmp(jb.status.as_str()),
                    SortColumn::Created => ja.creation_time.cmp(&jb.creation_time),
                    SortColumn::Duration => ja.duration(now).cmp(&jb.duration(now)),
                    SortColumn::Cost => std::cmp::Ordering::Equal,
                };
                direction(ord.then(jobs[a].cmp(&jobs[b])))
            });
        }
        let estimate_of = |i: usize| costs.get(i).and_then(Option::as_ref);
        let jobs: Vec<(usize, (u32, u32))> = sorted.into_iter().map(|i| (i, jobs[i])).collect();
        self.shown = jobs.len();
        self.groups.clear();
        self.order = match state.group_by {
            GroupBy::None => jobs
                .into_iter()
                .map(|(_, (source, job))| Row::Job { source, job })
                .collect(),
            GroupBy::NamePrefix | GroupBy::Tag(_) | GroupBy::TuningJob => {
                let mut index: HashMap<String, usize> = Default::default();
                for (i, row) in jobs {
                    let key = group_key(data, &state.group_by, row, get(&row));
                    let g = *index.entry(key.clone()).or_insert_with(|| {
                        self.groups.push(Group {
                            key,
                            source: Some(row.0),
                            ..Group::default()
                        });
                        self.groups.len() - 1
                    });
                    self.groups[g].jobs.push(row);
                    if let Some(estimate) = estimate_of(i) {
                        self.groups[g].total.add(estimate);
                    }
                }
                if state.group_by == GroupBy::TuningJob {
                    self.tuning_without_trials(data, state, &needle, &index);
                }
                let mut order = Vec::with_capacity(self.shown + self.groups.len());
                for (g, group) in self.groups.iter().enumerate() {
                    // A name prefix only one job has is no group, nor are the jobs of no
                    // tuning job: they stand alone.
                    let alone = match state.group_by {
                        GroupBy::NamePrefix => group.jobs.len() == 1,
                        GroupBy::TuningJob => group.key.is_empty(),
                        GroupBy::None | GroupBy::Tag(_) => false,
                    };
                    if alone {
                        order.extend(
                            group
                                .jobs
                                .iter()
                                .map(|&(source, job)| Row::Job { source, job }),
                        );
                        continue;
                    }
                    order.push(Row::Group(g));
                    order.extend(
                        group
                            .jobs
                            .iter()
                            .map(|&(source, job)| Row::Job { source, job }),
                    );
                }
                order
            }
        };
        self.key = Some(key);
    }

    /// Adds a group for each listed tuning job no shown job is a trial of (one that has
    /// started none yet, or whose trials are filtered out), so that it can be opened.
    fn tuning_without_trials(
        &mut self,
        data: &Data,
        state: &State,
        needle: &str,
        grouped: &HashMap<String, usize>,
    ) {
        for (s, source) in data.sources.iter().enumerate() {
            if !shows(state, &source.connection) {
                continue;
            }
            for tuning in &source.tuning {
                let matches = needle.is_empty() || tuning.name.to_lowercase().contains(needle);
                if matches && !grouped.contains_key(&tuning.name) {
                    self.groups.push(Group {
                        key: tuning.name.clone(),
                        source: Some(s as u32),
                        ..Group::default()
                    });
                }
            }
        }
    }

    /// The job of row `row`, if it is a job.
    pub(super) fn job_ref(&self, data: &Data, row: usize) -> Option<JobRef> {
        match self.order.get(row)? {
            Row::Job { source, job } => Some(data.job_ref(*source as usize, *job as usize)),
            Row::Group(_) => None,
        }
    }

    /// The jobs of group `g`.
    pub(super) fn group_jobs(&self, data: &Data, g: usize) -> Vec<JobRef> {
        self.groups[g]
            .jobs
            .iter()
            .map(|&(s, i)| data.job_ref(s as usize, i as usize))
            .collect()
    }
}

/// Whether the source filter lets `source`'s rows through.
fn shows(state: &State, source: &Connection) -> bool {
    state.source_filter.as_ref().is_none_or(|f| f == source)
}

/// The group of a job: its name prefix, its value of the tag (saying when it has none or
/// its tags are still being read), or its tuning job.
fn group_key(data: &Data, group_by: &GroupBy, (s, _): (u32, u32), job: &JobSummary) -> String {
    match group_by {
        GroupBy::Tag(key) => match data.sources[s as usize].tags.get(&job.name) {
            Some(tags) => match tags.iter().find(|(k, _)| k == key) {
                Some((_, value)) => format!("{key} = {value}"),
                None => format!("no {key} tag"),
            },
            None => "tags being read…".to_string(),
        },
        // Jobs of no tuning job share the empty key and stand alone.
        GroupBy::TuningJob => crate::request::tuning::tuning_job_of(&job.name)
            .unwrap_or_default()
            .to_string(),
        GroupBy::None | GroupBy::NamePrefix => name_prefix(&job.name).to_string(),
    }
}

/// Tag keys seen on the jobs whose tags were read, sorted.
pub(super) fn tag_keys(data: &Data) -> Vec<String> {
    let mut keys: Vec<String> = data
        .sources
        .iter()
        .flat_map(|s| s.tags.values().flatten().map(|(k, _)| k.clone()))
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// A name without the time stamp SageDesk or the SageMaker SDK appends and without
/// trailing all-digit parts: the runs of one experiment share it.
pub fn name_prefix(name: &str) -> &str {
    let mut base = strip_stamp(name);
    while let Some((head, tail)) = base.rsplit_once('-') {
        if !head.is_empty() && !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()) {
            base = head;
        } else {
            break;
        }
    }
    base
}

/// A row's place when the list is sorted by cost: its rank (a known cost, waiting, none),
/// then the amount, then its position, the last two reversed when descending.
fn cost_key(estimate: Option<&Estimate>, position: u32, ascending: bool) -> u128 {
    let (rank, usd) = match estimate {
        Some(Estimate::Usd(usd)) => (0u128, *usd),
        Some(_) => (1, 0.0),
        None => (2, 0.0),
    };
    // The bits of a float, flipped so that their order as integers is the floats' order.
    let bits = usd.to_bits();
    let ordered = if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    };
    let (amount, position) = if ascending {
        (ordered, position)
    } else {
        (!ordered, !position)
    };
    rank << 96 | u128::from(amount) << 32 | u128::from(position)
}

#[cfg(test)]
mod tests {
    use super::{Estimate, cost_key, name_prefix};

    #[test]
    fn prefixes_drop_stamps_and_run_numbers() {
        assert_eq!(name_prefix("exp-lr-20261123-101112-123"), "exp-lr");
        assert_eq!(
            name_prefix("pytorch-training-2024-05-01-12-34-56-789"),
            "pytorch-training"
        );
        assert_eq!(name_prefix("run-3"), "run");
        assert_eq!(name_prefix("42"), "42");
        assert_eq!(name_prefix("plain"), "plain");
    }

    #[test]
    fn cost_keys_order_known_costs_then_waiting_then_local_either_way() {
        let rows = [
            Some(Estimate::Usd(2.5)),
            None,
            Some(Estimate::Waiting("running")),
            Some(Estimate::Usd(0.1)),
            Some(Estimate::Usd(2.5)),
            Some(Estimate::Usd(0.0)),
        ];
        let order = |ascending: bool| {
            let mut i: Vec<usize> = (0..rows.len()).collect();
            i.sort_by_key(|&r| cost_key(rows[r].as_ref(), r as u32, ascending));
            i
        };
        assert_eq!(order(true), [5, 3, 0, 4, 2, 1]);
        assert_eq!(order(false), [4, 0, 3, 5, 2, 1]);
    }
}
