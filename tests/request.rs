//! The request model: imports keep every member, Describe responses become requests,
//! and bad files get the line, column or member path.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use sagedesk::request::{
    OUTPUT_ONLY_MEMBERS, RequestError, parse_request, read_request_file, to_cli_input_json,
};
use serde_json::Value;

fn fixture(name: &str) -> (String, Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let text = std::fs::read_to_string(path).unwrap();
    let value = serde_json::from_str(&text).unwrap();
    (text, value)
}

#[test]
fn import_then_export_gives_the_same_json_value() {
    for name in [
        "full-request.json",
        "pytorch-sdk.json",
        "xgboost-builtin.json",
        "future-members.json",
    ] {
        let (text, original) = fixture(name);
        let imported = parse_request(&text, name).unwrap();
        assert!(
            imported.notices.is_empty(),
            "{name}: {:?}",
            imported.notices
        );
        let exported: Value = serde_json::from_str(&to_cli_input_json(&imported.request)).unwrap();
        assert_eq!(exported, original, "{name}");
        // And again: export is stable.
        let again = parse_request(&to_cli_input_json(&imported.request), name).unwrap();
        assert_eq!(again.request, imported.request, "{name}");
    }
}

#[test]
fn known_members_land_in_typed_fields_and_unknown_ones_are_kept() {
    let (text, _) = fixture("future-members.json");
    let request = parse_request(&text, "f").unwrap().request;
    let resources = request.resource_config.as_ref().unwrap();
    assert_eq!(resources.instance_count, Some(4));
    assert!(resources.extra.contains_key("InstancePlacementConfig"));
    assert!(request.extra.contains_key("ServerlessJobConfig"));
    assert!(request.extra.contains_key("MlflowConfig"));
    let channel = &request.channels()[0];
    let source = channel.data_source.as_ref().unwrap();
    assert!(source.extra.contains_key("DatasetSource"));
    assert_eq!(
        source.s3_data_source.as_ref().unwrap().extra["FutureS3Option"],
        "x"
    );

    let (text, _) = fixture("full-request.json");
    let request = parse_request(&text, "f").unwrap().request;
    assert!(request.extra.is_empty(), "{:?}", request.extra.keys());
    assert_eq!(
        request.metric_definitions()[0].name.as_deref(),
        Some("validation:rmse")
    );
    assert_eq!(
        request.resource_config.unwrap().volume_size_in_gb,
        Some(100)
    );
}

#[test]
fn a_describe_response_becomes_its_request() {
    let (text, original) = fixture("describe-response.json");
    let imported = parse_request(&text, "describe.json").unwrap();
    assert_eq!(imported.notices.len(), 1);
    let notice = &imported.notices[0];
    assert!(notice.contains("DescribeTrainingJob"), "{notice}");
    for member in [
        "TrainingJobArn",
        "FinalMetricDataList",
        "ResponseMetadata",
        "ProfilingStatus",
    ] {
        assert!(notice.contains(member), "{notice}");
    }
    let exported: Value = serde_json::from_str(&to_cli_input_json(&imported.request)).unwrap();
    let mut expected = original.as_object().unwrap().clone();
    for member in OUTPUT_ONLY_MEMBERS {
        expected.shift_remove(*member);
    }
    assert_eq!(exported, Value::Object(expected));
    assert!(exported.get("TrainingJobStatus").is_none());
    assert_eq!(exported["TrainingJobName"], "xgboost-churn-001");
}

#[test]
fn malformed_json_reports_line_and_column() {
    let err = parse_request(
        "{\n  \"TrainingJobName\": \"a\",\n  \"RoleArn\": ]\n}",
        "job.json",
    )
    .unwrap_err();
    match &err {
        RequestError::Syntax { line, column, .. } => assert_eq!((*line, *column), (3, 14)),
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string().starts_with("job.json:3:14: malformed JSON"),
        "{err}"
    );
}

#[test]
fn wrong_types_report_the_member_path_and_expected_type() {
    let text = r#"{"TrainingJobName": "a", "InputDataConfig": [
        {"ChannelName": "ok"},
        {"ChannelName": "bad", "DataSource": {"S3DataSource": {"S3Uri": 5}}}
    ]}"#;
    let err = parse_request(text, "job.json").unwrap_err();
    match &err {
        RequestError::Type { path, message, .. } => {
            assert_eq!(path, "InputDataConfig[1].DataSource.S3DataSource.S3Uri");
            assert!(message.contains("expected a string"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let err = parse_request(r#"{"HyperParameters": {"epochs": 10}}"#, "j").unwrap_err();
    assert!(err.to_string().contains("HyperParameters.epochs"), "{err}");
    let err = parse_request("[1, 2]", "j").unwrap_err();
    assert!(
        err.to_string()
            .contains("must be a JSON object, found an array"),
        "{err}"
    );
}

#[test]
fn relative_file_uris_resolve_against_the_file_folder() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("job.json");
    std::fs::write(
        &path,
        r#"{"TrainingJobName": "rel",
            "HyperParameters": {"sagemaker_submit_directory": "\"file://./src\""},
            "InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {"S3Uri": "file://data/train"}}}],
            "OutputDataConfig": {"S3OutputPath": "file:///abs/out"}}"#,
    )
    .unwrap();
    let request = read_request_file(&path).unwrap().request;
    let base = std::fs::canonicalize(dir.path()).unwrap();
    assert_eq!(
        request.hyper_parameters.unwrap()["sagemaker_submit_directory"],
        format!("\"file://{}\"", base.join("src").display())
    );
    let uri = request.input_data_config.unwrap()[0]
        .data_source
        .clone()
        .unwrap()
        .s3_data_source
        .unwrap()
        .s3_uri
        .unwrap();
    assert_eq!(uri, format!("file://{}", base.join("data/train").display()));
    assert_eq!(
        request.output_data_config.unwrap().s3_output_path.unwrap(),
        "file:///abs/out"
    );
}

/// What `sh` makes of a quoted word: the test runs a real shell.
fn through_sh(word: &str) -> String {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("printf '%s' {word}"))
        .output()
        .expect("sh runs");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn shell_quoting_survives_a_real_shell() {
    for text in [
        "plain",
        "with spaces  and\ttabs",
        "it's \"quoted\"",
        "line one\nline two\n",
        "$HOME `id` $(id) ; rm -rf / | & > <",
        "'",
        "''",
        "",
        "\\back\\slash",
    ] {
        assert_eq!(
            through_sh(&sagedesk::request::shell_quote(text)),
            text,
            "{text:?}"
        );
    }
}

#[test]
fn the_aws_cli_command_carries_the_request_unchanged() {
    let (text, original) = fixture("pytorch-sdk.json");
    let mut request = parse_request(&text, "p").unwrap().request;
    request
        .environment
        .get_or_insert_with(Default::default)
        .insert("GREETING".into(), "it's a \"test\"\nsecond line".into());
    let command = sagedesk::request::aws_cli_command(&request);
    let prefix = "aws sagemaker create-training-job --cli-input-json ";
    assert!(command.starts_with(prefix), "{command}");
    let json: Value = serde_json::from_str(&through_sh(&command[prefix.len()..])).unwrap();
    let mut expected = original;
    expected["Environment"]["GREETING"] = Value::String("it's a \"test\"\nsecond line".into());
    assert_eq!(json, expected);
}
