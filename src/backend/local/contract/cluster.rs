//! The job's hosts as the service names them: `algo-1` .. `algo-N` in one
//! `homogeneousCluster`, or numbered on across `ResourceConfig.InstanceGroups` in the order
//! the request lists them; and, per host, the groups and hosts a distribution spans, as
//! sagemaker-training's `Environment` works them out.

use super::uri::Problems;
use super::{DEFAULT_INSTANCE_TYPE, GROUP, LocalPlan, UNSUPPORTED};
use crate::backend::local::pyvalue::PyValue;
use crate::request::TrainingJobRequest;

/// Most hosts a local job runs.
const MAX_HOSTS: i64 = 64;

/// The framework parameters that turn a distribution on; with one of them the host's own
/// group is distributed unless `sagemaker_distribution_instance_groups` says which are.
const DISTRIBUTION_FLAGS: [&str; 7] = [
    "sagemaker_mpi_enabled",
    "sagemaker_parameter_server_enabled",
    "sagemaker_distributed_dataparallel_enabled",
    "sagemaker_pytorch_ddp_enabled",
    "sagemaker_pytorch_xla_multi_worker_enabled",
    "sagemaker_multi_worker_mirrored_strategy_enabled",
    "sagemaker_torch_distributed_enabled",
];

/// The framework parameter that names the distributed groups of a heterogeneous cluster.
const DISTRIBUTION_GROUPS: &str = "sagemaker_distribution_instance_groups";

/// One instance group: its name, instance type and hosts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceGroup {
    /// `InstanceGroupName` (`homogeneousCluster` without groups).
    pub name: String,
    /// `InstanceType`.
    pub instance_type: String,
    /// Its hosts, `algo-N`.
    pub hosts: Vec<String>,
}

/// The groups of `request`'s hosts, each problem recorded in `p`.
pub(super) fn instance_groups(
    p: &mut Problems,
    request: &TrainingJobRequest,
) -> Vec<InstanceGroup> {
    let resources = request.resource_config.clone().unwrap_or_default();
    let asked = resources.instance_groups.clone().unwrap_or_default();
    let sizes: Vec<(String, String, i64)> = if asked.is_empty() {
        let count = resources.instance_count.unwrap_or(1);
        if !(1..=MAX_HOSTS).contains(&count) {
            p.error(
                "ResourceConfig.InstanceCount",
                "local_instances",
                format!("{count} hosts; local mode runs 1 to {MAX_HOSTS}"),
            );
        }
        let instance_type = resources
            .instance_type
            .clone()
            .unwrap_or_else(|| DEFAULT_INSTANCE_TYPE.into());
        vec![(GROUP.into(), instance_type, count)]
    } else {
        asked
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let member = format!("ResourceConfig.InstanceGroups[{i}]");
                let name = g.instance_group_name.clone().unwrap_or_default();
                if name.is_empty() {
                    p.error(
                        format!("{member}.InstanceGroupName"),
                        "local_instances",
                        "each instance group needs a name",
                    );
                }
                let count = g.instance_count.unwrap_or(1);
                if count < 1 {
                    p.error(
                        format!("{member}.InstanceCount"),
                        "local_instances",
                        format!("{count} hosts; a group has at least 1"),
                    );
                }
                let instance_type = g
                    .instance_type
                    .clone()
                    .unwrap_or_else(|| DEFAULT_INSTANCE_TYPE.into());
                (name, instance_type, count)
            })
            .collect()
    };
    let total: i64 = sizes.iter().map(|(_, _, n)| (*n).max(0)).sum();
    if !asked.is_empty() && total > MAX_HOSTS {
        p.error(
            "ResourceConfig.InstanceGroups",
            "local_instances",
            format!("{total} hosts in all; local mode runs 1 to {MAX_HOSTS}"),
        );
    }
    let mut next = 1;
    sizes
        .into_iter()
        .map(|(name, instance_type, count)| {
            let count = count.clamp(1, MAX_HOSTS);
            let hosts = (next..next + count).map(|i| format!("algo-{i}")).collect();
            next += count;
            InstanceGroup {
                name,
                instance_type,
                hosts,
            }
        })
        .collect()
}

/// Refuses a channel's `InstanceGroupNames` that names no group of the job.
pub(super) fn check_channel_groups(
    p: &mut Problems,
    member: &str,
    names: &[String],
    groups: &[InstanceGroup],
) {
    for name in names {
        if !groups.iter().any(|g| &g.name == name) {
            p.error(
                format!("{member}.DataSource.S3DataSource.InstanceGroupNames"),
                UNSUPPORTED,
                format!("{name:?} is not an instance group of ResourceConfig.InstanceGroups"),
            );
        }
    }
}

impl LocalPlan {
    /// The group `host` belongs to.
    pub fn group_of(&self, host: &str) -> &InstanceGroup {
        self.groups
            .iter()
            .find(|g| g.hosts.iter().any(|h| h == host))
            .unwrap_or(&self.groups[0])
    }

    /// A framework parameter, decoded.
    pub fn framework_parameter(&self, name: &str) -> Option<&PyValue> {
        self.framework_parameters
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// Whether the framework parameter `name` is set to something true.
    pub fn framework_flag(&self, name: &str) -> bool {
        self.framework_parameter(name).is_some_and(PyValue::truthy)
    }

    /// The groups a distribution spans, as `host` sees them: those the SDK named, else the
    /// host's own when a distribution is on, else none.
    pub fn distribution_instance_groups(&self, host: &str) -> Vec<String> {
        if let Some(PyValue::List(named)) = self.framework_parameter(DISTRIBUTION_GROUPS) {
            return named
                .iter()
                .filter_map(|v| match v {
                    PyValue::Str(s) => Some(s.clone()),
                    _ => None,
                })
                .collect();
        }
        if DISTRIBUTION_FLAGS.iter().any(|f| self.framework_flag(f)) {
            vec![self.group_of(host).name.clone()]
        } else {
            Vec::new()
        }
    }

    /// The hosts of the distributed groups, as `host` sees them.
    pub fn distribution_hosts(&self, host: &str) -> Vec<String> {
        let groups = self.distribution_instance_groups(host);
        self.groups
            .iter()
            .filter(|g| groups.contains(&g.name))
            .flat_map(|g| g.hosts.iter().cloned())
            .collect()
    }

    /// The first distributed host, else the first host.
    pub fn master_hostname(&self, host: &str) -> String {
        self.distribution_hosts(host)
            .into_iter()
            .next()
            .unwrap_or_else(|| self.hosts[0].clone())
    }

    /// Whether `host`'s group takes part in the distribution.
    pub fn distributed(&self, host: &str) -> bool {
        self.distribution_instance_groups(host)
            .contains(&self.group_of(host).name)
    }
}
