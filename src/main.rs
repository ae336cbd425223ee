//! `dfft`: the dfft-registry command line.
//!
//! - `serve`, `demo`: run a registry (see `dfft-server`).
//! - `keygen`, `authority`, `attest`, `submit`: authority tools that build,
//!   sign and submit statements.
//! - `witness`: run a tlog-witness (see `dfft-witness`); also without the
//!   `server` feature.
//! - `verify`, `route`, `record`, `authorities`, `audit`, `monitor`: verifying client
//!   commands, one file each under `cmd/` (see `dfft-client`); they never
//!   trust the server.
//!
//! Exit codes: 0 success; 1 the check or request failed (a proof did not
//! verify, the server refused); 2 bad usage or input; 3 the log is
//! inconsistent (fork or rollback: keep the evidence printed).

mod authority;
mod cmd;
#[cfg(feature = "server")]
mod demo;
#[cfg(feature = "server")]
mod fdlimit;
#[cfg(feature = "server")]
mod serve;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// mimalloc rather than the system allocator: under ingest the server
/// spent about 15% of its CPU in glibc malloc and free (docs/benchmarks.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// dfft-registry: a verifiable registry of cross-border data-transfer recognitions.
#[derive(Parser)]
#[command(name = "dfft", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a registry server on a data directory (created on first start).
    #[cfg(feature = "server")]
    Serve(serve::ServeArgs),
    /// Run a registry loaded with the real EU recognition history, signed
    /// with generated DEMO keys.
    #[cfg(feature = "server")]
    Demo(demo::DemoArgs),
    /// Generate an authority (or witness) key pair.
    Keygen(authority::KeygenArgs),
    /// Enrol, update or retire an authority (signed with governance keys).
    #[command(subcommand)]
    Authority(authority::AuthorityCmd),
    /// Build and sign a recognition statement.
    Attest(authority::AttestArgs),
    /// Submit a signed envelope and save its receipt and offline proof.
    Submit(authority::SubmitArgs),
    /// Verify an offline .tlog-proof file against the log's key.
    Verify(cmd::verify::VerifyArgs),
    /// Ask, and verify, which recognitions cover a route on a date.
    Route(cmd::route::RouteArgs),
    /// Ask, and verify, many route questions from a CSV file (compliance
    /// batches): one verified row each, with its saved answer.
    Check(cmd::check::CheckArgs),
    /// Ask, and verify, whether data may go to one organisation (its
    /// listings under the programmes the route's recognitions require).
    Counterparty(cmd::counterparty::CounterpartyArgs),
    /// Show, and verify, the history of one record.
    Record(cmd::record::RecordArgs),
    /// List, and verify, every authority ever enrolled, in its current state.
    Authorities(cmd::authorities::AuthoritiesArgs),
    /// Replay the whole log and check every entry, proof and rule.
    Audit(cmd::audit::AuditArgs),
    /// Follow the log: prove consistency of each new checkpoint and report
    /// changes to watched records or routes.
    Monitor(cmd::monitor::MonitorArgs),
    /// Run a tlog-witness: cosign checkpoints of the logs in a logs/v0 list.
    Witness(cmd::witness::WitnessArgs),
}

/// Exit codes scripts can rely on.
pub mod exit {
    /// A check or request failed.
    pub const FAILED: u8 = 1;
    /// Bad usage or input.
    pub const USAGE: u8 = 2;
    /// The log is inconsistent (fork or rollback).
    pub const INCONSISTENT: u8 = 3;
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let r = match cli.command {
        #[cfg(feature = "server")]
        Command::Serve(a) => serve::run(a),
        #[cfg(feature = "server")]
        Command::Demo(a) => demo::run(a),
        Command::Keygen(a) => authority::keygen(a),
        Command::Authority(c) => authority::authority(c),
        Command::Attest(a) => authority::attest(a),
        Command::Submit(a) => authority::submit(a),
        Command::Verify(a) => cmd::verify::run(a),
        Command::Route(a) => cmd::route::run(a),
        Command::Check(a) => cmd::check::run(a),
        Command::Counterparty(a) => cmd::counterparty::run(a),
        Command::Record(a) => cmd::record::run(a),
        Command::Authorities(a) => cmd::authorities::run(a),
        Command::Audit(a) => cmd::audit::run(a),
        Command::Monitor(a) => cmd::monitor::run(a),
        Command::Witness(a) => cmd::witness::run(a),
    };
    match r {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit::FAILED)
        }
    }
}
