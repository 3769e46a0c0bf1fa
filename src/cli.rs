//! The command line: `serve` (the default), `migrate`, `user create`, `token
//! create`, `demo`. Every command reads the same [`Config`].

use clap::{Parser, Subcommand};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::{
    app,
    config::Config,
    core::{
        db,
        identity::accounts::{self, NewUser},
    },
    telemetry,
};

#[derive(Parser)]
#[command(
    name = "chatwire",
    version,
    about = "One real-time chat server behind five chat frontends"
)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Serve every enabled profile (the default).
    Serve,
    /// Create or update the database schema, then exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage chatsphere API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Create the demo users of the calls document (alice@example.com and
    /// bob@example.com, password123, verified); existing ones are left as they are.
    Demo,
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a verified user with a password (for expresschat and calls).
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
    },
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Mint an API token (chatsphere) for a user of the shared space, created
    /// when missing, and print it.
    Create {
        /// A client token (type 0: may create users and issue tokens); without
        /// it, a user token (type 1).
        #[arg(long)]
        client: bool,
        #[arg(long)]
        username: String,
        /// The email a client token carries.
        #[arg(long, default_value = "admin@localhost")]
        email: String,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let cfg = cli.config;
    telemetry::init_tracing(&cfg.log, cfg.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cfg).await,
        Command::Migrate => {
            db::connect_and_migrate(&cfg.database_url, 1).await?;
            println!("chatwire: database is up to date");
            Ok(())
        }
        Command::User(UserCommand::Create {
            name,
            email,
            password,
        }) => {
            let core = app::build_core(&cfg).await?;
            let user = accounts::create_user(
                &core,
                NewUser {
                    name,
                    email: Some(email),
                    username: None,
                    password: Some(password),
                    organization_id: None,
                    role: "user".into(),
                    verified: true,
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "chatwire: created user {} <{}>",
                user.id,
                user.email.unwrap_or_default()
            );
            Ok(())
        }
        Command::Token(TokenCommand::Create {
            client,
            username,
            email,
        }) => {
            let core = app::build_core(&cfg).await?;
            let t = mint(&core, &username, client, &email)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            eprintln!(
                "chatwire: {} token id {} for {username}, expires {}",
                if client { "client" } else { "user" },
                t.id,
                t.expires_at.to_rfc3339()
            );
            println!("{}", t.token);
            Ok(())
        }
        Command::Demo => {
            let core = app::build_core(&cfg).await?;
            for (name, email) in DEMO_USERS {
                let (user, created) = demo_user(&core, name, email)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                let state = if created { "created" } else { "exists" };
                println!(
                    "chatwire: demo user {} <{email}> id {} ({state})",
                    user.name, user.id
                );
            }
            Ok(())
        }
    }
}

/// The test users of the calls document.
const DEMO_USERS: [(&str, &str); 2] = [
    ("Alice Johnson", "alice@example.com"),
    ("Bob Smith", "bob@example.com"),
];

/// The demo user with this email, created (verified, password123) when missing.
async fn demo_user(
    core: &crate::core::Core,
    name: &str,
    email: &str,
) -> crate::core::Result<(entity::users::Model, bool)> {
    if let Some(u) = accounts::find_by_email(core, email).await? {
        return Ok((u, false));
    }
    let new = NewUser {
        name: name.to_owned(),
        email: Some(email.to_owned()),
        username: None,
        password: Some("password123".to_owned()),
        organization_id: None,
        role: "user".into(),
        verified: true,
    };
    match accounts::create_user(core, new).await {
        Ok(u) => Ok((u, true)),
        // Created by someone else in the meantime.
        Err(crate::core::Error::Conflict(_)) => accounts::find_by_email(core, email)
            .await?
            .map(|u| (u, false))
            .ok_or(crate::core::Error::Internal),
        Err(e) => Err(e),
    }
}

/// Finds (or creates) the shared-space user `username` and issues a token.
async fn mint(
    core: &crate::core::Core,
    username: &str,
    client: bool,
    email: &str,
) -> crate::core::Result<crate::core::identity::api_tokens::Issued> {
    use crate::core::{conversations::rooms::shared, identity::api_tokens};
    let existing = entity::users::Entity::find()
        .filter(entity::users::Column::Username.eq(username.trim()))
        .filter(entity::users::Column::OrganizationId.is_null())
        .one(&core.db)
        .await?;
    let user = match existing {
        Some(u) => u,
        None => shared::create_user(core, username).await?,
    };
    let (kind, email) = if client {
        (api_tokens::Kind::Client, Some(email.to_owned()))
    } else {
        (api_tokens::Kind::User, None)
    };
    api_tokens::issue(core, &user, kind, None, email).await
}

async fn serve(cfg: Config) -> anyhow::Result<()> {
    let running = app::start(cfg).await?;
    // One line per listener on stdout: people read it, test harnesses parse it.
    for (p, _) in running.addrs.iter() {
        println!("chatwire: {p} {}", running.url(*p).unwrap_or_default());
    }
    let token = running.shutdown_token();
    tokio::spawn(async move {
        shutdown_signal().await;
        token.cancel();
    });
    running.wait().await;
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
