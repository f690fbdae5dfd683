//! Chart helpers: per-pixel min/max decimation and exponential smoothing.

/// Reduces the points (sorted by x) inside `[x_min, x_max]` to at most two per pixel column:
/// the lowest and the highest, in x order, so the drawn line looks the same as the full one.
/// One point on each side of the range is kept so lines run to the edges.
pub fn decimate(points: &[[f64; 2]], x_min: f64, x_max: f64, columns: usize) -> Vec<[f64; 2]> {
    if points.is_empty() || columns == 0 || x_max <= x_min {
        return points.to_vec();
    }
    let start = points.partition_point(|p| p[0] < x_min).saturating_sub(1);
    let end = (points.partition_point(|p| p[0] <= x_max) + 1).min(points.len());
    let visible = &points[start..end];
    if visible.len() <= columns * 2 {
        return visible.to_vec();
    }
    let scale = columns as f64 / (x_max - x_min);
    let mut out = Vec::with_capacity(columns * 2 + 2);
    let mut bucket = i64::MIN;
    let (mut lo, mut hi) = ([0.0; 2], [0.0; 2]);
    let flush = |out: &mut Vec<[f64; 2]>, lo: [f64; 2], hi: [f64; 2]| {
        if lo[0] <= hi[0] {
            out.push(lo);
            if hi != lo {
                out.push(hi);
            }
        } else {
            out.push(hi);
            out.push(lo);
        }
    };
    for &p in visible {
        let b = ((p[0] - x_min) * scale).floor() as i64;
        if b != bucket {
            if bucket != i64::MIN {
                flush(&mut out, lo, hi);
            }
            bucket = b;
            lo = p;
            hi = p;
        } else {
            if p[1] < lo[1] {
                lo = p;
            }
            if p[1] > hi[1] {
                hi = p;
            }
        }
    }
    if bucket != i64::MIN {
        flush(&mut out, lo, hi);
    }
    out
}

/// Exponential moving average with weight `alpha` in [0, 1) on the previous value
/// (0 leaves the series as it is), as TensorBoard's smoothing slider.
pub fn smooth(points: &[[f64; 2]], alpha: f64) -> Vec<[f64; 2]> {
    if alpha <= 0.0 {
        return points.to_vec();
    }
    let mut last = None;
    points
        .iter()
        .map(|p| {
            let v = match last {
                None => p[1],
                Some(prev) => alpha * prev + (1.0 - alpha) * p[1],
            };
            last = Some(v);
            [p[0], v]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimation_keeps_extremes_per_column() {
        let points: Vec<[f64; 2]> = (0..1000).map(|i| [i as f64, (i % 10) as f64]).collect();
        let d = decimate(&points, 0.0, 999.0, 10);
        assert!(d.len() <= 22, "{}", d.len());
        assert!(d.iter().any(|p| p[1] == 9.0));
        assert!(d.iter().any(|p| p[1] == 0.0));
        assert!(d.windows(2).all(|w| w[0][0] <= w[1][0]));
    }

    #[test]
    fn decimation_passes_small_series_through() {
        let points = vec![[0.0, 1.0], [1.0, 2.0]];
        assert_eq!(decimate(&points, 0.0, 1.0, 100), points);
    }

    #[test]
    fn smoothing_averages() {
        let s = smooth(&[[0.0, 0.0], [1.0, 10.0]], 0.5);
        assert_eq!(s, vec![[0.0, 0.0], [1.0, 5.0]]);
    }
}
