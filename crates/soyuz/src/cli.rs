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
    /// Sends messages given as arguments, or one per line of stdin.
    Produce(ProduceArgs),
    /// Consumes a topic and prints each message.
    Consume(ConsumeArgs),
    /// Load generators: producer, consumer, and the raw echo baseline.
    #[command(subcommand)]
    Bench(BenchCommand),
}

/// `soyuz produce`.
#[derive(Debug, clap::Args)]
pub struct ProduceArgs {
    /// NameServer address.
    #[arg(short = 'n', long, default_value = "127.0.0.1:9876")]
    pub namesrv: String,
    /// Topic.
    #[arg(short = 't', long)]
    pub topic: String,
    /// Producer group.
    #[arg(short = 'g', long, default_value = "soyuz_cli_producer")]
    pub group: String,
    /// Tag of every message.
    #[arg(long)]
    pub tags: Option<String>,
    /// Key of every message.
    #[arg(short = 'k', long)]
    pub keys: Option<String>,
    /// A user property, `name=value`; may be repeated.
    #[arg(short = 'p', long = "property")]
    pub properties: Vec<String>,
    /// Message bodies; none means one message per line of stdin.
    pub bodies: Vec<String>,
}

/// `soyuz consume`.
#[derive(Debug, clap::Args)]
pub struct ConsumeArgs {
    /// NameServer address.
    #[arg(short = 'n', long, default_value = "127.0.0.1:9876")]
    pub namesrv: String,
    /// Topic.
    #[arg(short = 't', long)]
    pub topic: String,
    /// Consumer group.
    #[arg(short = 'g', long, default_value = "soyuz_cli_consumer")]
    pub group: String,
    /// Tag expression, e.g. `TagA || TagB`.
    #[arg(short = 's', long = "subscription", default_value = "*")]
    pub subscription: String,
    /// Start a group without offsets at the oldest message (default: the newest).
    #[arg(long)]
    pub from_first: bool,
    /// Every consumer gets every message (broadcasting) instead of sharing the queues.
    #[arg(long)]
    pub broadcast: bool,
    /// Stop after this many messages (0 = until Ctrl-C).
    #[arg(short = 'c', long, default_value_t = 0)]
    pub count: u64,
}

/// `soyuz bench ...`.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Sends messages as fast as the broker takes them (RocketMQ's benchmark `Producer`).
    Producer(BenchProducerArgs),
    /// Drains a topic's backlog (RocketMQ's benchmark `Consumer`).
    Consumer(BenchConsumerArgs),
    /// The same load against a trivial in-process echo server: the baseline to state
    /// broker figures against.
    Echo(BenchEchoArgs),
}

/// `soyuz bench producer`.
#[derive(Debug, clap::Args)]
pub struct BenchProducerArgs {
    /// NameServer address.
    #[arg(short = 'n', long, default_value = "127.0.0.1:9876")]
    pub namesrv: String,
    /// Topic.
    #[arg(short = 't', long, default_value = "BenchmarkTest")]
    pub topic: String,
    /// Concurrent senders.
    #[arg(short = 'w', long = "threads", default_value_t = 64)]
    pub threads: usize,
    /// Message body size in bytes.
    #[arg(short = 's', long = "size", default_value_t = 128)]
    pub size: usize,
    /// Messages to send (0 = run for --duration).
    #[arg(short = 'q', long = "quantity", default_value_t = 0)]
    pub quantity: u64,
    /// Give every message a key.
    #[arg(short = 'k', long = "keys")]
    pub keys: bool,
    /// Async sends: each sender keeps this many sends in flight.
    #[arg(short = 'y', long = "async", default_value_t = 1)]
    pub in_flight: usize,
    /// Messages per request (above 1: SEND_BATCH_MESSAGE).
    #[arg(short = 'b', long = "batch", default_value_t = 1)]
    pub batch: usize,
    /// Seconds to run when no quantity is given.
    #[arg(short = 'd', long = "duration", default_value_t = 10)]
    pub duration: u64,
    /// Also run the echo baseline with the same senders and size, and print the ratio.
    #[arg(long)]
    pub with_echo: bool,
    /// Ordered traffic: each sender keeps to one queue and sends one message at a time.
    #[arg(long)]
    pub ordered: bool,
    /// Send every message with this delay level (0 = none).
    #[arg(long, default_value_t = 0)]
    pub delay_level: i32,
}

/// `soyuz bench consumer`.
#[derive(Debug, clap::Args)]
pub struct BenchConsumerArgs {
    /// NameServer address.
    #[arg(short = 'n', long, default_value = "127.0.0.1:9876")]
    pub namesrv: String,
    /// Topic.
    #[arg(short = 't', long, default_value = "BenchmarkTest")]
    pub topic: String,
    /// Consumer group.
    #[arg(short = 'g', long, default_value = "benchmark_consumer")]
    pub group: String,
    /// Messages per pull.
    #[arg(short = 'b', long = "batch", default_value_t = 32)]
    pub batch: i32,
    /// Messages to read (0 = until the backlog is drained).
    #[arg(short = 'q', long = "quantity", default_value_t = 0)]
    pub quantity: u64,
    /// Longest run in seconds.
    #[arg(short = 'd', long = "duration", default_value_t = 60)]
    pub duration: u64,
}

/// `soyuz bench echo`.
#[derive(Debug, clap::Args)]
pub struct BenchEchoArgs {
    /// Concurrent callers.
    #[arg(short = 'w', long = "threads", default_value_t = 64)]
    pub threads: usize,
    /// Payload size in bytes.
    #[arg(short = 's', long = "size", default_value_t = 128)]
    pub size: usize,
    /// Connections the callers share.
    #[arg(short = 'c', long = "connections", default_value_t = 1)]
    pub connections: usize,
    /// Seconds to run.
    #[arg(short = 'd', long = "duration", default_value_t = 10)]
    pub duration: u64,
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
