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
    /// At this stage it runs the NameServer; the broker joins it as it lands.
    Standalone(StandaloneArgs),
    /// A NameServer, like `mqnamesrv`.
    Namesrv(NamesrvArgs),
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
