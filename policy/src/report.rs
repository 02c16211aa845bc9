use serde::{Deserialize, Serialize};

use crate::Rule;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Passed,
    Failed,
    /// This side cannot decide (the blocklist lives on the server).
    Pending,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleResult {
    pub rule: Rule,
    pub outcome: Outcome,
}

/// Every rule of the policy with its outcome, in a stable order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Report {
    pub rules: Vec<RuleResult>,
}

impl Report {
    pub fn failures(&self) -> impl Iterator<Item = &RuleResult> {
        self.rules.iter().filter(|r| r.outcome == Outcome::Failed)
    }

    pub fn pending(&self) -> impl Iterator<Item = &RuleResult> {
        self.rules.iter().filter(|r| r.outcome == Outcome::Pending)
    }

    /// Every rule decided and passed.
    pub fn is_acceptable(&self) -> bool {
        self.rules.iter().all(|r| r.outcome == Outcome::Passed)
    }
}
