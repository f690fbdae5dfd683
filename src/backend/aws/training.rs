//! SageMaker's training-job calls: create, list, describe and stop.
//!
//! SageMaker speaks awsJson1.1, whose request body is the request's JSON with AWS's member
//! names, which is exactly what the spec holds. `CreateTrainingJob` therefore sends the spec's
//! own JSON as the body through the SDK client (which still resolves the endpoint, signs and
//! retries), so every member reaches the service, including ones newer than the SDK's types.
//! `DescribeTrainingJob` keeps the service's JSON the same way, so the detail view shows every
//! member the service returned.

use crate::backend::paging::Pager;
use std::sync::{Arc, Mutex};

use aws_sdk_sagemaker::Client;
use aws_sdk_sagemaker::primitives::DateTime as SdkTime;
use aws_sdk_sagemaker::types::{SortBy, SortOrder, TrainingJobStatus, TrainingJobSummary};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::backend::BackendError;
use crate::backend::sdk::from_sdk;
use crate::job::{
    FinalMetric, JobDetail, JobSummary, ListFilter, SecondaryStatus, Status, StatusTransition,
};
use crate::request::{TrainingJobRequest, request_from_value};

/// The most jobs one `ListTrainingJobs` page returns.
pub const PAGE_SIZE: usize = 100;

/// What replaces a request's body with `value`'s JSON (for `mutate_request`): awsJson1.1's
/// body is the request with AWS's member names, members newer than the SDK's types included.
pub(super) fn json_body(
    value: &Value,
) -> Result<impl Fn(&mut HttpRequest) + Send + Sync + 'static, BackendError> {
    let body = serde_json::to_vec(value).map_err(|e| BackendError::validation(e.to_string()))?;
    Ok(move |http: &mut HttpRequest| {
        let length = body.len().to_string();
        *http.body_mut() = SdkBody::from(body.clone());
        http.headers_mut().insert("content-length", length);
    })
}

/// `CreateTrainingJob` with the request's JSON as the body; returns the job's ARN.
pub async fn create(client: &Client, request: &TrainingJobRequest) -> Result<String, BackendError> {
    let output = client
        .create_training_job()
        .training_job_name(request.name())
        .customize()
        .mutate_request(json_body(&request.to_value())?)
        .send()
        .await
        .map_err(from_sdk)?;
    Ok(output.training_job_arn().unwrap_or_default().to_string())
}

/// `ListTrainingJobs`, newest first, following `NextToken` until `filter.max_results` jobs
/// (all when unset) are read.
pub async fn list(client: &Client, filter: &ListFilter) -> Result<Vec<JobSummary>, BackendError> {
    let mut jobs = Vec::new();
    let mut token: Option<String> = None;
    let mut pager = Pager::new("ListTrainingJobs");
    loop {
        let wanted = filter
            .max_results
            .map_or(PAGE_SIZE, |max| (max - jobs.len()).min(PAGE_SIZE));
        let page = client
            .list_training_jobs()
            .sort_by(SortBy::CreationTime)
            .sort_order(SortOrder::Descending)
            .max_results(wanted as i32)
            .set_status_equals(filter.status.map(|s| TrainingJobStatus::from(s.as_str())))
            .set_name_contains(filter.name_contains.clone())
            .set_creation_time_after(filter.created_after.map(sdk_time))
            .set_creation_time_before(filter.created_before.map(sdk_time))
            .set_next_token(token.take())
            .send()
            .await
            .map_err(from_sdk)?;
        jobs.extend(page.training_job_summaries().iter().map(summary));
        let done = filter.max_results.is_some_and(|max| jobs.len() >= max);
        token = pager.next(page.next_token())?;
        if done || token.is_none() {
            return Ok(jobs);
        }
    }
}

fn summary(s: &TrainingJobSummary) -> JobSummary {
    let creation_time = s.creation_time().map(chrono_time).unwrap_or_default();
    JobSummary {
        name: s.training_job_name().unwrap_or_default().to_string(),
        arn: s.training_job_arn().unwrap_or_default().to_string(),
        status: s
            .training_job_status()
            .and_then(|st| st.as_str().parse().ok())
            .unwrap_or(Status::InProgress),
        secondary_status: s
            .secondary_status()
            .map(|st| SecondaryStatus::parse(st.as_str())),
        creation_time,
        end_time: s.training_end_time().map(chrono_time),
        last_modified: s.last_modified_time().map_or(creation_time, chrono_time),
        warm_pool: s
            .warm_pool_status()
            .and_then(|w| w.status())
            .map(|st| st.as_str().to_string()),
    }
}

/// `DescribeTrainingJob`, read from the service's JSON.
pub async fn describe(client: &Client, name: &str) -> Result<JobDetail, BackendError> {
    let body = ResponseBody::default();
    client
        .describe_training_job()
        .training_job_name(name)
        .customize()
        .interceptor(body.clone())
        .send()
        .await
        .map_err(from_sdk)?;
    let value: Value = serde_json::from_slice(&body.take("DescribeTrainingJob")?)
        .map_err(|e| BackendError::internal(format!("DescribeTrainingJob: {e}")))?;
    detail_from_describe(value)
}

/// One page of `Search` over training jobs, newest first: each job's full description
/// (as `DescribeTrainingJob` gives it) and the token of the next page.
pub async fn search(
    client: &Client,
    next_token: Option<String>,
) -> Result<(Vec<JobDetail>, Option<String>), BackendError> {
    let body = ResponseBody::default();
    client
        .search()
        .resource(aws_sdk_sagemaker::types::ResourceType::TrainingJob)
        .sort_by("CreationTime")
        .sort_order(aws_sdk_sagemaker::types::SearchSortOrder::Descending)
        .max_results(PAGE_SIZE as i32)
        .set_next_token(next_token)
        .customize()
        .interceptor(body.clone())
        .send()
        .await
        .map_err(from_sdk)?;
    let value: Value = serde_json::from_slice(&body.take("Search")?)
        .map_err(|e| BackendError::internal(format!("Search: {e}")))?;
    let jobs = value["Results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("TrainingJob"))
        .filter_map(|job| detail_from_describe(job.clone()).ok())
        .collect();
    let next = value["NextToken"]
        .as_str()
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    Ok((jobs, next))
}

/// `ListTags` of a job (pages followed): `(key, value)` pairs.
pub async fn tags(client: &Client, arn: &str) -> Result<Vec<(String, String)>, BackendError> {
    let mut tags = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .list_tags()
            .resource_arn(arn)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(from_sdk)?;
        tags.extend(page.tags().iter().filter_map(|t| {
            Some((
                t.key()?.to_string(),
                t.value().unwrap_or_default().to_string(),
            ))
        }));
        match page.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_string()),
            _ => return Ok(tags),
        }
    }
}

/// `StopTrainingJob`.
pub async fn stop(client: &Client, name: &str) -> Result<(), BackendError> {
    client
        .stop_training_job()
        .training_job_name(name)
        .send()
        .await
        .map_err(from_sdk)?;
    Ok(())
}

/// Keeps the body of a successful response.
#[derive(Debug, Clone, Default)]
pub(super) struct ResponseBody(Arc<Mutex<Option<Vec<u8>>>>);

impl ResponseBody {
    /// The body kept from `operation`'s answer.
    pub(super) fn take(&self, operation: &str) -> Result<Vec<u8>, BackendError> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
            .ok_or_else(|| BackendError::internal(format!("{operation} answered without a body")))
    }
}

impl Intercept for ResponseBody {
    fn name(&self) -> &'static str {
        "ResponseBody"
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let ok = context.output_or_error().is_some_and(|r| r.is_ok());
        if let (true, Some(response)) = (ok, context.response())
            && let Some(bytes) = response.body().bytes()
        {
            *self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(bytes.to_vec());
        }
        Ok(())
    }
}

/// Builds the detail from a `DescribeTrainingJob` response in the service's JSON.
pub fn detail_from_describe(value: Value) -> Result<JobDetail, BackendError> {
    let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_string);
    let time = |key: &str| value.get(key).and_then(epoch);
    let name = text("TrainingJobName").unwrap_or_default();
    let creation_time = time("CreationTime").unwrap_or_default();
    let summary = JobSummary {
        arn: text("TrainingJobArn").unwrap_or_default(),
        status: text("TrainingJobStatus")
            .and_then(|s| s.parse().ok())
            .unwrap_or(Status::InProgress),
        secondary_status: text("SecondaryStatus").map(|s| SecondaryStatus::parse(&s)),
        creation_time,
        end_time: time("TrainingEndTime"),
        last_modified: time("LastModifiedTime").unwrap_or(creation_time),
        warm_pool: value
            .get("WarmPoolStatus")
            .and_then(|w| w.get("Status"))
            .and_then(Value::as_str)
            .map(String::from),
        name: name.clone(),
    };
    let transitions = list_of(&value, "SecondaryStatusTransitions")
        .map(|t| StatusTransition {
            status: SecondaryStatus::parse(t.get("Status").and_then(Value::as_str).unwrap_or("")),
            start_time: t.get("StartTime").and_then(epoch).unwrap_or_default(),
            end_time: t.get("EndTime").and_then(epoch),
            message: t
                .get("StatusMessage")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        })
        .collect();
    let final_metrics = list_of(&value, "FinalMetricDataList")
        .filter_map(|m| {
            Some(FinalMetric {
                name: m.get("MetricName")?.as_str()?.to_string(),
                value: m.get("Value")?.as_f64()?,
                timestamp: m.get("Timestamp").and_then(epoch).unwrap_or_default(),
            })
        })
        .collect();
    let request = request_from_value(value.clone(), &format!("DescribeTrainingJob {name}"))
        .map_err(|e| BackendError::internal(e.to_string()))?
        .request;
    Ok(JobDetail {
        request,
        failure_reason: text("FailureReason"),
        model_artifacts: value
            .pointer("/ModelArtifacts/S3ModelArtifacts")
            .and_then(Value::as_str)
            .map(str::to_string),
        training_start_time: time("TrainingStartTime"),
        transitions,
        final_metrics,
        training_time_seconds: value.get("TrainingTimeInSeconds").and_then(Value::as_i64),
        billable_time_seconds: value.get("BillableTimeInSeconds").and_then(Value::as_i64),
        summary,
        service_response: Some(with_readable_times(value)),
    })
}

fn list_of<'a>(value: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    value
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// A timestamp: seconds since the epoch (awsJson's form) or RFC 3339 text (which some
/// emulators send).
fn epoch(value: &Value) -> Option<DateTime<Utc>> {
    match value {
        Value::Number(n) => DateTime::from_timestamp_millis((n.as_f64()? * 1000.0).round() as i64),
        Value::String(s) => DateTime::parse_from_rfc3339(s).ok().map(|t| t.to_utc()),
        _ => None,
    }
}

/// The members whose names end in `Time` or `Timestamp` as RFC 3339 text, as the
/// DescribeTrainingJob tree and the CLI's `describe --json` show them.
fn with_readable_times(mut value: Value) -> Value {
    fn walk(value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (key, member) in map.iter_mut() {
                    let is_time = key.ends_with("Time") || key.ends_with("Timestamp");
                    match epoch(member).filter(|_| is_time) {
                        Some(t) => *member = Value::String(crate::job::timestamp(t)),
                        None => walk(member),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut value);
    value
}

fn sdk_time(t: DateTime<Utc>) -> SdkTime {
    SdkTime::from_millis(t.timestamp_millis())
}

fn chrono_time(t: &SdkTime) -> DateTime<Utc> {
    t.to_millis()
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_a_describe_response() {
        let detail = detail_from_describe(json!({
            "TrainingJobName": "j1",
            "TrainingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/j1",
            "TrainingJobStatus": "Failed",
            "SecondaryStatus": "Failed",
            "FailureReason": "AlgorithmError: exit 1",
            "CreationTime": 1_700_000_000.5,
            "TrainingStartTime": 1_700_000_060,
            "TrainingEndTime": 1_700_000_120,
            "LastModifiedTime": 1_700_000_121,
            "AlgorithmSpecification": {"TrainingImage": "img", "TrainingInputMode": "File"},
            "RoleArn": "arn:aws:iam::123456789012:role/r",
            "SecondaryStatusTransitions": [
                {"Status": "Starting", "StartTime": 1_700_000_000, "EndTime": 1_700_000_060, "StatusMessage": "s"},
                {"Status": "Training", "StartTime": 1_700_000_060}
            ],
            "FinalMetricDataList": [{"MetricName": "loss", "Value": 0.25, "Timestamp": 1_700_000_100}],
            "WarmPoolStatus": {"Status": "Available"}
        }))
        .unwrap();
        assert_eq!(detail.summary.status, Status::Failed);
        assert_eq!(
            detail.summary.creation_time.timestamp_millis(),
            1_700_000_000_500
        );
        assert_eq!(detail.transitions.len(), 2);
        assert_eq!(detail.transitions[1].end_time, None);
        assert_eq!(detail.final_metrics[0].value, 0.25);
        assert_eq!(detail.request.name(), "j1");
        assert_eq!(
            detail.failure_reason.as_deref(),
            Some("AlgorithmError: exit 1")
        );
        let shown = detail.to_describe_json();
        assert_eq!(shown["WarmPoolStatus"]["Status"], "Available");
        assert_eq!(shown["CreationTime"], "2023-11-14T22:13:20.500+00:00");
        assert_eq!(
            shown["SecondaryStatusTransitions"][0]["EndTime"],
            "2023-11-14T22:14:20.000+00:00"
        );
    }
}
