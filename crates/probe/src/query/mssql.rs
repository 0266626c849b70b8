//! SQL Server Browser (MC-SQLR) on UDP 1434: CLNT_BCAST_EX (0x02, what PortQry sends; a
//! browser answers it unicast too) asks for every instance;
//! the SVR_RESP (0x05, u16 length) lists `key;value;...;;` records, one per instance.

use std::collections::BTreeMap;

use super::common::{ask, Ctx, Exchange, Output, Port, Query, QueryError};
use super::rd::{Malformed, Rd};
use crate::Proto;

pub fn request() -> Vec<u8> {
    vec![0x02]
}

pub fn parse(b: &[u8]) -> Result<Vec<BTreeMap<String, String>>, Malformed> {
    let mut r = Rd::new(b);
    let t = r.u8("type")?;
    if t != 0x05 {
        return Err(Malformed {
            offset: 0,
            what: format!("type 0x{t:02x}, expected SVR_RESP (0x05)"),
        });
    }
    let len = r.u16le("length")? as usize;
    let data = r.take(len.min(r.left()), "data")?;
    let text = String::from_utf8_lossy(data);
    let mut out = Vec::new();
    for rec in text.split(";;").filter(|s| !s.trim().is_empty()).take(64) {
        let parts: Vec<&str> = rec.split(';').collect();
        let mut m = BTreeMap::new();
        for kv in parts.chunks(2) {
            if let [k, v] = kv {
                m.insert(
                    super::rd::printable(k.as_bytes(), 64),
                    super::rd::printable(v.as_bytes(), 256),
                );
            }
        }
        out.push(m);
    }
    Ok(out)
}

pub fn lines(inst: &[BTreeMap<String, String>]) -> Vec<String> {
    let mut v = vec![format!("SQL Server Browser: {} instance(s)", inst.len())];
    for m in inst {
        v.push(String::new());
        for (k, val) in m {
            v.push(format!("  {k} {val}"));
        }
    }
    v
}

/// The SQL Server Browser query (UDP 1434).
pub struct SqlBrowser;

impl Exchange for SqlBrowser {
    type Reply = Vec<BTreeMap<String, String>>;
    const WHAT: &'static str = "SQL Server Browser query";
    const UDP_ONLY: bool = true;

    fn new(_ctx: &Ctx) -> Self {
        SqlBrowser
    }
    fn request(&self, _proto: Proto) -> Vec<u8> {
        request()
    }
    fn parse(&self, b: &[u8]) -> Result<Self::Reply, QueryError> {
        Ok(parse(b)?)
    }
    fn lines(&self, r: &Self::Reply, _ctx: &Ctx) -> Vec<String> {
        lines(r)
    }
}

impl Query for SqlBrowser {
    async fn run(ctx: &mut Ctx, at: Port, kept: Option<Vec<u8>>) -> Output {
        ask::<Self>(ctx, at, kept).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_two_instances() {
        let s = b"ServerName;SQL1;InstanceName;MSSQLSERVER;IsClustered;No;Version;15.0.2000.5;tcp;1433;;ServerName;SQL1;InstanceName;EXPRESS;IsClustered;No;Version;15.0;tcp;49500;;";
        let mut m = vec![5u8];
        m.extend_from_slice(&(s.len() as u16).to_le_bytes());
        m.extend_from_slice(s);
        let p = parse(&m).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[1]["tcp"], "49500");
        assert!(parse(&[4, 0, 0]).is_err());
        assert!(parse(&[5, 0xff, 0xff]).is_ok());
    }
}
