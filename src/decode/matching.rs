//! Which EC2 instance each Node is. An AWS providerID says it outright; without one (kubeadm
//! without a cloud provider, some self-managed clusters) the instance's private DNS name or IP
//! is looked for among the Node's name and addresses, and last the original tool's `aws/id`
//! label is taken at its word. A match must be unambiguous both ways — one instance for the
//! Node, one Node for the instance — or there is none: a wrong match could terminate a busy
//! machine, a missing one only leaves it alone (safety invariant 6).

use std::collections::{BTreeSet, HashMap};

use crate::model::{Instance, MatchedBy, Node};

/// Fills `instance_id` and `matched_by` of every Node without an AWS providerID, from the
/// instances EC2 described.
pub fn match_nodes(nodes: &mut [Node], instances: &[Instance]) {
    let index = AddressIndex::of(instances);
    // Instances the providerIDs already claim; a guess never takes one of them.
    let mut claims: HashMap<String, usize> = HashMap::new();
    for node in nodes.iter().filter(|n| n.instance_id.is_some()) {
        *claims.entry(node.instance_id.clone().unwrap()).or_default() += 1;
    }
    let mut guesses: Vec<Option<(String, MatchedBy)>> =
        nodes.iter().map(|node| index.guess(node)).collect();
    for (id, _) in guesses.iter().flatten() {
        *claims.entry(id.clone()).or_default() += 1;
    }
    // Two Nodes answering to one instance (a stale Node whose IP was reused, say): neither.
    for guess in &mut guesses {
        if guess.as_ref().is_some_and(|(id, _)| claims[id] > 1) {
            *guess = None;
        }
    }
    for (node, guess) in nodes.iter_mut().zip(guesses) {
        if let Some((id, how)) = guess {
            node.instance_id = Some(id);
            node.matched_by = Some(how);
        }
    }
    match_by_label(nodes);
}

/// The described instances (those EC2 knows) by private DNS name, lowercase, and by private IP.
struct AddressIndex<'i> {
    by_dns: HashMap<String, BTreeSet<&'i str>>,
    by_ip: HashMap<&'i str, BTreeSet<&'i str>>,
}

impl<'i> AddressIndex<'i> {
    /// The index of `instances`, leaving out those EC2 said it does not know.
    fn of(instances: &'i [Instance]) -> AddressIndex<'i> {
        let mut by_dns: HashMap<String, BTreeSet<&str>> = HashMap::new();
        let mut by_ip: HashMap<&str, BTreeSet<&str>> = HashMap::new();
        for i in instances.iter().filter(|i| !i.is_not_found()) {
            if let Some(dns) = &i.private_dns {
                by_dns
                    .entry(dns.to_ascii_lowercase())
                    .or_default()
                    .insert(&i.id);
            }
            if let Some(ip) = &i.private_ip {
                by_ip.entry(ip).or_default().insert(&i.id);
            }
        }
        AddressIndex { by_dns, by_ip }
    }

    /// The one instance a Node without a providerID answers to by its name, hostnames and
    /// internal IPs, and by which; `None` for a Node with a providerID, and when no instance or
    /// more than one answers.
    fn guess(&self, node: &Node) -> Option<(String, MatchedBy)> {
        if node.instance_id.is_some() {
            return None;
        }
        let names = std::iter::once(&node.name).chain(&node.addresses.hostnames);
        let dns: BTreeSet<&str> = names
            .filter_map(|n| self.by_dns.get(&n.to_ascii_lowercase()))
            .flatten()
            .copied()
            .collect();
        let ip: BTreeSet<&str> = node
            .addresses
            .internal_ips
            .iter()
            .filter_map(|a| self.by_ip.get(a.as_str()))
            .flatten()
            .copied()
            .collect();
        // The DNS name carries the region; an IP may repeat across VPCs. The IP may
        // confirm the name, never contradict it.
        let (candidates, how) = if dns.is_empty() {
            (&ip, MatchedBy::PrivateIp)
        } else {
            (&dns, MatchedBy::PrivateDns)
        };
        let [only] = candidates.iter().copied().collect::<Vec<_>>()[..] else {
            return None;
        };
        if !ip.is_empty() && !ip.contains(only) {
            return None;
        }
        Some((only.to_string(), how))
    }
}

/// Last, the original tool's `aws/id` label, for an instance nothing else claims and no other
/// unmatched Node's label names.
fn match_by_label(nodes: &mut [Node]) {
    let claimed: BTreeSet<String> = nodes.iter().filter_map(|n| n.instance_id.clone()).collect();
    let mut labelled: HashMap<String, usize> = HashMap::new();
    for node in nodes.iter().filter(|n| n.instance_id.is_none()) {
        if let Some(id) = node.aws_id_label.as_ref().filter(|id| id.starts_with("i-")) {
            *labelled.entry(id.clone()).or_default() += 1;
        }
    }
    for node in nodes.iter_mut().filter(|n| n.instance_id.is_none()) {
        let Some(id) = node.aws_id_label.clone() else {
            continue;
        };
        if labelled.get(&id) == Some(&1) && !claimed.contains(&id) {
            node.instance_id = Some(id);
            node.matched_by = Some(MatchedBy::AwsIdLabel);
        }
    }
}

/// Whether `node` answers to `instance` by any rule, ambiguity aside: the last look before an
/// instance is replaced asks exactly this of the Nodes that exist now.
pub fn claims(node: &Node, instance: &Instance) -> bool {
    let id = instance.id.as_str();
    let named = |dns: &String| {
        node.name.eq_ignore_ascii_case(dns)
            || node
                .addresses
                .hostnames
                .iter()
                .any(|h| h.eq_ignore_ascii_case(dns))
    };
    node.instance_id.as_deref() == Some(id)
        || node.aws_id_label.as_deref() == Some(id)
        || instance.private_dns.as_ref().is_some_and(named)
        || instance
            .private_ip
            .as_ref()
            .is_some_and(|ip| node.addresses.internal_ips.contains(ip))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{NodeAddresses, NodeMarks, Resources};

    fn node(name: &str, provider: Option<&str>, ips: &[&str], label: Option<&str>) -> Node {
        let instance_id = provider.map(str::to_string);
        Node {
            name: name.into(),
            provider_id: None,
            matched_by: instance_id.as_ref().map(|_| MatchedBy::ProviderId),
            instance_id,
            addresses: NodeAddresses {
                hostnames: vec![],
                internal_ips: ips.iter().map(|s| s.to_string()).collect(),
            },
            aws_id_label: label.map(str::to_string),
            labels: Default::default(),
            taints: vec![],
            allocatable: Resources::default(),
            ready: true,
            unschedulable: false,
            created: None,
            ready_changed: None,
            marks: NodeMarks::default(),
            unreadable: false,
        }
    }

    fn instance(id: &str, dns: &str, ip: &str) -> Instance {
        Instance {
            id: id.into(),
            region: "us-west-2".into(),
            group: None,
            instance_type: "m5.large".into(),
            zone: None,
            state: "running".into(),
            launch_time: None,
            private_dns: Some(dns.into()),
            private_ip: Some(ip.into()),
        }
    }

    fn matched(nodes: &[Node]) -> Vec<(Option<&str>, Option<MatchedBy>)> {
        nodes
            .iter()
            .map(|n| (n.instance_id.as_deref(), n.matched_by))
            .collect()
    }

    #[test]
    fn every_rule_in_order() {
        use MatchedBy::*;
        let instances = [
            instance("i-1", "ip-10-0-0-1.us-west-2.compute.internal", "10.0.0.1"),
            instance("i-2", "ip-10-0-0-2.us-west-2.compute.internal", "10.0.0.2"),
            instance("i-3", "ip-10-0-0-3.us-west-2.compute.internal", "10.0.0.3"),
            instance("i-4", "ip-10-0-0-4.us-west-2.compute.internal", "10.0.0.4"),
        ];
        let mut nodes = vec![
            // providerID wins, whatever the name says
            node(
                "ip-10-0-0-2.us-west-2.compute.internal",
                Some("i-1"),
                &[],
                None,
            ),
            // the node's name is the instance's private DNS name (any case)
            node("IP-10-0-0-3.us-west-2.compute.internal", None, &[], None),
            // kubeadm's short hostname, found by its InternalIP
            node("ip-10-0-0-4", None, &["10.0.0.4"], None),
            // the original tool's label
            node("worker-9", None, &[], Some("i-9")),
            // nothing to go on
            node("worker-10", None, &["192.168.0.1"], None),
        ];
        match_nodes(&mut nodes, &instances);
        assert_eq!(
            matched(&nodes),
            [
                (Some("i-1"), Some(ProviderId)),
                (Some("i-3"), Some(PrivateDns)),
                (Some("i-4"), Some(PrivateIp)),
                (Some("i-9"), Some(AwsIdLabel)),
                (None, None),
            ][..]
        );
    }

    #[test]
    fn ambiguity_matches_nothing() {
        let instances = [
            instance("i-1", "ip-10-0-0-1.us-west-2.compute.internal", "10.0.0.1"),
            // the same private IP in another region's VPC
            instance("i-2", "ip-10-0-0-1.us-east-1.compute.internal", "10.0.0.1"),
            instance("i-3", "ip-10-0-0-3.us-west-2.compute.internal", "10.0.0.3"),
        ];
        let mut nodes = vec![
            // one Node, two instances with its IP
            node("a", None, &["10.0.0.1"], None),
            // two Nodes answering to one instance: a stale one and its successor
            node("old", None, &["10.0.0.3"], None),
            node("new", None, &["10.0.0.3"], None),
            // a guess never takes an instance a providerID claims
            node("claimed", Some("i-3"), &[], None),
            // nor does a label
            node("labelled", None, &[], Some("i-3")),
        ];
        match_nodes(&mut nodes, &instances);
        assert!(
            nodes[..3].iter().all(|n| n.instance_id.is_none()),
            "{:?}",
            matched(&nodes)
        );
        assert_eq!(nodes[4].instance_id, None);
        // The DNS name settles what the IP cannot.
        let mut nodes = vec![node(
            "ip-10-0-0-1.us-east-1.compute.internal",
            None,
            &["10.0.0.1"],
            None,
        )];
        match_nodes(&mut nodes, &instances);
        assert_eq!(nodes[0].instance_id.as_deref(), Some("i-2"));
        // …but a name and an IP that disagree match nothing.
        let mut nodes = vec![node(
            "ip-10-0-0-3.us-west-2.compute.internal",
            None,
            &["10.0.0.1"],
            None,
        )];
        match_nodes(&mut nodes, &instances);
        assert_eq!(nodes[0].instance_id, None);
    }

    #[test]
    fn the_last_look_asks_every_rule() {
        let i = instance("i-7", "ip-10-0-0-7.us-west-2.compute.internal", "10.0.0.7");
        assert!(claims(&node("x", Some("i-7"), &[], None), &i));
        assert!(claims(&node("x", None, &[], Some("i-7")), &i));
        assert!(claims(&node("x", None, &["10.0.0.7"], None), &i));
        assert!(claims(
            &node("ip-10-0-0-7.us-west-2.compute.internal", None, &[], None),
            &i
        ));
        assert!(!claims(&node("x", Some("i-8"), &["10.0.0.8"], None), &i));
    }
}
