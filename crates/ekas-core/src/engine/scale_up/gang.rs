//! Gangs: pods that must start together (a PodGroup of the coscheduling plugin or Volcano).
//!
//! Buying nodes for part of a gang is the costliest mistake a batch cluster can make: forty
//! GPU nodes sit idle while a 64-pod training job waits for the other 24. So scale-up plans a
//! gang's pending pods as one unit ([`crate::engine::scale_up`]): the gang fits when as many of them
//! as it needs get a destination — free room, capacity already requested, new nodes — and
//! otherwise none of them is planned anywhere, and each says why.
//!
//! A gang needs its PodGroup's minMember less the members already running (a restarted
//! worker rejoins a running job), at most its pending pods; without a PodGroup, every pending
//! pod.

use crate::model::{Gang, Snapshot};
use crate::plan::{GangStatus, GangVerdict};

/// One gang's pods as this pass sees them.
#[derive(Debug)]
pub struct GangPods<'a> {
    pub gang: &'a Gang,
    /// Pending pods, indices into `snapshot.pods`.
    pub pending: Vec<usize>,
    /// How many of them must get a destination for the gang to start.
    pub needed: usize,
    /// minMember as the output shows it: the PodGroup's, or all the gang's pods.
    pub min_member: u32,
}

/// Every gang with pending pods, and which gang each pod is in.
#[derive(Debug, Default)]
pub struct Gangs<'a> {
    pub list: Vec<GangPods<'a>>,
    /// Per pod of the snapshot: its gang's index in `list`, when it is in one with pending pods.
    of_pod: Vec<Option<usize>>,
}

impl<'a> Gangs<'a> {
    /// The gangs of `snapshot`, in namespace/name order: those of ProvisioningRequests, and
    /// with `pod_groups` those of PodGroups.
    pub fn of(snapshot: &'a Snapshot, pod_groups: bool) -> Gangs<'a> {
        let mut members: std::collections::BTreeMap<&Gang, (Vec<usize>, u32)> = Default::default();
        for (i, pod) in snapshot.pods.iter().enumerate() {
            let Some(gang) = pod.gang.as_ref().filter(|g| pod_groups || g.from_request) else {
                continue;
            };
            let (pending, running) = members.entry(gang).or_default();
            if pod.is_pending() {
                pending.push(i);
            } else if pod.node_name.is_some() && pod.is_active() {
                *running += 1;
            }
        }
        let mut of_pod = vec![None; snapshot.pods.len()];
        let mut list = Vec::new();
        for (gang, (pending, running)) in members {
            if pending.is_empty() {
                continue;
            }
            let all = running + pending.len() as u32;
            let needed = match gang.min_member {
                Some(m) => (m.saturating_sub(running) as usize).min(pending.len()),
                None => pending.len(),
            };
            for &i in &pending {
                of_pod[i] = Some(list.len());
            }
            list.push(GangPods {
                gang,
                pending,
                needed,
                min_member: gang.min_member.unwrap_or(all),
            });
        }
        Gangs { list, of_pod }
    }

    /// The gang pending pod `pod` is in.
    pub fn of_pod(&self, pod: usize) -> Option<usize> {
        self.of_pod.get(pod).copied().flatten()
    }

    /// The output line for gang `g`, of whose pods `fit` got a destination; `why` says what
    /// stopped the rest when the gang falls short.
    pub fn status(&self, g: usize, fit: usize, why: Option<&str>) -> GangStatus {
        let gang = &self.list[g];
        let pods = gang.pending.len();
        let needed = if gang.needed < pods {
            format!(" ({} needed)", gang.needed)
        } else {
            String::new()
        };
        let kind = if gang.gang.from_request {
            "ProvisioningRequest"
        } else {
            "gang"
        };
        let mut reason = format!("{kind} {}: {pods} pods{needed}, {fit} fit", gang.gang.key());
        if let Some(why) = why {
            reason.push_str(": ");
            reason.push_str(why);
        }
        GangStatus {
            gang: gang.gang.key(),
            from_request: gang.gang.from_request,
            pods,
            min_member: gang.min_member,
            verdict: if why.is_none() {
                GangVerdict::Fits
            } else {
                GangVerdict::DoesNotFit
            },
            reason,
        }
    }
}
