//! A local job under the debugger: each host's Python entry point started through
//! `debugpy`, listening on 127.0.0.1 (the hosts share this machine's network) and waiting
//! for the editor to attach, with the VS Code `launch.json` entry to attach with, its path
//! mappings from the container's code folder to the user's.

use std::path::Path;

use crate::backend::local::contract::{EntryKind, Launcher, LocalPlan};

/// Why the job cannot run under the debugger with `python`, if it cannot.
pub fn refusal(plan: &LocalPlan, python: &Path, port: u16) -> Option<String> {
    if plan.container_command.is_some() {
        return Some(
            "--debug starts a script-mode entry point under debugpy; this request sets its own \
             ContainerEntrypoint"
                .into(),
        );
    }
    if plan.entry_kind == EntryKind::Command {
        return Some(format!(
            "--debug attaches to Python entry points; {} is not one",
            plan.program
        ));
    }
    if plan.launcher() != Launcher::Process {
        return Some(format!(
            "--debug runs one Python process per host; this job runs {}",
            plan.launcher_name()
        ));
    }
    if usize::from(u16::MAX - port) < plan.hosts.len() {
        return Some(format!("--debug {port}: no port for every host above it"));
    }
    let found = std::process::Command::new(python)
        .args(["-c", "import debugpy"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    match found {
        Ok(status) if status.success() => None,
        _ => Some(format!(
            "debugpy is not installed for {}: pip install debugpy into that interpreter",
            python.display()
        )),
    }
}

/// The port host `index` listens on.
pub fn port_of(port: u16, index: usize) -> u16 {
    port.saturating_add(index as u16)
}

/// `python ARGS` as debugpy starts it: listening on the host's port, waiting for a client.
pub fn wrap(args: Vec<String>, port: u16) -> Vec<String> {
    let mut wrapped = vec![
        "-m".to_string(),
        "debugpy".into(),
        "--listen".into(),
        format!("127.0.0.1:{port}"),
        "--wait-for-client".into(),
    ];
    wrapped.extend(args);
    wrapped
}

/// The `launch.json` configuration that attaches VS Code to the host on `port`, with the
/// code folder as the job sees it (`remote`) mapped to the user's (`local`).
pub fn launch_json(job: &str, host: &str, port: u16, remote: &Path, local: &Path) -> String {
    serde_json::json!({
        "name": format!("SageDesk: {job} {host}"),
        "type": "debugpy",
        "request": "attach",
        "connect": {"host": "127.0.0.1", "port": port},
        "pathMappings": [{
            "localRoot": local.display().to_string(),
            "remoteRoot": remote.display().to_string(),
        }],
        "justMyCode": false,
    })
    .to_string()
}
