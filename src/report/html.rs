//! `report.html`: the allocation (or a budget sweep) as one page a steering committee can
//! read on a phone or on paper.
//!
//! The page is a single self-contained file: inline CSS, charts as inline SVG, no script,
//! no font or image to fetch, so it opens offline and can be mailed as it is. It shows
//! aggregates only, never a name or an applicant id, and every text that comes from input
//! (city, trade, check and funder names, the programme name) is escaped. Nothing depends on
//! time: the same inputs always write the same bytes.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::allocate::Allocation;
use crate::assessment::Eligibility;
use crate::decision::Decision;
use crate::error::Result;
use crate::report::allocation::{ConstraintSummary, Summary, Tally};
use crate::scenario::{Objective, Scenario};

/// One point of a budget sweep, for [`write_sweep_report`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct FrontierPoint {
    /// `budget.total` of the point (the funders' total where the scenario has none), MAD.
    pub budget: i64,
    /// Applicants served.
    pub served: u64,
    /// Value of the allocation in the scenario's objective.
    pub objective: f64,
    /// Proven upper bound on the objective.
    pub bound: f64,
    /// Money allocated, MAD.
    pub spent: i64,
}

/// Writes `report.html` for one allocation: headline totals, spend by funder, city and
/// trade against their limits, served vs eligible vs applicants per city, women's share
/// against the quota, the score distribution of funded and unfunded eligible applicants,
/// the checks that excluded applicants, and the constraints with their shadow prices.
pub(crate) fn write_report(path: &Path, scenario: &Scenario, alloc: &Allocation) -> Result<()> {
    let html = render_report(scenario, &alloc.decisions, &alloc.summary);
    crate::output::write_file(path, html.as_bytes())
}

/// Writes a sweep's page: the frontier (people served and objective against the budget)
/// and a table of the points.
pub fn write_sweep_report(path: &Path, title: &str, points: &[FrontierPoint]) -> Result<()> {
    crate::output::write_file(path, render_sweep(title, points).as_bytes())
}

// ---------------------------------------------------------------------------------------
// Text and numbers

/// Escapes text for HTML content and attribute values (also inside inline SVG).
pub(crate) fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(ch),
        }
    }
    o
}

/// At most `n` characters, with an ellipsis when cut (escape afterwards).
fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut o: String = s.chars().take(n.saturating_sub(1)).collect();
        o.push('…');
        o
    }
}

/// Digits grouped by thousands: `1234567` → `1,234,567`.
fn group(digits: &str) -> String {
    let mut o = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            o.push(',');
        }
        o.push(ch);
    }
    o
}

/// A whole number with thousands separators.
fn int(v: i64) -> String {
    super::thousands(v)
}

/// A number with `d` decimals and thousands separators; never `-0`.
fn dec(v: f64, d: usize) -> String {
    if !v.is_finite() {
        return "–".to_string();
    }
    let s = format!("{:.*}", d, v.abs());
    let (whole, frac) = s.split_once('.').map_or((s.as_str(), ""), |(w, f)| (w, f));
    let mut o = group(whole);
    if !frac.is_empty() {
        o.push('.');
        o.push_str(frac);
    }
    if v < 0.0 && o.chars().any(|c| c.is_ascii_digit() && c != '0') {
        o.insert(0, '-');
    }
    o
}

/// A share (0-1) as a percentage with one decimal.
fn pct(v: f64) -> String {
    format!("{}%", dec(100.0 * v, 1))
}

/// `part / whole` as a share, 0 when `whole` is 0.
fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// A coordinate for SVG: one decimal, no `-0.0`.
fn c(v: f64) -> String {
    let s = format!("{:.1}", if v.is_finite() { v } else { 0.0 });
    match s.strip_suffix(".0") {
        Some("-0") => "0".to_string(),
        Some(w) => w.to_string(),
        None => s,
    }
}

/// Round tick positions covering `[lo, hi]`, about `n` of them.
fn ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let (lo, hi) = if hi > lo { (lo, hi) } else { (lo, lo + 1.0) };
    let raw = (hi - lo) / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).floor() * step;
    let mut out = Vec::new();
    let mut k = 0;
    loop {
        let t = first + k as f64 * step;
        out.push(t);
        if t >= hi - step * 1e-9 || k > 50 {
            break;
        }
        k += 1;
    }
    out
}

/// A tick label: whole numbers with separators, else up to two decimals.
fn tick_label(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        dec(v, 0)
    } else if (v * 10.0 - (v * 10.0).round()).abs() < 1e-9 {
        dec(v, 1)
    } else {
        dec(v, 2)
    }
}

// ---------------------------------------------------------------------------------------
// Charts (inline SVG). Widths are viewBox units; the SVG scales to its card.

const W: f64 = 440.0;
const BLUE: &str = "#2b6cb0";
const ORANGE: &str = "#dd6b20";
const TRACK: &str = "#e2e8f0";
const GREY: &str = "#a0aec0";
const RED: &str = "#c53030";

fn svg_open(o: &mut String, id: &str, title: &str, w: f64, h: f64) {
    let _ = write!(
        o,
        "<svg id=\"{id}\" class=\"chart\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"{}\">\
         <title>{}</title>",
        c(w),
        c(h),
        esc(title),
        esc(title)
    );
}

fn text(o: &mut String, x: f64, y: f64, anchor: &str, class: &str, s: &str) {
    let _ = write!(
        o,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\"{}>{}</text>",
        c(x),
        c(y),
        if class.is_empty() {
            String::new()
        } else {
            format!(" class=\"{class}\"")
        },
        esc(s)
    );
}

fn rect(o: &mut String, x: f64, y: f64, w: f64, h: f64, fill: &str) {
    let _ = write!(
        o,
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{fill}\"/>",
        c(x),
        c(y),
        c(w.max(0.0)),
        c(h.max(0.0))
    );
}

fn line(o: &mut String, x1: f64, y1: f64, x2: f64, y2: f64, stroke: &str, extra: &str) {
    let _ = write!(
        o,
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{stroke}\"{extra}/>",
        c(x1),
        c(y1),
        c(x2),
        c(y2)
    );
}

/// A legend: colour swatches with labels, on one line at `y`.
fn legend(o: &mut String, y: f64, items: &[(&str, &str)]) {
    let mut x = 0.0;
    for (colour, label) in items {
        rect(o, x, y - 9.0, 10.0, 10.0, colour);
        text(o, x + 14.0, y, "start", "small", label);
        x += 26.0 + 7.5 * label.chars().count() as f64;
    }
}

/// One row of a horizontal bar chart.
struct Bar {
    label: String,
    value: f64,
    limit: Option<f64>,
    note: String,
}

/// Horizontal bars, the label above each bar and its value on the right; a grey track and
/// a dark tick mark the limit, and a bar that reaches its limit turns orange.
fn hbar_chart(id: &str, title: &str, bars: &[Bar], colour: &str) -> String {
    let mut o = String::new();
    if bars.is_empty() {
        svg_open(&mut o, id, title, W, 30.0);
        text(&mut o, 0.0, 20.0, "start", "muted", "Nothing to show.");
        o.push_str("</svg>");
        return o;
    }
    let has_limits = bars.iter().any(|b| b.limit.is_some());
    let top = if has_limits { 22.0 } else { 0.0 };
    let row = 38.0;
    let h = top + row * bars.len() as f64;
    svg_open(&mut o, id, title, W, h);
    if has_limits {
        legend(
            &mut o,
            12.0,
            &[
                (colour, "spent"),
                (ORANGE, "limit reached"),
                (TRACK, "limit"),
            ],
        );
    }
    let max = bars
        .iter()
        .map(|b| b.value.max(b.limit.unwrap_or(0.0)))
        .fold(0.0, f64::max)
        .max(1e-9);
    let scale = W / max;
    for (i, b) in bars.iter().enumerate() {
        let y = top + row * i as f64;
        let _ = write!(o, "<g><title>{}</title>", esc(&b.label));
        text(&mut o, 0.0, y + 14.0, "start", "", &clip(&b.label, 30));
        text(&mut o, W, y + 14.0, "end", "num", &b.note);
        let full = b.limit.is_some_and(|l| l > 0.0 && b.value >= l - 0.5);
        if let Some(l) = b.limit {
            rect(&mut o, 0.0, y + 19.0, l * scale, 13.0, TRACK);
        }
        rect(
            &mut o,
            0.0,
            y + 19.0,
            b.value * scale,
            13.0,
            if full { ORANGE } else { colour },
        );
        if let Some(l) = b.limit {
            let x = (l * scale).clamp(1.0, W - 1.0);
            line(
                &mut o,
                x,
                y + 16.0,
                x,
                y + 35.0,
                "#1a202c",
                " stroke-width=\"2\"",
            );
        }
        o.push_str("</g>");
    }
    o.push_str("</svg>");
    o
}

/// Per city, three bars: applicants, eligible, served.
fn served_chart(by_city: &BTreeMap<String, Tally>) -> String {
    let id = "chart-served";
    let title = "Applicants, eligible and served per city";
    let mut o = String::new();
    let cities: Vec<_> = by_city.iter().filter(|(_, t)| t.applicants > 0).collect();
    let row = 58.0;
    let top = 22.0;
    let h = top + row * cities.len().max(1) as f64;
    svg_open(&mut o, id, title, W, h);
    let series = [
        (GREY, "applicants"),
        ("#90cdf4", "eligible"),
        (BLUE, "served"),
    ];
    legend(&mut o, 12.0, &series);
    if cities.is_empty() {
        text(&mut o, 0.0, top + 20.0, "start", "muted", "No applicants.");
    }
    let max = cities
        .iter()
        .map(|(_, t)| t.applicants)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let scale = (W - 44.0) / max;
    for (i, (city, t)) in cities.iter().enumerate() {
        let y = top + row * i as f64;
        let _ = write!(o, "<g><title>{}</title>", esc(city));
        text(&mut o, 0.0, y + 14.0, "start", "", &clip(city, 34));
        text(
            &mut o,
            W,
            y + 14.0,
            "end",
            "num",
            &format!(
                "{} of {} eligible",
                int(t.served as i64),
                int(t.eligible as i64)
            ),
        );
        for (k, (v, (colour, _))) in [t.applicants, t.eligible, t.served]
            .iter()
            .zip(series)
            .enumerate()
        {
            let by = y + 19.0 + 12.0 * k as f64;
            let w = *v as f64 * scale;
            rect(&mut o, 0.0, by, w, 10.0, colour);
            text(&mut o, w + 4.0, by + 9.5, "start", "small", &int(*v as i64));
        }
        o.push_str("</g>");
    }
    o.push_str("</svg>");
    o
}

/// Women's share among applicants, eligible and served, with the quota's bounds.
fn women_chart(s: &Summary, quota: (Option<f64>, Option<f64>)) -> String {
    let id = "chart-women";
    let title = "Women's share against the quota";
    let mut o = String::new();
    let (top, row) = (26.0, 40.0);
    let h = top + row * 3.0 + 18.0;
    svg_open(&mut o, id, title, W, h);
    let f = s.by_gender.get("F").cloned().unwrap_or_default();
    let rows = [
        ("applicants", f.applicants, s.applicants, GREY),
        ("eligible", f.eligible, s.eligible, "#90cdf4"),
        ("served", f.served, s.served, BLUE),
    ];
    let plot_w = W - 8.0;
    for (i, (what, women, all, colour)) in rows.iter().enumerate() {
        let y = top + row * i as f64;
        let sh = share(*women, *all);
        text(
            &mut o,
            0.0,
            y + 14.0,
            "start",
            "",
            &format!("Women among those {what}"),
        );
        text(
            &mut o,
            W,
            y + 14.0,
            "end",
            "num",
            &format!(
                "{} of {} · {}",
                int(*women as i64),
                int(*all as i64),
                pct(sh)
            ),
        );
        rect(&mut o, 0.0, y + 19.0, plot_w, 14.0, TRACK);
        rect(&mut o, 0.0, y + 19.0, sh * plot_w, 14.0, colour);
    }
    let bottom = top + row * 3.0;
    for t in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let x = t * plot_w;
        line(&mut o, x, bottom - 4.0, x, bottom, "#718096", "");
        let anchor = if t == 0.0 {
            "start"
        } else if t == 1.0 {
            "end"
        } else {
            "middle"
        };
        text(&mut o, x, bottom + 13.0, anchor, "small", &pct(t));
    }
    let mut marks = Vec::new();
    if let Some(m) = quota.0 {
        marks.push((m, format!("quota ≥ {}", pct(m))));
    }
    if let Some(m) = quota.1 {
        marks.push((m, format!("quota ≤ {}", pct(m))));
    }
    if marks.is_empty() {
        text(
            &mut o,
            0.0,
            12.0,
            "start",
            "small",
            "No quota for women is set.",
        );
    }
    for (m, label) in marks {
        let x = m.clamp(0.0, 1.0) * plot_w;
        // A mark across each bar, not across the row labels.
        for i in 0..3 {
            let y = top + row * i as f64;
            line(
                &mut o,
                x,
                y + 16.0,
                x,
                y + 36.0,
                RED,
                " stroke-width=\"2.5\"",
            );
        }
        let anchor = if m > 0.75 { "end" } else { "start" };
        let dx = if m > 0.75 { -4.0 } else { 4.0 };
        text(&mut o, x + dx, 12.0, anchor, "small quota", &label);
    }
    o.push_str("</svg>");
    o
}

/// Histogram of eligible applicants' scores: funded and unfunded side by side per bin.
fn score_chart(funded: &[f64], unfunded: &[f64]) -> String {
    let id = "chart-scores";
    let title = "Scores of eligible applicants, funded and not funded";
    let mut o = String::new();
    let (h, left, right, top, bottom) = (240.0, 34.0, 6.0, 34.0, 36.0);
    svg_open(&mut o, id, title, W, h);
    legend(
        &mut o,
        12.0,
        &[(BLUE, "funded"), (ORANGE, "eligible, not funded")],
    );
    let all: Vec<f64> = funded.iter().chain(unfunded).copied().collect();
    if all.is_empty() {
        text(
            &mut o,
            left,
            top + 30.0,
            "start",
            "muted",
            "No eligible applicants.",
        );
        o.push_str("</svg>");
        return o;
    }
    let lo = all.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = all.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let edges = ticks(lo, hi + 1e-9, 10);
    let step = if edges.len() > 1 {
        edges[1] - edges[0]
    } else {
        1.0
    };
    let first = edges[0];
    let nbins = (((hi - first) / step).floor() as usize + 1).clamp(1, 60);
    let bin = |v: f64| (((v - first) / step).floor().max(0.0) as usize).min(nbins - 1);
    let mut counts = vec![(0u64, 0u64); nbins];
    for v in funded {
        counts[bin(*v)].0 += 1;
    }
    for v in unfunded {
        counts[bin(*v)].1 += 1;
    }
    let ymax = counts.iter().map(|(a, b)| (*a).max(*b)).max().unwrap_or(1) as f64;
    let yt = ticks(0.0, ymax.max(1.0), 4);
    let ytop = *yt.last().unwrap_or(&1.0);
    let (pw, ph) = (W - left - right, h - top - bottom);
    let y_of = |v: f64| top + ph - v / ytop * ph;
    for t in &yt {
        let y = y_of(*t);
        line(&mut o, left, y, W - right, y, TRACK, "");
        text(&mut o, left - 4.0, y + 4.0, "end", "small", &tick_label(*t));
    }
    let bw = pw / nbins as f64;
    for (i, (a, b)) in counts.iter().enumerate() {
        let x = left + bw * i as f64;
        let w = bw * 0.4;
        rect(
            &mut o,
            x + bw * 0.1,
            y_of(*a as f64),
            w,
            *a as f64 / ytop * ph,
            BLUE,
        );
        rect(
            &mut o,
            x + bw * 0.5,
            y_of(*b as f64),
            w,
            *b as f64 / ytop * ph,
            ORANGE,
        );
    }
    line(&mut o, left, top + ph, W - right, top + ph, "#4a5568", "");
    let every = nbins.div_ceil(8).max(1);
    for i in (0..=nbins).step_by(every) {
        let x = left + bw * i as f64;
        line(&mut o, x, top + ph, x, top + ph + 4.0, "#4a5568", "");
        text(
            &mut o,
            x,
            top + ph + 16.0,
            "middle",
            "small",
            &tick_label(first + step * i as f64),
        );
    }
    text(&mut o, left + pw / 2.0, h - 2.0, "middle", "small", "score");
    o.push_str("</svg>");
    o
}

/// Two panels sharing the budget axis: people served, then objective and bound.
fn frontier_chart(points: &[FrontierPoint]) -> String {
    let id = "chart-frontier";
    let title = "People served and objective against the budget";
    let (w, panel, gap, left, right, top) = (640.0, 200.0, 56.0, 64.0, 34.0, 26.0);
    let h = top + 2.0 * panel + gap + 40.0;
    let mut o = String::new();
    svg_open(&mut o, id, title, w, h);
    if points.is_empty() {
        text(&mut o, left, top + 30.0, "start", "muted", "No points.");
        o.push_str("</svg>");
        return o;
    }
    let bmin = points.iter().map(|p| p.budget).min().unwrap_or(0) as f64;
    let bmax = points.iter().map(|p| p.budget).max().unwrap_or(0) as f64;
    let (bmin, bmax) = if bmax > bmin {
        (bmin, bmax)
    } else {
        (bmin - 1.0, bmax + 1.0)
    };
    let xt = ticks(bmin, bmax, 5);
    let (x0, x1) = (
        xt[0].min(bmin),
        xt.last().copied().unwrap_or(bmax).max(bmax),
    );
    let pw = w - left - right;
    let x_of = |b: f64| left + (b - x0) / (x1 - x0) * pw;
    type Series<'a> = (&'a str, &'a str, Vec<(f64, f64)>);
    let panels: [(&str, Vec<Series>); 2] = [
        (
            "People served",
            vec![(
                "served",
                BLUE,
                points
                    .iter()
                    .map(|p| (p.budget as f64, p.served as f64))
                    .collect(),
            )],
        ),
        (
            "Objective",
            vec![
                (
                    "objective",
                    ORANGE,
                    points
                        .iter()
                        .map(|p| (p.budget as f64, p.objective))
                        .collect(),
                ),
                (
                    "proven bound",
                    GREY,
                    points.iter().map(|p| (p.budget as f64, p.bound)).collect(),
                ),
            ],
        ),
    ];
    for (k, (name, series)) in panels.iter().enumerate() {
        let ptop = top + k as f64 * (panel + gap);
        let ys: Vec<f64> = series
            .iter()
            .flat_map(|s| s.2.iter().map(|p| p.1))
            .filter(|v| v.is_finite())
            .collect();
        let ylo = ys.iter().copied().fold(f64::INFINITY, f64::min).min(0.0);
        let yhi = ys
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max)
            .max(1.0);
        let yt = ticks(ylo, yhi, 4);
        let (y0, y1) = (yt[0], *yt.last().unwrap_or(&yhi));
        let y_of = |v: f64| ptop + panel - (v - y0) / (y1 - y0).max(1e-9) * panel;
        text(&mut o, 0.0, ptop - 10.0, "start", "head", name);
        let mut lx = left + 110.0;
        for (label, colour, _) in series {
            line(
                &mut o,
                lx,
                ptop - 14.0,
                lx + 16.0,
                ptop - 14.0,
                colour,
                " stroke-width=\"3\"",
            );
            text(&mut o, lx + 20.0, ptop - 10.0, "start", "small", label);
            lx += 40.0 + 6.5 * label.len() as f64;
        }
        for t in &yt {
            let y = y_of(*t);
            line(&mut o, left, y, w - right, y, TRACK, "");
            text(&mut o, left - 6.0, y + 4.0, "end", "small", &tick_label(*t));
        }
        for t in &xt {
            let x = x_of(*t);
            line(
                &mut o,
                x,
                ptop + panel,
                x,
                ptop + panel + 4.0,
                "#4a5568",
                "",
            );
            text(
                &mut o,
                x,
                ptop + panel + 16.0,
                "middle",
                "small",
                &tick_label(*t),
            );
        }
        line(
            &mut o,
            left,
            ptop + panel,
            w - right,
            ptop + panel,
            "#4a5568",
            "",
        );
        for (si, (_, colour, pts)) in series.iter().enumerate() {
            let path: Vec<String> = pts
                .iter()
                .map(|(b, v)| format!("{},{}", c(x_of(*b)), c(y_of(*v))))
                .collect();
            let dash = if si > 0 {
                " stroke-dasharray=\"6 4\""
            } else {
                ""
            };
            let _ = write!(
                o,
                "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2.5\"{dash}/>",
                path.join(" ")
            );
            for (b, v) in pts {
                let _ = write!(
                    o,
                    "<circle cx=\"{}\" cy=\"{}\" r=\"3.5\" fill=\"{colour}\"/>",
                    c(x_of(*b)),
                    c(y_of(*v))
                );
            }
        }
    }
    text(
        &mut o,
        left + pw / 2.0,
        h - 6.0,
        "middle",
        "small",
        "total budget (MAD)",
    );
    o.push_str("</svg>");
    o
}

// ---------------------------------------------------------------------------------------
// Pages

pub(crate) const CSS: &str = "\
:root{--ink:#1a202c;--muted:#4a5568;--line:#e2e8f0;--bg:#f7fafc;--card:#fff;--accent:#2b6cb0}
*{box-sizing:border-box;-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,\"Helvetica Neue\",Arial,sans-serif}
main{max-width:1120px;margin:0 auto;padding:16px}
header{margin:8px 0 16px}
h1{font-size:1.5rem;line-height:1.25;margin:0 0 4px}
h2{font-size:1.05rem;margin:0 0 8px}
p{margin:4px 0}
.muted,.sub{color:var(--muted)}
.kpis{display:grid;grid-template-columns:repeat(2,1fr);gap:10px;margin-bottom:14px}
@media (min-width:640px){.kpis{grid-template-columns:repeat(3,1fr)}}
@media (min-width:1100px){.kpis{grid-template-columns:repeat(6,1fr)}}
.kpi{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 12px}
.kpi .k{display:block;font-size:.8rem;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
.kpi b{display:block;font-size:1.35rem;font-variant-numeric:tabular-nums;margin:2px 0;white-space:nowrap}
.kpi b small{font-size:.9rem;font-weight:600;color:var(--muted)}
.kpi .sub{display:block;font-size:.85rem}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(400px,1fr));gap:14px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:14px;min-width:0}
.wide{grid-column:1/-1}
.note{font-size:.85rem;color:var(--muted);margin-top:6px}
svg.chart{display:block;width:100%;height:auto;overflow:visible}
svg text{font-size:13px;fill:var(--ink)}
svg text.small{font-size:11px;fill:var(--muted)}
svg text.num{font-variant-numeric:tabular-nums;fill:var(--muted)}
svg text.head{font-size:14px;font-weight:600}
svg text.quota{fill:#c53030;font-weight:600}
svg text.muted{fill:var(--muted)}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-weight:600;color:var(--muted);font-size:.8rem;text-transform:uppercase;letter-spacing:.03em}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85em;overflow-wrap:anywhere}
td.id{white-space:nowrap}
footer{margin:18px 0 8px;font-size:.8rem;color:var(--muted)}
@media (max-width:520px){main{padding:10px}h1{font-size:1.25rem}.kpi b{font-size:1.25rem}.grid{grid-template-columns:1fr}svg text{font-size:14.5px}svg text.small{font-size:12.5px}}
@media print{body{background:#fff;font-size:11pt}.kpis{grid-template-columns:repeat(3,1fr)}main{max-width:none;padding:0}.card,.kpi{border-color:#cbd5e0;break-inside:avoid}.grid{grid-template-columns:1fr 1fr}.wide{break-inside:auto}@page{margin:12mm}}
";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"color-scheme\" content=\"light\">\n\
         <title>{}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n<main>\n{body}</main>\n</body>\n</html>\n",
        esc(title)
    )
}

/// A headline number: `value` (escaped) in an element with a stable `id` and the raw
/// number in `data-value`, an optional unit, and a line of HTML under it.
fn kpi(o: &mut String, label: &str, id: &str, data: &str, value: &str, unit: &str, sub: &str) {
    let _ = writeln!(
        o,
        "<div class=\"kpi\"><span class=\"k\">{}</span><b id=\"{id}\" data-value=\"{}\">{}{}</b>\
         <span class=\"sub\">{sub}</span></div>",
        esc(label),
        esc(data),
        esc(value),
        if unit.is_empty() {
            String::new()
        } else {
            format!(" <small>{}</small>", esc(unit))
        }
    );
}

fn card(o: &mut String, title: &str, chart: &str, note: &str, wide: bool) {
    let _ = writeln!(
        o,
        "<section class=\"card{}\"><h2>{}</h2>\n{chart}\n{}</section>",
        if wide { " wide" } else { "" },
        esc(title),
        if note.is_empty() {
            String::new()
        } else {
            format!("<p class=\"note\">{note}</p>")
        }
    );
}

/// The women's quota: the one named `women`, else one whose rule tests `gender == "F"`.
fn women_quota(scenario: &Scenario) -> (Option<f64>, Option<f64>) {
    let compact = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    scenario
        .quotas
        .iter()
        .find(|q| q.name.eq_ignore_ascii_case("women"))
        .or_else(|| {
            scenario.quotas.iter().find(|q| {
                let w = compact(&q.when);
                w.contains("gender==\"F\"") || w.contains("gender=='F'")
            })
        })
        .map_or((None, None), |q| (q.min_share, q.max_share))
}

/// How a constraint's limit is counted.
#[derive(Clone, Copy, PartialEq)]
enum Unit {
    Money,
    Kits,
    Share,
    People,
}

fn unit_of(name: &str) -> Unit {
    if name.starts_with("budget.") || name.starts_with("funder.") {
        Unit::Money
    } else if name.starts_with("kit.") {
        Unit::Kits
    } else if name.ends_with("_share") {
        Unit::Share
    } else {
        Unit::People
    }
}

fn amount(u: Unit, v: f64, cur: &str) -> String {
    match u {
        Unit::Money => format!("{} {cur}", dec(v, 0)),
        Unit::Kits => format!("{} kits", dec(v, 0)),
        Unit::Share => pct(v),
        Unit::People => format!("{} people", dec(v, 0)),
    }
}

/// The shadow price in a unit a planner can picture.
fn shadow(u: Unit, p: f64, objective_unit: &str, cur: &str) -> String {
    match u {
        Unit::Money => format!("{} {objective_unit} per 1,000 {cur}", dec(1000.0 * p, 2)),
        Unit::Kits => format!("{} {objective_unit} per kit", dec(p, 2)),
        Unit::Share => format!(
            "{} {objective_unit} per percentage point",
            dec(p / 100.0, 2)
        ),
        Unit::People => format!("{} {objective_unit} per person", dec(p, 2)),
    }
}

fn constraint_tables(o: &mut String, s: &Summary, objective_unit: &str, unfunded: &str) {
    let cur = s.currency.as_str();
    let (binding, slack): (Vec<&ConstraintSummary>, Vec<_>) =
        s.constraints.iter().partition(|c| c.binding);
    o.push_str("<section class=\"card wide\"><h2>What holds the programme back</h2>\n");
    if binding.is_empty() {
        o.push_str("<p id=\"table-binding\">No constraint binds: every eligible applicant who could be funded was.</p>\n");
    } else {
        o.push_str(
            "<p class=\"note\">Binding constraints, with their shadow price from the LP relaxation: \
             how much the objective would gain per unit more of the limit.</p>\n\
             <div class=\"table-wrap\"><table id=\"table-binding\"><thead><tr><th>Constraint</th>\
             <th class=\"n\">Limit</th><th class=\"n\">Used</th><th class=\"n\">Shadow price</th>\
             <th>What more would buy</th></tr></thead><tbody>\n",
        );
        for c in binding {
            let u = unit_of(&c.name);
            let _ =
                writeln!(
                o,
                "<tr><td class=\"id\"><code>{}</code></td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
                 <td class=\"n\">{}</td><td>{}</td></tr>",
                esc(&c.name),
                esc(&amount(u, c.limit, cur)),
                esc(&amount(u, c.used, cur)),
                esc(&c
                    .shadow_price
                    .map_or("–".to_string(), |p| shadow(u, p, objective_unit, cur))),
                esc(c.per_1000_mad.as_deref().unwrap_or(
                    if c.shadow_price.is_some_and(|p| p > 0.0) {
                        ""
                    } else {
                        "Nothing: the limit is met exactly, but more of it alone would not help."
                    }
                ))
            );
        }
        o.push_str("</tbody></table></div>\n");
    }
    if !slack.is_empty() {
        o.push_str(
            "<h2 style=\"margin-top:14px\">Constraints with room to spare</h2>\n\
             <div class=\"table-wrap\"><table id=\"table-constraints\"><thead><tr><th>Constraint</th>\
             <th class=\"n\">Limit</th><th class=\"n\">Used</th></tr></thead><tbody>\n",
        );
        for c in slack {
            let u = unit_of(&c.name);
            let _ = writeln!(
                o,
                "<tr><td><code>{}</code></td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                esc(&c.name),
                esc(&amount(u, c.limit, cur)),
                esc(&amount(u, c.used, cur)),
            );
        }
        o.push_str("</tbody></table></div>\n");
    }
    o.push_str(unfunded);
    o.push_str("</section>\n");
}

fn render_report(scenario: &Scenario, decisions: &[Decision], s: &Summary) -> String {
    page(
        &format!("{} — allocation report", s.program),
        &report_body(scenario, decisions, s),
    )
}

/// The report's content without the page around it (the what-if page of `idmaj serve`
/// shows it under its form, with [`CSS`]).
pub(crate) fn report_body(scenario: &Scenario, decisions: &[Decision], s: &Summary) -> String {
    let cur = s.currency.as_str();
    let mut o = String::new();
    let (objective_unit, obj_decimals) = match scenario.objective {
        Objective::Served => ("people", 0),
        _ => ("score", 2),
    };

    let what_if = if s.overrides.is_empty() {
        String::new()
    } else {
        format!(" · what-if: {}", esc(&s.overrides.join(", ")))
    };
    let _ = writeln!(
        o,
        "<header><h1>{}</h1><p class=\"sub\">Allocation report · programme date {} · \
         objective: {} · amounts in {}{what_if}</p></header>",
        esc(&s.program),
        scenario.program.date,
        esc(&s.objective_kind),
        esc(cur)
    );

    // Headline totals.
    o.push_str("<section class=\"kpis\">\n");
    kpi(
        &mut o,
        "Applicants",
        "total-applicants",
        &s.applicants.to_string(),
        &int(s.applicants as i64),
        "",
        "on the list",
    );
    kpi(
        &mut o,
        "Eligible",
        "total-eligible",
        &s.eligible.to_string(),
        &int(s.eligible as i64),
        "",
        &format!("{} of applicants", pct(share(s.eligible, s.applicants))),
    );
    let options = s
        .by_option
        .iter()
        .map(|(k, t)| format!("{} {}", int(t.served as i64), esc(k)))
        .collect::<Vec<_>>()
        .join(", ");
    kpi(
        &mut o,
        "Served",
        "total-served",
        &s.served.to_string(),
        &int(s.served as i64),
        "",
        &format!(
            "{} of eligible{}",
            pct(share(s.served, s.eligible)),
            if options.is_empty() {
                String::new()
            } else {
                format!(" · {options}")
            }
        ),
    );
    let budget_sub = match s.budget_total {
        Some(b) => format!(
            "of a <span id=\"total-budget\" data-value=\"{b}\">{} {}</span> budget ({})",
            int(b),
            esc(cur),
            pct(if b > 0 {
                s.spent as f64 / b as f64
            } else {
                0.0
            })
        ),
        None => "no total budget set".to_string(),
    };
    kpi(
        &mut o,
        "Spent",
        "total-spent",
        &s.spent.to_string(),
        &int(s.spent),
        cur,
        &budget_sub,
    );
    let women = s.by_gender.get("F").map_or(0, |t| t.served);
    let women_share = share(women, s.served);
    let quota = women_quota(scenario);
    let quota_text = match quota {
        (Some(lo), Some(hi)) => format!("quota {} to {}", pct(lo), pct(hi)),
        (Some(lo), None) => format!("quota ≥ {}", pct(lo)),
        (None, Some(hi)) => format!("quota ≤ {}", pct(hi)),
        (None, None) => "no quota".to_string(),
    };
    kpi(
        &mut o,
        "Women served",
        "total-women",
        &format!("{women_share:.6}"),
        &pct(women_share),
        "",
        &format!(
            "{} of {} · {}",
            int(women as i64),
            int(s.served as i64),
            esc(&quota_text)
        ),
    );
    let status = if s.proven_optimal {
        "proven optimal"
    } else if s.timed_out {
        "time limit reached: best found"
    } else if s.work_limit_reached {
        "search budget reached: best found"
    } else {
        "within the gap tolerance"
    };
    kpi(
        &mut o,
        &format!("Objective ({})", s.objective_kind),
        "total-objective",
        &s.objective.to_string(),
        &dec(s.objective, obj_decimals),
        "",
        &format!(
            "bound <span id=\"total-bound\" data-value=\"{}\">{}</span> · gap \
             <span id=\"total-gap\" data-value=\"{}\">{}</span> · {status}",
            s.bound,
            dec(s.bound, obj_decimals),
            s.gap,
            format_args!("{}%", dec(100.0 * s.gap, 2)),
        ),
    );
    o.push_str("</section>\n<div class=\"grid\">\n");

    // Spend by funder, city, trade.
    let funders: Vec<Bar> = s
        .by_funder
        .iter()
        .map(|(f, t)| Bar {
            label: f.clone(),
            value: t.spent as f64,
            limit: t.limit.map(|l| l as f64),
            note: money_note(t, cur),
        })
        .collect();
    let mut c_funders = String::new();
    card(
        &mut c_funders,
        "Spend by funder",
        &hbar_chart(
            "chart-funders",
            "Spend by funder against its amount",
            &funders,
            BLUE,
        ),
        "The dark mark is the funder's amount. A person may be paid for by more than one funder.",
        false,
    );
    let cities: Vec<Bar> = s
        .by_city
        .iter()
        .filter(|(_, t)| t.applicants > 0 || t.limit.is_some())
        .map(|(city, t)| Bar {
            label: city.clone(),
            value: t.spent as f64,
            limit: t.limit.map(|l| l as f64),
            note: money_note(t, cur),
        })
        .collect();
    let capped = s.by_city.values().filter(|t| t.limit.is_some()).count();
    let mut c_cities = String::new();
    card(
        &mut c_cities,
        "Spend by city",
        &hbar_chart(
            "chart-cities",
            "Spend by city against its cap",
            &cities,
            BLUE,
        ),
        &if capped == 0 {
            "No city has a cap.".to_string()
        } else {
            format!(
                "{capped} {} a cap (dark mark).",
                if capped == 1 {
                    "city has"
                } else {
                    "cities have"
                }
            )
        },
        false,
    );
    let mut trades: Vec<(&String, &Tally)> = s
        .by_trade
        .iter()
        .filter(|(_, t)| t.applicants > 0)
        .collect();
    trades.sort_by(|a, b| b.1.spent.cmp(&a.1.spent).then(a.0.cmp(b.0)));
    let trades: Vec<Bar> = trades
        .into_iter()
        .map(|(tr, t)| Bar {
            label: tr.replace('_', " "),
            value: t.spent as f64,
            limit: None,
            note: format!("{} {cur} · {} served", int(t.spent), int(t.served as i64)),
        })
        .collect();
    let mut c_trades = String::new();
    card(
        &mut c_trades,
        "Spend by trade",
        &hbar_chart("chart-trades", "Spend by planned trade", &trades, "#2c7a7b"),
        "",
        false,
    );
    let mut c_served = String::new();
    card(
        &mut c_served,
        "Served, eligible and applicants per city",
        &served_chart(&s.by_city),
        "",
        false,
    );
    let mut c_women = String::new();
    card(
        &mut c_women,
        "Women against the quota",
        &women_chart(s, quota),
        "The red mark is the quota on the share of women among those served.",
        false,
    );

    // Score distribution.
    let mut funded = Vec::new();
    let mut unfunded = Vec::new();
    for d in decisions {
        if d.status == Eligibility::Eligible && d.score.is_finite() {
            if d.funded() {
                funded.push(d.score);
            } else {
                unfunded.push(d.score);
            }
        }
    }
    let mut c_scores = String::new();
    card(
        &mut c_scores,
        "Score distribution",
        &score_chart(&funded, &unfunded),
        &format!(
            "{} eligible applicants funded, {} not funded. A high score left unfunded usually \
             asked for more money than the budget's cut-off allowed.",
            int(funded.len() as i64),
            int(unfunded.len() as i64)
        ),
        false,
    );

    // Checks.
    let mut texts: BTreeMap<&str, &str> = BTreeMap::new();
    let mut errors = 0u64;
    for d in decisions {
        if d.status == Eligibility::Error {
            errors += 1;
        }
        for (id, text) in d.failed_checks.iter().zip(&d.reasons) {
            texts.entry(id.as_str()).or_insert(text.as_str());
        }
    }
    let mut checks: Vec<(&String, &u64)> = s.excluded_by.iter().collect();
    checks.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let bars: Vec<Bar> = checks
        .iter()
        .map(|(id, n)| Bar {
            label: (*id).clone(),
            value: **n as f64,
            limit: None,
            note: format!("{} applicants", int(**n as i64)),
        })
        .collect();
    let mut note = format!(
        "{} of {} applicants are not eligible; one may fail several checks.",
        int(s.applicants.saturating_sub(s.eligible) as i64),
        int(s.applicants as i64)
    );
    if errors > 0 {
        let _ = write!(
            note,
            " {} hit a rule error (see decisions.csv).",
            int(errors as i64)
        );
    }
    let chart = hbar_chart(
        "chart-checks",
        "Applicants excluded by each check",
        &bars,
        RED,
    );
    let mut c_checks = String::new();
    card(
        &mut c_checks,
        "Why applicants were excluded",
        &chart,
        &note,
        false,
    );
    let mut c_check_texts = String::new();
    if !checks.is_empty() {
        let mut t = String::from(
            "<div class=\"table-wrap\"><table id=\"table-checks\"><thead><tr><th>Check</th>\
             <th>What it requires</th><th class=\"n\">Excluded</th></tr></thead><tbody>",
        );
        for (id, n) in &checks {
            let _ = write!(
                t,
                "<tr><td class=\"id\"><code>{}</code></td><td>{}</td><td class=\"n\">{}</td></tr>",
                esc(id),
                esc(texts.get(id.as_str()).copied().unwrap_or("")),
                int(**n as i64)
            );
        }
        t.push_str("</tbody></table></div>");
        card(
            &mut c_check_texts,
            "What each check requires",
            &t,
            "",
            false,
        );
    }
    for part in [
        &c_funders,
        &c_women,
        &c_cities,
        &c_served,
        &c_trades,
        &c_scores,
        &c_checks,
        &c_check_texts,
    ] {
        o.push_str(part);
    }

    // Why eligible applicants were left out, grouped by what held them back.
    let mut held: BTreeMap<String, u64> = BTreeMap::new();
    for w in decisions.iter().filter_map(|d| d.why_not.as_ref()) {
        *held.entry(w.headline()).or_default() += 1;
    }
    let mut unfunded_table = String::new();
    if !held.is_empty() {
        let mut held: Vec<_> = held.into_iter().collect();
        held.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut t = String::from(
            "<h2 style=\"margin-top:14px\">Why eligible applicants were left unfunded</h2>\
             <div class=\"table-wrap\"><table id=\"table-unfunded\"><thead><tr><th>What was spent</th>\
             <th class=\"n\">Applicants</th></tr></thead><tbody>",
        );
        for (why, n) in held {
            let _ = write!(
                t,
                "<tr><td>{}</td><td class=\"n\">{}</td></tr>",
                esc(&why),
                int(n as i64)
            );
        }
        t.push_str(
            "</tbody></table></div><p class=\"note\">Each applicant's own reason is in \
             decisions.csv (why_not).</p>\n",
        );
        unfunded_table = t;
    }
    constraint_tables(&mut o, s, objective_unit, &unfunded_table);
    if s.unspent.amount > 0 {
        let _ = writeln!(
            o,
            "<p class=\"note\" id=\"unspent\">Unspent: {}.</p>",
            esc(&s.unspent.sentence(cur))
        );
    }
    o.push_str("</div>\n");
    let m = &s.manifest;
    let inputs = m
        .inputs
        .iter()
        .map(|i| {
            format!(
                "{} {} (sha256 {})",
                i.role,
                esc(&i.path),
                &i.sha256[..12.min(i.sha256.len())]
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let sets = if m.overrides.is_empty() {
        String::new()
    } else {
        format!("; --set {}", esc(&m.overrides.join(", --set ")))
    };
    let _ = writeln!(
        o,
        "<footer>Written by idmaj {} from the scenario and its applicant list. Aggregates only: \
         no applicant's name or id appears in this report.<br>Run: search {}{sets}; {inputs}.</footer>",
        esc(&m.idmaj_version),
        esc(&m.search)
    );
    o
}

fn money_note(t: &Tally, cur: &str) -> String {
    match t.limit {
        Some(l) => format!(
            "{} / {} {cur} · {} served",
            int(t.spent),
            int(l),
            int(t.served as i64)
        ),
        None => format!("{} {cur} · {} served", int(t.spent), int(t.served as i64)),
    }
}

fn render_sweep(title: &str, points: &[FrontierPoint]) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "<header><h1>{}</h1><p class=\"sub\">Budget sweep · {} points · amounts in MAD</p></header>",
        esc(title),
        points.len()
    );
    o.push_str(&frontier_cards(points));
    o.push_str("<footer>Written by idmaj ");
    o.push_str(env!("CARGO_PKG_VERSION"));
    o.push_str(".</footer>\n");
    page(title, &o)
}

/// The frontier chart and the table of its points, as a grid of cards.
pub(crate) fn frontier_cards(points: &[FrontierPoint]) -> String {
    let mut pts = points.to_vec();
    pts.sort_by_key(|p| p.budget);
    let mut o = String::from("<div class=\"grid\">\n");
    card(
        &mut o,
        "The frontier",
        &frontier_chart(&pts),
        "Each point is one allocation with that total budget. The dashed line is the proven \
         upper bound on the objective.",
        true,
    );
    let mut t = String::from(
        "<div class=\"table-wrap\"><table id=\"table-frontier\"><thead><tr>\
         <th class=\"n\">Budget (MAD)</th><th class=\"n\">Served</th><th class=\"n\">Spent (MAD)</th>\
         <th class=\"n\">Objective</th><th class=\"n\">Bound</th><th class=\"n\">Gap</th>\
         </tr></thead><tbody>\n",
    );
    for p in &pts {
        let gap = (p.bound - p.objective) / p.bound.abs().max(1e-9);
        let _ = writeln!(
            t,
            "<tr><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}%</td></tr>",
            int(p.budget),
            int(p.served as i64),
            int(p.spent),
            dec(p.objective, 2),
            dec(p.bound, 2),
            dec(100.0 * gap.max(0.0), 2)
        );
    }
    t.push_str("</tbody></table></div>");
    card(&mut o, "Points", &t, "", true);
    o.push_str("</div>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_self_contained(html: &str) {
        let lower = html.to_ascii_lowercase();
        for bad in [
            "http://", "https://", "//cdn", "<script", "<link", "<img", "<iframe", "src=", "url(",
            "@import",
        ] {
            assert!(!lower.contains(bad), "report.html contains {bad:?}");
        }
    }

    #[test]
    fn hostile_texts_are_escaped() {
        let engine = crate::Engine::load("scenarios/tangier-2016").unwrap();
        let mut assessments = engine.assess_scenario().unwrap();
        let evil = "</title><script>alert(1)</script><svg onload=alert(2)>\"'&";
        for a in assessments.iter_mut().take(5) {
            a.city = format!("City {evil}");
            a.trade = format!("trade {evil}");
        }
        let failing = assessments
            .iter_mut()
            .find(|a| a.failed().next().is_some())
            .expect("an ineligible applicant");
        for c in failing.checks.iter_mut().filter(|c| !c.passed) {
            c.id = format!("check {evil}");
            c.text = format!("text {evil}");
        }
        let mut alloc =
            crate::allocate::allocate(engine.scenario(), &assessments, &|_| {}).unwrap();
        let summary = &mut alloc.summary;
        summary.program = format!("Programme {evil}");
        summary.currency = format!("MAD{evil}");
        if let Some(c) = summary.constraints.first_mut() {
            c.name = format!("budget.cities.{evil}");
            c.per_1000_mad = Some(format!("more {evil}"));
        }
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("report.html");
        write_report(&path, engine.scenario(), &alloc).unwrap();
        let html = std::fs::read_to_string(&path).unwrap();
        assert_self_contained(&html);
        assert!(!html.contains("<svg onload"), "unescaped markup");
        let escaped =
            "&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;svg onload=alert(2)&gt;\
                       &quot;&#39;&amp;";
        for what in [
            "City ",
            "trade ",
            "check ",
            "text ",
            "Programme ",
            "MAD",
            "more ",
        ] {
            assert!(
                html.contains(&format!("{what}{escaped}")),
                "{what:?} not shown escaped"
            );
        }
    }

    #[test]
    fn sweep_report_shows_the_frontier() {
        let points: Vec<FrontierPoint> = [
            (4_000_000, 280, 17_800.0, 17_850.5, 3_998_000),
            (3_000_000, 212, 13_700.25, 13_700.25, 2_999_500),
            (5_000_000, 336, 20_900.0, 20_950.0, 4_990_100),
            (6_000_000, 364, 22_000.0, 22_000.0, 5_400_000),
        ]
        .into_iter()
        .map(|(budget, served, objective, bound, spent)| FrontierPoint {
            budget,
            served,
            objective,
            bound,
            spent,
        })
        .collect();
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("sweep.html");
        write_sweep_report(&path, "Budget sweep <b>ramadan</b>", &points).unwrap();
        let html = std::fs::read_to_string(&path).unwrap();
        assert_self_contained(&html);
        assert!(html.contains("<svg id=\"chart-frontier\""));
        assert!(html.contains("id=\"table-frontier\""));
        assert!(html.contains("Budget sweep &lt;b&gt;ramadan&lt;/b&gt;"));
        // Rows in budget order, with thousands separators.
        let rows: Vec<usize> = ["3,000,000", "4,000,000", "5,000,000", "6,000,000"]
            .iter()
            .map(|b| html.find(&format!("<td class=\"n\">{b}</td>")).expect(b))
            .collect();
        assert!(
            rows.windows(2).all(|w| w[0] < w[1]),
            "rows not in budget order"
        );
        assert!(html.contains("13,700.25"));
        assert!(html.contains("5,400,000"));
        // Same bytes again; no panic on degenerate sweeps.
        write_sweep_report(
            &tmp.path().join("again.html"),
            "Budget sweep <b>ramadan</b>",
            &points,
        )
        .unwrap();
        assert_eq!(
            html,
            std::fs::read_to_string(tmp.path().join("again.html")).unwrap()
        );
        for pts in [&points[..0], &points[..1]] {
            write_sweep_report(&tmp.path().join("small.html"), "t", pts).unwrap();
        }
    }

    // ---------------------------------------------------------------------------------------
    // Real browser

    /// Chromium: `IDMAJ_CHROMIUM`, else `chromium` or `chromium-browser` on `PATH`, else
    /// `/usr/bin/chromium`.

    #[test]
    fn numbers_have_thousands_separators() {
        assert_eq!(int(262_519), "262,519");
        assert_eq!(int(-1_000), "-1,000");
        assert_eq!(int(999), "999");
        assert_eq!(dec(21_460.6, 2), "21,460.60");
        assert_eq!(dec(-0.001, 2), "0.00");
        assert_eq!(pct(0.2857), "28.6%");
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc("<script>\"a\" & 'b'</script>"),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn ticks_cover_the_range() {
        let t = ticks(3_000_000.0, 6_000_000.0, 5);
        assert_eq!(t.first(), Some(&3_000_000.0));
        assert_eq!(t.last(), Some(&6_000_000.0));
        let t = ticks(0.0, 7.0, 4);
        assert!(t.last().is_some_and(|v| *v >= 7.0));
    }

    #[test]
    fn charts_survive_degenerate_data() {
        assert!(score_chart(&[], &[]).contains("No eligible applicants."));
        assert!(score_chart(&[50.0; 3], &[50.0]).contains("<rect"));
        assert!(hbar_chart("x", "t", &[], BLUE).contains("Nothing to show."));
        let zero = Bar {
            label: "f".into(),
            value: 0.0,
            limit: Some(0.0),
            note: String::new(),
        };
        assert!(!hbar_chart("x", "t", &[zero], BLUE).contains("NaN"));
        assert!(served_chart(&BTreeMap::new()).contains("No applicants."));
        let p = |budget, objective: f64| FrontierPoint {
            budget,
            served: 0,
            objective,
            bound: f64::NAN,
            spent: 0,
        };
        for pts in [
            vec![],
            vec![p(1_000, 0.0)],
            vec![p(1_000, 1.0), p(1_000, 2.0)],
        ] {
            let svg = frontier_chart(&pts);
            assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
        }
    }

    #[test]
    fn clip_counts_characters() {
        assert_eq!(clip("Agadir-Ait Melloul", 30), "Agadir-Ait Melloul");
        assert_eq!(clip("ééééé", 3), "éé…");
    }
}
