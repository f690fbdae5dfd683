//! The runtime table and interpreter probes, kept in the store: loaded for the validator and
//! for each job, and probed once per interpreter (again when it changes on disk).

use std::path::Path;

use super::contract::{InterpreterInfo, Runtimes, probe};
use crate::backend::BackendError;
use crate::process;
use crate::store::Store;

/// The table and every interpreter answer the store already has; nothing is probed.
pub fn load(store: &Store, default: &Path) -> Result<Runtimes, BackendError> {
    let mut runtimes = Runtimes {
        table: store.runtimes()?,
        default: default.to_path_buf(),
        ..Default::default()
    };
    for interpreter in runtimes.interpreters() {
        if let Some(stamp) = process::stamp(&interpreter)
            && let Some(info) = store.interpreter_info(&interpreter, &stamp)?
        {
            runtimes.infos.insert(interpreter, info);
        }
    }
    Ok(runtimes)
}

/// Probes the interpreters of `runtimes` that have no answer yet, keeping the answers in
/// the store (when it can be written). Returns the interpreters that could not be asked,
/// with why.
pub fn probe_missing(runtimes: &mut Runtimes, store: &Store) -> Vec<(std::path::PathBuf, String)> {
    let mut failed = Vec::new();
    for interpreter in runtimes.interpreters() {
        if runtimes.infos.contains_key(&interpreter) {
            continue;
        }
        match info(store, &interpreter) {
            Ok(info) => {
                runtimes.infos.insert(interpreter, info);
            }
            Err(e) => failed.push((interpreter, e)),
        }
    }
    failed
}

/// What `interpreter` has: from the store when it has not changed since it was asked,
/// else probed now (and kept).
pub fn info(store: &Store, interpreter: &Path) -> Result<InterpreterInfo, String> {
    let stamp = process::stamp(interpreter).ok_or_else(|| {
        format!(
            "{} is not an interpreter on this machine",
            interpreter.display()
        )
    })?;
    if let Ok(Some(info)) = store.interpreter_info(interpreter, &stamp) {
        return Ok(info);
    }
    let info = probe(interpreter)?;
    if !store.is_read_only() {
        let _ = store.save_interpreter_info(interpreter, &stamp, &info);
    }
    Ok(info)
}
