//! The command line of a fastflight binary: `fastflight::cli::run().await` in `main`.

use clap::{Args, Parser, Subcommand};

use crate::registry::Registry;
use crate::server::DEFAULT_LOCATION;
use crate::{Result, Server};

#[derive(Debug, Parser)]
#[command(
    version,
    about = "Serve and inspect the fastflight data services of this binary"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the Arrow Flight server with every registered service.
    StartFlightServer(FlightArgs),
    /// List the registered services: request name, handler and fields.
    Services,
}

#[derive(Debug, Args)]
struct FlightArgs {
    /// Where to listen: grpc://HOST:PORT (port 0 picks a free port).
    #[arg(long, env = "FASTFLIGHT_FLIGHT_LOCATION", default_value = DEFAULT_LOCATION)]
    flight_location: String,
}

/// Parses the process arguments and runs the chosen command.
///
/// ```no_run
/// #[tokio::main]
/// async fn main() -> fastflight::Result<()> {
///     fastflight::cli::run().await
/// }
/// ```
pub async fn run() -> Result<()> {
    run_with(Server::builder()).await
}

/// Like [`run`], with a server builder that already holds the services' state.
pub async fn run_with(builder: crate::ServerBuilder) -> Result<()> {
    let cli = Cli::parse();
    init_tracing();
    match cli.command {
        Command::StartFlightServer(args) => {
            let server = builder.location(args.flight_location).bind().await?;
            println!(
                "fastflight Flight server listening on {}",
                server.location()
            );
            server.serve_with_shutdown(shutdown_signal()).await?;
            println!("fastflight Flight server stopped");
            Ok(())
        }
        Command::Services => {
            for entry in Registry::global()?.entries() {
                println!(
                    "{}  ({} at {})",
                    entry.request_name, entry.handler, entry.location
                );
                for field in (entry.request_fields)() {
                    let required = if field.required {
                        "required"
                    } else {
                        "optional"
                    };
                    println!("    {}: {} ({required})", field.name, field.ty);
                }
            }
            Ok(())
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown signal received: refusing new requests, finishing streams in flight");
}
