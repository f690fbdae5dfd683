//! What the window follows, as one value computed from its state: the poll intervals,
//! whether it is shown, the rows on screen, tags and costs for the list, the search, the
//! selected job and the compared ones. The worker is told what differs from the value it
//! last heard, so nothing is sent twice and nothing is forgotten after a restart.

use std::time::Duration;

use super::state::{GroupBy, State};
use crate::job::{JobRef, Status};
use crate::worker::{FollowCommand, LOG_INTERVAL, REMOTE_INTERVAL};

/// What the window follows.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    list_interval: Duration,
    log_interval: Duration,
    shown: bool,
    query: (Option<String>, Option<Status>),
    selected: Option<JobRef>,
    compared: Vec<JobRef>,
    visible_jobs: Vec<JobRef>,
    tags: bool,
    tuning: bool,
    tuning_shown: Option<JobRef>,
    costs: bool,
}

impl Subscription {
    /// What a worker follows when it starts: nothing selected, the window shown.
    pub fn worker_start() -> Self {
        Self {
            list_interval: REMOTE_INTERVAL,
            log_interval: LOG_INTERVAL,
            shown: true,
            query: (None, None),
            selected: None,
            compared: Vec::new(),
            visible_jobs: Vec::new(),
            tags: false,
            tuning: false,
            tuning_shown: None,
            costs: false,
        }
    }

    /// What a window with `state`, showing `visible_jobs`, follows.
    pub fn of(state: &State, visible_jobs: &[JobRef], shown: bool) -> Self {
        let search = state.search.trim();
        Self {
            list_interval: Duration::from_secs(state.list_interval_seconds),
            log_interval: Duration::from_secs(state.log_interval_seconds),
            shown,
            query: (
                (!search.is_empty()).then(|| search.to_string()),
                state
                    .status_filter
                    .as_deref()
                    .and_then(|s| s.parse::<Status>().ok()),
            ),
            selected: state.selection.clone(),
            compared: if state.comparing {
                state.compare.clone()
            } else {
                Vec::new()
            },
            visible_jobs: visible_jobs.to_vec(),
            tags: matches!(state.group_by, GroupBy::Tag(_)),
            tuning: state.group_by == GroupBy::TuningJob,
            tuning_shown: state.tuning.clone(),
            costs: state.show_cost,
        }
    }

    /// The commands that take a worker following `before` to following `self`, in the
    /// order it needs them (the selection before the rows on screen).
    pub fn changes(&self, before: &Self) -> Vec<FollowCommand> {
        let mut commands = Vec::new();
        if self.list_interval != before.list_interval {
            commands.push(FollowCommand::SetListInterval(self.list_interval));
        }
        if self.log_interval != before.log_interval {
            commands.push(FollowCommand::SetLogInterval(self.log_interval));
        }
        if self.shown != before.shown {
            commands.push(FollowCommand::SetVisible(self.shown));
        }
        if self.query != before.query {
            commands.push(FollowCommand::SetQuery {
                name_contains: self.query.0.clone(),
                status: self.query.1,
            });
        }
        if self.selected != before.selected {
            commands.push(FollowCommand::Select(self.selected.clone()));
        }
        if self.compared != before.compared {
            commands.push(FollowCommand::Compare(self.compared.clone()));
        }
        if self.visible_jobs != before.visible_jobs {
            commands.push(FollowCommand::SetVisibleJobs(self.visible_jobs.clone()));
        }
        if self.tags != before.tags {
            commands.push(FollowCommand::WatchTags(self.tags));
        }
        if self.tuning_shown != before.tuning_shown {
            commands.push(FollowCommand::SelectTuning(self.tuning_shown.clone()));
        }
        if self.tuning != before.tuning {
            commands.push(FollowCommand::WatchTuning(self.tuning));
        }
        if self.costs != before.costs {
            commands.push(FollowCommand::WatchCosts(self.costs));
        }
        commands
    }

    /// Takes in what the worker did on its own: it let go of a disconnected source's
    /// compared jobs.
    pub fn forget_compared(&mut self, source: &crate::job::Connection) {
        self.compared.retain(|j| &j.source != source);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::Connection;

    fn job(name: &str) -> JobRef {
        JobRef::new(Connection::Local, name.to_string())
    }

    #[test]
    fn a_fresh_window_tells_only_what_differs_from_a_starting_worker() {
        let state = State {
            selection: Some(job("a")),
            ..State::default()
        };
        let now = Subscription::of(&state, &[], true);
        let commands = now.changes(&Subscription::worker_start());
        assert_eq!(commands.len(), 1, "{commands:?}");
        assert!(matches!(&commands[0], FollowCommand::Select(Some(j)) if j.name == "a"));
        assert!(now.changes(&now).is_empty());
    }

    #[test]
    fn closing_compare_stops_following_the_compared_jobs() {
        let mut state = State {
            compare: vec![job("a"), job("b")],
            comparing: true,
            ..State::default()
        };
        let open = Subscription::of(&state, &[], true);
        assert!(matches!(
            open.changes(&Subscription::worker_start()).as_slice(),
            [FollowCommand::Compare(jobs)] if jobs.len() == 2
        ));
        state.comparing = false;
        let closed = Subscription::of(&state, &[], true);
        assert!(matches!(
            closed.changes(&open).as_slice(),
            [FollowCommand::Compare(jobs)] if jobs.is_empty()
        ));
    }

    #[test]
    fn the_search_is_sent_trimmed_with_its_status() {
        let state = State {
            search: "  resnet ".into(),
            status_filter: Some("Failed".into()),
            group_by: GroupBy::Tag("team".into()),
            ..State::default()
        };
        let commands =
            Subscription::of(&state, &[job("x")], false).changes(&Subscription::worker_start());
        assert!(commands.iter().any(|c| matches!(c,
            FollowCommand::SetQuery { name_contains: Some(n), status: Some(Status::Failed) } if n == "resnet")));
        assert!(
            commands
                .iter()
                .any(|c| matches!(c, FollowCommand::WatchTags(true)))
        );
        assert!(
            commands
                .iter()
                .any(|c| matches!(c, FollowCommand::SetVisible(false)))
        );
        assert!(
            commands
                .iter()
                .any(|c| matches!(c, FollowCommand::SetVisibleJobs(j) if j.len() == 1))
        );
    }
}
