//! `winread FILE...`: reads every packet of Windows captures with [`WinReader`] and prints
//! the packet count, bytes and wall time per file (the reader alone, for the ETL / NetMon
//! read-speed work; `bench/wintrace_bench.sh` times whole commands).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Instant;

use tracehound_wintrace::WinReader;

fn main() {
    for arg in std::env::args().skip(1) {
        let t = Instant::now();
        let mut rd = WinReader::open(Path::new(&arg)).expect("open");
        let (mut n, mut bytes) = (0u64, 0u64);
        while let Some(p) = rd.next_packet().expect("read") {
            n += 1;
            bytes += p.data.len() as u64;
        }
        let s = t.elapsed().as_secs_f64();
        println!("{arg}: {n} packets, {bytes} bytes, {s:.3} s");
    }
}
