//! `tracehound rpc` (wired up once the rpc crate lands).
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    #[arg(long)]
    endpoints: bool,
    #[arg(long)]
    json: bool,
}

pub fn run(_a: Args) -> anyhow::Result<u8> {
    anyhow::bail!("rpc: not wired yet")
}
