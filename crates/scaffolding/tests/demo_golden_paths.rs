//! The demo's golden paths (`crates/portolan/demo`): every version of its three templates validates without a single
//! problem, carries the version its folder names, and dry-runs — with the form values of the services made from it
//! (`golden-path-history/services.yaml`), and with the form's defaults for the versions no service uses — into files
//! that parse, with a catalog-info.yaml Portolan can stamp and register, which no value can break.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use catalog::descriptor::Entity;
use catalog::ingest::IngestOptions;
use catalog::yaml::{Limits as YamlLimits, parse_documents};
use scaffolding::form::Picker;
use scaffolding::register::{self, SOURCE_TEMPLATE_ANNOTATION, TEMPLATE_VERSION_ANNOTATION};
use scaffolding::render::Renderer;
use scaffolding::skeleton::{DryRun, FileTree, Limits, Outcome, dry_run};
use scaffolding::template::{Action, Template};
use scaffolding::validate::validate_template;
use scaffolding::{Bundle, Values};
use semver::Version;
use serde_json::{Value as Json, json};

/// Each template, the type of what it makes, and its versions, oldest first: the last one is the latest.
const TEMPLATES: [(&str, &str, &[&str]); 3] = [
    ("rust-http-service", "service", &["1.0.0", "1.1.0", "2.0.0"]),
    ("python-worker", "service", &["1.0.0", "1.1.0"]),
    ("static-site", "website", &["1.0.0", "1.1.0", "1.2.0"]),
];

/// A description that breaks YAML (and TOML, and JSON) when it is pasted in unquoted.
const HOSTILE_DESCRIPTION: &str = "Routes parcels: \"fast\" & 'cheap' # not a comment\n- not a list: {not: a map} [x]\r\n\
                                   \\ a backslash, a tab\tand 100% { braces }";

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../portolan/demo")
}

/// One version of a template, from its folder.
struct Versioned {
    template: &'static str,
    kind: &'static str,
    version: &'static str,
    latest: bool,
    dir: PathBuf,
}

impl Versioned {
    fn label(&self) -> String {
        format!("{}@{}", self.template, self.version)
    }
}

/// Every version: the latest in `catalog/golden-paths/<name>/`, the others in `golden-path-history/<name>/<version>/`.
fn versions() -> Vec<Versioned> {
    let mut all = Vec::new();
    for (template, kind, versions) in TEMPLATES {
        let (latest, older) = versions.split_last().expect("at least one version");
        for version in older {
            let dir = demo().join("golden-path-history").join(template).join(version);
            all.push(Versioned { template, kind, version, latest: false, dir });
        }
        let dir = demo().join("catalog/golden-paths").join(template);
        all.push(Versioned { template, kind, version: latest, latest: true, dir });
    }
    all
}

fn folder_names(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("entry"))
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect()
}

/// Validates one version; it must be flawless.
fn template(version: &Versioned) -> Template {
    let report = validate_template(&version.dir);
    assert!(report.problems.is_empty(), "{}: no errors and no warnings:\n{report}", version.label());
    assert!(report.unsupported.is_empty(), "{}: {:?}", version.label(), report.unsupported);
    assert!(report.is_runnable(), "{}", version.label());
    report.template.expect("a valid template")
}

fn bundle(version: &Versioned) -> Bundle {
    Bundle::read(&version.dir, &Limits::default()).expect("a readable template folder")
}

fn object(json: Json) -> Values {
    match json {
        Json::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn yaml_json(text: &str, what: &str) -> Vec<Json> {
    let docs = parse_documents(text, YamlLimits::default()).unwrap_or_else(|e| panic!("{what} is not YAML: {e:?}"));
    docs.iter().filter(|doc| !doc.is_null()).map(|doc| doc.to_json()).collect()
}

/// One entry of `golden-path-history/services.yaml`.
struct Service {
    service: String,
    template: String,
    version: String,
    parameters: Values,
}

fn services() -> Vec<Service> {
    let text = fs::read_to_string(demo().join("golden-path-history/services.yaml")).expect("services.yaml");
    let docs = yaml_json(&text, "services.yaml");
    let entries = docs[0].as_array().expect("services.yaml is a list").clone();
    entries
        .into_iter()
        .map(|entry| {
            let text = |field: &str| entry[field].as_str().unwrap_or_else(|| panic!("{field} in {entry}")).to_owned();
            Service {
                service: text("service"),
                template: text("template"),
                version: text("version"),
                parameters: object(entry["parameters"].clone()),
            }
        })
        .collect()
}

/// The demo's Components that say they were made from a template: name → (template ref, version).
fn annotated_components() -> BTreeMap<String, (String, String)> {
    let mut found = BTreeMap::new();
    for entry in fs::read_dir(demo().join("catalog/components")).expect("components") {
        let path = entry.expect("entry").path();
        let text = fs::read_to_string(&path).expect("text");
        for doc in yaml_json(&text, &path.display().to_string()) {
            let annotations = &doc["metadata"]["annotations"];
            if let Some(template) = annotations[SOURCE_TEMPLATE_ANNOTATION].as_str() {
                let version = annotations[TEMPLATE_VERSION_ANNOTATION].as_str().expect("a version beside the template");
                let name = doc["metadata"]["name"].as_str().expect("name").to_owned();
                found.insert(name, (template.to_owned(), version.to_owned()));
            }
        }
    }
    found
}

#[test]
fn the_folders_hold_exactly_the_versions() {
    let expected: BTreeSet<String> = TEMPLATES.iter().map(|(name, _, _)| (*name).to_owned()).collect();
    assert_eq!(folder_names(&demo().join("catalog/golden-paths")), expected);
    assert_eq!(folder_names(&demo().join("golden-path-history")), expected);
    for (name, _, versions) in TEMPLATES {
        let (_, older) = versions.split_last().expect("versions");
        let older: BTreeSet<String> = older.iter().map(|v| (*v).to_owned()).collect();
        assert_eq!(folder_names(&demo().join("golden-path-history").join(name)), older, "{name}");
    }
    let all = fs::read_to_string(demo().join("catalog/all.yaml")).expect("all.yaml");
    let targets = &yaml_json(&all, "all.yaml")[0]["spec"]["targets"];
    assert!(targets.as_array().expect("targets").contains(&json!("./golden-paths/*/template.yaml")), "{targets}");
}

#[test]
fn every_version_validates_without_a_problem_and_names_its_version() {
    for version in versions() {
        let label = version.label();
        let template = template(&version);
        assert_eq!(template.name, version.template, "{label}");
        assert_eq!(template.entity_ref.to_string(), format!("template:default/{}", version.template));
        assert_eq!(template.version, Version::parse(version.version).expect("semver"), "{label}: the folder's version");
        assert_eq!(template.annotations.get("portolan.dev/version").map(String::as_str), Some(version.version));
        assert_eq!(template.owner.as_deref(), Some("platform"), "{label}");
        assert_eq!(template.template_type, version.kind, "{label}");
        assert!(!template.tags.is_empty() && template.description.is_some(), "{label}");

        // The form: the four common fields, as the platform team writes them everywhere.
        let form = &template.form;
        let name = form.field("name").expect("name");
        assert!(name.required && name.max_length == Some(63), "{label}");
        let pattern = name.pattern.as_deref().expect("a name pattern");
        assert!(["^[a-z0-9]+(-[a-z0-9]+)*$", "^[a-z][a-z0-9]*(-[a-z0-9]+)*$"].contains(&pattern), "{label}: {pattern}");
        assert!(form.field("description").expect("description").required, "{label}");
        let owner = form.field("owner").expect("owner");
        assert!(owner.required, "{label}");
        assert_eq!(owner.picker, Some(Picker::Owner { allowed_kinds: vec!["Group".to_owned()] }), "{label}");
        assert!(!form.field("system").expect("system").required, "{label}");
        let specific = form.fields().count() - 4;
        assert!((1..=3).contains(&specific), "{label}: {specific} template-specific fields");

        // Fetch the skeleton, publish it to a repository named after the service, register it.
        let actions: Vec<&Action> = template.steps.iter().map(|s| &s.action).collect();
        assert_eq!(actions, [&Action::FetchTemplate, &Action::PublishGit, &Action::CatalogRegister], "{label}");
        let ids: Vec<Option<&str>> = template.steps.iter().map(|s| s.id.as_deref()).collect();
        assert_eq!(ids, [Some("fetch"), Some("publish"), Some("register")], "{label}");
        let (fetch, publish, register) = (&template.steps[0], &template.steps[1], &template.steps[2]);
        assert_eq!(fetch.input_str("url"), Some("./skeleton"), "{label}");
        assert_eq!(
            publish.input_str("repoUrl"),
            Some("portolan?owner=${{ parameters.owner }}&repo=${{ parameters.name }}"),
            "{label}"
        );
        assert_eq!(publish.input_str("defaultBranch"), Some("main"), "{label}");
        assert!(publish.input_str("gitCommitMessage").is_some_and(|m| m.ends_with(version.version)), "{label}");
        assert_eq!(register.input_str("repoContentsUrl"), Some("${{ steps.publish.output.repoContentsUrl }}"));
        assert_eq!(register.input_str("catalogInfoPath"), Some("/catalog-info.yaml"), "{label}");
        let links: Vec<(Option<&str>, Option<&str>, Option<&str>)> = template
            .output
            .links
            .iter()
            .map(|l| (l.title.as_deref(), l.url.as_deref(), l.entity_ref.as_deref()))
            .collect();
        assert_eq!(
            links,
            [
                (Some("Repository"), Some("${{ steps.publish.output.remoteUrl }}"), None),
                (Some("Open in catalog"), None, Some("${{ steps.register.output.entityRef }}")),
            ],
            "{label}"
        );

        // The bundle Portolan stores for the version is the folder as it is.
        let bundle = bundle(&version);
        assert!(bundle.files.keys().all(|path| path.starts_with("skeleton/")), "{label}: {:?}", bundle.files.keys());
        let files = bundle.files.len();
        assert!((5..=15).contains(&files), "{label}: {files} skeleton files");
    }
}

#[test]
fn each_template_moves_forward() {
    let all = versions();
    for (name, _, expected) in TEMPLATES {
        let found: Vec<Version> = all.iter().filter(|v| v.template == name).map(|v| template(v).version).collect();
        let mut sorted = found.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(found, sorted, "{name}: each version newer than the one before: {expected:?}");
        let latest = all.iter().find(|v| v.template == name && v.latest).expect("a latest version");
        assert_eq!(Some(&template(latest).version), found.last(), "{name}");
    }
}

#[test]
fn the_latest_templates_are_catalog_entities() {
    let report = catalog::ingest::validate(&[demo().join("catalog/all.yaml")], &IngestOptions::default())
        .expect("the demo catalog is readable");
    // OpenSLO, Sloth and Scorecard documents belong to the scorecard crate, which this test does not load.
    let is_slo_file = |path: &str| {
        path.ends_with("-slos.yaml")
            || path.ends_with("-sloth.yaml")
            || path.ends_with("slo-sources.yaml")
            || path.contains("/scorecards/")
    };
    let errors: Vec<String> = report
        .problems
        .iter()
        .filter(|p| p.problem.is_error() && !is_slo_file(&p.path))
        .map(ToString::to_string)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // Not even a warning: the glob of all.yaml reaches the three templates, which read as entities as they are.
    let golden: Vec<String> =
        report.problems.iter().map(ToString::to_string).filter(|p| p.contains("golden-paths")).collect();
    assert!(golden.is_empty(), "{golden:#?}");
    for (name, _, _) in TEMPLATES {
        let file = demo().join("catalog/golden-paths").join(name).join("template.yaml");
        let text = fs::read_to_string(&file).expect("template.yaml");
        let entities = register::check("template.yaml", &text).expect("a valid catalog entity");
        let refs: Vec<String> = entities.iter().map(|e| e.entity_ref.to_string()).collect();
        assert_eq!(refs, [format!("template:default/{name}")]);
    }
}

#[test]
fn the_demo_services_match_their_components_and_dry_run_with_their_values() {
    let services = services();
    let annotated = annotated_components();
    let listed: BTreeMap<String, (String, String)> = services
        .iter()
        .map(|s| (s.service.clone(), (format!("template:default/{}", s.template), s.version.clone())))
        .collect();
    assert_eq!(listed.len(), services.len(), "each service once");
    assert_eq!(listed, annotated, "services.yaml and the Components' annotations say the same");
    assert!((8..=10).contains(&services.len()), "{} services", services.len());

    let all = versions();
    let mut behind = BTreeMap::new();
    for service in &services {
        let label = format!("{} ({}@{})", service.service, service.template, service.version);
        let version = all
            .iter()
            .find(|v| v.template == service.template && v.version == service.version)
            .unwrap_or_else(|| panic!("{label}: no such template version"));
        let at = Version::parse(&service.version).expect("semver");
        let newer = all
            .iter()
            .filter(|v| v.template == service.template && Version::parse(v.version).expect("semver") > at)
            .count();
        *behind.entry(newer).or_insert(0) += 1;
        assert_eq!(service.parameters.get("name"), Some(&json!(service.service)), "{label}");
        let template = template(version);
        let parameters = template
            .form
            .validate_json(&service.parameters)
            .unwrap_or_else(|e| panic!("{label}: the values pass the version's form:\n{e}"));
        // The values were written out in full: nothing comes from a default the next version might change.
        assert_eq!(parameters.len(), service.parameters.len(), "{label}: {parameters:?}");
        let run = dry(&template, version, &parameters, &label);
        check_run(version, &parameters, &run, &label);
    }
    assert_eq!(behind.keys().copied().collect::<Vec<_>>(), [0, 1, 2], "on the latest, one and two behind: {behind:?}");
}

#[test]
fn versions_no_service_uses_dry_run_with_the_defaults() {
    let used: BTreeSet<(String, String)> = services().into_iter().map(|s| (s.template, s.version)).collect();
    for version in versions() {
        if used.contains(&(version.template.to_owned(), version.version.to_owned())) {
            continue;
        }
        let label = format!("{} with the defaults", version.label());
        let template = template(&version);
        let mut given = template.form.defaults();
        given.insert("name".into(), json!("demo-thing"));
        given.insert("description".into(), json!("A thing the demo makes from its defaults."));
        given.insert("owner".into(), json!("platform"));
        // A form field that is required and has no default gets the first of its choices, else a plain word.
        fill_required(&template, &mut given, "demo.jobs");
        let parameters = template.form.validate_json(&given).unwrap_or_else(|e| panic!("{label}: {e}"));
        let run = dry(&template, &version, &parameters, &label);
        check_run(&version, &parameters, &run, &label);
    }
}

#[test]
fn no_value_breaks_the_generated_files() {
    for version in versions() {
        let template = template(&version);
        for (system, owner) in [(Some("checkout"), "group:default/checkout-team"), (None, "data")] {
            let label = format!("{} (system {system:?}, owner {owner})", version.label());
            let mut given = template.form.defaults();
            given.insert("name".into(), json!("parcel-router"));
            given.insert("description".into(), json!(HOSTILE_DESCRIPTION));
            given.insert("owner".into(), json!(owner));
            if let Some(system) = system {
                given.insert("system".into(), json!(system));
            }
            fill_required(&template, &mut given, "parcels.route-requests");
            if template.form.field("title").is_some() {
                given.insert("title".into(), json!("Parcels: \"the\" router's site"));
            }
            if template.form.field("siteUrl").is_some() {
                given.insert("siteUrl".into(), json!("https://parcels.northwind.example/docs/"));
            }
            let parameters = template.form.validate_json(&given).unwrap_or_else(|e| panic!("{label}: {e}"));
            let run = dry(&template, &version, &parameters, &label);
            check_run(&version, &parameters, &run, &label);
        }
    }
}

#[test]
fn the_forms_refuse_what_the_names_cannot_be() {
    for version in versions() {
        let template = template(&version);
        let mut given = template.form.defaults();
        given.insert("description".into(), json!("Long enough to pass."));
        given.insert("owner".into(), json!("platform"));
        fill_required(&template, &mut given, "jobs");
        for bad in ["Parcel-Router", "parcel--router", "-parcel", "parcel-", "parcel_router", &"x".repeat(64)] {
            given.insert("name".into(), json!(bad));
            let errors = template.form.validate_json(&given).expect_err(bad);
            assert!(!errors.field("name").is_empty(), "{}: {bad}: {errors}", version.label());
        }
        given.insert("name".into(), json!("parcel-router"));
        given.insert("owner".into(), json!("user:alice"));
        let errors = template.form.validate_json(&given).expect_err("a user");
        assert_eq!(errors.field("owner"), ["Must be one of these kinds: Group."], "{}", version.label());
    }
}

/// Gives each required field that has no value yet the first of its choices, else `word`.
fn fill_required(template: &Template, given: &mut Values, word: &str) {
    let missing: Vec<(String, Json)> = template
        .form
        .fields()
        .filter(|f| f.required && !given.contains_key(&f.name))
        .map(|f| (f.name.clone(), f.choices.first().map_or_else(|| json!(word), |c| c.value.clone())))
        .collect();
    given.extend(missing);
}

fn dry(template: &Template, version: &Versioned, parameters: &Values, label: &str) -> DryRun {
    let run = dry_run(template, &bundle(version), parameters, &Renderer::default(), &Limits::default())
        .unwrap_or_else(|e| panic!("{label}: {e}"));
    let outcomes: Vec<&Outcome> = run.steps.iter().map(|s| &s.outcome).collect();
    assert!(matches!(outcomes[0], Outcome::Fetched { .. }), "{label}: {outcomes:?}");
    assert_eq!(&outcomes[1..], [&Outcome::WouldRun, &Outcome::WouldRun], "{label}");
    let name = parameters["name"].as_str().expect("name");
    let owner = parameters["owner"].as_str().expect("owner");
    assert_eq!(run.steps[1].input["repoUrl"], json!(format!("portolan?owner={owner}&repo={name}")), "{label}");
    assert_eq!(run.steps[1].input["defaultBranch"], "main", "{label}");
    run
}

fn text<'t>(files: &'t FileTree, path: &str, label: &str) -> &'t str {
    files.text(path).unwrap_or_else(|| panic!("{label}: no {path} in {:?}", files.paths().collect::<Vec<_>>()))
}

/// The right-hand side of a `key = value` line of a TOML file, read as JSON (a TOML basic string is a JSON string).
fn toml_value(toml: &str, key: &str, label: &str) -> Json {
    let line = toml
        .lines()
        .find(|line| line.starts_with(&format!("{key} = ")))
        .unwrap_or_else(|| panic!("{label}: no `{key} = ` in\n{toml}"));
    let value = &line[key.len() + 3..];
    serde_json::from_str(value).unwrap_or_else(|e| panic!("{label}: `{line}` is not one valid value: {e}"))
}

/// Everything a generated tree must be, whatever the values.
fn check_run(version: &Versioned, parameters: &Values, run: &DryRun, label: &str) {
    let files = &run.files;
    let name = parameters["name"].as_str().expect("name");
    let description = parameters["description"].as_str().expect("description");
    let summary = description.replace('\r', "").replace('\n', " ");
    let summary = summary.trim();
    assert!((5..=15).contains(&files.len()), "{label}: {} files", files.len());
    let skeleton = version.dir.join("skeleton");

    for (path, bytes) in files.iter() {
        let path = path.as_str();
        let text = std::str::from_utf8(bytes).unwrap_or_else(|_| panic!("{label}: {path} is text"));
        if path.starts_with(".github/workflows/") {
            // Copied as they are: their ${{ }} are GitHub's.
            assert_eq!(bytes, fs::read(skeleton.join(path)).expect("the same path in the skeleton"), "{label}: {path}");
        } else {
            for marker in ["${{", "{%", "%}", "{#"] {
                assert!(!text.contains(marker), "{label}: {path} still holds `{marker}`:\n{text}");
            }
        }
        if path.ends_with(".yaml") || path.ends_with(".yml") {
            yaml_json(text, &format!("{label}: {path}"));
        }
        assert!(text.is_empty() || text.ends_with('\n'), "{label}: {path} ends with a newline");
    }

    // The descriptor: valid, stamped as Portolan will stamp it, with the values exactly as given.
    let catalog_info = text(files, "catalog-info.yaml", label);
    let template_ref = format!("template:default/{}", version.template);
    let stamped = register::stamp("catalog-info.yaml", catalog_info, &template_ref, version.version)
        .unwrap_or_else(|e| panic!("{label}: {e}\n{catalog_info}"));
    assert_eq!(stamped.text, catalog_info, "{label}: the skeleton already carries the template and its version");
    let entities = register::check("catalog-info.yaml", catalog_info).expect("valid");
    let component: &Entity = &entities[0];
    assert_eq!(component.entity_ref.to_string(), format!("component:default/{name}"), "{label}");
    assert_eq!(component.metadata_str("description"), Some(description), "{label}:\n{catalog_info}");
    let owner = parameters["owner"].as_str().expect("owner");
    let owner_ref = catalog::entity::EntityRef::parse(owner, Some(catalog::entity::Kind::Group), "default")
        .expect("an owner reference");
    assert_eq!(component.owner(), Some(&owner_ref), "{label}");
    assert_eq!(component.spec_str("lifecycle"), Some("experimental"), "{label}");
    assert_eq!(component.spec_str("type"), Some(version.kind), "{label}");
    assert_eq!(component.spec_str("system"), parameters.get("system").and_then(Json::as_str), "{label}");
    assert_eq!(component.metadata_str("title"), parameters.get("title").and_then(Json::as_str), "{label}");
    for entity in &entities {
        let annotations = &entity.body["metadata"]["annotations"];
        assert_eq!(annotations[SOURCE_TEMPLATE_ANNOTATION], json!(template_ref), "{label}");
        assert_eq!(annotations[TEMPLATE_VERSION_ANNOTATION], json!(version.version), "{label}");
    }

    match version.template {
        "rust-http-service" => check_rust(files, parameters, name, summary, label),
        "python-worker" => check_python(files, parameters, name, summary, label),
        "static-site" => check_site(files, parameters, name, description, label),
        other => panic!("unknown template {other}"),
    }
    // Only the newest Rust version has SLOs, reached from the descriptor.
    let has_slos = files.get("slos.yaml").is_some();
    let major = Version::parse(version.version).expect("semver").major;
    assert_eq!(has_slos, version.template == "rust-http-service" && major >= 2, "{label}");
    if has_slos {
        check_slos(files, &entities, parameters, name, label);
    }
}

fn check_rust(files: &FileTree, parameters: &Values, name: &str, summary: &str, label: &str) {
    let port = parameters["port"].as_i64().expect("a port");
    let cargo = text(files, "Cargo.toml", label);
    assert_eq!(toml_value(cargo, "name", label), json!(name), "{label}");
    assert_eq!(toml_value(cargo, "description", label), json!(summary), "{label}");
    let main = text(files, "src/main.rs", label);
    assert!(main.contains(&format!("const SERVICE: &str = \"{name}\";")), "{label}");
    assert!(main.contains(&format!("const DEFAULT_PORT: u16 = {port};")), "{label}");
    assert!(main.contains("#[get(\"/healthz\")]"), "{label}");
    let dockerfile = text(files, "Dockerfile", label);
    assert!(dockerfile.contains(&format!("EXPOSE {port}\n")), "{label}");
    assert!(dockerfile.contains(&format!("/release/{name}")), "{label}");
    for path in ["README.md", "docs/index.md", "mkdocs.yml", ".github/workflows/ci.yml"] {
        text(files, path, label);
    }
    let mkdocs = &yaml_json(text(files, "mkdocs.yml", label), "mkdocs.yml")[0];
    assert_eq!(mkdocs["site_name"], json!(name), "{label}");
    assert_eq!(mkdocs["site_description"], parameters["description"], "{label}");
}

fn check_python(files: &FileTree, parameters: &Values, name: &str, summary: &str, label: &str) {
    let package = name.replace('-', "_");
    let pyproject = text(files, "pyproject.toml", label);
    assert_eq!(toml_value(pyproject, "name", label), json!(name), "{label}");
    assert_eq!(toml_value(pyproject, "description", label), json!(summary), "{label}");
    assert!(pyproject.contains(&format!("\n{name} = \"{package}.__main__:main\"\n")), "{label}");
    let worker = text(files, &format!("src/{package}/worker.py"), label);
    let queue = parameters["queue"].as_str().expect("queue");
    assert!(worker.contains(&format!("DEFAULT_QUEUE = \"{queue}\"\n")), "{label}");
    let attempts = parameters["maxAttempts"].as_i64().expect("maxAttempts");
    assert!(worker.contains(&format!("DEFAULT_MAX_ATTEMPTS = {attempts}\n")), "{label}");
    if let Some(dead_letter) = parameters.get("deadLetter") {
        let python = if dead_letter == &json!(true) { "True" } else { "False" };
        assert!(worker.contains(&format!("DEFAULT_DEAD_LETTER = {python}\n")), "{label}");
    }
    for path in ["__init__.py", "__main__.py"] {
        text(files, &format!("src/{package}/{path}"), label);
    }
    assert!(text(files, "tests/test_worker.py", label).contains(&format!("from {package}.worker import")), "{label}");
    let dockerfile = text(files, "Dockerfile", label);
    assert!(dockerfile.contains(&format!("CMD [\"python\", \"-m\", \"{package}\"]")), "{label}");
}

fn check_site(files: &FileTree, parameters: &Values, name: &str, description: &str, label: &str) {
    let mkdocs = &yaml_json(text(files, "mkdocs.yml", label), "mkdocs.yml")[0];
    let title = parameters.get("title").and_then(Json::as_str).unwrap_or(name);
    assert_eq!(mkdocs["site_name"], json!(title), "{label}");
    assert_eq!(mkdocs["site_description"], json!(description), "{label}");
    assert_eq!(mkdocs["theme"]["name"], "material", "{label}");
    assert_eq!(mkdocs.get("site_url"), parameters.get("siteUrl"), "{label}");
    let nav: Vec<&str> = mkdocs["nav"]
        .as_array()
        .expect("nav")
        .iter()
        .filter_map(|entry| entry.as_object()?.values().next()?.as_str())
        .collect();
    for page in nav {
        text(files, &format!("docs/{page}"), label);
    }
    let public = parameters["audience"] == "public";
    if let Some(robots) = files.text("docs/robots.txt") {
        let rule = if public { "Allow: /" } else { "Disallow: /" };
        assert_eq!(robots, format!("User-agent: *\n{rule}\n"), "{label}");
        let nginx = text(files, "nginx.conf", label);
        assert_eq!(nginx.contains("X-Robots-Tag"), !public, "{label}");
    }
    if let Some(codeowners) = files.text(".github/CODEOWNERS") {
        let owner = parameters["owner"].as_str().expect("owner");
        let team = owner.rsplit(['/', ':']).next().expect("a name");
        assert!(codeowners.ends_with(&format!("* @northwind/{team}\n")), "{label}: {codeowners}");
    }
}

fn check_slos(files: &FileTree, entities: &[Entity], parameters: &Values, name: &str, label: &str) {
    let location = entities.iter().find(|e| e.entity_ref.to_string() == format!("location:default/{name}"));
    let targets: Vec<&str> = location.expect("a Location").targets.iter().map(|t| t.target.as_str()).collect();
    assert_eq!(targets, ["./slos.yaml"], "{label}");
    let slos = yaml_json(text(files, "slos.yaml", label), "slos.yaml");
    assert_eq!(slos.len(), 1, "{label}");
    let slo = &slos[0];
    assert_eq!((&slo["apiVersion"], &slo["kind"]), (&json!("openslo/v1"), &json!("SLO")), "{label}");
    assert_eq!(slo["metadata"]["name"], json!(format!("{name}-availability")), "{label}");
    assert_eq!(slo["spec"]["service"], json!(name), "{label}");
    assert_eq!(slo["spec"]["budgetingMethod"], "Occurrences", "{label}");
    assert_eq!(slo["spec"]["timeWindow"][0], json!({"duration": "28d", "isRolling": true}), "{label}");
    assert_eq!(slo["spec"]["objectives"][0]["target"], parameters["availabilityTarget"], "{label}");
    let ratio = &slo["spec"]["indicator"]["spec"]["ratioMetric"];
    assert_eq!(ratio["counter"], true, "{label}");
    let source_type = if parameters["sliSource"] == "prometheus" { "Prometheus" } else { "Push" };
    for side in ["good", "total"] {
        let source = &ratio[side]["metricSource"];
        assert_eq!(source["type"], source_type, "{label}: {side}");
        let query = source["spec"]["query"].as_str();
        assert_eq!(query.is_some(), source_type == "Prometheus", "{label}: {side}");
        if let Some(query) = query {
            assert!(query.contains(&format!("envoy_cluster_name=\"{name}\"")) && query.contains("[{{.window}}]"));
        }
    }
}
