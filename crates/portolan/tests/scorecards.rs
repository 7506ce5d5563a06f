//! What managers see of maturity scorecards: `/scorecards` (the teams × levels matrix rolled up the team tree, rule
//! pass rates, the budgets most at risk, the change since last week, the trend chart), one scorecard focused on a
//! team, the CSV exports, the JSON APIs, and the scorecard parts of the team and service pages, on SQLite and
//! PostgreSQL. Definitions, results and snapshots are stored directly, over the demo organisation's team tree:
//! Engineering > (Commerce > (Catalog & Storefront, Checkout), Data & Insights, Mobile, Platform).

mod support;

use chrono::{Duration, NaiveDateTime, Utc};
use scorecard::maturity::{Check, Condition, Outcome, Rule, RuleResult, Scorecard, Selector};
use store::maturity::{self, NO_LEVEL, ResultRow, ScorecardRow, SnapshotRow};
use store::test_support::TestDb;
use support::{TestApp, select, text};

const READINESS: &str = "test-readiness";
const SLOS: &str = "test-slos";
const SCRIPT: &str = "No runbook link: add one <script>alert('x')</script> to metadata.links";

fn group(name: &str) -> String {
    format!("group:default/{name}")
}

fn component(name: &str) -> String {
    format!("component:default/{name}")
}

fn definition(name: &str, title: &str, levels: &[&str], rules: &[(&str, &str, usize)]) -> Scorecard {
    Scorecard {
        name: name.to_owned(),
        title: Some(title.to_owned()),
        description: Some(format!("{title} of every service")),
        applies_to: Selector { kinds: vec!["component".to_owned()], ..Selector::default() },
        levels: levels.iter().map(|l| (*l).to_owned()).collect(),
        rules: rules
            .iter()
            .map(|(id, title, level)| Rule {
                id: (*id).to_owned(),
                title: (*title).to_owned(),
                level: *level,
                condition: Condition::Check(Check::HasDescription),
                pos: Default::default(),
            })
            .collect(),
        pos: Default::default(),
    }
}

fn definition_row(card: &Scorecard) -> ScorecardRow {
    ScorecardRow {
        name: card.name.clone(),
        title: card.title.clone().unwrap_or_default(),
        description: card.description.clone().unwrap_or_default(),
        definition: serde_json::to_string(card).expect("json"),
        path: format!("/catalog/{}.yaml", card.name),
        updated_at: store::now(),
    }
}

/// `(rule, level, outcome, reason)` of the readiness rules, from the level reached and what else goes wrong.
fn readiness_rules(owner: bool, runbook: Option<&str>, slo: Option<bool>) -> Vec<RuleResult> {
    let result = |rule: &str, level: usize, outcome: Outcome, reason: &str| RuleResult {
        rule: rule.to_owned(),
        level,
        outcome,
        reason: reason.to_owned(),
    };
    vec![
        if owner {
            result("has-owner", 0, Outcome::Pass, "Owned by a team")
        } else {
            result("has-owner", 0, Outcome::Fail, "The owner is not a Group of the catalog")
        },
        match runbook {
            None => result("has-runbook", 1, Outcome::Pass, "Has a runbook"),
            Some(reason) => result("has-runbook", 1, Outcome::Fail, reason),
        },
        match slo {
            Some(true) => result("slo-target", 2, Outcome::Pass, "Every SLO meets its target"),
            Some(false) => result("slo-target", 2, Outcome::Fail, "availability is below its 99.9 % target"),
            None => result("slo-target", 2, Outcome::Unknown, "No SLO data yet"),
        },
    ]
}

fn result(card: &str, entity: &str, owner: &str, level: i32, rules: &[RuleResult], budget: Option<f64>) -> ResultRow {
    ResultRow {
        scorecard: card.to_owned(),
        entity_ref: entity.to_owned(),
        owner_ref: Some(owner.to_owned()),
        level,
        rules: serde_json::to_string(rules).expect("json"),
        failing: i32::try_from(rules.iter().filter(|r| r.outcome != Outcome::Pass).count()).expect("small"),
        budget_remaining: budget,
        evaluated_at: store::now(),
    }
}

fn snapshot(day: NaiveDateTime, owner: &str, level: i32, entities: i32, budget: (f64, i32)) -> SnapshotRow {
    SnapshotRow {
        scorecard: READINESS.to_owned(),
        taken_on: day,
        owner_ref: owner.to_owned(),
        level,
        entities,
        budget_sum: budget.0,
        budget_count: budget.1,
        budget_min: None,
    }
}

fn days_ago(days: i64) -> NaiveDateTime {
    let today = Utc::now().naive_utc().date().and_hms_opt(0, 0, 0).expect("midnight");
    today - Duration::days(days)
}

/// Two scorecards with results and three snapshots of the first (20, 8 and 3 days ago). Now, by team (Bronze,
/// Silver, Gold, no level): Checkout 1 1 1 0, Catalog & Storefront 1 0 0 1, Commerce itself 0 1 0 0, Platform
/// 0 0 2 0, a User's 1 0 0 0. Eight days ago: Checkout 2 1 0 0, Catalog & Storefront 0 0 0 2, Platform 0 0 1 0, the
/// User's 1 0 0 0.
async fn store_scorecards(app: &TestApp) {
    let store = app.db.store.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = store.conn().expect("connection");
        let readiness = definition(
            READINESS,
            "Production readiness",
            &["Bronze", "Silver", "Gold"],
            &[("has-owner", "Owned by a team", 0), ("has-runbook", "Has a runbook", 1), ("slo-target", "SLOs met", 2)],
        );
        let slos = definition(SLOS, "SLO health", &["Reliable"], &[("slos-met", "Every SLO meets its target", 0)]);
        maturity::replace_scorecards(&mut conn, &[definition_row(&readiness), definition_row(&slos)])
            .expect("definitions");
        let all_pass = readiness_rules(true, None, Some(true));
        let results = [
            result(READINESS, &component("checkout-service"), &group("checkout-team"), 2, &all_pass, Some(0.8)),
            result(
                READINESS,
                &component("payments-service"),
                &group("checkout-team"),
                0,
                &readiness_rules(true, Some(SCRIPT), None),
                Some(-0.2),
            ),
            result(
                READINESS,
                &component("cart-service"),
                &group("checkout-team"),
                1,
                &readiness_rules(true, None, Some(false)),
                Some(0.1),
            ),
            result(
                READINESS,
                &component("search-service"),
                &group("catalog-team"),
                NO_LEVEL,
                &readiness_rules(false, Some("No runbook link"), None),
                Some(0.05),
            ),
            result(
                READINESS,
                &component("catalog-service"),
                &group("catalog-team"),
                0,
                &readiness_rules(true, Some("No runbook link"), Some(false)),
                None,
            ),
            result(
                READINESS,
                &component("carrier-gateway"),
                &group("commerce"),
                1,
                &readiness_rules(true, None, None),
                Some(-0.5),
            ),
            result(READINESS, &component("api-gateway"), &group("platform"), 2, &all_pass, Some(0.3)),
            result(READINESS, &component("identity-service"), &group("platform"), 2, &all_pass, None),
            result(
                READINESS,
                &component("ghost-service"),
                "user:default/alice",
                0,
                &readiness_rules(true, Some("No runbook link"), None),
                None,
            ),
        ];
        maturity::replace_results(&mut conn, READINESS, &results, store::now()).expect("results");
        let reliable = |ok: bool, reason: &str| {
            vec![RuleResult {
                rule: "slos-met".to_owned(),
                level: 0,
                outcome: if ok { Outcome::Pass } else { Outcome::Fail },
                reason: reason.to_owned(),
            }]
        };
        let slo_results = [
            result(
                SLOS,
                &component("payments-service"),
                &group("checkout-team"),
                NO_LEVEL,
                &reliable(false, "latency is below its 99 % target"),
                Some(-0.2),
            ),
            result(
                SLOS,
                &component("cart-service"),
                &group("checkout-team"),
                0,
                &reliable(true, "Every SLO meets its target"),
                Some(0.1),
            ),
        ];
        maturity::replace_results(&mut conn, SLOS, &slo_results, store::now()).expect("results");

        let old = days_ago(20);
        let week = days_ago(8);
        let recent = days_ago(3);
        maturity::replace_snapshot(
            &mut conn,
            READINESS,
            old,
            &[snapshot(old, &group("checkout-team"), 0, 3, (0.9, 3))],
        )
        .expect("snapshot");
        maturity::replace_snapshot(
            &mut conn,
            READINESS,
            week,
            &[
                snapshot(week, &group("checkout-team"), 0, 2, (0.4, 2)),
                snapshot(week, &group("checkout-team"), 1, 1, (0.2, 1)),
                snapshot(week, &group("catalog-team"), NO_LEVEL, 2, (0.0, 0)),
                snapshot(week, &group("platform"), 2, 1, (0.6, 1)),
                snapshot(week, "user:default/alice", 0, 1, (0.0, 0)),
            ],
        )
        .expect("snapshot");
        maturity::replace_snapshot(
            &mut conn,
            READINESS,
            recent,
            &[
                snapshot(recent, &group("checkout-team"), 2, 1, (0.8, 1)),
                snapshot(recent, &group("platform"), 2, 2, (0.3, 1)),
            ],
        )
        .expect("snapshot");
    })
    .await
    .expect("join");
}

fn attr(el: &scraper::ElementRef<'_>, name: &str) -> String {
    el.value().attr(name).unwrap_or_default().to_owned()
}

fn within<'a>(el: &scraper::ElementRef<'a>, css: &str) -> Vec<scraper::ElementRef<'a>> {
    let selector = scraper::Selector::parse(css).expect("selector");
    el.select(&selector).collect()
}

/// The matrix of a scorecard as `(team ref or label, [counts per level…, no level, total])`.
fn matrix(doc: &scraper::Html, card: &str, part: &str) -> Vec<(String, Vec<u64>)> {
    select(doc, &format!("section[data-scorecard={card}] table.matrix {part} tr"))
        .iter()
        .filter(|row| !within(row, "td span.n").is_empty())
        .map(|row| {
            let key = match attr(row, "data-team") {
                team if !team.is_empty() => team,
                _ => within(row, "th").first().map(text).unwrap_or_default(),
            };
            let counts = within(row, "td span.n").iter().map(|n| text(n).parse().expect("a count")).collect();
            (key, counts)
        })
        .collect()
}

/// The deltas in one matrix row, by cell (empty without change).
fn deltas(doc: &scraper::Html, card: &str, team: &str) -> Vec<String> {
    let rows = select(doc, &format!("section[data-scorecard={card}] table.matrix tbody tr[data-team=\"{team}\"]"));
    let row = rows.first().expect("the team's row");
    within(row, "td").iter().map(|cell| within(cell, "span.delta").first().map(text).unwrap_or_default()).collect()
}

#[actix_web::test]
async fn scorecards_page_rolls_teams_up_with_rates_risks_change_and_trend() {
    for db in TestDb::all() {
        let backend = db.backend_name();
        let app = TestApp::spawn(db).await;
        store_scorecards(&app).await;
        let doc = app.html("/scorecards").await;

        let nav: Vec<String> = select(&doc, "header.topbar nav a").iter().map(|a| attr(a, "href")).collect();
        assert!(nav.contains(&"/scorecards".to_owned()), "{backend}: Scorecards in the navigation: {nav:?}");

        let card = format!("section[data-scorecard={READINESS}]");
        assert_eq!(select(&doc, &format!("{card} h2")).first().map(text).as_deref(), Some("Production readiness"));
        let headers: Vec<String> = select(&doc, &format!("{card} table.matrix thead th")).iter().map(text).collect();
        assert_eq!(headers, ["Team", "Bronze", "Silver", "Gold", "No level", "Total"], "{backend}");
        // Tree order, each team with its subtree; Data & Insights and Mobile own nothing scored and are left out.
        assert_eq!(
            matrix(&doc, READINESS, "tbody"),
            [
                (group("engineering"), vec![2, 2, 3, 1, 8]),
                (group("commerce"), vec![2, 2, 1, 1, 6]),
                (group("catalog-team"), vec![1, 0, 0, 1, 2]),
                (group("checkout-team"), vec![1, 1, 1, 0, 3]),
                (group("platform"), vec![0, 0, 2, 0, 2]),
            ],
            "{backend}"
        );
        assert_eq!(
            matrix(&doc, READINESS, "tfoot"),
            [("Not owned by a team".to_owned(), vec![1, 0, 0, 0, 1]), ("All".to_owned(), vec![3, 2, 3, 1, 9])],
            "{backend}"
        );
        let indents: Vec<String> =
            select(&doc, &format!("{card} table.matrix tbody th")).iter().map(|th| attr(th, "class")).collect();
        assert_eq!(indents, ["depth-0", "depth-1", "depth-2", "depth-2", "depth-1"], "{backend}");
        let own: Vec<String> =
            select(&doc, &format!("{card} table.matrix tbody tr[data-team=\"{}\"] .own", group("commerce")))
                .iter()
                .map(text)
                .collect();
        assert_eq!(own, ["1 own"], "{backend}: Commerce owns one itself");
        // Against the snapshot of eight days ago (not the one of three days ago).
        assert_eq!(deltas(&doc, READINESS, &group("engineering")), ["", "+1", "+2", "-1", ""], "{backend}");
        assert_eq!(deltas(&doc, READINESS, &group("checkout-team")), ["-1", "", "+1", "", ""], "{backend}");
        let change: Vec<Vec<String>> = select(&doc, &format!("{card} table.change tbody tr"))
            .iter()
            .map(|row| within(row, "th, td").iter().map(text).collect())
            .collect();
        assert_eq!(
            change,
            [
                ["Gold", "1", "3", "+2"],
                ["Silver", "1", "2", "+1"],
                ["Bronze", "3", "3", "±0"],
                ["No level", "2", "1", "-1"]
            ],
            "{backend}"
        );
        let caption = select(&doc, &format!("{card} table.change caption")).first().map(text).unwrap_or_default();
        assert!(caption.contains(&days_ago(8).format("%Y-%m-%d").to_string()), "{backend}: {caption}");

        let rules: Vec<Vec<String>> = select(&doc, &format!("{card} table.rules tbody tr"))
            .iter()
            .map(|row| {
                let mut cells = vec![attr(row, "data-rule")];
                cells.extend(within(row, ".rate-text, td.n").iter().map(text));
                cells
            })
            .collect();
        assert_eq!(
            rules,
            [
                ["has-owner", "89 %", "8", "1", "0"],
                ["has-runbook", "56 %", "5", "4", "0"],
                ["slo-target", "33 %", "3", "2", "4"],
            ],
            "{backend}: unknown is not a pass"
        );

        let at_risk: Vec<(String, String, String)> = select(&doc, &format!("{card} table.at-risk tbody tr"))
            .iter()
            .map(|row| {
                let link = within(row, "td a").first().map(|a| attr(a, "href")).unwrap_or_default();
                let budget = within(row, "td.budget").first().map(text).unwrap_or_default();
                (within(row, "td").first().map(text).unwrap_or_default(), link, budget)
            })
            .collect();
        let names: Vec<&str> = at_risk.iter().map(|(n, _, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "Carrier Gateway",
                "Payments Service",
                "Search Service",
                "Cart Service",
                "API Gateway",
                "Checkout Orchestrator"
            ],
            "{backend}"
        );
        assert_eq!(at_risk[0].1, "/catalog/default/component/carrier-gateway", "{backend}: links to the service page");
        assert_eq!(at_risk[0].2, "-50.0 %");
        assert!(select(&doc, &format!("{card} table.at-risk tbody tr.overspent")).len() == 2, "{backend}");

        // The trend: four stacked bands (three levels and none) over three days, and the average budget.
        let svg = select(&doc, &format!("{card} figure.trend svg"));
        assert_eq!(svg.len(), 1, "{backend}: a server-rendered SVG");
        assert_eq!(select(&doc, &format!("{card} figure.trend polygon.area")).len(), 4, "{backend}");
        let line = select(&doc, &format!("{card} figure.trend polyline.budget-line"));
        assert_eq!(line.first().map(|l| attr(l, "points").split(' ').count()), Some(3), "{backend}");
        let desc = select(&doc, &format!("{card} figure.trend desc")).first().map(text).unwrap_or_default();
        assert!(desc.contains("3 Gold"), "{backend}: the last day in words: {desc}");

        // Exports and the JSON from the board.
        let exports: Vec<String> =
            select(&doc, &format!("{card} .exports a")).iter().map(|a| attr(a, "href")).collect();
        assert_eq!(
            exports,
            [
                format!("/scorecards/{READINESS}/matrix.csv"),
                format!("/scorecards/{READINESS}/results.csv"),
                format!("/api/v1/scorecards/{READINESS}"),
            ]
        );
        // The second scorecard has no snapshot yet: it says so instead of a chart.
        assert_eq!(select(&doc, &format!("section[data-scorecard={SLOS}] .chart-empty")).len(), 1, "{backend}");
        assert_eq!(select(&doc, &format!("section[data-scorecard={SLOS}] .no-change")).len(), 1, "{backend}");
    }
}

#[actix_web::test]
async fn one_scorecard_focuses_a_teams_subtree_with_its_own_trend() {
    for db in TestDb::all() {
        let backend = db.backend_name();
        let app = TestApp::spawn(db).await;
        store_scorecards(&app).await;
        let doc = app.html(&format!("/scorecards/{READINESS}?team=commerce")).await;
        assert_eq!(
            matrix(&doc, READINESS, "tbody"),
            [
                (group("commerce"), vec![2, 2, 1, 1, 6]),
                (group("catalog-team"), vec![1, 0, 0, 1, 2]),
                (group("checkout-team"), vec![1, 1, 1, 0, 3]),
            ],
            "{backend}"
        );
        assert!(matrix(&doc, READINESS, "tfoot").is_empty(), "{backend}: no company-wide totals in a focus");
        let crumbs: Vec<String> = select(&doc, ".crumbs a").iter().map(text).collect();
        assert_eq!(crumbs, ["Scorecards", "Production readiness", "Engineering"], "{backend}");
        assert_eq!(
            select(&doc, "h1 a.focused-team").first().map(|a| attr(a, "href")).as_deref(),
            Some("/teams/commerce")
        );
        let change: Vec<Vec<String>> = select(&doc, "table.change tbody tr")
            .iter()
            .map(|row| within(row, "td").iter().map(text).collect())
            .collect();
        assert_eq!(change, [["0", "1", "+1"], ["1", "2", "+1"], ["2", "2", "±0"], ["2", "1", "-1"]], "{backend}");
        // The team's own trend: Commerce's subtree had 3 on the oldest day, 5 a week ago, 1 three days ago.
        let desc = select(&doc, "figure.trend desc").first().map(text).unwrap_or_default();
        let title = select(&doc, "figure.trend title").first().map(text).unwrap_or_default();
        assert_eq!(title, "Levels of Production readiness for Commerce over time", "{backend}");
        assert!(desc.contains("1 Gold, 0 Silver, 0 Bronze, 0 at no level"), "{backend}: {desc}");
        let rules: Vec<String> =
            select(&doc, "table.rules tbody tr[data-rule=has-owner] td.n").iter().map(text).collect();
        assert_eq!(rules, ["5", "1", "0"], "{backend}: the subtree's pass counts");
        let at_risk: Vec<String> = select(&doc, "table.at-risk tbody tr td:first-child").iter().map(text).collect();
        assert_eq!(
            at_risk,
            ["Carrier Gateway", "Payments Service", "Search Service", "Cart Service", "Checkout Orchestrator"]
        );
        let levels: Vec<String> =
            select(&doc, "section.definition ol.levels > li > span.level").iter().map(text).collect();
        assert_eq!(levels, ["Bronze", "Silver", "Gold"]);
        let exports: Vec<String> = select(&doc, ".exports a").iter().map(|a| attr(a, "href")).collect();
        assert_eq!(exports[0], format!("/scorecards/{READINESS}/matrix.csv?team=group%3Adefault%2Fcommerce"));

        // A team by its full ref reads the same; unknown teams and scorecards are 404s, bad refs 400s.
        let full = app.html(&format!("/scorecards/{READINESS}?team=group%3Adefault%2Fcheckout-team")).await;
        assert_eq!(matrix(&full, READINESS, "tbody"), [(group("checkout-team"), vec![1, 1, 1, 0, 3])]);
        assert_eq!(app.get(&format!("/scorecards/{READINESS}?team=nobody")).await.status(), 404, "{backend}");
        assert_eq!(app.get("/scorecards/no-such-card").await.status(), 404, "{backend}");
        assert_eq!(app.get(&format!("/scorecards/{READINESS}?team=a:b:c")).await.status(), 400, "{backend}");
        // The last page of the teams is the first here: there are five.
        let pager = select(&doc, ".matrix-pager").first().map(text).unwrap_or_default();
        assert!(pager.starts_with("Teams 1–3 of 3"), "{backend}: {pager}");
    }
}

#[actix_web::test]
async fn csv_exports_and_json_apis_give_the_same_numbers() {
    for db in TestDb::all() {
        let backend = db.backend_name();
        let app = TestApp::spawn(db).await;
        store_scorecards(&app).await;

        let response = app.get(&format!("/scorecards/{READINESS}/matrix.csv")).await;
        assert_eq!(response.status(), 200, "{backend}");
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        assert_eq!(header("content-type"), "text/csv; charset=utf-8");
        assert_eq!(header("content-disposition"), format!("attachment; filename=\"{READINESS}-matrix.csv\""));
        let body = response.text().await.expect("body");
        let mut reader = csv::Reader::from_reader(body.as_bytes());
        let headers: Vec<String> = reader.headers().expect("headers").iter().map(str::to_owned).collect();
        assert_eq!(
            headers,
            ["team", "team_ref", "parent_ref", "depth", "Bronze", "Silver", "Gold", "No level", "Total", "Own"]
        );
        let records: Vec<Vec<String>> =
            reader.records().map(|r| r.expect("record").iter().map(str::to_owned).collect()).collect();
        let by_team = |team: &str| records.iter().find(|r| r[1] == team).cloned().expect("the team's row");
        assert_eq!(
            by_team(&group("commerce")),
            ["Commerce", &group("commerce"), &group("engineering"), "1", "2", "2", "1", "1", "6", "1"]
        );
        assert_eq!(by_team(&group("mobile"))[4..], ["0", "0", "0", "0", "0", "0"], "{backend}: every team is exported");
        assert_eq!(records.len(), 7 + 2, "{backend}: seven teams, the unowned and all");
        assert_eq!(
            records.last().map(|r| r[..9].to_vec()),
            Some(["All", "", "", "", "3", "2", "3", "1", "9"].map(str::to_owned).to_vec())
        );

        let response = app.get(&format!("/scorecards/{READINESS}/results.csv")).await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers().get("content-disposition").and_then(|v| v.to_str().ok()),
            Some(format!("attachment; filename=\"{READINESS}-results.csv\"").as_str())
        );
        let body = response.text().await.expect("body");
        let mut reader = csv::Reader::from_reader(body.as_bytes());
        assert_eq!(reader.headers().expect("headers"), vec!["entity", "owner", "level", "rule", "outcome", "reason"]);
        let records: Vec<Vec<String>> =
            reader.records().map(|r| r.expect("record").iter().map(str::to_owned).collect()).collect();
        assert_eq!(records.len(), 9 * 3, "{backend}: every entity × rule");
        let payments: Vec<&Vec<String>> = records.iter().filter(|r| r[0] == component("payments-service")).collect();
        assert_eq!(
            payments[1][..5],
            [
                component("payments-service"),
                group("checkout-team"),
                "Bronze".to_owned(),
                "has-runbook".to_owned(),
                "fail".to_owned()
            ]
        );
        assert_eq!(payments[1][5], SCRIPT, "{backend}: the reason round-trips, quotes and commas included");
        assert!(records.iter().any(|r| r[0] == component("search-service") && r[2] == "No level"));
        assert_eq!(app.get(&format!("/scorecards/{READINESS}/results.csv?team=nobody")).await.status(), 404);
        assert_eq!(app.get("/scorecards/nope/results.csv").await.status(), 404);
        assert_eq!(app.get("/scorecards/nope/matrix.csv").await.status(), 404);
        let team_csv = app
            .get(&format!("/scorecards/{READINESS}/results.csv?team=catalog-team"))
            .await
            .text()
            .await
            .expect("body");
        assert_eq!(
            csv::Reader::from_reader(team_csv.as_bytes()).records().count(),
            2 * 3,
            "{backend}: a team's subtree"
        );

        let (status, list) = app.json("/api/v1/scorecards").await;
        assert_eq!(status, 200);
        let items = list["items"].as_array().expect("items");
        let readiness = items.iter().find(|i| i["name"] == READINESS).expect("readiness");
        assert_eq!(readiness["levels"], serde_json::json!(["Bronze", "Silver", "Gold"]));
        assert_eq!(readiness["totals"]["total"], 9);
        assert_eq!(readiness["definition"]["rules"][1]["id"], "has-runbook");
        assert_eq!(readiness["rules"][2]["unknown"], 4);

        let (status, detail) = app.json(&format!("/api/v1/scorecards/{READINESS}")).await;
        assert_eq!(status, 200);
        let commerce = detail["matrix"]
            .as_array()
            .expect("matrix")
            .iter()
            .find(|t| t["team"] == group("commerce"))
            .expect("commerce");
        let counts: Vec<u64> = commerce["subtree"]["levels"]
            .as_array()
            .expect("levels")
            .iter()
            .map(|l| l["count"].as_u64().expect("n"))
            .collect();
        assert_eq!(counts, [2, 2, 1], "{backend}");
        assert_eq!(commerce["subtree"]["none"], 1);
        assert_eq!(commerce["own"]["total"], 1);
        assert_eq!(commerce["parent"], group("engineering"));
        assert_eq!(commerce["change"]["none"], -1);
        assert_eq!(detail["rules"][0]["pass_rate"].as_f64().map(|r| (r * 9.0).round()), Some(8.0));
        assert_eq!(detail["at_risk"][0]["ref"], component("carrier-gateway"));
        assert_eq!(detail["change"]["all"]["levels"][2]["delta"], 2);
        assert_eq!(detail["trend"].as_array().map(Vec::len), Some(3));
        assert_eq!(detail["elsewhere"]["total"], 1);
        let (status, missing) = app.json("/api/v1/scorecards/nope").await;
        assert_eq!((status, missing["error"]["code"].as_str()), (404, Some("not_found")));

        let (status, team) = app.json("/api/v1/teams/commerce/scorecards?limit=2").await;
        assert_eq!(status, 200, "{backend}: {team}");
        assert_eq!(team["team"]["subtree"].as_array().map(Vec::len), Some(3));
        let card = team["scorecards"]
            .as_array()
            .expect("scorecards")
            .iter()
            .find(|c| c["name"] == READINESS)
            .expect("readiness");
        assert_eq!(card["subtree"]["total"], 6);
        assert_eq!(card["own"]["total"], 1);
        assert_eq!(card["services_total"], 6);
        assert_eq!(card["next_offset"], 2);
        let services = card["services"].as_array().expect("services");
        assert_eq!(
            services.iter().map(|s| s["ref"].as_str().unwrap_or("")).collect::<Vec<_>>(),
            [component("carrier-gateway"), component("cart-service")]
        );
        assert_eq!(services[1]["level_name"], "Silver");
        assert_eq!(services[1]["failing"][0]["rule"], "slo-target");
        assert_eq!(services[1]["failing"][0]["title"], "SLOs met");
        assert_eq!(services[1]["name"], "Cart Service");
        let (_, rest) = app.json("/api/v1/teams/commerce/scorecards?limit=10&offset=2").await;
        let rest = rest["scorecards"]
            .as_array()
            .expect("scorecards")
            .iter()
            .find(|c| c["name"] == READINESS)
            .cloned()
            .expect("readiness");
        assert_eq!(rest["services"].as_array().map(Vec::len), Some(4));
        assert_eq!(rest["next_offset"], serde_json::Value::Null);
        assert_eq!(app.json("/api/v1/teams/nobody/scorecards").await.0, 404);
        assert_eq!(app.json("/api/v1/teams/commerce/scorecards?limit=0").await.0, 400);

        let (status, service) = app.json("/api/v1/services/default/payments-service").await;
        assert_eq!(status, 200);
        // Only ours: the demo's own scorecards may be there too.
        let cards: Vec<&serde_json::Value> = service["scorecards"]
            .as_array()
            .expect("scorecards")
            .iter()
            .filter(|c| c["name"].as_str().is_some_and(|n| n.starts_with("test-")))
            .collect();
        assert_eq!(cards.iter().map(|c| c["name"].as_str().unwrap_or("")).collect::<Vec<_>>(), [READINESS, SLOS]);
        assert_eq!(cards[0]["level"], serde_json::json!({ "index": 0, "name": "Bronze" }));
        let outcomes: Vec<(&str, &str)> = cards[0]["rules"]
            .as_array()
            .expect("rules")
            .iter()
            .map(|r| (r["id"].as_str().unwrap_or(""), r["outcome"].as_str().unwrap_or("")))
            .collect();
        assert_eq!(outcomes, [("has-owner", "pass"), ("has-runbook", "fail"), ("slo-target", "unknown")]);
        assert_eq!(cards[0]["rules"][1]["reason"], SCRIPT);
        assert_eq!(cards[1]["level"], serde_json::Value::Null);
        let (_, unscored) = app.json("/api/v1/services/default/tax-service").await;
        let names: Vec<&str> =
            unscored["scorecards"].as_array().expect("scorecards").iter().filter_map(|c| c["name"].as_str()).collect();
        assert!(!names.contains(&READINESS) && !names.contains(&SLOS), "{backend}: {names:?}");
    }
}

#[actix_web::test]
async fn the_service_page_shows_its_level_and_every_rule_escaped() {
    for db in TestDb::all() {
        let backend = db.backend_name();
        let app = TestApp::spawn(db).await;
        store_scorecards(&app).await;
        let response = app.get("/catalog/default/component/payments-service").await;
        assert_eq!(response.status(), 200);
        let body = response.text().await.expect("body");
        assert!(!body.contains("<script>alert"), "{backend}: the reason is escaped");
        let doc = scraper::Html::parse_document(&body);
        assert!(select(&doc, "script").is_empty(), "{backend}: no script element came of it");

        let summaries: Vec<String> = select(&doc, ".overview .maturity-card li.maturity-summary")
            .iter()
            .filter(|li| attr(li, "data-scorecard").starts_with("test-"))
            .map(text)
            .collect();
        assert_eq!(summaries.len(), 2, "{backend}: {summaries:?}");
        assert!(summaries[0].starts_with("Production readiness Bronze · 1 failing · 1 unknown"), "{summaries:?}");
        assert!(summaries[0].ends_with("1 rule left to Silver"), "{summaries:?}");
        assert_eq!(summaries[1], "SLO health No level · 1 failing 1 rule left to Reliable", "{summaries:?}");

        let section = format!("section.maturity article[data-scorecard={READINESS}]");
        let rules: Vec<(String, String)> = select(&doc, &format!("{section} li.rule-result"))
            .iter()
            .map(|li| (attr(li, "data-rule"), within(li, "span.outcome").first().map(text).unwrap_or_default()))
            .collect();
        assert_eq!(
            rules,
            [
                ("has-owner".to_owned(), "Passed".to_owned()),
                ("has-runbook".to_owned(), "Failed".to_owned()),
                ("slo-target".to_owned(), "Unknown".to_owned()),
            ],
            "{backend}"
        );
        let reason = select(&doc, &format!("{section} li[data-rule=has-runbook] .reason")).first().map(text);
        assert_eq!(reason.as_deref(), Some(SCRIPT), "{backend}: shown as text");
        let reached: Vec<String> =
            select(&doc, &format!("{section} .level-rules.reached h4 .level")).iter().map(text).collect();
        assert_eq!(reached, ["Bronze"]);
        let history: Vec<String> = select(&doc, &format!("{section} .level-history li")).iter().map(text).collect();
        assert_eq!(history.len(), 1, "{backend}: {history:?}");
        assert!(history[0].ends_with(": first scored, Bronze"), "{backend}: {history:?}");

        // A service none of ours scored has no section of theirs.
        let doc = app.html("/catalog/default/component/tax-service").await;
        assert_eq!(select(&doc, ".overview .maturity-card").len(), 1, "{backend}: the card is always there");
        assert!(select(&doc, &format!("section.maturity article[data-scorecard={READINESS}]")).is_empty());
    }
}

/// The service page remembers its maturity cards per process; a new result, and an evaluation that changed nothing
/// but its time, show on the next view.
#[actix_web::test]
async fn the_service_page_follows_new_results_and_new_evaluations() {
    for db in TestDb::all() {
        let backend = db.backend_name();
        let app = TestApp::spawn(db).await;
        store_scorecards(&app).await;
        let page = "/catalog/default/component/payments-service";
        let header = format!("section.maturity article[data-scorecard={READINESS}] header");
        let seen = |doc: &scraper::Html| {
            let level = select(doc, &format!("{header} .level")).first().map(text).unwrap_or_default();
            let muted = select(doc, &format!("{header} .muted")).first().map(text).unwrap_or_default();
            (level, muted)
        };
        let (level, _) = seen(&app.html(page).await);
        assert_eq!(level, "Bronze", "{backend}");

        let write = |level: i32, at: NaiveDateTime| {
            let store = app.db.store.clone();
            let mut row = result(
                READINESS,
                &component("payments-service"),
                &group("checkout-team"),
                level,
                &readiness_rules(true, None, None),
                Some(0.5),
            );
            row.evaluated_at = at;
            async move {
                tokio::task::spawn_blocking(move || {
                    let mut conn = store.conn().expect("connection");
                    maturity::sync_results(&mut conn, READINESS, &[row], at).expect("results")
                })
                .await
                .expect("join")
            }
        };
        let first = days_ago(0) + Duration::minutes(61);
        write(1, first).await;
        let (level, muted) = seen(&app.html(page).await);
        assert_eq!(level, "Silver", "{backend}: the new result");
        assert!(muted.ends_with(&first.format("evaluated %Y-%m-%d 01:01 UTC").to_string()), "{backend}: {muted}");

        // The same result evaluated again: only its time moves.
        let again = first + Duration::minutes(5);
        write(1, again).await;
        let (level, muted) = seen(&app.html(page).await);
        assert_eq!(level, "Silver", "{backend}");
        assert!(muted.ends_with(&again.format("evaluated %Y-%m-%d 01:06 UTC").to_string()), "{backend}: {muted}");
    }
}

#[actix_web::test]
async fn the_team_page_shows_levels_failing_rules_slos_and_drift() {
    for db in TestDb::all() {
        let backend = db.backend_name();
        let app = TestApp::spawn(db).await;
        store_scorecards(&app).await;
        // The demo's SLI history, so that some SLOs are met, at risk or exhausted.
        let (store, folder) = (app.db.store.clone(), app.demo_root.parent().expect("demo folder").to_path_buf());
        tokio::task::spawn_blocking(move || {
            let now = Utc::now();
            portolan::demo::write_history_if_new(&store, &folder, now).expect("history written");
            scorecard::sli::refresh_statuses(&mut store.conn().expect("connection"), now).expect("statuses");
        })
        .await
        .expect("join");

        let doc = app.html("/teams/commerce").await;
        let levels: Vec<String> = select(&doc, &format!(".team-board[data-scorecard={READINESS}] .team-levels li"))
            .iter()
            .map(text)
            .collect();
        assert_eq!(levels, ["Gold 1 +1", "Silver 2 +1 1 own", "Bronze 2", "No level 1 -1"], "{backend}");
        let focus =
            select(&doc, &format!(".team-board[data-scorecard={READINESS}] h2 a")).first().map(|a| attr(a, "href"));
        assert_eq!(focus, Some(format!("/scorecards/{READINESS}?team=group%3Adefault%2Fcommerce")));

        // The services of the subtree with their level and failing rules, by scorecard.
        let headers: Vec<String> = select(&doc, "table.service-levels thead th").iter().map(text).collect();
        assert!(headers.starts_with(&["Service".to_owned()]) && headers.contains(&"Production readiness".to_owned()));
        let column = headers.iter().position(|h| h == "Production readiness").expect("column") + 1;
        let cell = |name: &str| {
            select(&doc, "table.service-levels tbody tr")
                .iter()
                .find(|row| within(row, "td a").first().map(text).as_deref() == Some(name))
                .and_then(|row| within(row, &format!("td:nth-child({column})")).first().map(text))
                .unwrap_or_default()
        };
        assert_eq!(cell("Cart Service"), "Silver SLOs met", "{backend}");
        assert_eq!(cell("Payments Service"), "Bronze Has a runbook 1 unknown", "{backend}");
        assert_eq!(cell("Search Service"), "No level Owned by a team Has a runbook 1 unknown");
        assert_eq!(cell("tax-service"), "–", "{backend}: not scored");

        // The SLO summary agrees with the catalog's SLO facet for the same services.
        let summary: Vec<String> = select(&doc, "#slo-summary .slo-counts li").iter().map(text).collect();
        let owners = ["commerce", "checkout-team", "catalog-team"].map(|t| format!("owner={t}")).join("&");
        let catalog = app.html(&format!("/catalog?kind=component&{owners}&limit=100")).await;
        let facet: Vec<String> = select(&catalog, "section[data-facet=slo_status] li").iter().map(text).collect();
        let count = |label: &str| {
            facet
                .iter()
                .find_map(|f| f.strip_prefix(label).map(|n| n.trim().to_owned()))
                .unwrap_or_else(|| "0".to_owned())
        };
        assert_eq!(
            summary,
            [
                format!("{} met", count("Healthy")),
                format!("{} at risk", count("At risk")),
                format!("{} exhausted", count("Exhausted"))
            ],
            "{backend}: facet {facet:?}"
        );
        assert_ne!(count("At risk"), "0", "{backend}: the demo has an SLO at risk under Commerce");
        // Drift is still there.
        assert_eq!(select(&doc, "#golden-path-summary").len(), 1, "{backend}");
    }
}
