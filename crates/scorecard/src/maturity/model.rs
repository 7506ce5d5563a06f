//! The shapes the maturity evaluation works on: a scorecard definition, the facts known of one entity, and the
//! result of one entity against one scorecard. Plain data, so that the evaluation is a pure function of them.

use catalog::golden_path::Drift;
use catalog::yaml::Pos;
use serde::{Deserialize, Serialize};

/// A `portolan.dev/v1` `Scorecard`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scorecard {
    /// `metadata.name`.
    pub name: String,
    pub title: Option<String>,
    pub description: Option<String>,
    /// Which entities it applies to.
    pub applies_to: Selector,
    /// The levels, lowest first (`Bronze`, `Silver`, `Gold`).
    pub levels: Vec<String>,
    pub rules: Vec<Rule>,
    #[serde(skip, default)]
    pub pos: Pos,
}

/// `spec.appliesTo`: an entity must match every given list (a list matches when it holds the entity's value; an
/// empty list matches any). Values are compared in lower case; owners as entity refs (`group:default/payments`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selector {
    pub kinds: Vec<String>,
    pub types: Vec<String>,
    pub lifecycles: Vec<String>,
    pub tags: Vec<String>,
    pub owners: Vec<String>,
}

/// One rule: a condition that must hold at a level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// Unique within the scorecard.
    pub id: String,
    /// What the rule asks, in words (its `title`, or a sentence made from its check).
    pub title: String,
    /// The index into [`Scorecard::levels`].
    pub level: usize,
    pub condition: Condition,
    #[serde(skip, default)]
    pub pos: Pos,
}

/// A check, or checks combined.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    Check(Check),
    /// Every condition passes.
    All(Vec<Condition>),
    /// At least one condition passes.
    Any(Vec<Condition>),
}

/// The built-in checks and their parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "check", rename_all = "snake_case")]
pub enum Check {
    /// `spec.owner` resolves to a Group of the catalog.
    OwnerIsGroup,
    /// `metadata.description` is present and not blank.
    HasDescription,
    /// A link of this `type` (runbook, dashboard, docs, …) is in `metadata.links`.
    HasLink { link_type: String },
    /// This annotation key is set (not blank).
    HasAnnotation { key: String },
    /// This tag is set.
    HasTag { tag: String },
    /// `spec.lifecycle` is one of these.
    LifecycleIn { lifecycles: Vec<String> },
    /// It names a golden-path template the catalog knows.
    FromGoldenPath,
    /// Its golden-path template version is at most this many versions behind the latest (0: up to date).
    TemplateWithin { max_behind: usize },
    /// It has at least one SLO.
    HasSlo,
    /// Every SLO's SLI meets its objective over its window.
    SlosMeetTarget,
    /// Every SLO has more than this fraction of its error budget left (0.25: a quarter).
    BudgetAbove { fraction: f64 },
    /// No page-severity burn-rate alert is firing on any of its SLOs.
    NoPageAlert,
    /// None of the entities it depends on is deprecated.
    DependenciesNotDeprecated,
}

/// What is known of one entity: the evaluation reads nothing else.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EntityFacts {
    pub entity_ref: String,
    /// Lower case: `component`.
    pub kind: String,
    pub spec_type: Option<String>,
    pub lifecycle: Option<String>,
    /// The owner as an entity ref (`group:default/payments`), when it names one.
    pub owner_ref: Option<String>,
    /// Whether the owner is a Group in the catalog (`false` for a User or a missing entity).
    pub owner_is_group: bool,
    pub description: Option<String>,
    /// The `type` of each of `metadata.links`.
    pub link_types: Vec<String>,
    /// The annotation keys with a non-blank value.
    pub annotations: Vec<String>,
    pub tags: Vec<String>,
    /// Where it stands against its golden path.
    pub golden_path: Drift,
    /// Its SLOs; `None` when SLO data could not be read (checks on them are then unknown, not failed).
    pub slos: Option<Vec<SloFacts>>,
    /// What it depends on (`dependsOn`).
    pub dependencies: Vec<DependencyFacts>,
}

/// One SLO of an entity, as its evaluation left it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SloFacts {
    pub name: String,
    /// Whether the SLI meets the objective; `None` with no data.
    pub meets_target: Option<bool>,
    /// The fraction of the error budget left (negative when overspent); `None` with no data.
    pub budget_remaining: Option<f64>,
    pub page_alert_firing: bool,
}

/// One dependency of an entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DependencyFacts {
    pub entity_ref: String,
    /// Its lifecycle; `None` when it is not in the catalog or has none.
    pub lifecycle: Option<String>,
    pub in_catalog: bool,
}

/// A rule's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    Fail,
    /// The data it needs is missing: not a pass.
    Unknown,
}

/// One rule's result for one entity, with the reason in words a developer can act on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleResult {
    pub rule: String,
    pub level: usize,
    pub outcome: Outcome,
    pub reason: String,
}

/// One entity against one scorecard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityResult {
    /// The highest level reached (an index into the levels); `None` when not even the lowest is.
    pub level: Option<usize>,
    /// Every rule's result, in the scorecard's order.
    pub rules: Vec<RuleResult>,
}
