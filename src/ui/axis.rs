//! Chart axes that read well: tick steps chosen for the visible range (clock steps for time,
//! 1-2-5 steps for values, decades for log scales) and labels exactly as precise as their
//! step, so no two labels repeat and a chart always shows several.

use egui_plot::{GridInput, GridMark, Plot};

/// What a chart's x axis counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// Epoch seconds, labelled in local time.
    Wall,
    /// Seconds since a start.
    Elapsed,
}

/// `plot` with time on x and values (or their log) on y, ticked and labelled for the range.
pub fn time_series(plot: Plot<'_>, clock: Clock, log_scale: bool) -> Plot<'_> {
    let offset = match clock {
        Clock::Wall => local_offset(),
        Clock::Elapsed => 0.0,
    };
    let plot = plot
        .x_grid_spacer(move |input| time_marks(&input, offset))
        .x_axis_formatter(move |mark, _| match clock {
            Clock::Wall => wall_clock_label(&mark),
            Clock::Elapsed => elapsed_label(&mark),
        });
    if log_scale {
        plot.y_grid_spacer(|input| log_marks(&input))
            .y_axis_formatter(|mark, _| log_label(&mark))
    } else {
        plot.y_grid_spacer(|input| value_marks(&input))
            .y_axis_formatter(|mark, range| value_label(&mark, range))
    }
}

/// Clock steps in seconds, from a millisecond to a week.
const TIME_STEPS: &[f64] = &[
    0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0,
    120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 10800.0, 21600.0, 43200.0, 86400.0,
    172800.0, 604800.0,
];

/// How many times the thinnest grid spacing a labelled step spans at least: labels about
/// 100 px apart, so `12:34:56` fits between two.
const LABEL_FACTOR: f64 = 12.0;
/// The same for the coarsest grid lines.
const COARSE_FACTOR: f64 = 40.0;

/// Grid marks for a time axis in seconds. `offset` is added before rounding to a step (the
/// local time zone's offset for a wall clock, 0 for time since a start), so hours fall on
/// the hour where the user lives.
pub fn time_marks(input: &GridInput, offset: f64) -> Vec<GridMark> {
    let pick = |factor: f64, of: f64| {
        let want = input.base_step_size * factor;
        TIME_STEPS
            .iter()
            .copied()
            .find(|s| *s >= want && multiple(*s, of))
            .unwrap_or_else(|| (want / 604800.0).ceil() * 604800.0)
    };
    let fine = pick(1.0, TIME_STEPS[0]);
    let label = pick(LABEL_FACTOR, fine);
    marks(
        [fine, label, pick(COARSE_FACTOR, label)],
        input.bounds,
        offset,
    )
}

/// Grid marks on 1, 2 and 5 times a power of ten, for a value axis.
pub fn value_marks(input: &GridInput) -> Vec<GridMark> {
    let fine = nice(input.base_step_size, None);
    let label = nice(input.base_step_size * LABEL_FACTOR / 3.0, Some(fine));
    let coarse = nice(input.base_step_size * COARSE_FACTOR / 3.0, Some(label));
    marks([fine, label, coarse], input.bounds, 0.0)
}

/// The smallest 1, 2 or 5 times a power of ten at or above `x` (and a multiple of `of`,
/// so that coarser grid lines fall on finer ones).
fn nice(x: f64, of: Option<f64>) -> f64 {
    if !(x.is_finite() && x > 0.0) {
        return of.unwrap_or(1.0);
    }
    let power = 10f64.powf(x.log10().floor());
    [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0]
        .into_iter()
        .map(|m| m * power)
        .find(|s| *s >= x * (1.0 - 1e-9) && of.is_none_or(|of| multiple(*s, of)))
        .unwrap_or(100.0 * power)
}

/// Marks on multiples of each step within `bounds`, each carrying the largest step it is a
/// multiple of (what decides its line's strength and whether it is labelled).
fn marks(steps: [f64; 3], bounds: (f64, f64), offset: f64) -> Vec<GridMark> {
    let (lo, hi) = bounds;
    let fine = steps[0];
    if !(fine > 0.0 && lo.is_finite() && hi.is_finite()) || (hi - lo) / fine > 10_000.0 {
        return Vec::new();
    }
    let first = ((lo + offset) / fine).ceil() as i64;
    let last = ((hi + offset) / fine).floor() as i64;
    (first..=last)
        .map(|i| {
            let shifted = i as f64 * fine;
            let step_size = steps
                .iter()
                .rev()
                .copied()
                .find(|s| multiple(shifted, *s))
                .unwrap_or(fine);
            GridMark {
                value: shifted - offset,
                step_size,
            }
        })
        .collect()
}

fn multiple(x: f64, step: f64) -> bool {
    let r = (x / step).round();
    (x - r * step).abs() <= step * 1e-6
}

/// The local time zone's offset from UTC in seconds, for [`time_marks`] on a wall clock.
pub fn local_offset() -> f64 {
    use chrono::Offset;
    chrono::Local::now().offset().fix().local_minus_utc() as f64
}

/// The local time of `seconds` since the epoch, to the millisecond, for a hover.
pub fn hover_time(seconds: f64) -> String {
    chrono::DateTime::from_timestamp_millis((seconds * 1000.0).round() as i64)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%H:%M:%S%.3f")
                .to_string()
        })
        .unwrap_or_default()
}

/// A wall-clock label as precise as its mark's step: `14:05` on whole minutes, `14:05:30`
/// on seconds, `14:05:30.25` below, and the date on whole days.
pub fn wall_clock_label(mark: &GridMark) -> String {
    let Some(t) = chrono::DateTime::from_timestamp_millis((mark.value * 1000.0).round() as i64)
    else {
        return String::new();
    };
    let t = t.with_timezone(&chrono::Local);
    let step = mark.step_size;
    if step >= 86400.0 {
        t.format("%b %-d").to_string()
    } else if step >= 60.0 {
        t.format("%H:%M").to_string()
    } else if step >= 1.0 {
        t.format("%H:%M:%S").to_string()
    } else {
        let digits = decimals(step);
        let fraction = format!("{:.*}", digits, mark.value.rem_euclid(1.0));
        format!(
            "{}{}",
            t.format("%H:%M:%S"),
            fraction.trim_start_matches('0')
        )
    }
}

/// An elapsed-time label (`1:02:03`, `2:03`, `2:03.5`) as precise as its mark's step.
pub fn elapsed_label(mark: &GridMark) -> String {
    elapsed(mark.value, decimals(mark.step_size.min(1.0)))
}

/// `1:02:03` or `2:03` for seconds since a start, with `digits` decimals of a second.
pub fn elapsed(seconds: f64, digits: usize) -> String {
    let sign = if seconds < -1e-9 { "-" } else { "" };
    let scale = 10f64.powi(digits as i32);
    let total = (seconds.abs() * scale).round() / scale;
    let whole = total.trunc() as i64;
    let fraction = if digits == 0 {
        String::new()
    } else {
        format!("{:.*}", digits, total.fract())
            .trim_start_matches('0')
            .to_string()
    };
    match (whole / 3600, (whole / 60) % 60, whole % 60) {
        (0, m, s) => format!("{sign}{m}:{s:02}{fraction}"),
        (h, m, s) => format!("{sign}{h}:{m:02}:{s:02}{fraction}"),
    }
}

/// A value label with as many decimals as its mark's step needs (none for whole steps), and
/// at least as many as a tenth of the visible `range` does, so one axis's labels agree.
pub fn value_label(mark: &GridMark, range: &std::ops::RangeInclusive<f64>) -> String {
    let v = if mark.value.abs() < mark.step_size * 1e-6 {
        0.0
    } else {
        mark.value
    };
    if mark.step_size >= 1e6 || (mark.step_size < 1e-4 && v != 0.0) {
        return format!("{v:.1e}");
    }
    let shared = decimals(nice((range.end() - range.start()).abs() / 10.0, None));
    format!("{v:.*}", decimals(mark.step_size).max(shared))
}

/// Grid marks for a log-scale axis, whose plot values are `log10` of the data: whole
/// decades when the range spans several, else 1, 2 and 5 within each decade.
pub fn log_marks(input: &GridInput) -> Vec<GridMark> {
    let (lo, hi) = input.bounds;
    if !(lo.is_finite() && hi.is_finite()) || hi - lo > 600.0 {
        return Vec::new();
    }
    let decade_step = nice(input.base_step_size * LABEL_FACTOR / 3.0, None).max(1.0);
    if hi - lo >= 3.0 || decade_step > 1.0 {
        return marks([1.0, decade_step, decade_step * 10.0], input.bounds, 0.0);
    }
    let mut out = Vec::new();
    for decade in (lo.floor() as i64)..=(hi.ceil() as i64) {
        for (m, step) in [(1.0, 1.0), (2.0, 0.3), (5.0, 0.4)] {
            let value = decade as f64 + f64::log10(m);
            if (lo..=hi).contains(&value) {
                out.push(GridMark {
                    value,
                    step_size: step,
                });
            }
        }
    }
    out
}

/// A label for a log-scale mark: the data value it stands for, compact.
pub fn log_label(mark: &GridMark) -> String {
    let v = 10f64.powf(mark.value);
    if (1e-3..1e6).contains(&v) {
        let digits = (-mark.value.floor()).max(0.0) as usize;
        format!("{v:.*}", digits)
    } else {
        format!("{v:.0e}")
    }
}

/// Decimals that show a step of `step` (0 for whole steps).
fn decimals(step: f64) -> usize {
    if step >= 1.0 || step <= 0.0 {
        return 0;
    }
    let mut digits = (-step.log10()).ceil().max(0.0) as usize;
    // 0.25 needs two decimals though its log says one.
    while digits < 9 && !multiple(step * 10f64.powi(digits as i32), 1.0) {
        digits += 1;
    }
    digits
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The labels egui_plot paints: those whose step leaves room for their text (about
    /// 7 px a character) on a chart of `pixels` over `bounds`.
    fn shown(
        marks: &[GridMark],
        label: impl Fn(&GridMark) -> String,
        bounds: (f64, f64),
        pixels: f64,
    ) -> Vec<String> {
        let per_unit = pixels / (bounds.1 - bounds.0);
        marks
            .iter()
            .map(|m| (m, label(m)))
            .filter(|(m, text)| m.step_size * per_unit > text.len() as f64 * 7.0)
            .map(|(_, text)| text)
            .collect()
    }

    /// A range and a chart width in pixels, as egui_plot asks (8 px grid spacing).
    fn input(lo: f64, hi: f64, pixels: f64) -> GridInput {
        GridInput {
            bounds: (lo, hi),
            base_step_size: (hi - lo) / pixels * 8.0,
        }
    }

    #[test]
    fn time_labels_never_repeat_and_are_several() {
        // From half a second to two days, on an 800 px chart.
        for span in [0.5, 3.0, 40.0, 700.0, 5000.0, 90_000.0, 180_000.0] {
            let start = 1_790_000_000.0 + 0.123;
            let marks = time_marks(&input(start, start + span, 800.0), 0.0);
            let shown = shown(&marks, elapsed_label, (start, start + span), 800.0);
            let mut unique = shown.clone();
            unique.dedup();
            assert_eq!(unique, shown, "span {span}: {shown:?}");
            assert!(shown.len() >= 3, "span {span}: {shown:?}");
            assert!(shown.len() <= 12, "span {span}: {shown:?}");
        }
    }

    #[test]
    fn coarser_steps_fall_on_finer_ones() {
        for span in [0.7, 9.0, 75.0, 1300.0, 20_000.0] {
            for pixels in [300.0, 800.0, 1700.0] {
                let marks = time_marks(&input(0.0, span, pixels), 0.0);
                let mut steps: Vec<f64> = marks.iter().map(|m| m.step_size).collect();
                steps.sort_by(f64::total_cmp);
                steps.dedup();
                for pair in steps.windows(2) {
                    assert!(multiple(pair[1], pair[0]), "{span} s: {steps:?}");
                }
                let marks = value_marks(&input(0.0, span / 1000.0, pixels / 4.0));
                let mut steps: Vec<f64> = marks.iter().map(|m| m.step_size).collect();
                steps.sort_by(f64::total_cmp);
                steps.dedup();
                for pair in steps.windows(2) {
                    assert!(multiple(pair[1], pair[0]), "{span}: {steps:?}");
                }
            }
        }
    }

    #[test]
    fn clock_steps_round_in_the_given_zone() {
        let marks = time_marks(&input(0.0, 7200.0, 400.0), 1800.0);
        let hour = marks.iter().find(|m| m.step_size >= 3600.0).unwrap();
        assert_eq!((hour.value + 1800.0) % 3600.0, 0.0);
    }

    #[test]
    fn value_labels_are_as_precise_as_their_step() {
        let marks = value_marks(&input(0.31, 0.93, 220.0));
        let shown = shown(
            &marks,
            |m| value_label(m, &(0.31..=0.93)),
            (0.31, 0.93),
            220.0,
        );
        assert!(shown.len() >= 3, "{shown:?}");
        let mut unique = shown.clone();
        unique.dedup();
        assert_eq!(unique, shown);
        assert!(shown.iter().all(|l| l.starts_with("0.")), "{shown:?}");
        assert_eq!(
            value_label(
                &GridMark {
                    value: 2.5e-17,
                    step_size: 0.5
                },
                &(-1.0..=4.0)
            ),
            "0.0"
        );
        assert_eq!(
            value_label(
                &GridMark {
                    value: 1500.0,
                    step_size: 500.0
                },
                &(0.0..=3000.0)
            ),
            "1500"
        );
        // A coarse mark shows the decimals of its finer neighbours.
        assert_eq!(
            value_label(
                &GridMark {
                    value: 0.9,
                    step_size: 0.1
                },
                &(0.89..=0.99)
            ),
            "0.90"
        );
    }

    #[test]
    fn log_axes_label_decades_or_their_steps() {
        let marks = log_marks(&input(-4.0, 1.0, 220.0));
        let labels: Vec<String> = marks.iter().map(log_label).collect();
        assert_eq!(labels, ["1e-4", "0.001", "0.01", "0.1", "1", "10"]);
        let marks = log_marks(&input(-1.2, 0.1, 220.0));
        let labels: Vec<String> = marks.iter().map(log_label).collect();
        assert_eq!(labels, ["0.1", "0.2", "0.5", "1"]);
    }

    #[test]
    fn elapsed_time_reads_as_a_clock() {
        assert_eq!(elapsed(0.0, 0), "0:00");
        assert_eq!(elapsed(62.4, 0), "1:02");
        assert_eq!(elapsed(3723.0, 0), "1:02:03");
        assert_eq!(elapsed(-5.0, 0), "-0:05");
        assert_eq!(elapsed(62.25, 2), "1:02.25");
    }

    #[test]
    fn decimals_follow_the_step() {
        assert_eq!(decimals(5.0), 0);
        assert_eq!(decimals(0.5), 1);
        assert_eq!(decimals(0.25), 2);
        assert_eq!(decimals(0.01), 2);
    }
}
