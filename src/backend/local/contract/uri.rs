//! `file://` URIs as paths on this machine, and the problems found on the way, named by
//! member.

use std::path::{Path, PathBuf};

use super::UNSUPPORTED;
use crate::backend::BackendError;
use crate::request::validate::Diagnostic;

/// The path of a `file://` URI, or an error naming the member for any other scheme.
pub fn file_uri_path(uri: &str, member: &str) -> Result<PathBuf, BackendError> {
    local_path(uri).map_err(|d| {
        let code = if d.code == UNSUPPORTED {
            crate::backend::UNSUPPORTED_LOCALLY
        } else {
            "ValidationException"
        };
        BackendError::new(code, format!("{member}: {}", d.message))
    })
}

pub(super) fn local_path(uri: &str) -> Result<PathBuf, Diagnostic> {
    if let Some(path) = uri.strip_prefix("file://") {
        if !path.starts_with('/') {
            return Err(Diagnostic::error(
                "",
                "local_uri",
                format!(
                    "{uri:?} is a relative file:// URI; use an absolute path (relative paths are \
                     resolved only when the job is read from a file)"
                ),
            ));
        }
        return Ok(PathBuf::from(path));
    }
    if uri.starts_with("s3://") || uri.starts_with("https://") {
        return Err(Diagnostic::error(
            "",
            UNSUPPORTED,
            format!(
                "{uri} is a remote location; here local mode needs a file:// path (code, input \
                 channels, checkpoints and the output path may be s3:// URIs)"
            ),
        ));
    }
    if uri.starts_with('/') {
        return Ok(PathBuf::from(uri));
    }
    Err(Diagnostic::error(
        "",
        "local_uri",
        format!("{uri:?} must be a file:// URI in local mode"),
    ))
}

/// Collects the problems of one request.
pub(super) struct Problems(pub(super) Vec<Diagnostic>);

impl Problems {
    pub(super) fn error(
        &mut self,
        path: impl Into<String>,
        code: &'static str,
        message: impl Into<String>,
    ) {
        self.0.push(Diagnostic::error(path, code, message));
    }

    /// The path of a `file://` URI at `member`, or a problem recorded there.
    pub(super) fn path(&mut self, uri: &str, member: &str) -> Option<PathBuf> {
        match local_path(uri) {
            Ok(p) => Some(p),
            Err(mut d) => {
                d.path = member.to_string();
                self.0.push(d);
                None
            }
        }
    }

    /// Checks that `path` exists, recording a problem at `member` if not.
    pub(super) fn existing(&mut self, path: PathBuf, member: &str) -> Option<PathBuf> {
        if path.exists() {
            Some(path)
        } else {
            self.error(
                member,
                "local_missing",
                format!("{} does not exist", path.display()),
            );
            None
        }
    }
}

/// Whether a folder could be created at `path`: its nearest existing ancestor is a writable folder.
pub(super) fn writable(path: &Path) -> bool {
    let mut p = Some(path);
    while let Some(dir) = p {
        if dir.exists() {
            let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()) else {
                return false;
            };
            // SAFETY: `c` is a valid NUL-terminated path.
            return dir.is_dir() && unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 };
        }
        p = dir.parent();
    }
    false
}
