//! The committed constraint table is what the generator makes from the pinned service model.

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
