//! The protocol analyzers on a second core.
//!
//! The reading thread (capture → decode → flows) records what the engine hands to the
//! analyzers — stream bytes, gaps, ends, datagrams — and every finished conversation, in order,
//! into batches; a worker thread replays each batch into the real handler. The handler sees
//! exactly the calls, in exactly the order, it would see on one thread, so the results are the
//! same; only the work is spread over two cores.
//!
//! Memory: at most `QUEUED + SPARES + 2` batches exist at once (queued, kept for reuse, being
//! filled, being replayed), each about [`BATCH_BYTES`] of payload (one segment may overshoot).

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use tracehound_flows::{Conversation, Dir, FlowInfo, StreamHandler, Timestamp};

/// Payload bytes after which a batch is sent.
const BATCH_BYTES: usize = 1 << 20;
/// Events after which a batch is sent.
const BATCH_EVENTS: usize = 16 * 1024;
/// Batches waiting for the worker.
const QUEUED: usize = 2;
/// Emptied batches kept for reuse.
const SPARES: usize = 2;

/// One recorded handler call. Payload lives in the batch's byte arena.
enum Ev {
    Data { flow: FlowInfo, dir: Dir, offset: u64, start: usize, len: usize, frame: u64, ts: Timestamp },
    Gap { flow: FlowInfo, dir: Dir, offset: u64, len: u64, frame: u64, ts: Timestamp },
    End { flow: FlowInfo, ts: Timestamp },
    Udp { flow: FlowInfo, dir: Dir, start: usize, len: usize, frame: u64, ts: Timestamp },
    /// The next conversation of the batch's list has finished.
    Conv,
    /// The reader's periodic point (drain analyzer output).
    Tick,
}

#[derive(Default)]
struct Batch {
    evs: Vec<Ev>,
    bytes: Vec<u8>,
    convs: Vec<Conversation>,
}

impl Batch {
    fn full(&self) -> bool {
        self.bytes.len() >= BATCH_BYTES || self.evs.len() >= BATCH_EVENTS
    }
}

/// The reading thread's side: a [`StreamHandler`] that records.
pub struct Recorder {
    cur: Batch,
    tx: SyncSender<Batch>,
    free: Receiver<Batch>,
    /// The worker has gone (it panicked); nothing more is sent.
    closed: bool,
}

impl Recorder {
    fn push_bytes(&mut self, data: &[u8]) -> usize {
        let start = self.cur.bytes.len();
        self.cur.bytes.extend_from_slice(data);
        start
    }

    fn pushed(&mut self, ev: Ev) {
        self.cur.evs.push(ev);
        if self.cur.full() {
            self.flush();
        }
    }

    /// Hand over the current batch.
    pub fn flush(&mut self) {
        if self.cur.evs.is_empty() || self.closed {
            return;
        }
        let next = self.free.try_recv().unwrap_or_default();
        let b = std::mem::replace(&mut self.cur, next);
        if self.tx.send(b).is_err() {
            self.closed = true;
        }
    }

    /// A conversation has finished (after the data events recorded before it).
    pub fn conversation(&mut self, c: Conversation) {
        self.cur.convs.push(c);
        self.pushed(Ev::Conv);
    }

    /// The periodic drain point.
    pub fn tick(&mut self) {
        self.pushed(Ev::Tick);
    }
}

impl StreamHandler for Recorder {
    fn tcp_data(&mut self, flow: &FlowInfo, dir: Dir, offset: u64, data: &[u8], frame: u64, ts: Timestamp) {
        let start = self.push_bytes(data);
        self.pushed(Ev::Data { flow: *flow, dir, offset, start, len: data.len(), frame, ts });
    }
    fn tcp_gap(&mut self, flow: &FlowInfo, dir: Dir, offset: u64, len: u64, frame: u64, ts: Timestamp) {
        self.pushed(Ev::Gap { flow: *flow, dir, offset, len, frame, ts });
    }
    fn tcp_end(&mut self, flow: &FlowInfo, ts: Timestamp) {
        self.pushed(Ev::End { flow: *flow, ts });
    }
    fn udp(&mut self, flow: &FlowInfo, dir: Dir, data: &[u8], frame: u64, ts: Timestamp) {
        let start = self.push_bytes(data);
        self.pushed(Ev::Udp { flow: *flow, dir, start, len: data.len(), frame, ts });
    }
}

/// The worker's side: replays batches into the handler.
pub struct Replayer {
    rx: Receiver<Batch>,
    back: SyncSender<Batch>,
}

impl Replayer {
    /// Replay until the recorder is dropped.
    pub fn run<H: StreamHandler>(
        self,
        h: &mut H,
        on_conv: &mut dyn FnMut(Conversation, &mut H),
        tick: &mut dyn FnMut(&mut H),
    ) {
        for mut b in self.rx.iter() {
            let mut convs = std::mem::take(&mut b.convs).into_iter();
            for ev in b.evs.drain(..) {
                match ev {
                    Ev::Data { flow, dir, offset, start, len, frame, ts } => {
                        let data = b.bytes.get(start..start + len).unwrap_or(&[]);
                        h.tcp_data(&flow, dir, offset, data, frame, ts);
                    }
                    Ev::Gap { flow, dir, offset, len, frame, ts } => h.tcp_gap(&flow, dir, offset, len, frame, ts),
                    Ev::End { flow, ts } => h.tcp_end(&flow, ts),
                    Ev::Udp { flow, dir, start, len, frame, ts } => {
                        let data = b.bytes.get(start..start + len).unwrap_or(&[]);
                        h.udp(&flow, dir, data, frame, ts);
                    }
                    Ev::Conv => {
                        if let Some(c) = convs.next() {
                            on_conv(c, h);
                        }
                    }
                    Ev::Tick => tick(h),
                }
            }
            b.bytes.clear();
            // Recycle the allocation; when the reader has enough spares, let it go.
            let _ = self.back.try_send(b);
        }
    }
}

/// A connected recorder / replayer pair.
pub fn channel() -> (Recorder, Replayer) {
    let (tx, rx) = sync_channel(QUEUED);
    let (back, free) = sync_channel(SPARES);
    (Recorder { cur: Batch::default(), tx, free, closed: false }, Replayer { rx, back })
}
