//! The tuner: runs a tuning job's trials as local training jobs, never more at once than
//! `MaxParallelTrainingJobs` and never more in all than `MaxNumberOfTrainingJobs`, reads
//! each trial's objective from its metrics (the last value is the final one, as the
//! service takes it), stops trials early, and ends the tuning job at its limits or its
//! completion criteria. Its state is saved after every change.

use std::collections::HashMap;
use std::time::Duration;

use chrono::Utc;

use crate::backend::{Backend, BackendError, read_metrics};
use crate::job::tuning::{Trial, TuningState};
use crate::job::{Cursor, Status};
use crate::request::tuning::{TrainingJobDefinition, TuningJobRequest};
use crate::tuning::rng::Rng;
use crate::tuning::search::{Convergence, Search, Strategy};
use crate::tuning::space::{Point, Space};
use crate::tuning::stopping::Stopping;

/// How often running trials' metrics are read between their ends.
const LOOK: Duration = Duration::from_millis(300);
/// Trials that fail before any succeeds after which no more are started.
const FAILURES_BEFORE_GIVING_UP: usize = 3;

/// One training job definition with its search.
struct Plan {
    definition: TrainingJobDefinition,
    search: Search,
    metric: String,
}

/// What the tuner tells whoever watches it.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// A trial started.
    Started(Trial),
    /// A trial ended (completed, failed or stopped).
    Ended(Trial),
    /// A trial is being stopped by early stopping.
    StoppingEarly(Trial),
    /// The tuning job stops starting trials, and why.
    Ending(String),
}

/// A tuning job being run.
pub struct Tuner {
    name: String,
    plans: Vec<Plan>,
    /// Whether the objective is to be made as small as possible.
    minimize: bool,
    state: TuningState,
    max_jobs: usize,
    parallel: usize,
    max_runtime: Option<chrono::Duration>,
    stopping: Stopping,
    target: Option<f64>,
    not_improving: Option<usize>,
    /// With `ConvergenceDetected.CompleteOnConvergence` `Enabled`, when the search has
    /// converged.
    convergence: Option<Convergence>,
    /// Points of earlier tuning jobs (a warm start), by definition.
    prior: Vec<(Point, f64)>,
    cursors: HashMap<String, Cursor>,
    rng: Rng,
    /// Why no more trials start.
    ending: Option<String>,
}

impl Tuner {
    /// The tuner of `request` from `state` (a new one, or one saved by an earlier run);
    /// `parents` are earlier tuning jobs' trials to start from (`WarmStartConfig`). An
    /// error says what in the request cannot run.
    pub fn new(
        request: &TuningJobRequest,
        state: TuningState,
        parents: &[Trial],
    ) -> Result<Self, String> {
        let config = request
            .hyper_parameter_tuning_job_config
            .clone()
            .unwrap_or_default();
        let strategy = Strategy::parse(config.strategy.as_deref())?;
        let seed = config
            .random_seed
            .map_or_else(|| crate::request::random_below(u64::MAX), |s| s as u64);
        let mut plans = Vec::new();
        let mut objective_type = None;
        for (i, definition) in request.definitions().into_iter().enumerate() {
            let objective = request
                .objective(definition)
                .ok_or("no HyperParameterTuningJobObjective")?;
            let metric = objective
                .metric_name
                .clone()
                .ok_or("the objective has no MetricName")?;
            objective_type.get_or_insert_with(|| objective.r#type.clone().unwrap_or_default());
            let ranges = request.ranges(definition).ok_or("no ParameterRanges")?;
            let space = Space::from_ranges(ranges)?;
            plans.push(Plan {
                definition: definition.clone(),
                search: Search::new(
                    strategy,
                    space,
                    seed.wrapping_add(i as u64),
                    objective.minimize(),
                ),
                metric,
            });
        }
        if plans.is_empty() {
            return Err("no TrainingJobDefinition".into());
        }
        let objective_type = objective_type.unwrap_or_default();
        let minimize = objective_type == "Minimize";
        let limits = config.resource_limits.clone().unwrap_or_default();
        let grid = plans.iter().map(|p| p.search.grid_size()).sum::<usize>();
        let max_jobs = match (strategy, limits.max_number_of_training_jobs) {
            (Strategy::Grid, Some(max)) => grid.min(max.max(1) as usize),
            (Strategy::Grid, None) => grid,
            (_, Some(max)) => max.max(1) as usize,
            (_, None) => return Err("MaxNumberOfTrainingJobs is required".into()),
        };
        let parallel = limits.max_parallel_training_jobs.unwrap_or(1).max(1) as usize;
        let stopping = match strategy {
            Strategy::Hyperband => {
                let hyperband = config
                    .strategy_config
                    .as_ref()
                    .and_then(|c| c.hyperband_strategy_config.clone())
                    .unwrap_or_default();
                let max = hyperband
                    .max_resource
                    .map(|m| m as usize)
                    .or_else(|| epochs(&plans[0].definition));
                Stopping::Hyperband {
                    min: hyperband.min_resource.unwrap_or(1).max(1) as usize,
                    max,
                }
            }
            _ if config.training_job_early_stopping_type.as_deref() == Some("Auto") => {
                Stopping::Median
            }
            _ => Stopping::Off,
        };
        let criteria = config
            .tuning_job_completion_criteria
            .clone()
            .unwrap_or_default();
        let prior = parents
            .iter()
            .filter_map(|t| {
                Some((
                    plans[0].search.space().point_of(&t.tuned)?,
                    t.final_value()?,
                ))
            })
            .collect();
        // Resumed: the running trials' values are read again from their first.
        let mut state = state;
        for trial in state.trials.iter_mut().filter(|t| !t.status.is_terminal()) {
            trial.curve.clear();
        }
        Ok(Self {
            name: request.name().to_string(),
            plans,
            minimize,
            state,
            max_jobs,
            parallel,
            max_runtime: limits.max_runtime_in_seconds.map(chrono::Duration::seconds),
            stopping,
            target: criteria.target_objective_metric_value,
            not_improving: criteria
                .best_objective_not_improving
                .and_then(|b| b.max_number_of_training_jobs_not_improving)
                .map(|n| n.max(1) as usize),
            convergence: criteria
                .convergence_detected
                .and_then(|c| c.complete_on_convergence)
                .is_some_and(|c| c == "Enabled")
                .then(Convergence::default),
            prior,
            cursors: HashMap::new(),
            rng: Rng::new(seed ^ 0x5eed),
            ending: None,
        })
    }

    /// Runs the tuning job to its end on `backend`. `save` keeps the state after each
    /// change (an error there ends the run); `stop_requested` says whether to stop it;
    /// `progress` hears what happens.
    pub async fn run(
        &mut self,
        backend: &dyn Backend,
        save: &mut dyn FnMut(&TuningState) -> Result<(), BackendError>,
        stop_requested: &mut dyn FnMut() -> bool,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<(), BackendError> {
        loop {
            let mut changed = self.refresh(backend, progress).await;
            if self.ending.is_none() {
                if stop_requested() {
                    self.state.status = Status::Stopping;
                    self.end("a stop was asked for", progress);
                } else if let Some(why) = self.completed() {
                    self.end(&why, progress);
                }
                if self.ending.is_some() {
                    changed = true;
                    for i in 0..self.state.trials.len() {
                        if !self.state.trials[i].status.is_terminal() {
                            self.stop_trial(backend, i).await;
                        }
                    }
                }
            }
            while self.ending.is_none() && self.state.running() < self.parallel {
                if !self.start_trial(backend, progress).await {
                    break;
                }
                changed = true;
            }
            if self.ending.is_none() && self.state.running() == 0 {
                self.ending = Some("every trial has run".into());
            }
            if self.ending.is_some() && self.state.running() == 0 {
                self.finish();
                save(&self.state)?;
                return Ok(());
            }
            if changed {
                self.state.last_modified = Utc::now();
                save(&self.state)?;
            }
            tokio::select! {
                _ = crate::backend::job_ended(backend) => {}
                _ = tokio::time::sleep(LOOK) => {}
            }
        }
    }

    /// Why the tuning job should start no more trials now, if it should not.
    fn completed(&self) -> Option<String> {
        let finals = self.state.trials.iter().filter_map(Trial::final_value);
        if let Some(target) = self.target {
            let reached = finals.clone().find(|v| {
                if self.minimize {
                    *v <= target
                } else {
                    *v >= target
                }
            });
            if let Some(value) = reached {
                return Some(format!(
                    "the objective reached {value}, TargetObjectiveMetricValue {target}"
                ));
            }
        }
        if let Some(n) = self.not_improving
            && self.state.best(self.minimize).is_some()
            && self.state.not_improving(self.minimize) >= n
        {
            return Some(format!("{n} training jobs did not improve on the best"));
        }
        if let Some(limit) = self.max_runtime
            && Utc::now() - self.state.created >= limit
        {
            return Some(format!(
                "MaxRuntimeInSeconds {} reached",
                limit.num_seconds()
            ));
        }
        let failed = self
            .state
            .trials
            .iter()
            .filter(|t| t.status == Status::Failed)
            .count();
        if failed >= FAILURES_BEFORE_GIVING_UP.min(self.max_jobs) && finals.count() == 0 {
            return Some(format!("the first {failed} training jobs failed"));
        }
        None
    }

    /// Whether, with `CompleteOnConvergence`, the search has converged with the proposal
    /// plan `index` just made.
    fn converged(&mut self, index: usize) -> bool {
        let gain = self.plans[index].search.expected_gain();
        self.convergence.as_mut().is_some_and(|c| c.saw(gain))
    }

    fn end(&mut self, why: &str, progress: &mut dyn FnMut(Progress)) {
        self.ending = Some(why.to_string());
        progress(Progress::Ending(why.to_string()));
    }

    /// The tuning job's last status, once no trial runs.
    fn finish(&mut self) {
        let now = Utc::now();
        self.state.ended = Some(now);
        self.state.last_modified = now;
        let succeeded = self.state.trials.iter().any(|t| t.final_value().is_some());
        let why = self.ending.clone().unwrap_or_default();
        if self.state.status == Status::Stopping {
            self.state.status = Status::Stopped;
        } else if succeeded {
            self.state.status = Status::Completed;
            if why != "every trial has run" {
                self.state.completion_reason = Some(why);
            }
        } else {
            self.state.status = Status::Failed;
            let first = self
                .state
                .trials
                .iter()
                .find_map(|t| t.failure_reason.clone())
                .unwrap_or_else(|| "no training job reported the objective metric".into());
            self.state.failure_reason = Some(format!(
                "No training job succeeded ({why}). The first failure: {first}"
            ));
        }
    }

    /// Starts the next trial; false when there is none to start.
    async fn start_trial(
        &mut self,
        backend: &dyn Backend,
        progress: &mut dyn FnMut(Progress),
    ) -> bool {
        let ordinal = self.state.trials.len() + 1;
        if ordinal > self.max_jobs {
            return false;
        }
        let index = (ordinal - 1) % self.plans.len();
        let mine = self
            .state
            .trials
            .iter()
            .enumerate()
            .filter(|(i, _)| i % self.plans.len() == index)
            .map(|(_, t)| t);
        let observed: Vec<(Point, f64)> = self
            .prior
            .iter()
            .cloned()
            .chain(
                mine.clone()
                    .filter_map(|t| Some((t.point.clone(), t.final_value()?))),
            )
            .collect();
        let pending: Vec<Point> = mine
            .filter(|t| !t.status.is_terminal())
            .map(|t| t.point.clone())
            .collect();
        let Some(point) = self.plans[index].search.propose(&observed, &pending) else {
            return false;
        };
        if self.converged(index) {
            self.state.converged = Some(Utc::now());
            self.end(
                "convergence detected: the model expects no further trial to improve on the best",
                progress,
            );
            return false;
        }
        let plan = &self.plans[index];
        let tuned = plan.search.space().values(&point);
        let name = crate::request::tuning::trial_name(&self.name, ordinal, self.rng.next_u64());
        let request = plan.definition.trial(&name, &tuned, Some(&plan.metric));
        let now = Utc::now();
        let mut trial = Trial {
            name: name.clone(),
            definition: plan.definition.definition_name.clone(),
            point,
            tuned,
            status: Status::InProgress,
            curve: Vec::new(),
            early_stopped: false,
            failure_reason: None,
            created: now,
            ended: None,
        };
        if let Err(e) = backend
            .create_training_job_here(request, self.state.trial_run())
            .await
        {
            trial.status = Status::Failed;
            trial.failure_reason = Some(format!("CreateTrainingJob: {e}"));
            trial.ended = Some(now);
            self.state.trials.push(trial.clone());
            progress(Progress::Ended(trial));
            return true;
        }
        self.state.trials.push(trial.clone());
        progress(Progress::Started(trial));
        true
    }

    /// Reads every running trial's new objective values and status; stops early the ones
    /// the rule says. True when anything changed.
    async fn refresh(&mut self, backend: &dyn Backend, progress: &mut dyn FnMut(Progress)) -> bool {
        let mut changed = false;
        for i in 0..self.state.trials.len() {
            if self.state.trials[i].status.is_terminal() {
                continue;
            }
            let name = self.state.trials[i].name.clone();
            let metric = self.plans[i % self.plans.len()].metric.clone();
            let grew = self.read_curve(backend, i).await;
            changed |= grew;
            match backend.describe_training_job(&name).await {
                Ok(detail) if detail.summary.status.is_terminal() => {
                    // The values logged before the end are all in by now.
                    self.read_curve(backend, i).await;
                    let trial = &mut self.state.trials[i];
                    trial.status = detail.summary.status;
                    trial.ended = Some(detail.summary.end_time.unwrap_or_else(Utc::now));
                    trial.failure_reason = detail.failure_reason.clone();
                    if trial.status == Status::Completed && trial.curve.is_empty() {
                        // The service fails a trial whose objective never appeared.
                        trial.status = Status::Failed;
                        trial.failure_reason = Some(format!(
                            "the job completed without reporting the objective metric {metric}"
                        ));
                    }
                    progress(Progress::Ended(trial.clone()));
                    changed = true;
                }
                Ok(_) if grew && self.state.trials[i].status == Status::InProgress => {
                    if self.should_stop(i) {
                        self.state.trials[i].early_stopped = true;
                        progress(Progress::StoppingEarly(self.state.trials[i].clone()));
                        self.stop_trial(backend, i).await;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    let trial = &mut self.state.trials[i];
                    trial.status = Status::Failed;
                    trial.failure_reason = Some(format!("DescribeTrainingJob: {e}"));
                    trial.ended = Some(Utc::now());
                    progress(Progress::Ended(trial.clone()));
                    changed = true;
                }
            }
        }
        changed
    }

    /// Adds trial `i`'s objective values logged since the last read; whether there were.
    async fn read_curve(&mut self, backend: &dyn Backend, i: usize) -> bool {
        let metric = &self.plans[i % self.plans.len()].metric;
        let trial = &mut self.state.trials[i];
        let cursor = self.cursors.entry(trial.name.clone()).or_default();
        let (series, _) = read_metrics(backend, &trial.name, cursor, 10).await;
        let before = trial.curve.len();
        for s in series.into_iter().filter(|s| &s.name == metric) {
            trial.curve.extend(s.points.iter().map(|p| p.value));
        }
        trial.curve.len() > before
    }

    /// Whether trial `i`'s curve says it should stop now.
    fn should_stop(&self, i: usize) -> bool {
        let trials = &self.state.trials;
        let earlier = trials[..i].iter().map(|t| t.curve.as_slice());
        let others = trials
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, t)| t.curve.as_slice());
        self.stopping
            .should_stop(&trials[i].curve, earlier, others, self.minimize)
    }

    async fn stop_trial(&mut self, backend: &dyn Backend, i: usize) {
        let trial = &mut self.state.trials[i];
        if let Err(e) = backend.stop_training_job(&trial.name).await {
            tracing::warn!("stopping {}: {e}", trial.name);
        }
        trial.status = Status::Stopping;
    }
}

/// The number of epochs a definition's static hyperparameters give, Hyperband's
/// `MaxResource` when it has none (as the service reads `epochs`, `num_epochs` or
/// `n_epochs`).
fn epochs(definition: &TrainingJobDefinition) -> Option<usize> {
    let statics = definition.static_hyper_parameters.as_ref()?;
    ["epochs", "num_epochs", "n_epochs"].iter().find_map(|k| {
        statics
            .get(*k)?
            .trim_matches('"')
            .trim()
            .parse::<usize>()
            .ok()
    })
}
