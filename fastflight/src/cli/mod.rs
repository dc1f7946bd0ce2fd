//! The command line of a fastflight binary: `fastflight::cli::run().await` in `main`.
//!
//! ```text
//! start-flight-server  --flight-location grpc://HOST:PORT
//! start-rest-server    --rest-host H --rest-port P --rest-prefix /fastflight --flight-location grpc://...
//! start-all            both in one process, the gateway calling the services directly
//! services             the registered services: name, handler, fields, types, defaults
//! call                 --location grpc://... '<request JSON>' | @file.json  --format table|csv|json|arrow|parquet  --output FILE
//! ```
//!
//! Every option also reads an environment variable (`FASTFLIGHT_FLIGHT_LOCATION`, ...).

mod call;
mod config;
mod limits;
mod options;
mod serve;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::server::DEFAULT_LOCATION;
use crate::{Result, ServerBuilder};
use options::{CallArgs, CredentialArgs, FlightArgs, RestArgs, ServeArgs, SqlArgs};

pub use limits::seconds;
pub use options::{secret_file, warn_secret_argument};
pub use serve::shutdown_signal;

/// The `clap` this command line is built with (with its `derive` and `env` features),
/// for the options of an application of one's own: `use fastflight::cli::clap;`, then
/// `#[derive(clap::Args)]`, with no dependency on clap to add.
pub use clap;

#[derive(Debug, Parser)]
#[command(version, about = "Serve, list and call fastflight data services")]
struct Cli<A: Args> {
    /// Print the settings the command would run with, as JSON (each option's value and
    /// where it came from: the command line, its environment variable or its default;
    /// the limits as the servers would hold them), and exit.
    #[arg(long, global = true)]
    print_config: bool,
    #[command(flatten)]
    app: A,
    #[command(subcommand)]
    command: Command,
}

/// No options of the application's own.
#[derive(Debug, Args)]
pub struct NoArgs {}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the Arrow Flight server with every registered service.
    StartFlightServer {
        #[command(flatten)]
        flight: FlightArgs,
        #[command(flatten)]
        serve: ServeArgs,
    },
    /// Start the HTTP gateway in front of a Flight server (proxy mode).
    StartRestServer {
        #[command(flatten)]
        rest: RestArgs,
        /// The Flight server the gateway forwards to.
        #[arg(long, env = "FASTFLIGHT_FLIGHT_LOCATION", default_value = DEFAULT_LOCATION)]
        flight_location: String,
        #[command(flatten)]
        serve: ServeArgs,
    },
    /// Start the Flight server and the HTTP gateway in one process (gateway in-process).
    StartAll {
        #[command(flatten)]
        flight: FlightArgs,
        #[command(flatten)]
        rest: RestArgs,
        #[command(flatten)]
        serve: ServeArgs,
    },
    /// List the registered services: request name, handler, fields with types and defaults;
    /// with --location, those a running server offers this caller.
    Services {
        /// Print JSON instead of text.
        #[arg(long, env = "FASTFLIGHT_JSON")]
        json: bool,
        /// A running Flight server to ask (grpc://HOST:PORT or grpc+tls://HOST:PORT).
        #[arg(long, env = "FASTFLIGHT_LOCATION")]
        location: Option<String>,
        #[command(flatten)]
        credentials: CredentialArgs,
    },
    /// Call a service of any fastflight-compatible Flight server and print or save the result.
    Call(CallArgs),
    /// Send a SQL statement to a Flight SQL server (a fastflight server with the
    /// `flight-sql` feature, or any other) and print or save the result as `call` does.
    Sql(SqlArgs),
    /// Read a password from standard input and print its argon2 hash, for a users file
    /// (`user:HASH [role ...]`).
    HashPassword,
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
    run_with(crate::Server::builder()).await
}

/// Like [`run`], with options of the application's own (flattened into every command)
/// and a `setup` that makes the server builder from them, called only by the commands
/// that serve the services (`start-flight-server`, `start-all`).
///
/// ```no_run
/// # use std::path::PathBuf;
/// use fastflight::cli::clap;
///
/// #[derive(clap::Args)]
/// struct Options {
///     /// Where the data lives.
///     #[arg(long, env = "MY_DATA_DIR", default_value = "data", global = true)]
///     data_dir: PathBuf,
/// }
///
/// /// The state the services read (`State<DataDir>`).
/// struct DataDir(PathBuf);
///
/// #[tokio::main]
/// async fn main() -> fastflight::Result<()> {
///     fastflight::cli::run_app(|options: Options| async move {
///         Ok(fastflight::Server::builder().state(DataDir(options.data_dir)))
///     })
///     .await
/// }
/// ```
pub async fn run_app<A, F, Fut>(setup: F) -> Result<()>
where
    A: Args,
    F: FnOnce(A) -> Fut,
    Fut: std::future::Future<Output = Result<ServerBuilder>>,
{
    let mut command = Cli::<A>::command();
    command.build();
    let matches = command.clone().get_matches();
    let cli =
        Cli::<A>::from_arg_matches(&matches).unwrap_or_else(|e| e.format(&mut command).exit());
    if cli.print_config {
        return config::print(&command, &matches, &cli.command);
    }
    init_tracing();
    let app = cli.app;
    execute(cli.command, move || setup(app)).await
}

/// Like [`run`], with a server builder that already holds the services' state.
///
/// ```no_run
/// # struct Pool;
/// #[tokio::main]
/// async fn main() -> fastflight::Result<()> {
///     fastflight::cli::run_with(fastflight::Server::builder().state(Pool)).await
/// }
/// ```
pub async fn run_with(builder: ServerBuilder) -> Result<()> {
    run_app(|_: NoArgs| async { Ok(builder) }).await
}

async fn execute<F, Fut>(command: Command, setup: F) -> Result<()>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<ServerBuilder>>,
{
    match command {
        Command::StartFlightServer { flight, serve } => {
            serve::run(serve::Plan {
                builder: Some(serve.apply(flight.apply(setup().await?))?),
                gateway: None,
                grace: serve.grace(),
                delay: serve.limits.limits().shutdown_delay,
            })
            .await
        }
        Command::StartRestServer {
            rest,
            flight_location,
            serve,
        } => {
            serve::run(serve::Plan {
                builder: None,
                gateway: Some(serve.gateway(rest, Some(flight_location))?),
                grace: serve.grace(),
                delay: serve.limits.limits().shutdown_delay,
            })
            .await
        }
        Command::StartAll {
            flight,
            rest,
            serve,
        } => {
            serve::run(serve::Plan {
                builder: Some(serve.apply(flight.apply(setup().await?))?),
                gateway: Some(serve.gateway(rest, None)?),
                grace: serve.grace(),
                delay: serve.limits.limits().shutdown_delay,
            })
            .await
        }
        Command::Services {
            json,
            location: None,
            ..
        } => serve::list_services(json),
        Command::Services {
            json,
            location: Some(location),
            credentials,
        } => {
            let infos = credentials
                .connect(&location)
                .await?
                .list_services()
                .await?;
            serve::print_services(&infos, &[], json)
        }
        Command::Call(args) => call::run(args).await,
        Command::Sql(args) => call::sql(args).await,
        Command::HashPassword => {
            let mut password = String::new();
            std::io::stdin().read_line(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']);
            if password.is_empty() {
                return Err(crate::Error::Config("no password on standard input".into()));
            }
            println!("{}", crate::auth::hash_password(password)?);
            Ok(())
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}
