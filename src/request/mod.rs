//! The request model: `CreateTrainingJob` field for field with AWS's names (`shapes`),
//! reading and writing it (`import`), metric extraction from log lines (`metrics`) and
//! validation against the service model (`validate`). It imports no backend, worker or
//! view: runtimes add their own checks through [`validate::RuntimeChecks`].

pub mod diff;
mod import;
pub mod metrics;
mod shapes;
pub mod tune;
pub mod tuning;
pub mod validate;

pub use import::{
    Imported, OUTPUT_ONLY_MEMBERS, RequestError, aws_cli_command, parse_request, read_limited,
    read_request_file, read_value_file, request_from_value, resolve_file_uris,
    sagemaker_cli_command, shell_quote, to_cli_input_json,
};
pub use shapes::*;
pub use tune::RequestKind;

/// Hyperparameter naming the entry point script in script mode.
pub const PROGRAM: &str = "sagemaker_program";
/// Hyperparameter naming the folder or archive that holds the entry point.
pub const SUBMIT_DIRECTORY: &str = "sagemaker_submit_directory";

/// `name-YYYYMMDD-HHMMSS-mmm`, cut so that the whole stays within 63 characters, as the
/// SageMaker Python SDK names jobs.
pub fn unique_name(base: &str) -> String {
    let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S-%3f").to_string();
    let base = if base.is_empty() { "job" } else { base };
    let keep = 63 - stamp.len() - 1;
    let base: String = base.chars().take(keep).collect();
    format!("{}-{stamp}", base.trim_end_matches('-'))
}

/// `<base>-local-<time>`: the name of a job run locally from `base`, the marker kept
/// within the 63-character limit by shortening `base`.
pub fn local_run_name(base: &str) -> String {
    const MARKER: &str = "-local";
    let keep = 63 - 20 - MARKER.len();
    let base: String = base.chars().take(keep).collect();
    let base = base.trim_end_matches('-');
    let base = if base.is_empty() { "job" } else { base };
    unique_name(&format!("{base}{MARKER}"))
}

/// `name` without the `-YYYYMMDD-HHMMSS-mmm` that [`unique_name`] appends.
pub fn strip_stamp(name: &str) -> &str {
    if name.len() > 20 && name.is_char_boundary(name.len() - 20) {
        let (base, stamp) = name.split_at(name.len() - 20);
        let shape = stamp.bytes().enumerate().all(|(i, b)| match i {
            0 | 9 | 16 => b == b'-',
            _ => b.is_ascii_digit(),
        });
        if shape && !base.is_empty() {
            return base;
        }
    }
    name
}

/// A number below `n` (at least 1) that differs between calls and processes.
pub fn random_below(n: u64) -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one((std::process::id(), std::time::Instant::now())) % n.max(1)
}

/// The API's pattern for `TrainingJobName`: 1 to 63 characters, letters, digits and inner hyphens.
pub fn is_valid_job_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_marker_survives_a_long_name() {
        let long = "a".repeat(63);
        let name = local_run_name(&long);
        assert_eq!(name.chars().count(), 63, "{name}");
        assert!(strip_stamp(&name).ends_with("-local"), "{name}");
        assert!(is_valid_job_name(&name), "{name}");
        let short = local_run_name("train");
        assert_eq!(strip_stamp(&short), "train-local");
    }
}
