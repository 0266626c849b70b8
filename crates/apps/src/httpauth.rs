//! HTTP/1.x outcomes that matter for troubleshooting: every 4xx / 5xx answer with the host
//! and path that got it and who answered (`Server`, `Via`), and every answer to a request
//! that carried credentials (`Authorization: NTLM / Negotiate / Basic …`, with the NTLM
//! identity), so that 401 loops and logons that finally worked can be told apart.

use std::collections::VecDeque;

use tracehound_flows::FlowInfo;

use crate::auth::{AuthEvent, AuthProto, AuthReport};
use crate::http::{Extra, Msg};

const MAX_PENDING: usize = 64;

/// Requests waiting for their answer on one connection (HTTP/1.x answers in order).
#[derive(Debug, Default)]
pub struct HttpAuth {
    pending: VecDeque<(u64, String, Option<Box<Extra>>)>,
}

/// The reason phrase of a status code (RFC 9110 §15).
pub fn reason(s: u16) -> &'static str {
    match s {
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        421 => "Misdirected Request",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        s if (200..300).contains(&s) => "success",
        s if (300..400).contains(&s) => "redirection",
        _ => "",
    }
}

/// What a status means for the user.
pub fn meaning(s: u16) -> &'static str {
    match s {
        401 => "the server wants (other) credentials",
        403 => "the server refuses this client or account access to the resource",
        404 => "the path does not exist on this server",
        407 => "a proxy wants credentials before it forwards the request",
        429 => "the client is being rate-limited",
        500 => "the application failed while handling the request",
        502 => "a proxy or load balancer got no valid answer from the server behind it",
        503 => "the service (or the server behind a proxy) is unavailable or overloaded",
        504 => "a proxy or load balancer timed out waiting for the server behind it",
        s if (400..500).contains(&s) => "the server rejected the request",
        s if (500..600).contains(&s) => "the server failed",
        _ => "success",
    }
}

/// A request's URL as the events name it: the Host header (else the server's address) and the
/// target.
fn url(x: &Extra, f: &FlowInfo) -> String {
    let host = x.host.clone().unwrap_or_else(|| f.resp.to_string());
    format!("{host}{}", x.target.as_deref().unwrap_or(""))
}

impl HttpAuth {
    /// One complete message (request or response) in order of its direction.
    pub fn message(&mut self, m: &Msg, f: &FlowInfo, out: &mut AuthReport) {
        let Some(status) = m.head.status else {
            if self.pending.len() >= MAX_PENDING {
                self.pending.pop_front();
            }
            let method = m.head.method.clone().unwrap_or_default();
            if let Some(x) = m.head.extra.as_ref().filter(|x| x.authz_scheme.is_some()) {
                out.credentials_sent(f.orig.ip(), url(x, f), m.start.frame);
            }
            self.pending.push_back((m.start.frame, method, m.head.extra.clone()));
            return;
        };
        if status < 200 && status != 101 {
            return; // interim
        }
        let Some((req_frame, method, req)) = self.pending.pop_front() else { return };
        let had_creds = req.as_ref().is_some_and(|x| x.authz_scheme.is_some());
        if status < 400 && !had_creds {
            return;
        }
        let mut e = AuthEvent::new(AuthProto::Http, method, f, m.end.frame, m.end.ts);
        e.request_frame = Some(req_frame);
        e.ok = status < 400;
        e.code = Some(i64::from(status));
        e.code_name = format!("{status} {}", reason(status)).trim_end().to_string().into();
        e.meaning = meaning(status).into();
        let ntlm_leg = req.as_ref().and_then(|x| x.authz.as_ref()).is_some_and(|t| {
            t.ntlm_type == Some("NEGOTIATE") || (t.ntlm.is_none() && t.krb.is_none())
        });
        e.leg = matches!(status, 401 | 407) && (!had_creds || ntlm_leg);
        if let Some(x) = &req {
            e.service = Some(url(x, f));
            e.mech = x.authz_scheme.clone();
            if let Some(a) = x.authz.as_ref().and_then(|t| t.ntlm.as_ref()) {
                e = e.with_ntlm(a);
            }
        }
        if let Some(x) = &m.head.extra {
            if !x.challenges.is_empty() && e.mech.is_none() {
                e.mech = Some(x.challenges.join(", "));
            }
            let mut d = Vec::new();
            if let Some(s) = &x.server {
                d.push(format!("Server: {s}"));
            }
            if let Some(v) = &x.via {
                d.push(format!("Via: {v}"));
            }
            if !x.challenges.is_empty() {
                d.push(format!("offers {}", x.challenges.join(", ")));
            }
            e.detail = Some(d.join("; ")).filter(|s| !s.is_empty());
        }
        out.push(e);
    }
}
