//! The pcap side of [`CaptureReader`]: the 24-byte file header (magic, version, snaplen, link
//! type) and the packet records (16-byte record header, then the captured bytes), framed with
//! the byte order and timestamp resolution the magic announced (see `crate::pcap` for the
//! layouts).

use super::{CaptureFormat, CaptureReader, Kind, Pending, Step};
use crate::error::{CaptureError, ErrorKind};
use crate::pcap as fmt;
use crate::source::Endian;
use crate::LinkType;

/// What the pcap file header fixed for the whole file.
#[derive(Clone, Copy, Debug)]
pub(super) struct PcapState {
    endian: Endian,
    nanos: bool,
    snaplen: u32,
    link: LinkType,
}

impl CaptureReader {
    /// Reads and checks the pcap file header (the magic is known to be pcap's).
    pub(super) fn start_pcap(&mut self) -> Result<(), CaptureError> {
        let m = self.need(fmt::HEADER_LEN)?;
        if m < fmt::HEADER_LEN {
            let what = format!(
                "file ends after {m} bytes, inside the {}-byte pcap file header",
                fmt::HEADER_LEN
            );
            return Err(self.error(0, ErrorKind::Truncated(what)));
        }
        let Some(h) =
            self.input.rest().first_chunk::<{ fmt::HEADER_LEN }>().and_then(fmt::Header::parse)
        else {
            return Err(self.error(0, ErrorKind::Corrupt("pcap file header unreadable".into())));
        };
        if h.version.0 != 2 {
            let what = format!(
                "pcap file header: version {}.{} is not supported (only 2.x)",
                h.version.0, h.version.1
            );
            return Err(self.error(4, ErrorKind::Corrupt(what)));
        }
        self.stats.format = CaptureFormat::Pcap {
            nanos: h.nanos,
            big_endian: h.endian == Endian::Big,
            version: h.version,
            snaplen: h.snaplen,
        };
        self.kind = Kind::Pcap(PcapState {
            endian: h.endian,
            nanos: h.nanos,
            snaplen: h.snaplen,
            link: h.link,
        });
        self.input.consume(fmt::HEADER_LEN);
        Ok(())
    }

    pub(super) fn pcap_step(&mut self, p: PcapState) -> Result<Step, CaptureError> {
        const HDR: usize = fmt::RECORD_HEADER_LEN;
        let start = self.input.offset();
        let n = self.need(HDR)?;
        if n == 0 {
            return Ok(Step::End);
        }
        if n < HDR {
            return Ok(self.ended_inside(format!(
                "file ends {n} bytes into a {HDR}-byte packet record header at offset {start}"
            )));
        }
        let Some(rh) = self
            .input
            .rest()
            .first_chunk::<HDR>()
            .and_then(|b| fmt::RecordHeader::parse(b, p.endian))
        else {
            return Err(
                self.error(start, ErrorKind::Corrupt("pcap record header unreadable".into()))
            );
        };
        if rh.caplen > self.limits.max_packet_len {
            let what = format!(
                "pcap packet record says {} bytes were captured (original length {}, snaplen {}), \
                 over the {}-byte limit: the record framing cannot be trusted",
                rh.caplen, rh.orig_len, p.snaplen, self.limits.max_packet_len
            );
            return Err(self.error(start, ErrorKind::Corrupt(what)));
        }
        let caplen = rh.caplen as usize;
        let total = HDR.saturating_add(caplen);
        let got = self.need(total)?;
        if got < total {
            return Ok(self.ended_inside(format!(
                "file ends {got} bytes into a {total}-byte packet record at offset {start} \
                 ({HDR}-byte header + {caplen} bytes of packet data)"
            )));
        }
        if p.snaplen != 0 && rh.caplen > p.snaplen {
            self.stats.caplen_over_snaplen = self.stats.caplen_over_snaplen.saturating_add(1);
        }
        let rec = self.input.consume(total);
        Ok(Step::Packet(Pending {
            ts: rh.timestamp(p.nanos),
            link: p.link,
            start: rec + HDR,
            len: caplen,
            orig_len: rh.orig_len,
            interface: 0,
        }))
    }
}
