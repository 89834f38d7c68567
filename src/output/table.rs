use std::collections::BTreeMap;
use std::io::Write;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};

use crate::actuate::drain::{DrainReport, DrainResult};
use crate::plan::{Destination, GangVerdict, Plan};
use crate::pricing::dollars_per_hour;

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.to_vec());
    t
}

/// A few pod names and how many more, so a 10k-pod queue stays one line.
fn pod_list(pods: &[String]) -> String {
    const SHOWN: usize = 3;
    let mut text = pods
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if pods.len() > SHOWN {
        text.push_str(&format!(" (+{} more)", pods.len() - SHOWN));
    }
    text
}

fn room(map: &BTreeMap<String, String>) -> String {
    map.iter()
        .filter(|(k, v)| k.as_str() != "pods" && v.as_str() != "unlimited")
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn write_plan(plan: &Plan, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "Cluster {} at {} — regions in order: {}",
        plan.cluster_name,
        plan.captured_at,
        plan.regions.join(", ")
    )?;

    let mut groups = table(&[
        "Group",
        "Region",
        "Type",
        "Min/Desired/Max",
        "Nodes",
        "Upcoming",
        "Priority",
        "Capacity",
        "$/h",
        "New node room",
        "Status",
    ]);
    for g in &plan.groups {
        if let Some(reason) = &g.left_out {
            groups.add_row(vec![
                g.group.clone(),
                g.region.clone(),
                "?".to_string(),
                format!("{}/{}/{}", g.min_size, g.desired, g.max_size),
                "-".to_string(),
                "-".to_string(),
                "-".to_string(),
                "?".to_string(),
                "?".to_string(),
                "-".to_string(),
                format!("left out: {reason}"),
            ]);
            continue;
        }
        let status = match plan
            .backoff
            .iter()
            .find(|b| b.group == g.group && b.region == g.region)
        {
            Some(b) => format!("backoff until {} ({})", b.until, b.reason),
            None if g.desired >= g.max_size => "at MaxSize".to_string(),
            None => "ok".to_string(),
        };
        let ty = match &g.instance_type_note {
            Some(note) => format!("{} ({note})", g.instance_type),
            None => g.instance_type.clone(),
        };
        groups.add_row(vec![
            g.group.clone(),
            g.region.clone(),
            ty,
            format!("{}/{}/{}", g.min_size, g.desired, g.max_size),
            g.nodes.to_string(),
            if g.starting > 0 {
                format!("{} ({} starting)", g.upcoming, g.starting)
            } else {
                g.upcoming.to_string()
            },
            g.priority.to_string(),
            capacity(g),
            g.hourly_price
                .map_or_else(|| "?".to_string(), |p| format!("{p}")),
            room(&g.new_node_room),
            status,
        ]);
    }
    writeln!(out, "\nNode groups\n{groups}")?;

    if plan.scale_ups.is_empty() {
        writeln!(out, "\nScale-ups: none")?;
    } else {
        let mut t = table(&[
            "Group", "Region", "Type", "Desired", "+Nodes", "Cost", "Pods",
        ]);
        for s in &plan.scale_ups {
            let mut added = format!("+{}", s.new_desired.saturating_sub(s.current_desired));
            if s.over_provision > 0 {
                added.push_str(&format!(" ({} spare)", s.over_provision));
            }
            t.add_row(vec![
                s.group.clone(),
                s.region.clone(),
                s.instance_type.clone(),
                format!("{} → {}", s.current_desired, s.new_desired),
                added,
                match (s.cost_per_hour, s.cost_per_requested_vcpu) {
                    (Some(c), Some(v)) => format!(
                        "{} ({} per requested vCPU)",
                        dollars_per_hour(c),
                        dollars_per_hour(v)
                    ),
                    (Some(c), None) => dollars_per_hour(c),
                    _ => "unknown price".to_string(),
                },
                format!("{}: {}", s.pods.len(), pod_list(&s.pods)),
            ]);
        }
        writeln!(out, "\nScale-ups\n{t}")?;
    }

    if !plan.group_marks.is_empty() {
        let mut t = table(&["Group", "Region", "Tag", "Why"]);
        for m in &plan.group_marks {
            t.add_row(vec![
                m.group.clone(),
                m.region.clone(),
                match &m.value {
                    Some(v) => format!("set {}={v}", m.tag),
                    None => format!("remove {}", m.tag),
                },
                m.reason.clone(),
            ]);
        }
        writeln!(
            out,
            "\nCapacity not launched (ekas's memory on the group)\n{t}"
        )?;
    }

    if !plan.desired_resets.is_empty() {
        let mut t = table(&["Group", "Region", "Desired", "Why"]);
        for r in &plan.desired_resets {
            t.add_row(vec![
                r.group.clone(),
                r.region.clone(),
                format!("{} → {}", r.current_desired, r.new_desired),
                r.reason.clone(),
            ]);
        }
        writeln!(out, "\nDesired capacity set back to what launched\n{t}")?;
    }

    // Pods already served by existing or upcoming capacity, per target.
    let mut served: BTreeMap<(&str, &str), Vec<String>> = BTreeMap::new();
    for p in &plan.pending {
        let kind = match p.destination {
            Destination::ExistingNode => "existing node",
            Destination::UpcomingNode => "capacity already requested",
            Destination::Nominated => "nominated node, once preemption makes room",
            Destination::Expendable => "nothing: priority below the expendable cutoff",
            Destination::Waiting => "nothing yet: too young, or not marked unschedulable",
            Destination::NewNode | Destination::Unschedulable => continue,
        };
        served
            .entry((kind, p.target.as_deref().unwrap_or("")))
            .or_default()
            .push(p.pod.clone());
    }
    if !served.is_empty() {
        let mut t = table(&["Served by", "Node or group", "Pods"]);
        for ((kind, target), pods) in &served {
            t.add_row(vec![
                kind.to_string(),
                target.to_string(),
                format!("{}: {}", pods.len(), pod_list(pods)),
            ]);
        }
        writeln!(out, "\nPending pods that need no new node\n{t}")?;
    }

    if !plan.gangs.is_empty() {
        let mut t = table(&["Gang", "Pods", "MinMember", "Verdict", "Why"]);
        for g in &plan.gangs {
            t.add_row(vec![
                g.gang.clone(),
                g.pods.to_string(),
                g.min_member.to_string(),
                match g.verdict {
                    GangVerdict::Fits => "fits",
                    GangVerdict::DoesNotFit => "does not fit",
                }
                .to_string(),
                g.reason.clone(),
            ]);
        }
        writeln!(
            out,
            "\nGangs (all of a gang's pods start, or none buy a node)\n{t}"
        )?;
    }

    if !plan.provisioning_requests.is_empty() {
        let mut t = table(&[
            "ProvisioningRequest",
            "Class",
            "Pods",
            "Verdict",
            "Sets",
            "Why",
        ]);
        for r in &plan.provisioning_requests {
            t.add_row(vec![
                r.request.clone(),
                // The class's first word is enough to tell the two apart.
                r.class.split('.').next().unwrap_or_default().to_string(),
                r.pods.to_string(),
                r.verdict.as_str().to_string(),
                r.sets(),
                r.reason.clone(),
            ]);
        }
        writeln!(out, "\nProvisioningRequests\n{t}")?;
    }

    if !plan.unschedulable.is_empty() {
        // Pods with identical reasons share rows.
        let mut by_reasons: Vec<(&BTreeMap<String, String>, Vec<String>)> = Vec::new();
        let gang_reason: BTreeMap<&str, &str> = plan
            .unschedulable
            .iter()
            .filter(|u| u.gang.is_some())
            .filter_map(|u| Some((u.pod.as_str(), u.reasons.values().next()?.as_str())))
            .collect();
        for u in &plan.unschedulable {
            match by_reasons.iter_mut().find(|(r, _)| *r == &u.reasons) {
                Some((_, pods)) => pods.push(u.pod.clone()),
                None => by_reasons.push((&u.reasons, vec![u.pod.clone()])),
            }
        }
        let mut t = table(&["Pods", "Group", "Why not"]);
        for (reasons, pods) in by_reasons {
            // A gang's reason is every group's: one row.
            if let Some(reason) = gang_reason.get(pods[0].as_str()) {
                t.add_row(vec![
                    format!("{}: {}", pods.len(), pod_list(&pods)),
                    "every group".into(),
                    reason.to_string(),
                ]);
                continue;
            }
            let mut first = true;
            for (group, reason) in reasons {
                let pods = if first {
                    format!("{}: {}", pods.len(), pod_list(&pods))
                } else {
                    String::new()
                };
                first = false;
                t.add_row(vec![pods, group.clone(), reason.clone()]);
            }
            if reasons.is_empty() {
                t.add_row(vec![
                    pod_list(&pods),
                    "-".into(),
                    "no node groups found for this cluster".into(),
                ]);
            }
        }
        writeln!(out, "\nUnschedulable pods\n{t}")?;
    }

    if !plan.nodes.is_empty() {
        let mut t = table(&["Node", "Group", "Instance", "State", "Action", "Why"]);
        for n in &plan.nodes {
            let mut action = n.action.as_str().to_string();
            if n.decrement {
                action.push_str(" (-1 desired)");
            }
            t.add_row(vec![
                n.name.clone(),
                n.group.clone().unwrap_or_else(|| "-".into()),
                n.instance_id.clone().unwrap_or_else(|| "-".into()),
                n.state.as_str().to_string(),
                action,
                n.reason.clone(),
            ]);
        }
        writeln!(out, "\nNodes\n{t}")?;
    }

    if !plan.instances.is_empty() {
        let mut t = table(&["Instance", "Group", "Region", "Action", "Why"]);
        for i in &plan.instances {
            t.add_row(vec![
                i.instance_id.clone(),
                i.group.clone().unwrap_or_else(|| "-".into()),
                i.region.clone(),
                i.action.as_str().to_string(),
                i.reason.clone(),
            ]);
        }
        writeln!(out, "\nInstances without a node\n{t}")?;
    }

    if !plan.gated.is_empty() {
        writeln!(
            out,
            "\nGated pods (spec.schedulingGates; no node is bought for them): {}: {}",
            plan.gated.len(),
            pod_list(&plan.gated)
        )?;
    }
    if !plan.warnings.is_empty() {
        writeln!(out, "\nWarnings")?;
        for w in &plan.warnings {
            writeln!(out, "- {}", w.message)?;
        }
    }

    let s = &plan.summary;
    let buying_requests = plan
        .provisioning_requests
        .iter()
        .filter(|r| r.verdict == crate::plan::RequestVerdict::ScaleUp)
        .count();
    let buyers = match buying_requests {
        0 => s.on_new_nodes.to_string(),
        n => format!("{} and {n} ProvisioningRequest(s)", s.on_new_nodes),
    };
    write!(
        out,
        "\n{} pending pods: {} fit existing nodes, {} fit capacity already requested, {buyers} need {} new nodes, {} cannot be scheduled",
        s.pending_pods, s.on_existing_nodes, s.on_upcoming_nodes, s.new_nodes, s.unschedulable
    )?;
    if s.not_scaled_for > 0 {
        write!(out, ", {} buy no node", s.not_scaled_for)?;
    }
    writeln!(out, ".")?;
    if s.new_nodes > 0 {
        let mut sources: Vec<_> = plan.groups.iter().filter_map(|g| g.price_source).collect();
        sources.sort_unstable();
        sources.dedup();
        let sources = if sources.is_empty() {
            "none known".to_string()
        } else {
            let names: Vec<String> = sources.iter().map(|s| s.to_string()).collect();
            names.join(", ")
        };
        match s.cost_per_hour {
            Some(c) => writeln!(
                out,
                "The new nodes cost {} (prices: {sources}).",
                dollars_per_hour(c)
            )?,
            None => writeln!(
                out,
                "Some groups that grow have no known price: add them to --price-file \
                 (prices: {sources})."
            )?,
        }
    }
    let h = &plan.cluster_health;
    // An unhealthy cluster is among the warnings already.
    if h.healthy && h.unready > 0 {
        writeln!(out, "Cluster health: {}.", h.reason)?;
    }
    Ok(())
}

/// `ekas drain`: one row per node, then the pods that kept any node from draining.
pub fn write_drains(reports: &[DrainReport], out: &mut dyn Write) -> std::io::Result<()> {
    let dry_run = reports.iter().any(|r| r.result == DrainResult::WouldDrain);
    let evicted = if dry_run { "would evict" } else { "evicted" };
    let mut nodes = table(&["node", "result", evicted, "left in place"]);
    for r in reports {
        nodes.add_row(vec![
            r.node.clone(),
            r.summary(),
            pod_list(&r.evicted),
            pod_list(&r.left),
        ]);
    }
    writeln!(out, "{nodes}")?;
    let stuck: Vec<_> = reports
        .iter()
        .flat_map(|r| r.remaining.iter().map(move |p| (&r.node, p)))
        .collect();
    if !stuck.is_empty() {
        let mut pods = table(&["node", "pod", "why it is still there"]);
        for (node, p) in stuck {
            pods.add_row(vec![node.clone(), p.pod.clone(), p.why.clone()]);
        }
        writeln!(out, "\n{pods}")?;
    }
    Ok(())
}

/// What `reap` and `scale-up` did: one row per action.
pub fn write_applied(
    applied: &[crate::actuate::Applied],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    if applied.is_empty() {
        return writeln!(out, "Nothing to do.");
    }
    let mut t = table(&["Target", "Region", "Action", "Result"]);
    for a in applied {
        t.add_row(vec![
            a.target.clone(),
            a.region.clone(),
            a.action.clone(),
            a.outcome.to_string(),
        ]);
    }
    writeln!(out, "{t}")
}

/// A group's capacity type as the table shows it, with its interruptions lately.
fn capacity(g: &crate::plan::GroupStatus) -> String {
    let kind = match (g.on_demand_base, g.on_demand_percentage) {
        (Some(base), Some(pct)) => format!("mixed ({base} + {pct}% on-demand)"),
        _ => g.capacity_type.to_string(),
    };
    match g.interruptions {
        0 => kind,
        n => format!("{kind}, {n} interrupted (1h)"),
    }
}
