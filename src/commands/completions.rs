use std::io::Write;

use clap::CommandFactory;
use clap_complete::Shell;
use color_eyre::eyre::Result;

use crate::cli::Cli;

pub fn run(shell: Shell, out: &mut dyn Write) -> Result<()> {
    out.write_all(&script(shell))?;
    Ok(())
}

pub fn script(shell: Shell) -> Vec<u8> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "ekas", &mut buf);
    buf
}
