//! The files generated from the CLI definition: completions/ and man/. A test keeps the
//! committed copies current (`EKAS_BLESS=1 cargo test generated` rewrites them).

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
