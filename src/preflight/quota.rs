//! The account: the job name is not used yet (`sagemaker:DescribeTrainingJob`), and the
//! training quota of each instance type covers the instances running jobs hold plus this
//! job's (`servicequotas:ListServiceQuotas`, `sagemaker:ListTrainingJobs`).

use serde_json::json;

use super::{Check, Context};
use crate::backend::sdk::from_sdk;
use crate::backend::sdk::lean::Service;

/// In-progress jobs described to count the instances they hold.
const RUNNING_DESCRIBED: usize = 50;

/// `DescribeTrainingJob` of `name`.
async fn describe(
    context: &Context,
    name: &str,
) -> Result<
    aws_sdk_sagemaker::operation::describe_training_job::DescribeTrainingJobOutput,
    crate::backend::BackendError,
> {
    context
        .clients
        .sagemaker
        .describe_training_job()
        .training_job_name(name)
        .send()
        .await
        .map_err(from_sdk)
}

/// The job name is not used by a job of the account.
pub async fn job_name(context: &Context, name: &str) -> Vec<Check> {
    const PATH: &str = "TrainingJobName";
    const CALL: &str = "sagemaker:DescribeTrainingJob";
    vec![match describe(context, name).await {
        Ok(job) => Check::error(
            PATH,
            CALL,
            "job_name_in_use",
            format!(
                "the account already has a job named {name} ({}): names are unique per account \
                 and region, for good; pick another",
                job.training_job_status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default()
            ),
        ),
        Err(e)
            if e.code.contains("NotFound")
                || e.message.contains("not found")
                || e.message.contains("Could not find") =>
        {
            Check::passed(PATH, CALL, format!("{name} is free"))
        }
        Err(e) => Check::not_verified(PATH, CALL, &e),
    }]
}

/// The account's training quota for `instance_type`, from Service Quotas.
async fn quota_value(context: &Context, instance_type: &str) -> Result<Option<f64>, Check> {
    const CALL: &str = "servicequotas:ListServiceQuotas";
    let wanted = format!("{instance_type} for training job usage");
    let mut token: Option<String> = None;
    for _ in 0..50 {
        let mut input = json!({"ServiceCode": "sagemaker", "MaxResults": 100});
        if let Some(t) = token.take() {
            input["NextToken"] = json!(t);
        }
        let page = context
            .clients
            .lean
            .json(Service::ServiceQuotas, "ListServiceQuotas", &input)
            .await
            .map_err(|e| Check::not_verified("ResourceConfig.InstanceType", CALL, &e))?;
        let Some(quotas) = page["Quotas"].as_array() else {
            return Err(Check::malformed(
                "ResourceConfig.InstanceType",
                CALL,
                "a list of quotas",
            ));
        };
        if let Some(q) = quotas.iter().find(|q| q["QuotaName"] == wanted.as_str()) {
            return match q["Value"].as_f64() {
                Some(value) => Ok(Some(value)),
                None => Err(Check::malformed(
                    "ResourceConfig.InstanceType",
                    CALL,
                    "the quota's value",
                )),
            };
        }
        match page["NextToken"].as_str().filter(|t| !t.is_empty()) {
            Some(next) => token = Some(next.to_string()),
            None => return Ok(None),
        }
    }
    Ok(None)
}

/// Instances of `instance_type` held by the account's in-progress jobs (up to the first
/// fifty jobs), for this connection.
async fn in_use(
    context: &Context,
    instance_type: &str,
) -> Result<i64, crate::backend::BackendError> {
    let running = context
        .clients
        .sagemaker
        .list_training_jobs()
        .status_equals(aws_sdk_sagemaker::types::TrainingJobStatus::InProgress)
        .max_results(100)
        .send()
        .await
        .map_err(from_sdk)?;
    let mut used = 0;
    for summary in running
        .training_job_summaries()
        .iter()
        .take(RUNNING_DESCRIBED)
    {
        let Some(name) = summary.training_job_name() else {
            continue;
        };
        let job = describe(context, name).await?;
        let Some(resources) = job.resource_config() else {
            continue;
        };
        if resources.instance_groups().is_empty() {
            if resources.instance_type().map(|t| t.as_str()) == Some(instance_type) {
                used += i64::from(resources.instance_count().unwrap_or(1));
            }
        } else {
            used += resources
                .instance_groups()
                .iter()
                .filter(|g| g.instance_type().map(|t| t.as_str()) == Some(instance_type))
                .map(|g| i64::from(g.instance_count().unwrap_or(0)))
                .sum::<i64>();
        }
    }
    Ok(used)
}

/// The quota for `instance_type` covers what is in use plus `count`.
pub async fn quota(context: &Context, path: &str, instance_type: &str, count: i64) -> Vec<Check> {
    const CALL: &str = "servicequotas:ListServiceQuotas + sagemaker:ListTrainingJobs";
    let limit = match quota_value(context, instance_type).await {
        Ok(Some(limit)) => limit as i64,
        Ok(None) => {
            return vec![Check::new_not_verified(
                path,
                CALL,
                format!(
                    "not verified: Service Quotas has no training quota named for {instance_type}"
                ),
            )];
        }
        Err(check) => return vec![check],
    };
    let used = match in_use(context, instance_type).await {
        Ok(used) => used,
        Err(e) => return vec![Check::not_verified(path, CALL, &e)],
    };
    if used + count > limit {
        let why = if limit == 0 {
            format!("the account's quota for {instance_type} training is 0")
        } else {
            format!(
                "the account may run {limit} {instance_type} for training; running jobs hold \
                 {used} and this job asks for {count}"
            )
        };
        vec![Check::error(
            path,
            CALL,
            "instance_quota",
            format!(
                "{why}: the job would fail with ResourceLimitExceeded; request an increase of \
                 \"{instance_type} for training job usage\" in Service Quotas, or pick another \
                 type"
            ),
        )]
    } else {
        vec![Check::passed(
            path,
            CALL,
            format!("quota {limit} {instance_type}: {used} in use, this job asks for {count}"),
        )]
    }
}
