//! Decrypting in front of other analyzers: [`TlsPlaintext`] is a [`StreamHandler`] that sits
//! between the flows layer and any other handler (the application or DCE/RPC analyzers) and
//! hands them, for each TCP connection, either its plaintext (a TLS session that decrypts)
//! or its bytes unchanged (anything else, and TLS sessions that cannot be opened).
//!
//! A connection's first bytes are held (at most [`MAX_PENDING`] per connection) until it is
//! known whether it decrypts; then they are either dropped (TLS handshake, replaced by the
//! plaintext that follows) or delivered as they were. Plaintext offsets count plaintext
//! bytes, so the inner handler sees an ordinary in-order stream. The verdicts are collected
//! in [`TlsPlaintext::reports`] (via the inner [`Decryptor`]), the keys that matched no
//! certificate in [`TlsPlaintext::unmatched_keys`].

use std::collections::HashMap;

use tracehound_flows::{Dir, FlowId, FlowInfo, StreamHandler, Timestamp};

use crate::kex::Shared;
use crate::rewrite::Event;
use crate::run::Decryptor;
use crate::verdict::SessionReport;

/// Bytes held per connection while its fate is unknown.
pub const MAX_PENDING: usize = 1 << 18;

type Held = (Dir, u64, Vec<u8>, u64, Timestamp);

enum Mode {
    Pending(Vec<Held>, usize),
    Plain,
    Raw,
}

/// Decrypts TLS connections and feeds their plaintext (else the original bytes) to `inner`.
pub struct TlsPlaintext<H: StreamHandler> {
    pub inner: H,
    dec: Decryptor<'static>,
    modes: HashMap<FlowId, Mode>,
    /// Connections whose held bytes reached [`MAX_PENDING`] before a decision (passed on raw).
    pub pending_overflows: u64,
}

impl<H: StreamHandler> TlsPlaintext<H> {
    pub fn new(inner: H, shared: Shared) -> Self {
        TlsPlaintext {
            inner,
            dec: Decryptor::new(shared, true, None),
            modes: HashMap::new(),
            pending_overflows: 0,
        }
    }

    /// Verdicts of the TLS connections that have ended so far.
    pub fn reports(&self) -> &[SessionReport] {
        &self.dec.reports
    }

    /// The keys given (`--key`) that matched no server certificate in the traffic seen so
    /// far, as "SOURCE (N-bit RSA)" — for `analyze` / `rpc` / `conversations` to report, as
    /// `tracehound decrypt` does ([`crate::Outcome::unmatched_keys`]).
    pub fn unmatched_keys(&self) -> Vec<String> {
        self.dec.shared.unmatched_keys()
    }

    /// How many server certificates were compared with the keys (TLS ≤ 1.2 handshakes): with
    /// none, a key's not matching says nothing about it.
    pub fn certificates_compared(&self) -> u64 {
        self.dec.shared.certificates_compared
    }

    fn flush_raw(&mut self, flow: &FlowInfo, held: Vec<Held>) {
        for (dir, off, data, frame, ts) in held {
            self.inner.tcp_data(flow, dir, off, &data, frame, ts);
        }
    }

    /// Apply the decryptor's events for this call; `raw` is the call's own bytes.
    fn route(&mut self, flow: &FlowInfo, raw: Held) {
        let mut raw = Some(raw);
        for ev in self.dec.take_events() {
            match ev {
                Event::Decided { flow: f, decrypt, .. } => {
                    let prev =
                        self.modes.insert(f.id, if decrypt { Mode::Plain } else { Mode::Raw });
                    if !decrypt {
                        let mut held = match prev {
                            Some(Mode::Pending(h, _)) => h,
                            _ => Vec::new(),
                        };
                        if f.id == flow.id {
                            held.extend(raw.take());
                        }
                        self.flush_raw(&f, held);
                    } else if f.id == flow.id {
                        raw = None;
                    }
                }
                Event::Plain { flow: f, dir, data, plain_end, .. } => {
                    let d = if dir == 0 { Dir::Orig } else { Dir::Resp };
                    let (frame, ts) =
                        raw.as_ref().map(|r| (r.3, r.4)).unwrap_or((0, Timestamp::ZERO));
                    let start = plain_end.saturating_sub(data.len() as u64);
                    self.inner.tcp_data(&f, d, start, &data, frame, ts);
                    if f.id == flow.id {
                        raw = None;
                    }
                }
                Event::Ended { .. } => {}
            }
        }
        let Some(raw) = raw else { return };
        match self.modes.entry(flow.id).or_insert(Mode::Pending(Vec::new(), 0)) {
            Mode::Raw => self.inner.tcp_data(flow, raw.0, raw.1, &raw.2, raw.3, raw.4),
            Mode::Plain => {}
            Mode::Pending(held, size) => {
                *size += raw.2.len();
                held.push(raw);
                if *size > MAX_PENDING {
                    self.pending_overflows += 1;
                    if let Some(Mode::Pending(h, _)) = self.modes.insert(flow.id, Mode::Raw) {
                        self.flush_raw(flow, h);
                    }
                }
            }
        }
    }
}

impl<H: StreamHandler> StreamHandler for TlsPlaintext<H> {
    fn tcp_data(
        &mut self,
        flow: &FlowInfo,
        dir: Dir,
        offset: u64,
        data: &[u8],
        frame: u64,
        ts: Timestamp,
    ) {
        self.dec.tcp_data(flow, dir, offset, data, frame, ts);
        self.route(flow, (dir, offset, data.to_vec(), frame, ts));
    }

    fn tcp_gap(
        &mut self,
        flow: &FlowInfo,
        dir: Dir,
        offset: u64,
        len: u64,
        frame: u64,
        ts: Timestamp,
    ) {
        self.dec.tcp_gap(flow, dir, offset, len, frame, ts);
        if matches!(self.modes.get(&flow.id), Some(Mode::Raw)) {
            self.inner.tcp_gap(flow, dir, offset, len, frame, ts);
        }
    }

    fn tcp_end(&mut self, flow: &FlowInfo, ts: Timestamp) {
        self.dec.tcp_end(flow, ts);
        let _ = self.dec.take_events();
        if let Some(Mode::Pending(h, _)) = self.modes.remove(&flow.id) {
            self.flush_raw(flow, h);
        }
        self.inner.tcp_end(flow, ts);
    }

    fn udp(&mut self, flow: &FlowInfo, dir: Dir, data: &[u8], frame: u64, ts: Timestamp) {
        self.inner.udp(flow, dir, data, frame, ts);
    }
}

#[cfg(test)]
mod tests {
    /// The adapter can run on the analysis worker threads (`run_file_parallel` needs `Send`).
    #[test]
    fn adapter_is_send() {
        fn send<T: Send>() {}
        send::<super::TlsPlaintext<tracehound_flows::NoHandler>>();
    }
}
