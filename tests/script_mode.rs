//! Script mode as the framework toolkits run it: what is installed before the entry point
//! (on the job's own interpreter as it is), and how the entry point is found and started.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{LIMIT, Sandbox, completed, wait_for_end};
use sagedesk::backend::Backend;
use sagedesk::backend::local::LocalBackend;
use sagedesk::job::Status;
use serde_json::{Value, json};

/// A virtual environment of the user's, made from the test's Python without pip, holding a
/// package of its own (`userpkg`) as an installed distribution: the interpreter a runtime
/// table row or `PATH` would give a job.
fn user_venv(dir: &Path) -> PathBuf {
    let status = std::process::Command::new("python3")
        .args(["-m", "venv", "--without-pip"])
        .arg(dir)
        .status()
        .unwrap();
    assert!(status.success());
    let python = dir.join("bin/python");
    let purelib = std::process::Command::new(&python)
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ])
        .output()
        .unwrap();
    let purelib = PathBuf::from(String::from_utf8(purelib.stdout).unwrap().trim());
    std::fs::create_dir_all(purelib.join("userpkg")).unwrap();
    std::fs::write(purelib.join("userpkg/__init__.py"), "VALUE = 'mine'\n").unwrap();
    let info = purelib.join("userpkg-1.0.dist-info");
    std::fs::create_dir_all(&info).unwrap();
    std::fs::write(
        info.join("METADATA"),
        "Metadata-Version: 2.1\nName: userpkg\nVersion: 1.0\n",
    )
    .unwrap();
    std::fs::write(info.join("RECORD"), "").unwrap();
    python
}

/// The files installed into `site-packages` of the venv at `dir` (byte-code caches
/// aside, which importing writes).
fn installed(dir: &Path) -> Vec<String> {
    common::walk(dir)
        .into_iter()
        .filter(|p| p.components().any(|c| c.as_os_str() == "site-packages"))
        .filter(|p| !p.components().any(|c| c.as_os_str() == "__pycache__"))
        .map(|p| p.display().to_string())
        .collect()
}

/// pip finds packages only in the test's wheel folder.
fn offline_pip(sb: &Sandbox) -> Value {
    json!({
        "PIP_FIND_LINKS": sb.path().join("wheels").display().to_string(),
        "PIP_NO_INDEX": "1",
    })
}

fn backend_on(sb: &Sandbox, python: &Path) -> LocalBackend {
    let mut config = sb.config();
    config.python = python.to_path_buf();
    LocalBackend::open(config).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requirements_go_on_top_of_a_venv_interpreter_without_touching_it() {
    let sb = Sandbox::new();
    let venv = sb.path().join("user-venv");
    let python = user_venv(&venv);
    let before = installed(&venv);
    common::wheel(&sb.path().join("wheels"), "tinypkg", "from-the-wheel");
    sb.script(
        "train.py",
        "import userpkg, tinypkg\nprint('user', userpkg.VALUE, 'req', tinypkg.VALUE)\n",
    );
    // `userpkg` is already there: pip must take it as satisfied, not fetch it.
    sb.script("requirements.txt", "tinypkg==1.0\nuserpkg\n");
    let backend = backend_on(&sb, &python);
    let env = json!({"Environment": offline_pip(&sb)});
    for job in ["venv-first", "venv-again"] {
        let request = sb.request(job, "train.py", env.clone());
        backend.create_training_job(request).await.unwrap();
        let (_, log) = completed(&backend, job, LIMIT * 2).await;
        assert!(
            log.iter().any(|l| l == "user mine req from-the-wheel"),
            "{log:?}"
        );
        let reused = log
            .iter()
            .any(|l| l.starts_with("Using the environment for requirements.txt"));
        assert_eq!(reused, job == "venv-again", "{log:?}");
    }
    assert_eq!(installed(&venv), before, "the user's venv is unchanged");

    // A requirement that cannot be had fails the job with pip's words, and leaves no
    // environment behind to be reused.
    sb.script("requirements.txt", "no-such-package-anywhere==9.9\n");
    let request = sb.request("venv-missing", "train.py", env);
    backend.create_training_job(request).await.unwrap();
    let detail = wait_for_end(&backend, "venv-missing", LIMIT * 2).await;
    assert_eq!(detail.summary.status, Status::Failed);
    let reason = detail.failure_reason.unwrap_or_default();
    assert!(
        reason.starts_with("ClientError: installing requirements.txt failed"),
        "{reason}"
    );
    assert!(reason.contains("no-such-package-anywhere"), "{reason}");
    let envs: Vec<String> = std::fs::read_dir(sb.home().join("envs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(envs.len(), 1, "only the good environment is kept: {envs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_program_is_found_and_started_as_the_toolkit_does() {
    let sb = Sandbox::new();
    let backend = sb.backend();
    // SAGEMAKER_PROGRAM in Environment wins over the hyperparameter.
    sb.script("wrong.py", "print('the hyperparameter ran')\n");
    sb.script("right.py", "print('the environment ran')\n");
    let request = sb.request(
        "program-env",
        "wrong.py",
        json!({"Environment": {"SAGEMAKER_PROGRAM": "right.py"}}),
    );
    backend.create_training_job(request).await.unwrap();
    let (_, log) = completed(&backend, "program-env", LIMIT).await;
    assert_eq!(log, ["the environment ran"]);

    // A bash script runs under bash, by its shebang, with the hyperparameters as arguments.
    sb.script(
        "train.sh",
        "#!/bin/bash\nset -o pipefail\necho \"bash $BASH_VERSION\" | cut -c1-4\necho \"args: $*\"\n",
    );
    let request = sb.request(
        "program-bash",
        "train.sh",
        json!({"HyperParameters": {"title": "\"two words\""}}),
    );
    backend.create_training_job(request).await.unwrap();
    let (_, log) = completed(&backend, "program-bash", LIMIT).await;
    assert_eq!(log, ["bash", "args: --title two words"]);

    // An entry point inside a package of the code folder imports that package.
    std::fs::create_dir_all(sb.path().join("code/pkg")).unwrap();
    sb.script("pkg/util.py", "VALUE = 'from pkg.util'\n");
    sb.script(
        "pkg/train.py",
        "from pkg.util import VALUE\nimport sys\nprint(VALUE, sys.path[1].endswith('/code'))\n",
    );
    let request = sb.request("program-pkg", "pkg/train.py", json!({}));
    backend.create_training_job(request).await.unwrap();
    let (_, log) = completed(&backend, "program-pkg", LIMIT).await;
    assert_eq!(log, ["from pkg.util True"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_folder_with_setup_py_is_installed_and_run_as_a_module() {
    let sb = Sandbox::new();
    common::wheel(
        &sb.path().join("wheels"),
        "sagedesk_fixture_dep",
        "a-dependency",
    );
    sb.script(
        "setup.py",
        "from setuptools import setup\n\
         setup(name='mytrainer', version='0.1', py_modules=['train', 'helpers'],\n\
         \x20     install_requires=['sagedesk_fixture_dep'])\n",
    );
    sb.script("helpers.py", "WORD = 'helped'\n");
    sb.script(
        "train.py",
        "import sys, sagedesk_fixture_dep as dep, helpers\n\
         print(__name__, __spec__.name, dep.VALUE, helpers.WORD, sys.argv[1:])\n",
    );
    let backend = sb.backend();
    // The dependency comes from the wheel folder; the build backend (setuptools), as on
    // the service, from the package index.
    let env = json!({"PIP_FIND_LINKS": sb.path().join("wheels").display().to_string()});
    let request = sb.request(
        "package-job",
        "train.py",
        json!({"Environment": env, "HyperParameters": {"epochs": "3"}}),
    );
    backend.create_training_job(request).await.unwrap();
    let (_, log) = completed(&backend, "package-job", LIMIT * 2).await;
    assert!(
        log.iter()
            .any(|l| l.starts_with("Installing the package (pip install .) into")),
        "{log:?}"
    );
    assert!(
        log.iter()
            .any(|l| l == "__main__ train a-dependency helped ['--epochs', '3']"),
        "{log:?}"
    );
}
