//! One rule per file. Each exposes `pub fn check(facts: &Facts, out: &mut Vec<Finding>)`.

pub use crate::facts::Facts;
use crate::Finding;

mod capture;
mod dns;
mod rpc_endpoints;
mod rpc_refused;
mod slow_responder;
mod tcp_connect;
mod tcp_loss;
mod tcp_mtu;
mod tcp_nagle;
mod tcp_reset;
mod tcp_window;
mod tls;
pub mod util;

/// A rule: a name (its finding family) and its check function.
pub struct Rule {
    pub name: &'static str,
    pub check: fn(&Facts, &mut Vec<Finding>),
}

/// Every rule, in no particular order (the report sorts findings).
pub fn all() -> Vec<Rule> {
    // The costliest first, so that the two threads of `evaluate` start on them.
    vec![
        Rule { name: "app.slow_responder", check: slow_responder::check },
        Rule { name: "tls.certificate_expired", check: tls::check_expired },
        Rule { name: "tcp.connect", check: tcp_connect::check },
        Rule { name: "rpc.endpoints", check: rpc_endpoints::check },
        Rule { name: "rpc.refused", check: rpc_refused::check },
        Rule { name: "tcp.loss", check: tcp_loss::check },
        Rule { name: "tcp.zero_window", check: tcp_window::check },
        Rule { name: "tcp.reset", check: tcp_reset::check },
        Rule { name: "tcp.nagle_delayed_ack", check: tcp_nagle::check },
        Rule { name: "tcp.mtu", check: tcp_mtu::check },
        Rule { name: "capture", check: capture::check },
        Rule { name: "dns.failure", check: dns::check },
        Rule { name: "tls.handshake_failure", check: tls::check_handshake },
        Rule { name: "tls.certificate_mismatch", check: tls::check_mismatch },
    ]
}
