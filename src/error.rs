//! The error vocabulary every part shares: [`BackendError`] (the service's own code and
//! message) with its [`ErrorKind`], and the codes SageDesk itself gives. It knows no
//! backend: the store and the SDK module convert their errors into it.

/// The code of errors where no answer came back: refused, reset, unresolvable, timed out.
pub const NETWORK_ERROR: &str = "NetworkError";
/// No credentials anywhere in the provider chain.
pub const NO_CREDENTIALS: &str = "NoCredentials";
/// The SSO session behind the profile has ended.
pub const SSO_EXPIRED: &str = "SsoSessionExpired";
/// An answer larger than any real answer of its call.
pub const TOO_LARGE: &str = "AnswerTooLarge";
/// Code of the error a write to a read-only store gives.
pub const READ_ONLY: &str = "ReadOnlyStore";
/// Code of the error a write gives when the disk is full.
pub const STORAGE_FULL: &str = "StorageFull";

/// What kind of failure an error is, whichever service or part raised it: what callers
/// decide on (retry, exit code, wording), where the code stays the service's own text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// No such job, object or stream.
    NotFound,
    /// The request is not acceptable.
    Validation,
    /// Local mode cannot run this request.
    Unsupported,
    /// The name is taken or the resource is in a state that forbids the call.
    Conflict,
    /// Too many requests: slow down.
    Throttled,
    /// Credentials are missing, expired or not allowed.
    Auth,
    /// No answer: refused, reset, unresolvable, timed out.
    Network,
    /// The service failed on its side or is unavailable for now.
    Unavailable,
    /// No space left on the device that holds the data folder.
    StorageFull,
    /// The data folder can only be read.
    ReadOnly,
    /// A file or process on this machine failed.
    Io,
    /// Anything else.
    Other,
}

impl ErrorKind {
    /// The kind of a service's error code.
    pub fn of_code(code: &str) -> Self {
        match code {
            "ResourceNotFound"
            | "ResourceNotFoundException"
            | "NoSuchKey"
            | "NoSuchBucket"
            | "NotFound"
            | "NoSuchEntity" => ErrorKind::NotFound,
            "ValidationException"
            | "ValidationError"
            | "InvalidParameterValue"
            | "InvalidParameterException"
            | "InvalidRequest" => ErrorKind::Validation,
            UNSUPPORTED_LOCALLY => ErrorKind::Unsupported,
            "ResourceInUse"
            | "ResourceInUseException"
            | "ConflictException"
            | "ResourceLimitExceeded" => ErrorKind::Conflict,
            "ThrottlingException"
            | "Throttling"
            | "ThrottledException"
            | "TooManyRequestsException"
            | "RequestLimitExceeded"
            | "RequestThrottled"
            | "RequestThrottledException"
            | "SlowDown"
            | "ProvisionedThroughputExceededException" => ErrorKind::Throttled,
            "AccessDenied"
            | "AccessDeniedException"
            | "ExpiredToken"
            | "ExpiredTokenException"
            | "UnrecognizedClientException"
            | "InvalidClientTokenId"
            | "SignatureDoesNotMatch"
            | "InvalidSignatureException"
            | NO_CREDENTIALS
            | SSO_EXPIRED => ErrorKind::Auth,
            NETWORK_ERROR | "RequestTimeout" | "RequestTimeoutException" => ErrorKind::Network,
            "ServiceUnavailable" | "InternalServerError" | "InternalFailure" | "InternalError" => {
                ErrorKind::Unavailable
            }
            STORAGE_FULL => ErrorKind::StorageFull,
            READ_ONLY => ErrorKind::ReadOnly,
            _ => ErrorKind::Other,
        }
    }
}

/// The code of errors for requests local mode cannot run.
pub const UNSUPPORTED_LOCALLY: &str = "UnsupportedLocally";

/// The error for something that does not fit in a local job's volume: `what` (a file, an
/// archive, a channel) needs more than its `volume` bytes. A full disk's kind, so it reads
/// as one wherever it lands.
pub fn volume_full(what: &str, volume: u64) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::StorageFull,
        format!(
            "no space left on device: {what} needs more than the job's volume of {} \
             (ResourceConfig.VolumeSizeInGB)",
            crate::job::bytes(volume)
        ),
    )
}

/// An error from a backend: its kind, and the service's own code and message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct BackendError {
    /// What kind of failure it is.
    pub kind: ErrorKind,
    /// The service's code, such as `ResourceInUse` or `ValidationException`.
    pub code: String,
    /// The service's message.
    pub message: String,
}

impl BackendError {
    /// An error with the given code (its kind follows from it) and message.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        let code = code.into();
        Self {
            kind: ErrorKind::of_code(&code),
            code,
            message: message.into(),
        }
    }

    /// `ValidationException`: the request is not acceptable.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new("ValidationException", message)
    }

    /// `ResourceNotFound`: no such job.
    pub fn not_found(job: &str) -> Self {
        Self::new(
            "ResourceNotFound",
            format!("Requested resource not found: training job {job:?} does not exist"),
        )
    }

    /// `ResourceInUse`: the name is taken.
    pub fn in_use(job: &str) -> Self {
        Self::new(
            "ResourceInUse",
            format!("Training job names must be unique: a job named {job:?} already exists"),
        )
    }

    /// A local failure (disk, database, process) that is not the request's fault.
    pub fn internal(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Io,
            ..Self::new("InternalFailure", message)
        }
    }

    /// Whether trying again later may succeed: throttling, a server-side failure, the
    /// network or a local hiccup. Pollers back off on these instead of hammering the
    /// service.
    pub fn is_transient(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Throttled | ErrorKind::Network | ErrorKind::Unavailable | ErrorKind::Io
        )
    }
}

impl From<std::io::Error> for BackendError {
    fn from(e: std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::StorageFull => Self::new(STORAGE_FULL, e.to_string()),
            _ => Self::internal(e.to_string()),
        }
    }
}
