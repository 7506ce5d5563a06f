//! The one-shot commands: ingest, validate, migrate.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use catalog::ingest::{self, Progress, Report};
use indicatif::{ProgressBar, ProgressStyle};
use store::Store;

use crate::settings::Settings;

/// A progress bar on a terminal; nothing otherwise.
struct TerminalProgress {
    bar: ProgressBar,
}

impl TerminalProgress {
    fn new() -> TerminalProgress {
        let bar = ProgressBar::new_spinner();
        if !console_is_terminal() {
            bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        TerminalProgress { bar }
    }
}

fn console_is_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
}

impl Progress for TerminalProgress {
    fn discovering(&self) {
        self.bar.set_message("reading files");
        self.bar.enable_steady_tick(Duration::from_millis(120));
    }

    fn writing(&self, changed_files: usize) {
        self.bar.disable_steady_tick();
        self.bar.set_length(changed_files as u64);
        self.bar.set_position(0);
        if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} changed files {elapsed} {msg}") {
            self.bar.set_style(style);
        }
        self.bar.set_message("");
    }

    fn file_done(&self) {
        self.bar.inc(1);
    }

    fn finished(&self) {
        self.bar.finish_and_clear();
    }
}

fn print_problems(report: &Report) {
    for problem in &report.problems {
        println!("{problem}");
    }
}

pub fn ingest(settings: &Settings, paths: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let store = Store::open(&settings.database_url, &settings.pool_options())?;
    let report = ingest::ingest(&store, paths, &settings.ingest_options(), &TerminalProgress::new())?;
    print_problems(&report);
    println!(
        "{} added, {} updated, {} unchanged, {} removed; {} files ({} unchanged), {} errors, in {:.2}s",
        report.added,
        report.updated,
        report.unchanged,
        report.removed,
        report.files,
        report.files_unchanged,
        report.error_count(),
        report.elapsed.as_secs_f64()
    );
    Ok(if report.error_count() > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

pub fn validate(settings: &Settings, paths: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let report = ingest::validate(paths, &settings.ingest_options())?;
    print_problems(&report);
    println!("{} entities in {} files, {} errors", report.added, report.files, report.error_count());
    Ok(if report.error_count() > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

pub fn migrate(settings: &Settings) -> anyhow::Result<ExitCode> {
    let store = Store::connect(&settings.database_url, &settings.pool_options())?;
    let applied = store.migrate()?;
    if applied.is_empty() {
        println!("no pending migrations");
    }
    for name in applied {
        println!("applied {name}");
    }
    Ok(ExitCode::SUCCESS)
}
