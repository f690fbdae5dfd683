//! S3 transfers both backends use: listing a prefix as a tree, downloads with progress,
//! reading a `.tar.gz` object's entries while it streams, and uploads (`upload`).

mod upload;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_s3::Client;
use tokio::io::AsyncWriteExt;

pub use upload::{Encryption, upload, upload_files, upload_folder};

use super::paging::Pager;
use super::partial::PartialFile;
use super::sdk::from_sdk;
use super::{BackendError, ErrorKind, Progress, archive};
use crate::job::{ArchiveListing, ArtifactEntry};

/// Most objects the Artifacts view lists, so a huge prefix cannot stall the window.
pub const LIST_LIMIT: usize = 10_000;

/// Progress of a transfer of many objects, `(bytes done, bytes in all)`, shared by the
/// tasks that move them.
pub type SharedProgress = Arc<dyn Fn(u64, u64) + Send + Sync>;

/// Adds up bytes moved by parallel tasks and reports the sum.
#[derive(Clone)]
struct Tally {
    done: Arc<AtomicU64>,
    total: u64,
    report: SharedProgress,
}

impl Tally {
    fn new(total: u64, report: SharedProgress) -> Self {
        report(0, total);
        Self {
            done: Arc::new(AtomicU64::new(0)),
            total,
            report,
        }
    }

    fn add(&self, bytes: u64) {
        let done = self.done.fetch_add(bytes, Ordering::Relaxed) + bytes;
        (self.report)(done, self.total.max(done));
    }

    /// A per-object progress callback feeding this tally.
    fn object(&self) -> Progress {
        let tally = self.clone();
        let last = AtomicU64::new(0);
        Box::new(move |done, _| {
            let before = last.swap(done, Ordering::Relaxed);
            tally.add(done.saturating_sub(before));
        })
    }
}
/// An `s3://bucket/key` URI split into bucket and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Uri {
    /// The bucket.
    pub bucket: String,
    /// The key or prefix, without a leading slash; may be empty.
    pub key: String,
}

impl S3Uri {
    /// Parses `s3://bucket/key`; `field` names the member in the error.
    pub fn parse(uri: &str, field: &str) -> Result<Self, BackendError> {
        let rest = uri.strip_prefix("s3://").ok_or_else(|| {
            BackendError::validation(format!("{field}: {uri:?} is not an s3:// URI"))
        })?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.len() < 3 {
            return Err(BackendError::validation(format!(
                "{field}: {uri:?} has no valid bucket name"
            )));
        }
        Ok(Self {
            bucket: bucket.to_string(),
            key: key.to_string(),
        })
    }

    /// The URI of a key in the same bucket.
    pub fn with_key(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    /// The key as a folder prefix: empty, or ending in `/`.
    pub fn folder(&self) -> String {
        if self.key.is_empty() || self.key.ends_with('/') {
            self.key.clone()
        } else {
            format!("{}/", self.key)
        }
    }
}

/// The objects under `prefix` for the Artifacts view, walked folder by folder with
/// `ListObjectsV2` and the `/` delimiter, at most [`LIST_LIMIT`] of them; keys in the entries
/// are relative to `prefix`. Folder markers (keys ending in `/`) are left out.
pub async fn list_tree(
    client: &Client,
    prefix: &S3Uri,
) -> Result<Vec<ArtifactEntry>, BackendError> {
    list_objects(client, prefix, Some(LIST_LIMIT)).await
}

/// Every object under `prefix`, however many: channels are downloaded whole or not at all.
pub async fn list_all(client: &Client, prefix: &S3Uri) -> Result<Vec<ArtifactEntry>, BackendError> {
    list_objects(client, prefix, None).await
}

async fn list_objects(
    client: &Client,
    prefix: &S3Uri,
    limit: Option<usize>,
) -> Result<Vec<ArtifactEntry>, BackendError> {
    let root = prefix.folder();
    let mut folders = vec![root.clone()];
    let mut entries = Vec::new();
    while let Some(folder) = folders.pop() {
        let mut token: Option<String> = None;
        let mut pager = Pager::new(format!("ListObjectsV2 {}", prefix.with_key(&folder)));
        loop {
            let page = client
                .list_objects_v2()
                .bucket(&prefix.bucket)
                .prefix(&folder)
                .delimiter("/")
                .set_continuation_token(token.clone())
                .send()
                .await
                .map_err(from_sdk)?;
            for object in page.contents() {
                let Some(key) = object.key() else { continue };
                let relative = key.strip_prefix(&root).unwrap_or(key);
                if relative.is_empty() || key.ends_with('/') {
                    continue;
                }
                entries.push(ArtifactEntry {
                    key: relative.to_string(),
                    uri: prefix.with_key(key),
                    size: object.size().unwrap_or(0).max(0) as u64,
                    last_modified: object
                        .last_modified()
                        .and_then(|t| chrono::DateTime::from_timestamp_millis(t.to_millis().ok()?)),
                });
            }
            folders.extend(
                page.common_prefixes()
                    .iter()
                    .filter_map(|p| p.prefix().map(str::to_string))
                    .filter(|p| p != &folder),
            );
            if let Some(limit) = limit
                && entries.len() >= limit
            {
                entries.truncate(limit);
                return Ok(sorted(entries));
            }
            let next = page
                .next_continuation_token()
                .filter(|_| page.is_truncated() == Some(true));
            token = pager.next(next)?;
            if token.is_none() {
                break;
            }
        }
    }
    Ok(sorted(entries))
}

fn sorted(mut entries: Vec<ArtifactEntry>) -> Vec<ArtifactEntry> {
    entries.sort_by(|a, b| a.key.cmp(&b.key));
    entries
}

/// `GetObject` for an `s3://` URI; `field` names it in errors.
async fn get_object(
    client: &Client,
    uri: &str,
    field: &str,
) -> Result<aws_sdk_s3::operation::get_object::GetObjectOutput, BackendError> {
    let object = S3Uri::parse(uri, field)?;
    client
        .get_object()
        .bucket(&object.bucket)
        .key(&object.key)
        .send()
        .await
        .map_err(from_sdk)
}

/// Writes the object at `uri` to `dest` through a `.partial` file, reporting bytes as they
/// arrive; `dest` is only replaced once the whole object is there.
pub async fn download(
    client: &Client,
    uri: &str,
    dest: &Path,
    progress: &Progress,
) -> Result<(), BackendError> {
    let response = get_object(client, uri, "artifact").await?;
    let total = response.content_length().unwrap_or(0).max(0) as u64;
    let mut body = response.body;
    let io = |e: std::io::Error| BackendError::internal(format!("{}: {e}", dest.display()));
    // Removed if this returns early or the download is cancelled (dropped) midway.
    let partial = PartialFile::new(dest).map_err(io)?;
    let mut file = tokio::fs::File::create(partial.path()).await.map_err(io)?;
    let mut done = 0u64;
    progress(0, total);
    while let Some(chunk) = body
        .try_next()
        .await
        .map_err(|e| BackendError::new(super::sdk::NETWORK_ERROR, format!("{uri}: {e}")))?
    {
        file.write_all(&chunk).await.map_err(io)?;
        done += chunk.len() as u64;
        progress(done, total.max(done));
    }
    file.flush().await.map_err(io)?;
    drop(file);
    partial.finish().map_err(io)
}

/// The entries of the `.tar.gz` object at `uri`, read from the headers as the object streams
/// in; the object is never stored.
pub async fn list_tar_gz(client: &Client, uri: &str) -> Result<ArchiveListing, BackendError> {
    let response = get_object(client, uri, "archive").await?;
    let reader = response.body.into_async_read();
    let uri = uri.to_string();
    tokio::task::spawn_blocking(move || {
        let bridge = tokio_util::io::SyncIoBridge::new(reader);
        archive::readable(archive::list_tar_gz(std::io::BufReader::new(bridge)), &uri)
    })
    .await
    .map_err(|e| BackendError::internal(e.to_string()))?
}

/// Copies every object under `prefix` into `dest`, keeping the key paths below the prefix
/// (File mode channels, code prefixes, checkpoints), several at a time; a prefix that names
/// one object rather than a folder gives that object. `progress` gets the bytes of all
/// objects together. Returns the number of bytes copied.
pub async fn download_prefix(
    client: &Client,
    prefix: &str,
    dest: &Path,
    field: &str,
    progress: SharedProgress,
) -> Result<u64, BackendError> {
    let (jobs, bytes) = match prefix_objects(client, prefix, dest, field).await? {
        Some(found) => found,
        None => {
            // A prefix may name one object rather than a folder.
            let root = S3Uri::parse(prefix, field)?;
            let name = root.key.rsplit('/').next().unwrap_or_default();
            let missing =
                || BackendError::validation(format!("{field}: no objects under {prefix}"));
            if name.is_empty() {
                return Err(missing());
            }
            let path = dest.join(name);
            let tally = Tally::new(0, progress);
            return match download(client, prefix, &path, &tally.object()).await {
                Ok(()) => Ok(std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0)),
                Err(e) if e.kind == ErrorKind::NotFound => Err(missing()),
                Err(e) => Err(e),
            };
        }
    };
    let tally = Tally::new(bytes, progress);
    // Several objects in flight at once, as the service's own downloader does.
    let downloads = jobs.into_iter().map(|(uri, path)| {
        let (client, object) = (client.clone(), tally.object());
        async move { download(&client, &uri, &path, &object).await }
    });
    in_parallel(downloads, PARALLEL_DOWNLOADS, "download").await?;
    Ok(bytes)
}

/// Runs `tasks` with at most `limit` in flight and collects their results (in the order
/// they finish); the first error ends the run, and dropping the rest cancels them.
pub(crate) async fn in_parallel<T, F>(
    tasks: impl IntoIterator<Item = F>,
    limit: usize,
    what: &str,
) -> Result<Vec<T>, BackendError>
where
    T: Send + 'static,
    F: std::future::Future<Output = Result<T, BackendError>> + Send + 'static,
{
    let mut running = tokio::task::JoinSet::new();
    let mut queue = tasks.into_iter();
    let mut done = Vec::new();
    loop {
        while running.len() < limit {
            let Some(task) = queue.next() else {
                break;
            };
            running.spawn(task);
        }
        match running.join_next().await {
            None => return Ok(done),
            Some(Ok(Ok(value))) => done.push(value),
            Some(Ok(Err(e))) => return Err(e),
            Some(Err(e)) => return Err(BackendError::internal(format!("{what} task: {e}"))),
        }
    }
}

/// Every object under `prefix` with the file it goes to under `dest`, and their bytes;
/// `None` when there is none.
async fn prefix_objects(
    client: &Client,
    prefix: &str,
    dest: &Path,
    field: &str,
) -> Result<Option<(Vec<(String, PathBuf)>, u64)>, BackendError> {
    let root = S3Uri::parse(prefix, field)?;
    let objects = list_all(client, &root).await?;
    if objects.is_empty() {
        return Ok(None);
    }
    let mut bytes = 0;
    let mut jobs = Vec::with_capacity(objects.len());
    for object in objects {
        let relative = key_path(&object.key).ok_or_else(|| {
            BackendError::validation(format!(
                "{field}: object key {:?} leaves the folder it is copied to",
                object.key
            ))
        })?;
        bytes += object.size;
        jobs.push((object.uri, dest.join(relative)));
    }
    Ok(Some((jobs, bytes)))
}

/// Objects of a channel downloaded at once.
const PARALLEL_DOWNLOADS: usize = 16;

/// Where an object lands under a download folder: its key as a relative path (leading `/`
/// dropped); `None` for a key that could leave the folder (a `..` part) or names it (`./`).
pub fn key_path(key: &str) -> Option<PathBuf> {
    let path = PathBuf::from(key.trim_start_matches('/'));
    path.components()
        .all(|c| matches!(c, std::path::Component::Normal(_)))
        .then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_uris() {
        let u = S3Uri::parse("s3://my-bucket/jobs/a", "f").unwrap();
        assert_eq!((u.bucket.as_str(), u.key.as_str()), ("my-bucket", "jobs/a"));
        assert_eq!(u.folder(), "jobs/a/");
        assert_eq!(S3Uri::parse("s3://my-bucket", "f").unwrap().folder(), "");
        let e = S3Uri::parse("file:///tmp", "OutputDataConfig.S3OutputPath").unwrap_err();
        assert!(e.message.starts_with("OutputDataConfig.S3OutputPath"));
        assert!(S3Uri::parse("s3://ab/x", "f").is_err());
    }

    #[test]
    fn keys_stay_inside() {
        assert_eq!(key_path("a/b.csv"), Some(PathBuf::from("a/b.csv")));
        assert_eq!(key_path("../etc/passwd"), None);
        assert_eq!(key_path("a/./b"), Some(PathBuf::from("a/b")));
    }
}
