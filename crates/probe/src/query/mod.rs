//! Protocol queries: for a port that answered (or a UDP port that stayed silent), a
//! protocol-specific request whose reply says what serves the port. One module per
//! protocol, each implementing [`Query`] (most through the one-request-one-reply
//! [`Exchange`] shape, see [`common`]); this module maps ports to queries and dispatches.
//! Each query renders a PortQry-style text block plus a JSON `result` object.
//!
//! Each query takes at most one connect wait plus three read waits (`4 x timeout`); the
//! TLS query may use two connections, and Kerberos / DNS may first learn the realm over
//! CLDAP or LDAP (`8 x timeout` each). The endpoint-mapper follow-up is bounded
//! separately (see [`epm`]).
//!
//! To add a query: a file with the protocol's request builder and reply parser, a type
//! implementing [`Query`] (and [`Exchange`] when one request and one reply say it all), a
//! [`Kind`], its ports in [`for_port`], and its arm in [`run`] (and in [`udp_payload`] for a
//! UDP query).

pub mod common;
pub mod dns;
pub mod epm;
pub mod http;
pub mod kerberos;
pub mod ldap;
pub mod mssql;
pub mod nbstat;
pub mod rd;
pub mod rdp;
pub mod smb;
pub mod snmp;
pub mod stun;
pub mod tls;

#[cfg(test)]
mod hostile;

pub use common::{ask, random_bytes, Ctx, Exchange, Kind, Output, Port, Query, QueryError};
pub use kerberos::KRB_USER;

use crate::Proto;

/// The query for a port, if we know one.
pub fn for_port(proto: Proto, port: u16) -> Option<Kind> {
    Some(match (proto, port) {
        (Proto::Tcp, 135) => Kind::Epm,
        (Proto::Tcp, 389) => Kind::Ldap,
        (Proto::Tcp, 3268) => Kind::GlobalCatalog,
        (Proto::Udp, 389) => Kind::Cldap,
        (_, 53) => Kind::Dns,
        (Proto::Udp, 137) => Kind::Nbstat,
        (Proto::Udp, 161) => Kind::Snmp,
        (_, 88) => Kind::Kerberos,
        (Proto::Tcp, 445) => Kind::Smb,
        (Proto::Udp, 1434) => Kind::SqlBrowser,
        (Proto::Tcp, 443 | 465 | 636 | 993 | 995 | 3269 | 5061 | 5986 | 8443 | 8531) => Kind::Tls,
        (_, 3478) => Kind::Stun,
        (Proto::Tcp, 80 | 8080 | 5985 | 8530) => Kind::Http,
        (Proto::Tcp, 3389) => Kind::Rdp,
        _ => return None,
    })
}

/// The datagram a UDP port gets during the state probe (empty when no query is known):
/// the UDP request of its query, so the reply can be kept for [`run`].
pub fn udp_payload(port: u16, ctx: &Ctx) -> Vec<u8> {
    fn datagram<Q: Exchange>(ctx: &Ctx) -> Vec<u8> {
        Q::new(ctx).request(Proto::Udp)
    }
    match for_port(Proto::Udp, port) {
        Some(Kind::Cldap) => datagram::<ldap::Ldap>(ctx),
        Some(Kind::Dns) => datagram::<dns::Dns>(ctx),
        Some(Kind::Nbstat) => datagram::<nbstat::Nbstat>(ctx),
        Some(Kind::Snmp) => datagram::<snmp::Snmp>(ctx),
        Some(Kind::Kerberos) => datagram::<kerberos::Kerberos>(ctx),
        Some(Kind::SqlBrowser) => datagram::<mssql::SqlBrowser>(ctx),
        Some(Kind::Stun) => datagram::<stun::Stun>(ctx),
        _ => Vec::new(),
    }
}

/// Runs one query. `udp_reply` is the reply the state probe already received (its payload
/// was this query's request), so UDP queries usually cost nothing extra.
pub async fn run(
    kind: Kind,
    proto: Proto,
    port: u16,
    ctx: &mut Ctx,
    udp_reply: Option<Vec<u8>>,
) -> Output {
    let at = Port { kind, proto, port };
    let kept = udp_reply;
    match kind {
        Kind::Epm => epm::Epm::run(ctx, at, kept).await,
        Kind::Ldap | Kind::GlobalCatalog | Kind::Cldap => ldap::Ldap::run(ctx, at, kept).await,
        Kind::Dns => dns::Dns::run(ctx, at, kept).await,
        Kind::Kerberos => kerberos::Kerberos::run(ctx, at, kept).await,
        Kind::Smb => smb::Smb::run(ctx, at, kept).await,
        Kind::Nbstat => udp_only::<nbstat::Nbstat>(ctx, at, kept).await,
        Kind::Snmp => udp_only::<snmp::Snmp>(ctx, at, kept).await,
        Kind::SqlBrowser => udp_only::<mssql::SqlBrowser>(ctx, at, kept).await,
        Kind::Stun => stun::Stun::run(ctx, at, kept).await,
        Kind::Http => http::Http::run(ctx, at, kept).await,
        Kind::Tls => tls::Tls::run(ctx, at, kept).await,
        Kind::Rdp => rdp::Rdp::run(ctx, at, kept).await,
    }
}

/// A query defined over UDP only refuses any other transport.
async fn udp_only<Q: Query + Exchange>(ctx: &mut Ctx, at: Port, kept: Option<Vec<u8>>) -> Output {
    if Q::UDP_ONLY && at.proto != Proto::Udp {
        let header = format!("{} over {}", at.kind.name(), at.proto.upper());
        return common::fail(at.kind, header, "only defined over UDP", false);
    }
    Q::run(ctx, at, kept).await
}
