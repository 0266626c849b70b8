//! TLS handshake messages, as far as decryption needs them (RFC 5246 §7.4, RFC 8446 §4):
//! hello randoms, session ids, the suite, the extensions that change key derivation or record
//! format (extended_master_secret 23, encrypt_then_mac 22, supported_versions 43,
//! session_ticket 35, server_name 0, early_data 42 — in the ClientHello and, as the server's
//! acceptance of 0-RTT, in EncryptedExtensions), the server certificate's RSA modulus,
//! the RSA-encrypted premaster secret and TLS 1.2 session tickets.
//!
//! Every read is checked ([`Rd`]); a malformed message yields `None` and the caller reports it.

/// A checked big-endian reader.
pub struct Rd<'a> {
    b: &'a [u8],
}

impl<'a> Rd<'a> {
    pub fn new(b: &'a [u8]) -> Rd<'a> {
        Rd { b }
    }
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (h, t) = self.b.split_at_checked(n)?;
        self.b = t;
        Some(h)
    }
    pub fn u8(&mut self) -> Option<u8> {
        match self.take(1)? {
            [a] => Some(*a),
            _ => None,
        }
    }
    pub fn u16(&mut self) -> Option<u16> {
        match self.take(2)? {
            [a, b] => Some(u16::from_be_bytes([*a, *b])),
            _ => None,
        }
    }
    pub fn u24(&mut self) -> Option<usize> {
        match self.take(3)? {
            [a, b, c] => Some(usize::from(*a) << 16 | usize::from(*b) << 8 | usize::from(*c)),
            _ => None,
        }
    }
    pub fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.take(usize::from(n))
    }
    pub fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }
    pub fn vec24(&mut self) -> Option<&'a [u8]> {
        let n = self.u24()?;
        self.take(n)
    }
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.b)
    }
    pub fn is_empty(&self) -> bool {
        self.b.is_empty()
    }
}

pub const CLIENT_HELLO: u8 = 1;
pub const SERVER_HELLO: u8 = 2;
pub const NEW_SESSION_TICKET: u8 = 4;
pub const END_OF_EARLY_DATA: u8 = 5;
pub const ENCRYPTED_EXTENSIONS: u8 = 8;
pub const CERTIFICATE: u8 = 11;
pub const SERVER_KEY_EXCHANGE: u8 = 12;
pub const CLIENT_KEY_EXCHANGE: u8 = 16;
pub const FINISHED: u8 = 20;
pub const KEY_UPDATE: u8 = 24;

/// SHA-256("HelloRetryRequest"): the ServerHello random of a HelloRetryRequest.
pub const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

#[derive(Clone, Debug, Default)]
pub struct ClientHello {
    pub version: u16,
    pub random: [u8; 32],
    pub session_id: Vec<u8>,
    pub sni: Option<String>,
    /// A non-empty session ticket offered for resumption.
    pub ticket: Option<Vec<u8>>,
    pub ems: bool,
    pub etm: bool,
    pub early_data: bool,
    /// The TLS 1.3 suites offered (0x1301..=0x1305), in order: the candidates for 0-RTT.
    pub tls13_suites: Vec<u16>,
}

#[derive(Clone, Debug, Default)]
pub struct ServerHello {
    /// The negotiated version (supported_versions when present).
    pub version: u16,
    pub random: [u8; 32],
    pub session_id: Vec<u8>,
    pub suite: u16,
    pub ems: bool,
    pub etm: bool,
    pub hrr: bool,
}

/// Walk an extensions block, calling `f(type, data)`.
fn extensions<'a>(r: &mut Rd<'a>, mut f: impl FnMut(u16, &'a [u8])) -> Option<()> {
    if r.is_empty() {
        return Some(());
    }
    let mut e = Rd::new(r.vec16()?);
    while !e.is_empty() {
        let t = e.u16()?;
        let d = e.vec16()?;
        f(t, d);
    }
    Some(())
}

pub fn client_hello(body: &[u8]) -> Option<ClientHello> {
    let mut r = Rd::new(body);
    let mut ch = ClientHello { version: r.u16()?, ..Default::default() };
    ch.random.copy_from_slice(r.take(32)?);
    ch.session_id = r.vec8()?.to_vec();
    for pair in r.vec16()?.chunks_exact(2) {
        if let [a, b] = pair {
            let id = u16::from_be_bytes([*a, *b]);
            if (0x1301..=0x1305).contains(&id) && !ch.tls13_suites.contains(&id) {
                ch.tls13_suites.push(id);
            }
        }
    }
    r.vec8()?; // compression methods
    extensions(&mut r, |t, d| match t {
        0 => ch.sni = sni(d),
        22 => ch.etm = true,
        23 => ch.ems = true,
        35 if !d.is_empty() => ch.ticket = Some(d.to_vec()),
        42 => ch.early_data = true,
        _ => {}
    })?;
    Some(ch)
}

fn sni(d: &[u8]) -> Option<String> {
    let mut r = Rd::new(d);
    let mut list = Rd::new(r.vec16()?);
    while !list.is_empty() {
        let kind = list.u8()?;
        let name = list.vec16()?;
        if kind == 0 {
            let s: String = String::from_utf8_lossy(name)
                .chars()
                .filter(|c| !c.is_control())
                .take(255)
                .collect();
            return Some(s);
        }
    }
    None
}

pub fn server_hello(body: &[u8]) -> Option<ServerHello> {
    let mut r = Rd::new(body);
    let mut sh = ServerHello { version: r.u16()?, ..Default::default() };
    sh.random.copy_from_slice(r.take(32)?);
    sh.hrr = sh.random == HRR_RANDOM;
    sh.session_id = r.vec8()?.to_vec();
    sh.suite = r.u16()?;
    r.u8()?; // compression
    extensions(&mut r, |t, d| match t {
        22 => sh.etm = true,
        23 => sh.ems = true,
        43 => {
            if let [a, b] = d {
                sh.version = u16::from_be_bytes([*a, *b]);
            }
        }
        _ => {}
    })?;
    Some(sh)
}

/// Whether a TLS 1.3 EncryptedExtensions message carries early_data (42): the server accepted
/// the client's 0-RTT data. `None` when the message is malformed.
pub fn encrypted_extensions_early_data(body: &[u8]) -> Option<bool> {
    let mut r = Rd::new(body);
    let mut found = false;
    extensions(&mut r, |t, _| found |= t == 42)?;
    Some(found)
}

/// The first certificate of a TLS ≤ 1.2 Certificate message (the server's own).
pub fn first_certificate(body: &[u8]) -> Option<&[u8]> {
    let mut r = Rd::new(body);
    let mut list = Rd::new(r.vec24()?);
    list.vec24()
}

/// The RSA modulus (big-endian, no leading zeros) of a DER certificate, if it has an RSA key.
pub fn rsa_modulus(cert_der: &[u8]) -> Option<Vec<u8>> {
    use x509_parser::prelude::*;
    let (_, cert) = X509Certificate::from_der(cert_der).ok()?;
    match cert.public_key().parsed().ok()? {
        x509_parser::public_key::PublicKey::RSA(k) => {
            let m = k.modulus;
            let start = m.iter().position(|b| *b != 0).unwrap_or(m.len());
            Some(m.get(start..).unwrap_or_default().to_vec())
        }
        _ => None,
    }
}

/// The encrypted premaster secret of an RSA ClientKeyExchange (TLS: 2-byte length prefix;
/// SSL 3.0: none).
pub fn rsa_encrypted_premaster(body: &[u8], ssl3: bool) -> Option<&[u8]> {
    if ssl3 {
        return Some(body);
    }
    let mut r = Rd::new(body);
    let v = r.vec16()?;
    r.is_empty().then_some(v)
}

/// The ticket of a TLS 1.2 NewSessionTicket (lifetime hint, ticket).
pub fn session_ticket(body: &[u8]) -> Option<&[u8]> {
    let mut r = Rd::new(body);
    r.take(4)?;
    r.vec16()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_hello_fields() {
        // A ClientHello body built by hand: version 0x0303, random 0x11.., session id 2 bytes,
        // one suite, null compression, extensions: SNI "a.b", EMS, ticket "tk".
        let mut b = vec![3, 3];
        b.extend_from_slice(&[0x11; 32]);
        b.extend_from_slice(&[2, 9, 9, 0, 2, 0x00, 0x9c, 1, 0]);
        let sni = [0, 6, 0, 0, 3, b'a', b'.', b'b'];
        let mut ext = vec![0, 0, 0, 8];
        ext.extend_from_slice(&sni[..]);
        ext.extend_from_slice(&[0, 23, 0, 0, 0, 35, 0, 2, b't', b'k']);
        b.extend_from_slice(&(ext.len() as u16).to_be_bytes());
        b.extend_from_slice(&ext);
        let ch = client_hello(&b).unwrap();
        assert_eq!(ch.sni.as_deref(), Some("a.b"));
        assert!(ch.ems && !ch.etm);
        assert_eq!(ch.ticket.as_deref(), Some(&b"tk"[..]));
        assert_eq!(ch.session_id, vec![9, 9]);
        // Every truncation is None, never a panic.
        for n in 0..b.len() {
            let _ = client_hello(&b[..n]);
        }
    }
}
