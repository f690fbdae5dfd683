//! A lean path to the few read-only calls preflight makes on IAM, EC2, ECR and Service
//! Quotas: the SDK's own signing (`aws-sigv4`), credentials and HTTP stack (hyper with
//! rustls), with the Query protocol (IAM, EC2: form in, XML out) or JSON 1.1 (ECR, Service
//! Quotas). Their SDK crates would add minutes to a clean build for five calls.

use std::time::SystemTime;

use aws_config::SdkConfig;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use super::counter::CallCounter;
use super::error::NETWORK_ERROR;
use super::limits::MAX_ANSWER;
use crate::backend::BackendError;

/// A service reached through the lean path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// IAM (Query, global: signed for us-east-1).
    Iam,
    /// EC2 (Query).
    Ec2,
    /// ECR (JSON 1.1).
    Ecr,
    /// Service Quotas (JSON 1.1).
    ServiceQuotas,
}

impl Service {
    /// The signing name.
    fn signing_name(self) -> &'static str {
        match self {
            Self::Iam => "iam",
            Self::Ec2 => "ec2",
            Self::Ecr => "ecr",
            Self::ServiceQuotas => "servicequotas",
        }
    }

    /// The API version of a Query service, or the target prefix of a JSON one.
    fn version(self) -> &'static str {
        match self {
            Self::Iam => "2010-05-08",
            Self::Ec2 => "2016-11-15",
            Self::Ecr => "AmazonEC2ContainerRegistry_V20150921",
            Self::ServiceQuotas => "ServiceQuotasV20190624",
        }
    }

    /// The regional endpoint, in the region's partition.
    fn endpoint(self, region: &str) -> String {
        let suffix = if region.starts_with("cn-") {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        };
        match self {
            Self::Iam if region.starts_with("cn-") => format!("https://iam.{suffix}"),
            Self::Iam if region.starts_with("us-gov-") => "https://iam.us-gov.amazonaws.com".into(),
            Self::Iam => format!("https://iam.{suffix}"),
            Self::Ec2 => format!("https://ec2.{region}.{suffix}"),
            Self::Ecr => format!("https://api.ecr.{region}.{suffix}"),
            Self::ServiceQuotas => format!("https://servicequotas.{region}.{suffix}"),
        }
    }

    /// The region requests are signed for: IAM's partition home, else the connection's.
    fn signing_region(self, region: &str) -> String {
        match self {
            Self::Iam if region.starts_with("cn-") => "cn-north-1".into(),
            Self::Iam if region.starts_with("us-gov-") => "us-gov-west-1".into(),
            Self::Iam => "us-east-1".into(),
            _ => region.into(),
        }
    }
}

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

/// Signed requests to the lean services of one connection.
#[derive(Clone)]
pub struct LeanClient {
    http: Client<Https, Full<Bytes>>,
    credentials: Option<SharedCredentialsProvider>,
    region: String,
    endpoint_url: Option<String>,
    counter: CallCounter,
}

impl std::fmt::Debug for LeanClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeanClient")
            .field("region", &self.region)
            .field("endpoint_url", &self.endpoint_url)
            .finish()
    }
}

impl LeanClient {
    /// A client with the connection's credentials, region and endpoint, counting its
    /// requests with the SDK clients'.
    pub fn new(sdk: &SdkConfig, counter: &CallCounter) -> Result<Self, BackendError> {
        let provider = rustls::crypto::ring::default_provider();
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(provider)
            .map_err(|e| BackendError::internal(format!("TLS roots: {e}")))?
            .https_or_http()
            .enable_http1()
            .wrap_connector({
                let mut http = HttpConnector::new();
                http.enforce_http(false);
                http.set_connect_timeout(Some(super::limits::CONNECT));
                http
            });
        Ok(Self {
            http: Client::builder(TokioExecutor::new()).build(https),
            credentials: sdk.credentials_provider(),
            region: sdk.region().map(|r| r.to_string()).unwrap_or_default(),
            endpoint_url: sdk.endpoint_url().map(str::to_string),
            counter: counter.clone(),
        })
    }

    /// A Query call: `Action` with `params`; the XML answer.
    pub async fn query(
        &self,
        service: Service,
        action: &str,
        params: &[(String, String)],
    ) -> Result<String, BackendError> {
        let body = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("Action", action);
            form.append_pair("Version", service.version());
            for (k, v) in params {
                form.append_pair(k, v);
            }
            form.finish()
        };
        let headers = [(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8".to_string(),
        )];
        self.send(service, action, &headers, body.into_bytes())
            .await
    }

    /// A JSON 1.1 call of `operation` with `input`; the JSON answer.
    pub async fn json(
        &self,
        service: Service,
        operation: &str,
        input: &Value,
    ) -> Result<Value, BackendError> {
        let headers = [
            ("content-type", "application/x-amz-json-1.1".to_string()),
            ("x-amz-target", format!("{}.{operation}", service.version())),
        ];
        let body = serde_json::to_vec(input).expect("JSON serializes");
        let text = self.send(service, operation, &headers, body).await?;
        serde_json::from_str(&text)
            .map_err(|e| BackendError::internal(format!("{operation} answered: {e}")))
    }

    async fn send(
        &self,
        service: Service,
        operation: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<String, BackendError> {
        let body = Bytes::from(body);
        let endpoint = match &self.endpoint_url {
            Some(url) => url.trim_end_matches('/').to_string() + "/",
            None => service.endpoint(&self.region) + "/",
        };
        let mut request = http::Request::builder().method("POST").uri(&endpoint);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let host = request
            .uri_ref()
            .and_then(|u| u.authority())
            .map(|a| a.to_string())
            .unwrap_or_default();
        let mut request = request
            .header("host", host)
            .body(Full::new(body.clone()))
            .map_err(|e| BackendError::internal(format!("{operation}: {e}")))?;
        self.sign(service, &mut request, &body).await?;
        self.counter.add();
        // The whole call, answer read, within one attempt's time, and the answer capped.
        let call = async {
            let response = self.http.request(request).await.map_err(|e| {
                BackendError::new(
                    NETWORK_ERROR,
                    format!(
                        "{operation}: {endpoint} could not be reached ({})",
                        super::error::causes(&e)
                    ),
                )
            })?;
            let status = response.status();
            let limited = http_body_util::Limited::new(response.into_body(), MAX_ANSWER);
            let bytes = limited.collect().await.map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    BackendError::new(
                        super::error::TOO_LARGE,
                        super::limits::too_large(Some(operation), MAX_ANSWER as u64 + 1),
                    )
                } else {
                    BackendError::new(NETWORK_ERROR, format!("{operation}: {e}"))
                }
            })?;
            Ok::<_, BackendError>((status, bytes.to_bytes()))
        };
        let (status, bytes) = tokio::time::timeout(super::limits::ATTEMPT, call)
            .await
            .map_err(|_| {
                BackendError::new(
                    NETWORK_ERROR,
                    format!(
                        "{operation}: {endpoint} gave no whole answer within {} s",
                        super::limits::ATTEMPT.as_secs()
                    ),
                )
            })??;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if status.is_success() {
            Ok(text)
        } else {
            Err(service_error(status.as_u16(), &text))
        }
    }

    async fn sign(
        &self,
        service: Service,
        request: &mut http::Request<Full<Bytes>>,
        body: &[u8],
    ) -> Result<(), BackendError> {
        let provider = self.credentials.as_ref().ok_or_else(|| {
            BackendError::new(super::error::NO_CREDENTIALS, "no credentials to sign with")
        })?;
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|e| BackendError::new(super::error::NO_CREDENTIALS, e.to_string()))?;
        let identity = credentials.into();
        let region = service.signing_region(&self.region);
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&region)
            .name(service.signing_name())
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| BackendError::internal(format!("signing: {e}")))?
            .into();
        let uri = request.uri().to_string();
        let headers: Vec<(&str, &str)> = request
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)))
            .collect();
        let signable = SignableRequest::new(
            request.method().as_str(),
            &uri,
            headers.into_iter(),
            SignableBody::Bytes(body),
        )
        .map_err(|e| BackendError::internal(format!("signing: {e}")))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| BackendError::internal(format!("signing: {e}")))?
            .into_parts();
        instructions.apply_to_request_http1x(request);
        Ok(())
    }
}

/// The service's error code and message from a Query (XML) or JSON error answer.
fn service_error(status: u16, text: &str) -> BackendError {
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        let code = value["__type"]
            .as_str()
            .map(|t| t.rsplit('#').next().unwrap_or(t).to_string());
        let message = value["message"]
            .as_str()
            .or(value["Message"].as_str())
            .unwrap_or_default();
        if let Some(code) = code {
            return BackendError::new(code, message);
        }
    }
    match (xml_text(text, "Code"), xml_text(text, "Message")) {
        (Some(code), message) => BackendError::new(code, message.unwrap_or_default()),
        _ => BackendError::new(
            "UnknownError",
            format!("HTTP {status} in no AWS error form: the endpoint may not offer this service"),
        ),
    }
}

/// The text of the first `<tag>…</tag>` in `xml`, entities decoded.
pub fn xml_text(xml: &str, tag: &str) -> Option<String> {
    xml_all(xml, tag).into_iter().next()
}

/// The texts of every `<tag>…</tag>` in `xml`, in order, entities decoded.
pub fn xml_all(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else {
            break;
        };
        out.push(decode_entities(&after[..end]));
        rest = &after[end + close.len()..];
    }
    out
}

fn decode_entities(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#xD;", "\r")
        .replace("&#xA;", "\n")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_keep_the_services_code_and_message() {
        let query = "<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchEntity</Code>\
                     <Message>The role with name r cannot be found.</Message></Error></ErrorResponse>";
        let e = service_error(404, query);
        assert_eq!(e.code, "NoSuchEntity");
        assert_eq!(e.message, "The role with name r cannot be found.");
        let json = r#"{"__type":"com.amazonaws#RepositoryNotFoundException","message":"no repo"}"#;
        let e = service_error(400, json);
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("RepositoryNotFoundException", "no repo")
        );
    }

    #[test]
    fn xml_texts_are_found_in_order_and_decoded() {
        let xml = "<a><subnetId>s-1</subnetId><vpcId>v&amp;1</vpcId><subnetId>s-2</subnetId></a>";
        assert_eq!(xml_all(xml, "subnetId"), ["s-1", "s-2"]);
        assert_eq!(xml_text(xml, "vpcId").as_deref(), Some("v&1"));
        assert_eq!(xml_text(xml, "missing"), None);
    }

    #[test]
    fn endpoints_follow_the_partition() {
        assert_eq!(
            Service::Ec2.endpoint("eu-west-1"),
            "https://ec2.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            Service::Ecr.endpoint("cn-north-1"),
            "https://api.ecr.cn-north-1.amazonaws.com.cn"
        );
        assert_eq!(
            Service::Iam.signing_region("us-gov-east-1"),
            "us-gov-west-1"
        );
        assert_eq!(
            Service::Iam.endpoint("eu-west-1"),
            "https://iam.amazonaws.com"
        );
    }
}
