//! The tables and their columns.
//!
//! Column names are the JSON field names of `conversations --json`, `rpc --json`,
//! `rpc --endpoints --json` and `analyze --json`. A small object is flattened into scalar
//! columns named `parent_field` (`orig.packets` → `orig_packets`, `handed_out_by.frame` →
//! `handed_out_by_frame`); a list stays a list (of scalars, or of structs whose fields keep
//! their JSON names); a free-form object (`evidence.values`) is kept as JSON text. Every table
//! starts with `capture_file` and `capture_point` (see the crate docs).
//!
//! The schema is fixed: the same columns in the same order whatever the capture holds, so
//! files of many captures read as one table.

use crate::columns::{Col, Ty};

const fn c(name: &'static str, path: &'static [&'static str], ty: Ty) -> Col {
    Col { name, path, ty }
}

const INTS: Ty = Ty::List(&Ty::Int);
const STRS: Ty = Ty::List(&Ty::Str);

/// The tables written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    Conversations,
    Calls,
    Endpoints,
    TlsSessions,
    Findings,
}

impl Table {
    pub const ALL: [Table; 5] =
        [Table::Conversations, Table::Calls, Table::Endpoints, Table::TlsSessions, Table::Findings];

    /// The directory name of the table.
    pub fn name(self) -> &'static str {
        match self {
            Table::Conversations => "conversations",
            Table::Calls => "calls",
            Table::Endpoints => "endpoints",
            Table::TlsSessions => "tls_sessions",
            Table::Findings => "findings",
        }
    }

    /// The columns after `capture_file` and `capture_point`.
    pub fn columns(self) -> Vec<&'static Col> {
        match self {
            Table::Conversations => CONVERSATIONS.iter().flat_map(|p| p.iter()).collect(),
            Table::Calls => CALLS.iter().collect(),
            Table::Endpoints => ENDPOINTS.iter().collect(),
            Table::TlsSessions => TLS_SESSIONS.iter().collect(),
            Table::Findings => FINDINGS.iter().collect(),
        }
    }

    /// JSON fields deliberately not written as columns (the coverage test checks that every
    /// other field of the JSON output has a column).
    pub fn not_columns(self) -> &'static [&'static str] {
        match self {
            // `file` is `capture_file`.
            Table::Conversations => &["file"],
            _ => &[],
        }
    }
}

macro_rules! dir_cols {
    ($p:literal) => {
        [
            c(concat!($p, "_packets"), &[$p, "packets"], Ty::Int),
            c(concat!($p, "_bytes"), &[$p, "bytes"], Ty::Int),
            c(concat!($p, "_ip_bytes"), &[$p, "ip_bytes"], Ty::Int),
            c(concat!($p, "_payload_bytes"), &[$p, "payload_bytes"], Ty::Int),
            c(concat!($p, "_mss"), &[$p, "mss"], Ty::Int),
            c(concat!($p, "_wscale"), &[$p, "wscale"], Ty::Int),
            c(concat!($p, "_sack_permitted"), &[$p, "sack_permitted"], Ty::Bool),
            c(concat!($p, "_sack_used"), &[$p, "sack_used"], Ty::Bool),
            c(concat!($p, "_max_segment"), &[$p, "max_segment"], Ty::Int),
        ]
    };
}

static ORIG: [Col; 9] = dir_cols!("orig");
static RESP: [Col; 9] = dir_cols!("resp");

const RST_FRAMES: Ty =
    Ty::List(&Ty::Struct(&[c("frame", &["0"], Ty::Int), c("from", &["1"], Ty::Str)]));

const ICMP_ERRORS: Ty = Ty::List(&Ty::Struct(&[
    c("frame", &["frame"], Ty::Int),
    c("ts", &["ts"], Ty::Time),
    c("from", &["from"], Ty::Str),
    c("v6", &["v6"], Ty::Bool),
    c("icmp_type", &["icmp_type"], Ty::Int),
    c("code", &["code"], Ty::Int),
]));

macro_rules! flags {
    ($($f:literal),*) => { [$(c(concat!("analysis_", $f), &["analysis", $f], Ty::Int)),*] };
}

static ANALYSIS: [Col; 14] = flags!(
    "retransmission",
    "fast_retransmission",
    "spurious_retransmission",
    "out_of_order",
    "lost_segment",
    "ack_lost_segment",
    "duplicate_ack",
    "zero_window",
    "zero_window_probe",
    "window_full",
    "window_update",
    "keep_alive",
    "keep_alive_ack",
    "reused_ports"
);

static CONV_HEAD: [Col; 15] = [
    c("proto", &["proto"], Ty::Str),
    c("src", &["src"], Ty::Str),
    c("sport", &["sport"], Ty::Int),
    c("dst", &["dst"], Ty::Str),
    c("dport", &["dport"], Ty::Int),
    c("role", &["role"], Ty::Str),
    c("packets", &["packets"], Ty::Int),
    c("bytes", &["bytes"], Ty::Int),
    c("ip_bytes", &["ip_bytes"], Ty::Int),
    c("start", &["start"], Ty::Time),
    c("end", &["end"], Ty::Time),
    c("start_time", &["start_time"], Ty::Str),
    c("end_time", &["end_time"], Ty::Str),
    c("duration", &["duration"], Ty::Float),
    c("first_frame", &["first_frame"], Ty::Int),
];

static CONV_TCP: [Col; 5] = [
    c("last_frame", &["last_frame"], Ty::Int),
    c("state", &["state"], Ty::Str),
    c("history", &["history"], Ty::Str),
    c("handshake_rtt", &["handshake_rtt"], Ty::Float),
    c("syn_to_synack", &["syn_to_synack"], Ty::Float),
];

static CONV_TAIL: [Col; 31] = [
    c("syn_frames", &["syn_frames"], INTS),
    c("synack_frame", &["synack_frame"], Ty::Int),
    c("rst_frames", &["rst_frames"], RST_FRAMES),
    c("events_dropped", &["events_dropped"], Ty::Int),
    c("idle_before_rst", &["idle_before_rst"], Ty::Float),
    c("nagle_stalls", &["nagle", "stalls"], Ty::Int),
    c("nagle_secs", &["nagle", "secs"], Ty::Float),
    c("nagle_max_secs", &["nagle", "max_secs"], Ty::Float),
    c("nagle_ack_frames", &["nagle", "ack_frames"], INTS),
    c("zero_window_orig_periods", &["zero_window", "orig_periods"], Ty::Int),
    c("zero_window_orig_secs", &["zero_window", "orig_secs"], Ty::Float),
    c("zero_window_resp_periods", &["zero_window", "resp_periods"], Ty::Int),
    c("zero_window_resp_secs", &["zero_window", "resp_secs"], Ty::Float),
    c("icmp_errors", &["icmp_errors"], ICMP_ERRORS),
    c("artifacts_bad_checksums", &["artifacts", "bad_checksums"], Ty::Int),
    c("artifacts_oversize_segments", &["artifacts", "oversize_segments"], Ty::Int),
    c("artifacts_zero_ip_len", &["artifacts", "zero_ip_len"], Ty::Int),
    c("artifacts_duplicate_packets", &["artifacts", "duplicate_packets"], Ty::Int),
    c("tls_sni", &["tls", "sni"], Ty::Str),
    c("tls_version", &["tls", "version"], Ty::Str),
    c("tls_cipher", &["tls", "cipher"], Ty::Str),
    c("tls_key_exchange", &["tls", "key_exchange"], Ty::Str),
    c("tls_decrypted", &["tls", "decrypted"], Ty::Bool),
    c("tls_reason", &["tls", "reason"], Ty::Str),
    c("tls_records", &["tls", "records"], Ty::Int),
    c("tls_client_bytes", &["tls", "client_bytes"], Ty::Int),
    c("tls_server_bytes", &["tls", "server_bytes"], Ty::Int),
    c("tls_first_frame", &["tls", "first_frame"], Ty::Int),
    c("process", &["process"], Ty::Str),
    c("pid", &["pid"], Ty::Int),
    // Zeek's connection uid of this conversation (the same as in the Zeek logs).
    c("uid", &["uid"], Ty::Str),
];

/// `conversations --json`, in the order of its fields.
static CONVERSATIONS: [&[Col]; 6] = [&CONV_HEAD, &ORIG, &RESP, &CONV_TCP, &ANALYSIS, &CONV_TAIL];

const ENDPOINT_ITEM: Ty = Ty::List(&Ty::Struct(&[
    c("binding", &["binding"], Ty::Str),
    c("protocol", &["protocol"], Ty::Str),
    c("address", &["address"], Ty::Str),
    c("port", &["port"], Ty::Int),
    c("pipe", &["pipe"], Ty::Str),
    c("uuid", &["uuid"], Ty::Str),
]));

/// `rpc --json`.
pub static CALLS: &[Col] = &[
    c("ts", &["ts"], Ty::Time),
    c("frame", &["frame"], Ty::Int),
    c("src", &["src"], Ty::Str),
    c("sport", &["sport"], Ty::Int),
    c("dst", &["dst"], Ty::Str),
    c("dport", &["dport"], Ty::Int),
    c("pipe", &["pipe"], Ty::Str),
    c("uuid", &["uuid"], Ty::Str),
    c("version", &["version"], Ty::Str),
    c("interface", &["interface"], Ty::Str),
    c("interface_source", &["interface_source"], Ty::Str),
    c("opnum", &["opnum"], Ty::Int),
    c("operation", &["operation"], Ty::Str),
    c("outcome", &["outcome"], Ty::Str),
    c("status", &["status"], Ty::Str),
    c("status_code", &["status_code"], Ty::Int),
    c("return_code", &["return_code"], Ty::Str),
    c("status_space", &["status_space"], Ty::Str),
    c("rtt", &["rtt"], Ty::Float),
    c("request_bytes", &["request_bytes"], Ty::Int),
    c("response_bytes", &["response_bytes"], Ty::Int),
    c("response_frame", &["response_frame"], Ty::Int),
    c("auth_type", &["auth_type"], Ty::Str),
    c("auth_level", &["auth_level"], Ty::Str),
    c("user", &["user"], Ty::Str),
    c("transfer_syntax", &["transfer_syntax"], Ty::Str),
    c("association_max_xmit_frag", &["association", "max_xmit_frag"], Ty::Int),
    c("association_max_recv_frag", &["association", "max_recv_frag"], Ty::Int),
    c("association_assoc_group", &["association", "assoc_group"], Ty::Int),
    c("endpoints", &["endpoints"], ENDPOINT_ITEM),
    c("epm_status", &["epm_status"], Ty::Str),
    c("epm_asked", &["epm_asked"], Ty::Str),
    c("epm_asked_interface", &["epm_asked_interface"], Ty::Str),
    c("netlogon_primary_name", &["netlogon", "primary_name"], Ty::Str),
    c("netlogon_account_name", &["netlogon", "account_name"], Ty::Str),
    c("netlogon_secure_channel_type", &["netlogon", "secure_channel_type"], Ty::Int),
    c("netlogon_computer_name", &["netlogon", "computer_name"], Ty::Str),
    c("netlogon_zero_credential", &["netlogon", "zero_credential"], Ty::Bool),
    c("netlogon_negotiate_flags", &["netlogon", "negotiate_flags"], Ty::Int),
    c("tunnel_transport", &["tunnel", "transport"], Ty::Str),
    c("tunnel_target", &["tunnel", "target"], Ty::Str),
    c("tunnel_cookie", &["tunnel", "cookie"], Ty::Str),
    c("tunnel_out_sport", &["tunnel", "out_sport"], Ty::Int),
    c("uid", &["uid"], Ty::Str),
];

const ATTEMPTS: Ty = Ty::List(&Ty::Struct(&[
    c("src", &["src"], Ty::Str),
    c("sport", &["sport"], Ty::Int),
    c("frame", &["frame"], Ty::Int),
    c("syn_frames", &["syn_frames"], INTS),
    c("synack_frame", &["synack_frame"], Ty::Int),
    c("rst_frames", &["rst_frames"], INTS),
    c("delay", &["delay"], Ty::Float),
    c("outcome", &["outcome"], Ty::Str),
    c("state", &["state"], Ty::Str),
    c("icmp", &["icmp"], STRS),
]));

/// `rpc --endpoints --json`.
pub static ENDPOINTS: &[Col] = &[
    c("binding", &["binding"], Ty::Str),
    c("handed_out_by_frame", &["handed_out_by", "frame"], Ty::Int),
    c("handed_out_by_response_frame", &["handed_out_by", "response_frame"], Ty::Int),
    c("handed_out_by_source", &["handed_out_by", "source"], Ty::Str),
    c("handed_out_by_interface", &["handed_out_by", "interface"], Ty::Str),
    c("handed_out_by_operation", &["handed_out_by", "operation"], Ty::Str),
    c("handed_out_by_client", &["handed_out_by", "client"], Ty::Str),
    c("asked_address", &["asked_address"], Ty::Str),
    c("address", &["address"], Ty::Str),
    c("port", &["port"], Ty::Int),
    c("protocol", &["protocol"], Ty::Str),
    c("uuid", &["uuid"], Ty::Str),
    c("interface", &["interface"], Ty::Str),
    c("follow_up", &["follow_up"], Ty::Str),
    c("state", &["state"], Ty::Str),
    c("attempts", &["attempts"], ATTEMPTS),
    c("address_differs", &["address_differs"], Ty::Bool),
    c("attempts_dropped", &["attempts_dropped"], Ty::Int),
];

const ALERTS: Ty = Ty::List(&Ty::Struct(&[
    c("frame", &["frame"], Ty::Int),
    c("from", &["from"], Ty::Str),
    c("level", &["level"], Ty::Int),
    c("description", &["description"], Ty::Int),
    c("name", &["name"], Ty::Str),
    c("encrypted", &["encrypted"], Ty::Bool),
]));

/// TLS sessions (the rows of [`crate::rows::tls_row`]).
pub static TLS_SESSIONS: &[Col] = &[
    c("ts", &["ts"], Ty::Time),
    c("uid", &["uid"], Ty::Str),
    c("proto", &["proto"], Ty::Str),
    c("src", &["src"], Ty::Str),
    c("sport", &["sport"], Ty::Int),
    c("dst", &["dst"], Ty::Str),
    c("dport", &["dport"], Ty::Int),
    c("sni", &["sni"], Ty::Str),
    c("client_version", &["client_version"], Ty::Str),
    c("version", &["version"], Ty::Str),
    c("cipher", &["cipher"], Ty::Str),
    c("alpn_offered", &["alpn_offered"], STRS),
    c("alpn", &["alpn"], Ty::Str),
    c("hello_retry", &["hello_retry"], Ty::Bool),
    c("outcome", &["outcome"], Ty::Str),
    c("established", &["established"], Ty::Bool),
    c("client_hello_frame", &["client_hello_frame"], Ty::Int),
    c("server_hello_frame", &["server_hello_frame"], Ty::Int),
    c("certificate_frame", &["certificate_frame"], Ty::Int),
    c("certificate_subject", &["certificate_subject"], Ty::Str),
    c("certificate_issuer", &["certificate_issuer"], Ty::Str),
    c("certificate_names", &["certificate_names"], STRS),
    c("certificate_not_before", &["certificate_not_before"], Ty::Str),
    c("certificate_not_after", &["certificate_not_after"], Ty::Str),
    c("certificate_chain_length", &["certificate_chain_length"], Ty::Int),
    c("certificate_errors", &["certificate_errors"], STRS),
    c("alerts", &["alerts"], ALERTS),
    c("last_alert", &["last_alert"], Ty::Str),
    c("client_bytes", &["client_bytes"], Ty::Int),
    c("server_bytes", &["server_bytes"], Ty::Int),
    c("client_app_data_records", &["client_app_data_records"], Ty::Int),
    c("server_app_data_records", &["server_app_data_records"], Ty::Int),
    c("lost_sync", &["lost_sync"], Ty::Bool),
    c("server_not_tls", &["server_not_tls"], Ty::Str),
];

const FLOWS: Ty = Ty::List(&Ty::Struct(&[
    c("proto", &["proto"], Ty::Str),
    c("src", &["src"], Ty::Str),
    c("sport", &["sport"], Ty::Int),
    c("dst", &["dst"], Ty::Str),
    c("dport", &["dport"], Ty::Int),
]));

const EXPLAIN: Ty =
    Ty::List(&Ty::Struct(&[c("name", &["0"], Ty::Str), c("value", &["1"], Ty::Json)]));

/// `analyze --json`.
pub static FINDINGS: &[Col] = &[
    c("id", &["id"], Ty::Str),
    c("severity", &["severity"], Ty::Str),
    c("title", &["title"], Ty::Str),
    c("explanation", &["explanation"], Ty::Str),
    c("likely_causes", &["likely_causes"], STRS),
    c("next_steps", &["next_steps"], STRS),
    c("evidence_flows", &["evidence", "flows"], FLOWS),
    c("evidence_frames", &["evidence", "frames"], INTS),
    c("evidence_file", &["evidence", "file"], Ty::Str),
    c("evidence_values", &["evidence", "values"], Ty::Json),
    c("evidence_lines", &["evidence", "lines"], STRS),
    c("evidence_explain", &["evidence", "explain"], EXPLAIN),
    c("weight", &["weight"], Ty::Int),
];

/// The schema of every table as Markdown tables (the documentation's; a test keeps
/// docs/readme-export.md equal to it).
pub fn markdown() -> String {
    let mut s = String::new();
    for t in Table::ALL {
        s.push_str(&format!("#### `{}`\n\n| column | type |\n|---|---|\n", t.name()));
        s.push_str("| `capture_file` | VARCHAR |\n| `capture_point` | VARCHAR |\n");
        for c in t.columns() {
            s.push_str(&format!("| `{}` | {} |\n", c.name, c.ty.sql_name()));
        }
        s.push('\n');
    }
    s
}
