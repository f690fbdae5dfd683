//! What a request runs: its own `ContainerEntrypoint` (in the host's sandbox), or the
//! toolkit's script mode (`sagemaker_program` from `sagemaker_submit_directory`); and why a
//! built-in algorithm cannot run here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::uri::Problems;
use super::{LOCAL_MODE_NEEDS, UNSUPPORTED, unquoted};
use crate::request::{self, TrainingJobRequest};

/// The entry point: its name, the submit directory as given, and where that is here.
pub(super) struct EntryPoint {
    pub(super) program: Option<String>,
    pub(super) submit_uri: Option<String>,
    pub(super) submit_path: Option<PathBuf>,
    pub(super) submit_s3: Option<String>,
}

/// `ContainerEntrypoint` followed by `ContainerArguments`, when the request sets an entry
/// point: it runs in the host's sandbox, so this machine must allow sandboxes, and its
/// program must be here (or under `/opt/ml`, where the job puts it).
pub(super) fn container_command(
    p: &mut Problems,
    request: &TrainingJobRequest,
) -> Option<Vec<String>> {
    const MEMBER: &str = "AlgorithmSpecification.ContainerEntrypoint";
    let spec = request.algorithm_specification.as_ref()?;
    let entrypoint = spec
        .container_entrypoint
        .clone()
        .filter(|e| !e.is_empty())?;
    if let crate::backend::local::sandbox::Availability::Refused { reason } =
        crate::backend::local::sandbox::availability()
    {
        p.error(
            MEMBER,
            UNSUPPORTED,
            format!(
                "an entry point of the request runs in the host's sandbox, at /opt/ml: {reason}"
            ),
        );
    }
    let program = Path::new(&entrypoint[0]);
    if !program.starts_with(super::super::sandbox::OPT_ML)
        && crate::process::which(program).is_none_or(|p| !p.is_file())
    {
        p.error(
            MEMBER,
            "local_program",
            format!("{} is not a program on this machine", entrypoint[0]),
        );
    }
    let mut command = entrypoint;
    command.extend(spec.container_arguments.clone().unwrap_or_default());
    Some(command)
}

/// The variable of `Environment` that names the entry point; it wins over the
/// hyperparameter, as in the toolkit.
pub const PROGRAM_VARIABLE: &str = "SAGEMAKER_PROGRAM";

/// `sagemaker_program` (or `Environment.SAGEMAKER_PROGRAM`) and
/// `sagemaker_submit_directory`, checked.
pub(super) fn entry_point(
    p: &mut Problems,
    hps: &BTreeMap<String, String>,
    environment: &BTreeMap<String, String>,
) -> EntryPoint {
    let from_environment = environment
        .get(PROGRAM_VARIABLE)
        .filter(|v| !v.is_empty())
        .cloned();
    let program_member = if from_environment.is_some() {
        format!("Environment.{PROGRAM_VARIABLE}")
    } else {
        format!("HyperParameters.{}", request::PROGRAM)
    };
    let submit_member = format!("HyperParameters.{}", request::SUBMIT_DIRECTORY);
    let program = from_environment.or_else(|| {
        hps.get(request::PROGRAM)
            .map(|v| unquoted(v))
            .filter(|v| !v.is_empty())
    });
    let submit_uri = hps
        .get(request::SUBMIT_DIRECTORY)
        .map(|v| unquoted(v))
        .filter(|v| !v.is_empty());
    if program.is_none() {
        p.error(&program_member, "local_script_mode", LOCAL_MODE_NEEDS);
    } else if submit_uri.is_none() {
        p.error(
            &submit_member,
            "local_script_mode",
            "local mode needs the folder or .tar.gz that holds the entry point, as a file:// or \
             s3:// URI",
        );
    }
    let submit_s3 = submit_uri
        .clone()
        .filter(|uri| uri.starts_with("s3://"))
        .filter(
            |uri| match crate::backend::s3::S3Uri::parse(uri, &submit_member) {
                Ok(_) => true,
                Err(e) => {
                    p.error(&submit_member, "local_uri", e.message);
                    false
                }
            },
        );
    let submit_path = match (&submit_s3, &submit_uri) {
        // Downloaded when the job starts.
        (Some(_), _) => Some(PathBuf::new()),
        (None, Some(uri)) if uri.starts_with("s3://") => None,
        (None, uri) => uri
            .as_deref()
            .and_then(|uri| p.path(uri, &submit_member))
            .and_then(|path| p.existing(path, &submit_member)),
    };
    if let Some(program) = &program
        && Path::new(program)
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        p.error(
            &program_member,
            "local_program",
            format!("{program:?} must be a path inside the submit directory"),
        );
    } else if let (Some(dir), Some(program)) = (&submit_path, &program)
        && dir.is_dir()
        && !dir.join(program).is_file()
    {
        p.error(
            &program_member,
            "local_program",
            format!("{program:?} is not a file in {}", dir.display()),
        );
    }
    EntryPoint {
        program,
        submit_uri,
        submit_path,
        submit_s3,
    }
}

/// How the toolkit runs the entry point (its `_entry_point_type`), read from the staged
/// code folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A code folder with `setup.py`: installed with `pip install .`, run as `python -m`.
    Package,
    /// A `.py` script: run with the interpreter.
    Program,
    /// Anything else (`.sh` included): made executable and run by its shebang through
    /// `/bin/sh -c ./program`.
    Command,
}

impl EntryKind {
    /// The kind of `program` in the code folder `code`.
    pub fn of(code: &Path, program: &str) -> Self {
        if program.ends_with(".sh") {
            Self::Command
        } else if code.join("setup.py").exists() {
            Self::Package
        } else {
            Self::guessed(program)
        }
    }

    /// The kind as far as the name tells, before the code is in place.
    pub fn guessed(program: &str) -> Self {
        if program.ends_with(".py") {
            Self::Program
        } else {
            Self::Command
        }
    }
}

/// Says why a job without an entry point that names a built-in algorithm cannot run here.
pub(super) fn built_in_algorithm(p: &mut Problems, request: &TrainingJobRequest) {
    let spec = request.algorithm_specification.clone().unwrap_or_default();
    let why = "its code is inside the service's image, and local mode runs your own code only \
               (a script-mode entry point or a ContainerEntrypoint, with the framework on this \
               machine)";
    if let Some(name) = spec.algorithm_name.filter(|n| !n.is_empty()) {
        p.error(
            "AlgorithmSpecification.AlgorithmName",
            UNSUPPORTED,
            format!("{name} is an algorithm resource: {why}"),
        );
    } else if let Some(image) = spec.training_image
        && let Some(algorithm) = BUILT_IN.iter().find(|a| {
            let repo = image.rsplit('/').next().unwrap_or_default();
            repo.split(':').next() == Some(**a)
        })
    {
        p.error(
            "AlgorithmSpecification.TrainingImage",
            UNSUPPORTED,
            format!(
                "{algorithm} without sagemaker_program runs the built-in algorithm: {why}; \
                 set HyperParameters.sagemaker_program to use the image in script mode"
            ),
        );
    }
}

/// Image repositories of built-in algorithms.
const BUILT_IN: &[&str] = &[
    "sagemaker-xgboost",
    "xgboost",
    "linear-learner",
    "kmeans",
    "pca",
    "factorization-machines",
    "blazingtext",
    "image-classification",
    "object-detection",
    "semantic-segmentation",
    "seq2seq",
    "forecasting-deepar",
    "ntm",
    "lda",
    "randomcutforest",
    "knn",
    "object2vec",
    "ipinsights",
];
