//! Drawing a [`ChartSpec`] with plotters, as SVG (inlined by `report.html`) or PNG (for
//! `report.md`). Sizes are chosen for the report page: a chart is shown at least
//! [`crate::html::MIN_CHART_PX`] wide, so text of [`MIN_FONT_PX`] at [`WIDTH`] stays ≥ 11 px
//! on screen.

use plotters::backend::RGBPixel;
use plotters::coord::Shift;
use plotters::coord::combinators::BindKeyPoints;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use scenarios::RunOutcome;

use crate::ReportError;
use crate::charts::{ChartFile, ChartSpec, Line, Stroke, chart_specs};
use crate::clock::offset_label;
use crate::font::{self, FAMILY};

/// Chart width in pixels.
pub const WIDTH: u32 = 640;
/// Chart height in pixels (plot and legend).
pub const HEIGHT: u32 = 400;
/// The font size of the smallest text on a chart, as plotters takes it (its SVG says
/// `font-size` = this ÷ 1.24, about 12.9 px of the chart's [`WIDTH`]).
pub const MIN_FONT_PX: u32 = 16;

const TICK_FONT: u32 = MIN_FONT_PX;
const DESC_FONT: u32 = 16;
const LEGEND_FONT: u32 = 16;
const TITLE_FONT: u32 = 19;
const LEGEND_ROW: u32 = 21;
const GRID_LIGHT: RGBColor = RGBColor(238, 238, 238);
const GRID_BOLD: RGBColor = RGBColor(214, 214, 214);
const AXIS: RGBColor = RGBColor(110, 110, 110);
const TEXT: RGBColor = RGBColor(40, 40, 40);
const MARKER: RGBColor = RGBColor(120, 70, 20);

/// A dashed or dotted line for the SVG, in pixels: written as one `<polyline>` with a
/// `stroke-dasharray` rather than plotters' one element per dash, so its size follows the
/// number of points, not the line's length on screen (a noisy day-long series is thousands
/// of dashes).
struct SvgDashed {
    pixels: Vec<(i32, i32)>,
    color: RGBColor,
    width: u32,
    dash: (u32, u32),
}

/// Draws `spec` as an SVG document (byte-stable for equal specs).
pub fn chart_svg(spec: &ChartSpec) -> Result<String, ReportError> {
    font::ensure_registered()?;
    let mut svg = String::new();
    let mut dashed = Vec::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        draw(&root, spec, Some(&mut dashed)).map_err(|e| chart_error(spec, e))?;
        root.present().map_err(|e| chart_error(spec, e))?;
    }
    let mut lines = String::new();
    for d in &dashed {
        let RGBColor(r, g, b) = d.color;
        lines.push_str(&format!(
            "<polyline fill=\"none\" stroke=\"#{r:02X}{g:02X}{b:02X}\" stroke-width=\"{}\" \
             stroke-dasharray=\"{} {}\" points=\"",
            d.width, d.dash.0, d.dash.1
        ));
        for (x, y) in &d.pixels {
            lines.push_str(&format!("{x},{y} "));
        }
        lines.push_str("\"/>\n");
    }
    // On top of everything else, as the last elements of the document.
    let end = svg.rfind("</svg>").unwrap_or(svg.len());
    svg.insert_str(end, &lines);
    Ok(svg)
}

/// Draws `spec` as a PNG image (8-bit RGB, byte-stable for equal specs).
pub fn chart_png(spec: &ChartSpec) -> Result<Vec<u8>, ReportError> {
    font::ensure_registered()?;
    let mut rgb = vec![0u8; WIDTH as usize * HEIGHT as usize * 3];
    {
        let backend = BitMapBackend::<RGBPixel>::with_buffer_and_format(&mut rgb, (WIDTH, HEIGHT))
            .map_err(|e| chart_error(spec, e))?;
        let root = backend.into_drawing_area();
        draw(&root, spec, None).map_err(|e| chart_error(spec, e))?;
        root.present().map_err(|e| chart_error(spec, e))?;
    }
    crate::png::encode_rgb(WIDTH, HEIGHT, &rgb).map_err(|message| ReportError::Chart {
        chart: spec.stem.clone(),
        message,
    })
}

/// Builds the spec of every chart of `outcome` and draws each as SVG.
pub fn render_charts(outcome: &RunOutcome) -> Result<Vec<ChartFile>, ReportError> {
    chart_specs(outcome)
        .into_iter()
        .map(|spec| {
            let svg = chart_svg(&spec)?;
            Ok(ChartFile { spec, svg })
        })
        .collect()
}

fn chart_error(spec: &ChartSpec, e: impl std::fmt::Display) -> ReportError {
    ReportError::Chart {
        chart: spec.stem.clone(),
        message: e.to_string(),
    }
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn rgb((r, g, b): (u8, u8, u8)) -> RGBColor {
    RGBColor(r, g, b)
}

/// What a legend entry shows: its text, colour and stroke; `None` colour for the step
/// marker.
struct Entry {
    text: String,
    color: RGBColor,
    stroke: Stroke,
    marker: bool,
}

fn legend_entries(spec: &ChartSpec) -> Vec<Entry> {
    let mut out = Vec::new();
    for axis in std::iter::once(&spec.left).chain(spec.right.as_ref()) {
        for l in axis.lines.iter().filter(|l| l.in_legend) {
            out.push(Entry {
                text: l.legend(&axis.unit),
                color: rgb(l.color),
                stroke: l.stroke,
                marker: false,
            });
        }
    }
    if !spec.markers.is_empty() {
        out.push(Entry {
            text: "Step (number in Steps)".to_owned(),
            color: MARKER,
            stroke: Stroke::Solid,
            marker: true,
        });
    }
    out
}

/// The (dash, gap) lengths of a stroke; `None` for a solid one.
fn dash(stroke: Stroke) -> Option<(u32, u32)> {
    match stroke {
        Stroke::Solid => None,
        Stroke::Dashed => Some((8, 5)),
        Stroke::Dotted => Some((3, 4)),
        Stroke::DashDot => Some((12, 6)),
    }
}

/// Draws the chart on `root`; dashed and dotted lines go to `svg_dashed` when given (SVG),
/// else are drawn dash by dash (PNG).
fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    spec: &ChartSpec,
    mut svg_dashed: Option<&mut Vec<SvgDashed>>,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let entries = legend_entries(spec);
    let legend_style = TextStyle::from((FAMILY, LEGEND_FONT).into_font()).color(&TEXT);
    // Lay the legend out first (it may wrap) to know how tall its strip is.
    let mut placed: Vec<(i32, i32, &Entry)> = Vec::new();
    let (mut x, mut row) = (12i32, 0i32);
    for entry in &entries {
        let (tw, _) = root.estimate_text_size(&entry.text, &legend_style)?;
        let w = 28 + tw as i32 + 18;
        if x + w > WIDTH as i32 - 6 && x > 12 {
            x = 12;
            row += 1;
        }
        placed.push((x, row, entry));
        x += w;
    }
    let legend_h = LEGEND_ROW * (row as u32 + 1) + 6;
    let (plot, legend) = root.split_vertically(HEIGHT.saturating_sub(legend_h));

    let x_ticks = x_ticks(spec.x_max_s);
    let (l0, l1) = spec.left.range;
    let (r0, r1) = spec.right.as_ref().map(|a| a.range).unwrap_or((0.0, 1.0));
    let mut chart = ChartBuilder::on(&plot)
        .caption(&spec.title, (FAMILY, TITLE_FONT).into_font().color(&TEXT))
        .margin_top(6)
        .margin_left(6)
        .margin_right(if spec.right.is_some() { 6 } else { 30 })
        .x_label_area_size(42)
        .y_label_area_size(64)
        .right_y_label_area_size(if spec.right.is_some() { 64 } else { 0 })
        .build_cartesian_2d(
            (0u64..spec.x_max_s).with_key_points(x_ticks.clone()),
            l0..l1,
        )?
        .set_secondary_coord((0u64..spec.x_max_s).with_key_points(x_ticks), r0..r1);

    let fmt_x = |x: &u64| offset_label(*x);
    let fmt_y = |y: &f64| tick_label(*y);
    chart
        .configure_mesh()
        .light_line_style(GRID_LIGHT)
        .bold_line_style(GRID_BOLD)
        .axis_style(AXIS)
        .y_max_light_lines(2)
        .y_labels(6)
        .x_label_formatter(&fmt_x)
        .y_label_formatter(&fmt_y)
        .label_style((FAMILY, TICK_FONT).into_font().color(&TEXT))
        .axis_desc_style((FAMILY, DESC_FONT).into_font().color(&TEXT))
        .x_desc(format!(
            "Time since {} ({})",
            spec.start,
            if spec.x_max_s >= 3600 {
                "h:mm:ss"
            } else {
                "mm:ss"
            }
        ))
        .y_desc(&spec.left.desc)
        .draw()?;
    if let Some(right) = &spec.right {
        chart
            .configure_secondary_axes()
            .axis_style(AXIS)
            .y_labels(6)
            .y_label_formatter(&fmt_y)
            .label_style((FAMILY, TICK_FONT).into_font().color(&TEXT))
            .axis_desc_style((FAMILY, DESC_FONT).into_font().color(&TEXT))
            .y_desc(&right.desc)
            .draw()?;
    }
    // Lines a later one coincides with first (wider), so the dotted one stays on top.
    let order = |lines: &[Line]| -> Vec<usize> {
        let mut idx: Vec<usize> = (0..lines.len()).collect();
        idx.sort_by_key(|&i| (lines[i].same_as.is_some(), lines[i].width <= 2, i));
        idx
    };
    let to_svg = |line: &Line, pixels: Vec<(i32, i32)>, dash: (u32, u32)| SvgDashed {
        pixels,
        color: rgb(line.color),
        width: line.width,
        dash,
    };
    for i in order(&spec.left.lines) {
        let line = &spec.left.lines[i];
        let style = rgb(line.color).stroke_width(line.width);
        let pts = line.points.iter().copied();
        match (dash(line.stroke), svg_dashed.as_deref_mut()) {
            (None, _) => {
                chart.draw_series(LineSeries::new(pts, style))?;
            }
            (Some(dg), Some(out)) => {
                let px = line.points.iter().map(|p| chart.backend_coord(p)).collect();
                out.push(to_svg(line, px, dg));
            }
            (Some((d, g)), None) => {
                chart.draw_series(DashedLineSeries::new(pts, d, g, style))?;
            }
        }
    }
    if let Some(right) = &spec.right {
        for i in order(&right.lines) {
            let line = &right.lines[i];
            let style = rgb(line.color).stroke_width(line.width);
            let pts = line.points.iter().copied();
            match (dash(line.stroke), svg_dashed.as_deref_mut()) {
                (None, _) => {
                    chart.draw_secondary_series(LineSeries::new(pts, style))?;
                }
                (Some(dg), Some(out)) => {
                    let secondary = chart.borrow_secondary();
                    let px = line
                        .points
                        .iter()
                        .map(|p| secondary.backend_coord(p))
                        .collect();
                    out.push(to_svg(line, px, dg));
                }
                (Some((d, g)), None) => {
                    chart.draw_secondary_series(DashedLineSeries::new(pts, d, g, style))?;
                }
            }
        }
    }
    // Step markers: a short tick rising from the time axis, numbered when few.
    let tick_h = (l1 - l0) * 0.06;
    let label_style = TextStyle::from((FAMILY, MIN_FONT_PX).into_font())
        .color(&MARKER)
        .pos(Pos::new(HPos::Left, VPos::Bottom));
    for m in &spec.markers {
        let at = m.at_s.min(spec.x_max_s);
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(at, l0), (at, l0 + tick_h)],
            MARKER.stroke_width(2),
        )))?;
        if !m.label.is_empty() {
            chart.draw_series(std::iter::once(Text::new(
                m.label.clone(),
                (at, l0 + tick_h),
                label_style.clone(),
            )))?;
        }
    }

    for (x, row, entry) in placed {
        let y = 2 + row * LEGEND_ROW as i32 + LEGEND_ROW as i32 / 2;
        let style = entry.color.stroke_width(3);
        if entry.marker {
            legend.draw(&PathElement::new(
                vec![(x + 11, y + 7), (x + 11, y - 7)],
                style,
            ))?;
        } else if let Some((d, g)) = dash(entry.stroke) {
            let mut from = x;
            while from < x + 23 {
                let to = (from + d as i32).min(x + 23);
                legend.draw(&PathElement::new(vec![(from, y), (to, y)], style))?;
                from = to + g as i32;
            }
        } else {
            legend.draw(&PathElement::new(vec![(x, y), (x + 23, y)], style))?;
        }
        let text_style = legend_style.pos(Pos::new(HPos::Left, VPos::Center));
        legend.draw(&Text::new(entry.text.as_str(), (x + 28, y), text_style))?;
    }
    Ok(())
}

/// Tick positions on the time axis: multiples of a "round" step (10 s … 12 h, then whole
/// days) giving at most eight intervals.
pub fn x_ticks(x_max_s: u64) -> Vec<u64> {
    const STEPS: [u64; 16] = [
        10, 20, 30, 60, 120, 180, 300, 600, 900, 1200, 1800, 3600, 7200, 10_800, 21_600, 43_200,
    ];
    let step = STEPS
        .iter()
        .copied()
        .find(|s| x_max_s / s <= 6)
        .unwrap_or_else(|| x_max_s.div_ceil(6).div_ceil(86_400).max(1) * 86_400);
    (0..=x_max_s / step).map(|i| i * step).collect()
}

/// A y tick label: no decimals from 10 up, else up to two (trailing zeros dropped).
fn tick_label(v: f64) -> String {
    if v.abs() >= 10.0 {
        crate::names::fmt_fixed(v, 0)
    } else {
        let s = crate::names::fmt_fixed(v, 2);
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks() {
        assert_eq!(x_ticks(300), vec![0, 60, 120, 180, 240, 300]);
        assert_eq!(x_ticks(100), vec![0, 20, 40, 60, 80, 100]);
        assert_eq!(x_ticks(3600).len(), 7);
        assert_eq!(x_ticks(1), vec![0]);
        assert!(x_ticks(100 * 86_400).len() <= 9);
    }

    #[test]
    fn tick_labels() {
        assert_eq!(tick_label(2500.0), "2500");
        assert_eq!(tick_label(0.25), "0.25");
        assert_eq!(tick_label(1.0), "1");
    }
}
