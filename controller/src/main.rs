//! # portico
//!
//! Portico's controller binary. Subcommands:
//! - `portico controller`: the controller fed by the Kubernetes API, writing status back.
//! - `portico standalone PATH...`: a complete gateway from YAML files, no cluster needed.
//! - `portico echo --port N`: a demo backend that describes each request it gets (`--grpc`: a
//!   demo gRPC backend).
//! - `portico migrate -f FILE`: Ingresses translated into a Gateway and HTTPRoutes.
//! - `portico dataplane ...`: the data plane (same as the `portico-dataplane` binary); the
//!   standalone command starts it as a child process.
//!
//! Layout: [`files`] reads objects from disk, [`publisher`] versions translated snapshots,
//! [`server`] streams them to data planes over gRPC and records ACK/NACK in [`acks`],
//! [`status`] merges translation and data-plane state into object statuses, [`admin`] serves
//! them, [`standalone`] wires it all together.

mod acks;
mod admin;
mod control;
mod echo;
mod echo_grpc;
mod files;
mod http_server;
mod infrastructure;
mod kubernetes;
mod metrics;
mod migrate;
mod publisher;
mod server;
mod standalone;
mod status;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "portico",
    version,
    about = "Portico: a Gateway API gateway on Pingora"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the controller against a Kubernetes API server.
    Controller(kubernetes::Args),
    /// Run a gateway from Kubernetes YAML files, without a cluster.
    Standalone(standalone::Args),
    /// Run a demo backend that answers every request with a JSON description of it.
    Echo(echo::Args),
    /// Print the CustomResourceDefinitions Portico owns (apply them before `controller`).
    Crds,
    /// Translate Ingresses into a Gateway and HTTPRoutes (YAML on stdout, report on stderr).
    Migrate(migrate::Args),
    /// Run the data plane (what `portico-dataplane` runs).
    Dataplane(portico_dataplane::Args),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    portico_dataplane::init_logging();
    standalone::exit_with_parent();
    match cli.command {
        Command::Dataplane(args) => portico_dataplane::run(args),
        Command::Crds => {
            print!("{}", kubernetes::parameters::crds_yaml()?);
            Ok(())
        }
        Command::Migrate(args) => migrate::run(args),
        Command::Controller(args) => runtime()?.block_on(kubernetes::run(args)),
        Command::Standalone(args) => runtime()?.block_on(standalone::run(args)),
        Command::Echo(args) => runtime()?.block_on(echo::run(args)),
    }
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}
