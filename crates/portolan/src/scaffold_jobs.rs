//! Scaffolder tasks: queued by the form, the API and nothing else, run by whichever process claims their job first
//! (`store::tasks` over the job table, so several processes on one PostgreSQL never run one together, and a task
//! whose process died is taken over), registered in the catalog through its ingest, and logged line by line.

use std::path::{Path, PathBuf};
use std::time::Duration;

use actix_web::web;
use catalog::entity::EntityRef;
use catalog::ingest::{self, NoProgress};
use scaffolding::run::{self, Environment, Event, Registrar};
use scaffolding::{Values, versions};
use store::registrations::{self, ScaffoldedRow};
use store::{Store, entities, sources, tasks};

use crate::AppState;
use crate::settings::Settings;

/// How often a process looks for tasks others queued.
const POLL: Duration = Duration::from_secs(2);

/// A new task, queued for the template version given; returns its id.
pub fn queue(
    store: &Store,
    template: &EntityRef,
    version: &str,
    parameters: &Values,
    created_by: Option<&str>,
) -> anyhow::Result<String> {
    let id = uuid::Uuid::new_v4().to_string();
    let parameters = serde_json::to_string(parameters)?;
    let template_ref = template.to_string();
    let form = tasks::TaskForm {
        id: &id,
        template_ref: &template_ref,
        template_version: version,
        parameters: &parameters,
        created_by,
        created_at: store::now(),
    };
    tasks::insert(&mut *store.conn()?, &form)?;
    Ok(id)
}

/// Runs queued tasks until stopped: at once when this process queued one, and every few seconds for the others'.
pub async fn run(state: web::Data<AppState>) {
    loop {
        let state2 = state.clone();
        match state.worker.off_thread(move || run_next(&state2)).await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => tracing::error!(error = %format!("{e:#}"), "scaffolder task could not be run"),
        }
        tokio::select! {
            () = tokio::time::sleep(POLL) => {}
            () = state.scaffold_now.notified() => {}
        }
    }
}

/// Claims and runs one task, keeping its claim renewed while it runs; whether there was one.
pub fn run_next(state: &AppState) -> anyhow::Result<bool> {
    let worker = &state.worker;
    let now = store::now();
    let until = now + chrono::Duration::from_std(worker.lease)?;
    let Some(task) = tasks::claim_next(&mut *state.store.conn()?, &worker.id, now, until)? else {
        return Ok(false);
    };
    let _renewing = worker.keep_claimed(&state.store, &store::jobs::task_job(&task.id));
    execute(&state.store, &state.settings, &task, &worker.id)?;
    Ok(true)
}

/// Runs a claimed task to its end and records it: log lines as they happen, then the state, output and archive.
pub fn execute(store: &Store, settings: &Settings, task: &tasks::TaskRow, me: &str) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let log_line = |step: Option<i32>, kind: &str, message: &str| {
        let written = store.conn().map_err(anyhow::Error::from).and_then(|mut conn| {
            tasks::log(&mut conn, &task.id, step, kind, message, store::now()).map_err(anyhow::Error::from)
        });
        if let Err(e) = written {
            tracing::error!(task = %task.id, error = %e, "task log line lost");
        }
    };
    if task.attempts > 1 {
        log_line(None, "log", &format!("attempt {}: the process that ran it before stopped", task.attempts));
    }
    let result = run_task(store, settings, task, &mut |event: Event| {
        let step = event.step.and_then(|s| i32::try_from(s).ok());
        log_line(step, event.kind.as_str(), &event.message);
    });
    let mut conn = store.conn()?;
    let (state, output, error) = match result {
        Ok(outcome) => {
            if let Some((file_name, bytes)) = &outcome.archive {
                tasks::save_archive(&mut conn, &task.id, file_name, bytes)?;
            }
            let template = EntityRef::parse(&task.template_ref, None, catalog::entity::DEFAULT_NAMESPACE)?;
            let parameters: Values = serde_json::from_str(&task.parameters)?;
            record_scaffolded_with(
                &mut conn,
                &outcome.registered,
                &template,
                &task.template_version,
                &parameters,
                Some(&task.id),
            )?;
            let ms = started.elapsed().as_millis();
            log_line(None, "finished", &format!("done in {ms} ms: {} files", outcome.files));
            (tasks::SUCCEEDED, Some(outcome.output.to_string()), None)
        }
        Err(failure) => {
            log_line(None, "failed", &failure.to_string());
            (tasks::FAILED, None, Some(failure.to_string()))
        }
    };
    if !tasks::finish(&mut conn, &task.id, me, state, output.as_deref(), error.as_deref(), store::now())? {
        tracing::warn!(task = %task.id, "the task was taken over by another process before it ended here");
    }
    tracing::info!(task = %task.id, template = %task.template_ref, state, "scaffolder task ended");
    Ok(())
}

fn run_task(
    store: &Store,
    settings: &Settings,
    task: &tasks::TaskRow,
    log: &mut dyn FnMut(Event),
) -> Result<run::Outcome, run::Failure> {
    let whole = |message: String| run::Failure { step: None, message };
    let template_ref = EntityRef::parse(&task.template_ref, None, catalog::entity::DEFAULT_NAMESPACE)
        .map_err(|e| whole(format!("template {}: {e}", task.template_ref)))?;
    let (template, bundle) = {
        let mut conn = store.conn().map_err(|e| whole(e.to_string()))?;
        versions::load(&mut conn, &template_ref, &task.template_version).map_err(|e| whole(e.to_string()))?
    };
    let parameters: Values = serde_json::from_str(&task.parameters).map_err(|e| whole(format!("parameters: {e}")))?;
    let repositories = settings.repositories();
    let repositories = std::fs::create_dir_all(&repositories)
        .and_then(|()| repositories.canonicalize())
        .map_err(|e| whole(format!("cannot create the repositories folder {}: {e}", repositories.display())))?;
    let registrar = CatalogRegistrar { store, settings, task_id: &task.id };
    let env = Environment {
        task_id: &task.id,
        repositories: &repositories,
        remote_base: settings.repositories_url.as_deref(),
        archive_url: format!("/tasks/{}/archive", task.id),
        author_name: &settings.scaffold_author_name,
        author_email: &settings.scaffold_author_email,
        registrar: &registrar,
    };
    let renderer = scaffolding::render::Renderer::default();
    let limits = scaffolding::skeleton::Limits::default();
    log(Event {
        step: None,
        kind: run::EventKind::Log,
        message: format!("{} {} with {} parameters", task.template_ref, task.template_version, parameters.len()),
    });
    run::run(&template, &bundle, &parameters, &renderer, &limits, &env, log)
}

/// Registration through the catalog: the file joins the registered locations and is ingested at once.
pub struct CatalogRegistrar<'a> {
    pub store: &'a Store,
    pub settings: &'a Settings,
    pub task_id: &'a str,
}

impl Registrar for CatalogRegistrar<'_> {
    fn register(&self, file: &Path) -> Result<Vec<String>, String> {
        let file = file.canonicalize().map_err(|e| format!("{}: {e}", file.display()))?;
        let key = file.to_string_lossy().into_owned();
        registrations::add(&mut *self.store.conn().map_err(|e| e.to_string())?, &key, Some(self.task_id), store::now())
            .map_err(|e| e.to_string())?;
        let report =
            ingest::ingest(self.store, std::slice::from_ref(&file), &self.settings.ingest_options(), &NoProgress)
                .map_err(|e| e.to_string())?;
        if report.error_count() > 0 {
            let problems: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
            return Err(format!("the catalog refused {}:\n{}", file.display(), problems.join("\n")));
        }
        if let Err(e) = crate::slo_jobs::after_ingest(self.store, chrono::Utc::now()) {
            tracing::warn!(error = %e, "SLOs could not be reconciled after a registration");
        }
        let mut conn = self.store.conn().map_err(|e| e.to_string())?;
        let ids: Vec<i64> = sources::under_roots(&mut conn, std::slice::from_ref(&key))
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|s| s.id)
            .collect();
        let refs = entities::of_sources(&mut conn, &ids).map_err(|e| e.to_string())?;
        Ok(refs.into_iter().map(|origin| origin.entity_ref).collect())
    }

    fn unregister(&self, file: &Path) -> Result<(), String> {
        let key = file.canonicalize().unwrap_or_else(|_| file.to_owned()).to_string_lossy().into_owned();
        let mut conn = self.store.conn().map_err(|e| e.to_string())?;
        registrations::remove(&mut conn, &key).map_err(|e| e.to_string())?;
        drop(conn);
        ingest::forget(self.store, Path::new(&key)).map_err(|e| e.to_string())?;
        Ok(())
    }
}

/// The registered descriptor files that still exist, for the refresh to read beside the configured locations; a
/// missing one is said and kept in the catalog (its repository may come back).
pub fn registered_locations(store: &Store) -> anyhow::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for target in registrations::targets(&mut *store.conn()?)? {
        let path = PathBuf::from(&target);
        if path.is_file() {
            found.push(path);
        } else {
            tracing::warn!(file = %target, "a registered descriptor is missing; its entities stay until it returns");
        }
    }
    Ok(found)
}

/// Keeps every template version the catalog's templates hold (after each refresh); problems are logged, and the
/// versions kept before stay.
pub fn sync_templates(store: &Store) {
    let report = store
        .conn()
        .map_err(anyhow::Error::from)
        .and_then(|mut conn| versions::sync(&mut conn, store::now()).map_err(anyhow::Error::from));
    match report {
        Ok(report) => {
            for (template, version) in &report.new {
                tracing::info!(template = %template, version = %version, "template version kept");
            }
            for (template, version) in &report.changed {
                tracing::warn!(
                    template = %template,
                    version = %version,
                    "template files changed without a new portolan.dev/version; the version now holds the new files"
                );
            }
            for (file, problem) in &report.problems {
                tracing::warn!(file = %file, problem = %problem, "template version not kept");
            }
        }
        Err(e) => tracing::error!(error = %e, "template versions could not be synced"),
    }
}

/// Records what the services a run registered were made with (Locations aside), for drift.
pub fn record_scaffolded(
    store: &Store,
    entity_refs: &[String],
    template: &scaffolding::Template,
    parameters: &Values,
    task_id: Option<&str>,
) -> anyhow::Result<()> {
    let version = template.version.to_string();
    record_scaffolded_with(&mut *store.conn()?, entity_refs, &template.entity_ref, &version, parameters, task_id)
}

fn record_scaffolded_with(
    conn: &mut store::DbConnection,
    entity_refs: &[String],
    template: &EntityRef,
    version: &str,
    parameters: &Values,
    task_id: Option<&str>,
) -> anyhow::Result<()> {
    let parameters = serde_json::to_string(parameters)?;
    for entity_ref in entity_refs.iter().filter(|r| !r.starts_with("location:")) {
        registrations::record_scaffolded(
            conn,
            &ScaffoldedRow {
                entity_ref: entity_ref.clone(),
                template_ref: template.to_string(),
                template_version: version.to_owned(),
                parameters: parameters.clone(),
                task_id: task_id.map(str::to_owned),
                created_at: store::now(),
            },
        )?;
    }
    Ok(())
}
