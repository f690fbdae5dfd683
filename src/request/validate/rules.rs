//! Cross-field rules the API model cannot express, each with its own code and test.

use std::collections::HashSet;

use serde_json::Value;

use super::{Diagnostic, get};

/// The service's default `MaxRuntimeInSeconds` (one day).
const DEFAULT_MAX_RUNTIME: i64 = 86_400;

/// Runs every rule.
pub fn check(request: &Value, out: &mut Vec<Diagnostic>) {
    if !request.is_object() {
        return;
    }
    classic_members(request, out);
    algorithm_source(request, out);
    instance_type_or_groups(request, out);
    spot_training(request, out);
    unique_channels(request, out);
    metric_definitions(request, out);
    sharding(request, out);
    vpc_config(request, out);
}

fn int(value: &Value, path: &str) -> Option<i64> {
    get(value, path).and_then(Value::as_i64)
}

fn str_of<'a>(value: &'a Value, path: &str) -> Option<&'a str> {
    get(value, path).and_then(Value::as_str)
}

fn array<'a>(value: &'a Value, path: &str) -> &'a [Value] {
    get(value, path)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// AlgorithmSpecification, ResourceConfig and StoppingCondition are required unless the
/// request is a serverless job (ServerlessJobConfig).
fn classic_members(request: &Value, out: &mut Vec<Diagnostic>) {
    if get(request, "ServerlessJobConfig").is_some() {
        return;
    }
    for member in [
        "AlgorithmSpecification",
        "ResourceConfig",
        "StoppingCondition",
    ] {
        if get(request, member).is_none() {
            out.push(Diagnostic::error(
                member,
                "required",
                "required unless the job is serverless (ServerlessJobConfig)",
            ));
        }
    }
}

/// Exactly one of TrainingImage and AlgorithmName.
fn algorithm_source(request: &Value, out: &mut Vec<Diagnostic>) {
    let Some(spec) = get(request, "AlgorithmSpecification").filter(|s| s.is_object()) else {
        return;
    };
    let image = get(spec, "TrainingImage").is_some();
    let algorithm = get(spec, "AlgorithmName").is_some();
    if image && algorithm {
        out.push(Diagnostic::error(
            "AlgorithmSpecification.AlgorithmName",
            "algorithm_source",
            "give either TrainingImage or AlgorithmName, not both",
        ));
    } else if !image && !algorithm && get(request, "ServerlessJobConfig").is_none() {
        out.push(Diagnostic::error(
            "AlgorithmSpecification.TrainingImage",
            "algorithm_source",
            "TrainingImage (a container image URI) or AlgorithmName is required",
        ));
    }
}

/// A cluster is either InstanceType + InstanceCount or InstanceGroups.
fn instance_type_or_groups(request: &Value, out: &mut Vec<Diagnostic>) {
    let Some(resources) = get(request, "ResourceConfig").filter(|r| r.is_object()) else {
        return;
    };
    let groups = !array(resources, "InstanceGroups").is_empty();
    let simple =
        get(resources, "InstanceType").is_some() || get(resources, "InstanceCount").is_some();
    if groups && simple {
        out.push(Diagnostic::error(
            "ResourceConfig.InstanceGroups",
            "instance_type_or_groups",
            "give InstanceType and InstanceCount, or InstanceGroups, not both",
        ));
    } else if !groups {
        for member in ["InstanceType", "InstanceCount"] {
            if get(resources, member).is_none() {
                out.push(Diagnostic::error(
                    format!("ResourceConfig.{member}"),
                    "required",
                    "required (or describe the cluster with InstanceGroups)",
                ));
            }
        }
    }
}

/// Spot training needs MaxWaitTimeInSeconds >= MaxRuntimeInSeconds, and checkpoints to
/// survive interruptions; MaxWaitTimeInSeconds means nothing without spot.
fn spot_training(request: &Value, out: &mut Vec<Diagnostic>) {
    let spot = get(request, "EnableManagedSpotTraining").and_then(Value::as_bool) == Some(true);
    let wait = int(request, "StoppingCondition.MaxWaitTimeInSeconds");
    let runtime = int(request, "StoppingCondition.MaxRuntimeInSeconds");
    if !spot {
        if wait.is_some() {
            out.push(Diagnostic::error(
                "StoppingCondition.MaxWaitTimeInSeconds",
                "spot_max_wait",
                "MaxWaitTimeInSeconds applies only to managed spot training (EnableManagedSpotTraining)",
            ));
        }
        return;
    }
    match wait {
        None => out.push(Diagnostic::error(
            "StoppingCondition.MaxWaitTimeInSeconds",
            "spot_max_wait",
            "managed spot training needs MaxWaitTimeInSeconds (how long to wait for spot capacity plus the run)",
        )),
        Some(wait) => {
            let runtime = runtime.unwrap_or(DEFAULT_MAX_RUNTIME);
            if wait < runtime {
                out.push(Diagnostic::error(
                    "StoppingCondition.MaxWaitTimeInSeconds",
                    "spot_max_wait",
                    format!("MaxWaitTimeInSeconds ({wait}) must be at least MaxRuntimeInSeconds ({runtime})"),
                ));
            }
        }
    }
    if get(request, "CheckpointConfig").is_none() {
        out.push(Diagnostic::warning(
            "CheckpointConfig",
            "spot_checkpoint",
            "spot instances can be interrupted: without CheckpointConfig the job restarts from scratch",
        ));
    }
}

/// Channel names must be unique.
fn unique_channels(request: &Value, out: &mut Vec<Diagnostic>) {
    let mut seen = HashSet::new();
    for (i, channel) in array(request, "InputDataConfig").iter().enumerate() {
        if let Some(name) = str_of(channel, "ChannelName")
            && !seen.insert(name)
        {
            out.push(Diagnostic::error(
                format!("InputDataConfig[{i}].ChannelName"),
                "duplicate_channel",
                format!("channel name {name:?} is used more than once"),
            ));
        }
    }
}

/// Metric regexes must compile and capture the value; names should be unique.
fn metric_definitions(request: &Value, out: &mut Vec<Diagnostic>) {
    let mut names = HashSet::new();
    for (i, def) in array(request, "AlgorithmSpecification.MetricDefinitions")
        .iter()
        .enumerate()
    {
        let base = format!("AlgorithmSpecification.MetricDefinitions[{i}]");
        if let Some(name) = str_of(def, "Name")
            && !names.insert(name)
        {
            out.push(Diagnostic::warning(
                format!("{base}.Name"),
                "duplicate_metric",
                format!("metric {name:?} is defined more than once; its points would mix"),
            ));
        }
        let Some(pattern) = str_of(def, "Regex") else {
            continue;
        };
        match compile_metric_regex(pattern) {
            Err(e) => out.push(Diagnostic::error(
                format!("{base}.Regex"),
                "metric_regex",
                format!("the regex does not compile: {e}"),
            )),
            Ok(groups) if groups < 2 => out.push(Diagnostic::error(
                format!("{base}.Regex"),
                "metric_regex",
                "the regex needs a capture group around the value, such as loss=([0-9.]+)",
            )),
            Ok(_) => {}
        }
    }
}

/// The number of capture groups of `pattern` (the whole match counts as one), or why it does
/// not compile. Results are remembered: the builder validates on every keystroke.
fn compile_metric_regex(pattern: &str) -> Result<usize, String> {
    thread_local! {
        static SEEN: std::cell::RefCell<std::collections::HashMap<String, Result<usize, String>>> =
            Default::default();
    }
    SEEN.with_borrow_mut(|seen| {
        if let Some(known) = seen.get(pattern) {
            return known.clone();
        }
        if seen.len() >= 512 {
            seen.clear();
        }
        let result = regex::Regex::new(pattern)
            .map(|re| re.captures_len())
            .map_err(|e| e.to_string().lines().last().unwrap_or("").to_string());
        seen.insert(pattern.to_string(), result.clone());
        result
    })
}

/// ShardedByS3Key with one instance shards nothing.
fn sharding(request: &Value, out: &mut Vec<Diagnostic>) {
    let count = int(request, "ResourceConfig.InstanceCount").unwrap_or(1);
    if count != 1 {
        return;
    }
    for (i, channel) in array(request, "InputDataConfig").iter().enumerate() {
        if str_of(channel, "DataSource.S3DataSource.S3DataDistributionType")
            == Some("ShardedByS3Key")
        {
            out.push(Diagnostic::warning(
                format!("InputDataConfig[{i}].DataSource.S3DataSource.S3DataDistributionType"),
                "sharding_single_instance",
                "ShardedByS3Key with one instance gives that instance all the data",
            ));
        }
    }
}

/// A VPC configuration needs both security groups and subnets.
fn vpc_config(request: &Value, out: &mut Vec<Diagnostic>) {
    let Some(vpc) = get(request, "VpcConfig").filter(|v| v.is_object()) else {
        return;
    };
    let groups = !array(vpc, "SecurityGroupIds").is_empty();
    let subnets = !array(vpc, "Subnets").is_empty();
    if groups != subnets {
        let missing = if groups {
            "Subnets"
        } else {
            "SecurityGroupIds"
        };
        out.push(Diagnostic::error(
            format!("VpcConfig.{missing}"),
            "vpc_incomplete",
            "VpcConfig needs both SecurityGroupIds and Subnets",
        ));
    }
}
