//! What changed in a service's golden-path template since the version it was made from: the page
//! (`/catalog/{namespace}/component/{name}/golden-path`) and its JSON (`/api/v1/services/{namespace}/{name}/golden-path`).

use actix_web::{HttpResponse, get, web};
use askama::Template;
use askama_web::WebTemplate;
use catalog::browse;
use scaffolding::drift::{Change, FileDiff, LineKind};
use scaffolding::golden_path::{self, Changes, ChangesError};

use super::blocking;
use crate::AppState;
use crate::auth::Chrome;
use crate::errors::AppError;

#[derive(Template, WebTemplate)]
#[template(path = "catalog/golden_path.html")]
pub struct ChangesPage {
    pub chrome: Chrome,
    pub namespace: String,
    pub name: String,
    pub title: String,
    pub changes: Changes,
    pub summary: String,
}

impl ChangesPage {
    fn change(file: &FileDiff) -> &'static str {
        match file.change {
            Change::Added => "added",
            Change::Removed => "removed",
            Change::Modified => "modified",
        }
    }

    fn line_class(kind: &LineKind) -> &'static str {
        match kind {
            LineKind::Added => "added",
            LineKind::Removed => "removed",
            LineKind::Context => "context",
        }
    }
}

fn load(state: &AppState, namespace: &str, name: &str) -> Result<(String, Changes), AppError> {
    let mut conn = state.store.conn()?;
    let d = browse::entity_detail(&mut conn, "component", namespace, name)?
        .ok_or_else(|| AppError::not_found(format!("no service (Component) {namespace}/{name}")))?;
    let status = super::catalog::golden_path_status(&mut conn, &d)?
        .ok_or_else(|| AppError::not_found(format!("{} names no golden-path template", d.row.entity_ref)))?;
    let changes = golden_path::changes(&mut conn, &d.row.entity_ref, &d.body, &status, None).map_err(|e| match e {
        ChangesError::Query(e) => AppError::internal(e),
        other => AppError::not_found(other.to_string()),
    })?;
    Ok((d.row.display_name, changes))
}

#[get("/catalog/{namespace}/component/{name}/golden-path")]
pub async fn page(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    chrome: Chrome,
) -> Result<ChangesPage, AppError> {
    let (namespace, name) = path.into_inner();
    blocking(move || {
        let (title, changes) = load(&state, &namespace, &name)?;
        Ok(ChangesPage { chrome, summary: changes.diff.summary().to_string(), namespace, name, title, changes })
    })
    .await
}

#[get("/services/{namespace}/{name}/golden-path")]
pub async fn api(state: web::Data<AppState>, path: web::Path<(String, String)>) -> Result<HttpResponse, AppError> {
    let (namespace, name) = path.into_inner();
    let changes =
        blocking(move || load(&state, &namespace, &name).map(|(_, changes)| changes)).await.map_err(AppError::api)?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "template": changes.template,
        "from": changes.from,
        "to": changes.to,
        "parameters_recorded": changes.parameters_recorded,
        "summary": changes.diff.summary().to_string(),
        "files": changes.diff.files,
        "unified": changes.diff.to_string(),
    })))
}
