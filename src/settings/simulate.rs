//! `ekas simulate`'s settings: `--set flag=value` and `--compare flag=v1,v2` take the options
//! of the other subcommands by their flag names, parsed by the same clap definitions, so each
//! option has one spelling, one parser and one default.

use clap::parser::ValueSource;
use clap::{Args, FromArgMatches};
use color_eyre::eyre::{Result, bail, eyre};

use super::SimulateSettings;
use crate::cli::{
    GlobalArgs, IdleThresholdArg, PassTimingArgs, PlanningArgs, SimulateArgs, SimulatedClusterArgs,
};
use crate::engine::scale_in::idle_threshold::IdleThreshold;
use crate::simulate::Settings;
use crate::simulate::policy::Policy;

/// Every option `--set` and `--compare` may change: the ones `ekas plan` and `ekas run` take.
#[derive(Debug, Clone, Args)]
struct Options {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(flatten)]
    planning: PlanningArgs,
    #[command(flatten)]
    timing: PassTimingArgs,
    #[command(flatten)]
    cluster_model: SimulatedClusterArgs,
}

/// One option and the values to compare.
struct Comparison {
    flag: String,
    values: Vec<String>,
}

/// Resolves `--set` and `--compare` into one configuration per combination; an unknown flag
/// or a bad value is refused here, before any trace is read.
pub fn resolve(g: &GlobalArgs, args: &SimulateArgs) -> Result<SimulateSettings> {
    let sets = args
        .sets
        .iter()
        .map(|s| split_pair(s, "--set"))
        .collect::<Result<Vec<_>>>()?;
    let comparisons = args
        .compare
        .iter()
        .map(|c| {
            let (flag, list) = split_pair(c, "--compare")?;
            let values: Vec<String> = list
                .split(',')
                .map(|v| v.trim().replace('+', ","))
                .collect();
            if values.iter().any(String::is_empty) {
                bail!("--compare {c}: an empty value; give FLAG=V1,V2,…");
            }
            Ok(Comparison { flag, values })
        })
        .collect::<Result<Vec<_>>>()?;
    let base = Options {
        global: g.clone(),
        planning: args.planning.clone(),
        timing: args.timing.clone(),
        cluster_model: args.cluster_model.clone(),
    };
    Ok(SimulateSettings {
        trace: args.trace.clone(),
        cluster: args.cluster.clone(),
        chart: args.chart.clone(),
        seed: args.seed,
        configurations: configurations(&base, args.policy, &sets, &comparisons)?,
    })
}

/// `flag=value`, with the flag's leading dashes optional.
fn split_pair(text: &str, option: &str) -> Result<(String, String)> {
    let (flag, value) = text
        .split_once('=')
        .ok_or_else(|| eyre!("{option} {text}: expected FLAG=VALUE, e.g. idle-threshold=10m"))?;
    Ok((
        flag.trim().trim_start_matches('-').to_string(),
        value.trim().to_string(),
    ))
}

/// Every combination of the compared values, each on top of the command line and `--set`.
fn configurations(
    base: &Options,
    policy: Policy,
    sets: &[(String, String)],
    comparisons: &[Comparison],
) -> Result<Vec<Settings>> {
    let mut combos: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for c in comparisons {
        combos = combos
            .into_iter()
            .flat_map(|combo| {
                c.values.iter().map(move |v| {
                    let mut next = combo.clone();
                    next.push((c.flag.clone(), v.clone()));
                    next
                })
            })
            .collect();
    }
    combos
        .into_iter()
        .map(|combo| {
            let mut policy = policy;
            let mut options = Vec::new();
            for (flag, value) in &combo {
                if flag == "policy" {
                    policy = <Policy as clap::ValueEnum>::from_str(value, true).map_err(|_| {
                        eyre!("--compare policy={value}: expected ekas or original")
                    })?;
                } else {
                    options.push((flag.clone(), value.clone()));
                }
            }
            let mut options_for = base.clone();
            if policy == Policy::Original {
                // The original tool's own defaults; --set and --compare still change them.
                options_for.planning.scaling.over_provision = 5;
                options_for.planning.scale_in.type_idle_count = 5;
                options_for.planning.scale_in.idle_threshold = IdleThresholdArg(
                    IdleThreshold::Fixed(crate::simulate::original::ORIGINAL_IDLE_THRESHOLD),
                );
            }
            override_options(&mut options_for, sets)?;
            override_options(&mut options_for, &options)?;
            let label = if combo.is_empty() {
                policy.to_string()
            } else {
                combo
                    .iter()
                    .map(|(f, v)| format!("{f}={}", v.replace(',', "+")))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let planning = super::planning(&options_for.global, &options_for.planning);
            let timing = &options_for.timing;
            Ok(Settings {
                label,
                policy,
                engine: planning.engine,
                build: planning.build,
                sleep: timing.sleep.signed(),
                batch_idle: timing.batch_idle.signed(),
                batch_max: timing.batch_max.signed(),
                scoring: options_for.cluster_model.scheduler_scoring,
            })
        })
        .collect()
}

/// Sets options from `flag=value` pairs through their clap definitions: the same names,
/// parsers and checks as on the command line; only the options named change.
fn override_options<T: Args + FromArgMatches>(
    base: &mut T,
    pairs: &[(String, String)],
) -> Result<()> {
    if pairs.is_empty() {
        return Ok(());
    }
    let command = T::augment_args(clap::Command::new("ekas").no_binary_name(true));
    let mut argv: Vec<String> = Vec::new();
    let mut switches_off: Vec<String> = Vec::new();
    for (flag, value) in pairs {
        let known = command.get_arguments().find(|a| {
            a.get_long() == Some(flag.as_str())
                || a.get_all_aliases()
                    .is_some_and(|all| all.contains(&flag.as_str()))
        });
        match known {
            None => bail!(
                "{flag}={value}: no option --{flag} (see `ekas simulate --help` and `ekas plan --help`)"
            ),
            // A switch is compared as given or not.
            Some(arg) if !arg.get_action().takes_values() => match value.as_str() {
                "true" => argv.push(format!("--{flag}")),
                "false" => switches_off.push(arg.get_id().as_str().to_string()),
                _ => {
                    bail!("{flag}={value}: --{flag} is a switch: give {flag}=true or {flag}=false")
                }
            },
            Some(_) => argv.push(format!("--{flag}={value}")),
        }
    }
    let mut matches = command.try_get_matches_from(&argv).map_err(|e| {
        let text = e.to_string();
        let first = text.lines().next().unwrap_or_default();
        eyre!(
            "{}: {}",
            argv.join(" "),
            first.trim_start_matches("error: ")
        )
    })?;
    // Defaults and environment variables would overwrite what the base already holds.
    let implied: Vec<String> = matches
        .ids()
        .filter(|id| matches.value_source(id.as_str()) != Some(ValueSource::CommandLine))
        .map(|id| id.as_str().to_string())
        .collect();
    for id in implied {
        if !switches_off.contains(&id) {
            let _ = matches.try_clear_id(&id);
        }
    }
    base.update_from_arg_matches(&matches)
        .map_err(|e| eyre!("{}: {e}", argv.join(" ")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    use jiff::SignedDuration;

    /// The options `ekas simulate` starts from, given its command-line flags.
    fn options(args: &[&str]) -> Options {
        let mut argv = vec![
            "ekas",
            "simulate",
            "--trace",
            "t.csv",
            "--cluster",
            "c.json",
        ];
        argv.extend(args);
        let cli = crate::cli::Cli::try_parse_from(argv).unwrap();
        let crate::cli::Command::Simulate(sim) = cli.command else {
            panic!("not simulate")
        };
        Options {
            global: cli.global,
            planning: sim.planning,
            timing: sim.timing,
            cluster_model: sim.cluster_model,
        }
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(f, v)| (f.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn set_changes_only_the_options_named() {
        let mut g = options(&["--over-provision", "3", "--idle-threshold", "600"]);
        override_options(
            &mut g,
            &pairs(&[
                ("idle-threshold", "10m"),
                ("regions", "us-east-1,us-west-2"),
            ]),
        )
        .unwrap();
        assert_eq!(
            g.planning.scale_in.idle_threshold.0,
            IdleThreshold::Fixed(SignedDuration::from_mins(10))
        );
        assert_eq!(
            g.global.regions.as_deref(),
            Some(&["us-east-1".to_string(), "us-west-2".to_string()][..])
        );
        assert_eq!(
            g.planning.scaling.over_provision, 3,
            "not reset to its default"
        );
        assert_eq!(g.planning.scaling.max_pods, 110);
        override_options(&mut g, &pairs(&[("aws-regions", "eu-west-1")])).unwrap();
        assert_eq!(
            g.global.regions.as_deref(),
            Some(&["eu-west-1".to_string()][..]),
            "aliases work"
        );
    }

    #[test]
    fn set_rejects_what_the_flag_would() {
        let mut g = options(&[]);
        let err = |g: &mut Options, f: &str, v: &str| {
            format!("{:#}", override_options(g, &pairs(&[(f, v)])).unwrap_err())
        };
        let e = err(&mut g, "idle-treshold", "10m");
        assert!(e.contains("no option --idle-treshold"), "{e}");
        let e = err(&mut g, "idle-threshold", "soon");
        assert!(e.contains("\"soon\""), "{e}");
        let e = err(&mut g, "max-scale-in-fraction", "2");
        assert!(e.contains("not between 0 and 1"), "{e}");
        let e = err(&mut g, "dry-run", "yes");
        assert!(
            e.contains("is a switch: give dry-run=true or dry-run=false"),
            "{e}"
        );
    }

    #[test]
    fn switches_compare_as_given_or_not() {
        let mut g = options(&["--no-consolidation"]);
        override_options(&mut g, &pairs(&[("no-consolidation", "false")])).unwrap();
        assert!(!g.planning.scale_in.no_consolidation);
        override_options(&mut g, &pairs(&[("no-consolidation", "true")])).unwrap();
        assert!(g.planning.scale_in.no_consolidation);
        // Another option named leaves the switch as it was.
        override_options(&mut g, &pairs(&[("over-provision", "2")])).unwrap();
        assert!(g.planning.scale_in.no_consolidation);
    }

    #[test]
    fn compare_makes_every_combination_with_labels() {
        let cli = crate::cli::Cli::try_parse_from([
            "ekas",
            "simulate",
            "--trace",
            "t.csv",
            "--cluster",
            "c.json",
            "--compare",
            "policy=ekas,original",
            "--compare",
            "idle-threshold=10m,55m",
            "--set",
            "over-provision=1",
        ])
        .unwrap();
        let crate::cli::Command::Simulate(args) = &cli.command else {
            panic!("not simulate")
        };
        let sets = pairs(&[("over-provision", "1")]);
        let comparisons = vec![
            Comparison {
                flag: "policy".into(),
                values: vec!["ekas".into(), "original".into()],
            },
            Comparison {
                flag: "idle-threshold".into(),
                values: vec!["10m".into(), "55m".into()],
            },
        ];
        let base = options(&[]);
        let configs = configurations(&base, args.policy, &sets, &comparisons).unwrap();
        let labels: Vec<&str> = configs.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "policy=ekas idle-threshold=10m",
                "policy=ekas idle-threshold=55m",
                "policy=original idle-threshold=10m",
                "policy=original idle-threshold=55m"
            ]
        );
        assert_eq!(configs[0].policy, Policy::Ekas);
        assert_eq!(configs[3].policy, Policy::Original);
        assert_eq!(
            configs[1].engine.maintenance.idle_threshold,
            IdleThreshold::Fixed(SignedDuration::from_mins(55))
        );
        // --set applies to every configuration, over the original tool's defaults too.
        assert!(configs.iter().all(|c| c.engine.over_provision == 1));
        assert_eq!(configs[3].engine.maintenance.type_idle_count, 5);
        assert_eq!(configs[0].engine.maintenance.type_idle_count, 0);
    }
}
