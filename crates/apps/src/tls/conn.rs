//! The record layer of one TLS connection: records read from each direction's byte
//! stream, handshake messages reassembled across records and handed to the decoders in
//! [`super::hello`] and [`crate::cert`], alerts and ChangeCipherSpec noted, application
//! data counted and skipped.

use super::{
    alert_name, client_hello, looks_like, server_hello, sslv2_client_hello, sslv2_hello_len, Alert,
    Side, TlsSession, MAX_ALERTS, MAX_CERTS, MAX_HANDSHAKE,
};
use crate::cert;
use crate::reader::{printable, ParseError, Reader};
use crate::stream::{by_dir, by_dir_mut, At, Stream};
use crate::Issues;
use tracehound_flows::FlowInfo;

/// TLS state of one TCP connection.
pub(crate) struct Conn {
    pub s: TlsSession,
    hs: [Vec<u8>; 2],
    dead: [bool; 2],
}

fn side(i: usize) -> Side {
    if i == 0 {
        Side::Client
    } else {
        Side::Server
    }
}

impl Conn {
    pub fn new(flow: FlowInfo) -> Conn {
        Conn { s: TlsSession::new(flow), hs: [Vec::new(), Vec::new()], dead: [false; 2] }
    }

    /// Bytes held in handshake reassembly buffers.
    pub fn buffered(&self) -> usize {
        self.hs.iter().map(Vec::len).sum()
    }

    pub fn lose_sync(&mut self, d: usize) {
        if let Some(x) = self.dead.get_mut(d) {
            *x = true;
        }
        if let Some(b) = self.hs.get_mut(d) {
            *b = Vec::new();
        }
        self.s.lost_sync = true;
    }

    /// Parse every complete record in `st` (direction index `d`: 0 client, 1 server).
    pub fn feed(
        &mut self,
        d: usize,
        st: &mut Stream,
        issues: &mut Issues,
        certs: &mut cert::Cache,
    ) {
        if self.dead.get(d).copied().unwrap_or(true) {
            let n = st.data().len() as u64;
            st.consume(n);
            return;
        }
        if d == 1 && self.s.first_server_frame.is_none() && !st.data().is_empty() {
            self.s.first_server_frame = Some(st.at(0).frame);
        }
        loop {
            let data = st.data();
            if data.len() < 5 {
                return;
            }
            if d == 0 && self.s.bytes[0] == 0 && sslv2_hello_len(data).is_some() {
                let Some(total) = sslv2_hello_len(data) else { return };
                if data.len() < total {
                    return;
                }
                let at = st.at(total - 1);
                let body = data.get(2..total).unwrap_or(&[]).to_vec();
                st.consume(total as u64);
                self.s.bytes[0] = total as u64;
                self.s.event(at.frame, Side::Client, "SSLv2 ClientHello");
                match sslv2_client_hello(&body, at) {
                    Ok(ch) => {
                        self.s.client_hellos = 1;
                        self.s.client_hello = Some(ch);
                    }
                    Err(e) => issues.add(at.frame, format!("TLS SSLv2 ClientHello: {e}")),
                }
                continue;
            }
            if !looks_like(data) {
                if d == 1 && self.s.bytes[1] == 0 {
                    self.s.server_not_tls =
                        Some(printable(data.get(..data.len().min(32)).unwrap_or(&[]), 32));
                }
                issues.add(
                    st.at(0).frame,
                    format!(
                        "TLS: not a record header ({}), stopped following the {:?} side",
                        printable(data.get(..5).unwrap_or(&[]), 5),
                        side(d)
                    ),
                );
                self.lose_sync(d);
                let n = data.len() as u64;
                st.consume(n);
                return;
            }
            let ctype = data.first().copied().unwrap_or(0);
            let len = u16::from_be_bytes([
                data.get(3).copied().unwrap_or(0),
                data.get(4).copied().unwrap_or(0),
            ]) as usize;
            let total = 5 + len;
            if ctype == 23 {
                // application data: note it and skip without buffering
                let at = st.at(0);
                self.app_data(d, at, len);
                let bytes = by_dir_mut(&mut self.s.bytes, d);
                *bytes = bytes.saturating_add(total as u64);
                st.consume(total as u64);
                continue;
            }
            if data.len() < total {
                return;
            }
            let at = st.at(total - 1);
            let frag = data.get(5..total).unwrap_or(&[]).to_vec();
            st.consume(total as u64);
            let bytes = by_dir_mut(&mut self.s.bytes, d);
            *bytes = bytes.saturating_add(total as u64);
            self.record(d, ctype, &frag, at, issues, certs);
        }
    }

    fn app_data(&mut self, d: usize, at: At, len: usize) {
        if let Some(last) = self.s.last_app_data.get_mut(d) {
            *last = Some((at.frame, u16::try_from(len).unwrap_or(u16::MAX)));
        }
        let first = by_dir_mut(&mut self.s.app_data_frames, d);
        if first.is_none() {
            *first = Some(at.frame);
            self.s.event(at.frame, side(d), "application data");
        }
        let records = by_dir_mut(&mut self.s.app_data_records, d);
        *records = records.saturating_add(1);
        if d == 1 && self.s.app_data_records[0] > 0 {
            self.s.server_data_after_client = true;
        }
    }

    fn encrypted(&self, d: usize) -> bool {
        by_dir(&self.s.ccs_frames, d).is_some() && !self.s.tls13()
    }

    fn record(
        &mut self,
        d: usize,
        ctype: u8,
        frag: &[u8],
        at: At,
        issues: &mut Issues,
        certs: &mut cert::Cache,
    ) {
        match ctype {
            20 => {
                let ccs = by_dir_mut(&mut self.s.ccs_frames, d);
                if ccs.is_none() {
                    *ccs = Some(at.frame);
                    self.s.event(at.frame, side(d), "ChangeCipherSpec");
                }
            }
            21 => {
                let enc = self.encrypted(d) || frag.len() != 2;
                let a = if enc {
                    Alert {
                        frame: at.frame,
                        ts: at.ts,
                        from: side(d),
                        level: None,
                        description: None,
                        name: "encrypted alert".into(),
                        encrypted: true,
                    }
                } else {
                    let level = frag.first().copied().unwrap_or(0);
                    let desc = frag.get(1).copied().unwrap_or(0);
                    Alert {
                        frame: at.frame,
                        ts: at.ts,
                        from: side(d),
                        level: Some(level),
                        description: Some(desc),
                        name: alert_name(desc),
                        encrypted: false,
                    }
                };
                self.s.event(at.frame, side(d), format!("alert {}", a.name));
                if self.s.alerts.len() < MAX_ALERTS {
                    self.s.alerts.push(a);
                }
            }
            22 => {
                if self.encrypted(d) {
                    self.s.event(at.frame, side(d), "encrypted handshake message");
                    return;
                }
                let Some(buf) = self.hs.get_mut(d) else { return };
                if buf.len().saturating_add(frag.len()) > MAX_HANDSHAKE {
                    issues.add(at.frame, format!("TLS: handshake message over {MAX_HANDSHAKE} bytes, stopped following the {:?} side", side(d)));
                    self.lose_sync(d);
                    return;
                }
                buf.extend_from_slice(frag);
                loop {
                    let buf = match self.hs.get(d) {
                        Some(b) => b,
                        None => return,
                    };
                    if buf.len() < 4 {
                        break;
                    }
                    let mtype = buf.first().copied().unwrap_or(0);
                    let mlen = buf
                        .get(1..4)
                        .map(|b| b.iter().fold(0usize, |a, &x| (a << 8) | x as usize))
                        .unwrap_or(0);
                    if mlen > MAX_HANDSHAKE {
                        issues.add(
                            at.frame,
                            format!("TLS: handshake message type {mtype} claims {mlen} bytes"),
                        );
                        self.lose_sync(d);
                        return;
                    }
                    if buf.len() < 4 + mlen {
                        break;
                    }
                    let body = buf.get(4..4 + mlen).unwrap_or(&[]).to_vec();
                    if let Some(b) = self.hs.get_mut(d) {
                        b.drain(..4 + mlen);
                    }
                    if let Err(e) = self.handshake(d, mtype, &body, at, certs) {
                        issues.add(at.frame, format!("TLS {}: {e}", hs_name(mtype)));
                    }
                }
            }
            _ => {
                // 24 heartbeat
                self.s.event(at.frame, side(d), format!("record type {ctype}"));
            }
        }
    }

    fn handshake(
        &mut self,
        d: usize,
        mtype: u8,
        body: &[u8],
        at: At,
        certs: &mut cert::Cache,
    ) -> Result<(), ParseError> {
        self.s.event(at.frame, side(d), hs_name(mtype));
        match (d, mtype) {
            (0, 1) => {
                let ch = client_hello(body, at)?;
                self.s.client_hellos = self.s.client_hellos.saturating_add(1);
                if self.s.client_hello.is_none() {
                    self.s.client_hello = Some(ch);
                }
            }
            (1, 2) => {
                let sh = server_hello(body, at)?;
                if sh.retry {
                    self.s.hello_retry = Some(sh);
                } else if self.s.server_hello.is_none() {
                    self.s.server_hello = Some(sh);
                }
            }
            (1, 11) => {
                if self.s.tls13() {
                    return Ok(());
                }
                self.s.certificate_frame = Some(at.frame);
                let mut r = Reader::new(body);
                let mut list = r.vec(3, "certificate_list")?;
                while !list.is_empty() {
                    let der = list.vec(3, "certificate")?;
                    if self.s.certificates.len() >= MAX_CERTS {
                        continue;
                    }
                    match certs.parse(der.rest()) {
                        Ok(c) => self.s.certificates.push(c),
                        Err(e) => {
                            if self.s.certificate_errors.len() < MAX_CERTS {
                                self.s.certificate_errors.push(e.clone());
                            }
                            return Err(ParseError::invalid("certificate", der.offset(), e));
                        }
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// End of the connection: decide the outcome.
    pub fn finish(mut self) -> TlsSession {
        self.s.decide();
        self.s
    }
}

fn hs_name(t: u8) -> crate::Text {
    let s = match t {
        0 => "HelloRequest",
        1 => "ClientHello",
        2 => "ServerHello",
        4 => "NewSessionTicket",
        8 => "EncryptedExtensions",
        11 => "Certificate",
        12 => "ServerKeyExchange",
        13 => "CertificateRequest",
        14 => "ServerHelloDone",
        15 => "CertificateVerify",
        16 => "ClientKeyExchange",
        20 => "Finished",
        22 => "CertificateStatus",
        n => return format!("handshake type {n}").into(),
    };
    s.into()
}
