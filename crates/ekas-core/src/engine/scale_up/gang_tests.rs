//! Gangs, one row per case: all of a gang's pods get a destination, or none do.

use std::collections::BTreeMap;

use crate::engine::Config;
use crate::engine::tests::{Cluster, scale_ups};
use crate::model::Gang;
use crate::plan::{Destination, GangVerdict as V, Plan};

/// `pods` pending pods `batch/<name>-NNN` of gang `batch/<name>`, each wanting `cpu`.
fn gang(c: &mut Cluster, name: &str, pods: usize, cpu: i64, min_member: Option<u32>) {
    for i in 0..pods {
        c.pod(&format!("{name}-{i:03}"), cpu, 1).gang = Some(Gang {
            namespace: "batch".into(),
            name: name.into(),
            min_member,
            from_request: false,
        });
    }
}

/// Unschedulable pods counted by name without their number: `train` for `batch/train-007`.
fn unschedulable(plan: &Plan) -> Vec<(String, usize)> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for u in &plan.unschedulable {
        let name = u.pod.trim_start_matches("batch/");
        let stem = name.rsplit_once('-').map_or(name, |(stem, _)| stem);
        *counts.entry(stem.to_string()).or_default() += 1;
    }
    counts.into_iter().collect()
}

struct Expect {
    /// (group, desired before → after, pods) of every scale-up.
    scale_ups: &'static [(&'static str, u32, u32, usize)],
    /// (gang, verdict, reason) of every gang.
    gangs: &'static [(&'static str, V, &'static str)],
    /// Unschedulable pods by name stem.
    unschedulable: &'static [(&'static str, usize)],
}

type Setup = fn(&mut Cluster);

/// A gang starts whole or buys nothing: the cluster `setup` makes, planned with gangs or
/// (`gangs` false) with --no-gangs.
fn starts_whole_or_buys_nothing((gangs, setup, expect): (bool, Setup, Expect)) {
    let mut c = Cluster::new(&["r1"]);
    setup(&mut c);
    let mut config = Config::default();
    config.scale_up.gangs = gangs;
    let plan = c.plan_with(config);
    let want: Vec<(String, u32, u32, usize)> = expect
        .scale_ups
        .iter()
        .map(|&(g, a, b, n)| (g.to_string(), a, b, n))
        .collect();
    assert_eq!(scale_ups(&plan), want, "scale-ups");
    let got: Vec<(&str, V, &str)> = plan
        .gangs
        .iter()
        .map(|g| (g.gang.as_str(), g.verdict, g.reason.as_str()))
        .collect();
    assert_eq!(got, expect.gangs, "gangs");
    let want: Vec<(String, usize)> = expect
        .unschedulable
        .iter()
        .map(|&(s, n)| (s.to_string(), n))
        .collect();
    assert_eq!(unschedulable(&plan), want, "unschedulable");
    // A gang that does not fit has no pod planned anywhere, and each says why.
    for g in plan.gangs.iter().filter(|g| g.verdict == V::DoesNotFit) {
        let prefix = format!("{}-", g.gang);
        assert!(
            plan.pending
                .iter()
                .all(|p| !p.pod.starts_with(&prefix)
                    || p.destination == Destination::Unschedulable),
            "{} has a pod planned",
            g.gang
        );
        for u in plan
            .unschedulable
            .iter()
            .filter(|u| u.pod.starts_with(&prefix))
        {
            assert!(
                u.reasons.values().all(|r| *r == g.reason),
                "{} says {:?}",
                u.pod,
                u.reasons
            );
            assert_eq!(u.gang.as_deref(), Some(g.gang.as_str()), "{}", u.pod);
        }
    }
    // Pods no gang holds back name none.
    let held: Vec<&str> = plan
        .gangs
        .iter()
        .filter(|g| g.verdict == V::DoesNotFit)
        .map(|g| g.gang.as_str())
        .collect();
    for u in &plan.unschedulable {
        if let Some(gang) = &u.gang {
            assert!(held.contains(&gang.as_str()), "{} names {gang}", u.pod);
        }
    }
}

cases! { starts_whole_or_buys_nothing;
    a_gang_that_fits_whole: (
        true,
        |c| {
            c.group("gpu", "r1", 0, 10, 4000, 16);
            gang(c, "train", 8, 4000, None);
        },
        Expect {
            scale_ups: &[("gpu", 0, 8, 8)],
            gangs: &[("batch/train", V::Fits, "gang batch/train: 8 pods, 8 fit")],
            unschedulable: &[],
        },
    ),
    // A gang that fits only partly buys nothing, and leaves existing room alone.
    a_gang_that_fits_only_partly_buys_nothing: (
        true,
        |c| {
            c.group("gpu", "r1", 1, 5, 4000, 16);
            c.node("n1", Some("gpu"), 4000, 16);
            gang(c, "train", 8, 4000, None);
        },
        Expect {
            scale_ups: &[],
            gangs: &[(
                "batch/train",
                V::DoesNotFit,
                "gang batch/train: 8 pods, 5 fit: gpu at MaxSize (5)",
            )],
            unschedulable: &[("train", 8)],
        },
    ),
    // --no-gangs plans the same pods one by one.
    no_gangs_plans_the_same_pods_one_by_one: (
        false,
        |c| {
            c.group("gpu", "r1", 1, 5, 4000, 16);
            c.node("n1", Some("gpu"), 4000, 16);
            gang(c, "train", 8, 4000, None);
        },
        Expect {
            scale_ups: &[("gpu", 1, 5, 4)],
            gangs: &[],
            unschedulable: &[("train", 3)],
        },
    ),
    a_gang_spread_over_two_groups: (
        true,
        |c| {
            c.group("gpu-a", "r1", 0, 4, 4000, 16);
            c.group("gpu-b", "r1", 0, 2, 4000, 16);
            gang(c, "train", 6, 4000, None);
        },
        Expect {
            scale_ups: &[("gpu-a", 0, 4, 4), ("gpu-b", 0, 2, 2)],
            gangs: &[("batch/train", V::Fits, "gang batch/train: 6 pods, 6 fit")],
            unschedulable: &[],
        },
    ),
    // A gang and loose pods of its size compete for the headroom: the gang wins.
    a_gang_wins_the_headroom_from_loose_pods_of_its_size: (
        true,
        |c| {
            c.group("gpu", "r1", 0, 4, 4000, 16);
            // Named to come first: only the gang rule puts the gang ahead of them.
            c.pods("a-loose", 3, 4000, 1);
            gang(c, "train", 4, 4000, None);
        },
        Expect {
            scale_ups: &[("gpu", 0, 4, 4)],
            gangs: &[("batch/train", V::Fits, "gang batch/train: 4 pods, 4 fit")],
            unschedulable: &[("a-loose", 3)],
        },
    ),
    without_the_gang_rule_the_loose_pods_take_the_headroom_first: (
        false,
        |c| {
            c.group("gpu", "r1", 0, 4, 4000, 16);
            c.pods("a-loose", 3, 4000, 1);
            gang(c, "train", 4, 4000, None);
        },
        Expect {
            scale_ups: &[("gpu", 0, 4, 4)],
            gangs: &[],
            unschedulable: &[("train", 3)],
        },
    ),
    a_gang_that_does_not_fit_leaves_its_room_to_loose_pods: (
        true,
        |c| {
            c.group("gpu", "r1", 0, 4, 4000, 16);
            c.pods("a-loose", 2, 4000, 1);
            gang(c, "train", 6, 4000, None);
        },
        Expect {
            scale_ups: &[("gpu", 0, 2, 2)],
            gangs: &[(
                "batch/train",
                V::DoesNotFit,
                "gang batch/train: 6 pods, 4 fit: gpu at MaxSize (4)",
            )],
            unschedulable: &[("train", 6)],
        },
    ),
    a_gang_set_aside_makes_room_for_the_next_gang: (
        true,
        |c| {
            c.group("gpu", "r1", 0, 4, 4000, 16);
            gang(c, "big", 6, 4000, None);
            gang(c, "small", 3, 4000, None);
        },
        Expect {
            scale_ups: &[("gpu", 0, 3, 3)],
            gangs: &[
                (
                    "batch/big",
                    V::DoesNotFit,
                    "gang batch/big: 6 pods, 4 fit: gpu at MaxSize (4)",
                ),
                ("batch/small", V::Fits, "gang batch/small: 3 pods, 3 fit"),
            ],
            unschedulable: &[("big", 6)],
        },
    ),
    // MinMember: enough of the gang is enough.
    min_member_of_the_gang_is_enough: (
        true,
        |c| {
            c.group("gpu", "r1", 0, 5, 4000, 16);
            gang(c, "train", 8, 4000, Some(5));
        },
        Expect {
            scale_ups: &[("gpu", 0, 5, 5)],
            gangs: &[(
                "batch/train",
                V::Fits,
                "gang batch/train: 8 pods (5 needed), 5 fit",
            )],
            unschedulable: &[("train", 3)],
        },
    ),
    members_already_running_count_toward_min_member: (
        true,
        |c| {
            c.group("gpu", "r1", 3, 5, 4000, 16);
            for n in ["n1", "n2", "n3"] {
                c.node(n, Some("gpu"), 4000, 16);
                c.running(&format!("train-{n}"), n, 4000, 1);
                c.0.pods.last_mut().unwrap().gang = Some(Gang {
                    namespace: "batch".into(),
                    name: "train".into(),
                    min_member: Some(8),
                    from_request: false,
                });
            }
            gang(c, "train", 5, 4000, Some(8));
        },
        Expect {
            scale_ups: &[],
            gangs: &[(
                "batch/train",
                V::DoesNotFit,
                "gang batch/train: 5 pods, 2 fit: gpu at MaxSize (5)",
            )],
            unschedulable: &[("train", 5)],
        },
    ),
    a_gang_no_group_can_take_says_so: (
        true,
        |c| {
            c.group("small", "r1", 0, 10, 2000, 16);
            gang(c, "train", 2, 4000, None);
        },
        Expect {
            scale_ups: &[],
            gangs: &[(
                "batch/train",
                V::DoesNotFit,
                "gang batch/train: 2 pods, 0 fit: no node group takes them",
            )],
            unschedulable: &[("train", 2)],
        },
    ),
}
