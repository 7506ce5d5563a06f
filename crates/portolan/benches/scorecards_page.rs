//! The `/scorecards` pages from stored results at 50,000 entities, through the running portal, on SQLite and on
//! PostgreSQL.
//!
//!     cargo bench -p portolan --bench scorecards_page
//!
//! For each database the bench makes a fresh one and fills it as the evaluation job would have:
//!
//! * a team tree of 344 Groups (1 root → 7 divisions → 48 departments → 288 teams), written as descriptor files to a
//!   temporary folder and ingested (`catalog::ingest::ingest`, the default ingest options), so that the `parentOf`
//!   relations are the catalog's own;
//! * 3 scorecard definitions of 3 levels and 9 rules each (`store::maturity::replace_scorecards`);
//! * 3 × `SCORECARDS_BENCH_ENTITIES` (default 50,000) results, each with its 9 rule results as JSON, owned 94 % by
//!   a team, 4 % by a department, 1 % by a division and 1 % by a User (`replace_results`);
//! * 90 days of daily snapshots of each scorecard (`replace_snapshot`), made from the results with a slow drift so
//!   that the trend and the change since a week ago are not flat.
//!
//! It then starts the portal on port 0 (`Application::build`, `run`; refresh every hour, no demo, no locations, so
//! that no refresh or evaluation runs during the bench) and, one request at a time:
//!
//! * the first `GET /scorecards`: the cold build of the boards from every stored result;
//! * `SCORECARDS_BENCH_RUNS` (default 200) requests each of `/scorecards`, `/scorecards/<name>`,
//!   `/scorecards/<name>?team=<a department>` and `/api/v1/teams/<the department>/scorecards`, after a first one
//!   reported on its own (a focused page reads the team's trend once);
//! * `SCORECARDS_BENCH_REBUILDS` (default 5) times: today's snapshot written again (which moves the scorecards
//!   version), then `state.scoreboard.warm(..)` timed as the job calls it, then the next `/scorecards`; and as many
//!   times: a write, then `/scorecards` without a warm-up (the cold build again, in a running portal).
//!
//! Environment: `PORTOLAN_BENCH_PG_URL` (or `PORTOLAN_TEST_PG_URL`): a PostgreSQL server where a database
//! `portolan_scorecards_bench_<pid>` may be created and dropped; without either, PostgreSQL is skipped.
//! `SCORECARDS_BENCH_ENTITIES`, `SCORECARDS_BENCH_RUNS`, `SCORECARDS_BENCH_REBUILDS`, `SCORECARDS_BENCH_DATABASES`
//! (default `sqlite postgres`).

mod support;

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, ensure};
use catalog::ingest::{NoProgress, ingest};
use chrono::{NaiveDateTime, Utc};
use portolan::settings::Settings;
use portolan::{AppState, Application};
use rand::{Rng, SeedableRng};
use rand_xoshiro::SplitMix64;
use scorecard::maturity::jobs::{snapshot_rows, start_of_day};
use scorecard::maturity::rollup::{Change, ResultReader, Rollup};
use scorecard::maturity::{Check, Condition, Outcome, Rule, RuleResult, Scorecard, Selector};
use store::maturity::{self, NO_LEVEL, ResultRow, ScorecardRow, SnapshotRow};
use store::{PoolOptions, Store};
use support::{BenchDb, each_database, load, ms, percentile};

const DIVISIONS: usize = 7;
const DEPARTMENTS: usize = 48;
const TEAMS_PER_DEPARTMENT: usize = 6;
const SNAPSHOT_DAYS: i64 = 90;
/// The department the focused pages and the team API ask for (a mid-level team: 6 teams below it).
const FOCUS: &str = "dept-17";

/// A deterministic number in `[0, 1)` from a few integers (rand_xoshiro's SplitMix64 seeded with their mix).
fn unit(parts: &[u64]) -> f64 {
    let seed = parts.iter().fold(0x9E37_79B9_7F4A_7C15_u64, |acc, p| acc.rotate_left(17) ^ p.wrapping_mul(0xA24B_AED4));
    SplitMix64::seed_from_u64(seed).random()
}

fn division(i: usize) -> String {
    format!("division-{}", i + 1)
}

fn department(i: usize) -> String {
    format!("dept-{:02}", i + 1)
}

fn team(i: usize) -> String {
    format!("team-{:03}", i + 1)
}

fn group_ref(name: &str) -> String {
    format!("group:default/{name}")
}

fn group_yaml(out: &mut String, name: &str, kind: &str, parent: Option<&str>, children: &[String]) {
    let _ = write!(
        out,
        "---\napiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: {name}\n  description: The {name} \
         {kind} of the scorecards benchmark.\nspec:\n  type: {kind}\n  profile:\n    displayName: {name}\n"
    );
    if let Some(parent) = parent {
        let _ = writeln!(out, "  parent: {parent}");
    }
    let _ = writeln!(out, "  children: [{}]", children.join(", "));
}

/// The team tree as descriptor files, one per division (and one for the root); returns how many Groups.
fn write_team_tree(folder: &Path) -> anyhow::Result<usize> {
    let mut root = String::new();
    let divisions: Vec<String> = (0..DIVISIONS).map(division).collect();
    group_yaml(&mut root, "engineering", "organization", None, &divisions);
    std::fs::write(folder.join("engineering.yaml"), root)?;
    let mut count = 1;
    for (d, name) in divisions.iter().enumerate() {
        let mut out = String::new();
        let departments: Vec<usize> = (0..DEPARTMENTS).filter(|p| p % DIVISIONS == d).collect();
        let names: Vec<String> = departments.iter().map(|p| department(*p)).collect();
        group_yaml(&mut out, name, "division", Some("engineering"), &names);
        count += 1;
        for p in departments {
            let teams: Vec<String> = (0..TEAMS_PER_DEPARTMENT).map(|t| team(p * TEAMS_PER_DEPARTMENT + t)).collect();
            group_yaml(&mut out, &department(p), "department", Some(name), &teams);
            count += 1;
            for t in &teams {
                group_yaml(&mut out, t, "team", Some(&department(p)), &[]);
                count += 1;
            }
        }
        std::fs::write(folder.join(format!("{name}.yaml")), out)?;
    }
    Ok(count)
}

/// One rule of a generated scorecard: id, title, level, check, and the reason it gives when it fails.
struct RuleSpec {
    id: &'static str,
    title: &'static str,
    level: usize,
    check: fn() -> Check,
    pass: &'static str,
    fail: &'static str,
    /// Whether it can be unknown (it reads SLO data).
    slo: bool,
}

struct CardSpec {
    name: &'static str,
    title: &'static str,
    levels: [&'static str; 3],
    budgets: bool,
    rules: [RuleSpec; 9],
}

const fn rule(
    id: &'static str,
    title: &'static str,
    level: usize,
    check: fn() -> Check,
    pass: &'static str,
    fail: &'static str,
    slo: bool,
) -> RuleSpec {
    RuleSpec { id, title, level, check, pass, fail, slo }
}

fn cards() -> [CardSpec; 3] {
    [
        CardSpec {
            name: "production-readiness",
            title: "Production readiness",
            levels: ["Bronze", "Silver", "Gold"],
            budgets: true,
            rules: [
                rule(
                    "has-owner",
                    "Owned by a team",
                    0,
                    || Check::OwnerIsGroup,
                    "Owned by a Group of the catalog",
                    "The owner is not a Group of the catalog: set spec.owner to a team",
                    false,
                ),
                rule(
                    "has-description",
                    "Has a description",
                    0,
                    || Check::HasDescription,
                    "Has a description",
                    "metadata.description is missing or blank",
                    false,
                ),
                rule(
                    "lifecycle",
                    "Lifecycle is production or experimental",
                    0,
                    || Check::LifecycleIn { lifecycles: vec!["production".to_owned(), "experimental".to_owned()] },
                    "Lifecycle is production",
                    "Lifecycle is deprecated: retire it or set another lifecycle",
                    false,
                ),
                rule(
                    "has-runbook",
                    "Has a runbook",
                    1,
                    || Check::HasLink { link_type: "runbook".to_owned() },
                    "Has a link of type runbook",
                    "No runbook link: add one to metadata.links",
                    false,
                ),
                rule("has-slo", "Has an SLO", 1, || Check::HasSlo, "Has 2 SLOs", "No SLO names this service", false),
                rule(
                    "on-call",
                    "Has an on-call rotation",
                    1,
                    || Check::HasAnnotation { key: "pagerduty.com/service-id".to_owned() },
                    "Has the annotation pagerduty.com/service-id",
                    "The annotation pagerduty.com/service-id is not set",
                    false,
                ),
                rule(
                    "slos-met",
                    "Every SLO meets its objective",
                    2,
                    || Check::SlosMeetTarget,
                    "Every SLO meets its objective",
                    "availability is at 99.82 %, below its 99.9 % objective",
                    true,
                ),
                rule(
                    "budget",
                    "A quarter of every error budget left",
                    2,
                    || Check::BudgetAbove { fraction: 0.25 },
                    "Every SLO has more than 25 % of its budget left",
                    "latency-p99 has 12 % of its budget left",
                    true,
                ),
                rule(
                    "no-page",
                    "No page alert firing",
                    2,
                    || Check::NoPageAlert,
                    "No page alert firing",
                    "A page alert is firing on availability (fast burn, 14.4×)",
                    true,
                ),
            ],
        },
        CardSpec {
            name: "slo-health",
            title: "SLO health",
            levels: ["Measured", "Reliable", "Resilient"],
            budgets: true,
            rules: [
                rule("has-slo", "Has an SLO", 0, || Check::HasSlo, "Has 1 SLO", "No SLO names this service", false),
                rule(
                    "owner",
                    "Owned by a team",
                    0,
                    || Check::OwnerIsGroup,
                    "Owned by a Group of the catalog",
                    "The owner is not a Group of the catalog",
                    false,
                ),
                rule(
                    "dashboard",
                    "Has a dashboard",
                    0,
                    || Check::HasLink { link_type: "dashboard".to_owned() },
                    "Has a link of type dashboard",
                    "No dashboard link: add one to metadata.links",
                    false,
                ),
                rule(
                    "slos-met",
                    "Every SLO meets its objective",
                    1,
                    || Check::SlosMeetTarget,
                    "Every SLO meets its objective",
                    "latency-p99 is at 98.7 %, below its 99 % objective",
                    true,
                ),
                rule(
                    "no-page",
                    "No page alert firing",
                    1,
                    || Check::NoPageAlert,
                    "No page alert firing",
                    "A page alert is firing on latency-p99 (slow burn, 6×)",
                    true,
                ),
                rule(
                    "budget-10",
                    "A tenth of every error budget left",
                    1,
                    || Check::BudgetAbove { fraction: 0.1 },
                    "Every SLO has more than 10 % of its budget left",
                    "availability has overspent its budget",
                    true,
                ),
                rule(
                    "budget-50",
                    "Half of every error budget left",
                    2,
                    || Check::BudgetAbove { fraction: 0.5 },
                    "Every SLO has more than 50 % of its budget left",
                    "availability has 31 % of its budget left",
                    true,
                ),
                rule(
                    "runbook",
                    "Has a runbook",
                    2,
                    || Check::HasLink { link_type: "runbook".to_owned() },
                    "Has a link of type runbook",
                    "No runbook link: add one to metadata.links",
                    false,
                ),
                rule(
                    "deps",
                    "No deprecated dependencies",
                    2,
                    || Check::DependenciesNotDeprecated,
                    "None of its 3 dependencies is deprecated",
                    "Depends on legacy-payments, which is deprecated",
                    false,
                ),
            ],
        },
        CardSpec {
            name: "documentation",
            title: "Documentation",
            levels: ["Described", "Documented", "Exemplary"],
            budgets: false,
            rules: [
                rule(
                    "description",
                    "Has a description",
                    0,
                    || Check::HasDescription,
                    "Has a description",
                    "metadata.description is missing or blank",
                    false,
                ),
                rule(
                    "owner",
                    "Owned by a team",
                    0,
                    || Check::OwnerIsGroup,
                    "Owned by a Group of the catalog",
                    "The owner is not a Group of the catalog",
                    false,
                ),
                rule(
                    "tier-tag",
                    "Tagged with its tier",
                    0,
                    || Check::HasTag { tag: "tier-1".to_owned() },
                    "Tagged tier-1",
                    "Not tagged tier-1",
                    false,
                ),
                rule(
                    "docs-link",
                    "Has documentation",
                    1,
                    || Check::HasLink { link_type: "docs".to_owned() },
                    "Has a link of type docs",
                    "No docs link: add one to metadata.links",
                    false,
                ),
                rule(
                    "techdocs",
                    "Has TechDocs",
                    1,
                    || Check::HasAnnotation { key: "backstage.io/techdocs-ref".to_owned() },
                    "Has the annotation backstage.io/techdocs-ref",
                    "The annotation backstage.io/techdocs-ref is not set",
                    false,
                ),
                rule(
                    "source",
                    "Links its source",
                    1,
                    || Check::HasAnnotation { key: "backstage.io/source-location".to_owned() },
                    "Has the annotation backstage.io/source-location",
                    "The annotation backstage.io/source-location is not set",
                    false,
                ),
                rule(
                    "golden-path",
                    "Made from a golden path",
                    2,
                    || Check::FromGoldenPath,
                    "Made from rust-http-service",
                    "Not made from a golden-path template",
                    false,
                ),
                rule(
                    "up-to-date",
                    "At most 1 version behind its template",
                    2,
                    || Check::TemplateWithin { max_behind: 1 },
                    "On version 4 of rust-http-service, the latest",
                    "3 versions behind rust-http-service (1 → 4)",
                    false,
                ),
                rule(
                    "adr",
                    "Has decision records",
                    2,
                    || Check::HasAnnotation { key: "backstage.io/adr-location".to_owned() },
                    "Has the annotation backstage.io/adr-location",
                    "The annotation backstage.io/adr-location is not set",
                    false,
                ),
            ],
        },
    ]
}

fn definition(card: &CardSpec) -> Scorecard {
    Scorecard {
        name: card.name.to_owned(),
        title: Some(card.title.to_owned()),
        description: Some(format!("{} of every service", card.title)),
        applies_to: Selector { kinds: vec!["component".to_owned()], ..Selector::default() },
        levels: card.levels.iter().map(|l| (*l).to_owned()).collect(),
        rules: card
            .rules
            .iter()
            .map(|r| Rule {
                id: r.id.to_owned(),
                title: r.title.to_owned(),
                level: r.level,
                condition: Condition::Check((r.check)()),
                pos: Default::default(),
            })
            .collect(),
        pos: Default::default(),
    }
}

/// Who owns entity `e`: mostly a team, some departments, divisions and Users.
fn owner(e: usize) -> String {
    let r = unit(&[e as u64, 1]);
    let pick = |n: usize| ((unit(&[e as u64, 2]) * n as f64) as usize).min(n - 1);
    if r < 0.94 {
        group_ref(&team(pick(DEPARTMENTS * TEAMS_PER_DEPARTMENT)))
    } else if r < 0.98 {
        group_ref(&department(pick(DEPARTMENTS)))
    } else if r < 0.99 {
        group_ref(&division(pick(DIVISIONS)))
    } else {
        format!("user:default/user-{}", pick(500))
    }
}

/// Entity `e`'s results against card `c`: the rules (pass more often at lower levels) and the level they reach.
fn results(card: &CardSpec, c: usize, entities: usize, owners: &[String], at: NaiveDateTime) -> Vec<ResultRow> {
    (0..entities)
        .map(|e| {
            let pass_rate = [0.96, 0.85, 0.7];
            let rules: Vec<RuleResult> = card
                .rules
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let x = unit(&[e as u64, c as u64, i as u64, 3]);
                    let outcome = if r.slo && x > 0.95 {
                        Outcome::Unknown
                    } else if x < pass_rate[r.level] {
                        Outcome::Pass
                    } else {
                        Outcome::Fail
                    };
                    let reason = match outcome {
                        Outcome::Pass => r.pass,
                        Outcome::Fail => r.fail,
                        Outcome::Unknown => "No SLO data yet",
                    };
                    RuleResult { rule: r.id.to_owned(), level: r.level, outcome, reason: reason.to_owned() }
                })
                .collect();
            let reached =
                (0..3).take_while(|l| rules.iter().filter(|r| r.level == *l).all(|r| r.outcome == Outcome::Pass));
            let level = reached.last().map_or(NO_LEVEL, |l| l as i32);
            let budget = (card.budgets && unit(&[e as u64, c as u64, 4]) < 0.7)
                .then(|| -0.3 + 1.3 * unit(&[e as u64, c as u64, 5]));
            ResultRow {
                scorecard: card.name.to_owned(),
                entity_ref: format!("component:default/svc-{e:05}"),
                owner_ref: owners.get(e).cloned(),
                level,
                rules: serde_json::to_string(&rules).expect("rules as JSON"),
                failing: rules.iter().filter(|r| r.outcome != Outcome::Pass).count() as i32,
                budget_remaining: budget,
                evaluated_at: at,
            }
        })
        .collect()
}

/// The snapshot of `days` ago: every entity one level lower for a while before it improved (the drift).
fn snapshot_of(name: &str, c: usize, day: NaiveDateTime, days: i64, rows: &[ResultRow]) -> Vec<SnapshotRow> {
    let levels = rows.iter().enumerate().map(|(e, r)| {
        let improved_days_ago = (unit(&[e as u64, c as u64, 6]) * 150.0) as i64;
        let level = if r.level >= 0 && days > improved_days_ago { r.level - 1 } else { r.level };
        (r.owner_ref.as_deref(), level, r.budget_remaining.map(|b| b + 0.002 * days as f64))
    });
    snapshot_rows(name, day, levels)
}

/// The generated state as written: definitions, results and snapshots.
struct Written {
    groups: usize,
    results: usize,
    snapshot_rows: usize,
    took: Duration,
}

fn write_scorecards(store: &Store, entities: usize) -> anyhow::Result<Written> {
    let started = Instant::now();
    let cards = cards();
    let rows: Vec<ScorecardRow> = cards
        .iter()
        .map(|card| ScorecardRow {
            name: card.name.to_owned(),
            title: card.title.to_owned(),
            description: format!("{} of every service", card.title),
            definition: serde_json::to_string(&definition(card)).expect("definition as JSON"),
            path: format!("/catalog/scorecards/{}.yaml", card.name),
            updated_at: store::now(),
        })
        .collect();
    store.transaction::<_, anyhow::Error>(|c| Ok(maturity::replace_scorecards(c, &rows)?))?;
    let owners: Vec<String> = (0..entities).map(owner).collect();
    let today = start_of_day(Utc::now().naive_utc());
    let (mut results_written, mut snapshot_written) = (0, 0);
    for (c, card) in cards.iter().enumerate() {
        let results = results(card, c, entities, &owners, store::now());
        store.transaction::<_, anyhow::Error>(|conn| {
            Ok(maturity::replace_results(conn, card.name, &results, store::now())?)
        })?;
        results_written += results.len();
        for days in (0..SNAPSHOT_DAYS).rev() {
            let day = today - chrono::Duration::days(days);
            let snapshot = snapshot_of(card.name, c, day, days, &results);
            store.transaction::<_, anyhow::Error>(|conn| {
                Ok(maturity::replace_snapshot(conn, card.name, day, &snapshot)?)
            })?;
            snapshot_written += snapshot.len();
        }
    }
    Ok(Written { groups: 0, results: results_written, snapshot_rows: snapshot_written, took: started.elapsed() })
}

/// Writes today's snapshot of the first scorecard again: the scorecards version moves, the boards are stale.
fn touch(store: &Store) -> anyhow::Result<()> {
    let mut conn = store.conn()?;
    let name = cards()[0].name;
    let today = start_of_day(Utc::now().naive_utc());
    let rows = maturity::snapshot_on(&mut conn, name, today)?;
    ensure!(!rows.is_empty(), "no snapshot of {name} today");
    maturity::replace_snapshot(&mut conn, name, today, &rows)?;
    Ok(())
}

/// Adds the time since `clock` to phase `i`, and restarts the clock.
fn lap(phases: &mut [(&'static str, Duration)], i: usize, clock: &mut Instant) {
    phases[i].1 += clock.elapsed();
    *clock = Instant::now();
}

/// The boards' build taken apart through the same public calls `scoreboard::build` makes, per phase, summed over
/// the scorecards: `(phase, time)`.
fn build_phases(store: &Store) -> anyhow::Result<Vec<(&'static str, Duration)>> {
    let mut conn = store.conn()?;
    let now = Utc::now().naive_utc();
    let mut phases = vec![
        ("team tree (Groups, `parentOf`)", Duration::ZERO),
        ("`results_of` (rows with their rules JSON)", Duration::ZERO),
        ("`ResultReader::read` + `Rollup::compute`", Duration::ZERO),
        ("change since a week ago (`snapshot_on` + `Change::since`)", Duration::ZERO),
        ("trend (`snapshot_totals_since`, 90 days)", Duration::ZERO),
    ];
    let mut clock = Instant::now();
    let tree = portolan::scoreboard::team_tree(&mut conn)?;
    ensure!(tree.position(&group_ref(FOCUS)).is_some(), "{FOCUS} is not in the team tree");
    lap(&mut phases, 0, &mut clock);
    for row in maturity::all_scorecards(&mut conn)? {
        let card = portolan::scoreboard::read_definition(&row).ok_or_else(|| anyhow!("{} is unreadable", row.name))?;
        clock = Instant::now();
        let results = maturity::results_of(&mut conn, &row.name)?;
        lap(&mut phases, 1, &mut clock);
        let reader = ResultReader::new(&card);
        let rollup = Rollup::compute(&card, &tree, results.iter().map(|r| reader.read(r)));
        drop(results);
        lap(&mut phases, 2, &mut clock);
        let week_ago = maturity::snapshot_day_at_or_before(&mut conn, &row.name, now - chrono::Duration::days(7))?
            .ok_or_else(|| anyhow!("no snapshot a week old"))?;
        let change = Change::since(&rollup, &tree, week_ago, &maturity::snapshot_on(&mut conn, &row.name, week_ago)?);
        std::hint::black_box(&change);
        lap(&mut phases, 3, &mut clock);
        let since = start_of_day(now) - chrono::Duration::days(portolan::scoreboard::TREND_DAYS);
        let totals = maturity::snapshot_totals_since(&mut conn, &row.name, since, None)?;
        std::hint::black_box(&totals);
        lap(&mut phases, 4, &mut clock);
    }
    Ok(phases)
}

struct Timed {
    label: String,
    first: Duration,
    bytes: usize,
    times: Vec<Duration>,
}

struct Figures {
    database: &'static str,
    written: Written,
    ingest: Duration,
    cold: Duration,
    cold_bytes: usize,
    pages: Vec<Timed>,
    warm: Vec<Duration>,
    after_warm: Vec<Duration>,
    rebuilt_by_request: Vec<Duration>,
    /// Per phase, the median over the rebuilds.
    phases: Vec<(&'static str, Duration)>,
}

async fn get(client: &reqwest::Client, url: &str) -> anyhow::Result<(Duration, String)> {
    let started = Instant::now();
    let response = client.get(url).send().await?;
    let status = response.status();
    let body = response.text().await?;
    let took = started.elapsed();
    ensure!(status == 200, "GET {url}: {status}: {}", body.chars().take(300).collect::<String>());
    Ok((took, body))
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> anyhow::Result<T> + Send + 'static) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(work).await?
}

async fn run(db: &BenchDb, entities: usize, runs: usize, rebuilds: usize) -> anyhow::Result<Figures> {
    let files = tempfile::tempdir()?;
    let teams = files.path().join("teams");
    std::fs::create_dir_all(&teams)?;
    let groups = write_team_tree(&teams)?;
    let store = {
        let url = db.url.clone();
        blocking(move || Ok(Store::open(&url, &PoolOptions::default())?)).await?
    };
    let ingest_started = Instant::now();
    {
        let (store, teams) = (store.clone(), teams.clone());
        blocking(move || {
            let report =
                ingest(&store, std::slice::from_ref(&teams), &Settings::default().ingest_options(), &NoProgress)?;
            ensure!(report.error_count() == 0, "the team tree does not ingest cleanly: {:?}", report.problems);
            Ok(())
        })
        .await?;
    }
    let ingest_took = ingest_started.elapsed();
    let mut written = {
        let store = store.clone();
        blocking(move || write_scorecards(&store, entities)).await?
    };
    written.groups = groups;
    eprintln!(
        "[scorecards bench] {}: {groups} Groups, {} results and {} snapshot rows written in {:.1} s",
        db.name,
        written.results,
        written.snapshot_rows,
        written.took.as_secs_f64()
    );

    let settings = Settings {
        bind: "127.0.0.1:0".to_owned(),
        database_url: db.url.clone(),
        refresh_interval_secs: 3600,
        data_dir: files.path().join("data"),
        demo: false,
        ..Settings::default()
    };
    let app = Application::build(settings).await?;
    let base = format!("http://127.0.0.1:{}", app.port);
    let state: actix_web::web::Data<AppState> = app.state.clone();
    actix_web::rt::spawn(app.run());
    let client = reqwest::Client::new();

    let (cold, cold_body) = get(&client, &format!("{base}/scorecards")).await.context("the cold /scorecards")?;
    let cold_bytes = cold_body.len();
    for title in cards().iter().map(|c| c.title) {
        ensure!(cold_body.contains(title), "/scorecards does not show {title}");
    }
    // dept-17's first team: the focused page and the team API must see the department's sub-teams.
    let first_team = team(16 * TEAMS_PER_DEPARTMENT);

    let card = cards()[0].name;
    let focus = group_ref(FOCUS);
    let urls = [
        ("`/scorecards`".to_owned(), format!("{base}/scorecards")),
        (format!("`/scorecards/{card}`"), format!("{base}/scorecards/{card}")),
        (
            format!("`/scorecards/{card}?team={focus}`"),
            format!("{base}/scorecards/{card}?team={}", focus.replace(':', "%3A").replace('/', "%2F")),
        ),
        (format!("`/api/v1/teams/{FOCUS}/scorecards`"), format!("{base}/api/v1/teams/{FOCUS}/scorecards")),
    ];
    let mut pages = Vec::new();
    for (i, (label, url)) in urls.into_iter().enumerate() {
        let (first, body) = get(&client, &url).await.with_context(|| label.clone())?;
        ensure!(i < 2 || body.contains(&first_team), "{label} does not show {first_team}, a team of {FOCUS}");
        let bytes = body.len();
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            times.push(get(&client, &url).await?.0);
        }
        times.sort();
        pages.push(Timed { label, first, bytes, times });
    }

    let (mut warm, mut after_warm, mut rebuilt_by_request) = (Vec::new(), Vec::new(), Vec::new());
    let list = format!("{base}/scorecards");
    for _ in 0..rebuilds {
        let (store2, state2) = (store.clone(), state.clone());
        let took = blocking(move || {
            touch(&store2)?;
            let started = Instant::now();
            state2.scoreboard.warm(&state2.store);
            Ok(started.elapsed())
        })
        .await?;
        warm.push(took);
        after_warm.push(get(&client, &list).await?.0);
        let store2 = store.clone();
        blocking(move || touch(&store2)).await?;
        rebuilt_by_request.push(get(&client, &list).await?.0);
    }
    for times in [&mut warm, &mut after_warm, &mut rebuilt_by_request] {
        times.sort();
    }
    let mut by_phase: Vec<(&'static str, Vec<Duration>)> = Vec::new();
    for _ in 0..rebuilds {
        let store2 = store.clone();
        for (i, (phase, took)) in blocking(move || build_phases(&store2)).await?.into_iter().enumerate() {
            match by_phase.get_mut(i) {
                Some((_, times)) => times.push(took),
                None => by_phase.push((phase, vec![took])),
            }
        }
    }
    let phases = by_phase
        .into_iter()
        .map(|(phase, mut times)| {
            times.sort();
            (phase, percentile(&times, 0.5))
        })
        .collect();
    Ok(Figures {
        database: db.name,
        written,
        ingest: ingest_took,
        cold,
        cold_bytes,
        pages,
        warm,
        after_warm,
        rebuilt_by_request,
        phases,
    })
}

/// One database's run on a thread and an actix system of its own, so that its server and workers stop with it.
fn run_on_own_system(db: BenchDb, entities: usize, runs: usize, rebuilds: usize) -> anyhow::Result<Figures> {
    std::thread::spawn(move || {
        let system = actix_web::rt::System::new();
        let figures = system.block_on(run(&db, entities, runs, rebuilds));
        drop(system);
        drop(db);
        figures
    })
    .join()
    .map_err(|_| anyhow!("the bench thread panicked"))?
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn spread(times: &[Duration]) -> String {
    format!(
        "{} ({}–{})",
        ms(percentile(times, 0.5)),
        ms(times.first().copied().unwrap_or_default()),
        ms(times.last().copied().unwrap_or_default())
    )
}

fn report(figures: &[Figures]) {
    println!(
        "\n| database | page | first (ms) | runs | p50 (ms) | p95 (ms) | p99 (ms) | max (ms) | body (kB) |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|"
    );
    for f in figures {
        for p in &f.pages {
            println!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {:.0} |",
                f.database,
                p.label,
                ms(p.first),
                p.times.len(),
                ms(percentile(&p.times, 0.5)),
                ms(percentile(&p.times, 0.95)),
                ms(percentile(&p.times, 0.99)),
                ms(p.times.last().copied().unwrap_or_default()),
                p.bytes as f64 / 1000.0
            );
        }
    }
    println!(
        "\n| database | cold first `/scorecards` (ms) | `scoreboard.warm` after a write, median (min–max) (ms) | \
         `/scorecards` after the warm-up (ms) | `/scorecards` right after a write, no warm-up (ms) |\n\
         |---|---:|---:|---:|---:|"
    );
    for f in figures {
        println!(
            "| {} | {} | {} | {} | {} |",
            f.database,
            ms(f.cold),
            spread(&f.warm),
            spread(&f.after_warm),
            spread(&f.rebuilt_by_request)
        );
    }
    println!("\n| database | phase of a build (3 scorecards), median | ms |\n|---|---|---:|");
    for f in figures {
        for (phase, took) in &f.phases {
            println!("| {} | {phase} | {} |", f.database, ms(*took));
        }
    }
    for f in figures {
        println!(
            "\n{}: {} Groups ingested in {:.2} s; {} results and {} snapshot rows written in {:.1} s; cold page {:.0} kB",
            f.database,
            f.written.groups,
            f.ingest.as_secs_f64(),
            f.written.results,
            f.written.snapshot_rows,
            f.written.took.as_secs_f64(),
            f.cold_bytes as f64 / 1000.0
        );
    }
}

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; no argument is used.
    let entities = env_number("SCORECARDS_BENCH_ENTITIES", 50_000).max(1);
    let runs = env_number("SCORECARDS_BENCH_RUNS", 200).max(1);
    let rebuilds = env_number("SCORECARDS_BENCH_REBUILDS", 5).max(1);
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let started_load = load();
    let figures = match each_database("SCORECARDS_BENCH_DATABASES", "portolan_scorecards_bench", "scorecards", |db| {
        run_on_own_system(db, entities, runs, rebuilds)
    }) {
        Ok(figures) => figures,
        Err(code) => return code,
    };
    println!("{cpus} CPUs; load average (1, 5, 15 min): {started_load} at the start, {} at the end", load());
    println!("{entities} entities per scorecard, 3 scorecards, team tree of 1 → {DIVISIONS} → {DEPARTMENTS} → 288");
    report(&figures);
    ExitCode::SUCCESS
}
