//! Where an AWS training job is in the AWS Management Console: its SageMaker page, its log
//! streams in CloudWatch Logs and its metrics in CloudWatch, for the job's partition
//! (`aws`, `aws-cn`, `aws-us-gov`) and region, all read from its ARN.

/// The CloudWatch Logs group and metrics namespace of training jobs.
const GROUP: &str = "/aws/sagemaker/TrainingJobs";

/// Console links of one training job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleLinks {
    /// The training job's page in the SageMaker console.
    pub job: String,
    /// The job's log streams (`<job>/algo-N-…`) in the CloudWatch Logs console.
    pub logs: String,
    /// The job's metrics (namespace `/aws/sagemaker/TrainingJobs`, dimension `Host`).
    pub metrics: String,
}

/// The console's address for a partition and region.
fn console(partition: &str, region: &str) -> Option<String> {
    match partition {
        "aws" => Some(format!("https://{region}.console.aws.amazon.com")),
        "aws-cn" => Some(format!("https://{region}.console.amazonaws.cn")),
        "aws-us-gov" => Some("https://console.amazonaws-us-gov.com".to_string()),
        _ => None,
    }
}

/// The links of the training job with this ARN
/// (`arn:<partition>:sagemaker:<region>:<account>:training-job/<name>`); `None` when it is
/// not one, or is a local job's (region `local`).
pub fn links(arn: &str) -> Option<ConsoleLinks> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("sagemaker"), Some(region), Some(_account)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let name = parts.next()?.strip_prefix("training-job/")?;
    let valid =
        |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    // Regions end with their number (`us-east-1`); a local job's says `local`.
    if !valid(region) || !region.ends_with(|c: char| c.is_ascii_digit()) || !valid(name) {
        return None;
    }
    let base = console(partition, region)?;
    // The Logs console reads its path percent-encoded with '%' itself written "$25".
    let group = GROUP.replace('/', "$252F");
    Some(ConsoleLinks {
        job: format!("{base}/sagemaker/home?region={region}#/jobs/{name}"),
        logs: format!(
            "{base}/cloudwatch/home?region={region}#logsV2:log-groups/log-group/{group}\
             $3FlogStreamNameFilter$3D{name}$252F"
        ),
        metrics: format!(
            "{base}/cloudwatch/home?region={region}#metricsV2:graph=~();\
             namespace={GROUP};dimensions=Host;search={name}"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_of_a_job_in_us_east_1_and_in_cn_north_1() {
        let us = links("arn:aws:sagemaker:us-east-1:123456789012:training-job/mnist-2026").unwrap();
        assert_eq!(
            us.job,
            "https://us-east-1.console.aws.amazon.com/sagemaker/home?region=us-east-1\
             #/jobs/mnist-2026"
        );
        assert_eq!(
            us.logs,
            "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1\
             #logsV2:log-groups/log-group/$252Faws$252Fsagemaker$252FTrainingJobs\
             $3FlogStreamNameFilter$3Dmnist-2026$252F"
        );
        assert_eq!(
            us.metrics,
            "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1\
             #metricsV2:graph=~();namespace=/aws/sagemaker/TrainingJobs;dimensions=Host;\
             search=mnist-2026"
        );
        let cn =
            links("arn:aws-cn:sagemaker:cn-north-1:123456789012:training-job/mnist-2026").unwrap();
        assert_eq!(
            cn.job,
            "https://cn-north-1.console.amazonaws.cn/sagemaker/home?region=cn-north-1\
             #/jobs/mnist-2026"
        );
        assert!(cn.logs.starts_with(
            "https://cn-north-1.console.amazonaws.cn/cloudwatch/home?region=cn-north-1#logsV2:"
        ));
        assert!(cn.metrics.starts_with(
            "https://cn-north-1.console.amazonaws.cn/cloudwatch/home?region=cn-north-1#metricsV2:"
        ));
    }

    #[test]
    fn links_follow_the_partition_and_region_of_the_arn() {
        let gov =
            links("arn:aws-us-gov:sagemaker:us-gov-west-1:123456789012:training-job/j-1").unwrap();
        assert_eq!(
            gov.job,
            "https://console.amazonaws-us-gov.com/sagemaker/home?region=us-gov-west-1#/jobs/j-1"
        );
        assert!(links("arn:aws:sagemaker:local:000000000000:training-job/x").is_none());
        assert!(links("arn:aws:s3:::bucket").is_none());
        assert!(links("arn:aws:sagemaker:us-east-1:1:training-job/a#b").is_none());
        assert!(links("arn:aws-iso:sagemaker:us-iso-east-1:1:training-job/a").is_none());
    }
}
