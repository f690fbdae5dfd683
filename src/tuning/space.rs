//! The searched hyperparameters as a space: each range a dimension, each trial a point.
//! Numeric dimensions are coordinates in `[0, 1]` after their scaling (so a logarithmic
//! range is searched evenly in its logarithm); a categorical one is the index of a value.

use crate::request::StringMap;
use crate::request::tuning::{NumericRange, ParameterRanges};

use super::rng::Rng;

/// How a numeric range is searched.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scale {
    /// Evenly in the value (`Linear`, and `Auto`).
    Linear,
    /// Evenly in the value's logarithm (`Logarithmic`).
    Log,
    /// Evenly in the logarithm of one minus the value (`ReverseLogarithmic`): fine steps
    /// near 1.
    ReverseLog,
}

/// One searched hyperparameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Dim {
    /// `ContinuousParameterRange`.
    Continuous {
        name: String,
        min: f64,
        max: f64,
        scale: Scale,
    },
    /// `IntegerParameterRange`.
    Integer {
        name: String,
        min: i64,
        max: i64,
        scale: Scale,
    },
    /// `CategoricalParameterRange`.
    Categorical { name: String, values: Vec<String> },
}

/// A trial's place in the space: a coordinate per dimension.
pub type Point = Vec<f64>;

/// The searched hyperparameters.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Space {
    /// The dimensions: integer ranges, then continuous, then categorical, as listed.
    pub dims: Vec<Dim>,
}

impl Dim {
    /// The hyperparameter's name.
    pub fn name(&self) -> &str {
        match self {
            Dim::Continuous { name, .. }
            | Dim::Integer { name, .. }
            | Dim::Categorical { name, .. } => name,
        }
    }

    /// Numeric bounds and scale, for a continuous or integer range.
    fn numeric(&self) -> Option<(f64, f64, Scale)> {
        match *self {
            Dim::Continuous {
                min, max, scale, ..
            } => Some((min, max, scale)),
            Dim::Integer {
                min, max, scale, ..
            } => Some((min as f64, max as f64, scale)),
            Dim::Categorical { .. } => None,
        }
    }
}

/// The value at unit coordinate `u` of a range from `min` to `max`.
fn from_unit(u: f64, min: f64, max: f64, scale: Scale) -> f64 {
    let u = u.clamp(0.0, 1.0);
    match scale {
        Scale::Linear => min + u * (max - min),
        Scale::Log => (min.ln() + u * (max.ln() - min.ln())).exp(),
        Scale::ReverseLog => {
            let (a, b) = (-(1.0 - min).ln(), -(1.0 - max).ln());
            1.0 - (-(a + u * (b - a))).exp()
        }
    }
    .clamp(min, max)
}

/// The unit coordinate of `value` in a range from `min` to `max`.
fn to_unit(value: f64, min: f64, max: f64, scale: Scale) -> f64 {
    let (v, lo, hi) = match scale {
        Scale::Linear => (value, min, max),
        Scale::Log => (value.ln(), min.ln(), max.ln()),
        Scale::ReverseLog => (-(1.0 - value).ln(), -(1.0 - min).ln(), -(1.0 - max).ln()),
    };
    if hi > lo {
        ((v - lo) / (hi - lo)).clamp(0.0, 1.0)
    } else {
        0.0
    }
}

impl Space {
    /// The space of `ranges`; an error names a range it cannot search (the validator
    /// says the same before a start).
    pub fn from_ranges(ranges: &ParameterRanges) -> Result<Self, String> {
        let mut dims = Vec::new();
        for range in ranges.integer_parameter_ranges.iter().flatten() {
            let (name, min, max, scale) = numeric(range, true)?;
            dims.push(Dim::Integer {
                name,
                min: min as i64,
                max: max as i64,
                scale,
            });
        }
        for range in ranges.continuous_parameter_ranges.iter().flatten() {
            let (name, min, max, scale) = numeric(range, false)?;
            dims.push(Dim::Continuous {
                name,
                min,
                max,
                scale,
            });
        }
        for range in ranges.categorical_parameter_ranges.iter().flatten() {
            let name = range.name.clone().unwrap_or_default();
            let values = range.values.clone().unwrap_or_default();
            if values.is_empty() {
                return Err(format!("{name}: no values to choose from"));
            }
            dims.push(Dim::Categorical { name, values });
        }
        if dims.is_empty() {
            return Err("no hyperparameter to search".into());
        }
        Ok(Self { dims })
    }

    /// A point drawn evenly from the space.
    pub fn random(&self, rng: &mut Rng) -> Point {
        let mut point: Point = self
            .dims
            .iter()
            .map(|d| match d {
                Dim::Categorical { values, .. } => rng.below(values.len()) as f64,
                _ => rng.unit(),
            })
            .collect();
        self.snap(&mut point);
        point
    }

    /// Moves `point` onto values a trial can take: whole numbers for integer ranges, a
    /// value's index for categorical ones.
    pub fn snap(&self, point: &mut Point) {
        for (dim, x) in self.dims.iter().zip(point.iter_mut()) {
            match dim {
                Dim::Integer {
                    min, max, scale, ..
                } => {
                    let (lo, hi) = (*min as f64, *max as f64);
                    let value = from_unit(*x, lo, hi, *scale).round().clamp(lo, hi);
                    *x = to_unit(value, lo, hi, *scale);
                }
                Dim::Continuous { .. } => *x = x.clamp(0.0, 1.0),
                Dim::Categorical { values, .. } => {
                    *x = x.round().clamp(0.0, (values.len() - 1) as f64);
                }
            }
        }
    }

    /// The hyperparameter values of `point`, as the trial's job gets them.
    pub fn values(&self, point: &Point) -> StringMap {
        self.dims
            .iter()
            .zip(point)
            .map(|(dim, &x)| {
                let value = match dim {
                    Dim::Continuous {
                        min, max, scale, ..
                    } => {
                        format!("{}", from_unit(x, *min, *max, *scale))
                    }
                    Dim::Integer {
                        min, max, scale, ..
                    } => {
                        let (lo, hi) = (*min as f64, *max as f64);
                        format!("{}", from_unit(x, lo, hi, *scale).round() as i64)
                    }
                    Dim::Categorical { values, .. } => values[x as usize].clone(),
                };
                (dim.name().to_string(), value)
            })
            .collect()
    }

    /// The point of a trial's `values` (a parent tuning job's, for a warm start); `None`
    /// when one is missing or outside this space.
    pub fn point_of(&self, values: &StringMap) -> Option<Point> {
        self.dims
            .iter()
            .map(|dim| {
                let text = values.get(dim.name())?;
                match dim {
                    Dim::Categorical { values, .. } => {
                        values.iter().position(|v| v == text).map(|i| i as f64)
                    }
                    _ => {
                        let (min, max, scale) = dim.numeric()?;
                        let value: f64 = text.trim().parse().ok()?;
                        (min..=max)
                            .contains(&value)
                            .then(|| to_unit(value, min, max, scale))
                    }
                }
            })
            .collect()
    }

    /// Every combination of the categorical values, the first range varying slowest; empty
    /// when a range is not categorical.
    pub fn grid(&self) -> Vec<Point> {
        let mut points = vec![Vec::new()];
        for dim in &self.dims {
            let Dim::Categorical { values, .. } = dim else {
                return Vec::new();
            };
            points = points
                .into_iter()
                .flat_map(|p| {
                    (0..values.len()).map(move |i| {
                        let mut p = p.clone();
                        p.push(i as f64);
                        p
                    })
                })
                .collect();
        }
        points
    }

    /// The point as a model's features: numeric coordinates as they are, each categorical
    /// value one-hot, scaled so that two different values are 1 apart.
    pub fn features(&self, point: &Point) -> Vec<f64> {
        let mut out = Vec::with_capacity(point.len());
        for (dim, &x) in self.dims.iter().zip(point) {
            match dim {
                Dim::Categorical { values, .. } => {
                    out.extend((0..values.len()).map(|i| {
                        if i == x as usize {
                            std::f64::consts::FRAC_1_SQRT_2
                        } else {
                            0.0
                        }
                    }));
                }
                _ => out.push(x),
            }
        }
        out
    }
}

/// A numeric range's name, bounds and scale.
fn numeric(range: &NumericRange, integer: bool) -> Result<(String, f64, f64, Scale), String> {
    let name = range.name.clone().unwrap_or_default();
    let bound = |member: &str, text: &Option<String>| -> Result<f64, String> {
        let text = text.as_deref().unwrap_or("");
        let value = if integer {
            text.trim().parse::<i64>().map(|v| v as f64).ok()
        } else {
            text.trim().parse::<f64>().ok().filter(|v| v.is_finite())
        };
        value.ok_or_else(|| format!("{name}: {member} {text:?} is not a number"))
    };
    let (min, max) = (
        bound("MinValue", &range.min_value)?,
        bound("MaxValue", &range.max_value)?,
    );
    if min > max {
        return Err(format!("{name}: MinValue {min} is above MaxValue {max}"));
    }
    let scale = match range.scaling_type.as_deref() {
        Some("Logarithmic") if min <= 0.0 => {
            return Err(format!(
                "{name}: Logarithmic scaling needs MinValue above 0"
            ));
        }
        Some("Logarithmic") => Scale::Log,
        Some("ReverseLogarithmic") if integer || min < 0.0 || max >= 1.0 => {
            return Err(format!(
                "{name}: ReverseLogarithmic scaling needs a continuous range within [0, 1)"
            ));
        }
        Some("ReverseLogarithmic") => Scale::ReverseLog,
        _ => Scale::Linear,
    };
    Ok((name, min, max, scale))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A numeric range as a request writes it.
    pub(in crate::tuning) fn range(name: &str, min: &str, max: &str, scale: &str) -> NumericRange {
        NumericRange {
            name: Some(name.into()),
            min_value: Some(min.into()),
            max_value: Some(max.into()),
            scaling_type: Some(scale.into()),
            ..Default::default()
        }
    }

    fn space() -> Space {
        Space::from_ranges(&ParameterRanges {
            integer_parameter_ranges: Some(vec![range("epochs", "1", "100", "Logarithmic")]),
            continuous_parameter_ranges: Some(vec![
                range("lr", "0.0001", "0.1", "Logarithmic"),
                range("momentum", "0.9", "0.9999", "ReverseLogarithmic"),
                range("dropout", "0", "0.5", "Linear"),
            ]),
            categorical_parameter_ranges: Some(vec![crate::request::tuning::CategoricalRange {
                name: Some("optimizer".into()),
                values: Some(vec!["\"sgd\"".into(), "\"adam\"".into()]),
                ..Default::default()
            }]),
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn values_stay_in_range_and_follow_their_scale() {
        let space = space();
        let mut rng = Rng::new(1);
        let mut small_lr = 0;
        for _ in 0..2000 {
            let point = space.random(&mut rng);
            let values = space.values(&point);
            let epochs: i64 = values["epochs"].parse().unwrap();
            let lr: f64 = values["lr"].parse().unwrap();
            let momentum: f64 = values["momentum"].parse().unwrap();
            assert!((1..=100).contains(&epochs));
            assert!((0.0001..=0.1).contains(&lr), "{lr}");
            assert!((0.9..=0.9999).contains(&momentum), "{momentum}");
            assert!(["\"sgd\"", "\"adam\""].contains(&values["optimizer"].as_str()));
            small_lr += usize::from(lr < 0.001);
            // A trial's values read back as its point.
            let back = space.point_of(&values).unwrap();
            assert!(back.iter().zip(&point).all(|(a, b)| (a - b).abs() < 1e-9));
        }
        // Evenly in the logarithm: a third of the draws below 0.001 (1e-4 to 1e-1).
        assert!((550..800).contains(&small_lr), "{small_lr}");
    }

    #[test]
    fn a_grid_lists_every_combination_and_ranges_it_cannot_search_are_named() {
        let cat = |name: &str, values: &[&str]| crate::request::tuning::CategoricalRange {
            name: Some(name.into()),
            values: Some(values.iter().map(|v| v.to_string()).collect()),
            ..Default::default()
        };
        let space = Space::from_ranges(&ParameterRanges {
            categorical_parameter_ranges: Some(vec![
                cat("a", &["1", "2", "3"]),
                cat("b", &["x", "y"]),
            ]),
            ..Default::default()
        })
        .unwrap();
        let grid = space.grid();
        assert_eq!(grid.len(), 6);
        assert_eq!(space.values(&grid[5])["a"], "3");
        assert_eq!(space.values(&grid[5])["b"], "y");
        assert!(self::space().grid().is_empty());
        let bad = |r| {
            Space::from_ranges(&ParameterRanges {
                continuous_parameter_ranges: Some(vec![r]),
                ..Default::default()
            })
            .unwrap_err()
        };
        assert!(bad(range("lr", "0", "1", "Logarithmic")).contains("lr: Logarithmic"));
        assert!(bad(range("lr", "2", "1", "Linear")).contains("MinValue 2 is above MaxValue 1"));
        assert!(bad(range("lr", "x", "1", "Linear")).contains("MinValue \"x\""));
    }
}
