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
///
/// The handlers are installed when this is called, not when it is first polled, so a
/// signal that arrives right after start-up is not lost.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send {
    #[cfg(unix)]
    let (interrupt, terminate) = {
        use tokio::signal::unix::{signal, SignalKind};
        (
            signal(SignalKind::interrupt()).ok(),
            signal(SignalKind::terminate()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let mut interrupt = interrupt;
            let mut terminate = terminate;
            tokio::select! {
                _ = async { match interrupt.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending::<()>().await } } => {},
                _ = async { match terminate.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending::<()>().await } } => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!(
            "shutdown signal received: refusing new requests, finishing streams in flight"
        );
    }
}
