//! The SDK clients of one connection, each counting the requests it sends.

use aws_config::SdkConfig;

use super::connection;
use super::counter::CallCounter;
use super::limits;
use crate::backend::BackendError;
use crate::job::AwsConnection;

/// A connection's clients with the region and account they act in.
#[derive(Debug, Clone)]
pub struct Account {
    /// The SDK clients and the lean path.
    pub clients: Clients,
    /// The connection's region.
    pub region: String,
    /// The caller's account ID.
    pub account: String,
}

/// The SDK clients of one connection.
#[derive(Debug, Clone)]
pub struct Clients {
    /// SageMaker.
    pub sagemaker: aws_sdk_sagemaker::Client,
    /// CloudWatch (metrics).
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    /// CloudWatch Logs.
    pub logs: aws_sdk_cloudwatchlogs::Client,
    /// S3; path-style addressing when an endpoint is set.
    pub s3: aws_sdk_s3::Client,
    /// STS.
    pub sts: aws_sdk_sts::Client,
    /// The Price List Query API, which answers in us-east-1 for every region.
    pub pricing: aws_sdk_pricing::Client,
    /// IAM, EC2, ECR and Service Quotas, for preflight's few read-only calls.
    pub lean: super::lean::LeanClient,
}

impl Clients {
    fn new(sdk: &SdkConfig, counter: &CallCounter) -> Result<Self, BackendError> {
        let custom_endpoint = sdk.endpoint_url().is_some();
        let s3 = aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(custom_endpoint)
            .timeout_config(limits::s3())
            .interceptor(limits::AnswerLimit)
            .interceptor(counter.clone());
        let s3 = if custom_endpoint {
            // S3-compatible servers do not all accept streamed checksum trailers.
            s3.request_checksum_calculation(
                aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired,
            )
        } else {
            s3
        };
        Ok(Self {
            lean: super::lean::LeanClient::new(sdk, counter)?,
            sagemaker: aws_sdk_sagemaker::Client::from_conf(
                aws_sdk_sagemaker::config::Builder::from(sdk)
                    .interceptor(limits::AnswerLimit)
                    .interceptor(counter.clone())
                    .build(),
            ),
            cloudwatch: aws_sdk_cloudwatch::Client::from_conf(
                aws_sdk_cloudwatch::config::Builder::from(sdk)
                    .interceptor(limits::AnswerLimit)
                    .interceptor(counter.clone())
                    .build(),
            ),
            logs: aws_sdk_cloudwatchlogs::Client::from_conf(
                aws_sdk_cloudwatchlogs::config::Builder::from(sdk)
                    .interceptor(limits::AnswerLimit)
                    .interceptor(counter.clone())
                    .build(),
            ),
            s3: aws_sdk_s3::Client::from_conf(s3.build()),
            sts: aws_sdk_sts::Client::from_conf(
                aws_sdk_sts::config::Builder::from(sdk)
                    .interceptor(limits::AnswerLimit)
                    .interceptor(counter.clone())
                    .build(),
            ),
            pricing: aws_sdk_pricing::Client::from_conf(
                aws_sdk_pricing::config::Builder::from(sdk)
                    .region(aws_config::Region::new("us-east-1"))
                    .interceptor(limits::AnswerLimit)
                    .interceptor(counter.clone())
                    .build(),
            ),
        })
    }

    /// The clients of `connection`, without calling anything.
    pub async fn load(connection: &AwsConnection) -> Result<Self, BackendError> {
        Ok(Self::resolve(connection, &CallCounter::default()).await?.0)
    }

    /// Resolves `connection` (a region is required) and builds its clients; also returns
    /// the region in use.
    pub async fn resolve(
        connection: &AwsConnection,
        counter: &CallCounter,
    ) -> Result<(Self, String), BackendError> {
        let sdk = connection::load(connection).await;
        check_region(&sdk, connection)?;
        let region = sdk.region().map(|r| r.to_string()).unwrap_or_default();
        Ok((Self::new(&sdk, counter)?, region))
    }
}

fn check_region(sdk: &SdkConfig, connection: &AwsConnection) -> Result<(), BackendError> {
    if sdk.region().is_some() {
        return Ok(());
    }
    let profile = connection.profile.as_deref().unwrap_or("default");
    Err(BackendError::new(
        "NoRegion",
        format!(
            "no region for profile {profile}: pick one in the connection bar, pass --region, \
             set AWS_REGION, or add `region = ...` to the profile in ~/.aws/config"
        ),
    ))
}
