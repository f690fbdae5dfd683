//! S3 data as a training channel reads it: an `S3Prefix` is every object whose key starts
//! with the prefix, a folder or not (an object under the prefix as a folder is kept below
//! it, any other below the prefix's last `/`); a `ManifestFile` is the objects its list
//! names, kept at their paths below its `prefix`.

use aws_sdk_s3::Client;
use serde_json::Value;

use super::{S3Uri, entry, get_object, list_objects};
use crate::backend::BackendError;
use crate::backend::sdk::from_sdk;
use crate::job::ArtifactEntry;

/// The largest manifest read.
const MANIFEST_LIMIT: usize = 256 << 20;

/// Every object whose key starts with `prefix`'s key, each keyed by its path below the
/// prefix as a folder when it is in that folder, else below the prefix's last `/`
/// (`s3://b/data/train` gives `data/train/a.csv` as `a.csv`, `data/train-1.csv` as
/// `train-1.csv` and `data/train2/x.csv` as `train2/x.csv`).
pub async fn list_key_prefix(
    client: &Client,
    prefix: &S3Uri,
) -> Result<Vec<ArtifactEntry>, BackendError> {
    let base = prefix
        .key
        .rfind('/')
        .map_or(String::new(), |i| prefix.key[..=i].to_string());
    let folder = format!("{}/", prefix.key);
    let is_folder_prefix = !prefix.key.is_empty() && !prefix.key.ends_with('/');
    list_objects(client, prefix, &prefix.key, |object| {
        let inside = is_folder_prefix && object.key().is_some_and(|k| k.starts_with(&folder));
        entry(prefix, if inside { &folder } else { &base }, object)
    })
    .await
}

/// A `ManifestFile`: `[{"prefix": "s3://bucket/path/"}, "relative/key", …]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The `prefix` every key is below.
    pub prefix: String,
    /// The keys, relative to the prefix, in the manifest's order.
    pub keys: Vec<String>,
}

impl Manifest {
    /// Reads a manifest; `field` names it in errors.
    pub fn parse(bytes: &[u8], field: &str) -> Result<Self, BackendError> {
        let bad = |why: &str| {
            BackendError::validation(format!(
                "{field}: not a manifest file ({why}); a manifest is a JSON list whose first \
                 element is {{\"prefix\": \"s3://bucket/path/\"}}, then keys below it"
            ))
        };
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| bad(&format!("not JSON: {e}")))?;
        let Value::Array(items) = value else {
            return Err(bad("not a JSON list"));
        };
        let mut items = items.into_iter();
        let prefix = items
            .next()
            .and_then(|first| {
                first
                    .get("prefix")
                    .and_then(Value::as_str)
                    .map(String::from)
            })
            .ok_or_else(|| bad("the first element has no \"prefix\""))?;
        let keys = items
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(key) if !key.is_empty() => Ok(key),
                _ => Err(bad(&format!("element {} is not a key", i + 1))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { prefix, keys })
    }

    /// The URI of each entry, with the path it is kept at.
    pub fn entries(&self) -> impl Iterator<Item = (String, &str)> {
        self.keys
            .iter()
            .map(|key| (format!("{}{key}", self.prefix), key.as_str()))
    }
}

/// The object at `uri` read whole (a manifest: at most 256 MB).
pub async fn read_object(client: &Client, uri: &str, field: &str) -> Result<Vec<u8>, BackendError> {
    let object = get_object(client, uri, field).await?;
    if object.content_length().unwrap_or(0) as usize > MANIFEST_LIMIT {
        return Err(BackendError::validation(format!(
            "{field}: {uri} is larger than a manifest may be ({} MB)",
            MANIFEST_LIMIT >> 20
        )));
    }
    let bytes = object
        .body
        .collect()
        .await
        .map_err(|e| BackendError::new("NetworkError", format!("{field}: {uri}: {e}")))?
        .into_bytes();
    Ok(bytes.to_vec())
}

/// The objects `manifest` names, each with its size (`HeadObject`), keyed by the path it is
/// kept at.
pub async fn list_manifest(
    client: &Client,
    manifest: &Manifest,
    field: &str,
) -> Result<Vec<ArtifactEntry>, BackendError> {
    let mut out = Vec::with_capacity(manifest.keys.len());
    for (uri, key) in manifest.entries() {
        let object = S3Uri::parse(&uri, field)?;
        let head = client
            .head_object()
            .bucket(&object.bucket)
            .key(&object.key)
            .send()
            .await
            .map_err(from_sdk)
            .map_err(|mut e| {
                e.message = format!("{field}: {uri} (in the manifest): {}", e.message);
                e
            })?;
        out.push(ArtifactEntry {
            key: key.to_string(),
            uri,
            size: head.content_length().unwrap_or(0).max(0) as u64,
            last_modified: None,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_is_a_prefix_then_keys() {
        let m = Manifest::parse(
            br#"[{"prefix": "s3://b/data/"}, "a.csv", "deep/b.csv"]"#,
            "channel train",
        )
        .unwrap();
        let entries: Vec<(String, &str)> = m.entries().collect();
        assert_eq!(
            entries,
            [
                ("s3://b/data/a.csv".to_string(), "a.csv"),
                ("s3://b/data/deep/b.csv".to_string(), "deep/b.csv")
            ]
        );
        let e = Manifest::parse(br#"["a.csv"]"#, "channel train").unwrap_err();
        assert!(e.message.contains("channel train"), "{e:?}");
        assert!(e.message.contains("prefix"), "{e:?}");
    }
}
