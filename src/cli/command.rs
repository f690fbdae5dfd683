//! The command line's subcommands and their arguments.

use std::path::PathBuf;

use clap::Subcommand;

use crate::job::Status;
use crate::request::validate::Target;

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a CreateTrainingJob request (JSON) on this machine and wait for it to end. Exit 0
    /// when it completed, 1 when it failed or could not be created, 2 when the request is
    /// unreadable or not valid (as `validate`), 3 when it was stopped.
    Run {
        /// The request: an `aws sagemaker create-training-job --cli-input-json` file.
        #[arg(required_unless_present = "from_aws", conflicts_with = "from_aws")]
        file: Option<PathBuf>,
        /// Run this AWS job's request (from DescribeTrainingJob) on this machine, named
        /// `<NAME>-local-<time>`; S3 is read and written with the --profile/--region/
        /// --endpoint-url connection.
        #[arg(long, value_name = "NAME")]
        from_aws: Option<String>,
        /// Print the job's log lines as they come.
        #[arg(long)]
        follow: bool,
        /// Run the request again whenever its file:// code folder changes (the run before
        /// stopped if still going), until Ctrl+C. Local only.
        #[arg(long, conflicts_with = "from_aws")]
        watch: bool,
        /// Start the entry point under debugpy listening on 127.0.0.1:PORT (5678 when no
        /// port is given; host algo-N on PORT + N - 1), waiting for your editor to attach;
        /// the job's log gives the launch.json configuration. Local only; implies --follow.
        #[arg(long, value_name = "PORT", num_args = 0..=1, default_missing_value = "5678")]
        debug: Option<u16>,
        /// Use this TrainingJobName instead of the file's.
        #[arg(long)]
        name: Option<String>,
        /// Append a timestamp to the name, as the SageMaker Python SDK does.
        #[arg(long)]
        unique_name: bool,
        /// On AWS, submit without the preflight checks.
        #[arg(long)]
        no_preflight: bool,
        /// Whose AWS credentials a local job that reaches AWS gets: `role` (its RoleArn's,
        /// assumed with your connection; none if that is refused), `mine` (your own, by
        /// choice) or `none`.
        #[arg(long, value_name = "WHOSE")]
        job_credentials: Option<String>,
    },
    /// Check a CreateTrainingJob request (or a CreateHyperParameterTuningJob request) against
    /// the API model and local mode, listing every problem. Exit 0 when there are no errors,
    /// 2 when there are or the file is unreadable (as `run` exits for a request it refuses).
    Validate {
        /// The request file.
        file: PathBuf,
        /// Check for the service (aws) or for this machine (local).
        #[arg(long, value_enum, default_value_t = Target::Aws)]
        target: Target,
        /// Print a JSON array of {path, severity, code, message}.
        #[arg(long)]
        json: bool,
    },
    /// Check a request against the AWS account with read-only calls (role and trust,
    /// buckets and their regions, input objects, image, subnets, quota, job name), listing
    /// each check and the call it made. Exit 0 without errors, 1 with, 2 when the file is
    /// unreadable.
    Preflight {
        /// The request file.
        file: PathBuf,
        /// Print a JSON array of {path, severity, code, message}, as `validate --json`.
        #[arg(long)]
        json: bool,
    },
    /// List jobs, newest first.
    Jobs {
        /// Only jobs with this status (InProgress, Completed, Failed, Stopping, Stopped).
        #[arg(long)]
        status: Option<Status>,
        /// Only jobs whose name contains this text (case-insensitive).
        #[arg(long)]
        name_contains: Option<String>,
    },
    /// Show everything about a job.
    Describe {
        /// The job name.
        name: String,
        /// Print DescribeTrainingJob's JSON.
        #[arg(long)]
        json: bool,
    },
    /// Stop a running job (SIGTERM, then SIGKILL after the grace period).
    Stop {
        /// The job name.
        name: String,
    },
    /// Say why a failed or stopped job ended: a category and one sentence, the exception
    /// and traceback from its log (files mapped to your code folder), and next steps. Exit 1
    /// when the job did not fail or stop.
    Diagnose {
        /// The job name.
        name: String,
        /// Print {job, status, category, summary, exception, host, traceback, next_steps}.
        #[arg(long)]
        json: bool,
    },
    /// Print a job's log lines.
    Logs {
        /// The job name.
        name: String,
        /// Keep printing new lines until the job ends.
        #[arg(long)]
        follow: bool,
        /// Each line's text exactly as the job printed it (carriage returns of progress
        /// bars kept), without time or host.
        #[arg(long)]
        raw: bool,
    },
    /// Show or edit the runtime table: which local interpreter runs which container image.
    Runtimes {
        #[command(subcommand)]
        action: Option<RuntimeAction>,
    },
    /// Compare jobs from any source side by side: status, duration, billable seconds,
    /// instances, final metric values (best marked `*`) and hyperparameters (those that
    /// differ marked `≠`, first). Jobs are `NAME` (on --aws's connection, else this
    /// machine), `local:NAME` or `aws:NAME`; or give one JSON file the window exported.
    Compare {
        /// Two jobs or more, or one exported comparison (`.json`).
        #[arg(required = true, value_name = "JOB")]
        jobs: Vec<String>,
        /// Print CSV, one line per job.
        #[arg(long, conflicts_with = "json")]
        csv: bool,
        /// Print the comparison as the window exports it.
        #[arg(long)]
        json: bool,
    },
    /// Open a shell in a local job's host, as its process saw it: the sandbox (`/opt/ml`,
    /// the hostname, the hosts file) and the job's environment, for looking around after a
    /// failure. `exit` leaves it.
    Shell {
        /// The job name.
        name: String,
        /// The host.
        #[arg(long, default_value = "algo-1")]
        host: String,
        /// Instead of a shell, run the host's Python entry point again under pdb: where it
        /// raises, pdb opens at that frame (post-mortem).
        #[arg(long)]
        pdb: bool,
    },
    /// Show where two jobs' requests differ, member by member (channels by name). Jobs are
    /// `NAME`, `local:NAME` or `aws:NAME` as for `compare`, or request files (`.json`).
    Diff {
        /// The first job or request file.
        a: String,
        /// The second job or request file.
        b: String,
        /// Print a JSON array of {path, a, b}.
        #[arg(long)]
        json: bool,
    },
    /// Print a job's metrics.
    Metrics {
        /// The job name.
        name: String,
        /// Every point as CSV: metric,timestamp,value.
        #[arg(long)]
        csv: bool,
    },
    /// Run a CreateHyperParameterTuningJob request (JSON) on this machine: each trial a
    /// local training job, searched by its Strategy (Random, Grid, Bayesian, Hyperband).
    /// The tuning job runs in a process of its own; this waits for its end. With --aws,
    /// preflight its training jobs and create it on SageMaker. Exit 0 when it completed, 1
    /// when it failed, 2 when the request is not valid, 3 when it was stopped
    Tune {
        /// The request: an `aws sagemaker create-hyper-parameter-tuning-job
        /// --cli-input-json` file.
        file: PathBuf,
        /// Print each trial as it starts and ends.
        #[arg(long)]
        follow: bool,
        /// At the end, print DescribeHyperParameterTuningJob's JSON.
        #[arg(long)]
        json: bool,
        /// Use this HyperParameterTuningJobName instead of the file's.
        #[arg(long)]
        name: Option<String>,
        /// Start it and return at once (follow it with `sagedesk tuning describe`).
        #[arg(long, conflicts_with_all = ["follow", "json"])]
        detach: bool,
        /// On AWS, submit without the preflight checks of its training jobs.
        #[arg(long)]
        no_preflight: bool,
    },
    /// Tuning jobs on this machine (or, with --aws, on SageMaker): list them, describe one,
    /// list its trials, stop one.
    Tuning {
        #[command(subcommand)]
        action: TuningAction,
    },
    /// Run a local tuning job already in the store until it ends.
    #[command(hide = true)]
    SuperviseTuning {
        /// The tuning job name.
        name: String,
    },
    /// Supervise a local job already in the store until it ends (started by SageDesk in a
    /// session of its own for each job).
    #[command(hide = true)]
    Supervise {
        /// The job name.
        name: String,
    },
    /// Run a command in another host's sandbox of a local job: the remote shell agent of
    /// the job's `mpirun`, as `ssh` is on the service.
    #[command(hide = true)]
    EnterHost {
        /// The job's `hosts.d` folder.
        dir: PathBuf,
        /// The host, `algo-N`.
        host: String,
        /// The command, joined and run by `sh -c` as a remote shell does.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<String>,
    },
}

/// What to do with local tuning jobs.
#[derive(Debug, Subcommand)]
pub enum TuningAction {
    /// List them, newest first.
    List,
    /// Show a tuning job: status, counters and the best trial.
    Describe {
        /// The tuning job name.
        name: String,
        /// Print DescribeHyperParameterTuningJob's JSON.
        #[arg(long)]
        json: bool,
    },
    /// List a tuning job's trials, best first.
    Trials {
        /// The tuning job name.
        name: String,
        /// Print ListTrainingJobsForHyperParameterTuningJob's JSON.
        #[arg(long)]
        json: bool,
    },
    /// Stop a tuning job and its running trials.
    Stop {
        /// The tuning job name.
        name: String,
    },
}

/// Changes to the runtime table.
#[derive(Debug, Subcommand)]
pub enum RuntimeAction {
    /// Run images matching PATTERN (`*` matches anything, e.g. `*pytorch-training:2.3*`) with
    /// INTERPRETER (a Python or a virtual environment's bin/python).
    Set {
        /// The image pattern.
        pattern: String,
        /// The interpreter.
        interpreter: PathBuf,
    },
    /// Remove the row for PATTERN.
    Remove {
        /// The image pattern.
        pattern: String,
    },
}
