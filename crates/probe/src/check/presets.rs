//! Presets for the deployments the home-made scripts were written for.
//!
//! - `--autodiscover user@domain` (Exchange): the POX endpoint `POST
//!   /autodiscover/autodiscover.xml` on `autodiscover.<domain>` and on `<domain>` (without
//!   credentials the expected answer is 401 with the schemes offered), and the JSON v2
//!   endpoint `GET https://autodiscover.<domain>/autodiscover/autodiscover.json/v1.0/<user>?Protocol=EWS`,
//!   whose `{"Protocol":"EWS","Url":"…"}` answer is followed: the EWS URL is checked next.
//! - `--lyncdiscover domain` (Skype for Business / Lync): `GET https://lyncdiscover.<domain>/`
//!   and `https://lyncdiscoverinternal.<domain>/` (JSON); the `_links.*.href` URLs of the
//!   answers are checked next.
//!
//! Autodiscover candidates in Exchange's order: POX POST on `https://<domain>/` and
//! `https://autodiscover.<domain>/`, the HTTP redirect method (`GET
//! http://autodiscover.<domain>/autodiscover/autodiscover.xml`, whose `Location` is POSTed
//! to next), the SRV record `_autodiscover._tcp.<domain>` (its first target POSTed to),
//! then JSON v2. The POX answer's URLs ([`super::links::pox`]) are checked next.
//!
//! Credentials ([`super::creds`]) are sent only when given, only as HTTP Basic over TLS,
//! only to the POX endpoints above on the user's domain (after a 401 offering Basic);
//! bodies are read only for these requests, at most [`super::http::MAX_BODY`] bytes.

use super::links::domain_ok;
use super::record::Record;
use super::steps::Job;
use super::Options;

/// URLs followed from preset answers, at most.
pub const MAX_FOLLOW: usize = 32;

/// The POX request body for `address`.
pub fn pox_body(address: &str) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006\"><Request><EMailAddress>{}</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>\r\n",
        xml_escape(address)
    )
    .into_bytes()
}

/// A POX POST to `url`; `auth`: credentials may be sent there (over TLS only).
pub fn pox_job(url: String, address: &str, auth: bool) -> Job {
    Job {
        raw: url,
        method: Some("POST".into()),
        body: pox_body(address),
        headers: vec![("Content-Type".into(), "text/xml; charset=utf-8".into())],
        links: true,
        auth,
        ..Default::default()
    }
}

/// `user@domain` of `--autodiscover`, checked.
pub fn autodiscover_address(addr: &str) -> Result<(&str, &str), String> {
    addr.rsplit_once('@')
        .filter(|(u, d)| !u.is_empty() && domain_ok(d))
        .ok_or_else(|| format!("--autodiscover {addr:?}: want user@domain"))
}

/// The jobs of the presets in `o`, Autodiscover in Exchange's order: the POX POST on
/// `https://<domain>/` and `https://autodiscover.<domain>/`, the HTTP redirect method
/// (`GET http://autodiscover.<domain>/…`, the `Location` is POSTed to next), the SRV
/// record `_autodiscover._tcp.<domain>`, then the JSON v2 endpoint.
pub fn jobs(o: &Options) -> Result<Vec<Job>, String> {
    let mut v = Vec::new();
    if let Some(addr) = &o.autodiscover {
        let (user, dom) = autodiscover_address(addr)?;
        let address = format!("{user}@{dom}");
        for host in [dom.to_string(), format!("autodiscover.{dom}")] {
            v.push(pox_job(
                format!("https://{host}/autodiscover/autodiscover.xml"),
                &address,
                true,
            ));
        }
        v.push(Job {
            raw: format!("http://autodiscover.{dom}/autodiscover/autodiscover.xml"),
            method: Some("GET".into()),
            redirect_link: true,
            ..Default::default()
        });
        v.push(Job { srv: true, ..pox_job(format!("_autodiscover._tcp.{dom}"), &address, true) });
        v.push(Job {
            raw: format!(
                "https://autodiscover.{dom}/autodiscover/autodiscover.json/v1.0/{}?Protocol=EWS",
                url_escape(&address)
            ),
            method: Some("GET".into()),
            headers: vec![("Accept".into(), "application/json".into())],
            links: true,
            ..Default::default()
        });
    }
    if let Some(dom) = &o.lyncdiscover {
        if !domain_ok(dom) {
            return Err(format!("--lyncdiscover {dom:?}: want a domain name"));
        }
        for host in [format!("lyncdiscover.{dom}"), format!("lyncdiscoverinternal.{dom}")] {
            v.push(Job {
                raw: format!("https://{host}/"),
                method: Some("GET".into()),
                headers: vec![("Accept".into(), "application/json".into())],
                links: true,
                ..Default::default()
            });
        }
    }
    Ok(v)
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Jobs for the links found by preset requests, not already checked. A POX URL
/// (`…/autodiscover/autodiscover.xml`: a redirect, `RedirectUrl`, `RedirectAddr`) gets the
/// POX POST, without credentials (the server, not the user, chose it).
pub fn follow_up(recs: &[Record], o: &Options) -> Vec<Job> {
    let address = o.autodiscover.clone().unwrap_or_default();
    let mut v: Vec<Job> = Vec::new();
    for r in recs {
        for l in r.http.iter().flat_map(|h| h.links.iter()) {
            let known = recs.iter().any(|x| &x.target == l) || v.iter().any(|j| &j.raw == l);
            if !known && v.len() < MAX_FOLLOW {
                if l.to_ascii_lowercase().ends_with("/autodiscover/autodiscover.xml") {
                    v.push(pox_job(l.clone(), &address, false));
                } else {
                    v.push(Job::plain(l));
                }
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::links::links;

    #[test]
    fn preset_jobs_and_links() {
        let o = Options {
            autodiscover: Some("jane.doe@contoso.com".into()),
            lyncdiscover: Some("contoso.com".into()),
            ..Options::default()
        };
        let j = jobs(&o).unwrap();
        let raws: Vec<&str> = j.iter().map(|x| x.raw.as_str()).collect();
        assert_eq!(
            raws,
            vec![
                "https://contoso.com/autodiscover/autodiscover.xml",
                "https://autodiscover.contoso.com/autodiscover/autodiscover.xml",
                "http://autodiscover.contoso.com/autodiscover/autodiscover.xml",
                "_autodiscover._tcp.contoso.com",
                "https://autodiscover.contoso.com/autodiscover/autodiscover.json/v1.0/jane.doe@contoso.com?Protocol=EWS",
                "https://lyncdiscover.contoso.com/",
                "https://lyncdiscoverinternal.contoso.com/",
            ]
        );
        assert!(String::from_utf8_lossy(&j[0].body).contains("<EMailAddress>jane.doe@contoso.com<"));
        assert!(j[0].auth && j[1].auth && !j[2].auth && j[2].redirect_link && j[3].srv);
        assert!(!j[4].auth && !j[5].auth);
        assert!(
            jobs(&Options { autodiscover: Some("nobody".into()), ..Options::default() }).is_err()
        );
        assert!(jobs(&Options { lyncdiscover: Some("a/b".into()), ..Options::default() }).is_err());
        // lyncdiscover's answer shape (the documented `_links` object) and Autodiscover v2's
        let lync = br#"{"_links":{"self":{"href":"https://lyncdiscover.contoso.com/Autodiscover/AutodiscoverService.svc/root?originalDomain=contoso.com"},"user":{"href":"https://pool.contoso.com/Autodiscover/AutodiscoverService.svc/root/oauth/user"},"xframe":{"href":"https://pool.contoso.com/xframe"}}}"#;
        assert_eq!(links(lync).len(), 3);
        assert_eq!(
            links(br#"{"Protocol":"EWS","Url":"https://mail.contoso.com/EWS/Exchange.asmx"}"#),
            vec!["https://mail.contoso.com/EWS/Exchange.asmx"]
        );
        assert!(links(b"<html>").is_empty());
        assert!(links(br#"{"Url":"javascript:alert(1)"}"#).is_empty());
    }
}
