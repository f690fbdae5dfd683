//! The `sagedesk` binary as a test starts it: over a data folder, with a short grace period.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sagedesk::request::TrainingJobRequest;

use super::Sandbox;

/// `sagedesk` over the data folder `home`, stdin closed.
pub fn sagedesk(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sagedesk"));
    cmd.env("SAGEDESK_HOME", home)
        .env("SAGEDESK_STOP_GRACE_SECONDS", "10")
        .stdin(Stdio::null());
    cmd
}

/// Command output as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Writes `request` as `<name>.json` in the sandbox, as `--cli-input-json` takes it.
pub fn request_file(sb: &Sandbox, request: &TrainingJobRequest) -> PathBuf {
    let path = sb.path().join(format!("{}.json", request.name()));
    std::fs::write(&path, sagedesk::request::to_cli_input_json(request)).unwrap();
    path
}

/// Runs `command` to its end and fails the test, with its output, unless it succeeded.
pub fn succeeded(command: &mut Command) -> std::process::Output {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{command:?} failed\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}
