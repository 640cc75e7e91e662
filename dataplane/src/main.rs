//! The `portico-dataplane` binary: see the [`portico_dataplane`] library for what it does.

use clap::Parser;

/// Portico's Pingora data plane.
#[derive(Debug, Parser)]
#[command(
    name = "portico-dataplane",
    version,
    about = "Portico's Pingora data plane"
)]
struct Cli {
    #[command(flatten)]
    args: portico_dataplane::Args,
}

fn main() -> anyhow::Result<()> {
    portico_dataplane::init_logging();
    portico_dataplane::run(Cli::parse().args)
}
