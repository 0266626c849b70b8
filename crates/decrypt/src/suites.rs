//! TLS cipher suites we can name and (for the supported ones) decrypt: their key exchange,
//! bulk cipher, MAC and PRF hash. Values from the IANA TLS Cipher Suites registry. Unknown
//! suites stay visible as their number.

/// Key exchange, as far as decryption cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kx {
    /// RSA key transport: the server's private key opens the premaster secret.
    Rsa,
    /// Ephemeral Diffie-Hellman (finite field): forward secret.
    Dhe,
    /// Ephemeral elliptic-curve Diffie-Hellman: forward secret.
    Ecdhe,
    /// TLS 1.3 (always ephemeral; secrets only from a key log).
    Tls13,
    /// Anything else (PSK, SRP, static DH, …).
    Other,
}

impl Kx {
    pub fn name(self) -> &'static str {
        match self {
            Kx::Rsa => "RSA",
            Kx::Dhe => "DHE",
            Kx::Ecdhe => "ECDHE",
            Kx::Tls13 => "(EC)DHE",
            Kx::Other => "other",
        }
    }
}

/// Bulk encryption.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bulk {
    Null,
    Rc4_128,
    TripleDesCbc,
    Aes128Cbc,
    Aes256Cbc,
    Aes128Gcm,
    Aes256Gcm,
    Aes128Ccm,
    Aes256Ccm,
    Aes128Ccm8,
    Aes256Ccm8,
    Chacha20Poly1305,
}

impl Bulk {
    pub fn key_len(self) -> usize {
        match self {
            Bulk::Null => 0,
            Bulk::Rc4_128
            | Bulk::Aes128Cbc
            | Bulk::Aes128Gcm
            | Bulk::Aes128Ccm
            | Bulk::Aes128Ccm8 => 16,
            Bulk::TripleDesCbc => 24,
            _ => 32,
        }
    }
    pub fn block_len(self) -> usize {
        match self {
            Bulk::TripleDesCbc => 8,
            Bulk::Aes128Cbc | Bulk::Aes256Cbc => 16,
            _ => 0,
        }
    }
    pub fn is_aead(self) -> bool {
        matches!(
            self,
            Bulk::Aes128Gcm
                | Bulk::Aes256Gcm
                | Bulk::Aes128Ccm
                | Bulk::Aes256Ccm
                | Bulk::Aes128Ccm8
                | Bulk::Aes256Ccm8
                | Bulk::Chacha20Poly1305
        )
    }
    /// TLS 1.2 implicit (fixed) IV length from the key block for AEAD suites.
    pub fn fixed_iv_len(self) -> usize {
        match self {
            Bulk::Chacha20Poly1305 => 12,
            b if b.is_aead() => 4,
            _ => 0,
        }
    }
    pub fn tag_len(self) -> usize {
        match self {
            Bulk::Aes128Ccm8 | Bulk::Aes256Ccm8 => 8,
            b if b.is_aead() => 16,
            _ => 0,
        }
    }
}

/// Record MAC (for non-AEAD suites) — and the hash of the PRF for TLS 1.2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hash {
    Md5,
    Sha1,
    Sha256,
    Sha384,
}

impl Hash {
    pub fn size(self) -> usize {
        match self {
            Hash::Md5 => 16,
            Hash::Sha1 => 20,
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
        }
    }
}

/// One cipher suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Suite {
    pub id: u16,
    pub name: &'static str,
    pub kx: Kx,
    pub bulk: Bulk,
    /// Record MAC; `None` for AEAD suites.
    pub mac: Option<Hash>,
    /// TLS 1.2 PRF hash (SHA-256 unless the suite says SHA-384); TLS 1.3 HKDF hash.
    pub prf: Hash,
}

macro_rules! suites {
    ($($id:literal $name:literal $kx:ident $bulk:ident $mac:tt $prf:ident;)*) => {
        const TABLE: &[Suite] = &[$(Suite {
            id: $id, name: $name, kx: Kx::$kx, bulk: Bulk::$bulk, mac: suites!(@mac $mac), prf: Hash::$prf,
        },)*];
    };
    (@mac AEAD) => { None };
    (@mac $h:ident) => { Some(Hash::$h) };
}

suites! {
    0x0001 "TLS_RSA_WITH_NULL_MD5" Rsa Null Md5 Sha256;
    0x0002 "TLS_RSA_WITH_NULL_SHA" Rsa Null Sha1 Sha256;
    0x003B "TLS_RSA_WITH_NULL_SHA256" Rsa Null Sha256 Sha256;
    0x0004 "TLS_RSA_WITH_RC4_128_MD5" Rsa Rc4_128 Md5 Sha256;
    0x0005 "TLS_RSA_WITH_RC4_128_SHA" Rsa Rc4_128 Sha1 Sha256;
    0x000A "TLS_RSA_WITH_3DES_EDE_CBC_SHA" Rsa TripleDesCbc Sha1 Sha256;
    0x002F "TLS_RSA_WITH_AES_128_CBC_SHA" Rsa Aes128Cbc Sha1 Sha256;
    0x0035 "TLS_RSA_WITH_AES_256_CBC_SHA" Rsa Aes256Cbc Sha1 Sha256;
    0x003C "TLS_RSA_WITH_AES_128_CBC_SHA256" Rsa Aes128Cbc Sha256 Sha256;
    0x003D "TLS_RSA_WITH_AES_256_CBC_SHA256" Rsa Aes256Cbc Sha256 Sha256;
    0x009C "TLS_RSA_WITH_AES_128_GCM_SHA256" Rsa Aes128Gcm AEAD Sha256;
    0x009D "TLS_RSA_WITH_AES_256_GCM_SHA384" Rsa Aes256Gcm AEAD Sha384;
    0xC09C "TLS_RSA_WITH_AES_128_CCM" Rsa Aes128Ccm AEAD Sha256;
    0xC09D "TLS_RSA_WITH_AES_256_CCM" Rsa Aes256Ccm AEAD Sha256;
    0xC0A0 "TLS_RSA_WITH_AES_128_CCM_8" Rsa Aes128Ccm8 AEAD Sha256;
    0xC0A1 "TLS_RSA_WITH_AES_256_CCM_8" Rsa Aes256Ccm8 AEAD Sha256;
    0x0016 "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA" Dhe TripleDesCbc Sha1 Sha256;
    0x0033 "TLS_DHE_RSA_WITH_AES_128_CBC_SHA" Dhe Aes128Cbc Sha1 Sha256;
    0x0039 "TLS_DHE_RSA_WITH_AES_256_CBC_SHA" Dhe Aes256Cbc Sha1 Sha256;
    0x0067 "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256" Dhe Aes128Cbc Sha256 Sha256;
    0x006B "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256" Dhe Aes256Cbc Sha256 Sha256;
    0x009E "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256" Dhe Aes128Gcm AEAD Sha256;
    0x009F "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384" Dhe Aes256Gcm AEAD Sha384;
    0xC09E "TLS_DHE_RSA_WITH_AES_128_CCM" Dhe Aes128Ccm AEAD Sha256;
    0xC09F "TLS_DHE_RSA_WITH_AES_256_CCM" Dhe Aes256Ccm AEAD Sha256;
    0xC0A2 "TLS_DHE_RSA_WITH_AES_128_CCM_8" Dhe Aes128Ccm8 AEAD Sha256;
    0xC0A3 "TLS_DHE_RSA_WITH_AES_256_CCM_8" Dhe Aes256Ccm8 AEAD Sha256;
    0xCCAA "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256" Dhe Chacha20Poly1305 AEAD Sha256;
    0xC011 "TLS_ECDHE_RSA_WITH_RC4_128_SHA" Ecdhe Rc4_128 Sha1 Sha256;
    0xC012 "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA" Ecdhe TripleDesCbc Sha1 Sha256;
    0xC013 "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA" Ecdhe Aes128Cbc Sha1 Sha256;
    0xC014 "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA" Ecdhe Aes256Cbc Sha1 Sha256;
    0xC027 "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256" Ecdhe Aes128Cbc Sha256 Sha256;
    0xC028 "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384" Ecdhe Aes256Cbc Sha384 Sha384;
    0xC02F "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" Ecdhe Aes128Gcm AEAD Sha256;
    0xC030 "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" Ecdhe Aes256Gcm AEAD Sha384;
    0xCCA8 "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" Ecdhe Chacha20Poly1305 AEAD Sha256;
    0xC007 "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA" Ecdhe Rc4_128 Sha1 Sha256;
    0xC008 "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA" Ecdhe TripleDesCbc Sha1 Sha256;
    0xC009 "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA" Ecdhe Aes128Cbc Sha1 Sha256;
    0xC00A "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA" Ecdhe Aes256Cbc Sha1 Sha256;
    0xC023 "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256" Ecdhe Aes128Cbc Sha256 Sha256;
    0xC024 "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384" Ecdhe Aes256Cbc Sha384 Sha384;
    0xC02B "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" Ecdhe Aes128Gcm AEAD Sha256;
    0xC02C "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" Ecdhe Aes256Gcm AEAD Sha384;
    0xCCA9 "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" Ecdhe Chacha20Poly1305 AEAD Sha256;
    0xC0AC "TLS_ECDHE_ECDSA_WITH_AES_128_CCM" Ecdhe Aes128Ccm AEAD Sha256;
    0xC0AD "TLS_ECDHE_ECDSA_WITH_AES_256_CCM" Ecdhe Aes256Ccm AEAD Sha256;
    0xC0AE "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8" Ecdhe Aes128Ccm8 AEAD Sha256;
    0xC0AF "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8" Ecdhe Aes256Ccm8 AEAD Sha256;
    0x1301 "TLS_AES_128_GCM_SHA256" Tls13 Aes128Gcm AEAD Sha256;
    0x1302 "TLS_AES_256_GCM_SHA384" Tls13 Aes256Gcm AEAD Sha384;
    0x1303 "TLS_CHACHA20_POLY1305_SHA256" Tls13 Chacha20Poly1305 AEAD Sha256;
    0x1304 "TLS_AES_128_CCM_SHA256" Tls13 Aes128Ccm AEAD Sha256;
    0x1305 "TLS_AES_128_CCM_8_SHA256" Tls13 Aes128Ccm8 AEAD Sha256;
}

/// The suite with this number, if we know it.
pub fn lookup(id: u16) -> Option<&'static Suite> {
    TABLE.iter().find(|s| s.id == id)
}

/// The suite's name, or its number in hex.
pub fn name(id: u16) -> String {
    lookup(id).map(|s| s.name.to_string()).unwrap_or_else(|| format!("0x{id:04X}"))
}

/// Protocol version name.
pub fn version_name(v: u16) -> String {
    match v {
        0x0300 => "SSL 3.0".into(),
        0x0301 => "TLS 1.0".into(),
        0x0302 => "TLS 1.1".into(),
        0x0303 => "TLS 1.2".into(),
        0x0304 => "TLS 1.3".into(),
        v => format!("0x{v:04x}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn ids_unique_and_lookup() {
        for (i, a) in TABLE.iter().enumerate() {
            assert!(TABLE[i + 1..].iter().all(|b| b.id != a.id), "{}", a.name);
            assert_eq!(a.mac.is_none(), a.bulk.is_aead(), "{}", a.name);
        }
        assert_eq!(lookup(0x009C).unwrap().name, "TLS_RSA_WITH_AES_128_GCM_SHA256");
        assert_eq!(name(0xFFFF), "0xFFFF");
    }
}
