//! `talk`: run Talk's services (`talk serve all|edge|…`) or its migrations.

use clap::{Parser, Subcommand};
use talk::Service;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(name = "talk", version, about = "Talk: real-time messaging for agents")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs one service, or all of them in this process (the default).
    Serve {
        #[arg(value_enum, default_value = "all")]
        service: Service,
    },
    /// Applies every service's database migrations and exits.
    Migrate,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = talk_config::Config::load()?;
    let service_name = match &cli.command {
        Command::Serve { service } => service.name(),
        Command::Migrate => "talk-migrate",
    };
    let _telemetry = talk_telemetry::init(
        service_name,
        config.log_format == talk_config::LogFormat::Json,
    )?;
    match cli.command {
        Command::Migrate => talk::migrate(&config).await,
        Command::Serve { service } => {
            let shutdown = CancellationToken::new();
            tokio::spawn(stop_on_signal(shutdown.clone()));
            talk::serve_one(service, config, shutdown).await
        }
    }
}

async fn stop_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    shutdown.cancel();
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
    shutdown.cancel();
}
