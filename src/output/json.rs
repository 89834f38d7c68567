use std::io::Write;

use crate::plan::Plan;

/// The `ekas plan --output json` document.
pub fn write_plan(plan: &Plan, out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, plan)?;
    writeln!(out)
}
