//! An `AugmentedManifestFile` channel's records: each JSON line gives one record per name
//! of `AttributeNames`, in that order. An attribute whose name ends in `-ref` refers to an
//! object (`s3://`, or `file://` here), whose bytes are the record; any other attribute's
//! value is the record: a string as its text, anything else as JSON.

use std::path::Path;

use serde_json::Value;

use crate::backend::BackendError;
use crate::backend::local::contract::{PipeRecord, copy_file, file_uri_path};
use crate::backend::local::remote::Remote;
use crate::backend::s3::{self, Fetched};

/// The records of the augmented manifest `text`, with the objects its `-ref` attributes
/// name copied under `dest/refs/`, within `limit` bytes.
pub(super) async fn records(
    remote: &Remote,
    text: &[u8],
    attributes: &[String],
    dest: &Path,
    field: &str,
    limit: u64,
) -> Result<(Vec<PipeRecord>, Fetched), BackendError> {
    let text = String::from_utf8_lossy(text);
    let mut records = Vec::new();
    let mut fetched = Fetched::default();
    let refs = dest.join("refs");
    for (number, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let at = |what: String| {
            BackendError::validation(format!(
                "{field}: line {} of the manifest: {what}",
                number + 1
            ))
        };
        let object: Value = serde_json::from_str(line).map_err(|e| at(format!("not JSON: {e}")))?;
        for (index, name) in attributes.iter().enumerate() {
            let value = object
                .get(name)
                .ok_or_else(|| at(format!("no attribute {name:?}")))?;
            if !name.ends_with("-ref") {
                let bytes = match value {
                    Value::String(s) => s.clone().into_bytes(),
                    other => other.to_string().into_bytes(),
                };
                records.push(PipeRecord::Bytes(bytes));
                continue;
            }
            let uri = value
                .as_str()
                .ok_or_else(|| at(format!("{name:?} is not a URI")))?;
            let path = refs.join(format!("{number}-{index}"));
            let size = if uri.starts_with("s3://") {
                let client = remote.s3().await?;
                let progress: crate::backend::Progress = Box::new(|_, _| {});
                let left = limit.saturating_sub(fetched.bytes);
                s3::download_within(client, uri, &path, &progress, left).await?;
                std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0)
            } else {
                let source = file_uri_path(uri, field)?;
                copy_file(&source, &path, &mut |_| {}).map_err(|e| at(format!("{uri}: {e}")))?
            };
            fetched.bytes += size;
            if fetched.bytes > limit {
                return Err(crate::error::volume_full(field, limit).into());
            }
            records.push(PipeRecord::File(path));
        }
    }
    Ok((records, fetched))
}
