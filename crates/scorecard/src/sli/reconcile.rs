//! Bringing the `slos` table in line with the SLO documents of the ingested files.

use std::collections::{HashMap, HashSet};

use catalog::descriptor::Problem;
use catalog::ingest::FileProblem;
use catalog::yaml::{Limits, Pos, parse_documents};
use store::slos::{self, SloForm};
use store::{DbConnection, entities, sources};

use super::{SliError, StoredDefinition};
use crate::slo::{
    Indicator, SLO_NAMESPACE, SloDefinition, Source, missing_service, read_slo_documents, resolve, service_ref,
};

/// The format name under which ingestion keeps files holding SLO documents.
pub const FORMAT: &str = "openslo";

/// The namespace of every SLO: an SLO belongs to the Component `component:default/<spec.service>`.
pub const NAMESPACE: &str = SLO_NAMESPACE;

/// What [`reconcile`] did.
#[derive(Debug, Default)]
pub struct Reconciled {
    /// SLOs defined after the run.
    pub slos: usize,
    pub added: usize,
    pub updated: usize,
    pub removed: usize,
    /// SLOs whose file now has errors, kept as they last were.
    pub kept: usize,
    /// Every problem of the SLO files, those across files (an unknown `indicatorRef`) included.
    pub problems: Vec<FileProblem>,
}

/// Resolves the SLO documents of every kept file together and writes the result: new SLOs are added, changed ones
/// updated (their SLI data stays), and those no longer defined removed with their data, except where their file
/// has errors: then the last good definition is kept and says so. An SLO whose service is not a Component of the
/// catalog is kept with a warning.
pub fn reconcile(conn: &mut DbConnection) -> Result<Reconciled, SliError> {
    let files: Vec<(String, crate::slo::SloFile)> = sources::documents(conn, FORMAT)?
        .into_iter()
        .map(|(path, _, body)| {
            let file = match parse_documents(&body, Limits::default()) {
                Ok(docs) => read_slo_documents(&docs),
                Err(e) => crate::slo::SloFile {
                    problems: vec![Problem::error(e.pos, e.message)],
                    ..crate::slo::SloFile::default()
                },
            };
            (path, file)
        })
        .collect();
    let kept_files: HashSet<&str> = files.iter().map(|(path, _)| path.as_str()).collect();
    let resolved = resolve(&files);
    let broken: HashSet<&str> =
        resolved.problems.iter().filter(|p| p.problem.is_error()).map(|p| p.path.as_str()).collect();

    let services: Vec<String> = resolved.slos.iter().map(|slo| service_ref(&slo.service)).collect();
    let known: HashSet<String> = entities::origins(conn, &services)?.into_iter().map(|o| o.entity_ref).collect();

    let existing: HashMap<String, slos::SloRow> = slos::all(conn)?
        .into_iter()
        .filter(|row| row.namespace == NAMESPACE)
        .map(|row| (row.name.clone(), row))
        .collect();
    let now = store::now();
    let mut report = Reconciled { slos: resolved.slos.len(), ..Reconciled::default() };
    let mut forms = Vec::new();
    let mut defined = HashSet::new();
    for slo in &resolved.slos {
        defined.insert(slo.name.as_str());
        let mut problems = Vec::new();
        if !known.contains(&service_ref(&slo.service)) {
            problems.push(missing_service(slo));
        }
        let form = form_of(slo, &problems, now);
        match existing.get(&slo.name) {
            Some(row) if same(row, &form) => {}
            Some(_) => {
                report.updated += 1;
                forms.push(form);
            }
            None => {
                report.added += 1;
                forms.push(form);
            }
        }
    }
    slos::upsert_many(conn, &forms)?;

    let mut gone = Vec::new();
    for row in existing.values().filter(|row| !defined.contains(row.name.as_str())) {
        if kept_files.contains(row.path.as_str()) && broken.contains(row.path.as_str()) {
            report.kept += 1;
            let note = Problem::warning(
                Pos::new(u32::try_from(row.line).unwrap_or(1), u32::try_from(row.col).unwrap_or(1)),
                format!("{} has errors; this is the last good definition of the SLO", row.path),
            );
            let problems = serde_json::to_string(&[note]).unwrap_or_else(|_| "[]".into());
            if problems != row.problems {
                slos::set_problems(conn, row.id, &problems)?;
            }
        } else {
            gone.push(row.id);
        }
    }
    report.removed = slos::delete(conn, &gone)?;
    report.slos += report.kept;
    report.problems = resolved.problems;
    Ok(report)
}

/// Where an SLO's data comes from, as stored: `push`, `prometheus` or `other`.
pub fn source_kind(indicator: &Indicator) -> &'static str {
    let query = match indicator {
        Indicator::Ratio { total, .. } | Indicator::RatioBad { total, .. } => total,
        Indicator::Raw { query, .. } | Indicator::Threshold { query, .. } => query,
    };
    match query.source {
        Source::Push => "push",
        Source::Prometheus { .. } => "prometheus",
        Source::Other(_) => "other",
    }
}

fn form_of(slo: &SloDefinition, problems: &[Problem], now: chrono::NaiveDateTime) -> SloForm {
    let definition = StoredDefinition { spec: slo.spec.clone(), indicator: slo.indicator.clone() };
    SloForm {
        namespace: NAMESPACE.to_owned(),
        name: slo.name.clone(),
        service: slo.service.clone(),
        display_name: slo.display_name.clone(),
        description: slo.description.clone(),
        path: slo.path.clone(),
        line: i32::try_from(slo.pos.line).unwrap_or(i32::MAX),
        col: i32::try_from(slo.pos.col).unwrap_or(i32::MAX),
        source_kind: source_kind(&slo.indicator).to_owned(),
        definition: serde_json::to_string(&definition).unwrap_or_default(),
        problems: serde_json::to_string(problems).unwrap_or_else(|_| "[]".into()),
        updated_at: now,
    }
}

fn same(row: &slos::SloRow, form: &SloForm) -> bool {
    row.service == form.service
        && row.display_name == form.display_name
        && row.description == form.description
        && row.path == form.path
        && row.line == form.line
        && row.col == form.col
        && row.source_kind == form.source_kind
        && row.definition == form.definition
        && row.problems == form.problems
}
