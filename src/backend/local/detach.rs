//! Jobs supervised by processes of their own: `sagedesk supervise JOB` started in a new
//! session, detached from the window or terminal that asked for the job, so closing either
//! never stops or orphans it. The launcher and the supervisor both record the supervisor's
//! pid, so the job is never seen unsupervised between the two.

use std::path::Path;
use std::process::{Command, Stdio};

use super::{LocalConfig, process};
use crate::backend::BackendError;
use crate::backend::sdk::AwsConnection;
use crate::store::Store;

/// The file in the job's folder that receives the supervisor's own messages.
pub const SUPERVISOR_LOG: &str = "supervisor.log";

/// What supervisors tell the process that started them.
#[derive(Clone, Default)]
pub(super) struct Reports {
    /// Endings a supervisor could not store (a full disk), by job.
    pub unrecorded: super::runner::Unrecorded,
    /// Woken when a job started here ends (its end stored by then).
    pub ended: std::sync::Arc<tokio::sync::Notify>,
}

/// `program ARGS` as a supervising process of `config`: in a session of its own, with the
/// configuration it reads back (`LocalConfig::from_env`) in its environment, stdin closed
/// and its own messages appended to `log` (its folder made).
pub(crate) fn supervisor_command(
    config: &LocalConfig,
    program: &Path,
    args: &[&str],
    credentials: crate::job::JobCredentials,
    log: &Path,
) -> Result<Command, BackendError> {
    if let Some(folder) = log.parent() {
        std::fs::create_dir_all(folder)?;
    }
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?;
    let mut command = Command::new(program);
    command
        .args(args)
        .env("SAGEDESK_HOME", &config.home)
        .env("SAGEDESK_PYTHON", &config.python)
        .env("SAGEDESK_JOB_CREDENTIALS", credentials.word())
        .envs(
            config
                .debug_port
                .map(|port| ("SAGEDESK_DEBUG_PORT", port.to_string())),
        )
        .env(
            "SAGEDESK_STOP_GRACE_SECONDS",
            config.stop_grace.as_secs_f64().to_string(),
        )
        .stdin(Stdio::null())
        .stderr(log);
    crate::process::in_new_session(&mut command);
    Ok(command)
}

/// Starts `program supervise JOB` for a job already in the store.
pub(super) fn launch(
    config: &LocalConfig,
    program: &Path,
    store: &Store,
    job: &str,
    aws: &AwsConnection,
    credentials: crate::job::JobCredentials,
    reports: &Reports,
) -> Result<(), BackendError> {
    let log = config.job_dir(job).join(SUPERVISOR_LOG);
    let mut command = supervisor_command(config, program, &["supervise", job], credentials, &log)?;
    command.stdout(Stdio::piped());
    for (flag, value) in [
        ("--profile", &aws.profile),
        ("--region", &aws.region),
        ("--endpoint-url", &aws.endpoint_url),
    ] {
        if let Some(value) = value {
            command.arg(flag).arg(value);
        }
    }
    let mut child = command.spawn().map_err(|e| {
        BackendError::internal(format!(
            "cannot start the supervisor {} for {job}: {e}",
            program.display()
        ))
    })?;
    let pid = i64::from(child.id());
    store.set_supervisor(job, (pid, process::start_time(pid).unwrap_or(0)))?;
    // Endings it could not store (a full disk) come back on its output; it is reaped here
    // when it ends while this process runs, and adopted by init otherwise.
    let output = child.stdout.take();
    let Reports { unrecorded, ended } = reports.clone();
    std::thread::spawn(move || {
        if let Some(output) = output {
            use std::io::BufRead;
            for line in std::io::BufReader::new(output)
                .lines()
                .map_while(Result::ok)
            {
                if let Some((job, status, reason)) = super::runner::parse_unrecorded(&line)
                    && let Ok(mut map) = unrecorded.lock()
                {
                    map.insert(job, (status, reason));
                }
            }
        }
        // Its output closes when it exits, after it stored the job's end.
        let waited = child.wait();
        ended.notify_one();
        waited
    });
    Ok(())
}

/// The body of `sagedesk supervise JOB`: records this process as the job's supervisor and
/// runs the job to its end.
pub async fn supervise(
    config: LocalConfig,
    job: &str,
    aws: AwsConnection,
) -> Result<(), BackendError> {
    let backend = super::LocalBackend::attach(LocalConfig {
        detached: true,
        ..config
    })?;
    let name = job.to_string();
    let request = backend
        .blocking(move |store| {
            store.set_supervisor(&name, process::current())?;
            let detail = store.detail(&name)?;
            if detail.summary.status.is_terminal() {
                return Err(BackendError::validation(format!(
                    "{name} has already ended ({})",
                    detail.summary.status
                )));
            }
            Ok(detail.request)
        })
        .await?;
    let (plan, extractor) = backend.plan(&request).await?;
    super::runner::supervise(
        backend.config.clone(),
        plan,
        extractor,
        backend.reports.unrecorded.clone(),
        aws,
        backend.config.job_credentials,
    )
    .await;
    Ok(())
}
