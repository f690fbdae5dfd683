//! Text for the clipboard, with the secret values it holds in clear: the window copies it
//! at once, or asks first when it would put a token on the clipboard.

use crate::job::secret;
use crate::request::TrainingJobRequest;
use crate::request::tune::definition_path;
use crate::request::tuning::TuningJobRequest;
use crate::request::validate::placed_definitions;

/// Text to copy and what it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Clip {
    /// What is copied, for the message ("Request JSON").
    pub what: String,
    /// The text.
    pub text: String,
    /// `Member.key` of each secret the text holds in clear.
    pub secrets: Vec<String>,
}

impl Clip {
    /// Text that holds no secret.
    pub fn plain(what: impl Into<String>, text: String) -> Self {
        Self {
            what: what.into(),
            text,
            secrets: Vec::new(),
        }
    }

    /// The request as `--cli-input-json` reads it.
    pub fn request_json(request: &TrainingJobRequest) -> Self {
        Self::of(
            "Request JSON",
            crate::request::to_cli_input_json(request),
            request,
        )
    }

    /// `aws sagemaker create-training-job --cli-input-json '…'`.
    pub fn cli_command(request: &TrainingJobRequest) -> Self {
        Self::of(
            "AWS CLI command",
            crate::request::aws_cli_command(request),
            request,
        )
    }

    /// `aws sagemaker create-hyper-parameter-tuning-job --cli-input-json '…'`; the secrets
    /// of its definitions' static hyperparameters and environments.
    pub fn tuning_cli_command(request: &TuningJobRequest) -> Self {
        let json = serde_json::to_string(&request.to_value()).expect("JSON serializes");
        let text =
            crate::request::sagemaker_cli_command("create-hyper-parameter-tuning-job", &json);
        let secrets = placed_definitions(request)
            .into_iter()
            .flat_map(|(prefix, definition)| {
                let trial = definition.trial("", &Default::default(), None).to_value();
                secret::secrets(&trial)
                    .into_iter()
                    .map(|(member, key, _)| definition_path(&format!("{member}.{key}"), &prefix))
                    .collect::<Vec<_>>()
            })
            .collect();
        Self {
            what: "AWS CLI command".into(),
            text,
            secrets,
        }
    }

    fn of(what: &str, text: String, request: &TrainingJobRequest) -> Self {
        let value = request.to_value();
        let secrets = secret::secrets(&value)
            .into_iter()
            .map(|(member, key, _)| format!("{member}.{key}"))
            .collect();
        Self {
            what: what.into(),
            text,
            secrets,
        }
    }
}
