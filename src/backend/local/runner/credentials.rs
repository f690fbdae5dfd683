//! The job's AWS credentials, as the service gives a job its role's. When a job reaches AWS
//! (its request reads or writes S3, or it came from an AWS source), the supervisor asks STS
//! to `AssumeRole` its `RoleArn` with the connection, and serves those temporary credentials
//! to the job's processes on a loopback container-credentials endpoint
//! (`AWS_CONTAINER_CREDENTIALS_FULL_URI`, with a token), renewing them before they expire,
//! as the SDKs expect inside a container. When the role cannot be assumed (most roles trust
//! only `sagemaker.amazonaws.com`), the job runs without credentials and its log says why
//! and the two ways out. The user's own credentials reach a job only when asked for
//! (`--job-credentials mine`).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::ProvideCredentials;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Mutex;

use crate::backend::BackendError;
use crate::backend::local::contract::LocalPlan;
use crate::backend::sdk::{AwsConnection, Clients};
use crate::job::JobCredentials;

/// Renewed when this close to their end.
const RENEW_BEFORE: Duration = Duration::from_secs(15 * 60);
/// How long an assumed role's credentials last.
const ROLE_SECONDS: i32 = 3600;

/// One set of credentials.
#[derive(Clone)]
struct Issued {
    key: String,
    secret: String,
    token: Option<String>,
    expires: Option<SystemTime>,
}

/// Where credentials come from.
enum Source {
    Role {
        sts: aws_sdk_sts::Client,
        role: String,
        session: String,
    },
    Mine(aws_credential_types::provider::SharedCredentialsProvider),
}

impl Source {
    async fn fetch(&self) -> Result<Issued, BackendError> {
        match self {
            Source::Role { sts, role, session } => {
                let answer = sts
                    .assume_role()
                    .role_arn(role)
                    .role_session_name(session)
                    .duration_seconds(ROLE_SECONDS)
                    .send()
                    .await
                    .map_err(crate::backend::sdk::from_sdk)?;
                let c = answer.credentials().ok_or_else(|| {
                    BackendError::internal("AssumeRole answered without credentials")
                })?;
                Ok(Issued {
                    key: c.access_key_id().to_string(),
                    secret: c.secret_access_key().to_string(),
                    token: Some(c.session_token().to_string()),
                    expires: SystemTime::try_from(*c.expiration()).ok(),
                })
            }
            Source::Mine(provider) => {
                let c = provider.provide_credentials().await.map_err(|e| {
                    BackendError::new("NoCredentials", format!("your credentials: {e}"))
                })?;
                Ok(Issued {
                    key: c.access_key_id().to_string(),
                    secret: c.secret_access_key().to_string(),
                    token: c.session_token().map(str::to_string),
                    expires: c.expiry(),
                })
            }
        }
    }
}

/// What the job gets: its variables, and why it has no credentials when it has none.
pub(super) struct Grant {
    /// `AWS_CONTAINER_CREDENTIALS_FULL_URI`, its token, the region and endpoint.
    pub(super) env: Vec<(String, String)>,
    /// Why the job has no credentials, when it reaches AWS and has none.
    pub(super) without: Option<String>,
    /// The endpoint's task, ended with the job.
    server: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Grant {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

impl Grant {
    fn none() -> Self {
        Self {
            env: Vec::new(),
            without: None,
            server: None,
        }
    }

    fn without(reason: impl Into<String>) -> Self {
        Self {
            env: Vec::new(),
            without: Some(reason.into()),
            server: None,
        }
    }
}

/// A session name STS accepts: `SageDesk-<job>`, 64 characters at most.
fn session_name(job: &str) -> String {
    format!("SageDesk-{job}").chars().take(64).collect()
}

/// Where job `plan`'s credentials come from with `connection` as `mode` says: `Ok(None)`
/// when it needs none, `Err(why)` when it reaches AWS and cannot have them.
async fn source(
    mode: JobCredentials,
    plan: &LocalPlan,
    connection: &AwsConnection,
    explicit: bool,
) -> Result<Option<(Source, aws_config::SdkConfig)>, String> {
    if mode == JobCredentials::None || !(explicit || plan.uses_s3()) {
        return Ok(None);
    }
    let sdk = crate::backend::sdk::load(connection).await;
    let source = match mode {
        JobCredentials::Mine => Source::Mine(
            sdk.credentials_provider()
                .ok_or("this connection has no credentials to give")?,
        ),
        _ => {
            let role = plan
                .role_arn
                .clone()
                .ok_or("the request names no RoleArn")?;
            let clients = Clients::load(connection)
                .await
                .map_err(|e| format!("no connection to assume {role} with: {e}"))?;
            Source::Role {
                sts: clients.sts,
                session: session_name(&plan.job),
                role,
            }
        }
    };
    Ok(Some((source, sdk)))
}

/// The first credentials of `source`, or why there are none.
async fn first(source: &Source) -> Result<Issued, String> {
    source.fetch().await.map_err(|e| match source {
        Source::Role { role, .. } => format!("AssumeRole of {role} was refused ({e})"),
        Source::Mine(_) => e.to_string(),
    })
}

/// Why job `plan` would run without AWS credentials, found before it starts (the same
/// call the job's start makes, its answer dropped); `None` when it will have them or
/// needs none.
pub(crate) async fn foreseen(
    mode: JobCredentials,
    plan: &LocalPlan,
    connection: &AwsConnection,
    explicit: bool,
) -> Option<String> {
    match source(mode, plan, connection, explicit).await {
        Ok(None) => None,
        Err(why) => Some(why),
        Ok(Some((source, _))) => first(&source).await.err(),
    }
}

/// The credentials job `plan` gets with `connection` as `mode` says, and their endpoint
/// started. `explicit`: the job came with a connection of its own (an AWS source's).
pub(super) async fn grant(
    mode: JobCredentials,
    plan: &LocalPlan,
    connection: &AwsConnection,
    explicit: bool,
) -> Grant {
    let (source, sdk) = match source(mode, plan, connection, explicit).await {
        Ok(Some(found)) => found,
        Ok(None) => return Grant::none(),
        Err(why) => return Grant::without(why),
    };
    let first = match first(&source).await {
        Ok(first) => first,
        Err(why) => return Grant::without(why),
    };
    match serve(source, first).await {
        Ok((uri, token, server)) => {
            let mut env = vec![
                ("AWS_CONTAINER_CREDENTIALS_FULL_URI".to_string(), uri),
                ("AWS_CONTAINER_AUTHORIZATION_TOKEN".to_string(), token),
            ];
            if let Some(region) = sdk.region() {
                env.push(("AWS_REGION".into(), region.to_string()));
                env.push(("AWS_DEFAULT_REGION".into(), region.to_string()));
            }
            if let Some(url) = &connection.endpoint_url {
                env.push(("AWS_ENDPOINT_URL".into(), url.clone()));
            }
            Grant {
                env,
                without: None,
                server: Some(server),
            }
        }
        Err(e) => Grant::without(format!("the credentials endpoint could not start: {e}")),
    }
}

/// What the job's log says when it runs without credentials, and the two ways out.
pub(crate) fn notice(without: &str) -> Vec<String> {
    vec![
        format!("The job runs without AWS credentials: {without}."),
        "On SageMaker it would act as its RoleArn. To give it that role here, add your \
         identity to the role's trust policy (sts:AssumeRole); or give it your own \
         credentials by choice (Run locally > With my AWS credentials, the builder's \
         My AWS credentials box, or `sagedesk run --job-credentials mine`)."
            .into(),
    ]
}

/// Whether a failed job's error reads like missing credentials.
pub(super) fn lacks_credentials(text: &str) -> bool {
    [
        "NoCredentialsError",
        "Unable to locate credentials",
        "CredentialsProviderError",
        "credentials not found",
        "ExpiredToken",
    ]
    .iter()
    .any(|needle| text.contains(needle))
}

/// A random token of 32 hex digits.
fn token() -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Starts the loopback endpoint: its URI, its token and its task.
async fn serve(
    source: Source,
    first: Issued,
) -> std::io::Result<(String, String, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let uri = format!("http://{}/credentials", listener.local_addr()?);
    let token = token()?;
    let expected = token.clone();
    let shared = Arc::new((source, Mutex::new(first)));
    let server = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let shared = shared.clone();
            let expected = expected.clone();
            tokio::spawn(async move {
                let _ = answer(stream, &shared, &expected).await;
            });
        }
    });
    Ok((uri, token, server))
}

/// Answers one request: the current credentials (renewed when close to their end) to a
/// `GET /credentials` that carries the token; 401 or 404 otherwise.
async fn answer(
    mut stream: tokio::net::TcpStream,
    shared: &(Source, Mutex<Issued>),
    expected: &str,
) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .map_err(|_| std::io::ErrorKind::TimedOut)??;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head);
    let mut lines = head.lines();
    let path_ok = lines
        .next()
        .is_some_and(|l| l.starts_with("GET /credentials "));
    let token_ok = lines.any(|l| {
        l.split_once(':').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case("authorization") && v.trim() == expected
        })
    });
    let (status, body) = if !path_ok {
        ("404 Not Found", String::new())
    } else if !token_ok {
        ("401 Unauthorized", String::new())
    } else {
        let (source, current) = shared;
        let mut current = current.lock().await;
        let close = current.expires.is_some_and(|t| {
            t.duration_since(SystemTime::now()).unwrap_or_default() < RENEW_BEFORE
        });
        if close && let Ok(fresh) = source.fetch().await {
            *current = fresh;
        }
        ("200 OK", body(&current))
    };
    let reply = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(reply.as_bytes()).await
}

/// The JSON the SDKs' container provider reads.
fn body(issued: &Issued) -> String {
    let mut value = serde_json::json!({
        "AccessKeyId": issued.key,
        "SecretAccessKey": issued.secret,
    });
    if let Some(token) = &issued.token {
        value["Token"] = token.clone().into();
    }
    // The SDKs need an end; credentials without one (long-term keys) are asked for again
    // within the hour.
    let expires = issued
        .expires
        .unwrap_or_else(|| SystemTime::now() + Duration::from_secs(ROLE_SECONDS as u64));
    let at: chrono::DateTime<chrono::Utc> = expires.into();
    value["Expiration"] = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true).into();
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_and_session_names_fit_sts() {
        for mode in [
            JobCredentials::Role,
            JobCredentials::Mine,
            JobCredentials::None,
        ] {
            assert_eq!(JobCredentials::parse(mode.word()), Some(mode));
        }
        assert_eq!(JobCredentials::parse("yours"), None);
        assert_eq!(session_name(&"x".repeat(80)).len(), 64);
    }

    #[test]
    fn missing_credentials_are_recognised_in_a_traceback() {
        assert!(lacks_credentials(
            "botocore.exceptions.NoCredentialsError: Unable to locate credentials"
        ));
        assert!(!lacks_credentials("ZeroDivisionError: division by zero"));
    }
}
