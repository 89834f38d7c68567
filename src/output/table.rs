//! A plan, a drain and applied actions as people read them: one section a part of the plan,
//! each a borderless table ([`Columns`]) whose free text (reasons, pod lists) sits under its
//! row. The default shows what an operator scans; `-o wide` adds the details.

use std::collections::BTreeMap;
use std::io::{self, Write};

use super::columns::{Columns, Layout, col, droppable, title, wide, write_wrapped};
use crate::actuate::drain::{DrainReport, DrainResult};
use crate::plan::{Destination, GangVerdict, GroupStatus, Plan, RequestVerdict};
use crate::pricing::dollars_per_hour;

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
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// `ekas plan`: every part of the plan that has something in it, then the summary.
pub fn write_plan(plan: &Plan, layout: Layout, out: &mut dyn Write) -> io::Result<()> {
    let heading = format!(
        "Cluster {} at {}; regions in order: {}",
        plan.cluster_name,
        plan.captured_at,
        plan.regions.join(", ")
    );
    write_wrapped(out, &heading, 0, 2, layout.width)?;
    groups(plan, layout, out)?;
    scale_ups(plan, layout, out)?;
    group_marks(plan, layout, out)?;
    desired_resets(plan, layout, out)?;
    served(plan, layout, out)?;
    gangs(plan, layout, out)?;
    provisioning_requests(plan, layout, out)?;
    unschedulable(plan, layout, out)?;
    nodes(plan, layout, out)?;
    instances(plan, layout, out)?;
    gated_and_warnings(plan, layout, out)?;
    summary(plan, layout, out)
}

/// A section: its title and table, when it has rows.
fn section(
    title_text: &str,
    table: &Columns,
    layout: Layout,
    out: &mut dyn Write,
) -> io::Result<()> {
    if table.is_empty() {
        return Ok(());
    }
    title(out, title_text)?;
    table.write(layout, out)
}

/// A group's status in one word, and what the word stands for.
fn group_status(plan: &Plan, g: &GroupStatus) -> (&'static str, Option<String>) {
    if let Some(reason) = &g.left_out {
        return ("left-out", Some(format!("left out of this plan: {reason}")));
    }
    let backoff = plan
        .backoff
        .iter()
        .find(|b| b.group == g.group && b.region == g.region);
    match backoff {
        Some(b) => (
            "backoff",
            Some(format!("in backoff until {} ({})", b.until, b.reason)),
        ),
        None if g.desired >= g.max_size => ("at-max", None),
        None => ("ok", None),
    }
}

fn groups(plan: &Plan, layout: Layout, out: &mut dyn Write) -> io::Result<()> {
    let mut t = Columns::new(&[
        col("GROUP"),
        col("REGION"),
        col("TYPE"),
        col("MIN/DES/MAX"),
        droppable("NODES", 2),
        droppable("UPCOMING", 1),
        col("STATUS"),
        wide("STARTING"),
        wide("PRIORITY"),
        wide("CAPACITY"),
        wide("$/H"),
        wide("NEW-NODE-ROOM"),
    ]);
    for g in &plan.groups {
        let (status, why) = group_status(plan, g);
        let mut notes: Vec<String> = why.into_iter().collect();
        notes.extend(g.instance_type_note.as_ref().map(|n| format!("type: {n}")));
        let known = g.left_out.is_none();
        let known_or = |text: String| if known { text } else { "?".into() };
        t.row(
            vec![
                g.group.clone(),
                g.region.clone(),
                known_or(g.instance_type.clone()),
                format!("{}/{}/{}", g.min_size, g.desired, g.max_size),
                known_or(g.nodes.to_string()),
                known_or(g.upcoming.to_string()),
                status.to_string(),
                known_or(g.starting.to_string()),
                g.priority.to_string(),
                known_or(capacity(g)),
                g.hourly_price.map_or_else(|| "?".into(), |p| p.to_string()),
                room(&g.new_node_room),
            ],
            notes,
        );
    }
    section("NODE GROUPS", &t, layout, out)
}

fn scale_ups(plan: &Plan, layout: Layout, out: &mut dyn Write) -> io::Result<()> {
    if plan.scale_ups.is_empty() {
        return writeln!(out, "\nScale-ups: none");
    }
    let mut t = Columns::new(&[
        col("GROUP"),
        col("REGION"),
        droppable("TYPE", 2),
        col("DESIRED"),
        col("+NODES"),
        droppable("$/H", 1),
        col("PODS"),
        wide("SPARE"),
        wide("$/H-PER-VCPU"),
    ]);
    for s in &plan.scale_ups {
        let mut notes = vec![format!("for {}: {}", s.for_whom(), pod_list(&s.pods))];
        if s.cost_per_hour.is_none() {
            notes.push("unknown price: add the type to --price-file".into());
        }
        t.row(
            vec![
                s.group.clone(),
                s.region.clone(),
                s.instance_type.clone(),
                format!("{}→{}", s.current_desired, s.new_desired),
                format!("+{}", s.new_desired.saturating_sub(s.current_desired)),
                s.cost_per_hour.map_or_else(|| "?".into(), money),
                s.pods.len().to_string(),
                s.over_provision.to_string(),
                s.cost_per_requested_vcpu.map_or_else(|| "?".into(), money),
            ],
            notes,
        );
    }
    section("SCALE-UPS", &t, layout, out)
}

/// Dollars with the precision `dollars_per_hour` gives, without its `$` and `/h`.
fn money(dollars: f64) -> String {
    let text = dollars_per_hour(dollars);
    text.trim_start_matches('$')
        .trim_end_matches("/h")
        .to_string()
}

fn group_marks(plan: &Plan, layout: Layout, out: &mut dyn Write) -> io::Result<()> {
    let mut t = Columns::new(&[col("GROUP"), col("REGION"), col("TAG"), col("CHANGE")]);
    for m in &plan.group_marks {
        let change = match &m.value {
            Some(v) => format!("set={v}"),
            None => "remove".into(),
        };
        t.row(
            vec![m.group.clone(), m.region.clone(), m.tag.clone(), change],
            vec![m.reason.clone()],
        );
    }
    section(
        "CAPACITY NOT LAUNCHED (ekas's memory on the group)",
        &t,
        layout,
        out,
    )
}

fn desired_resets(plan: &Plan, layout: Layout, out: &mut dyn Write) -> io::Result<()> {
    let mut t = Columns::new(&[col("GROUP"), col("REGION"), col("DESIRED")]);
    for r in &plan.desired_resets {
        t.row(
            vec![
                r.group.clone(),
                r.region.clone(),
                format!("{}→{}", r.current_desired, r.new_desired),
            ],
            vec![r.reason.clone()],
        );
    }
    section(
        "DESIRED CAPACITY SET BACK TO WHAT LAUNCHED",
        &t,
        layout,
        out,
    )
}

/// Pods already served by existing or upcoming capacity, per target.
fn served(plan: &Plan, layout: Layout, out: &mut dyn Write) -> io::Result<()> {
    let mut by_target: BTreeMap<(&str, &str), Vec<String>> = BTreeMap::new();
    for p in &plan.pending {
        let kind = match p.destination {
            Destination::ExistingNode => "existing-node",
            Destination::UpcomingNode => "requested-capacity",
            Destination::Nominated => "nominated-node",
            Destination::Expendable => "expendable",
            Destination::Waiting => "waiting",
            Destination::NewNode | Destination::Unschedulable => continue,
        };
        by_target
            .entry((kind, p.target.as_deref().unwrap_or("")))
            .or_default()
            .push(p.pod.clone());
    }
    let mut t = Columns::new(&[col("SERVED-BY"), col("NODE-OR-GROUP"), col("PODS")]);
    for ((kind, target), pods) in &by_target {
        let mut notes = vec![pod_list(pods)];
        notes.extend(served_note(kind).map(str::to_string));
        t.row(
            vec![kind.to_string(), target.to_string(), pods.len().to_string()],
            notes,
        );
    }
    section("PENDING PODS THAT NEED NO NEW NODE", &t, layout, out)
}

/// What a kind of destination means, where its name does not say it all.
fn served_note(kind: &str) -> Option<&'static str> {
    match kind {
        "nominated-node" => Some("preemption is making room for them there"),
        "expendable" => Some("priority below --expendable-pods-priority-cutoff: buy no node"),
        "waiting" => Some("too young, or not marked unschedulable yet: buy no node yet"),
        _ => None,
    }
}

fn gangs(plan: &Plan, layout: Layout, out: &mut dyn Write) -> io::Result<()> {
    let mut t = Columns::new(&[col("GANG"), col("PODS"), col("MIN"), col("VERDICT")]);
    for g in &plan.gangs {
        let verdict = match g.verdict {
            GangVerdict::Fits => "fits",
            GangVerdict::DoesNotFit => "does-not-fit",
        };
        t.row(
            vec![
                g.gang.clone(),
                g.pods.to_string(),
                g.min_member.to_string(),
                verdict.to_string(),
            ],
            vec![g.reason.clone()],
        );
    }
    section(
        "GANGS (all of a gang's pods start, or none buy a node)",
        &t,
        layout,
        out,
    )
}

fn provisioning_requests(plan: &Plan, layout: Layout, out: &mut dyn Write) -> io::Result<()> {
    let mut t = Columns::new(&[
        col("PROVISIONINGREQUEST"),
        col("CLASS"),
        col("PODS"),
        col("VERDICT"),
    ]);
    for r in &plan.provisioning_requests {
        let mut notes = vec![r.reason.clone()];
        if !r.set.is_empty() {
            notes.push(format!("sets {}", r.sets()));
        }
        t.row(
            vec![
                r.request.clone(),
                // The class's first word is enough to tell the two apart.
                r.class.split('.').next().unwrap_or_default().to_string(),
                r.pods.to_string(),
                r.verdict.as_str().to_string(),
            ],
            notes,
        );
    }
    section("PROVISIONINGREQUESTS", &t, layout, out)
}

/// Pods no group can take: pods with the same reasons together, and groups with the same
/// reason on one line.
fn unschedulable(plan: &Plan, layout: Layout, out: &mut dyn Write) -> io::Result<()> {
    if plan.unschedulable.is_empty() {
        return Ok(());
    }
    let mut by_reasons: Vec<(&BTreeMap<String, String>, Vec<String>, bool)> = Vec::new();
    for u in &plan.unschedulable {
        match by_reasons.iter_mut().find(|(r, _, _)| *r == &u.reasons) {
            Some((_, pods, _)) => pods.push(u.pod.clone()),
            None => by_reasons.push((&u.reasons, vec![u.pod.clone()], u.gang.is_some())),
        }
    }
    title(out, "UNSCHEDULABLE PODS")?;
    for (reasons, pods, gang) in by_reasons {
        let mut notes = Vec::new();
        if gang && let Some(reason) = reasons.values().next() {
            // A gang's reason is every group's.
            notes.push(format!("every group: {reason}"));
        } else {
            let mut groups_by_reason: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
            for (group, reason) in reasons {
                groups_by_reason.entry(reason).or_default().push(group);
            }
            for (reason, groups) in groups_by_reason {
                notes.push(format!("{}: {reason}", groups.join(", ")));
            }
        }
        if reasons.is_empty() {
            notes.push("no node groups found for this cluster".into());
        }
        write_wrapped(out, &pod_list(&pods), 0, 2, layout.width)?;
        for note in notes {
            write_wrapped(out, &note, 4, 6, layout.width)?;
        }
    }
    Ok(())
}

fn nodes(plan: &Plan, layout: Layout, out: &mut dyn Write) -> io::Result<()> {
    let mut t = Columns::new(&[
        col("NODE"),
        droppable("GROUP", 1),
        col("STATE"),
        col("ACTION"),
        wide("INSTANCE"),
    ]);
    for n in &plan.nodes {
        let mut action = n.action.as_str().to_string();
        if n.decrement {
            action.push_str(",-1-desired");
        }
        // A node left alone needs no note in the default view; -o wide gives every reason.
        let notes = match n.action.as_str() == "none" && !layout.wide {
            true => vec![],
            false => vec![n.reason.clone()],
        };
        t.row(
            vec![
                n.name.clone(),
                n.group.clone().unwrap_or_default(),
                n.state.as_str().to_string(),
                action,
                n.instance_id.clone().unwrap_or_default(),
            ],
            notes,
        );
    }
    section("NODES", &t, layout, out)
}

fn instances(plan: &Plan, layout: Layout, out: &mut dyn Write) -> io::Result<()> {
    let mut t = Columns::new(&[col("INSTANCE"), col("GROUP"), col("REGION"), col("ACTION")]);
    for i in &plan.instances {
        t.row(
            vec![
                i.instance_id.clone(),
                i.group.clone().unwrap_or_default(),
                i.region.clone(),
                i.action.as_str().to_string(),
            ],
            vec![i.reason.clone()],
        );
    }
    section("INSTANCES WITHOUT A NODE", &t, layout, out)
}

fn gated_and_warnings(plan: &Plan, layout: Layout, out: &mut dyn Write) -> io::Result<()> {
    if !plan.gated.is_empty() {
        let text = format!(
            "Gated pods (spec.schedulingGates; no node is bought for them): {}: {}",
            plan.gated.len(),
            pod_list(&plan.gated)
        );
        writeln!(out)?;
        write_wrapped(out, &text, 0, 2, layout.width)?;
    }
    if !plan.warnings.is_empty() {
        title(out, "WARNINGS")?;
        for w in &plan.warnings {
            write_wrapped(out, &format!("- {}", w.message), 0, 2, layout.width)?;
        }
    }
    Ok(())
}

fn summary(plan: &Plan, layout: Layout, out: &mut dyn Write) -> io::Result<()> {
    let s = &plan.summary;
    let buying_requests = plan
        .provisioning_requests
        .iter()
        .filter(|r| r.verdict == RequestVerdict::ScaleUp)
        .count();
    let buyers = match buying_requests {
        0 => s.on_new_nodes.to_string(),
        n => format!("{} and {n} ProvisioningRequest(s)", s.on_new_nodes),
    };
    let mut text = format!(
        "{} pending pods: {} fit existing nodes, {} fit capacity already requested, {buyers} \
         need {} new nodes, {} cannot be scheduled",
        s.pending_pods, s.on_existing_nodes, s.on_upcoming_nodes, s.new_nodes, s.unschedulable
    );
    if s.not_scaled_for > 0 {
        text.push_str(&format!(", {} buy no node", s.not_scaled_for));
    }
    text.push('.');
    writeln!(out)?;
    write_wrapped(out, &text, 0, 0, layout.width)?;
    if s.new_nodes > 0 {
        let mut sources: Vec<_> = plan.groups.iter().filter_map(|g| g.price_source).collect();
        sources.sort_unstable();
        sources.dedup();
        let sources = match sources.is_empty() {
            true => "none known".to_string(),
            false => sources
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        };
        let text = match s.cost_per_hour {
            Some(c) => format!(
                "The new nodes cost {} (prices: {sources}).",
                dollars_per_hour(c)
            ),
            None => format!(
                "Some groups that grow have no known price: add them to --price-file (prices: \
                 {sources})."
            ),
        };
        write_wrapped(out, &text, 0, 0, layout.width)?;
    }
    let h = &plan.cluster_health;
    // An unhealthy cluster is among the warnings already.
    if h.healthy && h.unready > 0 {
        write_wrapped(
            out,
            &format!("Cluster health: {}.", h.reason),
            0,
            0,
            layout.width,
        )?;
    }
    Ok(())
}

/// `ekas drain`: one row per node, then the pods that kept any node from draining.
pub fn write_drains(
    reports: &[DrainReport],
    layout: Layout,
    out: &mut dyn Write,
) -> io::Result<()> {
    let dry_run = reports.iter().any(|r| r.result == DrainResult::WouldDrain);
    let evicted = if dry_run { "WOULD-EVICT" } else { "EVICTED" };
    let mut nodes = Columns::new(&[col("NODE"), col("RESULT"), col(evicted), col("LEFT")]);
    for r in reports {
        let result = match r.result {
            DrainResult::Drained => "drained",
            DrainResult::WouldDrain => "would-drain",
            DrainResult::Blocked => "blocked",
            DrainResult::TimedOut => "timed-out",
            DrainResult::Failed => "failed",
        };
        let mut notes = vec![r.summary()];
        if !r.evicted.is_empty() {
            notes.push(format!(
                "{}: {}",
                evicted.to_lowercase(),
                pod_list(&r.evicted)
            ));
        }
        if !r.left.is_empty() {
            notes.push(format!("left in place: {}", pod_list(&r.left)));
        }
        nodes.row(
            vec![
                r.node.clone(),
                result.to_string(),
                r.evicted.len().to_string(),
                r.left.len().to_string(),
            ],
            notes,
        );
    }
    nodes.write(layout, out)?;
    let mut pods = Columns::new(&[col("NODE"), col("POD")]);
    for r in reports {
        for p in &r.remaining {
            pods.row(vec![r.node.clone(), p.pod.clone()], vec![p.why.clone()]);
        }
    }
    section("STILL THERE", &pods, layout, out)
}

/// What `reap` and `scale-up` did: one row per action.
pub fn write_applied(
    applied: &[crate::actuate::Applied],
    layout: Layout,
    out: &mut dyn Write,
) -> io::Result<()> {
    if applied.is_empty() {
        return writeln!(out, "Nothing to do.");
    }
    let mut t = Columns::new(&[col("TARGET"), col("REGION"), col("RESULT")]);
    for a in applied {
        t.row(
            vec![
                a.target.clone(),
                a.region.clone(),
                a.outcome.result().to_string(),
            ],
            vec![a.action.clone(), a.outcome.to_string()],
        );
    }
    t.write(layout, out)
}

/// A group's capacity type, with its interruptions lately, in one word.
fn capacity(g: &GroupStatus) -> String {
    let kind = match (g.on_demand_base, g.on_demand_percentage) {
        (Some(base), Some(pct)) => format!("mixed({base}+{pct}%-on-demand)"),
        _ => g.capacity_type.to_string(),
    };
    match g.interruptions {
        0 => kind,
        n => format!("{kind},{n}-interrupted-1h"),
    }
}
