//! Tuning requests as the tests write them: a script whose loss has a known floor, over
//! a continuous and a categorical range.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{Value, json};

use super::Sandbox;
use super::cli::{sagedesk, succeeded, text};

/// A training script: `--rate` (float) and `--kind` (categorical) give a loss whose floor is
/// at rate = 0.3, kind = "b"; it prints `epochs` values falling towards it, `pause` s
/// apart. `--fail 1` makes it raise.
const SCRIPT: &str = r#"
import argparse, time
p = argparse.ArgumentParser()
p.add_argument("--rate", type=float, default=0.5)
p.add_argument("--kind", type=str, default="a")
p.add_argument("--epochs", type=int, default=3)
p.add_argument("--pause", type=float, default=0.05)
p.add_argument("--fail", type=int, default=0)
a, _ = p.parse_known_args()
if a.fail:
    raise SystemExit("the data is missing")
floor = (a.rate - 0.3) ** 2 + (0.0 if a.kind == "b" else 0.5)
for e in range(1, a.epochs + 1):
    print(f"epoch {e} loss={floor + 1.0 / e:.6f}", flush=True)
    time.sleep(a.pause)
"#;

/// A tuning request over `rate` and `kind`, `config` merged into its
/// `HyperParameterTuningJobConfig`, `statics` into its static hyperparameters.
pub fn request(sb: &Sandbox, name: &str, config: Value, statics: Value) -> PathBuf {
    let code = sb.path().join("code");
    std::fs::create_dir_all(&code).unwrap();
    std::fs::write(code.join("train.py"), SCRIPT).unwrap();
    let mut tuning = json!({
        "Strategy": "Random",
        "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "loss"},
        "ResourceLimits": {"MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 2},
        "ParameterRanges": {
            "ContinuousParameterRanges": [{"Name": "rate", "MinValue": "0", "MaxValue": "1", "ScalingType": "Linear"}],
            "CategoricalParameterRanges": [{"Name": "kind", "Values": ["a", "b"]}]
        }
    });
    merge(&mut tuning, config);
    let mut hyper = json!({
        "sagemaker_program": "\"train.py\"",
        "sagemaker_submit_directory": format!("\"file://{}\"", code.display()),
    });
    merge(&mut hyper, statics);
    let request = json!({
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": tuning,
        "TrainingJobDefinition": {
            "StaticHyperParameters": hyper,
            "AlgorithmSpecification": {
                "TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
                "TrainingInputMode": "File",
                "MetricDefinitions": [{"Name": "loss", "Regex": "loss=([0-9.]+)"}]
            },
            "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
            "OutputDataConfig": {"S3OutputPath": format!("file://{}", sb.path().join("out").display())},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
            "StoppingCondition": {"MaxRuntimeInSeconds": 300}
        }
    });
    let path = sb.path().join(format!("{name}.json"));
    std::fs::write(&path, serde_json::to_string_pretty(&request).unwrap()).unwrap();
    path
}

/// Merges `extra`'s members into `base`, objects member by member.
pub fn merge(base: &mut Value, extra: Value) {
    match (base, extra) {
        (Value::Object(base), Value::Object(extra)) => {
            for (k, v) in extra {
                merge(base.entry(k).or_insert(Value::Null), v);
            }
        }
        (base, extra) => *base = extra,
    }
}

/// A `HyperParameterTuningJobConfig` part for `request`: Grid over both kinds and three
/// rates (six combinations), three at once, at most `max_jobs`.
pub fn grid(max_jobs: u32) -> Value {
    json!({
        "Strategy": "Grid",
        "ResourceLimits": {"MaxNumberOfTrainingJobs": max_jobs, "MaxParallelTrainingJobs": 3},
        "ParameterRanges": {
            "ContinuousParameterRanges": [],
            "CategoricalParameterRanges": [
                {"Name": "kind", "Values": ["a", "b"]},
                {"Name": "rate", "Values": ["0.1", "0.3", "0.9"]}
            ]
        }
    })
}

/// The JSON a `--json` command printed, or its output when it is not JSON.
pub fn described(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}\n{}\n{}", text(&out.stdout), text(&out.stderr)))
}

/// `sagedesk describe NAME --json` of a training job.
pub fn training_job(home: &Path, name: &str) -> Value {
    let out = succeeded(sagedesk(home).args(["describe", "--json", name]));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Trials of `tuning`, as `ListTrainingJobsForHyperParameterTuningJob` gives them.
pub fn trials(home: &Path, tuning: &str) -> Vec<Value> {
    let out = succeeded(sagedesk(home).args(["tuning", "trials", "--json", tuning]));
    let value: Value = serde_json::from_slice(&out.stdout).unwrap();
    value["TrainingJobSummaries"].as_array().unwrap().clone()
}
