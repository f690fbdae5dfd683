use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = sagedesk::cli::Cli::parse();
    if !cli.supervises() {
        // Behave like other command-line tools when the reader of a pipe goes away
        // (`| head`). `run` supervises a job and must outlive its reader: it keeps SIGPIPE
        // ignored and stops printing instead.
        // SAFETY: setting a signal disposition before any thread starts.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SAGEDESK_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        // A job's supervisor writes on a disk that may be full: a message that cannot be
        // written is dropped, never a panic.
        .log_internal_errors(false)
        .init();
    sagedesk::cli::run(cli)
}
