//! The SVG chart of `--chart FILE`: pending pods, then nodes of the busiest groups, over the
//! hours of the simulation; one line per configuration.

use std::collections::BTreeMap;
use std::path::Path;

use color_eyre::eyre::{Result, WrapErr, eyre};
use plotters::prelude::*;

use super::report::Outcome;

/// Groups charted on their own; the rest share one panel.
const GROUP_PANELS: usize = 6;
const WIDTH: u32 = 1000;
const PANEL_HEIGHT: u32 = 190;

const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// One panel: a title and, per configuration, (hours, value) points.
struct Panel {
    title: String,
    lines: Vec<Vec<(f64, f64)>>,
}

pub fn write(path: &Path, title: &str, outcomes: &[Outcome]) -> Result<()> {
    let svg = render(title, outcomes)?;
    std::fs::write(path, svg)
        .wrap_err_with(|| format!("cannot write the chart to {}", path.display()))
}

pub fn render(title: &str, outcomes: &[Outcome]) -> Result<String> {
    let panels = panels(outcomes);
    let mut svg = String::new();
    {
        let height = 50 + PANEL_HEIGHT * panels.len() as u32;
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        let err = |e: DrawingAreaErrorKind<_>| eyre!("drawing the chart: {e}");
        root.fill(&WHITE).map_err(err)?;
        let (head, body) = root.split_vertically(50);
        head.draw_text(title, &("sans-serif", 18).into_text_style(&head), (10, 15))
            .map_err(err)?;
        let hours = outcomes
            .iter()
            .flat_map(|o| o.series.samples.last())
            .map(|s| s.at_ms as f64 / 3_600_000.0)
            .fold(1.0, f64::max);
        for (i, (area, panel)) in body
            .split_evenly((panels.len(), 1))
            .iter()
            .zip(&panels)
            .enumerate()
        {
            let top = panel
                .lines
                .iter()
                .flatten()
                .map(|p| p.1)
                .fold(1.0, f64::max);
            let mut chart = ChartBuilder::on(area)
                .caption(&panel.title, ("sans-serif", 14))
                .margin(6)
                .x_label_area_size(24)
                .y_label_area_size(48)
                .build_cartesian_2d(0f64..hours, 0f64..top * 1.05)
                .map_err(err)?;
            chart
                .configure_mesh()
                .x_label_formatter(&|h| format!("{h:.0}h"))
                // Counts are whole: no more labels than whole numbers, or they repeat.
                .y_labels((top.ceil() as usize + 1).min(10))
                .y_label_formatter(&|v| format!("{v:.0}"))
                .light_line_style(RGBColor(235, 235, 235))
                .draw()
                .map_err(err)?;
            for (k, (line, outcome)) in panel.lines.iter().zip(outcomes).enumerate() {
                let color = PALETTE[k % PALETTE.len()];
                let series = chart
                    .draw_series(LineSeries::new(line.iter().copied(), color.stroke_width(1)))
                    .map_err(err)?;
                if i == 0 {
                    series.label(outcome.label.as_str()).legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                    });
                }
            }
            if i == 0 && outcomes.len() > 1 {
                chart
                    .configure_series_labels()
                    .background_style(WHITE.mix(0.85))
                    .border_style(RGBColor(200, 200, 200))
                    .position(SeriesLabelPosition::UpperRight)
                    .draw()
                    .map_err(err)?;
            }
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}

fn panels(outcomes: &[Outcome]) -> Vec<Panel> {
    let point = |at_ms: i64, v: u32| (at_ms as f64 / 3_600_000.0, f64::from(v));
    let mut panels = vec![Panel {
        title: "pending pods".into(),
        lines: outcomes
            .iter()
            .map(|o| {
                o.series
                    .samples
                    .iter()
                    .map(|s| point(s.at_ms, s.pending))
                    .collect()
            })
            .collect(),
    }];
    // Configurations may manage different groups (`--compare regions=…`): a group is known by
    // its region and name. The groups with the most node-hours get a panel each.
    let mut used: BTreeMap<(&str, &str), (f64, &str)> = BTreeMap::new();
    for g in outcomes.iter().flat_map(|o| &o.groups) {
        let entry = used
            .entry((g.region.as_str(), g.group.as_str()))
            .or_insert((0.0, g.instance_type.as_str()));
        entry.0 += g.node_hours;
    }
    let mut order: Vec<_> = used.into_iter().filter(|(_, (h, _))| *h > 0.0).collect();
    order.sort_by(|a, b| b.1.0.total_cmp(&a.1.0).then(a.0.cmp(&b.0)));
    let keys: Vec<(&str, &str)> = order.iter().map(|(k, _)| *k).collect();
    let (own, rest) = keys.split_at(keys.len().min(GROUP_PANELS));
    let nodes = |wanted: &[(&str, &str)]| -> Vec<Vec<(f64, f64)>> {
        outcomes
            .iter()
            .map(|o| {
                let columns: Vec<usize> = o
                    .groups
                    .iter()
                    .enumerate()
                    .filter(|(_, g)| wanted.contains(&(g.region.as_str(), g.group.as_str())))
                    .map(|(i, _)| i)
                    .collect();
                o.series
                    .samples
                    .iter()
                    .map(|s| {
                        point(
                            s.at_ms,
                            columns.iter().filter_map(|&c| s.nodes.get(c)).sum(),
                        )
                    })
                    .collect()
            })
            .collect()
    };
    for (key, (_, instance_type)) in order.iter().take(own.len()) {
        panels.push(Panel {
            title: format!("nodes: {} ({instance_type}, {})", key.1, key.0),
            lines: nodes(&[*key]),
        });
    }
    if !rest.is_empty() {
        panels.push(Panel {
            title: format!("nodes: {} other groups", rest.len()),
            lines: nodes(rest),
        });
    }
    panels
}
