//! Group members that never became Nodes: waited for, then replaced, unless some Node that
//! claims no instance might be them.

use std::collections::HashMap;

use jiff::Timestamp;

use super::MaintenanceConfig;
use super::state::since;
use crate::duration::human;
use crate::engine::capacity::membership::{self, Membership};
use crate::model::{Instance, Snapshot};
use crate::plan::{InstanceAction, InstanceActionKind, PlanWarning, WarningKind};

/// Group members with no Node: waited for during `--instance-init-time`, then replaced —
/// unless some Node that claims no instance might be them.
pub(super) fn unregistered(
    snapshot: &Snapshot,
    config: &MaintenanceConfig,
    membership: &Membership<'_>,
    instances: &HashMap<&str, &Instance>,
    now: Timestamp,
) -> (Vec<InstanceAction>, Vec<PlanWarning>) {
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    for group in &snapshot.groups {
        let live: Vec<_> = group.members.iter().filter(|m| m.is_live()).collect();
        let unmatched: Vec<_> = live
            .iter()
            .filter(|m| !membership.claimed(&m.instance_id))
            .collect();
        let first = out.len();
        for member in &unmatched {
            let id = member.instance_id.as_str();
            let Some(instance) = instances.get(id).filter(|i| i.is_up()) else {
                continue;
            };
            let age = since(now, instance.launch_time).unwrap_or_default();
            let (action, reason) =
                if member.protected_from_scale_in && config.respect_scale_in_protection {
                    (
                        InstanceActionKind::None,
                        "not joined, but protected from scale-in (--respect-scale-in-protection)"
                            .to_string(),
                    )
                } else if age >= config.instance_init_time {
                    (
                        InstanceActionKind::Replace,
                        format!("launched {} ago and never joined", human(age)),
                    )
                } else {
                    (
                        InstanceActionKind::Wait,
                        format!("launched {} ago", human(age)),
                    )
                };
            out.push(InstanceAction {
                instance_id: id.to_string(),
                group: Some(group.name.clone()),
                region: group.region.clone(),
                action,
                reason,
                private_dns: instance.private_dns.clone(),
                private_ip: instance.private_ip.clone(),
            });
        }
        let replacing: Vec<&Instance> = out[first..]
            .iter()
            .filter(|a| a.action == InstanceActionKind::Replace)
            .filter_map(|a| instances.get(a.instance_id.as_str()).copied())
            .collect();
        let Some(doubt) = membership::doubt(snapshot, unmatched.len(), live.len(), &replacing)
        else {
            continue;
        };
        for a in &mut out[first..] {
            if a.action == InstanceActionKind::Replace {
                a.action = InstanceActionKind::None;
                a.reason = format!("{}; not replaced: {doubt}", a.reason);
            }
        }
        warnings.push(PlanWarning {
            kind: WarningKind::MatchingInDoubt,
            subject: format!("{} ({})", group.name, group.region),
            message: format!("group {} ({}): {doubt}", group.name, group.region),
            object: None,
        });
    }
    out.sort_by(|a, b| a.instance_id.cmp(&b.instance_id));
    (out, warnings)
}
