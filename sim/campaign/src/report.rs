//! The nightly report: one self-contained HTML page (no scripts, no network) opening on the KB ×
//! build grid, then the findings table with replay commands and every finding's life across
//! nights, the detailed KB matrix, per-unit numbers, and SVG plots — coverage over
//! executions per target, exec/s per unit, corpus and coverage growth across nights — and the
//! source-coverage phase: line coverage per crate night by night, never-executed functions — and
//! every reachability goal with the night, engine and build that first reached it (gaps marked).

use crate::goals::{GAP_NIGHTS, NightGoal};
use crate::kb;
use crate::night::{CoverageHistory, History, Summary, UnitResult};
use mta_lab_look::html::{Series, bar_chart, esc, line_chart};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The source-coverage section: per crate line/region/function coverage with its trend over
/// nights, the HTML tree, and the never-executed functions of the listed crates.
fn coverage_section(
    c: Option<&crate::coverage::Summary>,
    trend: &[(String, BTreeMap<String, f64>)],
) -> String {
    let mut h = String::from("<h2>Source coverage</h2>");
    let Some(c) = c else {
        h.push_str("<p>phase skipped (<code>--coverage-targets none</code>)</p>");
        return h;
    };
    if let Some(why) = &c.unavailable {
        let _ = write!(
            h,
            "<p class=\"bad\">source coverage unavailable: {}</p>",
            esc(why)
        );
        return h;
    }
    let _ = write!(
        h,
        "<p>{} targets replayed over their committed corpora and tonight's{}.",
        c.targets.len(),
        c.html.as_deref().map_or(String::new(), |p| format!(
            " — <a href=\"coverage/{}\">annotated sources</a>",
            esc(p)
        )),
    );
    for (t, why) in &c.failed {
        let _ = write!(h, " Not measured: {} ({}).", esc(t), esc(why));
    }
    h.push_str("</p>");
    h.push_str(
        "<table><tr><th>crate</th><th>lines</th><th>regions</th><th>functions</th>\
<th>lines, night by night</th></tr>",
    );
    for (k, n) in &c.crates {
        let earlier: Vec<String> = trend
            .iter()
            .filter_map(|(d, m)| m.get(k).map(|v| format!("{}: {v:.1} %", esc(d))))
            .collect();
        let _ = write!(
            h,
            "<tr><td>models/{}</td><td>{}/{} ({:.1} %)</td><td>{:.1} %</td><td>{}/{}</td><td>{}</td></tr>",
            esc(k),
            n.lines.covered,
            n.lines.count,
            n.lines.percent(),
            n.regions.percent(),
            n.functions.covered,
            n.functions.count,
            earlier.join(" · ")
        );
    }
    h.push_str("</table>");
    if trend.len() > 1 {
        let crates: std::collections::BTreeSet<&String> =
            trend.iter().flat_map(|(_, m)| m.keys()).collect();
        let series: Vec<Series> = crates
            .into_iter()
            .map(|k| {
                (
                    k.clone(),
                    trend
                        .iter()
                        .enumerate()
                        .filter_map(|(i, (_, m))| m.get(k).map(|v| (i as f64, *v)))
                        .collect(),
                )
            })
            .collect();
        h.push_str(&line_chart("line coverage per crate (%)", "night", &series));
    }
    for (k, fs) in &c.uncovered {
        let _ = write!(
            h,
            "<details><summary>models/{}: {} functions no target executed</summary><ul>",
            esc(k),
            fs.len()
        );
        for f in fs {
            let _ = write!(h, "<li><code>{}</code></li>", esc(f));
        }
        h.push_str("</ul></details>");
    }
    h
}

/// The mutation phase: per crate its last pass (complete or how far), with score, counts, time
/// per mutant, commits and date, and the missed mutants of complete passes.
fn mutation_section(m: Option<&crate::night::MutationSummary>) -> String {
    let mut h = String::from("<h2>Mutation score of the oracles</h2>");
    let Some(m) = m else {
        h.push_str("<p>phase skipped (<code>--mutants-shards 0</code>)</p>");
        return h;
    };
    if let Some(u) = &m.unavailable {
        let _ = write!(
            h,
            "<p class=\"bad\">mutation phase unavailable: {}</p>",
            esc(u)
        );
    }
    for e in &m.errors {
        let _ = write!(h, "<p class=\"bad\">{}</p>", esc(e));
    }
    let _ = write!(
        h,
        "<p>cargo-mutants per crate with the crate's and the harness's tests; one shard per crate \
per night; {} exclusions in <code>.cargo/mutants.toml</code> (each with its reason). Tonight: {}.</p>\
<table><tr><th>crate</th><th>score</th><th>caught</th><th>missed</th><th>timeout</th><th>unviable</th>\
<th>s/mutant</th><th>shards</th><th>commits</th><th>date</th></tr>",
        m.exclusions,
        if m.tonight.is_empty() {
            "no shard".to_string()
        } else {
            m.tonight
                .iter()
                .map(|s| format!("{} {}/{}", s.krate, s.shard.0, s.shard.1))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    for p in &m.passes {
        let _ = write!(
            h,
            "<tr class=\"{}\"><td>{}</td><td>{:.1}%</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
<td>{:.0}</td><td>{} of {}{}</td><td>{}</td><td>{}</td></tr>",
            if p.complete() { "ok" } else { "" },
            esc(&p.krate),
            p.counts.score(),
            p.counts.caught,
            p.counts.missed,
            p.counts.timeout,
            p.counts.unviable,
            p.counts.seconds_per_mutant(),
            p.done,
            p.shards,
            if p.complete() { " (complete)" } else { "" },
            esc(&p.commits.join(", ")),
            esc(&p.date),
        );
    }
    h.push_str("</table>");
    for p in m
        .passes
        .iter()
        .filter(|p| !p.counts.missed_names.is_empty())
    {
        let _ = write!(
            h,
            "<details><summary>{} missed mutants</summary><ul>",
            esc(&p.krate)
        );
        for n in &p.counts.missed_names {
            let _ = write!(h, "<li><code>{}</code></li>", esc(n));
        }
        h.push_str("</ul></details>");
    }
    h
}

/// Every catalogued goal: the night that first reached it with the units (engine, target or
/// world, build) that did, the last night, and a gap mark after [`GAP_NIGHTS`] nights unreached.
fn goals_section(goals: &[NightGoal]) -> String {
    let reached = goals.iter().filter(|g| g.first.is_some()).count();
    let gaps = goals.iter().filter(|g| g.gap).count();
    let mut h = format!(
        "<h2>Reachability goals</h2><p>{reached} of {} goals reached on some night; {gaps} gaps \
(unreached for {GAP_NIGHTS} nights or more). <code>mta-lab goals</code> gives the rates.</p>\
<table><tr><th>goal</th><th>component</th><th>first reached</th><th>by (engine target@build)</th>\
<th>last reached</th><th>nights unreached</th></tr>",
        goals.len()
    );
    for g in goals {
        let (first, by) =
            g.first
                .as_ref()
                .map_or(("never".to_string(), String::new()), |(d, u)| {
                    let by: Vec<String> = u
                        .iter()
                        .map(|id| {
                            id.replacen("fuzz-", "libFuzzer ", 1)
                                .replacen("sweep-", "sweep ", 1)
                        })
                        .collect();
                    (d.clone(), by.join(", "))
                });
        let _ = write!(
            h,
            "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td></tr>",
            if g.gap {
                "bad"
            } else if g.unreached_for == 0 {
                "ok"
            } else {
                ""
            },
            esc(g.name),
            esc(g.component),
            esc(&first),
            esc(&by),
            esc(g.last.as_deref().unwrap_or("-")),
            g.unreached_for,
            if g.gap { " GAP" } else { "" },
        );
    }
    h.push_str("</table>");
    h
}

/// The page: verdict, then the KB × build grid (the first screen), the findings with their
/// lifecycle across nights, the plots, and then the detailed matrix and the rest.
pub fn html(
    s: &Summary,
    results: &[UnitResult],
    history: &History,
    coverage_trend: &CoverageHistory,
    goals: &[NightGoal],
) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>mta-lab nightly {d}</title>\
<style>body{{font:13px sans-serif;margin:1em 1.5em}}h1{{font-size:20px;margin:.2em 0}}\
table{{border-collapse:collapse;margin:.5em 0 1.5em}}\
td,th{{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}}\
.ok{{background:#e6f4e6}}.bad{{background:#fbe3e3}}.new{{background:#fbe3e3;font-weight:bold}}\
code{{font-size:12px}}.chart{{margin:4px;border:1px solid #eee}}.meta{{color:#555;margin:.2em 0}}\
{grid}</style></head><body>\
<h1>mta-lab nightly {d}: <span class=\"{cls}\">{v}</span></h1>\
<p class=\"meta\">budget {b:.0} s; unit time {u:.0} s (across cores); {n} findings ({k} known, {new} new); {lab}</p>",
        d = esc(&s.date),
        grid = crate::grid::STYLE,
        cls = if s.green { "ok" } else { "bad" },
        v = if s.green { "GREEN" } else { "RED" },
        b = s.budget_s,
        u = s.unit_seconds,
        n = s.findings.len(),
        k = s.findings.iter().filter(|f| f.known.is_some()).count(),
        new = s.findings.iter().filter(|f| f.known.is_none()).count(),
        lab = esc(&s.lab.as_ref().map_or_else(
            || "lab commit, model and compiler not recorded".to_string(),
            mta_lab_world::finding::Provenance::line
        )),
    );
    h.push_str(&crate::grid::section(&s.cells));
    if !s.reasons.is_empty() {
        h.push_str("<ul>");
        for r in &s.reasons {
            let _ = write!(h, "<li class=\"bad\">{}</li>", esc(r));
        }
        h.push_str("</ul>");
    }
    h.push_str(&findings_section(s));
    h.push_str(&lifecycle_section(&s.lifecycle));
    h.push_str(&fuzz_section(s, results));
    h.push_str(&history_section(history));
    h.push_str(&kb_matrix_section(s));
    h.push_str(&coverage_section(
        s.source_coverage.as_ref(),
        coverage_trend,
    ));
    h.push_str(&goals_section(goals));
    h.push_str(&mutation_section(s.mutation.as_ref()));
    h.push_str(&units_section(s));
    h.push_str("</body></html>\n");
    h
}

/// The detailed KB matrix: a row per cell (the grid's cells link here), with its chart and
/// viewer.
fn kb_matrix_section(s: &Summary) -> String {
    let mut h = String::new();
    h.push_str(
        "<h2 id=\"kb-matrix\">KB matrix</h2><table><tr><th>KB</th><th>build</th><th>config</th><th>outcome</th>\
<th>engine</th><th>time</th><th>spent</th><th>trigger</th><th>expected</th><th>detail / replay</th></tr>",
    );
    for c in &s.cells {
        let _ = write!(
            h,
            "<tr id=\"{}\" class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1} s</td>\
<td>{}</td><td>{}</td><td>{}</td><td>{}{}{}</td></tr>",
            esc(&crate::grid::cell_id(&c.kb, &c.build, &c.config)),
            if c.agrees { "ok" } else { "bad" },
            esc(&c.kb),
            esc(&c.build),
            esc(&c.config),
            esc(&kb::outcome_text(&c.outcome)),
            c.engine
                .map_or("-".into(), |e| format!("{e:?}").to_lowercase()),
            c.seconds,
            c.spent,
            c.trigger,
            esc(c.expected.as_deref().unwrap_or("-")),
            esc(&c.detail),
            c.replay
                .as_deref()
                .map_or(String::new(), |r| format!("<br><code>{}</code>", esc(r))),
            c.pages
                .as_ref()
                .map_or(String::new(), |(chart, viewer)| format!(
                    "<br><a href=\"{}\">chart</a> · <a href=\"{}\">viewer</a>",
                    esc(chart),
                    esc(viewer)
                )),
        );
    }
    h.push_str("</table>");
    h
}

/// The night's findings, deduplicated by signature.
fn findings_section(s: &Summary) -> String {
    let mut h = String::from("<h2 id=\"findings\">Findings (deduplicated by signature)</h2>");
    if s.findings.is_empty() {
        h.push_str("<p>none</p>");
    } else {
        h.push_str(
            "<table><tr><th>status</th><th>kind</th><th>target / world</th><th>signature</th>\
<th>count</th><th>found on</th><th>fires on (scan)</th><th>replay</th><th>regression file</th></tr>",
        );
        for f in &s.findings {
            let _ = write!(
                h,
                "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
<td>{}</td><td><code>{}</code>{}</td><td>{}</td></tr>",
                if f.known.is_some() { "ok" } else { "new" },
                esc(f.known.as_deref().unwrap_or("NEW")),
                esc(&f.kind),
                esc(&f.subject),
                esc(&f.signature),
                f.count,
                esc(&f.found_on.join(", ")),
                esc(&f.fires_on.join(", ")),
                esc(&f.replay),
                f.pages.as_ref().map_or(String::new(), |(c, v)| format!(
                    "<br><a href=\"{}\">chart</a> · <a href=\"{}\">viewer</a>",
                    esc(c),
                    esc(v)
                )),
                esc(f.regression.as_deref().unwrap_or("-")),
            );
        }
        h.push_str("</table>");
    }
    h
}

/// Every finding any night saw, with its first and last night and where it stands tonight.
fn lifecycle_section(lives: &[crate::night::Life]) -> String {
    use crate::night::Standing;
    let mut h = String::from("<h2 id=\"lifecycle\">Findings across nights</h2>");
    if lives.is_empty() {
        h.push_str("<p>no finding on any night so far</p>");
        return h;
    }
    h.push_str(
        "<p>Keyed by kind, target or world and signature. <em>Gone</em> names the first night \
after the last sighting that ran the finding's units (same target or world, a build it was found \
on) without seeing it; <code>scripts/bisect.sh FINDING</code> names the commit.</p>\
<table><tr><th>tonight</th><th>KB</th><th>kind</th><th>target / world</th><th>signature</th>\
<th>first seen</th><th>last seen</th><th>nights seen</th></tr>",
    );
    for l in lives {
        let _ = write!(
            h,
            "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            match l.standing {
                Standing::New => "new",
                Standing::Gone { .. } => "ok",
                Standing::StillReproducing | Standing::NotLookedFor => "",
            },
            esc(&l.standing_text()),
            esc(l.known.as_deref().unwrap_or("NEW")),
            esc(&l.kind),
            esc(&l.subject),
            esc(&l.signature),
            esc(&l.first),
            esc(&l.last),
            l.nights,
        );
    }
    h.push_str("</table>");
    h
}

/// Coverage and protocol-state transitions over executions per target (a line per build), and
/// the throughput of each unit.
fn fuzz_section(s: &Summary, results: &[UnitResult]) -> String {
    let mut h = String::new();
    // Coverage over executions, one chart per target, one line per build.
    let mut per_target: BTreeMap<String, Vec<Series>> = BTreeMap::new();
    for r in results {
        if let (crate::night::Unit::Fuzz { target, build, .. }, Some(f)) = (&r.unit, &r.fuzz) {
            per_target.entry(target.clone()).or_default().push((
                build.clone(),
                f.series
                    .iter()
                    .map(|p| (p.execs as f64, p.cov as f64))
                    .collect(),
            ));
        }
    }
    // Protocol-state transitions over executions, beside each target's edge coverage.
    let mut states: BTreeMap<String, Vec<Series>> = BTreeMap::new();
    for r in results {
        if let (crate::night::Unit::Fuzz { target, build, .. }, Some(f)) = (&r.unit, &r.fuzz)
            && !f.states.is_empty()
        {
            states.entry(target.clone()).or_default().push((
                build.clone(),
                f.states
                    .iter()
                    .enumerate()
                    .map(|(i, (_, at))| (*at as f64, (i + 1) as f64))
                    .collect(),
            ));
        }
    }
    h.push_str(
        "<h2>Coverage over executions</h2><p>Edges (libFuzzer's <code>cov</code>) and, for the \
stateful targets, distinct protocol-state transitions (machine, state, input kind, next state).</p><div>",
    );
    for (t, series) in &per_target {
        h.push_str(&line_chart(t, "executions", series));
        if let Some(st) = states.get(t) {
            h.push_str(&line_chart(&format!("{t} transitions"), "executions", st));
        }
    }
    h.push_str("</div><h2>Throughput</h2><div>");
    let fuzz_bars: Vec<(String, f64)> = s
        .units
        .iter()
        .filter(|u| u.id.starts_with("fuzz-"))
        .map(|u| (u.id["fuzz-".len()..].to_string(), u.rate))
        .collect();
    h.push_str(&bar_chart(
        "libFuzzer exec/s per unit",
        "exec/s",
        &fuzz_bars,
    ));
    let sweep_bars: Vec<(String, f64)> = s
        .units
        .iter()
        .filter(|u| u.id.starts_with("sweep-"))
        .map(|u| (u.id["sweep-".len()..].to_string(), u.rate))
        .collect();
    h.push_str(&bar_chart(
        "simulation seeds/s per unit",
        "seeds/s",
        &sweep_bars,
    ));
    h.push_str("</div>");
    h
}

/// Corpus size and coverage per target across nights (when there is more than one).
fn history_section(history: &History) -> String {
    let mut h = String::new();
    if history.len() > 1 {
        let targets: Vec<&String> = history
            .iter()
            .flat_map(|(_, m)| m.keys())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let series = |pick: &dyn Fn(&(usize, u64)) -> f64| -> Vec<Series> {
            targets
                .iter()
                .map(|t| {
                    (
                        (*t).clone(),
                        history
                            .iter()
                            .enumerate()
                            .filter_map(|(i, (_, m))| m.get(*t).map(|v| (i as f64, pick(v))))
                            .collect(),
                    )
                })
                .collect()
        };
        let _ = write!(
            h,
            "<h2>Across nights ({} to {})</h2><div>",
            esc(&history[0].0),
            esc(&history[history.len() - 1].0)
        );
        h.push_str(&line_chart(
            "corpus files (after cmin)",
            "night",
            &series(&|v| v.0 as f64),
        ));
        h.push_str(&line_chart("coverage", "night", &series(&|v| v.1 as f64)));
        h.push_str("</div>");
    }
    h
}

/// Every unit's numbers, and what was left out for lack of budget.
fn units_section(s: &Summary) -> String {
    let mut h = String::new();
    h.push_str(
        "<h2>Units</h2><table><tr><th>unit</th><th>seconds</th><th>execs / seeds</th><th>rate</th>\
<th>coverage</th><th>transitions</th><th>corpus</th><th>error</th></tr>",
    );
    for u in &s.units {
        let _ = write!(
            h,
            "<tr class=\"{}\"><td>{}</td><td>{:.1}</td><td>{}</td><td>{:.0}/s</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            if u.error.is_some() { "bad" } else { "" },
            esc(&u.id),
            u.seconds,
            u.work,
            u.rate,
            u.cov,
            u.states,
            u.corpus,
            esc(u.error.as_deref().unwrap_or(""))
        );
    }
    h.push_str("</table>");
    if !s.skipped.is_empty() {
        let _ = write!(
            h,
            "<p>Left out for lack of budget: {}</p>",
            esc(&s.skipped.join(", "))
        );
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mutation_section_names_score_commits_and_misses() {
        use crate::mutants::Pass;
        let m = crate::night::MutationSummary {
            exclusions: 2,
            passes: vec![Pass {
                krate: "mta-bufmgr".into(),
                shards: 2,
                done: 2,
                commits: vec!["abc1234".into()],
                date: "2026-11-30".into(),
                counts: crate::mutants::Counts {
                    caught: 9,
                    missed: 1,
                    timeout: 0,
                    unviable: 2,
                    seconds: 120.0,
                    missed_names: vec!["pool.rs:625:20: replace > with >= in write".into()],
                },
            }],
            ..Default::default()
        };
        let h = mutation_section(Some(&m));
        assert!(
            h.contains("<td>mta-bufmgr</td><td>90.0%</td><td>9</td><td>1</td>"),
            "{h}"
        );
        assert!(h.contains("<td>2 of 2 (complete)</td><td>abc1234</td><td>2026-11-30</td>"));
        assert!(h.contains("2 exclusions") && h.contains("replace &gt; with &gt;= in write"));
        assert!(mutation_section(None).contains("phase skipped"));
    }

    #[test]
    fn the_goals_section_names_first_nights_engines_and_gaps() {
        let mut nights = Vec::new();
        for d in 1..=8 {
            let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
            if d == 1 {
                m.insert("lpi: stale LPI".into(), vec!["fuzz-lpi_decode@5.5".into()]);
            }
            m.insert(
                "x25: receive queue overflow".into(),
                vec!["sweep-xot@2000-sp3".into()],
            );
            nights.push((format!("2026-11-0{d}"), m));
        }
        let h = goals_section(&crate::goals::night_goals(&nights));
        assert!(h.contains(
            "<td>lpi: stale LPI</td><td>lpi</td><td>2026-11-01</td><td>libFuzzer lpi_decode@5.5</td>\
<td>2026-11-01</td><td>7 GAP</td>"
        ));
        assert!(h.contains("<td>sweep xot@2000-sp3</td><td>2026-11-08</td><td>0</td>"));
        assert!(h.contains(&format!(
            "2 of {} goals reached",
            mta_reach::CATALOGUE.len()
        )));
    }

    #[test]
    fn the_coverage_section_shows_crates_their_trend_and_never_executed_functions() {
        use crate::coverage::{Count, Counts, Summary as Cov};
        let mut c = Cov {
            targets: vec!["lpi_decode".into()],
            html: Some("html/index.html".into()),
            ..Cov::default()
        };
        c.crates.insert(
            "lpi".into(),
            Counts {
                lines: Count {
                    covered: 150,
                    count: 300,
                },
                ..Counts::default()
            },
        );
        c.uncovered.insert(
            "lpi".into(),
            vec!["mta_lpi::decoder::encode_into_buffer".into()],
        );
        let trend: CoverageHistory = vec![
            ("n1".into(), [("lpi".to_string(), 40.0)].into()),
            ("n2".into(), [("lpi".to_string(), 50.0)].into()),
        ];
        let h = coverage_section(Some(&c), &trend);
        assert!(h.contains("models/lpi</td><td>150/300 (50.0 %)"), "{h}");
        assert!(h.contains("n1: 40.0 % · n2: 50.0 %"));
        assert!(h.contains("<polyline"), "trend chart");
        assert!(h.contains("mta_lpi::decoder::encode_into_buffer"));
        assert!(h.contains("coverage/html/index.html"));
        let gone = Cov {
            unavailable: Some("llvm-tools missing".into()),
            ..Cov::default()
        };
        assert!(
            coverage_section(Some(&gone), &[])
                .contains("source coverage unavailable: llvm-tools missing")
        );
        assert!(coverage_section(None, &[]).contains("phase skipped"));
    }
}
