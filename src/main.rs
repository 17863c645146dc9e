//! The `liveboard` binary: serve (the default), create a user, back up or restore the database.
//! Thin: config → tracing → app → serve; the other commands call one library function each.

use clap::{Parser, Subcommand};
use std::{io::IsTerminal, path::PathBuf};

use liveboard::{Application, Config, auth, backup, db::Db, events::EventBus, seed};
use tracing::Level;
use tracing_subscriber::{filter::Targets, layer::SubscriberExt, util::SubscriberInitExt};

#[derive(Parser)]
#[command(version, about = "Liveboard: a live, server-rendered kanban board")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server (the default).
    Serve,
    /// Create a user (optionally an admin) in the configured database.
    CreateUser {
        username: String,
        /// The password; defaults to $LIVEBOARD_PASSWORD so it stays out of shell history.
        #[arg(long, env = "LIVEBOARD_PASSWORD", hide_env_values = true)]
        password: String,
        /// Make the user an admin.
        #[arg(long)]
        admin: bool,
    },
    /// Write a consistent copy of the database to PATH, also while the server runs.
    Backup { path: PathBuf },
    /// Replace the database with the backup at PATH. Stop the server first: an open database is refused.
    /// Clients that were connected are told to resync when they come back.
    Restore { path: PathBuf },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // RUST_LOG is a list of `target=level` (`liveboard=debug,tower_http=debug`), read as `Targets`:
    // the same syntax as EnvFilter without its span and regex directives, which would cost a regex
    // engine in every build. An unreadable RUST_LOG falls back to the default.
    let filter: Targets = std::env::var("RUST_LOG")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| Targets::new().with_target("liveboard", Level::INFO).with_target("tower_http", Level::WARN));
    tracing_subscriber::registry()
        // Colours only on a terminal: under systemd, logs go to the journal as plain lines.
        .with(tracing_subscriber::fmt::layer().with_ansi(std::io::stdout().is_terminal()))
        .with(filter)
        .init();
    let config = Config::from_env()?;
    match Cli::parse().command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::CreateUser { username, password, admin } => {
            let db = Db::open(&config.database_path, EventBus::new(16)).await?;
            let user = auth::create_user(&db, &username, &password, admin).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("created user {} (id {}){}", user.username, user.id, if admin { ", admin" } else { "" });
            Ok(())
        }
        Command::Backup { path } => {
            backup::backup(&config.database_path, &path).await?;
            println!("backed up {} to {}", config.database_path.display(), path.display());
            Ok(())
        }
        Command::Restore { path } => {
            backup::restore(&config.database_path, &path).await?;
            println!("restored {} from {}", config.database_path.display(), path.display());
            Ok(())
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let seeding = config.seed_demo;
    let app = Application::build(config.clone()).await?;
    let url = format!("http://{}:{}", config.addr.ip(), app.port());
    tracing::info!(%url, db = %config.database_path.display(), "Liveboard is up");
    if seeding {
        for (user, password) in seed::DEMO_USERS {
            println!("  demo user: {user} / {password}");
        }
    }
    println!("Liveboard on {url}");
    app.run_until(shutdown_signal()).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
