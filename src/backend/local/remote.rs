//! S3 as local mode reaches it: code, channels, checkpoints and artifacts in `s3://`, through
//! the connection each job was run with (an AWS source's, for a local run of an AWS job),
//! else the local configuration's.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use tokio::sync::{Mutex, OnceCell};

use crate::backend::BackendError;
use crate::backend::sdk::{AwsConnection, Clients};

/// The file in a job's folder naming the connection its `s3://` locations are read with,
/// written when it is not the local configuration's.
pub(crate) const CONNECTION_FILE: &str = "connection.json";

/// The S3 clients of the connections local jobs use, each made on first use.
pub(crate) struct Remote {
    aws: AwsConnection,
    clients: OnceCell<Clients>,
    others: Mutex<HashMap<AwsConnection, Clients>>,
}

impl Remote {
    pub(crate) fn new(aws: AwsConnection) -> Self {
        Self {
            aws,
            clients: OnceCell::new(),
            others: Mutex::new(HashMap::new()),
        }
    }

    /// The S3 client of this remote's own connection.
    pub(crate) async fn s3(&self) -> Result<&aws_sdk_s3::Client, BackendError> {
        let clients = self
            .clients
            .get_or_try_init(|| Clients::load(&self.aws))
            .await?;
        Ok(&clients.s3)
    }

    /// The S3 client of `connection`, or of this remote's own when `None`.
    pub(crate) async fn s3_of(
        &self,
        connection: Option<&AwsConnection>,
    ) -> Result<aws_sdk_s3::Client, BackendError> {
        let connection = match connection {
            Some(c) if *c != self.aws => c,
            _ => return self.s3().await.cloned(),
        };
        let mut clients = self.others.lock().await;
        if let Some(c) = clients.get(connection) {
            return Ok(c.s3.clone());
        }
        let made = Clients::load(connection).await?;
        let s3 = made.s3.clone();
        clients.insert(connection.clone(), made);
        Ok(s3)
    }
}

/// Records in `job_dir` that the job reaches S3 through `connection`.
pub(crate) fn remember(job_dir: &Path, connection: &AwsConnection) -> std::io::Result<()> {
    std::fs::write(
        job_dir.join(CONNECTION_FILE),
        serde_json::to_vec(connection).unwrap_or_default(),
    )
}

/// The connection recorded for the job in `job_dir`, if any.
pub(crate) fn recorded(job_dir: &Path) -> Option<AwsConnection> {
    let bytes = std::fs::read(job_dir.join(CONNECTION_FILE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The connection of the job an `s3://` artifact URI belongs to: local jobs keep their
/// outputs under `<S3OutputPath>/<job>/`, so the first key segment naming a job folder with
/// a recorded connection decides.
pub(crate) fn recorded_for_uri(jobs: &Path, uri: &str) -> Option<AwsConnection> {
    let key = uri.strip_prefix("s3://")?.split_once('/')?.1;
    key.split('/')
        .filter(|s| !s.is_empty() && !s.starts_with('.'))
        .map(|segment| jobs.join(segment))
        .find_map(|dir: PathBuf| recorded(&dir))
}
