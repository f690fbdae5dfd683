//! Local mode's view of a request for the validator: what it cannot run (errors) and what
//! it leaves aside (warnings).

use serde_json::Value;

use std::sync::{Arc, RwLock};

use super::{LocalPlan, Runtimes};
use crate::request::TrainingJobRequest;
use crate::request::validate::{Diagnostic, RuntimeChecks};

/// Local mode's checks for the validator: what it cannot run in a request (errors), what
/// it ignores, and where the local interpreter differs from the image (warnings).
#[derive(Debug, Clone, Default)]
pub struct LocalChecks {
    runtimes: Option<Arc<RwLock<Runtimes>>>,
}

impl LocalChecks {
    /// Checks that also compare images with the interpreters of `runtimes` (which may be
    /// filled in as probes answer).
    pub fn with_runtimes(runtimes: Arc<RwLock<Runtimes>>) -> Self {
        Self {
            runtimes: Some(runtimes),
        }
    }
}

impl RuntimeChecks for LocalChecks {
    fn check(&self, request: &TrainingJobRequest) -> Vec<Diagnostic> {
        let mut out = LocalPlan::analyze(request, None).1;
        out.extend(ignored_locally(request));
        if let Some(runtimes) = self.runtimes.as_ref().and_then(|r| r.read().ok()) {
            out.extend(runtimes.check(request));
        }
        out
    }
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
        (
            "AlgorithmSpecification.ContainerEntrypoint",
            "script mode starts the entry point itself",
        ),
        (
            "AlgorithmSpecification.ContainerArguments",
            "script mode passes hyperparameters as arguments",
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
