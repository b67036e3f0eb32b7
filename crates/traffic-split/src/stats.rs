//! Experiment statistics: two-proportion z-test, Welch's t-test, the
//! sample-ratio-mismatch χ² check, and a sequential test (mSPRT) that stays
//! valid when results are checked repeatedly.
//!
//! Formulas follow `shared/guide/domain-facts.md`; special functions are
//! implemented here (no statistics dependency) and verified against
//! published values in the tests.

use std::f64::consts::PI;

/// Standard normal CDF Φ(x).
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// Complementary error function, |relative error| < 1.2e-7 (Chebyshev fit).
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7).
pub fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        return (PI / (PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = G[0];
    let t = x + 7.5;
    for (i, g) in G.iter().enumerate().skip(1) {
        a += g / (x + i as f64);
    }
    0.5 * (2.0 * PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Regularized incomplete beta I_x(a, b) (continued fraction).
pub fn inc_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    if x < (a + 1.0) / (a + b + 2.0) {
        ln_front.exp() * beta_cf(a, b, x) / a
    } else {
        1.0 - ln_front.exp() * beta_cf(b, a, 1.0 - x) / b
    }
}

fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..300 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// Student's t CDF with `df` degrees of freedom.
pub fn t_cdf(t: f64, df: f64) -> f64 {
    let x = df / (df + t * t);
    let tail = 0.5 * inc_beta(df / 2.0, 0.5, x);
    if t >= 0.0 { 1.0 - tail } else { tail }
}

/// Regularized lower incomplete gamma P(s, x).
pub fn inc_gamma_p(s: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    let ln_front = -x + s * x.ln() - ln_gamma(s);
    if x < s + 1.0 {
        // Series.
        let (mut sum, mut term, mut n) = (1.0 / s, 1.0 / s, s);
        for _ in 0..1000 {
            n += 1.0;
            term *= x / n;
            sum += term;
            if term.abs() < sum.abs() * 1e-15 {
                break;
            }
        }
        sum * ln_front.exp()
    } else {
        // Continued fraction for Q, then P = 1 - Q.
        const TINY: f64 = 1e-300;
        let mut b = x + 1.0 - s;
        let mut c = 1.0 / TINY;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..1000 {
            let an = -f64::from(i) * (f64::from(i) - s);
            b += 2.0;
            d = an * d + b;
            d = if d.abs() < TINY { TINY } else { d };
            c = b + an / c;
            c = if c.abs() < TINY { TINY } else { c };
            d = 1.0 / d;
            let del = d * c;
            h *= del;
            if (del - 1.0).abs() < 1e-15 {
                break;
            }
        }
        1.0 - ln_front.exp() * h
    }
}

/// χ² survival function (p-value) with `k` degrees of freedom.
pub fn chi2_sf(x: f64, k: f64) -> f64 {
    1.0 - inc_gamma_p(k / 2.0, x / 2.0)
}

/// Result of a two-sided test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TestResult {
    /// The statistic (z or t).
    pub statistic: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Treatment minus control.
    pub difference: f64,
    /// Degrees of freedom (Welch), or infinity (z).
    pub df: f64,
}

/// Two-proportion z-test with pooled variance.
/// Returns `None` when an arm is empty or the pooled rate is 0 or 1.
pub fn two_proportion_z(x_c: u64, n_c: u64, x_t: u64, n_t: u64) -> Option<TestResult> {
    if n_c == 0 || n_t == 0 || x_c > n_c || x_t > n_t {
        return None;
    }
    let (nc, nt) = (n_c as f64, n_t as f64);
    let p = (x_c + x_t) as f64 / (nc + nt);
    let se = (p * (1.0 - p) * (1.0 / nc + 1.0 / nt)).sqrt();
    if se == 0.0 || !se.is_finite() {
        return None;
    }
    let diff = x_t as f64 / nt - x_c as f64 / nc;
    let z = diff / se;
    Some(TestResult {
        statistic: z,
        p_value: 2.0 * (1.0 - normal_cdf(z.abs())),
        difference: diff,
        df: f64::INFINITY,
    })
}

/// Summary of a numeric metric in one arm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Sample size.
    pub n: f64,
    /// Mean.
    pub mean: f64,
    /// Sample variance (n − 1 denominator).
    pub variance: f64,
}

impl Summary {
    /// Summary of a sample.
    pub fn of(xs: &[f64]) -> Self {
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n.max(1.0);
        let variance = if n > 1.0 {
            xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
        } else {
            0.0
        };
        Self { n, mean, variance }
    }
}

/// Welch's unequal-variances t-test (treatment vs control).
pub fn welch_t(control: Summary, treatment: Summary) -> Option<TestResult> {
    if control.n < 2.0 || treatment.n < 2.0 {
        return None;
    }
    let (vc, vt) = (
        control.variance / control.n,
        treatment.variance / treatment.n,
    );
    let se = (vc + vt).sqrt();
    if se == 0.0 || !se.is_finite() {
        return None;
    }
    let diff = treatment.mean - control.mean;
    let t = diff / se;
    let df = (vc + vt).powi(2) / (vc * vc / (control.n - 1.0) + vt * vt / (treatment.n - 1.0));
    Some(TestResult {
        statistic: t,
        p_value: 2.0 * (1.0 - t_cdf(t.abs(), df)),
        difference: diff,
        df,
    })
}

/// A sample-ratio-mismatch check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Srm {
    /// χ² statistic.
    pub chi2: f64,
    /// p-value with k − 1 degrees of freedom.
    pub p_value: f64,
    /// True when p < 0.001 and every arm has at least 8 units.
    pub mismatch: bool,
}

/// χ² goodness of fit of observed arm counts against the intended weights.
pub fn srm(observed: &[u64], weights: &[f64]) -> Option<Srm> {
    if observed.len() < 2 || observed.len() != weights.len() {
        return None;
    }
    let total: f64 = observed.iter().map(|o| *o as f64).sum();
    let wsum: f64 = weights.iter().sum();
    if total == 0.0 || wsum <= 0.0 || weights.iter().any(|w| *w <= 0.0 || !w.is_finite()) {
        return None;
    }
    let chi2: f64 = observed
        .iter()
        .zip(weights)
        .map(|(o, w)| {
            let e = total * w / wsum;
            (*o as f64 - e).powi(2) / e
        })
        .sum();
    let p_value = chi2_sf(chi2, (observed.len() - 1) as f64);
    Some(Srm {
        chi2,
        p_value,
        mismatch: p_value < 0.001 && observed.iter().all(|o| *o >= 8),
    })
}

/// An always-valid sample-ratio check (Lindon & Malek 2022, "Anytime-valid
/// inference for multinomial count data"): the Bayes factor of a
/// Dirichlet(100·w) mixture against the intended weights `w`, as a p-value
/// `min(1, 1/BF)`. Unlike [`srm`]'s χ² test, checking it after every batch
/// keeps the false-alarm rate at the level; keep the running minimum.
pub fn srm_sequential(observed: &[u64], weights: &[f64]) -> Option<f64> {
    if observed.len() < 2 || observed.len() != weights.len() {
        return None;
    }
    let wsum: f64 = weights.iter().sum();
    if wsum <= 0.0 || weights.iter().any(|w| *w <= 0.0 || !w.is_finite()) {
        return None;
    }
    let n: f64 = observed.iter().map(|o| *o as f64).sum();
    let alpha: Vec<f64> = weights.iter().map(|w| 100.0 * w / wsum).collect();
    let a0: f64 = alpha.iter().sum();
    let mut ln_bf = ln_gamma(a0) - ln_gamma(a0 + n);
    for ((o, a), w) in observed.iter().zip(&alpha).zip(weights) {
        let x = *o as f64;
        ln_bf += ln_gamma(a + x) - ln_gamma(*a) - x * (w / wsum).ln();
    }
    Some((-ln_bf).exp().min(1.0))
}

/// Mixture sequential probability ratio test (Johari, Pekelis & Walsh 2017)
/// for the difference of two proportions, with a normal mixing distribution
/// N(0, τ²) over the effect. Its p-value is *always valid*: checking after
/// every batch does not inflate the false-positive rate beyond α.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Msprt {
    /// Mixing variance τ² (on the difference of proportions).
    pub tau2: f64,
    /// Running always-valid p-value (non-increasing).
    pub p_value: f64,
}

impl Msprt {
    /// A test with mixing standard deviation `tau` (the size of effect you
    /// care about, e.g. 0.01 for one percentage point).
    pub fn new(tau: f64) -> Self {
        Self {
            tau2: tau * tau,
            p_value: 1.0,
        }
    }

    /// Updates with cumulative counts; returns the always-valid p-value.
    pub fn update(&mut self, x_c: u64, n_c: u64, x_t: u64, n_t: u64) -> f64 {
        if n_c == 0 || n_t == 0 {
            return self.p_value;
        }
        let (pc, pt) = (x_c as f64 / n_c as f64, x_t as f64 / n_t as f64);
        self.update_means(
            Summary {
                n: n_c as f64,
                mean: pc,
                variance: pc * (1.0 - pc),
            },
            Summary {
                n: n_t as f64,
                mean: pt,
                variance: pt * (1.0 - pt),
            },
        )
    }

    /// Updates with the cumulative summaries of a numeric metric (the
    /// difference of means, normal approximation); returns the always-valid
    /// p-value. [`Msprt::update`] is the Bernoulli case.
    pub fn update_means(&mut self, control: Summary, treatment: Summary) -> f64 {
        if control.n < 1.0 || treatment.n < 1.0 {
            return self.p_value;
        }
        // Variance of the difference estimate, floored so degenerate early
        // samples (all 0 or all 1) cannot produce an infinite ratio.
        let v = (control.variance / control.n + treatment.variance / treatment.n).max(1e-12);
        let theta = treatment.mean - control.mean;
        let ln_lambda = 0.5 * (v / (v + self.tau2)).ln()
            + theta * theta * self.tau2 / (2.0 * v * (v + self.tau2));
        let p = (-ln_lambda).exp().min(1.0);
        if p.is_finite() {
            self.p_value = self.p_value.min(p);
        }
        self.p_value
    }

    /// True once the always-valid p-value is below `alpha`.
    pub fn significant(&self, alpha: f64) -> bool {
        self.p_value < alpha
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn special_functions_match_published_values() {
        assert!(close(normal_cdf(1.96), 0.975_002_104_851_779_5, 1e-7));
        assert!(close(normal_cdf(-1.0), 0.158_655_253_931_457_05, 1e-7));
        assert!(close(t_cdf(2.0, 5.0), 0.949_030_260_585_070_8, 1e-9));
        assert!(close(
            1.0 - chi2_sf(3.84, 1.0),
            0.949_956_478_751_294_9,
            1e-9
        ));
        assert!(close(ln_gamma(10.0), (362_880.0f64).ln(), 1e-10));
    }

    #[test]
    fn z_test_matches_reference() {
        // 100/1000 vs 130/1000 (reference: scipy.stats.norm).
        let r = two_proportion_z(100, 1000, 130, 1000).unwrap();
        assert!(close(r.statistic, 2.102_740_605_622_114, 1e-9));
        assert!(close(r.p_value, 0.035_488_450_466_474_75, 1e-6));
        assert!(two_proportion_z(0, 10, 0, 10).is_none());
        assert!(two_proportion_z(1, 0, 1, 10).is_none());
    }

    #[test]
    fn welch_matches_the_wikipedia_example() {
        let a = [
            27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7,
            21.4,
        ];
        let b = [
            27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5,
            24.4,
        ];
        let r = welch_t(Summary::of(&a), Summary::of(&b)).unwrap();
        assert!(close(r.statistic, 2.455_356_398_286_006, 1e-9));
        assert!(close(r.df, 24.988_529_290_231_416, 1e-6));
        assert!(close(r.p_value, 0.021_378_001_462_866_992, 1e-7));
    }

    #[test]
    fn srm_flags_at_p_below_0_001() {
        let s = srm(&[5000, 5200], &[0.5, 0.5]).unwrap();
        assert!(close(s.chi2, 3.921_568_627_450_980_2, 1e-9));
        assert!(close(s.p_value, 0.047_670_380_656_161_5, 1e-7));
        assert!(!s.mismatch);
        let s = srm(&[1000, 1000, 1150], &[1.0, 1.0, 1.0]).unwrap();
        assert!(close(s.chi2, 14.285_714_285_714_285, 1e-9));
        assert!(close(s.p_value, 0.000_790_490_323_119_967_1, 1e-8));
        assert!(s.mismatch);
        assert!(
            !srm(&[0, 7], &[0.5, 0.5]).unwrap().mismatch,
            "needs 8 units per arm"
        );
        assert!(srm(&[1], &[1.0]).is_none());
    }

    #[test]
    fn sequential_srm_flags_a_real_mismatch_only() {
        let fair = srm_sequential(&[5000, 5050], &[0.5, 0.5]).unwrap();
        assert!(fair > 0.5, "{fair}");
        let skewed = srm_sequential(&[5000, 5600], &[0.5, 0.5]).unwrap();
        assert!(skewed < 0.001, "{skewed}");
        assert!(srm_sequential(&[1], &[1.0]).is_none());
    }

    #[test]
    fn msprt_detects_real_effects_and_is_monotone() {
        let mut t = Msprt::new(0.02);
        let mut last = 1.0;
        for k in 1..=50u64 {
            let p = t.update(10 * k, 100 * k, 13 * k, 100 * k);
            assert!(p <= last);
            last = p;
        }
        assert!(
            t.significant(0.05),
            "a 3-point lift over 5,000 per arm is detected, p = {last}"
        );
    }
}
