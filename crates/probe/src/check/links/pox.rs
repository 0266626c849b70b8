//! The Autodiscover POX answer (`[MS-OXDSCLI]`, `responseschema/2006a`): a small bounded
//! scan for the URLs a client would use next — not an XML parser. It looks at element
//! names only (namespace prefixes dropped), never panics, reads at most
//! [`crate::check::http::MAX_BODY`] bytes and keeps at most [`super::MAX_LINKS`] links.
//!
//! Kept: the text of `EwsUrl`, `OABUrl`, `ASUrl`, `EcpUrl`, `InternalUrl` / `ExternalUrl`
//! (MAPI over HTTP `MailStore` / `AddressBook`), `RedirectUrl`; `Server` of a `Protocol`
//! whose `Type` is `EXHTTP` or `EXPR` (Outlook Anywhere) as
//! `https://SERVER/rpc/rpcproxy.dll`; `RedirectAddr` (`user@domain2`) as the POX URL of
//! `autodiscover.domain2`. Only `http://` and `https://` URLs are kept.

use super::{domain_ok, MAX_LINKS};

/// Element names whose text is a URL.
const URL_TAGS: [&str; 7] =
    ["EwsUrl", "OABUrl", "ASUrl", "EcpUrl", "InternalUrl", "ExternalUrl", "RedirectUrl"];
/// Elements looked at, at most (a hostile body of tiny tags stays cheap).
const MAX_ELEMENTS: usize = 4096;

/// One element: local name and its text up to the next tag.
struct Elem<'a> {
    name: &'a str,
    text: &'a str,
}

/// Start tags with the text that follows them (end tags, comments, PIs skipped).
fn elements(s: &str) -> Vec<Elem<'_>> {
    let mut out = Vec::new();
    let mut rest = s;
    while out.len() < MAX_ELEMENTS {
        let Some(lt) = rest.find('<') else { break };
        rest = &rest[lt + 1..];
        let Some(gt) = rest.find('>') else { break };
        let tag = &rest[..gt];
        rest = &rest[gt + 1..];
        let closing = tag.starts_with('/') || tag.starts_with('?') || tag.starts_with('!');
        let name = tag.split(|c: char| c.is_ascii_whitespace() || c == '/').next().unwrap_or("");
        let local = name.rsplit(':').next().unwrap_or(name);
        let text = rest.split('<').next().unwrap_or("").trim();
        if closing {
            out.push(Elem { name: "/", text: "" });
        } else {
            out.push(Elem { name: local, text });
        }
    }
    out
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn push(out: &mut Vec<String>, url: String) {
    let l = url.to_ascii_lowercase();
    let ok = (l.starts_with("https://") || l.starts_with("http://"))
        && url.len() <= 2048
        && !url.chars().any(|c| c.is_control() || c == ' ');
    if ok && out.len() < MAX_LINKS && !out.contains(&url) {
        out.push(url);
    }
}

/// The URLs of a POX answer, in document order.
pub fn links(body: &[u8]) -> Vec<String> {
    let cap = body.len().min(crate::check::http::MAX_BODY);
    let s = String::from_utf8_lossy(body.get(..cap).unwrap_or(body));
    let mut out = Vec::new();
    // `Type` of the Protocol element we are in (Type comes before Server in the schema)
    let mut proto_type = String::new();
    for e in elements(&s) {
        let text = unescape(e.text);
        match e.name {
            "Protocol" => proto_type.clear(),
            "Type" => proto_type = text.to_ascii_uppercase(),
            "Server" if proto_type == "EXHTTP" || proto_type == "EXPR" => {
                let host_ok = !text.is_empty()
                    && text.len() <= 253
                    && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
                if host_ok {
                    push(&mut out, format!("https://{text}/rpc/rpcproxy.dll"));
                }
            }
            "RedirectAddr" => {
                if let Some((_, dom)) = text.rsplit_once('@') {
                    if domain_ok(dom) {
                        push(
                            &mut out,
                            format!("https://autodiscover.{dom}/autodiscover/autodiscover.xml"),
                        );
                    }
                }
            }
            n if URL_TAGS.contains(&n) => push(&mut out, text),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of the `responseschema/2006a` answer documented in [MS-OXDSCLI] 4.2
    /// (hand-written from the spec's example; values are ours).
    const ANSWER: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
 <Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">
  <User><DisplayName>Jane</DisplayName></User>
  <Account><AccountType>email</AccountType><Action>settings</Action>
   <Protocol><Type>EXCH</Type><Server>5d2c@contoso.com</Server>
    <ASUrl>https://mail.contoso.com/EWS/Exchange.asmx</ASUrl>
    <EwsUrl>https://mail.contoso.com/EWS/Exchange.asmx</EwsUrl>
    <OABUrl>https://mail.contoso.com/OAB/0a1b/</OABUrl></Protocol>
   <Protocol><Type>EXHTTP</Type><Server>outlook.contoso.com</Server>
    <EcpUrl>https://outlook.contoso.com/ecp/?a=1&amp;b=2</EcpUrl></Protocol>
   <Protocol Type="mapiHttp" Version="1"><MailStore>
    <ExternalUrl>https://outlook.contoso.com/mapi/emsmdb/?MailboxId=5d2c@contoso.com</ExternalUrl>
   </MailStore></Protocol>
  </Account>
 </Response>
</Autodiscover>"#;

    #[test]
    fn pox_answer_urls() {
        assert_eq!(
            links(ANSWER.as_bytes()),
            vec![
                "https://mail.contoso.com/EWS/Exchange.asmx",
                "https://mail.contoso.com/OAB/0a1b/",
                "https://outlook.contoso.com/rpc/rpcproxy.dll",
                "https://outlook.contoso.com/ecp/?a=1&b=2",
                "https://outlook.contoso.com/mapi/emsmdb/?MailboxId=5d2c@contoso.com",
            ]
        );
        let redirect = "<Autodiscover><Response><Account><Action>redirectAddr</Action>\
            <RedirectAddr>jane@fabrikam.com</RedirectAddr></Account></Response></Autodiscover>";
        assert_eq!(
            links(redirect.as_bytes()),
            vec!["https://autodiscover.fabrikam.com/autodiscover/autodiscover.xml"]
        );
        let url =
            "<a:RedirectUrl>https://ad.fabrikam.com/autodiscover/autodiscover.xml</a:RedirectUrl>";
        assert_eq!(
            links(url.as_bytes()),
            vec!["https://ad.fabrikam.com/autodiscover/autodiscover.xml"]
        );
    }

    #[test]
    fn hostile_pox_bodies_do_not_panic() {
        for b in
            [&b"<"[..], b"<<<>>>", b"<EwsUrl>", b"<EwsUrl>javascript:x</EwsUrl>", b"\xff<\xfe>"]
        {
            assert!(links(b).is_empty());
        }
        let many =
            "<EwsUrl>https://a.example/x</EwsUrl><OABUrl>https://b.example/</OABUrl>".repeat(5000);
        assert_eq!(links(many.as_bytes()).len(), 2);
        let distinct: String =
            (0..100).map(|i| format!("<EwsUrl>https://h{i}.example/</EwsUrl>")).collect();
        assert_eq!(links(distinct.as_bytes()).len(), MAX_LINKS);
    }
}
