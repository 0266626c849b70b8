//! `winread [--ahead] FILE...`: reads every packet of Windows captures with [`WinReader`]
//! (`--ahead`: compressed ETL buffers decoded ahead on a second thread) and prints the packet
//! count, bytes and wall time per file (the reader alone, for the ETL / NetMon
//! read-speed work; `bench/wintrace_bench.sh` times whole commands).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Instant;

use tracehound_wintrace::WinReader;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let ahead = args.iter().any(|a| a == "--ahead");
    for arg in args.iter().filter(|a| *a != "--ahead") {
        let t = Instant::now();
        let mut rd = WinReader::open(Path::new(arg)).expect("open");
        rd.set_decode_ahead(ahead);
        let (mut n, mut bytes) = (0u64, 0u64);
        while let Some(p) = rd.next_packet().expect("read") {
            n += 1;
            bytes += p.data.len() as u64;
        }
        let s = t.elapsed().as_secs_f64();
        println!("{arg}: {n} packets, {bytes} bytes, {s:.3} s");
    }
}
