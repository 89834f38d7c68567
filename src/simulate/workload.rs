//! The trace made ready to replay: each job with the pod it creates, built once per distinct
//! (class, requests) through the snapshot's own pod reader.

use std::collections::{BTreeMap, HashMap};

use color_eyre::eyre::{Result, WrapErr, bail};

use super::objects;
use super::trace::Trace;
use crate::decode::kubernetes::Placements;
use crate::model::Pod;

#[derive(Debug, Clone)]
pub struct Job {
    pub name: String,
    pub submit_ms: i64,
    pub pods: u32,
    /// Index into [`Workload::templates`].
    pub template: usize,
    pub duration_ms: i64,
    pub gang: bool,
    /// The trace's class, if any.
    pub class: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Workload {
    pub jobs: Vec<Job>,
    /// One pending pod per distinct (class, requests).
    pub templates: Vec<Pod>,
    /// Any pod carries required anti-affinity: the scheduler then looks at a node's residents.
    pub anti_affinity: bool,
}

impl Workload {
    pub fn new(trace: &Trace, classes: &BTreeMap<String, serde_json::Value>) -> Result<Workload> {
        let mut interner = Placements::default();
        let mut index: HashMap<(Option<&str>, &BTreeMap<String, String>), usize> = HashMap::new();
        let mut templates = Vec::new();
        let mut jobs = Vec::with_capacity(trace.jobs.len());
        for job in &trace.jobs {
            let class = match job.class.as_deref() {
                None => None,
                Some(name) => match classes.get_key_value(name) {
                    Some((name, fragment)) => Some((name.as_str(), fragment)),
                    None => bail!(
                        "job {}: no class {name:?} in the cluster file's simulation.classes \
                         (it has: {})",
                        job.name,
                        if classes.is_empty() {
                            "none".to_string()
                        } else {
                            classes.keys().cloned().collect::<Vec<_>>().join(", ")
                        }
                    ),
                },
            };
            let key = (class.map(|(n, _)| n), &job.requests);
            let template = match index.get(&key) {
                Some(&t) => t,
                None => {
                    let pod = objects::job_pod_template(class, &job.requests, &mut interner)
                        .wrap_err_with(|| format!("job {}", job.name))?;
                    templates.push(pod);
                    index.insert(key, templates.len() - 1);
                    templates.len() - 1
                }
            };
            jobs.push(Job {
                name: job.name.clone(),
                submit_ms: job.submit_ms,
                pods: job.pods,
                template,
                duration_ms: job.duration_ms,
                gang: job.gang,
                class: job.class.clone(),
            });
        }
        let anti_affinity = templates
            .iter()
            .any(|t: &Pod| !t.placement.anti_affinity.is_empty());
        Ok(Workload {
            jobs,
            templates,
            anti_affinity,
        })
    }

    pub fn pods(&self) -> u64 {
        self.jobs.iter().map(|j| u64::from(j.pods)).sum()
    }
}
