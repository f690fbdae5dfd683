//! SageDesk: a desktop console for Amazon SageMaker training jobs, with a local mode that
//! runs the same job definitions on this machine under the training-container contract.

pub mod backend;
pub mod cli;
pub mod code_watch;
pub mod crash;
pub mod demo;
pub mod diagnostics;
pub mod error;
pub mod job;
pub mod preflight;
pub mod process;
pub mod request;
pub mod store;
pub mod tuning;
pub mod ui;
pub mod uploads;
pub mod worker;
