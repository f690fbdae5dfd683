//! From a training job to a tuning job and back, as the builder offers: a training job's
//! request as the definition each trial runs, with a first search over it; a range
//! suggested for one of its hyperparameters; and where a member of a trial's
//! `CreateTrainingJob` lives in the tuning request.

use serde_json::{Value, json};

use super::tuning::{
    Objective, ResourceLimits, TrainingJobDefinition, TuningAlgorithmSpecification,
    TuningJobConfig, TuningJobRequest,
};
use super::{TrainingJobRequest, strip_stamp};

/// Which request a JSON value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RequestKind {
    /// `CreateTrainingJob`.
    #[default]
    Training,
    /// `CreateHyperParameterTuningJob`.
    Tuning,
}

impl RequestKind {
    /// A tuning request has a member only tuning requests have.
    pub fn of(value: &Value) -> Self {
        let tuning = [
            "HyperParameterTuningJobConfig",
            "HyperParameterTuningJobName",
            "TrainingJobDefinition",
            "TrainingJobDefinitions",
        ]
        .iter()
        .any(|k| value.get(k).is_some());
        if tuning { Self::Tuning } else { Self::Training }
    }

    /// The API operation that takes it.
    pub fn operation(self) -> &'static str {
        match self {
            Self::Training => "CreateTrainingJob",
            Self::Tuning => "CreateHyperParameterTuningJob",
        }
    }
}

/// Trials of a first search, and how many at once.
const FIRST_TRIALS: i64 = 10;
const FIRST_PARALLEL: i64 = 2;
/// The service's longest tuning job name.
pub const MAX_TUNING_NAME: usize = 32;

/// A tuning job name from `base` (a training job's): at most 32 characters, with the time.
pub fn tuning_name(base: &str) -> String {
    let stamp = chrono::Local::now().format("%m%d-%H%M%S").to_string();
    let room = MAX_TUNING_NAME - stamp.len() - 1;
    let base: String = strip_stamp(base)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(room)
        .collect();
    let base = base.trim_matches('-');
    if base.is_empty() {
        format!("tuning-{stamp}")
    } else {
        format!("{base}-{stamp}")
    }
}

/// `<base>-local-<time>`: the name of a tuning job run locally from `base`, within 32
/// characters.
pub fn local_tuning_name(base: &str) -> String {
    const MARKER: &str = "-local";
    let keep = MAX_TUNING_NAME - 12 - MARKER.len();
    let base: String = strip_stamp(base).chars().take(keep).collect();
    tuning_name(&format!("{}{MARKER}", base.trim_end_matches('-')))
}

impl TrainingJobDefinition {
    /// The definition whose trials are `request` with their tuned hyperparameters: its
    /// hyperparameters become the static ones.
    pub fn from_training(request: &TrainingJobRequest) -> Self {
        let algorithm = request.algorithm_specification.clone().unwrap_or_default();
        Self {
            static_hyper_parameters: request.hyper_parameters.clone(),
            algorithm_specification: Some(TuningAlgorithmSpecification {
                training_image: algorithm.training_image,
                training_input_mode: algorithm.training_input_mode,
                algorithm_name: algorithm.algorithm_name,
                metric_definitions: algorithm.metric_definitions,
                ..Default::default()
            }),
            role_arn: request.role_arn.clone(),
            input_data_config: request.input_data_config.clone(),
            vpc_config: request.vpc_config.clone(),
            output_data_config: request.output_data_config.clone(),
            resource_config: request.resource_config.clone(),
            stopping_condition: request.stopping_condition.clone(),
            enable_network_isolation: request.enable_network_isolation,
            enable_inter_container_traffic_encryption: request
                .enable_inter_container_traffic_encryption,
            enable_managed_spot_training: request.enable_managed_spot_training,
            checkpoint_config: request.checkpoint_config.clone(),
            retry_strategy: request.retry_strategy.clone(),
            environment: request.environment.clone(),
            ..Default::default()
        }
    }
}

impl TuningJobRequest {
    /// A tuning job over `request`: a Bayesian search of ten trials, two at once, for its
    /// first metric (minimized unless its name says it is a score). Its ranges are to be
    /// chosen: [`suggested_range`] gives one per hyperparameter.
    pub fn from_training(request: &TrainingJobRequest) -> Self {
        let definition = TrainingJobDefinition::from_training(request);
        let objective = definition
            .metric_definitions()
            .iter()
            .find_map(|m| m.name.clone())
            .map(|name| Objective {
                r#type: Some(objective_type(&name).into()),
                metric_name: Some(name),
                ..Default::default()
            });
        Self {
            hyper_parameter_tuning_job_name: Some(tuning_name(request.name())),
            hyper_parameter_tuning_job_config: Some(TuningJobConfig {
                strategy: Some("Bayesian".into()),
                hyper_parameter_tuning_job_objective: objective,
                resource_limits: Some(ResourceLimits {
                    max_number_of_training_jobs: Some(FIRST_TRIALS),
                    max_parallel_training_jobs: Some(FIRST_PARALLEL),
                    ..Default::default()
                }),
                parameter_ranges: Some(Default::default()),
                ..Default::default()
            }),
            training_job_definition: Some(definition),
            tags: request.tags.clone(),
            ..Default::default()
        }
    }

    /// The training job its first definition's trials run, before any tuned value: the way
    /// back from the tuning builder to the training one.
    pub fn first_training_job(&self) -> Option<TrainingJobRequest> {
        let definition = *self.definitions().first()?;
        let name = crate::request::unique_name(strip_stamp(self.name()));
        Some(definition.trial(&name, &Default::default(), None))
    }
}

/// `Maximize` for a metric named as a score (accuracy, AUC, F1, precision, recall, R²),
/// `Minimize` otherwise (losses and errors).
pub fn objective_type(metric: &str) -> &'static str {
    let name = metric.to_ascii_lowercase();
    let score = [
        "acc",
        "auc",
        "f1",
        "precision",
        "recall",
        "r2",
        "score",
        "map",
        "bleu",
    ];
    if score.iter().any(|s| name.contains(s)) && !name.contains("loss") {
        "Maximize"
    } else {
        "Minimize"
    }
}

/// A range to search around hyperparameter `name`'s value `text`: the `ParameterRanges`
/// member it goes in, and the range. Integers span a quarter to four times the value,
/// positive reals a tenth to ten times on a log scale (at most 1 for a fraction), other
/// values are categories.
pub fn suggested_range(name: &str, text: &str) -> (&'static str, Value) {
    let text = text.trim();
    if let Ok(v) = text.parse::<i64>() {
        let (min, max) = if v > 0 {
            ((v / 4).max(1), v.saturating_mul(4))
        } else {
            (v.saturating_sub(10), v.saturating_add(10))
        };
        let scaling = if max >= 10 * min.max(1) && min > 0 {
            "Logarithmic"
        } else {
            "Linear"
        };
        return (
            "IntegerParameterRanges",
            json!({"Name": name, "MinValue": min.to_string(), "MaxValue": max.to_string(),
                   "ScalingType": scaling}),
        );
    }
    if let Ok(v) = text.parse::<f64>()
        && v.is_finite()
    {
        let (min, max, scaling) = if v > 0.0 {
            let max = if v < 1.0 {
                (v * 10.0).min(1.0)
            } else {
                v * 10.0
            };
            (v / 10.0, max, "Logarithmic")
        } else {
            (v - 1.0, v + 1.0, "Linear")
        };
        return (
            "ContinuousParameterRanges",
            json!({"Name": name, "MinValue": number(min), "MaxValue": number(max),
                   "ScalingType": scaling}),
        );
    }
    let values: Vec<&str> = match text {
        "true" | "false" => vec!["true", "false"],
        "True" | "False" => vec!["True", "False"],
        other => vec![other],
    };
    (
        "CategoricalParameterRanges",
        json!({"Name": name, "Values": values}),
    )
}

/// A number as the shortest text that reads back as it, rounded to 6 significant digits.
fn number(v: f64) -> String {
    let rounded: f64 = format!("{v:.5e}").parse().unwrap_or(v);
    let text = rounded.to_string();
    if text.contains('e') {
        format!("{rounded:e}")
    } else {
        text
    }
}

/// Where member `path` of a trial's `CreateTrainingJob` comes from in a tuning request
/// whose definition is at `definition` (`TrainingJobDefinition`, or
/// `TrainingJobDefinitions[0]`): hyperparameters are static ones, the name is the tuning
/// job's.
pub fn definition_path(path: &str, definition: &str) -> String {
    if path.is_empty() {
        return definition.to_string();
    }
    if path == "TrainingJobName" {
        return "HyperParameterTuningJobName".into();
    }
    match path.strip_prefix("HyperParameters") {
        Some(rest) => format!("{definition}.StaticHyperParameters{rest}"),
        None => format!("{definition}.{path}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_suggested_around_the_value_by_its_kind() {
        let (member, range) = suggested_range("epochs", "10");
        assert_eq!(member, "IntegerParameterRanges");
        assert_eq!(range["MinValue"], "2");
        assert_eq!(range["MaxValue"], "40");
        assert_eq!(range["ScalingType"], "Logarithmic");
        let (member, range) = suggested_range("lr", "0.001");
        assert_eq!(member, "ContinuousParameterRanges");
        assert_eq!(range["MinValue"], "0.0001");
        assert_eq!(range["MaxValue"], "0.01");
        let (_, range) = suggested_range("dropout", "0.5");
        assert_eq!(range["MaxValue"], "1");
        let (member, range) = suggested_range("optimizer", "\"adam\"");
        assert_eq!(member, "CategoricalParameterRanges");
        assert_eq!(range["Values"], json!(["\"adam\""]));
        let (_, range) = suggested_range("shuffle", "true");
        assert_eq!(range["Values"], json!(["true", "false"]));
    }

    #[test]
    fn names_fit_the_service_and_objectives_read_the_metric_name() {
        let name = tuning_name("a-very-long-training-job-name-for-mnist-20261205-101112-123");
        assert!(name.len() <= MAX_TUNING_NAME, "{name}");
        assert!(name.starts_with("a-very-long-training"), "{name}");
        assert_eq!(objective_type("validation:accuracy"), "Maximize");
        assert_eq!(objective_type("val_loss"), "Minimize");
        assert_eq!(objective_type("validation:rmse"), "Minimize");
        assert_eq!(
            definition_path("HyperParameters.lr", "TrainingJobDefinition"),
            "TrainingJobDefinition.StaticHyperParameters.lr"
        );
        assert_eq!(
            definition_path("InputDataConfig[0].DataSource", "TrainingJobDefinitions[1]"),
            "TrainingJobDefinitions[1].InputDataConfig[0].DataSource"
        );
    }
}
