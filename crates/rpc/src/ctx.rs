//! The context every layer of the analysis passes down with the bytes it reads: which
//! connection, which direction, which frame and when ([`Seg`]), and a pair of values kept
//! per direction ([`PerDir`]).
//!
//! A leaf module: it depends on nothing else of this crate.

use std::net::SocketAddr;

use tracehound_flows::{Dir, FlowInfo, Timestamp};

/// Where the bytes being read come from: the segment (or datagram) of `flow` in direction
/// `dir`, captured in frame `frame` at `ts`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Seg<'a> {
    pub flow: &'a FlowInfo,
    pub dir: Dir,
    pub frame: u64,
    pub ts: Timestamp,
}

impl<'a> Seg<'a> {
    pub fn new(flow: &'a FlowInfo, dir: Dir, frame: u64, ts: Timestamp) -> Seg<'a> {
        Seg { flow, dir, frame, ts }
    }

    /// The same frame, read as bytes of direction `dir`.
    pub fn with_dir(&self, dir: Dir) -> Seg<'a> {
        Seg { dir, ..*self }
    }

    /// The sender of these bytes.
    pub fn src(&self) -> SocketAddr {
        self.flow.src(self.dir)
    }

    /// The receiver of these bytes.
    pub fn dst(&self) -> SocketAddr {
        self.flow.dst(self.dir)
    }
}

/// One value per direction, chosen by a [`Dir`] (no index that could be out of range).
#[derive(Clone, Debug, Default)]
pub(crate) struct PerDir<T> {
    orig: T,
    resp: T,
}

impl<T> PerDir<T> {
    pub fn new(orig: T, resp: T) -> PerDir<T> {
        PerDir { orig, resp }
    }

    pub fn get(&self, dir: Dir) -> &T {
        match dir {
            Dir::Orig => &self.orig,
            Dir::Resp => &self.resp,
        }
    }

    pub fn get_mut(&mut self, dir: Dir) -> &mut T {
        match dir {
            Dir::Orig => &mut self.orig,
            Dir::Resp => &mut self.resp,
        }
    }
}
