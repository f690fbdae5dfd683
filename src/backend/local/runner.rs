//! The supervisor of one local job: prepares the `/opt/ml` trees, runs one process per
//! host, records every line, enforces stops and limits, and packs the artifacts.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;

use super::contract::{HostLayout, LocalPlan, stage_channels, stage_code};
use super::process;
use super::store::{Ending, Record, Store, now_ms};
use super::{LocalConfig, off_thread};
use crate::backend::{BackendError, ErrorKind, archive};
use crate::job::{SecondaryStatus, Status, Stream};
use crate::request::metrics::MetricExtractor;

/// The longest line stored; longer lines are cut, as CloudWatch cuts events at 256 KiB.
const MAX_LINE: usize = 256 * 1024;
/// Of a cut line, the bytes kept from its end (where a progress bar's last values are).
const LINE_TAIL: usize = 4 * 1024;
/// How often the supervisor looks for stop requests from any process.
const POLL: Duration = Duration::from_millis(100);
/// How often staging progress is written to the job's status message.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);
/// How many lines the recorder stores in one transaction at most.
const BATCH: usize = 2048;
/// The most of `output/failure` or stderr that goes into `FailureReason`.
const REASON_LIMIT: usize = 1024;

/// Endings the supervisor could not write to the store (a full disk), by job: this process
/// still reports them, so a waiting `run` ends.
pub type Unrecorded = Arc<Mutex<HashMap<String, (Status, String)>>>;

/// Runs the job to its end and records the outcome. Never panics on job errors.
pub async fn supervise(
    config: Arc<LocalConfig>,
    plan: LocalPlan,
    extractor: MetricExtractor,
    unrecorded: Unrecorded,
) {
    let name = plan.job.clone();
    let fault = Arc::new(StorageFault::default());
    if let Err(e) = run(&config, &plan, extractor, &fault, &unrecorded).await {
        tracing::error!("job {name}: {e}");
        let reason = if e.kind == ErrorKind::StorageFull || fault.is_full() {
            fault.reason(&config)
        } else {
            format!("InternalFailure: {}", e.message)
        };
        let job = name.clone();
        let config2 = config.clone();
        let unrecorded = unrecorded.clone();
        let result = off_thread(move || {
            let ending = Ending::failed(&reason);
            match Store::open(&config2.database()) {
                Ok(store) => record_end(&store, &config2, &job, &ending, &unrecorded),
                Err(e) => {
                    remember(&unrecorded, &job, &ending);
                    Err(e)
                }
            }
        })
        .await;
        if let Ok(Err(e)) | Err(e) = result {
            tracing::error!("job {name}: could not record the failure: {e}");
        }
    }
}

/// Writes the job's end; on a full disk frees the data folder's reserve and tries again, and
/// failing that keeps the ending in memory for this process to report.
fn record_end(
    store: &Store,
    config: &LocalConfig,
    name: &str,
    ending: &Ending<'_>,
    unrecorded: &Unrecorded,
) -> Result<(), BackendError> {
    match store.finish(name, ending, now_ms()) {
        Err(e) if e.kind == ErrorKind::StorageFull => {
            config.release_reserve();
            store.finish(name, ending, now_ms()).inspect_err(|_| {
                remember(unrecorded, name, ending);
            })
        }
        other => other,
    }
}

fn remember(unrecorded: &Unrecorded, name: &str, ending: &Ending<'_>) {
    if let Ok(mut map) = unrecorded.lock() {
        let reason = ending.failure_reason.unwrap_or(ending.message).to_string();
        map.insert(name.to_string(), (ending.status, reason));
    }
}

/// What went wrong storing a job's lines: the first error and how many lines were dropped.
#[derive(Default)]
struct StorageFault {
    first: Mutex<Option<BackendError>>,
    dropped: AtomicU64,
}

impl StorageFault {
    /// Records a failed batch; true the first time (the error is reported once).
    fn record(&self, error: BackendError, lines: usize) -> bool {
        self.dropped.fetch_add(lines as u64, Ordering::Relaxed);
        let Ok(mut first) = self.first.lock() else {
            return false;
        };
        let new = first.is_none();
        first.get_or_insert(error);
        new
    }

    fn is_full(&self) -> bool {
        self.first
            .lock()
            .is_ok_and(|f| f.as_ref().is_some_and(|e| e.kind == ErrorKind::StorageFull))
    }

    fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// `FailureReason` for a job ended by a full disk.
    fn reason(&self, config: &LocalConfig) -> String {
        format!(
            "ClientError: no space left on device at {}, {} log lines dropped",
            config.home.display(),
            self.dropped()
        )
    }
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
    fault: &Arc<StorageFault>,
    unrecorded: &Unrecorded,
) -> Result<(), BackendError> {
    let name = plan.job.clone();
    let mut store = Store::open(&config.database())?;
    let fail = |store: &Store, name: &str, reason: String| {
        let reason: String = reason.chars().take(REASON_LIMIT).collect();
        record_end(store, config, name, &Ending::failed(&reason), unrecorded)
    };
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
        let database = config.database();
        off_thread(move || {
            let store = Store::open(&database).ok();
            let mut last = Instant::now();
            stage_channels(&plan, &layouts, &mut |done, total| {
                if total == 0 || (last.elapsed() < PROGRESS_EVERY && done < total) {
                    return;
                }
                last = Instant::now();
                if let Some(store) = &store {
                    let message = format!(
                        "Downloading input data: {} of {}",
                        crate::job::bytes(done),
                        crate::job::bytes(total)
                    );
                    let _ = store.transition(
                        &plan.job,
                        Status::InProgress,
                        SecondaryStatus::Downloading,
                        &message,
                        now_ms(),
                    );
                }
            })
        })
        .await?
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

    let outcome = train(config, plan, &layouts, extractor, &mut store, fault).await?;

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
    if let Some(first) = fault.first.lock().ok().and_then(|f| f.clone()) {
        tracing::error!(
            "job {name}: {} log lines could not be stored; the first error: {first}",
            fault.dropped()
        );
    }
    record_end(&store, config, &name, &ending, unrecorded)
}

/// Downloads the `s3://` channels into the job folder and points the plan at the copies.
async fn download_s3_channels(
    config: &LocalConfig,
    plan: &mut LocalPlan,
) -> Result<(), BackendError> {
    if plan.channels.iter().all(|c| c.s3_uri.is_none()) {
        return Ok(());
    }
    let clients = crate::backend::sdk::Clients::load(&config.aws).await?;
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
    StorageFull,
}

/// The job's process groups. Dropping this kills every group (an error path, a panic), and
/// a watchdog process kills them if the supervisor itself dies (`kill -9`, a crash), so no
/// job trains unsupervised.
struct ProcessGroups {
    pgids: Vec<i64>,
    watchdog: Option<(Child, ChildStdin)>,
}

impl ProcessGroups {
    fn new() -> Self {
        Self {
            pgids: Vec::new(),
            watchdog: None,
        }
    }

    fn add(&mut self, pgid: i64) {
        if pgid > 1 {
            self.pgids.push(pgid);
        }
    }

    /// Starts the watchdog: a shell in its own process group that waits for the supervisor
    /// to close its stdin. EOF without `done` means the supervisor died: kill the groups.
    fn arm(&mut self) {
        if self.pgids.is_empty() {
            return;
        }
        let groups: Vec<String> = self.pgids.iter().map(|p| format!("-{p}")).collect();
        let script = format!(
            "read line; [ \"$line\" = done ] || kill -s KILL -- {}",
            groups.join(" ")
        );
        let spawned = Command::new("/bin/sh")
            .args(["-c", &script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .process_group(0)
            .kill_on_drop(false)
            .spawn();
        match spawned {
            Ok(mut child) => {
                if let Some(stdin) = child.stdin.take() {
                    self.watchdog = Some((child, stdin));
                }
            }
            Err(e) => tracing::warn!("no watchdog for the job's processes: {e}"),
        }
    }

    fn signal(&self, signal: i32) {
        for pgid in &self.pgids {
            process::signal_group(*pgid, signal);
        }
    }

    /// Kills what is left and tells the watchdog all is well.
    async fn finish(mut self) {
        self.signal(process::SIGKILL);
        self.pgids.clear();
        if let Some((mut child, mut stdin)) = self.watchdog.take() {
            let _ = stdin.write_all(b"done\n").await;
            drop(stdin);
            let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
        }
    }
}

impl Drop for ProcessGroups {
    fn drop(&mut self) {
        // An early return: the watchdog's stdin closes with it and it kills the groups too.
        self.signal(process::SIGKILL);
    }
}

async fn train(
    config: &LocalConfig,
    plan: &LocalPlan,
    layouts: &[HostLayout],
    extractor: MetricExtractor,
    store: &mut Store,
    fault: &Arc<StorageFault>,
) -> Result<Outcome, BackendError> {
    let name = plan.job.clone();
    let (tx, rx) = mpsc::channel::<Record>(8192);
    let recorder = spawn_recorder(
        config.database(),
        name.clone(),
        extractor,
        rx,
        fault.clone(),
    );

    let num_cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut groups = ProcessGroups::new();
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
                groups.add(pid);
                let start = process::start_time(pid).unwrap_or(0);
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
                store.add_process(&name, host, pid, start)?;
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
    groups.arm();
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
            let reason = if fault.is_full() {
                Some(Termination::StorageFull)
            } else if store.stop_requested(&name)? {
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
    groups.finish().await;
    for reader in readers {
        let _ = tokio::time::timeout(Duration::from_secs(5), reader).await;
    }
    let _ = tokio::task::spawn_blocking(move || recorder.join()).await;

    let graceful = !killed;
    let outcome = match termination.map(|t| t.0) {
        Some(Termination::StorageFull) => failure(fault.reason(config)),
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
                (Some(((host, _), Some(status))), None) => {
                    let layout = &layouts[plan.hosts.iter().position(|h| h == host).unwrap_or(0)];
                    failure(failure_reason(store, &name, host, layout, *status)?)
                }
                _ => Outcome {
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

/// One line as it is read: the first bytes up to [`MAX_LINE`] (less a tail), the last
/// [`LINE_TAIL`] bytes, and how many in between were dropped. Memory stays bounded however
/// long a line runs without a newline.
#[derive(Default)]
struct LineBuffer {
    head: Vec<u8>,
    tail: Vec<u8>,
    dropped: u64,
}

impl LineBuffer {
    const HEAD: usize = MAX_LINE - LINE_TAIL;

    fn push(&mut self, mut bytes: &[u8]) {
        if self.head.len() < Self::HEAD {
            let room = (Self::HEAD - self.head.len()).min(bytes.len());
            self.head.extend_from_slice(&bytes[..room]);
            bytes = &bytes[room..];
        }
        if bytes.is_empty() {
            return;
        }
        self.tail.extend_from_slice(bytes);
        if self.tail.len() > 2 * LINE_TAIL {
            let cut = self.tail.len() - LINE_TAIL;
            self.dropped += cut as u64;
            self.tail.drain(..cut);
        }
    }

    fn is_empty(&self) -> bool {
        self.head.is_empty() && self.tail.is_empty() && self.dropped == 0
    }

    /// The line as text, with a marker where bytes were dropped; the buffer is emptied.
    fn take(&mut self) -> String {
        let mut tail = std::mem::take(&mut self.tail);
        while matches!(tail.last().or(self.head.last()), Some(b'\r')) {
            if tail.pop().is_none() {
                self.head.pop();
            }
        }
        if self.head.len() + tail.len() > MAX_LINE {
            let cut = self.head.len() + tail.len() - MAX_LINE;
            self.dropped += cut as u64;
            tail.drain(..cut);
        }
        let mut line = String::from_utf8_lossy(&self.head).into_owned();
        if self.dropped > 0 {
            line.push_str(&format!(
                " […{} bytes of this line not kept: lines keep their first and last bytes, \
                 {} KiB in all…] ",
                self.dropped,
                MAX_LINE / 1024
            ));
        }
        line.push_str(&String::from_utf8_lossy(&tail));
        self.head.clear();
        self.dropped = 0;
        line
    }
}

async fn read_lines(
    stream: impl AsyncRead + Unpin,
    host: String,
    kind: Stream,
    tx: mpsc::Sender<Record>,
) {
    let mut reader = BufReader::with_capacity(64 * 1024, stream);
    let mut line = LineBuffer::default();
    loop {
        let (used, complete) = match reader.fill_buf().await {
            Ok([]) | Err(_) => break,
            Ok(chunk) => match chunk.iter().position(|&b| b == b'\n') {
                Some(end) => {
                    line.push(&chunk[..end]);
                    (end + 1, true)
                }
                None => {
                    line.push(chunk);
                    (chunk.len(), false)
                }
            },
        };
        reader.consume(used);
        if complete && !send_line(&tx, &host, kind, line.take()).await {
            return;
        }
    }
    if !line.is_empty() {
        send_line(&tx, &host, kind, line.take()).await;
    }
}

async fn send_line(tx: &mpsc::Sender<Record>, host: &str, stream: Stream, line: String) -> bool {
    let record = Record {
        ts: now_ms(),
        host: host.to_string(),
        stream,
        line,
        points: Vec::new(),
    };
    tx.send(record).await.is_ok()
}

/// A thread with its own connection that extracts metrics and stores lines in batches.
/// Lines it cannot store are counted in `fault` (the first error is reported once) and the
/// channel is still drained, so the job's output never backs up.
fn spawn_recorder(
    database: PathBuf,
    job: String,
    extractor: MetricExtractor,
    mut rx: mpsc::Receiver<Record>,
    fault: Arc<StorageFault>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let store = match Store::open(&database) {
            Ok(store) => store,
            Err(e) => {
                tracing::error!("recorder for {job}: {e}");
                let mut lines = 0;
                while rx.blocking_recv().is_some() {
                    lines += 1;
                }
                fault.record(e, lines);
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
            if let Err(e) = store.append(&job, &names, &batch)
                && fault.record(e.clone(), batch.len())
            {
                tracing::error!("recorder for {job}: {e}; later failures are counted");
            }
            batch.clear();
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_without_end_keeps_its_head_and_tail() {
        let mut line = LineBuffer::default();
        line.push(b"start ");
        for _ in 0..10_000 {
            line.push(&[b'x'; 1000]);
        }
        line.push(b" loss=0.25\r");
        assert!(line.head.len() + line.tail.len() <= MAX_LINE + LINE_TAIL);
        let text = line.take();
        assert!(text.len() < MAX_LINE + 200, "{}", text.len());
        assert!(text.starts_with("start xxx"));
        assert!(
            text.ends_with("x loss=0.25"),
            "{}",
            &text[text.len() - 40..]
        );
        let dropped = 6 + 10_000_000 + 10 - (MAX_LINE);
        assert!(text.contains(&format!("…{dropped} bytes")), "{dropped}");
        assert!(line.is_empty());
        line.push(b"short\r");
        assert_eq!(line.take(), "short");
    }
}
