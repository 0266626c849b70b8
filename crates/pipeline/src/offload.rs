//! The protocol analyzers on other cores.
//!
//! The reading thread (capture → decode → flows) records what the engine hands to the
//! analyzers — stream bytes, gaps, ends, datagrams — and every finished conversation, in order,
//! into batches. Each worker thread replays every batch into its own handler: the main worker
//! also gets the finished conversations and the periodic drain points, a side worker (another
//! analyzer that needs neither) only the stream events. Each handler sees exactly the calls, in
//! exactly the order, it would see on one thread, so the results are the same; only the work
//! is spread over the cores.
//!
//! Memory: a bounded number of batches exist at once (`QUEUED` waiting per worker, `SPARES`
//! kept for reuse, one being filled, one being replayed per worker), each about
//! [`BATCH_BYTES`] of payload (one segment may overshoot).

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracehound_flows::{Conversation, Dir, FlowInfo, StreamHandler, Timestamp};

/// Payload bytes after which a batch is sent.
const BATCH_BYTES: usize = 1 << 20;
/// Events after which a batch is sent.
const BATCH_EVENTS: usize = 16 * 1024;
/// Batches waiting for a worker.
const QUEUED: usize = 2;
/// Emptied batches kept for reuse.
const SPARES: usize = 2;

/// One recorded handler call. Payload lives in the batch's byte arena.
enum Ev {
    Data {
        flow: FlowInfo,
        dir: Dir,
        offset: u64,
        start: usize,
        len: usize,
        frame: u64,
        ts: Timestamp,
    },
    Gap {
        flow: FlowInfo,
        dir: Dir,
        offset: u64,
        len: u64,
        frame: u64,
        ts: Timestamp,
    },
    End {
        flow: FlowInfo,
        ts: Timestamp,
    },
    Udp {
        flow: FlowInfo,
        dir: Dir,
        start: usize,
        len: usize,
        frame: u64,
        ts: Timestamp,
    },
    /// The next conversation of the batch's list has finished.
    Conv,
    /// The reader's periodic point (drain analyzer output).
    Tick,
}

#[derive(Default)]
struct Batch {
    evs: Vec<Ev>,
    bytes: Vec<u8>,
}

/// What a worker receives: the shared events, and (main worker only) the conversations.
type Parcel = (Arc<Batch>, Vec<Conversation>);

/// The reading thread's side: a [`StreamHandler`] that records.
pub struct Recorder {
    cur: Batch,
    convs: Vec<Conversation>,
    main: SyncSender<Parcel>,
    side: Option<SyncSender<Parcel>>,
    free: Receiver<Batch>,
    /// A worker has gone (it panicked); nothing more is sent.
    closed: bool,
}

impl Recorder {
    fn push_bytes(&mut self, data: &[u8]) -> usize {
        let start = self.cur.bytes.len();
        self.cur.bytes.extend_from_slice(data);
        start
    }

    fn pushed(&mut self, ev: Ev) {
        if self.closed {
            // A worker has gone: keep nothing (its panic is raised when the pass ends).
            self.cur.evs.clear();
            self.cur.bytes.clear();
            self.convs.clear();
            return;
        }
        self.cur.evs.push(ev);
        if self.cur.bytes.len() >= BATCH_BYTES || self.cur.evs.len() >= BATCH_EVENTS {
            self.flush();
        }
    }

    /// Hand over the current batch.
    pub fn flush(&mut self) {
        if self.cur.evs.is_empty() || self.closed {
            return;
        }
        let next = self.free.try_recv().unwrap_or_default();
        let b = Arc::new(std::mem::replace(&mut self.cur, next));
        // The next batch's list starts with this one's room (no regrowth from empty).
        let room = self.convs.capacity().min(4096);
        let convs = std::mem::replace(&mut self.convs, Vec::with_capacity(room));
        if let Some(side) = &self.side {
            if side.send((Arc::clone(&b), Vec::new())).is_err() {
                self.closed = true;
            }
        }
        if self.main.send((b, convs)).is_err() {
            self.closed = true;
        }
    }

    /// A conversation has finished (after the data events recorded before it).
    pub fn conversation(&mut self, c: Conversation) {
        self.convs.push(c);
        self.pushed(Ev::Conv);
    }

    /// The periodic drain point.
    pub fn tick(&mut self) {
        self.pushed(Ev::Tick);
    }
}

impl StreamHandler for Recorder {
    fn tcp_data(
        &mut self,
        flow: &FlowInfo,
        dir: Dir,
        offset: u64,
        data: &[u8],
        frame: u64,
        ts: Timestamp,
    ) {
        let start = self.push_bytes(data);
        self.pushed(Ev::Data { flow: *flow, dir, offset, start, len: data.len(), frame, ts });
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

/// A worker's side: replays batches into its handler.
pub struct Replayer {
    name: &'static str,
    rx: Receiver<Parcel>,
    back: SyncSender<Batch>,
}

impl Replayer {
    /// Replay until the recorder is dropped. `on_conv` and `tick` are only called on the main
    /// worker.
    pub fn run<H: StreamHandler>(
        self,
        h: &mut H,
        on_conv: &mut dyn FnMut(Conversation, &mut H),
        tick: &mut dyn FnMut(&mut H),
    ) {
        let (mut busy, mut idle) = (Duration::ZERO, Duration::ZERO);
        let mut t = Instant::now();
        for (b, convs) in self.rx.iter() {
            idle += t.elapsed();
            t = Instant::now();
            let mut convs = convs.into_iter();
            for ev in &b.evs {
                match *ev {
                    Ev::Data { flow, dir, offset, start, len, frame, ts } => {
                        let data = b.bytes.get(start..start + len).unwrap_or(&[]);
                        h.tcp_data(&flow, dir, offset, data, frame, ts);
                    }
                    Ev::Gap { flow, dir, offset, len, frame, ts } => {
                        h.tcp_gap(&flow, dir, offset, len, frame, ts)
                    }
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
            // The last worker done with a batch hands it back for reuse (when the reader has
            // room for another spare).
            if let Ok(mut b) = Arc::try_unwrap(b) {
                b.evs.clear();
                b.bytes.clear();
                let _ = self.back.try_send(b);
            }
            busy += t.elapsed();
            t = Instant::now();
        }
        if std::env::var_os("TRACEHOUND_TIMINGS").is_some() {
            eprintln!(
                "tracehound: timings: {} thread busy {:.3} s, waiting {:.3} s",
                self.name,
                busy.as_secs_f64(),
                idle.as_secs_f64()
            );
        }
    }
}

/// A recorder connected to a main worker and, with `side`, a second one.
pub fn channel(side: bool) -> (Recorder, Replayer, Option<Replayer>) {
    let (back, free) = sync_channel(SPARES);
    let (main_tx, main_rx) = sync_channel(QUEUED);
    let main = Replayer { name: "first analyzer", rx: main_rx, back: back.clone() };
    let (side_tx, side) = if side {
        let (tx, rx) = sync_channel(QUEUED);
        (Some(tx), Some(Replayer { name: "second analyzer", rx, back }))
    } else {
        (None, None)
    };
    let rec = Recorder {
        cur: Batch::default(),
        convs: Vec::new(),
        main: main_tx,
        side: side_tx,
        free,
        closed: false,
    };
    (rec, main, side)
}
