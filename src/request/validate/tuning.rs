//! Checks of a `CreateHyperParameterTuningJob` request: the API model from its root, then
//! the rules the model cannot express (ranges, limits, the strategy's needs, an objective
//! the logs can give).

use std::collections::HashSet;

use serde_json::Value;

use super::model::MODEL;
use super::{Diagnostic, RuntimeChecks, Severity, Target, add_runtime, sorted, walk};
use crate::request::tune::definition_path;
use crate::request::tuning::{
    NumericRange, ParameterRanges, TrainingJobDefinition, TuningJobRequest,
    tuning_request_from_value,
};

/// Hyperparameters one tuning job may search, in all (the service's limit).
pub const MAX_RANGES: usize = 30;

/// Every diagnostic of a tuning request given as JSON, errors first. What the service would
/// refuse stays an error for local mode too: a tuning job tried here is one to run on AWS
/// next. `runtime`'s checks run on each definition's trial, their members placed in the
/// definition.
pub fn validate_tuning_value(
    value: &Value,
    target: Target,
    runtime: Option<&dyn RuntimeChecks>,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    walk::walk_from(value, MODEL.tuning_root, target, &mut out);
    if let Ok(request) = tuning_request_from_value(value.clone(), "request") {
        rules(&request, target, &mut out);
        if let Some(runtime) = runtime {
            for (prefix, definition) in placed_definitions(&request) {
                let trial = definition.first_trial(request.name());
                let found = runtime
                    .check(&trial)
                    .into_iter()
                    .map(|mut d| {
                        d.path = definition_path(&d.path, &prefix);
                        d
                    })
                    .collect();
                add_runtime(&mut out, found);
            }
        }
    }
    sorted(out)
}

/// Each training job definition with where it is in the request
/// (`TrainingJobDefinition`, `TrainingJobDefinitions[i]`).
pub fn placed_definitions(request: &TuningJobRequest) -> Vec<(String, &TrainingJobDefinition)> {
    match &request.training_job_definition {
        Some(one) => vec![("TrainingJobDefinition".into(), one)],
        None => request
            .training_job_definitions
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, d)| (format!("TrainingJobDefinitions[{i}]"), d))
            .collect(),
    }
}

fn rules(request: &TuningJobRequest, target: Target, out: &mut Vec<Diagnostic>) {
    let config = request
        .hyper_parameter_tuning_job_config
        .clone()
        .unwrap_or_default();
    let strategy = config.strategy.as_deref().unwrap_or("");
    match (
        &request.training_job_definition,
        &request.training_job_definitions,
    ) {
        (Some(_), Some(_)) => out.push(Diagnostic::error(
            "TrainingJobDefinitions",
            "one_definition_member",
            "give TrainingJobDefinition or TrainingJobDefinitions, not both",
        )),
        (None, None) => out.push(Diagnostic::error(
            "TrainingJobDefinition",
            "required",
            "required member is missing: the training job each trial runs",
        )),
        _ => {}
    }
    let limits = config.resource_limits.clone().unwrap_or_default();
    let limits_path = "HyperParameterTuningJobConfig.ResourceLimits";
    if strategy != "Grid" && limits.max_number_of_training_jobs.is_none() {
        out.push(Diagnostic::error(
            format!("{limits_path}.MaxNumberOfTrainingJobs"),
            "required",
            format!("required member is missing: the {strategy} strategy needs a number of trials"),
        ));
    }
    if let (Some(max), Some(parallel)) = (
        limits.max_number_of_training_jobs,
        limits.max_parallel_training_jobs,
    ) && parallel > max
    {
        out.push(Diagnostic::warning(
            format!("{limits_path}.MaxParallelTrainingJobs"),
            "parallel_above_max",
            format!("{parallel} at once, but only {max} trials in all: at most {max} run at once"),
        ));
    }
    strategy_rules(&config, strategy, out);
    let on_convergence = config
        .tuning_job_completion_criteria
        .as_ref()
        .and_then(|c| c.convergence_detected.as_ref())
        .and_then(|c| c.complete_on_convergence.as_deref())
        == Some("Enabled");
    if target == Target::Local && on_convergence && strategy != "Bayesian" && !strategy.is_empty() {
        out.push(Diagnostic::warning(
            "HyperParameterTuningJobConfig.TuningJobCompletionCriteria.ConvergenceDetected",
            "convergence_local",
            format!(
                "local mode tells convergence from the Bayesian strategy's model; with \
                 {strategy} it runs to its other limits"
            ),
        ));
    }
    let definitions = request.definitions();
    for (i, definition) in definitions.iter().enumerate() {
        let base = match &request.training_job_definition {
            Some(_) => "TrainingJobDefinition".to_string(),
            None => format!("TrainingJobDefinitions[{i}]"),
        };
        let ranges_path = if definition.hyper_parameter_ranges.is_some() {
            format!("{base}.HyperParameterRanges")
        } else {
            "HyperParameterTuningJobConfig.ParameterRanges".to_string()
        };
        match request.ranges(definition) {
            Some(ranges) => range_rules(ranges, &ranges_path, strategy, definition, out),
            None => out.push(Diagnostic::error(
                ranges_path,
                "required",
                "required member is missing: the hyperparameters to search",
            )),
        }
        match request.objective(definition) {
            Some(objective) => {
                objective_rules(objective, definition, &base, target, out);
            }
            None => out.push(Diagnostic::error(
                "HyperParameterTuningJobConfig.HyperParameterTuningJobObjective",
                "required",
                "required member is missing: the metric to minimize or maximize",
            )),
        }
    }
}

fn strategy_rules(
    config: &crate::request::tuning::TuningJobConfig,
    strategy: &str,
    out: &mut Vec<Diagnostic>,
) {
    let early = config.training_job_early_stopping_type.as_deref();
    if strategy == "Hyperband" && early == Some("Auto") {
        out.push(Diagnostic::error(
            "HyperParameterTuningJobConfig.TrainingJobEarlyStoppingType",
            "hyperband_early_stopping",
            "Hyperband stops trials itself: leave TrainingJobEarlyStoppingType out or Off",
        ));
    }
    let hyperband = config
        .strategy_config
        .as_ref()
        .and_then(|c| c.hyperband_strategy_config.as_ref());
    if let Some(hyperband) = hyperband {
        let path = "HyperParameterTuningJobConfig.StrategyConfig.HyperbandStrategyConfig";
        if strategy != "Hyperband" {
            out.push(Diagnostic::error(
                path,
                "strategy_config",
                format!("a Hyperband setting, but the strategy is {strategy}"),
            ));
        }
        if let (Some(min), Some(max)) = (hyperband.min_resource, hyperband.max_resource)
            && min > max
        {
            out.push(Diagnostic::error(
                format!("{path}.MinResource"),
                "min_above_max",
                format!("MinResource {min} is above MaxResource {max}"),
            ));
        }
    }
}

fn range_rules(
    ranges: &ParameterRanges,
    path: &str,
    strategy: &str,
    definition: &crate::request::tuning::TrainingJobDefinition,
    out: &mut Vec<Diagnostic>,
) {
    let integers = ranges.integer_parameter_ranges.as_deref().unwrap_or(&[]);
    let continuous = ranges.continuous_parameter_ranges.as_deref().unwrap_or(&[]);
    let categorical = ranges
        .categorical_parameter_ranges
        .as_deref()
        .unwrap_or(&[]);
    let total = integers.len() + continuous.len() + categorical.len();
    if total == 0 {
        out.push(Diagnostic::error(
            path,
            "no_ranges",
            "no hyperparameter to search: give at least one range",
        ));
    }
    if total > MAX_RANGES {
        out.push(Diagnostic::error(
            path,
            "too_many_ranges",
            format!("{total} hyperparameters searched; the service takes at most {MAX_RANGES}"),
        ));
    }
    if strategy == "Grid" && (!integers.is_empty() || !continuous.is_empty()) {
        out.push(Diagnostic::error(
            path,
            "grid_categorical_only",
            "the Grid strategy searches categorical ranges only: list the values to try",
        ));
    }
    let statics = definition
        .static_hyper_parameters
        .clone()
        .unwrap_or_default();
    let mut seen = HashSet::new();
    let named = integers
        .iter()
        .map(|r| ("IntegerParameterRanges", r.name.as_deref()))
        .chain(
            continuous
                .iter()
                .map(|r| ("ContinuousParameterRanges", r.name.as_deref())),
        )
        .chain(
            categorical
                .iter()
                .map(|r| ("CategoricalParameterRanges", r.name.as_deref())),
        );
    let mut index = std::collections::HashMap::<&str, usize>::new();
    for (kind, name) in named {
        let i = index.entry(kind).or_default();
        let here = format!("{path}.{kind}[{i}].Name");
        *i += 1;
        let Some(name) = name else { continue };
        if !seen.insert(name) {
            out.push(Diagnostic::error(
                &here,
                "duplicate_range",
                format!("{name} is searched twice"),
            ));
        }
        if statics.contains_key(name) {
            out.push(Diagnostic::error(
                &here,
                "static_and_tuned",
                format!("{name} is also a static hyperparameter: it can be one or the other"),
            ));
        }
    }
    for (i, range) in integers.iter().enumerate() {
        numeric_rules(
            range,
            &format!("{path}.IntegerParameterRanges[{i}]"),
            true,
            out,
        );
    }
    for (i, range) in continuous.iter().enumerate() {
        numeric_rules(
            range,
            &format!("{path}.ContinuousParameterRanges[{i}]"),
            false,
            out,
        );
    }
}

fn numeric_rules(range: &NumericRange, path: &str, integer: bool, out: &mut Vec<Diagnostic>) {
    let parse = |member: &str, text: &Option<String>, out: &mut Vec<Diagnostic>| {
        let text = text.as_deref()?;
        let value = if integer {
            text.trim().parse::<i64>().ok().map(|v| v as f64)
        } else {
            text.trim().parse::<f64>().ok().filter(|v| v.is_finite())
        };
        if value.is_none() {
            out.push(Diagnostic::error(
                format!("{path}.{member}"),
                "range_number",
                format!(
                    "{text:?} is not {}",
                    if integer {
                        "a whole number"
                    } else {
                        "a number"
                    }
                ),
            ));
        }
        value
    };
    let min = parse("MinValue", &range.min_value, out);
    let max = parse("MaxValue", &range.max_value, out);
    let (Some(min), Some(max)) = (min, max) else {
        return;
    };
    if min > max {
        out.push(Diagnostic::error(
            format!("{path}.MinValue"),
            "min_above_max",
            format!("MinValue {min} is above MaxValue {max}"),
        ));
    }
    match range.scaling_type.as_deref() {
        Some("Logarithmic") if min <= 0.0 => out.push(Diagnostic::error(
            format!("{path}.ScalingType"),
            "log_scale_positive",
            format!("Logarithmic scaling needs MinValue above 0 (it is {min})"),
        )),
        Some("ReverseLogarithmic") if integer => out.push(Diagnostic::error(
            format!("{path}.ScalingType"),
            "reverse_log_integer",
            "ReverseLogarithmic scaling is for continuous ranges only",
        )),
        Some("ReverseLogarithmic") if !(0.0..1.0).contains(&min) || max >= 1.0 => {
            out.push(Diagnostic::error(
                format!("{path}.ScalingType"),
                "reverse_log_range",
                format!("ReverseLogarithmic scaling needs 0 <= MinValue <= MaxValue < 1 (here {min} to {max})"),
            ))
        }
        _ => {}
    }
}

fn objective_rules(
    objective: &crate::request::tuning::Objective,
    definition: &crate::request::tuning::TrainingJobDefinition,
    base: &str,
    target: Target,
    out: &mut Vec<Diagnostic>,
) {
    let Some(metric) = objective.metric_name.as_deref() else {
        return;
    };
    let definitions = definition.metric_definitions();
    if definitions
        .iter()
        .any(|d| d.name.as_deref() == Some(metric))
    {
        return;
    }
    let path = format!("{base}.AlgorithmSpecification.MetricDefinitions");
    let builtin = definition
        .algorithm_specification
        .as_ref()
        .is_some_and(|a| a.algorithm_name.is_some());
    let message = if definitions.is_empty() {
        format!("no MetricDefinitions: nothing reads the objective {metric:?} from the logs")
    } else {
        let names: Vec<&str> = definitions
            .iter()
            .filter_map(|d| d.name.as_deref())
            .collect();
        format!(
            "no MetricDefinition is named {metric:?} (there are {}): the objective cannot be read",
            names.join(", ")
        )
    };
    // An algorithm resource defines its own metrics on AWS; local mode reads logs only.
    let severity = if builtin && target == Target::Aws {
        Severity::Warning
    } else {
        Severity::Error
    };
    out.push(Diagnostic {
        path,
        severity,
        code: "objective_metric",
        message,
    });
}
