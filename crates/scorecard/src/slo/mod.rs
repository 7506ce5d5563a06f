//! Pure SLO math over plain data: error budgets, burn rates and multiwindow, multi-burn-rate alerts.
//!
//! Everything here is a function of its arguments: no database, no I/O, no clock. The caller loads
//! the SLI [`Bucket`]s of one SLO, picks the evaluation instant `at` and calls [`evaluate`].
//!
//! Definitions follow the SRE Workbook (chapter 5, "Alerting on SLOs"), Sloth and Pyrra:
//!
//! * the error budget of an [`Objective`] with target `T` is `B = 1 − T`;
//! * the burn rate over a window `w` is the error ratio over `[at − w, at)` divided by `B`, so a burn
//!   rate of 1 spends exactly the budget over the SLO window;
//! * an alert rule fires when the burn rate is strictly above its threshold over both its long and its
//!   short window.
//!
//! The definitions themselves come from OpenSLO and Sloth YAML: [`read_slo_documents`] reads one file's
//! documents and [`resolve`] follows the references between files (still no I/O: the caller reads the files).

mod alerts;
mod budget;
mod burn;
mod burn_down;
mod evaluate;
mod model;
mod openslo;
mod window;

pub(crate) use alerts::window_label;
pub use alerts::{AlertPolicy, AlertRule, AlertState, Severity, alert_threshold};
pub use budget::{ErrorBudget, Sli, rollup};
pub use burn::{budget_consumed, burn_rate, time_to_exhaustion};
pub use burn_down::{BURN_DOWN_POINTS, BurnDownPoint, burn_down};
pub use evaluate::{AT_RISK_REMAINING, Evaluation, PolicyState, Status, evaluate};
pub use model::{Bucket, BudgetingMethod, CalendarLength, Objective, SloError, SloSpec, Window};
pub use openslo::{
    AlertConditionDefinition, AlertPolicyDefinition, DataSource, Indicator, MetricQuery, Operator, RawType, Resolved,
    SLO_NAMESPACE, ServiceDefinition, SliDefinition, SloDefinition, SloDraft, SloFile, SloFormat, Source,
    is_slo_document, missing_service, read_slo_documents, resolve, service_ref,
};
pub use window::calendar_bounds;
