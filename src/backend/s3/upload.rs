//! Uploads: a file in one `PutObject`, or in parts (`CreateMultipartUpload`, parts in
//! parallel, aborted on any error) when it is large; many files a few at a time.

use std::path::{Path, PathBuf};

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, ServerSideEncryption};
use aws_smithy_types::byte_stream::Length;

use super::{S3Uri, SharedProgress, Tally, in_parallel};
use crate::backend::BackendError;
use crate::backend::sdk::from_sdk;

/// Files above this size go in parts of this size (as the AWS CLI's default).
const PART_SIZE: u64 = 8 << 20;
/// Parts of one file, or files, in flight at once.
const PARALLEL_UPLOADS: usize = 4;

/// How uploaded objects are encrypted: `OutputDataConfig.KmsKeyId` asks for SSE-KMS with
/// that key; otherwise the bucket's default applies.
#[derive(Debug, Clone, Default)]
pub struct Encryption {
    /// The KMS key ID, ARN or alias.
    pub kms_key_id: Option<String>,
}

impl Encryption {
    fn mode(&self) -> Option<ServerSideEncryption> {
        self.kms_key_id
            .as_ref()
            .map(|_| ServerSideEncryption::AwsKms)
    }
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> BackendError + '_ {
    move |e| BackendError::internal(format!("{}: {e}", path.display()))
}

/// Uploads the file at `path` to `uri`, in parts when it is larger than one part; returns
/// its size. `progress` gets bytes as parts finish.
pub async fn upload(
    client: &Client,
    path: &Path,
    uri: &str,
    encryption: &Encryption,
    progress: SharedProgress,
) -> Result<u64, BackendError> {
    let len = std::fs::metadata(path).map_err(io_error(path))?.len();
    let tally = Tally::new(len, progress);
    upload_one(client, path, uri, encryption, &tally).await?;
    Ok(len)
}

/// Uploads each `(file, uri)`, a few at a time; `progress` gets the bytes of all of them.
pub async fn upload_files(
    client: &Client,
    files: Vec<(PathBuf, String)>,
    encryption: &Encryption,
    progress: SharedProgress,
) -> Result<u64, BackendError> {
    let mut total = 0;
    for (path, _) in &files {
        total += std::fs::metadata(path).map_err(io_error(path))?.len();
    }
    let tally = Tally::new(total, progress);
    let uploads = files.into_iter().map(|(path, uri)| {
        let (client, encryption, tally) = (client.clone(), encryption.clone(), tally.clone());
        async move { upload_one(&client, &path, &uri, &encryption, &tally).await }
    });
    in_parallel(uploads, PARALLEL_UPLOADS, "upload").await?;
    Ok(total)
}

/// Every file under `dir` (from [`upload_files`]'s point of view: `(file, key under
/// prefix)`), uploaded below `prefix`.
pub async fn upload_folder(
    client: &Client,
    files: Vec<(PathBuf, String)>,
    prefix: &str,
    encryption: &Encryption,
    progress: SharedProgress,
) -> Result<u64, BackendError> {
    let root = S3Uri::parse(prefix, "output")?;
    let folder = root.folder();
    let files = files
        .into_iter()
        .map(|(path, key)| (path, root.with_key(&format!("{folder}{key}"))))
        .collect();
    upload_files(client, files, encryption, progress).await
}

async fn upload_one(
    client: &Client,
    path: &Path,
    uri: &str,
    encryption: &Encryption,
    tally: &Tally,
) -> Result<(), BackendError> {
    let object = S3Uri::parse(uri, "output")?;
    let len = std::fs::metadata(path).map_err(io_error(path))?.len();
    if len > PART_SIZE {
        return upload_parts(client, path, &object, len, encryption, tally).await;
    }
    let body = ByteStream::from_path(path)
        .await
        .map_err(|e| BackendError::internal(format!("{}: {e}", path.display())))?;
    client
        .put_object()
        .bucket(&object.bucket)
        .key(&object.key)
        .body(body)
        .set_server_side_encryption(encryption.mode())
        .set_ssekms_key_id(encryption.kms_key_id.clone())
        .send()
        .await
        .map_err(|e| named(from_sdk(e), uri))?;
    tally.add(len);
    Ok(())
}

/// An error with the URI it concerns in front.
fn named(mut e: BackendError, uri: &str) -> BackendError {
    e.message = format!("{uri}: {}", e.message);
    e
}

/// A multipart upload of `path`; aborted if any part fails, so no parts are left behind.
async fn upload_parts(
    client: &Client,
    path: &Path,
    object: &S3Uri,
    len: u64,
    encryption: &Encryption,
    tally: &Tally,
) -> Result<(), BackendError> {
    let uri = object.with_key(&object.key);
    let created = client
        .create_multipart_upload()
        .bucket(&object.bucket)
        .key(&object.key)
        .set_server_side_encryption(encryption.mode())
        .set_ssekms_key_id(encryption.kms_key_id.clone())
        .send()
        .await
        .map_err(|e| named(from_sdk(e), &uri))?;
    let upload_id = created
        .upload_id()
        .ok_or_else(|| BackendError::internal(format!("{uri}: no UploadId returned")))?
        .to_string();
    let sent = send_parts(client, path, object, &upload_id, len, tally).await;
    let completed = match sent {
        Ok(parts) => client
            .complete_multipart_upload()
            .bucket(&object.bucket)
            .key(&object.key)
            .upload_id(&upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map(|_| ())
            .map_err(|e| named(from_sdk(e), &uri)),
        Err(e) => Err(e),
    };
    if completed.is_err() {
        let _ = client
            .abort_multipart_upload()
            .bucket(&object.bucket)
            .key(&object.key)
            .upload_id(&upload_id)
            .send()
            .await;
    }
    completed
}

/// Sends every part of `path`, a few at a time, and lists them in order.
async fn send_parts(
    client: &Client,
    path: &Path,
    object: &S3Uri,
    upload_id: &str,
    len: u64,
    tally: &Tally,
) -> Result<Vec<CompletedPart>, BackendError> {
    let count = len.div_ceil(PART_SIZE);
    let sends = (0..count).map(|n| {
        let offset = n * PART_SIZE;
        let size = PART_SIZE.min(len - offset);
        let number = n as i32 + 1;
        let (client, path, object) = (client.clone(), path.to_path_buf(), object.clone());
        let (upload_id, tally) = (upload_id.to_string(), tally.clone());
        async move {
            let body = ByteStream::read_from()
                .path(&path)
                .offset(offset)
                .length(Length::Exact(size))
                .build()
                .await
                .map_err(|e| BackendError::internal(format!("{}: {e}", path.display())))?;
            let part = client
                .upload_part()
                .bucket(&object.bucket)
                .key(&object.key)
                .upload_id(upload_id)
                .part_number(number)
                .body(body)
                .send()
                .await
                .map_err(|e| named(from_sdk(e), &object.with_key(&object.key)))?;
            tally.add(size);
            Ok(CompletedPart::builder()
                .part_number(number)
                .set_e_tag(part.e_tag().map(str::to_string))
                .build())
        }
    });
    let mut parts = in_parallel(sends, PARALLEL_UPLOADS, "upload").await?;
    parts.sort_by_key(|p| p.part_number());
    Ok(parts)
}
