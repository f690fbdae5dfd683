//! Chart helpers: per-pixel min/max decimation, exponential smoothing and the charts'
//! shared controls.

use super::state::State;

/// Points per block of the min/max summary.
const BLOCK: usize = 64;
/// Points a series keeps; beyond, its points are thinned to each block's lowest and
/// highest (what a chart column shows), so memory stays flat however long a job logs. The
/// store keeps every point.
const KEEP: usize = 1 << 18;

/// The lowest and highest point of a run of `BLOCK` points, kept as points arrive, so that
/// decimation visits blocks instead of points when a block fits in one pixel column.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Block {
    /// The point with the lowest value.
    pub lo: [f64; 2],
    /// The point with the highest value.
    pub hi: [f64; 2],
    /// x of the block's first point.
    pub x_first: f64,
    /// x of the block's last point.
    pub x_last: f64,
}

/// A series (sorted by x) with its block summary.
#[derive(Debug, Clone, Default)]
pub struct Summarised {
    points: Vec<[f64; 2]>,
    blocks: Vec<Block>,
    /// Points received, thinned ones included.
    received: usize,
}

impl Summarised {
    /// The points.
    pub fn points(&self) -> &[[f64; 2]] {
        &self.points
    }

    /// Points received in all (more than [`Summarised::points`] once thinned).
    pub fn received(&self) -> usize {
        self.received
    }

    /// Appends points (in x order after the existing ones), updating only the last blocks;
    /// past [`KEEP`] points, thins them.
    pub fn extend(&mut self, new: impl IntoIterator<Item = [f64; 2]>) {
        for p in new {
            self.push(p);
            if self.points.len() > KEEP {
                self.thin();
            }
        }
    }

    /// Keeps of each full block its lowest and highest point, in x order.
    fn thin(&mut self) {
        let full = self.points.len() / BLOCK;
        let mut kept = Vec::with_capacity(full * 2 + BLOCK);
        for block in &self.blocks[..full] {
            let (a, b) = if block.lo[0] <= block.hi[0] {
                (block.lo, block.hi)
            } else {
                (block.hi, block.lo)
            };
            kept.push(a);
            if b != a {
                kept.push(b);
            }
        }
        kept.extend_from_slice(&self.points[full * BLOCK..]);
        let received = self.received;
        self.points.clear();
        self.blocks.clear();
        for p in kept {
            self.push(p);
        }
        self.received = received;
    }

    fn push(&mut self, p: [f64; 2]) {
        self.received += 1;
        let i = self.points.len();
        self.points.push(p);
        if i.is_multiple_of(BLOCK) {
            self.blocks.push(Block {
                lo: p,
                hi: p,
                x_first: p[0],
                x_last: p[0],
            });
        } else {
            let b = self.blocks.last_mut().expect("a block per BLOCK points");
            if p[1] < b.lo[1] {
                b.lo = p;
            }
            if p[1] > b.hi[1] {
                b.hi = p;
            }
            b.x_last = p[0];
        }
    }

    /// Per-pixel min/max decimation of the points inside `[x_min, x_max]`: at most two
    /// points per pixel column (the lowest and the highest, in x order), plus one point on
    /// each side so lines run to the edges. Whole blocks that fall in one column are taken
    /// from the summary, so the cost follows the number of columns, not of points.
    pub fn decimate(&self, x_min: f64, x_max: f64, columns: usize) -> Vec<[f64; 2]> {
        let points = &self.points;
        if points.is_empty() || columns == 0 || x_max <= x_min {
            return points.clone();
        }
        let start = points.partition_point(|p| p[0] < x_min).saturating_sub(1);
        let end = (points.partition_point(|p| p[0] <= x_max) + 1).min(points.len());
        if end - start <= columns * 2 {
            return points[start..end].to_vec();
        }
        let scale = columns as f64 / (x_max - x_min);
        let column = |x: f64| ((x - x_min) * scale).floor() as i64;
        let mut out = Columns::new(columns);
        let mut i = start;
        while i < end {
            let b = i / BLOCK;
            let block_start = b * BLOCK;
            let block_end = ((b + 1) * BLOCK).min(points.len());
            let block = &self.blocks[b];
            if i == block_start && block_end <= end && column(block.x_first) == column(block.x_last)
            {
                let c = column(block.x_first);
                out.add(c, block.lo);
                out.add(c, block.hi);
                i = block_end;
            } else {
                out.add(column(points[i][0]), points[i]);
                i += 1;
            }
        }
        out.finish()
    }
}

/// Collects the lowest and highest point of each pixel column, in column order.
struct Columns {
    out: Vec<[f64; 2]>,
    current: Option<(i64, [f64; 2], [f64; 2])>,
}

impl Columns {
    fn new(columns: usize) -> Self {
        Self {
            out: Vec::with_capacity(columns * 2 + 4),
            current: None,
        }
    }

    fn add(&mut self, column: i64, p: [f64; 2]) {
        match &mut self.current {
            Some((c, lo, hi)) if *c == column => {
                if p[1] < lo[1] {
                    *lo = p;
                }
                if p[1] > hi[1] {
                    *hi = p;
                }
            }
            _ => {
                self.flush();
                self.current = Some((column, p, p));
            }
        }
    }

    fn flush(&mut self) {
        if let Some((_, lo, hi)) = self.current.take() {
            let (first, second) = if lo[0] <= hi[0] { (lo, hi) } else { (hi, lo) };
            self.out.push(first);
            if second != first {
                self.out.push(second);
            }
        }
    }

    fn finish(mut self) -> Vec<[f64; 2]> {
        self.flush();
        self.out
    }
}

/// The charts' controls: smoothing, log scale and reset zoom. Returns whether the zoom
/// was reset.
pub fn controls(ui: &mut egui::Ui, state: &mut State) -> bool {
    let label = ui.label("Smoothing");
    ui.add(egui::Slider::new(&mut state.smoothing, 0.0..=0.99).fixed_decimals(2))
        .labelled_by(label.id)
        .on_hover_text("Exponential moving average of each series (0 = raw points)");
    ui.checkbox(&mut state.log_scale, "Log scale");
    ui.button("⟲ Reset zoom")
        .on_hover_text("Fit every chart to its data")
        .clicked()
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

    fn series(points: &[[f64; 2]]) -> Summarised {
        let mut s = Summarised::default();
        s.extend(points.iter().copied());
        s
    }

    /// Decimation point by point, without the block summary.
    fn naive(points: &[[f64; 2]], x_min: f64, x_max: f64, columns: usize) -> Vec<[f64; 2]> {
        let start = points.partition_point(|p| p[0] < x_min).saturating_sub(1);
        let end = (points.partition_point(|p| p[0] <= x_max) + 1).min(points.len());
        let scale = columns as f64 / (x_max - x_min);
        let mut out = Columns::new(columns);
        for p in &points[start..end] {
            out.add(((p[0] - x_min) * scale).floor() as i64, *p);
        }
        out.finish()
    }

    #[test]
    fn decimation_keeps_extremes_per_column() {
        let points: Vec<[f64; 2]> = (0..1000).map(|i| [i as f64, (i % 10) as f64]).collect();
        let d = series(&points).decimate(0.0, 999.0, 10);
        assert!(d.len() <= 22, "{}", d.len());
        assert!(d.iter().any(|p| p[1] == 9.0));
        assert!(d.iter().any(|p| p[1] == 0.0));
        assert!(d.windows(2).all(|w| w[0][0] <= w[1][0]));
    }

    #[test]
    fn a_long_series_is_thinned_keeping_its_extremes() {
        let mut s = Summarised::default();
        let n = 3_600_000;
        s.extend((0..n).map(|i| [i as f64, ((i * 7919) % 10_007) as f64]));
        assert_eq!(s.received(), n);
        assert!(s.points().len() <= KEEP, "{}", s.points().len());
        let (lo, hi) = s.points().iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| {
            (lo.min(p[1]), hi.max(p[1]))
        });
        assert_eq!((lo, hi), (0.0, 10_006.0));
        assert!(
            s.points().windows(2).all(|w| w[0][0] < w[1][0]),
            "x order kept"
        );
        assert_eq!(s.points().last().unwrap()[0], (n - 1) as f64);
    }

    #[test]
    fn blocks_give_the_same_result_as_every_point() {
        let points: Vec<[f64; 2]> = (0..100_000)
            .map(|i| {
                [
                    i as f64 * 0.5,
                    ((i * 7919) % 1000) as f64 - (i as f64).sqrt(),
                ]
            })
            .collect();
        let s = series(&points);
        for (lo, hi, columns) in [
            (0.0, 49_999.5, 800),
            (1234.5, 9876.0, 333),
            (10.0, 60.0, 1000),
        ] {
            assert_eq!(s.decimate(lo, hi, columns), naive(&points, lo, hi, columns));
        }
    }

    #[test]
    fn decimation_passes_small_series_through() {
        let points = vec![[0.0, 1.0], [1.0, 2.0]];
        assert_eq!(series(&points).decimate(0.0, 1.0, 100), points);
    }

    #[test]
    fn smoothing_averages() {
        let s = smooth(&[[0.0, 0.0], [1.0, 10.0]], 0.5);
        assert_eq!(s, vec![[0.0, 0.0], [1.0, 5.0]]);
    }
}
