//! SageMaker's tuning-job calls: create, list, describe, list a tuning job's training jobs,
//! and stop. As for training jobs, the request goes as its own JSON and answers are kept
//! as the service's JSON, so every member reaches the service and the user.

use aws_sdk_sagemaker::Client;
use serde_json::Value;

use super::training::{ResponseBody, json_body};
use crate::backend::BackendError;
use crate::backend::paging::Pager;
use crate::backend::sdk::from_sdk;
use crate::request::tuning::TuningJobRequest;

/// The most entries one list page returns.
const PAGE_SIZE: i32 = 100;

fn json(body: &ResponseBody, operation: &str) -> Result<Value, BackendError> {
    serde_json::from_slice(&body.take(operation)?)
        .map_err(|e| BackendError::internal(format!("{operation}: {e}")))
}

/// `CreateHyperParameterTuningJob` with the request's JSON as the body; its ARN.
pub async fn create(client: &Client, request: &TuningJobRequest) -> Result<String, BackendError> {
    let output = client
        .create_hyper_parameter_tuning_job()
        .hyper_parameter_tuning_job_name(request.name())
        .customize()
        .mutate_request(json_body(&request.to_value())?)
        .send()
        .await
        .map_err(from_sdk)?;
    Ok(output
        .hyper_parameter_tuning_job_arn()
        .unwrap_or_default()
        .to_string())
}

/// `DescribeHyperParameterTuningJob`, as the service's JSON.
pub async fn describe(client: &Client, name: &str) -> Result<Value, BackendError> {
    let body = ResponseBody::default();
    client
        .describe_hyper_parameter_tuning_job()
        .hyper_parameter_tuning_job_name(name)
        .customize()
        .interceptor(body.clone())
        .send()
        .await
        .map_err(from_sdk)?;
    json(&body, "DescribeHyperParameterTuningJob")
}

/// `ListHyperParameterTuningJobs`, newest first, every page: the service's summaries.
pub async fn list(client: &Client) -> Result<Vec<Value>, BackendError> {
    let operation = "ListHyperParameterTuningJobs";
    every_page(
        operation,
        "HyperParameterTuningJobSummaries",
        |token, body| async move {
            client
                .list_hyper_parameter_tuning_jobs()
                .sort_by(
                    aws_sdk_sagemaker::types::HyperParameterTuningJobSortByOptions::CreationTime,
                )
                .sort_order(aws_sdk_sagemaker::types::SortOrder::Descending)
                .max_results(PAGE_SIZE)
                .set_next_token(token)
                .customize()
                .interceptor(body)
                .send()
                .await
                .map(drop)
                .map_err(from_sdk)
        },
    )
    .await
}

/// `ListTrainingJobsForHyperParameterTuningJob`, every page: the service's summaries.
pub async fn trials(client: &Client, name: &str) -> Result<Vec<Value>, BackendError> {
    let operation = "ListTrainingJobsForHyperParameterTuningJob";
    every_page(
        operation,
        "TrainingJobSummaries",
        |token, body| async move {
            client
                .list_training_jobs_for_hyper_parameter_tuning_job()
                .hyper_parameter_tuning_job_name(name)
                .max_results(PAGE_SIZE)
                .set_next_token(token)
                .customize()
                .interceptor(body)
                .send()
                .await
                .map(drop)
                .map_err(from_sdk)
        },
    )
    .await
}

/// The entries of `member` on every page of `operation`: `call` sends one page's call
/// with the token and the interceptor that keeps its body.
async fn every_page<F, Fut>(
    operation: &str,
    member: &str,
    mut call: F,
) -> Result<Vec<Value>, BackendError>
where
    F: FnMut(Option<String>, ResponseBody) -> Fut,
    Fut: std::future::Future<Output = Result<(), BackendError>>,
{
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    let mut pager = Pager::new(operation);
    loop {
        let body = ResponseBody::default();
        call(token.take(), body.clone()).await?;
        let page = json(&body, operation)?;
        out.extend(page[member].as_array().cloned().unwrap_or_default());
        match pager.next(page["NextToken"].as_str())? {
            Some(next) => token = Some(next),
            None => return Ok(out),
        }
    }
}

/// `StopHyperParameterTuningJob`.
pub async fn stop(client: &Client, name: &str) -> Result<(), BackendError> {
    client
        .stop_hyper_parameter_tuning_job()
        .hyper_parameter_tuning_job_name(name)
        .send()
        .await
        .map_err(from_sdk)?;
    Ok(())
}
