//! SNMP (RFC 3416) GetRequest for sysDescr.0 with the community from `-cn`, sent as v2c
//! and v1 in the same probe (whichever the agent speaks answers).

use crate::ber::{self, Reader};

use super::common::{fail, rand_u16, udp_exchange, Ctx, Exchange, Output, Port, Query, QueryError};
use crate::Proto;

pub const SYS_DESCR: &str = "1.3.6.1.2.1.1.1.0";

/// `version`: 0 = v1, 1 = v2c.
pub fn request(version: i64, community: &str, reqid: i64) -> Vec<u8> {
    let vb = ber::cons(ber::SEQUENCE, &[&ber::oid(SYS_DESCR), &ber::tlv(ber::NULL, b"")]);
    let pdu = ber::cons(
        0xa0,
        &[
            &ber::int(ber::INTEGER, reqid),
            &ber::int(ber::INTEGER, 0),
            &ber::int(ber::INTEGER, 0),
            &ber::tlv(ber::SEQUENCE, &vb),
        ],
    );
    ber::cons(
        ber::SEQUENCE,
        &[
            &ber::int(ber::INTEGER, version),
            &ber::tlv(ber::OCTET_STRING, community.as_bytes()),
            &pdu,
        ],
    )
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Reply {
    pub version: String,
    pub error_status: i64,
    pub varbinds: Vec<(String, String)>,
}

pub fn parse(b: &[u8]) -> Result<Reply, QueryError> {
    let mut r = Reader::new(b);
    let msg = r.read_expected(ber::SEQUENCE, "SNMP message")?;
    let mut m = msg.reader();
    let version = m.read_expected(ber::INTEGER, "version")?.int()?;
    let _community = m.read_expected(ber::OCTET_STRING, "community")?;
    let pdu = m.read()?;
    if pdu.tag != 0xa2 {
        return Err(QueryError::Other(format!(
            "PDU tag 0x{:02x}, expected GetResponse (0xa2)",
            pdu.tag
        )));
    }
    let mut p = pdu.reader();
    let _id = p.read_expected(ber::INTEGER, "request-id")?;
    let error_status = p.read_expected(ber::INTEGER, "error-status")?.int()?;
    let _idx = p.read_expected(ber::INTEGER, "error-index")?;
    let list = p.read_expected(ber::SEQUENCE, "varbind list")?;
    let mut l = list.reader();
    let mut varbinds = Vec::new();
    while !l.is_empty() && varbinds.len() < 16 {
        let vb = l.read_expected(ber::SEQUENCE, "varbind")?;
        let mut v = vb.reader();
        let oid = v.read_expected(ber::OID, "name")?.oid()?;
        let val = v.read()?;
        let text = match val.tag {
            ber::OCTET_STRING => super::rd::printable(val.value, 1024),
            ber::INTEGER => val.int()?.to_string(),
            0x80 => "noSuchObject".into(),
            0x81 => "noSuchInstance".into(),
            0x82 => "endOfMibView".into(),
            t => format!("tag 0x{t:02x}: {}", super::rd::hex(val.value)),
        };
        varbinds.push((oid, text));
    }
    Ok(Reply {
        version: if version == 1 {
            "v2c".into()
        } else if version == 0 {
            "v1".into()
        } else {
            format!("version {version}")
        },
        error_status,
        varbinds,
    })
}

impl Reply {
    pub fn lines(&self, community: &str) -> Vec<String> {
        let _ = community; // never printed: the community is a secret
        let mut v =
            vec![format!("SNMP {} GetResponse (error-status {})", self.version, self.error_status)];
        for (o, val) in &self.varbinds {
            let name = if o == SYS_DESCR { "sysDescr.0" } else { o.as_str() };
            v.push(format!("  {name}: {val}"));
        }
        v
    }
}

/// The SNMP query (UDP 161): GetRequest sysDescr.0, as v2c and then v1.
pub struct Snmp {
    version: i64,
    community: String,
    reqid: u16,
}

impl Exchange for Snmp {
    type Reply = Reply;
    const WHAT: &'static str = "SNMP get sysDescr";
    const UDP_ONLY: bool = true;

    /// A v2c request.
    fn new(ctx: &Ctx) -> Self {
        Snmp { version: 1, community: ctx.community.clone(), reqid: rand_u16() }
    }
    fn request(&self, _proto: Proto) -> Vec<u8> {
        request(self.version, &self.community, i64::from(self.reqid))
    }
    fn parse(&self, b: &[u8]) -> Result<Reply, QueryError> {
        parse(b)
    }
    fn lines(&self, r: &Reply, _ctx: &Ctx) -> Vec<String> {
        r.lines(&self.community)
    }
}

impl Query for Snmp {
    /// The kept reply, else v2c, else v1 (v1-only agents ignore v2c).
    async fn run(ctx: &mut Ctx, at: Port, kept: Option<Vec<u8>>) -> Output {
        let header = Self::header(at);
        let q = Snmp::new(ctx);
        let mut reply = match kept {
            Some(r) => Ok(r),
            None => udp_exchange(ctx, at.port, &q.request(at.proto)).await,
        };
        if reply.is_err() {
            let v1 = Snmp { version: 0, ..Snmp::new(ctx) };
            reply = udp_exchange(ctx, at.port, &v1.request(at.proto)).await;
        }
        match reply {
            Err(e) => {
                fail(at.kind, header, format!("{e} (wrong community, or SNMP not served)"), false)
            }
            Ok(b) => q.answer(ctx, at, header, &b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_shape() {
        let q = request(1, "public", 77);
        let mut resp = q.clone();
        // turn the request into a response: change the PDU tag 0xa0 -> 0xa2 and NULL -> string
        let pos = resp.iter().position(|b| *b == 0xa0).unwrap();
        resp[pos] = 0xa2;
        let p = parse(&resp).unwrap();
        assert_eq!(p.version, "v2c");
        assert_eq!(p.varbinds[0].0, SYS_DESCR);
        assert!(parse(&q).is_err());
        for n in 0..resp.len() {
            let _ = parse(&resp[..n]);
        }
    }
}
