//! Reading scorecards: the format, each error with its line:col, names defined twice across files.

use std::collections::HashSet;

use catalog::yaml::{Limits, Node, parse_documents};

use super::*;

fn docs(text: &str) -> Vec<Node> {
    parse_documents(text, Limits::default()).expect("valid YAML")
}

fn read(text: &str) -> (Option<Scorecard>, Vec<Problem>) {
    let docs = docs(text);
    assert_eq!(docs.len(), 1, "one document");
    read_scorecard(&docs[0])
}

/// Every problem of a one-document text, as `line:col: message`.
fn problems_of(text: &str) -> Vec<String> {
    read(text).1.iter().map(ToString::to_string).collect()
}

/// The errors only.
fn errors_of(text: &str) -> Vec<String> {
    let (card, problems) = read(text);
    let errors: Vec<String> = problems.iter().filter(|p| p.is_error()).map(ToString::to_string).collect();
    assert_eq!(card.is_none(), !errors.is_empty(), "a scorecard is refused exactly when it has errors");
    errors
}

/// The scorecard of a text that must have no errors.
fn card_of(text: &str) -> Scorecard {
    let (card, problems) = read(text);
    assert!(problems.iter().all(|p| !p.is_error()), "{problems:#?}");
    card.expect("a scorecard")
}

/// A complete scorecard. Positions used below: the name's value is at 4:9, `kind:` of appliesTo at 8:5, the levels
/// at 11:11, the rules at 13:7, 16:7 and 21:7; `type: runbook`'s value at 20:13, the fraction's at 25:21, the
/// `any` at 26:11 and `maxBehind`'s value at 29:26.
const FULL: &str = "\
apiVersion: portolan.dev/v1
kind: Scorecard
metadata:
  name: production-readiness
  title: Production readiness
spec:
  appliesTo:
    kind: [Component]
    type: [Service]
    owner: [payments, user:jane, group:ops/sre]
  levels: [Bronze, Silver, Gold]
  rules:
    - id: owner-is-team
      level: Bronze
      check: ownerIsGroup
    - id: runbook
      title: Has a runbook
      level: silver
      check: hasLink
      type: runbook
    - id: healthy
      level: Gold
      all:
        - check: budgetAbove
          fraction: 0.25
        - any:
            - check: hasSlo
            - check: templateUpToDate
              maxBehind: 1
";

fn full_with(from: &str, to: &str) -> String {
    assert!(FULL.contains(from), "{from}");
    FULL.replacen(from, to, 1)
}

#[test]
fn reads_the_full_example() {
    let (card, problems) = read(FULL);
    assert!(problems.is_empty(), "{problems:#?}");
    let card = card.expect("a scorecard");
    assert_eq!(card.name, "production-readiness");
    assert_eq!(card.title.as_deref(), Some("Production readiness"));
    assert_eq!(card.description, None);
    assert_eq!(card.pos, Pos::new(4, 9));
    assert_eq!(card.levels, ["Bronze", "Silver", "Gold"]);
    assert_eq!(
        card.applies_to,
        Selector {
            kinds: vec!["component".into()],
            types: vec!["service".into()],
            owners: vec!["group:default/payments".into(), "user:default/jane".into(), "group:ops/sre".into()],
            ..Selector::default()
        }
    );
    let summary: Vec<(&str, usize, &str, Pos)> =
        card.rules.iter().map(|r| (r.id.as_str(), r.level, r.title.as_str(), r.pos)).collect();
    assert_eq!(
        summary,
        [
            ("owner-is-team", 0, "Owned by a Group of the catalog", Pos::new(13, 7)),
            ("runbook", 1, "Has a runbook", Pos::new(16, 7)),
            (
                "healthy",
                2,
                "All of: every SLO has more than 25 % of its error budget left; (one of: has an SLO; at most 1 version \
                 behind its golden-path template)",
                Pos::new(21, 7)
            ),
        ]
    );
    assert_eq!(card.rules[0].condition, Condition::Check(Check::OwnerIsGroup));
    assert_eq!(card.rules[1].condition, Condition::Check(Check::HasLink { link_type: "runbook".into() }));
    assert_eq!(
        card.rules[2].condition,
        Condition::All(vec![
            Condition::Check(Check::BudgetAbove { fraction: 0.25 }),
            Condition::Any(vec![
                Condition::Check(Check::HasSlo),
                Condition::Check(Check::TemplateWithin { max_behind: 1 }),
            ]),
        ])
    );
}

#[test]
fn every_check_is_read_with_its_parameters() {
    let params = |name: &str| match name {
        "hasLink" => "\n      type: dashboard",
        "hasAnnotation" => "\n      key: backstage.io/techdocs-ref",
        "hasTag" => "\n      tag: PCI",
        "lifecycleIn" => "\n      lifecycles: [Production, experimental, production]",
        "templateUpToDate" => "\n      maxBehind: 2",
        "budgetAbove" => "\n      fraction: 1",
        _ => "",
    };
    let mut rules = String::new();
    for (i, (name, _)) in CHECKS.iter().enumerate() {
        rules.push_str(&format!("    - id: rule-{i}\n      level: Bronze\n      check: {name}{}\n", params(name)));
    }
    let text = format!(
        "apiVersion: portolan.dev/v1\nkind: Scorecard\nmetadata:\n  name: all\nspec:\n  appliesTo: {{kind: \
         component}}\n  levels: [Bronze]\n  rules:\n{rules}"
    );
    let card = card_of(&text);
    let checks: Vec<Check> = card
        .rules
        .iter()
        .map(|rule| match &rule.condition {
            Condition::Check(check) => check.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    let names: Vec<&str> = checks.iter().map(Check::name).collect();
    let known: Vec<&str> = CHECKS.iter().map(|(name, _)| *name).collect();
    assert_eq!(names, known);
    assert_eq!(
        checks,
        [
            Check::OwnerIsGroup,
            Check::HasDescription,
            Check::HasLink { link_type: "dashboard".into() },
            Check::HasAnnotation { key: "backstage.io/techdocs-ref".into() },
            Check::HasTag { tag: "pci".into() },
            Check::LifecycleIn { lifecycles: vec!["production".into(), "experimental".into()] },
            Check::FromGoldenPath,
            Check::TemplateWithin { max_behind: 2 },
            Check::HasSlo,
            Check::SlosMeetTarget,
            Check::BudgetAbove { fraction: 1.0 },
            Check::NoPageAlert,
            Check::DependenciesNotDeprecated,
        ]
    );
    let titles: Vec<&str> = card.rules.iter().map(|r| r.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "Owned by a Group of the catalog",
            "Has a description",
            "Has a link of type dashboard",
            "Has the annotation backstage.io/techdocs-ref",
            "Tagged pci",
            "Lifecycle is production or experimental",
            "Made from a golden-path template",
            "At most 2 versions behind its golden-path template",
            "Has an SLO",
            "Every SLO meets its objective",
            "Every SLO has more than 100 % of its error budget left",
            "No page alert firing on its SLOs",
            "Depends on nothing deprecated",
        ]
    );
}

#[test]
fn template_up_to_date_defaults_to_the_latest() {
    let card = card_of(&full_with("\n              maxBehind: 1", ""));
    let Condition::All(all) = &card.rules[2].condition else { panic!("all") };
    assert_eq!(
        all[1],
        Condition::Any(vec![
            Condition::Check(Check::HasSlo),
            Condition::Check(Check::TemplateWithin { max_behind: 0 })
        ])
    );
    assert!(
        card.rules[2].title.ends_with("on the latest version of its golden-path template)"),
        "{}",
        card.rules[2].title
    );
}

#[test]
fn single_strings_count_as_lists_and_values_are_lower_cased() {
    let card = card_of(&full_with(
        "    type: [Service]\n",
        "    type: Service\n    lifecycle: [Production, EXPERIMENTAL, production]\n    tag: [Java, PCI]\n",
    ));
    assert_eq!(card.applies_to.types, ["service"]);
    assert_eq!(card.applies_to.lifecycles, ["production", "experimental"]);
    assert_eq!(card.applies_to.tags, ["java", "pci"]);
}

#[test]
fn an_unknown_check_is_named_with_the_known_ones() {
    assert_eq!(
        errors_of(&full_with("check: ownerIsGroup", "check: hasOwner")),
        ["15:14: spec.rules[0].check `hasOwner` is not a known check; the checks are ownerIsGroup, hasDescription, \
          hasLink, hasAnnotation, hasTag, lifecycleIn, fromGoldenPath, templateUpToDate, hasSlo, slosMeetTarget, \
          budgetAbove, noPageAlert, dependenciesNotDeprecated"]
    );
    let errors = errors_of(&full_with("check: hasSlo", "check: has_slo"));
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].starts_with(
            "27:22: spec.rules[2].all[1].any[0].check `has_slo` is not a known check (did you mean hasSlo?); the \
             checks are"
        ),
        "{errors:#?}"
    );
}

#[test]
fn missing_parameters() {
    assert_eq!(
        errors_of(&full_with("\n      type: runbook", "")),
        ["16:7: spec.rules[1].type is required: hasLink needs it, such as `type: runbook`"]
    );
    assert_eq!(
        errors_of(&full_with("\n          fraction: 0.25", "")),
        ["24:11: spec.rules[2].all[0].fraction is required: budgetAbove needs the fraction of the error budget that \
          must be left, such as `fraction: 0.25`"]
    );
    assert_eq!(
        errors_of(&full_with("check: ownerIsGroup", "check: lifecycleIn")),
        ["13:7: spec.rules[0].lifecycles is required: lifecycleIn needs the lifecycles it accepts, such as \
          `lifecycles: [production]`"]
    );
    assert_eq!(
        errors_of(&full_with("check: ownerIsGroup", "check: lifecycleIn\n      lifecycles: []")),
        ["16:19: spec.rules[0].lifecycles must name at least one lifecycle"]
    );
    assert_eq!(errors_of(&full_with("type: runbook", "type: \"  \"")), ["20:13: spec.rules[1].type must not be empty"]);
}

#[test]
fn fractions_from_zero_to_one() {
    assert_eq!(
        errors_of(&full_with("fraction: 0.25", "fraction: 1.5")),
        ["25:21: spec.rules[2].all[0].fraction must be from 0 to 1 (0.25 asks for a quarter of the budget), found 1.5"]
    );
    assert_eq!(
        errors_of(&full_with("fraction: 0.25", "fraction: -1")),
        ["25:21: spec.rules[2].all[0].fraction must be from 0 to 1 (0.25 asks for a quarter of the budget), found -1"]
    );
    assert_eq!(
        errors_of(&full_with("fraction: 0.25", "fraction: 25%")),
        ["25:21: spec.rules[2].all[0].fraction must be a number from 0 to 1, found a string; write 25% as 0.25"]
    );
    assert_eq!(
        errors_of(&full_with("fraction: 0.25", "fraction: [0.25]")),
        ["25:21: spec.rules[2].all[0].fraction must be a number from 0 to 1, found a list"]
    );
    assert_eq!(
        errors_of(&full_with("fraction: 0.25", "fraction: .nan")),
        ["25:21: spec.rules[2].all[0].fraction must be from 0 to 1 (0.25 asks for a quarter of the budget), found NaN"]
    );
    for edge in ["0", "1", "0.0", "1.0"] {
        card_of(&full_with("fraction: 0.25", &format!("fraction: {edge}")));
    }
}

#[test]
fn max_behind_is_a_whole_number_not_negative() {
    assert_eq!(
        errors_of(&full_with("maxBehind: 1", "maxBehind: -1")),
        ["29:26: spec.rules[2].all[1].any[1].maxBehind must not be negative, found -1"]
    );
    assert_eq!(
        errors_of(&full_with("maxBehind: 1", "maxBehind: 1.5")),
        ["29:26: spec.rules[2].all[1].any[1].maxBehind must be a whole number of versions, found 1.5"]
    );
    assert_eq!(
        errors_of(&full_with("maxBehind: 1", "maxBehind: two")),
        ["29:26: spec.rules[2].all[1].any[1].maxBehind must be a whole number of versions, found a string"]
    );
}

#[test]
fn rule_levels_must_be_listed() {
    assert_eq!(
        errors_of(&full_with("level: Gold", "level: Platinum")),
        ["22:14: spec.rules[2].level `Platinum` is not one of spec.levels (Bronze, Silver, Gold)"]
    );
    assert_eq!(errors_of(&full_with("      level: Gold\n", "")), ["21:7: spec.rules[2].level is required"]);
}

#[test]
fn rule_ids_are_unique_valid_names() {
    assert_eq!(
        errors_of(&full_with("id: healthy", "id: Runbook")),
        ["21:11: spec.rules[2].id `Runbook` is already the id of the rule at 16:11"]
    );
    assert_eq!(
        errors_of(&full_with("id: healthy", "id: is healthy")),
        ["21:11: spec.rules[2].id: `is healthy` must be letters and digits, optionally separated by single `-`, \
             `_` or `.`, starting and ending with a letter or digit"]
    );
    assert_eq!(errors_of(&full_with("    - id: healthy\n", "    - level: x\n")).len(), 2);
}

#[test]
fn levels_are_unique_and_at_least_one() {
    assert_eq!(
        errors_of(&full_with("[Bronze, Silver, Gold]", "[Bronze, Silver, gold, Gold]")),
        ["11:34: spec.levels[3] `Gold` is listed twice (first at 11:28)"]
    );
    assert_eq!(
        errors_of(&full_with("[Bronze, Silver, Gold]", "[]")),
        ["11:11: spec.levels must name at least one level, lowest first (Bronze, Silver, Gold)"]
    );
    assert_eq!(
        errors_of(&full_with("[Bronze, Silver, Gold]", "Bronze")),
        ["11:11: spec.levels must be a list of level names, found a string"]
    );
    assert_eq!(
        errors_of(&full_with("[Bronze, Silver, Gold]", "[Bronze, 2, '']")),
        ["11:20: spec.levels[1] must be a string, found a number", "11:23: spec.levels[2] must not be empty"]
    );
}

#[test]
fn unknown_fields_are_errors_under_spec() {
    assert_eq!(
        errors_of(&full_with("    kind: [Component]", "    kinds: [Component]")),
        ["8:5: spec.appliesTo.kinds is not a known field (did you mean kind?); appliesTo has kind, type, lifecycle, \
          tag and owner"]
    );
    assert_eq!(
        errors_of(&full_with("    type: [Service]", "    system: [payments]")),
        ["9:5: spec.appliesTo.system is not a known field; appliesTo has kind, type, lifecycle, tag and owner"]
    );
    assert_eq!(
        errors_of(&full_with("      type: runbook", "      typ: runbook")),
        [
            "20:7: spec.rules[1].typ is not a known field (did you mean type?); a rule checking hasLink has id, title, \
             level, check and type",
            "16:7: spec.rules[1].type is required: hasLink needs it, such as `type: runbook`",
        ]
    );
    assert_eq!(
        errors_of(&full_with("      check: ownerIsGroup", "      check: ownerIsGroup\n      type: runbook")),
        ["16:7: spec.rules[0].type is not a known field; a rule checking ownerIsGroup has id, title, level and check"]
    );
    assert_eq!(
        errors_of(&full_with("            - check: hasSlo", "            - check: hasSlo\n              level: Gold")),
        ["28:15: spec.rules[2].all[1].any[0].level is not a known field; a condition checking hasSlo has check"]
    );
    assert_eq!(
        errors_of(&full_with("      all:", "      description: x\n      all:")),
        ["23:7: spec.rules[2].description is not a known field; a rule with all has id, title, level and all"]
    );
    assert_eq!(
        errors_of(&full_with("  levels:", "  level: [x]\n  levels:")),
        ["11:3: spec.level is not a known field (did you mean levels?); spec has appliesTo, levels and rules"]
    );
    assert_eq!(
        errors_of(&full_with("kind: Scorecard\n", "kind: Scorecard\nstatus: {}\n")),
        ["3:1: status is not a known field; a Scorecard has apiVersion, kind, metadata and spec"]
    );
}

#[test]
fn unknown_metadata_fields_are_warnings() {
    let text = full_with("  title: Production readiness\n", "  tilte: Production readiness\n  labels: {a: b}\n");
    let (card, problems) = read(&text);
    assert!(card.is_some());
    let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        problems,
        [
            "5:3: warning: metadata.tilte is not read (did you mean title?); a Scorecard's metadata has name, title \
             and description",
            "6:3: warning: metadata.labels is not read; a Scorecard's metadata has name, title and description",
        ]
    );
}

#[test]
fn a_condition_is_one_of_check_all_or_any() {
    assert_eq!(
        errors_of(&full_with("      check: ownerIsGroup", "      check: ownerIsGroup\n      any: []")),
        ["16:7: spec.rules[0] has both check and any; give one of check, all or any"]
    );
    assert_eq!(
        errors_of(&full_with("      check: ownerIsGroup\n", "")),
        ["13:7: spec.rules[0] needs check, all or any"]
    );
    assert_eq!(
        errors_of(&full_with("      check: ownerIsGroup", "      chek: ownerIsGroup")),
        [
            "15:7: spec.rules[0].chek is not a known field (did you mean check?); a rule has id, title, level, check, \
             all and any",
            "13:7: spec.rules[0] needs check, all or any",
        ]
    );
    assert_eq!(errors_of(&full_with("check: ownerIsGroup", "check:")), ["15:7: spec.rules[0].check must not be empty"]);
    assert_eq!(
        errors_of(&full_with("check: ownerIsGroup", "check: [ownerIsGroup]")),
        ["15:14: spec.rules[0].check must be a string, found a list"]
    );
    assert_eq!(
        errors_of(&full_with(
            "        - any:\n            - check: hasSlo\n            - check: templateUpToDate\n              \
             maxBehind: 1\n",
            "        - any: []\n"
        )),
        ["26:16: spec.rules[2].all[1].any must hold at least one condition"]
    );
    assert_eq!(
        errors_of(&full_with("            - check: hasSlo", "            - hasSlo")),
        ["27:15: spec.rules[2].all[1].any[0] must be a mapping, found a string"]
    );
}

/// A rule nesting `depth` levels of `all`.
fn nested(depth: usize) -> String {
    let mut condition = "check: hasSlo".to_owned();
    for _ in 0..depth {
        condition = format!("all: [{{{condition}}}]");
    }
    format!(
        "apiVersion: portolan.dev/v1\nkind: Scorecard\nmetadata: {{name: deep}}\nspec:\n  appliesTo: {{kind: \
         component}}\n  levels: [One]\n  rules:\n    - {{id: deep, level: One, {condition}}}\n"
    )
}

#[test]
fn all_and_any_nest_at_most_eight_deep() {
    let card = card_of(&nested(MAX_NESTING));
    let mut condition = &card.rules[0].condition;
    let mut depth = 0;
    while let Condition::All(inner) = condition {
        depth += 1;
        condition = &inner[0];
    }
    assert_eq!((depth, condition), (MAX_NESTING, &Condition::Check(Check::HasSlo)));
    let errors = errors_of(&nested(MAX_NESTING + 1));
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].ends_with("all: all and any nest at most 8 deep"), "{errors:#?}");
    assert!(
        errors[0].contains("spec.rules[0].all[0].all[0].all[0].all[0].all[0].all[0].all[0].all[0].all"),
        "{errors:#?}"
    );
}

#[test]
fn api_version_kind_and_shape() {
    assert_eq!(
        errors_of(&full_with("portolan.dev/v1", "portolan.dev/v2")),
        ["1:13: apiVersion must be portolan.dev/v1 for a Scorecard, not `portolan.dev/v2`"]
    );
    assert_eq!(
        errors_of(&full_with("kind: Scorecard", "kind: ScoreCards")),
        ["2:7: kind must be Scorecard, not `ScoreCards`"]
    );
    assert_eq!(errors_of("[a, b]"), ["1:1: a Scorecard must be a mapping, found a list"]);
    assert_eq!(
        errors_of("apiVersion: portolan.dev/v1\nkind: Scorecard\n"),
        ["1:1: metadata is required", "1:1: spec is required"]
    );
    assert_eq!(
        errors_of(
            "apiVersion: portolan.dev/v1\nkind: Scorecard\nmetadata: {name: x}\nspec:\n  appliesTo: {kind: api}\n"
        ),
        ["5:3: spec.levels is required", "5:3: spec.rules is required"]
    );
    let head = FULL.split("    - id: owner-is-team").next().expect("the head");
    assert_eq!(
        errors_of(&head.replace("  rules:\n", "  rules: []\n")),
        ["12:10: spec.rules must hold at least one rule"]
    );
}

#[test]
fn metadata_name() {
    assert_eq!(errors_of(&full_with("  name: production-readiness\n", "")), ["4:3: metadata.name is required"]);
    assert_eq!(
        errors_of(&full_with("name: production-readiness", "name: production readiness")),
        ["4:9: metadata.name: `production readiness` must be letters and digits, optionally separated by single `-`, \
          `_` or `.`, starting and ending with a letter or digit"]
    );
}

#[test]
fn applies_to_values_are_checked() {
    assert_eq!(
        errors_of(&full_with("owner: [payments, user:jane, group:ops/sre]", "owner: [payments, 'group:Pay Ments']")),
        ["10:23: spec.appliesTo.owner: `group:Pay Ments` has an invalid name: `Pay Ments` must be letters and \
             digits, optionally separated by single `-`, `_` or `.`, starting and ending with a letter or digit"]
    );
    let errors = errors_of(&full_with("type: [Service]", "tag: [java, 'big tag']"));
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].starts_with("9:17: spec.appliesTo.tag: "), "{errors:#?}");
    assert_eq!(
        errors_of(&full_with("kind: [Component]", "kind: [Component, 'Web Site']")),
        ["8:23: spec.appliesTo.kind: `Web Site` must be letters and digits starting with a letter, at most 63 \
          characters"]
    );
    assert_eq!(
        errors_of(&full_with("kind: [Component]", "kind: {a: b}")),
        ["8:11: spec.appliesTo.kind must be a list of strings, found a mapping"]
    );
    assert_eq!(
        errors_of(&full_with("type: [Service]", "type: [7]")),
        ["9:12: spec.appliesTo.type[0] must be a string, found a number"]
    );
}

#[test]
fn check_parameters_are_checked() {
    assert_eq!(
        errors_of(&full_with("check: ownerIsGroup", "check: hasAnnotation\n      key: 'bad key/x'")),
        ["16:12: spec.rules[0].key: the prefix of `bad key/x` must be a DNS subdomain such as `example.com`"]
    );
    let errors = errors_of(&full_with("check: ownerIsGroup", "check: hasTag\n      tag: 'not a tag'"));
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].starts_with("16:12: spec.rules[0].tag: "), "{errors:#?}");
    let card = card_of(&full_with("check: ownerIsGroup", "check: lifecycleIn\n      lifecycles: Production"));
    assert_eq!(card.rules[0].condition, Condition::Check(Check::LifecycleIn { lifecycles: vec!["production".into()] }));
}

#[test]
fn warnings_keep_the_scorecard() {
    let text = full_with(
        "  appliesTo:\n    kind: [Component]\n    type: [Service]\n    owner: [payments, user:jane, group:ops/sre]\n",
        "",
    )
    .replace("[Bronze, Silver, Gold]", "[Iron, Bronze, Silver, Gold, Platinum]");
    let (card, problems) = read(&text);
    assert!(card.is_some());
    let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        problems,
        [
            "7:3: warning: spec.appliesTo is not given: the scorecard applies to every entity, Groups and Users \
             included",
            "7:12: warning: level Iron has no rules: every entity it applies to reaches Iron",
            "7:40: warning: level Platinum has no rules: every entity that reaches Gold reaches Platinum too",
        ]
    );
    assert_eq!(
        problems_of(&full_with("    kind: [Component]\n", "")),
        ["8:5: warning: spec.appliesTo.kind is not given: the scorecard applies to entities of every kind, \
             Groups and Users included"]
    );
}

#[test]
fn describes_conditions() {
    let condition = Condition::Any(vec![
        Condition::Check(Check::HasLink { link_type: "runbook".into() }),
        Condition::All(vec![Condition::Check(Check::HasSlo), Condition::Check(Check::NoPageAlert)]),
    ]);
    assert_eq!(
        describe(&condition),
        "One of: has a link of type runbook; (all of: has an SLO; no page alert firing on its SLOs)"
    );
    assert_eq!(
        describe(&Condition::Check(Check::TemplateWithin { max_behind: 3 })),
        "At most 3 versions behind its golden-path template"
    );
    assert_eq!(percent(0.123), "12.3 %");
    assert_eq!(percent(0.25), "25 %");
    assert_eq!(percent(-0.0), "0 %");
    assert_eq!(percent(-0.4), "-40 %");
}

const SECOND: &str = "\
apiVersion: portolan.dev/v1
kind: Scorecard
metadata:
  name: Production-Readiness
spec:
  appliesTo: {kind: component}
  levels: [One]
  rules:
    - {id: docs, level: One, check: hasDescription}
";

const BROKEN: &str = "\
apiVersion: portolan.dev/v1
kind: Scorecard
metadata:
  name: security
spec:
  appliesTo: {kind: component}
  levels: [One]
  rules:
    - {id: docs, level: Two, check: hasDescription}
";

#[test]
fn the_format_claims_scorecards_only() {
    let format = ScorecardFormat;
    assert_eq!(format.name(), "scorecard");
    assert!(format.claims(&docs(FULL)[0]));
    assert!(format.claims(&docs(&FULL.replace("kind: Scorecard", "kind: scorecard"))[0]));
    assert!(!format.claims(&docs(&FULL.replace("kind: Scorecard", "kind: Component"))[0]));
    assert!(!format.claims(&docs(&FULL.replace("portolan.dev/v1", "backstage.io/v1alpha1"))[0]));
    assert!(!format.claims(&docs("[1]")[0]));
}

#[test]
fn check_reports_each_document_and_names_twice_in_a_file() {
    let text = format!("{FULL}---\n{SECOND}---\n{BROKEN}---\napiVersion: backstage.io/v1alpha1\nkind: Group\n");
    let problems: Vec<String> =
        ScorecardFormat.check(Path::new("cards.yaml"), &docs(&text)).iter().map(ToString::to_string).collect();
    assert_eq!(
        problems,
        [
            "34:9: scorecard `Production-Readiness` is defined twice in this file (first at 4:9); this definition is \
             ignored",
            "49:25: spec.rules[0].level `Two` is not one of spec.levels (One)",
        ]
    );
}

#[test]
fn check_together_reports_names_defined_in_two_files_by_path_order() {
    let files = vec![
        ("b.yaml".to_owned(), docs(SECOND)),
        ("a.yaml".to_owned(), docs(FULL)),
        ("c.yaml".to_owned(), docs(BROKEN)),
    ];
    let problems: Vec<String> =
        ScorecardFormat.check_together(&files, &HashSet::new()).iter().map(ToString::to_string).collect();
    assert_eq!(
        problems,
        ["b.yaml:4:9: scorecard `Production-Readiness` is already defined in a.yaml:4:9; this definition is ignored"]
    );
}

#[test]
fn scorecards_from_documents_skips_errors_and_duplicates() {
    let files = vec![
        ("teams/b.yaml".to_owned(), format!("{SECOND}---\napiVersion: backstage.io/v1alpha1\nkind: Group\n")),
        ("teams/a.yaml".to_owned(), FULL.to_owned()),
        ("teams/c.yaml".to_owned(), BROKEN.to_owned()),
        ("teams/d.yaml".to_owned(), "a: [".to_owned()),
        ("teams/e.yaml".to_owned(), BROKEN.replace("level: Two", "level: One")),
    ];
    let (cards, problems) = scorecards_from_documents(&files);
    let cards: Vec<(&str, &str)> = cards.iter().map(|(card, path)| (card.name.as_str(), path.as_str())).collect();
    assert_eq!(cards, [("production-readiness", "teams/a.yaml")]);
    let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert_eq!(
        problems[0],
        "teams/b.yaml:4:9: scorecard `Production-Readiness` is already defined in teams/a.yaml:4:9; this definition \
         is ignored"
    );
    assert_eq!(problems[1], "teams/c.yaml:9:25: spec.rules[0].level `Two` is not one of spec.levels (One)");
    assert!(problems[2].starts_with("teams/d.yaml:"), "{problems:#?}");
    // The first definition of `security` has errors: the name stays with it, and the later one is refused.
    assert_eq!(
        problems[3],
        "teams/e.yaml:4:9: scorecard `security` is already defined in teams/c.yaml:4:9; this definition is ignored"
    );
}
