//! `winconvert IN OUT.pcapng [--ahead]`: `tracehound convert` without the CLI (the crate's
//! [`pcapng_out::convert`]), then the reader's stats as JSON on standard error: for checking
//! that a reader change leaves the output byte for byte the same.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufWriter, Write};
use std::path::Path;

use tracehound_wintrace::{pcapng_out, WinReader};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (input, output, ahead) = match &args[..] {
        [i, o] => (i, o, false),
        [i, o, a] if a == "--ahead" => (i, o, true),
        _ => {
            eprintln!("usage: winconvert IN OUT.pcapng [--ahead]");
            std::process::exit(2);
        }
    };
    let mut rd = match WinReader::open(Path::new(input)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(3);
        }
    };
    rd.set_decode_ahead(ahead);
    let out = BufWriter::with_capacity(1 << 16, std::fs::File::create(output).expect("create"));
    match pcapng_out::convert(&mut rd, out, "tracehound") {
        Ok((_, mut w)) => w.flush().expect("flush"),
        Err(e) => eprintln!("error: {e}"),
    }
    eprintln!("{}", serde_json::to_string(rd.stats()).expect("json"));
}
