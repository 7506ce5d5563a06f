//! The audit log: every write through the portal — allowed, refused or failed — with who, what, when and from where.

use serde_json::Value;
use store::DbConnection;
use store::audit::{self, AuditForm};

use super::Caller;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Allowed,
    Denied,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::Denied => "denied",
            Outcome::Failed => "failed",
        }
    }
}

/// Writes one line: `action` (`scaffold.create`) of `target` (`group:default/payments`) by the caller.
pub fn record(
    conn: &mut DbConnection,
    caller: &Caller,
    action: &str,
    target: &str,
    outcome: Outcome,
    details: &Value,
) -> store::QueryResult<()> {
    let actor = caller.principal.actor();
    let details = if details.is_null() { "{}".to_owned() } else { details.to_string() };
    audit::record(
        conn,
        &AuditForm {
            at: store::now(),
            actor: &actor,
            action,
            target,
            outcome: outcome.as_str(),
            client_addr: caller.addr.as_deref(),
            details: &details,
        },
    )
}
