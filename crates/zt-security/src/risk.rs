//! A 0–100 request risk score from documented, weighted factors.
//!
//! Each factor contributes `weight × severity`, where severity is in
//! `0.0..=1.0`; the weights add up to 100, so the score reads as a
//! percentage of the worst case. Factors **add**, they are never multiplied
//! together (a zero in one factor must not erase the others).
//!
//! | factor | weight | severity |
//! |---|---|---|
//! | threat anomaly score | 30 | `min(score / 10, 1)` (CRS: 5 = one critical rule) |
//! | bot score | 20 | `(50 − score) / 49`, clamped: 0 at ≥ 50, 1 at score 1 |
//! | recent authentication failures | 15 | `min(failures / 5, 1)` |
//! | anonymity network | 15 | Tor 1.0, hosting/VPN ASN 0.66, unknown country 0.33 |
//! | rate-limit pressure | 10 | 1.0 when limited, else `(used − 0.8) / 0.2` above 80 % |
//! | geo rule already refused this client | 5 | 1.0 |
//! | unauthenticated | 5 | 1.0 |
//!
//! Levels: `low` < 25 ≤ `medium` < 50 ≤ `high` < 75 ≤ `critical`.
//!
//! ```
//! use zt_security::risk::{Anonymity, RiskInput, RiskLevel, risk_score};
//!
//! let calm = risk_score(&RiskInput { authenticated: true, bot_score: Some(80), ..RiskInput::default() });
//! assert_eq!((calm.score, calm.level), (0, RiskLevel::Low));
//!
//! let hot = risk_score(&RiskInput {
//!     threat_score: 10, bot_score: Some(1), anonymity: Anonymity::Tor, ..RiskInput::default()
//! });
//! assert_eq!(hot.score, 70); // 30 + 20 + 15 + 5 (unauthenticated)
//! assert_eq!(hot.level, RiskLevel::High);
//! assert_eq!(hot.reasons[0].factor, "threat");
//! ```

use serde::Serialize;

/// How anonymous the network origin is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Anonymity {
    /// An ordinary network.
    #[default]
    None,
    /// `cf.country` is `XX` or missing.
    UnknownCountry,
    /// The ASN is a hosting provider or VPN.
    HostingAsn,
    /// `cf.country` is `T1`.
    Tor,
}

/// The signals the score combines.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RiskInput {
    /// The threat scanner's anomaly score.
    pub threat_score: u32,
    /// The bot score (1 automated ..= 99 human), if known.
    pub bot_score: Option<u8>,
    /// Authentication failures for this client in the recent window.
    pub recent_auth_failures: u32,
    /// Network anonymity.
    pub anonymity: Anonymity,
    /// The rate limiter refused this request.
    pub rate_limited: bool,
    /// Fraction of the rate-limit quota used (`0.0..=1.0`).
    pub quota_used: f64,
    /// A geo rule refused this client.
    pub geo_refused: bool,
    /// The request carried a valid credential.
    pub authenticated: bool,
}

/// One factor's contribution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskReason {
    /// Factor name (`threat`, `bot`, `auth_failures`, `anonymity`,
    /// `rate_limit`, `geo`, `unauthenticated`).
    pub factor: &'static str,
    /// Points added (0–weight).
    pub points: f64,
    /// Human-readable detail.
    pub detail: String,
}

/// Coarse level for policies and alerting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RiskLevel {
    /// < 25.
    Low,
    /// 25–49.
    Medium,
    /// 50–74.
    High,
    /// ≥ 75.
    Critical,
}

/// The score, its level and the contributing factors (largest first).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskScore {
    /// 0–100.
    pub score: u8,
    /// Level.
    pub level: RiskLevel,
    /// Non-zero contributions, largest first.
    pub reasons: Vec<RiskReason>,
}

/// Factor weights (sum to 100).
pub mod weights {
    /// Threat anomaly score.
    pub const THREAT: f64 = 30.0;
    /// Bot score.
    pub const BOT: f64 = 20.0;
    /// Recent authentication failures.
    pub const AUTH_FAILURES: f64 = 15.0;
    /// Anonymity network.
    pub const ANONYMITY: f64 = 15.0;
    /// Rate-limit pressure.
    pub const RATE_LIMIT: f64 = 10.0;
    /// Geo refusal.
    pub const GEO: f64 = 5.0;
    /// No credential.
    pub const UNAUTHENTICATED: f64 = 5.0;
}

fn unit(x: f64) -> f64 {
    if x.is_finite() {
        x.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// Computes the score.
pub fn risk_score(input: &RiskInput) -> RiskScore {
    let mut reasons = Vec::new();
    let mut add = |factor: &'static str, weight: f64, severity: f64, detail: String| {
        let points = weight * unit(severity);
        if points > 0.0 {
            reasons.push(RiskReason {
                factor,
                points,
                detail,
            });
        }
    };
    add(
        "threat",
        weights::THREAT,
        f64::from(input.threat_score) / 10.0,
        format!("anomaly score {}", input.threat_score),
    );
    if let Some(b) = input.bot_score {
        add(
            "bot",
            weights::BOT,
            (50.0 - f64::from(b.clamp(1, 99))) / 49.0,
            format!("bot score {b}"),
        );
    }
    add(
        "auth_failures",
        weights::AUTH_FAILURES,
        f64::from(input.recent_auth_failures) / 5.0,
        format!(
            "{} recent authentication failures",
            input.recent_auth_failures
        ),
    );
    let (anon, what) = match input.anonymity {
        Anonymity::None => (0.0, "none"),
        Anonymity::UnknownCountry => (0.33, "unknown country"),
        Anonymity::HostingAsn => (0.66, "hosting or VPN network"),
        Anonymity::Tor => (1.0, "Tor exit"),
    };
    add("anonymity", weights::ANONYMITY, anon, what.to_string());
    if input.rate_limited {
        add(
            "rate_limit",
            weights::RATE_LIMIT,
            1.0,
            "rate limited".into(),
        );
    } else {
        add(
            "rate_limit",
            weights::RATE_LIMIT,
            (input.quota_used - 0.8) / 0.2,
            format!("{:.0}% of quota used", unit(input.quota_used) * 100.0),
        );
    }
    if input.geo_refused {
        add("geo", weights::GEO, 1.0, "refused by a geo rule".into());
    }
    if !input.authenticated {
        add(
            "unauthenticated",
            weights::UNAUTHENTICATED,
            1.0,
            "no credential".into(),
        );
    }
    reasons.sort_by(|a, b| b.points.total_cmp(&a.points));
    let total: f64 = reasons.iter().map(|r| r.points).sum();
    let score = total.round().clamp(0.0, 100.0) as u8;
    let level = match score {
        0..25 => RiskLevel::Low,
        25..50 => RiskLevel::Medium,
        50..75 => RiskLevel::High,
        _ => RiskLevel::Critical,
    };
    RiskScore {
        score,
        level,
        reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_sum_to_one_hundred() {
        use weights::*;
        let sum = THREAT + BOT + AUTH_FAILURES + ANONYMITY + RATE_LIMIT + GEO + UNAUTHENTICATED;
        assert_eq!(sum, 100.0);
    }

    #[test]
    fn worst_case_is_one_hundred_and_factors_add() {
        let worst = RiskInput {
            threat_score: 50,
            bot_score: Some(1),
            recent_auth_failures: 9,
            anonymity: Anonymity::Tor,
            rate_limited: true,
            quota_used: 1.0,
            geo_refused: true,
            authenticated: false,
        };
        let r = risk_score(&worst);
        assert_eq!((r.score, r.level), (100, RiskLevel::Critical));
        assert_eq!(r.reasons.len(), 7);
        // A zero factor does not cancel the others (the sketch multiplied them).
        let no_threat = risk_score(&RiskInput {
            threat_score: 0,
            ..worst
        });
        assert_eq!(no_threat.score, 70);
    }

    #[test]
    fn partial_severities_scale_linearly() {
        let r = risk_score(&RiskInput {
            threat_score: 5,
            bot_score: Some(99),
            recent_auth_failures: 1,
            anonymity: Anonymity::HostingAsn,
            quota_used: 0.9,
            authenticated: true,
            ..RiskInput::default()
        });
        // 15 + 0 + 3 + 9.9 + 5 = 32.9
        assert_eq!((r.score, r.level), (33, RiskLevel::Medium));
        let factors: Vec<_> = r.reasons.iter().map(|x| x.factor).collect();
        assert_eq!(
            factors,
            ["threat", "anonymity", "rate_limit", "auth_failures"]
        );
    }

    #[test]
    fn nonsense_inputs_are_bounded() {
        let r = risk_score(&RiskInput {
            quota_used: f64::NAN,
            threat_score: u32::MAX,
            recent_auth_failures: u32::MAX,
            authenticated: true,
            ..RiskInput::default()
        });
        assert_eq!(r.score, 45);
    }
}
