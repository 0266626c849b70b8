//! `dns.log` from a DNS query and its answer.
//!
//! Zeek's fields (`DNS::Info`): `ts` of the query (of the response when the query was not
//! captured), `proto`, `trans_id`, `rtt`, `query`, `qtype`, `qtype_name`, `rcode`,
//! `rcode_name`, `TC`. The DNS analyzer does not keep the class, the header bits other than
//! TC, the answer records or their TTLs: `qclass`, `qclass_name`, `AA`, `RD`, `RA`, `Z`,
//! `answers`, `TTLs` and `rejected` are left out (`th_answers` is the answer count).

use tracehound_apps::DnsQuery;
use tracehound_flows::Proto;

use super::uid::uid;
use super::Rec;
use crate::Source;

/// The `dns.log` record of `q`.
pub fn record(q: &DnsQuery, src: &Source) -> Rec {
    let mut r = Rec::new();
    if let Some(t) = q.query_ts.or(q.response_ts) {
        r.num_text("ts", &t.epoch_decimal());
    }
    r.str("uid", &uid(&src.capture_file, q.flow_id));
    r.id_of(q.client, q.server);
    r.str("proto", if q.transport == Proto::Tcp { "tcp" } else { "udp" });
    r.count("trans_id", u64::from(q.id));
    r.opt_real("rtt", q.response_time);
    r.str("query", &q.name);
    r.count("qtype", u64::from(q.qtype_code));
    r.str("qtype_name", &q.qtype);
    r.opt_count("rcode", q.rcode.map(u64::from));
    r.opt_str("rcode_name", q.rcode_name.as_deref());
    if q.response_frame.is_some() {
        r.bool("TC", q.truncated);
    }
    r.source(src);
    let outcome = serde_json::to_value(q.outcome).ok();
    r.opt_str("th_outcome", outcome.as_ref().and_then(|v| v.as_str()));
    r.opt_count("th_answers", q.answers.map(u64::from));
    r.count("th_retransmissions", u64::from(q.retransmissions));
    r.opt_count("th_query_frame", q.query_frame);
    r.opt_count("th_response_frame", q.response_frame);
    r.bool("th_multicast", q.multicast);
    r
}
