//! The committed constraint table and image registry table are what their generators make
//! from the pinned service model and SageMaker Python SDK.

use std::process::Command;

#[test]
fn committed_constraints_match_a_fresh_generation() {
    let root = env!("CARGO_MANIFEST_DIR");
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("botocore");
    let out = Command::new("python3")
        .arg(format!("{root}/tools/gen_constraints.py"))
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
fn committed_image_registries_match_a_fresh_generation() {
    let root = env!("CARGO_MANIFEST_DIR");
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("sagemaker-sdk");
    let out = Command::new("python3")
        .arg(format!("{root}/tools/gen_images.py"))
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
