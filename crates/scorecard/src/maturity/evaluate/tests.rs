//! Each check passing, failing and unknown with its reason; levels climbed; all/any combined; which entities a
//! scorecard applies to.

use catalog::golden_path::Drift;
use catalog::yaml::Pos;

use super::*;
use crate::maturity::model::Rule;

/// A service that passes every check of the tests.
fn facts() -> EntityFacts {
    EntityFacts {
        entity_ref: "component:default/payments".into(),
        kind: "component".into(),
        spec_type: Some("service".into()),
        lifecycle: Some("production".into()),
        owner_ref: Some("group:default/payments-team".into()),
        owner_is_group: true,
        description: Some("Takes payments".into()),
        link_types: vec!["Runbook".into(), "dashboard".into()],
        annotations: vec!["backstage.io/techdocs-ref".into()],
        tags: vec!["java".into(), "pci".into()],
        golden_path: Drift::UpToDate { template: "rust-http-service".into(), version: "2.0.0".into() },
        slos: Some(vec![slo("payments-availability", 0.6), slo("payments-latency", 0.4)]),
        dependencies: vec![dependency("component:default/ledger", Some("production"), true)],
    }
}

fn slo(name: &str, budget_remaining: f64) -> SloFacts {
    SloFacts {
        name: name.into(),
        meets_target: Some(true),
        budget_remaining: Some(budget_remaining),
        page_alert_firing: false,
    }
}

fn dependency(entity_ref: &str, lifecycle: Option<&str>, in_catalog: bool) -> DependencyFacts {
    DependencyFacts { entity_ref: entity_ref.into(), lifecycle: lifecycle.map(Into::into), in_catalog }
}

fn check(check: Check, facts: &EntityFacts) -> (Outcome, String) {
    evaluate_check(&check, facts)
}

fn passes(c: Check, facts: &EntityFacts) -> String {
    let (outcome, reason) = check(c.clone(), facts);
    assert_eq!(outcome, Outcome::Pass, "{c:?}: {reason}");
    reason
}

fn fails(c: Check, facts: &EntityFacts) -> String {
    let (outcome, reason) = check(c.clone(), facts);
    assert_eq!(outcome, Outcome::Fail, "{c:?}: {reason}");
    reason
}

fn is_unknown(c: Check, facts: &EntityFacts) -> String {
    let (outcome, reason) = check(c.clone(), facts);
    assert_eq!(outcome, Outcome::Unknown, "{c:?}: {reason}");
    reason
}

// ---------------------------------------------------------------------------------------------------------------
// Rule by rule.

#[test]
fn owner_is_group() {
    assert_eq!(passes(Check::OwnerIsGroup, &facts()), "Owned by group:default/payments-team");
    let ghost = EntityFacts { owner_ref: Some("group:default/ghosts".into()), owner_is_group: false, ..facts() };
    assert_eq!(
        fails(Check::OwnerIsGroup, &ghost),
        "Owner group:default/ghosts is not a Group in the catalog; add the Group or correct spec.owner"
    );
    let user = EntityFacts { owner_ref: Some("user:default/jane".into()), owner_is_group: false, ..facts() };
    assert_eq!(
        fails(Check::OwnerIsGroup, &user),
        "Owner user:default/jane is a User, not a Group; make the owning team's Group the owner (spec.owner)"
    );
    let system = EntityFacts { owner_ref: Some("system:default/pay".into()), owner_is_group: false, ..facts() };
    assert!(fails(Check::OwnerIsGroup, &system).starts_with("Owner system:default/pay is not a Group;"));
    let none = EntityFacts { owner_ref: None, owner_is_group: false, ..facts() };
    assert!(fails(Check::OwnerIsGroup, &none).starts_with("spec.owner does not name a Group"));
}

#[test]
fn has_description() {
    assert_eq!(passes(Check::HasDescription, &facts()), "Has a description");
    for description in [None, Some("   ".to_owned())] {
        let f = EntityFacts { description, ..facts() };
        assert_eq!(
            fails(Check::HasDescription, &f),
            "metadata.description is missing or blank; add a sentence on what it does to catalog-info.yaml"
        );
    }
}

#[test]
fn has_link() {
    assert_eq!(passes(Check::HasLink { link_type: "runbook".into() }, &facts()), "Has a link of type runbook");
    assert_eq!(
        fails(Check::HasLink { link_type: "docs".into() }, &facts()),
        "No link of type docs in metadata.links; add one (type: docs) to catalog-info.yaml"
    );
    let f = EntityFacts { link_types: vec![], ..facts() };
    assert_eq!(
        fails(Check::HasLink { link_type: "runbook".into() }, &f),
        "No link of type runbook in metadata.links; add one (type: runbook) to catalog-info.yaml"
    );
}

#[test]
fn has_annotation() {
    let key = "backstage.io/techdocs-ref".to_owned();
    assert_eq!(
        passes(Check::HasAnnotation { key: key.clone() }, &facts()),
        "Annotation backstage.io/techdocs-ref is set"
    );
    let f = EntityFacts { annotations: vec![], ..facts() };
    assert_eq!(
        fails(Check::HasAnnotation { key }, &f),
        "Annotation backstage.io/techdocs-ref is not set; add it under metadata.annotations in catalog-info.yaml"
    );
}

#[test]
fn has_tag() {
    assert_eq!(passes(Check::HasTag { tag: "pci".into() }, &facts()), "Tagged pci");
    assert_eq!(
        fails(Check::HasTag { tag: "gdpr".into() }, &facts()),
        "Not tagged gdpr; add it to metadata.tags in catalog-info.yaml"
    );
}

#[test]
fn lifecycle_in() {
    let rule = || Check::LifecycleIn { lifecycles: vec!["production".into(), "experimental".into()] };
    assert_eq!(passes(rule(), &facts()), "Lifecycle is production");
    let f = EntityFacts { lifecycle: Some("Experimental".into()), ..facts() };
    assert_eq!(passes(rule(), &f), "Lifecycle is Experimental");
    let f = EntityFacts { lifecycle: Some("deprecated".into()), ..facts() };
    assert_eq!(
        fails(rule(), &f),
        "Lifecycle is deprecated, not production or experimental; this rule asks for production or experimental"
    );
    let f = EntityFacts { lifecycle: None, ..facts() };
    assert_eq!(fails(rule(), &f), "No spec.lifecycle; this rule asks for production or experimental");
}

fn with_drift(golden_path: Drift) -> EntityFacts {
    EntityFacts { golden_path, ..facts() }
}

#[test]
fn from_golden_path() {
    assert_eq!(passes(Check::FromGoldenPath, &facts()), "Made from template rust-http-service");
    let behind = with_drift(Drift::Behind {
        template: "rust-http-service".into(),
        version: "1.0.0".into(),
        latest: "2.0.0".into(),
        behind: 2,
    });
    assert_eq!(passes(Check::FromGoldenPath, &behind), "Made from template rust-http-service");
    let no_version = with_drift(Drift::UnknownVersion { template: "t".into(), version: None, latest: "1.0.0".into() });
    passes(Check::FromGoldenPath, &no_version);
    assert_eq!(
        fails(Check::FromGoldenPath, &with_drift(Drift::NotFromTemplate)),
        "Names no golden-path template; a service made from one carries the annotation backstage.io/source-template"
    );
    assert_eq!(
        fails(Check::FromGoldenPath, &with_drift(Drift::UnknownTemplate { template: "old-template".into() })),
        "Template old-template (backstage.io/source-template) is not in the catalog; correct the annotation or \
         register the template"
    );
}

#[test]
fn template_up_to_date() {
    let within = |max_behind| Check::TemplateWithin { max_behind };
    assert_eq!(passes(within(0), &facts()), "On the latest version of rust-http-service (2.0.0)");
    let behind = |behind| {
        with_drift(Drift::Behind {
            template: "rust-http-service".into(),
            version: "1.0.0".into(),
            latest: "2.0.0".into(),
            behind,
        })
    };
    assert_eq!(fails(within(1), &behind(2)), "2 versions behind rust-http-service 2.0.0 (on 1.0.0); at most 1 allowed");
    assert_eq!(
        fails(within(0), &behind(1)),
        "1 version behind rust-http-service 2.0.0 (on 1.0.0); update it to the latest"
    );
    assert_eq!(
        passes(within(2), &behind(2)),
        "2 versions behind rust-http-service 2.0.0 (on 1.0.0); at most 2 allowed"
    );
    assert_eq!(
        fails(within(3), &with_drift(Drift::NotFromTemplate)),
        "Names no golden-path template (backstage.io/source-template), so it is on no current one"
    );
    assert_eq!(
        is_unknown(within(0), &with_drift(Drift::UnknownTemplate { template: "old-template".into() })),
        "Template old-template is not in the catalog, so how far behind it is is not known; correct \
         backstage.io/source-template or register the template"
    );
    assert_eq!(
        is_unknown(
            within(0),
            &with_drift(Drift::UnknownVersion { template: "t".into(), version: None, latest: "1.2.0".into() })
        ),
        "Names no version of template t (portolan.dev/template-version), so how far behind it is is not known; the \
         latest is 1.2.0"
    );
    assert_eq!(
        is_unknown(
            within(5),
            &with_drift(Drift::UnknownVersion {
                template: "t".into(),
                version: Some("v1".into()),
                latest: "1.2.0".into()
            })
        ),
        "Version `v1` of template t (portolan.dev/template-version) is not a semantic version, so how far behind it \
         is is not known; the latest is 1.2.0"
    );
}

fn with_slos(slos: Option<Vec<SloFacts>>) -> EntityFacts {
    EntityFacts { slos, ..facts() }
}

/// Every SLO check is unknown when the SLO data could not be read.
#[test]
fn slo_checks_are_unknown_without_slo_data() {
    let f = with_slos(None);
    for c in [Check::HasSlo, Check::SlosMeetTarget, Check::BudgetAbove { fraction: 0.25 }, Check::NoPageAlert] {
        assert_eq!(is_unknown(c, &f), "Its SLO data could not be read, so this is not known");
    }
}

/// Every SLO check fails when the entity has no SLOs: nothing vouches for it.
#[test]
fn slo_checks_fail_without_slos() {
    let f = with_slos(Some(vec![]));
    assert_eq!(
        fails(Check::HasSlo, &f),
        "No SLOs, it has none; add an OpenSLO or Sloth file whose service is `payments`"
    );
    assert_eq!(
        fails(Check::SlosMeetTarget, &f),
        "No SLOs, so none meets a target; add an OpenSLO or Sloth file whose service is `payments`"
    );
    assert_eq!(
        fails(Check::BudgetAbove { fraction: 0.25 }, &f),
        "No SLOs, so none has error budget left; add an OpenSLO or Sloth file whose service is `payments`"
    );
    assert_eq!(
        fails(Check::NoPageAlert, &f),
        "No SLOs, so no page alert vouches for it; add an OpenSLO or Sloth file whose service is `payments`"
    );
}

#[test]
fn has_slo() {
    assert_eq!(passes(Check::HasSlo, &facts()), "Has 2 SLOs: payments-availability and payments-latency");
    let one = with_slos(Some(vec![slo("payments-availability", 0.5)]));
    assert_eq!(passes(Check::HasSlo, &one), "Has an SLO: payments-availability");
    let many: Vec<SloFacts> = (0..7).map(|i| slo(&format!("s{i}"), 0.5)).collect();
    assert_eq!(passes(Check::HasSlo, &with_slos(Some(many))), "Has 7 SLOs: s0, s1, s2, s3, s4 and 2 more");
    // An SLO without data is still an SLO.
    let no_data = SloFacts { meets_target: None, budget_remaining: None, ..slo("fresh", 0.0) };
    passes(Check::HasSlo, &with_slos(Some(vec![no_data])));
}

#[test]
fn slos_meet_target() {
    assert_eq!(passes(Check::SlosMeetTarget, &facts()), "All 2 SLOs meet their objectives");
    assert_eq!(passes(Check::SlosMeetTarget, &with_slos(Some(vec![slo("a", 0.5)]))), "a meets its objective");
    let missing = |name: &str| SloFacts { meets_target: None, budget_remaining: None, ..slo(name, 0.0) };
    let failing = |name: &str| SloFacts { meets_target: Some(false), ..slo(name, -0.2) };
    assert_eq!(
        fails(Check::SlosMeetTarget, &with_slos(Some(vec![slo("a", 0.5), failing("b"), missing("c")]))),
        "b does not meet its objective"
    );
    assert_eq!(
        fails(Check::SlosMeetTarget, &with_slos(Some(vec![failing("a"), failing("b")]))),
        "a and b do not meet their objectives"
    );
    assert_eq!(
        is_unknown(Check::SlosMeetTarget, &with_slos(Some(vec![slo("a", 0.5), missing("c")]))),
        "No data yet for c, so whether it meets its objective is not known"
    );
}

#[test]
fn budget_above() {
    let quarter = || Check::BudgetAbove { fraction: 0.25 };
    assert_eq!(
        passes(quarter(), &facts()),
        "Every SLO has more than 25 % of its error budget left (the lowest: payments-latency, 40 %)"
    );
    assert_eq!(
        passes(quarter(), &with_slos(Some(vec![slo("a", 0.5)]))),
        "a has 50 % of its error budget left, above 25 %"
    );
    assert_eq!(
        fails(quarter(), &with_slos(Some(vec![slo("payments-availability", 0.123), slo("b", 0.9)]))),
        "payments-availability has 12.3 % of its error budget left, under the 25 % this rule asks"
    );
    assert_eq!(
        fails(quarter(), &with_slos(Some(vec![slo("a", 0.25), slo("b", -0.4)]))),
        "a has 25 % of its error budget left, not above the 25 % this rule asks; b has -40 % of its error budget left \
         (overspent), under the 25 % this rule asks"
    );
    let no_data = SloFacts { budget_remaining: None, ..slo("fresh", 0.0) };
    assert_eq!(
        is_unknown(quarter(), &with_slos(Some(vec![slo("a", 0.5), no_data.clone()]))),
        "No data yet for fresh, so its error budget left is not known"
    );
    // A failure outweighs missing data.
    fails(quarter(), &with_slos(Some(vec![slo("a", 0.1), no_data])));
    // Zero asks that the budget is not spent.
    passes(Check::BudgetAbove { fraction: 0.0 }, &with_slos(Some(vec![slo("a", 0.01)])));
    fails(Check::BudgetAbove { fraction: 0.0 }, &with_slos(Some(vec![slo("a", 0.0)])));
}

#[test]
fn no_page_alert() {
    assert_eq!(passes(Check::NoPageAlert, &facts()), "No page alert firing on its 2 SLOs");
    assert_eq!(passes(Check::NoPageAlert, &with_slos(Some(vec![slo("a", 0.5)]))), "No page alert firing on its SLO");
    let firing = |name: &str| SloFacts { page_alert_firing: true, ..slo(name, -0.1) };
    assert_eq!(
        fails(Check::NoPageAlert, &with_slos(Some(vec![slo("a", 0.5), firing("b")]))),
        "A page alert is firing on b: its error budget is burning fast"
    );
    assert_eq!(
        fails(Check::NoPageAlert, &with_slos(Some(vec![firing("a"), firing("b")]))),
        "Page alerts are firing on a and b: their error budgets are burning fast"
    );
    // An SLO without data fires no alert.
    let no_data = SloFacts { meets_target: None, budget_remaining: None, ..slo("fresh", 0.0) };
    passes(Check::NoPageAlert, &with_slos(Some(vec![no_data])));
}

fn with_dependencies(dependencies: Vec<DependencyFacts>) -> EntityFacts {
    EntityFacts { dependencies, ..facts() }
}

#[test]
fn dependencies_not_deprecated() {
    assert_eq!(passes(Check::DependenciesNotDeprecated, &facts()), "Its dependency is not deprecated");
    assert_eq!(passes(Check::DependenciesNotDeprecated, &with_dependencies(vec![])), "Depends on nothing");
    let system = dependency("resource:default/db", None, true);
    assert_eq!(
        passes(Check::DependenciesNotDeprecated, &with_dependencies(vec![system, dependency("a", Some("x"), true)])),
        "None of its 2 dependencies is deprecated"
    );
    let old = dependency("component:default/legacy-auth", Some("Deprecated"), true);
    let ghost = dependency("component:default/ghost", None, false);
    assert_eq!(
        fails(Check::DependenciesNotDeprecated, &with_dependencies(vec![old, ghost.clone()])),
        "Depends on deprecated component:default/legacy-auth; move to the replacement and drop it from spec.dependsOn"
    );
    assert_eq!(
        is_unknown(
            Check::DependenciesNotDeprecated,
            &with_dependencies(vec![dependency("component:default/ledger", Some("production"), true), ghost])
        ),
        "component:default/ghost is not in the catalog, so whether it is deprecated is not known; correct \
         spec.dependsOn or add it to the catalog"
    );
}

// ---------------------------------------------------------------------------------------------------------------
// all / any.

fn pass_c() -> Condition {
    Condition::Check(Check::HasDescription)
}

fn fail_c() -> Condition {
    Condition::Check(Check::HasTag { tag: "gdpr".into() })
}

fn unknown_c() -> Condition {
    Condition::Check(Check::DependenciesNotDeprecated)
}

/// Facts for which [`pass_c`], [`fail_c`] and [`unknown_c`] do what they say.
fn combo_facts() -> EntityFacts {
    with_dependencies(vec![dependency("component:default/ghost", None, false)])
}

fn outcome(condition: Condition) -> Outcome {
    evaluate_condition(&condition, &combo_facts()).0
}

#[test]
fn all_fails_on_a_failure_then_is_unknown_on_an_unknown() {
    assert_eq!(outcome(Condition::All(vec![pass_c(), pass_c()])), Outcome::Pass);
    assert_eq!(outcome(Condition::All(vec![pass_c(), fail_c()])), Outcome::Fail);
    assert_eq!(outcome(Condition::All(vec![unknown_c(), fail_c()])), Outcome::Fail);
    assert_eq!(outcome(Condition::All(vec![pass_c(), unknown_c()])), Outcome::Unknown);
    let (_, reason) = evaluate_condition(&Condition::All(vec![pass_c(), fail_c(), unknown_c()]), &combo_facts());
    assert_eq!(reason, "Not tagged gdpr; add it to metadata.tags in catalog-info.yaml");
    let (_, reason) = evaluate_condition(&Condition::All(vec![pass_c(), pass_c()]), &combo_facts());
    assert_eq!(reason, "Has a description; Has a description");
}

#[test]
fn any_passes_on_a_pass_then_is_unknown_on_an_unknown() {
    assert_eq!(outcome(Condition::Any(vec![fail_c(), pass_c()])), Outcome::Pass);
    assert_eq!(outcome(Condition::Any(vec![unknown_c(), pass_c()])), Outcome::Pass);
    assert_eq!(outcome(Condition::Any(vec![fail_c(), unknown_c()])), Outcome::Unknown);
    assert_eq!(outcome(Condition::Any(vec![fail_c(), fail_c()])), Outcome::Fail);
    let (_, reason) = evaluate_condition(&Condition::Any(vec![fail_c(), unknown_c()]), &combo_facts());
    assert!(reason.starts_with("component:default/ghost is not in the catalog"), "{reason}");
    let (_, reason) = evaluate_condition(&Condition::Any(vec![fail_c(), pass_c()]), &combo_facts());
    assert_eq!(reason, "Has a description");
}

#[test]
fn nested_combinations() {
    // any(all(pass, unknown), fail) → unknown; all(any(fail, pass), any(unknown, fail)) → unknown.
    assert_eq!(outcome(Condition::Any(vec![Condition::All(vec![pass_c(), unknown_c()]), fail_c()])), Outcome::Unknown);
    assert_eq!(
        outcome(Condition::All(vec![
            Condition::Any(vec![fail_c(), pass_c()]),
            Condition::Any(vec![unknown_c(), fail_c()]),
        ])),
        Outcome::Unknown
    );
    assert_eq!(
        outcome(Condition::Any(vec![Condition::All(vec![pass_c(), fail_c()]), Condition::All(vec![pass_c()])])),
        Outcome::Pass
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Levels.

fn rule(id: &str, level: usize, condition: Condition) -> Rule {
    Rule { id: id.into(), title: id.into(), level, condition, pos: Pos::default() }
}

fn card(levels: &[&str], rules: Vec<Rule>) -> Scorecard {
    Scorecard {
        name: "readiness".into(),
        title: None,
        description: None,
        applies_to: Selector { kinds: vec!["component".into()], ..Selector::default() },
        levels: levels.iter().map(|l| (*l).to_owned()).collect(),
        rules,
        pos: Pos::default(),
    }
}

const LEVELS: [&str; 3] = ["Bronze", "Silver", "Gold"];

fn level_of(rules: Vec<Rule>) -> Option<usize> {
    evaluate(&card(&LEVELS, rules), &combo_facts()).expect("applies").level
}

#[test]
fn every_rule_passing_reaches_the_top() {
    assert_eq!(level_of(vec![rule("a", 0, pass_c()), rule("b", 1, pass_c()), rule("c", 2, pass_c())]), Some(2));
}

#[test]
fn a_failure_at_the_lowest_level_reaches_none() {
    assert_eq!(level_of(vec![rule("a", 0, fail_c()), rule("b", 1, pass_c()), rule("c", 2, pass_c())]), None);
}

#[test]
fn climbing_stops_at_the_first_level_not_reached() {
    // Gold's rules pass, but Silver's do not: Gold is not reached.
    assert_eq!(level_of(vec![rule("a", 0, pass_c()), rule("b", 1, fail_c()), rule("c", 2, pass_c())]), Some(0));
    assert_eq!(level_of(vec![rule("a", 0, pass_c()), rule("b", 1, pass_c()), rule("c", 2, fail_c())]), Some(1));
}

#[test]
fn a_level_without_rules_is_reached_by_whoever_reaches_the_one_below() {
    // No Silver rules: passing Bronze reaches Silver, and Gold decides the rest.
    assert_eq!(level_of(vec![rule("a", 0, pass_c()), rule("c", 2, fail_c())]), Some(1));
    assert_eq!(level_of(vec![rule("a", 0, pass_c()), rule("c", 2, pass_c())]), Some(2));
    // Only Bronze rules: passing them reaches Gold.
    assert_eq!(level_of(vec![rule("a", 0, pass_c())]), Some(2));
    // Failing Bronze stops the climb even though Silver has no rules.
    assert_eq!(level_of(vec![rule("a", 0, fail_c())]), None);
    // No Bronze rules: every entity reaches Bronze.
    assert_eq!(level_of(vec![rule("b", 1, fail_c())]), Some(0));
    // No rules at all: the top.
    assert_eq!(level_of(vec![]), Some(2));
}

#[test]
fn unknown_holds_a_level_back() {
    assert_eq!(level_of(vec![rule("a", 0, pass_c()), rule("b", 1, unknown_c()), rule("c", 2, pass_c())]), Some(0));
    assert_eq!(level_of(vec![rule("a", 0, unknown_c())]), None);
    // Unknown inside any is outweighed by a pass.
    assert_eq!(level_of(vec![rule("a", 0, Condition::Any(vec![unknown_c(), pass_c()]))]), Some(2));
    // Unknown inside all is not.
    assert_eq!(level_of(vec![rule("a", 0, Condition::All(vec![unknown_c(), pass_c()]))]), None);
}

#[test]
fn results_keep_the_rules_order_with_their_reasons() {
    let result = evaluate(
        &card(&LEVELS, vec![rule("docs", 1, pass_c()), rule("gdpr", 0, fail_c()), rule("deps", 2, unknown_c())]),
        &combo_facts(),
    )
    .expect("applies");
    let rules: Vec<(&str, usize, Outcome)> =
        result.rules.iter().map(|r| (r.rule.as_str(), r.level, r.outcome)).collect();
    assert_eq!(rules, [("docs", 1, Outcome::Pass), ("gdpr", 0, Outcome::Fail), ("deps", 2, Outcome::Unknown)]);
    assert_eq!(result.rules[0].reason, "Has a description");
    assert_eq!(result.level, None);
}

#[test]
fn level_reached_from_results() {
    let result = |level, outcome| RuleResult { rule: "r".into(), level, outcome, reason: String::new() };
    assert_eq!(level_reached(0, &[]), None);
    assert_eq!(level_reached(1, &[]), Some(0));
    assert_eq!(level_reached(3, &[result(0, Outcome::Pass), result(1, Outcome::Unknown)]), Some(0));
    // A rule at a level the scorecard does not have is ignored.
    assert_eq!(level_reached(2, &[result(5, Outcome::Fail)]), Some(1));
}

// ---------------------------------------------------------------------------------------------------------------
// Which entities a scorecard applies to.

#[test]
fn an_entity_matching_no_scorecard_has_no_result() {
    let api = EntityFacts { kind: "api".into(), ..facts() };
    assert_eq!(evaluate(&card(&LEVELS, vec![rule("a", 0, pass_c())]), &api), None);
}

#[test]
fn applies_when_every_given_list_holds_the_value() {
    let everything = Selector::default();
    assert!(applies(&everything, &facts()));
    assert!(applies(&everything, &EntityFacts::default()));

    let selector = Selector {
        kinds: vec!["component".into()],
        types: vec!["service".into(), "website".into()],
        lifecycles: vec!["production".into()],
        tags: vec!["pci".into(), "gdpr".into()],
        owners: vec!["group:default/payments-team".into()],
    };
    assert!(applies(&selector, &facts()));
    // Compared without case.
    let shouting = EntityFacts {
        kind: "Component".into(),
        spec_type: Some("Service".into()),
        lifecycle: Some("PRODUCTION".into()),
        tags: vec!["PCI".into()],
        owner_ref: Some("group:default/Payments-Team".into()),
        ..facts()
    };
    assert!(applies(&selector, &shouting));
    assert!(!applies(&selector, &EntityFacts { kind: "api".into(), ..facts() }));
    assert!(!applies(&selector, &EntityFacts { spec_type: None, ..facts() }));
    assert!(!applies(&selector, &EntityFacts { spec_type: Some("library".into()), ..facts() }));
    assert!(!applies(&selector, &EntityFacts { lifecycle: None, ..facts() }));
    assert!(!applies(&selector, &EntityFacts { tags: vec!["java".into()], ..facts() }));
    assert!(!applies(&selector, &EntityFacts { tags: vec![], ..facts() }));
    assert!(!applies(&selector, &EntityFacts { owner_ref: Some("group:default/other".into()), ..facts() }));
    assert!(!applies(&selector, &EntityFacts { owner_ref: None, ..facts() }));
}

#[test]
fn a_scorecard_read_from_yaml_evaluates_end_to_end() {
    let text = "\
apiVersion: portolan.dev/v1
kind: Scorecard
metadata: {name: production-readiness}
spec:
  appliesTo: {kind: [Component], type: [service], owner: [payments-team]}
  levels: [Bronze, Silver, Gold]
  rules:
    - {id: owner-is-team, level: Bronze, check: ownerIsGroup}
    - {id: runbook, level: Silver, check: hasLink, type: runbook}
    - id: healthy
      level: Gold
      all:
        - {check: budgetAbove, fraction: 0.5}
        - {check: templateUpToDate}
";
    let docs = catalog::yaml::parse_documents(text, catalog::yaml::Limits::default()).expect("YAML");
    let (card, problems) = crate::maturity::definition::read_scorecard(&docs[0]);
    assert!(problems.is_empty(), "{problems:#?}");
    let card = card.expect("a scorecard");
    let result = evaluate(&card, &facts()).expect("applies");
    assert_eq!(result.level, Some(1));
    assert_eq!(
        result.rules[2].reason,
        "payments-latency has 40 % of its error budget left, under the 50 % this rule asks"
    );
    let other_team = EntityFacts { owner_ref: Some("group:default/web".into()), ..facts() };
    assert_eq!(evaluate(&card, &other_team), None);
}
