//! A `@remote` function of the SageMaker Python SDK v2 runs locally unmodified: the SDK
//! submits its job to moto (the `CreateTrainingJob` parameters it sent are taken on the way
//! out), that request runs here (`job_driver.sh` as its own entry point, the function and
//! its arguments read from moto's S3 with the role's credentials), and the value comes back
//! through S3 as the client reads it.

#![allow(clippy::unwrap_used)]

mod common;

use common::moto::sdk_v2_python;
use common::sdk;

/// Where this SDK keeps `Session`, `remote` and `serialization`.
const IMPORTS: &str = "from sagemaker.session import Session\nfrom sagemaker.remote_function import remote\nfrom sagemaker.remote_function.core import serialization";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_function_job_returns_its_value_through_s3() {
    let Some(value) = sdk::remote_value(sdk_v2_python(), IMPORTS).await else {
        return;
    };
    assert_eq!(
        value,
        serde_json::json!({"quotient": 2.5, "host": "algo-1"})
    );
}
