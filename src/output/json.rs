use std::io::Write;

use crate::plan::Plan;

/// The `ekas plan --output json` document.
pub fn write_plan(plan: &Plan, out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, plan)?;
    writeln!(out)
}

/// `[{"target", "region", "action", "result", "detail"}]`, result one of done, dry-run, skipped,
/// failed.
pub fn write_applied(
    applied: &[crate::actuate::Applied],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    use crate::actuate::Outcome;
    let rows: Vec<serde_json::Value> = applied
        .iter()
        .map(|a| {
            let detail = match &a.outcome {
                Outcome::Done(d) => d.to_string(),
                Outcome::WouldDo(d) => d.clone(),
                Outcome::Skipped(s) => s.to_string(),
                Outcome::Failed(e) => e.to_string(),
            };
            serde_json::json!({"target": a.target, "region": a.region, "action": a.action,
                "result": a.outcome.result(), "detail": detail})
        })
        .collect();
    serde_json::to_writer_pretty(&mut *out, &rows)?;
    writeln!(out)
}
