//! What the benchmarks that run local jobs share.

use std::process::Command;
use std::time::Duration;

use sagedesk::backend::Backend;
use sagedesk::backend::local::LocalBackend;
use sagedesk::request::TrainingJobRequest;

/// The interpreter itself, not a launcher shim, so a job and a direct run start the same
/// program.
pub fn python() -> String {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Creates the job and waits for it to complete, describing it every `poll`.
pub async fn run_to_completion(
    backend: &LocalBackend,
    request: TrainingJobRequest,
    poll: Duration,
) {
    let name = request.name().to_string();
    backend.create_training_job(request).await.unwrap();
    loop {
        let detail = backend.describe_training_job(&name).await.unwrap();
        if detail.summary.status.is_terminal() {
            assert_eq!(detail.summary.status, sagedesk::job::Status::Completed);
            return;
        }
        tokio::time::sleep(poll).await;
    }
}
