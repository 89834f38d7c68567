//! `ekas run`: the continuous loop (see [`crate::run`]).

use color_eyre::eyre::Result;

use crate::settings::RunSettings;

pub fn run(settings: &RunSettings) -> Result<()> {
    super::runtime()?.block_on(crate::run::run(settings))
}
