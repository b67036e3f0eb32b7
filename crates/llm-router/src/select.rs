//! Candidate selection and ranking.

use edge_ports::Random;
use serde::Serialize;

use crate::config::{ModelConfig, ProviderConfig, RouterConfig, Strategy};

/// Latency used for a provider never observed (neutral, not best).
const UNKNOWN_LATENCY_MS: f64 = 1_000.0;

/// The components of a score, each in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Components {
    /// Fastest candidate / this candidate.
    pub latency: f64,
    /// 1 for the requested model, 0.6 for a configured equivalent.
    pub compatibility: f64,
    /// Smoothed success rate.
    pub reliability: f64,
    /// Cheapest candidate / this candidate.
    pub cost: f64,
}

/// One ranked candidate.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    /// The provider.
    pub provider: &'a ProviderConfig,
    /// The model there.
    pub model: &'a ModelConfig,
    /// Serves the client's region (else a fallback).
    pub in_region: bool,
    /// The weighted sum.
    pub score: f64,
    /// Its parts.
    pub components: Components,
}

impl Candidate<'_> {
    /// A one-line explanation of the decision.
    pub fn reason(&self) -> String {
        let c = self.components;
        format!(
            "{}/{}: score {:.3} = latency {:.2} + compatibility {:.2} + reliability {:.2} + cost {:.2} (weighted){}",
            self.provider.name,
            self.model.name,
            self.score,
            c.latency,
            c.compatibility,
            c.reliability,
            c.cost,
            if self.in_region {
                ""
            } else {
                "; out of region (fallback)"
            }
        )
    }
}

/// What the ranker knows about a provider right now.
#[derive(Debug, Clone, Copy)]
pub struct Observed {
    /// Latency estimate, if any.
    pub latency_ms: Option<f64>,
    /// Smoothed success rate.
    pub reliability: f64,
    /// Usable now (healthy, breaker not open).
    pub available: bool,
}

/// Ranks the candidates for `model`: the regional pool first (ranked), then
/// out-of-region providers (ranked) as fallbacks. Equivalent models from
/// `policy.model_fallbacks` join with a lower compatibility.
pub fn rank<'a>(
    cfg: &'a RouterConfig,
    model: &str,
    region: &str,
    residency: bool,
    observe: &dyn Fn(&str) -> Observed,
    random: &dyn Random,
) -> Vec<Candidate<'a>> {
    let equivalents = cfg.policy.model_fallbacks.get(model);
    let mut raw: Vec<(Candidate<'a>, Observed)> = Vec::new();
    for p in &cfg.providers {
        if residency && !p.gdpr_compliant {
            continue;
        }
        let obs = observe(&p.name);
        if !obs.available {
            continue;
        }
        let found = p
            .models
            .iter()
            .find(|m| m.name == model)
            .map(|m| (m, 1.0))
            .or_else(|| {
                equivalents?
                    .iter()
                    .find_map(|eq| p.models.iter().find(|m| &m.name == eq).map(|m| (m, 0.6)))
            });
        if let Some((m, compatibility)) = found {
            raw.push((
                Candidate {
                    provider: p,
                    model: m,
                    in_region: p.regions.iter().any(|r| r == region),
                    score: 0.0,
                    components: Components {
                        latency: 0.0,
                        compatibility,
                        reliability: obs.reliability,
                        cost: 0.0,
                    },
                },
                obs,
            ));
        }
    }
    let latency = |o: &Observed| o.latency_ms.unwrap_or(UNKNOWN_LATENCY_MS).max(1.0);
    let price = |m: &ModelConfig| m.input_per_mtok + m.output_per_mtok;
    let best_latency = raw
        .iter()
        .map(|(_, o)| latency(o))
        .fold(f64::INFINITY, f64::min);
    let best_price = raw
        .iter()
        .map(|(c, _)| price(c.model))
        .fold(f64::INFINITY, f64::min);
    let w = cfg.policy.weights;
    for (c, o) in &mut raw {
        c.components.latency = best_latency / latency(o);
        let p = price(c.model);
        c.components.cost = if p <= 0.0 {
            1.0
        } else {
            best_price.max(0.0) / p
        };
        let k = c.components;
        // A weighted SUM: one weak component lowers the score, it does not
        // zero it (the source design multiplied them).
        c.score = w.latency * k.latency
            + w.compatibility * k.compatibility
            + w.reliability * k.reliability
            + w.cost * k.cost;
    }
    let mut cands: Vec<(Candidate<'a>, Observed)> = raw;
    let order =
        |a: &(Candidate<'_>, Observed), b: &(Candidate<'_>, Observed)| -> std::cmp::Ordering {
            let by = match cfg.policy.strategy {
                Strategy::LowestLatency => latency(&a.1).total_cmp(&latency(&b.1)),
                Strategy::LowestCost => price(a.0.model).total_cmp(&price(b.0.model)),
                Strategy::Priority | Strategy::WeightedRandom => std::cmp::Ordering::Equal, // config order (stable sort)
                Strategy::Score => b.0.score.total_cmp(&a.0.score),
            };
            b.0.in_region
                .cmp(&a.0.in_region)
                .then(by)
                .then_with(|| match cfg.policy.strategy {
                    // Config order is the point of these two (stable sort).
                    Strategy::Priority | Strategy::WeightedRandom => std::cmp::Ordering::Equal,
                    _ => b.0.score.total_cmp(&a.0.score),
                })
        };
    cands.sort_by(order);
    if cfg.policy.strategy == Strategy::WeightedRandom {
        weighted_shuffle(&mut cands, random);
    }
    cands.into_iter().map(|(c, _)| c).collect()
}

/// Orders each tier (in-region, then out-of-region) by weighted sampling
/// without replacement on provider weight.
fn weighted_shuffle(cands: &mut [(Candidate<'_>, Observed)], random: &dyn Random) {
    let split = cands
        .iter()
        .position(|c| !c.0.in_region)
        .unwrap_or(cands.len());
    let (regional, rest) = cands.split_at_mut(split);
    for tier in [regional, rest] {
        for i in 0..tier.len() {
            let total: f64 = tier[i..].iter().map(|c| c.0.provider.weight).sum();
            let mut pick = random.next_f64().unwrap_or(0.0) * total;
            let mut chosen = i;
            for (j, c) in tier.iter().enumerate().skip(i) {
                pick -= c.0.provider.weight;
                if pick < 0.0 {
                    chosen = j;
                    break;
                }
            }
            tier.swap(i, chosen);
        }
    }
}
