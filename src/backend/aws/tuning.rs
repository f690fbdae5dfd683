//! SageMaker's tuning-job calls: create, list, describe, list a tuning job's training jobs,
//! and stop. As for training jobs, the request goes as its own JSON and answers are kept
//! as the service's JSON, so every member reaches the service and the user.

use aws_sdk_sagemaker::Client;
use aws_smithy_types::body::SdkBody;
use serde_json::Value;

use super::training::ResponseBody;
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
    let body = serde_json::to_vec(&request.to_value())
        .map_err(|e| BackendError::validation(e.to_string()))?;
    let output = client
        .create_hyper_parameter_tuning_job()
        .hyper_parameter_tuning_job_name(request.name())
        .customize()
        .mutate_request(move |http| {
            let length = body.len().to_string();
            *http.body_mut() = SdkBody::from(body.clone());
            http.headers_mut().insert("content-length", length);
        })
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
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    let mut pager = Pager::new("ListHyperParameterTuningJobs");
    loop {
        let body = ResponseBody::default();
        client
            .list_hyper_parameter_tuning_jobs()
            .sort_by(aws_sdk_sagemaker::types::HyperParameterTuningJobSortByOptions::CreationTime)
            .sort_order(aws_sdk_sagemaker::types::SortOrder::Descending)
            .max_results(PAGE_SIZE)
            .set_next_token(token.take())
            .customize()
            .interceptor(body.clone())
            .send()
            .await
            .map_err(from_sdk)?;
        let page = json(&body, "ListHyperParameterTuningJobs")?;
        out.extend(entries(&page, "HyperParameterTuningJobSummaries"));
        match pager.next(page["NextToken"].as_str())? {
            Some(next) => token = Some(next),
            None => return Ok(out),
        }
    }
}

/// `ListTrainingJobsForHyperParameterTuningJob`, every page: the service's summaries.
pub async fn trials(client: &Client, name: &str) -> Result<Vec<Value>, BackendError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    let mut pager = Pager::new("ListTrainingJobsForHyperParameterTuningJob");
    loop {
        let body = ResponseBody::default();
        client
            .list_training_jobs_for_hyper_parameter_tuning_job()
            .hyper_parameter_tuning_job_name(name)
            .max_results(PAGE_SIZE)
            .set_next_token(token.take())
            .customize()
            .interceptor(body.clone())
            .send()
            .await
            .map_err(from_sdk)?;
        let page = json(&body, "ListTrainingJobsForHyperParameterTuningJob")?;
        out.extend(entries(&page, "TrainingJobSummaries"));
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

fn entries(page: &Value, member: &str) -> Vec<Value> {
    page[member].as_array().cloned().unwrap_or_default()
}
