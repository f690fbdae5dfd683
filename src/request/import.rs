//! Reading job definitions: `--cli-input-json` files, boto3-style dicts and
//! `DescribeTrainingJob` responses, with errors that name the line or the member.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::TrainingJobRequest;

/// Members of a `DescribeTrainingJob` response that are not part of the request.
pub const OUTPUT_ONLY_MEMBERS: &[&str] = &[
    "TrainingJobArn",
    "TuningJobArn",
    "LabelingJobArn",
    "AutoMLJobArn",
    "ModelArtifacts",
    "TrainingJobStatus",
    "SecondaryStatus",
    "FailureReason",
    "CreationTime",
    "TrainingStartTime",
    "TrainingEndTime",
    "LastModifiedTime",
    "SecondaryStatusTransitions",
    "FinalMetricDataList",
    "TrainingTimeInSeconds",
    "BillableTimeInSeconds",
    "BillableTokenCount",
    "DebugRuleEvaluationStatuses",
    "ProfilerRuleEvaluationStatuses",
    "ProfilingStatus",
    "WarmPoolStatus",
    "OutputModelPackageArn",
    "ProgressInfo",
    "ResponseMetadata",
];

/// Why a job definition could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The text is not valid JSON.
    #[error("{origin}:{line}:{column}: malformed JSON: {message}")]
    Syntax {
        /// File name or "input".
        origin: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser expected.
        message: String,
    },
    /// A member has the wrong JSON type.
    #[error("{origin}: member {path}: {message}")]
    Type {
        /// File name or "input".
        origin: String,
        /// Member path such as `ResourceConfig.InstanceCount`.
        path: String,
        /// What was found and what was expected.
        message: String,
    },
    /// The file is far larger than any job definition.
    #[error(
        "{origin}: {size} bytes or more is too large for a job definition (the limit is {} bytes; \
         the service's own limits keep requests under 100 KB)",
        MAX_REQUEST_BYTES
    )]
    TooLarge {
        /// File name or "input".
        origin: String,
        /// Its size in bytes.
        size: u64,
    },
    /// The top level is not a JSON object.
    #[error("{origin}: a job definition must be a JSON object, found {found}")]
    NotAnObject {
        /// File name or "input".
        origin: String,
        /// The JSON type found.
        found: &'static str,
    },
}

/// A request read from text, with notices about what was changed on the way in.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The request.
    pub request: TrainingJobRequest,
    /// Human-readable notices (for example, dropped output-only members).
    pub notices: Vec<String>,
}

/// Parses a request from JSON text. `origin` names the source in error messages.
pub fn parse_request(text: &str, origin: &str) -> Result<Imported, RequestError> {
    request_from_value(parse_json(text, origin)?, origin)
}

/// Builds a request from a JSON value, dropping output-only members of a Describe response.
pub fn request_from_value(mut value: Value, origin: &str) -> Result<Imported, RequestError> {
    let Some(object) = value.as_object_mut() else {
        return Err(RequestError::NotAnObject {
            origin: origin.to_string(),
            found: json_type(&value),
        });
    };
    let mut dropped = Vec::new();
    for member in OUTPUT_ONLY_MEMBERS {
        if object.shift_remove(*member).is_some() {
            dropped.push(*member);
        }
    }
    let mut notices = Vec::new();
    if !dropped.is_empty() {
        notices.push(format!(
            "read as a DescribeTrainingJob response; output-only members dropped: {}",
            dropped.join(", ")
        ));
    }
    let request: TrainingJobRequest =
        serde_path_to_error::deserialize(value).map_err(|e| RequestError::Type {
            origin: origin.to_string(),
            path: display_path(&e.path().to_string()),
            message: e.inner().to_string(),
        })?;
    Ok(Imported { request, notices })
}

/// The largest request accepted, far above what the service takes (its own limits keep a
/// request well under 100 KB): a bigger file is not a job definition.
pub const MAX_REQUEST_BYTES: u64 = 1 << 20;

/// Reads a request file's text, refusing one over [`MAX_REQUEST_BYTES`].
pub(super) fn read_text(path: &Path) -> Result<String, RequestError> {
    let io = |source| RequestError::Io {
        path: path.to_path_buf(),
        source,
    };
    match read_limited(path, MAX_REQUEST_BYTES).map_err(io)? {
        Ok(text) => Ok(text),
        Err(size) => Err(RequestError::TooLarge {
            origin: path.display().to_string(),
            size,
        }),
    }
}

/// Reads at most `limit` bytes of text from `path`, whatever it is (a file, a pipe, a
/// device that never ends): `Err(size)` with the size seen (at least `limit + 1`) when
/// there is more. What `stat` says is not trusted.
pub fn read_limited(path: &Path, limit: u64) -> std::io::Result<Result<String, u64>> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let stated = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Ok(Err(stated.max(bytes.len() as u64)));
    }
    String::from_utf8(bytes)
        .map(Ok)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.utf8_error()))
}

/// Parses JSON text, pointing at the line and column of a syntax error.
pub(super) fn parse_json(text: &str, origin: &str) -> Result<Value, RequestError> {
    if text.len() as u64 > MAX_REQUEST_BYTES {
        return Err(RequestError::TooLarge {
            origin: origin.to_string(),
            size: text.len() as u64,
        });
    }
    serde_json::from_str(text).map_err(|e| RequestError::Syntax {
        origin: origin.to_string(),
        line: e.line(),
        column: e.column(),
        message: strip_position(&e.to_string()),
    })
}

/// The folder relative `file://` URIs of the file at `path` are resolved against: its
/// parent, the working folder for a bare file name.
pub(super) fn base_folder(path: &Path) -> PathBuf {
    let base = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::canonicalize(&base).unwrap_or(base)
}

/// Reads a request from a file and resolves relative `file://` URIs against its folder.
pub fn read_request_file(path: &Path) -> Result<Imported, RequestError> {
    let text = read_text(path)?;
    let mut imported = parse_request(&text, &path.display().to_string())?;
    resolve_file_uris(&mut imported.request, &base_folder(path));
    Ok(imported)
}

/// Reads a file for validation: the request's JSON with relative `file://` URIs resolved,
/// or, when a member has the wrong type, the JSON as written (output-only members dropped)
/// so that the validator can report every problem at once.
pub fn read_value_file(path: &Path) -> Result<(Value, Vec<String>), RequestError> {
    let origin = path.display().to_string();
    let mut value = parse_json(&read_text(path)?, &origin)?;
    match request_from_value(value.clone(), &origin) {
        Ok(mut imported) => {
            resolve_file_uris(&mut imported.request, &base_folder(path));
            Ok((imported.request.to_value(), imported.notices))
        }
        Err(RequestError::Type { .. }) => {
            if let Some(object) = value.as_object_mut() {
                for member in OUTPUT_ONLY_MEMBERS {
                    object.shift_remove(*member);
                }
            }
            Ok((value, Vec::new()))
        }
        Err(other) => Err(other),
    }
}

/// The request as pretty JSON that `aws sagemaker create-training-job --cli-input-json` accepts.
pub fn to_cli_input_json(request: &TrainingJobRequest) -> String {
    serde_json::to_string_pretty(request).expect("a request always serializes")
}

/// `aws sagemaker create-training-job --cli-input-json '...'`, quoted for POSIX shells:
/// the JSON sits in single quotes, and each single quote inside is written `'\''`.
pub fn aws_cli_command(request: &TrainingJobRequest) -> String {
    let json = serde_json::to_string(request).expect("a request always serializes");
    sagemaker_cli_command("create-training-job", &json)
}

/// `aws sagemaker COMMAND --cli-input-json '…'` with `json`, quoted for sh.
pub fn sagemaker_cli_command(command: &str, json: &str) -> String {
    format!(
        "aws sagemaker {command} --cli-input-json {}",
        shell_quote(json)
    )
}

/// Quotes `text` as one POSIX shell word.
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// Rewrites relative `file://` URIs (`file://./data`, `file://data`) to absolute ones under `base`.
pub fn resolve_file_uris(request: &mut TrainingJobRequest, base: &Path) {
    for channel in request.input_data_config.iter_mut().flatten() {
        if let Some(uri) = channel
            .data_source
            .as_mut()
            .and_then(|d| d.s3_data_source.as_mut())
            .and_then(|s| s.s3_uri.as_mut())
        {
            absolutize(uri, base);
        }
    }
    if let Some(uri) = request
        .output_data_config
        .as_mut()
        .and_then(|o| o.s3_output_path.as_mut())
    {
        absolutize(uri, base);
    }
    if let Some(uri) = request
        .checkpoint_config
        .as_mut()
        .and_then(|c| c.s3_uri.as_mut())
    {
        absolutize(uri, base);
    }
    if let Some(value) = request
        .hyper_parameters
        .as_mut()
        .and_then(|h| h.get_mut(crate::request::SUBMIT_DIRECTORY))
    {
        // The SageMaker Python SDK JSON-encodes hyperparameter values; keep the encoding.
        match serde_json::from_str::<String>(value) {
            Ok(mut inner) => {
                absolutize(&mut inner, base);
                *value = serde_json::to_string(&inner).expect("strings serialize");
            }
            Err(_) => absolutize(value, base),
        }
    }
}

fn absolutize(uri: &mut String, base: &Path) {
    if let Some(rest) = uri.strip_prefix("file://")
        && !rest.starts_with('/')
    {
        let rest = rest.strip_prefix("./").unwrap_or(rest);
        let joined = base.join(rest);
        *uri = format!("file://{}", joined.display());
    }
}

pub(super) fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// serde_json appends " at line L column C"; the error carries those separately.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// `InputDataConfig[1].DataSource` rather than serde_path_to_error's `InputDataConfig.[1]...`.
pub(super) fn display_path(path: &str) -> String {
    let path = path.replace(".[", "[");
    if path == "." {
        "(top level)".to_string()
    } else {
        path
    }
}
