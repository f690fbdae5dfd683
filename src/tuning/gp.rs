//! Gaussian-process regression for the Bayesian search: a Matérn 5/2 kernel whose length
//! scale and noise are chosen by the marginal likelihood, and the expected improvement
//! of a candidate over the best value so far.

/// Length scales tried when fitting (in unit-cube coordinates).
const LENGTH_SCALES: [f64; 7] = [0.05, 0.1, 0.2, 0.35, 0.5, 0.8, 1.2];
/// Noise variances tried when fitting (of the standardized objective).
const NOISES: [f64; 3] = [1e-6, 1e-3, 3e-2];

/// A fitted Gaussian process over the standardized objective.
#[derive(Debug, Clone)]
pub struct Gp {
    x: Vec<Vec<f64>>,
    /// Lower Cholesky factor of the kernel matrix plus noise.
    chol: Vec<Vec<f64>>,
    /// `K⁻¹ y` of the standardized values.
    alpha: Vec<f64>,
    length: f64,
    mean: f64,
    scale: f64,
}

fn matern52(a: &[f64], b: &[f64], length: f64) -> f64 {
    let d2: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
    let r = 5f64.sqrt() * d2.sqrt() / length;
    (1.0 + r + r * r / 3.0) * (-r).exp()
}

/// The lower Cholesky factor of `m`, or `None` when it is not positive definite.
fn cholesky(m: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let n = m.len();
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let sum: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                let d = m[i][i] - sum;
                if d <= 0.0 || !d.is_finite() {
                    return None;
                }
                l[i][j] = d.sqrt();
            } else {
                l[i][j] = (m[i][j] - sum) / l[j][j];
            }
        }
    }
    Some(l)
}

/// Solves `L z = b` for lower-triangular `L`.
fn forward(l: &[Vec<f64>], b: &[f64]) -> Vec<f64> {
    let mut z = vec![0.0; b.len()];
    for i in 0..b.len() {
        let sum: f64 = (0..i).map(|k| l[i][k] * z[k]).sum();
        z[i] = (b[i] - sum) / l[i][i];
    }
    z
}

/// Solves `Lᵀ x = z`.
fn backward(l: &[Vec<f64>], z: &[f64]) -> Vec<f64> {
    let n = z.len();
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let sum: f64 = (i + 1..n).map(|k| l[k][i] * x[k]).sum();
        x[i] = (z[i] - sum) / l[i][i];
    }
    x
}

impl Gp {
    /// Fits the process to points `x` with values `y` (at least two); `None` when no
    /// length scale and noise give a usable fit.
    pub fn fit(x: Vec<Vec<f64>>, y: &[f64]) -> Option<Self> {
        if x.len() < 2 || x.len() != y.len() {
            return None;
        }
        let n = y.len() as f64;
        let mean = y.iter().sum::<f64>() / n;
        let var = y.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
        let scale = if var > 0.0 { var.sqrt() } else { 1.0 };
        let ys: Vec<f64> = y.iter().map(|v| (v - mean) / scale).collect();
        let mut best: Option<(f64, Self)> = None;
        for &length in &LENGTH_SCALES {
            for &noise in &NOISES {
                let k: Vec<Vec<f64>> = x
                    .iter()
                    .enumerate()
                    .map(|(i, a)| {
                        x.iter()
                            .enumerate()
                            .map(|(j, b)| matern52(a, b, length) + if i == j { noise } else { 0.0 })
                            .collect()
                    })
                    .collect();
                let Some(chol) = cholesky(&k) else { continue };
                let z = forward(&chol, &ys);
                let alpha = backward(&chol, &z);
                // log p(y) up to a constant: -½ yᵀK⁻¹y - ½ log|K|.
                let fit = -0.5 * z.iter().map(|v| v * v).sum::<f64>()
                    - chol
                        .iter()
                        .enumerate()
                        .map(|(i, row)| row[i].ln())
                        .sum::<f64>();
                if best.as_ref().is_none_or(|(b, _)| fit > *b) {
                    best = Some((
                        fit,
                        Self {
                            x: x.clone(),
                            chol,
                            alpha,
                            length,
                            mean,
                            scale,
                        },
                    ));
                }
            }
        }
        best.map(|(_, gp)| gp)
    }

    /// The predicted mean and standard deviation at `q`, in the objective's units.
    pub fn predict(&self, q: &[f64]) -> (f64, f64) {
        let k: Vec<f64> = self.x.iter().map(|a| matern52(a, q, self.length)).collect();
        let mu: f64 = k.iter().zip(&self.alpha).map(|(a, b)| a * b).sum();
        let v = forward(&self.chol, &k);
        let var = (1.0 - v.iter().map(|x| x * x).sum::<f64>()).max(1e-12);
        (self.mean + mu * self.scale, var.sqrt() * self.scale)
    }
}

/// The standard normal distribution function.
fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// The complementary error function (Chebyshev fit, relative error under 1.2e-7).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// The expected amount by which a value predicted as `mu ± sigma` falls below `best`
/// (minimizing), less a small margin `xi` that favours the unexplored.
pub fn expected_improvement(mu: f64, sigma: f64, best: f64, xi: f64) -> f64 {
    if sigma <= 0.0 {
        return (best - mu - xi).max(0.0);
    }
    let z = (best - mu - xi) / sigma;
    let pdf = (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
    (best - mu - xi) * normal_cdf(z) + sigma * pdf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_process_passes_near_its_points_and_is_unsure_away_from_them() {
        let x: Vec<Vec<f64>> = (0..8).map(|i| vec![i as f64 / 7.0]).collect();
        let y: Vec<f64> = x.iter().map(|p| (6.0 * p[0]).sin()).collect();
        let gp = Gp::fit(x.clone(), &y).unwrap();
        for (p, v) in x.iter().zip(&y) {
            let (mu, sigma) = gp.predict(p);
            assert!((mu - v).abs() < 0.05, "{mu} vs {v}");
            assert!(sigma < 0.1);
        }
        let (mu, _) = gp.predict(&[0.5]);
        assert!((mu - 3f64.sin()).abs() < 0.1, "{mu}");
        let (_, far) = gp.predict(&[3.0]);
        assert!(far > 0.5, "{far}");
    }

    #[test]
    fn improvement_grows_with_a_lower_mean_and_with_doubt() {
        assert!(
            expected_improvement(0.0, 1.0, 1.0, 0.0) > expected_improvement(0.5, 1.0, 1.0, 0.0)
        );
        assert!(
            expected_improvement(2.0, 1.0, 1.0, 0.0) > expected_improvement(2.0, 0.1, 1.0, 0.0)
        );
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(1.96) - 0.975).abs() < 1e-4);
    }
}
