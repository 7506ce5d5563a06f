//! `/catalog` and `/catalog/{namespace}/{kind}/{name}`.

use std::sync::Arc;

use actix_web::{HttpRequest, get, web};
use askama::Template;
use askama_web::WebTemplate;
use catalog::browse::{self, EntityDetail, FacetGroup, ListItem, ListQuery, RelatedEntity};
use catalog::graph::Layout;

use super::blocking;
use super::slos::{self, SloCard};
use crate::AppState;
use crate::auth::Chrome;
use crate::errors::AppError;
use crate::service_parts::ServiceParts;

pub struct FacetLink {
    pub label: String,
    pub count: i64,
    pub selected: bool,
    pub href: String,
}

pub struct FacetView {
    /// The query parameter it sets.
    pub name: &'static str,
    pub title: &'static str,
    pub values: Vec<FacetLink>,
}

#[derive(Template, WebTemplate)]
#[template(path = "catalog/list.html")]
pub struct CatalogPage {
    pub chrome: Chrome,
    pub q: String,
    pub items: Vec<ListItem>,
    pub total: i64,
    pub next_href: Option<String>,
    pub first_href: Option<String>,
    pub facets: Vec<FacetView>,
    pub sort: String,
    /// Filters kept when the search form is submitted.
    pub hidden: Vec<(&'static str, String)>,
    pub clear_href: Option<String>,
}

fn href(params: &[(&'static str, String)]) -> String {
    if params.is_empty() {
        return "/catalog".to_owned();
    }
    format!("/catalog?{}", serde_urlencoded::to_string(params).unwrap_or_default())
}

fn facet_views(query: &ListQuery, groups: Vec<FacetGroup>) -> Vec<FacetView> {
    let base = query.filter_params();
    groups
        .into_iter()
        .map(|group| FacetView {
            name: group.name,
            title: group.title,
            values: group
                .values
                .into_iter()
                .map(|v| {
                    let mut params: Vec<(&'static str, String)> = base.clone();
                    if v.selected {
                        params.retain(|(k, val)| !(*k == group.name && val.eq_ignore_ascii_case(&v.value)));
                    } else {
                        params.push((group.name, v.value.clone()));
                    }
                    FacetLink { label: v.label, count: v.count, selected: v.selected, href: href(&params) }
                })
                .collect(),
        })
        .collect()
}

#[get("/catalog")]
pub async fn list(state: web::Data<AppState>, req: HttpRequest, chrome: Chrome) -> Result<CatalogPage, AppError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(req.query_string()).map_err(|e| AppError::bad_request("query", e.to_string()))?;
    let query = ListQuery::parse(&pairs)?;
    blocking(move || {
        let index = state.index.get(&mut *state.store.conn()?)?;
        let page = browse::list(&index, &query);
        let facets = browse::facets(&index, &query);
        let params = query.filter_params();
        let next_href = page.next_cursor.as_ref().map(|c| {
            let mut p = params.clone();
            p.push(("cursor", c.clone()));
            href(&p)
        });
        let first_href = query.cursor.as_ref().map(|_| href(&params));
        let hidden = params.iter().filter(|(k, _)| *k != "q" && *k != "sort").cloned().collect();
        let sort = params.iter().find(|(k, _)| *k == "sort").map(|(_, v)| v.clone()).unwrap_or_default();
        Ok(CatalogPage {
            chrome,
            clear_href: (!params.is_empty()).then(|| "/catalog".to_owned()),
            q: query.q.clone(),
            items: page.items,
            total: page.total,
            next_href,
            first_href,
            facets: facet_views(&query, facets),
            sort,
            hidden,
        })
    })
    .await
}

pub struct RelationSection {
    pub label: String,
    /// The first [`browse::SECTION_ENTITIES`] of them.
    pub entities: Vec<RelatedEntity>,
    /// How many more there are.
    pub more: usize,
}

/// The service overview cards.
pub struct ServiceCards {
    /// Its golden-path and maturity cards.
    pub parts: Arc<ServiceParts>,
    /// The Component's SLOs evaluated now, with their error budgets.
    pub slos: Vec<SloCard>,
}

#[derive(Template, WebTemplate)]
#[template(path = "catalog/entity.html")]
pub struct EntityPage {
    pub chrome: Chrome,
    pub d: std::sync::Arc<EntityDetail>,
    pub title: String,
    /// `metadata.links`; only those with an `href` are drawn as links.
    pub links: Vec<browse::EntityLink>,
    pub annotations: Vec<(String, String)>,
    pub labels: Vec<(String, String)>,
    pub sections: Vec<RelationSection>,
    pub graph: Layout,
    pub service: Option<ServiceCards>,
    pub kind_lower: String,
    pub system: Option<RelatedEntity>,
    pub source: Option<String>,
}

fn string_pairs(value: Option<&serde_json::Value>) -> Vec<(String, String)> {
    value
        .and_then(serde_json::Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned))).collect())
        .unwrap_or_default()
}

/// The golden-path card of a Component.
pub(crate) fn golden_path_status(
    conn: &mut store::DbConnection,
    d: &EntityDetail,
) -> Result<Option<scaffolding::golden_path::Status>, AppError> {
    scaffolding::golden_path::status(
        conn,
        d.annotation(scaffolding::register::SOURCE_TEMPLATE_ANNOTATION),
        d.annotation(scaffolding::register::TEMPLATE_VERSION_ANNOTATION),
    )
    .map_err(AppError::internal)
}

#[get("/catalog/{namespace}/{kind}/{name}")]
pub async fn entity(
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    chrome: Chrome,
) -> Result<EntityPage, AppError> {
    let (namespace, kind, name) = path.into_inner();
    blocking(move || {
        let mut conn = state.store.conn()?;
        let versions = store::stats::versions(&mut conn).map_err(store::StoreError::from)?;
        let index = state.index.at(&mut conn, &versions)?;
        let d = index
            .detail(&mut conn, &kind, &namespace, &name)?
            .ok_or_else(|| AppError::not_found(format!("no entity {kind}:{namespace}/{name} in the catalog")))?;
        let meta = d.body.get("metadata");
        let is_service = d.row.kind == "Component";
        let service = if is_service {
            Some(ServiceCards {
                parts: state.services.get(&mut conn, &versions, &d)?,
                slos: slos::cards(&mut conn, &d.row.namespace, &d.row.name, chrono::Utc::now())?,
            })
        } else {
            None
        };
        let system = d
            .relations
            .iter()
            .filter(|g| g.relation == "partOf")
            .flat_map(|g| g.entities.iter())
            .find(|r| r.kind == "System")
            .cloned();
        let sections = d
            .relations
            .iter()
            .map(|g| RelationSection {
                label: browse::relation_label(&g.relation),
                entities: g.entities.iter().take(browse::SECTION_ENTITIES).cloned().collect(),
                more: g.entities.len().saturating_sub(browse::SECTION_ENTITIES),
            })
            .collect();
        let source = d.source_path.as_deref().map(|p| catalog::ingest::display(std::path::Path::new(p)));
        Ok(EntityPage {
            chrome,
            title: d.row.display_name.clone(),
            links: d.links(),
            annotations: string_pairs(meta.and_then(|m| m.get("annotations"))),
            labels: string_pairs(meta.and_then(|m| m.get("labels"))),
            sections,
            graph: d.graph(),
            service,
            kind_lower: d.row.kind.to_lowercase(),
            system,
            source,
            d,
        })
    })
    .await
}
