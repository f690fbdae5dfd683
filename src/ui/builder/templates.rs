//! The builder's built-in templates.

use serde_json::{Value, json};

/// A PyTorch script-mode job on AWS, as the SageMaker Python SDK would send it.
pub fn pytorch() -> Value {
    json!({
        "TrainingJobName": "pytorch-training",
        "RoleArn": "arn:aws:iam::123456789012:role/SageMakerExecutionRole",
        "AlgorithmSpecification": {
            "TrainingImage": "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.3.0-gpu-py311",
            "TrainingInputMode": "File",
            "MetricDefinitions": [
                {"Name": "train:loss", "Regex": "train_loss=([0-9\\.]+)"},
                {"Name": "validation:accuracy", "Regex": "val_acc=([0-9\\.]+)"}
            ]
        },
        "HyperParameters": {
            "sagemaker_program": "\"train.py\"",
            "sagemaker_submit_directory": "\"s3://my-bucket/code/sourcedir.tar.gz\"",
            "epochs": "10",
            "lr": "0.001"
        },
        "InputDataConfig": [{
            "ChannelName": "train",
            "DataSource": {"S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": "s3://my-bucket/data/train",
                "S3DataDistributionType": "FullyReplicated"
            }}
        }],
        "OutputDataConfig": {"S3OutputPath": "s3://my-bucket/output"},
        "ResourceConfig": {"InstanceType": "ml.g5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400}
    })
}

/// The built-in XGBoost algorithm on CSV data.
pub fn xgboost() -> Value {
    json!({
        "TrainingJobName": "xgboost-training",
        "RoleArn": "arn:aws:iam::123456789012:role/SageMakerExecutionRole",
        "AlgorithmSpecification": {
            "TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
            "TrainingInputMode": "File"
        },
        "HyperParameters": {
            "objective": "binary:logistic",
            "num_round": "100",
            "max_depth": "5",
            "eta": "0.2",
            "eval_metric": "auc"
        },
        "InputDataConfig": [
            {"ChannelName": "train", "ContentType": "text/csv", "DataSource": {"S3DataSource": {
                "S3DataType": "S3Prefix", "S3Uri": "s3://my-bucket/xgboost/train",
                "S3DataDistributionType": "FullyReplicated"}}},
            {"ChannelName": "validation", "ContentType": "text/csv", "DataSource": {"S3DataSource": {
                "S3DataType": "S3Prefix", "S3Uri": "s3://my-bucket/xgboost/validation",
                "S3DataDistributionType": "FullyReplicated"}}}
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://my-bucket/xgboost/output"},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600}
    })
}
