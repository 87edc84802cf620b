//! The three plans and what each one allows.

use std::fmt;
use std::str::FromStr;

/// A licence plan. The plan alone decides how many domains may be active and whether the
/// licence has a term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    /// One domain, one year from issue.
    Single,
    /// One domain, never expires.
    Lifetime,
    /// Five domains, one year from issue.
    Multi,
}

impl Plan {
    /// Every plan, in the order they are sold.
    pub const ALL: [Plan; 3] = [Plan::Single, Plan::Lifetime, Plan::Multi];

    /// How many domains may be active at once.
    pub fn max_domains(self) -> u32 {
        match self {
            Plan::Single | Plan::Lifetime => 1,
            Plan::Multi => 5,
        }
    }

    /// Whether the plan runs for a term and so must carry an expiry date.
    pub fn has_term(self) -> bool {
        match self {
            Plan::Single | Plan::Multi => true,
            Plan::Lifetime => false,
        }
    }

    /// The plan's word as it appears in licences, the CLI and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Single => "single",
            Plan::Lifetime => "lifetime",
            Plan::Multi => "multi",
        }
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not one of `single`, `lifetime`, `multi`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown plan '{0}': use single, lifetime or multi")]
pub struct UnknownPlan(pub String);

impl FromStr for Plan {
    type Err = UnknownPlan;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "single" => Ok(Plan::Single),
            "lifetime" => Ok(Plan::Lifetime),
            "multi" => Ok(Plan::Multi),
            other => Err(UnknownPlan(other.to_owned())),
        }
    }
}
