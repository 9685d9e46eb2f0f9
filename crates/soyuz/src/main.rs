//! `soyuz`: one binary, one subcommand per role. No business logic lives here: it parses
//! arguments, reads config files, installs logging and calls the libraries' `run`.

mod bench;
mod cli;
mod config_file;
mod manual;
mod roles;

use clap::Parser;

// glibc's allocator spent about a sixth of the broker's CPU on the send path (small
// header and property allocations freed on other threads); mimalloc handles that pattern
// far better.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let cli = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_target(false)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("soyuz")
        .build()?;
    runtime.block_on(roles::run(cli.command))
}
