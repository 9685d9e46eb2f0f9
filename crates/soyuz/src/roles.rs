//! Starting each role: build its config, bind its listener, run until a signal.

use std::sync::Arc;

use anyhow::Context;
use soyuz_model::SystemClock;
use soyuz_namesrv::{Namesrv, NamesrvConfig};
use soyuz_transport::ServerConfig;
use tokio::net::TcpListener;
use tracing::info;

use crate::cli::{Command, NamesrvArgs, StandaloneArgs};
use crate::config_file;

/// Runs the chosen role until SIGINT or SIGTERM.
pub async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Standalone(args) => standalone(args).await,
        Command::Namesrv(args) => namesrv(args).await,
    }
}

async fn standalone(args: StandaloneArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create data directory {}", args.data_dir.display()))?;
    let config = NamesrvConfig {
        listen_port: args.namesrv_port,
        kv_config_path: args.data_dir.join("namesrv").join("kvConfig.json"),
        ..NamesrvConfig::default()
    };
    info!(data_dir = %args.data_dir.display(), "starting Soyuz standalone");
    serve_namesrv(config, &args.bind).await
}

async fn namesrv(args: NamesrvArgs) -> anyhow::Result<()> {
    let mut config = NamesrvConfig::default();
    if let Some(path) = &args.config {
        config_file::load_into(&mut config, path)?;
    }
    if let Some(port) = args.port {
        config.listen_port = port;
    }
    serve_namesrv(config, &args.bind).await
}

async fn serve_namesrv(config: NamesrvConfig, bind: &str) -> anyhow::Result<()> {
    // Signal handlers go in before the boot line: a SIGTERM right after it must stop us
    // gracefully, not kill us with the default action.
    let shutdown = shutdown_signal()?;
    let addr = format!("{bind}:{}", config.listen_port);
    let listener = TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let namesrv = Namesrv::new(config, Arc::new(SystemClock))
        .context("cannot load the NameServer's KV config")?;
    // The line subprocess tests and operators wait for (Java prints "The Name Server boot
    // success"); the address is the one actually bound, so port 0 works.
    info!(addr = %listener.local_addr()?, "The Name Server boot success");
    namesrv
        .run(listener, ServerConfig::default(), shutdown)
        .await?;
    info!("NameServer stopped");
    Ok(())
}

/// Installs SIGINT (Ctrl-C) and SIGTERM (`mqshutdown`, systemd, Kubernetes) handlers
/// now, and returns a future that completes when either arrives.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
        info!("shutdown signal received");
    })
}
