//! A bounded per-direction byte buffer that remembers which frame (and capture time) each
//! buffered byte arrived in, and can skip message bodies without buffering them.

use std::collections::VecDeque;

use tracehound_flows::Timestamp;

/// Where a byte came from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct At {
    pub frame: u64,
    pub ts: Timestamp,
}

/// The element of a per-direction pair (`[client, server]`) for direction index `d`:
/// 0 is the client; the analyzers only pass 0 and 1, any other index reads the server's.
pub(crate) fn by_dir<T>(pair: &[T; 2], d: usize) -> &T {
    let [client, server] = pair;
    if d == 0 {
        client
    } else {
        server
    }
}

/// [`by_dir`] for writing.
pub(crate) fn by_dir_mut<T>(pair: &mut [T; 2], d: usize) -> &mut T {
    let [client, server] = pair;
    if d == 0 {
        client
    } else {
        server
    }
}

/// Marks kept per direction; when more chunks than this are buffered, the oldest marks are
/// merged (their bytes are then attributed to the following chunk).
const MAX_MARKS: usize = 1024;

#[derive(Debug, Default)]
pub struct Stream {
    buf: Vec<u8>,
    /// `buf[..head]` is consumed; moved out of the buffer at the next push (one move of the
    /// unconsumed rest per chunk, not one per message taken from it).
    head: usize,
    /// Stream offset of `buf[head]`.
    base: u64,
    /// (stream offset one past the chunk's last byte, where it came from), in order.
    marks: VecDeque<(u64, At)>,
    /// Bytes still to drop as they arrive (a body we do not keep).
    skip: u64,
    /// The chunk that completed the last skip.
    pub skip_done: Option<At>,
    /// Where the most recent chunk came from.
    pub last: At,
}

/// The buffer would grow beyond its cap.
#[derive(Debug)]
pub struct Overflow;

impl Stream {
    /// Append a chunk. Skipped bytes are dropped first; when that finishes a skip,
    /// `skip_done` is set to this chunk.
    pub fn push(&mut self, data: &[u8], at: At, cap: usize) -> Result<(), Overflow> {
        self.last = at;
        let mut data = data;
        if self.skip > 0 {
            let n = (self.skip.min(data.len() as u64)) as usize;
            self.skip -= n as u64;
            self.base = self.base.saturating_add(n as u64);
            data = data.get(n..).unwrap_or(&[]);
            if self.skip == 0 {
                self.skip_done = Some(at);
            }
        }
        if data.is_empty() {
            return Ok(());
        }
        if self.data().len().saturating_add(data.len()) > cap {
            return Err(Overflow);
        }
        if self.head > 0 {
            self.buf.drain(..self.head);
            self.head = 0;
        }
        self.buf.extend_from_slice(data);
        let end = self.base.saturating_add(self.buf.len() as u64);
        if self.marks.len() >= MAX_MARKS {
            self.marks.pop_front();
        }
        self.marks.push_back((end, at));
        Ok(())
    }
    pub fn data(&self) -> &[u8] {
        self.buf.get(self.head..).unwrap_or_default()
    }
    pub fn skipping(&self) -> bool {
        self.skip > 0
    }
    /// Where the byte at `i` of the buffer came from.
    pub fn at(&self, i: usize) -> At {
        let off = self.base.saturating_add(i as u64);
        self.marks.iter().find(|(end, _)| *end > off).map(|m| m.1).unwrap_or(self.last)
    }
    /// Drop `n` buffered bytes; when `n` exceeds the buffer, the rest is skipped as it arrives.
    pub fn consume(&mut self, n: u64) {
        let have = self.data().len() as u64;
        if n >= have {
            self.buf.clear();
            self.head = 0;
            self.base = self.base.saturating_add(have);
            self.skip = self.skip.saturating_add(n - have);
            self.skip_done = None;
        } else {
            self.head += n as usize;
            self.base = self.base.saturating_add(n);
        }
        while let Some(&(end, _)) = self.marks.front() {
            if end <= self.base {
                self.marks.pop_front();
            } else {
                break;
            }
        }
    }
    /// Forget everything (after a gap the stream cannot be followed).
    pub fn reset(&mut self) {
        self.buf = Vec::new();
        self.head = 0;
        self.marks.clear();
        self.skip = 0;
        self.skip_done = None;
    }
}

/// What a length-framed protocol found at the start of the buffer.
pub enum Head<T> {
    /// Not enough bytes yet to frame the next message.
    Need,
    /// A message of `total` bytes (possibly more than buffered) described by `info`.
    Frame { total: u64, info: T },
}

/// Drives a length-framed protocol over a [`Stream`]: messages that fit are handed over with
/// their first and last byte's origin; longer ones are described from their head and the
/// rest is skipped, the end reported when the skip completes.
pub struct Framer<T> {
    wait: Option<(T, At)>,
    pub dead: bool,
}

impl<T> Default for Framer<T> {
    fn default() -> Self {
        Framer { wait: None, dead: false }
    }
}

impl<T> Framer<T> {
    /// Frame every complete message. On a parse error the direction is abandoned and the
    /// error returned with the frame it was found in.
    pub fn feed(
        &mut self,
        st: &mut Stream,
        mut parse: impl FnMut(&[u8]) -> Result<Head<T>, crate::reader::ParseError>,
        mut emit: impl FnMut(T, At, At),
    ) -> Result<(), (u64, crate::reader::ParseError)> {
        loop {
            if self.dead {
                let n = st.data().len() as u64;
                st.consume(n);
                return Ok(());
            }
            if let Some((info, start)) = self.wait.take() {
                match st.skip_done.take() {
                    Some(end) => emit(info, start, end),
                    None if st.skipping() => {
                        self.wait = Some((info, start));
                        return Ok(());
                    }
                    None => emit(info, start, st.last),
                }
            }
            if st.data().is_empty() {
                return Ok(());
            }
            match parse(st.data()) {
                Ok(Head::Need) => return Ok(()),
                Ok(Head::Frame { total, info }) => {
                    let total = total.max(1);
                    let start = st.at(0);
                    let have = st.data().len() as u64;
                    if total <= have {
                        let end = st.at((total - 1) as usize);
                        st.consume(total);
                        emit(info, start, end);
                    } else {
                        st.consume(total);
                        self.wait = Some((info, start));
                    }
                }
                Err(e) => {
                    self.dead = true;
                    let f = st.at(0).frame;
                    let n = st.data().len() as u64;
                    st.consume(n);
                    return Err((f, e));
                }
            }
        }
    }
    /// The connection ended: a message still being skipped ends at `last`.
    pub fn close(&mut self, st: &Stream, mut emit: impl FnMut(T, At, At)) {
        if let Some((info, start)) = self.wait.take() {
            emit(info, start, st.last);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    fn at(f: u64) -> At {
        At { frame: f, ts: Timestamp(f as i64) }
    }
    #[test]
    fn attributes_bytes_to_frames_and_skips() {
        let mut s = Stream::default();
        s.push(b"abc", at(1), 100).unwrap();
        s.push(b"def", at(2), 100).unwrap();
        assert_eq!(s.at(2), at(1));
        assert_eq!(s.at(3), at(2));
        s.consume(4);
        assert_eq!(s.data(), b"ef");
        assert_eq!(s.at(0), at(2));
        s.consume(5); // 2 buffered + 3 to skip
        s.push(b"xy", at(3), 100).unwrap();
        assert!(s.skip_done.is_none());
        s.push(b"zQ", at(4), 100).unwrap();
        assert_eq!(s.skip_done, Some(at(4)));
        assert_eq!(s.data(), b"Q");
        assert!(s.push(&[0; 200], at(5), 100).is_err());
    }
    #[test]
    fn messages_taken_one_by_one_then_more_arrives() {
        let mut s = Stream::default();
        s.push(b"aabbbcc", at(1), 9).unwrap();
        s.consume(2);
        assert_eq!(s.data(), b"bbbcc");
        s.consume(3);
        assert_eq!((s.data(), s.at(1)), (&b"cc"[..], at(1)));
        // the cap counts what is still buffered, not what was taken
        s.push(b"dddddd", at(2), 9).unwrap();
        assert_eq!(s.data(), b"ccdddddd");
        assert_eq!((s.at(1), s.at(2)), (at(1), at(2)));
        assert!(s.push(b"ee", at(3), 9).is_err());
        s.consume(10); // 8 buffered + 2 to skip
        assert!(s.data().is_empty() && s.skipping());
        s.push(b"eef", at(3), 9).unwrap();
        assert_eq!((s.data(), s.skip_done, s.at(0)), (&b"f"[..], Some(at(3)), at(3)));
    }
}
