//! Waiting on a job: live status, metric values and log lines in the terminal.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{EXIT_FAILED, EXIT_STOPPED, Failure, format};
use crate::backend::{Backend, ErrorKind};
use crate::job::{Cursor, JobDetail, LogLine, Status, Stream};
use crate::request::TrainingJobRequest;

const POLL: Duration = Duration::from_millis(200);
/// Between polls of a rate-limited service.
const REMOTE_POLL: Duration = Duration::from_secs(5);

fn poll_interval(backend: &dyn Backend) -> Duration {
    if backend.is_remote() {
        REMOTE_POLL
    } else {
        POLL
    }
}
const PAGE: usize = 5000;

/// Writes a line to stdout or stderr. A reader that went away (`| head`) is not an error:
/// the job goes on and so does its supervision.
fn say(stream: Stream, text: &str) {
    use std::io::Write;
    let _ = match stream {
        Stream::Stdout => writeln!(std::io::stdout().lock(), "{text}"),
        Stream::Stderr => writeln!(std::io::stderr().lock(), "{text}"),
    };
}

/// Writes a line to stderr, as [`say`] does.
pub(super) fn say_err(text: String) {
    say(Stream::Stderr, &text);
}

/// Prints a line: with its time and host, a redrawn line at its last state; or `raw`, its
/// text exactly as the job printed it.
fn emit(bar: &ProgressBar, line: &LogLine, raw: bool) {
    if raw {
        bar.suspend(|| say(line.stream, &line.text));
    } else {
        let text = format::log_line(line);
        bar.suspend(|| say(line.stream, &text));
    }
}

/// Prints new log lines after `cursor`; returns the new cursor.
async fn drain_logs(
    backend: &dyn Backend,
    name: &str,
    mut cursor: Cursor,
    bar: &ProgressBar,
    raw: bool,
) -> Result<Cursor, Failure> {
    loop {
        let page = backend.get_log_events(name, &cursor, PAGE).await?;
        for line in &page.lines {
            emit(bar, line, raw);
        }
        cursor = page.next_cursor;
        if page.lines.len() < PAGE {
            return Ok(cursor);
        }
    }
}

/// How a job's name is chosen when it is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    /// The request's name as it is: a taken name is refused.
    AsGiven,
    /// A time-stamped name (`--unique-name`): a name another run took in the same
    /// millisecond is replaced by a new one, so every run is kept.
    Unique,
}

/// Most names tried for a `--unique-name` run before giving up.
const NAME_TRIES: usize = 200;

/// Creates the job (under a new name while a unique name is taken), shows its progress
/// until it ends and returns the exit code. Ctrl+C stops the job gracefully (`stop_grace`
/// is the local SIGTERM-to-SIGKILL time, none on AWS); a second Ctrl+C leaves at once.
pub async fn run_and_wait(
    backend: &dyn Backend,
    request: TrainingJobRequest,
    naming: Naming,
    follow: bool,
    stop_grace: Option<Duration>,
) -> Result<u8, Failure> {
    let outcome = run_until(backend, request, naming, follow, stop_grace, &mut || false).await?;
    Ok(match outcome {
        Outcome::Ended(exit) | Outcome::Left(exit) => exit,
        Outcome::Changed => EXIT_STOPPED,
    })
}

/// How a run that was waited on ended.
pub enum Outcome {
    /// The job ended; the exit code.
    Ended(u8),
    /// The wait was left at once (a second Ctrl+C); the exit code.
    Left(u8),
    /// `changed` said so: the job was stopped and has ended.
    Changed,
}

/// [`run_and_wait`], also stopping the job (and waiting for its end) as soon as `changed`
/// says so. A failed job's diagnosis is said in one line.
pub async fn run_until(
    backend: &dyn Backend,
    mut request: TrainingJobRequest,
    naming: Naming,
    follow: bool,
    stop_grace: Option<Duration>,
    changed: &mut dyn FnMut() -> bool,
) -> Result<Outcome, Failure> {
    let base = crate::request::strip_stamp(request.name()).to_string();
    let mut tries = 0;
    let name = loop {
        let name = request.name().to_string();
        match backend.create_training_job(request.clone()).await {
            Ok(_) => break name,
            Err(e) if e.kind == ErrorKind::Conflict && naming == Naming::Unique => {
                tries += 1;
                if tries == NAME_TRIES {
                    return Err(Failure::from(e));
                }
                // Runs started together take turns at random.
                let pause = 1 + crate::request::random_below(5);
                tokio::time::sleep(Duration::from_millis(pause)).await;
                request.training_job_name = Some(crate::request::unique_name(&base));
            }
            Err(e) => {
                let taken = e.kind == ErrorKind::Conflict;
                let mut failure = Failure::from(e);
                if taken {
                    failure.message.push_str(
                        "; pass --name NAME or --unique-name to run it again under a new name",
                    );
                }
                return Err(failure);
            }
        }
    };
    say_err(format!("started {name} ({})", backend.label()));
    let mut watch = Watch {
        backend,
        name,
        bar: progress_bar(),
        follow,
        cursor: Cursor::default(),
        metric_cursor: Cursor::default(),
        last_values: BTreeMap::new(),
        metrics_failed: false,
        last_stage: String::new(),
    };
    let mut interrupts = 0;
    let mut interrupt = super::interrupt::Interrupts::listen();
    let mut superseded = false;
    let detail = loop {
        if let Some(detail) = watch.poll().await? {
            break detail;
        }
        if !superseded && changed() {
            superseded = true;
            let name = &watch.name;
            watch
                .bar
                .suspend(|| say_err(format!("the code changed: stopping {name}")));
            backend.stop_training_job(name).await?;
        }
        tokio::select! {
            _ = tokio::time::sleep(poll_interval(backend)) => {}
            _ = crate::backend::job_ended(backend) => {}
            _ = interrupt.next() => {
                interrupts += 1;
                if interrupts > 1 {
                    watch.bar.finish_and_clear();
                    return Ok(Outcome::Left(watch.leave()));
                }
                watch.stop(stop_grace).await?;
            }
        }
    };
    if follow {
        drain_logs(
            backend,
            &watch.name,
            watch.cursor.clone(),
            &watch.bar,
            false,
        )
        .await?;
    }
    watch.bar.finish_and_clear();
    say_err(format::describe(&detail).trim_end().to_string());
    if superseded {
        return Ok(Outcome::Changed);
    }
    if detail.summary.status == Status::Failed
        && let Ok(Some(diagnosis)) =
            crate::backend::diagnose::diagnose_job(backend, &watch.name).await
    {
        say_err(format!(
            "\n{}",
            super::diagnose::text(&diagnosis).trim_end()
        ));
    }
    Ok(Outcome::Ended(match detail.summary.status {
        Status::Completed => 0,
        Status::Stopped => EXIT_STOPPED,
        _ => EXIT_FAILED,
    }))
}

/// A spinner with the stage and the last metric values, on a terminal only.
fn progress_bar() -> ProgressBar {
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed_precise} {wide_msg}")
            .expect("the template is valid"),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Waiting on one job: where its logs and metrics were read up to, and what was shown.
struct Watch<'a> {
    backend: &'a dyn Backend,
    name: String,
    bar: ProgressBar,
    follow: bool,
    cursor: Cursor,
    metric_cursor: Cursor,
    last_values: BTreeMap<String, f64>,
    metrics_failed: bool,
    last_stage: String,
}

impl Watch<'_> {
    /// Prints what is new; the job's detail once it has ended.
    async fn poll(&mut self) -> Result<Option<JobDetail>, Failure> {
        if self.follow {
            self.cursor = drain_logs(
                self.backend,
                &self.name,
                self.cursor.clone(),
                &self.bar,
                false,
            )
            .await?;
        }
        self.read_metrics().await;
        let detail = self.backend.describe_training_job(&self.name).await?;
        let stage = stage(&detail);
        if !self.bar.is_hidden() {
            let metrics: Vec<String> = self
                .last_values
                .iter()
                .map(|(k, v)| format!("{k}={v:.4}"))
                .collect();
            self.bar
                .set_message(format!("{stage}  {}", metrics.join("  ")));
        } else if stage != self.last_stage {
            say_err(format!("{}: {stage}", self.name));
        }
        self.last_stage = stage;
        Ok(detail.summary.status.is_terminal().then_some(detail))
    }

    /// The newest value of each metric. Metrics are a nicety here: a failure to read them is
    /// said once, and the wait goes on.
    async fn read_metrics(&mut self) {
        match self
            .backend
            .get_metric_data(&self.name, &self.metric_cursor)
            .await
        {
            Ok(page) => {
                self.metric_cursor = page.next_cursor;
                for series in page.series {
                    if let Some(p) = series.points.last() {
                        self.last_values.insert(series.name, p.value);
                    }
                }
            }
            Err(e) if !self.metrics_failed => {
                self.metrics_failed = true;
                let name = &self.name;
                self.bar.suspend(|| {
                    say_err(format!("warning: cannot read the metrics of {name}: {e}"))
                });
            }
            Err(_) => {}
        }
    }

    /// The first Ctrl+C: a graceful stop.
    async fn stop(&self, stop_grace: Option<Duration>) -> Result<(), Failure> {
        let name = &self.name;
        self.bar.suspend(|| match stop_grace {
            Some(grace) => say_err(format!(
                "stopping {name}: SIGTERM now, SIGKILL after {} s; Ctrl+C again to quit at once",
                grace.as_secs_f64()
            )),
            None => say_err(format!(
                "stopping {name} (StopTrainingJob); Ctrl+C again to stop waiting"
            )),
        });
        Ok(self.backend.stop_training_job(name).await?)
    }

    /// The second Ctrl+C: leave at once; the exit code of an interrupted command.
    fn leave(&self) -> u8 {
        let name = &self.name;
        if self.backend.is_remote() {
            say_err(format!("stopped waiting; {name} goes on stopping on AWS"));
        } else {
            say_err(format!(
                "left at once: {name} ends with its supervisor, and the next start marks it \
                 interrupted"
            ));
        }
        130
    }
}

fn stage(detail: &JobDetail) -> String {
    match detail.summary.secondary_status {
        Some(s) => format!("{} ({s})", detail.summary.status),
        None => detail.summary.status.to_string(),
    }
}

/// `sagedesk logs`: prints what is stored, and with `follow` keeps going until the job ends.
pub async fn print_logs(
    backend: &dyn Backend,
    name: &str,
    follow: bool,
    raw: bool,
) -> Result<u8, Failure> {
    let bar = ProgressBar::hidden();
    let mut cursor = drain_logs(backend, name, Cursor::default(), &bar, raw).await?;
    if !follow {
        return Ok(0);
    }
    loop {
        let status = backend.describe_training_job(name).await?.summary.status;
        cursor = drain_logs(backend, name, cursor, &bar, raw).await?;
        if status.is_terminal() {
            return Ok(0);
        }
        tokio::select! {
            _ = tokio::time::sleep(poll_interval(backend)) => {}
            _ = crate::backend::job_ended(backend) => {}
        }
    }
}
