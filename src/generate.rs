//! The files generated from the CLI definition: completions/, man/ and the flags reference
//! (docs/reference/flags.md). A test keeps the committed copies current
//! (`EKAS_BLESS=1 cargo test generated` rewrites them).

use std::path::PathBuf;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;
use crate::commands::completions::script;

/// Every generated file, as (path relative to the repository root, contents).
pub fn files() -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    for (shell, name) in [
        (Shell::Bash, "ekas.bash"),
        (Shell::Zsh, "_ekas"),
        (Shell::Fish, "ekas.fish"),
        (Shell::Elvish, "ekas.elv"),
        (Shell::PowerShell, "_ekas.ps1"),
    ] {
        files.push((PathBuf::from("completions").join(name), script(shell)));
    }
    let mut cmd = Cli::command();
    cmd.build();
    man_pages(&cmd, &mut files);
    files.push((
        PathBuf::from("docs/reference/flags.md"),
        flags_reference(&cmd).into_bytes(),
    ));
    files
}

fn man_pages(cmd: &clap::Command, files: &mut Vec<(PathBuf, Vec<u8>)>) {
    let man = clap_mangen::Man::new(cmd.clone()).manual("ekas manual");
    let mut page = Vec::new();
    man.render(&mut page)
        .expect("writing to memory cannot fail");
    files.push((PathBuf::from("man").join(man.get_filename()), page));
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        man_pages(sub, files);
    }
}

/// Every flag of every subcommand as Markdown tables, grouped as `--help` groups them: the
/// global flags once, then each subcommand's own.
fn flags_reference(cmd: &clap::Command) -> String {
    let mut out = String::from(
        "# Flags\n\nEvery flag of every subcommand, with its default: generated from the CLI \
         definition (`EKAS_BLESS=1 cargo test generated`), like the man pages; do not edit. \
         `ekas SUBCOMMAND --help` says the same, at length.\n",
    );
    let globals: Vec<&clap::Arg> = cmd.get_arguments().filter(|a| a.is_global_set()).collect();
    out.push_str("\n## Global flags\n\nAccepted by every subcommand.\n");
    flag_tables(&globals, &mut out);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        out.push_str(&format!("\n## ekas {}\n\n", sub.get_name()));
        if let Some(about) = sub.get_about() {
            out.push_str(&format!("{}\n", about.to_string().trim()));
        }
        let own: Vec<&clap::Arg> = sub
            .get_arguments()
            .filter(|a| !a.is_global_set() && !a.is_hide_set())
            .filter(|a| !matches!(a.get_id().as_str(), "help" | "version"))
            .collect();
        flag_tables(&own, &mut out);
    }
    out
}

/// One table per help heading, in the order the headings first appear.
fn flag_tables(args: &[&clap::Arg], out: &mut String) {
    let mut headings: Vec<Option<&str>> = Vec::new();
    for arg in args.iter().filter(|a| !a.is_hide_set()) {
        if !headings.contains(&arg.get_help_heading()) {
            headings.push(arg.get_help_heading());
        }
    }
    for heading in headings {
        out.push_str(&format!("\n### {}\n\n", heading.unwrap_or("Options")));
        out.push_str("| flag | value | default | meaning |\n|---|---|---|---|\n");
        for arg in args
            .iter()
            .filter(|a| !a.is_hide_set() && a.get_help_heading() == heading)
        {
            out.push_str(&flag_row(arg));
        }
    }
}

fn flag_row(arg: &clap::Arg) -> String {
    let name = match (arg.get_long(), arg.get_short()) {
        (Some(long), Some(short)) => format!("`--{long}`, `-{short}`"),
        (Some(long), None) => format!("`--{long}`"),
        (None, Some(short)) => format!("`-{short}`"),
        (None, None) => format!("`{}` (positional)", arg.get_id().as_str().to_uppercase()),
    };
    let takes_value = arg.get_num_args().is_some_and(|n| n.takes_values());
    let choices: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| v.get_name().to_string())
        .collect();
    let value = match (takes_value, choices.is_empty()) {
        (false, _) => String::new(),
        (true, false) => choices.join(" \\| "),
        (true, true) => arg
            .get_value_names()
            .map(|names| {
                names
                    .iter()
                    .map(|n| n.to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_else(|| arg.get_id().as_str().to_uppercase()),
    };
    let default: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    let default = if takes_value {
        default.join(",")
    } else {
        String::new()
    };
    let help = arg
        .get_help()
        .or(arg.get_long_help())
        .map(|h| h.to_string())
        .unwrap_or_default();
    let mut meaning = help.split("\n\n").next().unwrap_or("").replace('\n', " ");
    if let Some(env) = arg.get_env() {
        meaning.push_str(&format!(" (env `{}`)", env.to_string_lossy()));
    }
    let cell = |text: &str| text.replace('|', "\\|");
    let code = |text: &str| {
        if text.is_empty() {
            String::new()
        } else {
            format!("`{text}`")
        }
    };
    format!(
        "| {name} | {} | {} | {} |\n",
        code(&value),
        code(&cell(&default)),
        cell(meaning.trim())
    )
}
