//! One entity against one scorecard: which rules pass and the level reached. Pure functions of a [`Scorecard`] and
//! an entity's [`EntityFacts`].
//!
//! **Levels** are climbed from the lowest: a level is reached when every rule at it passes, and climbing stops at
//! the first level not reached. So an entity reaches level L only when every rule at L and below passes (as in
//! Soundcheck and OpsLevel), and a level no rule uses is reached by whoever reaches the level below it (the lowest
//! level without rules by every entity the scorecard applies to). [`Outcome::Unknown`] is not a pass: a rule whose
//! data is missing holds its level back like a failure, with a reason that says what is missing.
//!
//! **Combinations**: `all` fails when one of its conditions fails, else is unknown when one is unknown, else passes;
//! `any` passes when one passes, else is unknown when one is unknown, else fails.
//!
//! **Missing data** is unknown, never a pass and never a failure: SLO checks when the SLO data could not be read
//! (`slos: None`), an SLO without data for `slosMeetTarget` and `budgetAbove`, `templateUpToDate` when the template
//! or the version is not known, a dependency that is not in the catalog. What the entity says about itself is
//! known: no owner Group, no description, no lifecycle, no template named, and no SLOs at all (`hasSlo`,
//! `slosMeetTarget`, `budgetAbove` and `noPageAlert` fail: nothing vouches for it) are failures.

use catalog::golden_path::{Drift, SOURCE_TEMPLATE_ANNOTATION, TEMPLATE_VERSION_ANNOTATION};

use super::definition::percent;
use super::model::{
    Check, Condition, DependencyFacts, EntityFacts, EntityResult, Outcome, RuleResult, Scorecard, Selector, SloFacts,
};

/// At most this many names are listed in a reason; the rest are counted.
const LISTED: usize = 5;

/// Whether the scorecard with this selector applies to the entity: each list of the selector is empty or holds
/// the entity's value (for tags: one of its tags), compared without case.
pub fn applies(selector: &Selector, facts: &EntityFacts) -> bool {
    let holds = |list: &[String], value: Option<&str>| {
        list.is_empty() || value.is_some_and(|value| list.iter().any(|item| item.eq_ignore_ascii_case(value.trim())))
    };
    holds(&selector.kinds, Some(&facts.kind))
        && holds(&selector.types, facts.spec_type.as_deref())
        && holds(&selector.lifecycles, facts.lifecycle.as_deref())
        && (selector.tags.is_empty() || facts.tags.iter().any(|tag| holds(&selector.tags, Some(tag))))
        && holds(&selector.owners, facts.owner_ref.as_deref())
}

/// The entity's result against the scorecard: every rule's outcome with its reason, and the level reached; `None`
/// when the scorecard does not apply to it.
pub fn evaluate(card: &Scorecard, facts: &EntityFacts) -> Option<EntityResult> {
    if !applies(&card.applies_to, facts) {
        return None;
    }
    let rules: Vec<RuleResult> = card
        .rules
        .iter()
        .map(|rule| {
            let (outcome, reason) = evaluate_condition(&rule.condition, facts);
            RuleResult { rule: rule.id.clone(), level: rule.level, outcome, reason }
        })
        .collect();
    let level = level_reached(card.levels.len(), &rules);
    Some(EntityResult { level, rules })
}

/// The highest level reached out of `levels` levels, given the rules' results: levels are climbed from the lowest,
/// a level is reached when all its rules pass (trivially when it has none), and climbing stops at the first level
/// not reached. `None` when the lowest level is not reached.
pub fn level_reached(levels: usize, rules: &[RuleResult]) -> Option<usize> {
    let mut reached = None;
    for level in 0..levels {
        if !rules.iter().filter(|rule| rule.level == level).all(|rule| rule.outcome == Outcome::Pass) {
            break;
        }
        reached = Some(level);
    }
    reached
}

/// A condition's outcome for the entity, with the reason in words a developer can act on.
pub fn evaluate_condition(condition: &Condition, facts: &EntityFacts) -> (Outcome, String) {
    match condition {
        Condition::Check(check) => evaluate_check(check, facts),
        Condition::All(conditions) => {
            let results: Vec<(Outcome, String)> = conditions.iter().map(|c| evaluate_condition(c, facts)).collect();
            let outcome = if results.iter().any(|(o, _)| *o == Outcome::Fail) {
                Outcome::Fail
            } else if results.iter().any(|(o, _)| *o == Outcome::Unknown) {
                Outcome::Unknown
            } else {
                Outcome::Pass
            };
            (outcome, reasons(&results, outcome))
        }
        Condition::Any(conditions) => {
            let results: Vec<(Outcome, String)> = conditions.iter().map(|c| evaluate_condition(c, facts)).collect();
            if let Some((_, reason)) = results.iter().find(|(o, _)| *o == Outcome::Pass) {
                return (Outcome::Pass, reason.clone());
            }
            let outcome =
                if results.iter().any(|(o, _)| *o == Outcome::Unknown) { Outcome::Unknown } else { Outcome::Fail };
            (outcome, reasons(&results, outcome))
        }
    }
}

/// The reasons of the results with this outcome, joined.
fn reasons(results: &[(Outcome, String)], outcome: Outcome) -> String {
    let picked: Vec<&str> = results.iter().filter(|(o, _)| *o == outcome).map(|(_, r)| r.as_str()).collect();
    if picked.is_empty() { "No conditions to check".to_owned() } else { picked.join("; ") }
}

fn pass(reason: impl Into<String>) -> (Outcome, String) {
    (Outcome::Pass, reason.into())
}

fn fail(reason: impl Into<String>) -> (Outcome, String) {
    (Outcome::Fail, reason.into())
}

fn unknown(reason: impl Into<String>) -> (Outcome, String) {
    (Outcome::Unknown, reason.into())
}

/// One built-in check's outcome and reason.
pub fn evaluate_check(check: &Check, facts: &EntityFacts) -> (Outcome, String) {
    match check {
        Check::OwnerIsGroup => owner_is_group(facts),
        Check::HasDescription => match facts.description.as_deref().map(str::trim) {
            Some(text) if !text.is_empty() => pass("Has a description"),
            _ => fail("metadata.description is missing or blank; add a sentence on what it does to catalog-info.yaml"),
        },
        Check::HasLink { link_type } => {
            if facts.link_types.iter().any(|t| t.trim().eq_ignore_ascii_case(link_type)) {
                pass(format!("Has a link of type {link_type}"))
            } else {
                fail(format!(
                    "No link of type {link_type} in metadata.links; add one (type: {link_type}) to catalog-info.yaml"
                ))
            }
        }
        Check::HasAnnotation { key } => {
            if facts.annotations.iter().any(|k| k == key) {
                pass(format!("Annotation {key} is set"))
            } else {
                fail(format!("Annotation {key} is not set; add it under metadata.annotations in catalog-info.yaml"))
            }
        }
        Check::HasTag { tag } => {
            if facts.tags.iter().any(|t| t.eq_ignore_ascii_case(tag)) {
                pass(format!("Tagged {tag}"))
            } else {
                fail(format!("Not tagged {tag}; add it to metadata.tags in catalog-info.yaml"))
            }
        }
        Check::LifecycleIn { lifecycles } => {
            let wanted = super::definition::or_list(lifecycles);
            match facts.lifecycle.as_deref().map(str::trim) {
                Some(lifecycle) if lifecycles.iter().any(|l| l.eq_ignore_ascii_case(lifecycle)) => {
                    pass(format!("Lifecycle is {lifecycle}"))
                }
                Some(lifecycle) if !lifecycle.is_empty() => {
                    fail(format!("Lifecycle is {lifecycle}, not {wanted}; this rule asks for {wanted}"))
                }
                _ => fail(format!("No spec.lifecycle; this rule asks for {wanted}")),
            }
        }
        Check::FromGoldenPath => from_golden_path(&facts.golden_path),
        Check::TemplateWithin { max_behind } => template_within(&facts.golden_path, *max_behind),
        Check::HasSlo => match &facts.slos {
            None => unknown(SLO_DATA_MISSING),
            Some(slos) if slos.is_empty() => fail(no_slos(facts, "it has none")),
            Some(slos) => {
                let names: Vec<&str> = slos.iter().map(|slo| slo.name.as_str()).collect();
                let count = if slos.len() == 1 { "an SLO".to_owned() } else { format!("{} SLOs", slos.len()) };
                pass(format!("Has {count}: {}", listed(&names)))
            }
        },
        Check::SlosMeetTarget => with_slos(facts, "so none meets a target", slos_meet_target),
        Check::BudgetAbove { fraction } => {
            with_slos(facts, "so none has error budget left", |slos| budget_above(slos, *fraction))
        }
        Check::NoPageAlert => with_slos(facts, "so no page alert vouches for it", no_page_alert),
        Check::DependenciesNotDeprecated => dependencies_not_deprecated(&facts.dependencies),
    }
}

fn owner_is_group(facts: &EntityFacts) -> (Outcome, String) {
    let Some(owner) = facts.owner_ref.as_deref() else {
        return fail("spec.owner does not name a Group; set it to the owning team's Group (group:default/<team>)");
    };
    if facts.owner_is_group {
        return pass(format!("Owned by {owner}"));
    }
    let kind = owner.split_once(':').map_or("", |(kind, _)| kind);
    if kind.eq_ignore_ascii_case("group") {
        fail(format!("Owner {owner} is not a Group in the catalog; add the Group or correct spec.owner"))
    } else if kind.eq_ignore_ascii_case("user") {
        fail(format!("Owner {owner} is a User, not a Group; make the owning team's Group the owner (spec.owner)"))
    } else {
        fail(format!("Owner {owner} is not a Group; make the owning team's Group the owner (spec.owner)"))
    }
}

fn from_golden_path(drift: &Drift) -> (Outcome, String) {
    match drift {
        Drift::NotFromTemplate => fail(format!(
            "Names no golden-path template; a service made from one carries the annotation \
             {SOURCE_TEMPLATE_ANNOTATION}"
        )),
        Drift::UnknownTemplate { template } => fail(format!(
            "Template {template} ({SOURCE_TEMPLATE_ANNOTATION}) is not in the catalog; correct the annotation or \
             register the template"
        )),
        Drift::UnknownVersion { template, .. } | Drift::UpToDate { template, .. } | Drift::Behind { template, .. } => {
            pass(format!("Made from template {template}"))
        }
    }
}

fn template_within(drift: &Drift, max_behind: usize) -> (Outcome, String) {
    match drift {
        Drift::NotFromTemplate => {
            fail(format!("Names no golden-path template ({SOURCE_TEMPLATE_ANNOTATION}), so it is on no current one"))
        }
        Drift::UnknownTemplate { template } => unknown(format!(
            "Template {template} is not in the catalog, so how far behind it is is not known; correct \
             {SOURCE_TEMPLATE_ANNOTATION} or register the template"
        )),
        Drift::UnknownVersion { template, version: None, latest } => unknown(format!(
            "Names no version of template {template} ({TEMPLATE_VERSION_ANNOTATION}), so how far behind it is is \
             not known; the latest is {latest}"
        )),
        Drift::UnknownVersion { template, version: Some(version), latest } => unknown(format!(
            "Version `{version}` of template {template} ({TEMPLATE_VERSION_ANNOTATION}) is not a semantic version, so \
             how far behind it is is not known; the latest is {latest}"
        )),
        Drift::UpToDate { template, version } => pass(format!("On the latest version of {template} ({version})")),
        Drift::Behind { template, version, latest, behind } => {
            let versions = if *behind == 1 { "1 version".to_owned() } else { format!("{behind} versions") };
            let state = format!("{versions} behind {template} {latest} (on {version})");
            if *behind <= max_behind {
                pass(format!("{state}; at most {max_behind} allowed"))
            } else if max_behind == 0 {
                fail(format!("{state}; update it to the latest"))
            } else {
                fail(format!("{state}; at most {max_behind} allowed"))
            }
        }
    }
}

const SLO_DATA_MISSING: &str = "Its SLO data could not be read, so this is not known";

/// The reason of an entity without SLOs, which says how to add one.
fn no_slos(facts: &EntityFacts, consequence: &str) -> String {
    let service = facts.entity_ref.rsplit('/').next().unwrap_or(&facts.entity_ref);
    format!("No SLOs, {consequence}; add an OpenSLO or Sloth file whose service is `{service}`")
}

/// A check on the entity's SLOs: unknown without SLO data, failed without SLOs.
fn with_slos(
    facts: &EntityFacts,
    consequence: &str,
    check: impl FnOnce(&[SloFacts]) -> (Outcome, String),
) -> (Outcome, String) {
    match &facts.slos {
        None => unknown(SLO_DATA_MISSING),
        Some(slos) if slos.is_empty() => fail(no_slos(facts, consequence)),
        Some(slos) => check(slos),
    }
}

fn slos_meet_target(slos: &[SloFacts]) -> (Outcome, String) {
    let missing: Vec<&str> = slos.iter().filter(|s| s.meets_target.is_none()).map(|s| s.name.as_str()).collect();
    let failing: Vec<&str> = slos.iter().filter(|s| s.meets_target == Some(false)).map(|s| s.name.as_str()).collect();
    if let [one] = failing.as_slice() {
        fail(format!("{one} does not meet its objective"))
    } else if !failing.is_empty() {
        fail(format!("{} do not meet their objectives", listed(&failing)))
    } else if !missing.is_empty() {
        unknown(format!("No data yet for {}, so whether it meets its objective is not known", listed(&missing)))
    } else if let [one] = slos {
        pass(format!("{} meets its objective", one.name))
    } else {
        pass(format!("All {} SLOs meet their objectives", slos.len()))
    }
}

fn budget_above(slos: &[SloFacts], fraction: f64) -> (Outcome, String) {
    let asked = percent(fraction);
    let missing: Vec<&str> = slos.iter().filter(|s| s.budget_remaining.is_none()).map(|s| s.name.as_str()).collect();
    let failing: Vec<String> = slos
        .iter()
        .filter_map(|slo| slo.budget_remaining.filter(|left| *left <= fraction).map(|left| (slo, left)))
        .map(|(slo, left)| {
            let overspent = if left < 0.0 { " (overspent)" } else { "" };
            let compared = if left < fraction { "under" } else { "not above" };
            format!(
                "{} has {} of its error budget left{overspent}, {compared} the {asked} this rule asks",
                slo.name,
                percent(left)
            )
        })
        .collect();
    if !failing.is_empty() {
        return fail(failing.join("; "));
    }
    if !missing.is_empty() {
        return unknown(format!("No data yet for {}, so its error budget left is not known", listed(&missing)));
    }
    let lowest =
        slos.iter().filter_map(|slo| slo.budget_remaining.map(|left| (slo, left))).min_by(|a, b| a.1.total_cmp(&b.1));
    match lowest {
        Some((slo, left)) if slos.len() == 1 => {
            pass(format!("{} has {} of its error budget left, above {asked}", slo.name, percent(left)))
        }
        Some((slo, left)) => pass(format!(
            "Every SLO has more than {asked} of its error budget left (the lowest: {}, {})",
            slo.name,
            percent(left)
        )),
        None => unknown("No SLO data, so the error budget left is not known"),
    }
}

fn no_page_alert(slos: &[SloFacts]) -> (Outcome, String) {
    let firing: Vec<&str> = slos.iter().filter(|s| s.page_alert_firing).map(|s| s.name.as_str()).collect();
    match firing.as_slice() {
        [] if slos.len() == 1 => pass("No page alert firing on its SLO"),
        [] => pass(format!("No page alert firing on its {} SLOs", slos.len())),
        [one] => fail(format!("A page alert is firing on {one}: its error budget is burning fast")),
        _ => fail(format!("Page alerts are firing on {}: their error budgets are burning fast", listed(&firing))),
    }
}

fn dependencies_not_deprecated(dependencies: &[DependencyFacts]) -> (Outcome, String) {
    let deprecated: Vec<&str> = dependencies
        .iter()
        .filter(|d| d.in_catalog && d.lifecycle.as_deref().is_some_and(|l| l.trim().eq_ignore_ascii_case("deprecated")))
        .map(|d| d.entity_ref.as_str())
        .collect();
    let missing: Vec<&str> = dependencies.iter().filter(|d| !d.in_catalog).map(|d| d.entity_ref.as_str()).collect();
    if !deprecated.is_empty() {
        fail(format!(
            "Depends on deprecated {}; move to the replacement and drop it from spec.dependsOn",
            listed(&deprecated)
        ))
    } else if !missing.is_empty() {
        let verb = if missing.len() == 1 { "is" } else { "are" };
        unknown(format!(
            "{} {verb} not in the catalog, so whether it is deprecated is not known; correct spec.dependsOn or add \
             it to the catalog",
            listed(&missing)
        ))
    } else if dependencies.is_empty() {
        pass("Depends on nothing")
    } else if dependencies.len() == 1 {
        pass("Its dependency is not deprecated")
    } else {
        pass(format!("None of its {} dependencies is deprecated", dependencies.len()))
    }
}

/// `a`, `a and b`, `a, b and c`; after [`LISTED`] names, `and 3 more`.
fn listed(names: &[&str]) -> String {
    if names.len() <= LISTED {
        return super::definition::and_list(names);
    }
    format!("{} and {} more", names[..LISTED].join(", "), names.len() - LISTED)
}

#[cfg(test)]
mod tests;
