//! Local mode's code folders and hosts: tarballs whose entries would escape the code
//! folder are refused before anything is written, several hosts' artifacts are merged, and
//! the runtime table maps container images to interpreters with their versions checked.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use common::Sandbox;
use sagedesk::backend::Backend;
use sagedesk::job::Status;
use serde_json::json;

/// Builds a `.tar.gz` whose single entry has the raw `name` (which a tar builder would
/// refuse), as a `Regular` file or a `Symlink` to `link`.
fn hostile_tarball(dest: &Path, name: &str, link: Option<&str>) {
    let file = std::fs::File::create(dest).unwrap();
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        file,
        flate2::Compression::default(),
    ));
    let ok = |dest: &Path, text: &str| {
        std::fs::write(dest.with_extension("py"), text).unwrap();
        dest.with_extension("py")
    };
    builder
        .append_path_with_name(ok(dest, "print('hi')\n"), "train.py")
        .unwrap();
    let mut header = tar::Header::new_gnu();
    let body = b"print('escaped')\n";
    header.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name.as_bytes());
    match link {
        Some(target) => {
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_link_name(target).unwrap();
            header.set_size(0);
            header.set_cksum();
            builder.append(&header, &[][..]).unwrap();
        }
        None => {
            header.set_size(body.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append(&header, &body[..]).unwrap();
        }
    }
    builder.into_inner().unwrap().finish().unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn tarball_entries_that_escape_the_code_folder_fail_the_job_naming_them() {
    let sb = Sandbox::new();
    let local = sb.backend();
    let cases: [(&str, &str, Option<&str>, &str); 2] = [
        (
            "dotdot",
            "../../escaped.py",
            None,
            "\"../../escaped.py\" would be written outside",
        ),
        (
            "abs-link",
            "data",
            Some("/etc"),
            "\"data\" links to \"/etc\"",
        ),
    ];
    for (job, entry, link, says) in cases {
        let tar = sb.path().join(format!("{job}.tar.gz"));
        hostile_tarball(&tar, entry, link);
        let request = sb.request(
            job,
            "train.py",
            json!({"HyperParameters": {"sagemaker_submit_directory": format!("file://{}", tar.display())}}),
        );
        local.create_training_job(request).await.unwrap();
        let detail = common::wait_for_end(&local, job, common::LIMIT).await;
        assert_eq!(detail.summary.status, Status::Failed, "{job}");
        let reason = detail.failure_reason.unwrap_or_default();
        assert!(reason.contains(says), "{job}: {reason}");
        assert!(reason.contains(&format!("{job}.tar.gz")), "{job}: {reason}");
    }
    // Nothing landed outside the job's folders.
    let found: Vec<PathBuf> = common::walk(sb.path())
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "escaped.py"))
        .collect();
    assert!(found.is_empty(), "{found:?}");
    assert!(!sb.home().join("jobs/escaped.py").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_two_host_job_packs_the_model_files_of_both_hosts() {
    let sb = Sandbox::new();
    let local = sb.backend();
    sb.script(
        "hosts.py",
        "import os\nhost = os.environ['SM_CURRENT_HOST']\nm = os.environ['SM_MODEL_DIR']\n\
         open(os.path.join(m, host + '.txt'), 'w').write(host)\n\
         open(os.path.join(m, 'shared.txt'), 'w').write(host)\n\
         open(os.path.join(os.environ['SM_OUTPUT_DATA_DIR'], host + '.log'), 'w').write(host)\n",
    );
    let request = sb.request(
        "two-hosts",
        "hosts.py",
        json!({"ResourceConfig": {"InstanceCount": 2}}),
    );
    local.create_training_job(request).await.unwrap();
    let detail = common::wait_for_end(&local, "two-hosts", common::LIMIT).await;
    assert_eq!(
        detail.summary.status,
        Status::Completed,
        "{:?}",
        detail.failure_reason
    );
    let out = sb.artifacts("two-hosts");
    let model = common::unpack(&out.join("model.tar.gz"), &sb.path().join("m"));
    assert_eq!(
        std::fs::read_to_string(model.join("algo-1.txt")).unwrap(),
        "algo-1"
    );
    assert_eq!(
        std::fs::read_to_string(model.join("algo-2.txt")).unwrap(),
        "algo-2"
    );
    assert_eq!(
        std::fs::read_to_string(model.join("shared.txt")).unwrap(),
        "algo-2",
        "the later host's file replaces the earlier one's"
    );
    let data = common::unpack(&out.join("output.tar.gz"), &sb.path().join("d"));
    assert!(data.join("algo-1.log").is_file() && data.join("algo-2.log").is_file());
}

#[test]
fn the_runtime_table_maps_images_and_warns_with_both_versions() {
    let sb = Sandbox::new();
    // An interpreter that answers the probe as a Python with torch 2.5.1 would.
    let fake = sb.path().join("fake-python");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho '{\"python\": \"3.11.7\", \"packages\": {\"torch\": \"2.5.1\"}}'\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = common::cli::sagedesk(&sb.home())
        .args(["runtimes", "set", "*pytorch-training:2.3*"])
        .arg(&fake)
        .output()
        .unwrap();
    let listed = common::cli::text(&out.stdout);
    assert!(out.status.success(), "{}", common::cli::text(&out.stderr));
    assert!(
        listed.contains("*pytorch-training:2.3*") && listed.contains("torch 2.5.1"),
        "{listed}"
    );

    sb.script("train.py", "print('hi')\n");
    let validate_locally = |request: &sagedesk::request::TrainingJobRequest| {
        let file = common::cli::request_file(&sb, request);
        let out = common::cli::sagedesk(&sb.home())
            .args(["validate", "--target", "local"])
            .arg(&file)
            .output()
            .unwrap();
        (out.status.success(), common::cli::text(&out.stdout))
    };
    let mut request = sb.request("torch-check", "train.py", json!({}));
    request
        .algorithm_specification
        .as_mut()
        .unwrap()
        .training_image = Some(
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.3.0-gpu-py311".into(),
    );
    let (passed, report) = validate_locally(&request);
    assert!(passed, "warnings only: {report}");
    let expected = format!(
        "image has torch 2.3.0, local interpreter {} has torch 2.5.1",
        fake.display()
    );
    assert!(report.contains(&expected), "{report}");
    assert!(
        report.contains("AlgorithmSpecification.TrainingImage"),
        "{report}"
    );

    // The demo job needs only the standard library, and says so: no warning.
    let demo = sagedesk::demo::demo_request(&sb.home(), Some(1)).unwrap();
    let (passed, report) = validate_locally(&demo);
    assert!(passed && !report.contains("warning"), "{report}");

    // Removing the row puts images back on the default interpreter.
    let out = common::cli::sagedesk(&sb.home())
        .args(["runtimes", "remove", "*pytorch-training:2.3*"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(!common::cli::text(&out.stdout).contains("fake-python"));
    let out = common::cli::sagedesk(&sb.home())
        .args(["runtimes", "remove", "*nothing*"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(common::cli::text(&out.stderr).contains("no runtime row for \"*nothing*\""));
}
