//! Starting each role: build its config, bind its listener, run until a signal.

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use soyuz_broker::{Broker, BrokerConfig};
use soyuz_model::SystemClock;
use soyuz_namesrv::{Namesrv, NamesrvConfig};
use soyuz_transport::ServerConfig;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::info;

use crate::cli::{BrokerArgs, Command, NamesrvArgs, StandaloneArgs};
use crate::config_file;

/// Runs the chosen role until SIGINT or SIGTERM.
pub async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Standalone(args) => standalone(args).await,
        Command::Namesrv(args) => namesrv(args).await,
        Command::Broker(args) => broker(args).await,
        Command::Bench(command) => crate::bench::run(command).await,
        Command::Produce(args) => crate::manual::produce(args).await,
        Command::Consume(args) => crate::manual::consume(args, shutdown_signal()?).await,
    }
}

async fn standalone(args: StandaloneArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create data directory {}", args.data_dir.display()))?;
    let stop = shutdown_signal()?;
    let namesrv_config = NamesrvConfig {
        listen_port: args.namesrv_port,
        kv_config_path: args.data_dir.join("namesrv").join("kvConfig.json"),
        ..NamesrvConfig::default()
    };
    let mut broker_config = BrokerConfig::default();
    broker_config.store.store_path_root_dir = args.data_dir.join("store");
    if let Some(path) = &args.config {
        config_file::load_into(&mut broker_config, path)?;
    }
    if let Some(port) = args.broker_port {
        broker_config.listen_port = port;
    }
    info!(data_dir = %args.data_dir.display(), "starting Soyuz standalone");
    let namesrv_listener = bind(&args.bind, namesrv_config.listen_port).await?;
    let namesrv_addr = namesrv_listener.local_addr()?;
    // The broker registers with the NameServer of this process, however it was reached.
    let reach = if namesrv_addr.ip().is_unspecified() {
        format!("127.0.0.1:{}", namesrv_addr.port())
    } else {
        namesrv_addr.to_string()
    };
    broker_config.namesrv_addr = Some(reach);
    let broker_listener = bind(&args.bind, broker_config.listen_port).await?;
    let namesrv = Namesrv::new(namesrv_config, Arc::new(SystemClock))
        .context("cannot load the NameServer's KV config")?;
    let broker = open_broker(broker_config).await?;
    info!(addr = %namesrv_addr, "The Name Server boot success");

    // One signal stops both; the broker first, so it can unregister.
    let (stopped_tx, stopped_rx) = watch::channel(false);
    let signal = tokio::spawn(async move {
        stop.await;
        let _ = stopped_tx.send(true);
    });
    let broker_stop = wait_for(stopped_rx.clone());
    let (broker_done_tx, broker_done_rx) = watch::channel(false);
    let namesrv_stop = async move {
        let mut done = broker_done_rx;
        let _ = done.wait_for(|d| *d).await;
    };
    let namesrv_task = tokio::spawn(async move {
        namesrv
            .run(namesrv_listener, ServerConfig::default(), namesrv_stop)
            .await
    });
    let broker_result = broker
        .run(broker_listener, ServerConfig::default(), broker_stop)
        .await;
    let _ = broker_done_tx.send(true);
    let namesrv_result = namesrv_task.await.context("NameServer task failed")?;
    signal.abort();
    broker_result.context("broker failed")?;
    namesrv_result.context("NameServer failed")?;
    info!("Soyuz standalone stopped");
    Ok(())
}

async fn wait_for(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|s| *s).await;
}

async fn namesrv(args: NamesrvArgs) -> anyhow::Result<()> {
    let mut config = NamesrvConfig::default();
    if let Some(path) = &args.config {
        config_file::load_into(&mut config, path)?;
    }
    if let Some(port) = args.port {
        config.listen_port = port;
    }
    // Signal handlers go in before the boot line: a SIGTERM right after it must stop us
    // gracefully, not kill us with the default action.
    let shutdown = shutdown_signal()?;
    let listener = bind(&args.bind, config.listen_port).await?;
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

async fn broker(args: BrokerArgs) -> anyhow::Result<()> {
    let mut config = BrokerConfig::default();
    if let Some(path) = &args.config {
        config_file::load_into(&mut config, path)?;
    }
    if let Some(addr) = args.namesrv_addr {
        config.namesrv_addr = Some(addr);
    }
    if let Some(port) = args.port {
        config.listen_port = port;
    }
    let shutdown = shutdown_signal()?;
    let listener = bind(&args.bind, config.listen_port).await?;
    let broker = open_broker(config).await?;
    broker
        .run(listener, ServerConfig::default(), shutdown)
        .await?;
    Ok(())
}

/// Opens the broker (and its store, recovering it) off the async threads.
async fn open_broker(config: BrokerConfig) -> anyhow::Result<Broker> {
    let root = config.store.store_path_root_dir.clone();
    tokio::task::spawn_blocking(move || Broker::open(config))
        .await
        .context("broker start-up task failed")?
        .with_context(|| format!("cannot open the broker's store at {}", root.display()))
}

async fn bind(host: &str, port: u16) -> anyhow::Result<TcpListener> {
    let addr = format!("{host}:{port}");
    TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))
}

/// Installs SIGINT (Ctrl-C) and SIGTERM (`mqshutdown`, systemd, Kubernetes) handlers
/// now, and returns a future that completes when either arrives.
fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()>> {
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
