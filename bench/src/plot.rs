//! The throughput of every system as a bar chart, in SVG: text is left to the viewer,
//! so no font or drawing library is needed.

use std::fmt::Write as _;

/// One bar: a system's name and its MB/s.
pub struct Bar<'a> {
    pub name: &'a str,
    pub mb_per_s: f64,
}

const WIDTH: f64 = 900.0;
const LABEL: f64 = 340.0;
const ROW: f64 = 34.0;
const TOP: f64 = 50.0;

/// A horizontal bar per system, scaled to the loopback TCP ceiling (drawn as a line).
pub fn throughput_svg(bars: &[Bar], ceiling_mb_per_s: f64) -> String {
    let max = bars
        .iter()
        .map(|b| b.mb_per_s)
        .fold(ceiling_mb_per_s, f64::max)
        .max(1.0);
    let plot = WIDTH - LABEL - 80.0;
    let x = |mb: f64| LABEL + plot * mb / max;
    let height = TOP + ROW * bars.len() as f64 + 40.0;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" font-family="sans-serif" font-size="13">"#
    );
    let _ = writeln!(
        svg,
        r#"<rect width="100%" height="100%" fill="white"/><text x="{}" y="24" font-size="16" font-weight="bold">Throughput, MB/s (IPC bytes, higher is better)</text>"#,
        LABEL
    );
    for (i, bar) in bars.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let colour = if bar.name.starts_with("fastflight ←") {
            "#d9480f"
        } else {
            "#868e96"
        };
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{:.1}" text-anchor="end">{}</text><rect x="{LABEL}" y="{y}" width="{:.1}" height="{:.1}" fill="{colour}"/><text x="{:.1}" y="{:.1}">{:.0}</text>"#,
            LABEL - 8.0,
            y + ROW * 0.55,
            escape(bar.name),
            x(bar.mb_per_s) - LABEL,
            ROW * 0.7,
            x(bar.mb_per_s) + 6.0,
            y + ROW * 0.55,
            bar.mb_per_s
        );
    }
    let cx = x(ceiling_mb_per_s);
    let bottom = TOP + ROW * bars.len() as f64;
    let _ = writeln!(
        svg,
        r##"<line x1="{cx:.1}" y1="{}" x2="{cx:.1}" y2="{bottom}" stroke="#1c7ed6" stroke-dasharray="6 4"/><text x="{cx:.1}" y="{}" text-anchor="middle" fill="#1c7ed6">loopback TCP {ceiling_mb_per_s:.0}</text>"##,
        TOP - 6.0,
        bottom + 18.0
    );
    svg.push_str("</svg>\n");
    svg
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_bar_per_system_and_the_ceiling() {
        let svg = throughput_svg(
            &[
                Bar {
                    name: "fastflight ← fastflight client",
                    mb_per_s: 3000.0,
                },
                Bar {
                    name: "a <b> & c",
                    mb_per_s: 1000.0,
                },
            ],
            5000.0,
        );
        assert_eq!(svg.matches("<rect x=").count(), 2);
        assert!(svg.contains("a &lt;b&gt; &amp; c"));
        assert!(svg.contains("loopback TCP 5000"));
        assert!(svg.trim_end().ends_with("</svg>"));
    }
}
