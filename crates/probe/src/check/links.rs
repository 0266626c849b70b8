//! The URLs a preset answer points to, checked next: those of a JSON body (Autodiscover v2,
//! lyncdiscover) here, those of a POX XML answer in [`pox`]; how many one answer yields,
//! and which domain names are followed.

pub mod pox;

/// Links kept from one answer.
pub const MAX_LINKS: usize = 16;

/// A DNS name of letters, digits and hyphens in non-empty labels, at most 253 bytes.
pub fn domain_ok(d: &str) -> bool {
    !d.is_empty()
        && d.len() <= 253
        && d.split('.')
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
}

/// The http(s) URLs under `Url` / `href` keys of a JSON body (Autodiscover v2, lyncdiscover),
/// or those of a POX XML answer ([`pox`]).
pub fn links(body: &[u8]) -> Vec<String> {
    if body.trim_ascii_start().starts_with(b"<") {
        return pox::links(body);
    }
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else { return Vec::new() };
    let mut out = Vec::new();
    walk(&v, 0, &mut out);
    out
}

fn walk(v: &serde_json::Value, depth: usize, out: &mut Vec<String>) {
    if depth > 16 || out.len() >= MAX_LINKS {
        return;
    }
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m.iter().take(256) {
                if let (true, Some(s)) = (k.eq_ignore_ascii_case("url") || k == "href", x.as_str())
                {
                    let l = s.to_ascii_lowercase();
                    if (l.starts_with("https://") || l.starts_with("http://"))
                        && !out.iter().any(|o| o == s)
                        && out.len() < MAX_LINKS
                    {
                        out.push(s.to_string());
                    }
                } else {
                    walk(x, depth + 1, out);
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().take(256).for_each(|x| walk(x, depth + 1, out)),
        _ => {}
    }
}
