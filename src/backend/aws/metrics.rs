//! A job's CloudWatch metrics in one `GetMetricData` call (pages followed): its algorithm
//! metrics (dimension `TrainingJobName`) and each host's instance metrics (dimension `Host`).

use crate::backend::paging::Pager;
use std::collections::BTreeMap;

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::primitives::DateTime as SdkTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};
use chrono::{DateTime, Utc};

use crate::backend::BackendError;
use crate::backend::sdk::from_sdk;
use crate::job::{
    Cursor, INSTANCE_METRICS, MetricPage, MetricPoint, MetricSeries, instance_series,
};

/// The namespace SageMaker publishes training metrics in.
pub const NAMESPACE: &str = "/aws/sagemaker/TrainingJobs";
/// Seconds per point: CloudWatch's standard resolution.
pub const PERIOD_SECONDS: i64 = 60;
/// Points may carry instance clocks a little behind the service's creation time.
const CLOCK_SLACK_MS: i64 = 5 * 60 * 1000;
/// `GetMetricData` takes at most this many queries.
const MAX_QUERIES: usize = 500;

/// What to ask CloudWatch about one job.
#[derive(Debug, Clone)]
pub struct MetricsQuery {
    /// The job name.
    pub job: String,
    /// The names of its metric definitions.
    pub algorithm: Vec<String>,
    /// Its number of instances.
    pub hosts: usize,
    /// When it was created: the earliest point to ask for.
    pub since: DateTime<Utc>,
}

/// Points of whole periods after `cursor`, up to `now`. The cursor is the start of the last
/// period handed out, in epoch milliseconds.
pub async fn fetch(
    client: &Client,
    query: &MetricsQuery,
    cursor: &Cursor,
    now: DateTime<Utc>,
) -> Result<MetricPage, BackendError> {
    let period_ms = PERIOD_SECONDS * 1000;
    let last = (!cursor.is_start()).then(|| cursor.position());
    let start_ms = match last {
        Some(ms) => ms + period_ms,
        None => align(query.since.timestamp_millis() - CLOCK_SLACK_MS, period_ms),
    };
    let end_ms = align(now.timestamp_millis(), period_ms);
    let mut page = MetricPage {
        series: Vec::new(),
        next_cursor: cursor.clone(),
    };
    let queries = queries(query);
    if queries.is_empty() || end_ms <= start_ms {
        return Ok(page);
    }
    let mut by_label: BTreeMap<String, Vec<MetricPoint>> = BTreeMap::new();
    let mut token = None;
    let mut pager = Pager::new("GetMetricData");
    loop {
        let answer = client
            .get_metric_data()
            .set_metric_data_queries(Some(queries.clone()))
            .start_time(SdkTime::from_millis(start_ms))
            .end_time(SdkTime::from_millis(end_ms))
            .scan_by(ScanBy::TimestampAscending)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(from_sdk)?;
        for result in answer.metric_data_results() {
            let label = result
                .label()
                .or(result.id())
                .unwrap_or_default()
                .to_string();
            let points = by_label.entry(label).or_default();
            for (t, v) in result.timestamps().iter().zip(result.values()) {
                let Ok(ms) = t.to_millis() else { continue };
                if ms >= start_ms && ms < end_ms {
                    points.push(MetricPoint {
                        timestamp: DateTime::from_timestamp_millis(ms).unwrap_or_default(),
                        value: *v,
                    });
                }
            }
        }
        token = pager.next(answer.next_token())?;
        if token.is_none() {
            break;
        }
    }
    let mut newest = last;
    for (name, mut points) in by_label {
        if points.is_empty() {
            continue;
        }
        points.sort_by_key(|p| p.timestamp);
        points.dedup_by_key(|p| p.timestamp);
        let end = points.last().map(|p| p.timestamp.timestamp_millis());
        newest = newest.max(end);
        page.series.push(MetricSeries { name, points });
    }
    if let Some(ms) = newest {
        page.next_cursor = Cursor::at(ms);
    }
    Ok(page)
}

fn align(ms: i64, period_ms: i64) -> i64 {
    ms.div_euclid(period_ms) * period_ms
}

/// One query per algorithm metric and one per host and instance metric, labelled with the
/// series name; at most 500.
fn queries(query: &MetricsQuery) -> Vec<MetricDataQuery> {
    let job = Dimension::builder()
        .name("TrainingJobName")
        .value(&query.job)
        .build();
    let algorithm = query
        .algorithm
        .iter()
        .map(|name| (name.clone(), name.clone(), job.clone()));
    let instance = (1..=query.hosts).flat_map(|n| {
        let host = format!("algo-{n}");
        let dimension = Dimension::builder()
            .name("Host")
            .value(format!("{}/{host}", query.job))
            .build();
        INSTANCE_METRICS.iter().map(move |metric| {
            (
                instance_series(&host, metric),
                metric.to_string(),
                dimension.clone(),
            )
        })
    });
    algorithm
        .chain(instance)
        .take(MAX_QUERIES)
        .enumerate()
        .map(|(i, (label, metric_name, dimension))| {
            let metric = Metric::builder()
                .namespace(NAMESPACE)
                .metric_name(metric_name)
                .dimensions(dimension)
                .build();
            let stat = MetricStat::builder()
                .metric(metric)
                .period(PERIOD_SECONDS as i32)
                .stat("Average")
                .build();
            MetricDataQuery::builder()
                .id(format!("m{i}"))
                .label(label)
                .metric_stat(stat)
                .return_data(true)
                .build()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_query_per_metric_and_host() {
        let q = queries(&MetricsQuery {
            job: "j".into(),
            algorithm: vec!["loss".into(), "acc".into()],
            hosts: 2,
            since: Utc::now(),
        });
        assert_eq!(q.len(), 2 + 2 * INSTANCE_METRICS.len());
        assert_eq!(q[0].label(), Some("loss"));
        assert_eq!(q[2].label(), Some("algo-1/CPUUtilization"));
        let dim = &q[2].metric_stat().unwrap().metric().unwrap().dimensions()[0];
        assert_eq!((dim.name(), dim.value()), (Some("Host"), Some("j/algo-1")));
        assert_eq!(align(125_000, 60_000), 120_000);
    }
}
