//! What every part that talks to AWS shares, and nothing more: where to connect (profiles,
//! regions, endpoints), the SDK clients of a connection, and SDK errors as
//! [`BackendError`](super::BackendError)s. The AWS backend, the S3 transfers and local mode's
//! `s3://` channels use it; it imports no backend.

mod clients;
mod connection;
mod counter;
mod error;
pub mod lean;
pub mod limits;

pub use crate::job::{AwsConnection, REGIONS, endpoint_from_env};
pub use clients::{Account, Clients};
pub use connection::{load, profiles};
pub use counter::CallCounter;
pub use error::{NETWORK_ERROR, NO_CREDENTIALS, SSO_EXPIRED, TOO_LARGE, explain, from_sdk};
