//! The headless command line: run, list, describe, stop, and read logs and metrics of jobs;
//! with no command it starts the worker and opens the window. The one place that wires the
//! parts together, so it may import all of them.

mod command;
mod compare;
mod diagnose;
mod diff;
mod follow;
mod format;
mod interrupt;
mod local;
mod preflight;
mod report;
mod tune;
mod watch;

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

pub use command::{Command, RuntimeAction, TuningAction};

use crate::backend::local::{JobCredentials, LocalBackend, LocalConfig};
use crate::backend::sdk::AwsConnection;
use crate::backend::{Backend, BackendError, Connection, ErrorKind};
use crate::job::{Cursor, ListFilter};
use crate::request;
use crate::request::validate::{self, Target};
use crate::worker::{Folders, Worker};

/// Exit code: the job or command failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit code: the input could not be read or is not acceptable: an unreadable file, or a
/// request that is not valid (`validate` and `run` alike).
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit code: the job was stopped.
pub const EXIT_STOPPED: u8 = 3;

/// SageDesk: SageMaker training jobs on your desktop.
#[derive(Debug, Parser)]
#[command(name = "sagedesk", version, about)]
pub struct Cli {
    /// What to do; without a command the window opens.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Act on AWS (SageMaker, CloudWatch Logs, CloudWatch, S3) instead of this machine.
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Where to reach AWS; any of these implies `--aws`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AwsArgs {
    /// Use AWS through the default profile, or the one given.
    #[arg(long, global = true)]
    pub aws: bool,
    /// The profile in ~/.aws/config or ~/.aws/credentials (else AWS_PROFILE or default).
    #[arg(long, global = true, value_name = "P")]
    pub profile: Option<String>,
    /// The region (else AWS_REGION or the profile's).
    #[arg(long, global = true, value_name = "R")]
    pub region: Option<String>,
    /// Send every call to this endpoint, e.g. an emulator (else AWS_ENDPOINT_URL).
    #[arg(long, global = true, value_name = "U")]
    pub endpoint_url: Option<String>,
}

impl AwsArgs {
    /// The AWS connection asked for, if any.
    pub fn connection(&self) -> Option<Connection> {
        let any = self.aws
            || self.profile.is_some()
            || self.region.is_some()
            || self.endpoint_url.is_some();
        any.then(|| {
            Connection::Aws(
                AwsConnection {
                    profile: self.profile.clone(),
                    region: self.region.clone(),
                    endpoint_url: self.endpoint_url.clone(),
                }
                .normalized(),
            )
        })
    }
}

/// A CLI failure: the message to print and the exit code.
#[derive(Debug)]
pub struct Failure {
    /// What went wrong, naming the file, member or job.
    pub message: String,
    /// The process exit code.
    pub code: u8,
}

impl From<BackendError> for Failure {
    fn from(e: BackendError) -> Self {
        let code = match e.kind {
            ErrorKind::Validation | ErrorKind::Unsupported => EXIT_BAD_INPUT,
            _ => EXIT_FAILED,
        };
        Failure {
            message: e.to_string(),
            code,
        }
    }
}

impl From<request::RequestError> for Failure {
    fn from(e: request::RequestError) -> Self {
        Failure {
            message: e.to_string(),
            code: EXIT_BAD_INPUT,
        }
    }
}

impl Cli {
    /// Whether this command supervises jobs (the window, `run`): such a process must not
    /// die of SIGPIPE when a reader of its output goes away.
    pub fn supervises(&self) -> bool {
        matches!(
            self.command,
            None | Some(
                Command::Run { .. }
                    | Command::Supervise { .. }
                    | Command::Tune { .. }
                    | Command::SuperviseTuning { .. }
            )
        )
    }
}

/// Runs a parsed command line and returns the exit code.
pub fn run(cli: Cli) -> ExitCode {
    // Each local job is supervised by this program in a process of its own.
    if let Ok(program) = std::env::current_exe() {
        crate::backend::local::supervise_with(program);
    }
    if let Ok(config) = LocalConfig::from_env() {
        crate::crash::install(&config.home);
    }
    if let Some(Command::Shell { name, host, pdb }) = &cli.command {
        return local::shell(name, host, *pdb);
    }
    if let Some(Command::EnterHost { dir, host, command }) = &cli.command {
        let error = crate::backend::local::sandbox::enter_host(dir, host, command);
        eprintln!("error: cannot enter {host}: {error}");
        return ExitCode::from(EXIT_FAILED);
    }
    // A tuning job whose tuner is gone goes on from where it was.
    if !matches!(
        cli.command,
        Some(Command::SuperviseTuning { .. } | Command::Supervise { .. })
    ) && let Ok(config) = LocalConfig::from_env()
    {
        for name in crate::backend::local::tuning::run::resume_orphans(&config) {
            eprintln!("note: tuning job {name} had lost its process; it goes on");
        }
    }
    let connection = cli.aws.connection();
    let Some(command) = cli.command else {
        return open_window(connection);
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    match runtime.block_on(dispatch(command, connection)) {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

fn validate_file(file: &std::path::Path, target: Target, json: bool) -> Result<u8, Failure> {
    let diagnostics = match request::tuning::read_tuning_request_value(file)? {
        // A CreateHyperParameterTuningJob request.
        Some(value) => {
            validate::validate_tuning_value(&value, target, runtime_checks(target).as_deref())
        }
        None => {
            let (value, notices) = request::read_value_file(file)?;
            for notice in &notices {
                eprintln!("note: {}: {notice}", file.display());
            }
            validate::validate_value(&value, target, runtime_checks(target).as_deref())
        }
    };
    if json {
        println!("{}", report::json(&diagnostics));
    } else {
        print!(
            "{}",
            report::text(&file.display().to_string(), &diagnostics, target)
        );
    }
    Ok(if validate::error_count(&diagnostics) > 0 {
        EXIT_BAD_INPUT
    } else {
        0
    })
}

/// The checks of the runtime a target runs on.
fn runtime_checks(target: Target) -> Option<Box<dyn validate::RuntimeChecks>> {
    match target {
        Target::Local => Some(Box::new(local::checks())),
        Target::Aws => None,
    }
}

/// Opens the window: on the local backend, then on `connection` (else the last one used).
/// The worker starts first, so the job list is on its way before the window exists.
fn open_window(connection: Option<Connection>) -> ExitCode {
    let result = LocalConfig::from_env()
        .map_err(|message| Failure {
            message,
            code: EXIT_BAD_INPUT,
        })
        .and_then(|config| {
            let folders = Folders::at(&config.home);
            let config_for_checks = config.clone();
            let backend: Arc<dyn Backend> = Arc::new(LocalBackend::open(config)?);
            let worker = Worker::spawn(backend, Some(folders.clone())).map_err(|e| Failure {
                message: format!("cannot start the worker thread: {e}"),
                code: EXIT_FAILED,
            })?;
            let options = crate::ui::AppOptions {
                demo_epochs: None,
                connection,
                local_checks: Some(Arc::new(local::window_checks(&config_for_checks))),
                desktop_dialogs: crate::worker::desktop_dialogs(),
            };
            crate::ui::run(worker, &folders.home, options).map_err(|e| Failure {
                message: format!("cannot open the window: {e}"),
                code: EXIT_FAILED,
            })
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

/// The request of `file` for `run`, renamed as asked, refused (with every problem) when
/// `target` could not run it.
fn read_for_run(
    file: &std::path::Path,
    target: Target,
    name: Option<String>,
    unique_name: bool,
) -> Result<request::TrainingJobRequest, Failure> {
    let imported = request::read_request_file(file)?;
    for notice in &imported.notices {
        eprintln!("note: {}: {notice}", file.display());
    }
    let mut request = imported.request;
    if let Some(name) = name {
        request.training_job_name = Some(name);
    }
    if unique_name {
        request.training_job_name = Some(format::unique_name(request.name()));
    }
    let origin = file.display().to_string();
    checked(request, &origin, target)
}

/// `request`, refused (with every problem) when `target` could not run it; warnings noted.
fn checked(
    request: request::TrainingJobRequest,
    origin: &str,
    target: Target,
) -> Result<request::TrainingJobRequest, Failure> {
    let diagnostics = validate::validate(&request, target, runtime_checks(target).as_deref());
    let (refusal, flag) = match target {
        Target::Local => ("local mode cannot run this job", "local"),
        Target::Aws => ("SageMaker would refuse this job", "aws"),
    };
    if validate::error_count(&diagnostics) > 0 {
        return Err(Failure {
            message: format!("{refusal}\n{}", report::text(origin, &diagnostics, target)),
            code: EXIT_BAD_INPUT,
        });
    }
    if !diagnostics.is_empty() {
        eprintln!(
            "note: {}; `sagedesk validate --target {flag} {origin}` lists them",
            report::summary(origin, &diagnostics, target)
        );
    }
    Ok(request)
}

async fn dispatch(command: Command, connection: Option<Connection>) -> Result<u8, Failure> {
    if let Command::Validate { file, target, json } = &command {
        return validate_file(file, *target, *json);
    }
    if let Command::Runtimes { action } = command {
        return local::runtimes(action);
    }
    if let Command::Tuning { action } = command {
        return tune::tuning(action, connection).await;
    }
    if let Command::SuperviseTuning { name } = &command {
        return tune::supervise(name).await;
    }
    if let Command::Tune {
        file,
        follow,
        json,
        name,
        detach,
        no_preflight,
    } = command
    {
        let options = tune::TuneOptions {
            follow,
            json,
            name,
            detach,
            no_preflight,
        };
        return tune::tune(&file, connection, options).await;
    }
    if let Command::Compare { jobs, csv, json } = &command {
        let output = match (csv, json) {
            (true, _) => compare::Output::Csv,
            (_, true) => compare::Output::Json,
            _ => compare::Output::Text,
        };
        return compare::compare(jobs, connection, output).await;
    }
    if let Command::Diff { a, b, json } = &command {
        return diff::diff(a, b, connection, *json).await;
    }
    if let Command::Supervise { name } = &command {
        let aws = match connection {
            Some(Connection::Aws(aws)) => aws,
            _ => AwsConnection::default(),
        };
        let config = local::config()?;
        crate::backend::local::detach::supervise(config, name, aws).await?;
        return Ok(0);
    }
    if let Command::Preflight { file, json } = &command {
        return preflight::preflight_file(file, connection, *json).await;
    }
    let job_credentials = match &command {
        Command::Run {
            job_credentials: Some(word),
            ..
        } => Some(JobCredentials::parse(word).ok_or_else(|| Failure {
            message: format!("--job-credentials {word:?}: give role, mine or none"),
            code: EXIT_BAD_INPUT,
        })?),
        _ => None,
    };
    if let Command::Run {
        from_aws: Some(name),
        follow,
        ..
    } = &command
    {
        return local::run_from_aws(name, connection, *follow, job_credentials).await;
    }
    let target = match connection {
        Some(Connection::Aws(_)) => Target::Aws,
        _ => Target::Local,
    };
    let debug = match &command {
        Command::Run { debug, .. } => *debug,
        _ => None,
    };
    if debug.is_some() && target == Target::Aws {
        return Err(Failure {
            message: "--debug runs the job on this machine: leave out --aws".into(),
            code: EXIT_BAD_INPUT,
        });
    }
    let backend: Arc<dyn Backend> = match (target, job_credentials) {
        (Target::Local, whose) if whose.is_some() || debug.is_some() => {
            let mut config = local::config()?;
            if let Some(whose) = whose {
                config.job_credentials = whose;
            }
            config.debug_port = debug;
            Arc::new(LocalBackend::open(config)?)
        }
        _ => crate::backend::open(&connection.clone().unwrap_or_default()).await?,
    };
    let stop_grace = backend.stop_grace();
    let backend = backend.as_ref();
    match command {
        Command::Validate { .. }
        | Command::Runtimes { .. }
        | Command::Compare { .. }
        | Command::Diff { .. }
        | Command::Shell { .. }
        | Command::Preflight { .. }
        | Command::Supervise { .. }
        | Command::Tune { .. }
        | Command::Tuning { .. }
        | Command::SuperviseTuning { .. }
        | Command::EnterHost { .. } => {
            unreachable!("handled above")
        }
        Command::Run {
            file,
            follow,
            watch,
            name,
            unique_name,
            no_preflight,
            debug,
            ..
        } => {
            let follow = follow || debug.is_some();
            let file = file.unwrap_or_default();
            let request = read_for_run(&file, target, name, unique_name)?;
            if watch {
                if target == Target::Aws {
                    return Err(Failure {
                        message: "--watch runs on this machine: leave out --aws".into(),
                        code: EXIT_BAD_INPUT,
                    });
                }
                return watch::run_watching(backend, request, follow, stop_grace).await;
            }
            if target == Target::Aws && !no_preflight {
                let origin = file.display().to_string();
                preflight::before_submit(&request, connection.clone(), &origin).await?;
            }
            if let Some(warning) = backend.foresee_credentials(&request, None).await {
                follow::say_err(format!("warning: {warning}"));
            }
            let naming = if unique_name {
                follow::Naming::Unique
            } else {
                follow::Naming::AsGiven
            };
            follow::run_and_wait(backend, request, naming, follow, stop_grace).await
        }
        Command::Jobs {
            status,
            name_contains,
        } => {
            let filter = ListFilter {
                status,
                name_contains,
                ..Default::default()
            };
            let jobs = backend.list_training_jobs(&filter).await?;
            print!("{}", format::job_table(&jobs, chrono::Utc::now()));
            Ok(0)
        }
        Command::Describe { name, json } => {
            let detail = backend.describe_training_job(&name).await?;
            if json {
                let text = serde_json::to_string_pretty(&detail.to_describe_json())
                    .expect("JSON values serialize");
                println!("{text}");
            } else {
                print!("{}", format::describe(&detail));
            }
            Ok(0)
        }
        Command::Stop { name } => {
            backend.stop_training_job(&name).await?;
            let detail = backend.describe_training_job(&name).await?;
            println!("{name}: {}", detail.summary.status);
            Ok(0)
        }
        Command::Diagnose { name, json } => diagnose::diagnose(backend, &name, json).await,
        Command::Logs { name, follow, raw } => {
            follow::print_logs(backend, &name, follow, raw).await
        }
        Command::Metrics { name, csv } => {
            // Every page: a long job's points come a page at a time.
            let mut cursor = Cursor::default();
            let (series, error) =
                crate::backend::read_metrics(backend, &name, &mut cursor, usize::MAX).await;
            if let Some(e) = error {
                return Err(e.into());
            }
            if csv {
                print!("{}", format::metrics_csv(&series));
            } else {
                print!("{}", format::metrics_table(&series));
            }
            Ok(0)
        }
    }
}
