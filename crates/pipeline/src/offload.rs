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
//! Bytes that lie in the memory map of the capture file (an in-order segment is the frame's
//! own payload) are recorded as their position in the map, not copied: on bulk transfers the
//! copy was a quarter of the reading thread's time. Other bytes (reassembled out-of-order
//! data, streamed or Windows-format input) are copied into the batch.
//!
//! Memory: a bounded number of batches exist at once (`QUEUED` waiting per worker, `SPARES`
//! kept for reuse, one being filled, one being replayed per worker), each about
//! [`BATCH_BYTES`] of payload, copied or in the map (one segment may overshoot): the workers
//! read the map at most about four batches behind the reader, inside the part the reader
//! keeps mapped in (`tracehound_capture`'s release lag).

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracehound_capture::SharedMap;
use tracehound_flows::{Conversation, Dir, FlowInfo, StreamHandler, Timestamp};

/// Payload bytes (copied or in the map) after which a batch is sent.
const BATCH_BYTES: usize = 1 << 20;
/// Events after which a batch is sent.
const BATCH_EVENTS: usize = 16 * 1024;
/// Batches waiting for a worker.
const QUEUED: usize = 2;
/// Emptied batches kept for reuse.
const SPARES: usize = 2;

/// Where a recorded payload is: `start..start + len` of the batch's byte arena or, with
/// `mapped`, of the capture file's map.
#[derive(Clone, Copy)]
struct Bytes {
    start: usize,
    len: usize,
    mapped: bool,
}

/// One recorded handler call.
enum Ev {
    Data {
        flow: FlowInfo,
        dir: Dir,
        offset: u64,
        bytes: Bytes,
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
        bytes: Bytes,
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
    /// Payload bytes recorded as positions in the map.
    mapped: usize,
}

impl Batch {
    fn clear(&mut self) {
        self.evs.clear();
        self.bytes.clear();
        self.mapped = 0;
    }
}

/// What a worker receives: the shared events, and (main worker only) the conversations.
type Parcel = (Arc<Batch>, Vec<Conversation>);

/// The reading thread's side: a [`StreamHandler`] that records.
pub struct Recorder {
    cur: Batch,
    map: Option<SharedMap>,
    convs: Vec<Conversation>,
    main: SyncSender<Parcel>,
    side: Option<SyncSender<Parcel>>,
    free: Receiver<Batch>,
    /// A worker has gone (it panicked); nothing more is sent.
    closed: bool,
}

impl Recorder {
    fn push_bytes(&mut self, data: &[u8]) -> Bytes {
        if let Some(start) = self.map.as_ref().and_then(|m| m.locate(data)) {
            self.cur.mapped += data.len();
            return Bytes { start, len: data.len(), mapped: true };
        }
        let start = self.cur.bytes.len();
        self.cur.bytes.extend_from_slice(data);
        Bytes { start, len: data.len(), mapped: false }
    }

    fn pushed(&mut self, ev: Ev) {
        if self.closed {
            // A worker has gone: keep nothing (its panic is raised when the pass ends).
            self.cur.clear();
            self.convs.clear();
            return;
        }
        self.cur.evs.push(ev);
        if self.cur.bytes.len() + self.cur.mapped >= BATCH_BYTES
            || self.cur.evs.len() >= BATCH_EVENTS
        {
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
        let bytes = self.push_bytes(data);
        self.pushed(Ev::Data { flow: *flow, dir, offset, bytes, frame, ts });
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
        let bytes = self.push_bytes(data);
        self.pushed(Ev::Udp { flow: *flow, dir, bytes, frame, ts });
    }
}

/// A worker's side: replays batches into its handler.
pub struct Replayer {
    name: &'static str,
    map: Option<SharedMap>,
    rx: Receiver<Parcel>,
    back: SyncSender<Batch>,
}

impl Replayer {
    /// The bytes a recorded payload names.
    fn bytes<'b>(&'b self, b: &'b Batch, p: Bytes) -> &'b [u8] {
        let from =
            if p.mapped { self.map.as_ref().map(SharedMap::bytes) } else { Some(&b.bytes[..]) };
        from.and_then(|v| v.get(p.start..p.start.saturating_add(p.len))).unwrap_or(&[])
    }

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
                    Ev::Data { flow, dir, offset, bytes, frame, ts } => {
                        h.tcp_data(&flow, dir, offset, self.bytes(&b, bytes), frame, ts);
                    }
                    Ev::Gap { flow, dir, offset, len, frame, ts } => {
                        h.tcp_gap(&flow, dir, offset, len, frame, ts)
                    }
                    Ev::End { flow, ts } => h.tcp_end(&flow, ts),
                    Ev::Udp { flow, dir, bytes, frame, ts } => {
                        h.udp(&flow, dir, self.bytes(&b, bytes), frame, ts);
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
                b.clear();
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

/// A recorder connected to a main worker and, with `side`, a second one. With `map` (the
/// capture file's, when the frames are read from it), bytes inside it are passed by position.
pub fn channel(side: bool, map: Option<SharedMap>) -> (Recorder, Replayer, Option<Replayer>) {
    let (back, free) = sync_channel(SPARES);
    let (main_tx, main_rx) = sync_channel(QUEUED);
    let main =
        Replayer { name: "first analyzer", map: map.clone(), rx: main_rx, back: back.clone() };
    let (side_tx, side) = if side {
        let (tx, rx) = sync_channel(QUEUED);
        (Some(tx), Some(Replayer { name: "second analyzer", map: map.clone(), rx, back }))
    } else {
        (None, None)
    };
    let rec = Recorder {
        cur: Batch::default(),
        map,
        convs: Vec::new(),
        main: main_tx,
        side: side_tx,
        free,
        closed: false,
    };
    (rec, main, side)
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::path::Path;

    use tracehound_capture::CaptureReader;
    use tracehound_flows::Proto;

    use super::*;

    /// Writes down the bytes each call got.
    #[derive(Default)]
    struct Got(Vec<(u64, Vec<u8>)>);

    impl StreamHandler for Got {
        fn tcp_data(&mut self, _: &FlowInfo, _: Dir, _: u64, d: &[u8], frame: u64, _: Timestamp) {
            self.0.push((frame, d.to_vec()));
        }
        fn tcp_gap(&mut self, _: &FlowInfo, _: Dir, _: u64, _: u64, _: u64, _: Timestamp) {}
        fn tcp_end(&mut self, _: &FlowInfo, _: Timestamp) {}
        fn udp(&mut self, _: &FlowInfo, _: Dir, d: &[u8], frame: u64, _: Timestamp) {
            self.0.push((frame, d.to_vec()));
        }
    }

    /// Bytes inside the capture's map travel as positions, others as copies, and both reach
    /// the workers as they were given (also after the reader has gone).
    #[test]
    fn mapped_bytes_by_position_others_copied() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
        let path = Path::new(root).join("tests/fixtures/lab/rpc-smb-pipe.pcap");
        let mut rd = CaptureReader::open(&path).unwrap();
        let map = rd.shared_map().expect("a mapped pcap");
        let (mut rec, main, side) = channel(true, Some(map.clone()));
        let flow = FlowInfo {
            id: 1,
            proto: Proto::Tcp,
            orig: SocketAddr::from(([10, 0, 0, 1], 1000)),
            resp: SocketAddr::from(([10, 0, 0, 2], 445)),
        };
        let mut want = Vec::new();
        while let Some(f) = rd.next_frame().unwrap() {
            let (n, data) = (f.number, f.data.to_vec());
            if n % 2 == 0 {
                rec.tcp_data(&flow, Dir::Orig, 0, f.data, n, f.ts);
            } else {
                rec.udp(&flow, Dir::Resp, &data, n, f.ts);
            }
            want.push((n, data));
        }
        assert!(want.len() > 20);
        assert!(rec.cur.mapped > 0 && !rec.cur.bytes.is_empty(), "both kinds recorded");
        let copied: usize = want.iter().filter(|(n, _)| n % 2 == 1).map(|(_, d)| d.len()).sum();
        assert_eq!(rec.cur.bytes.len(), copied, "only the bytes from elsewhere were copied");
        rec.flush();
        drop((rec, rd, map));
        let (mut a, mut b) = (Got::default(), Got::default());
        std::thread::scope(|s| {
            s.spawn(|| main.run(&mut a, &mut |_, _| {}, &mut |_| {}));
            s.spawn(|| side.expect("side worker").run(&mut b, &mut |_, _| {}, &mut |_| {}));
        });
        assert_eq!(a.0, want);
        assert_eq!(b.0, want);
    }
}
