//! SageDesk's own diagnostics on stderr, filtered by `SAGEDESK_LOG`, with credentials and
//! request signatures masked whatever the level: the SDK's trace output carries signed
//! headers, and a log pasted into a bug report must not carry keys.

use std::io::{self, Write};
use std::sync::LazyLock;

use regex::Regex;

/// What stands in for a masked value.
const MASKED: &str = "<redacted>";

/// Access key ids, signatures and the values of credential-bearing names.
static PATTERNS: LazyLock<Vec<(Regex, String)>> = LazyLock::new(|| {
    [
        // AKIA…/ASIA… access key ids: the kind prefix stays.
        (
            r"\b(AKIA|ASIA|ABIA|ACCA|AIDA|AROA|ANPA|AGPA)[A-Z0-9]{16}\b",
            format!("${{1}}{MASKED}"),
        ),
        // SigV4 signatures, in headers and in presigned query strings.
        (
            r"(?i)((?:x-amz-)?signature\s*[=:]\s*)[0-9a-f]{64}",
            format!("${{1}}{MASKED}"),
        ),
        // A name that carries a credential, then its value.
        (
            r#"(?i)((?:x-amz-security-token|x-amz-credential|aws_secret_access_key|secret_access_key|secretaccesskey|aws_session_token|session_token|sessiontoken|security_token|authorization|credential)["']?\s*[=:]\s*["']?)[^\s,"'}\]&;)]+"#,
            format!("${{1}}{MASKED}"),
        ),
    ]
    .into_iter()
    .map(|(pattern, to)| (Regex::new(pattern).expect("a valid pattern"), to))
    .collect()
});

/// A JSON member with a string value, as written in a request or answer body (quotes
/// escaped or not, as a body shows inside a debug string).
static JSON_PAIRS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(\\?"([^"\\\s]{1,200})\\?"\s*:\s*\\?")((?:[^"\\]|\\[^"])*)"#)
        .expect("a valid pattern")
});

/// `text` with every credential and signature masked, and the value of every JSON member
/// whose name the window's rule calls a secret (`hf_token`, `WANDB_API_KEY`,
/// `openai-api-key`: [`crate::job::secret::is_secret_key`]).
pub fn redact(text: &str) -> std::borrow::Cow<'_, str> {
    let mut out = std::borrow::Cow::Borrowed(text);
    for (pattern, to) in PATTERNS.iter() {
        if pattern.is_match(&out) {
            out = std::borrow::Cow::Owned(pattern.replace_all(&out, to.as_str()).into_owned());
        }
    }
    let secret_pair = |c: &regex::Captures<'_>| crate::job::secret::is_secret_key(&c[2]);
    if JSON_PAIRS.captures_iter(&out).any(|c| secret_pair(&c)) {
        let replaced = JSON_PAIRS.replace_all(&out, |c: &regex::Captures<'_>| {
            if secret_pair(c) {
                format!("{}{MASKED}", &c[1])
            } else {
                c[0].to_string()
            }
        });
        out = std::borrow::Cow::Owned(replaced.into_owned());
    }
    out
}

/// Stderr with each message masked as it is written (one message per write).
struct Redacting(io::Stderr);

impl Write for Redacting {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(redact(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// The filter when `SAGEDESK_LOG` is unset: warnings, except the SDK's search for an EC2
/// instance's metadata, which warns on every machine that is not an instance.
const DEFAULT_FILTER: &str = "warn,aws_config::imds=error";

/// Sends diagnostics to stderr at the `SAGEDESK_LOG` filter ([`DEFAULT_FILTER`] when unset).
pub fn init() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SAGEDESK_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_FILTER)),
        )
        .with_writer(|| Redacting(io::stderr()))
        // A job's supervisor writes on a disk that may be full: a message that cannot be
        // written is dropped, never a panic.
        .log_internal_errors(false)
        .init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_tokens_and_signatures_are_masked() {
        let line = "authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261123/\
                    us-east-1/sagemaker/aws4_request, SignedHeaders=host;x-amz-date, \
                    Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef \
                    x-amz-security-token: IQoJb3JpZ2luX2VjEHMaCXVz aws_secret_access_key = \
                    wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        let masked = redact(line);
        for secret in [
            "IOSFODNN7EXAMPLE",
            "0123456789abcdef0123456789abcdef",
            "IQoJb3JpZ2luX2VjEHMaCXVz",
            "wJalrXUtnFEMI",
        ] {
            assert!(!masked.contains(secret), "{secret} in {masked}");
        }
        assert!(masked.contains("SignedHeaders=host;x-amz-date"), "{masked}");
        let body = r#"body: b"{\"HyperParameters\":{\"hf_token\":\"hf_abcdef123\",\"epochs\":\"3\"},"Environment": {"WANDB_API_KEY": "wandb-secret-1", "openai-api-key":"sk-xyz987"}}""#;
        let masked = redact(body);
        for secret in ["hf_abcdef123", "wandb-secret-1", "sk-xyz987"] {
            assert!(!masked.contains(secret), "{secret} in {masked}");
        }
        assert!(masked.contains(r#"\"epochs\":\"3\""#), "{masked}");
        assert_eq!(redact("nothing to hide"), "nothing to hide");
    }
}
