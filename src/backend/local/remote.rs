//! S3 as local mode reaches it: code, channels, checkpoints and artifacts in `s3://`, through
//! the local configuration's AWS connection.

use tokio::sync::OnceCell;

use crate::backend::BackendError;
use crate::backend::sdk::{AwsConnection, Clients};

/// The S3 client of the local configuration's AWS connection, made on first use.
pub(crate) struct Remote {
    aws: AwsConnection,
    clients: OnceCell<Clients>,
}

impl Remote {
    pub(crate) fn new(aws: AwsConnection) -> Self {
        Self {
            aws,
            clients: OnceCell::new(),
        }
    }

    pub(crate) async fn s3(&self) -> Result<&aws_sdk_s3::Client, BackendError> {
        let clients = self
            .clients
            .get_or_try_init(|| Clients::load(&self.aws))
            .await?;
        Ok(&clients.s3)
    }
}
