//! `lzbench FILE.etl [ROUNDS]`: decompresses every compressed buffer of an ETL file (read
//! into memory first) with [`lzxpress::decompress`] and prints the output bytes and the
//! decoder's throughput: the LZXpress-Huffman decoder alone, for the read-speed work.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::Instant;

use tracehound_wintrace::lzxpress;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: lzbench FILE.etl [ROUNDS]");
    let rounds: usize = args.next().map_or(1, |r| r.parse().expect("rounds"));
    let data = std::fs::read(&path).expect("read");
    // (compressed bytes, declared size) of every compressed buffer.
    let mut bufs = Vec::new();
    let mut off = 0usize;
    while off + 72 <= data.len() {
        let size = u32::from_le_bytes(data[off..off + 4].try_into().unwrap()) as usize;
        let saved = u32::from_le_bytes(data[off + 4..off + 8].try_into().unwrap()) as usize;
        let flag = u16::from_le_bytes(data[off + 52..off + 54].try_into().unwrap());
        if size < 72 || off + size > data.len() {
            break;
        }
        if flag & 0x40 != 0 && saved >= 72 {
            bufs.push((&data[off + 72..off + size], saved - 72));
        }
        off += size;
    }
    let mut out = Vec::new();
    for _ in 0..rounds {
        let t = Instant::now();
        let (mut bytes, mut errors) = (0u64, 0u64);
        for &(c, size) in &bufs {
            match lzxpress::decompress(c, size, &mut out) {
                Ok(()) => bytes += out.len() as u64,
                Err(_) => errors += 1,
            }
        }
        let s = t.elapsed().as_secs_f64();
        println!(
            "{path}: {} buffers, {bytes} bytes out, {errors} errors, {s:.3} s, {:.0} MB/s",
            bufs.len(),
            bytes as f64 / s / 1e6
        );
    }
}
