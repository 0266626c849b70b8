//! NetBIOS node status (RFC 1002 4.2.17/4.2.18) on UDP 137: a NBSTAT query for the
//! wildcard name `*`; the reply lists the registered names and the adapter's MAC address.

use super::common::{ask, rand_u16, Ctx, Exchange, Output, Port, Query, QueryError};
use super::rd::{Malformed, Rd};
use crate::Proto;

pub fn request(txid: u16) -> Vec<u8> {
    let mut m = Vec::with_capacity(50);
    m.extend_from_slice(&txid.to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    // "*" padded with NULs to 16 bytes, first-level encoded (RFC 1001 14.1)
    m.push(32);
    let mut name = [0u8; 16];
    name[0] = b'*';
    for b in name {
        m.push(b'A' + (b >> 4));
        m.push(b'A' + (b & 0x0f));
    }
    m.push(0);
    m.extend_from_slice(&[0, 0x21, 0, 1]); // NBSTAT, IN
    m
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Name {
    pub name: String,
    pub suffix: u8,
    pub group: bool,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Status {
    pub names: Vec<Name>,
    pub mac: Option<String>,
}

fn skip_name(r: &mut Rd<'_>) -> Result<(), Malformed> {
    for _ in 0..64 {
        let l = r.u8("name label")?;
        if l == 0 {
            return Ok(());
        }
        if l & 0xc0 == 0xc0 {
            r.skip(1, "name pointer")?;
            return Ok(());
        }
        r.skip(l as usize, "name label")?;
    }
    Err(r.err("name too long").into())
}

pub fn parse(b: &[u8], txid: u16) -> Result<Status, Malformed> {
    let mut r = Rd::new(b);
    let id = r.u16be("transaction id")?;
    if id != txid {
        return Err(Malformed { offset: 0, what: format!("transaction id {id}, expected {txid}") });
    }
    let flags = r.u16be("flags")?;
    if flags & 0x8000 == 0 {
        return Err(r.err("not a response").into());
    }
    let rcode = flags & 0xf;
    let _qd = r.u16be("qdcount")?;
    let an = r.u16be("ancount")?;
    r.skip(4, "nscount/arcount")?;
    if rcode != 0 || an == 0 {
        return Err(r.err(format!("negative response, rcode {rcode}")).into());
    }
    skip_name(&mut r)?;
    let ty = r.u16be("type")?;
    if ty != 0x21 {
        return Err(r.err(format!("answer type {ty}, expected NBSTAT (33)")).into());
    }
    r.skip(2 + 4, "class/ttl")?;
    let rdlen = r.u16be("rdlength")? as usize;
    let rdata = r.take(rdlen, "rdata")?;
    let mut d = Rd::new(rdata);
    let n = d.u8("number of names")?;
    let mut names = Vec::new();
    for _ in 0..n {
        let raw = d.take(16, "name entry")?;
        let flags = d.u16be("name flags")?;
        let (label, suffix) = raw.split_at(15);
        names.push(Name {
            name: super::rd::printable(label, 15).trim_end().to_string(),
            suffix: suffix.first().copied().unwrap_or(0),
            group: flags & 0x8000 != 0,
            active: flags & 0x0400 != 0,
        });
    }
    let mac = d
        .take(6, "unit id")
        .ok()
        .map(|m| m.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join("-"));
    Ok(Status { names, mac })
}

impl Status {
    pub fn lines(&self) -> Vec<String> {
        let mut v = vec![
            "NetBIOS node status:".to_string(),
            String::new(),
            "  Name             Type      Status".to_string(),
        ];
        for n in &self.names {
            v.push(format!(
                "  {:<15}<{:02X}>  {:<8}  {}",
                n.name,
                n.suffix,
                if n.group { "GROUP" } else { "UNIQUE" },
                if n.active { "Registered" } else { "" }
            ));
        }
        v.push(String::new());
        v.push(format!(
            "  MAC Address = {}",
            self.mac.as_deref().unwrap_or("(not sent)").to_ascii_uppercase()
        ));
        v
    }
}

/// The NetBIOS node status query (UDP 137).
pub struct Nbstat {
    txid: u16,
}

impl Exchange for Nbstat {
    type Reply = Status;
    const WHAT: &'static str = "NetBIOS node status query";
    const UDP_ONLY: bool = true;

    fn new(_ctx: &Ctx) -> Self {
        Nbstat { txid: rand_u16() }
    }
    /// The state probe's transaction id is not kept: the reply's own is taken (a reply too
    /// short to carry one is not used, the query asks again).
    fn adopt(&mut self, kept: &[u8]) -> bool {
        match kept {
            [hi, lo, ..] => {
                self.txid = u16::from_be_bytes([*hi, *lo]);
                true
            }
            _ => false,
        }
    }
    fn request(&self, _proto: Proto) -> Vec<u8> {
        request(self.txid)
    }
    fn parse(&self, b: &[u8]) -> Result<Status, QueryError> {
        Ok(parse(b, self.txid)?)
    }
    fn lines(&self, r: &Status, _ctx: &Ctx) -> Vec<String> {
        r.lines()
    }
}

impl Query for Nbstat {
    async fn run(ctx: &mut Ctx, at: Port, kept: Option<Vec<u8>>) -> Output {
        ask::<Self>(ctx, at, kept).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_encodes_wildcard() {
        let q = request(0x4242);
        assert_eq!(q.len(), 50);
        assert_eq!(&q[13..15], b"CK"); // '*' = 0x2a
        assert_eq!(&q[15..17], b"AA");
    }

    #[test]
    fn parse_reply() {
        let mut m = vec![0x42, 0x42, 0x84, 0x00, 0, 0, 0, 1, 0, 0, 0, 0, 32];
        m.extend(std::iter::repeat_n(b'A', 32));
        m.extend_from_slice(&[0, 0, 0x21, 0, 1, 0, 0, 0, 0]);
        let mut rd = vec![1u8];
        rd.extend_from_slice(b"DC1            \x20");
        rd.extend_from_slice(&[0x04, 0x00]);
        rd.extend_from_slice(&[0xaa, 0xbb, 0xcc, 0, 1, 2]);
        m.extend_from_slice(&(rd.len() as u16).to_be_bytes());
        m.extend(rd);
        let s = parse(&m, 0x4242).unwrap();
        assert_eq!(s.names[0].name, "DC1");
        assert_eq!(s.names[0].suffix, 0x20);
        assert_eq!(s.mac.as_deref(), Some("aa-bb-cc-00-01-02"));
        for n in 0..m.len() {
            let _ = parse(&m[..n], 0x4242);
        }
    }
}
