//! `http.log` from HTTP transactions.
//!
//! Zeek's fields (`HTTP::Info`): `ts` of the request, `trans_depth` (the request's position
//! on its connection, 1-based), `method`, `uri`, `status_code`. The HTTP analyzer keeps the
//! first transactions of each connection whole (and the slowest ones), not every header: only
//! those transactions are logged, and `host`, `user_agent`, `version`, the body lengths and
//! the rest of Zeek's fields are left out. `th_gap` is the server's time to the first byte of
//! the response.

use tracehound_apps::txn::{FlowTransactions, Transaction};

use super::uid::uid;
use super::Rec;
use crate::Source;

/// The `http.log` records of one connection's transactions (`samples` in order, then the
/// slowest ones not among them), with their `trans_depth`.
pub fn records(ft: &FlowTransactions, src: &Source) -> Vec<Rec> {
    let mut out = Vec::new();
    for (i, t) in ft.samples.iter().enumerate() {
        out.push(record(ft, t, Some(i as u64 + 1), src));
    }
    for t in &ft.slowest {
        if !ft.samples.iter().any(|s| s.request_frame == t.request_frame) {
            out.push(record(ft, t, None, src));
        }
    }
    out
}

fn record(ft: &FlowTransactions, t: &Transaction, depth: Option<u64>, src: &Source) -> Rec {
    let mut r = Rec::new();
    r.num_text("ts", &t.request_start_ts.epoch_decimal());
    r.str("uid", &uid(&src.capture_file, ft.flow.id));
    r.id_of(ft.flow.orig, ft.flow.resp);
    r.opt_count("trans_depth", depth);
    let (method, uri) = match t.request.split_once(' ') {
        Some((m, u)) => (m, Some(u)),
        None => (t.request.as_ref(), None),
    };
    r.str("method", method);
    r.opt_str("uri", uri);
    let code = t.status.as_deref().and_then(|s| s.split(' ').next()?.parse::<u64>().ok());
    r.opt_count("status_code", code);
    r.source(src);
    r.count("th_request_frame", t.request_frame);
    r.opt_count("th_response_frame", t.response_frame);
    r.opt_real("th_gap", t.gap());
    r.opt_str("th_status", t.status.as_deref());
    r
}
