//! `rpc.http_tunnel`: an RPC over HTTP v2 (ncacn_http: Outlook Anywhere, RD Gateway, any
//! `RpcProxy=` binding) virtual connection whose channels failed, from the analyzer's
//! [`tracehound_rpc::ChannelFailure`]s: the RPC proxy answered `RPC_IN_DATA` /
//! `RPC_OUT_DATA` with an HTTP error, CONN/A1 got no CONN/A3, CONN/A3 came without CONN/C2,
//! an IN channel had no OUT channel. One finding per kind, proxy and target; a recycled
//! channel is information only.

use std::collections::BTreeMap;

use tracehound_rpc::{names, ChannelFailure, FailureKind};

use super::Facts;
use crate::{Evidence, Finding, Severity};

pub const ID: &str = "rpc.http_tunnel";

/// Title, explanation, causes and steps for one group.
struct Words {
    title: String,
    explain: String,
    causes: Vec<String>,
    steps: Vec<String>,
    severity: Severity,
}

/// "RPC Error: 6ba" → ", RPC error 0x6ba RPC_S_SERVER_UNAVAILABLE".
fn rpc_error(reason: &str) -> String {
    let Some(hex) = reason.split_once("RPC Error:").map(|(_, h)| h.trim()) else {
        return String::new();
    };
    match u32::from_str_radix(hex.trim_start_matches("0x"), 16) {
        Ok(code) => match names::status_name(code) {
            Some(n) => format!(" (RPC error 0x{code:x}: {n})"),
            None => format!(" (RPC error 0x{code:x})"),
        },
        Err(_) => String::new(),
    }
}

fn http_words(f: &ChannelFailure, target: &str, proxy: &str) -> Words {
    let code = f.status.unwrap_or(0);
    let reason = f.reason.as_deref().unwrap_or("");
    let (causes, steps): (Vec<String>, Vec<String>) = match code {
        401 | 403 => (
            vec![
                "the client's proxy authentication (Basic, NTLM or Negotiate) is not one the /rpc virtual directory on the proxy accepts".into(),
                "wrong, expired or locked-out credentials".into(),
            ],
            vec!["Compare the client's proxy authentication setting (Outlook Anywhere / RD Gateway / `RpcProxy` options) with the authentication methods enabled on the proxy's IIS /rpc virtual directory; the IIS log shows the sc-substatus.".into()],
        ),
        404 => (
            vec!["no RPC over HTTP proxy answers at /rpc/rpcproxy.dll (the RPC over HTTP Proxy feature is not installed, or the URL points at the wrong server)".into()],
            vec!["Check that the RPC over HTTP Proxy feature is installed on the proxy and that the client's proxy name resolves to it.".into()],
        ),
        503 => (
            vec![
                format!("{target} is not allowed in the proxy's ValidPorts list (HKLM\\SOFTWARE\\Microsoft\\Rpc\\RpcProxy\\ValidPorts)"),
                format!("the RPC server {target} is down, or a firewall between the proxy and it blocks the port"),
            ],
            vec![
                format!("On the RPC proxy, check ValidPorts for {target} (server name as the client writes it, and the port)."),
                format!("From the proxy, test {target} (e.g. `tracehound portqry`)."),
            ],
        ),
        _ => (
            vec!["the RPC proxy or a web proxy in between refused the channel".into()],
            vec!["Look up this status in the proxy's IIS log for the channel's request.".into()],
        ),
    };
    let to = if f.method == "RPC_OUT_DATA" { " (the OUT channel's CONN/A1)" } else { "" };
    Words {
        title: format!("RPC over HTTP to {target} refused by the RPC proxy {proxy}: HTTP {code} {reason}{to}"),
        explain: format!(
            "The client asked the RPC proxy {proxy} for a virtual connection to {target}, and the proxy answered the {} request with HTTP {code} {reason}{}. No DCE/RPC call could go through.",
            f.method,
            rpc_error(reason)
        ),
        causes,
        steps,
        severity: Severity::Problem,
    }
}

fn words(f: &ChannelFailure, proxy: &str) -> Words {
    let target = f.target.as_deref().unwrap_or("the RPC server");
    let tunnel_steps = vec![
        format!("Capture on the RPC proxy {proxy} too: its connection to {target} shows whether the server answered."),
        "Check the proxy's IIS log and the Application event log for RPC proxy errors at that time.".into(),
    ];
    match f.kind {
        FailureKind::HttpError => http_words(f, target, proxy),
        FailureKind::NoConnA3 => Words {
            title: format!("RPC over HTTP to {target}: CONN/A1 sent, no CONN/A3 back from {proxy}"),
            explain: "The client opened the OUT channel (RPC_OUT_DATA) and sent CONN/A1; the proxy never answered it with CONN/A3, so the virtual connection never started.".into(),
            causes: vec![
                "the RPC proxy did not accept the OUT channel (it stalled or closed before answering)".into(),
                "a web proxy or load balancer in between buffers the response: RPC over HTTP needs the 200 answer streamed, not held until 1 GiB arrived".into(),
            ],
            steps: tunnel_steps,
            severity: Severity::Problem,
        },
        FailureKind::NoConnC2 => Words {
            title: format!("RPC over HTTP to {target}: CONN/A3 but no CONN/C2 from {proxy}"),
            explain: format!("The proxy accepted the OUT channel (CONN/A3) but never confirmed the virtual connection (CONN/C2): it could not complete its own connection to {target}."),
            causes: vec![
                format!("the RPC server {target} is down, refuses the proxy, or a firewall between them blocks the port"),
                "the server does not speak ncacn_http on that port".into(),
            ],
            steps: tunnel_steps,
            severity: Severity::Problem,
        },
        FailureKind::NoOutChannel => Words {
            title: format!("RPC over HTTP to {target}: IN channel without its OUT channel"),
            explain: "The client's IN channel (RPC_IN_DATA, CONN/B1) has no OUT channel of the same virtual connection in this capture, so none of its calls can get an answer here.".into(),
            causes: vec![
                "the capture holds only one of the client's two connections (capture filter, or taken on one of several proxies)".into(),
                "a load balancer sent the IN and OUT channels to different RPC proxy servers (no client affinity): each proxy sees half a virtual connection".into(),
            ],
            steps: vec![
                "Capture both connections (both TCP connections from the client to the proxy name).".into(),
                "If a load balancer fronts the proxies, configure source-IP (client) affinity for the RPC over HTTP virtual directory.".into(),
            ],
            severity: Severity::Warning,
        },
        FailureKind::Recycled => Words {
            title: format!("RPC over HTTP to {target}: channel recycled"),
            explain: "A channel of the virtual connection was replaced by a successor (its lifetime was used up, or the proxy asked for it): normal for long sessions, worth knowing when calls stall around it.".into(),
            causes: vec!["channel lifetime reached (ChannelLifetime of CONN/B1), or the proxy recycled the channel".into()],
            steps: vec!["Nothing to do unless calls stall at the same time.".into()],
            severity: Severity::Info,
        },
    }
}

pub fn check(facts: &Facts, out: &mut Vec<Finding>) {
    let mut groups: BTreeMap<(FailureKind, String, Option<String>), Vec<&ChannelFailure>> =
        BTreeMap::new();
    for f in &facts.rpc.tunnel_failures {
        groups.entry((f.kind, f.proxy.to_string(), f.target.clone())).or_default().push(f);
    }
    for ((_, proxy, _), fs) in groups {
        let Some(first) = fs.first() else { continue };
        let w = words(first, &proxy);
        let mut ev = Evidence { file: Some(facts.file.to_string()), ..Default::default() };
        for f in fs.iter().take(10) {
            ev.add_frames([f.frame]);
            ev.line(format!(
                "frame {}: {} → {} {}: {}",
                f.frame, f.client, f.proxy, f.method, f.what
            ));
        }
        ev.value("channels", fs.len() as u64);
        ev.finish();
        out.push(Finding {
            id: ID,
            severity: w.severity,
            title: w.title,
            explanation: w.explain,
            likely_causes: w.causes.into_iter().map(Into::into).collect(),
            next_steps: w.steps.into_iter().map(Into::into).collect(),
            evidence: ev,
            weight: 72,
        });
    }
}

#[cfg(test)]
mod thresholds;
