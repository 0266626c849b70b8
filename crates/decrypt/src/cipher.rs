//! Record protection, one direction: decrypts TLS records with the negotiated suite.
//!
//! * Block ciphers (AES-CBC, 3DES-CBC): TLS 1.0 chains the IV across records (the first from
//!   the key block, then the last ciphertext block); TLS 1.1+ sends an explicit IV. MAC-then-
//!   encrypt: HMAC(seq ‖ type ‖ version ‖ length ‖ data) inside the padding; with
//!   encrypt-then-MAC (RFC 7366) the HMAC covers the IV and ciphertext and follows them.
//! * Stream (RC4) and NULL: data ‖ MAC.
//! * SSL 3.0 (RFC 6101 §5.2.3): the same layouts with the IV chained as in TLS 1.0, but the
//!   MAC is `hash(secret ‖ pad_2 ‖ hash(secret ‖ pad_1 ‖ seq ‖ type ‖ length ‖ data))` (pad_1 =
//!   0x36, pad_2 = 0x5c, 48 bytes for MD5 and 40 for SHA-1; no version), and the CBC padding
//!   bytes are arbitrary: only the last (the padding length, less than a block) is checked.
//! * AEAD, TLS 1.2 (RFC 5288/6655): nonce = 4-byte fixed IV ‖ 8-byte explicit nonce from the
//!   record; ChaCha20-Poly1305 (RFC 7905) and TLS 1.3: nonce = 12-byte IV ⊕ sequence number.
//!   Additional data: seq ‖ type ‖ version ‖ plaintext length (1.2); the record header (1.3).
//!
//! Primitives are ring's (AES-GCM, ChaCha20-Poly1305) and RustCrypto's (the rest); nothing here
//! is a hand-written cipher.

use aes::cipher::{BlockDecryptMut, KeyIvInit, StreamCipher};
use cbc::cipher::block_padding::NoPadding;
use ccm::aead::{AeadInPlace, KeyInit};
use hmac::{Mac, SimpleHmac};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey};

use crate::suites::{Bulk, Hash};

type Ccm16<C> = ccm::Ccm<C, ccm::consts::U16, ccm::consts::U12>;
type Ccm8<C> = ccm::Ccm<C, ccm::consts::U8, ccm::consts::U12>;

/// Why a record did not decrypt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordError {
    /// The MAC or AEAD tag did not verify (wrong key, wrong key log entry, corrupted bytes).
    Auth,
    /// The record is too short or badly padded for this cipher.
    Malformed(&'static str),
}

enum Engine {
    Null,
    Rc4(Box<rc4::Rc4<rc4::consts::U16>>),
    Cbc {
        bulk: Bulk,
        key: Vec<u8>,
        implicit_iv: Option<Vec<u8>>,
    },
    /// AES-GCM and ChaCha20-Poly1305 through ring (several times faster than the portable
    /// GHASH on this hot path).
    Ring(Box<LessSafeKey>),
    Ccm128(Box<Ccm16<aes::Aes128>>),
    Ccm256(Box<Ccm16<aes::Aes256>>),
    Ccm8_128(Box<Ccm8<aes::Aes128>>),
    Ccm8_256(Box<Ccm8<aes::Aes256>>),
}

/// Keys of one direction.
pub struct KeyMaterial<'a> {
    pub mac_key: &'a [u8],
    pub key: &'a [u8],
    pub iv: &'a [u8],
}

/// The read state of one direction.
pub struct RecordCipher {
    engine: Engine,
    bulk: Bulk,
    mac: Option<(Hash, Vec<u8>)>,
    fixed_iv: Vec<u8>,
    pub seq: u64,
    tls13: bool,
    etm: bool,
    ssl3: bool,
}

impl RecordCipher {
    /// `mac` is the suite's MAC (None for AEAD); `tls13` selects the TLS 1.3 record format.
    pub fn new(
        bulk: Bulk,
        mac: Option<Hash>,
        k: &KeyMaterial<'_>,
        tls13: bool,
        etm: bool,
        version: u16,
    ) -> Option<RecordCipher> {
        let engine = match bulk {
            Bulk::Null => Engine::Null,
            Bulk::Rc4_128 => Engine::Rc4(Box::new(
                <rc4::Rc4<rc4::consts::U16> as rc4::KeyInit>::new_from_slice(k.key).ok()?,
            )),
            Bulk::Aes128Cbc | Bulk::Aes256Cbc | Bulk::TripleDesCbc => Engine::Cbc {
                bulk,
                key: k.key.to_vec(),
                implicit_iv: (version <= 0x0301).then(|| k.iv.to_vec()),
            },
            Bulk::Aes128Gcm => Engine::Ring(Box::new(LessSafeKey::new(
                UnboundKey::new(&ring::aead::AES_128_GCM, k.key).ok()?,
            ))),
            Bulk::Aes256Gcm => Engine::Ring(Box::new(LessSafeKey::new(
                UnboundKey::new(&ring::aead::AES_256_GCM, k.key).ok()?,
            ))),
            Bulk::Aes128Ccm => Engine::Ccm128(Box::new(Ccm16::new_from_slice(k.key).ok()?)),
            Bulk::Aes256Ccm => Engine::Ccm256(Box::new(Ccm16::new_from_slice(k.key).ok()?)),
            Bulk::Aes128Ccm8 => Engine::Ccm8_128(Box::new(Ccm8::new_from_slice(k.key).ok()?)),
            Bulk::Aes256Ccm8 => Engine::Ccm8_256(Box::new(Ccm8::new_from_slice(k.key).ok()?)),
            Bulk::Chacha20Poly1305 => Engine::Ring(Box::new(LessSafeKey::new(
                UnboundKey::new(&ring::aead::CHACHA20_POLY1305, k.key).ok()?,
            ))),
        };
        let mac = match mac {
            Some(h) if !bulk.is_aead() => Some((h, k.mac_key.to_vec())),
            _ => None,
        };
        let ssl3 = version == 0x0300;
        let etm = etm && !ssl3;
        Some(RecordCipher { engine, bulk, mac, fixed_iv: k.iv.to_vec(), seq: 0, tls13, etm, ssl3 })
    }

    /// Decrypt one record. Returns the content type (the inner one for TLS 1.3) and the
    /// plaintext. The sequence number advances only on success.
    pub fn decrypt(
        &mut self,
        ctype: u8,
        version: [u8; 2],
        frag: &[u8],
    ) -> Result<(u8, Vec<u8>), RecordError> {
        let out = if self.bulk.is_aead() {
            self.aead(ctype, version, frag)?
        } else {
            (ctype, self.mac_cipher(ctype, version, frag)?)
        };
        self.seq = self.seq.wrapping_add(1);
        Ok(out)
    }

    fn nonce_xor(&self) -> [u8; 12] {
        let mut n = [0u8; 12];
        for (o, i) in n.iter_mut().zip(self.fixed_iv.iter()) {
            *o = *i;
        }
        for (o, s) in n[4..].iter_mut().zip(self.seq.to_be_bytes()) {
            *o ^= s;
        }
        n
    }

    fn aead(
        &mut self,
        ctype: u8,
        version: [u8; 2],
        frag: &[u8],
    ) -> Result<(u8, Vec<u8>), RecordError> {
        let tag = self.bulk.tag_len();
        let explicit = !self.tls13 && self.bulk != Bulk::Chacha20Poly1305;
        let (nonce, body) = if explicit {
            let (e, body) = frag
                .split_at_checked(8)
                .ok_or(RecordError::Malformed("AEAD record shorter than its explicit nonce"))?;
            let mut n = [0u8; 12];
            n[..4]
                .copy_from_slice(self.fixed_iv.get(..4).ok_or(RecordError::Malformed("fixed IV"))?);
            n[4..].copy_from_slice(e);
            (n, body)
        } else {
            (self.nonce_xor(), frag)
        };
        let plen = body
            .len()
            .checked_sub(tag)
            .ok_or(RecordError::Malformed("AEAD record shorter than its tag"))?;
        let mut aad = Vec::with_capacity(13);
        if self.tls13 {
            aad.push(ctype);
            aad.extend_from_slice(&version);
            aad.extend_from_slice(&(frag.len() as u16).to_be_bytes());
        } else {
            aad.extend_from_slice(&self.seq.to_be_bytes());
            aad.push(ctype);
            aad.extend_from_slice(&version);
            aad.extend_from_slice(&(plen as u16).to_be_bytes());
        }
        let mut buf = body.to_vec();
        let n = ccm::aead::generic_array::GenericArray::from_slice(&nonce);
        let r = match &self.engine {
            Engine::Ring(k) => {
                let plain = k
                    .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(&aad), &mut buf)
                    .map_err(|_| RecordError::Auth)?
                    .len();
                buf.truncate(plain);
                Ok(())
            }
            Engine::Ccm128(c) => c.decrypt_in_place(n, &aad, &mut buf),
            Engine::Ccm256(c) => c.decrypt_in_place(n, &aad, &mut buf),
            Engine::Ccm8_128(c) => c.decrypt_in_place(n, &aad, &mut buf),
            Engine::Ccm8_256(c) => c.decrypt_in_place(n, &aad, &mut buf),
            _ => return Err(RecordError::Malformed("not an AEAD cipher")),
        };
        r.map_err(|_| RecordError::Auth)?;
        if !self.tls13 {
            return Ok((ctype, buf));
        }
        // TLSInnerPlaintext: content ‖ type ‖ zeros.
        let end = buf
            .iter()
            .rposition(|b| *b != 0)
            .ok_or(RecordError::Malformed("TLS 1.3 record with no content type"))?;
        let inner = buf.get(end).copied().unwrap_or(0);
        buf.truncate(end);
        Ok((inner, buf))
    }

    fn hmac(&self, parts: &[&[u8]]) -> Vec<u8> {
        fn run<D>(key: &[u8], parts: &[&[u8]]) -> Vec<u8>
        where
            D: hmac::digest::Digest + hmac::digest::core_api::BlockSizeUser,
        {
            // HMAC accepts keys of any length: the error case cannot happen.
            let Ok(mut m) = <SimpleHmac<D> as hmac::digest::KeyInit>::new_from_slice(key) else {
                return Vec::new();
            };
            for p in parts {
                m.update(p);
            }
            m.finalize().into_bytes().to_vec()
        }
        match &self.mac {
            Some((Hash::Md5, k)) => run::<md5::Md5>(k, parts),
            Some((Hash::Sha1, k)) => run::<sha1::Sha1>(k, parts),
            Some((Hash::Sha256, k)) => run::<sha2::Sha256>(k, parts),
            Some((Hash::Sha384, k)) => run::<sha2::Sha384>(k, parts),
            None => Vec::new(),
        }
    }

    /// The SSL 3.0 MAC (RFC 6101 §5.2.3.1).
    fn ssl3_mac(&self, parts: &[&[u8]]) -> Vec<u8> {
        fn run<D: sha2::Digest>(key: &[u8], pad: usize, parts: &[&[u8]]) -> Vec<u8> {
            let mut inner = D::new();
            inner.update(key);
            inner.update(vec![0x36; pad]);
            for p in parts {
                inner.update(p);
            }
            let mut outer = D::new();
            outer.update(key);
            outer.update(vec![0x5c; pad]);
            outer.update(inner.finalize());
            outer.finalize().to_vec()
        }
        match &self.mac {
            Some((Hash::Md5, k)) => run::<md5::Md5>(k, 48, parts),
            Some((Hash::Sha1, k)) => run::<sha1::Sha1>(k, 40, parts),
            _ => Vec::new(),
        }
    }

    fn check_mac(
        &self,
        ctype: u8,
        version: [u8; 2],
        data: &[u8],
        mac: &[u8],
    ) -> Result<(), RecordError> {
        let seq = self.seq.to_be_bytes();
        let len = (data.len() as u16).to_be_bytes();
        let want = if self.ssl3 {
            self.ssl3_mac(&[&seq, &[ctype], &len, data])
        } else {
            self.hmac(&[&seq, &[ctype], &version, &len, data])
        };
        if want.as_slice() == mac {
            Ok(())
        } else {
            Err(RecordError::Auth)
        }
    }

    fn mac_cipher(
        &mut self,
        ctype: u8,
        version: [u8; 2],
        frag: &[u8],
    ) -> Result<Vec<u8>, RecordError> {
        let mac_len = self.mac.as_ref().map(|m| m.0.size()).unwrap_or(0);
        let block = self.bulk.block_len();
        if block == 0 {
            let mut buf = frag.to_vec();
            if let Engine::Rc4(c) = &mut self.engine {
                c.apply_keystream(&mut buf);
            }
            let split = buf
                .len()
                .checked_sub(mac_len)
                .ok_or(RecordError::Malformed("record shorter than its MAC"))?;
            let mac = buf.split_off(split);
            self.check_mac(ctype, version, &buf, &mac)?;
            return Ok(buf);
        }
        let mut frag = frag;
        if self.etm {
            let split = frag
                .len()
                .checked_sub(mac_len)
                .ok_or(RecordError::Malformed("record shorter than its MAC"))?;
            let (ct, mac) = frag.split_at(split);
            self.check_mac(ctype, version, ct, mac)?;
            frag = ct;
        }
        let Engine::Cbc { bulk, key, implicit_iv } = &mut self.engine else {
            return Err(RecordError::Malformed("not a block cipher"));
        };
        let (iv, ct) = match implicit_iv {
            Some(iv) => (iv.clone(), frag),
            None => {
                let (iv, ct) = frag
                    .split_at_checked(block)
                    .ok_or(RecordError::Malformed("record shorter than its IV"))?;
                (iv.to_vec(), ct)
            }
        };
        if ct.is_empty() || ct.len() % block != 0 {
            return Err(RecordError::Malformed("ciphertext is not a whole number of blocks"));
        }
        let mut buf = ct.to_vec();
        let bad = |_| RecordError::Malformed("key or IV length");
        let dec = match bulk {
            Bulk::Aes128Cbc => cbc::Decryptor::<aes::Aes128>::new_from_slices(key, &iv)
                .map_err(bad)?
                .decrypt_padded_mut::<NoPadding>(&mut buf)
                .map(|_| ()),
            Bulk::Aes256Cbc => cbc::Decryptor::<aes::Aes256>::new_from_slices(key, &iv)
                .map_err(bad)?
                .decrypt_padded_mut::<NoPadding>(&mut buf)
                .map(|_| ()),
            _ => cbc::Decryptor::<des::TdesEde3>::new_from_slices(key, &iv)
                .map_err(bad)?
                .decrypt_padded_mut::<NoPadding>(&mut buf)
                .map(|_| ()),
        };
        dec.map_err(|_| RecordError::Malformed("block decryption"))?;
        if let Some(iv) = implicit_iv {
            *iv = ct.get(ct.len() - block..).unwrap_or_default().to_vec();
        }
        let pad = usize::from(*buf.last().unwrap_or(&0));
        let unpadded = buf.len().checked_sub(pad + 1).ok_or(RecordError::Auth)?;
        let padding = buf.get(unpadded..).unwrap_or_default();
        let bad_padding =
            if self.ssl3 { pad >= block } else { padding.iter().any(|b| usize::from(*b) != pad) };
        if bad_padding {
            return Err(RecordError::Auth);
        }
        buf.truncate(unpadded);
        if !self.etm {
            let split = buf.len().checked_sub(mac_len).ok_or(RecordError::Auth)?;
            let mac = buf.split_off(split);
            self.check_mac(ctype, version, &buf, &mac)?;
        }
        Ok(buf)
    }
}
