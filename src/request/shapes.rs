//! The `CreateTrainingJob` request, member for member, with AWS's JSON names.
//!
//! Every member is optional so that drafts and partial files load; the validator says
//! what is missing. Members this version does not model are kept in `extra` and written
//! back unchanged, so newer API fields survive an import/export round trip.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Declares one API shape: every member optional, unknown members kept in `extra`.
macro_rules! shape {
    ($(#[$m:meta])* $name:ident { $( $(#[$fm:meta])* $field:ident : $ty:ty ),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        #[serde(rename_all = "PascalCase")]
        pub struct $name {
            $(
                $(#[$fm])*
                #[serde(default, skip_serializing_if = "Option::is_none")]
                pub $field: Option<$ty>,
            )*
            /// Members this version does not model, kept verbatim.
            #[serde(flatten)]
            pub extra: Map<String, Value>,
        }
    };
}

pub(crate) use shape;

/// A string-to-string map as the API sends it (hyperparameters, environment, tags' values).
pub type StringMap = BTreeMap<String, String>;

shape!(
    /// The whole `CreateTrainingJob` request.
    TrainingJobRequest {
        training_job_name: String,
        hyper_parameters: StringMap,
        algorithm_specification: AlgorithmSpecification,
        role_arn: String,
        input_data_config: Vec<Channel>,
        output_data_config: OutputDataConfig,
        resource_config: ResourceConfig,
        vpc_config: VpcConfig,
        stopping_condition: StoppingCondition,
        tags: Vec<Tag>,
        enable_network_isolation: bool,
        enable_inter_container_traffic_encryption: bool,
        enable_managed_spot_training: bool,
        checkpoint_config: CheckpointConfig,
        debug_hook_config: DebugHookConfig,
        debug_rule_configurations: Vec<RuleConfiguration>,
        tensor_board_output_config: TensorBoardOutputConfig,
        experiment_config: ExperimentConfig,
        profiler_config: ProfilerConfig,
        profiler_rule_configurations: Vec<RuleConfiguration>,
        environment: StringMap,
        retry_strategy: RetryStrategy,
        remote_debug_config: RemoteDebugConfig,
        infra_check_config: InfraCheckConfig,
        session_chaining_config: SessionChainingConfig,
    }
);

shape!(
    /// `AlgorithmSpecification`: the image or algorithm, input mode and metric regexes.
    AlgorithmSpecification {
        training_image: String,
        algorithm_name: String,
        training_input_mode: String,
        metric_definitions: Vec<MetricDefinition>,
        #[serde(rename = "EnableSageMakerMetricsTimeSeries")]
        enable_sage_maker_metrics_time_series: bool,
        container_entrypoint: Vec<String>,
        container_arguments: Vec<String>,
        training_image_config: TrainingImageConfig,
    }
);

shape!(
    /// `MetricDefinition`: a metric name and the regex that finds its value in the logs.
    MetricDefinition {
        name: String,
        regex: String,
    }
);

shape!(
    /// `TrainingImageConfig`: access to a private image registry.
    TrainingImageConfig {
        training_repository_access_mode: String,
        training_repository_auth_config: TrainingRepositoryAuthConfig,
    }
);

shape!(
    /// `TrainingRepositoryAuthConfig`.
    TrainingRepositoryAuthConfig {
        training_repository_credentials_provider_arn: String,
    }
);

shape!(
    /// `Channel`: one named input of the job.
    Channel {
        channel_name: String,
        data_source: DataSource,
        content_type: String,
        compression_type: String,
        record_wrapper_type: String,
        input_mode: String,
        shuffle_config: ShuffleConfig,
    }
);

shape!(
    /// `DataSource`: S3 (or, locally, `file://`) or a file system.
    DataSource {
        #[serde(rename = "S3DataSource")]
        s3_data_source: S3DataSource,
        file_system_data_source: FileSystemDataSource,
    }
);

shape!(
    /// `S3DataSource`.
    S3DataSource {
        #[serde(rename = "S3DataType")]
        s3_data_type: String,
        #[serde(rename = "S3Uri")]
        s3_uri: String,
        #[serde(rename = "S3DataDistributionType")]
        s3_data_distribution_type: String,
        attribute_names: Vec<String>,
        instance_group_names: Vec<String>,
        model_access_config: ModelAccessConfig,
        hub_access_config: HubAccessConfig,
    }
);

shape!(
    /// `ModelAccessConfig`.
    ModelAccessConfig {
        accept_eula: bool,
    }
);

shape!(
    /// `HubAccessConfig`.
    HubAccessConfig {
        hub_content_arn: String,
    }
);

shape!(
    /// `FileSystemDataSource`: EFS or FSx for Lustre.
    FileSystemDataSource {
        file_system_id: String,
        file_system_access_mode: String,
        file_system_type: String,
        directory_path: String,
    }
);

shape!(
    /// `ShuffleConfig`.
    ShuffleConfig {
        seed: i64,
    }
);

shape!(
    /// `OutputDataConfig`: where model artifacts go.
    OutputDataConfig {
        kms_key_id: String,
        #[serde(rename = "S3OutputPath")]
        s3_output_path: String,
        compression_type: String,
    }
);

shape!(
    /// `ResourceConfig`: instances and storage.
    ResourceConfig {
        instance_type: String,
        instance_count: i64,
        #[serde(rename = "VolumeSizeInGB")]
        volume_size_in_gb: i64,
        volume_kms_key_id: String,
        keep_alive_period_in_seconds: i64,
        instance_groups: Vec<InstanceGroup>,
        training_plan_arn: String,
    }
);

shape!(
    /// `InstanceGroup` of a heterogeneous cluster.
    InstanceGroup {
        instance_type: String,
        instance_count: i64,
        instance_group_name: String,
    }
);

shape!(
    /// `VpcConfig`.
    VpcConfig {
        security_group_ids: Vec<String>,
        subnets: Vec<String>,
    }
);

shape!(
    /// `StoppingCondition`: runtime and spot wait limits.
    StoppingCondition {
        max_runtime_in_seconds: i64,
        max_wait_time_in_seconds: i64,
        max_pending_time_in_seconds: i64,
    }
);

shape!(
    /// `Tag`.
    Tag {
        key: String,
        value: String,
    }
);

shape!(
    /// `CheckpointConfig`.
    CheckpointConfig {
        #[serde(rename = "S3Uri")]
        s3_uri: String,
        local_path: String,
    }
);

shape!(
    /// `DebugHookConfig`.
    DebugHookConfig {
        local_path: String,
        #[serde(rename = "S3OutputPath")]
        s3_output_path: String,
        hook_parameters: StringMap,
        collection_configurations: Vec<CollectionConfiguration>,
    }
);

shape!(
    /// `CollectionConfiguration` of the Debugger hook.
    CollectionConfiguration {
        collection_name: String,
        collection_parameters: StringMap,
    }
);

shape!(
    /// `DebugRuleConfiguration` / `ProfilerRuleConfiguration` (same members).
    RuleConfiguration {
        rule_configuration_name: String,
        local_path: String,
        #[serde(rename = "S3OutputPath")]
        s3_output_path: String,
        rule_evaluator_image: String,
        instance_type: String,
        #[serde(rename = "VolumeSizeInGB")]
        volume_size_in_gb: i64,
        rule_parameters: StringMap,
    }
);

shape!(
    /// `TensorBoardOutputConfig`.
    TensorBoardOutputConfig {
        local_path: String,
        #[serde(rename = "S3OutputPath")]
        s3_output_path: String,
    }
);

shape!(
    /// `ExperimentConfig`.
    ExperimentConfig {
        experiment_name: String,
        trial_name: String,
        trial_component_display_name: String,
        run_name: String,
    }
);

shape!(
    /// `ProfilerConfig`.
    ProfilerConfig {
        #[serde(rename = "S3OutputPath")]
        s3_output_path: String,
        profiling_interval_in_milliseconds: i64,
        profiling_parameters: StringMap,
        disable_profiler: bool,
    }
);

shape!(
    /// `RetryStrategy`.
    RetryStrategy {
        maximum_retry_attempts: i64,
    }
);

shape!(
    /// `RemoteDebugConfig`.
    RemoteDebugConfig {
        enable_remote_debug: bool,
    }
);

shape!(
    /// `InfraCheckConfig`.
    InfraCheckConfig {
        enable_infra_check: bool,
    }
);

shape!(
    /// `SessionChainingConfig`.
    SessionChainingConfig {
        enable_session_tag_chaining: bool,
    }
);

impl TrainingJobRequest {
    /// The job name, or an empty string when the draft has none yet.
    pub fn name(&self) -> &str {
        self.training_job_name.as_deref().unwrap_or("")
    }

    /// The metric definitions of the algorithm, if any.
    pub fn metric_definitions(&self) -> &[MetricDefinition] {
        self.algorithm_specification
            .as_ref()
            .and_then(|a| a.metric_definitions.as_deref())
            .unwrap_or(&[])
    }

    /// The job's channels, if any.
    pub fn channels(&self) -> &[Channel] {
        self.input_data_config.as_deref().unwrap_or(&[])
    }

    /// The request as a JSON value with AWS's member names.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("a request always serializes")
    }
}
