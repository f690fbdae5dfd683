//! Stopping trials early from the objective values they report as they run (each value
//! one step: an epoch, as the service counts resource).
//!
//! - `Auto` (Random, Bayesian and Grid): the median rule the service documents. A trial is
//!   stopped when its value at step `t` is worse than the median of the running averages,
//!   up to step `t`, of the trials started before it.
//! - `Hyperband`: successive halving at rungs `MinResource × 3ᵏ`. A trial reaching a rung
//!   goes on only while its best value is in the best third of the values every trial had
//!   at that rung; it is stopped at `MaxResource`.

/// Trials compared at a step before the median rule judges one.
const MEDIAN_PEERS: usize = 3;
/// Hyperband's reduction factor.
const ETA: usize = 3;

/// How a tuning job stops trials early.
#[derive(Debug, Clone, PartialEq)]
pub enum Stopping {
    /// Never (`TrainingJobEarlyStoppingType: Off`).
    Off,
    /// The median rule (`Auto`).
    Median,
    /// Hyperband's rungs.
    Hyperband { min: usize, max: Option<usize> },
}

/// Whether `value` is worse than `other` for the objective.
fn worse(value: f64, other: f64, minimize: bool) -> bool {
    if minimize {
        value > other
    } else {
        value < other
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

impl Stopping {
    /// Whether a trial that has reported `curve` should stop now. `earlier` are the curves
    /// of trials started before it, `others` those of every other trial.
    pub fn should_stop<'a>(
        &self,
        curve: &[f64],
        earlier: impl Iterator<Item = &'a [f64]>,
        others: impl Iterator<Item = &'a [f64]>,
        minimize: bool,
    ) -> bool {
        let t = curve.len();
        let Some(&now) = curve.last() else {
            return false;
        };
        match *self {
            Stopping::Off => false,
            Stopping::Median => {
                if t < 2 {
                    return false;
                }
                let averages: Vec<f64> = earlier
                    .filter(|c| c.len() >= t)
                    .map(|c| c[..t].iter().sum::<f64>() / t as f64)
                    .collect();
                averages.len() >= MEDIAN_PEERS && worse(now, median(averages), minimize)
            }
            Stopping::Hyperband { min, max } => {
                if max.is_some_and(|max| t >= max) {
                    return true;
                }
                if !is_rung(t, min.max(1)) {
                    return false;
                }
                let best = |c: &[f64]| {
                    c.iter()
                        .copied()
                        .reduce(|a, b| if worse(a, b, minimize) { b } else { a })
                };
                let mine = best(curve).unwrap_or(now);
                let mut at_rung: Vec<f64> = others
                    .filter(|c| c.len() >= t)
                    .filter_map(|c| best(&c[..t]))
                    .collect();
                at_rung.push(mine);
                if at_rung.len() < ETA {
                    return false;
                }
                let keep = at_rung.len() / ETA;
                let better = at_rung
                    .iter()
                    .filter(|&&v| worse(mine, v, minimize))
                    .count();
                better >= keep
            }
        }
    }
}

/// Whether step `t` is a rung: `min × 3ᵏ`.
fn is_rung(t: usize, min: usize) -> bool {
    let mut rung = min;
    while rung < t {
        rung = rung.saturating_mul(ETA);
    }
    rung == t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_rule_stops_a_trial_worse_than_the_earlier_ones_at_the_same_step() {
        let earlier: Vec<Vec<f64>> = vec![
            vec![1.0, 0.8, 0.6],
            vec![1.2, 0.9, 0.7],
            vec![0.9, 0.7, 0.5],
        ];
        let stop = |curve: &[f64]| {
            Stopping::Median.should_stop(
                curve,
                earlier.iter().map(Vec::as_slice),
                std::iter::empty(),
                true,
            )
        };
        assert!(!stop(&[5.0]), "one step is not judged");
        assert!(
            stop(&[1.0, 1.5]),
            "1.5 against a median of running averages of 0.9"
        );
        assert!(!stop(&[1.0, 0.5]));
        assert!(
            !stop(&[1.0, 0.5, 0.4, 9.0]),
            "no earlier trial reached step 4"
        );
        // Maximizing turns it around.
        let up = Stopping::Median.should_stop(
            &[1.0, 0.5],
            earlier.iter().map(Vec::as_slice),
            std::iter::empty(),
            false,
        );
        assert!(up);
    }

    #[test]
    fn hyperband_keeps_the_best_third_at_each_rung_and_ends_at_max() {
        let rule = Stopping::Hyperband {
            min: 1,
            max: Some(9),
        };
        assert!(is_rung(1, 1) && is_rung(3, 1) && is_rung(9, 1) && !is_rung(4, 1));
        let others: Vec<Vec<f64>> = (0..8).map(|i| vec![i as f64; 3]).collect();
        let stop = |curve: &[f64]| {
            rule.should_stop(
                curve,
                std::iter::empty(),
                others.iter().map(Vec::as_slice),
                true,
            )
        };
        assert!(!stop(&[0.5]), "best of nine at the first rung");
        assert!(stop(&[6.5]), "not in the best third");
        assert!(!stop(&[6.5, 6.0]), "step 2 is no rung");
        assert!(stop(&[0.1; 9]), "MaxResource reached");
        let alone = rule.should_stop(&[100.0], std::iter::empty(), std::iter::empty(), true);
        assert!(!alone, "too few to compare");
    }
}
