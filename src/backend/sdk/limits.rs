//! Bounds on every call to AWS: connect, first-byte and whole-operation timeouts, and a cap
//! on the size of each answer, so an endpoint that never answers, or answers without end,
//! costs seconds and megabytes, not the session.

use std::time::Duration;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextMut;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::timeout::TimeoutConfig;

/// Time to open a connection.
pub const CONNECT: Duration = Duration::from_secs(5);
/// Time from sending a control-plane request to the first byte of its answer.
pub const READ: Duration = Duration::from_secs(30);
/// Time for one control-plane attempt, answer read whole.
pub const ATTEMPT: Duration = Duration::from_secs(30);
/// Time for one control-plane operation, retries included.
pub const OPERATION: Duration = Duration::from_secs(75);
/// Time from sending an S3 request (a part of up to 8 MiB included) to its answer's first
/// byte; S3 transfers themselves are not bounded as a whole.
pub const S3_READ: Duration = Duration::from_secs(120);
/// Time a transfer may go without a byte arriving before it is given up.
pub const STALL: Duration = Duration::from_secs(60);
/// The largest answer read from a control-plane call: the largest real ones (a page of log
/// events, of metric data, of a listing) are a few MB.
pub const MAX_ANSWER: usize = 16 << 20;

/// The timeouts of the control-plane clients (SageMaker, CloudWatch, Logs, STS, Pricing).
pub fn control_plane() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT)
        .read_timeout(READ)
        .operation_attempt_timeout(ATTEMPT)
        .operation_timeout(OPERATION)
        .build()
}

/// The timeouts of the S3 client, whose transfers may take as long as they need while
/// bytes move.
pub fn s3() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT)
        .read_timeout(S3_READ)
        .build()
}

/// Operations whose answer is streamed to the caller rather than read whole.
const STREAMED: &[&str] = &["GetObject"];

/// Refuses an answer over [`MAX_ANSWER`] bytes: at once when its `Content-Length` says so,
/// else when that many bytes have arrived. Streamed answers (`GetObject`) pass untouched.
#[derive(Debug, Clone, Copy)]
pub struct AnswerLimit;

impl Intercept for AnswerLimit {
    fn name(&self) -> &'static str {
        "AnswerLimit"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg.load::<Metadata>().map(|m| m.name().to_string());
        if operation
            .as_deref()
            .is_some_and(|op| STREAMED.contains(&op))
        {
            return Ok(());
        }
        let response = context.response_mut();
        if let Some(length) = response.body().content_length()
            && length > MAX_ANSWER as u64
        {
            return Err(too_large(operation.as_deref(), length).into());
        }
        let body = std::mem::replace(response.body_mut(), SdkBody::taken());
        *response.body_mut() =
            SdkBody::from_body_1_x(http_body_util::Limited::new(body, MAX_ANSWER));
        Ok(())
    }
}

/// What every message of an answer past the cap says.
pub const TOO_LARGE_MARK: &str = " bytes, more than the ";

/// The message for an answer past the cap.
pub fn too_large(operation: Option<&str>, length: u64) -> String {
    format!(
        "{} answered with {length}{TOO_LARGE_MARK}{} MB any answer of it needs: the endpoint \
         is not behaving as AWS does",
        operation.unwrap_or("the service"),
        MAX_ANSWER >> 20
    )
}
