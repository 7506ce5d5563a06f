//! Whole templates from folders: Backstage's two sample templates (`shared/fixtures/scaffolder-templates`) validated
//! and dry-run (from a bundle read from the folder, and from that bundle packed and unpacked), and every kind of bad
//! input refused with a message that names where it is.

use std::fs;
use std::path::{Path, PathBuf};

use catalog::descriptor::{Document, Substituted, Substitutions, read_document};
use catalog::yaml::{Limits as YamlLimits, parse_documents};
use scaffolding::render::{RenderErrorKind, Renderer};
use scaffolding::skeleton::{DryRun, DryRunError, Limits, Outcome, PathError, SkeletonError, StepError, dry_run};
use scaffolding::template::Template;
use scaffolding::validate::{Report, read_template_text, validate_bundle, validate_template, validate_template_with};
use scaffolding::{Bundle, Values};
use serde_json::json;
use tempfile::TempDir;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/scaffolder-templates")
}

/// A copy of a fixture with `portolan.dev/version` added to its metadata, as a Portolan user would add it.
fn versioned_copy(name: &str) -> TempDir {
    let dir = TempDir::new().expect("temp dir");
    let source = fixtures().join(name);
    for entry in walkdir::WalkDir::new(&source) {
        let entry = entry.expect("walk");
        let target = dir.path().join(entry.path().strip_prefix(&source).expect("inside"));
        if entry.file_type().is_dir() {
            fs::create_dir_all(&target).expect("mkdir");
        } else {
            fs::copy(entry.path(), &target).expect("copy");
            let mut permissions = fs::metadata(&target).expect("metadata").permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            permissions.set_readonly(false);
            fs::set_permissions(&target, permissions).expect("writable");
        }
    }
    let file = dir.path().join("template.yaml");
    let text = fs::read_to_string(&file).expect("template.yaml");
    let versioned = text.replacen("metadata:\n", "metadata:\n  annotations:\n    portolan.dev/version: 1.0.0\n", 1);
    assert_ne!(text, versioned);
    fs::write(&file, versioned).expect("write");
    dir
}

fn messages(report: &Report) -> Vec<String> {
    report.problems.iter().map(ToString::to_string).collect()
}

fn values(json: serde_json::Value) -> Values {
    json.as_object().cloned().expect("an object")
}

/// The template folder as a bundle.
fn bundle(dir: &Path) -> Bundle {
    Bundle::read(dir, &Limits::default()).expect("a readable template folder")
}

fn dry(report: &Report, dir: &Path, parameters: &Values) -> Result<DryRun, DryRunError> {
    let template = report.template.as_ref().expect("a valid template");
    dry_run(template, &bundle(dir), parameters, &Renderer::default(), &Limits::default())
}

struct NoSubstitutions;

impl Substitutions for NoSubstitutions {
    fn resolve(&mut self, directive: &str, _: &str) -> Result<Substituted, String> {
        Err(format!("{directive} is not expected in a generated file"))
    }
}

/// The generated catalog-info.yaml must be a valid catalog entity.
fn assert_valid_component(text: &str) -> catalog::descriptor::Entity {
    let docs = parse_documents(text, YamlLimits::default()).expect("generated YAML parses");
    let mut problems = Vec::new();
    match read_document(&docs[0], &mut NoSubstitutions, &mut problems) {
        Document::Entity(entity) if problems.is_empty() => *entity,
        other => panic!("not a valid entity: {other:?} {problems:?}\n{text}"),
    }
}

#[test]
fn the_fixtures_as_published_validate_and_name_the_step_not_run() {
    for (name, owner_warning) in [("docs-template", false), ("react-ssr-template", true)] {
        let report = validate_template(&fixtures().join(name));
        assert!(report.is_valid(), "{name}: {:#?}", messages(&report));
        // Without a version annotation they read as 0.0.0, with a warning saying so.
        assert!(
            report
                .to_string()
                .contains("template.yaml:4:3: warning: metadata.annotations.portolan.dev/version is missing"),
            "{report}"
        );
        // The one step Portolan does not run is named, with why.
        assert_eq!(report.unsupported.len(), 1, "{name}");
        assert_eq!(report.unsupported[0].label, "`publish` (Publish)");
        assert_eq!(report.unsupported[0].action, "publish:github");
        assert!(report.unsupported[0].reason.starts_with("it publishes to a hosted git service"));
        let warnings = messages(&report).into_iter().filter(|m| m.contains("warning:")).count();
        assert_eq!(warnings, if owner_warning { 3 } else { 2 }, "{name}: {:#?}", messages(&report));
    }
}

#[test]
fn docs_template_validates_and_dry_runs() {
    let dir = versioned_copy("docs-template");
    let report = validate_template(dir.path());
    assert!(report.is_valid(), "{report}");
    assert!(!report.is_runnable());
    assert_eq!(messages(&report).len(), 1, "only the publish:github warning: {report}");
    let template = report.template.as_ref().expect("valid");
    assert_eq!(template.version.to_string(), "1.0.0");
    assert_eq!(template.form.pages.len(), 2);

    let parameters = template
        .form
        .validate_form([
            ("name", "payments-docs"),
            ("description", "How payments work: \"the\" guide"),
            ("owner", "group:payments"),
            ("repoUrl", "github.com?owner=acme&repo=payments-docs"),
        ])
        .expect("valid values");
    let run = dry(&report, dir.path(), &parameters).expect("dry run");
    let paths: Vec<&str> = run.files.paths().map(|p| p.as_str()).collect();
    assert_eq!(paths, ["catalog-info.yaml", "docs/index.md", "mkdocs.yml"]);
    let outcomes: Vec<&Outcome> = run.steps.iter().map(|s| &s.outcome).collect();
    assert_eq!(outcomes[0], &Outcome::Fetched { files: 3 });
    assert!(matches!(outcomes[1], Outcome::NotSupported { .. }));
    assert_eq!(outcomes[2], &Outcome::WouldRun);
    assert_eq!(
        run.steps[0].input["values"]["destination"],
        json!({"host": "github.com", "owner": "acme", "repo": "payments-docs"})
    );
    assert_eq!(run.steps[2].input, json!({"catalogInfoPath": "/catalog-info.yaml"}), "no publish output in a dry run");

    let catalog_info = run.files.text("catalog-info.yaml").expect("text");
    assert!(catalog_info.contains("  name: \"payments-docs\"\n"), "{catalog_info}");
    assert!(catalog_info.contains("github.com/project-slug: acme/payments-docs\n"), "{catalog_info}");
    let entity = assert_valid_component(catalog_info);
    assert_eq!(entity.entity_ref.to_string(), "component:default/payments-docs");
    assert_eq!(entity.metadata_str("description"), Some("How payments work: \"the\" guide"));
    assert_eq!(entity.owner().map(ToString::to_string).as_deref(), Some("group:default/payments"));
    assert!(run.files.text("docs/index.md").expect("text").starts_with("## payments-docs\n\nHow payments work"));
    assert_eq!(
        run.files.text("mkdocs.yml").expect("text"),
        "site_name: \"payments-docs\"\nsite_description: \"How payments work: \\\"the\\\" guide\"\n\nnav:\n  - \
         Introduction: index.md\n\nplugins:\n  - techdocs-core\n"
    );
}

#[test]
fn react_ssr_template_validates_and_dry_runs() {
    let dir = versioned_copy("react-ssr-template");
    let report = validate_template(dir.path());
    assert!(report.is_valid(), "{report}");
    assert_eq!(report.unsupported.len(), 1);
    let template = report.template.as_ref().expect("valid");
    let parameters = template
        .form
        .validate_form([
            ("component_id", "storefront"),
            ("owner", "group:web"),
            ("repoUrl", "github.com?owner=acme&repo=storefront"),
        ])
        .expect("valid values: description is optional");
    let run = dry(&report, dir.path(), &parameters).expect("dry run");
    assert_eq!(run.files.len(), 22, "every skeleton file: {:?}", run.files.paths().collect::<Vec<_>>());
    for (path, bytes) in run.files.iter() {
        let source = fs::read(dir.path().join("skeleton").join(path.as_str())).expect("same path in the skeleton");
        let templated =
            String::from_utf8_lossy(&source).contains("${{") || String::from_utf8_lossy(&source).contains("{%");
        if !templated {
            assert_eq!(bytes, source.as_slice(), "{path} is copied byte for byte");
        }
    }
    let catalog_info = run.files.text("catalog-info.yaml").expect("text");
    assert!(!catalog_info.contains("description"), "the {{% if %}} left it out: {catalog_info}");
    let entity = assert_valid_component(catalog_info);
    assert_eq!(entity.entity_ref.to_string(), "component:default/storefront");
    let package: serde_json::Value = serde_json::from_str(run.files.text("package.json").expect("text")).expect("JSON");
    assert_eq!(package["name"], "storefront");
    assert!(run.files.text("README.md").expect("text").starts_with("# storefront\n"));
    assert_eq!(run.files.text(".eslintignore"), Some("\n"), "a lone newline survives");
    assert_eq!(run.files.text("public/static/fonts.css"), Some(""));
}

#[test]
fn the_fixtures_run_from_a_stored_bundle() {
    let docs: &[(&str, &str)] = &[
        ("name", "payments-docs"),
        ("description", "Payments"),
        ("owner", "group:payments"),
        ("repoUrl", "github.com?owner=acme&repo=payments-docs"),
    ];
    let react: &[(&str, &str)] =
        &[("component_id", "storefront"), ("owner", "group:web"), ("repoUrl", "github.com?owner=acme&repo=storefront")];
    for (name, form_values, files) in [("docs-template", docs, 3), ("react-ssr-template", react, 22)] {
        assert!(Bundle::read(&fixtures().join(name), &Limits::default()).is_ok(), "{name} as published");
        let dir = versioned_copy(name);
        let read = bundle(dir.path());
        let packed = read.pack();
        assert_eq!(packed, bundle(dir.path()).pack(), "{name}: packing is deterministic");
        let stored = Bundle::unpack(&packed, &Limits::default()).expect("unpacks");
        assert_eq!(stored, read);
        assert_eq!(stored.content_hash(), read.content_hash());

        let from_disk = validate_template(dir.path());
        let report = validate_bundle(&stored, Path::new("template.yaml"), &Renderer::default(), &Limits::default());
        assert!(report.is_valid(), "{name}: {report}");
        assert_eq!(messages(&report), messages(&from_disk), "{name}");
        let template = report.template.as_ref().expect("valid");
        let (parsed, _) = read_template_text(&stored.definition);
        assert_eq!(parsed.map(|t| t.entity_ref), Some(template.entity_ref.clone()), "{name}");

        let parameters = template.form.validate_form(form_values.iter().copied()).expect("valid values");
        let run = dry_run(template, &stored, &parameters, &Renderer::default(), &Limits::default()).expect("dry run");
        assert_eq!(run.files.len(), files, "{name}");
        let on_disk = dry(&from_disk, dir.path(), &parameters).expect("dry run");
        assert_eq!(run.files.into_files(), on_disk.files.into_files(), "{name}: the same files either way");
    }
}

#[test]
fn template_text_is_read_without_a_folder() {
    let (template, problems) = read_template_text(&simple(""));
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(template.map(|t| t.version.to_string()).as_deref(), Some("2.0.0"));
    let (template, problems) = read_template_text(
        "kind: Component
",
    );
    assert!(template.is_none());
    assert_eq!(
        problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
        ["1:1: the file holds no Template document"]
    );
}

#[test]
fn the_fixture_forms_check_their_values() {
    let dir = versioned_copy("docs-template");
    let report = validate_template(dir.path());
    let form = &report.template.as_ref().expect("valid").form;
    let errors = form
        .validate_form([("name", "Payments Docs"), ("owner", "user:alice"), ("repoUrl", "gitlab.com?owner=a&repo=b")])
        .expect_err("invalid");
    assert_eq!(errors.field("description"), ["A value is required."]);
    assert!(errors.field("name")[0].starts_with("`Payments Docs` must be letters and digits"), "{errors}");
    assert_eq!(errors.field("owner"), ["Must be one of these kinds: Group."]);
    assert_eq!(errors.field("repoUrl"), ["The host `gitlab.com` is not allowed; choose one of: github.com."]);
}

/// A template folder built for a test: `template.yaml` and skeleton files.
fn template_dir(template: &str, files: &[(&str, &[u8])]) -> TempDir {
    let dir = TempDir::new().expect("temp dir");
    fs::write(dir.path().join("template.yaml"), template).expect("write");
    for (path, contents) in files {
        let target = dir.path().join(path);
        fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
        fs::write(target, contents).expect("write");
    }
    dir
}

const HEAD: &str = "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata:\n  name: svc\n  \
                    annotations:\n    portolan.dev/version: 2.0.0\nspec:\n  type: service\n  owner: platform\n";

/// A template whose one form field `name` is passed to a skeleton as `values.name`.
fn simple(extra_input: &str) -> String {
    format!(
        "{HEAD}  parameters:\n    properties:\n      name: {{type: string}}\n      flag: {{type: boolean, default: false}}\n  \
         steps:\n    - id: fetch\n      action: fetch:template\n      input:\n        url: ./skeleton\n{extra_input}        \
         values:\n          name: ${{{{ parameters.name }}}}\n          flag: ${{{{ parameters.flag }}}}\n"
    )
}

fn run_simple(dir: &TempDir, name: &str, limits: &Limits) -> Result<DryRun, DryRunError> {
    let bundle = Bundle::read(dir.path(), limits).expect("a readable template folder");
    let report = validate_bundle(&bundle, Path::new("template.yaml"), &Renderer::default(), limits);
    assert!(report.is_valid(), "{report}");
    let template = report.template.as_ref().expect("valid");
    let parameters = template.form.validate_json(&values(json!({"name": name}))).expect("valid values");
    dry_run(template, &bundle, &parameters, &Renderer::default(), limits)
}

fn skeleton_error(result: Result<DryRun, DryRunError>) -> SkeletonError {
    match result {
        Err(DryRunError { step, error: StepError::Skeleton(e) }) => {
            assert_eq!(step, "`fetch`");
            e
        }
        other => panic!("expected a skeleton error, got {other:?}"),
    }
}

#[test]
fn file_names_cannot_leave_the_target() {
    let dir = template_dir(&simple(""), &[("skeleton/${{ values.name }}", b"x"), ("skeleton/README.md", b"hi")]);
    for (value, rendered, reason) in [
        ("../../etc/passwd", "../../etc/passwd", PathError::ParentSegment),
        ("/etc/passwd", "/etc/passwd", PathError::Absolute),
        ("a/../../b", "a/../../b", PathError::ParentSegment),
        ("..", "..", PathError::ParentSegment),
        ("a\\..\\b", "a\\..\\b", PathError::Backslash),
    ] {
        let error = skeleton_error(run_simple(&dir, value, &Limits::default()));
        assert_eq!(
            error,
            SkeletonError::UnsafePath {
                file: "skeleton/${{ values.name }}".to_owned(),
                rendered: rendered.to_owned(),
                reason
            }
        );
        assert!(
            error
                .to_string()
                .starts_with(&format!("`skeleton/${{{{ values.name }}}}` renders to the path `{rendered}`, which"))
        );
    }
    let run = run_simple(&dir, "src/main.rs", &Limits::default()).expect("a value may add folders");
    assert_eq!(run.files.text("src/main.rs"), Some("x"));
}

#[test]
fn target_path_cannot_leave_the_workspace() {
    let dir = template_dir(&simple("        targetPath: ${{ parameters.name }}\n"), &[("skeleton/a.txt", b"a")]);
    let report = validate_template(dir.path());
    let template = report.template.as_ref().expect("valid");
    let parameters = values(json!({"name": "../../outside"}));
    let bundle = bundle(dir.path());
    let error = dry_run(template, &bundle, &parameters, &Renderer::default(), &Limits::default()).expect_err("refused");
    assert_eq!(
        error.to_string(),
        "step `fetch`: targetPath `../../outside` contains `..`, which leaves the target folder"
    );
    let parameters = values(json!({"name": "app"}));
    let run = dry_run(template, &bundle, &parameters, &Renderer::default(), &Limits::default()).expect("inside");
    assert_eq!(run.files.text("app/a.txt"), Some("a"));
}

#[cfg(unix)]
#[test]
fn symlinks_in_a_template_folder_are_refused() {
    let dir = template_dir(&simple(""), &[("skeleton/README.md", b"hi")]);
    std::os::unix::fs::symlink("/etc/passwd", dir.path().join("skeleton/passwd")).expect("symlink");
    let report = validate_template(dir.path());
    assert!(!report.is_valid());
    let link = "`skeleton/passwd` is a symbolic link; a template holds files and folders only (a link could point \
                outside it)";
    assert_eq!(messages(&report), [format!("1:1: {link}")]);
    assert_eq!(report.to_string(), format!("{}:1:1: {link}\n", dir.path().join("template.yaml").display()));
    let dir = template_dir(&simple(""), &[("elsewhere/README.md", b"hi")]);
    std::os::unix::fs::symlink(dir.path().join("elsewhere"), dir.path().join("skeleton")).expect("symlink");
    let report = validate_template(dir.path());
    let through_link =
        "1:1: `skeleton` is a symbolic link; a template holds files and folders only (a link could point outside it)";
    assert_eq!(messages(&report), [through_link]);
    let outside = TempDir::new().expect("temp dir");
    let dir = template_dir(&simple(""), &[]);
    std::os::unix::fs::symlink(outside.path(), dir.path().join("skeleton")).expect("symlink");
    assert_eq!(messages(&validate_template(dir.path())), [through_link]);
}

#[test]
fn skeleton_folders_must_be_inside_the_template() {
    let dir = template_dir(&simple("").replace("./skeleton", "../"), &[]);
    assert_eq!(
        messages(&validate_template(dir.path())),
        ["18:14: spec.steps[0].input.url: the skeleton folder `../` leaves the template's folder"]
    );
    let dir = template_dir(&simple(""), &[]);
    assert_eq!(
        messages(&validate_template(dir.path())),
        ["18:14: spec.steps[0].input.url: the skeleton folder `./skeleton` does not exist"]
    );
}

#[test]
fn endless_templates_run_out_of_fuel() {
    let dir = template_dir(
        &simple(""),
        &[(
            "skeleton/loop.txt",
            b"start\n{% for a in range(100000) %}{% for b in range(100000) %}${{ a }}{% endfor %}{% endfor %}\n",
        )],
    );
    let started = std::time::Instant::now();
    match run_simple(&dir, "x", &Limits::default()) {
        Err(DryRunError { error: StepError::Skeleton(SkeletonError::Render(e)), .. }) => {
            assert_eq!(e.kind, RenderErrorKind::OutOfFuel);
            assert_eq!((e.name.as_str(), e.line), ("skeleton/loop.txt", Some(2)));
        }
        other => panic!("expected fuel to run out: {other:?}"),
    }
    assert!(started.elapsed().as_secs() < 20, "took {:?}", started.elapsed());
}

#[test]
fn a_run_has_one_fuel_budget_for_all_its_files() {
    let busy = b"{% for i in range(2000) %}${{ i }}{% endfor %}";
    let files: Vec<(String, &[u8])> = (0..5).map(|i| (format!("skeleton/f{i}.txt"), busy.as_slice())).collect();
    let files: Vec<(&str, &[u8])> = files.iter().map(|(p, c)| (p.as_str(), *c)).collect();
    let dir = template_dir(&simple(""), &files);
    let run = run_simple(&dir, "x", &Limits::default()).expect("each file is far under the per-file fuel");
    assert_eq!(run.files.len(), 5);
    let limits = Limits { max_fuel: 20_000, ..Limits::default() };
    match run_simple(&dir, "x", &limits) {
        Err(DryRunError { error: StepError::Skeleton(SkeletonError::Render(e)), .. }) => {
            assert_eq!(e.kind, RenderErrorKind::OutOfFuel, "{e}");
            assert!(e.name.starts_with("skeleton/f"), "{e}");
            assert_ne!(e.name, "skeleton/f0.txt", "{e}");
            assert!(e.message.contains("the whole budget of 20000 units of work for one run"), "{e}");
        }
        other => panic!("expected the run's fuel to run out: {other:?}"),
    }
}

#[test]
fn gigabytes_of_output_are_refused() {
    let kib = "x".repeat(1024);
    let bomb = format!("{{% for a in range(100000) %}}{{% for b in range(100000) %}}{kib}{{% endfor %}}{{% endfor %}}");
    let dir = template_dir(&simple(""), &[("skeleton/bomb.txt", bomb.as_bytes())]);
    match run_simple(&dir, "x", &Limits::default()) {
        Err(DryRunError { error: StepError::Skeleton(SkeletonError::Render(e)), .. }) => {
            assert_eq!(e.kind, RenderErrorKind::OutputTooLarge, "{e}");
            assert_eq!(e.to_string(), "skeleton/bomb.txt: the output is larger than the limit of 10485760 bytes");
        }
        other => panic!("expected the output cap: {other:?}"),
    }
    // The total cap holds across files that each stay under the per-file cap.
    let files: Vec<(String, Vec<u8>)> = (0..5)
        .map(|i| (format!("skeleton/f{i}.txt"), b"{% for i in range(300) %}${{ values.name }}{% endfor %}".to_vec()))
        .collect();
    let files: Vec<(&str, &[u8])> = files.iter().map(|(p, c)| (p.as_str(), c.as_slice())).collect();
    let dir = template_dir(&simple(""), &files);
    let limits = Limits { max_files: 100, max_file_bytes: 1_000, max_total_bytes: 2_000, ..Limits::default() };
    match run_simple(&dir, "abc", &limits) {
        Err(DryRunError { error: StepError::Skeleton(SkeletonError::Render(e)), .. }) => {
            assert_eq!(e.kind, RenderErrorKind::OutputTooLarge, "{e}");
            assert_eq!(e.name, "skeleton/f2.txt", "900 bytes each: the third one does not fit");
        }
        other => panic!("expected the total cap: {other:?}"),
    }
    let limits = Limits { max_files: 2, ..Limits::default() };
    let report = validate_template_with(dir.path(), &Renderer::default(), &limits);
    assert_eq!(messages(&report), ["1:1: more than 2 files: `skeleton/f2.txt` is one too many"]);
}

#[test]
fn skeleton_templates_are_checked_by_validation() {
    let dir = template_dir(
        &simple(""),
        &[
            ("skeleton/README.md", b"# ${{ values.name }}\n{% if values.name %}\n"),
            ("skeleton/${{ values.name | }}/x", b""),
            ("skeleton/include.txt", b"{% include '/etc/passwd' %}"),
        ],
    );
    let report = validate_template(dir.path());
    let messages = messages(&report);
    assert_eq!(messages.len(), 2, "{messages:#?}");
    assert!(
        messages[0]
            .starts_with("18:14: spec.steps[0].input.url: skeleton/${{ values.name | }}/x (its name):1: syntax error"),
        "{messages:#?}"
    );
    assert!(
        messages[1].starts_with("18:14: spec.steps[0].input.url: skeleton/README.md:2: syntax error"),
        "{messages:#?}"
    );
    // Includes parse, and fail when rendered: the sandbox has no files.
    let dir = template_dir(&simple(""), &[("skeleton/include.txt", b"{% include '/etc/passwd' %}")]);
    match run_simple(&dir, "x", &Limits::default()) {
        Err(DryRunError { error: StepError::Skeleton(SkeletonError::Render(e)), .. }) => {
            assert_eq!(e.kind, RenderErrorKind::NoFileAccess, "{e}");
            assert_eq!(e.name, "skeleton/include.txt");
        }
        other => panic!("expected no file access: {other:?}"),
    }
}

#[test]
fn copying_without_rendering_and_conditional_files() {
    let png: &[u8] = &[0x89, b'P', b'N', b'G', 0, b'$', b'{', b'{'];
    let dir = template_dir(
        &simple("        copyWithoutTemplating: ['.github/workflows/*', '**/*.tpl']\n"),
        &[
            ("skeleton/.github/workflows/ci.yml", b"run: ${{ github.ref }}\n"),
            ("skeleton/${{ values.name }}.tpl", b"${{ values.name }}"),
            ("skeleton/{% if values.flag %}optional.txt{% endif %}", b"only with the flag"),
            ("skeleton/logo-${{ values.name }}.png", png),
        ],
    );
    let run = run_simple(&dir, "svc", &Limits::default()).expect("dry run");
    let paths: Vec<&str> = run.files.paths().map(|p| p.as_str()).collect();
    assert_eq!(paths, [".github/workflows/ci.yml", "logo-svc.png", "svc.tpl"]);
    assert_eq!(run.files.text(".github/workflows/ci.yml"), Some("run: ${{ github.ref }}\n"));
    assert_eq!(run.files.text("svc.tpl"), Some("${{ values.name }}"), "name rendered, contents copied");
    assert_eq!(run.files.get("logo-svc.png"), Some(png), "binary files are copied");

    let dir = template_dir(
        &simple("        copyWithoutRender: ['raw-*']\n"),
        &[("skeleton/raw-${{ values.name }}.txt", b"${{ values.name }}")],
    );
    let run = run_simple(&dir, "svc", &Limits::default()).expect("dry run");
    assert_eq!(run.files.text("raw-${{ values.name }}.txt"), Some("${{ values.name }}"), "neither name nor contents");

    let plain = simple("").replace("fetch:template", "fetch:plain").replace(
        "        values:\n          name: ${{ parameters.name }}\n          flag: ${{ parameters.flag }}\n",
        "",
    );
    let dir = template_dir(&plain, &[("skeleton/${{ values.name }}.txt", b"${{ values.name }}")]);
    let run = run_simple(&dir, "svc", &Limits::default()).expect("dry run");
    assert_eq!(run.files.text("${{ values.name }}.txt"), Some("${{ values.name }}"));
}

#[test]
fn two_files_rendering_to_one_path_are_refused() {
    let dir = template_dir(&simple(""), &[("skeleton/${{ values.name }}.txt", b"a"), ("skeleton/svc.txt", b"b")]);
    let error = skeleton_error(run_simple(&dir, "svc", &Limits::default()));
    assert_eq!(error.to_string(), "`skeleton/svc.txt` and `skeleton/${{ values.name }}.txt` both render to `svc.txt`");
}

fn template_errors(text: &str) -> Vec<String> {
    let dir = template_dir(text, &[("skeleton/a.txt", b"a")]);
    let report = validate_template(dir.path());
    assert!(!report.is_valid());
    report.errors().map(ToString::to_string).collect()
}

#[test]
fn unknown_actions_missing_and_invalid_versions() {
    let errors = template_errors(&simple("").replace("fetch:template", "fetch:magic"));
    assert_eq!(
        errors,
        ["16:15: spec.steps[0].action: unknown action `fetch:magic` in step `fetch`; Portolan runs fetch:template, \
          fetch:plain, publish:git, publish:archive, catalog:register, debug:log"]
    );
    let unversioned = template_dir(
        &simple("").replace("    portolan.dev/version: 2.0.0\n", "    other: x\n"),
        &[("skeleton/a.txt", b"a")],
    );
    let report = validate_template(unversioned.path());
    assert!(report.is_valid(), "a missing version is a warning: {report}");
    assert!(report.to_string().contains("6:5: warning: metadata.annotations.portolan.dev/version is missing"));
    for (bad, reason) in [
        ("'2.0'", "unexpected end of input while parsing minor version number"),
        ("latest", "unexpected character 'l'"),
    ] {
        let errors = template_errors(&simple("").replace("2.0.0", bad));
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("6:27: metadata.annotations.portolan.dev/version: `"), "{errors:?}");
        assert!(errors[0].contains("is not a semantic version") && errors[0].contains(reason), "{errors:?}");
    }
}

#[test]
fn bad_patterns_in_the_form_are_positioned() {
    let text = simple("").replace("name: {type: string}", "name: {type: string, pattern: '(unclosed'}");
    assert_eq!(
        template_errors(&text),
        ["12:37: spec.parameters.properties.name.pattern: `(unclosed` is not a valid regular expression"]
    );
}

#[test]
fn form_values_are_validated_per_field() {
    let text = format!(
        "{HEAD}  parameters:\n    - title: Service\n      required: [name, size]\n      properties:\n        \
         name: {{type: string, pattern: '^[a-z]+$', maxLength: 10}}\n        size: {{type: integer, minimum: 1, maximum: 3}}\n        \
         tier: {{type: string, enum: [gold, silver]}}\n  steps:\n    - action: debug:log\n"
    );
    let dir = template_dir(&text, &[]);
    let report = validate_template(dir.path());
    let form: &scaffolding::form::Form = &report.template.as_ref().expect("valid").form;
    let errors = form.validate_form([("tier", "bronze"), ("size", "7")]).expect_err("invalid");
    assert_eq!(errors.field("name"), ["A value is required."]);
    assert_eq!(errors.field("size"), ["Must be at most 3."]);
    assert_eq!(errors.field("tier"), ["Must be one of: gold, silver."]);
    let errors = form.validate_form([("name", "Nope"), ("size", "0")]).expect_err("invalid");
    assert_eq!(errors.field("name"), ["Must match the pattern `^[a-z]+$`."]);
    assert_eq!(errors.field("size"), ["Must be at least 1."]);
    let errors = form.validate_form([("name", "abcdefghijk"), ("size", "two")]).expect_err("invalid");
    assert_eq!(errors.field("name"), ["Must be at most 10 characters long."]);
    assert_eq!(errors.field("size"), ["Must be a whole number."]);
    let values = form.validate_form([("name", "ok"), ("size", "2"), ("tier", "gold")]).expect("valid");
    assert_eq!(serde_json::Value::Object(values), json!({"name": "ok", "size": 2, "tier": "gold"}));
}

#[test]
fn templates_read_from_a_document_directly() {
    let docs = parse_documents(&simple(""), YamlLimits::default()).expect("yaml");
    let (template, problems) = Template::read(&docs[0]);
    assert!(problems.is_empty(), "{problems:?}");
    let template = template.expect("valid");
    assert_eq!(template.entity_ref.to_string(), "template:default/svc");
    assert_eq!(template.owner.as_deref(), Some("platform"));
}
