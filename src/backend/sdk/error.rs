//! SDK errors as [`BackendError`]s: the service's own code and message when it answered,
//! and a plain explanation with what to do when it could not be reached or asked.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::backend::BackendError;

pub use crate::error::{NETWORK_ERROR, NO_CREDENTIALS, SSO_EXPIRED, TOO_LARGE};

/// Converts an SDK error, keeping the service's code and message.
pub fn from_sdk<E>(err: SdkError<E, HttpResponse>) -> BackendError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            match e.code() {
                Some(code) => BackendError::new(
                    code,
                    e.message()
                        .map(str::to_string)
                        .unwrap_or_else(|| code.to_string()),
                ),
                None => BackendError::new(
                    "UnknownError",
                    format!(
                        "the endpoint answered HTTP {} in a form this service does not use; is \
                         the endpoint URL right? ({})",
                        service.raw().status().as_u16(),
                        causes(e)
                    ),
                ),
            }
        }
        SdkError::TimeoutError(_) => BackendError::new(
            NETWORK_ERROR,
            format!(
                "no answer within {} s (the call's time limit); the network or the endpoint is \
                 slow or unreachable",
                super::limits::OPERATION.as_secs()
            ),
        ),
        _ => {
            tracing::debug!(error = ?err, "request failed before an answer");
            explain(&causes(&err))
        }
    }
}

/// An error and its sources as one line, outermost first ("dispatch failure: io error:
/// tcp connect error: Connection refused (os error 111)"). A cause that repeats the text
/// before it is left out, and no debug dump is added: that goes to the log.
pub fn causes(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !text.is_empty() && !parts.last().is_some_and(|last| last.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// Turns the text of a failure that never reached the service into a code and advice.
pub fn explain(detail: &str) -> BackendError {
    let lower = detail.to_lowercase();
    if let Some(at) = detail.find(super::limits::TOO_LARGE_MARK) {
        // The cap's own message, without the SDK's wrapping around it.
        let start = detail[..at]
            .rfind("error: ")
            .map_or(0, |i| i + "error: ".len());
        BackendError::new(TOO_LARGE, detail[start..].to_string())
    } else if lower.contains("length limit exceeded") {
        BackendError::new(
            TOO_LARGE,
            super::limits::too_large(None, super::limits::MAX_ANSWER as u64 + 1),
        )
    } else if lower.contains("sso") && lower.contains("expired") {
        BackendError::new(
            SSO_EXPIRED,
            format!(
                "the SSO session has expired: run `aws sso login` for this profile, then \
                 connect again ({detail})"
            ),
        )
    } else if lower.contains("no providers in chain provided credentials")
        || lower.contains("credentials not loaded")
        || lower.contains("no credentials")
    {
        BackendError::new(
            NO_CREDENTIALS,
            "no AWS credentials found: run `aws configure` (access keys) or `aws configure sso`, \
             pick a profile that has them, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
        )
    } else if lower.contains("dns error")
        || lower.contains("failed to lookup address")
        || lower.contains("name or service not known")
    {
        BackendError::new(
            NETWORK_ERROR,
            format!(
                "the endpoint's host name does not resolve: check the region (SageMaker is not \
                 in every region) and the endpoint URL ({detail})"
            ),
        )
    } else if lower.contains("connection refused")
        || lower.contains("connection reset")
        || lower.contains("io error")
        || lower.contains("timed out")
        || lower.contains("broken pipe")
        || lower.contains("connection closed")
        || lower.contains("dispatch failure")
    {
        BackendError::new(
            NETWORK_ERROR,
            format!(
                "could not reach the service; check the network and the endpoint URL ({detail})"
            ),
        )
    } else {
        BackendError::new("ClientError", detail.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explains_connection_failures() {
        let e = explain("dispatch failure: no providers in chain provided credentials");
        assert_eq!(e.code, NO_CREDENTIALS);
        assert!(e.message.contains("aws configure"));
        let e =
            explain("failed to load SSO token: the SSO token has expired and cannot be refreshed");
        assert_eq!(e.code, SSO_EXPIRED);
        assert!(e.message.contains("aws sso login"));
        let e =
            explain("dispatch failure: io error: dns error: failed to lookup address information");
        assert_eq!(e.code, NETWORK_ERROR);
        assert!(e.message.contains("region"));
        assert!(e.is_transient());
        let e = explain("dispatch failure: io error: Connection refused (os error 111)");
        assert_eq!(e.code, NETWORK_ERROR);
        assert!(explain("something else").code == "ClientError");
    }

    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl std::fmt::Display for Layer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|e| e as _)
        }
    }

    #[test]
    fn causes_are_one_line_without_repeats_or_debug_text() {
        let err = Layer(
            "dispatch failure",
            Some(Box::new(Layer(
                "io error",
                Some(Box::new(Layer(
                    "client error (Connect): tcp connect error: Connection refused (os error 111)",
                    Some(Box::new(Layer("Connection refused (os error 111)", None))),
                ))),
            ))),
        );
        let text = causes(&err);
        assert_eq!(
            text,
            "dispatch failure: io error: client error (Connect): tcp connect error: Connection \
             refused (os error 111)"
        );
        assert!(!text.contains("Layer"));
        assert_eq!(explain(&text).code, NETWORK_ERROR);
    }
}
