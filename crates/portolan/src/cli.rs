//! The one-shot commands: ingest, validate, scaffold, migrate, token.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use catalog::ingest::{self, Progress, Report};
use indicatif::{ProgressBar, ProgressStyle};
use store::Store;

use crate::settings::Settings;

/// A progress bar on a terminal; nothing otherwise.
struct TerminalProgress {
    bar: ProgressBar,
}

impl TerminalProgress {
    fn new() -> TerminalProgress {
        let bar = ProgressBar::new_spinner();
        if !console_is_terminal() {
            bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        TerminalProgress { bar }
    }
}

fn console_is_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
}

impl Progress for TerminalProgress {
    fn discovering(&self) {
        self.bar.set_message("reading files");
        self.bar.enable_steady_tick(Duration::from_millis(120));
    }

    fn writing(&self, changed_files: usize) {
        self.bar.disable_steady_tick();
        self.bar.set_length(changed_files as u64);
        self.bar.set_position(0);
        if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} changed files {elapsed} {msg}") {
            self.bar.set_style(style);
        }
        self.bar.set_message("");
    }

    fn file_done(&self) {
        self.bar.inc(1);
    }

    fn finished(&self) {
        self.bar.finish_and_clear();
    }
}

fn print_problems(report: &Report) {
    for problem in &report.problems {
        println!("{problem}");
    }
}

pub fn ingest(settings: &Settings, paths: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let store = Store::open(&settings.database_url, &settings.pool_options())?;
    let report = ingest::ingest(&store, paths, &settings.ingest_options(), &TerminalProgress::new())?;
    print_problems(&report);
    let slos = crate::slo_jobs::after_ingest(&store, chrono::Utc::now())?;
    // Problems of single files are in the report already; print those only the whole set shows.
    let mut slo_errors = 0;
    for problem in slos.problems.iter().filter(|p| !report.problems.contains(p)) {
        slo_errors += usize::from(problem.problem.is_error());
        println!("{problem}");
    }
    println!(
        "{} added, {} updated, {} unchanged, {} removed; {} files ({} unchanged), {} errors, in {:.2}s",
        report.added,
        report.updated,
        report.unchanged,
        report.removed,
        report.files,
        report.files_unchanged,
        report.error_count(),
        report.elapsed.as_secs_f64()
    );
    if report.files_missing > 0 {
        println!(
            "{} files can no longer be read; their entities are kept until they have been gone for {} s",
            report.files_missing, settings.vanished_grace_secs
        );
    }
    println!(
        "SLOs: {} defined ({} added, {} updated, {} removed, {} kept from before their file broke)",
        slos.slos, slos.added, slos.updated, slos.removed, slos.kept
    );
    // Problems of scorecard files are in the report already.
    println!("{}", scorecard::maturity::jobs::evaluate_and_store(&store, chrono::Utc::now())?);
    Ok(if report.error_count() + slo_errors > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

pub fn validate(settings: &Settings, paths: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let report = ingest::validate(paths, &settings.ingest_options())?;
    print_problems(&report);
    println!("{} entities in {} files, {} errors", report.added, report.files, report.error_count());
    Ok(if report.error_count() > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// What `portolan scaffold` does with the rendered files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaffoldMode {
    /// Lists them.
    DryRun,
    /// Writes them to the folder.
    Write,
    /// Writes them and registers the descriptor, as a portal run's `catalog:register` does.
    WriteAndRegister,
}

/// `portolan scaffold`: the template's form checks the values, its fetch steps render into `out` (with the
/// descriptor stamped as a run stamps it), and with [`ScaffoldMode::WriteAndRegister`] the descriptor joins the
/// catalog. Publishing is the portal's (`/create`, `POST /api/v1/scaffold`): from a terminal the folder is the result.
pub fn scaffold(
    settings: &Settings,
    template: &str,
    values: &[String],
    out: &Path,
    mode: ScaffoldMode,
) -> anyhow::Result<ExitCode> {
    let (template, bundle) = load_template(settings, template)?;
    let mut pairs = Vec::new();
    for value in values {
        let (key, value) =
            value.split_once('=').ok_or_else(|| anyhow::anyhow!("--set `{value}`: write it as KEY=VALUE"))?;
        pairs.push((key.trim().to_owned(), value.to_owned()));
    }
    let parameters = match template.form.validate_form(pairs) {
        Ok(parameters) => parameters,
        Err(errors) => {
            for line in errors.to_string().lines() {
                eprintln!("--set {line}");
            }
            return Ok(ExitCode::FAILURE);
        }
    };
    let renderer = scaffolding::render::Renderer::default();
    let limits = scaffolding::skeleton::Limits::default();
    let planned = scaffolding::skeleton::dry_run(&template, &bundle, &parameters, &renderer, &limits)
        .map_err(|e| anyhow::anyhow!("{}: {e}", template.entity_ref))?;
    let mut files = planned.files;
    let descriptor = scaffolding::run::stamp_workspace(&template, &mut files)
        .map_err(|e| anyhow::anyhow!("{}: {e}", template.entity_ref))?
        .map(|(path, _)| path);
    for step in &planned.steps {
        let note = match &step.outcome {
            scaffolding::skeleton::Outcome::Fetched { files } => format!("rendered {files} files"),
            scaffolding::skeleton::Outcome::Skipped => "skipped: its `if` is false".to_owned(),
            scaffolding::skeleton::Outcome::NotSupported { reason } => format!("not supported: {reason}"),
            scaffolding::skeleton::Outcome::WouldRun if step.action == "catalog:register" => {
                if mode == ScaffoldMode::WriteAndRegister {
                    "registers the written descriptor"
                } else {
                    "not run (--register runs it)"
                }
                .to_owned()
            }
            scaffolding::skeleton::Outcome::WouldRun => {
                "not run from the terminal: the folder is the result; the portal publishes".to_owned()
            }
        };
        eprintln!("step {} ({}): {note}", step.label, step.action);
    }
    if mode == ScaffoldMode::DryRun {
        for (path, contents) in files.iter() {
            println!("{path}\t{} bytes", contents.len());
        }
        println!("{} files, {} bytes; nothing written (--dry-run)", files.len(), files.total_bytes());
        return Ok(ExitCode::SUCCESS);
    }
    if out.exists() && std::fs::read_dir(out)?.next().is_some() {
        anyhow::bail!("{} is not empty; scaffold writes into a new or empty folder", out.display());
    }
    for (path, contents) in files.iter() {
        let target = out.join(path.as_str());
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&target, contents)?;
    }
    println!("{} files written to {} from {} {}", files.len(), out.display(), template.entity_ref, template.version);
    if mode == ScaffoldMode::WriteAndRegister {
        let path = descriptor.ok_or_else(|| anyhow::anyhow!("the template has no descriptor to register"))?;
        let store = Store::open(&settings.database_url, &settings.pool_options())?;
        let registrar = crate::scaffold_jobs::CatalogRegistrar { store: &store, settings, task_id: "cli" };
        let refs = scaffolding::run::Registrar::register(&registrar, &out.join(path.as_str()))
            .map_err(|e| anyhow::anyhow!(e))?;
        crate::scaffold_jobs::record_scaffolded(&store, &refs, &template, &parameters, None)?;
        println!("registered {}", refs.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}

/// A template by path (its file or folder) or by name in the catalog (its latest kept version).
fn load_template(settings: &Settings, template: &str) -> anyhow::Result<(scaffolding::Template, scaffolding::Bundle)> {
    let path = Path::new(template);
    if path.exists() {
        let limits = scaffolding::skeleton::Limits::default();
        let bundle =
            scaffolding::Bundle::read(path, &limits).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let renderer = scaffolding::render::Renderer::default();
        let report = scaffolding::validate::validate_bundle(&bundle, path, &renderer, &limits);
        let shown = report.to_string();
        let Some(template) = report.template else {
            anyhow::bail!("the template does not validate:\n{shown}");
        };
        return Ok((template, bundle));
    }
    let store = Store::open(&settings.database_url, &settings.pool_options())?;
    let entity_ref = catalog::entity::EntityRef::parse(
        template,
        Some(catalog::entity::Kind::Template),
        catalog::entity::DEFAULT_NAMESPACE,
    )
    .map_err(|e| anyhow::anyhow!("`{template}` is neither a file nor a template name: {e}"))?;
    scaffolding::versions::load_latest(&mut *store.conn()?, &entity_ref)?.ok_or_else(|| {
        anyhow::anyhow!("`{template}` is neither a file nor a template in the catalog at {}", settings.database_url)
    })
}

pub fn migrate(settings: &Settings) -> anyhow::Result<ExitCode> {
    let store = Store::connect(&settings.database_url, &settings.pool_options())?;
    let applied = store.migrate()?;
    if applied.is_empty() {
        println!("no pending migrations");
    }
    for name in applied {
        println!("applied {name}");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn token_create(
    settings: &Settings,
    name: &str,
    team: Option<&str>,
    expires_in_days: Option<u32>,
) -> anyhow::Result<ExitCode> {
    let store = Store::open(&settings.database_url, &settings.pool_options())?;
    let valid_for = expires_in_days.map(|days| chrono::Duration::days(i64::from(days)));
    // One transaction: a write the disk cannot take fails at its commit with SQLite's own error (a lone `INSERT …
    // RETURNING` on a full disk reports no row instead).
    let (created, team) = store.transaction(|conn| -> anyhow::Result<_> {
        let team = match team {
            Some(team) => {
                let group = catalog::entity::EntityRef::parse(team, Some(catalog::entity::Kind::Group), "default")
                    .map_err(|e| anyhow::anyhow!("--team: {e}"))?
                    .to_string();
                if store::entities::by_ref(conn, &group)?.is_none() {
                    anyhow::bail!("--team: there is no {group} in the catalog (ingest it first, or check the name)");
                }
                Some(group)
            }
            None => None,
        };
        let created = crate::auth::tokens::create(conn, name, team.as_deref(), valid_for, "cli", store::now())?;
        let details = serde_json::json!({ "token": name, "expires_in_days": expires_in_days });
        audit_cli(conn, "token.create", team.as_deref().unwrap_or("portal"), &details)?;
        Ok((created, team))
    })?;
    match &team {
        Some(team) => eprintln!("token `{}` acts for {team} and the teams below it", created.row.name),
        None => eprintln!("token `{}` has no team: it may do everything an admin may", created.row.name),
    }
    eprintln!("it is shown this once, keep it secret:");
    println!("{}", created.secret);
    Ok(ExitCode::SUCCESS)
}

pub fn token_list(settings: &Settings) -> anyhow::Result<ExitCode> {
    let store = Store::open(&settings.database_url, &settings.pool_options())?;
    let never = "never".to_owned();
    let mut conn = store.conn()?;
    for token in store::tokens::all(&mut conn)? {
        let state = match (token.revoked_at, token.expires_at) {
            (Some(at), _) => format!("revoked {at}"),
            (None, Some(at)) if at <= store::now() => format!("expired {at}"),
            (None, Some(at)) => format!("expires {at}"),
            (None, None) => "does not expire".to_owned(),
        };
        println!(
            "{}\tteam {}\tcreated {}\tlast used {}\t{state}",
            token.name,
            token.team.as_deref().unwrap_or("-"),
            token.created_at,
            token.last_used_at.map_or_else(|| never.clone(), |at| at.to_string()),
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A write made at the terminal, for the audit log: the actor is `cli:<the OS user>`.
fn audit_cli(
    conn: &mut store::DbConnection,
    action: &str,
    target: &str,
    details: &serde_json::Value,
) -> anyhow::Result<()> {
    let user = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "unknown".to_owned());
    let form = store::audit::AuditForm {
        at: store::now(),
        actor: &format!("cli:{user}"),
        action,
        target,
        outcome: "allowed",
        client_addr: None,
        details: &details.to_string(),
    };
    Ok(store::audit::record(conn, &form)?)
}

pub fn token_revoke(settings: &Settings, name: &str) -> anyhow::Result<ExitCode> {
    let store = Store::open(&settings.database_url, &settings.pool_options())?;
    let mut conn = store.conn()?;
    if store::tokens::revoke(&mut conn, name, store::now())? {
        let team = store::tokens::by_name(&mut conn, name)?.and_then(|t| t.team).unwrap_or_else(|| "portal".to_owned());
        audit_cli(&mut conn, "token.revoke", &team, &serde_json::json!({ "token": name }))?;
        println!("token `{name}` revoked");
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("error: no token named `{name}` that is not revoked already");
        Ok(ExitCode::FAILURE)
    }
}
