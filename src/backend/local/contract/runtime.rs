//! Framework runtimes: what a container image expects (AWS Deep Learning Container and
//! SageMaker framework image names carry the framework, its version and Python's), which
//! local interpreter stands for it (the runtime table), and what that interpreter really
//! has (asked once and cached).

pub use crate::store::{InterpreterInfo, RuntimeEntry};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::request::TrainingJobRequest;
use crate::request::validate::Diagnostic;

/// What local mode knows of runtimes: the table, the interpreter used when no row
/// matches, and what interpreters answered when probed.
#[derive(Debug, Clone, Default)]
pub struct Runtimes {
    /// Image patterns to interpreters, matched in order.
    pub table: Vec<RuntimeEntry>,
    /// `python3`, or `SAGEDESK_PYTHON`.
    pub default: PathBuf,
    /// Probed interpreters, by the path the table or default gives.
    pub infos: HashMap<PathBuf, InterpreterInfo>,
}

impl Runtimes {
    /// The interpreter that runs `image`.
    pub fn interpreter(&self, image: &str) -> &Path {
        interpreter_for(&self.table, image, &self.default)
    }

    /// Every interpreter the table and default name, once each.
    pub fn interpreters(&self) -> Vec<PathBuf> {
        let mut out = vec![self.default.clone()];
        for entry in &self.table {
            if !out.contains(&entry.interpreter) {
                out.push(entry.interpreter.clone());
            }
        }
        out
    }

    /// Warnings for each way the interpreter of `request`'s image differs from what the
    /// image expects (none while that interpreter has not been probed).
    pub fn check(&self, request: &TrainingJobRequest) -> Vec<Diagnostic> {
        let Some(image) = request
            .algorithm_specification
            .as_ref()
            .and_then(|a| a.training_image.as_deref())
        else {
            return Vec::new();
        };
        let Some(expected) = ImageRuntime::parse(image) else {
            return Vec::new();
        };
        let interpreter = self.interpreter(image);
        match self.infos.get(interpreter) {
            Some(info) => compare(&expected, interpreter, info),
            None => Vec::new(),
        }
    }
}

/// What an image says it runs: Python packages with their versions, and Python's version.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ImageRuntime {
    /// `(distribution name, version)`, e.g. `("torch", "2.3.0")`.
    pub packages: Vec<(String, String)>,
    /// `3.11` from `py311`, `3` from `py3`.
    pub python: Option<String>,
}

/// Image repositories and the package they are named for.
const FRAMEWORKS: &[(&str, &str)] = &[
    ("huggingface-pytorch", "torch"),
    ("huggingface-tensorflow", "tensorflow"),
    ("pytorch", "torch"),
    ("tensorflow", "tensorflow"),
    ("sagemaker-scikit-learn", "scikit-learn"),
    ("sagemaker-xgboost", "xgboost"),
    ("mxnet", "mxnet"),
];

/// The packages the probe asks an interpreter about.
const PROBED: &[&str] = &[
    "torch",
    "tensorflow",
    "scikit-learn",
    "xgboost",
    "transformers",
    "mxnet",
];

impl ImageRuntime {
    /// What `image` (`…/pytorch-training:2.3.0-gpu-py311`) expects, when its name says.
    pub fn parse(image: &str) -> Option<ImageRuntime> {
        let last = image.rsplit('/').next()?;
        let (repo, tag) = last.split_once(':').unwrap_or((last, ""));
        let tag = tag.split('@').next().unwrap_or_default();
        let parts: Vec<&str> = tag.split('-').collect();
        let mut runtime = ImageRuntime {
            python: parts.iter().find_map(|p| python_of(p)),
            ..Default::default()
        };
        if let Some((_, package)) = FRAMEWORKS.iter().find(|(name, _)| repo.starts_with(name)) {
            // `1.2-1` (framework version, then the image's own build number) or `2.3.0-gpu`.
            let version = parts.first().filter(|v| is_version(v))?;
            runtime
                .packages
                .push((package.to_string(), version.to_string()));
            if let Some(t) = parts.iter().find_map(|p| p.strip_prefix("transformers")) {
                runtime
                    .packages
                    .push(("transformers".into(), t.to_string()));
            }
        } else if repo == "python" {
            runtime.python = parts
                .first()
                .filter(|v| is_version(v))
                .map(|v| v.to_string());
        }
        (!runtime.packages.is_empty() || runtime.python.is_some()).then_some(runtime)
    }
}

fn is_version(text: &str) -> bool {
    !text.is_empty()
        && text
            .split('.')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

/// `3.11` from `py311`, `3` from `py3`.
fn python_of(part: &str) -> Option<String> {
    let digits = part.strip_prefix("py")?;
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let (major, minor) = digits.split_at(1);
    Some(if minor.is_empty() {
        major.to_string()
    } else {
        format!("{major}.{minor}")
    })
}

/// Whether `local` matches `expected` in every part `expected` gives, up to major.minor.
fn same_release(expected: &str, local: &str) -> bool {
    expected
        .split('.')
        .zip(local.split('.'))
        .take(2)
        .all(|(a, b)| a.trim_start_matches('0') == b.trim_start_matches('0'))
}

const PROBE: &str = r#"import json, sys
import importlib.metadata as m
found = {}
for name in sys.argv[1:]:
    try:
        found[name] = m.version(name)
    except Exception:
        pass
print(json.dumps({"python": "%d.%d.%d" % sys.version_info[:3], "packages": found}))
"#;

/// Asks `python` for its version and its framework packages' (without importing them).
pub fn probe(python: &Path) -> Result<InterpreterInfo, String> {
    let mut child = std::process::Command::new(python)
        .arg("-c")
        .arg(PROBE)
        .args(PROBED)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", python.display()))?;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while child.try_wait().map_err(|e| e.to_string())?.is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            return Err(format!("{} did not answer in 20 s", python.display()));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(text.trim()).map_err(|_| {
        format!(
            "{} did not answer as a Python 3.8+ interpreter: {}",
            python.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        )
    })
}

/// Whether `text` matches `pattern`, where `*` matches any run of characters.
pub fn matches(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

/// The interpreter for `image`: the first matching row of `table`, else `default`.
pub fn interpreter_for<'a>(table: &'a [RuntimeEntry], image: &str, default: &'a Path) -> &'a Path {
    table
        .iter()
        .find(|e| matches(&e.pattern, image))
        .map_or(default, |e| &e.interpreter)
}

/// Warnings at `AlgorithmSpecification.TrainingImage` for each way `info` differs from what
/// `image` expects.
pub fn compare(
    image: &ImageRuntime,
    interpreter: &Path,
    info: &InterpreterInfo,
) -> Vec<Diagnostic> {
    let who = format!("local interpreter {}", interpreter.display());
    let mut out = Vec::new();
    let mut warn = |message: String| {
        out.push(Diagnostic::warning(
            "AlgorithmSpecification.TrainingImage",
            "local_runtime",
            format!("{message}; map the image to another interpreter with `sagedesk runtimes set`"),
        ));
    };
    if let Some(python) = &image.python
        && !same_release(python, &info.python)
    {
        warn(format!(
            "image has Python {python}, {who} is Python {}",
            info.python
        ));
    }
    for (package, version) in &image.packages {
        match info.packages.get(package) {
            Some(local) if same_release(version, local) => {}
            Some(local) => warn(format!(
                "image has {package} {version}, {who} has {package} {local}"
            )),
            None => warn(format!(
                "image has {package} {version}, {who} has no {package}"
            )),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names_say_what_they_run() {
        let p = |image| ImageRuntime::parse(image).unwrap();
        let torch =
            p("763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.3.0-gpu-py311");
        assert_eq!(torch.packages, [("torch".to_string(), "2.3.0".to_string())]);
        assert_eq!(torch.python.as_deref(), Some("3.11"));
        let sk =
            p("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3");
        assert_eq!(
            sk.packages,
            [("scikit-learn".to_string(), "1.2".to_string())]
        );
        assert_eq!(sk.python.as_deref(), Some("3"));
        let hf = p(
            "x/huggingface-pytorch-training:2.1.0-transformers4.36.0-gpu-py310-cu121-ubuntu20.04",
        );
        assert_eq!(hf.packages.len(), 2);
        assert_eq!(
            hf.packages[1],
            ("transformers".to_string(), "4.36.0".to_string())
        );
        assert_eq!(
            p("public.ecr.aws/docker/library/python:3-slim")
                .python
                .as_deref(),
            Some("3")
        );
        assert_eq!(
            ImageRuntime::parse("123.dkr.ecr.us-east-1.amazonaws.com/mine:latest"),
            None
        );
    }

    #[test]
    fn the_probe_asks_a_real_interpreter() {
        let info = probe(Path::new("python3")).unwrap();
        assert!(info.python.starts_with("3."), "{info:?}");
        let err = probe(Path::new("/bin/true")).unwrap_err();
        assert!(err.contains("did not answer as a Python"), "{err}");
    }

    #[test]
    fn versions_compare_to_major_minor() {
        assert!(same_release("2.3.0", "2.3.1"));
        assert!(!same_release("2.3.0", "2.5.1"));
        assert!(same_release("3", "3.12.1"));
        assert!(!same_release("3.11", "3.12.1"));
    }

    #[test]
    fn patterns_match_with_stars() {
        assert!(matches(
            "*pytorch-training:2.3*",
            "a/pytorch-training:2.3.0-gpu"
        ));
        assert!(!matches(
            "*pytorch-training:2.3*",
            "a/pytorch-training:2.5.0"
        ));
        assert!(matches("exact", "exact") && !matches("exact", "exactly"));
        assert!(matches("*", "anything"));
    }
}
