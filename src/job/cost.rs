//! What a job costs: the instances it runs on, the on-demand price of an instance type,
//! the estimate from the billable time, and managed spot training's savings.

use serde::{Deserialize, Serialize};

use super::JobDetail;

/// The on-demand price of training on one instance type, as the AWS Price List gave it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstancePrice {
    /// `ml.m5.xlarge`, ...
    pub instance_type: String,
    /// The region it is the price in.
    pub region: String,
    /// USD per instance-hour.
    pub usd_per_hour: f64,
    /// When it was read (`YYYY-MM-DD`).
    pub date: String,
}

/// What a job is billed for: its instances and the times the service reports. Small
/// enough to keep for every listed job (the list's cost column), read from its detail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Billing {
    /// Instance type (when set) and count: `ResourceConfig`'s, or one per instance group.
    pub instances: Vec<(Option<String>, i64)>,
    /// `BillableTimeInSeconds`, once the service reports it.
    pub billable_time_seconds: Option<i64>,
    /// `TrainingTimeInSeconds`, once the service reports it.
    pub training_time_seconds: Option<i64>,
    /// `EnableManagedSpotTraining`.
    pub spot: bool,
}

impl Billing {
    /// The one instance type the job is billed for and how many of it; `None` when it runs
    /// on several types (a heterogeneous cluster) or none is set.
    pub fn billed_instances(&self) -> Option<(&str, i64)> {
        let first = self.instances.first()?.0.as_deref()?;
        self.instances
            .iter()
            .all(|(t, _)| t.as_deref() == Some(first))
            .then(|| (first, self.instances.iter().map(|(_, n)| n).sum()))
    }

    /// Instance count × billable hours × the on-demand hourly price, in USD, once the
    /// service reports the billable time.
    pub fn estimated_cost(&self, price: &InstancePrice) -> Option<f64> {
        let (_, count) = self.billed_instances()?;
        let billable = self.billable_time_seconds? as f64;
        Some(count as f64 * billable / 3600.0 * price.usd_per_hour)
    }

    /// Managed spot training's savings, `1 − BillableTimeInSeconds / TrainingTimeInSeconds`,
    /// as the service reports them; `None` for on-demand jobs and before both are known.
    pub fn spot_savings(&self) -> Option<f64> {
        if !self.spot {
            return None;
        }
        let training = self.training_time_seconds.filter(|t| *t > 0)? as f64;
        let billable = self.billable_time_seconds? as f64;
        Some((1.0 - billable / training).clamp(0.0, 1.0))
    }
}

impl JobDetail {
    /// The instance types and counts the job runs on: `ResourceConfig`'s, or one per
    /// instance group (a type not set is `None`).
    pub fn instances(&self) -> Vec<(Option<&str>, i64)> {
        let Some(resources) = &self.request.resource_config else {
            return Vec::new();
        };
        match resources.instance_groups.as_ref().filter(|g| !g.is_empty()) {
            Some(groups) => groups
                .iter()
                .map(|g| (g.instance_type.as_deref(), g.instance_count.unwrap_or(0)))
                .collect(),
            None => vec![(
                resources.instance_type.as_deref(),
                resources.instance_count.unwrap_or(1),
            )],
        }
    }

    /// What the job is billed for.
    pub fn billing(&self) -> Billing {
        Billing {
            instances: self
                .instances()
                .into_iter()
                .map(|(t, n)| (t.map(str::to_string), n))
                .collect(),
            billable_time_seconds: self.billable_time_seconds,
            training_time_seconds: self.training_time_seconds,
            spot: self.request.enable_managed_spot_training == Some(true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detail(resources: serde_json::Value) -> JobDetail {
        let request = crate::request::request_from_value(
            serde_json::json!({"TrainingJobName": "j", "ResourceConfig": resources}),
            "test",
        )
        .unwrap()
        .request;
        JobDetail::from_request(request, chrono::Utc::now())
    }

    #[test]
    fn only_one_instance_type_is_priced() {
        let single = detail(serde_json::json!({"InstanceType": "ml.m5.large", "InstanceCount": 2}));
        assert_eq!(
            single.billing().billed_instances(),
            Some(("ml.m5.large", 2))
        );
        let same = detail(serde_json::json!({"InstanceGroups": [
            {"InstanceType": "ml.g5.xlarge", "InstanceCount": 1, "InstanceGroupName": "a"},
            {"InstanceType": "ml.g5.xlarge", "InstanceCount": 3, "InstanceGroupName": "b"}]}));
        assert_eq!(same.billing().billed_instances(), Some(("ml.g5.xlarge", 4)));
        let mixed = detail(serde_json::json!({"InstanceGroups": [
            {"InstanceType": "ml.g5.xlarge", "InstanceCount": 1, "InstanceGroupName": "a"},
            {"InstanceType": "ml.c5.xlarge", "InstanceCount": 1, "InstanceGroupName": "b"}]}));
        assert_eq!(mixed.billing().billed_instances(), None);
        assert_eq!(mixed.instances().len(), 2);
    }
}
