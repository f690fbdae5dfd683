//! Commands about this machine's runtimes: the runtime table, interpreter probes for the
//! validator, and AWS jobs re-run here.

use std::sync::{Arc, RwLock};

use super::{EXIT_BAD_INPUT, Failure, RuntimeAction, checked, follow};
use crate::backend::local::contract::{LocalChecks, Runtimes};
use crate::backend::local::{LocalBackend, LocalConfig, runtimes};
use crate::backend::{Backend, Connection};
use crate::request::validate::Target;
use crate::store::Store;

/// Local mode's configuration from the environment.
pub(super) fn config() -> Result<LocalConfig, Failure> {
    LocalConfig::from_env().map_err(|message| Failure {
        message,
        code: EXIT_BAD_INPUT,
    })
}

/// Local mode's checks with every interpreter of the runtime table asked what it has (once
/// per interpreter; answers are kept in the store).
pub fn checks() -> LocalChecks {
    let Ok(config) = config() else {
        return LocalChecks::default();
    };
    let Ok(store) = Store::open(&config.database()) else {
        return LocalChecks::default();
    };
    let mut runtimes = runtimes::load(&store, &config.python).unwrap_or_default();
    for (interpreter, why) in runtimes::probe_missing(&mut runtimes, &store) {
        eprintln!("note: {}: {why}", interpreter.display());
    }
    LocalChecks::with_runtimes(Arc::new(RwLock::new(runtimes)))
}

/// The window's local checks: what the store knows at once, the rest (interpreters and
/// whether sandboxes can be made) probed in the background and filled in as it answers.
pub fn window_checks(config: &LocalConfig) -> LocalChecks {
    let database = config.database();
    let store = Store::open(&database).ok();
    let known = store
        .as_ref()
        .and_then(|s| runtimes::load(s, &config.python).ok())
        .unwrap_or_else(|| Runtimes {
            default: config.python.clone(),
            ..Default::default()
        });
    let shared = Arc::new(RwLock::new(known));
    let filled = shared.clone();
    let _ = std::thread::Builder::new()
        .name("runtime probe".into())
        .spawn(move || {
            // Whether hosts get sandboxes: found here, not on the window's thread.
            crate::backend::local::sandbox::availability();
            let Ok(store) = Store::open(&database) else {
                return;
            };
            let Some(mut runtimes) = filled.read().ok().map(|r| r.clone()) else {
                return;
            };
            runtimes::probe_missing(&mut runtimes, &store);
            if let Ok(mut slot) = filled.write() {
                *slot = runtimes;
            }
        });
    LocalChecks::with_runtimes(shared)
}

/// `sagedesk runtimes [set|remove]`: changes the table, then prints it with what each
/// interpreter has.
pub fn runtimes(action: Option<RuntimeAction>) -> Result<u8, Failure> {
    let config = config()?;
    let store = Store::open(&config.database())?;
    match action {
        Some(RuntimeAction::Set {
            pattern,
            interpreter,
        }) => {
            if let Err(why) = runtimes::info(&store, &interpreter) {
                return Err(Failure {
                    message: format!("{}: {why}", interpreter.display()),
                    code: EXIT_BAD_INPUT,
                });
            }
            store.set_runtime(&pattern, &interpreter)?;
        }
        Some(RuntimeAction::Remove { pattern }) if !store.remove_runtime(&pattern)? => {
            return Err(Failure {
                message: format!("no runtime row for {pattern:?}"),
                code: EXIT_BAD_INPUT,
            });
        }
        Some(RuntimeAction::Remove { .. }) | None => {}
    }
    let mut table = runtimes::load(&store, &config.python)?;
    let failed = runtimes::probe_missing(&mut table, &store);
    let rows = table
        .table
        .iter()
        .map(|e| (e.pattern.as_str(), &e.interpreter))
        .chain([("(any other image)", &table.default)]);
    for (pattern, interpreter) in rows {
        let has = match table.infos.get(interpreter.as_path()) {
            Some(info) => {
                let mut parts = vec![format!("Python {}", info.python)];
                parts.extend(info.packages.iter().map(|(p, v)| format!("{p} {v}")));
                parts.join(", ")
            }
            None => failed
                .iter()
                .find(|(i, _)| i == interpreter)
                .map_or_else(String::new, |(_, why)| why.clone()),
        };
        println!("{pattern}\t{}\t{has}", interpreter.display());
    }
    Ok(0)
}

/// `sagedesk run --from-aws NAME`: the AWS job's request, run here under a new name, its S3
/// data read with that connection.
pub async fn run_from_aws(
    name: &str,
    connection: Option<Connection>,
    follow_lines: bool,
    job_credentials: Option<crate::backend::local::JobCredentials>,
) -> Result<u8, Failure> {
    let Some(Connection::Aws(aws)) = connection else {
        return Err(Failure {
            message: "--from-aws reads the job from AWS: give --profile, --region, \
                      --endpoint-url or --aws"
                .into(),
            code: EXIT_BAD_INPUT,
        });
    };
    let remote = crate::backend::open(&Connection::Aws(aws.clone())).await?;
    let mut request = remote.describe_training_job(name).await?.request;
    request.training_job_name = Some(crate::request::local_run_name(name));
    let request = checked(request, &format!("AWS job {name}"), Target::Local)?;
    let mut config = config()?;
    config.aws = aws;
    if let Some(whose) = job_credentials {
        config.job_credentials = whose;
    }
    let stop_grace = Some(config.stop_grace);
    let local = LocalBackend::open(config)?;
    let local: &dyn Backend = &local;
    eprintln!("running {name} here as {}", request.name());
    if let Some(warning) = local.foresee_credentials(&request, None).await {
        follow::say_err(format!("warning: {warning}"));
    }
    follow::run_and_wait(
        local,
        request,
        follow::Naming::Unique,
        follow_lines,
        stop_grace,
    )
    .await
}

/// `sagedesk shell NAME --host HOST`: becomes an interactive shell in the host's sandbox with
/// the job's environment; returns only when that cannot be.
pub fn shell(name: &str, host: &str, pdb: bool) -> std::process::ExitCode {
    let fail = |message: String| {
        eprintln!("error: {message}");
        std::process::ExitCode::from(super::EXIT_FAILED)
    };
    let config = match config() {
        Ok(config) => config,
        Err(failure) => return fail(failure.message),
    };
    let job_dir = config.job_dir(name);
    let entries = job_dir.join(crate::backend::local::sandbox::HOST_ENTRIES);
    if !crate::backend::local::sandbox::HostEntry::path(&entries, host).is_file() {
        return fail(if !job_dir.is_dir() {
            format!(
                "{name} is not a local job here (its folder {} is gone)",
                job_dir.display()
            )
        } else if let crate::backend::local::sandbox::Availability::Refused { reason } =
            crate::backend::local::sandbox::availability()
        {
            format!(
                "this machine refuses sandboxes ({reason}); the host's folder is {}",
                job_dir.join(host).display()
            )
        } else {
            format!("{host} is not a host of {name}, or the job ran before hosts were kept")
        });
    }
    let command = if pdb {
        let entry = crate::backend::local::sandbox::HostEntry::read(&entries, host);
        let Some(words) = entry.ok().and_then(|e| e.under_pdb()) else {
            return fail(format!(
                "{host} of {name} did not run a Python entry point: there is nothing for pdb"
            ));
        };
        eprintln!(
            "{host} of {name}: the entry point again under pdb; where it raises, pdb opens \
             (q quits)."
        );
        let quoted: Vec<String> = words
            .iter()
            .map(|w| crate::request::shell_quote(w))
            .collect();
        format!("exec {}", quoted.join(" "))
    } else {
        eprintln!("{host} of {name}: /opt/ml is its folder; `exit` leaves.");
        "exec \"${SHELL:-/bin/sh}\" -i".to_string()
    };
    let error = crate::backend::local::sandbox::enter_host(&entries, host, &[command]);
    fail(format!("cannot enter {host}: {error}"))
}
