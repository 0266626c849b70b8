//! `tracehound`: why Windows / DCE-RPC and TCP connections fail or crawl, from a capture or
//! live. A thin binary: argument parsing and glue over the library crates.

mod cmd;
mod exit;
mod keys;
mod warn;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

const AFTER_HELP: &str = "\
Exit codes: 0 success; 1 analyze --fail-on threshold reached; 2 bad command line;
3 a capture could not be read at all; 4 a capture was damaged or cut short, or part of it could
not be analysed (everything else was; a capture.damaged / capture.not_analysed finding says
what and why). portqry uses PortQry's codes, also with -q: 0 listening, 1 not listening or
filtered (with -e 135 also an endpoint handed out), 2 UDP listening or filtered, 3 no target
name resolved (see `tracehound portqry -?`). Error messages start with `tracehound:`.";

#[derive(Parser)]
#[command(
    name = "tracehound",
    version,
    about = "Find out why Windows / DCE-RPC and TCP connections fail or crawl.",
    long_about = "Find out why Windows / DCE-RPC and TCP connections fail or crawl — from a \
packet capture (pcap, pcapng, gzip'd, or - for standard input) or live against a server — \
and say it in plain words, with the evidence.",
    after_help = AFTER_HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Say what went wrong in one or more captures, with the frames that prove it.
    Analyze(cmd::analyze::Args),
    /// Every TCP and UDP conversation: state, counts, retransmissions, resets.
    Conversations(cmd::conversations::Args),
    /// Every DCE/RPC call, and the endpoints the endpoint mapper handed out.
    Rpc(cmd::rpc::Args),
    /// Probe ports live with PortQry's switches (tracehound portqry -n HOST -e 135).
    #[command(disable_help_flag = true)]
    Portqry(cmd::portqry::Args),
    /// Decrypt TLS sessions with private keys / key logs, say why not, write plaintext.
    Decrypt(cmd::decrypt::Args),
    /// Write a NetMon .cap/.chn or ETL (netsh trace, pktmon) capture as a pcapng.
    Convert(cmd::convert::Args),
    /// Is a published service reachable end to end (DNS, TCP, TLS, HTTP), and where it breaks.
    Check(cmd::check::Args),
}

/// mimalloc: the analyzers make and free many small objects on several threads, where it is
/// markedly faster than the system allocator and returns memory in larger pieces.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            if !e.use_stderr() {
                // --help, --version
                let _ = e.print();
                return ExitCode::from(exit::OK);
            }
            // Every error starts with `tracehound:` (clap's own starts with "error: ").
            let msg = e.render().to_string();
            let msg = msg.strip_prefix("error: ").unwrap_or(&msg);
            eprint!("tracehound: {msg}");
            return ExitCode::from(exit::USAGE);
        }
    };
    let result = match cli.command {
        Command::Analyze(a) => cmd::analyze::run(a),
        Command::Conversations(a) => cmd::conversations::run(a),
        Command::Convert(a) => cmd::convert::run(a),
        Command::Check(a) => cmd::check::run(a),
        Command::Rpc(a) => cmd::rpc::run(a),
        Command::Portqry(a) => cmd::portqry::run(a),
        Command::Decrypt(a) => cmd::decrypt::run(a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // A closed pipe (e.g. `| head`) is not an error.
            if let Some(ioe) = e.downcast_ref::<io::Error>() {
                if ioe.kind() == io::ErrorKind::BrokenPipe {
                    return ExitCode::from(exit::OK);
                }
            }
            let _ = io::stdout().flush();
            eprintln!("tracehound: {e:#}");
            ExitCode::from(exit::INPUT)
        }
    }
}
