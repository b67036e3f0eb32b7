//! The complete tier × category quota table.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Gcra, Quota, RateLimitError};
use crate::jwt::Tier;

/// The table as configured: every tier must have a quota for every category.
///
/// ```json
/// { "categories": ["chat", "read"],
///   "quotas": { "anonymous": { "chat": { "limit": 5, "window_secs": 60 },
///                              "read": { "limit": 60, "window_secs": 60 } },
///               "authenticated": { … }, "premium": { … }, "admin": { … } } }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Endpoint categories (e.g. `chat`, `embeddings`, `admin`, `read`).
    pub categories: Vec<String>,
    /// Tier name → category → quota.
    pub quotas: BTreeMap<String, BTreeMap<String, Quota>>,
}

#[derive(Debug, Clone)]
struct Cell {
    quota: Quota,
    gcra: Gcra,
}

/// A validated table: a quota for every tier × category.
#[derive(Debug, Clone)]
pub struct RateLimitTable {
    categories: Vec<String>,
    /// Indexed by `tier as usize * categories.len() + category index`.
    cells: Vec<Cell>,
}

fn valid_category(c: &str) -> bool {
    !c.is_empty()
        && c.len() <= 64
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
}

fn tier_index(t: Tier) -> usize {
    match t {
        Tier::Anonymous => 0,
        Tier::Authenticated => 1,
        Tier::Premium => 2,
        Tier::Admin => 3,
    }
}

impl RateLimitTable {
    /// Validates `config`: categories are unique names, tiers are known, every
    /// cell is present and every quota valid.
    pub fn new(config: RateLimitConfig) -> Result<Self, RateLimitError> {
        if config.categories.is_empty() {
            return Err(RateLimitError::InvalidCategory(String::new()));
        }
        for (i, c) in config.categories.iter().enumerate() {
            if !valid_category(c) || config.categories[..i].contains(c) {
                return Err(RateLimitError::InvalidCategory(c.clone()));
            }
        }
        for (tier, row) in &config.quotas {
            tier.parse::<Tier>()
                .map_err(|_| RateLimitError::UnknownTier(tier.clone()))?;
            if let Some(extra) = row.keys().find(|c| !config.categories.contains(c)) {
                return Err(RateLimitError::InvalidCategory(extra.clone()));
            }
        }
        let mut cells = Vec::with_capacity(Tier::ALL.len() * config.categories.len());
        for tier in Tier::ALL {
            for cat in &config.categories {
                let quota = config
                    .quotas
                    .get(tier.as_str())
                    .and_then(|row| row.get(cat))
                    .ok_or_else(|| RateLimitError::MissingCell {
                        tier: tier.as_str().to_owned(),
                        category: cat.clone(),
                    })?;
                quota.validate()?;
                cells.push(Cell {
                    quota: *quota,
                    gcra: Gcra::new(*quota),
                });
            }
        }
        Ok(Self {
            categories: config.categories,
            cells,
        })
    }

    /// The declared categories.
    pub fn categories(&self) -> &[String] {
        &self.categories
    }

    fn cell(&self, tier: Tier, category: &str) -> Option<&Cell> {
        let ci = self.categories.iter().position(|c| c == category)?;
        self.cells
            .get(tier_index(tier) * self.categories.len() + ci)
    }

    /// The quota for `tier` × `category` (`None` for an undeclared category).
    pub fn quota(&self, tier: Tier, category: &str) -> Option<Quota> {
        self.cell(tier, category).map(|c| c.quota)
    }

    /// The GCRA for `tier` × `category`.
    pub fn gcra(&self, tier: Tier, category: &str) -> Option<Gcra> {
        self.cell(tier, category).map(|c| c.gcra)
    }
}
