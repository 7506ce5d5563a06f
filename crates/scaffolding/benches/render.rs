//! Rendering a large skeleton: the dry run of a template whose skeleton holds 500 files, and the bundle operations
//! around it.
//!
//!     cargo bench -p scaffolding --bench render
//!
//! The bench writes a template to a temporary folder: `template.yaml` (fetch:template → publish:git →
//! catalog:register, parameters on two pages, a list and a boolean among them) and a skeleton of `RENDER_BENCH_FILES`
//! files (default 500) of 1–8 KiB each, spread evenly over that range, in nested folders: Rust sources, Markdown,
//! YAML and SQL, with `${{ values.x }}` placeholders and filters, `{% if %}`/`{% elif %}` and `{% for %}` blocks, and
//! templated file and folder names (one folder named by an `{% if %}`). It then measures, in one process:
//!
//! * `Bundle::read` of the folder (the files are in the page cache: it has just written them);
//! * `validate_bundle` (what a refresh does to each new template version: every file of the skeleton parsed);
//! * `skeleton::dry_run` with the form's values, which renders every file's name and contents into a tree (what the
//!   review page and a run's fetch step do);
//! * `Bundle::pack` to the stored `.tar.gz`, and `Bundle::unpack` of it (what a run does to load a version);
//!
//! each `RENDER_BENCH_RUNS` times (default 30) after one untimed warm-up, and prints min, median, p95 and max, the
//! sizes, and the load average before and after.

use std::fmt::Write as _;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use scaffolding::render::Renderer;
use scaffolding::skeleton::{Limits, dry_run};
use scaffolding::validate::validate_bundle;
use scaffolding::{Bundle, Values};
use serde_json::json;

const DEFINITION: &str = r#"apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: large-service
  title: Large service
  description: A service with five hundred files, for the render benchmark
  annotations:
    portolan.dev/version: 1.0.0
spec:
  owner: platform
  type: service
  parameters:
    - title: About it
      required: [name, owner]
      properties:
        name:
          title: Name
          type: string
          pattern: '^[a-z0-9]+(-[a-z0-9]+)*$'
        description:
          title: Description
          type: string
          default: A service made from the large template
        owner:
          title: Owner
          type: string
          ui:field: OwnerPicker
    - title: Features
      properties:
        metrics:
          title: Metrics
          type: boolean
          default: true
        database:
          title: Database
          type: string
          enum: [postgres, sqlite, none]
          default: postgres
        modules:
          title: Modules
          type: array
          items:
            type: string
          default: [billing, orders, invoices, customers, payments, reports]
  steps:
    - id: fetch
      name: Fetch
      action: fetch:template
      input:
        url: ./skeleton
        values:
          name: ${{ parameters.name }}
          description: ${{ parameters.description }}
          owner: ${{ parameters.owner }}
          metrics: ${{ parameters.metrics }}
          database: ${{ parameters.database }}
          modules: ${{ parameters.modules }}
          dependencies:
            - name: actix-web
              version: "4.11"
            - name: serde
              version: "1"
            - name: tokio
              version: "1"
            - name: tracing
              version: "0.1"
            - name: diesel
              version: "2.3"
            - name: thiserror
              version: "2"
            - name: anyhow
              version: "1"
            - name: chrono
              version: "0.4"
    - id: publish
      name: Publish
      action: publish:git
      input:
        repoUrl: portolan?owner=${{ parameters.owner }}&repo=${{ parameters.name }}
    - id: register
      name: Register
      action: catalog:register
      input:
        repoContentsUrl: ${{ steps.publish.output.repoContentsUrl }}
        catalogInfoPath: /catalog-info.yaml
  output:
    links:
      - title: Open in catalog
        entityRef: ${{ steps.register.output.entityRef }}
"#;

const README: &str = "# ${{ values.name }}\n\n${{ values.description }}\n\nOwned by ${{ values.owner }}.\n\n\
                      {% for module in values.modules %}- `${{ module }}`\n{% endfor %}\n";

const DESCRIPTOR: &str = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${{ values.name }}\n  \
                          description: ${{ values.description | dump }}\nspec:\n  type: service\n  lifecycle: \
                          experimental\n  owner: ${{ values.owner }}\n";

#[derive(Clone, Copy)]
enum Language {
    Rust,
    Markdown,
    Yaml,
    Sql,
}

/// The `n`th block of templated text of file `i`: placeholders, filters, conditions and loops, as real skeletons
/// have them, with a few plain lines.
fn chunk(language: Language, i: usize, n: usize) -> String {
    match language {
        Language::Rust => format!(
            "/// Handler {n} of `${{{{ values.name }}}}`, owned by ${{{{ values.owner }}}}.\n\
             pub fn handle_{i}_{n}(request: &Request) -> Response {{\n\
             \x20   let started = std::time::Instant::now();\n\
             {{% if values.metrics %}}    metrics::counter!(\"${{{{ values.name | replace('-', '_') }}}}_handle_{n}_total\")\
             .increment(1);\n{{% endif %}}\
             \x20   let body = request.body().trim().to_owned();\n\
             \x20   if body.is_empty() {{\n\
             \x20       return Response::bad_request(\"empty body\");\n\
             \x20   }}\n\
             \x20   Response::ok(body, started.elapsed())\n\
             }}\n\n\
             {{% for module in values.modules %}}pub mod ${{{{ module }}}}_{n} {{\n\
             \x20   pub const TABLE: &str = \"${{{{ values.name | replace('-', '_') }}}}_${{{{ module }}}}\";\n\
             }}\n{{% endfor %}}\n"
        ),
        Language::Markdown => format!(
            "## ${{{{ values.name }}}}, part {n}\n\n\
             ${{{{ values.description }}}} This part explains how the service handles step {n} of its work, what it\n\
             depends on and whom to ask (${{{{ values.owner }}}}).\n\n\
             | dependency | version |\n|---|---|\n\
             {{% for dep in values.dependencies %}}| ${{{{ dep.name }}}} | ${{{{ dep.version }}}} |\n{{% endfor %}}\n\
             {{% if values.database != 'none' %}}The service keeps its state in ${{{{ values.database | upper }}}}.\
             {{% else %}}The service keeps no state.{{% endif %}}\n\n"
        ),
        Language::Yaml => format!(
            "component_{n}:\n\
             \x20 name: ${{{{ values.name }}}}-{n}\n\
             \x20 owner: ${{{{ values.owner }}}}\n\
             \x20 replicas: {}\n\
             {{% if values.database == 'postgres' %}}  database:\n\
             \x20   url: postgres://db.internal/${{{{ values.name | replace('-', '_') }}}}\n\
             \x20   pool: 10\n\
             {{% elif values.database == 'sqlite' %}}  database:\n\
             \x20   path: /var/lib/${{{{ values.name }}}}/data.db\n\
             {{% endif %}}  labels:\n\
             {{% for module in values.modules %}}    - ${{{{ module }}}}\n{{% endfor %}}",
            1 + (i + n) % 4
        ),
        Language::Sql => format!(
            "CREATE TABLE ${{{{ values.name | replace('-', '_') }}}}_t{i}_{n} (\n\
             \x20   id BIGINT PRIMARY KEY,\n\
             \x20   owner TEXT NOT NULL DEFAULT '${{{{ values.owner }}}}',\n\
             {{% for module in values.modules %}}    ${{{{ module }}}}_count INTEGER NOT NULL DEFAULT 0,\n{{% endfor %}}\
             \x20   created_at TIMESTAMP NOT NULL\n\
             );\n\n"
        ),
    }
}

/// Words for the plain lines, picked by a hash of the file and line so that the text does not repeat (and packs
/// about as well as real text does, not a hundred times smaller).
const WORDS: [&str; 64] = [
    "request", "response", "handler", "service", "client", "server", "config", "value", "error", "result", "retry",
    "timeout", "buffer", "stream", "record", "table", "index", "cache", "token", "owner", "team", "deploy", "build",
    "test", "metric", "trace", "span", "event", "queue", "worker", "task", "job", "state", "store", "read", "write",
    "parse", "render", "check", "limit", "budget", "window", "target", "source", "folder", "file", "path", "name",
    "when", "then", "with", "from", "into", "every", "each", "some", "none", "first", "last", "next", "before",
    "after", "again", "once",
];

/// A line of plain text (no markup) in the language's comment syntax.
fn plain_line(language: Language, i: usize, n: usize) -> String {
    let words: Vec<&str> = (0..12)
        .map(|k| {
            let mut hasher = DefaultHasher::new();
            (i, n, k).hash(&mut hasher);
            WORDS[(hasher.finish() % WORDS.len() as u64) as usize]
        })
        .collect();
    let text = format!("{} ({i}.{n})", words.join(" "));
    match language {
        Language::Rust => format!("// {text}\n"),
        Language::Markdown => format!("{text}.\n"),
        Language::Yaml => format!("# {text}\n"),
        Language::Sql => format!("-- {text}\n"),
    }
}

/// A file of exactly `size` bytes: templated blocks, each followed by plain lines, then plain lines to the size.
fn contents(language: Language, i: usize, size: usize) -> String {
    let mut text = String::with_capacity(size + 256);
    let mut n = 0;
    loop {
        let mut block = chunk(language, i, n);
        for line in 0..4 {
            block.push_str(&plain_line(language, i, n * 4 + line));
        }
        if text.len() + block.len() > size {
            break;
        }
        text.push_str(&block);
        n += 1;
    }
    let mut line = 0;
    while text.len() < size {
        let plain = plain_line(language, i, 1000 + line);
        let room = size - text.len();
        if plain.len() <= room {
            text.push_str(&plain);
        } else {
            // The last line is cut short (and ends with a newline): plain ASCII, so any cut is a valid string.
            text.push_str(&plain[..room - 1]);
            text.push('\n');
        }
        line += 1;
    }
    text
}

/// The skeleton's `i`th file: its path (templated for some) and language. Every path holds `i`, so that no two
/// render to the same file.
fn skeleton_file(i: usize) -> (String, Language) {
    let m = (i / 10) % 8;
    let package = "${{ values.name | replace('-', '_') }}";
    match i % 10 {
        0 | 1 => (format!("src/{package}/mod_{m}/handler_{i}.rs"), Language::Rust),
        2 => (format!("src/mod_{m}/{package}_service_{i}.rs"), Language::Rust),
        3 => (format!("src/mod_{m}/sub_{}/model_{i}.rs", i % 3), Language::Rust),
        4 => (format!("tests/integration_{i}.rs"), Language::Rust),
        5 => (format!("docs/${{{{ values.name }}}}/section_{m}/page_{i}.md"), Language::Markdown),
        6 => (format!("docs/guide/topic_{i}.md"), Language::Markdown),
        7 => (format!("config/{}/service_{i}.yaml", ["dev", "staging", "prod"][i % 3]), Language::Yaml),
        8 => (format!("migrations/{i:04}_{package}_table.sql"), Language::Sql),
        _ => (
            format!("deploy/k8s/{{% if values.metrics %}}monitored{{% else %}}plain{{% endif %}}/resource_{i}.yaml"),
            Language::Yaml,
        ),
    }
}

/// Writes the template folder; returns the skeleton's file count and bytes.
fn write_template(dir: &Path, files: usize) -> std::io::Result<(usize, usize)> {
    std::fs::write(dir.join("template.yaml"), DEFINITION)?;
    let skeleton = dir.join("skeleton");
    let mut total = 0;
    let mut write = |path: &str, text: &str| -> std::io::Result<()> {
        let file = skeleton.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)?;
        }
        total += text.len();
        std::fs::write(file, text)
    };
    write("README.md", README)?;
    write("catalog-info.yaml", DESCRIPTOR)?;
    for i in 2..files {
        let (path, language) = skeleton_file(i);
        // 1 KiB to 8 KiB, spread evenly (577 and 7169 are coprime, so the sizes go round the whole range).
        let size = 1024 + (i * 577) % 7169;
        write(&path, &contents(language, i, size))?;
    }
    Ok((files, total))
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 * p).ceil() as usize).saturating_sub(1);
    sorted.get(index.min(sorted.len().saturating_sub(1))).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// Times `work` `runs` times after one untimed call; returns the sorted times.
fn time<T>(runs: usize, mut work: impl FnMut() -> Result<T, String>) -> Result<Vec<Duration>, String> {
    work()?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let result = work();
        times.push(started.elapsed());
        result?;
    }
    times.sort();
    Ok(times)
}

fn bench(files: usize, runs: usize) -> Result<String, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (files, skeleton_bytes) = write_template(dir.path(), files).map_err(|e| e.to_string())?;
    let limits = Limits::default();
    let renderer = Renderer::default();

    let read = time(runs, || Bundle::read(dir.path(), &limits).map_err(|e| e.to_string()))?;
    let bundle = Bundle::read(dir.path(), &limits).map_err(|e| e.to_string())?;

    let file = dir.path().join("template.yaml");
    let validate = time(runs, || {
        let report = validate_bundle(&bundle, &file, &renderer, &limits);
        if report.is_valid() { Ok(report) } else { Err(format!("the template does not validate:\n{report}")) }
    })?;
    let report = validate_bundle(&bundle, &file, &renderer, &limits);
    let template = report.template.as_ref().ok_or("the template does not validate")?;
    let submitted: Values =
        json!({"name": "orders-api", "owner": "group:default/platform"}).as_object().cloned().unwrap_or_default();
    let parameters = template.form.validate_json(&submitted).map_err(|e| e.to_string())?;

    let render = time(runs, || {
        let run = dry_run(template, &bundle, &parameters, &renderer, &limits).map_err(|e| e.to_string())?;
        if run.files.len() == files { Ok(run) } else { Err(format!("{} files rendered, not {files}", run.files.len())) }
    })?;
    let run = dry_run(template, &bundle, &parameters, &renderer, &limits).map_err(|e| e.to_string())?;
    let rendered_bytes = run.files.total_bytes();
    let sample = run.files.paths().any(|p| p.as_str().starts_with("deploy/k8s/monitored/"))
        && run.files.paths().any(|p| p.as_str().starts_with("src/orders_api/mod_0/"))
        && run.files.text("README.md").is_some_and(|t| t.starts_with("# orders-api\n"));
    if !sample {
        return Err("the rendered tree does not hold the files expected".to_owned());
    }

    let pack = time(runs, || Ok(bundle.pack()))?;
    let packed = bundle.pack();
    let unpack = time(runs, || {
        let unpacked = Bundle::unpack(&packed, &limits).map_err(|e| e.to_string())?;
        if unpacked.files.len() == bundle.files.len() { Ok(unpacked) } else { Err("unpacked differently".to_owned()) }
    })?;
    if Bundle::unpack(&packed, &limits).map_err(|e| e.to_string())? != bundle {
        return Err("the bundle does not unpack to itself".to_owned());
    }

    let mut out = String::new();
    let _ = writeln!(
        out,
        "skeleton: {files} files, {:.1} KiB ({:.1} KiB per file on average); rendered: {} files, {:.1} KiB; packed \
         bundle: {:.1} KiB ({:.1} % of the bundle's bytes)",
        skeleton_bytes as f64 / 1024.0,
        skeleton_bytes as f64 / 1024.0 / files as f64,
        run.files.len(),
        rendered_bytes as f64 / 1024.0,
        packed.len() as f64 / 1024.0,
        100.0 * packed.len() as f64 / (skeleton_bytes + bundle.definition.len()) as f64,
    );
    let _ = writeln!(out, "runs: {runs} of each, after one untimed warm-up\n");
    let _ = writeln!(out, "| operation | min (ms) | median (ms) | p95 (ms) | max (ms) | per file (µs, median) |");
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
    for (name, times) in [
        ("`Bundle::read` (folder → memory)", &read),
        ("`validate_bundle` (every file and name parsed)", &validate),
        ("`skeleton::dry_run` (every name and file rendered)", &render),
        ("`Bundle::pack` (→ .tar.gz)", &pack),
        ("`Bundle::unpack` (.tar.gz → memory)", &unpack),
    ] {
        let median = percentile(times, 0.5);
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} | {} | {:.1} |",
            ms(times.first().copied().unwrap_or_default()),
            ms(median),
            ms(percentile(times, 0.95)),
            ms(times.last().copied().unwrap_or_default()),
            median.as_secs_f64() * 1e6 / files as f64,
        );
    }
    Ok(out)
}

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; no argument is used.
    let files = env_number("RENDER_BENCH_FILES", 500).max(3);
    let runs = env_number("RENDER_BENCH_RUNS", 30).max(1);
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let started_load = load();
    match bench(files, runs) {
        Ok(table) => {
            println!("{cpus} CPUs; load average (1, 5, 15 min): {started_load} at the start, {} at the end", load());
            println!("{table}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
