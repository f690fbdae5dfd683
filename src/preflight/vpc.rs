//! `VpcConfig`: the subnets and security groups exist (`ec2:DescribeSubnets`,
//! `ec2:DescribeSecurityGroups`) and are all in one VPC.

use std::collections::BTreeSet;

use super::{Check, Context};
use crate::backend::sdk::lean::{Service, xml_all};

const SUBNETS: &str = "VpcConfig.Subnets";
const GROUPS: &str = "VpcConfig.SecurityGroupIds";

/// Describes `ids` with `action`; the VPC of each found, or the check that failed. An
/// answer that does not name every ID asked for, each with a VPC, verifies nothing.
async fn describe(
    context: &Context,
    path: &str,
    action: &str,
    (param, tag): (&str, &str),
    ids: &[String],
    what: &str,
) -> Result<BTreeSet<String>, Check> {
    let call = format!("ec2:{action}");
    let params: Vec<(String, String)> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (format!("{param}.{}", i + 1), id.clone()))
        .collect();
    match context
        .clients
        .lean
        .query(Service::Ec2, action, &params)
        .await
    {
        Ok(xml) => {
            let named: BTreeSet<String> = xml_all(&xml, tag).into_iter().collect();
            let vpcs: BTreeSet<String> = xml_all(&xml, "vpcId")
                .into_iter()
                .filter(|v| !v.is_empty())
                .collect();
            if vpcs.is_empty() || !ids.iter().all(|id| named.contains(id)) {
                return Err(Check::malformed(
                    path,
                    &call,
                    &format!("each {what} and its VPC"),
                ));
            }
            Ok(vpcs)
        }
        Err(e) if e.code.ends_with(".NotFound") || e.code.ends_with(".Malformed") => {
            Err(Check::error(
                path,
                &call,
                "vpc_not_found",
                format!(
                    "{} in {}: {} (fix the {what} IDs, or pick them from this region's VPC)",
                    e.code, context.region, e.message
                ),
            ))
        }
        Err(e) => Err(Check::not_verified(path, &call, &e)),
    }
}

/// Checks the subnets and security groups.
pub async fn vpc(context: &Context, subnets: &[String], groups: &[String]) -> Vec<Check> {
    let mut checks = Vec::new();
    let mut vpcs = BTreeSet::new();
    if !subnets.is_empty() {
        match describe(
            context,
            SUBNETS,
            "DescribeSubnets",
            ("SubnetId", "subnetId"),
            subnets,
            "subnet",
        )
        .await
        {
            Ok(found) if found.len() > 1 => checks.push(Check::error(
                SUBNETS,
                "ec2:DescribeSubnets",
                "subnets_vpcs",
                format!(
                    "the subnets are in {} VPCs ({}): a job's subnets must share one VPC",
                    found.len(),
                    found.iter().cloned().collect::<Vec<_>>().join(", ")
                ),
            )),
            Ok(found) => {
                checks.push(Check::passed(
                    SUBNETS,
                    "ec2:DescribeSubnets",
                    format!(
                        "{} subnet(s) in {}",
                        subnets.len(),
                        found.iter().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ));
                vpcs = found;
            }
            Err(check) => checks.push(check),
        }
    }
    if !groups.is_empty() {
        let call = "ec2:DescribeSecurityGroups";
        match describe(
            context,
            GROUPS,
            "DescribeSecurityGroups",
            ("GroupId", "groupId"),
            groups,
            "security group",
        )
        .await
        {
            Ok(found) if !vpcs.is_empty() && !found.is_subset(&vpcs) => checks.push(Check::error(
                GROUPS,
                call,
                "groups_vpc",
                format!(
                    "the security groups are in {}, the subnets in {}: both must be in the \
                     same VPC",
                    found.iter().cloned().collect::<Vec<_>>().join(", "),
                    vpcs.iter().cloned().collect::<Vec<_>>().join(", ")
                ),
            )),
            Ok(_) => checks.push(Check::passed(
                GROUPS,
                call,
                format!("{} security group(s) exist", groups.len()),
            )),
            Err(check) => checks.push(check),
        }
    }
    checks
}
