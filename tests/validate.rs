//! Validation: every kind of model constraint, every cross-field rule, both targets, and
//! property tests that it never panics and names members that are there.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use proptest::prelude::*;
use sagedesk::backend::local::contract::LocalChecks;
use sagedesk::request::validate::{Diagnostic, RuntimeChecks, Severity, Target, validate_value};
use serde_json::{Value, json};

/// Validates for `target` as the command line and the builder do: with local mode's own
/// checks for the local target.
fn check(value: &Value, target: Target) -> Vec<Diagnostic> {
    let local: &dyn RuntimeChecks = &LocalChecks::default();
    validate_value(value, target, (target == Target::Local).then_some(local))
}

/// A legal request that validates clean for AWS.
fn base() -> Value {
    json!({
        "TrainingJobName": "valid-job-1",
        "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
        "AlgorithmSpecification": {
            "TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/algo:1",
            "TrainingInputMode": "File",
            "MetricDefinitions": [{"Name": "loss", "Regex": "loss=([0-9.]+)"}]
        },
        "HyperParameters": {"epochs": "3"},
        "InputDataConfig": [{
            "ChannelName": "train",
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bucket/train",
                                            "S3DataDistributionType": "FullyReplicated"}}
        }],
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/out"},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600}
    })
}

fn with(mut value: Value, path: &str, member: Value) -> Value {
    let mut slot = &mut value;
    for part in path.split('.') {
        slot = match part.parse::<usize>() {
            Ok(i) => &mut slot[i],
            Err(_) => &mut slot[part],
        };
    }
    *slot = member;
    value
}

fn without(mut value: Value, path: &str) -> Value {
    let (parent, last) = path.rsplit_once('.').unwrap_or(("", path));
    let mut slot = &mut value;
    for part in parent.split('.').filter(|p| !p.is_empty()) {
        slot = match part.parse::<usize>() {
            Ok(i) => &mut slot[i],
            Err(_) => &mut slot[part],
        };
    }
    slot.as_object_mut().unwrap().shift_remove(last);
    value
}

fn aws(value: &Value) -> Vec<Diagnostic> {
    check(value, Target::Aws)
}

/// The diagnostic with `code` at `path` (others may stand beside it).
fn has(diags: &[Diagnostic], path: &str, code: &str) -> String {
    diags
        .iter()
        .find(|d| d.path == path && d.code == code)
        .unwrap_or_else(|| panic!("no {code} at {path}: {diags:#?}"))
        .message
        .clone()
}

/// The one diagnostic at `path`, which must have `code` and `severity`.
fn only(diags: &[Diagnostic], path: &str, code: &str, severity: Severity) -> String {
    let at: Vec<_> = diags.iter().filter(|d| d.path == path).collect();
    assert_eq!(at.len(), 1, "at {path}: {diags:#?}");
    assert_eq!(at[0].code, code, "{diags:#?}");
    assert_eq!(at[0].severity, severity, "{diags:#?}");
    at[0].message.clone()
}

#[test]
fn the_base_request_and_the_full_reference_request_are_clean() {
    assert_eq!(aws(&base()), []);
    let full: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/full-request.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let diags = aws(&full);
    // Only the (deliberate) sharding of a one-host group is worth a word.
    assert!(
        diags.iter().all(|d| d.severity == Severity::Warning),
        "{diags:#?}"
    );
    assert_eq!(diags.len(), 1, "{diags:#?}");
}

#[test]
fn required_members() {
    let d = aws(&without(base(), "RoleArn"));
    only(&d, "RoleArn", "required", Severity::Error);
    let d = aws(&without(base(), "InputDataConfig.0.ChannelName"));
    only(
        &d,
        "InputDataConfig[0].ChannelName",
        "required",
        Severity::Error,
    );
    let d = aws(&with(base(), "RoleArn", Value::Null));
    only(&d, "RoleArn", "required", Severity::Error);
}

#[test]
fn lengths() {
    let d = aws(&with(base(), "TrainingJobName", json!("a".repeat(64))));
    let m = has(&d, "TrainingJobName", "max_length");
    assert!(m.contains("at most 63") && m.contains("64"), "{m}");
    let d = aws(&with(base(), "TrainingJobName", json!("")));
    assert!(
        d.iter()
            .any(|x| x.code == "min_length" && x.message.contains("empty"))
    );
    let d = aws(&with(base(), "RoleArn", json!("arn:aws:iam::1:r")));
    assert!(
        d.iter()
            .any(|x| x.path == "RoleArn" && x.code == "min_length")
    );
    // Lengths count characters, not bytes.
    let d = aws(&with(
        base(),
        "HyperParameters.note",
        json!("é".repeat(2500)),
    ));
    assert_eq!(d, []);
    let d = aws(&with(base(), "Environment", json!({"odd key": "x"})));
    has(&d, "Environment[\"odd key\"]", "pattern");
    let d = aws(&with(
        base(),
        "HyperParameters.note",
        json!("é".repeat(2501)),
    ));
    only(&d, "HyperParameters.note", "max_length", Severity::Error);
}

#[test]
fn patterns_speak_the_users_terms() {
    let d = aws(&with(
        base(),
        "InputDataConfig.0.DataSource.S3DataSource.S3Uri",
        json!("bucket/train"),
    ));
    let m = only(
        &d,
        "InputDataConfig[0].DataSource.S3DataSource.S3Uri",
        "pattern",
        Severity::Error,
    );
    assert!(m.starts_with("must be an s3:// or https:// URI"), "{m}");
    assert!(m.contains("(pattern: (https|s3)://"), "{m}");
    let d = aws(&with(base(), "TrainingJobName", json!("my_job")));
    let m = only(&d, "TrainingJobName", "pattern", Severity::Error);
    assert!(m.contains("letters, digits and hyphens"), "{m}");
    let d = aws(&with(
        base(),
        "RoleArn",
        json!("arn:aws:iam::123456789012:user/SomeUser"),
    ));
    only(&d, "RoleArn", "pattern", Severity::Error);
    let d = aws(&with(
        base(),
        "Environment",
        json!({"1BAD": "x", "GOOD_1": "y"}),
    ));
    let m = only(&d, "Environment.1BAD", "pattern", Severity::Error);
    assert!(m.starts_with("key must be a variable name"), "{m}");
    // Look-behind pattern: an algorithm name may not end in a hyphen.
    let v = without(base(), "AlgorithmSpecification.TrainingImage");
    let v = with(v, "AlgorithmSpecification.AlgorithmName", json!("my-algo-"));
    only(
        &aws(&v),
        "AlgorithmSpecification.AlgorithmName",
        "pattern",
        Severity::Error,
    );
    let v = with(v, "AlgorithmSpecification.AlgorithmName", json!("my-algo"));
    assert_eq!(aws(&v), []);
}

#[test]
fn enums_list_small_sets_and_suggest_for_large_ones() {
    let d = aws(&with(
        base(),
        "AlgorithmSpecification.TrainingInputMode",
        json!("file"),
    ));
    let m = only(
        &d,
        "AlgorithmSpecification.TrainingInputMode",
        "enum",
        Severity::Error,
    );
    assert_eq!(m, "must be one of: Pipe, File, FastFile");
    let d = aws(&with(
        base(),
        "ResourceConfig.InstanceType",
        json!("ml.m5.xlarg"),
    ));
    let m = only(&d, "ResourceConfig.InstanceType", "enum", Severity::Error);
    assert!(m.contains("did you mean ml.m5.xlarge?"), "{m}");
}

#[test]
fn numeric_ranges_and_types() {
    let d = aws(&with(
        base(),
        "StoppingCondition.MaxRuntimeInSeconds",
        json!(0),
    ));
    only(
        &d,
        "StoppingCondition.MaxRuntimeInSeconds",
        "min_value",
        Severity::Error,
    );
    let d = aws(&with(base(), "ResourceConfig.VolumeSizeInGB", json!(-1)));
    only(
        &d,
        "ResourceConfig.VolumeSizeInGB",
        "min_value",
        Severity::Error,
    );
    let d = aws(&with(
        base(),
        "InputDataConfig.0.ShuffleConfig",
        json!({"Seed": 1.5}),
    ));
    let m = only(
        &d,
        "InputDataConfig[0].ShuffleConfig.Seed",
        "type",
        Severity::Error,
    );
    assert_eq!(m, "must be a whole number");
    let d = aws(&with(base(), "EnableNetworkIsolation", json!("yes")));
    only(&d, "EnableNetworkIsolation", "type", Severity::Error);
    let d = aws(&with(base(), "HyperParameters.epochs", json!(3)));
    only(&d, "HyperParameters.epochs", "type", Severity::Error);
}

#[test]
fn entry_counts_and_the_documented_limits() {
    let defs: Vec<Value> = (0..41)
        .map(|i| json!({"Name": format!("m{i}"), "Regex": format!("m{i}=([0-9.]+)")}))
        .collect();
    let d = aws(&with(
        base(),
        "AlgorithmSpecification.MetricDefinitions",
        json!(defs),
    ));
    let m = only(
        &d,
        "AlgorithmSpecification.MetricDefinitions",
        "max_entries",
        Severity::Error,
    );
    assert!(m.contains("at most 40"), "{m}");
    let hps: serde_json::Map<String, Value> =
        (0..101).map(|i| (format!("h{i}"), json!("1"))).collect();
    let d = aws(&with(base(), "HyperParameters", Value::Object(hps)));
    only(&d, "HyperParameters", "max_entries", Severity::Error);
    let tags: Vec<Value> = (0..51)
        .map(|i| json!({"Key": format!("k{i}"), "Value": "v"}))
        .collect();
    let d = aws(&with(base(), "Tags", json!(tags)));
    only(&d, "Tags", "max_entries", Severity::Error);
    let d = aws(&with(base(), "InputDataConfig", json!([])));
    only(&d, "InputDataConfig", "min_entries", Severity::Error);
}

#[test]
fn unknown_members_are_warnings() {
    let d = aws(&with(base(), "ResourceConfig.FutureKnob", json!(true)));
    let m = only(
        &d,
        "ResourceConfig.FutureKnob",
        "unknown_member",
        Severity::Warning,
    );
    assert!(m.contains("botocore 1.44.5"), "{m}");
}

#[test]
fn rule_training_image_xor_algorithm_name() {
    let v = with(
        base(),
        "AlgorithmSpecification.AlgorithmName",
        json!("my-algo"),
    );
    only(
        &aws(&v),
        "AlgorithmSpecification.AlgorithmName",
        "algorithm_source",
        Severity::Error,
    );
    let v = without(base(), "AlgorithmSpecification.TrainingImage");
    only(
        &aws(&v),
        "AlgorithmSpecification.TrainingImage",
        "algorithm_source",
        Severity::Error,
    );
}

#[test]
fn rule_spot_training() {
    let spot = with(base(), "EnableManagedSpotTraining", json!(true));
    let d = aws(&spot);
    only(
        &d,
        "StoppingCondition.MaxWaitTimeInSeconds",
        "spot_max_wait",
        Severity::Error,
    );
    only(&d, "CheckpointConfig", "spot_checkpoint", Severity::Warning);
    let v = with(
        spot.clone(),
        "StoppingCondition.MaxWaitTimeInSeconds",
        json!(1800),
    );
    let m = only(
        &aws(&v),
        "StoppingCondition.MaxWaitTimeInSeconds",
        "spot_max_wait",
        Severity::Error,
    );
    assert!(m.contains("(1800)") && m.contains("(3600)"), "{m}");
    let v = with(v, "StoppingCondition.MaxWaitTimeInSeconds", json!(7200));
    let v = with(v, "CheckpointConfig", json!({"S3Uri": "s3://bucket/ckpt"}));
    assert_eq!(aws(&v), []);
    let v = with(
        base(),
        "StoppingCondition.MaxWaitTimeInSeconds",
        json!(7200),
    );
    only(
        &aws(&v),
        "StoppingCondition.MaxWaitTimeInSeconds",
        "spot_max_wait",
        Severity::Error,
    );
}

#[test]
fn rule_unique_channel_names() {
    let channel = base()["InputDataConfig"][0].clone();
    let v = with(base(), "InputDataConfig", json!([channel.clone(), channel]));
    only(
        &aws(&v),
        "InputDataConfig[1].ChannelName",
        "duplicate_channel",
        Severity::Error,
    );
}

#[test]
fn rule_metric_regexes_compile_and_capture() {
    let v = with(
        base(),
        "AlgorithmSpecification.MetricDefinitions",
        json!([
            {"Name": "a", "Regex": "loss=("},
            {"Name": "b", "Regex": "loss=[0-9]+"},
            {"Name": "b", "Regex": "acc=([0-9]+)"}
        ]),
    );
    let d = aws(&v);
    let m = only(
        &d,
        "AlgorithmSpecification.MetricDefinitions[0].Regex",
        "metric_regex",
        Severity::Error,
    );
    assert!(m.contains("does not compile"), "{m}");
    let m = only(
        &d,
        "AlgorithmSpecification.MetricDefinitions[1].Regex",
        "metric_regex",
        Severity::Error,
    );
    assert!(m.contains("capture group"), "{m}");
    only(
        &d,
        "AlgorithmSpecification.MetricDefinitions[2].Name",
        "duplicate_metric",
        Severity::Warning,
    );
}

#[test]
fn rule_sharding_with_one_instance() {
    let path = "InputDataConfig.0.DataSource.S3DataSource.S3DataDistributionType";
    let v = with(base(), path, json!("ShardedByS3Key"));
    only(
        &aws(&v),
        "InputDataConfig[0].DataSource.S3DataSource.S3DataDistributionType",
        "sharding_single_instance",
        Severity::Warning,
    );
    assert_eq!(aws(&with(v, "ResourceConfig.InstanceCount", json!(2))), []);
}

#[test]
fn rule_vpc_needs_groups_and_subnets() {
    let v = with(
        base(),
        "VpcConfig",
        json!({"SecurityGroupIds": ["sg-0123456789abcdef0"]}),
    );
    let d = aws(&v);
    only(&d, "VpcConfig.Subnets", "vpc_incomplete", Severity::Error);
    let v = with(v, "VpcConfig.Subnets", json!(["subnet-0123456789abcdef0"]));
    assert_eq!(aws(&v), []);
}

#[test]
fn rule_classic_members_unless_serverless() {
    let v = without(without(base(), "ResourceConfig"), "StoppingCondition");
    let d = aws(&v);
    only(&d, "ResourceConfig", "required", Severity::Error);
    only(&d, "StoppingCondition", "required", Severity::Error);
    let v = without(without(v, "AlgorithmSpecification"), "InputDataConfig");
    let v = with(
        v,
        "ServerlessJobConfig",
        json!({
            "BaseModelArn": "arn:aws:sagemaker:us-east-1:aws:hub-content/SageMakerPublicHub/Model/llama/1.0.0",
            "JobType": "FineTuning"
        }),
    );
    assert_eq!(aws(&v), []);
}

#[test]
fn rule_instance_type_or_groups() {
    let v = without(base(), "ResourceConfig.InstanceType");
    only(
        &aws(&v),
        "ResourceConfig.InstanceType",
        "required",
        Severity::Error,
    );
    let v = with(
        base(),
        "ResourceConfig.InstanceGroups",
        json!([
            {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "InstanceGroupName": "g"}
        ]),
    );
    only(
        &aws(&v),
        "ResourceConfig.InstanceGroups",
        "instance_type_or_groups",
        Severity::Error,
    );
}

fn local_base(dir: &Path) -> Value {
    let code = dir.join("code");
    std::fs::create_dir_all(&code).unwrap();
    std::fs::write(code.join("train.py"), "print(1)\n").unwrap();
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let v = with(
        base(),
        "HyperParameters.sagemaker_program",
        json!("train.py"),
    );
    let v = with(
        v,
        "HyperParameters.sagemaker_submit_directory",
        json!(format!("file://{}", code.display())),
    );
    let v = with(
        v,
        "InputDataConfig.0.DataSource.S3DataSource.S3Uri",
        json!(format!("file://{}", data.display())),
    );
    with(
        v,
        "OutputDataConfig.S3OutputPath",
        json!(format!("file://{}", dir.join("out").display())),
    )
}

#[test]
fn local_target_checks_what_this_machine_can_run() {
    let dir = tempfile::tempdir().unwrap();
    let v = local_base(dir.path());
    assert_eq!(check(&v, Target::Local), []);

    // A bad name is one error, local mode's, not also the model's warning.
    let v2 = with(v.clone(), "TrainingJobName", json!("my_job"));
    let d = check(&v2, Target::Local);
    only(&d, "TrainingJobName", "local_name", Severity::Error);

    let v2 = with(
        v.clone(),
        "HyperParameters.sagemaker_program",
        json!("missing.py"),
    );
    let d = check(&v2, Target::Local);
    let m = only(
        &d,
        "HyperParameters.sagemaker_program",
        "local_program",
        Severity::Error,
    );
    assert!(m.contains("missing.py"), "{m}");

    let v2 = with(
        v.clone(),
        "InputDataConfig.0.DataSource.S3DataSource.S3Uri",
        json!("file:///no/such/dir"),
    );
    let d = check(&v2, Target::Local);
    only(
        &d,
        "InputDataConfig[0].DataSource.S3DataSource.S3Uri",
        "local_missing",
        Severity::Error,
    );

    let v2 = with(
        v.clone(),
        "OutputDataConfig.S3OutputPath",
        json!(format!("file://{}/code/train.py/out", dir.path().display())),
    );
    let d = check(&v2, Target::Local);
    only(
        &d,
        "OutputDataConfig.S3OutputPath",
        "local_output",
        Severity::Error,
    );

    // Pipe mode runs; an augmented manifest needs it.
    let v2 = with(
        v.clone(),
        "AlgorithmSpecification.TrainingInputMode",
        json!("Pipe"),
    );
    assert_eq!(check(&v2, Target::Local), []);
    let v2 = with(
        v.clone(),
        "InputDataConfig.0.DataSource.S3DataSource.S3DataType",
        json!("AugmentedManifestFile"),
    );
    let d = check(&v2, Target::Local);
    let m = has(
        &d,
        "InputDataConfig[0].DataSource.S3DataSource.S3DataType",
        "local_channel",
    );
    assert!(m.contains("Pipe"), "{m}");
    // A distribution local mode does not launch is refused, naming it.
    let v2 = with(
        v.clone(),
        "HyperParameters.sagemaker_pytorch_xla_multi_worker_enabled",
        json!("true"),
    );
    let d = check(&v2, Target::Local);
    only(
        &d,
        "HyperParameters.sagemaker_pytorch_xla_multi_worker_enabled",
        "local_unsupported",
        Severity::Error,
    );

    let v2 = with(
        v.clone(),
        "VpcConfig",
        json!({"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]}),
    );
    let d = check(&v2, Target::Local);
    only(&d, "VpcConfig", "local_ignored", Severity::Warning);

    // What only the service refuses is a warning locally.
    let v2 = with(
        v.clone(),
        "RoleArn",
        json!("arn:aws:iam::123456789012:user/Someone"),
    );
    let d = check(&v2, Target::Local);
    let m = has(&d, "RoleArn", "pattern");
    assert!(d.iter().all(|x| x.severity == Severity::Warning), "{d:#?}");
    assert!(m.ends_with("(the service would refuse this)"), "{m}");
    // ...and for AWS the file:// locations are errors.
    assert!(
        aws(&v)
            .iter()
            .any(|d| d.code == "pattern" && d.path.ends_with("S3Uri"))
    );

    let v2 = without(v, "HyperParameters.sagemaker_program");
    let d = check(&v2, Target::Local);
    let m = only(
        &d,
        "HyperParameters.sagemaker_program",
        "local_script_mode",
        Severity::Error,
    );
    assert!(m.contains("script-mode"), "{m}");
}

/// Resolves `A.B[1].C["k"]` in `value`.
fn resolve<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    let mut current = value;
    let mut rest = path;
    while !rest.is_empty() {
        rest = rest.strip_prefix('.').unwrap_or(rest);
        if let Some(inner) = rest.strip_prefix('[') {
            if inner.starts_with('"') {
                let mut de = serde_json::Deserializer::from_str(inner).into_iter::<String>();
                let key = de.next()?.ok()?;
                let used = de.byte_offset();
                current = current.get(&key)?;
                rest = inner[used..].strip_prefix(']')?;
            } else {
                let end = inner.find(']')?;
                current = current.get(inner[..end].parse::<usize>().ok()?)?;
                rest = &inner[end + 1..];
            }
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            current = current.get(&rest[..end])?;
            rest = &rest[end..];
        }
    }
    Some(current)
}

/// Codes whose member is missing by nature.
const ABSENT: &[&str] = &[
    "required",
    "algorithm_source",
    "spot_max_wait",
    "spot_checkpoint",
    "vpc_incomplete",
    "local_script_mode",
    "local_name",
];

fn member_names() -> Vec<String> {
    let table: Value =
        serde_json::from_str(include_str!("../src/request/constraints.json")).unwrap();
    let mut names: Vec<String> = table["shapes"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(|s| s.get("members"))
        .flat_map(|m| m.as_object().unwrap().keys().cloned())
        .collect();
    names.sort();
    names.dedup();
    names
}

fn arb_json() -> impl Strategy<Value = Value> {
    let names = member_names();
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,20}".prop_map(Value::String),
        Just(json!("s3://bucket/key")),
        Just(json!("ml.m5.xlarge")),
        Just(json!("File")),
    ];
    leaf.prop_recursive(5, 64, 8, move |inner| {
        let key = prop_oneof![
            proptest::sample::select(names.clone()),
            "[a-z_]{1,8}".prop_map(String::from),
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key, inner), 0..8)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

fn check_paths(value: &Value, diags: &[Diagnostic]) -> Result<(), TestCaseError> {
    for d in diags {
        if ABSENT.contains(&d.code) {
            continue;
        }
        prop_assert!(
            resolve(value, &d.path).is_some(),
            "{} ({}) not in {}",
            d.path,
            d.code,
            value
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn random_json_never_panics_and_paths_exist(value in arb_json()) {
        for target in [Target::Aws, Target::Local] {
            let diags = check(&value, target);
            check_paths(&value, &diags)?;
        }
    }

    #[test]
    fn random_specs_never_panic_and_paths_exist(
        members in prop::collection::vec((proptest::sample::select(member_names()), arb_json()), 0..12),
        name in "[a-zA-Z0-9_-]{0,70}",
    ) {
        let mut value = base();
        for (member, v) in members {
            value[member] = v;
        }
        value["TrainingJobName"] = json!(name);
        let diags = check(&value, Target::Aws);
        check_paths(&value, &diags)?;
        // Spec import of the same value never panics either.
        let _ = sagedesk::request::request_from_value(value, "random");
    }
}
