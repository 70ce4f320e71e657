//! The report's first screen: the KB × build grid — one row per KB (and Q197378's override
//! configuration), one column per build, each cell coloured by its class (reproduced, not
//! reproduced, disagrees with expected, trigger not reached, not applicable, unavailable) and
//! linking to its row of the detailed matrix, its sequence chart and its viewer page.

use crate::kb::{self, Cell, Outcome};
use mta_build::Build;
use mta_lab_look::html::esc;
use std::fmt::Write as _;

/// The grid's CSS (one class per kind of cell).
pub const STYLE: &str = "#grid td,#grid th{text-align:center;min-width:6.5em;padding:3px 5px}\
#grid td a{color:inherit}#grid .links a{font-size:11px;margin:0 2px}\
.g-rep{background:#f6c25b}.g-not{background:#bfe3bf}.g-dis{background:#c0392b;color:#fff;font-weight:bold}\
.g-trig{background:#6c3483;color:#fff;font-weight:bold}.g-na{background:#eee;color:#666}\
.g-unav{background:#bbb}.g-none{background:#fff;color:#999}\
.legend span{display:inline-block;padding:1px 6px;margin-right:4px;border:1px solid #ccc}";

/// The anchor of a cell's row in the detailed matrix.
pub fn cell_id(kb: &str, build: &str, config: &str) -> String {
    format!("cell-{kb}-{build}-{config}")
}

/// A cell's class and short label. A trigger that was never reached outranks a disagreement
/// (the finder failed); a disagreement outranks what was found.
pub fn class(c: &Cell) -> (&'static str, String) {
    let (class, label) = match &c.outcome {
        Outcome::TriggerNotReached => return ("g-trig", "TRIGGER NOT REACHED".into()),
        Outcome::Reproduced => ("g-rep", "reproduced".to_string()),
        Outcome::NotReproduced => ("g-not", "not reproduced".to_string()),
        Outcome::Rate {
            events,
            connections,
            ..
        } => {
            let p = if *connections == 0 {
                0.0
            } else {
                *events as f64 * 100.0 / *connections as f64
            };
            let class = if *events > 0 { "g-rep" } else { "g-not" };
            (class, format!("9301 rate {p:.1} %"))
        }
        Outcome::NotApplicable { .. } => ("g-na", "n/a".to_string()),
        Outcome::Unavailable { .. } => ("g-unav", "unavailable".to_string()),
    };
    if c.agrees {
        (class, label)
    } else {
        ("g-dis", format!("{label} ≠ expected"))
    }
}

/// The grid: KB rows (Q197378's override configuration its own row) × the eight builds.
pub fn section(cells: &[Cell]) -> String {
    let mut h =
        String::from("<h2 id=\"kb-grid\">KB × build</h2><table id=\"grid\"><tr><th>KB</th>");
    for b in Build::ALL {
        let _ = write!(h, "<th>{}</th>", esc(b.cli_name()));
    }
    h.push_str("</tr>");
    for (kb, configs) in kb::KBS {
        for config in *configs {
            let _ = write!(
                h,
                "<tr><th>{}{}</th>",
                esc(kb),
                if *config == "default" {
                    String::new()
                } else {
                    format!(" {}", esc(config))
                }
            );
            for b in Build::ALL {
                let c = cells
                    .iter()
                    .find(|c| c.kb == *kb && c.build == b.cli_name() && c.config == *config);
                h.push_str(&grid_cell(c));
            }
            h.push_str("</tr>");
        }
    }
    h.push_str(
        "</table><p class=\"legend\"><span class=\"g-rep\">reproduced</span>\
<span class=\"g-not\">not reproduced</span><span class=\"g-dis\">disagrees with expected</span>\
<span class=\"g-trig\">trigger not reached</span><span class=\"g-na\">not applicable</span>\
<span class=\"g-unav\">unavailable</span> — each cell links to its row of the \
<a href=\"#kb-matrix\">matrix</a> (engine, time, trigger, expectation, replay command), its \
chart and its viewer.</p>",
    );
    h
}

fn grid_cell(c: Option<&Cell>) -> String {
    let Some(c) = c else {
        return "<td class=\"g-none\">not run</td>".into();
    };
    let (class, label) = class(c);
    let title = format!(
        "{} {} {}: {}; expected {}{}",
        c.kb,
        c.build,
        c.config,
        kb::outcome_text(&c.outcome),
        c.expected.as_deref().unwrap_or("-"),
        if c.detail.is_empty() {
            String::new()
        } else {
            format!(" [{}]", c.detail)
        }
    );
    let links = c.pages.as_ref().map_or(String::new(), |(chart, viewer)| {
        format!(
            "<div class=\"links\"><a href=\"{}\">chart</a><a href=\"{}\">viewer</a></div>",
            esc(chart),
            esc(viewer)
        )
    });
    format!(
        "<td class=\"{class}\" title=\"{}\"><a class=\"detail\" href=\"#{}\">{}</a>{links}</td>",
        esc(&title),
        esc(&cell_id(&c.kb, &c.build, &c.config)),
        esc(&label),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(kb: &str, build: &str, config: &str, outcome: Outcome, agrees: bool) -> Cell {
        Cell {
            kb: kb.into(),
            build: build.into(),
            config: config.into(),
            outcome,
            engine: None,
            seconds: 1.0,
            spent: 1,
            trigger: 1,
            detail: String::new(),
            artifact: None,
            replay: None,
            expected: Some("reproduced".into()),
            agrees,
            other: Vec::new(),
            pages: Some(("kb/a.svg".into(), "kb/a.html".into())),
        }
    }

    #[test]
    fn the_grid_has_six_rows_of_eight_builds_coloured_by_class() {
        let cells = vec![
            cell("Q151626", "4.0", "default", Outcome::Reproduced, true),
            cell("Q151626", "5.0", "default", Outcome::Reproduced, false),
            cell(
                "Q182619",
                "4.0",
                "default",
                Outcome::TriggerNotReached,
                false,
            ),
            cell(
                "Q811406",
                "2000-sp3",
                "default",
                Outcome::NotReproduced,
                true,
            ),
            cell(
                "Q197378",
                "5.5-sp1",
                "override",
                Outcome::Rate {
                    events: 0,
                    connections: 1000,
                    low: 0.0,
                    high: 0.01,
                },
                true,
            ),
        ];
        let h = section(&cells);
        assert_eq!(h.matches("<tr>").count(), 7, "header + 6 rows");
        assert_eq!(h.matches("<td").count(), 48);
        assert!(h.contains("<th>Q197378 override</th>"));
        assert!(h.contains(
            "class=\"g-rep\" title=\"Q151626 4.0 default: REPRODUCED; expected reproduced\">\
<a class=\"detail\" href=\"#cell-Q151626-4.0-default\">reproduced</a>"
        ));
        assert!(
            h.contains("class=\"g-dis\""),
            "a disagreement is its own colour"
        );
        assert!(h.contains("reproduced ≠ expected"));
        assert!(h.contains("class=\"g-trig\""));
        assert!(h.contains(">TRIGGER NOT REACHED</a>"));
        assert!(h.contains("class=\"g-not\""));
        assert!(h.contains("9301 rate 0.0 %"));
        assert!(h.contains("<a href=\"kb/a.svg\">chart</a><a href=\"kb/a.html\">viewer</a>"));
        assert_eq!(h.matches("not run").count(), 48 - cells.len());
    }
}
