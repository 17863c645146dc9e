//! The `liveboard` binary: serve (the default), or manage users (create, demote, delete, reset a
//! password) in the configured database. Thin: config → tracing → app → serve.

use clap::{Parser, Subcommand};
use liveboard::{Application, Config, auth, db::Db, domain::Password, events::EventBus, passwords, repo, seed};
use tracing_subscriber::EnvFilter;

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
    /// Take a user's admin rights away; their open sessions lose them on their next request.
    DemoteUser { username: String },
    /// Delete a user who owns no board; their sessions end on their next request.
    DeleteUser { username: String },
    /// Set a new password for a user.
    ResetPassword {
        username: String,
        /// The new password; defaults to $LIVEBOARD_PASSWORD so it stays out of shell history.
        #[arg(long, env = "LIVEBOARD_PASSWORD", hide_env_values = true)]
        password: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "liveboard=info,tower_http=warn".into()))
        .init();
    let config = Config::from_env()?;
    let command = Cli::parse().command.unwrap_or(Command::Serve);
    if let Command::Serve = command {
        return serve(config).await;
    }
    let db = Db::open(&config.database_path, EventBus::new(16)).await?;
    let fail = |e: liveboard::error::Error| match e {
        liveboard::error::Error::NotFound => anyhow::anyhow!("no such user"),
        e => anyhow::anyhow!("{e}"),
    };
    // Each prints the user's id. A running server stops honouring the old rights on the next
    // request; closing that user's open sockets at once is the realtime hub's job.
    match command {
        Command::Serve => unreachable!("served above"),
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
