//! `tracehound analyze` (wired up once the findings land).
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    #[arg(long)]
    json: bool,
}

pub fn run(_a: Args) -> anyhow::Result<u8> {
    anyhow::bail!("analyze: not wired yet")
}
