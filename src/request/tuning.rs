//! The `CreateHyperParameterTuningJob` request, member for member, with AWS's JSON names,
//! and the training job request the service makes of it for each trial.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::import::{base_folder, display_path, parse_json, read_text};
use super::shapes::shape;
use super::{
    AlgorithmSpecification, Channel, CheckpointConfig, MetricDefinition, OutputDataConfig,
    RequestError, ResourceConfig, RetryStrategy, StoppingCondition, StringMap, Tag,
    TrainingJobRequest, VpcConfig, resolve_file_uris,
};

/// `<tuning>-NNN-xxxxxxxx`, as the service names a tuning job's training jobs.
pub fn trial_name(tuning: &str, ordinal: usize, random: u64) -> String {
    format!("{tuning}-{ordinal:03}-{:08x}", random as u32)
}

/// The tuning job a training job of that name is a trial of, by the service's naming.
pub fn tuning_job_of(name: &str) -> Option<&str> {
    let (rest, random) = name.rsplit_once('-')?;
    let (tuning, ordinal) = rest.rsplit_once('-')?;
    let hex = random.len() == 8
        && random
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let number = ordinal.len() == 3 && ordinal.bytes().all(|b| b.is_ascii_digit());
    (hex && number && !tuning.is_empty()).then_some(tuning)
}

/// The hyperparameter the service adds to every trial: the objective's metric name.
pub const TUNING_OBJECTIVE_METRIC: &str = "_tuning_objective_metric";

shape!(
    /// The whole `CreateHyperParameterTuningJob` request.
    TuningJobRequest {
        hyper_parameter_tuning_job_name: String,
        hyper_parameter_tuning_job_config: TuningJobConfig,
        training_job_definition: TrainingJobDefinition,
        training_job_definitions: Vec<TrainingJobDefinition>,
        warm_start_config: WarmStartConfig,
        tags: Vec<Tag>,
        autotune: Value,
    }
);

shape!(
    /// `HyperParameterTuningJobConfig`: the search and its limits.
    TuningJobConfig {
        strategy: String,
        strategy_config: StrategyConfig,
        hyper_parameter_tuning_job_objective: Objective,
        resource_limits: ResourceLimits,
        parameter_ranges: ParameterRanges,
        training_job_early_stopping_type: String,
        tuning_job_completion_criteria: CompletionCriteria,
        random_seed: i64,
    }
);

shape!(
    /// `HyperParameterTuningJobObjective`: `Minimize` or `Maximize` a metric.
    Objective {
        r#type: String,
        metric_name: String,
    }
);

shape!(
    /// `ResourceLimits`: how many trials, how many at once, and for how long.
    ResourceLimits {
        max_number_of_training_jobs: i64,
        max_parallel_training_jobs: i64,
        max_runtime_in_seconds: i64,
    }
);

shape!(
    /// `ParameterRanges`: the hyperparameters searched.
    ParameterRanges {
        integer_parameter_ranges: Vec<NumericRange>,
        continuous_parameter_ranges: Vec<NumericRange>,
        categorical_parameter_ranges: Vec<CategoricalRange>,
        auto_parameters: Vec<Value>,
    }
);

shape!(
    /// `IntegerParameterRange` or `ContinuousParameterRange` (the same members).
    NumericRange {
        name: String,
        min_value: String,
        max_value: String,
        scaling_type: String,
    }
);

shape!(
    /// `CategoricalParameterRange`.
    CategoricalRange {
        name: String,
        values: Vec<String>,
    }
);

shape!(
    /// `TuningJobCompletionCriteria`.
    CompletionCriteria {
        target_objective_metric_value: f64,
        best_objective_not_improving: BestObjectiveNotImproving,
        convergence_detected: ConvergenceDetected,
    }
);

shape!(
    /// `BestObjectiveNotImproving`.
    BestObjectiveNotImproving {
        max_number_of_training_jobs_not_improving: i64,
    }
);

shape!(
    /// `ConvergenceDetected`.
    ConvergenceDetected {
        complete_on_convergence: String,
    }
);

shape!(
    /// `HyperParameterTuningJobStrategyConfig`.
    StrategyConfig {
        hyperband_strategy_config: HyperbandStrategyConfig,
    }
);

shape!(
    /// `HyperbandStrategyConfig`: the least and most resource (epochs) a trial gets.
    HyperbandStrategyConfig {
        min_resource: i64,
        max_resource: i64,
    }
);

shape!(
    /// `HyperParameterTrainingJobDefinition`: the training job each trial runs.
    TrainingJobDefinition {
        definition_name: String,
        tuning_objective: Objective,
        hyper_parameter_ranges: ParameterRanges,
        static_hyper_parameters: StringMap,
        algorithm_specification: TuningAlgorithmSpecification,
        role_arn: String,
        input_data_config: Vec<Channel>,
        vpc_config: VpcConfig,
        output_data_config: OutputDataConfig,
        resource_config: ResourceConfig,
        hyper_parameter_tuning_resource_config: Value,
        stopping_condition: StoppingCondition,
        enable_network_isolation: bool,
        enable_inter_container_traffic_encryption: bool,
        enable_managed_spot_training: bool,
        checkpoint_config: CheckpointConfig,
        retry_strategy: RetryStrategy,
        environment: StringMap,
    }
);

shape!(
    /// `HyperParameterAlgorithmSpecification`.
    TuningAlgorithmSpecification {
        training_image: String,
        training_input_mode: String,
        algorithm_name: String,
        metric_definitions: Vec<MetricDefinition>,
    }
);

shape!(
    /// `HyperParameterTuningJobWarmStartConfig`.
    WarmStartConfig {
        parent_hyper_parameter_tuning_jobs: Vec<ParentTuningJob>,
        warm_start_type: String,
    }
);

shape!(
    /// `ParentHyperParameterTuningJob`.
    ParentTuningJob {
        hyper_parameter_tuning_job_name: String,
    }
);

impl TuningJobRequest {
    /// The tuning job's name, or an empty string when it has none.
    pub fn name(&self) -> &str {
        self.hyper_parameter_tuning_job_name
            .as_deref()
            .unwrap_or("")
    }

    /// The training job definitions: the one of `TrainingJobDefinition`, or those of
    /// `TrainingJobDefinitions`.
    pub fn definitions(&self) -> Vec<&TrainingJobDefinition> {
        match &self.training_job_definition {
            Some(one) => vec![one],
            None => self.training_job_definitions.iter().flatten().collect(),
        }
    }

    /// The objective of `definition`: its own, else the tuning job's.
    pub fn objective<'a>(&'a self, definition: &'a TrainingJobDefinition) -> Option<&'a Objective> {
        definition.tuning_objective.as_ref().or(self
            .hyper_parameter_tuning_job_config
            .as_ref()
            .and_then(|c| c.hyper_parameter_tuning_job_objective.as_ref()))
    }

    /// The tuning job's objective: its own, else its first definition's.
    pub fn tuning_objective(&self) -> Option<&Objective> {
        self.hyper_parameter_tuning_job_config
            .as_ref()
            .and_then(|c| c.hyper_parameter_tuning_job_objective.as_ref())
            .or_else(|| {
                self.definitions()
                    .first()
                    .and_then(|d| d.tuning_objective.as_ref())
            })
    }

    /// The ranges of `definition`: its own, else the tuning job's.
    pub fn ranges<'a>(
        &'a self,
        definition: &'a TrainingJobDefinition,
    ) -> Option<&'a ParameterRanges> {
        definition.hyper_parameter_ranges.as_ref().or(self
            .hyper_parameter_tuning_job_config
            .as_ref()
            .and_then(|c| c.parameter_ranges.as_ref()))
    }

    /// The request as a JSON value with AWS's member names.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("a request always serializes")
    }
}

impl Objective {
    /// Whether the objective is to be made as small as possible.
    pub fn minimize(&self) -> bool {
        self.r#type.as_deref() == Some("Minimize")
    }
}

impl TrainingJobDefinition {
    /// The metric definitions of the algorithm, if any.
    pub fn metric_definitions(&self) -> &[MetricDefinition] {
        self.algorithm_specification
            .as_ref()
            .and_then(|a| a.metric_definitions.as_deref())
            .unwrap_or(&[])
    }

    /// The `CreateTrainingJob` request of one trial: this definition named `name`, its
    /// static hyperparameters with the `tuned` ones and the objective's metric name, as the
    /// service starts each training job of a tuning job.
    pub fn trial(
        &self,
        name: &str,
        tuned: &StringMap,
        objective_metric: Option<&str>,
    ) -> TrainingJobRequest {
        let mut hyper_parameters = self.static_hyper_parameters.clone().unwrap_or_default();
        hyper_parameters.extend(tuned.iter().map(|(k, v)| (k.clone(), v.clone())));
        if let Some(metric) = objective_metric {
            hyper_parameters.insert(TUNING_OBJECTIVE_METRIC.into(), metric.into());
        }
        let algorithm = self.algorithm_specification.clone().unwrap_or_default();
        TrainingJobRequest {
            training_job_name: Some(name.to_string()),
            hyper_parameters: Some(hyper_parameters),
            algorithm_specification: Some(AlgorithmSpecification {
                training_image: algorithm.training_image,
                algorithm_name: algorithm.algorithm_name,
                training_input_mode: algorithm.training_input_mode,
                metric_definitions: algorithm.metric_definitions,
                ..Default::default()
            }),
            role_arn: self.role_arn.clone(),
            input_data_config: self.input_data_config.clone(),
            output_data_config: self.output_data_config.clone(),
            resource_config: self.resource_config.clone(),
            vpc_config: self.vpc_config.clone(),
            stopping_condition: self.stopping_condition.clone(),
            enable_network_isolation: self.enable_network_isolation,
            enable_inter_container_traffic_encryption: self
                .enable_inter_container_traffic_encryption,
            enable_managed_spot_training: self.enable_managed_spot_training,
            checkpoint_config: self.checkpoint_config.clone(),
            retry_strategy: self.retry_strategy.clone(),
            environment: self.environment.clone(),
            ..Default::default()
        }
    }

    /// The training job of this definition's first trial in tuning job `tuning`, before any
    /// tuned value: the one checked before the tuning job starts.
    pub fn first_trial(&self, tuning: &str) -> TrainingJobRequest {
        self.trial(&trial_name(tuning, 1, 0), &StringMap::new(), None)
    }

    /// Resolves relative `file://` URIs (data, output, checkpoints, code) against `base`.
    fn resolve_file_uris(&mut self, base: &Path) {
        let mut trial = self.trial("", &StringMap::new(), None);
        resolve_file_uris(&mut trial, base);
        self.input_data_config = trial.input_data_config;
        self.output_data_config = trial.output_data_config;
        self.checkpoint_config = trial.checkpoint_config;
        if self.static_hyper_parameters.is_some() {
            self.static_hyper_parameters = trial.hyper_parameters;
        }
    }
}

/// Builds a tuning request from a JSON value; `origin` names the source in errors.
pub fn tuning_request_from_value(
    value: Value,
    origin: &str,
) -> Result<TuningJobRequest, RequestError> {
    if !value.is_object() {
        return Err(RequestError::NotAnObject {
            origin: origin.to_string(),
            found: super::import::json_type(&value),
        });
    }
    let mut value = value;
    // A DescribeHyperParameterTuningJob response reads as its request.
    if let Some(object) = value.as_object_mut() {
        object.retain(|k, _| !DESCRIBE_ONLY.contains(&k.as_str()));
    }
    serde_path_to_error::deserialize(value).map_err(|e| RequestError::Type {
        origin: origin.to_string(),
        path: display_path(&e.path().to_string()),
        message: e.inner().to_string(),
    })
}

/// Members of `DescribeHyperParameterTuningJob` that are not the request's.
const DESCRIBE_ONLY: &[&str] = &[
    "HyperParameterTuningJobArn",
    "HyperParameterTuningJobStatus",
    "CreationTime",
    "HyperParameterTuningEndTime",
    "LastModifiedTime",
    "TrainingJobStatusCounters",
    "ObjectiveStatusCounters",
    "BestTrainingJob",
    "OverallBestTrainingJob",
    "FailureReason",
    "TuningJobCompletionDetails",
    "ConsumedResources",
    "ResponseMetadata",
];

/// Reads a tuning request file (the JSON as written, for validation, and the request),
/// relative `file://` URIs resolved against its folder.
pub fn read_tuning_file(path: &Path) -> Result<(Value, TuningJobRequest), RequestError> {
    let origin = path.display().to_string();
    let mut value = parse_json(&read_text(path)?, &origin)?;
    if let Some(object) = value.as_object_mut() {
        object.retain(|k, _| !DESCRIBE_ONLY.contains(&k.as_str()));
    }
    let mut request = tuning_request_from_value(value.clone(), &origin)?;
    let base = base_folder(path);
    if let Some(one) = request.training_job_definition.as_mut() {
        one.resolve_file_uris(&base);
    }
    for definition in request.training_job_definitions.iter_mut().flatten() {
        definition.resolve_file_uris(&base);
    }
    Ok((value, request))
}

/// The JSON of `path` when it is a tuning request (see [`super::RequestKind::of`]), else
/// `None`.
pub fn read_tuning_request_value(path: &Path) -> Result<Option<Value>, RequestError> {
    let value = parse_json(&read_text(path)?, &path.display().to_string())?;
    Ok((super::RequestKind::of(&value) == super::RequestKind::Tuning).then_some(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trials_are_named_and_recognised_as_the_service_names_them() {
        let name = trial_name("xgb-hpo", 7, 0xdead_beef_1234_5678);
        assert_eq!(name, "xgb-hpo-007-12345678");
        assert_eq!(tuning_job_of(&name), Some("xgb-hpo"));
        assert_eq!(
            tuning_job_of("tf-hpo-201019-1745-001-3c6dd2ec"),
            Some("tf-hpo-201019-1745")
        );
        for other in [
            "train-20261205-101112-123",
            "a-001-XYZ12345",
            "-001-12345678",
            "job",
        ] {
            assert_eq!(tuning_job_of(other), None, "{other}");
        }
    }
}
