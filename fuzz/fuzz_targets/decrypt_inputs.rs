//! TLS decryption inputs: key files, key logs, and the record layer.
//! Contract: no panic, bounded memory, whatever the bytes.
//!
//! Input: `[mode: u8]` then the bytes.
//! * mode % 3 == 0: a key file (PEM / DER / PKCS#12), parsed without and with a password.
//! * mode % 3 == 1: an NSS key log.
//! * mode % 3 == 2: a TLS connection. A fixed ClientHello (client random 0x11…) is sent
//!   first; the key log knows that random (a TLS 1.2 master secret and TLS 1.3 traffic
//!   secrets), so any ServerHello the fuzzer writes installs keys and the record
//!   decryption paths (CBC / stream / AEAD, padding, MAC, TLS 1.3 inner type, KeyUpdate)
//!   run. Then records `[op: u8][len: u16 BE][bytes]`: op bit 0 = direction, bit 1 = a gap
//!   of `len` bytes instead of data.
//! * mode % 4 == 3: a whole connection in the same `[op][len][bytes]` chunks, the ClientHello
//!   included, with the key logs of the lab's SSL 3.0 and TLS 1.3 0-RTT captures
//!   (tests/fixtures/decrypt/ssl3.keylog, early.keylog; seeds from those captures by
//!   seed_decrypt.sh): the SSL 3.0 key derivation, MAC and records (CBC, RC4), and 0-RTT
//!   (trial decryption of early records, the server's decision, EndOfEarlyData) run on real
//!   bytes that the fuzzer then bends.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tracehound_decrypt::kex::Shared;
use tracehound_decrypt::session::Conn;
use tracehound_decrypt::{keys, KeyLog};

fn client_hello() -> Vec<u8> {
    let mut body = vec![3, 3];
    body.extend_from_slice(&[0x11; 32]);
    body.extend_from_slice(&[0, 0, 4, 0x00, 0x9c, 0x13, 0x01, 1, 0]);
    let ext = [0u8, 23, 0, 0, 0, 22, 0, 0];
    body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    body.extend_from_slice(&ext);
    let mut hs = vec![1, 0, (body.len() >> 8) as u8, body.len() as u8];
    hs.extend_from_slice(&body);
    let mut rec = vec![22, 3, 1, (hs.len() >> 8) as u8, hs.len() as u8];
    rec.extend_from_slice(&hs);
    rec
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    match mode % 4 {
        0 => {
            let _ = keys::parse("fuzz", rest, None);
            let _ = keys::parse("fuzz", rest, Some("password"));
        }
        1 => {
            let mut k = KeyLog::default();
            k.add_text("fuzz", rest);
        }
        3 => {
            let mut kl = KeyLog::default();
            kl.add_text("ssl3", include_bytes!("../../tests/fixtures/decrypt/ssl3.keylog"));
            kl.add_text("early", include_bytes!("../../tests/fixtures/decrypt/early.keylog"));
            let mut sh = Shared::new(Vec::new(), kl);
            let mut c = Conn::new(1);
            feed(&mut c, &mut sh, rest, [0, 0]);
        }
        _ => {
            let r = "11".repeat(32);
            let log = format!(
                "CLIENT_RANDOM {r} {}\nSERVER_HANDSHAKE_TRAFFIC_SECRET {r} {}\nCLIENT_HANDSHAKE_TRAFFIC_SECRET {r} {}\n\
                 SERVER_TRAFFIC_SECRET_0 {r} {}\nCLIENT_TRAFFIC_SECRET_0 {r} {}\n",
                "22".repeat(48),
                "33".repeat(32),
                "44".repeat(32),
                "55".repeat(32),
                "66".repeat(32)
            );
            let mut kl = KeyLog::default();
            kl.add_text("fuzz", log.as_bytes());
            let mut sh = Shared::new(Vec::new(), kl);
            let mut c = Conn::new(1);
            let ch = client_hello();
            c.data(&mut sh, 0, 0, &ch, 1);
            feed(&mut c, &mut sh, rest, [ch.len() as u64, 0]);
        }
    }
});

/// Stream chunks `[op][len: u16 BE][bytes]` into the connection, then finish it.
fn feed(c: &mut Conn, sh: &mut Shared, mut rest: &[u8], mut off: [u64; 2]) {
    let mut frame = 2;
    while let [op, a, b, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*a, *b]));
        let dir = usize::from(op & 1);
        if op & 2 != 0 {
            c.gap(dir, len as u64, frame);
            off[dir] += len as u64;
            rest = tail;
        } else {
            let n = len.min(tail.len());
            let (chunk, t) = tail.split_at(n);
            c.data(sh, dir, off[dir], chunk, frame);
            off[dir] += n as u64;
            rest = t;
        }
        c.out.clear();
        frame += 1;
    }
    c.finish();
}
