//! Training: one process per host, watched until all have exited, with SIGTERM then
//! SIGKILL on a stop, on MaxRuntimeInSeconds or when a host fails; then the outcome, as the
//! service reports it. A full disk does not end the job: its log lines are dropped and
//! counted, as the service's log agent would.

use std::process::ExitStatus;
use std::sync::Arc;
use std::time::Instant;

use tokio::process::Child;
use tokio::sync::mpsc;

use super::credentials::Grant;
use super::groups::ProcessGroups;
use super::hosts::Start;
use super::output::{Lines, QUEUE, READERS_GRACE, Reader, child_pipes, spawn_recorder};
use super::pipes::Pipes;
use super::requirements::{Prepared, prepare};
use super::{LocalConfig, POLL, REASON_LIMIT, StorageFault};
use crate::backend::BackendError;
use crate::backend::local::contract::{HostLayout, LocalPlan};
use crate::backend::local::sandbox;
use crate::job::{SecondaryStatus, Status};
use crate::process;
use crate::request::metrics::MetricExtractor;
use crate::store::{Ending, Record, Store, now_ms};

/// How training ended, before the artifacts are packed and the end recorded.
pub(super) struct Outcome {
    pub(super) ending: Ending,
    /// Whether the model and output data are packed (a graceful end).
    pub(super) pack: bool,
}

/// Why the supervisor sent SIGTERM.
#[derive(Clone, Copy, PartialEq)]
enum Termination {
    Stop,
    MaxRuntime,
    HostFailed,
}

/// The hosts' processes as started.
struct Hosts {
    /// `(host, pid)` of each process started.
    procs: Vec<(String, i64)>,
    children: Vec<Child>,
    readers: Vec<Reader>,
    groups: ProcessGroups,
    /// Why a host could not be started, if one could not.
    spawn_error: Option<String>,
}

/// How the processes ended, for the outcome.
struct Ended {
    procs: Vec<(String, i64)>,
    spawn_error: Option<String>,
    watched: Watched,
}

/// What watching the processes found.
struct Watched {
    statuses: Vec<Option<ExitStatus>>,
    /// The host whose failure ended the job: the first to exit with an error before any
    /// host was told to end.
    first_failed: Option<usize>,
    termination: Option<Termination>,
    killed: bool,
}

/// Runs every host's entry point until all have exited, recording their output.
pub(super) async fn train(
    config: &LocalConfig,
    plan: &LocalPlan,
    layouts: &[HostLayout],
    extractor: MetricExtractor,
    store: &mut Store,
    fault: &Arc<StorageFault>,
    grant: &Grant,
) -> Result<Outcome, BackendError> {
    let (tx, rx) = mpsc::channel::<Vec<Record>>(QUEUE);
    let recorder = spawn_recorder(
        config.database(),
        plan.job.clone(),
        extractor,
        rx,
        fault.clone(),
    );
    // Every process of the job, the installation of its requirements included, carries the
    // job's mark and is watched from here on.
    let mut groups = ProcessGroups::new(config.job_dir(&plan.job).display().to_string());
    groups.arm();
    let python = plan.interpreter.as_ref().unwrap_or(&config.python);
    let prepared = prepare(config, plan, &layouts[0], python, store, &tx, &mut groups).await?;
    let python = match prepared {
        Prepared::Ready(python) => python,
        ended => {
            groups.finish().await;
            drop(tx);
            let _ = tokio::task::spawn_blocking(move || recorder.join()).await;
            return Ok(match ended {
                Prepared::Failed(reason) => failure(reason),
                _ => Outcome {
                    ending: Ending::stopped(SecondaryStatus::Stopped, "Training job stopped"),
                    pack: false,
                },
            });
        }
    };
    // Resolved once: the hosts and the shims on their `PATH` run the same interpreter.
    let python = process::which(&python).unwrap_or(python);
    let start = Start {
        plan,
        job_dir: &config.job_dir(&plan.job),
        python: &python,
        sandboxed: sandbox::availability().available(),
        aws: &grant.env,
        num_cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        sagedesk: config
            .supervisor
            .clone()
            .or_else(|| std::env::current_exe().ok()),
        debug_port: config.debug_port,
    };
    for (index, layout) in layouts.iter().enumerate() {
        if let Some(entry) = start.launch_json(layout, index) {
            let host = &plan.hosts[index];
            let port = config
                .debug_port
                .map_or(0, |p| super::debug::port_of(p, index));
            let lines = [
                format!(
                    "Waiting for a debugger on 127.0.0.1:{port} ({host}); attach with this launch.json configuration:"
                ),
                entry,
            ];
            for line in lines {
                super::requirements::say(&tx, host, line).await;
            }
        }
    }
    let pipes = match Pipes::start(plan, layouts) {
        Ok(pipes) => Some(pipes),
        Err(e) => {
            groups.finish().await;
            drop(tx);
            let _ = tokio::task::spawn_blocking(move || recorder.join()).await;
            return Ok(failure(format!(
                "ClientError: cannot make the Pipe channels: {e}"
            )));
        }
    };
    let mut hosts = spawn_hosts(&start, layouts, store, tx, groups)?;
    let watched = watch(config, plan, store, &mut hosts).await?;
    let Hosts {
        procs,
        readers,
        groups,
        spawn_error,
        ..
    } = hosts;
    // Leftover grandchildren that still hold the pipes open must not keep the job alive.
    groups.finish().await;
    if let Some(pipes) = pipes {
        let _ = tokio::task::spawn_blocking(move || pipes.finish()).await;
    }
    let until = Instant::now() + READERS_GRACE;
    for reader in readers {
        reader.finish(until).await;
    }
    let _ = tokio::task::spawn_blocking(move || recorder.join()).await;
    let ended = Ended {
        procs,
        spawn_error,
        watched,
    };
    let mut outcome = outcome(plan, layouts, store, ended)?;
    // A job that failed for lack of credentials it ran without says why it had none.
    if let Some(without) = &grant.without
        && outcome.ending.status == Status::Failed
        && let Some(reason) = &outcome.ending.failure_reason
        && super::credentials::lacks_credentials(reason)
    {
        outcome.ending.failure_reason = Some(without_credentials(without, reason));
    }
    Ok(outcome)
}

/// Starts one process per host, each in its own process group, its output read into `tx`.
fn spawn_hosts(
    start: &Start,
    layouts: &[HostLayout],
    store: &Store,
    tx: Lines,
    groups: ProcessGroups,
) -> Result<Hosts, BackendError> {
    let plan = start.plan;
    let mut hosts = Hosts {
        procs: Vec::new(),
        children: Vec::new(),
        readers: Vec::new(),
        groups,
        spawn_error: None,
    };
    if let Err(e) = start.write_files(layouts) {
        hosts.spawn_error = Some(format!("ClientError: cannot prepare the hosts: {e}"));
        return Ok(hosts);
    }
    for (index, (layout, host)) in layouts.iter().zip(&plan.hosts).enumerate() {
        let (mark, job) = hosts.groups.mark();
        let mut command = match start.command(layout, index) {
            Ok(Some(command)) => command,
            // Its processes come from another host's `mpirun`.
            Ok(None) => continue,
            Err(reason) => {
                hosts.spawn_error = Some(reason);
                break;
            }
        };
        let spawned = command
            .env(mark, job)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .process_group(0)
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) => {
                let program = start
                    .program(layout, index)
                    .map(|(p, _)| p.display().to_string())
                    .unwrap_or_default();
                let why = sandbox::explain(&e).unwrap_or_else(|| e.to_string());
                hosts.spawn_error = Some(format!(
                    "ClientError: cannot start {program} for {host}: {why}"
                ));
                break;
            }
        };
        let pid = child.id().map(i64::from).unwrap_or(0);
        hosts.groups.add(pid);
        for (pipe, kind) in child_pipes(&mut child, host) {
            let nap = widen(&pipe);
            let reader = Reader::spawn(pipe, host.clone(), kind, tx.clone(), nap);
            hosts.readers.push(reader);
        }
        hosts.procs.push((host.clone(), pid));
        hosts.children.push(child);
        let start = process::start_time(pid).unwrap_or(0);
        store.add_process(&plan.job, host, pid, start)?;
    }
    Ok(hosts)
}

/// Gives a pipe from the job 1 MiB of room (64 KiB by default): a chatty script writes on
/// while the reader is between reads, with fewer wake-ups on both sides. False when the
/// system refused.
fn widen(pipe: &impl std::os::fd::AsRawFd) -> bool {
    // SAFETY: F_SETPIPE_SZ on a pipe this process owns; a refusal leaves the default size.
    unsafe { libc::fcntl(pipe.as_raw_fd(), libc::F_SETPIPE_SZ, 1 << 20) >= 1 << 20 }
}

/// Waits for every process to exit, sending SIGTERM when the job must end and SIGKILL
/// after the grace period.
async fn watch(
    config: &LocalConfig,
    plan: &LocalPlan,
    store: &mut Store,
    hosts: &mut Hosts,
) -> Result<Watched, BackendError> {
    let started = Instant::now();
    // Each child is awaited by its own task, so an exit is seen at once.
    let (exit_tx, mut exits) = mpsc::channel::<(usize, std::io::Result<ExitStatus>)>(8);
    for (i, mut child) in hosts.children.drain(..).enumerate() {
        let exit_tx = exit_tx.clone();
        tokio::spawn(async move {
            let _ = exit_tx.send((i, child.wait().await)).await;
        });
    }
    drop(exit_tx);
    let procs = &hosts.procs;
    let mut w = Watched {
        statuses: vec![None; procs.len()],
        first_failed: None,
        termination: None,
        killed: false,
    };
    let mut since = Instant::now();
    if hosts.spawn_error.is_some() {
        w.termination = Some(Termination::HostFailed);
        signal_running(procs, &w.statuses, process::SIGKILL);
    }
    while !w.statuses.iter().all(Option::is_some) {
        if w.termination.is_none() {
            if let Some(reason) = must_end(plan, store, &w.statuses, started)? {
                if reason == Termination::MaxRuntime {
                    store.transition(
                        &plan.job,
                        Status::Stopping,
                        SecondaryStatus::Stopping,
                        "Stopping the training job: MaxRuntimeInSeconds reached",
                        now_ms(),
                    )?;
                }
                signal_running(procs, &w.statuses, process::SIGTERM);
                w.termination = Some(reason);
                since = Instant::now();
            }
        } else if !w.killed && since.elapsed() >= config.stop_grace {
            signal_running(procs, &w.statuses, process::SIGKILL);
            w.killed = true;
        }
        tokio::select! {
            Some((i, status)) = exits.recv() => {
                let status = status.map_err(|e| BackendError::internal(format!("wait: {e}")))?;
                if !status.success() && w.termination.is_none() && w.first_failed.is_none() {
                    w.first_failed = Some(i);
                }
                w.statuses[i] = Some(status);
            }
            _ = tokio::time::sleep(POLL) => {}
        }
    }
    Ok(w)
}

/// Why the job must end now, if it must.
fn must_end(
    plan: &LocalPlan,
    store: &Store,
    statuses: &[Option<ExitStatus>],
    started: Instant,
) -> Result<Option<Termination>, BackendError> {
    Ok(if store.stop_requested(&plan.job)? {
        Some(Termination::Stop)
    } else if plan.max_runtime.is_some_and(|max| started.elapsed() >= max) {
        Some(Termination::MaxRuntime)
    } else if statuses.iter().flatten().any(|s| !s.success()) {
        Some(Termination::HostFailed)
    } else {
        None
    })
}

/// The outcome the service would report for how the processes ended.
fn outcome(
    plan: &LocalPlan,
    layouts: &[HostLayout],
    store: &Store,
    ended: Ended,
) -> Result<Outcome, BackendError> {
    let watched = ended.watched;
    let stopped = |secondary, message: String| Outcome {
        ending: Ending::stopped(secondary, message),
        pack: !watched.killed,
    };
    Ok(match watched.termination {
        Some(Termination::Stop) => stopped(SecondaryStatus::Stopped, "Training job stopped".into()),
        Some(Termination::MaxRuntime) => stopped(
            SecondaryStatus::MaxRuntimeExceeded,
            format!(
                "Job stopped because MaxRuntimeInSeconds ({} s) was exceeded",
                plan.max_runtime.map_or(0, |d| d.as_secs())
            ),
        ),
        _ => {
            // The host that failed first, not one ended because of it.
            let failed = watched
                .first_failed
                .and_then(|i| ended.procs.get(i).zip(watched.statuses.get(i)))
                .or_else(|| {
                    ended
                        .procs
                        .iter()
                        .zip(&watched.statuses)
                        .find(|(_, s)| s.is_some_and(|s| !s.success()))
                });
            match (failed, &ended.spawn_error) {
                (_, Some(reason)) => failure(reason.clone()),
                (Some(((host, _), Some(status))), None) => {
                    let layout = &layouts[plan.hosts.iter().position(|h| h == host).unwrap_or(0)];
                    failure(failure_reason(store, &plan.job, host, layout, *status)?)
                }
                _ => Outcome {
                    ending: Ending::completed(),
                    pack: true,
                },
            }
        }
    })
}

/// `reason` said to be the lack of credentials (`without` says why there were none):
/// its first line, then as much of the rest's end as fits.
fn without_credentials(without: &str, reason: &str) -> String {
    let (first, rest) = reason.split_once('\n').unwrap_or((reason, ""));
    let head = format!("The job ran without AWS credentials ({without}). {first}");
    with_end(head, rest.lines())
}

fn failure(reason: String) -> Outcome {
    Outcome {
        ending: Ending::failed(reason.chars().take(REASON_LIMIT).collect::<String>()),
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
    // Only the start is read: the file is the script's, and may be of any size.
    let mut head = Vec::new();
    if let Ok(file) = std::fs::File::open(layout.failure_file()) {
        use std::io::Read;
        let _ = file.take(4 * REASON_LIMIT as u64).read_to_end(&mut head);
    }
    let text = String::from_utf8_lossy(&head);
    if !text.trim().is_empty() {
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
    Ok(with_end(head, tail.iter().map(String::as_str)))
}

/// `head`, then as many of the last `lines` (whole, in order) as fit with it in
/// [`REASON_LIMIT`] characters: the end of an error output is where the error is.
fn with_end<'a>(head: String, lines: impl DoubleEndedIterator<Item = &'a str>) -> String {
    let mut budget = REASON_LIMIT.saturating_sub(head.chars().count() + 1);
    let mut kept = Vec::new();
    for line in lines.rev() {
        let cost = line.chars().count() + 1;
        if cost > budget {
            break;
        }
        budget -= cost;
        kept.push(line);
    }
    kept.reverse();
    let said = if kept.is_empty() {
        head
    } else {
        format!("{head}\n{}", kept.join("\n"))
    };
    said.chars().take(REASON_LIMIT).collect()
}

fn signal_running(procs: &[(String, i64)], statuses: &[Option<ExitStatus>], signal: i32) {
    for ((_, pid), status) in procs.iter().zip(statuses) {
        if status.is_none() {
            process::signal_group(*pid, signal);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_keeps_whole_lines_from_the_end_counted_in_characters() {
        // 300 lines of 10 three-byte characters: only the last ones fit in the limit.
        let text: Vec<String> = (0..300).map(|i| format!("{i:03}€€€€€€€")).collect();
        let said = without_credentials("refused", &format!("Traceback\n{}", text.join("\n")));
        assert!(
            said.chars().count() <= REASON_LIMIT,
            "{}",
            said.chars().count()
        );
        assert!(said.starts_with("The job ran without AWS credentials (refused). Traceback\n"));
        assert!(said.ends_with("299€€€€€€€"), "{said}");
        // Whole lines only: every kept line is one of the originals.
        for line in said.lines().skip(1) {
            assert!(text.contains(&line.to_string()), "{line:?}");
        }
        // Far more than a byte count would have allowed: 1,024 bytes hold 39 such lines.
        assert!(said.lines().count() > 60, "{}", said.lines().count());
    }
}
