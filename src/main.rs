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
    sagedesk::diagnostics::init();
    sagedesk::cli::run(cli)
}
