//! Scaffolding: `/create` (the golden paths), `/create/{name}` (a template's form, its dry run, and the submit that
//! queues a task), `/tasks/{id}` (the run, live over server-sent events with a plain refresh without JavaScript),
//! and the JSON API: `POST /api/v1/scaffold`, `GET /api/v1/tasks/{id}`.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentDisposition, DispositionParam, DispositionType};
use actix_web::{HttpRequest, HttpResponse, get, web};
use catalog::entity::{DEFAULT_NAMESPACE, EntityRef, Kind};
use scaffolding::form::{Field, FieldKind, FormErrors, Picker, Widget};
use scaffolding::skeleton::{DryRun, Limits, Outcome};
use scaffolding::{Bundle, Template, Values, versions};
use serde_json::{Value, json};
use store::tasks::{self, EventRow, TaskRow};

use super::{blocking, html};
use crate::AppState;
use crate::auth::permissions::{self, Need};
use crate::auth::{Caller, Chrome, audit, csrf};
use crate::errors::AppError;
use crate::scaffold_jobs;

/// The largest form or JSON body a scaffold request may send.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

#[derive(askama::Template)]
#[template(path = "scaffolding/list.html")]
pub struct ListPage {
    pub chrome: Chrome,
    pub templates: Vec<versions::Listing>,
}

/// `GET /create`: the golden paths.
#[get("/create")]
pub async fn list(state: web::Data<AppState>, chrome: Chrome) -> Result<HttpResponse, AppError> {
    let page = blocking(move || {
        let mut conn = state.store.conn()?;
        Ok(ListPage { chrome, templates: versions::listings(&mut conn).map_err(AppError::internal)? })
    })
    .await?;
    html(StatusCode::OK, &page)
}

/// One field as the page draws it.
pub struct FieldView {
    pub name: String,
    pub label: String,
    pub description: Option<String>,
    pub help: Option<String>,
    /// `text`, `number`, `checkbox`, `select`, `textarea`, `password`, `list`, `hidden`.
    pub control: &'static str,
    pub required: bool,
    pub value: String,
    pub checked: bool,
    pub choices: Vec<ChoiceView>,
    pub errors: Vec<String>,
    pub pattern: Option<String>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub minimum: Option<String>,
    pub maximum: Option<String>,
    pub step: &'static str,
    pub placeholder: Option<String>,
    pub autofocus: bool,
}

pub struct ChoiceView {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub struct PageView {
    pub title: Option<String>,
    pub description: Option<String>,
    pub fields: Vec<FieldView>,
}

/// A dry run as the page shows it.
pub struct DryRunView {
    pub files: Vec<FileView>,
    pub steps: Vec<(String, String, String)>,
    pub error: Option<String>,
    pub total_bytes: usize,
}

pub struct FileView {
    pub path: String,
    /// The text, or `None` for a binary file.
    pub text: Option<String>,
    pub bytes: usize,
}

#[derive(askama::Template)]
#[template(path = "scaffolding/form.html")]
pub struct FormPage {
    pub chrome: Chrome,
    pub listing: TemplateHeader,
    pub pages: Vec<PageView>,
    pub general_errors: Vec<String>,
    pub unsupported: Vec<String>,
    pub dry_run: Option<DryRunView>,
}

pub struct TemplateHeader {
    pub name: String,
    pub entity_ref: String,
    pub title: String,
    pub description: Option<String>,
    pub version: String,
    pub owner: Option<String>,
}

/// `GET /create/{name}`: the form of a template's latest version, with its defaults.
#[get("/create/{name}")]
pub async fn form(
    state: web::Data<AppState>,
    name: web::Path<String>,
    chrome: Chrome,
) -> Result<HttpResponse, AppError> {
    let name = name.into_inner();
    let page = blocking(move || {
        let mut conn = state.store.conn()?;
        let (template, _) = latest(&mut conn, &name)?;
        let owners = owner_choices(&mut conn)?;
        let values = template.form.defaults();
        Ok(form_page(&template, chrome, &raw_of(&values), &FormErrors::default(), &owners, None))
    })
    .await?;
    html(StatusCode::OK, &page)
}

/// `POST /create/{name}`: `action=review` shows the dry run under the form; `action=create` queues the task and
/// goes to its page. Errors come back beside their fields, with what was typed.
pub async fn submit(
    state: web::Data<AppState>,
    name: web::Path<String>,
    req: HttpRequest,
    caller: Caller,
    body: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let submitted = body.into_inner();
    let field = |key: &str| submitted.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    csrf::check(&req, state.auth.secure_cookies, field(csrf::FIELD).as_deref())?;
    let chrome = caller.chrome();
    let creating = field("action").as_deref() == Some("create");
    let wanted_version = field("template_version");
    let name = name.into_inner();
    let notify = state.scaffold_now.clone();
    let result = blocking(move || {
        let mut conn = state.store.conn()?;
        let (template, bundle) = match wanted_version.as_deref() {
            Some(version) if !version.is_empty() => {
                let entity_ref = template_ref(&name)?;
                versions::load(&mut conn, &entity_ref, version).map_err(load_error)?
            }
            _ => latest(&mut conn, &name)?,
        };
        let owners = owner_choices(&mut conn)?;
        let form_values: Vec<(String, String)> = submitted
            .into_iter()
            .filter(|(k, _)| k != csrf::FIELD && k != "action" && k != "template_version")
            .collect();
        let raw = raw_of_submitted(&form_values);
        let values = match template.form.validate_form(form_values) {
            Ok(values) => values,
            Err(errors) => return Ok(Err(form_page(&template, chrome.clone(), &raw, &errors, &owners, None))),
        };
        if creating && !template.is_runnable() {
            let errors = FormErrors { general: vec![not_runnable(&template)], ..FormErrors::default() };
            return Ok(Err(form_page(&template, chrome.clone(), &raw, &errors, &owners, None)));
        }
        if !creating {
            let dry_run = dry_run_view(&template, &bundle, &values);
            return Ok(Err(form_page(&template, chrome.clone(), &raw, &FormErrors::default(), &owners, Some(dry_run))));
        }
        let id = queue_run(&mut conn, &state, &caller, &template, &values)?;
        Ok(Ok(id))
    })
    .await?;
    match result {
        Ok(id) => {
            notify.notify_one();
            Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, format!("/tasks/{id}"))).finish())
        }
        Err(page) => {
            let invalid = !page.general_errors.is_empty()
                || page.pages.iter().any(|p| p.fields.iter().any(|f| !f.errors.is_empty()));
            html(if invalid { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK }, &page)
        }
    }
}

/// Queues a run for whoever may make services for the team its form names (the owner field); a form that names no
/// team may be run by admins only. The run, or its refusal, goes to the audit log.
fn queue_run(
    conn: &mut store::DbConnection,
    state: &AppState,
    caller: &Caller,
    template: &Template,
    values: &Values,
) -> Result<String, AppError> {
    let owner = match template.form.owner(values) {
        Some(owner) => Some(
            EntityRef::parse(owner, Some(Kind::Group), DEFAULT_NAMESPACE)
                .map_err(|e| AppError::bad_request("owner", e.to_string()))?
                .to_string(),
        ),
        None => None,
    };
    let (need, doing) = match &owner {
        Some(owner) => (Need::OwnerOf(owner), format!("create a service for {owner}")),
        None => (Need::Admin, format!("run {}, whose form names no owning team,", template.entity_ref)),
    };
    let target = owner.clone().unwrap_or_else(|| template.entity_ref.to_string());
    permissions::authorize(conn, &state.auth.admin_groups, caller, need, "scaffold.create", &doing)?;
    let version = template.version.to_string();
    let created_by = caller.principal.actor();
    let id = scaffold_jobs::queue(&state.store, &template.entity_ref, &version, values, Some(&created_by))
        .map_err(AppError::internal)?;
    let details = json!({"task": id, "template": template.entity_ref.to_string(), "version": version});
    audit::record(conn, caller, "scaffold.create", &target, audit::Outcome::Allowed, &details)
        .map_err(AppError::internal)?;
    Ok(id)
}

/// Why a template with steps Portolan does not run cannot be started.
fn not_runnable(template: &Template) -> String {
    let steps: Vec<String> =
        template.unsupported_steps().map(|s| format!("step {} uses `{}`", s.label(), s.action)).collect();
    format!("{} cannot run here: {}, which Portolan does not run", template.entity_ref, steps.join("; "))
}

fn template_ref(name: &str) -> Result<EntityRef, AppError> {
    EntityRef::parse(name, Some(Kind::Template), DEFAULT_NAMESPACE)
        .map_err(|e| AppError::not_found(format!("no template `{name}`: {e}")))
}

fn load_error(e: versions::LoadError) -> AppError {
    match e {
        versions::LoadError::Missing { .. } => AppError::not_found(e.to_string()),
        other => AppError::internal(other),
    }
}

/// The latest version of a template, by name or ref.
fn latest(conn: &mut store::DbConnection, name: &str) -> Result<(Template, Bundle), AppError> {
    let entity_ref = template_ref(name)?;
    versions::load_latest(conn, &entity_ref)
        .map_err(load_error)?
        .ok_or_else(|| AppError::not_found(format!("no template {entity_ref} in the catalog")))
}

/// The catalog's Groups, for owner pickers: `(ref, display name)`.
fn owner_choices(conn: &mut store::DbConnection) -> Result<Vec<(String, String)>, AppError> {
    store::entities::names_of_kind(conn, "Group").map_err(AppError::internal)
}

/// Values as the form shows them: text per field (lists one item per line).
fn raw_of(values: &Values) -> Vec<(String, String)> {
    values
        .iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join("\n"),
                other => other.to_string(),
            };
            (k.clone(), text)
        })
        .collect()
}

/// What was typed, the last value per name (a checkbox's hidden `false` comes before it).
fn raw_of_submitted(submitted: &[(String, String)]) -> Vec<(String, String)> {
    let mut raw: Vec<(String, String)> = Vec::new();
    for (k, v) in submitted {
        match raw.iter_mut().find(|(name, _)| name == k) {
            Some(entry) if v != "false" || entry.1 == "false" => entry.1 = v.clone(),
            Some(_) => {}
            None => raw.push((k.clone(), v.clone())),
        }
    }
    raw
}

fn form_page(
    template: &Template,
    chrome: Chrome,
    raw: &[(String, String)],
    errors: &FormErrors,
    owners: &[(String, String)],
    dry_run: Option<DryRunView>,
) -> FormPage {
    let pages = template
        .form
        .pages
        .iter()
        .map(|page| PageView {
            title: page.title.clone(),
            description: page.description.clone(),
            fields: page.fields.iter().map(|f| field_view(f, raw, errors, owners)).collect(),
        })
        .collect();
    FormPage {
        chrome,
        listing: TemplateHeader {
            name: template.name.clone(),
            entity_ref: template.entity_ref.to_string(),
            title: template.display_title().to_owned(),
            description: template.description.clone(),
            version: template.version.to_string(),
            owner: template.owner.clone(),
        },
        pages,
        general_errors: errors.general.clone(),
        unsupported: template
            .unsupported_steps()
            .map(|s| format!("step {} uses `{}`, which Portolan does not run", s.label(), s.action))
            .collect(),
        dry_run,
    }
}

fn field_view(field: &Field, raw: &[(String, String)], errors: &FormErrors, owners: &[(String, String)]) -> FieldView {
    let value = raw.iter().find(|(k, _)| *k == field.name).map(|(_, v)| v.clone()).unwrap_or_default();
    let mut choices: Vec<ChoiceView> = field
        .choices
        .iter()
        .map(|c| {
            let v = c.value.as_str().map_or_else(|| c.value.to_string(), str::to_owned);
            ChoiceView { selected: v == value, value: v, label: c.label.clone() }
        })
        .collect();
    let control = match (&field.picker, field.widget, field.kind) {
        (Some(Picker::Owner { .. }), _, _) => {
            choices = owners
                .iter()
                .map(|(r, label)| ChoiceView {
                    selected: *r == value || r.rsplit('/').next() == Some(value.as_str()),
                    value: r.clone(),
                    label: format!("{label} ({r})"),
                })
                .collect();
            "select"
        }
        (_, Widget::Hidden, _) => "hidden",
        (_, Widget::Textarea, _) => "textarea",
        (_, Widget::Password, _) => "password",
        (_, _, FieldKind::Boolean) => "checkbox",
        (_, _, FieldKind::StringList) => "list",
        _ if !choices.is_empty() => "select",
        (_, _, FieldKind::Number | FieldKind::Integer) => "number",
        _ => "text",
    };
    let number = |n: Option<f64>| n.map(|n| if n.fract() == 0.0 { format!("{n:.0}") } else { n.to_string() });
    FieldView {
        name: field.name.clone(),
        label: field.label().to_owned(),
        description: field.description.clone(),
        help: field.help.clone(),
        control,
        required: field.required,
        checked: matches!(value.as_str(), "true" | "on" | "yes" | "1"),
        value,
        choices,
        errors: errors.field(&field.name).to_vec(),
        pattern: field.pattern.clone(),
        min_length: field.min_length,
        max_length: field.max_length,
        minimum: number(field.minimum),
        maximum: number(field.maximum),
        step: if field.kind == FieldKind::Integer { "1" } else { "any" },
        placeholder: field.placeholder.clone(),
        autofocus: field.autofocus,
    }
}

fn dry_run_view(template: &Template, bundle: &Bundle, values: &Values) -> DryRunView {
    let renderer = scaffolding::render::Renderer::default();
    match scaffolding::skeleton::dry_run(template, bundle, values, &renderer, &Limits::default()) {
        Ok(DryRun { files, steps }) => DryRunView {
            total_bytes: files.total_bytes(),
            files: files
                .iter()
                .map(|(path, contents)| FileView {
                    path: path.to_string(),
                    text: std::str::from_utf8(contents).ok().filter(|t| !t.contains('\0')).map(str::to_owned),
                    bytes: contents.len(),
                })
                .collect(),
            steps: steps
                .into_iter()
                .map(|s| {
                    let outcome = match s.outcome {
                        Outcome::Fetched { files } => format!("renders {files} files"),
                        Outcome::WouldRun => "runs when created".to_owned(),
                        Outcome::Skipped => "skipped: its `if` is false".to_owned(),
                        Outcome::NotSupported { reason } => format!("not supported: {reason}"),
                    };
                    (s.label, s.action, outcome)
                })
                .collect(),
            error: None,
        },
        Err(e) => DryRunView { files: Vec::new(), steps: Vec::new(), error: Some(e.to_string()), total_bytes: 0 },
    }
}

/// A step of a task as its page shows it.
pub struct StepView {
    pub label: String,
    pub action: String,
    /// `pending`, `running`, `done`, `skipped`, `failed`.
    pub state: &'static str,
    pub lines: Vec<String>,
}

#[derive(askama::Template)]
#[template(path = "scaffolding/task.html")]
pub struct TaskPage {
    pub chrome: Chrome,
    pub task: TaskRow,
    pub steps: Vec<StepView>,
    /// Lines that belong to no step.
    pub lines: Vec<String>,
    /// `(title, href)`.
    pub links: Vec<(String, String)>,
    pub has_archive: bool,
    pub last_seq: i64,
}

/// The steps of a task's template, with the state its log gives each.
fn step_views(template: Option<&Template>, events: &[EventRow]) -> (Vec<StepView>, Vec<String>) {
    let mut steps: Vec<StepView> = template
        .map(|t| {
            t.steps
                .iter()
                .map(|s| StepView {
                    label: s.name.clone().or_else(|| s.id.clone()).unwrap_or_else(|| format!("Step {}", s.index + 1)),
                    action: s.action.name().to_owned(),
                    state: "pending",
                    lines: Vec::new(),
                })
                .collect()
        })
        .unwrap_or_default();
    let mut general = Vec::new();
    for event in events {
        let line = format!("{} {}", event.at.format("%H:%M:%S"), event.message);
        match event.step.and_then(|i| usize::try_from(i).ok()).and_then(|i| steps.get_mut(i)) {
            Some(step) => {
                step.state = match event.kind.as_str() {
                    "started" => "running",
                    "finished" => "done",
                    "skipped" => "skipped",
                    "failed" => "failed",
                    _ => step.state,
                };
                step.lines.push(line);
            }
            None => general.push(line),
        }
    }
    (steps, general)
}

/// Links a finished task offers: the template's output links, entity refs turned into catalog pages.
fn task_links(task: &TaskRow) -> Vec<(String, String)> {
    let output: Value = task.output.as_deref().and_then(|o| serde_json::from_str(o).ok()).unwrap_or(Value::Null);
    let mut links = Vec::new();
    for link in output.get("links").and_then(Value::as_array).into_iter().flatten() {
        let title = link.get("title").and_then(Value::as_str).unwrap_or("Link").to_owned();
        if let Some(entity_ref) = link.get("entityRef").and_then(Value::as_str).filter(|s| !s.is_empty()) {
            if let Ok(r) = EntityRef::parse(entity_ref, None, DEFAULT_NAMESPACE) {
                links.push((title, format!("/catalog/{}/{}/{}", r.namespace(), r.kind(), r.name())));
            }
        } else if let Some(url) = link.get("url").and_then(Value::as_str).filter(|s| !s.is_empty()) {
            // A template's output may name any address; only web, mail and file addresses (the repository when no
            // `repositories_url` is set) become links, never `javascript:` or `data:`.
            if catalog::browse::safe_href(url).is_some() || url.starts_with("file://") {
                links.push((title, url.to_owned()));
            }
        }
    }
    links
}

fn load_task(conn: &mut store::DbConnection, id: &str) -> Result<(TaskRow, Option<Template>, Vec<EventRow>), AppError> {
    let task = tasks::by_id(conn, id)
        .map_err(AppError::internal)?
        .ok_or_else(|| AppError::not_found(format!("no task {id}")))?;
    let template = EntityRef::parse(&task.template_ref, None, DEFAULT_NAMESPACE)
        .ok()
        .and_then(|r| versions::load(conn, &r, &task.template_version).ok())
        .map(|(template, _)| template);
    let events = tasks::events_after(conn, id, 0).map_err(AppError::internal)?;
    Ok((task, template, events))
}

/// `GET /tasks/{id}`: the run, step by step.
#[get("/tasks/{id}")]
pub async fn task_page(
    state: web::Data<AppState>,
    id: web::Path<String>,
    chrome: Chrome,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let page = blocking(move || {
        let mut conn = state.store.conn()?;
        let (task, template, events) = load_task(&mut conn, &id)?;
        let (steps, lines) = step_views(template.as_ref(), &events);
        let has_archive = task.is_finished() && tasks::archive(&mut conn, &id).map_err(AppError::internal)?.is_some();
        Ok(TaskPage {
            chrome,
            links: task_links(&task),
            last_seq: events.last().map_or(0, |e| e.seq),
            task,
            steps,
            lines,
            has_archive,
        })
    })
    .await?;
    html(StatusCode::OK, &page)
}

/// `GET /tasks/{id}/events`: the log as server-sent events, from after `Last-Event-ID` (or `?after=`), until the
/// task ends (`event: end`).
#[get("/tasks/{id}/events")]
pub async fn task_events(
    state: web::Data<AppState>,
    id: web::Path<String>,
    req: HttpRequest,
    query: web::Query<AfterQuery>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let after = req
        .headers()
        .get("Last-Event-ID")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .or(query.after)
        .unwrap_or(0);
    {
        let (state, id) = (state.clone(), id.clone());
        blocking(move || {
            tasks::by_id(&mut *state.store.conn()?, &id)
                .map_err(AppError::internal)?
                .ok_or_else(|| AppError::not_found(format!("no task {id}")))
        })
        .await?;
    }
    let stream = futures_util::stream::unfold((state, id, after, false), |(state, id, after, ended)| async move {
        if ended {
            return None;
        }
        let mut first = true;
        loop {
            if !first {
                tokio::time::sleep(Duration::from_millis(400)).await;
            }
            first = false;
            let (state2, id2) = (state.clone(), id.clone());
            let polled = web::block(move || -> anyhow::Result<(Vec<EventRow>, bool)> {
                let mut conn = state2.store.conn()?;
                let events = tasks::events_after(&mut conn, &id2, after)?;
                let finished = tasks::by_id(&mut conn, &id2)?.is_none_or(|t| t.is_finished());
                Ok((events, finished))
            })
            .await;
            let (events, finished) = match polled {
                Ok(Ok(polled)) => polled,
                _ => {
                    return Some((
                        Ok::<_, actix_web::Error>(web::Bytes::from_static(b"event: end\ndata: {}\n\n")),
                        (state, id, after, true),
                    ));
                }
            };
            if events.is_empty() && !finished {
                continue;
            }
            let mut chunk = String::new();
            let mut last = after;
            for event in &events {
                last = event.seq;
                let data = json!({"step": event.step, "kind": event.kind, "message": event.message, "at": event.at.and_utc().to_rfc3339()});
                chunk.push_str(&format!("id: {}\nevent: line\ndata: {data}\n\n", event.seq));
            }
            if finished && events.is_empty() {
                chunk.push_str("event: end\ndata: {}\n\n");
            }
            let done = finished && events.is_empty();
            return Some((Ok(web::Bytes::from(chunk)), (state, id, last, done)));
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .streaming(stream))
}

#[derive(serde::Deserialize)]
pub struct AfterQuery {
    after: Option<i64>,
}

/// `GET /tasks/{id}/archive`: the `.tar.gz` a `publish:archive` step made.
#[get("/tasks/{id}/archive")]
pub async fn archive(state: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let (file_name, bytes) = blocking(move || {
        tasks::archive(&mut *state.store.conn()?, &id)
            .map_err(AppError::internal)?
            .ok_or_else(|| AppError::not_found(format!("task {id} made no archive")))
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/gzip")
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(file_name)],
        })
        .body(bytes))
}

/// What `POST /api/v1/scaffold` takes.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScaffoldRequest {
    /// The template's name or ref.
    pub template: String,
    /// A version kept; the latest when absent.
    pub version: Option<String>,
    #[serde(default)]
    pub values: Values,
}

pub fn api_scaffold_resource() -> actix_web::Resource {
    web::resource("/scaffold").app_data(web::PayloadConfig::new(MAX_BODY_BYTES)).route(web::post().to(api_scaffold))
}

/// `POST /api/v1/scaffold` (Bearer token): validates the values like the form and queues a task; 202 with its id.
async fn api_scaffold(state: web::Data<AppState>, caller: Caller, body: web::Bytes) -> Result<HttpResponse, AppError> {
    let request: ScaffoldRequest = serde_json::from_slice(&body)
        .map_err(|e| AppError::bad_request("body", format!("is not a scaffold request: {e}")).api())?;
    let notify = state.scaffold_now.clone();
    let body = blocking(move || {
        let mut conn = state.store.conn()?;
        let (template, _) = match request.version.as_deref() {
            Some(version) => {
                versions::load(&mut conn, &template_ref(&request.template)?, version).map_err(load_error)?
            }
            None => latest(&mut conn, &request.template)?,
        };
        if !template.is_runnable() {
            return Err(AppError::new(StatusCode::CONFLICT, "not_runnable", not_runnable(&template), Value::Null));
        }
        let values = template.form.validate_json(&request.values).map_err(|errors| {
            AppError::new(
                StatusCode::BAD_REQUEST,
                "invalid_values",
                format!("the values do not fit the template's form:\n{errors}"),
                json!({"fields": errors.fields, "general": errors.general}),
            )
        })?;
        let version = template.version.to_string();
        let id = queue_run(&mut conn, &state, &caller, &template, &values)?;
        Ok(json!({
            "id": id,
            "template": template.entity_ref.to_string(),
            "version": version,
            "state": tasks::QUEUED,
            "links": {"self": format!("/api/v1/tasks/{id}"), "page": format!("/tasks/{id}")},
        }))
    })
    .await
    .map_err(AppError::api)?;
    notify.notify_one();
    Ok(HttpResponse::Accepted().json(body))
}

/// `GET /api/v1/tasks/{id}`: a task's state, output and log.
#[get("/tasks/{id}")]
pub async fn api_task(state: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let body = blocking(move || {
        let mut conn = state.store.conn()?;
        let (task, template, events) = load_task(&mut conn, &id)?;
        let (steps, _) = step_views(template.as_ref(), &events);
        let output: Value = task.output.as_deref().and_then(|o| serde_json::from_str(o).ok()).unwrap_or(Value::Null);
        let at = |t: Option<chrono::NaiveDateTime>| t.map(|t| t.and_utc().to_rfc3339());
        Ok(json!({
            "id": task.id,
            "template": task.template_ref,
            "version": task.template_version,
            "parameters": serde_json::from_str::<Value>(&task.parameters).unwrap_or(Value::Null),
            "state": task.state,
            "error": task.error,
            "output": output,
            "created_by": task.created_by,
            "created_at": task.created_at.and_utc().to_rfc3339(),
            "started_at": at(task.started_at),
            "finished_at": at(task.finished_at),
            "attempts": task.attempts,
            "steps": steps.iter().map(|s| json!({"label": s.label, "action": s.action, "state": s.state})).collect::<Vec<_>>(),
            "log": events.iter().map(|e| json!({
                "seq": e.seq, "step": e.step, "kind": e.kind, "message": e.message, "at": e.at.and_utc().to_rfc3339(),
            })).collect::<Vec<_>>(),
        }))
    })
    .await
    .map_err(AppError::api)?;
    Ok(HttpResponse::Ok().json(body))
}
