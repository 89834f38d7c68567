//! Jobs between pods. A node whose Job pod just finished is idle only for a moment when the same
//! Job still has pods waiting — held back by scheduling gates (how a queue such as Kueue
//! suspends them), or pending and sent to no existing node by this plan — that would run there:
//! the next one will need it. Maintenance keeps such a node (`job-pending`) instead of cordoning
//! it for idleness.
//!
//! Built once per pass, so the engine stays fast with many pending pods: which Jobs have a
//! finished pod on some node, and for those Jobs only, their waiting pods counted per template
//! (placement and requests). A node is then checked against a Job's few templates, never
//! against its pods one by one.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::engine::scale_up::predicates::{NodeShape, static_fit};
use crate::model::scheduling::Placement;
use crate::model::{Pod, Resources, Snapshot};

/// A Job: its namespace and name.
type JobKey<'a> = (&'a str, &'a str);

/// Waiting pods of one Job that share a template.
struct Template<'a> {
    placement: &'a Placement,
    requests: &'a Resources,
    pods: usize,
}

/// The waiting pods of every Job that has a finished pod on some node.
pub struct WaitingJobs<'a> {
    jobs: HashMap<JobKey<'a>, Vec<Template<'a>>>,
}

/// A Job that wants a node back, and how many of its waiting pods fit there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobWait {
    /// `namespace/name`.
    pub job: String,
    pub pods: usize,
}

/// The Job that controls the pod, if any. Unreadable pods say nothing reliable and count for
/// nothing here.
fn job_of(pod: &Pod) -> Option<JobKey<'_>> {
    let owner = pod.controller.as_ref()?;
    (owner.kind == "Job" && !pod.unreadable)
        .then_some((pod.namespace.as_str(), owner.name.as_str()))
}

fn finished_on_a_node(pod: &Pod) -> bool {
    pod.node_name.is_some() && !pod.is_active()
}

impl<'a> WaitingJobs<'a> {
    /// `onto_nodes`: pending pods (by index) this plan sends to existing nodes. They wait for
    /// no node: one sent to this node makes it `pod-pending`, one sent to another does not
    /// need this one.
    pub fn new(snapshot: &'a Snapshot, onto_nodes: &[usize]) -> WaitingJobs<'a> {
        let finished: HashSet<JobKey<'a>> = snapshot
            .pods
            .iter()
            .filter(|p| finished_on_a_node(p))
            .filter_map(job_of)
            .collect();
        let mut jobs: HashMap<JobKey<'a>, Vec<Template<'a>>> = HashMap::new();
        if finished.is_empty() {
            return WaitingJobs { jobs };
        }
        let mut placed = vec![false; snapshot.pods.len()];
        for &p in onto_nodes {
            placed[p] = true;
        }
        // Waiting: gated, or pending and sent to no existing node.
        let waiting = snapshot
            .pods
            .iter()
            .zip(placed)
            .filter(|(p, placed)| p.is_gated() || (p.is_pending() && !placed))
            .map(|(p, _)| p);
        // Pods of one template share their placement (by pointer): count them once. Pods of a
        // Job are listed together and mostly of one template, so the last pod's answer is
        // kept and most pods are counted without hashing.
        let mut templates: Vec<(JobKey<'a>, Template<'a>)> = Vec::new();
        let mut index: HashMap<(JobKey<'a>, *const Placement, &'a Resources), usize> =
            HashMap::new();
        let mut last_job: Option<(JobKey<'a>, bool)> = None;
        let mut last_template: Option<usize> = None;
        for pod in waiting {
            let Some(job) = job_of(pod) else { continue };
            let ran = match last_job {
                Some((j, ran)) if j == job => ran,
                _ => finished.contains(&job),
            };
            last_job = Some((job, ran));
            if !ran {
                continue;
            }
            let placement = Arc::as_ptr(&pod.placement);
            let same = last_template.filter(|&t| {
                let (j, t) = &templates[t];
                *j == job && std::ptr::eq(t.placement, placement) && *t.requests == pod.requests
            });
            let t = same.unwrap_or_else(|| {
                *index
                    .entry((job, placement, &pod.requests))
                    .or_insert_with(|| {
                        templates.push((
                            job,
                            Template {
                                placement: &pod.placement,
                                requests: &pod.requests,
                                pods: 0,
                            },
                        ));
                        templates.len() - 1
                    })
            });
            templates[t].1.pods += 1;
            last_template = Some(t);
        }
        for (job, template) in templates {
            jobs.entry(job).or_default().push(template);
        }
        WaitingJobs { jobs }
    }

    /// No Job that ran a pod on some node has a pod waiting: no node is kept for one.
    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    /// The Job, among those with a finished pod in `pods` (the pods bound to the node), with
    /// the most waiting pods that would run on the node: their requests fit in `room` and the
    /// static predicates pass. Ties go to the Job first by name.
    pub fn wanting(&self, pods: &[&Pod], node: NodeShape<'_>, room: &Resources) -> Option<JobWait> {
        let mut ran: Vec<JobKey<'_>> = pods
            .iter()
            .filter(|p| finished_on_a_node(p))
            .filter_map(|p| job_of(p))
            .collect();
        ran.sort_unstable();
        ran.dedup();
        ran.into_iter()
            .filter_map(|job| {
                let fitting: usize = self
                    .jobs
                    .get(&job)?
                    .iter()
                    .filter(|t| t.requests.fits_in(room) && static_fit(t.placement, node).is_ok())
                    .map(|t| t.pods)
                    .sum();
                (fitting > 0).then_some((job, fitting))
            })
            // Most pods, then the first Job by name: the same snapshot names the same Job.
            .max_by(|(a, x), (b, y)| x.cmp(y).then(b.cmp(a)))
            .map(|((namespace, name), pods)| JobWait {
                job: format!("{namespace}/{name}"),
                pods,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tests::{Cluster, res};
    use crate::model::PodPhase;
    use crate::model::resources::PODS;

    /// Node `n` ran pods of Jobs a and b; the waiting pods of a, b and c are listed
    /// interleaved, as (job, cpu millicores, gated), each cpu size one template.
    fn cluster(waiting: &[(&str, i64, bool)]) -> Cluster {
        let mut c = Cluster::new(&["r"]);
        c.node("n", None, 4000, 16);
        for job in ["a", "b"] {
            let pod = c.pod(&format!("{job}-done"), 1000, 1);
            pod.controller.as_mut().unwrap().name = job.into();
            pod.node_name = Some("n".into());
            pod.phase = PodPhase::Succeeded;
        }
        let mut shared: HashMap<i64, Arc<Placement>> = HashMap::new();
        for (i, &(job, cpu, gated)) in waiting.iter().enumerate() {
            let pod = c.pod(&format!("{job}-{i}"), cpu, 1);
            pod.controller.as_mut().unwrap().name = job.into();
            pod.gated = gated;
            pod.placement = shared
                .entry(cpu)
                .or_insert_with(|| pod.placement.clone())
                .clone();
        }
        c
    }

    /// What node `n` offers, with `cpu` millicores free.
    fn room(cpu: i64) -> Resources {
        let mut room = res(cpu, 16);
        room.set(PODS, 110);
        room
    }

    fn wanting(c: &Cluster, onto_nodes: &[usize], cpu: i64) -> Option<JobWait> {
        let s = &c.0;
        let pods: Vec<&Pod> = s.pods.iter().filter(|p| p.node_name.is_some()).collect();
        WaitingJobs::new(s, onto_nodes).wanting(
            &pods,
            NodeShape::of_node(&s.nodes[0], false),
            &room(cpu),
        )
    }

    fn wait(job: &str, pods: usize) -> Option<JobWait> {
        Some(JobWait {
            job: job.into(),
            pods,
        })
    }

    #[test]
    fn waiting_pods_are_counted_per_job_and_template() {
        let c = cluster(&[
            ("a", 1000, true),
            ("a", 1000, true),
            ("b", 1000, true),
            ("c", 1000, true),
            ("a", 3000, true),
            ("a", 1000, false),
            ("a", 8000, true),
            ("b", 1000, false),
            ("b", 1000, true),
        ]);
        // Pods 0 and 1 are a's and b's finished ones; a's pending pod is 7, b's is 9.
        assert_eq!(wanting(&c, &[], 4000), wait("batch/a", 4));
        assert_eq!(
            wanting(&c, &[], 2000),
            wait("batch/a", 3),
            "the 3-cpu pod no longer fits; a tie goes to the Job first by name"
        );
        // A pending pod the plan sends to a node waits for none.
        assert_eq!(wanting(&c, &[7], 2000), wait("batch/b", 3));
        assert_eq!(wanting(&c, &[7, 9], 2000), wait("batch/a", 2));
        // c never ran here; nothing fits in half a cpu.
        assert_eq!(wanting(&c, &[], 500), None);
    }
}
