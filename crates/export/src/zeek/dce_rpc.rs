//! `dce_rpc.log` from a DCE/RPC call.
//!
//! Zeek's fields (`DCE_RPC::Info`): `ts` of the request, `uid` and `id` of the connection the
//! call went over (the SMB connection for a named pipe), `rtt`, `named_pipe`, `endpoint` (the
//! interface name: tracehound's names are Zeek's for the interfaces Zeek knows, e.g.
//! `samr`, `epmapper`, `netlogon`, `lsarpc`, `drsuapi`), `operation`. Unlike Zeek, every call
//! is logged — also those whose interface or operation is unknown (the field is then left
//! out) and the ones Zeek's `ignored_operations` skips. Zeek's `named_pipe` is the bind_ack's
//! secondary address; here it is the SMB pipe the call went over (left out over TCP).

use tracehound_rpc::Call;

use super::uid::{uid, uid_of_addresses};
use super::Rec;
use crate::Source;

/// The `dce_rpc.log` record of `c`.
pub fn record(c: &Call, src: &Source) -> Rec {
    let mut r = Rec::new();
    r.num_text("ts", &c.ts.epoch_decimal());
    let u = match c.flow {
        Some(f) => uid(&src.capture_file, f),
        None => uid_of_addresses(
            &src.capture_file,
            &format!("{}:{}", c.src, c.sport),
            &format!("{}:{}", c.dst, c.dport),
        ),
    };
    r.str("uid", &u);
    r.id((c.src, c.sport), (c.dst, c.dport));
    r.opt_real("rtt", c.rtt);
    r.opt_str("named_pipe", c.pipe.as_deref());
    r.opt_str("endpoint", c.interface.as_deref());
    r.opt_str("operation", c.operation.as_deref());
    r.source(src);
    r.count("th_frame", c.frame);
    r.opt_count("th_response_frame", c.response_frame);
    r.opt_str("th_uuid", c.uuid.as_deref());
    r.opt_count("th_opnum", c.opnum.map(u64::from));
    let outcome = serde_json::to_value(c.outcome).ok();
    r.opt_str("th_outcome", outcome.as_ref().and_then(|v| v.as_str()));
    r.opt_str("th_status", c.status.as_deref());
    r.count("th_request_bytes", c.request_bytes);
    r.count("th_response_bytes", c.response_bytes);
    if !c.endpoints.is_empty() {
        let b: Vec<String> = c.endpoints.iter().map(|e| e.binding.clone()).collect();
        r.strs("th_endpoints", &b);
    }
    r
}
