//! Constraints between pods, as kube-scheduler's InterPodAffinity, PodTopologySpread and
//! NodePorts plugins read them, kept incrementally while the planner places pods.
//!
//! 1. Every node and every planned node (a group's upcoming or new node) is a *site*. A site
//!    sits in one domain per topology key (its label's value): a node's hostname is its own, a
//!    group's next node gets a fresh one, and a group spanning several zones leaves its next
//!    node's zone *unknown*.
//! 2. Each constraint of a pending class becomes a *table* of counts per domain of its key,
//!    filled once from the pods already bound and bumped as pods are placed — never recounted:
//!    - affinity: pods matching every required affinity term of the class (scheduler's rule);
//!    - anti-affinity: pods its term selects;
//!    - carrier: pods that carry an anti-affinity term (kept away from what the term selects);
//!    - spread: pods its selector counts in the class's namespace, on eligible nodes only,
//!      with the minimum over the eligible domains kept in a histogram.
//! 3. A class's pods share labels for every selector in play (the planner classes pods by the
//!    selectors they match), so one class's check stands for all its pods.
//! 4. Anti-affinity and host ports only get worse as pods arrive (a refused site stays refused).
//!    Affinity and spread can get better — a first matching pod appears in a domain, or the
//!    spread minimum rises — and each table tells its class when that happens.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use crate::engine::scale_up::predicates::{
    NodeShape, UnknownZone, matches_node_affinity, tolerates_taints,
};
use crate::model::scheduling::{
    HOSTNAME_LABEL, HostPort, InclusionPolicy, Placement, PodAffinityTerm, SpreadConstraint,
    ZONE_LABELS,
};
use crate::model::{Pod, Snapshot};

/// Where a site is in one topology key's domains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Known(u32),
    /// The site has no such label: constraints on the key do not reach it (anti-affinity) or
    /// exclude it (affinity, spread).
    Absent,
    /// One of the zones of the site's group, not known before the node launches.
    Unknown,
}

/// Why a site cannot take a class's pods, by what other pods do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    HostPort {
        port: HostPort,
        taken_by: String,
    },
    /// The pod's anti-affinity selects `pod` in the site's domain.
    AntiAffinity {
        key: String,
        pod: String,
        domain: String,
    },
    /// `pod`'s anti-affinity selects the incoming pod in the site's domain.
    ExistingAntiAffinity {
        key: String,
        pod: String,
        domain: String,
    },
    /// No pod the affinity selects runs in the site's domain (`None`: the site has no label).
    Affinity {
        key: String,
        domain: Option<String>,
    },
    Spread {
        key: String,
        max_skew: u32,
        domain: String,
        count: u32,
        min: u32,
    },
    /// The site has no label for a spread constraint's key.
    SpreadLabel {
        key: String,
    },
    /// The site's zone decides and is not known.
    ZoneUnknown(UnknownZone),
}

impl Conflict {
    /// A conflict no later placement can lift: the site stays refused for the class.
    pub fn is_lasting(&self) -> bool {
        !matches!(
            self,
            Conflict::Affinity {
                domain: Some(_),
                ..
            } | Conflict::Spread { .. }
        )
    }
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Conflict::HostPort { port, taken_by } => {
                write!(f, "host port {port} taken by {taken_by}")
            }
            Conflict::AntiAffinity { key, pod, domain } => {
                write!(f, "pod anti-affinity on {key} with {pod} ({domain})")
            }
            Conflict::ExistingAntiAffinity { key, pod, domain } => {
                write!(f, "pod anti-affinity of {pod} on {key} ({domain})")
            }
            Conflict::Affinity {
                key,
                domain: Some(domain),
            } => write!(f, "pod affinity on {key}: no matching pod in {domain}"),
            Conflict::Affinity { key, domain: None } => {
                write!(f, "pod affinity on {key}: node has no {key} label")
            }
            Conflict::Spread {
                key,
                max_skew,
                domain,
                count,
                min,
            } => write!(
                f,
                "topology spread on {key}: maxSkew {max_skew} exceeded in {domain} ({count} vs {min})"
            ),
            Conflict::SpreadLabel { key } => {
                write!(f, "topology spread on {key}: node has no {key} label")
            }
            Conflict::ZoneUnknown(unknown) => write!(f, "{unknown}"),
        }
    }
}

/// Which pods a table counts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Matcher<'a> {
    /// Selected by every term (a class's required affinity).
    AllTerms(&'a [PodAffinityTerm]),
    /// Selected by the term (a class's anti-affinity term).
    Term(&'a PodAffinityTerm),
    /// Counted by the constraint in `namespace`, unless being deleted.
    Spread(&'a SpreadConstraint, &'a str),
    /// Carrying the anti-affinity term.
    Carrier(&'a PodAffinityTerm),
}

impl Matcher<'_> {
    fn matches(&self, pod: &Pod) -> bool {
        match self {
            Matcher::AllTerms(terms) => {
                terms.iter().all(|t| t.selects(&pod.namespace, &pod.labels))
            }
            Matcher::Term(term) => term.selects(&pod.namespace, &pod.labels),
            Matcher::Spread(c, ns) => {
                pod.namespace == *ns && !pod.deleting && c.counts(&pod.labels)
            }
            Matcher::Carrier(term) => pod.placement.anti_affinity.contains(term),
        }
    }
}

/// The pod selectors in play: every constraint of a pending pod and every anti-affinity term
/// an active pod carries. Pending pods that match the same ones (and share request, placement
/// and namespace) are one class.
pub struct Selectors<'a> {
    matchers: Vec<Matcher<'a>>,
    /// A pending pod takes host ports: ports matter though no selector does.
    ports: bool,
}

impl<'a> Selectors<'a> {
    pub fn new(snapshot: &'a Snapshot, pending: &[usize]) -> Selectors<'a> {
        let pods = &snapshot.pods;
        let mut matchers: Vec<Matcher<'a>> = Vec::new();
        let mut add = |m: Matcher<'a>| {
            if !matchers.contains(&m) {
                matchers.push(m);
            }
        };
        let mut seen = std::collections::HashSet::new();
        let mut ports = false;
        for &i in pending {
            let pod = &pods[i];
            let p: &'a Placement = &pod.placement;
            if !p.depends_on_other_pods()
                || !seen.insert((Arc::as_ptr(&pod.placement), &pod.namespace))
            {
                continue;
            }
            ports |= !p.host_ports.is_empty();
            if !p.pod_affinity.is_empty() {
                add(Matcher::AllTerms(&p.pod_affinity));
            }
            for term in &p.anti_affinity {
                add(Matcher::Term(term));
                add(Matcher::Carrier(term));
            }
            for constraint in &p.spread {
                add(Matcher::Spread(constraint, &pod.namespace));
            }
        }
        // Every active pod, as in Topology::new: nominated pods are placed too.
        for pod in pods.iter().filter(|p| p.is_active()) {
            for term in &pod.placement.anti_affinity {
                add(Matcher::Carrier(term));
            }
        }
        Selectors { matchers, ports }
    }

    /// Whether any constraint between pods is in play.
    pub fn in_play(&self) -> bool {
        self.ports || !self.matchers.is_empty()
    }

    /// Which selectors the pod matches, one bit each.
    pub fn signature(&self, pod: &Pod) -> Vec<u64> {
        let mut bits = vec![0u64; self.matchers.len().div_ceil(64)];
        for (i, m) in self.matchers.iter().enumerate() {
            if m.matches(pod) {
                bits[i / 64] |= 1 << (i % 64);
            }
        }
        bits
    }
}

/// Counts of matching pods per domain of one topology key.
struct Table<'a> {
    matcher: Matcher<'a>,
    key: usize,
    counts: Vec<u32>,
    /// A pod counted in each domain, named in reasons.
    witness: HashMap<u32, usize>,
    /// Pods counted in any domain.
    total: u32,
    /// The class whose constraint this is, told when the table lifts a refusal.
    owner: Option<usize>,
    spread: Option<SpreadDomains>,
}

/// The eligible domains of a spread table, with how many sit at each count.
#[derive(Default)]
struct SpreadDomains {
    /// Per site: whether its pods count and it is a domain (node inclusion policies, and every
    /// spread key of the class on the site).
    eligible: Vec<bool>,
    domain: Vec<bool>,
    /// count → domains with that count.
    histogram: BTreeMap<u32, u32>,
    domains: u32,
}

impl SpreadDomains {
    fn min(&self, min_domains: u32) -> u32 {
        if self.domains < min_domains {
            return 0;
        }
        self.histogram.keys().next().copied().unwrap_or(0)
    }
}

/// One class's constraints as tables, and what its pods change when placed.
#[derive(Debug, Default)]
pub struct ClassTopology {
    affinity: Vec<usize>,
    /// The class matches its own affinity terms: its first pod may go anywhere.
    affine_to_itself: bool,
    anti: Vec<usize>,
    /// Carrier tables whose term selects this class.
    repelled_by: Vec<usize>,
    /// (table, maxSkew, minDomains, counts itself)
    spread: Vec<(usize, u32, u32, bool)>,
    /// Tables that count this class's pods.
    counted_in: Vec<usize>,
    ports: Vec<HostPort>,
    /// Affinity or spread: a refused site may take the class later.
    pub changes_with_placements: bool,
    /// Two pods of the class never share a node.
    pub one_per_node: bool,
}

/// Domains, tables and the pods' ports on every site.
pub struct Topology<'a> {
    keys: Vec<&'a str>,
    values: Vec<HashMap<String, u32>>,
    names: Vec<Vec<String>>,
    /// Per site, per key.
    places: Vec<Vec<Place>>,
    /// Per site: the group of a planned node, for its possible zones.
    site_group: Vec<Option<usize>>,
    /// Per site: ports taken, and by whom.
    ports: Vec<Vec<(HostPort, String)>>,
    tables: Vec<Table<'a>>,
    classes: Vec<ClassTopology>,
    reps: Vec<&'a Pod>,
    /// Per class: a table lifted a refusal since the class last looked.
    lifted: Vec<bool>,
    /// Per group: zone value ids of each key (for its sites whose zone is unknown), and names.
    group_zones: Vec<Vec<Vec<u32>>>,
    group_zone_names: Vec<Vec<String>>,
    pods: &'a [Pod],
}

/// The facts about a site that decide its domains and which spread tables count it.
#[derive(Clone, Copy)]
pub struct SiteShape<'s> {
    pub node: NodeShape<'s>,
    /// The group of a planned node.
    pub group: Option<usize>,
}

fn key_index<'a>(keys: &mut Vec<&'a str>, key: &'a str) -> usize {
    match keys.iter().position(|k| *k == key) {
        Some(i) => i,
        None => {
            keys.push(key);
            keys.len() - 1
        }
    }
}

/// A new table, or for a carrier (shared by every class) the existing one.
fn table_index<'a>(
    tables: &mut Vec<Table<'a>>,
    matcher: Matcher<'a>,
    key: usize,
    owner: Option<usize>,
) -> usize {
    if owner.is_none()
        && let Some(i) = tables.iter().position(|t| t.matcher == matcher)
    {
        return i;
    }
    let spread = matches!(matcher, Matcher::Spread(..));
    tables.push(Table {
        matcher,
        key,
        counts: Vec::new(),
        witness: HashMap::new(),
        total: 0,
        owner,
        spread: spread.then(SpreadDomains::default),
    });
    tables.len() - 1
}

impl<'a> Topology<'a> {
    /// Tables for every constraint of the classes (given by a representative pod each) and
    /// for every anti-affinity term an active pod carries. Sites are added after.
    pub fn new(snapshot: &'a Snapshot, reps: Vec<&'a Pod>) -> Topology<'a> {
        let mut keys: Vec<&'a str> = Vec::new();
        let mut tables: Vec<Table<'a>> = Vec::new();
        let mut classes: Vec<ClassTopology> = Vec::new();
        for (c, pod) in reps.iter().enumerate() {
            let p: &'a Placement = &pod.placement;
            let mut ct = ClassTopology {
                ports: p.host_ports.clone(),
                ..Default::default()
            };
            if !p.pod_affinity.is_empty() {
                let all = Matcher::AllTerms(&p.pod_affinity);
                ct.affine_to_itself = all.matches(pod);
                for term in &p.pod_affinity {
                    let key = key_index(&mut keys, &term.topology_key);
                    ct.affinity
                        .push(table_index(&mut tables, all.clone(), key, Some(c)));
                }
            }
            for term in &p.anti_affinity {
                let key = key_index(&mut keys, &term.topology_key);
                ct.anti
                    .push(table_index(&mut tables, Matcher::Term(term), key, Some(c)));
            }
            for constraint in &p.spread {
                let key = key_index(&mut keys, &constraint.topology_key);
                let matcher = Matcher::Spread(constraint, &pod.namespace);
                let t = table_index(&mut tables, matcher, key, Some(c));
                let itself = constraint.counts_itself(&pod.labels);
                ct.spread
                    .push((t, constraint.max_skew, constraint.min_domains, itself));
            }
            ct.changes_with_placements = !(ct.affinity.is_empty() && ct.spread.is_empty());
            ct.one_per_node = !ct.ports.is_empty()
                || p.anti_affinity.iter().any(|t| {
                    t.topology_key == HOSTNAME_LABEL && t.selects(&pod.namespace, &pod.labels)
                });
            classes.push(ct);
        }
        // Anti-affinity terms carried by any active pod, bound or pending.
        let carried = snapshot
            .pods
            .iter()
            .filter(|p| p.is_active())
            .chain(reps.iter().copied())
            .flat_map(|p| &p.placement.anti_affinity);
        for term in carried {
            let key = key_index(&mut keys, &term.topology_key);
            table_index(&mut tables, Matcher::Carrier(term), key, None);
        }
        for (c, pod) in reps.iter().enumerate() {
            for (t, table) in tables.iter().enumerate() {
                if table.matcher.matches(pod) {
                    classes[c].counted_in.push(t);
                }
                if let Matcher::Carrier(term) = table.matcher
                    && term.selects(&pod.namespace, &pod.labels)
                {
                    classes[c].repelled_by.push(t);
                }
            }
        }
        Topology {
            values: vec![HashMap::new(); keys.len()],
            names: vec![Vec::new(); keys.len()],
            keys,
            places: Vec::new(),
            site_group: Vec::new(),
            ports: Vec::new(),
            lifted: vec![false; classes.len()],
            classes,
            reps,
            tables,
            group_zones: Vec::new(),
            group_zone_names: Vec::new(),
            pods: &snapshot.pods,
        }
    }

    pub fn class(&self, c: usize) -> &ClassTopology {
        &self.classes[c]
    }

    fn value(&mut self, key: usize, value: &str) -> u32 {
        if let Some(&id) = self.values[key].get(value) {
            return id;
        }
        let id = self.names[key].len() as u32;
        self.values[key].insert(value.to_string(), id);
        self.names[key].push(value.to_string());
        id
    }

    /// Declares group `g` (groups are declared in order, before their sites): the zones its
    /// next node may get when it spans several.
    pub fn add_group(&mut self, zones: &[String]) {
        let ids = (0..self.keys.len())
            .map(|k| {
                if ZONE_LABELS.contains(&self.keys[k]) {
                    zones.iter().map(|z| self.value(k, z)).collect()
                } else {
                    Vec::new()
                }
            })
            .collect();
        self.group_zones.push(ids);
        self.group_zone_names.push(zones.to_vec());
    }

    /// Adds a site and returns its index: a node (its pods are added with
    /// [`Topology::place`]), or a group's planned node, named `fresh` for its hostname and
    /// holding `ports` (its DaemonSet pods'). `counted` registers its domains and lets spread
    /// tables count it; a group's template site, used only to ask whether its next node would
    /// take a pod, is not counted.
    pub fn add_site(
        &mut self,
        shape: SiteShape<'_>,
        fresh: Option<&str>,
        ports: Vec<(HostPort, String)>,
        counted: bool,
    ) -> usize {
        let site = self.places.len();
        let places = (0..self.keys.len())
            .map(|k| {
                let key = self.keys[k];
                if let Some(v) = shape.node.labels.get(key) {
                    Place::Known(self.value(k, v))
                } else if let (HOSTNAME_LABEL, Some(name)) = (key, fresh) {
                    Place::Known(self.value(k, name))
                } else if ZONE_LABELS.contains(&key) && !shape.node.unknown_zones.is_empty() {
                    Place::Unknown
                } else {
                    Place::Absent
                }
            })
            .collect();
        self.places.push(places);
        self.site_group.push(shape.group);
        self.ports.push(ports);
        for t in 0..self.tables.len() {
            if self.tables[t].spread.is_none() {
                continue;
            }
            let eligible = counted && self.spread_eligible(t, site, &shape);
            if eligible && let Place::Known(v) = self.places[site][self.tables[t].key] {
                self.add_domain(t, v);
            }
            self.tables[t]
                .spread
                .as_mut()
                .unwrap()
                .eligible
                .push(eligible);
        }
        site
    }

    /// Registers the domain a group's next node would be in, for every spread table that would
    /// count it, though no node is there yet: spreading over zones can then open nodes in
    /// several groups. A hostname is a domain only once a node has it.
    pub fn add_possible_domains(&mut self, shape: SiteShape<'_>) {
        for t in 0..self.tables.len() {
            let key = self.tables[t].key;
            if self.tables[t].spread.is_none() || self.keys[key] == HOSTNAME_LABEL {
                continue;
            }
            let owner = self.tables[t]
                .owner
                .expect("spread tables belong to a class");
            let has_keys = self.classes[owner].spread.iter().all(|&(s, ..)| {
                let key = self.keys[self.tables[s].key];
                key == HOSTNAME_LABEL || shape.node.labels.contains_key(key)
            });
            if !has_keys || !self.includes(t, &shape) {
                continue;
            }
            if let Some(v) = shape.node.labels.get(self.keys[key]) {
                let v = self.value(key, v);
                self.add_domain(t, v);
            }
        }
    }

    /// Whether spread table `t` counts the site's pods: its class's node inclusion policies
    /// admit it and it has every spread key of the class.
    fn spread_eligible(&self, t: usize, site: usize, shape: &SiteShape<'_>) -> bool {
        let owner = self.tables[t]
            .owner
            .expect("spread tables belong to a class");
        self.includes(t, shape)
            && self.classes[owner]
                .spread
                .iter()
                .all(|&(s, ..)| matches!(self.places[site][self.tables[s].key], Place::Known(_)))
    }

    fn includes(&self, t: usize, shape: &SiteShape<'_>) -> bool {
        let Matcher::Spread(constraint, _) = self.tables[t].matcher else {
            unreachable!("spread tables have spread matchers")
        };
        let owner = self.tables[t]
            .owner
            .expect("spread tables belong to a class");
        let placement = &self.reps[owner].placement;
        (constraint.node_affinity_policy == InclusionPolicy::Ignore
            || matches_node_affinity(placement, shape.node.labels, shape.node.name))
            && (constraint.node_taints_policy == InclusionPolicy::Ignore
                || tolerates_taints(placement, shape.node.taints))
    }

    fn add_domain(&mut self, t: usize, v: u32) {
        let table = &mut self.tables[t];
        let count = table.counts.get(v as usize).copied().unwrap_or(0);
        let spread = table.spread.as_mut().expect("a spread table");
        if spread.domain.len() <= v as usize {
            spread.domain.resize(v as usize + 1, false);
        }
        if !spread.domain[v as usize] {
            spread.domain[v as usize] = true;
            spread.domains += 1;
            *spread.histogram.entry(count).or_default() += 1;
        }
    }

    /// Counts `pod` on `site` in every table whose matcher it satisfies, and takes its ports.
    /// `class` is the pod's pending class, whose tables are known; a bound pod is matched
    /// table by table.
    pub fn place(&mut self, pod: usize, class: Option<usize>, site: usize) {
        let counted_in: Vec<usize> = match class {
            Some(c) => self.classes[c].counted_in.clone(),
            None => (0..self.tables.len())
                .filter(|&t| self.tables[t].matcher.matches(&self.pods[pod]))
                .collect(),
        };
        for t in counted_in {
            self.bump(t, site, pod);
        }
        let pods = self.pods;
        let ports = &pods[pod].placement.host_ports;
        if !ports.is_empty() {
            let name = pods[pod].key();
            self.ports[site].extend(ports.iter().map(|p| (p.clone(), name.clone())));
        }
    }

    fn bump(&mut self, t: usize, site: usize, pod: usize) {
        let key = self.tables[t].key;
        let values: Vec<u32> = match self.places[site][key] {
            Place::Known(v) => vec![v],
            Place::Absent => return,
            // Where the node lands is not known: anti-affinity counts the pod in every zone
            // the node may get (keeping others away from all of them), affinity and spread in
            // none.
            Place::Unknown => match self.tables[t].matcher {
                Matcher::Term(_) | Matcher::Carrier(_) => {
                    let g = self.site_group[site].expect("unknown zones belong to a group");
                    self.group_zones[g][key].clone()
                }
                _ => return,
            },
        };
        if self.tables[t]
            .spread
            .as_ref()
            .is_some_and(|s| !s.eligible[site])
        {
            return;
        }
        for v in values {
            let table = &mut self.tables[t];
            if table.counts.len() <= v as usize {
                table.counts.resize(v as usize + 1, 0);
            }
            let before = table.counts[v as usize];
            table.counts[v as usize] += 1;
            table.total += 1;
            table.witness.entry(v).or_insert(pod);
            let mut lifted = before == 0 && matches!(table.matcher, Matcher::AllTerms(_));
            if let Some(spread) = table.spread.as_mut()
                && spread.domain.get(v as usize).copied().unwrap_or(false)
            {
                let old_min = spread.histogram.keys().next().copied();
                let at_before = spread.histogram.get_mut(&before).expect("a counted domain");
                *at_before -= 1;
                if *at_before == 0 {
                    spread.histogram.remove(&before);
                }
                *spread.histogram.entry(before + 1).or_default() += 1;
                lifted |= spread.histogram.keys().next().copied() != old_min;
            }
            if lifted && let Some(owner) = table.owner {
                self.lifted[owner] = true;
            }
        }
    }

    /// Whether a placement lifted one of the class's refusals since it last asked.
    pub fn take_lifted(&mut self, class: usize) -> bool {
        std::mem::take(&mut self.lifted[class])
    }

    fn domain_name(&self, key: usize, v: u32) -> String {
        self.names[key][v as usize].clone()
    }

    fn witness(&self, t: usize, v: u32) -> String {
        self.tables[t]
            .witness
            .get(&v)
            .map(|&p| self.pods[p].key())
            .unwrap_or_default()
    }

    /// The first reason `class`'s pods cannot go to `site`, in the scheduler's order: host
    /// ports, topology spread, affinity, anti-affinity, then the anti-affinity of others.
    pub fn conflict(&self, class: usize, site: usize) -> Option<Conflict> {
        let ct = &self.classes[class];
        self.port_conflict(ct, site)
            .or_else(|| self.spread_conflict(ct, site))
            .or_else(|| self.affinity_conflict(ct, site))
            .or_else(|| self.anti_affinity_conflict(ct, site))
    }

    /// A zone the site's group may launch in but that is not known yet.
    fn unknown_zone(&self, site: usize) -> Option<Conflict> {
        let g = self.site_group[site].expect("unknown zones belong to a group");
        Some(Conflict::ZoneUnknown(UnknownZone {
            zones: self.group_zone_names[g].clone(),
        }))
    }

    fn port_conflict(&self, ct: &ClassTopology, site: usize) -> Option<Conflict> {
        for want in &ct.ports {
            if let Some((_, by)) = self.ports[site].iter().find(|(p, _)| p.conflicts(want)) {
                return Some(Conflict::HostPort {
                    port: want.clone(),
                    taken_by: by.clone(),
                });
            }
        }
        None
    }

    fn spread_conflict(&self, ct: &ClassTopology, site: usize) -> Option<Conflict> {
        let places = &self.places[site];
        for &(t, max_skew, min_domains, itself) in &ct.spread {
            let table = &self.tables[t];
            let key = table.key;
            let v = match places[key] {
                Place::Known(v) => v,
                Place::Absent => {
                    return Some(Conflict::SpreadLabel {
                        key: self.keys[key].to_string(),
                    });
                }
                Place::Unknown => return self.unknown_zone(site),
            };
            let spread = table.spread.as_ref().expect("a spread table");
            let count = table.counts.get(v as usize).copied().unwrap_or(0) + u32::from(itself);
            // A domain no counted node is in yet (a group's next node) joins at 0.
            let fresh = !spread.domain.get(v as usize).copied().unwrap_or(false);
            let min = if fresh { 0 } else { spread.min(min_domains) };
            if count > min + max_skew {
                return Some(Conflict::Spread {
                    key: self.keys[key].to_string(),
                    max_skew,
                    domain: self.domain_name(key, v),
                    count,
                    min,
                });
            }
        }
        None
    }

    fn affinity_conflict(&self, ct: &ClassTopology, site: usize) -> Option<Conflict> {
        if ct.affinity.is_empty() {
            return None;
        }
        let places = &self.places[site];
        let mut missing = None;
        for &t in &ct.affinity {
            let key = self.tables[t].key;
            match places[key] {
                Place::Known(v) => {
                    if self.tables[t].counts.get(v as usize).copied().unwrap_or(0) == 0 {
                        missing.get_or_insert((key, v));
                    }
                }
                Place::Absent => {
                    return Some(Conflict::Affinity {
                        key: self.keys[key].to_string(),
                        domain: None,
                    });
                }
                Place::Unknown => return self.unknown_zone(site),
            }
        }
        // The scheduler's first-pod rule: when no pod anywhere matches the terms and the pod
        // matches them itself, it may start the group anywhere.
        let nobody = ct.affinity.iter().all(|&t| self.tables[t].total == 0);
        match missing {
            Some((key, v)) if !(nobody && ct.affine_to_itself) => Some(Conflict::Affinity {
                key: self.keys[key].to_string(),
                domain: Some(self.domain_name(key, v)),
            }),
            _ => None,
        }
    }

    /// The class's own anti-affinity, then that of pods already placed against it.
    fn anti_affinity_conflict(&self, ct: &ClassTopology, site: usize) -> Option<Conflict> {
        for (&t, existing) in ct
            .anti
            .iter()
            .map(|t| (t, false))
            .chain(ct.repelled_by.iter().map(|t| (t, true)))
        {
            let Some((v, pod)) = self.occupied(t, site) else {
                continue;
            };
            let key = self.keys[self.tables[t].key].to_string();
            let domain = self.domain_name(self.tables[t].key, v);
            return Some(if existing {
                Conflict::ExistingAntiAffinity { key, pod, domain }
            } else {
                Conflict::AntiAffinity { key, pod, domain }
            });
        }
        None
    }

    /// A domain of the site where table `t` counts a pod, and that pod; for a site whose zone
    /// is unknown, any zone it may get.
    fn occupied(&self, t: usize, site: usize) -> Option<(u32, String)> {
        let table = &self.tables[t];
        let counted = |v: &u32| table.counts.get(*v as usize).copied().unwrap_or(0) > 0;
        let v = match self.places[site][table.key] {
            Place::Known(v) => Some(v).filter(counted),
            Place::Absent => None,
            Place::Unknown => {
                let g = self.site_group[site].expect("unknown zones belong to a group");
                self.group_zones[g][table.key].iter().copied().find(counted)
            }
        }?;
        Some((v, self.witness(t, v)))
    }
}
