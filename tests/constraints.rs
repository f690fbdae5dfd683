//! The committed constraint table and image registry table are what their generators make
//! from the pinned service model and SageMaker Python SDK.

#![allow(clippy::unwrap_used)]

use std::process::Command;

/// Runs `tools/<script> --check` with its download cache under the test's temp folder.
fn check_generator(script: &str, cache: &str) {
    let root = env!("CARGO_MANIFEST_DIR");
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(cache);
    let out = Command::new("python3")
        .arg(format!("{root}/tools/{script}"))
        .arg("--check")
        .arg("--cache")
        .arg(&cache)
        .output()
        .expect("python3 runs the generator");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn committed_constraints_match_a_fresh_generation() {
    check_generator("gen_constraints.py", "botocore");
}

#[test]
fn committed_image_registries_match_a_fresh_generation() {
    check_generator("gen_images.py", "sagemaker-sdk");
}
