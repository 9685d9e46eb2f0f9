//! Command-line arguments.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Soyuz: a RocketMQ-compatible message broker.
#[derive(Debug, Parser)]
#[command(name = "soyuz", version, about)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The roles the binary can take.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Everything in one process with data under a local directory: the quickest start.
    /// Runs a NameServer and a broker registered with it.
    Standalone(StandaloneArgs),
    /// A NameServer, like `mqnamesrv`.
    Namesrv(NamesrvArgs),
    /// A broker, like `mqbroker`.
    Broker(BrokerArgs),
}

/// `soyuz standalone`.
#[derive(Debug, clap::Args)]
pub struct StandaloneArgs {
    /// Where all data lives.
    #[arg(long, default_value = "./soyuz-data")]
    pub data_dir: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0")]
    pub bind: String,
    /// NameServer port.
    #[arg(long, default_value_t = soyuz_namesrv::config::DEFAULT_LISTEN_PORT)]
    pub namesrv_port: u16,
    /// Broker port; overrides `listenPort` from the config file.
    #[arg(long)]
    pub broker_port: Option<u16>,
    /// A `broker.conf` in Java properties form (RocketMQ's key names), e.g. to switch to
    /// `flushDiskType=SYNC_FLUSH`. Its `storePathRootDir` defaults to `<data-dir>/store`.
    #[arg(short = 'c', long = "config")]
    pub config: Option<PathBuf>,
}

/// `soyuz broker`.
#[derive(Debug, clap::Args)]
pub struct BrokerArgs {
    /// A `broker.conf` in Java properties form (RocketMQ's key names).
    #[arg(short = 'c', long = "config")]
    pub config: Option<PathBuf>,
    /// NameServer addresses, `host:port;host:port`; overrides `namesrvAddr`.
    #[arg(short = 'n', long = "namesrv-addr")]
    pub namesrv_addr: Option<String>,
    /// Port to listen on; overrides `listenPort` from the config file.
    #[arg(short = 'p', long = "port")]
    pub port: Option<u16>,
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0")]
    pub bind: String,
}

/// `soyuz namesrv`.
#[derive(Debug, clap::Args)]
pub struct NamesrvArgs {
    /// A `namesrv.conf` in Java properties form (RocketMQ's key names).
    #[arg(short = 'c', long = "config")]
    pub config: Option<PathBuf>,
    /// Port to listen on; overrides `listenPort` from the config file.
    #[arg(short = 'p', long = "port")]
    pub port: Option<u16>,
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0")]
    pub bind: String,
}
