//! S3 transfers both backends use: listing a prefix as a tree, downloads with progress,
//! reading a `.tar.gz` object's entries while it streams, and uploads (`upload`).

mod channel;
mod upload;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_s3::Client;
use tokio::io::AsyncWriteExt;

pub use channel::{Manifest, list_key_prefix, list_manifest, read_object};
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
    let root = prefix.folder();
    let mut folders = vec![root.clone()];
    let mut visited = std::collections::HashSet::from([root.clone()]);
    let mut entries = Vec::new();
    while let Some(folder) = folders.pop() {
        let mut token: Option<String> = None;
        let mut pager = Pager::new(format!("ListObjectsV2 {}", prefix.with_key(&folder)));
        loop {
            let page = list_page(client, &prefix.bucket, &folder, Some("/"), token.clone()).await?;
            entries.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| entry(prefix, &root, o)),
            );
            for sub in page.common_prefixes().iter().filter_map(|p| p.prefix()) {
                // A folder lies strictly below the one listed; one seen before means the
                // service's answers go round in a circle.
                if !sub.starts_with(&folder) || sub == folder {
                    continue;
                }
                if !visited.insert(sub.to_string()) {
                    return Err(BackendError::internal(format!(
                        "ListObjectsV2 {}: the service listed the folder {} again; the \
                         listing stopped there",
                        prefix.with_key(&root),
                        shorten(sub, 120)
                    )));
                }
                folders.push(sub.to_string());
            }
            if entries.len() >= LIST_LIMIT {
                entries.truncate(LIST_LIMIT);
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

/// Every object under `prefix`, however many, in one flat listing (no delimiter), as the
/// service lists a channel: channels are downloaded whole or not at all.
pub async fn list_all(client: &Client, prefix: &S3Uri) -> Result<Vec<ArtifactEntry>, BackendError> {
    let root = prefix.folder();
    list_objects(client, prefix, &root, |object| entry(prefix, &root, object)).await
}

/// Every object whose key starts with `key` in `prefix`'s bucket, page by page, each made
/// an entry by `keep` (or left out), sorted by key.
pub(super) async fn list_objects(
    client: &Client,
    prefix: &S3Uri,
    key: &str,
    keep: impl Fn(&aws_sdk_s3::types::Object) -> Option<ArtifactEntry>,
) -> Result<Vec<ArtifactEntry>, BackendError> {
    let mut entries = Vec::new();
    let mut token: Option<String> = None;
    let mut pager = Pager::new(format!("ListObjectsV2 {}", prefix.with_key(key)));
    loop {
        let page = list_page(client, &prefix.bucket, key, None, token.clone()).await?;
        entries.extend(page.contents().iter().filter_map(&keep));
        let next = page
            .next_continuation_token()
            .filter(|_| page.is_truncated() == Some(true));
        token = pager.next(next)?;
        if token.is_none() {
            return Ok(sorted(entries));
        }
    }
}

/// One page of `ListObjectsV2`.
async fn list_page(
    client: &Client,
    bucket: &str,
    prefix: &str,
    delimiter: Option<&str>,
    token: Option<String>,
) -> Result<aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output, BackendError> {
    client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .set_delimiter(delimiter.map(str::to_string))
        .set_continuation_token(token)
        .send()
        .await
        .map_err(from_sdk)
}

/// An object of a listing under `root` as an entry with its key relative to `root`; none
/// for folder markers and keys outside `root`.
pub(super) fn entry(
    prefix: &S3Uri,
    root: &str,
    object: &aws_sdk_s3::types::Object,
) -> Option<ArtifactEntry> {
    let key = object.key()?;
    let relative = key.strip_prefix(root)?;
    if relative.is_empty() || key.ends_with('/') {
        return None;
    }
    Some(ArtifactEntry {
        key: relative.to_string(),
        uri: prefix.with_key(key),
        size: object.size().unwrap_or(0).max(0) as u64,
        last_modified: object
            .last_modified()
            .and_then(|t| chrono::DateTime::from_timestamp_millis(t.to_millis().ok()?)),
    })
}

fn sorted(mut entries: Vec<ArtifactEntry>) -> Vec<ArtifactEntry> {
    entries.sort_by(|a, b| a.key.cmp(&b.key));
    entries
}

/// `GetObject` for an `s3://` URI; `field` names it in errors.
pub(super) async fn get_object(
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
    download_within(client, uri, dest, progress, u64::MAX).await
}

/// [`download`], refused with "no space" once the object is past `limit` bytes (a job's
/// volume), whatever its `Content-Length` said.
pub async fn download_within(
    client: &Client,
    uri: &str,
    dest: &Path,
    progress: &Progress,
    limit: u64,
) -> Result<(), BackendError> {
    let response = get_object(client, uri, "artifact").await?;
    let total = response.content_length().unwrap_or(0).max(0) as u64;
    let too_big = || BackendError::from(crate::error::volume_full(&shorten(uri, 200), limit));
    if total > limit {
        return Err(too_big());
    }
    let mut body = response.body;
    // The cause first: a long key must not push it out of a FailureReason.
    let io = |e: std::io::Error| {
        let place = shorten(&dest.display().to_string(), 200);
        BackendError::from(std::io::Error::new(e.kind(), format!("{e}: {place}")))
    };
    // Removed if this returns early or the download is cancelled (dropped) midway.
    let partial = PartialFile::new(dest).map_err(io)?;
    let mut file = tokio::fs::File::create(partial.path()).await.map_err(io)?;
    let mut done = 0u64;
    progress(0, total);
    let stall = super::sdk::limits::STALL;
    let stalled = || {
        BackendError::new(
            super::sdk::NETWORK_ERROR,
            format!(
                "no byte arrived for {} s: {}",
                stall.as_secs(),
                shorten(uri, 200)
            ),
        )
    };
    // A transfer runs as long as bytes move, and is given up when they stop.
    while let Some(chunk) = tokio::time::timeout(stall, body.try_next())
        .await
        .map_err(|_| stalled())?
        .map_err(|e| {
            BackendError::new(
                super::sdk::NETWORK_ERROR,
                format!("{e}: {}", shorten(uri, 200)),
            )
        })?
    {
        done += chunk.len() as u64;
        if done > limit {
            return Err(too_big());
        }
        file.write_all(&chunk).await.map_err(io)?;
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

/// What a prefix download copied.
#[derive(Debug, Default)]
pub struct Fetched {
    /// Bytes copied.
    pub bytes: u64,
    /// Keys left out because another key takes their place on disk, each with why.
    pub skipped: Vec<String>,
}

/// Copies every object under `prefix` into `dest`, keeping the key paths below the prefix
/// (File mode channels, code prefixes, checkpoints), several at a time; a prefix that names
/// one object rather than a folder gives that object. Keys that land on the same file
/// (`a//b` and `a/b`) or on a file and a folder at once (`x` and `x/y`) are decided as
/// [`place_keys`] says. More than `limit` bytes in all is refused before anything is
/// copied. `progress` gets the bytes of all objects together.
pub async fn download_prefix(
    client: &Client,
    prefix: &str,
    dest: &Path,
    field: &str,
    limit: u64,
    progress: SharedProgress,
) -> Result<Fetched, BackendError> {
    let root = S3Uri::parse(prefix, field)?;
    let objects = list_all(client, &root).await?;
    if objects.is_empty() {
        // A prefix may name one object rather than a folder.
        let name = root.key.rsplit('/').next().unwrap_or_default();
        let missing = || BackendError::validation(format!("{field}: no objects under {prefix}"));
        if name.is_empty() {
            return Err(missing());
        }
        let path = dest.join(name);
        let tally = Tally::new(0, progress);
        return match download_within(client, prefix, &path, &tally.object(), limit).await {
            Ok(()) => Ok(Fetched {
                bytes: std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0),
                skipped: Vec::new(),
            }),
            Err(e) if e.kind == ErrorKind::NotFound => Err(missing()),
            Err(e) => Err(e),
        };
    }
    download_objects(client, objects, prefix, dest, field, limit, progress).await
}

/// Copies `objects` (each keyed by its path below `dest`, listed from `what`) into `dest`,
/// several at a time, as [`download_prefix`] does.
pub async fn download_objects(
    client: &Client,
    objects: Vec<ArtifactEntry>,
    what: &str,
    dest: &Path,
    field: &str,
    limit: u64,
    progress: SharedProgress,
) -> Result<Fetched, BackendError> {
    let placed = place_keys(objects, field)?;
    let bytes: u64 = placed.kept.iter().map(|(o, _)| o.size).sum();
    if bytes > limit {
        let what = format!(
            "{field}: {what} ({} in {} objects)",
            crate::job::bytes(bytes),
            placed.kept.len()
        );
        return Err(BackendError::from(crate::error::volume_full(&what, limit)));
    }
    let tally = Tally::new(bytes, progress);
    // Several objects in flight at once, as the service's own downloader does.
    let downloads = placed.kept.into_iter().map(|(object, path)| {
        let (client, progress, path) = (client.clone(), tally.object(), dest.join(path));
        async move { download_within(&client, &object.uri, &path, &progress, object.size).await }
    });
    in_parallel(downloads, PARALLEL_DOWNLOADS, "download").await?;
    Ok(Fetched {
        bytes,
        skipped: placed.skipped,
    })
}

/// Objects with the relative file each lands on, and the keys left out.
pub struct Placed {
    /// Each object kept and its path below the download folder.
    pub kept: Vec<(ArtifactEntry, PathBuf)>,
    /// The keys left out, each with why.
    pub skipped: Vec<String>,
}

/// Decides where each object of a listing lands, the same way every time: keys are taken in
/// S3's order (by their bytes); a key whose file another key already took (`a//b` after
/// `a/b`, `a/./b`) is left out; a key that is a file where other keys need a folder (`x`
/// beside `x/y`) is left out, as a folder cannot also be a file. A key that would leave
/// the folder (`..`) is refused.
pub fn place_keys(mut objects: Vec<ArtifactEntry>, field: &str) -> Result<Placed, BackendError> {
    use std::collections::{BTreeMap, BTreeSet};
    objects.sort_by(|a, b| a.key.as_bytes().cmp(b.key.as_bytes()));
    let mut by_path: BTreeMap<PathBuf, ArtifactEntry> = BTreeMap::new();
    let mut skipped = Vec::new();
    for object in objects {
        let Some(path) = key_path(&object.key) else {
            return Err(BackendError::validation(format!(
                "{field}: object key {:?} leaves the folder it is copied to",
                shorten(&object.key, 200)
            )));
        };
        if let Some(first) = by_path.get(&path) {
            skipped.push(format!(
                "{} (the same file as {})",
                shorten(&object.key, 120),
                shorten(&first.key, 120)
            ));
            continue;
        }
        by_path.insert(path, object);
    }
    let folders: BTreeSet<PathBuf> = by_path
        .keys()
        .flat_map(|p| p.ancestors().skip(1).map(Path::to_path_buf))
        .filter(|p| !p.as_os_str().is_empty())
        .collect();
    let mut kept = Vec::with_capacity(by_path.len());
    for (path, object) in by_path {
        if folders.contains(&path) {
            skipped.push(format!(
                "{} (other keys need {} as a folder)",
                shorten(&object.key, 120),
                shorten(&path.display().to_string(), 120)
            ));
            continue;
        }
        kept.push((object, path));
    }
    Ok(Placed { kept, skipped })
}

/// `text` cut in its middle to at most about `max` characters, so a long key or path in a
/// message leaves room for the cause.
pub fn shorten(text: &str, max: usize) -> String {
    let count = text.chars().count();
    if count <= max {
        return text.to_string();
    }
    let half = max / 2;
    let head: String = text.chars().take(half).collect();
    let tail: String = text.chars().skip(count - half).collect();
    format!("{head}…{tail}")
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

/// Objects of a channel downloaded at once.
const PARALLEL_DOWNLOADS: usize = 16;

/// Where an object lands under a download folder: its key as a relative path, empty and
/// `.` parts dropped (`a//./b` lands on `a/b`); `None` for a key with a `..` part, which
/// could leave the folder, or with no name at all.
pub fn key_path(key: &str) -> Option<PathBuf> {
    let mut path = PathBuf::new();
    for part in key.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            name => path.push(name),
        }
    }
    (!path.as_os_str().is_empty()).then_some(path)
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
        assert_eq!(key_path("./a//b"), Some(PathBuf::from("a/b")));
        assert_eq!(key_path("/."), None);
    }

    fn object(key: &str) -> ArtifactEntry {
        ArtifactEntry {
            key: key.into(),
            uri: format!("s3://b/{key}"),
            size: 1,
            last_modified: None,
        }
    }

    #[test]
    fn clashing_keys_are_decided_the_same_way_whatever_the_order() {
        let keys = ["dup//a", "dup/a", "clash/x/y", "clash/x", "dot/./x", "ok"];
        for reversed in [false, true] {
            let mut objects: Vec<_> = keys.iter().map(|k| object(k)).collect();
            if reversed {
                objects.reverse();
            }
            let placed = place_keys(objects, "channel train").unwrap();
            let kept: Vec<_> = placed.kept.iter().map(|(o, _)| o.key.as_str()).collect();
            assert_eq!(kept, ["clash/x/y", "dot/./x", "dup//a", "ok"]);
            assert_eq!(placed.skipped.len(), 2, "{:?}", placed.skipped);
            assert!(placed.skipped[0].starts_with("dup/a (the same file as dup//a)"));
            assert!(placed.skipped[1].contains("other keys need clash/x as a folder"));
        }
        assert!(place_keys(vec![object("a/../../x")], "f").is_err());
    }

    #[test]
    fn long_texts_keep_both_ends() {
        let key = "k".repeat(1024) + "/end";
        let short = shorten(&key, 100);
        assert!(
            short.chars().count() <= 101 && short.ends_with("/end"),
            "{short}"
        );
    }
}
