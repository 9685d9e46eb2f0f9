//! `soyuz bench`: argument plumbing into `soyuz-bench`, and the report on stdout.

use std::time::Duration;

use soyuz_bench::consumer::ConsumerOptions;
use soyuz_bench::echo::{EchoOptions, EchoServer};
use soyuz_bench::producer::ProducerOptions;
use soyuz_bench::stats::Report;

use crate::cli::BenchCommand;

fn print(report: &Report) {
    // The report is the command's output.
    #[allow(clippy::print_stdout)]
    {
        println!("{report}");
    }
}

async fn echo(options: &EchoOptions) -> anyhow::Result<Report> {
    let server = EchoServer::start().await?;
    Ok(soyuz_bench::echo::run(server.addr, options).await)
}

/// Runs a bench mode and prints its report.
pub async fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Producer(args) => {
            let options = ProducerOptions {
                namesrv: args.namesrv,
                topic: args.topic,
                workers: args.threads,
                size: args.size,
                batch: args.batch,
                in_flight: args.in_flight,
                keys: args.keys,
                quantity: args.quantity,
                duration: Duration::from_secs(args.duration),
                ordered: args.ordered,
                delay_level: args.delay_level,
            };
            let report = soyuz_bench::producer::run(options).await?;
            print(&report);
            if args.with_echo {
                let baseline = echo(&EchoOptions {
                    workers: args.threads * args.in_flight.max(1),
                    connections: 1,
                    size: args.size * args.batch.max(1),
                    duration: Duration::from_secs(args.duration),
                })
                .await?;
                print(&baseline);
                #[allow(clippy::print_stdout)]
                {
                    println!(
                        "ratio: requests/s vs echo round trips/s = {:.2}",
                        report.tps() / args.batch.max(1) as f64 / baseline.tps()
                    );
                }
            }
        }
        BenchCommand::Consumer(args) => {
            let report = soyuz_bench::consumer::run(ConsumerOptions {
                namesrv: args.namesrv,
                topic: args.topic,
                group: args.group,
                batch: args.batch,
                quantity: args.quantity,
                duration: Duration::from_secs(args.duration),
            })
            .await?;
            print(&report);
        }
        BenchCommand::Echo(args) => {
            let report = echo(&EchoOptions {
                workers: args.threads,
                connections: args.connections,
                size: args.size,
                duration: Duration::from_secs(args.duration),
            })
            .await?;
            print(&report);
        }
    }
    Ok(())
}
