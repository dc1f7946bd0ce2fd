//! Serving commands: the Flight server, the gateway, or both; graceful shutdown.

use std::future::Future;
use std::io::Write;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::registry::Registry;
use crate::rest::{Gateway, Source};
use crate::{Result, ServerBuilder};

pub(super) struct GatewayPlan {
    pub addr: String,
    pub prefix: String,
    /// `Some(location)`: proxy mode; `None`: in-process over the Flight server's services.
    pub proxy_to: Option<String>,
    /// The gateway's limits (its body, its connections, its shutdown delay).
    pub limits: crate::Limits,
    /// HTTPS, when a certificate was given.
    pub tls: Option<crate::tls::ServerTls>,
    /// The CA to trust for a grpc+tls:// Flight server in proxy mode.
    pub flight_tls_ca: Option<std::path::PathBuf>,
    /// Retries and breaker of the calls to a proxied Flight server.
    pub resilience: crate::resilience::Resilience,
    /// HTTP/2 connections to the Flight server it forwards to.
    pub connections: usize,
    /// The proxies in front of it whose `x-forwarded-for` names the caller.
    pub trusted_proxies: Vec<String>,
}

pub(super) struct Plan {
    pub builder: Option<ServerBuilder>,
    pub gateway: Option<GatewayPlan>,
    pub grace: Duration,
    /// How long the servers serve on, not ready, before the grace period begins.
    pub delay: Duration,
}

/// Binds what the plan asks for, prints the addresses, serves until SIGINT/SIGTERM,
/// then refuses new requests and gives streams in flight the grace period to finish.
pub(super) async fn run(plan: Plan) -> Result<()> {
    let token = CancellationToken::new();
    let signal = shutdown_signal();
    let flight = match plan.builder {
        Some(builder) => Some(builder.bind().await?),
        None => None,
    };
    let gateway = match plan.gateway {
        Some(g) => {
            let source = match (&g.proxy_to, &flight) {
                (Some(location), _) => {
                    let mut client = crate::Client::builder(location)
                        .resilience(g.resilience.clone())
                        .connections(g.connections);
                    if let Some(ca) = &g.flight_tls_ca {
                        client = client.tls(crate::tls::ClientTls::new().ca_file(ca)?);
                    }
                    Source::client(client.connect().await?)
                }
                (None, Some(server)) => Source::local(server),
                (None, None) => Source::remote(crate::wire::DEFAULT_LOCATION).await?,
            };
            let mut gateway = Gateway::new(source)
                .prefix(&g.prefix)
                .limits(g.limits)
                .trusted_proxies(g.trusted_proxies);
            if let Some(tls) = g.tls {
                gateway = gateway.tls(tls);
            }
            Some(gateway.bind(&g.addr).await?)
        }
        None => None,
    };
    if let Some(server) = &flight {
        println!(
            "fastflight Flight server listening on {}",
            server.location()
        );
    }
    if let Some(gateway) = &gateway {
        println!("fastflight REST gateway listening on {}", gateway.url());
    }
    let flight_done = {
        let stop = token.clone();
        async move {
            match flight {
                Some(server) => server.serve_with_shutdown(stop.cancelled_owned()).await,
                None => Ok(()),
            }
        }
    };
    let gateway_done = {
        let stop = token.clone();
        async move {
            match gateway {
                Some(gateway) => gateway.serve_with_shutdown(stop.cancelled_owned()).await,
                None => Ok(()),
            }
        }
    };
    let servers = async { tokio::try_join!(flight_done, gateway_done).map(drop) };
    let stopping = async {
        signal.await;
        token.cancel();
        tokio::time::sleep(plan.delay + plan.grace).await;
    };
    tokio::select! {
        served = servers => served?,
        () = stopping => {
            tracing::warn!(grace_period_s = plan.grace.as_secs_f64(), "grace period over: ending the streams still running");
            // A service still running on a blocking thread would hold the runtime (and
            // the process) open past the grace period: the process ends here instead.
            println!("fastflight stopped");
            let _ = std::io::Write::flush(&mut std::io::stdout());
            std::process::exit(0);
        }
    }
    println!("fastflight stopped");
    Ok(())
}

/// Prints the registered services.
pub(super) fn list_services(json: bool) -> Result<()> {
    let registry = Registry::global()?;
    if registry.is_empty() {
        eprintln!("no services: no #[data_service] is linked into this binary (a library crate of services is linked only when used: add `use my_services as _;` to the binary)");
    }
    let infos = registry.services();
    let locations: Vec<&str> = registry.entries().iter().map(|e| e.location).collect();
    print_services(&infos, &locations, json)
}

/// Prints services as text (or JSON); `locations` are where each is declared, when known.
pub(super) fn print_services(
    infos: &[crate::listing::ServiceInfo],
    locations: &[&str],
    json: bool,
) -> Result<()> {
    let mut text = String::new();
    if json {
        text = serde_json::to_string_pretty(&infos)
            .map_err(|e| crate::Error::Config(e.to_string()))?;
        text.push('\n');
    } else {
        for (i, info) in infos.iter().enumerate() {
            let mode = if info.blocking { ", blocking" } else { "" };
            let at = locations
                .get(i)
                .map(|l| format!(" ({l}{mode})"))
                .unwrap_or_default();
            text += &format!("{}\n    handler: {}{at}\n", info.name, info.handler);
            for field in &info.fields {
                let need = match (&field.default, field.required) {
                    (_, true) => "required".to_owned(),
                    (Some(default), false) => format!("default {default}"),
                    (None, false) => "optional".to_owned(),
                };
                text += &format!("    {}: {} ({need})\n", field.name, field.ty);
            }
        }
    }
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        // A closed pipe (`services | head`) is not an error of ours.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// Completes on SIGINT or SIGTERM.
///
/// The handlers are installed when this is called, not when it is first polled, so a
/// signal that arrives right after start-up is not lost.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send {
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
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = wait(interrupt) => {},
                _ = wait(terminate) => {},
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
