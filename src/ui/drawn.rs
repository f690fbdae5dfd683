//! The charts' points as drawn, a view cache: each chart's series decimated to its pixel
//! columns, smoothed, on the log scale when asked and shifted by an offset, redone only
//! when one of those or the series' length changed.

use std::collections::HashMap;
use std::hash::Hash;

use super::chart::{Summarised, smooth};

/// What a chart's drawn points depend on.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Key {
    len: usize,
    x_min: f64,
    x_max: f64,
    columns: usize,
    smoothing: f32,
    log_scale: bool,
    offset: f64,
}

/// How a chart is drawn.
#[derive(Debug, Clone, Copy)]
pub struct Look {
    /// Pixel columns.
    pub columns: usize,
    /// Smoothing weight in [0, 1).
    pub smoothing: f32,
    /// Values as their base-10 logarithm (points at or below 0 left out).
    pub log_scale: bool,
    /// Seconds subtracted from x (the Compare view's time since a job's start).
    pub offset: f64,
}

/// Drawn points by chart (`K` names a chart: a metric, or a job and a metric).
pub struct Drawn<K> {
    charts: HashMap<K, (Key, Vec<[f64; 2]>)>,
}

impl<K> Default for Drawn<K> {
    fn default() -> Self {
        Self {
            charts: HashMap::new(),
        }
    }
}

impl<K: Eq + Hash> Drawn<K> {
    /// The points of `series` to draw on chart `chart` for the x range `view` (in the
    /// series' own x; all of it when `None`), drawn as `look` says.
    pub fn points(
        &mut self,
        chart: K,
        series: &Summarised,
        view: Option<(f64, f64)>,
        look: Look,
    ) -> Vec<[f64; 2]> {
        let all = series.points();
        let (x_min, x_max) = match (view, all.first(), all.last()) {
            (Some(range), _, _) => range,
            (None, Some(first), Some(last)) => (first[0], last[0]),
            _ => return Vec::new(),
        };
        let key = Key {
            len: all.len(),
            x_min,
            x_max,
            columns: look.columns,
            smoothing: look.smoothing,
            log_scale: look.log_scale,
            offset: look.offset,
        };
        let entry = self
            .charts
            .entry(chart)
            .or_insert_with(|| (key, Vec::new()));
        if entry.0 != key || (entry.1.is_empty() && !all.is_empty()) {
            let mut points = smooth(
                &series.decimate(x_min, x_max, look.columns),
                look.smoothing as f64,
            );
            if look.log_scale {
                points.retain(|p| p[1] > 0.0);
                for p in &mut points {
                    p[1] = p[1].log10();
                }
            }
            for p in &mut points {
                p[0] -= look.offset;
            }
            *entry = (key, points);
        }
        entry.1.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn look(columns: usize) -> Look {
        Look {
            columns,
            smoothing: 0.0,
            log_scale: false,
            offset: 0.0,
        }
    }

    #[test]
    fn points_are_redone_when_the_series_grows_and_kept_otherwise() {
        let mut series = Summarised::default();
        series.extend((0..10).map(|i| [i as f64, i as f64]));
        let mut drawn = Drawn::default();
        let first = drawn.points("loss", &series, None, look(100));
        assert_eq!(first.len(), 10);
        assert_eq!(drawn.points("loss", &series, None, look(100)), first);
        series.extend([[10.0, 10.0]]);
        assert_eq!(drawn.points("loss", &series, None, look(100)).len(), 11);
    }

    #[test]
    fn log_scale_leaves_out_points_at_or_below_zero_and_offset_shifts_x() {
        let mut series = Summarised::default();
        series.extend([[100.0, 0.0], [101.0, 10.0], [102.0, 100.0]]);
        let mut drawn = Drawn::default();
        let points = drawn.points(
            1,
            &series,
            None,
            Look {
                log_scale: true,
                offset: 100.0,
                ..look(100)
            },
        );
        assert_eq!(points, vec![[1.0, 1.0], [2.0, 2.0]]);
    }
}
