//! Which checks a request needs, each with the values it looks at (its cache key).

use super::{Check, Context, image, quota, role, storage, vpc};
use crate::request::{SUBMIT_DIRECTORY, TrainingJobRequest};

/// One check to make, with the values it looks at.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// The role exists and trusts SageMaker.
    Role {
        /// `RoleArn`.
        arn: String,
    },
    /// The role may read the inputs, write the outputs, log and pull the image.
    Permissions {
        /// `RoleArn`.
        arn: String,
        /// `s3://` locations read.
        reads: Vec<String>,
        /// `s3://` locations written.
        writes: Vec<String>,
    },
    /// An input channel's bucket and objects.
    Input {
        /// Member path of its `S3Uri`.
        path: String,
        /// `S3Uri`.
        uri: String,
        /// `S3DataType`.
        data_type: String,
        /// Whether it is sharded by key.
        sharded: bool,
        /// Instances sharing it.
        instances: i64,
    },
    /// An output location's bucket.
    Bucket {
        /// Member path.
        path: String,
        /// `s3://` URI.
        uri: String,
    },
    /// An object that must exist.
    Object {
        /// Member path.
        path: String,
        /// `s3://` URI.
        uri: String,
    },
    /// The training image.
    Image {
        /// `TrainingImage`.
        image: String,
    },
    /// The subnets and security groups.
    Vpc {
        /// `Subnets`.
        subnets: Vec<String>,
        /// `SecurityGroupIds`.
        groups: Vec<String>,
    },
    /// The instance quota.
    Quota {
        /// Member path.
        path: String,
        /// `ml.*` type.
        instance_type: String,
        /// Instances asked for.
        count: i64,
    },
    /// The job name is free.
    JobName {
        /// `TrainingJobName`.
        name: String,
    },
}

impl Plan {
    /// The values the check looks at, as its cache key.
    pub fn key(&self) -> String {
        format!("{self:?}")
    }

    /// Makes the check.
    pub async fn run(&self, context: &Context) -> Vec<Check> {
        match self {
            Plan::Role { arn } => role::role(context, arn).await,
            Plan::Permissions { arn, reads, writes } => {
                role::permissions(context, arn, reads, writes).await
            }
            Plan::Input {
                path,
                uri,
                data_type,
                sharded,
                instances,
            } => storage::input(context, path, uri, data_type, *sharded, *instances).await,
            Plan::Bucket { path, uri } => storage::bucket(context, path, uri).await,
            Plan::Object { path, uri } => storage::object(context, path, uri).await,
            Plan::Image { image } => image::image(context, image).await,
            Plan::Vpc { subnets, groups } => vpc::vpc(context, subnets, groups).await,
            Plan::Quota {
                path,
                instance_type,
                count,
            } => quota::quota(context, path, instance_type, *count).await,
            Plan::JobName { name } => quota::job_name(context, name).await,
        }
    }
}

/// The checks `request` needs (members not set are the validator's business).
pub fn plans(request: &TrainingJobRequest) -> Vec<Plan> {
    let mut plans = Vec::new();
    if let Some(name) = request.training_job_name.clone().filter(|n| !n.is_empty()) {
        plans.push(Plan::JobName { name });
    }
    let mut reads = Vec::new();
    let mut writes = Vec::new();
    let instances: Vec<(String, i64)> = request
        .resource_config
        .as_ref()
        .map(
            |r| match r.instance_groups.as_ref().filter(|g| !g.is_empty()) {
                Some(groups) => groups
                    .iter()
                    .filter_map(|g| Some((g.instance_type.clone()?, g.instance_count.unwrap_or(1))))
                    .collect(),
                None => r
                    .instance_type
                    .clone()
                    .map(|t| vec![(t, r.instance_count.unwrap_or(1))])
                    .unwrap_or_default(),
            },
        )
        .unwrap_or_default();
    let instance_total: i64 = instances.iter().map(|(_, n)| n).sum();
    for (i, channel) in request.input_data_config.iter().flatten().enumerate() {
        let Some(s3) = channel
            .data_source
            .as_ref()
            .and_then(|d| d.s3_data_source.as_ref())
        else {
            continue;
        };
        let Some(uri) = s3.s3_uri.clone().filter(|u| u.starts_with("s3://")) else {
            continue;
        };
        reads.push(uri.clone());
        plans.push(Plan::Input {
            path: format!("InputDataConfig[{i}].DataSource.S3DataSource.S3Uri"),
            uri,
            data_type: s3.s3_data_type.clone().unwrap_or_else(|| "S3Prefix".into()),
            sharded: s3.s3_data_distribution_type.as_deref() == Some("ShardedByS3Key"),
            instances: instance_total.max(1),
        });
    }
    let outputs = [
        (
            "OutputDataConfig.S3OutputPath",
            request
                .output_data_config
                .as_ref()
                .and_then(|o| o.s3_output_path.clone()),
        ),
        (
            "CheckpointConfig.S3Uri",
            request
                .checkpoint_config
                .as_ref()
                .and_then(|c| c.s3_uri.clone()),
        ),
    ];
    for (path, uri) in outputs {
        if let Some(uri) = uri.filter(|u| u.starts_with("s3://")) {
            writes.push(uri.clone());
            plans.push(Plan::Bucket {
                path: path.into(),
                uri,
            });
        }
    }
    if let Some(uri) = request
        .hyper_parameters
        .as_ref()
        .and_then(|h| h.get(SUBMIT_DIRECTORY))
        .map(|v| serde_json::from_str::<String>(v).unwrap_or_else(|_| v.clone()))
        .filter(|u| u.starts_with("s3://"))
    {
        reads.push(uri.clone());
        plans.push(Plan::Object {
            path: format!("HyperParameters.{SUBMIT_DIRECTORY}"),
            uri,
        });
    }
    if let Some(arn) = request.role_arn.clone().filter(|a| !a.is_empty()) {
        plans.push(Plan::Role { arn: arn.clone() });
        plans.push(Plan::Permissions { arn, reads, writes });
    }
    if let Some(image) = request
        .algorithm_specification
        .as_ref()
        .and_then(|a| a.training_image.clone())
        .filter(|i| !i.is_empty())
    {
        plans.push(Plan::Image { image });
    }
    if let Some(vpc) = &request.vpc_config {
        let subnets = vpc.subnets.clone().unwrap_or_default();
        let groups = vpc.security_group_ids.clone().unwrap_or_default();
        if !subnets.is_empty() || !groups.is_empty() {
            plans.push(Plan::Vpc { subnets, groups });
        }
    }
    let mut by_type: Vec<(String, i64)> = Vec::new();
    for (t, n) in instances {
        match by_type.iter_mut().find(|(x, _)| *x == t) {
            Some((_, total)) => *total += n,
            None => by_type.push((t, n)),
        }
    }
    for (instance_type, count) in by_type {
        plans.push(Plan::Quota {
            path: "ResourceConfig.InstanceType".into(),
            instance_type,
            count,
        });
    }
    plans
}
