//! Routes, one module per area; handlers parse input, call the domain, and hand a page struct or JSON back.

mod api;
mod audit_log;
mod auth;
pub(crate) mod catalog;
mod golden_path;
mod ops;
mod scaffold;
pub(crate) mod scorecards;
mod scorecards_api;
mod sli_events;
mod slos;
mod teams;
mod tokens;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(ops::index)
        .service(ops::healthz)
        .service(ops::readyz)
        .service(ops::metrics)
        .service(ops::stylesheet)
        .service(auth::login)
        .service(auth::callback)
        .service(auth::logout)
        .service(auth::signed_out)
        .service(tokens::list)
        .service(tokens::create)
        .service(tokens::revoke)
        .service(audit_log::page)
        .service(catalog::list)
        .service(golden_path::page)
        .service(catalog::entity)
        .service(teams::team)
        .service(scorecards::list)
        .service(scorecards::matrix_csv)
        .service(scorecards::results_csv)
        .service(scorecards::detail)
        .service(scaffold::list)
        .service(scaffold::form)
        .service(
            web::resource("/create/{name}")
                .app_data(web::FormConfig::default().limit(scaffold::MAX_BODY_BYTES))
                .route(web::post().to(scaffold::submit)),
        )
        .service(scaffold::task_page)
        .service(scaffold::task_events)
        .service(scaffold::archive)
        .service(ops::task_script)
        .service(
            web::scope("/api/v1")
                .service(api::list_entities)
                .service(api::get_entity)
                .service(golden_path::api)
                .service(api::get_service)
                .service(scorecards_api::snapshot)
                .service(scorecards::api_list)
                .service(scorecards::api_detail)
                .service(scorecards::api_team)
                .service(slos::get_slo)
                .service(api::refresh)
                .service(scaffold::api_scaffold_resource())
                .service(scaffold::api_task)
                .service(sli_events::resource())
                .service(audit_log::api)
                .default_service(web::to(api::not_found)),
        )
        .default_service(web::to(ops::not_found));
}

/// A page with a status of its own (a form drawn again with its errors, a token just made).
pub(crate) fn html(
    status: actix_web::http::StatusCode,
    page: &impl askama::Template,
) -> Result<actix_web::HttpResponse, crate::errors::AppError> {
    let body = page.render().map_err(crate::errors::AppError::internal)?;
    Ok(actix_web::HttpResponse::build(status).content_type("text/html; charset=utf-8").body(body))
}

/// Runs blocking database work off the async runtime.
pub(crate) async fn blocking<T, F>(work: F) -> Result<T, crate::errors::AppError>
where
    F: FnOnce() -> Result<T, crate::errors::AppError> + Send + 'static,
    T: Send + 'static,
{
    web::block(work).await?
}
