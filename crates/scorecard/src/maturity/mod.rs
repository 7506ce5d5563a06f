//! Maturity scorecards: `portolan.dev/v1` `Scorecard` files, their built-in checks, the level each entity reaches,
//! team rollups and snapshots.
//!
//! - [`model`]: the definition, the facts of one entity and its result: plain data;
//! - [`definition`]: `Scorecard` documents read and checked, with every problem at its line and column;
//! - [`evaluate`]: whether a scorecard applies to an entity, each rule's outcome and reason, the level reached;
//! - [`rollup`]: stored results rolled up per team subtree, rule pass rates, budgets at risk, change and trends;
//! - [`facts`]: the facts of every entity of the catalog, read from the store and the SLO evaluations;
//! - [`jobs`]: the definitions read and stored, every scorecard evaluated over every entity, results and snapshots
//!   stored;

pub mod definition;
pub mod evaluate;
pub mod facts;
pub mod jobs;
pub mod model;
pub mod rollup;

pub use definition::{ScorecardFormat, read_scorecard, scorecards_from_documents};
pub use evaluate::{applies, evaluate};
pub use model::{
    Check, Condition, DependencyFacts, EntityFacts, EntityResult, Outcome, Rule, RuleResult, Scorecard, Selector,
    SloFacts,
};
