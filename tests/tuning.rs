//! Tuning jobs on this machine, through the `sagedesk` binary: each trial a real local
//! training job of a Python script whose objective has a known optimum; the limits, the
//! strategies, early stopping, completion criteria, stops and failures.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Output;

use common::Sandbox;
use common::cli::{sagedesk, succeeded, text};
use common::tuning::request;
use serde_json::{Value, json};

fn tune(home: &Path, file: &Path) -> Output {
    sagedesk(home)
        .args(["tune", "--json"])
        .arg(file)
        .output()
        .unwrap()
}

fn described(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}\n{}\n{}", text(&out.stdout), text(&out.stderr)))
}

/// `sagedesk describe NAME --json` of a training job.
fn training_job(home: &Path, name: &str) -> Value {
    let out = succeeded(sagedesk(home).args(["describe", "--json", name]));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Trials of `tuning`, as `ListTrainingJobsForHyperParameterTuningJob` gives them.
fn trials(home: &Path, tuning: &str) -> Vec<Value> {
    let out = succeeded(sagedesk(home).args(["tuning", "trials", "--json", tuning]));
    let value: Value = serde_json::from_slice(&out.stdout).unwrap();
    value["TrainingJobSummaries"].as_array().unwrap().clone()
}

/// Trials of `tuning` that were stopped before logging all their `epochs` values.
fn cut_short(home: &Path, tuning: &str, epochs: usize) -> usize {
    trials(home, tuning)
        .iter()
        .filter(|t| t["TrainingJobStatus"] == "Stopped")
        .filter(|t| {
            let name = t["TrainingJobName"].as_str().unwrap();
            let out = succeeded(sagedesk(home).args(["logs", name]));
            text(&out.stdout).matches("loss=").count() < epochs
        })
        .count()
}

#[test]
fn a_tuning_job_runs_its_trials_as_local_jobs_never_more_at_once_than_allowed() {
    let sb = Sandbox::new();
    let file = request(
        &sb,
        "sweep",
        json!({"ResourceLimits": {"MaxNumberOfTrainingJobs": 6, "MaxParallelTrainingJobs": 2}}),
        json!({"pause": "0.1"}),
    );
    let out = tune(&sb.home(), &file);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let d = described(&out);
    assert_eq!(d["HyperParameterTuningJobStatus"], "Completed");
    assert_eq!(d["TrainingJobStatusCounters"]["Completed"], 6);
    assert_eq!(d["ObjectiveStatusCounters"]["Succeeded"], 6);
    let best = &d["BestTrainingJob"];
    let trials = trials(&sb.home(), "sweep");
    assert_eq!(trials.len(), 6);
    // Best first, and the best is the tuning job's BestTrainingJob.
    assert_eq!(trials[0]["TrainingJobName"], best["TrainingJobName"]);
    let values: Vec<f64> = trials
        .iter()
        .map(|t| {
            t["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
                .as_f64()
                .unwrap()
        })
        .collect();
    assert!(values.windows(2).all(|w| w[0] <= w[1]), "{values:?}");
    assert_eq!(
        best["FinalHyperParameterTuningJobObjectiveMetric"]["MetricName"],
        "loss"
    );
    let name_shape = regex::Regex::new(r"^sweep-\d{3}-[0-9a-f]{8}$").unwrap();
    let mut spans = Vec::new();
    for trial in &trials {
        let name = trial["TrainingJobName"].as_str().unwrap();
        assert!(name_shape.is_match(name), "{name}");
        // Each trial is a local training job with its tuned values and the objective's name.
        let job = training_job(&sb.home(), name);
        assert_eq!(job["TrainingJobStatus"], "Completed");
        let hyper = &job["HyperParameters"];
        assert_eq!(hyper["_tuning_objective_metric"], "loss");
        assert_eq!(hyper["rate"], trial["TunedHyperParameters"]["rate"]);
        assert_eq!(hyper["kind"], trial["TunedHyperParameters"]["kind"]);
        let x: f64 = hyper["rate"].as_str().unwrap().parse().unwrap();
        assert!((0.0..=1.0).contains(&x));
        // The final value is the last one the job logged (three epochs: floor + 1/3).
        let kind = if hyper["kind"] == "b" { 0.0 } else { 0.5 };
        let expected = (x - 0.3).powi(2) + kind + 1.0 / 3.0;
        let value = trial["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
            .as_f64()
            .unwrap();
        assert!((value - expected).abs() < 1e-5, "{value} vs {expected}");
        let time =
            |k: &str| chrono::DateTime::parse_from_rfc3339(job[k].as_str().unwrap()).unwrap();
        spans.push((time("CreationTime"), time("TrainingEndTime")));
    }
    // Never more than two ran at once.
    for (start, _) in &spans {
        let running = spans
            .iter()
            .filter(|(s, e)| s <= start && start < e)
            .count();
        assert!(running <= 2, "{running} jobs ran at once");
    }
}

#[test]
fn grid_tries_every_combination_once() {
    let sb = Sandbox::new();
    let file = request(&sb, "grid", common::tuning::grid(50), json!({}));
    let d = described(&tune(&sb.home(), &file));
    assert_eq!(d["HyperParameterTuningJobStatus"], "Completed");
    let mut seen: Vec<(String, String)> = trials(&sb.home(), "grid")
        .iter()
        .map(|t| {
            let h = &t["TunedHyperParameters"];
            (
                h["kind"].as_str().unwrap().into(),
                h["rate"].as_str().unwrap().into(),
            )
        })
        .collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 6);
    let best = &d["BestTrainingJob"]["TunedHyperParameters"];
    assert_eq!(
        (best["kind"].as_str(), best["rate"].as_str()),
        (Some("b"), Some("0.3"))
    );
}

#[test]
fn hyperband_and_the_median_rule_stop_bad_trials_early() {
    let sb = Sandbox::new();
    let file = request(
        &sb,
        "band",
        json!({
            "Strategy": "Hyperband",
            "StrategyConfig": {"HyperbandStrategyConfig": {"MinResource": 1, "MaxResource": 9}},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 9, "MaxParallelTrainingJobs": 3}
        }),
        json!({"epochs": "9", "pause": "0.3"}),
    );
    let d = described(&tune(&sb.home(), &file));
    assert_eq!(d["HyperParameterTuningJobStatus"], "Completed", "{d:#}");
    assert!(
        cut_short(&sb.home(), "band", 9) >= 1,
        "Hyperband cut no trial: {d:#}"
    );
    // A stopped trial's final value is the last it logged, and it counts as succeeded.
    assert_eq!(d["ObjectiveStatusCounters"]["Succeeded"], 9);

    let file = request(
        &sb,
        "median",
        json!({
            "TrainingJobEarlyStoppingType": "Auto",
            "RandomSeed": 4,
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 10, "MaxParallelTrainingJobs": 1}
        }),
        json!({"epochs": "6", "pause": "0.1"}),
    );
    let d = described(&tune(&sb.home(), &file));
    assert_eq!(d["HyperParameterTuningJobStatus"], "Completed");
    assert!(
        cut_short(&sb.home(), "median", 6) >= 1,
        "the median rule cut no trial: {d:#}"
    );
}

#[test]
fn completion_criteria_end_the_search_before_its_last_trial() {
    let sb = Sandbox::new();
    // Any trial with kind "b" and rate near 0.3 ends below 0.4; one with kind "a" never does.
    let file = request(
        &sb,
        "target",
        json!({
            "Strategy": "Bayesian",
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 40, "MaxParallelTrainingJobs": 1},
            "TuningJobCompletionCriteria": {"TargetObjectiveMetricValue": 0.4}
        }),
        json!({}),
    );
    let d = described(&tune(&sb.home(), &file));
    assert_eq!(d["HyperParameterTuningJobStatus"], "Completed");
    let n = trials(&sb.home(), "target").len();
    assert!(n < 40, "{n} trials");
    let best = d["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
        .as_f64()
        .unwrap();
    assert!(best <= 0.4, "{best}");

    let file = request(
        &sb,
        "plateau",
        json!({
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 30, "MaxParallelTrainingJobs": 1},
            "TuningJobCompletionCriteria": {"BestObjectiveNotImproving": {"MaxNumberOfTrainingJobsNotImproving": 3}}
        }),
        json!({}),
    );
    let d = described(&tune(&sb.home(), &file));
    let n = trials(&sb.home(), "plateau").len();
    assert!(n < 30, "{n} trials");
    assert_eq!(
        d["TuningJobCompletionDetails"]["NumberOfTrainingJobsObjectiveNotImproving"],
        3
    );
}

#[test]
fn a_bayesian_search_ends_when_it_converges() {
    let sb = Sandbox::new();
    let file = request(
        &sb,
        "converge",
        json!({
            "Strategy": "Bayesian",
            "RandomSeed": 7,
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 80, "MaxParallelTrainingJobs": 2},
            "TuningJobCompletionCriteria": {"ConvergenceDetected": {"CompleteOnConvergence": "Enabled"}}
        }),
        json!({"epochs": "1", "pause": "0"}),
    );
    let d = described(&tune(&sb.home(), &file));
    assert_eq!(d["HyperParameterTuningJobStatus"], "Completed");
    let n = trials(&sb.home(), "converge").len();
    assert!(n < 80, "{n} trials");
    assert!(
        d["TuningJobCompletionDetails"]["ConvergenceDetectedTime"].is_string(),
        "{}",
        d["TuningJobCompletionDetails"]
    );
    // It had found the floor (kind "b", rate 0.3: one epoch ends at 1.0).
    let best = d["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
        .as_f64()
        .unwrap();
    assert!(best < 1.01, "{best} after {n} trials");
}

#[test]
fn bad_requests_are_refused_before_anything_runs_and_name_the_member() {
    let sb = Sandbox::new();
    let cases = [
        (
            json!({"ParameterRanges": {"ContinuousParameterRanges": [{"Name": "rate", "MinValue": "2", "MaxValue": "1"}]}}),
            "ContinuousParameterRanges[0].MinValue",
            "MinValue 2 is above MaxValue 1",
        ),
        (
            json!({"HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "accuracy"}}),
            "TrainingJobDefinition.AlgorithmSpecification.MetricDefinitions",
            "no MetricDefinition is named \"accuracy\"",
        ),
        (
            json!({"ParameterRanges": {"CategoricalParameterRanges": [{"Name": "kind", "Values": (0..31).map(|i| i.to_string()).collect::<Vec<_>>()}]}}),
            "CategoricalParameterRanges[0].Values",
            "",
        ),
        (
            json!({"Strategy": "Grid"}),
            "HyperParameterTuningJobConfig.ParameterRanges",
            "categorical ranges only",
        ),
        (
            json!({"ParameterRanges": {"ContinuousParameterRanges": [{"Name": "rate", "MinValue": "0", "MaxValue": "1", "ScalingType": "Logarithmic"}]}}),
            "ContinuousParameterRanges[0].ScalingType",
            "needs MinValue above 0",
        ),
    ];
    for (i, (config, path, message)) in cases.into_iter().enumerate() {
        let name = format!("bad{i}");
        let file = request(&sb, &name, config, json!({}));
        for args in [vec!["validate"], vec!["tune"]] {
            let out = sagedesk(&sb.home())
                .args(&args)
                .arg(&file)
                .output()
                .unwrap();
            let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
            assert_eq!(out.status.code(), Some(2), "{args:?} {name}: {said}");
            assert!(
                said.contains(path) && said.contains(message),
                "{args:?} {name}: {said}"
            );
        }
    }
    // Nothing was started.
    let out = succeeded(sagedesk(&sb.home()).args(["tuning", "list"]));
    assert_eq!(
        text(&out.stdout).lines().count(),
        1,
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn trials_that_all_fail_fail_the_tuning_job_and_a_stop_ends_one_in_the_middle() {
    let sb = Sandbox::new();
    let file = request(
        &sb,
        "broken",
        json!({"ResourceLimits": {"MaxNumberOfTrainingJobs": 10, "MaxParallelTrainingJobs": 1}}),
        json!({"fail": "1"}),
    );
    let out = tune(&sb.home(), &file);
    assert_eq!(out.status.code(), Some(1));
    let d = described(&out);
    assert_eq!(d["HyperParameterTuningJobStatus"], "Failed");
    assert_eq!(
        d["TrainingJobStatusCounters"]["NonRetryableError"], 3,
        "{d:#}"
    );
    let reason = d["FailureReason"].as_str().unwrap();
    assert!(
        reason.contains("the first 3 training jobs failed"),
        "{reason}"
    );
    assert!(reason.contains("the data is missing"), "{reason}");

    // A script that refuses arguments it does not know fails on the one every trial gets,
    // as on SageMaker; the diagnosis says how to read them.
    let file = request(&sb, "strict", json!({}), json!({}));
    let script = sb.path().join("code/train.py");
    let lenient = std::fs::read_to_string(&script).unwrap();
    std::fs::write(
        &script,
        lenient.replace("a, _ = p.parse_known_args()", "a = p.parse_args()"),
    )
    .unwrap();
    let d = described(&tune(&sb.home(), &file));
    std::fs::write(&script, lenient).unwrap();
    assert_eq!(d["HyperParameterTuningJobStatus"], "Failed");
    let reason = d["FailureReason"].as_str().unwrap();
    assert!(
        reason.contains("--_tuning_objective_metric loss"),
        "{reason}"
    );
    let first = trials(&sb.home(), "strict")[0]["TrainingJobName"].clone();
    let out = succeeded(sagedesk(&sb.home()).args(["diagnose", "--json", first.as_str().unwrap()]));
    let diagnosis: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        diagnosis["next_steps"]
            .to_string()
            .contains("parser.parse_known_args()"),
        "{diagnosis:#}"
    );

    let file = request(
        &sb,
        "long",
        json!({"ResourceLimits": {"MaxNumberOfTrainingJobs": 20, "MaxParallelTrainingJobs": 2}}),
        json!({"epochs": "100", "pause": "0.2"}),
    );
    succeeded(sagedesk(&sb.home()).args(["tune", "--detach"]).arg(&file));
    let deadline = std::time::Instant::now() + common::LIMIT;
    loop {
        assert!(std::time::Instant::now() < deadline, "no trial started");
        let out = succeeded(sagedesk(&sb.home()).args(["tuning", "describe", "--json", "long"]));
        let d: Value = serde_json::from_slice(&out.stdout).unwrap();
        if d["TrainingJobStatusCounters"]["InProgress"] == 2 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    succeeded(sagedesk(&sb.home()).args(["tuning", "stop", "long"]));
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "the stop did not end it"
        );
        let out = succeeded(sagedesk(&sb.home()).args(["tuning", "describe", "--json", "long"]));
        let d: Value = serde_json::from_slice(&out.stdout).unwrap();
        if d["HyperParameterTuningJobStatus"] == "Stopped" {
            assert_eq!(d["TrainingJobStatusCounters"]["InProgress"], 0);
            assert_eq!(d["TrainingJobStatusCounters"]["Stopped"], 2);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    // A tuning job whose stored state is damaged is listed as Failed beside the others,
    // and opening it says what is damaged.
    let db = rusqlite::Connection::open(sb.config().database()).unwrap();
    db.execute(
        "UPDATE tuning_jobs SET state = '{not json' WHERE name = 'strict'",
        [],
    )
    .unwrap();
    let listed = text(&succeeded(sagedesk(&sb.home()).args(["tuning", "list"])).stdout);
    let rows: Vec<&str> = listed.lines().skip(1).collect();
    assert_eq!(rows.len(), 3, "{listed}");
    assert!(
        rows.iter().any(|r| r.starts_with("strict\tFailed")),
        "{listed}"
    );
    assert!(
        rows.iter().any(|r| r.starts_with("long\tStopped")),
        "{listed}"
    );
    let out = sagedesk(&sb.home())
        .args(["tuning", "describe", "strict"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("the stored state of tuning job strict is damaged"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_tuning_job_goes_to_sagemaker_as_written_and_reads_back_in_the_services_shapes() {
    let moto = common::moto::Moto::start();
    let sb = Sandbox::new();
    let file = request(
        &sb,
        "remote",
        json!({}),
        json!({"sagemaker_submit_directory": "\"s3://bucket/code/sourcedir.tar.gz\""}),
    );
    // For the service, output goes to S3.
    let mut value: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    value["TrainingJobDefinition"]["OutputDataConfig"]["S3OutputPath"] = json!("s3://bucket/out");
    std::fs::write(&file, value.to_string()).unwrap();
    let aws = |args: &[&str]| {
        let mut command = sagedesk(&sb.home());
        command
            .envs(common::moto::child_env(&moto.endpoint()))
            .args(["--aws", "--region", "us-east-1"])
            .args(args);
        command
    };
    let out = aws(&["tune", "--no-preflight", "--json"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let d = described(&out);
    assert_eq!(d["HyperParameterTuningJobName"], "remote");
    assert!(
        d["HyperParameterTuningJobArn"]
            .as_str()
            .unwrap()
            .ends_with("hyper-parameter-tuning-job/remote")
    );
    // The request reached the service as written.
    assert_eq!(
        d["HyperParameterTuningJobConfig"]["ParameterRanges"]["CategoricalParameterRanges"][0]["Name"],
        "kind"
    );
    assert_eq!(
        d["TrainingJobDefinition"]["StaticHyperParameters"]["sagemaker_program"],
        "\"train.py\""
    );
    let listed = text(&succeeded(&mut aws(&["tuning", "list"])).stdout);
    assert!(
        listed.lines().any(|l| l.starts_with("remote\t")),
        "{listed}"
    );
    let shown = text(&succeeded(&mut aws(&["tuning", "describe", "remote"])).stdout);
    assert!(shown.starts_with("remote: "), "{shown}");
    // Nothing ran here.
    let here = text(&succeeded(sagedesk(&sb.home()).args(["tuning", "list"])).stdout);
    assert_eq!(here.lines().count(), 1, "{here}");
    // The service's refusal comes with its own code.
    let again = aws(&["tune", "--no-preflight"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("ResourceInUse"),
        "{}",
        text(&again.stderr)
    );

    // The window lists it under its source, though none of its training jobs is listed, and
    // opens it.
    use common::window::{has_text, wait_for};
    use egui_kittest::kittest::Queryable;
    let mut h = common::window::harness_with_aws(&sb, moto.connection());
    h.state_mut().state_mut().group_by = sagedesk::ui::state::GroupBy::TuningJob;
    wait_for(&mut h, "the AWS tuning job", |h| {
        has_text(h, "tuning job remote")
    });
    h.get_by_label("tuning job remote").click();
    wait_for(&mut h, "its detail", |h| {
        has_text(h, "Tuning job remote") && has_text(h, "4 training jobs, 2 at once")
    });

    // Run locally: each trial a local job whose code and output are on the service's S3.
    moto.boto3(&format!(
        r#"
import boto3, io, tarfile
tar = io.BytesIO()
with tarfile.open(fileobj=tar, mode="w:gz") as t:
    t.add({script:?}, arcname="train.py")
s3 = boto3.client("s3")
s3.create_bucket(Bucket="bucket")
s3.put_object(Bucket="bucket", Key="code/sourcedir.tar.gz", Body=tar.getvalue())
"#,
        script = sb.path().join("code/train.py").display().to_string()
    ));
    h.get_by_label("▶ Run locally").click();
    h.run_steps(2);
    h.get_by_label("With my AWS credentials").click();
    wait_for(&mut h, "the local run's view", |h| {
        has_text(h, "Tuning job remote-local-")
    });
    let local = h.state().state().tuning.clone().unwrap();
    assert_eq!(local.source, sagedesk::job::Connection::Local);
    assert!(local.name.len() <= 32, "{}", local.name);
    wait_for(&mut h, "its four trials", |h| {
        has_text(h, "4 completed, 0 in progress, 0 stopped, 0 failed")
    });
    // Each trial's model went to the service's bucket.
    let out = sb.path().join("listed.txt");
    moto.boto3(&format!(
        r#"
import boto3
keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket="bucket", Prefix="out/")["Contents"]]
open({out:?}, "w").write("\n".join(keys))
"#,
        out = out.display().to_string()
    ));
    let keys = std::fs::read_to_string(&out).unwrap();
    for trial in trials(&sb.home(), &local.name) {
        let name = trial["TrainingJobName"].as_str().unwrap();
        assert!(
            keys.contains(&format!("out/{name}/output/model.tar.gz")),
            "{name} not in {keys}"
        );
    }
}

#[test]
fn the_window_shows_a_running_tuning_job_over_its_trials_and_stops_it_when_asked() {
    use common::window::{has_text, wait_for};
    use egui_kittest::kittest::Queryable;
    let sb = Sandbox::new();
    let file = request(
        &sb,
        "live",
        json!({"ResourceLimits": {"MaxNumberOfTrainingJobs": 8, "MaxParallelTrainingJobs": 2}}),
        json!({"epochs": "200", "pause": "0.1"}),
    );
    succeeded(sagedesk(&sb.home()).args(["tune", "--detach"]).arg(&file));
    let mut h = common::window::harness(&sb, [1280.0, 800.0], None);
    h.state_mut().state_mut().group_by = sagedesk::ui::state::GroupBy::TuningJob;
    wait_for(&mut h, "the running tuning job over its trials", |h| {
        has_text(h, "tuning job live") && has_text(h, "InProgress · Random · 2 of 8")
    });
    // Its detail: settings, counts and the trials.
    h.get_by_label("tuning job live").click();
    wait_for(&mut h, "the tuning job's detail", |h| {
        has_text(h, "Tuning job live")
            && has_text(h, "Random")
            && has_text(h, "8 training jobs, 2 at once")
            && has_text(h, "0 completed, 2 in progress, 0 stopped, 0 failed")
    });
    assert_eq!(
        h.state().state().tuning.as_ref().map(|j| j.name.as_str()),
        Some("live")
    );
    h.get_by_label("tuning job live").click_secondary();
    h.run_steps(2);
    h.get_by_label("Stop the tuning job…").click();
    h.run_steps(2);
    assert!(has_text(&h, "Stop tuning job live?"));
    h.get_by_label("Stop tuning job").click();
    wait_for(&mut h, "the stopped tuning job", |h| {
        has_text(h, "Stopped · Random · 2 of 8")
            && has_text(h, "0 completed, 0 in progress, 2 stopped, 0 failed")
    });
    // Its trials compare from the detail.
    h.get_by_label("⚖ Compare trials").click();
    wait_for(&mut h, "the trials compared", |h| {
        has_text(h, "Comparing 2 jobs")
    });
    let d: Value = serde_json::from_slice(
        &succeeded(sagedesk(&sb.home()).args(["tuning", "describe", "--json", "live"])).stdout,
    )
    .unwrap();
    assert_eq!(d["HyperParameterTuningJobStatus"], "Stopped");
    assert_eq!(d["TrainingJobStatusCounters"]["InProgress"], 0);
}

#[test]
fn a_tuning_job_whose_tuner_was_killed_goes_on_from_where_it_was() {
    let sb = Sandbox::new();
    let file = request(
        &sb,
        "orphan",
        json!({"ResourceLimits": {"MaxNumberOfTrainingJobs": 5, "MaxParallelTrainingJobs": 2}}),
        json!({"epochs": "12", "pause": "0.1"}),
    );
    succeeded(sagedesk(&sb.home()).args(["tune", "--detach"]).arg(&file));
    let describe = || -> Value {
        serde_json::from_slice(
            &succeeded(sagedesk(&sb.home()).args(["tuning", "describe", "--json", "orphan"]))
                .stdout,
        )
        .unwrap()
    };
    let deadline = std::time::Instant::now() + common::LIMIT;
    while describe()["TrainingJobStatusCounters"]["InProgress"] != 2 {
        assert!(std::time::Instant::now() < deadline, "no trial started");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // The tuner dies; its trials, supervised on their own, go on.
    let killed = std::process::Command::new("pkill")
        .args(["-KILL", "-f", "supervise-tuning orphan"])
        .status()
        .unwrap();
    assert!(killed.success());
    std::thread::sleep(std::time::Duration::from_millis(300));
    // The next command finds it orphaned and starts its tuner again.
    let out = succeeded(sagedesk(&sb.home()).args(["tuning", "list"]));
    assert!(
        text(&out.stderr).contains("tuning job orphan had lost its process"),
        "{}",
        text(&out.stderr)
    );
    let d = loop {
        let d = describe();
        if d["HyperParameterTuningJobStatus"] != "InProgress" {
            break d;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "it did not end: {d:#}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(d["HyperParameterTuningJobStatus"], "Completed", "{d:#}");
    assert_eq!(d["TrainingJobStatusCounters"]["Completed"], 5, "{d:#}");
    // Each trial once, its final value the last it logged (12 epochs: floor + 1/12).
    let trials = trials(&sb.home(), "orphan");
    assert_eq!(trials.len(), 5);
    for trial in &trials {
        let h = &trial["TunedHyperParameters"];
        let rate: f64 = h["rate"].as_str().unwrap().parse().unwrap();
        let kind = if h["kind"] == "b" { 0.0 } else { 0.5 };
        let expected = (rate - 0.3).powi(2) + kind + 1.0 / 12.0;
        let value = trial["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
            .as_f64()
            .unwrap();
        assert!((value - expected).abs() < 1e-5, "{value} vs {expected}");
    }
}

#[test]
fn a_tuning_request_imported_into_the_builder_opens_as_one() {
    use sagedesk::worker::{DeskCommand, Event};
    let sb = Sandbox::new();
    let file = request(&sb, "imported", json!({}), json!({}));
    // A relative code folder is read against the file's folder.
    let mut written: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    written["TrainingJobDefinition"]["StaticHyperParameters"]["sagemaker_submit_directory"] =
        json!("\"file://code\"");
    std::fs::write(&file, written.to_string()).unwrap();
    let worker = common::window::worker(std::sync::Arc::new(sb.backend()), &sb.home());
    worker.send(DeskCommand::ReadRequestFile(file.clone()));
    let deadline = std::time::Instant::now() + common::LIMIT;
    let value = loop {
        assert!(std::time::Instant::now() < deadline, "no answer");
        if let Some(value) = worker.drain().find_map(|e| match e {
            Event::RequestLoaded { value, .. } => Some(value),
            Event::RequestUnreadable(message) => panic!("{message}"),
            _ => None,
        }) {
            break value;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    assert_eq!(value["HyperParameterTuningJobName"], "imported");
    assert_eq!(
        value["HyperParameterTuningJobConfig"]["ParameterRanges"]["CategoricalParameterRanges"][0]
            ["Values"],
        json!(["a", "b"])
    );
    assert_eq!(
        value["TrainingJobDefinition"]["StaticHyperParameters"]["sagemaker_submit_directory"],
        json!(format!("\"file://{}\"", sb.path().join("code").display()))
    );
    let mut builder = sagedesk::ui::builder::Builder::new(value, sagedesk::job::Connection::Local);
    builder.set_target(sagedesk::request::validate::Target::Local, None);
    assert_eq!(builder.kind(), sagedesk::request::RequestKind::Tuning);
    assert!(
        builder.diagnostics().is_empty(),
        "{:?}",
        builder.diagnostics()
    );
}

#[test]
fn a_training_job_becomes_a_tuning_job_in_the_builder_and_runs_here() {
    use common::window::{has_text, wait_for};
    use egui_kittest::kittest::Queryable;
    use sagedesk::request::RequestKind;
    let sb = Sandbox::new();
    let file = request(&sb, "unused", json!({}), json!({}));
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    // The training job each trial would run, with its hyperparameters static.
    let mut training = sagedesk::request::tuning::tuning_request_from_value(written, "test")
        .unwrap()
        .first_training_job()
        .unwrap()
        .to_value();
    let hyper = training["HyperParameters"].as_object_mut().unwrap();
    hyper.insert("rate".into(), json!("0.5"));
    hyper.insert("kind".into(), json!("b"));
    let mut h = common::window::harness(&sb, [1280.0, 800.0], None);
    h.state_mut().new_job();
    h.state_mut().builder_mut().unwrap().set_value(training);
    h.run_steps(3);
    h.get_by_label("⚙ Tune…").click();
    h.run_steps(3);
    let builder = h.state().builder().unwrap();
    assert_eq!(builder.kind(), RequestKind::Tuning);
    let value = builder.value().clone();
    let config = &value["HyperParameterTuningJobConfig"];
    assert_eq!(config["Strategy"], "Bayesian");
    assert_eq!(
        config["HyperParameterTuningJobObjective"],
        json!({"Type": "Minimize", "MetricName": "loss"})
    );
    let name = value["HyperParameterTuningJobName"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(name.len() <= 32, "{name}");
    assert!(has_text(&h, "New tuning job") && has_text(&h, "Pick the hyperparameters to search"));
    // A click moves `rate` from the static hyperparameters to a range around its value.
    h.get_by_label("+ rate = 0.5").click();
    h.run_steps(3);
    let value = h.state().builder().unwrap().value().clone();
    assert_eq!(
        value["HyperParameterTuningJobConfig"]["ParameterRanges"]["ContinuousParameterRanges"],
        json!([{"Name": "rate", "MinValue": "0.05", "MaxValue": "1", "ScalingType": "Logarithmic"}])
    );
    assert!(
        value["TrainingJobDefinition"]["StaticHyperParameters"]
            .get("rate")
            .is_none()
    );
    assert!(has_text(&h, "Searching: rate"));
    // Three trials, then Submit: it runs here and its view opens.
    let mut fewer = value.clone();
    fewer["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxNumberOfTrainingJobs"] = json!(3);
    h.state_mut().builder_mut().unwrap().set_value(fewer);
    h.run_steps(2);
    let errors: Vec<_> = h.state().builder().unwrap().diagnostics().to_vec();
    assert!(errors.is_empty(), "{errors:?}");
    h.get_by_label("▶ Submit").click();
    wait_for(&mut h, "the tuning job's view", |h| {
        h.state().builder().is_none() && has_text(h, &format!("Tuning job {name}"))
    });
    wait_for(&mut h, "its three trials", |h| {
        has_text(h, "3 completed, 0 in progress, 0 stopped, 0 failed")
    });
    for trial in trials(&sb.home(), &name) {
        let rate: f64 = trial["TunedHyperParameters"]["rate"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((0.05..=1.0).contains(&rate), "{trial}");
        let job = training_job(&sb.home(), trial["TrainingJobName"].as_str().unwrap());
        assert_eq!(job["HyperParameters"]["kind"], "b");
    }
}
