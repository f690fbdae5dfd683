//! The demo job, built into the binary and written to the data folder on first use, so it
//! runs from any install.

use std::path::Path;

use crate::request::{TrainingJobRequest, parse_request, resolve_file_uris, unique_name};

const FILES: &[(&str, &str)] = &[
    (
        "code/train.py",
        include_str!("../assets/demo/code/train.py"),
    ),
    (
        "data/train/moons-train.csv",
        include_str!("../assets/demo/data/train/moons-train.csv"),
    ),
    (
        "data/validation/moons-validation.csv",
        include_str!("../assets/demo/data/validation/moons-validation.csv"),
    ),
];
const JOB: &str = include_str!("../assets/demo/job.json");

/// Writes the demo under `home/demo` and returns its request with a fresh unique name and,
/// if given, a different number of epochs.
pub fn demo_request(home: &Path, epochs: Option<u32>) -> std::io::Result<TrainingJobRequest> {
    let dir = home.join("demo");
    for (rel, text) in FILES {
        let path = dir.join(rel);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(*text) {
            std::fs::create_dir_all(path.parent().expect("files are in folders"))?;
            std::fs::write(&path, text)?;
        }
    }
    let mut request = parse_request(JOB, "demo job.json")
        .map_err(|e| std::io::Error::other(e.to_string()))?
        .request;
    resolve_file_uris(&mut request, &dir);
    request.training_job_name = Some(unique_name(request.name()));
    if let Some(epochs) = epochs {
        request
            .hyper_parameters
            .get_or_insert_with(Default::default)
            .insert("epochs".into(), epochs.to_string());
    }
    Ok(request)
}
