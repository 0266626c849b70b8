//! Decoding of answers that hand out endpoints: endpoint mapper (`ept_map`, `ept_lookup`)
//! and DCOM activation / OXID resolution response stubs, into the call record and the list
//! of endpoints handed out (see [`crate::epm`], [`crate::dcom`]).

use std::net::SocketAddr;

use tracehound_flows::Timestamp;

use crate::calls::{status_text, Call, Endpoint, HandedOut, Name, Out, EPM_UUID};
use crate::dcom;
use crate::epm;
use crate::names::{self, StatusSpace};
use crate::ndr::Drep;
use crate::pdu::Syntax;
use crate::uuid::Uuid;

/// A complete response stub of a call on an EPM or DCOM interface, and who answered whom.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Answer<'a> {
    pub iface: &'a Uuid,
    pub opnum: u16,
    pub drep: Drep,
    pub stub: &'a [u8],
    /// The client that asked, and the server that answered.
    pub client: SocketAddr,
    pub server: SocketAddr,
    /// Time of the (last fragment of the) response.
    pub ts: Timestamp,
}

/// Decodes an EPM or DCOM response stub into `call` (status, endpoints) and records the
/// endpoints handed out.
pub(crate) fn decode_answer(out: &mut Out, answer: &Answer<'_>, call: &mut Call) {
    let Answer { iface, opnum, drep, stub, client, server, ts } = *answer;
    let mut eps: Vec<Endpoint> = Vec::new();
    let mut err = None;
    if *iface == EPM_UUID {
        match epm::decode_response(opnum, drep, stub) {
            Ok(r) => {
                let st = status_text(r.status);
                if r.status != 0 {
                    call.status = Some(st.clone());
                    call.status_code = Some(r.status);
                }
                call.epm_status = Some(st);
                let towers =
                    r.towers.iter().chain(r.entries.iter().filter_map(|e| e.tower.as_ref()));
                for t in towers {
                    let co = matches!(t.protocol(), Some("ncacn_ip_tcp" | "ncacn_http"));
                    if let (true, Some((u, major, minor)), Some(port)) =
                        (co, t.interface(), t.port())
                    {
                        let named = t.address().and_then(|a| a.parse::<std::net::IpAddr>().ok());
                        let addr = named.filter(|a| !a.is_unspecified()).unwrap_or(server.ip());
                        out.map_port(
                            addr,
                            port,
                            Syntax { uuid: u, ver_major: major, ver_minor: minor },
                        );
                    }
                    let Some(binding) = t.binding_string() else {
                        continue;
                    };
                    eps.push(Endpoint {
                        binding,
                        protocol: t.protocol().map(Name::Borrowed),
                        address: t.address(),
                        port: t.port(),
                        pipe: t.pipe(),
                        uuid: t.interface().map(|i| i.0.to_string()),
                    });
                }
            }
            Err(e) => err = Some(("ept", e.to_string())),
        }
    } else if let Some(res) = dcom_decode(iface, opnum, drep, stub) {
        match res {
            Ok((hr, bindings)) => {
                if let Some(hr) = hr.filter(|&h| h != 0) {
                    // An HRESULT: named in its own space.
                    call.status =
                        Some(names::status_text_in(StatusSpace::HResult, hr).into_owned());
                    call.status_code = Some(hr);
                }
                eps.extend(bindings);
            }
            Err(e) => err = Some(("dcom", e)),
        }
    }
    if let Some((what, e)) = err {
        out.stats.stub_decode_errors += 1;
        out.issue(
            call.response_frame.unwrap_or(call.frame),
            server,
            client,
            format!("{what} response stub (call frame {}): {e}", call.frame),
        );
    }
    let source = if *iface == EPM_UUID { "epm" } else { "dcom" };
    for e in &eps {
        out.push_endpoint(HandedOut {
            binding: e.binding.clone(),
            protocol: e.protocol.clone(),
            address: e.address.clone(),
            port: e.port,
            pipe: e.pipe.clone(),
            uuid: e.uuid.clone(),
            source,
            frame: call.frame,
            response_frame: call.response_frame.unwrap_or(call.frame),
            ts,
            interface: call.interface.clone(),
            operation: call.operation.clone(),
            client,
            server,
        });
    }
    call.endpoints = eps;
}

/// (HRESULT, endpoints) from a DCOM response stub, via [`crate::dcom`].
type DcomAnswer = Result<(Option<u32>, Vec<Endpoint>), String>;

fn dcom_decode(iface: &Uuid, opnum: u16, drep: Drep, stub: &[u8]) -> Option<DcomAnswer> {
    let res = dcom::decode_response(iface, opnum, drep, stub)?;
    Some(match res {
        Ok(d) => {
            let eps = d
                .bindings
                .iter()
                .map(|b| {
                    let protocol = b.protseq().map(Name::Borrowed);
                    let host = b.host().to_string();
                    let port = b.port();
                    let binding = match (&protocol, port) {
                        (Some(p), Some(n)) => format!("{p}:{host}[{n}]"),
                        (Some(p), None) => format!("{p}:{host}"),
                        (None, _) => format!("tower_0x{:04x}:{}", b.tower_id, b.network_addr),
                    };
                    Endpoint {
                        binding,
                        protocol,
                        address: Some(host),
                        port,
                        pipe: None,
                        uuid: None,
                    }
                })
                .collect();
            Ok((Some(d.hresult), eps))
        }
        Err(e) => Err(e.to_string()),
    })
}
