//! Local mode's view of a request for the validator: what it cannot run (errors) and what
//! it leaves aside (warnings).

use serde_json::Value;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use super::{LocalPlan, Runtimes};
use crate::request::TrainingJobRequest;
use crate::request::validate::{Diagnostic, RuntimeChecks};

/// Local mode's checks for the validator: what it cannot run in a request (errors), what
/// it ignores, and where the local interpreter differs from the image (warnings).
#[derive(Debug, Clone, Default)]
pub struct LocalChecks {
    runtimes: Option<Arc<RwLock<Runtimes>>>,
    /// The last code folder scanned for `/opt/ml`, when, and what was found: the builder
    /// checks on every keystroke, and the code does not change that fast.
    opt_ml: Arc<Mutex<Option<(PathBuf, Instant, bool)>>>,
}

impl LocalChecks {
    /// Checks that also compare images with the interpreters of `runtimes` (which may be
    /// filled in as probes answer).
    pub fn with_runtimes(runtimes: Arc<RwLock<Runtimes>>) -> Self {
        Self {
            runtimes: Some(runtimes),
            ..Self::default()
        }
    }

    /// Whether the code in `dir` mentions `/opt/ml`, scanned again when the folder changes
    /// or the last scan is [`RESCAN`] old.
    fn mentions_opt_ml(&self, dir: &Path) -> bool {
        let mut last = self.opt_ml.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((path, at, found)) = last.as_ref()
            && path == dir
            && at.elapsed() < RESCAN
        {
            return *found;
        }
        let found = mentions_opt_ml(dir);
        *last = Some((dir.to_path_buf(), Instant::now(), found));
        found
    }
}

/// How long a scan of the code for `/opt/ml` stands.
const RESCAN: Duration = Duration::from_secs(5);

impl RuntimeChecks for LocalChecks {
    fn check(&self, request: &TrainingJobRequest) -> Vec<Diagnostic> {
        let (plan, mut out) = LocalPlan::analyze(request, None);
        out.extend(ignored_locally(request));
        if let Some(plan) = &plan
            && let crate::backend::local::sandbox::Availability::Refused { reason } =
                crate::backend::local::sandbox::availability()
            && self.mentions_opt_ml(&plan.submit_path)
        {
            out.push(Diagnostic::warning(
                format!("HyperParameters.{}", crate::request::SUBMIT_DIRECTORY),
                "local_opt_ml",
                format!(
                    "the code uses /opt/ml paths, which are the job's only in a sandbox: {reason}"
                ),
            ));
        }
        if let Some(runtimes) = self.runtimes.as_ref().and_then(|r| r.read().ok()) {
            out.extend(runtimes.check(request));
            if let Some(plan) = &plan {
                out.extend(launcher_warning(&runtimes, request, plan));
            }
        }
        out
    }
}

/// A warning when the interpreter that would run `request` lacks its distribution's
/// launcher (known once that interpreter has been probed).
fn launcher_warning(
    runtimes: &Runtimes,
    request: &TrainingJobRequest,
    plan: &LocalPlan,
) -> Option<Diagnostic> {
    let image = request
        .algorithm_specification
        .as_ref()
        .and_then(|a| a.training_image.as_deref())
        .unwrap_or_default();
    let python = runtimes.interpreter(image);
    let info = runtimes.infos.get(python)?;
    let has_torch = info.packages.contains_key("torch") || plan.installs("torch");
    let why = plan.missing_launcher(python, has_torch)?;
    Some(Diagnostic::warning(
        "HyperParameters",
        "local_launcher",
        format!("local mode will refuse this job: {why}"),
    ))
}

/// Whether the `.py` and `.sh` files of the code folder `dir` mention `/opt/ml` (the first
/// 200 files, 1 MB each, are read).
fn mentions_opt_ml(dir: &std::path::Path) -> bool {
    let Ok(files) = super::list_files(dir) else {
        return false;
    };
    files
        .iter()
        .filter(|(abs, _)| abs.extension().is_some_and(|e| e == "py" || e == "sh"))
        .take(200)
        .any(|(abs, _)| {
            use std::io::Read;
            let mut text = Vec::new();
            std::fs::File::open(abs)
                .and_then(|f| f.take(1 << 20).read_to_end(&mut text))
                .is_ok()
                && memchr::memmem::find(&text, b"/opt/ml").is_some()
        })
}

/// Members the service acts on that local mode leaves aside.
fn ignored_locally(request: &TrainingJobRequest) -> Vec<Diagnostic> {
    let value = request.to_value();
    // A member counts when it is set: `false` flags and empty strings ask for nothing.
    let present = |path: &str| {
        crate::request::validate::get(&value, path)
            .is_some_and(|v| v != &Value::Bool(false) && v != &Value::String(String::new()))
    };
    let mut out = Vec::new();
    let s3_output = request
        .output_data_config
        .as_ref()
        .and_then(|o| o.s3_output_path.as_deref())
        .is_some_and(|p| p.starts_with("s3://"));
    if present("OutputDataConfig.KmsKeyId") && !s3_output {
        out.push(Diagnostic::warning(
            "OutputDataConfig.KmsKeyId",
            "local_ignored",
            "ignored in local mode: artifacts written to a folder are not encrypted (the key is \
             used for uploads to an s3:// S3OutputPath)",
        ));
    }
    for (path, what) in [
        ("VpcConfig", "there is no VPC on this machine"),
        (
            "EnableNetworkIsolation",
            "the job has this machine's network",
        ),
        (
            "EnableInterContainerTrafficEncryption",
            "hosts talk over this machine",
        ),
        (
            "EnableManagedSpotTraining",
            "there are no spot instances locally",
        ),
        (
            "ResourceConfig.VolumeKmsKeyId",
            "there is no ML storage volume",
        ),
        ("DebugHookConfig", "Debugger does not run locally"),
        (
            "DebugRuleConfigurations",
            "Debugger rules do not run locally",
        ),
        ("ProfilerConfig", "the profiler does not run locally"),
        (
            "ProfilerRuleConfigurations",
            "profiler rules do not run locally",
        ),
        (
            "TensorBoardOutputConfig",
            "TensorBoard output is not uploaded",
        ),
        ("RetryStrategy", "a failed local job is not retried"),
        ("RemoteDebugConfig", "remote debugging is for AWS instances"),
    ] {
        if present(path) {
            out.push(Diagnostic::warning(
                path,
                "local_ignored",
                format!("ignored in local mode: {what}"),
            ));
        }
    }
    out
}
