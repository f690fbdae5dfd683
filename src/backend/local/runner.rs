//! The supervisor of one local job: prepares the `/opt/ml` trees, runs one process per
//! host, records every line, enforces stops and limits, and packs the artifacts.

use std::path::PathBuf;
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use super::contract::{HostLayout, LocalPlan, stage_channels, stage_code};
use super::metrics::MetricExtractor;
use super::process;
use super::store::{Ending, Record, Store, now_ms};
use super::{LocalConfig, off_thread};
use crate::backend::{BackendError, archive};
use crate::job::{SecondaryStatus, Status, Stream};

/// The longest line stored; longer lines are cut, as CloudWatch cuts events at 256 KiB.
const MAX_LINE: usize = 256 * 1024;
/// How often the supervisor looks for stop requests from any process.
const POLL: Duration = Duration::from_millis(100);
/// How many lines the recorder stores in one transaction at most.
const BATCH: usize = 2048;
/// The most of `output/failure` or stderr that goes into `FailureReason`.
const REASON_LIMIT: usize = 1024;

/// Runs the job to its end and records the outcome. Never panics on job errors.
pub async fn supervise(config: Arc<LocalConfig>, plan: LocalPlan, extractor: MetricExtractor) {
    let name = plan.job.clone();
    if let Err(e) = run(&config, &plan, extractor).await {
        tracing::error!("job {name}: {e}");
        let reason = format!("InternalFailure: {}", e.message);
        let job = name.clone();
        let result = with_store(&config, move |store| {
            store.finish(&job, &Ending::failed(&reason), now_ms())
        })
        .await;
        if let Err(e) = result {
            tracing::error!("job {name}: could not record the failure: {e}");
        }
    }
}

/// Runs `f` with a fresh connection to the store on the blocking pool.
async fn with_store<T: Send + 'static>(
    config: &LocalConfig,
    f: impl FnOnce(&Store) -> Result<T, BackendError> + Send + 'static,
) -> Result<T, BackendError> {
    let path = config.database();
    off_thread(move || f(&Store::open(&path)?)).await?
}

fn io_error(context: &str) -> impl Fn(std::io::Error) -> BackendError + '_ {
    move |e| BackendError::internal(format!("{context}: {e}"))
}

struct Outcome {
    status: Status,
    secondary: SecondaryStatus,
    message: String,
    failure_reason: Option<String>,
    pack: bool,
}

async fn run(
    config: &LocalConfig,
    plan: &LocalPlan,
    extractor: MetricExtractor,
) -> Result<(), BackendError> {
    let name = plan.job.clone();
    let mut store = Store::open(&config.database())?;
    store.transition(
        &name,
        Status::InProgress,
        SecondaryStatus::Starting,
        "Preparing the instances for training",
        now_ms(),
    )?;
    let job_dir = config.job_dir(&name);
    let layouts: Vec<HostLayout> = plan
        .hosts
        .iter()
        .map(|h| HostLayout::new(job_dir.join(h)))
        .collect();

    let prepared = {
        let plan = plan.clone();
        let layouts = layouts.clone();
        off_thread(move || -> std::io::Result<()> {
            for (layout, host) in layouts.iter().zip(&plan.hosts) {
                layout.create()?;
                plan.write_config(layout, host)?;
                stage_code(&plan, layout)?;
            }
            Ok(())
        })
        .await?
    };
    if let Err(e) = prepared {
        return fail(&store, &name, format!("ClientError: {e}"));
    }
    if store.stop_requested(&name)? {
        return stopped_before_training(&store, &name);
    }

    store.transition(
        &name,
        Status::InProgress,
        SecondaryStatus::Downloading,
        "Downloading input data",
        now_ms(),
    )?;
    let mut plan = plan.clone();
    if let Err(e) = download_s3_channels(config, &mut plan).await {
        return fail(&store, &name, format!("ClientError: input data: {e}"));
    }
    let plan = &plan;
    let staged = {
        let plan = plan.clone();
        let layouts = layouts.clone();
        off_thread(move || stage_channels(&plan, &layouts)).await?
    };
    if let Err(e) = staged {
        return fail(&store, &name, format!("ClientError: input data: {e}"));
    }
    if store.stop_requested(&name)? {
        return stopped_before_training(&store, &name);
    }

    store.transition(
        &name,
        Status::InProgress,
        SecondaryStatus::Training,
        "Training image download completed. Training in progress.",
        now_ms(),
    )?;
    store.set_training_start(&name, now_ms())?;

    let outcome = train(config, plan, &layouts, extractor, &mut store).await?;

    let mut model_artifacts = None;
    if outcome.pack {
        if outcome.status == Status::Completed {
            store.transition(
                &name,
                Status::InProgress,
                SecondaryStatus::Uploading,
                "Uploading generated training model",
                now_ms(),
            )?;
        }
        let dest = plan.artifact_dir();
        let model = layouts[0].model();
        let data = layouts[0].output_data();
        let packed = off_thread(move || -> std::io::Result<PathBuf> {
            let model_tar = dest.join("model.tar.gz");
            archive::pack_dir(&model, &model_tar)?;
            archive::pack_dir(&data, &dest.join("output.tar.gz"))?;
            Ok(model_tar)
        })
        .await?;
        match packed {
            Ok(path) => model_artifacts = Some(format!("file://{}", path.display())),
            Err(e) => {
                return fail(
                    &store,
                    &name,
                    format!("ClientError: could not write the model artifacts: {e}"),
                );
            }
        }
    }
    let ending = Ending {
        status: outcome.status,
        secondary: outcome.secondary,
        message: &outcome.message,
        failure_reason: outcome.failure_reason.as_deref(),
        model_artifacts: model_artifacts.as_deref(),
    };
    store.finish(&name, &ending, now_ms())
}

/// Downloads the `s3://` channels into the job folder and points the plan at the copies.
async fn download_s3_channels(
    config: &LocalConfig,
    plan: &mut LocalPlan,
) -> Result<(), BackendError> {
    if plan.channels.iter().all(|c| c.s3_uri.is_none()) {
        return Ok(());
    }
    let clients = crate::backend::aws::Clients::load(&config.aws).await?;
    let root = config.job_dir(&plan.job).join("s3-input");
    for channel in &mut plan.channels {
        let Some(uri) = &channel.s3_uri else { continue };
        let dest = root.join(&channel.name);
        let field = format!("channel {}", channel.name);
        crate::backend::s3::download_prefix(&clients.s3, uri, &dest, &field).await?;
        channel.source = dest;
    }
    Ok(())
}

fn fail(store: &Store, name: &str, reason: String) -> Result<(), BackendError> {
    let reason: String = reason.chars().take(REASON_LIMIT).collect();
    store.finish(name, &Ending::failed(&reason), now_ms())
}

fn stopped_before_training(store: &Store, name: &str) -> Result<(), BackendError> {
    let ending = Ending {
        status: Status::Stopped,
        secondary: SecondaryStatus::Stopped,
        message: "Training job stopped",
        failure_reason: None,
        model_artifacts: None,
    };
    store.finish(name, &ending, now_ms())
}

/// Why the supervisor sent SIGTERM.
#[derive(Clone, Copy, PartialEq)]
enum Termination {
    Stop,
    MaxRuntime,
    HostFailed,
}

async fn train(
    config: &LocalConfig,
    plan: &LocalPlan,
    layouts: &[HostLayout],
    extractor: MetricExtractor,
    store: &mut Store,
) -> Result<Outcome, BackendError> {
    let name = plan.job.clone();
    let (tx, rx) = mpsc::channel::<Record>(8192);
    let recorder = spawn_recorder(config.database(), name.clone(), extractor, rx);

    let num_cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut children: Vec<(String, Child, i64)> = Vec::new();
    let mut readers = Vec::new();
    let mut spawn_error = None;
    for (layout, host) in layouts.iter().zip(&plan.hosts) {
        let (program, args) = plan.command(layout, &config.python);
        let mut cmd = Command::new(&program);
        cmd.args(&args)
            .current_dir(layout.code())
            .envs(plan.environment(layout, host, num_cpus))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .process_group(0);
        match cmd.spawn() {
            Ok(mut child) => {
                let pid = child.id().map(i64::from).unwrap_or(0);
                let start = process::start_time(pid).unwrap_or(0);
                store.add_process(&name, host, pid, start)?;
                if let Some(out) = child.stdout.take() {
                    readers.push(tokio::spawn(read_lines(
                        out,
                        host.clone(),
                        Stream::Stdout,
                        tx.clone(),
                    )));
                }
                if let Some(err) = child.stderr.take() {
                    readers.push(tokio::spawn(read_lines(
                        err,
                        host.clone(),
                        Stream::Stderr,
                        tx.clone(),
                    )));
                }
                children.push((host.clone(), child, pid));
            }
            Err(e) => {
                spawn_error = Some(format!(
                    "ClientError: cannot start {} for {host}: {e}",
                    program.display()
                ));
                break;
            }
        }
    }
    drop(tx);

    let started = Instant::now();
    // Each child is awaited by its own task, so an exit is seen at once.
    let (exit_tx, mut exits) = mpsc::channel::<(usize, std::io::Result<ExitStatus>)>(8);
    let mut procs: Vec<(String, i64)> = Vec::with_capacity(children.len());
    for (i, (host, mut child, pid)) in children.into_iter().enumerate() {
        procs.push((host, pid));
        let exit_tx = exit_tx.clone();
        tokio::spawn(async move {
            let _ = exit_tx.send((i, child.wait().await)).await;
        });
    }
    drop(exit_tx);
    let mut statuses: Vec<Option<ExitStatus>> = vec![None; procs.len()];
    let mut termination: Option<(Termination, Instant)> = None;
    let mut killed = false;
    if spawn_error.is_some() {
        termination = Some((Termination::HostFailed, Instant::now()));
        signal_running(&procs, &statuses, process::SIGKILL);
    }
    while !statuses.iter().all(Option::is_some) {
        if termination.is_none() {
            let reason = if store.stop_requested(&name)? {
                Some(Termination::Stop)
            } else if plan.max_runtime.is_some_and(|max| started.elapsed() >= max) {
                Some(Termination::MaxRuntime)
            } else if statuses.iter().flatten().any(|s| !s.success()) {
                Some(Termination::HostFailed)
            } else {
                None
            };
            if let Some(reason) = reason {
                if reason == Termination::MaxRuntime {
                    store.transition(
                        &name,
                        Status::Stopping,
                        SecondaryStatus::Stopping,
                        "Stopping the training job: MaxRuntimeInSeconds reached",
                        now_ms(),
                    )?;
                }
                signal_running(&procs, &statuses, process::SIGTERM);
                termination = Some((reason, Instant::now()));
            }
        } else if let Some((_, since)) = termination
            && !killed
            && since.elapsed() >= config.stop_grace
        {
            signal_running(&procs, &statuses, process::SIGKILL);
            killed = true;
        }
        tokio::select! {
            Some((i, status)) = exits.recv() => {
                statuses[i] = Some(status.map_err(io_error("wait"))?);
            }
            _ = tokio::time::sleep(POLL) => {}
        }
    }
    // Leftover grandchildren that still hold the pipes open must not keep the job alive.
    for (_, pid) in &procs {
        process::signal_group(*pid, process::SIGKILL);
    }
    for reader in readers {
        let _ = tokio::time::timeout(Duration::from_secs(5), reader).await;
    }
    let _ = tokio::task::spawn_blocking(move || recorder.join()).await;

    let graceful = !killed;
    let outcome = match termination.map(|t| t.0) {
        Some(Termination::Stop) => Outcome {
            status: Status::Stopped,
            secondary: SecondaryStatus::Stopped,
            message: "Training job stopped".into(),
            failure_reason: None,
            pack: graceful,
        },
        Some(Termination::MaxRuntime) => Outcome {
            status: Status::Stopped,
            secondary: SecondaryStatus::MaxRuntimeExceeded,
            message: format!(
                "Job stopped because MaxRuntimeInSeconds ({} s) was exceeded",
                plan.max_runtime.map_or(0, |d| d.as_secs())
            ),
            failure_reason: None,
            pack: graceful,
        },
        _ => {
            let failed = procs
                .iter()
                .zip(&statuses)
                .find(|(_, s)| s.is_some_and(|s| !s.success()));
            match (failed, spawn_error) {
                (_, Some(reason)) => failure(reason),
                (Some(((host, _), status)), None) => {
                    let layout = &layouts[plan.hosts.iter().position(|h| h == host).unwrap_or(0)];
                    failure(failure_reason(
                        store,
                        &name,
                        host,
                        layout,
                        status.expect("exited"),
                    )?)
                }
                (None, None) => Outcome {
                    status: Status::Completed,
                    secondary: SecondaryStatus::Completed,
                    message: "Training job completed".into(),
                    failure_reason: None,
                    pack: true,
                },
            }
        }
    };
    Ok(outcome)
}

fn failure(reason: String) -> Outcome {
    Outcome {
        status: Status::Failed,
        secondary: SecondaryStatus::Failed,
        message: "Training job failed".into(),
        failure_reason: Some(reason.chars().take(REASON_LIMIT).collect()),
        pack: false,
    }
}

/// `output/failure` if the algorithm wrote one, else the exit status and the stderr tail.
fn failure_reason(
    store: &Store,
    job: &str,
    host: &str,
    layout: &HostLayout,
    status: ExitStatus,
) -> Result<String, BackendError> {
    if let Ok(text) = std::fs::read_to_string(layout.failure_file())
        && !text.trim().is_empty()
    {
        return Ok(text.chars().take(REASON_LIMIT).collect());
    }
    let how = match status.code() {
        Some(code) => format!("ExitCode {code}"),
        None => {
            use std::os::unix::process::ExitStatusExt;
            format!("terminated by signal {}", status.signal().unwrap_or(0))
        }
    };
    let head = format!("AlgorithmError: {host}: {how}");
    let tail = store.stderr_tail(job, host, 20)?;
    if tail.is_empty() {
        return Ok(head);
    }
    // Keep the end of stderr, where the error usually is, within the limit.
    let mut budget = REASON_LIMIT.saturating_sub(head.len() + 1);
    let mut kept = Vec::new();
    for line in tail.iter().rev() {
        let cost = line.chars().count() + 1;
        if cost > budget {
            break;
        }
        budget -= cost;
        kept.push(line.as_str());
    }
    kept.reverse();
    Ok(format!("{head}\n{}", kept.join("\n")))
}

fn signal_running(procs: &[(String, i64)], statuses: &[Option<ExitStatus>], signal: i32) {
    for ((_, pid), status) in procs.iter().zip(statuses) {
        if status.is_none() {
            process::signal_group(*pid, signal);
        }
    }
}

async fn read_lines(
    stream: impl AsyncRead + Unpin,
    host: String,
    kind: Stream,
    tx: mpsc::Sender<Record>,
) {
    let mut reader = BufReader::with_capacity(64 * 1024, stream);
    let mut buf = Vec::with_capacity(256);
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        while matches!(buf.last(), Some(b'\n' | b'\r')) {
            buf.pop();
        }
        buf.truncate(MAX_LINE);
        let record = Record {
            ts: now_ms(),
            host: host.clone(),
            stream: kind,
            line: String::from_utf8_lossy(&buf).into_owned(),
            points: Vec::new(),
        };
        if tx.send(record).await.is_err() {
            break;
        }
    }
}

/// A thread with its own connection that extracts metrics and stores lines in batches.
fn spawn_recorder(
    database: PathBuf,
    job: String,
    extractor: MetricExtractor,
    mut rx: mpsc::Receiver<Record>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let store = match Store::open(&database) {
            Ok(store) => store,
            Err(e) => {
                tracing::error!("recorder for {job}: {e}");
                while rx.blocking_recv().is_some() {}
                return;
            }
        };
        let names = extractor.names().to_vec();
        let mut batch = Vec::with_capacity(BATCH);
        while let Some(first) = rx.blocking_recv() {
            batch.push(first);
            while batch.len() < BATCH {
                match rx.try_recv() {
                    Ok(record) => batch.push(record),
                    Err(_) => break,
                }
            }
            for record in &mut batch {
                let points = &mut record.points;
                extractor.extract(&record.line, |i, v| points.push((i, v)));
            }
            if let Err(e) = store.append(&job, &names, &batch) {
                tracing::error!("recorder for {job}: {e}");
            }
            batch.clear();
        }
    })
}
