//! The report's charts: small hand-drawn SVG line charts (no plotting crate: three
//! charts of a few points each), written beside the report and linked from it.
//! Each chart has categorical x positions (room sizes, connection counts), one line
//! per server, and a linear or logarithmic y axis.

use std::fmt::Write as _;

pub struct Series {
    pub name: String,
    pub color: &'static str,
    /// One value per x position; `None` leaves a gap.
    pub values: Vec<Option<f64>>,
}

pub struct Chart<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub xs: Vec<String>,
    pub series: Vec<Series>,
    pub log_y: bool,
}

/// The colour of each server in every chart.
pub fn color_of(label: &str) -> &'static str {
    match label {
        "chatwire" => "#d9480f",
        "chatwire-before" => "#f59f00",
        "node" => "#1971c2",
        "node-relay" => "#74c0fc",
        "ceiling" => "#495057",
        _ => "#868e96",
    }
}

const W: f64 = 820.0;
const H: f64 = 420.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 300.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 60.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn fmt_tick(v: f64) -> String {
    if v >= 1e6 {
        format!("{}M", trim(v / 1e6))
    } else if v >= 1e3 {
        format!("{}k", trim(v / 1e3))
    } else {
        trim(v)
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Y axis ticks: powers of ten (log) or about five round steps (linear).
fn ticks(lo: f64, hi: f64, log: bool) -> Vec<f64> {
    if log {
        let (a, b) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
        (a..=b).map(|e| 10f64.powi(e)).collect()
    } else {
        let raw = (hi - lo) / 5.0;
        let mag = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 2.5, 5.0, 10.0]
            .iter()
            .map(|m| m * mag)
            .find(|s| *s >= raw)
            .unwrap_or(raw);
        let mut t = Vec::new();
        let mut v = (lo / step).floor() * step;
        let top = (hi / step).ceil() * step;
        while v <= top + step * 0.001 {
            t.push(v);
            v += step;
        }
        t
    }
}

/// The chart as an SVG document, or `None` when no series has a value.
pub fn render(c: &Chart) -> Option<String> {
    let vals: Vec<f64> = c
        .series
        .iter()
        .flat_map(|s| s.values.iter().flatten().copied())
        .filter(|v| v.is_finite() && (!c.log_y || *v > 0.0))
        .collect();
    if vals.is_empty() || c.xs.is_empty() {
        return None;
    }
    let (mut lo, mut hi) = vals
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(*v), b.max(*v)));
    if c.log_y {
        lo = 10f64.powf(lo.log10().floor());
        hi = 10f64.powf(hi.log10().ceil());
        if hi <= lo {
            hi = lo * 10.0;
        }
    } else {
        lo = 0.0;
        if hi <= 0.0 {
            hi = 1.0;
        }
        let t = ticks(lo, hi * 1.05, false);
        hi = *t.last().unwrap_or(&hi);
    }
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let n = c.xs.len();
    let x_at = |i: usize| LEFT + plot_w * (i as f64 + 0.5) / n as f64;
    let y_at = |v: f64| {
        let f = if c.log_y {
            (v.log10() - lo.log10()) / (hi.log10() - lo.log10())
        } else {
            (v - lo) / (hi - lo)
        };
        TOP + plot_h * (1.0 - f.clamp(0.0, 1.0))
    };

    let mut o = String::new();
    let _ = writeln!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(o, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(
        o,
        r#"<text x="{}" y="22" font-size="15" font-weight="bold">{}</text>"#,
        LEFT,
        esc(c.title)
    );
    for t in ticks(lo, hi, c.log_y) {
        let y = y_at(t);
        let _ = writeln!(
            o,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e9ecef"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            LEFT + plot_w,
            LEFT - 6.0,
            y + 4.0,
            fmt_tick(t)
        );
    }
    let _ = writeln!(
        o,
        r##"<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#adb5bd"/>"##
    );
    for (i, x) in c.xs.iter().enumerate() {
        let _ = writeln!(
            o,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            x_at(i),
            TOP + plot_h + 18.0,
            esc(x)
        );
    }
    let _ = writeln!(
        o,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
        LEFT + plot_w / 2.0,
        H - 14.0,
        esc(c.x_label)
    );
    let _ = writeln!(
        o,
        r#"<text transform="translate(18 {:.1}) rotate(-90)" text-anchor="middle">{}{}</text>"#,
        TOP + plot_h / 2.0,
        esc(c.y_label),
        if c.log_y { " (log scale)" } else { "" }
    );
    for (k, s) in c.series.iter().enumerate() {
        let pts: Vec<(f64, f64, f64)> = s
            .values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| {
                v.filter(|v| v.is_finite() && (!c.log_y || *v > 0.0))
                    .map(|v| (x_at(i), y_at(v), v))
            })
            .collect();
        if pts.len() > 1 {
            let path: Vec<String> = pts
                .iter()
                .map(|(x, y, _)| format!("{x:.1},{y:.1}"))
                .collect();
            let _ = writeln!(
                o,
                r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="2.5"/>"#,
                path.join(" "),
                s.color
            );
        }
        for (x, y, v) in &pts {
            let _ = writeln!(
                o,
                r#"<circle cx="{x:.1}" cy="{y:.1}" r="4" fill="{}"><title>{}: {}</title></circle>"#,
                s.color,
                esc(&s.name),
                fmt_tick(*v)
            );
        }
        let ly = TOP + 10.0 + 22.0 * k as f64;
        let lx = LEFT + plot_w + 16.0;
        let _ = writeln!(
            o,
            r#"<line x1="{lx:.1}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{}" stroke-width="3"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            lx + 22.0,
            s.color,
            lx + 28.0,
            ly + 4.0,
            esc(&s.name)
        );
    }
    let _ = writeln!(o, "</svg>");
    Some(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_ticks_cover_the_range() {
        assert_eq!(ticks(100.0, 10_000.0, true), vec![100.0, 1000.0, 10_000.0]);
    }

    #[test]
    fn linear_ticks_are_round() {
        assert_eq!(
            ticks(0.0, 50.0, false),
            vec![0.0, 10.0, 20.0, 30.0, 40.0, 50.0]
        );
        // The top tick is at or above the largest value.
        assert_eq!(ticks(0.0, 58.8, false), vec![0.0, 20.0, 40.0, 60.0]);
    }

    #[test]
    fn a_chart_draws_every_point_and_names_every_series() {
        let svg = render(&Chart {
            title: "t",
            x_label: "x",
            y_label: "y",
            xs: vec!["100".into(), "1000".into()],
            series: vec![
                Series {
                    name: "a & b".into(),
                    color: "#000",
                    values: vec![Some(10.0), Some(1000.0)],
                },
                Series {
                    name: "c".into(),
                    color: "#111",
                    values: vec![None, Some(5.0)],
                },
            ],
            log_y: true,
        })
        .unwrap();
        assert_eq!(svg.matches("<circle").count(), 3);
        assert!(svg.contains("a &amp; b"));
        assert_eq!(svg.matches("<polyline").count(), 1);
    }

    #[test]
    fn no_values_no_chart() {
        let c = Chart {
            title: "t",
            x_label: "x",
            y_label: "y",
            xs: vec!["1".into()],
            series: vec![],
            log_y: false,
        };
        assert!(render(&c).is_none());
    }
}
