//! Prints the DCE/RPC calls, issues and endpoint follow-ups of a capture as JSON lines:
//! `cargo run -p tracehound-rpc --example rpc_dump -- FILE`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::Path;

use tracehound_capture::CaptureReader;
use tracehound_flows::{Config, Pass};
use tracehound_rpc::endpoints::follow_up;
use tracehound_rpc::RpcAnalyzer;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: rpc_dump FILE")?;
    let mut rd = CaptureReader::open(Path::new(&path))?;
    let mut pass = Pass::new(Config::default());
    let mut an = RpcAnalyzer::default();
    let mut convs = Vec::new();
    while let Some(f) = rd.next_frame()? {
        pass.frame(&f, &mut an);
        for c in an.take_calls() {
            println!("{}", serde_json::to_string(&c)?);
        }
        convs.extend(pass.take_finished());
    }
    convs.extend(pass.finish(&mut an));
    let report = an.finish();
    for c in &report.calls {
        println!("{}", serde_json::to_string(c)?);
    }
    for i in &report.issues {
        println!("{}", serde_json::json!({ "issue": i }));
    }
    for e in follow_up(&report.endpoints, &convs) {
        println!("{}", serde_json::json!({ "endpoint": e }));
    }
    println!("{}", serde_json::json!({ "stats": report.stats }));
    Ok(())
}
