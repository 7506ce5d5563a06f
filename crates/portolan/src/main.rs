use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use portolan::settings::{Overrides, Settings};

/// jemalloc with its background threads rather than glibc's malloc: glibc keeps memory freed by the server's worker
/// threads in per-thread arenas, so RSS under steady load rose by 116–165 MiB in minutes (docs/benchmarks.md, the
/// soaks of 2026-11-24); jemalloc's background threads return freed pages after its decay time, without the user
/// having to know about `MALLOC_ARENA_MAX`. Chosen over mimalloc by measuring both (same section).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Portolan, the internal developer portal: service catalog, golden paths and reliability scorecards.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Configuration file (default: portolan.toml when present).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://… (default sqlite://portolan.db).
    #[arg(long, global = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the portal.
    Serve {
        /// Address to listen on (default 127.0.0.1:7878).
        #[arg(long)]
        bind: Option<String>,
        /// Loads the bundled demo organisation when the database is empty.
        #[arg(long)]
        demo: bool,
    },
    /// Reads descriptor files or folders (recursively) into the database once.
    Ingest {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// The same checks as ingest; writes nothing.
    Validate {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Runs a golden-path template from the terminal: renders it with the given values into a folder.
    Scaffold {
        /// A template's name in the catalog (its latest version), or the path of its template.yaml or folder.
        template: String,
        /// A parameter value, KEY=VALUE (repeat for lists); defaults apply to the rest.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        values: Vec<String>,
        /// The folder to write (created; must be empty).
        #[arg(long)]
        out: PathBuf,
        /// Prints the files it would write and writes nothing.
        #[arg(long)]
        dry_run: bool,
        /// Also puts the written catalog-info.yaml into the catalog of --database-url (read by every refresh).
        #[arg(long, conflicts_with = "dry_run")]
        register: bool,
    },
    /// Applies pending database migrations.
    Migrate,
    /// SLOs: backfill SLI history, evaluate them all.
    Slo {
        #[command(subcommand)]
        command: SloCommand,
    },
    /// API tokens for machines (CI pushing SLI events, registering services).
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Subcommand)]
enum SloCommand {
    /// Backfills SLI history from JSON Lines files, one SLO per line (see docs/slos.md), then refreshes every
    /// SLO's status.
    Import {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Evaluates every SLO now and stores their statuses, as the SLO job does every minute; prints how many are in
    /// each status and how long it took.
    Evaluate,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Creates a token and prints its secret, once.
    Create {
        /// A name to recognise it by (letters, digits, `-`, `_`, `.`).
        #[arg(long)]
        name: String,
        /// The team it acts for.
        #[arg(long)]
        team: Option<String>,
        /// Days until it expires (default: never).
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// Lists tokens (never their secrets).
    List,
    /// Revokes a token by name.
    Revoke { name: String },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let overrides = match &cli.command {
        Command::Serve { bind, demo } => {
            Overrides { bind: bind.clone(), database_url: cli.database_url.clone(), demo: *demo }
        }
        _ => Overrides { database_url: cli.database_url.clone(), ..Overrides::default() },
    };
    let settings = match Settings::load(cli.config.as_deref(), &overrides) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    portolan::telemetry::init(settings.log_format);
    let database_url = settings.database_url.clone();
    let result = match cli.command {
        Command::Serve { .. } => portolan::serve(settings),
        Command::Ingest { paths } => portolan::cli::ingest(&settings, &paths),
        Command::Validate { paths } => portolan::cli::validate(&settings, &paths),
        Command::Scaffold { template, values, out, dry_run, register } => {
            let mode = match (dry_run, register) {
                (true, _) => portolan::cli::ScaffoldMode::DryRun,
                (false, true) => portolan::cli::ScaffoldMode::WriteAndRegister,
                (false, false) => portolan::cli::ScaffoldMode::Write,
            };
            portolan::cli::scaffold(&settings, &template, &values, &out, mode)
        }
        Command::Migrate => portolan::cli::migrate(&settings),
        Command::Slo { command: SloCommand::Import { files } } => portolan::slo_commands::import(&settings, &files),
        Command::Slo { command: SloCommand::Evaluate } => portolan::slo_commands::evaluate(&settings),
        Command::Token { command: TokenCommand::Create { name, team, expires_in_days } } => {
            portolan::cli::token_create(&settings, &name, team.as_deref(), expires_in_days)
        }
        Command::Token { command: TokenCommand::List } => portolan::cli::token_list(&settings),
        Command::Token { command: TokenCommand::Revoke { name } } => portolan::cli::token_revoke(&settings, &name),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", portolan::errors::explain(&database_url, &e));
            ExitCode::FAILURE
        }
    }
}
