//! `loadgen`: the load generator of chatwire's benchmarks. It speaks Engine.IO v4 /
//! Socket.IO v5 over WebSocket by hand, spreads its connections over 127.0.0.x
//! source addresses, runs single-threaded (so it leaves the other core to the
//! server) and prints one JSON object per measurement on stdout; `report` turns a
//! run's results into `BENCHMARKS.md`. See `bench/run.sh` for the suite.

mod charts;
mod cluster_report;
mod dm;
mod fanout;
mod hub;
mod idle;
mod report;
mod setup;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use serde_json::{Map, Value};

pub use hub::Proto;

#[derive(Parser)]
#[command(about = "Load generator for chatwire, the Node peer and the ceiling")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create verified chatwire users through POST /signup and the verification
    /// links the console mailer writes to the log.
    Setup(setup::SetupArgs),
    /// Idle connections in steps: connect rate, RSS per connection, probe latency.
    Idle(idle::IdleArgs),
    /// One sender, rooms of N members: deliveries/s and latency at fixed rates and
    /// at saturation.
    Fanout(fanout::FanoutArgs),
    /// Persisted direct messages between pairs: send ⇒ commit ⇒ deliver.
    Dm(dm::DmArgs),
    /// Render a run's results as BENCHMARKS.md.
    Report(report::ReportArgs),
    /// Render bench/cluster.sh's results as BENCHMARKS.md's two-node section.
    ClusterReport(cluster_report::ClusterReportArgs),
}

/// The server under test and how to reach it.
#[derive(Args, Clone)]
pub struct Target {
    /// host:port of the server's Socket.IO listener; several, comma-separated (the
    /// nodes of a cluster): connection n goes to address n mod their count, so
    /// connection 0 (fan-out's sender) is on the first and the members alternate.
    #[arg(long, value_delimiter = ',', default_value = "127.0.0.1:3000")]
    pub addr: Vec<String>,
    #[arg(long, value_enum, default_value = "express")]
    pub proto: Proto,
    /// Name of the server in the results (chatwire, node, ceiling).
    #[arg(long, default_value = "chatwire")]
    pub label: String,
    /// The server's pid, for RSS and CPU figures; several, comma-separated (a
    /// cluster's nodes): their RSS and CPU are summed.
    #[arg(long, value_delimiter = ',')]
    pub server_pid: Vec<u32>,
    /// HS256 secret of access tokens (express).
    #[arg(
        long,
        env = "BENCH_JWT_SECRET",
        default_value = "",
        hide_env_values = true
    )]
    pub jwt_secret: String,
    /// User id of the first connection; connection n is user first_user + n.
    #[arg(long, default_value_t = 1)]
    pub first_user: u64,
    /// How many source addresses (127.0.0.2 ..) to spread connections over; 0: any.
    #[arg(long, default_value_t = 8)]
    pub sources: usize,
    /// Handshakes in flight at once.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Extra `key=value` fields copied into every result (e.g. db=sqlite).
    #[arg(long = "tag")]
    pub tags: Vec<String>,
}

impl Target {
    /// A result object with the target's identity and tags.
    pub fn result(&self, scenario: &str) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("scenario".into(), scenario.into());
        m.insert("label".into(), self.label.clone().into());
        m.insert("nodes".into(), self.addr.len().into());
        m.insert(
            "proto".into(),
            format!("{:?}", self.proto).to_lowercase().into(),
        );
        for t in &self.tags {
            if let Some((k, v)) = t.split_once('=') {
                m.insert(k.into(), v.into());
            }
        }
        m
    }
}

/// Prints one result line (stdout is the results file).
pub fn emit(m: Map<String, Value>) {
    println!("{}", Value::Object(m));
}

pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let limit = chatwire_bench::sys::raise_fd_limit();
    eprintln!("loadgen: fd limit {limit}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        match cli.cmd {
            Cmd::Setup(a) => setup::run(a).await,
            Cmd::Idle(a) => idle::run(a).await,
            Cmd::Fanout(a) => fanout::run(a).await,
            Cmd::Dm(a) => dm::run(a).await,
            Cmd::Report(a) => report::run(a),
            Cmd::ClusterReport(a) => cluster_report::run(a),
        }
    })
}
