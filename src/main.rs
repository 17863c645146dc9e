//! The `liveboard` binary: serve (the default), manage users (create, demote, delete, reset a
//! password), or back up and restore the database. Thin: config → tracing → app → serve; the other
//! commands call one library function each.

use clap::{Parser, Subcommand};
use std::{io::IsTerminal, path::PathBuf};

use liveboard::{Application, Config, auth, backup, db::Db, domain::Password, events::EventBus, passwords, repo, seed};
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
    /// Take a user's admin rights away; sessions lose them at once, open sockets within seconds.
    DemoteUser { username: String },
    /// Delete a user who owns no board; their sessions end on their next request.
    DeleteUser { username: String },
    /// Set a new password for a user; the sessions signed in before end, their open sockets within seconds.
    ResetPassword {
        username: String,
        /// The new password; defaults to $LIVEBOARD_PASSWORD so it stays out of shell history.
        #[arg(long, env = "LIVEBOARD_PASSWORD", hide_env_values = true)]
        password: String,
    },
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
    let command = Cli::parse().command.unwrap_or(Command::Serve);
    match &command {
        Command::Serve => return serve(config).await,
        // Without opening the database: a restore refuses a database anyone holds open.
        Command::Backup { path } => {
            backup::backup(&config.database_path, path).await?;
            println!("backed up {} to {}", config.database_path.display(), path.display());
            return Ok(());
        }
        Command::Restore { path } => {
            backup::restore(&config.database_path, path).await?;
            println!("restored {} from {}", config.database_path.display(), path.display());
            return Ok(());
        }
        _ => {}
    }
    let db = Db::open(&config.database_path, EventBus::new(16)).await?;
    let fail = |e: liveboard::error::Error| match e {
        liveboard::error::Error::NotFound => anyhow::anyhow!("no such user"),
        e => anyhow::anyhow!("{e}"),
    };
    // Each prints the user's id. A running server honours the new rights on the user's next request,
    // and closes their open sockets within seconds (see `app::spawn_rights_check`).
    match command {
        Command::Serve | Command::Backup { .. } | Command::Restore { .. } => unreachable!("handled above"),
        Command::CreateUser { username, password, admin } => {
            let user = auth::create_user(&db, &username, &password, admin).await.map_err(fail)?;
            println!("created user {} (id {}){}", user.username, user.id, if admin { ", admin" } else { "" });
        }
        Command::DemoteUser { username } => {
            let id = repo::users::set_admin(&db, &username, false).await.map_err(fail)?;
            println!("demoted user {username} (id {id})");
        }
        Command::DeleteUser { username } => {
            let id = repo::users::delete(&db, &username).await.map_err(fail)?;
            println!("deleted user {username} (id {id})");
        }
        Command::ResetPassword { username, password } => {
            let password = Password::parse(&password).map_err(fail)?;
            let hash = tokio::task::spawn_blocking(move || passwords::hash_now(&password)).await?.map_err(fail)?;
            let id = repo::users::set_password(&db, &username, &hash).await.map_err(fail)?;
            println!("set a new password for {username} (id {id})");
        }
    }
    Ok(())
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let seeding = config.seed_demo;
    let app = Application::build(config.clone()).await?;
    let url = format!("http://{}:{}", config.addr.ip(), app.port());
    let cluster = &config.cluster;
    if cluster.role == liveboard::cluster::Role::Edge {
        let writer = cluster.writer_url.as_deref().unwrap_or_default();
        tracing::info!(%url, role = "edge", node = %cluster.node_id, writer, "Liveboard is up");
    } else {
        let role = cluster.role.as_str();
        tracing::info!(%url, role, node = %cluster.node_id, db = %config.database_path.display(), "Liveboard is up");
    }
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
