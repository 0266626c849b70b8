//! Frame references of a joined set turned back into (file, that file's frame) for output.
//!
//! Every function here leaves records of a single file untouched (the map is not joined), so
//! single-file output stays exactly as it was.

use serde_json::Value;
use tracehound_findings::Finding;
use tracehound_flows::Conversation;
use tracehound_rpc::endpoints::EndpointReport;
use tracehound_rpc::Call;

use super::FrameMap;

/// The files a record's frames are in: `file` holds its first frame, `last_file` its last
/// when that is another file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Files {
    pub file: String,
    pub last_file: Option<String>,
}

impl FrameMap {
    fn files_of(&self, first: u64, last: u64) -> Files {
        let (a, _) = self.resolve(first);
        let (b, _) = self.resolve(last);
        Files { file: a.to_string(), last_file: (a != b).then(|| b.to_string()) }
    }

    /// A conversation's frames as its files' own numbers (`first_frame` in `file`,
    /// `last_frame` in `last_file` when that differs; the other frame lists are local to the
    /// file that holds each frame).
    pub fn resolve_conversation(&self, c: &mut Conversation) -> Option<Files> {
        if !self.is_joined() {
            return None;
        }
        let files = self.files_of(c.first_frame, c.last_frame);
        let l = |n: &mut u64| *n = self.local(*n);
        l(&mut c.first_frame);
        l(&mut c.last_frame);
        c.syn_frames.iter_mut().for_each(l);
        if let Some(n) = c.synack_frame.as_mut() {
            l(n);
        }
        c.rst_frames.iter_mut().for_each(|(n, _)| l(n));
        c.events.iter_mut().for_each(|e| l(&mut e.frame));
        c.icmp_errors.iter_mut().for_each(|e| l(&mut e.frame));
        c.spurious_retx.iter_mut().for_each(l);
        c.nagle.ack_frames.iter_mut().for_each(l);
        if let Some((n, _, _)) = c.rst_ttl_mismatch.as_mut() {
            l(n);
        }
        Some(files)
    }

    /// A call's request and response frames as their files' own numbers: the request in
    /// `file`, the response in `last_file` when that differs.
    pub fn resolve_call(&self, c: &mut Call) -> Option<Files> {
        if !self.is_joined() {
            return None;
        }
        let files = self.files_of(c.frame, c.response_frame.unwrap_or(c.frame));
        c.frame = self.local(c.frame);
        if let Some(r) = c.response_frame.as_mut() {
            *r = self.local(*r);
        }
        Some(files)
    }

    /// An endpoint handed out: the handing call's frames and the attempts' frames, local.
    pub fn resolve_endpoint(&self, e: &mut EndpointReport) -> Option<Files> {
        if !self.is_joined() {
            return None;
        }
        let h = &mut e.handed_out_by;
        let files = self.files_of(h.frame, h.response_frame);
        h.frame = self.local(h.frame);
        h.response_frame = self.local(h.response_frame);
        for a in e.attempts.iter_mut() {
            a.frame = self.local(a.frame);
            a.syn_frames.iter_mut().for_each(|n| *n = self.local(*n));
            if let Some(n) = a.synack_frame.as_mut() {
                *n = self.local(*n);
            }
            a.rst_frames.iter_mut().for_each(|n| *n = self.local(*n));
        }
        Some(files)
    }

    /// A finding's evidence: `file` the file of its first frame, `frames` those files' own
    /// numbers, and when the frames are in several files `values.frame_files` (the file of each
    /// frame, in order); "frame N" in its text becomes "FILE frame N".
    pub fn resolve_finding(&self, f: &mut Finding) {
        if !self.is_joined() {
            return;
        }
        let ev = &mut f.evidence;
        let files: Vec<&str> = ev.frames.iter().map(|n| self.resolve(*n).0).collect();
        if let Some(first) = files.first() {
            ev.file = Some(first.to_string());
            if files.iter().any(|f| f != first) {
                let v = files.iter().map(|f| Value::String(f.to_string())).collect();
                ev.values.insert("frame_files", Value::Array(v));
            }
        }
        ev.frames.iter_mut().for_each(|n| *n = self.local(*n));
        ev.lines.iter_mut().for_each(|l| *l = self.rewrite_text(l));
        f.title = self.rewrite_text(&f.title);
        f.explanation = self.rewrite_text(&f.explanation);
    }
}

/// A JSON object written by `ser` with `"last_file":NAME` (or any key) added before its end.
pub fn with_field(obj: &mut Vec<u8>, key: &str, value: &str) {
    if obj.last() != Some(&b'}') {
        return;
    }
    obj.pop();
    if obj.len() > 1 {
        obj.push(b',');
    }
    obj.extend_from_slice(format!("{}:", Value::String(key.into())).as_bytes());
    obj.extend_from_slice(Value::String(value.into()).to_string().as_bytes());
    obj.push(b'}');
}
