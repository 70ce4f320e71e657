//! HTML escaping and the SVG line and bar charts the lab's pages share (the nightly report, the
//! trace viewer, diffs): self-contained markup, no scripts, no network.

use std::fmt::Write as _;

/// HTML-escape.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const COLOURS: &[&str] = &[
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

/// A named polyline.
pub type Series = (String, Vec<(f64, f64)>);

/// A line chart: each series a polyline over (x, y); axes from 0 to the maxima.
pub fn line_chart(title: &str, x_label: &str, series: &[Series]) -> String {
    let (w, h, l, b, t, r) = (420.0, 230.0, 50.0, 30.0, 22.0, 110.0);
    let xmax = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|q| q.0))
        .fold(0.0f64, f64::max)
        .max(1.0);
    let ymax = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|q| q.1))
        .fold(0.0f64, f64::max)
        .max(1.0);
    let px = |x: f64| l + x / xmax * (w - l - r);
    let py = |y: f64| h - b - y / ymax * (h - b - t);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" class=\"chart\">\
<text x=\"{l}\" y=\"14\" font-size=\"12\" font-weight=\"bold\">{}</text>\
<line x1=\"{l}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#444\"/>\
<line x1=\"{l}\" y1=\"{t}\" x2=\"{l}\" y2=\"{}\" stroke=\"#444\"/>\
<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\">{}</text>\
<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\">{:.0}</text>\
<text x=\"{}\" y=\"{}\" font-size=\"10\">0</text>\
<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\">{:.0}</text>",
        esc(title),
        h - b,
        w - r,
        h - b,
        h - b,
        w - r,
        h - 4.0,
        esc(x_label),
        l - 4.0,
        t + 8.0,
        ymax,
        l - 10.0,
        h - b + 4.0,
        w - r,
        h - b + 12.0,
        xmax,
    );
    for (i, (name, pts)) in series.iter().enumerate() {
        let c = COLOURS[i % COLOURS.len()];
        let path: Vec<String> = pts
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", px(*x), py(*y)))
            .collect();
        if path.len() == 1 {
            let _ = write!(
                s,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{c}\"/>",
                px(pts[0].0),
                py(pts[0].1)
            );
        } else if !path.is_empty() {
            let _ = write!(
                s,
                "<polyline fill=\"none\" stroke=\"{c}\" stroke-width=\"1.5\" points=\"{}\"/>",
                path.join(" ")
            );
        }
        let _ = write!(
            s,
            "<rect x=\"{}\" y=\"{}\" width=\"10\" height=\"3\" fill=\"{c}\"/>\
<text x=\"{}\" y=\"{}\" font-size=\"10\">{}</text>",
            w - r + 8.0,
            t + 4.0 + 13.0 * i as f64,
            w - r + 22.0,
            t + 8.0 + 13.0 * i as f64,
            esc(name)
        );
    }
    s.push_str("</svg>");
    s
}

/// A horizontal bar chart.
pub fn bar_chart(title: &str, unit: &str, bars: &[(String, f64)]) -> String {
    let row = 14.0;
    let (w, l, t) = (640.0, 230.0, 22.0);
    let h = t + row * bars.len() as f64 + 8.0;
    let max = bars.iter().map(|b| b.1).fold(0.0f64, f64::max).max(1.0);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" class=\"chart\">\
<text x=\"4\" y=\"14\" font-size=\"12\" font-weight=\"bold\">{}</text>",
        esc(title)
    );
    for (i, (name, v)) in bars.iter().enumerate() {
        let y = t + row * i as f64;
        let len = v / max * (w - l - 90.0);
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\">{}</text>\
<rect x=\"{l}\" y=\"{}\" width=\"{len:.1}\" height=\"{}\" fill=\"#1f77b4\"/>\
<text x=\"{}\" y=\"{}\" font-size=\"10\">{v:.0} {}</text>",
            l - 4.0,
            y + 10.0,
            esc(name),
            y + 2.0,
            row - 4.0,
            l + len + 4.0,
            y + 10.0,
            esc(unit)
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_well_formed_svg() {
        let c = line_chart(
            "cov <x>",
            "executions",
            &[
                ("5.5".into(), vec![(0.0, 1.0), (10.0, 5.0)]),
                ("4.0".into(), vec![(3.0, 2.0)]),
            ],
        );
        assert!(c.starts_with("<svg") && c.ends_with("</svg>"));
        assert!(c.contains("cov &lt;x&gt;") && c.contains("<polyline") && c.contains("<circle"));
        let b = bar_chart("exec/s", "exec/s", &[("a".into(), 5.0), ("b".into(), 0.0)]);
        assert_eq!(b.matches("<rect").count(), 2);
    }
}
